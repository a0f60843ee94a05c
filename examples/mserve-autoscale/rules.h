/* mserve-autoscale: the rules file (JSON) as plain data.
 *
 * The file's vocabulary (">", "mean", seconds) is parsed here and mapped onto
 * the library's enums and microseconds by replay.c, so this file has no
 * dependency beyond cJSON. */
#ifndef AS_RULES_H
#define AS_RULES_H

#include <stddef.h>
#include <stdint.h>

typedef enum as_cmp { AS_LT = 0, AS_LE = 1, AS_GT = 2, AS_GE = 3 } as_cmp;   /* same order as ms_comparator */
typedef enum as_agg { AS_MEAN = 0, AS_MAX = 1, AS_MIN = 2 } as_agg;         /* same order as ms_aggregation */

#define AS_OUTCOME_NONE 0xFF

typedef struct as_rule {
  char *source, *metric;
  as_cmp cmp;
  double threshold;
  int64_t step;
  double cooldown_s;
  int64_t min, max; /* -1: no bound */
  as_agg agg;
  int enabled;
  /* filled by the replay */
  int64_t rule_id;
  double last_applied_t; /* display seconds; < -1e300 when never applied */
  double *values;        /* per evaluation; only meaningful where has_value */
  unsigned char *has_value;
  unsigned char *outcome; /* per evaluation: an ms_rule_outcome, or AS_OUTCOME_NONE when not reported */
} as_rule;

typedef struct as_endpoint {
  char *name;
  int64_t replicas; /* initial desired count */
  as_rule *rules;
  size_t n_rules;
  /* filled by the replay */
  int64_t *replicas_after; /* per evaluation */
} as_endpoint;

typedef struct as_rules {
  double metric_ttl_s; /* 60 unless the file says otherwise */
  as_endpoint *eps;
  size_t n_eps;
} as_rules;

/* Read and validate `path`. On failure returns -1 and writes
 * "<path>: <json path>: <cause>" (or "<path>:<line>:<col>: ..." for syntax
 * errors) into err; *out is then empty and needs no freeing. */
int as_rules_load(const char *path, as_rules *out, char *err, size_t errlen);
/* The same from `len` bytes of NUL-terminated text in memory (the caller
 * keeps it); `path` names it in messages. No output, no exit
 * (tests/fuzz/fuzz_cli_autoscale_rules.c). */
int as_rules_parse(const char *text, size_t len, const char *path, as_rules *out, char *err, size_t errlen);
void as_rules_free(as_rules *r);

/* ">" etc. and "mean" etc., for printing. */
const char *as_cmp_text(as_cmp c);
const char *as_agg_text(as_agg a);

/* Read a whole file into a NUL-terminated buffer (free it); NULL with errno
 * set to the cause (a read error is never taken for the end of the file). */
char *as_read_file(const char *path, size_t *len);

#endif
