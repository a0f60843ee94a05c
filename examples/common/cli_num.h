/* Checked conversions of the numbers a user types into the example CLIs
 * (mserve-tracker, mserve-autoscale): seconds as text to a double, and
 * seconds to int64 microseconds. Every conversion is checked both ways: NaN,
 * infinities, values past INT64_MAX microseconds and, where a caller wants a
 * non-negative duration, values below zero are refused; a positive value
 * below 1 us becomes 1 us, never 0 (0 means "none" to the library). */
#ifndef MSERVE_EXAMPLES_CLI_NUM_H
#define MSERVE_EXAMPLES_CLI_NUM_H

#include <stdint.h>

typedef enum cli_num_status {
  CLI_NUM_OK = 0,
  CLI_NUM_SYNTAX = 1,   /* not a number, or something after it */
  CLI_NUM_NAN = 2,      /* "nan" */
  CLI_NUM_RANGE = 3,    /* an infinity, or past what the target type holds */
  CLI_NUM_NEGATIVE = 4, /* below zero where only durations >= 0 make sense */
} cli_num_status;

/* The largest number of seconds whose microseconds fit in int64_t. */
#define CLI_NUM_MAX_SECONDS 9223372036854.775807

/* Parse all of `s` as a decimal or hexadecimal floating-point number
 * (strtod's syntax, without leading blanks). An overflow is CLI_NUM_RANGE;
 * an underflow keeps its sign as the smallest nonzero double, so a tiny
 * positive number never turns into 0. *out is set only on CLI_NUM_OK, and
 * may then be an infinity only if `s` spelt one (callers check range). */
cli_num_status cli_num_parse(const char *s, double *out);

/* Seconds to microseconds, rounded to the nearest, with a positive value
 * below 1 us rounded up to 1 us. NaN is CLI_NUM_NAN, infinities and values
 * of CLI_NUM_MAX_SECONDS or more (either sign) CLI_NUM_RANGE, negative values
 * CLI_NUM_NEGATIVE. *us is set only on CLI_NUM_OK. */
cli_num_status cli_num_seconds_to_us(double seconds, int64_t *us);

/* Text then checked conversion: both steps above. */
cli_num_status cli_num_parse_seconds_us(const char *s, int64_t *us);

/* A short reason for a failed status: "not a number", "out of range", ... */
const char *cli_num_reason(cli_num_status st);

#endif
