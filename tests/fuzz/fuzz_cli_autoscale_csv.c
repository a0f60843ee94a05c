/* libFuzzer target: mserve-autoscale's observations file (CSV, examples/
 * mserve-autoscale/obs.c). Beyond "no crash, no leak": accepted rows are in
 * time order, of one kind (relative or Unix-epoch), with finite values and a
 * replay instant that fits in int64 microseconds; a refused file leaves
 * nothing behind and says why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/mserve-autoscale/obs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  text[size] = '\0';
  as_obs_list l;
  char err[1024];
  err[0] = '\0';
  int rc = as_obs_parse(text, size, "fuzz.csv", &l, err, sizeof err); /* owns text */
  if (rc != 0) {
    if (rc != -1 || err[0] == '\0' || l.rows || l.n || l.text) abort();
    return 0;
  }
  if (l.n == 0 || !l.rows || !l.text) abort();
  for (size_t i = 0; i < l.n; i++) {
    const as_obs *o = &l.rows[i];
    if (!(o->t_s >= 0) || !isfinite(o->value) || o->t_us < 0) abort();
    if (l.absolute != (o->t_s >= AS_EPOCH_THRESHOLD_S)) abort();
    if (!o->endpoint[0] || !o->source[0] || !o->metric[0] || (o->replica && !o->replica[0])) abort();
    if (i && (o->t_s < l.rows[i - 1].t_s || o->t_us < l.rows[i - 1].t_us || o->line <= l.rows[i - 1].line)) abort();
  }
  as_obs_free(&l);
  return 0;
}
