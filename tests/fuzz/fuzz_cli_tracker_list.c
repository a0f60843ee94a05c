/* libFuzzer target: the reconcile list mserve-tracker reads on stdin
 * (examples/mserve-tracker/list.c), through a real ms_reconcile over an
 * in-memory store (ms_reconcile_add touches no store; the list is aborted,
 * never committed).
 *
 * Input: byte 0 shapes the stream, the rest is the list. Bits 0-2: the
 * stream hands out at most 1 + (bits) * 37 bytes a read, so line ends fall
 * anywhere in a read. Bit 7: the stream fails with EIO after the last byte
 * instead of reaching the end, and then the whole list must be refused
 * (a read error is never the end of the list). */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/mserve-tracker/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct stream {
  const uint8_t *p;
  size_t left, chunk;
  int fail_at_end;
} stream;

static ssize_t stream_read(void *cookie, char *buf, size_t len) {
  stream *s = cookie;
  if (s->left == 0) {
    if (s->fail_at_end) {
      errno = EIO;
      return -1;
    }
    return 0;
  }
  size_t n = len < s->chunk ? len : s->chunk;
  if (n > s->left) n = s->left;
  memcpy(buf, s->p, n);
  s->p += n;
  s->left -= n;
  return (ssize_t)n;
}

static ms_tracker *tracker(void) {
  static ms_store *store;
  static ms_tracker *t;
  if (!t) {
    if (ms_store_open(":memory:", 0, &store) != MS_OK || ms_tracker_open(store, &t) != MS_OK) abort();
  }
  return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  stream s = {data + 1, size - 1, 1 + (size_t)(data[0] & 7) * 37, (data[0] & 0x80) != 0};
  cookie_io_functions_t io = {stream_read, NULL, NULL, NULL};
  FILE *in = fopencookie(&s, "r", io);
  if (!in) return 0;
  ms_reconcile *r = NULL;
  if (ms_tracker_reconcile_begin(tracker(), NULL, &r) != MS_OK) abort();
  long listed = -7;
  tk_list_error e;
  memset(&e, 0, sizeof e);
  int rc = tk_list_read(in, r, &listed, &e);
  fclose(in);
  ms_reconcile_rollback(r);
  if (rc == 0) {
    if (s.fail_at_end) abort(); /* a read error was taken for the end of the list */
    if (listed < 0 || (size_t)listed > size) abort();
  } else {
    if (rc != -1 || listed != -7) abort(); /* *listed untouched on failure */
    if (!e.status || e.msg[0] == '\0' || memchr(e.msg, '\0', sizeof e.msg) == NULL) abort();
  }
  return 0;
}
