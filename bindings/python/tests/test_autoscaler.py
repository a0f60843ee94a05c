"""Autoscaler: endpoints, rules, observations, decisions and their explanation, history, deadlines."""
import math
import unittest

from support import TempDirTest, mserve

T0 = 1_700_000_000_000_000
UP = mserve.Rule("kernel", "cuda.util", mserve.Comparator.GT, 80, +1, cooldown_us=mserve.SEC(30), max_replicas=3)
DOWN = mserve.Rule("kernel", "cuda.util", mserve.Comparator.LT, 20, -1, min_replicas=1)


class AutoscalerTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.store = mserve.Store(self.path("a.db"))
        self.a = self.store.autoscaler()
        self.a.set_replicas("chat", 1)

    def tearDown(self):
        self.store.close()
        super().tearDown()

    def test_a_rule_fires_and_the_decision_explains_it(self):
        up = self.a.add_rule("chat", UP)
        down = self.a.add_rule("chat", DOWN)
        self.a.observe("chat", "kernel", "cuda.util", 95.0, replica="r1", now_us=T0)
        [d] = self.a.evaluate(now_us=T0)
        self.assertEqual((d.endpoint, d.at_us, d.before, d.after, d.applied_rule_id), ("chat", T0, 1, 2, up))
        self.assertIsNone(d.evaluated_by)  # this call evaluated (one SQLite writer always does)
        self.assertEqual([(r.rule_id, r.outcome) for r in d.rules],
                         [(up, mserve.Outcome.APPLIED), (down, mserve.Outcome.NOT_TRIGGERED)])
        self.assertEqual(d.rules[0].value, 95.0)
        self.assertEqual((d.rules[0].comparator, d.rules[0].threshold, d.rules[0].step, d.rules[0].proposed),
                         (mserve.CMP_GT, 80.0, 1, 2))
        self.assertIn("1 -> 2 by rule %d" % up, d.explanation)
        self.assertEqual(self.a.get_replicas("chat"), 2)
        self.assertEqual(mserve.outcome_name(mserve.RULE_APPLIED), "applied")
        # in its cooldown now; the deadline is its end (or the observation going stale, earlier)
        [d2] = self.a.evaluate(now_us=T0 + 1)
        self.assertEqual(d2.rules[0].outcome, mserve.Outcome.COOLDOWN)
        self.assertEqual(self.a.next_deadline(now_us=T0 + 1), T0 + mserve.SEC(30))
        [h] = self.a.history("chat")
        self.assertEqual((h.before, h.after, h.applied_rule_id), (1, 2, up))

    def test_missing_metric_never_scales_and_dry_run_changes_nothing(self):
        self.a.add_rule("chat", DOWN)
        [d] = self.a.evaluate(now_us=T0, dry_run=True)
        self.assertEqual(d.rules[0].outcome, mserve.Outcome.NO_METRIC)
        self.assertTrue(math.isnan(d.rules[0].value))
        self.a.set_replicas("chat", 4)
        self.a.observe("chat", "kernel", "cuda.util", 5.0, now_us=T0)
        self.assertEqual(self.a.explain("chat", now_us=T0).after, 3)
        self.assertEqual(self.a.get_replicas("chat"), 4)
        self.assertEqual(self.a.history("chat"), [])

    def test_conflicting_rules_are_refused_naming_both(self):
        first = self.a.add_rule("chat", mserve.Rule("kernel", "util", mserve.CMP_GT, 50, +1))
        with self.assertRaises(mserve.ConflictError) as cm:
            self.a.add_rule("chat", mserve.Rule("kernel", "util", mserve.CMP_LT, 70, -1))
        self.assertIn("rule %d" % first, cm.exception.message)
        with self.assertRaises(mserve.InvalidError):
            self.a.add_rule("chat", mserve.Rule("kernel", "util", mserve.CMP_GT, 50, 0))
        with self.assertRaises(mserve.NotFoundError):
            self.a.add_rule("nowhere", UP)

    def test_rules_endpoints_and_their_lifecycle(self):
        rid = self.a.add_rule("chat", UP)
        info = self.a.get_rule(rid)
        self.assertEqual((info.id, info.endpoint, info.rule, info.last_applied_us), (rid, "chat", UP, None))
        self.assertEqual(self.a.rules("chat"), [info])
        self.a.set_rule_enabled(rid, False)
        self.assertFalse(self.a.get_rule(rid).rule.enabled)
        self.a.set_replicas("batch", 0)
        self.assertEqual(self.a.endpoints(), ["chat", "batch"])
        self.a.remove_rule(rid)
        with self.assertRaises(mserve.NotFoundError):
            self.a.get_rule(rid)
        self.a.remove_endpoint("batch")
        self.assertEqual(self.a.endpoints(), ["chat"])
        self.a.set_metric_ttl(mserve.SEC(5))
        with self.assertRaises(mserve.InvalidError):
            self.a.set_metric_ttl(0)

    def test_state_persists_across_reopen(self):
        rid = self.a.add_rule("chat", UP)
        self.a.observe("chat", "kernel", "cuda.util", 99, now_us=T0)
        self.a.evaluate(now_us=T0)
        self.a.close()
        with self.store.autoscaler() as again:
            self.assertEqual(again.get_replicas("chat"), 2)
            self.assertEqual(again.get_rule(rid).last_applied_us, T0)

    def test_a_replica_bound_of_zero_is_a_bound(self):
        up = mserve.Rule("lb", "queue", mserve.CMP_GT, 10, +1)
        capped = mserve.Rule("lb", "queue", mserve.CMP_GT, 10, +1, min_replicas=0, max_replicas=0)
        for ep in ("paused", "free"):
            self.a.set_replicas(ep, 0)
        capped_id = self.a.add_rule("paused", capped)
        free_id = self.a.add_rule("free", up)
        for ep in ("paused", "free"):
            self.a.observe(ep, "lb", "queue", 50.0, replica="r1", now_us=T0)
        self.a.evaluate(now_us=T0)
        self.assertEqual(self.a.get_replicas("paused"), 0)  # capped at 0
        self.assertEqual(self.a.get_replicas("free"), 1)  # no bound
        self.assertEqual(self.a.explain("paused", now_us=T0 + 1).rules[0].outcome, mserve.Outcome.AT_BOUND)
        got = self.a.get_rule(capped_id).rule
        self.assertEqual((got.min_replicas, got.max_replicas), (0, 0))
        got = self.a.get_rule(free_id).rule
        self.assertEqual((got.min_replicas, got.max_replicas), (None, None))
        with self.assertRaises(mserve.InvalidError) as cm:
            self.a.add_rule("free", mserve.Rule("lb", "queue", mserve.CMP_GT, 10, +1, max_replicas=-1))
        self.assertIn("max_replicas is -1", cm.exception.message)


if __name__ == "__main__":
    unittest.main()
