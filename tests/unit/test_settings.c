/* Unit tests: settings precedence (API > archive > global entry > global
 * defaults > built-in) for every key at every level, TorchServe names and
 * units, overrides validation, and the YAML / global config parsers. */
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
#include "registry/config_yaml.h"
#include "registry/global_config.h"
#include "registry/settings.h"
#include "registry_testutil.h"
#include "testutil.h"

/* Levels, lowest precedence first. */
enum { L_DEFAULTS = 0, L_ENTRY = 1, L_ARCHIVE = 2, L_API = 3, L_N = 4 };

typedef struct keydef {
  const char *canon, *ts; /* canonical and TorchServe names */
  int64_t factor;         /* TorchServe unit -> canonical */
  int is_str;
  int64_t builtin;
  const char *builtin_str;
} keydef;

static const keydef keys[] = {
    {"batch_size", "batchSize", 1, 0, 1, NULL},
    {"max_batch_delay_us", "maxBatchDelay", 1000, 0, 100000, NULL},
    {"max_queue_size", "jobQueueSize", 1, 0, 100, NULL},
    {"request_timeout_us", "responseTimeout", 1000000, 0, 120000000, NULL},
    {"min_workers", "minWorkers", 1, 0, 1, NULL},
    {"max_workers", "maxWorkers", 1, 0, 1, NULL},
    {"device", "deviceType", 1, 1, 0, "cpu"},
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* The value a level gives in TorchServe units (canonical = * factor). */
static int64_t level_value(int level) { return 10 + level; }
static const char *level_str(int level) {
  static const char *v[L_N] = {"dev-defaults", "dev-entry", "dev-archive", "dev-api"};
  return v[level];
}

/* Every key x every subset of the four levels: one model each. The global
 * config uses TorchServe names in "defaults" and canonical names in the
 * model entries; the archive's yaml uses TorchServe names. */
static void every_key_at_every_level(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("settings");
  char *gpath = ms_test_path(dir, "global.json");
  size_t cap = 1 << 20, len = 0;
  char *g = malloc(cap);
  /* Global defaults can only be global: one config for all models means
   * "defaults" sets each key for every model, so models whose subset lacks
   * L_DEFAULTS use a second registry with a config without defaults. */
  for (int with_defaults = 0; with_defaults < 2; with_defaults++) {
    len = 0;
    len += (size_t)snprintf(g + len, cap - len, "{\"defaults\": {");
    if (with_defaults)
      for (size_t k = 0; k < NKEYS; k++) {
        if (keys[k].is_str) len += (size_t)snprintf(g + len, cap - len, "%s\"%s\": \"%s\"", k ? "," : "", keys[k].ts, level_str(L_DEFAULTS));
        else len += (size_t)snprintf(g + len, cap - len, "%s\"%s\": %lld", k ? "," : "", keys[k].ts, (long long)level_value(L_DEFAULTS));
      }
    len += (size_t)snprintf(g + len, cap - len, "}, \"marName\": \"ignored\", \"models\": {");
    int first = 1;
    for (size_t k = 0; k < NKEYS; k++)
      for (unsigned mask = 0; mask < 16; mask++) {
        if (!(mask & (1u << L_ENTRY))) continue;
        len += (size_t)snprintf(g + len, cap - len, "%s\"m%zu_%u\": {\"1.0\": {\"defaultVersion\": true, ", first ? "" : ",", k, mask);
        first = 0;
        if (keys[k].is_str) len += (size_t)snprintf(g + len, cap - len, "\"%s\": \"%s\"}}", keys[k].canon, level_str(L_ENTRY));
        else len += (size_t)snprintf(g + len, cap - len, "\"%s\": %lld}}", keys[k].canon, (long long)(level_value(L_ENTRY) * keys[k].factor));
      }
    len += (size_t)snprintf(g + len, cap - len, "}}");
    assert_int_equal(ms_test_write_file(gpath, g, len), 0);

    ms_store *s = NULL;
    ms_registry *r = NULL;
    assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
    if (ms_registry_open(s, gpath, &r) != MS_OK) fail_msg("%s", ms_errmsg());
    for (size_t k = 0; k < NKEYS; k++)
      for (unsigned mask = 0; mask < 16; mask++) {
        if (!!(mask & (1u << L_DEFAULTS)) != with_defaults) continue;
        char name[64], file[128], yaml[256] = "";
        snprintf(name, sizeof name, "m%zu_%u", k, mask);
        snprintf(file, sizeof file, "%s.mar", name);
        if (mask & (1u << L_ARCHIVE)) {
          if (keys[k].is_str) snprintf(yaml, sizeof yaml, "%s: %s\nparallelType: tp\n", keys[k].ts, level_str(L_ARCHIVE));
          else snprintf(yaml, sizeof yaml, "%s: %lld\nparallelType: tp\n", keys[k].ts, (long long)level_value(L_ARCHIVE));
        }
        char *p = ms_test_path(dir, file);
        assert_int_equal(t_write_mar(p, name, "1.0", NULL, yaml[0] ? yaml : NULL), 0);
        ms_overrides *ov = NULL;
        assert_int_equal(ms_overrides_new(&ov), MS_OK);
        if (mask & (1u << L_API)) {
          if (keys[k].is_str) assert_int_equal(ms_overrides_set_str(ov, keys[k].canon, level_str(L_API)), MS_OK);
          else assert_int_equal(ms_overrides_set_int(ov, keys[k].canon, level_value(L_API) * keys[k].factor), MS_OK);
        }
        if (ms_registry_register(r, p, ov, NULL) != MS_OK) fail_msg("%s: %s", name, ms_errmsg());
        ms_overrides_free(ov);
        free(p);

        ms_model *m = NULL;
        assert_int_equal(ms_registry_get(r, name, NULL, &m), MS_OK);
        int top = -1;
        for (int l = L_N - 1; l >= 0 && top < 0; l--)
          if (mask & (1u << l)) top = l;
        ms_config_source want_src = top == L_API ? MS_SRC_API
                                    : top == L_ARCHIVE ? MS_SRC_ARCHIVE
                                    : top >= 0 ? MS_SRC_GLOBAL : MS_SRC_DEFAULT;
        ms_config_source src = (ms_config_source)-1;
        if (keys[k].is_str) {
          const char *v = NULL;
          assert_int_equal(ms_model_get_str(m, keys[k].canon, &v, &src), MS_OK);
          assert_string_equal(v, top >= 0 ? level_str(top) : keys[k].builtin_str);
        } else {
          int64_t v = -1;
          assert_int_equal(ms_model_get_int(m, keys[k].canon, &v, &src), MS_OK);
          assert_int_equal(v, top >= 0 ? level_value(top) * keys[k].factor : keys[k].builtin);
        }
        if (src != want_src) fail_msg("%s key %s: source %d, want %d", name, keys[k].canon, (int)src, (int)want_src);
        /* Every other key is unaffected by this one: it comes from the
         * global defaults (when present) or the built-in default. */
        for (size_t o = 0; o < NKEYS; o++) {
          if (o == k) continue;
          ms_config_source osrc;
          if (keys[o].is_str) {
            const char *v = NULL;
            assert_int_equal(ms_model_get_str(m, keys[o].canon, &v, &osrc), MS_OK);
            assert_string_equal(v, with_defaults ? level_str(L_DEFAULTS) : keys[o].builtin_str);
          } else {
            int64_t v = -1;
            assert_int_equal(ms_model_get_int(m, keys[o].canon, &v, &osrc), MS_OK);
            assert_int_equal(v, with_defaults ? level_value(L_DEFAULTS) * keys[o].factor : keys[o].builtin);
          }
          assert_int_equal(osrc, with_defaults ? MS_SRC_GLOBAL : MS_SRC_DEFAULT);
        }
        /* Unknown archive keys are kept as strings for handlers. */
        const char *pt = NULL;
        ms_config_source psrc;
        if (mask & (1u << L_ARCHIVE)) {
          assert_int_equal(ms_model_get_str(m, "parallelType", &pt, &psrc), MS_OK);
          assert_string_equal(pt, "tp");
          assert_int_equal(psrc, MS_SRC_ARCHIVE);
        } else {
          assert_int_equal(ms_model_get_str(m, "parallelType", &pt, &psrc), MS_ENOTFOUND);
        }
        ms_model_free(m);
      }
    ms_registry_close(r);
    ms_store_close(s);
  }
  free(g);
  free(gpath);
  ms_test_rmtree(dir);
  free(dir);
}

/* The archive level: model-config.yaml wins key by key over batch keys in
 * the manifest's "model" object (the MMS proposal). */
static void manifest_batch_keys_under_yaml(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("settings");
  char *p = ms_test_path(dir, "m.mar");
  assert_int_equal(t_write_mar(p, "m", "1", "\"batchSize\": 3, \"maxBatchDelay\": 7,", "batchSize: 5\n"), 0);
  ms_model *m = NULL;
  assert_int_equal(ms_archive_inspect(p, NULL, &m), MS_OK);
  int64_t v;
  ms_config_source src;
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, &src), MS_OK);
  assert_int_equal(v, 5);
  assert_int_equal(src, MS_SRC_ARCHIVE);
  assert_int_equal(ms_model_get_int(m, "max_batch_delay_us", &v, &src), MS_OK);
  assert_int_equal(v, 7000);
  assert_int_equal(src, MS_SRC_ARCHIVE);
  assert_int_equal(ms_model_is_default(m), 0);
  ms_model_free(m);
  /* A wrong type in the manifest is refused, naming the key. */
  assert_int_equal(t_write_mar(p, "m", "1", "\"batchSize\": \"many\",", NULL), 0);
  assert_int_equal(ms_archive_inspect(p, NULL, &m), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "batchSize"));
  free(p);
  ms_test_rmtree(dir);
  free(dir);
}

