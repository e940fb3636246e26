/*
 * The lean SSE client swarm (bench fanout): one process, many raw SSE connections on one epoll.
 * Built by the bench with the machine's gcc on first use (bench/lib/c-program.ts), driven by
 * bench/sse/lean-swarm.ts over stdin / stdout JSON lines, the same protocol as the Node swarm
 * child (bench/sse/swarm-messages.ts):
 *
 *   argv: --port P --clients N --first F --addr-from A --addr-to B --concurrency C --timeout-ms T
 *         --path /v1/surveys/<id>/results/stream [--path ...]
 *   stdin:  "measure <epoch ms>\n"  count snapshots generated from then on
 *           "progress\n"            answer with a progress line now
 *           "stop\n"                close every socket, write the report, exit
 *   stdout: {"type":"progress",...} every second, {"type":"connected",...} once every socket is
 *           open or failed, {"type":"report",...} at stop (latencies as [ms, count] pairs).
 *
 * Per connection: a non-blocking socket bound to 127.0.0.<A..B> with IP_BIND_ADDRESS_NO_PORT (so
 * the ephemeral port is chosen per 4-tuple at connect: no 64K limit per destination), the GET
 * written once, the response head parsed once (status, chunked or not), chunked framing removed,
 * and SSE events split on an empty line (LF or CRLF line ends; a lone CR is not a line end). Of each
 * event only the `id:` value and the number after `"generatedAt":` in its data are read; events
 * without data (comments, retry hints) are not deliveries. The bytes of an event split across reads
 * are carried in a per-connection buffer allocated only while an event is incomplete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_PATHS 128
#define MAX_ID 96
#define HIST_MS 600000
#define READ_BYTES (256 * 1024)
#define MAX_HEAD 8192

enum phase { CONNECTING, HEAD, BODY, DONE };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END };

struct conn {
  int fd;
  uint16_t path;
  uint8_t phase;
  uint8_t chunked;
  uint8_t chunk_state;
  uint8_t answered;
  uint8_t open;
  uint8_t got_event;
  uint8_t chunk_ext;
  uint32_t chunk_remaining;
  uint32_t carry_len;
  char *carry; /* incomplete head or event */
  double started_ms;
};

struct sighting {
  char id[MAX_ID];
  uint16_t path;
  double generated_at, first_at, last_at, max_delay;
  long receivers;
};

static int port, clients, first_client, addr_from = 2, addr_to = 254, concurrency = 200, timeout_ms = 60000;
static char *paths[MAX_PATHS];
static int path_count;
static char *requests[MAX_PATHS];
static size_t request_len[MAX_PATHS];
static struct conn *conns;
static int epfd;
static int next_conn, pending, answered_count, connected, failed, closed_count;
static long events, events_measured;
static long long body_bytes;
static double measure_from = 1e300;
static int open_at_measure[MAX_PATHS];
static uint32_t setup_hist[HIST_MS + 1], delivery_hist[HIST_MS + 1];
static struct sighting *sightings;
static int sighting_count, sighting_cap;
static int last_sighting[MAX_PATHS];
static int connected_reported;
static double connected_done_at;
static char *fail_names[64];
static int fail_counts[64], fail_kinds;
static char *readbuf, *bodybuf;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void hist_add(uint32_t *hist, double ms) {
  long v = ms < 0 ? 0 : (long)(ms + 0.5);
  if (v > HIST_MS) v = HIST_MS;
  hist[v]++;
}

static void fail(const char *reason) {
  failed++;
  for (int i = 0; i < fail_kinds; i++)
    if (strcmp(fail_names[i], reason) == 0) { fail_counts[i]++; return; }
  if (fail_kinds < 64) { fail_names[fail_kinds] = strdup(reason); fail_counts[fail_kinds++] = 1; }
}

static const char *errno_name(int e) {
  switch (e) {
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EADDRINUSE: return "EADDRINUSE";
    case EPIPE: return "EPIPE";
    case ENOBUFS: return "ENOBUFS";
    default: return "errno";
  }
}

static void open_more(void);

static void answer(struct conn *c, const char *failure) {
  if (c->answered) return;
  c->answered = 1;
  pending--;
  answered_count++;
  if (failure == NULL) {
    c->open = 1;
    connected++;
  } else {
    fail(failure);
  }
}

