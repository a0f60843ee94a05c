/* Unit tests: TorchServe's config.properties and snapshot files as the
 * global config — Java properties syntax, models= and model_snapshot= JSON
 * with TorchServe's names and units, server-wide defaults, defaultVersion
 * honoured (in JSON too), and every key the registry does not use listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry/global_config.h"
#include "registry/properties.h"
#include "registry_testutil.h"
#include "testutil.h"

typedef struct fx {
  char *dir, *models;
  ms_store *s;
  ms_registry *r;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("props");
  f->models = ms_test_path(f->dir, "models");
  mkdir(f->models, 0755);
  if (ms_store_open(":memory:", 0, &f->s)) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ms_registry_close(f->r);
  ms_store_close(f->s);
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->models);
  free(f);
  return 0;
}

/* Write `text` as <dir>/<file> and open the registry over it. */
static int open_with(fx *f, const char *file, const char *text) {
  char *p = ms_test_path(f->dir, file);
  assert_int_equal(t_write_text(p, text), 0);
  ms_registry_close(f->r);
  f->r = NULL;
  int st = ms_registry_open(f->s, p, &f->r);
  free(p);
  return st;
}

static char *mar(fx *f, const char *file, const char *name, const char *version) {
  char *p = ms_test_path(f->models, file);
  assert_int_equal(t_write_mar(p, name, version, NULL, NULL), 0);
  return p;
}

static void expect_int(const ms_model *m, const char *key, int64_t value, ms_config_source src) {
  int64_t v = -1;
  ms_config_source s = MS_SRC_API;
  assert_int_equal(ms_model_get_int(m, key, &v, &s), MS_OK);
  if (v != value || s != src)
    fail_msg("%s: got %lld (source %d), expected %lld (source %d)", key, (long long)v, (int)s, (long long)value,
             (int)src);
}

static ms_model *reg(fx *f, const char *file, const char *name, const char *version) {
  char *p = mar(f, file, name, version);
  ms_model *m = NULL;
  int st = ms_registry_register(f->r, p, NULL, &m);
  if (st) fail_msg("register %s: %s", file, ms_errmsg());
  free(p);
  return m;
}

static const char *default_of(fx *f, const char *name) {
  static char buf[64];
  ms_model *m = NULL;
  if (ms_registry_get(f->r, name, NULL, &m)) return "(none)";
  snprintf(buf, sizeof buf, "%s", ms_model_version(m));
  ms_model_free(m);
  return buf;
}

/* ---- through the public API ------------------------------------------------ */

/* A config.properties as TorchServe's own test resources write it: comments,
 * ':' and ' ' separators, a models= JSON continued over lines with
 * TorchServe's camelCase names and units, server-wide defaults. */
static const char CONFIG[] =
    "# TorchServe config\n"
    "! another comment style \\\n"
    "inference_address=https://127.0.0.1:8443\n"
    "management_address: https://127.0.0.1:8444\n"
    "model_store   ../models\n"
    "load_models=noop.mar,other.mar\n"
    "default_workers_per_model=2\n"
    "job_queue_size = 7\n"
    "default_response_timeout=30\n"
    "batch_size=16\n"
    "models={\\\n"
    "  \"noop\": {\\\n"
    "    \"1.0\": {\\\n"
    "        \"defaultVersion\": true,\\\n"
    "        \"marName\": \"noop.mar\",\\\n"
    "        \"minWorkers\": 1,\\\n"
    "        \"maxWorkers\": 3,\\\n"
    "        \"batchSize\": 4,\\\n"
    "        \"maxBatchDelay\": 50,\\\n"
    "        \"responseTimeout\": 10\\\n"
    "    }\\\n"
    "  }\\\n"
    "}\n";

