/* mserve-autoscale: the observations file (CSV) as plain data. */
#ifndef AS_OBS_H
#define AS_OBS_H

#include <stddef.h>

/* Times at or above this many seconds are Unix-epoch seconds (2001-09-09);
 * below it they are seconds relative to the start of the replay. The first
 * data row decides for the whole file. */
#define AS_EPOCH_THRESHOLD_S 1e9

typedef struct as_obs {
  double t_s;        /* as written in the file */
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
 * On failure returns -1 with "<path>:<line>: <cause>" in err. */
int as_obs_load(const char *path, as_obs_list *out, char *err, size_t errlen);
void as_obs_free(as_obs_list *l);

#endif