static void drop(struct conn *c, const char *failure) {
  if (c->fd >= 0) { close(c->fd); c->fd = -1; }
  if (!c->answered) answer(c, failure ? failure : "closed before answering");
  else if (c->open) { c->open = 0; closed_count++; }
  c->phase = DONE;
  free(c->carry);
  c->carry = NULL;
  c->carry_len = 0;
}

static void json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') { fputc('\\', out); fputc(ch, out); }
    else if (ch < 0x20) fprintf(out, "\\u%04x", ch);
    else fputc(ch, out);
  }
  fputc('"', out);
}

static void write_progress(void) {
  printf("{\"type\":\"progress\",\"connected\":%d,\"failed\":%d,\"closed\":%d,\"events\":%ld,\"measuredEvents\":%ld,\"at\":%.3f}\n", connected, failed, closed_count, events, events_measured, now_ms());
  fflush(stdout);
}

static void on_event(struct conn *c, const char *id, size_t id_len, double generated_at) {
  double now = now_ms();
  events++;
  if (!c->got_event) {
    c->got_event = 1;
    hist_add(setup_hist, now - c->started_ms);
    answer(c, NULL);
  }
  if (!(generated_at >= measure_from)) return; /* NaN, or the snapshot current at connect time */
  events_measured++;
  double delay = now - generated_at;
  if (id_len >= MAX_ID) id_len = MAX_ID - 1;
  struct sighting *s = NULL;
  int last = last_sighting[c->path];
  if (last >= 0 && strncmp(sightings[last].id, id, id_len) == 0 && sightings[last].id[id_len] == 0) s = &sightings[last];
  else {
    for (int i = sighting_count - 1; i >= 0; i--)
      if (sightings[i].path == c->path && strncmp(sightings[i].id, id, id_len) == 0 && sightings[i].id[id_len] == 0) { s = &sightings[i]; last_sighting[c->path] = i; break; }
  }
  if (s == NULL) {
    if (sighting_count == sighting_cap) {
      sighting_cap = sighting_cap ? sighting_cap * 2 : 256;
      sightings = realloc(sightings, sizeof *sightings * sighting_cap);
    }
    s = &sightings[sighting_count];
    memcpy(s->id, id, id_len);
    s->id[id_len] = 0;
    s->path = c->path;
    s->generated_at = generated_at;
    s->first_at = s->last_at = now;
    s->max_delay = delay;
    s->receivers = 1;
    last_sighting[c->path] = sighting_count++;
  } else {
    s->receivers++;
    if (now > s->last_at) s->last_at = now;
    if (now < s->first_at) s->first_at = now;
    if (delay > s->max_delay) s->max_delay = delay;
    if (generated_at < s->generated_at) s->generated_at = generated_at;
  }
  hist_add(delivery_hist, delay);
}

/*
 * Body bytes (chunked framing removed) in buf[0, len): line by line (LF or CRLF), an empty line ends
 * an event; events with data are deliveries. An incomplete event is carried to the next read.
 */
static void consume_body(struct conn *c, char *buf, size_t len) {
  char *p = buf, *end = buf + len, *event_start = buf;
  const char *id = "";
  size_t id_len = 0;
  int has_data = 0;
  double generated_at = 0.0 / 0.0;
  for (;;) {
    char *eol = memchr(p, '\n', end - p);
    if (eol == NULL) break;
    const char *line_end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
    size_t n = line_end - p;
    if (n == 0) {
      if (has_data) on_event(c, id, id_len, generated_at);
      id = "";
      id_len = 0;
      has_data = 0;
      generated_at = 0.0 / 0.0;
      event_start = eol + 1;
    } else if (n >= 3 && memcmp(p, "id:", 3) == 0) {
      id = p + 3;
      if (id < line_end && *id == ' ') id++;
      id_len = line_end - id;
    } else if (n >= 5 && memcmp(p, "data:", 5) == 0) {
      has_data = 1;
      if (generated_at != generated_at) {
        /* tally's snapshot ends with generatedAt: look in the line's last 64 bytes first */
        size_t tail = n < 64 ? n : 64;
        const char *g = memmem(line_end - tail, tail, "\"generatedAt\":", 14);
        if (g == NULL) g = memmem(p, n, "\"generatedAt\":", 14);
        if (g != NULL) {
          g += 14;
          while (g < line_end && *g == ' ') g++;
          double v = 0;
          int digits = 0;
          while (g < line_end && *g >= '0' && *g <= '9') { v = v * 10 + (*g - '0'); g++; digits++; }
          if (digits) generated_at = v;
        }
      }
    }
    p = eol + 1;
  }
  size_t rest = end - event_start;
  if (rest > 0) {
    if (rest > 1 << 20) { drop(c, "event over 1 MiB"); return; }
    c->carry = malloc(rest);
    memcpy(c->carry, event_start, rest);
    c->carry_len = rest;
  }
}