static void config_properties_is_a_global_config(void **state) {
  fx *f = *state;
  int st = open_with(f, "config.properties", CONFIG);
  if (st) fail_msg("open: %s %s", ms_status_name(st), ms_errmsg());
  ms_model *m = reg(f, "noop.mar", "noop", "1.0");
  expect_int(m, "batch_size", 4, MS_SRC_GLOBAL);
  expect_int(m, "max_batch_delay_us", 50000, MS_SRC_GLOBAL);
  expect_int(m, "request_timeout_us", 10000000, MS_SRC_GLOBAL);
  expect_int(m, "min_workers", 1, MS_SRC_GLOBAL);
  expect_int(m, "max_workers", 3, MS_SRC_GLOBAL);
  expect_int(m, "max_queue_size", 7, MS_SRC_GLOBAL); /* job_queue_size */
  ms_model_free(m);
  /* A model the file does not list takes the server-wide defaults. */
  m = reg(f, "other.mar", "other", "1.0");
  expect_int(m, "min_workers", 2, MS_SRC_GLOBAL); /* default_workers_per_model */
  expect_int(m, "max_workers", 2, MS_SRC_GLOBAL);
  expect_int(m, "request_timeout_us", 30000000, MS_SRC_GLOBAL); /* default_response_timeout, seconds */
  expect_int(m, "max_queue_size", 7, MS_SRC_GLOBAL);
  expect_int(m, "batch_size", 1, MS_SRC_DEFAULT); /* TorchServe has no server-wide batch_size */
  ms_model_free(m);
}

/* A snapshot as TorchServe writes it: model_snapshot= holds JSON with its
 * newlines and colons escaped. */
static const char SNAPSHOT[] =
    "#Saving snapshot\n"
    "#Sun Mar 29 04:53:34 UTC 2020\n"
    "inference_address=https\\://127.0.0.1\\:8443\n"
    "default_workers_per_model=4\n"
    "model_store=../archive/src/test/resources/models\n"
    "model_snapshot={\\n  \"name\"\\: \"20200329045334828-startup.cfg\",\\n  \"modelCount\"\\: 2,\\n"
    "  \"models\"\\: {\\n    \"noop\"\\: {\\n      \"1.11\"\\: {\\n        \"defaultVersion\"\\: false,\\n"
    "        \"marName\"\\: \"noop.mar\",\\n        \"minWorkers\"\\: 4,\\n        \"maxWorkers\"\\: 4,\\n"
    "        \"batchSize\"\\: 1,\\n        \"maxBatchDelay\"\\: 100,\\n        \"responseTimeout\"\\: 120,\\n"
    "        \"startupTimeout\"\\: 120,\\n        \"runtimeType\"\\: \"python\"\\n     },\\n"
    "      \"2.0\"\\: {\\n        \"defaultVersion\"\\: true,\\n        \"batchSize\"\\: 8\\n      }\\n"
    "    }\\n  }\\n}\n";

static void snapshot_cfg_is_a_global_config(void **state) {
  fx *f = *state;
  int st = open_with(f, "20200329045334828-snapshot.cfg", SNAPSHOT);
  if (st) fail_msg("open: %s %s", ms_status_name(st), ms_errmsg());
  ms_model *m = reg(f, "a.mar", "noop", "1.11");
  expect_int(m, "min_workers", 4, MS_SRC_GLOBAL);
  expect_int(m, "batch_size", 1, MS_SRC_GLOBAL);
  expect_int(m, "max_batch_delay_us", 100000, MS_SRC_GLOBAL);
  ms_model_free(m);
  m = reg(f, "b.mar", "noop", "2.0");
  expect_int(m, "batch_size", 8, MS_SRC_GLOBAL);
  expect_int(m, "min_workers", 4, MS_SRC_GLOBAL); /* default_workers_per_model */
  assert_int_equal(ms_model_is_default(m), 1);     /* "defaultVersion": true, registered second */
  ms_model_free(m);
  assert_string_equal(default_of(f, "noop"), "2.0");
}

/* "defaultVersion": true in the JSON global config makes that version the
 * default when it is registered, whatever the order; an explicit
 * set_default later wins and a re-scan does not undo it. */