static void config_accessors_report_types_and_absence(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("settings");
  char *p = ms_test_path(dir, "m.mar");
  assert_int_equal(t_write_mar(p, "m", "1", NULL, "handler:\n  model_name: bert\n  max_length: 150\ndeviceIds: [0, 1]\n"), 0);
  ms_model *m = NULL;
  assert_int_equal(ms_archive_inspect(p, NULL, &m), MS_OK);
  int64_t v = 42;
  const char *s = "untouched";
  ms_config_source src = MS_SRC_API;
  assert_int_equal(ms_model_get_int(m, "device", &v, &src), MS_EINVAL);
  assert_int_equal(ms_model_get_str(m, "batch_size", &s, &src), MS_EINVAL);
  assert_int_equal(ms_model_get_int(m, "handler", &v, &src), MS_EINVAL);
  assert_int_equal(ms_model_get_int(m, "nonsense", &v, &src), MS_ENOTFOUND);
  assert_int_equal(ms_model_get_str(m, "nonsense", &s, &src), MS_ENOTFOUND);
  assert_int_equal(v, 42);
  assert_string_equal(s, "untouched");
  assert_int_equal(src, MS_SRC_API);
  assert_int_equal(ms_model_get_str(m, "handler", &s, &src), MS_OK);
  assert_string_equal(s, "{\"model_name\":\"bert\",\"max_length\":\"150\"}");
  assert_int_equal(ms_model_get_str(m, "deviceIds", &s, NULL), MS_OK);
  assert_string_equal(s, "[\"0\",\"1\"]");
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, NULL), MS_OK); /* source may be NULL */
  ms_model_free(m);
  free(p);
  ms_test_rmtree(dir);
  free(dir);
}

