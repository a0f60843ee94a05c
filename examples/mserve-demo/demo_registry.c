/* Demo: a model store of generated .mar archives (two versions of one model),
 * scanned into the registry, then the process "restarts" (store closed and
 * reopened) and shows the same registrations and settings, each with the
 * level it came from. The archives are written by the tools' archive writer
 * (examples/common/archive_write.h, libarchive). */
#include <mserve/registry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

#include "archive_write.h"
#include "demo.h"

/* ---- the archives, through the tools' shared writer (examples/common) ---- */

typedef struct zfile {
  const char *name, *data;
} zfile;

static int write_zip(const char *path, const zfile *files, size_t n) {
  aw_writer *w = NULL;
  int st = aw_open(path, AW_ZIP, 0, &w);
  for (size_t i = 0; st == MS_OK && i < n; i++) {
    aw_entry e = {files[i].name, AW_FILE, 0644, 1700000000, NULL, 0};
    st = aw_add(w, &e, files[i].data, strlen(files[i].data));
  }
  if (st != MS_OK) {
    aw_abort(w);
    return -1;
  }
  return aw_close(w) == MS_OK ? 0 : -1;
}

/* ---- the demo ------------------------------------------------------------ */

static const char *const KEYS[] = {"batch_size", "max_batch_delay_us", "max_queue_size", "request_timeout_us",
                                   "min_workers", "max_workers", "device"};
static const char *const SRC[] = {"default", "global", "archive", "api"};

/* Render every registration and setting, so the states before and after the
 * restart can be compared as text. */
static int render_state(ms_registry *r, char **out) {
  ms_model_list *l = NULL;
  int st = ms_registry_list(r, NULL, &l);
  if (st) return st;
  size_t len = 0;
  FILE *f = open_memstream(out, &len);
  if (!f) {
    ms_model_list_free(l);
    return MS_ENOMEM;
  }
  for (size_t i = 0; i < ms_model_list_count(l); i++) {
    const ms_model *m = NULL;
    if (ms_model_list_get(l, i, &m) != MS_OK) break;
    fprintf(f, "[registry]   %s %s%s\n", ms_model_name(m), ms_model_version(m),
            ms_model_is_default(m) ? " (default)" : "");
    fprintf(f, "[registry]     ");
    for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
      ms_config_source src = MS_SRC_DEFAULT;
      if (k == 6) {
        const char *v = "?";
        ms_model_get_str(m, KEYS[k], &v, &src);
        fprintf(f, "%s=%s(%s)", KEYS[k], v, SRC[src]);
      } else {
        int64_t v = 0;
        ms_model_get_int(m, KEYS[k], &v, &src);
        fprintf(f, "%s=%lld(%s)%s", KEYS[k], (long long)v, SRC[src], k == 3 ? "\n[registry]     " : " ");
      }
    }
    fprintf(f, "\n");
  }
  fclose(f);
  ms_model_list_free(l);
  return MS_OK;
}

static int open_registry(const char *db, const char *global, ms_store **s, ms_registry **r) {
  int st = ms_store_open(db, 0, s);
  if (st) return demo_fail("ms_store_open", st);
  st = ms_registry_open(*s, global, r);
  if (st) {
    ms_store_close(*s);
    return demo_fail("ms_registry_open", st);
  }
  return 0;
}

static int scan(ms_registry *r, const char *dir, const char *when) {
  ms_scan_report *rep = NULL;
  int st = ms_registry_scan(r, dir, &rep);
  if (st) return demo_fail("ms_registry_scan", st);
  demo_printf("[registry] %s scan: %zu added, %zu updated, %zu unchanged, %zu failed\n", when,
         ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), ms_scan_report_count_outcome(rep, MS_SCAN_UPDATED),
         ms_scan_report_count_outcome(rep, MS_SCAN_UNCHANGED), ms_scan_report_count_outcome(rep, MS_SCAN_FAILED));
  ms_scan_report_free(rep);
  return 0;
}

static int materialize_default(ms_registry *r, const char *name, const char *workdir) {
  char root[4200], out[4400], again[4400];
  snprintf(root, sizeof root, "%s/extracted", workdir);
  ms_model *m = NULL;
  int st = ms_registry_get(r, name, NULL, &m);
  if (!st) st = ms_registry_materialize(r, m, root, out, sizeof out);
  if (!st) st = ms_registry_materialize(r, m, root, again, sizeof again);
  if (st) {
    ms_model_free(m);
    return demo_fail("ms_registry_materialize", st);
  }
  const char *hash = ms_model_content_hash(m);
  demo_printf("[registry] materialized %s %s into extracted/%.12s... (sha256); a second call %s\n", ms_model_name(m),
         ms_model_version(m), hash, strcmp(out, again) == 0 ? "reused the same folder" : "DIFFERED");
  int same = strcmp(out, again) == 0;
  ms_model_free(m);
  return same ? 0 : 1;
}

