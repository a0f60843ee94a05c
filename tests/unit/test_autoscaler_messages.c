/* Unit test: every failing autoscaler call's message starts with the part,
 * the call and the object, then the cause ("autoscaler:
 * ms_autoscaler_add_rule: endpoint 'ep': ..."), whichever layer found the
 * cause, and a failure changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"
#include "store/store_internal.h"
#include "testutil.h"

/* The status is `want` and the message starts with `head`. */
static void expect_msg(int st, int want, const char *head) {
  if (st != want) fail_msg("status %s (%s), want %s", ms_status_name(st), ms_errmsg(), ms_status_name(want));
  if (strncmp(ms_errmsg(), head, strlen(head)) != 0)
    fail_msg("message \"%s\"\n  does not start \"%s\"", ms_errmsg(), head);
}

static void every_call_names_itself_and_its_object(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  char head[256];
  expect_msg(ms_autoscaler_open(NULL, NULL), MS_EINVAL, "autoscaler: ms_autoscaler_open: NULL store");
  expect_msg(ms_autoscaler_set_metric_ttl(a, 0), MS_EINVAL, "autoscaler: ms_autoscaler_set_metric_ttl: ");
  expect_msg(ms_autoscaler_set_replicas(NULL, "ep", 1), MS_EINVAL,
             "autoscaler: ms_autoscaler_set_replicas: NULL autoscaler");
  expect_msg(ms_autoscaler_set_replicas(a, "", 1), MS_EINVAL,
             "autoscaler: ms_autoscaler_set_replicas: empty endpoint name");
  expect_msg(ms_autoscaler_set_replicas(a, "ep", -1), MS_EINVAL,
             "autoscaler: ms_autoscaler_set_replicas: endpoint 'ep': negative replica count -1");
  int64_t n = 0;
  expect_msg(ms_autoscaler_get_replicas(a, "zz", &n), MS_ENOTFOUND,
             "autoscaler: ms_autoscaler_get_replicas: endpoint 'zz': ");
  expect_msg(ms_autoscaler_remove_endpoint(a, "zz"), MS_ENOTFOUND,
             "autoscaler: ms_autoscaler_remove_endpoint: endpoint 'zz': ");
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);

  /* rules: the builder, add (validation, unknown endpoint, conflict), enable,
   * remove, get */
  ms_rule *r = NULL;
  assert_int_equal(ms_rule_new(&r), MS_OK);
  expect_msg(ms_rule_set_step(r, 0), MS_EINVAL, "autoscaler: ms_rule_set_step: step 0");
  expect_msg(ms_rule_set_metric(r, "", "u"), MS_EINVAL, "autoscaler: ms_rule_set_metric: ");
  expect_msg(ms_autoscaler_add_rule(a, "ep", r, NULL), MS_EINVAL,
             "autoscaler: ms_autoscaler_add_rule: endpoint 'ep': rule has no metric");
  ms_rule_free(r);
  int64_t up = fx_add_rule(a, "ep", (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 50, .step = 1});
  r = fx_rule_new(&(fx_rule){.metric = "u", .cmp = MS_CMP_LT, .threshold = 70, .step = -1});
  expect_msg(ms_autoscaler_add_rule(a, "nope", r, NULL), MS_ENOTFOUND,
             "autoscaler: ms_autoscaler_add_rule: endpoint 'nope': ");
  snprintf(head, sizeof head,
           "autoscaler: ms_autoscaler_add_rule: endpoint 'ep': the new rule (k/u mean < 70, step -1) conflicts with "
           "rule %lld",
           (long long)up);
  expect_msg(ms_autoscaler_add_rule(a, "ep", r, NULL), MS_ECONFLICT, head);
  assert_int_equal(ms_rule_set_enabled(r, 0), MS_OK);
  int64_t down = 0;
  assert_int_equal(ms_autoscaler_add_rule(a, "ep", r, &down), MS_OK);
  ms_rule_free(r);
  snprintf(head, sizeof head, "autoscaler: ms_autoscaler_set_rule_enabled: rule %lld (endpoint 'ep'): rule %lld",
           (long long)down, (long long)down);
  expect_msg(ms_autoscaler_set_rule_enabled(a, down, 1), MS_ECONFLICT, head);
  expect_msg(ms_autoscaler_remove_rule(a, 999), MS_ENOTFOUND, "autoscaler: ms_autoscaler_remove_rule: rule 999: ");
  expect_msg(ms_autoscaler_set_rule_enabled(a, 999, 1), MS_ENOTFOUND,
             "autoscaler: ms_autoscaler_set_rule_enabled: rule 999: ");
  ms_rule *snap = NULL;
  expect_msg(ms_autoscaler_get_rule(a, 999, &snap), MS_ENOTFOUND, "autoscaler: ms_autoscaler_get_rule: rule 999: ");

  /* observations, evaluation, history, decisions */
  expect_msg(ms_autoscaler_observe(a, "ep", "k", "u", "r0", NAN, 0), MS_EINVAL,
             "autoscaler: ms_autoscaler_observe: endpoint 'ep': metric 'k/u': value is NaN");
  expect_msg(ms_autoscaler_observe(a, "zz", "k", "u", "r0", 1, 0), MS_ENOTFOUND,
             "autoscaler: ms_autoscaler_observe: endpoint 'zz': ");
  expect_msg(ms_autoscaler_observe(a, "ep", "k", "", "r0", 1, 0), MS_EINVAL,
             "autoscaler: ms_autoscaler_observe: empty metric name");
  ms_decisions *d = NULL;
  expect_msg(ms_autoscaler_evaluate(a, 0, 0x8, &d), MS_EINVAL, "autoscaler: ms_autoscaler_evaluate: unknown flags");
  expect_msg(ms_autoscaler_history(a, "zz", 0, &d), MS_ENOTFOUND, "autoscaler: ms_autoscaler_history: endpoint 'zz': ");
  assert_int_equal(ms_autoscaler_evaluate(a, 0, 0, &d), MS_OK);
  expect_msg(ms_decisions_get(d, 99, NULL, NULL, NULL, NULL, NULL), MS_EINVAL,
             "autoscaler: ms_decisions_get: entry 99 out of range");
  expect_msg(ms_decisions_get_rule(d, 0, 9, NULL, NULL, NULL), MS_EINVAL,
             "autoscaler: ms_decisions_get_rule: entry 0 has 2 rules, no rule 9");
  size_t i = 0;
  expect_msg(ms_decisions_find(d, "zz", &i), MS_ENOTFOUND, "autoscaler: ms_decisions_find: endpoint 'zz': ");
  ms_decisions_free(d);

  /* Nothing changed: one endpoint, its two rules, as they were. */
  assert_int_equal(ms_autoscaler_get_replicas(a, "ep", &n), MS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(fx_rule_count(a, "ep"), 2);
}

/* A cause found while loading names the store in the open's message. */
static void a_damaged_store_is_named_by_open(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  ms_autoscaler_close(f->as);
  f->as = NULL;
  assert_int_equal(ms_test_sql_exec(f->store, "UPDATE autoscaler_state SET history_head = 5"), 0);
  char head[512];
  snprintf(head, sizeof head, "autoscaler: ms_autoscaler_open: store '%s': endpoint row 1 is invalid", f->db);
  ms_autoscaler *b = NULL;
  expect_msg(ms_autoscaler_open(f->store, &b), MS_ECORRUPT, head);
  assert_null(b);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_autoscaler_messages");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(every_call_names_itself_and_its_object, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(a_damaged_store_is_named_by_open, fx_setup_file, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