static void overrides_validate_keys_and_values(void **state) {
  (void)state;
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "batchSize", 4), MS_EINVAL); /* canonical names only */
  assert_non_null(strstr(ms_errmsg(), "max_batch_delay_us"));            /* lists the valid keys */
  assert_int_equal(ms_overrides_set_int(ov, "bogus", 4), MS_EINVAL);
  assert_int_equal(ms_overrides_set_int(ov, "max_workers", -1), MS_EINVAL);
  assert_int_equal(ms_overrides_set_int(ov, "batch_size", 0), MS_EINVAL);
  assert_int_equal(ms_overrides_set_int(ov, "max_queue_size", 0), MS_EINVAL);
  assert_int_equal(ms_overrides_set_int(ov, "max_batch_delay_us", 0), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "min_workers", 0), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "device", 1), MS_EINVAL);
  assert_int_equal(ms_overrides_set_str(ov, "batch_size", "1"), MS_EINVAL);
  assert_int_equal(ms_overrides_set_str(ov, "device", ""), MS_EINVAL);
  assert_int_equal(ms_overrides_set_str(ov, "device", NULL), MS_EINVAL);
  assert_int_equal(ms_overrides_clear(ov, "bogus"), MS_EINVAL);
  assert_int_equal(ms_overrides_set_int(NULL, "batch_size", 1), MS_EINVAL);
  assert_int_equal(ms_overrides_new(NULL), MS_EINVAL);
  ms_overrides_free(ov);
}

static int parse_yaml(const char *text, ms__settings *s) {
  return ms__registry_yaml_parse(text, strlen(text), "test.yaml", s);
}