static void json_default_version_is_honoured(void **state) {
  fx *f = *state;
  assert_int_equal(open_with(f, "global.json",
                             "{\"models\": {\"m\": {\"2.0\": {\"defaultVersion\": true}, \"1.0\": {}}}}"),
                   MS_OK);
  ms_model *m = reg(f, "a.mar", "m", "1.0");
  assert_int_equal(ms_model_is_default(m), 1); /* the only version */
  ms_model_free(m);
  m = reg(f, "b.mar", "m", "2.0");
  assert_int_equal(ms_model_is_default(m), 1);
  ms_model_free(m);
  assert_string_equal(default_of(f, "m"), "2.0");

  /* The same through a scan of another folder (a.mar, the first in name
   * order, is 1.0). */
  char *other = ms_test_path(f->dir, "other");
  mkdir(other, 0755);
  char *p1 = ms_test_path(other, "a.mar"), *p2 = ms_test_path(other, "b.mar");
  assert_int_equal(t_write_mar(p1, "m2", "1.0", NULL, NULL), 0);
  assert_int_equal(t_write_mar(p2, "m2", "2.0", NULL, NULL), 0);
  assert_int_equal(open_with(f, "global.json",
                             "{\"models\": {\"m2\": {\"2.0\": {\"defaultVersion\": true}, \"1.0\": {}}}}"),
                   MS_OK);
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, other, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 2);
  ms_scan_report_free(rep);
  assert_string_equal(default_of(f, "m2"), "2.0");
  assert_int_equal(ms_registry_set_default(f->r, "m2", "1.0"), MS_OK);
  assert_int_equal(ms_registry_scan(f->r, other, &rep), MS_OK);
  ms_scan_report_free(rep);
  assert_string_equal(default_of(f, "m2"), "1.0");
  free(p1);
  free(p2);
  free(other);
}

static void properties_default_version_is_honoured(void **state) {
  fx *f = *state;
  assert_int_equal(open_with(f, "config.properties",
                             "models={\"m\": {\"1.0\": {\"defaultVersion\": false},\\\n"
                             "                \"3.0\": {\"defaultVersion\": true}}}\n"),
                   MS_OK);
  ms_model_free(reg(f, "a.mar", "m", "1.0"));
  ms_model_free(reg(f, "b.mar", "m", "2.0"));
  assert_string_equal(default_of(f, "m"), "1.0");
  ms_model_free(reg(f, "c.mar", "m", "3.0"));
  assert_string_equal(default_of(f, "m"), "3.0");
}