/* Removes chunked framing from raw[0, n) into out; returns bytes written, -1 at the last chunk. */
static long dechunk(struct conn *c, const char *raw, size_t n, char *out) {
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    if (c->chunk_state == CH_SIZE) {
      char ch = raw[i++];
      if (ch == '\n') {
        if (c->chunk_remaining == 0) return -1; /* the last chunk: the server ended the stream */
        c->chunk_state = CH_DATA;
        c->chunk_ext = 0;
      } else if (!c->chunk_ext) {
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d >= 0) c->chunk_remaining = c->chunk_remaining * 16 + d;
        else c->chunk_ext = 1; /* CR or ";extension": the size is read */
      }
    } else if (c->chunk_state == CH_DATA) {
      size_t take = n - i < c->chunk_remaining ? n - i : c->chunk_remaining;
      memcpy(out + w, raw + i, take);
      w += take;
      i += take;
      c->chunk_remaining -= take;
      if (c->chunk_remaining == 0) c->chunk_state = CH_DATA_END;
    } else { /* CRLF after the data */
      if (raw[i++] == '\n') { c->chunk_state = CH_SIZE; c->chunk_remaining = 0; }
    }
  }
  return (long)w;
}

static void parse_head(struct conn *c, const char *head, size_t len) {
  int status = 0;
  if (len > 12 && memcmp(head, "HTTP/1.", 7) == 0) status = atoi(head + 9);
  if (status != 200) {
    char reason[32];
    snprintf(reason, sizeof reason, "HTTP %d", status);
    drop(c, reason);
    return;
  }
  for (const char *p = head; p < head + len;) {
    const char *eol = memchr(p, '\n', head + len - p);
    if (eol == NULL) break;
    if (eol - p >= 18 && strncasecmp(p, "transfer-encoding:", 18) == 0 && memmem(p, eol - p, "chunked", 7) != NULL) c->chunked = 1;
    p = eol + 1;
  }
  c->phase = BODY;
}

/* One read (edge-triggered: the caller reads again while a read fills the buffer); returns its size, or -1. */
static ssize_t on_readable(struct conn *c) {
  size_t carried = c->carry_len;
  char *buf = bodybuf;
  if (carried) {
    memcpy(buf, c->carry, carried);
    free(c->carry);
    c->carry = NULL;
    c->carry_len = 0;
  }
  /* a plain body is read straight behind the carried bytes; a head or chunked one is read aside */
  int direct = c->phase == BODY && !c->chunked;
  ssize_t n;
  do n = read(c->fd, direct ? buf + carried : readbuf, READ_BYTES);
  while (n < 0 && errno == EINTR);
  if (n == 0) { drop(c, NULL); return -1; }
  if (n < 0) {
    if (errno == EAGAIN) { if (carried) { c->carry = malloc(carried); memcpy(c->carry, buf, carried); c->carry_len = carried; } return -1; }
    drop(c, errno_name(errno));
    return -1;
  }
  if (direct) {
    body_bytes += n;
    consume_body(c, buf, carried + n);
    return n;
  }
  const char *raw = readbuf;
  size_t raw_len = n;
  if (c->phase == HEAD) {
    memcpy(buf + carried, raw, raw_len);
    size_t total = carried + raw_len;
    char *end = memmem(buf, total, "\r\n\r\n", 4);
    if (end == NULL) {
      if (total > MAX_HEAD) { drop(c, "response head too long"); return -1; }
      c->carry = malloc(total);
      memcpy(c->carry, buf, total);
      c->carry_len = total;
      return -1;
    }
    parse_head(c, buf, end + 4 - buf);
    if (c->phase != BODY) return -1;
    size_t rest = total - (end + 4 - buf);
    memmove(readbuf, end + 4, rest);
    raw = readbuf;
    raw_len = rest;
    carried = 0;
  }
  body_bytes += raw_len;
  size_t len = carried;
  if (c->chunked) {
    long w = dechunk(c, raw, raw_len, buf + carried);
    if (w < 0) { drop(c, NULL); return -1; }
    len += w;
  } else {
    memcpy(buf + carried, raw, raw_len);
    len += raw_len;
  }
  consume_body(c, buf, len);
  return n;
}