static void yaml_is_plain_data(void **state) {
  (void)state;
  static const char *bad[] = {
      "batchSize: !!int 4\n",                       /* tag */
      "a: &x [1, 2]\nb: *x\n",                      /* anchor + alias */
      "a: *x\n",                                    /* undefined alias */
      "- 1\n- 2\n",                                 /* not a mapping */
      "batchSize: 4\nbatchSize: 5\n",               /* duplicate key */
      "batchSize: four\n",                          /* not an integer */
      "batchSize: [1]\n",                           /* not a scalar */
      "maxBatchDelay: -5\n",                        /* out of range */
      "batchSize: 99999999999999999999999\n",       /* overflow */
      "a: b\n---\nc: d\n",                          /* two documents */
      "a: [1, 2\n",                                 /* syntax error */
      "? [a, b]\n: c\n",                            /* complex key */
      "deviceType: ''\n",                           /* empty device */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms__settings s;
    int st = parse_yaml(bad[i], &s);
    if (st != MS_ECORRUPT) fail_msg("yaml %zu accepted (%d): %s", i, st, bad[i]);
    assert_non_null(strstr(ms_errmsg(), "test.yaml"));
  }
  ms__settings s;
  assert_int_equal(parse_yaml("batchSize: !!int 4\n", &s), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "line 1"));
  /* An alias bomb is refused at the first anchor, long before expansion. */
  assert_int_equal(parse_yaml("a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n", &s), MS_ECORRUPT);
  /* Empty documents are empty configs. */
  assert_int_equal(parse_yaml("", &s), MS_OK);
  assert_int_equal(s.set, 0);
  ms__registry_settings_free(&s);
  assert_int_equal(parse_yaml("---\n", &s), MS_OK);
  ms__registry_settings_free(&s);
  assert_int_equal(parse_yaml("# comment only\n", &s), MS_OK);
  ms__registry_settings_free(&s);
  /* Deep nesting is bounded. */
  char deep[400];
  size_t n = 0;
  deep[n++] = 'a';
  deep[n++] = ':';
  deep[n++] = ' ';
  for (int i = 0; i < 100; i++) deep[n++] = '[';
  for (int i = 0; i < 100; i++) deep[n++] = ']';
  deep[n] = '\0';
  assert_int_equal(parse_yaml(deep, &s), MS_ECORRUPT);
}

static int parse_global(const char *text, ms__global_config **g) {
  return ms__registry_global_parse(text, strlen(text), "global.json", g);
}

static void global_config_shapes(void **state) {
  (void)state;
  ms__global_config *g = NULL;
  assert_int_equal(parse_global("{\"defaults\": {\"batch_size\": 2, \"maxBatchDelay\": 5, \"unknownKey\": [1]},"
                                " \"models\": {\"noop\": {\"1.0\": {\"marName\": \"noop.mar\", \"minWorkers\": 2}}},"
                                " \"other\": 1}",
                                &g),
                   MS_OK);
  assert_int_equal(g->defaults.ival[MS__K_BATCH_SIZE], 2);
  assert_int_equal(g->defaults.ival[MS__K_MAX_BATCH_DELAY_US], 5000);
  const ms__settings *e = ms__registry_global_lookup(g, "noop", "1.0");
  assert_non_null(e);
  assert_int_equal(e->set, 1u << MS__K_MIN_WORKERS);
  assert_int_equal(e->ival[MS__K_MIN_WORKERS], 2);
  assert_null(ms__registry_global_lookup(g, "noop", "2.0"));
  ms__registry_global_free(g);

  static const char *bad[] = {
      "[1, 2]",
      "{\"defaults\": 3}",
      "{\"models\": {\"noop\": 1}}",
      "{\"models\": {\"noop\": {\"1.0\": []}}}",
      "{\"defaults\": {\"batchSize\": \"8\"}}",
      "{\"defaults\": {\"batch_size\": 1.5}}",
      "{\"defaults\": {\"max_workers\": -1}}",
      "{\"defaults\": {\"deviceType\": 7}}",
      "{\"defaults\": {\"responseTimeout\": 1e300}}",
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    g = NULL;
    int st = parse_global(bad[i], &g);
    if (st != MS_ECORRUPT) fail_msg("global config %zu accepted: %s", i, bad[i]);
    assert_null(g);
    assert_non_null(strstr(ms_errmsg(), "global.json"));
  }
  assert_int_equal(parse_global("{\"defaults\": {\"batchSize\": \"8\"}}", &g), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "batchSize"));
  assert_int_equal(parse_global("{\n  \"defaults\": {,}\n}", &g), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "line 2"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_key_at_every_level),
      cmocka_unit_test(manifest_batch_keys_under_yaml),
      cmocka_unit_test(config_accessors_report_types_and_absence),
      cmocka_unit_test(overrides_validate_keys_and_values),
      cmocka_unit_test(yaml_is_plain_data),
      cmocka_unit_test(global_config_shapes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