/* Broken files are refused with the file, the line and the key. */
static void bad_properties_are_refused_with_the_line(void **state) {
  fx *f = *state;
  static const struct {
    const char *text, *needle1, *needle2;
  } cases[] = {
      {"a=1\njob_queue_size=lots\n", "line 2", "job_queue_size"},
      {"job_queue_size=0\n", "line 1", "job_queue_size"},
      {"default_workers_per_model=-1\n", "line 1", "default_workers_per_model"},
      {"default_response_timeout=99999999999999999999\n", "line 1", "out of range"},
      {"\n\nmodels={\"m\": {\"1\": {\"batchSize\": \"eight\"}}}\n", "line 3", "batchSize"},
      {"models={\"m\": \n", "line 1", "invalid JSON"},
      {"models={\"m\": {\"1\": {\"defaultVersion\": true}, \"2\": {\"defaultVersion\": true}}}\n", "two default",
       "'m'"},
      {"models={\"m\": {\"1\": {\"defaultVersion\": 1}}}\n", "defaultVersion", "true or false"},
      {"key=\\u12\n", "line 1", "\\uXXXX"},
      {"key=\\uD800x\n", "line 1", "surrogate"},
      {"k\\u0000=v\n", "line 1", "NUL"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = open_with(f, "bad.properties", cases[i].text);
    if (st != MS_ECORRUPT) fail_msg("case %zu: %s (%s)", i, ms_status_name(st), ms_errmsg());
    if (!strstr(ms_errmsg(), "bad.properties") || !strstr(ms_errmsg(), cases[i].needle1) ||
        !strstr(ms_errmsg(), cases[i].needle2))
      fail_msg("case %zu: message '%s'", i, ms_errmsg());
    assert_null(f->r);
  }
}

/* ---- the keys the registry does not apply ----------------------------------- */

static int find_key(const ms_key_list *l, const char *key, const char **value, int64_t *line) {
  for (size_t i = 0; i < ms_key_list_count(l); i++) {
    const char *k = NULL;
    assert_int_equal(ms_key_list_get(l, i, &k, value, line), MS_OK);
    if (strcmp(k, key) == 0) return 1;
  }
  return 0;
}

static void unused_keys_are_listed_not_dropped(void **state) {
  fx *f = *state;
  assert_int_equal(open_with(f, "config.properties", CONFIG), MS_OK);
  ms_key_list *l = NULL;
  assert_int_equal(ms_registry_unused_keys(f->r, &l), MS_OK);
  const char *v = NULL;
  int64_t line = 0;
  assert_true(find_key(l, "inference_address", &v, &line));
  assert_string_equal(v, "https://127.0.0.1:8443");
  assert_int_equal(line, 3);
  assert_true(find_key(l, "management_address", &v, &line));
  assert_string_equal(v, "https://127.0.0.1:8444");
  assert_true(find_key(l, "batch_size", &v, &line));
  assert_string_equal(v, "16");
  assert_true(find_key(l, "models.\"noop\".\"1.0\".marName", &v, &line));
  assert_string_equal(v, "noop.mar");
  assert_int_equal(line, 11); /* where models= starts */
  /* Applied or read by hosts: not listed. */
  assert_false(find_key(l, "models", NULL, NULL));
  assert_false(find_key(l, "models.\"noop\".\"1.0\".defaultVersion", NULL, NULL));
  assert_false(find_key(l, "models.\"noop\".\"1.0\".batchSize", NULL, NULL));
  assert_false(find_key(l, "model_store", NULL, NULL));
  assert_false(find_key(l, "load_models", NULL, NULL));
  assert_false(find_key(l, "job_queue_size", NULL, NULL));
  assert_int_equal(ms_key_list_get(l, ms_key_list_count(l), NULL, NULL, NULL), MS_EINVAL);
  ms_key_list_free(l);

  /* Server-wide values as written. */
  assert_int_equal(ms_registry_get_global(f->r, "model_store", &v), MS_OK);
  assert_string_equal(v, "../models");
  assert_int_equal(ms_registry_get_global(f->r, "load_models", &v), MS_OK);
  assert_string_equal(v, "noop.mar,other.mar");
  assert_int_equal(ms_registry_get_global(f->r, "no_such_key", &v), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "registry: ms_registry_get_global: key 'no_such_key'"));

  /* A snapshot's own fields and TorchServe-only entry keys; a key given
   * twice keeps its last value and lists the earlier one. */
  assert_int_equal(open_with(f, "x-snapshot.cfg", "a=1\n" "a=2\n" "b\n"), MS_OK);
  assert_int_equal(ms_registry_unused_keys(f->r, &l), MS_OK);
  assert_int_equal(ms_key_list_count(l), 3);
  const char *k = NULL;
  assert_int_equal(ms_key_list_get(l, 0, &k, &v, &line), MS_OK);
  assert_string_equal(k, "a");
  assert_string_equal(v, "1 (overridden by line 2)");
  assert_int_equal(ms_key_list_get(l, 1, &k, &v, &line), MS_OK);
  assert_string_equal(v, "2");
  assert_int_equal(ms_key_list_get(l, 2, &k, &v, &line), MS_OK);
  assert_string_equal(k, "b");
  assert_string_equal(v, "");
  ms_key_list_free(l);
  assert_int_equal(ms_registry_get_global(f->r, "a", &v), MS_OK);
  assert_string_equal(v, "2");

  assert_int_equal(open_with(f, "snap.cfg", SNAPSHOT), MS_OK);
  assert_int_equal(ms_registry_unused_keys(f->r, &l), MS_OK);
  assert_true(find_key(l, "model_snapshot.name", &v, NULL));
  assert_string_equal(v, "20200329045334828-startup.cfg");
  assert_true(find_key(l, "model_snapshot.modelCount", &v, NULL));
  assert_string_equal(v, "2");
  assert_true(find_key(l, "model_snapshot.models.\"noop\".\"1.11\".startupTimeout", &v, NULL));
  assert_string_equal(v, "120");
  assert_true(find_key(l, "model_snapshot.models.\"noop\".\"1.11\".runtimeType", &v, NULL));
  assert_string_equal(v, "python");
  ms_key_list_free(l);

  /* JSON: unknown keys at every level. */
  assert_int_equal(open_with(f, "g.json",
                             "{\"comment\": \"x\", \"defaults\": {\"batchSize\": 2, \"foo\": [1, 2]},"
                             " \"models\": {\"m\": {\"1\": {\"marName\": \"m.mar\"}}}}"),
                   MS_OK);
  assert_int_equal(ms_registry_unused_keys(f->r, &l), MS_OK);
  assert_int_equal(ms_key_list_count(l), 3);
  assert_true(find_key(l, "comment", &v, &line));
  assert_string_equal(v, "x");
  assert_int_equal(line, 0);
  assert_true(find_key(l, "defaults.foo", &v, NULL));
  assert_string_equal(v, "[1,2]");
  assert_true(find_key(l, "models.\"m\".\"1\".marName", &v, NULL));
  ms_key_list_free(l);

  /* No global config: an empty list, nothing to get. */
  ms_registry_close(f->r);
  f->r = NULL;
  assert_int_equal(ms_registry_open(f->s, NULL, &f->r), MS_OK);
  assert_int_equal(ms_registry_unused_keys(f->r, &l), MS_OK);
  assert_int_equal(ms_key_list_count(l), 0);
  ms_key_list_free(l);
  assert_int_equal(ms_registry_get_global(f->r, "model_store", &v), MS_ENOTFOUND);
  assert_int_equal(ms_registry_unused_keys(NULL, &l), MS_EINVAL);
  assert_int_equal(ms_key_list_count(NULL), 0);
  ms_key_list_free(NULL);
}

