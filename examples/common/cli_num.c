/* Checked number conversions for the example CLIs (see cli_num.h). */
#include "cli_num.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

cli_num_status cli_num_parse(const char *s, double *out) {
  if (!s || !*s || isspace((unsigned char)s[0])) return CLI_NUM_SYNTAX;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end) return CLI_NUM_SYNTAX;
  if (isnan(v)) return CLI_NUM_NAN;
  if (errno == ERANGE) {
    if (fabs(v) > 1.0) return CLI_NUM_RANGE; /* overflow: HUGE_VAL */
    /* underflow: a nonzero number too small for a double; keep it nonzero */
    if (v == 0.0) v = copysign(DBL_TRUE_MIN, v);
  }
  *out = v;
  return CLI_NUM_OK;
}

cli_num_status cli_num_seconds_to_us(double seconds, int64_t *us) {
  if (isnan(seconds)) return CLI_NUM_NAN;
  if (isinf(seconds)) return CLI_NUM_RANGE;
  if (seconds < 0) return CLI_NUM_NEGATIVE;
  double v = seconds * 1e6;
  /* 2^63 is the first double past INT64_MAX; every double below it converts */
  if (!(v < 9223372036854775808.0)) return CLI_NUM_RANGE;
  int64_t r = (int64_t)llround(v);
  if (r == 0 && seconds > 0) r = 1; /* a positive duration is never "none" */
  *us = r;
  return CLI_NUM_OK;
}

cli_num_status cli_num_parse_seconds_us(const char *s, int64_t *us) {
  double v = 0;
  cli_num_status st = cli_num_parse(s, &v);
  if (st == CLI_NUM_OK) st = cli_num_seconds_to_us(v, us);
  return st;
}

cli_num_status cli_num_parse_count(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  if (!s || !*s || strspn(s, "0123456789") != strlen(s)) return CLI_NUM_SYNTAX;
  int64_t v = 0;
  for (const char *p = s; *p; p++) {
    int d = *p - '0';
    if (v > (INT64_MAX - d) / 10) return CLI_NUM_RANGE;
    v = v * 10 + d;
  }
  if (v < lo || v > hi) return CLI_NUM_RANGE;
  *out = v;
  return CLI_NUM_OK;
}

cli_num_status cli_num_mul(int64_t value, int64_t factor, int64_t *out) {
  if (factor < 1) return CLI_NUM_RANGE;
  if (value > INT64_MAX / factor || value < INT64_MIN / factor) return CLI_NUM_RANGE;
  *out = value * factor;
  return CLI_NUM_OK;
}

cli_num_status cli_num_parse_scaled(const char *s, int64_t factor, int64_t *out) {
  int64_t v = 0;
  cli_num_status st = cli_num_parse_count(s, 0, INT64_MAX, &v);
  if (st == CLI_NUM_OK) st = cli_num_mul(v, factor, &v);
  if (st == CLI_NUM_OK) *out = v;
  return st;
}

cli_num_status cli_num_parse_unit_us(const char *s, double unit_us, int64_t *us) {
  double v = 0;
  cli_num_status st = cli_num_parse(s, &v);
  if (st != CLI_NUM_OK) return st;
  if (isinf(v)) return CLI_NUM_RANGE;
  if (v < 0) return CLI_NUM_NEGATIVE;
  /* seconds are what cli_num_seconds_to_us takes */
  return cli_num_seconds_to_us(v * unit_us / 1e6, us);
}

const char *cli_num_reason(cli_num_status st) {
  switch (st) {
  case CLI_NUM_OK: return "ok";
  case CLI_NUM_SYNTAX: return "expected a number of seconds";
  case CLI_NUM_NAN: return "not a number";
  case CLI_NUM_RANGE: return "out of range";
  case CLI_NUM_NEGATIVE: return "negative";
  }
  return "invalid";
}
