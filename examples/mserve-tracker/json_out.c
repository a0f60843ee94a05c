/* Streaming JSON writer: tracks whether a comma is due at each nesting level. */
#include "json_out.h"

#include <inttypes.h>
#include <stdio.h>

#define MAX_DEPTH 16

static int need_comma[MAX_DEPTH];
static int depth;

static void write_string(const char *v) {
  fputc('"', stdout);
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", stdout); break;
      case '\\': fputs("\\\\", stdout); break;
      case '\n': fputs("\\n", stdout); break;
      case '\r': fputs("\\r", stdout); break;
      case '\t': fputs("\\t", stdout); break;
      default:
        if (*p < 0x20)
          printf("\\u%04x", (unsigned)*p);
        else
          fputc(*p, stdout);
    }
  }
  fputc('"', stdout);
}

/* The separator and, inside an object, the key of the next value. */
static void next(const char *key) {
  if (need_comma[depth]) fputc(',', stdout);
  need_comma[depth] = 1;
  if (key) {
    write_string(key);
    fputc(':', stdout);
  }
}

static void open_level(char c) {
  fputc(c, stdout);
  if (depth < MAX_DEPTH - 1) depth++;
  need_comma[depth] = 0;
}

static void close_level(char c) {
  fputc(c, stdout);
  if (depth > 0) depth--;
}

void jo_begin(void) {
  depth = 0;
  need_comma[0] = 0;
  open_level('{');
}

void jo_end(void) {
  close_level('}');
  fputc('\n', stdout);
  fflush(stdout);
}

void jo_key_object(const char *key) {
  next(key);
  open_level('{');
}

void jo_end_object(void) { close_level('}'); }

void jo_key_array(const char *key) {
  next(key);
  open_level('[');
}

void jo_end_array(void) { close_level(']'); }

void jo_str(const char *key, const char *v) {
  next(key);
  if (v)
    write_string(v);
  else
    fputs("null", stdout);
}

void jo_int(const char *key, int64_t v) {
  next(key);
  printf("%" PRId64, v);
}

void jo_bool(const char *key, int v) {
  next(key);
  fputs(v ? "true" : "false", stdout);
}

void jo_null(const char *key) {
  next(key);
  fputs("null", stdout);
}