/* model_snapshot= replaces the models= entry of the same version (TorchServe
 * restores the snapshot); models= twice keeps the last (Java); the same
 * version twice inside one JSON object is refused. */
static void snapshot_replaces_models_entry_by_entry(void **state) {
  fx *f = *state;
  assert_int_equal(open_with(f, "s.cfg",
                             "models={\"m\": {\"1\": {\"batchSize\": 2}, \"2\": {\"batchSize\": 3}}}\n"
                             "model_snapshot={\"models\": {\"m\": {\"1\": {\"batchSize\": 5}}}}\n"),
                   MS_OK);
  ms_model *m = reg(f, "a.mar", "m", "1");
  expect_int(m, "batch_size", 5, MS_SRC_GLOBAL);
  ms_model_free(m);
  m = reg(f, "b.mar", "m", "2");
  expect_int(m, "batch_size", 3, MS_SRC_GLOBAL);
  ms_model_free(m);
  ms_key_list *l = NULL;
  assert_int_equal(ms_registry_unused_keys(f->r, &l), MS_OK);
  assert_true(find_key(l, "models.\"m\".\"1\"", NULL, NULL));
  ms_key_list_free(l);
  assert_int_equal(open_with(f, "t.properties", "models={\"m\": {\"1\": {}, \"1\": {}}}\n"), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "given twice"));
}

/* The form comes from the name, else from the first character. */
static void form_from_name_or_content(void **state) {
  fx *f = *state;
  assert_int_equal(open_with(f, "conf", "job_queue_size=9\n"), MS_OK);
  ms_model *m = reg(f, "a.mar", "m", "1");
  expect_int(m, "max_queue_size", 9, MS_SRC_GLOBAL);
  ms_model_free(m);
  assert_int_equal(open_with(f, "conf2", "\xEF\xBB\xBF  {\"defaults\": {\"jobQueueSize\": 8}}"), MS_OK);
  m = reg(f, "b.mar", "n", "1");
  expect_int(m, "max_queue_size", 8, MS_SRC_GLOBAL);
  ms_model_free(m);
  assert_int_equal(open_with(f, "empty.properties", ""), MS_OK);
  assert_int_equal(open_with(f, "comments.cfg", "# nothing\n\n   ! here\n"), MS_OK);
  assert_int_equal(open_with(f, "x.json", ""), MS_ECORRUPT); /* JSON by name: an empty document */
  assert_int_equal(open_with(f, "brace.properties", "{\"defaults\": {}}"), MS_OK); /* by name: key '{"defaults"' */
}

