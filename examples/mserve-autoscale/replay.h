/* mserve-autoscale: replaying observations through the autoscaler. */
#ifndef AS_REPLAY_H
#define AS_REPLAY_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "obs.h"
#include "rules.h"

/* Exit statuses of the tool, as every libmserve tool's (examples/common/cli.h):
 * a replay has no negative answer, so every failure is 2. */
enum { AS_EXIT_OK = 0, AS_EXIT_FAIL = 2, AS_EXIT_INPUT = 2 };

/* AS_REPLAY_BASE_S (obs.h): where relative times start. */

typedef struct as_opts {
  const char *rules_path, *obs_path, *db_path, *plot_path;
  double step_s;   /* evaluation cadence in replay seconds (default 10) */
  int each_row;    /* evaluate after every distinct observation time instead */
  double ttl_s;    /* > 0: overrides the rules file's metric_ttl_s */
  int json;        /* print one JSON document instead of the text timeline */
  int all;         /* list every evaluation, not only changes */
} as_opts;

typedef struct as_replay {
  as_rules rules;
  as_obs_list obs;
  double origin_s;  /* file time shown as t=0 */
  size_t n_evals;
  double *eval_t;   /* display seconds of each evaluation */
  size_t n_changes;
  int status;       /* the library's status of a failure, MS_OK when the failure was the tool's */
} as_replay;

/* Load the inputs, run the replay and print the timeline on `out`, or, when
 * jdoc is not NULL, add it to that JSON document (the family's envelope)
 * instead. Messages about bad input go to `err`. Returns an AS_EXIT_*
 * status (r->status: the library's status of a failed call); `r` holds the
 * trace for plotting afterwards whenever the status is AS_EXIT_OK. */
int as_replay_run(const as_opts *o, as_replay *r, FILE *out, FILE *err, cJSON *jdoc);
void as_replay_free(as_replay *r);

/* Format display seconds compactly: "90s", "2m", "1m30s", "1h05m", "12.5s". */
void as_fmt_duration(double s, char *buf, size_t cap);

#endif
