/*
 * The C floor of `bench fanout --peer floor`: the least an SSE fan-out server can do on this
 * machine. One process per --processes of the scenario, all listening on the same port with
 * SO_REUSEPORT (the kernel spreads the connections). Built by the bench with gcc
 * (bench/lib/c-program.ts), fed by bench/fanout/peer-server.ts over stdin:
 *
 *   argv:  --port P --path /v1/surveys/<id>/results/stream [--path ...]
 *   stdin: "<path index> <length>\n" then <length> bytes: one whole SSE event (id, event, data)
 *   stdout: "listening\n" once the socket listens
 *
 * A GET for one of the paths is answered with the SSE head and the path's current event in one
 * write(); every new event is written with one write() per socket of the same shared buffer. A
 * socket that cannot take the whole event keeps the rest (EPOLLOUT) and skips events until it has
 * drained, as tally's slow clients do. The process ends when stdin closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PATHS 128
#define MAX_REQUEST 4096

struct frame {
  int refs;
  size_t len;
  char data[];
};

struct conn {
  int path; /* -1 while the request is read */
  int slot; /* index in its path's subscriber list */
  char *request;
  size_t request_len;
  struct frame *pending;
  size_t pending_off;
};

static const char HEAD[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n";
static char *paths[MAX_PATHS];
static int path_count;
static struct frame *current[MAX_PATHS];
static int *subscribers[MAX_PATHS];
static int subscriber_count[MAX_PATHS], subscriber_cap[MAX_PATHS];
static struct conn *conns;
static int max_fd;
static int epfd, listen_fd;

static void release(struct frame *f) {
  if (f && --f->refs == 0) free(f);
}

static void close_conn(int fd) {
  struct conn *c = &conns[fd];
  if (c->path >= 0) {
    int p = c->path, last = subscribers[p][--subscriber_count[p]];
    subscribers[p][c->slot] = last;
    conns[last].slot = c->slot;
  }
  free(c->request);
  release(c->pending);
  memset(c, 0, sizeof *c);
  c->path = -1;
  close(fd);
}

static void want_write(int fd, int on) {
  struct epoll_event ev = { .events = on ? EPOLLIN | EPOLLOUT : EPOLLIN, .data.fd = fd };
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

/* Writes f from off; keeps the rest as pending. Returns -1 if the socket is gone. */
static int send_frame(int fd, struct frame *f, size_t off) {
  struct conn *c = &conns[fd];
  ssize_t w = write(fd, f->data + off, f->len - off);
  if (w < 0) {
    if (errno != EAGAIN) return -1;
    w = 0;
  }
  if ((size_t)w + off < f->len) {
    if (c->pending != f) { f->refs++; c->pending = f; want_write(fd, 1); }
    c->pending_off = off + w;
  } else if (c->pending == f) {
    c->pending = NULL;
    release(f);
    want_write(fd, 0);
  }
  return 0;
}

static void subscribe(int fd, int p) {
  struct conn *c = &conns[fd];
  if (subscriber_count[p] == subscriber_cap[p]) {
    subscriber_cap[p] = subscriber_cap[p] ? subscriber_cap[p] * 2 : 1024;
    subscribers[p] = realloc(subscribers[p], sizeof(int) * subscriber_cap[p]);
  }
  c->path = p;
  c->slot = subscriber_count[p];
  subscribers[p][subscriber_count[p]++] = fd;
  struct frame *cur = current[p];
  size_t len = sizeof HEAD - 1 + (cur ? cur->len : 0);
  struct frame *first = malloc(sizeof *first + len);
  first->refs = 1;
  first->len = len;
  memcpy(first->data, HEAD, sizeof HEAD - 1);
  if (cur) memcpy(first->data + sizeof HEAD - 1, cur->data, cur->len);
  if (send_frame(fd, first, 0) < 0) close_conn(fd);
  release(first);
}

static void on_request_bytes(int fd) {
  struct conn *c = &conns[fd];
  char buf[MAX_REQUEST];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EAGAIN)) { close_conn(fd); return; }
  if (n < 0) return;
  if (c->path >= 0) return; /* a subscriber says nothing more: ignore */
  if (c->request_len + n > MAX_REQUEST) { close_conn(fd); return; }
  c->request = realloc(c->request, c->request_len + n);
  memcpy(c->request + c->request_len, buf, n);
  c->request_len += n;
  if (memmem(c->request, c->request_len, "\r\n\r\n", 4) == NULL) return;
  const char *sp = memchr(c->request, ' ', c->request_len);
  int found = -1;
  if (sp) {
    const char *start = sp + 1, *end = memchr(start, ' ', c->request + c->request_len - start);
    if (end)
      for (int i = 0; i < path_count; i++)
        if ((size_t)(end - start) == strlen(paths[i]) && memcmp(start, paths[i], end - start) == 0) found = i;
  }
  free(c->request);
  c->request = NULL;
  c->request_len = 0;
  if (found < 0) {
    static const char NOT_FOUND[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (write(fd, NOT_FOUND, sizeof NOT_FOUND - 1) < 0) { /* closing anyway */ }
    close_conn(fd);
    return;
  }
  subscribe(fd, found);
}

static void publish(int p, struct frame *f) {
  release(current[p]);
  current[p] = f;
  int *subs = subscribers[p];
  /* from the end: a socket closed here is replaced by the last one, already visited */
  for (int i = subscriber_count[p] - 1; i >= 0; i--) {
    int fd = subs[i];
    if (conns[fd].pending) continue; /* still draining the last one: skips this event */
    if (send_frame(fd, f, 0) < 0) close_conn(fd);
  }
}

static char *in_buf;
static size_t in_len, in_cap;

/* Returns 1 when stdin is closed. */
static int on_stdin(void) {
  for (;;) {
    if (in_cap - in_len < 65536) { in_cap = in_cap ? in_cap * 2 : 1 << 20; in_buf = realloc(in_buf, in_cap); }
    ssize_t n = read(0, in_buf + in_len, in_cap - in_len);
    if (n == 0) return 1;
    if (n < 0) break;
    in_len += n;
  }
  size_t off = 0;
  for (;;) {
    char *eol = memchr(in_buf + off, '\n', in_len - off);
    if (eol == NULL) break;
    int p = -1;
    long len = -1;
    if (sscanf(in_buf + off, "%d %ld", &p, &len) != 2 || p < 0 || p >= path_count || len < 0) { fprintf(stderr, "floor-server: bad frame header\n"); exit(2); }
    size_t body = eol + 1 - in_buf;
    if (in_len - body < (size_t)len) break;
    struct frame *f = malloc(sizeof *f + len);
    f->refs = 1;
    f->len = len;
    memcpy(f->data, in_buf + body, len);
    publish(p, f);
    off = body + len;
  }
  memmove(in_buf, in_buf + off, in_len - off);
  in_len -= off;
  return 0;
}

int main(int argc, char **argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--path") && path_count < MAX_PATHS) paths[path_count++] = argv[i + 1];
    else { fprintf(stderr, "floor-server: unknown option %s\n", argv[i]); return 2; }
  }
  if (port <= 0 || path_count == 0) { fprintf(stderr, "floor-server: --port and --path are required\n"); return 2; }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  max_fd = (int)rl.rlim_cur;
  conns = calloc(max_fd, sizeof *conns);
  for (int i = 0; i < max_fd; i++) conns[i].path = -1;
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
  addr.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listen_fd, 4096) != 0) { perror("floor-server: listen"); return 1; }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = listen_fd };
  epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  ev.data.fd = 0;
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
  printf("listening\n");
  fflush(stdout);
  struct epoll_event evs[1024];
  for (;;) {
    int n = epoll_wait(epfd, evs, 1024, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == 0) {
        if (on_stdin()) return 0;
      } else if (fd == listen_fd) {
        for (;;) {
          int c = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          if (c >= max_fd) { close(c); continue; }
          conns[c].path = -1;
          struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };
          epoll_ctl(epfd, EPOLL_CTL_ADD, c, &cev);
        }
      } else {
        if (evs[i].events & (EPOLLERR | EPOLLHUP)) { close_conn(fd); continue; }
        if ((evs[i].events & EPOLLOUT) && conns[fd].pending) {
          if (send_frame(fd, conns[fd].pending, conns[fd].pending_off) < 0) { close_conn(fd); continue; }
        }
        if (evs[i].events & EPOLLIN) on_request_bytes(fd);
      }
    }
  }
}