/* ---- the syntax, key by key (java.util.Properties.load) ------------------- */

typedef struct pcase {
  const char *text;
  const char *key, *value; /* the last occurrence of key */
  int64_t line;
} pcase;

static void java_properties_syntax(void **state) {
  (void)state;
  static const pcase cases[] = {
      {"k=v", "k", "v", 1},
      {"k = v ", "k", "v ", 1}, /* trailing blanks are the value's */
      {"k:v", "k", "v", 1},
      {"k : v", "k", "v", 1},
      {"k v", "k", "v", 1},
      {"k\t\f v", "k", "v", 1},
      {"   k=v", "k", "v", 1},
      {"k==v", "k", "=v", 1},
      {"k= =v", "k", "=v", 1},
      {"k", "k", "", 1},
      {"k=", "k", "", 1},
      {"k =", "k", "", 1},
      {"=v", "", "v", 1},
      {"a\\=b=c", "a=b", "c", 1},
      {"a\\:b:c", "a:b", "c", 1},
      {"a\\ b c", "a b", "c", 1},
      {"k=a\\\n   b", "k", "ab", 1},        /* continuation, leading blanks dropped */
      {"k=a\\\\\nb=c", "k", "a\\", 1},      /* an even count is not a continuation */
      {"k=a\\\\\nb=c", "b", "c", 2},
      {"k=a\\\\\\\n b", "k", "a\\b", 1},    /* three: an escaped backslash, then continued */
      {"k=a\\\n#b", "k", "a#b", 1},         /* not a comment on a continuation line */
      {"#k=a\\\nk=b", "k", "b", 2},         /* a comment never continues */
      {"!k=a\nk=b", "k", "b", 2},
      {"k=a\\\n\nz=1", "k", "a", 1},        /* a blank line ends the continuation */
      {"k=a\\", "k", "a", 1},               /* a backslash before the end of the file */
      {"k=a\r\nj=b", "j", "b", 2},
      {"k=a\rj=b", "j", "b", 2},
      {"\n\n  \n\tk=v", "k", "v", 4},
      {"k=\\t\\n\\r\\f", "k", "\t\n\r\f", 1},
      {"k=\\a\\#\\!\\=\\\\", "k", "a#!=\\", 1},
      {"k=\\u0041\\u00e9\\u20AC", "k", "A\xC3\xA9\xE2\x82\xAC", 1},
      {"k=\\uD83D\\uDE00", "k", "\xF0\x9F\x98\x80", 1}, /* a surrogate pair, one character */
      {"k=caf\xC3\xA9", "k", "caf\xC3\xA9", 1},         /* UTF-8 as it is */
      {"k=caf\xE9", "k", "caf\xC3\xA9", 1},             /* not UTF-8: ISO 8859-1, as Java reads */
      {"k=1\nk=2", "k", "2", 2},                        /* the last one counts */
      {"k={\\n  \"a\"\\: 1\\n}", "k", "{\n  \"a\": 1\n}", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ms__props p;
    int st = ms__registry_props_parse(cases[i].text, strlen(cases[i].text), "t.properties", &p);
    if (st) fail_msg("case %zu: %s", i, ms_errmsg());
    const ms__prop *e = ms__registry_props_find(&p, cases[i].key);
    if (!e) fail_msg("case %zu: no key '%s'", i, cases[i].key);
    if (strcmp(e->value, cases[i].value) != 0 || e->line != cases[i].line)
      fail_msg("case %zu: '%s' = '%s' at line %lld", i, e->key, e->value, (long long)e->line);
    ms__registry_props_free(&p);
  }
  /* Counts: comments, blanks and continued lines are no keys. */
  ms__props p;
  const char *t = "# c\n\na=1\\\n  2\nb : 3\n! d\n";
  assert_int_equal(ms__registry_props_parse(t, strlen(t), "t", &p), MS_OK);
  assert_int_equal(p.n, 2);
  assert_int_equal(p.latin1, 0);
  assert_string_equal(p.items[0].value, "12");
  assert_int_equal(p.items[1].line, 5);
  ms__registry_props_free(&p);
  assert_int_equal(ms__registry_props_parse(NULL, 0, "t", &p), MS_OK);
  assert_int_equal(p.n, 0);
  ms__registry_props_free(&p);
  /* A NUL byte is refused in a key or value, ignored in a comment. */
  static const char nul_value[] = "k=a\0b\n";
  assert_int_equal(ms__registry_props_parse(nul_value, sizeof nul_value - 1, "t", &p), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "line 1"));
  static const char nul_comment[] = "# a\0b\nk=v\n";
  assert_int_equal(ms__registry_props_parse(nul_comment, sizeof nul_comment - 1, "t", &p), MS_OK);
  assert_int_equal(p.n, 1);
  ms__registry_props_free(&p);
}