int demo_registry(const char *workdir) {
  char dir[4096], db[4096], global[4096], path[4200];
  snprintf(dir, sizeof dir, "%s/model-store", workdir);
  snprintf(db, sizeof db, "%s/registry.db", workdir);
  snprintf(global, sizeof global, "%s/models.json", workdir);
  if (mkdir(dir, 0755) != 0) return demo_fail_msg("the model store", "mkdir %s: %s", dir, strerror(errno));

  /* Two versions of "echo" (v1 brings its own model-config.yaml) and "noop". */
  static const char man_echo1[] =
      "{\"runtime\":\"python\",\"model\":{\"modelName\":\"echo\",\"modelVersion\":\"1.0\",\"handler\":\"echo.py\","
      "\"configFile\":\"model-config.yaml\",\"batchSize\":4,\"maxBatchDelay\":20},\"archiverVersion\":\"demo\"}";
  static const char man_echo2[] =
      "{\"runtime\":\"python\",\"model\":{\"modelName\":\"echo\",\"modelVersion\":\"2.0\",\"handler\":\"echo.py\"},"
      "\"archiverVersion\":\"demo\"}";
  static const char man_noop[] =
      "{\"runtime\":\"python\",\"model\":{\"modelName\":\"noop\",\"modelVersion\":\"1.0\",\"handler\":\"noop.py\"}}";
  static const char handler[] = "def handle(data, context):\n    return data\n";
  const zfile echo1[] = {{"MAR-INF/MANIFEST.json", man_echo1},
                         {"model-config.yaml", "minWorkers: 2\nmaxWorkers: 2\nresponseTimeout: 30\n"},
                         {"echo.py", handler}};
  const zfile echo2[] = {{"MAR-INF/MANIFEST.json", man_echo2}, {"echo.py", handler}};
  const zfile noop[] = {{"MAR-INF/MANIFEST.json", man_noop}, {"noop.py", handler}};
  int bad = 0;
  snprintf(path, sizeof path, "%s/echo-1.0.mar", dir);
  bad |= write_zip(path, echo1, 3);
  snprintf(path, sizeof path, "%s/echo-2.0.mar", dir);
  bad |= write_zip(path, echo2, 2);
  snprintf(path, sizeof path, "%s/noop.mar", dir);
  bad |= write_zip(path, noop, 2);
  /* The global config: defaults for every model, plus one entry for echo 2.0. */
  FILE *g = fopen(global, "w");
  if (!g) bad = 1;
  else {
    fputs("{\"defaults\": {\"max_queue_size\": 50, \"maxBatchDelay\": 10},\n"
          " \"models\": {\"echo\": {\"2.0\": {\"batchSize\": 16}}}}\n", g);
    if (fclose(g) != 0) bad = 1;
  }
  if (bad) return demo_fail_msg("the model store", "writing the archives and models.json into %s failed", dir);
  demo_printf("[registry] model store %s: echo-1.0.mar, echo-2.0.mar, noop.mar; global config models.json\n", dir);

  ms_store *s = NULL;
  ms_registry *r = NULL;
  if (open_registry(db, global, &s, &r)) return 1;
  if (scan(r, dir, "first")) goto fail;
  /* Runtime changes, as a management API would make them. */
  ms_overrides *ov = NULL;
  int st = ms_overrides_new(&ov);
  if (!st) st = ms_overrides_set_int(ov, "max_workers", 4);
  if (!st) st = ms_registry_update(r, "echo", "1.0", ov);
  ms_overrides_free(ov);
  if (st) {
    demo_fail("ms_registry_update", st);
    goto fail;
  }
  if ((st = ms_registry_set_default(r, "echo", "2.0")) != MS_OK) {
    demo_fail("ms_registry_set_default", st);
    goto fail;
  }
  demo_printf("[registry] set echo 1.0 max_workers=4 (api) and made echo 2.0 the default\n");
  char *before = NULL, *after = NULL;
  if ((st = render_state(r, &before)) != MS_OK) {
    demo_fail("ms_registry_list", st);
    goto fail;
  }
  demo_printf("%s", before);

  /* "Restart": nothing survives but the database file. */
  ms_registry_close(r);
  ms_store_close(s);
  demo_printf("[registry] closed the store (a restart: only the database file survives) and reopened it\n");
  if (open_registry(db, global, &s, &r)) {
    free(before);
    return 1;
  }
  if (scan(r, dir, "restart") || (st = render_state(r, &after)) != MS_OK) {
    if (st) demo_fail("ms_registry_list", st);
    free(before);
    goto fail;
  }
  int same = strcmp(before, after) == 0;
  demo_printf("[registry] after the restart: %s\n", same ? "the same registrations, defaults and settings" : "DIFFERENT:");
  if (!same) demo_printf("%s", after);
  free(before);
  free(after);

  /* A server unpacks the default version once, into a folder named by its
   * content hash; the next call (another worker, a restart) reuses it. */
  if (materialize_default(r, "echo", workdir) != 0) goto fail;

  /* A bad archive is reported and never blocks the others. */
  snprintf(path, sizeof path, "%s/broken.mar", dir);
  g = fopen(path, "w");
  if (g) {
    fputs("not a zip", g);
    fclose(g);
  }
  ms_scan_report *rep = NULL;
  st = ms_registry_scan(r, dir, &rep);
  for (size_t i = 0; st == MS_OK && i < ms_scan_report_count(rep); i++) {
    const char *p = NULL, *msg = NULL;
    ms_scan_outcome o = MS_SCAN_ADDED;
    int est = 0;
    ms_scan_report_get(rep, i, &p, &o, &est, &msg);
    if (o == MS_SCAN_FAILED) demo_printf("[registry] broken.mar -> %s: %s\n", ms_status_name(est), msg);
  }
  ms_scan_report_free(rep);
  ms_registry_close(r);
  ms_store_close(s);
  return same && st == MS_OK ? 0 : 1;
fail:
  ms_registry_close(r);
  ms_store_close(s);
  return 1;
}
