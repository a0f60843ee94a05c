/* libFuzzer target: mserve-autoscale's rules file (JSON, examples/
 * mserve-autoscale/rules.c). Beyond "no crash, no leak": accepted rules are
 * within the documented ranges (so every duration converts to microseconds),
 * and a refused file leaves nothing behind and says why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/mserve-autoscale/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  text[size] = '\0';
  as_rules r;
  char err[1024];
  err[0] = '\0';
  int rc = as_rules_parse(text, size, "fuzz.json", &r, err, sizeof err);
  free(text);
  if (rc != 0) {
    if (rc != -1 || err[0] == '\0' || r.eps || r.n_eps) abort();
    return 0;
  }
  if (!(r.metric_ttl_s > 0 && r.metric_ttl_s <= 1e9) || r.n_eps == 0 || !r.eps) abort();
  for (size_t i = 0; i < r.n_eps; i++) {
    const as_endpoint *e = &r.eps[i];
    if (!e->name || !e->name[0] || e->replicas < 0 || e->replicas > 1000000) abort();
    for (size_t k = 0; k < i; k++)
      if (strcmp(r.eps[k].name, e->name) == 0) abort();
    for (size_t j = 0; j < e->n_rules; j++) {
      const as_rule *u = &e->rules[j];
      if (!u->source || !u->metric || !u->source[0] || !u->metric[0]) abort();
      if (u->step == 0 || u->step < -1000000 || u->step > 1000000) abort();
      if (!(u->cooldown_s >= 0 && u->cooldown_s <= 1e9) || !isfinite(u->threshold)) abort();
      if (u->min < -1 || u->max < -1 || (u->min >= 0 && u->max >= 0 && u->min > u->max)) abort();
      if ((unsigned)u->cmp > AS_GE || (unsigned)u->agg > AS_MIN) abort();
    }
  }
  as_rules_free(&r);
  return 0;
}
