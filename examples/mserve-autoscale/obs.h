/* mserve-autoscale: the observations file (CSV) as plain data. */
#ifndef AS_OBS_H
#define AS_OBS_H

#include <stddef.h>
#include <stdint.h>

/* Times at or above this many seconds are Unix-epoch seconds (2001-09-09);
 * below it they are seconds relative to the start of the replay. The first
 * data row decides for the whole file. */
#define AS_EPOCH_THRESHOLD_S 1e9

/* Relative times t are replayed at Unix-epoch second AS_REPLAY_BASE_S + t, a
 * fixed instant so that a replay into --db is reproducible byte for byte. */
#define AS_REPLAY_BASE_S 1700000000.0

typedef struct as_obs {
  double t_s;        /* as written in the file */
  int64_t t_us;      /* the instant it is replayed at: Unix-epoch microseconds */
  const char *endpoint, *source, *metric;
  const char *replica; /* NULL: endpoint-wide */
  double value;
  size_t line;
} as_obs;

typedef struct as_obs_list {
  as_obs *rows;
  size_t n;
  int absolute; /* times are Unix-epoch seconds */
  char *text;   /* the file's text; the rows' strings point into it */
} as_obs_list;

/* Read `path`: header `time_s,endpoint,source,metric,replica,value`, then one
 * observation a line, in non-decreasing time order. Blank lines and lines
 * starting with '#' are skipped; fields are trimmed and may not be quoted.
 * Numbers are checked: a time that is NaN, negative or whose replay instant
 * does not fit in int64 microseconds is refused, as is a value that is not
 * finite. On failure returns -1 with "<path>:<line>: <cause>" in err (or
 * "<path>: cannot read: <cause>" when the file cannot be read to its end). */
int as_obs_load(const char *path, as_obs_list *out, char *err, size_t errlen);

/* The same from text already in memory: `text` holds `len` bytes plus a
 * terminating NUL, is malloc'd and is owned by *out on success (freed on
 * failure); `name` is the file name the messages use. No output, no exit
 * (tests/fuzz/fuzz_cli_autoscale_csv.c). */
int as_obs_parse(char *text, size_t len, const char *name, as_obs_list *out, char *err, size_t errlen);
void as_obs_free(as_obs_list *l);

#endif