static void on_writable(struct conn *c) {
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) { drop(c, errno_name(err)); return; }
  ssize_t w = write(c->fd, requests[c->path], request_len[c->path]);
  if (w != (ssize_t)request_len[c->path]) { drop(c, "request not written at once"); return; }
  c->phase = HEAD;
  /* edge-triggered: a level-triggered socket is polled again on the next epoll_wait after each read */
  struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = (uint32_t)(c - conns) };
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void open_one(int j) {
  struct conn *c = &conns[j];
  c->path = (uint16_t)((first_client + j) % path_count); /* over the whole swarm: even spread */
  c->started_ms = now_ms();
  c->fd = -1;
  pending++;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { c->phase = DONE; answer(c, errno_name(errno)); return; }
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in local = { .sin_family = AF_INET };
  int span = addr_to - addr_from + 1;
  local.sin_addr.s_addr = htonl((127u << 24) | (unsigned)(addr_from + (first_client + j) % span));
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) { int e = errno; close(fd); c->phase = DONE; answer(c, errno_name(e)); return; }
  struct sockaddr_in remote = { .sin_family = AF_INET, .sin_port = htons(port) };
  remote.sin_addr.s_addr = htonl(0x7f000001);
  c->fd = fd;
  c->phase = CONNECTING;
  if (connect(fd, (struct sockaddr *)&remote, sizeof remote) != 0 && errno != EINPROGRESS) { drop(c, errno_name(errno)); return; }
  struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)j };
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void open_more(void) {
  while (pending < concurrency && next_conn < clients) open_one(next_conn++);
}

static void write_report(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  long rss_pages = 0;
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm) { long size; if (fscanf(statm, "%ld %ld", &size, &rss_pages) != 2) rss_pages = 0; fclose(statm); }
  printf("{\"type\":\"report\",\"connected\":%d,\"openAtMeasureStart\":[", connected);
  for (int i = 0; i < path_count; i++) printf("%s%d", i ? "," : "", open_at_measure[i]);
  printf("],\"failures\":{");
  for (int i = 0; i < fail_kinds; i++) { if (i) putchar(','); json_string(stdout, fail_names[i]); printf(":%d", fail_counts[i]); }
  printf("},\"closed\":%d,\"events\":%ld,\"measuredEvents\":%ld,\"bodyBytes\":%lld,\"sightings\":[", closed_count, events, events_measured, body_bytes);
  for (int i = 0; i < sighting_count; i++) {
    struct sighting *s = &sightings[i];
    printf("%s{\"path\":%d,\"id\":", i ? "," : "", s->path);
    json_string(stdout, s->id);
    printf(",\"generatedAt\":%.0f,\"receivers\":%ld,\"firstAt\":%.3f,\"lastAt\":%.3f,\"maxDelayMs\":%.3f}", s->generated_at, s->receivers, s->first_at, s->last_at, s->max_delay);
  }
  uint32_t *hists[2] = { setup_hist, delivery_hist };
  const char *names[2] = { "setupMs", "deliveryMs" };
  for (int h = 0; h < 2; h++) {
    printf("],\"%s\":[", names[h]);
    int firstPair = 1;
    for (long v = 0; v <= HIST_MS; v++)
      if (hists[h][v]) { printf("%s[%ld,%u]", firstPair ? "" : ",", v, hists[h][v]); firstPair = 0; }
  }
  printf("],\"cpuSeconds\":%.6f,\"rssBytes\":%ld}\n", cpu, rss_pages * 4096);
  fflush(stdout);
}

static void check_timeouts(double now) {
  for (int j = 0; j < next_conn; j++) {
    struct conn *c = &conns[j];
    if (!c->answered && c->phase != DONE && now - c->started_ms > timeout_ms) drop(c, "connect timeout");
  }
}

static char stdin_line[256];
static size_t stdin_len;

