"""Registry: register, settings with their sources, overrides, versions, scan, materialize, global config."""
import json
import os
import unittest

from support import TempDirTest, mserve, write_mar

SRC = mserve.ConfigSource


class RegistryTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.store = mserve.Store(self.path("r.db"))
        self.reg = self.store.registry()
        os.mkdir(self.path("models"))

    def tearDown(self):
        self.store.close()
        super().tearDown()

    def mar(self, name, version="1.0", **kw):
        return write_mar(self.path("models", "%s-%s.mar" % (name, version)), name, version, **kw)

    def test_register_and_settings_with_their_sources(self):
        m = self.reg.register(self.mar("echo", config="batchSize: 8\nmaxBatchDelay: 20\nparallelType: pp\n"))
        self.assertEqual((m.name, m.version, m.runtime, m.handler), ("echo", "1.0", "python", "handler.py"))
        self.assertTrue(m.is_default)
        self.assertFalse(m.is_missing)
        self.assertEqual(len(m.content_hash), 64)
        self.assertTrue(os.path.isabs(m.archive_path))
        self.assertEqual(m.settings["batch_size"], (8, SRC.ARCHIVE))
        self.assertEqual(m.settings["max_batch_delay_us"], (20000, SRC.ARCHIVE))
        self.assertEqual(m.settings["max_queue_size"], (100, SRC.DEFAULT))
        self.assertEqual(m.settings["device"], ("cpu", SRC.DEFAULT))
        self.assertEqual(m.settings["parallelType"], ("pp", SRC.ARCHIVE))
        self.assertEqual(m.get("batch_size"), 8)

    def test_overrides_win_and_clearing_falls_back(self):
        self.reg.register(self.mar("echo", config="batchSize: 8\n"), {"batch_size": 4, "device": "cuda"})
        m = self.reg.get("echo")
        self.assertEqual(m.settings["batch_size"], (4, SRC.API))
        self.assertEqual(m.settings["device"], ("cuda", SRC.API))
        self.reg.update("echo", {"batch_size": None, "max_queue_size": 7})
        m = self.reg.get("echo", "1.0")
        self.assertEqual(m.settings["batch_size"], (8, SRC.ARCHIVE))
        self.assertEqual(m.settings["max_queue_size"], (7, SRC.API))
        with self.assertRaises(mserve.InvalidError) as cm:
            self.reg.update("echo", {"no_such_key": 1})
        self.assertIn("no_such_key", cm.exception.message)

    def test_versions_default_and_unregister(self):
        self.reg.register(self.mar("echo", "1.0"))
        self.reg.register(self.mar("echo", "2.0"))
        self.assertEqual([(m.version, m.is_default) for m in self.reg.list("echo")], [("1.0", True), ("2.0", False)])
        with self.assertRaises(mserve.ConflictError):
            self.reg.unregister("echo", "1.0")
        self.reg.set_default("echo", "2.0")
        self.assertEqual(self.reg.get("echo").version, "2.0")
        self.reg.unregister("echo", "1.0")
        with self.assertRaises(mserve.NotFoundError) as cm:
            self.reg.get("echo", "1.0")
        self.assertIn("'echo'", cm.exception.message)
        self.assertEqual([m.version for m in self.reg], ["2.0"])

    def test_registering_twice_is_exists_error(self):
        path = self.mar("echo")
        self.reg.register(path)
        with self.assertRaises(mserve.ExistsError):
            self.reg.register(path)

    def test_scan_reports_every_path(self):
        self.mar("a")
        self.mar("b")
        with open(self.path("models", "bad.mar"), "wb") as f:
            f.write(b"not a zip")
        rep = self.reg.scan(self.path("models"))
        self.assertEqual(rep.count_outcome(mserve.SCAN_ADDED), 2)
        self.assertEqual(rep.count_outcome(mserve.SCAN_FAILED), 1)
        failed = [e for e in rep if e.outcome == mserve.ScanOutcome.FAILED]
        self.assertTrue(failed[0].path.endswith("bad.mar"))
        self.assertNotEqual(failed[0].status, 0)
        again = self.reg.scan(self.path("models"))
        self.assertEqual(again.count_outcome(mserve.SCAN_UNCHANGED), 2)
        with self.assertRaises(mserve.NotFoundError):
            self.reg.scan(self.path("nowhere"))

    def test_materialize_and_limits(self):
        m = self.reg.register(self.mar("echo"))
        folder = self.reg.materialize(m, self.path("extracted"))
        self.assertTrue(os.path.isfile(os.path.join(folder, "MAR-INF", "MANIFEST.json")))
        listed = self.reg.list()[0]  # a snapshot owned by its list, which it keeps alive
        self.assertEqual(self.reg.materialize(listed, self.path("extracted")), folder)
        self.reg.set_limits(1, 1 << 30, 1000)
        m2 = self.reg.register(self.mar("other"))
        with self.assertRaises(mserve.UnsafeError):
            self.reg.materialize(m2, self.path("extracted"))

    def test_inspect_and_validate_without_a_store(self):
        ok = self.mar("echo", config="batchSize: 2\n")
        m = mserve.archive_inspect(ok)
        self.assertEqual((m.name, m.is_default, m.settings["batch_size"]), ("echo", False, (2, SRC.ARCHIVE)))
        self.assertEqual(mserve.archive_validate(ok).name, "echo")
        broken = write_mar(self.path("broken.mar"), "broken", files={})
        mserve.archive_inspect(broken)
        with self.assertRaises(mserve.CorruptError) as cm:
            mserve.archive_validate(broken)
        self.assertIn("model.pt", cm.exception.message)

    def test_global_config_defaults_unused_keys_and_globals(self):
        cfg = self.path("config.json")
        with open(cfg, "w") as f:
            json.dump({"defaults": {"batch_size": 3, "marName": "x"}, "model_store": "/srv/models"}, f)
        with self.store.registry(cfg) as reg:
            m = reg.register(self.mar("echo"))
            self.assertEqual(m.settings["batch_size"], (3, SRC.GLOBAL))
            self.assertIn("defaults.marName", [k.key for k in reg.unused_keys()])
            self.assertEqual(reg.get_global("model_store"), "/srv/models")
            with self.assertRaises(mserve.NotFoundError):
                reg.get_global("absent")
        with self.assertRaises(mserve.NotFoundError):
            self.store.registry(self.path("absent.json"))

    def test_min_workers_above_max_workers_logs_a_warning(self):
        lines = []
        mserve.set_log(lambda level, message: lines.append((level, message)), mserve.LOG_WARN)
        try:
            self.reg.register(self.mar("echo", config="minWorkers: 3\nmaxWorkers: 1\n"))
        finally:
            mserve.set_log(None)
        self.assertTrue(any(level == mserve.LogLevel.WARN and "min_workers" in msg for level, msg in lines), lines)


if __name__ == "__main__":
    unittest.main()