/* The parsed config as the registry keeps it: entries sorted, defaults, the
 * unused list; untouched output on failure. */
static void global_config_from_properties(void **state) {
  (void)state;
  ms__global_config *g = NULL;
  assert_int_equal(ms__registry_global_parse(CONFIG, strlen(CONFIG), "config.properties", &g), MS_OK);
  assert_int_equal(g->format, MS__GLOBAL_PROPERTIES);
  assert_int_equal(g->n_entries, 1);
  assert_int_equal(ms__registry_global_is_default(g, "noop", "1.0"), 1);
  assert_int_equal(ms__registry_global_is_default(g, "noop", "2.0"), 0);
  assert_int_equal(ms__registry_global_is_default(NULL, "noop", "1.0"), 0);
  assert_true(g->defaults.set & (1u << MS__K_MIN_WORKERS));
  assert_true(g->defaults.set & (1u << MS__K_MAX_WORKERS));
  assert_false(g->defaults.set & (1u << MS__K_BATCH_SIZE));
  assert_string_equal(ms__registry_global_get(g, "model_store"), "../models");
  ms__registry_global_free(g);
  /* default_workers_per_model=0 is TorchServe's "one per GPU or CPU": nothing set. */
  const char *zero = "default_workers_per_model=0\n";
  assert_int_equal(ms__registry_global_parse(zero, strlen(zero), "c.properties", &g), MS_OK);
  assert_false(g->defaults.set & (1u << MS__K_MIN_WORKERS));
  ms__registry_global_free(g);
  ms__global_config *untouched = (ms__global_config *)0x1;
  const char *bad = "job_queue_size=x\n";
  assert_int_equal(ms__registry_global_parse(bad, strlen(bad), "c.properties", &untouched), MS_ECORRUPT);
  assert_ptr_equal(untouched, (ms__global_config *)0x1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(config_properties_is_a_global_config, setup, teardown),
      cmocka_unit_test_setup_teardown(snapshot_cfg_is_a_global_config, setup, teardown),
      cmocka_unit_test_setup_teardown(json_default_version_is_honoured, setup, teardown),
      cmocka_unit_test_setup_teardown(properties_default_version_is_honoured, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_properties_are_refused_with_the_line, setup, teardown),
      cmocka_unit_test_setup_teardown(unused_keys_are_listed_not_dropped, setup, teardown),
      cmocka_unit_test_setup_teardown(snapshot_replaces_models_entry_by_entry, setup, teardown),
      cmocka_unit_test_setup_teardown(form_from_name_or_content, setup, teardown),
      cmocka_unit_test(java_properties_syntax),
      cmocka_unit_test(global_config_from_properties),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
