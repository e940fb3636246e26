// One snapshot written to many sockets in one call from JavaScript: the fan-out loop of
// socket-batch-write.ts, in C, so a delivery costs the send(2) and nothing of Node's per-call
// machinery. Built by scripts/build-native.mjs with the machine's gcc against Node's own headers
// (N-API, so one build serves every Node of the same major ABI); optional: without it the
// broadcaster writes through socket-direct-write.ts.
//
//   writeAll(fds: Int32Array, count: number, bytes: Uint8Array, exceptions: Int32Array): number
//
// Sends `bytes` to fds[0..count) with MSG_NOSIGNAL | MSG_DONTWAIT. A socket that took every byte
// is not mentioned again; for any other (a partial write, EAGAIN, an error) it stores the pair
// (index, bytes written or -errno) in `exceptions` and returns how many pairs it stored. The
// caller must only pass sockets whose libuv write queue is empty (else these bytes would jump it)
// and whose fd is still open (it owns that check: see socket-batch-write.ts).
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <sys/socket.h>
#include <sys/types.h>

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, "TALLY_NATIVE_ARGUMENT", message);
  return NULL;
}

static int int32_array(napi_env env, napi_value value, int32_t **data, size_t *length) {
  napi_typedarray_type type;
  void *raw;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok) return 0;
  if (type != napi_int32_array) return 0;
  *data = raw;
  return 1;
}

static napi_value write_all(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return fail(env, "writeAll needs 4 arguments");
  int32_t *fds, *exceptions;
  size_t fd_capacity, exception_capacity, length;
  uint32_t count;
  napi_typedarray_type type;
  void *bytes;
  if (!int32_array(env, argv[0], &fds, &fd_capacity)) return fail(env, "fds must be an Int32Array");
  if (napi_get_value_uint32(env, argv[1], &count) != napi_ok || count > fd_capacity) return fail(env, "count must be within fds");
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &bytes, NULL, NULL) != napi_ok || type != napi_uint8_array) return fail(env, "bytes must be a Uint8Array");
  if (!int32_array(env, argv[3], &exceptions, &exception_capacity) || exception_capacity < 2 * (size_t)count) return fail(env, "exceptions must hold 2 × count");

  uint32_t stored = 0;
  for (uint32_t i = 0; i < count; i += 1) {
    ssize_t sent;
    do sent = send(fds[i], bytes, length, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (sent < 0 && errno == EINTR);
    if (sent == (ssize_t)length) continue;
    exceptions[2 * stored] = (int32_t)i;
    exceptions[2 * stored + 1] = sent < 0 ? -errno : (int32_t)sent;
    stored += 1;
  }
  napi_value result;
  napi_create_uint32(env, stored, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "writeAll", NAPI_AUTO_LENGTH, write_all, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "writeAll", fn) != napi_ok) return NULL;
  return exports;
}
