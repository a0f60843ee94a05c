/* Internal (autoscaler, layer 1, a value): ms_decisions, the self-contained
 * result of an evaluation or a history listing (decisions.c). Depends on
 * nothing of the part but the comparator names (rule.h). */
#ifndef MS_AUTOSCALER_DECISIONS_H
#define MS_AUTOSCALER_DECISIONS_H

#include <stddef.h>
#include <stdint.h>

#include "mserve/autoscaler.h"

/* One rule's outcome in one entry. */
typedef struct as_dec_rule {
  int64_t rule_id;
  double value;
  double threshold;
  int64_t step;
  int64_t proposed;
  int32_t outcome;
  int32_t cmp;
} as_dec_rule;

/* One endpoint's entry: its rules are r[rule_first .. rule_first + n_rules). */
typedef struct as_dec_entry {
  size_t name_off;
  int64_t at, from, to, applied;
  size_t rule_first, n_rules;
} as_dec_entry;

struct ms_decisions {
  as_dec_entry *e;
  size_t n, cap;
  as_dec_rule *r;
  size_t nr, cap_r;
  char *names;
  size_t names_len, cap_names;
  char evaluated_by[256]; /* a dry result because another host evaluated the tick: who; "" otherwise */
};

/* Room for `entries` entries, `rules` rules and `name_bytes` bytes of names
 * (each at least 1), or NULL (no message: the caller says what it was for). */
ms_decisions *ms__autoscaler_decisions_new(size_t entries, size_t rules, size_t name_bytes);
/* Append an entry (capacity grows when needed). MS_OK, or MS_ENOMEM with a
 * message; d is unchanged then. */
int ms__autoscaler_decisions_add(ms_decisions *d, const char *name, size_t name_len, int64_t at, int64_t from,
                                 int64_t to, int64_t applied, const as_dec_rule *rules, size_t n_rules);

#endif