/* Returns 1 on "stop" (or stdin closed). */
static int on_stdin(void) {
  ssize_t n = read(0, stdin_line + stdin_len, sizeof stdin_line - 1 - stdin_len);
  if (n <= 0) return 1;
  stdin_len += n;
  for (;;) {
    char *eol = memchr(stdin_line, '\n', stdin_len);
    if (eol == NULL) { if (stdin_len >= sizeof stdin_line - 1) stdin_len = 0; return 0; }
    *eol = 0;
    if (strncmp(stdin_line, "measure ", 8) == 0) {
      measure_from = atof(stdin_line + 8);
      memset(open_at_measure, 0, sizeof open_at_measure);
      for (int j = 0; j < next_conn; j++) if (conns[j].open) open_at_measure[conns[j].path]++;
      events_measured = 0;
    } else if (strcmp(stdin_line, "progress") == 0) {
      write_progress();
    } else if (strcmp(stdin_line, "stop") == 0) {
      return 1;
    }
    size_t used = eol + 1 - stdin_line;
    memmove(stdin_line, eol + 1, stdin_len - used);
    stdin_len -= used;
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--clients")) clients = atoi(v);
    else if (!strcmp(k, "--first")) first_client = atoi(v);
    else if (!strcmp(k, "--addr-from")) addr_from = atoi(v);
    else if (!strcmp(k, "--addr-to")) addr_to = atoi(v);
    else if (!strcmp(k, "--concurrency")) concurrency = atoi(v);
    else if (!strcmp(k, "--timeout-ms")) timeout_ms = atoi(v);
    else if (!strcmp(k, "--path") && path_count < MAX_PATHS) paths[path_count++] = (char *)v;
    else { fprintf(stderr, "sse-swarm: unknown option %s\n", k); return 2; }
  }
  if (port <= 0 || clients <= 0 || path_count == 0) { fprintf(stderr, "sse-swarm: --port, --clients and --path are required\n"); return 2; }
  /* open files: raise the limit to what the sockets need where that is allowed (CAP_SYS_RESOURCE),
     else at least the soft limit to the hard one */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rlim_t want = (rlim_t)clients + 64;
    struct rlimit raised = { .rlim_cur = want, .rlim_max = want > rl.rlim_max ? want : rl.rlim_max };
    if (rl.rlim_cur < want && setrlimit(RLIMIT_NOFILE, &raised) != 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  for (int i = 0; i < path_count; i++) {
    char *r = NULL;
    int len = asprintf(&r, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n", paths[i], port);
    requests[i] = r;
    request_len[i] = (size_t)len;
    last_sighting[i] = -1;
  }
  conns = calloc(clients, sizeof *conns);
  readbuf = malloc(READ_BYTES + MAX_HEAD);
  bodybuf = malloc(READ_BYTES + (1 << 20) + MAX_HEAD);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event in = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &in);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  open_more();
  struct epoll_event evs[1024];
  double last_tick = now_ms();
  for (;;) {
    int n = epoll_wait(epfd, evs, 1024, 100);
    for (int i = 0; i < n; i++) {
      uint32_t j = evs[i].data.u32;
      if (j == UINT32_MAX) {
        if (on_stdin()) goto stop;
        continue;
      }
      struct conn *c = &conns[j];
      if (c->fd < 0) continue;
      if (c->phase == CONNECTING) {
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable(c);
      } else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        while (on_readable(c) == READ_BYTES && c->fd >= 0) {
        }
      }
    }
    /* A few ready sockets per wake-up means the server writes slower than we read: wait 0.5 ms so
       the next epoll_wait returns a batch. One wake-up per delivery costs ~2 µs of the swarm's CPU
       (a slow Node server is read socket by socket); the price is ≤ 0.5 ms on receive times, which
       are recorded in whole ms. Not while connecting, where each answer opens the next socket. */
    if (n > 0 && n < 64 && connected_reported) {
      struct timespec pause = { 0, 500000 };
      nanosleep(&pause, NULL);
    }
    if (pending < concurrency && next_conn < clients) open_more();
    if (!connected_reported && answered_count == clients) {
      connected_reported = 1;
      connected_done_at = now_ms();
      printf("{\"type\":\"connected\",\"connected\":%d,\"failed\":%d,\"doneAt\":%.3f}\n", connected, failed, connected_done_at);
      fflush(stdout);
    }
    double now = now_ms();
    if (now - last_tick >= 1000) {
      last_tick = now;
      if (!connected_reported) check_timeouts(now);
      write_progress();
    }
  }
stop:
  for (int j = 0; j < next_conn; j++) if (conns[j].fd >= 0) close(conns[j].fd);
  write_report();
  return 0;
}
