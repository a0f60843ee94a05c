/* Checked conversions of the numbers a user types into the example CLIs:
 * seconds as text to a double, seconds to int64 microseconds, counts, and
 * integers or fractions in a flag's unit (ms, s) to microseconds. Every conversion is checked both ways: NaN,
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

/* A count written as decimal digits only (no sign, blank or suffix) in
 * [lo, hi]: CLI_NUM_SYNTAX for anything else, CLI_NUM_RANGE outside the
 * range (digits past int64 included). *out set only on CLI_NUM_OK. */
cli_num_status cli_num_parse_count(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* value * factor (factor >= 1) when it fits in int64, on either side:
 * CLI_NUM_OK, else CLI_NUM_RANGE (*out untouched). */
cli_num_status cli_num_mul(int64_t value, int64_t factor, int64_t *out);

/* A non-negative integer in a flag's unit (decimal digits only) times
 * `factor` microseconds per unit (1000 for --max-batch-delay MS, 1000000
 * for --response-timeout S, 1 for a count): CLI_NUM_SYNTAX for bad text,
 * CLI_NUM_RANGE when the digits or the product do not fit in int64. */
cli_num_status cli_num_parse_scaled(const char *s, int64_t factor, int64_t *out);

/* A non-negative number of a unit of `unit_us` microseconds, fractions
 * allowed ("2.5" ms), to whole microseconds rounded to the nearest, a
 * positive value below 1 us being 1 us: CLI_NUM_SYNTAX, CLI_NUM_NAN,
 * CLI_NUM_NEGATIVE or CLI_NUM_RANGE (an infinity, or past INT64_MAX us). */
cli_num_status cli_num_parse_unit_us(const char *s, double unit_us, int64_t *us);

/* A short reason for a failed status: "not a number", "out of range", ... */
const char *cli_num_reason(cli_num_status st);

#endif
