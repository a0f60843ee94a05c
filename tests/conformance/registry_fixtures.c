/* Conformance: the registry reads every TorchServe / MMS fixture with the
 * right name, version, handler and runtime (table written from the files),
 * parses every model-config.yaml fixture, scans the archive folder, and
 * reads every TorchServe config.properties and snapshot as the global config.
 * Skips (77) when the fixtures folder is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry/config_yaml.h"
#include "registry/global_config.h"
#include "registry/settings.h"
#include "testutil.h"

typedef struct expect {
  const char *rel; /* under the fixtures folder */
  const char *name, *version, *handler, *runtime;
} expect;

static const expect table[] = {
    {"torchserve/archives/custom_invalid_python_dep.mar", "custom_python_dep", "1.0", "handler.py", "python"},
    {"torchserve/archives/custom_python_dep.mar", "custom_python_dep", "1.0", "handler.py", "python"},
    {"torchserve/archives/echo-client-timeout.mar", "echo-client-timeout", "1.0", "handler.py", "python"},
    {"torchserve/archives/echo.mar", "echo", "1.0", "handler.py", "python"},
    {"torchserve/archives/error_batch.mar", "error_batch", "1.0", "service.py", "python"},
    {"torchserve/archives/init-error.mar", "init-error", "1.0", "invalid_service.py", "python"},
    {"torchserve/archives/loading-memory-error.mar", "loading-memory-error", "1.0", "service.py", "python"},
    {"torchserve/archives/noop-customized.mar", "noop-customized", "1.0", "service.py", "python"},
    {"torchserve/archives/noop-no-manifest.mar", "noop-no-manifest", "1.0", "service.py", "python"},
    {"torchserve/archives/noop-v1.0-config-tests.mar", "noop-v1.0-config-tests", "1.0", "service.py", "python"},
    {"torchserve/archives/noop.mar", "noop", "1.11", "service.py", "python"},
    {"torchserve/archives/noop.tar.gz", "noop", "1.0", "service.py", "python"},
    {"torchserve/archives/noop_entrypntfunc.mar", "noop_entrypntfunc", "1.0", "handler:handle_request", "python"},
    {"torchserve/archives/noop_handlername.mar", "noop_handlername", "1.0", "handler", "python"},
    {"torchserve/archives/noop_v2.mar", "noop", "1.2.1", "service.py", "python"},
    {"torchserve/archives/pred-custom-return-code.mar", "pred-custom-return-code", "1.0", "service:handle", "python"},
    {"torchserve/archives/prediction-memory-error.mar", "prediction-memory-error", "1.0", "service.py", "python"},
    {"torchserve/archives/respheader-test.mar", "respheader-test", "1.0", "service.py", "python"},
    {"torchserve/no_archive/noop_no_archive/noop", "noop", "1.11", "service.py", "python"},
    {"torchserve/no_archive/noop_no_archive_no_version/noop", "noop", "1.0", "service.py", "python"},
    {"mms/custom-return-code", "pred-custom-return-code", "1.0", "service:handle", "python"},
    {"mms/error_batch", "err_batch", "1.0", "service:handle", "python"},
    {"mms/init-error", "init-error", "1.0", "invalid_service:handle", "python"},
    {"mms/invalid", "invalid", "1.0", "invalid_service:handle", "python"},
    {"mms/loading-memory-error", "mem-err", "1.0", "service:handle", "python"},
    {"mms/logging", "logging", "1.0", "service:handle", "python"},
    {"mms/noop-v0.1", "noop_v0.1", "1.0", "noop_service.py", "python"}, /* MMS 0.1, migrated */
    {"mms/noop-v1.0", "noop", "1.0", "service:handle", "python"},
    {"mms/noop-v1.0-config-tests", "noop-config", "1.0", "service:handle", "python"},
    {"mms/prediction-memory-error", "pred-mem-err", "1.0", "service:handle", "python"},
    {"mms/respheader-test", "respheader", "1.0", "service:handle", "python"},
};

static char *fx(const char *rel) { return ms_test_path(ms_test_fixtures(), rel); }

static void every_fixture_inspects(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    char *p = fx(table[i].rel);
    ms_model *m = NULL;
    int st = ms_archive_inspect(p, NULL, &m);
    if (st) fail_msg("%s: %s %s", table[i].rel, ms_status_name(st), ms_errmsg());
    assert_string_equal(ms_model_name(m), table[i].name);
    assert_string_equal(ms_model_version(m), table[i].version);
    assert_string_equal(ms_model_handler(m), table[i].handler);
    assert_string_equal(ms_model_runtime(m), table[i].runtime);
    assert_int_equal(strlen(ms_model_content_hash(m)), 64);
    ms_model_free(m);
    free(p);
  }
}

/* Every fixture validates (every file its manifest names is in it), but
 * three whose copies here lack a file TorchServe / MMS would load: the MMS
 * 0.1 folder's Service and the no-archive folders' service.py. */
static void every_fixture_validates(void **state) {
  (void)state;
  static const struct {
    const char *rel, *missing;
  } lacking[] = {
      {"mms/noop-v0.1", "the manifest's Model.Service 'noop_service.py' is not in the archive"},
      {"torchserve/no_archive/noop_no_archive/noop", "the manifest's model.handler 'service.py' is not in the archive"},
      {"torchserve/no_archive/noop_no_archive_no_version/noop",
       "the manifest's model.handler 'service.py' is not in the archive"},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    char *p = fx(table[i].rel);
    const char *missing = NULL;
    for (size_t j = 0; j < sizeof lacking / sizeof lacking[0]; j++)
      if (strcmp(lacking[j].rel, table[i].rel) == 0) missing = lacking[j].missing;
    ms_model *m = NULL;
    int st = ms_archive_validate(p, NULL, &m);
    if (missing) {
      if (st != MS_ECORRUPT || !strstr(ms_errmsg(), missing))
        fail_msg("%s: %s %s", table[i].rel, ms_status_name(st), ms_errmsg());
    } else {
      if (st) fail_msg("%s: %s %s", table[i].rel, ms_status_name(st), ms_errmsg());
      assert_string_equal(ms_model_name(m), table[i].name);
      ms_model_free(m);
    }
    free(p);
  }
}

static void archive_config_files_are_read(void **state) {
  (void)state;
  char *p = fx("torchserve/archives/echo-client-timeout.mar");
  ms_model *m = NULL;
  assert_int_equal(ms_archive_inspect(p, NULL, &m), MS_OK);
  const char *v = NULL;
  ms_config_source src = MS_SRC_API;
  assert_int_equal(ms_model_get_str(m, "clientTimeoutInMills", &v, &src), MS_OK);
  assert_string_equal(v, "1");
  assert_int_equal(src, MS_SRC_ARCHIVE);
  int64_t bs = 0;
  assert_int_equal(ms_model_get_int(m, "batch_size", &bs, &src), MS_OK);
  assert_int_equal(bs, 1);
  assert_int_equal(src, MS_SRC_DEFAULT);
  ms_model_free(m);
  free(p);
}

/* Every archive of the folder registers; the two archives that declare
 * custom_python_dep 1.0 collide: neither has a createdOn, so the first by
 * path wins and the other is one CONFLICT entry naming it. */
static void scan_of_archive_folder(void **state) {
  (void)state;
  ms_store *s = NULL;
  ms_registry *r = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  char *dir = fx("torchserve/archives");
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(r, dir, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count(rep), 18);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 17);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_CONFLICT), 1);
  for (size_t i = 0; i < ms_scan_report_count(rep); i++) {
    const char *path, *msg;
    ms_scan_outcome o;
    int st;
    assert_int_equal(ms_scan_report_get(rep, i, &path, &o, &st, &msg), MS_OK);
    if (o == MS_SCAN_CONFLICT) {
      assert_non_null(strstr(path, "custom_python_dep.mar"));
      assert_int_equal(st, MS_EEXIST);
      assert_non_null(strstr(msg, "custom_python_dep"));
      assert_non_null(strstr(msg, "custom_invalid_python_dep.mar"));
      assert_non_null(strstr(msg, "neither has a createdOn"));
    }
  }
  ms_scan_report_free(rep);
  /* noop.mar and noop_v2.mar are two versions of one model (plus noop.tar.gz). */
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(r, "noop", &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), 3);
  ms_model_list_free(l);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(r, "noop", NULL, &m), MS_OK);
  assert_string_equal(ms_model_version(m), "1.11"); /* noop.mar sorts first */
  ms_model_free(m);
  assert_int_equal(ms_registry_get(r, "noop", "1.2.1", &m), MS_OK);
  assert_int_equal(ms_model_is_default(m), 0);
  ms_model_free(m);
  /* Unchanged re-scan. */
  assert_int_equal(ms_registry_scan(r, dir, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_UNCHANGED), 17);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_CONFLICT), 1);
  ms_scan_report_free(rep);
  free(dir);
  ms_registry_close(r);
  ms_store_close(s);
}

static void fixtures_materialize(void **state) {
  (void)state;
  char *tmp = ms_test_tmpdir("regconf");
  ms_store *s = NULL;
  ms_registry *r = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  const char *which[] = {"torchserve/archives/noop.mar", "torchserve/archives/noop.tar.gz"};
  for (size_t i = 0; i < 2; i++) {
    char *p = fx(which[i]);
    ms_model *m = NULL;
    assert_int_equal(ms_registry_register(r, p, NULL, &m), MS_OK);
    char out[4096];
    int st = ms_registry_materialize(r, m, tmp, out, sizeof out);
    if (st) fail_msg("%s: %s", which[i], ms_errmsg());
    char *man = ms_test_path(out, "MAR-INF/MANIFEST.json");
    FILE *f = fopen(man, "rb");
    assert_non_null(f);
    fclose(f);
    free(man);
    ms_model_free(m);
    free(p);
  }
  ms_registry_close(r);
  ms_store_close(s);
  ms_test_rmtree(tmp);
  free(tmp);
}

typedef struct yexpect {
  const char *file;
  const char *key;  /* canonical or extra key */
  int64_t ival;     /* for integer keys */
  const char *sval; /* for string/extra keys */
} yexpect;

static const yexpect yaml_table[] = {
    {"Huggingface_Transformers.yaml", "min_workers", 1, NULL},
    {"Huggingface_Transformers.yaml", "max_workers", 1, NULL},
    {"cpp_aot_inductor_bert.yaml", "batch_size", 2, NULL},
    {"large_models_deepspeed_opt.yaml", "max_batch_delay_us", 100000, NULL},
    {"large_models_deepspeed_opt.yaml", "request_timeout_us", 1200000000, NULL},
    {"large_models_deepspeed_opt.yaml", "device", 0, "gpu"},
    {"large_models_deepspeed_opt.yaml", "parallelType", 0, "tp"},
    {"large_models_inferentia2_llama_continuous_batching_llama2-model-config.yaml.yaml", "batch_size", 8, NULL},
    {"large_models_inferentia2_llama_continuous_batching_llama2-model-config.yaml.yaml", "max_batch_delay_us", 0, NULL},
    {"large_models_inferentia2_llama_continuous_batching_llama2-model-config.yaml.yaml", "max_queue_size", 500, NULL},
    {"large_models_inferentia2_llama_continuous_batching_llama2-model-config.yaml.yaml", "request_timeout_us",
     10800000000, NULL},
    {"large_models_inferentia2_llama_continuous_batching_llama2-model-config.yaml.yaml", "continuousBatching", 0,
     "true"},
};

static const char *yaml_files[] = {
    "Huggingface_Transformers.yaml", "LLM_llama_chat_app.yaml", "benchmarking_resnet50.yaml",
    "cpp_aot_inductor_bert.yaml", "cpp_aot_inductor_resnet.yaml", "image_classifier_densenet_161.yaml",
    "image_classifier_vgg_16.yaml", "large_models_Huggingface_accelerate_llama.yaml",
    "large_models_Huggingface_pippy.yaml", "large_models_deepspeed_mii_LLM.yaml", "large_models_deepspeed_opt.yaml",
    "large_models_inferentia2_llama_continuous_batching_llama2-model-config.yaml.yaml"};

static int load_yaml(const char *file, ms__settings *s) {
  char rel[512];
  snprintf(rel, sizeof rel, "torchserve/model-config/%s", file);
  char *p = fx(rel);
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  char buf[65536];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  int st = ms__registry_yaml_parse(buf, n, p, s);
  free(p);
  return st;
}

static void every_model_config_parses(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof yaml_files / sizeof yaml_files[0]; i++) {
    ms__settings s;
    int st = load_yaml(yaml_files[i], &s);
    if (st) fail_msg("%s: %s", yaml_files[i], ms_errmsg());
    ms__registry_settings_free(&s);
  }
  for (size_t i = 0; i < sizeof yaml_table / sizeof yaml_table[0]; i++) {
    const yexpect *y = &yaml_table[i];
    ms__settings s;
    assert_int_equal(load_yaml(y->file, &s), MS_OK);
    int k = ms__registry_key_lookup(y->key);
    if (k >= 0 && !ms__registry_key_is_str(k)) {
      assert_true(s.set & (1u << k));
      assert_int_equal(s.ival[k], y->ival);
    } else if (k >= 0) {
      assert_string_equal(s.device, y->sval);
    } else {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(s.extra, y->key);
      assert_true(cJSON_IsString(v));
      assert_string_equal(v->valuestring, y->sval);
    }
    ms__registry_settings_free(&s);
  }
}

/* ---- TorchServe's models= / model_snapshot= as the global config -------- */

/* The value of `key` in a Java properties file: continuation lines joined,
 * escapes (\\n, \\:, \\\\ ...) undone. malloc'd, or NULL when absent. */
static char *property(const char *path, const char *key) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  size_t klen = strlen(key);
  char *out = NULL;
  for (char *line = text; line && *line;) {
    char *next = strchr(line, '\n');
    if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
      out = calloc(1, n + 1);
      size_t o = 0;
      const char *c = line + klen + 1;
      for (;;) {
        if (*c == '\0' || *c == '\n' || *c == '\r') break;
        if (*c != '\\') {
          out[o++] = *c++;
          continue;
        }
        c++;
        if (*c == '\n' || *c == '\r' || *c == '\0') { /* continuation: skip the newline and indentation */
          while (*c == '\r' || *c == '\n') c++;
          while (*c == ' ' || *c == '\t') c++;
          continue;
        }
        out[o++] = *c == 'n' ? '\n' : *c == 't' ? '\t' : *c == 'r' ? '\r' : *c;
        c++;
      }
      break;
    }
    line = next ? next + 1 : NULL;
  }
  return out;
}

typedef struct gexpect {
  const char *file, *key, *model, *version;
  int64_t batch_size, max_batch_delay_us, request_timeout_us, min_workers, max_workers;
} gexpect;

static const gexpect gtable[] = {
    {"config.properties", "models", "noop", "1.11", 4, 100000, 120000000, 1, 1},
    {"snapshot1.cfg", "model_snapshot", "noop", "1.11", 1, 100000, 120000000, 4, 4},
    {"snapshot5.cfg", "model_snapshot", "noop_v1.0", "1.11", 1, 100000, 120000000, 1, 1},
    {"snapshot9.cfg", "model_snapshot", "noop_v1.0", "1.11", 1, 100000, 120000000, 2, 2},
    {"snapshot9.cfg", "model_snapshot", "noopversioned", "1.2.1", 1, 100000, 120000000, 1, 1},
};

/* TorchServe's models= (and a snapshot's model_snapshot=, whose "models"
 * has the same shape) taken out of the file and read as the JSON form of
 * the global config, with names and units mapped; TorchServe-only keys
 * (marName, startupTimeout, runtimeType) apply to nothing. Then end to end: noop.mar registered under that
 * config takes its settings from it (source global) where the archive is silent. */
static void torchserve_models_setting_is_a_global_config(void **state) {
  (void)state;
  char *tmp = ms_test_tmpdir("regconf");
  for (size_t i = 0; i < sizeof gtable / sizeof gtable[0]; i++) {
    const gexpect *x = &gtable[i];
    char rel[256];
    snprintf(rel, sizeof rel, "torchserve/config/%s", x->file);
    char *p = fx(rel);
    char *json = property(p, x->key);
    if (!json) fail_msg("%s: no %s= property", x->file, x->key);
    char *wrapped = malloc(strlen(json) + 32);
    /* models= holds the "models" object itself; a snapshot holds a whole
     * object with "models" inside. */
    if (strcmp(x->key, "models") == 0) sprintf(wrapped, "{\"models\": %s}", json);
    else strcpy(wrapped, json);
    ms__global_config *g = NULL;
    char origin[300]; /* parsed as the JSON form of the global config */
    snprintf(origin, sizeof origin, "%s.json", x->file);
    int st = ms__registry_global_parse(wrapped, strlen(wrapped), origin, &g);
    if (st) fail_msg("%s: %s", x->file, ms_errmsg());
    const ms__settings *e = ms__registry_global_lookup(g, x->model, x->version);
    if (!e) fail_msg("%s: no entry %s %s", x->file, x->model, x->version);
    assert_int_equal(e->ival[MS__K_BATCH_SIZE], x->batch_size);
    assert_int_equal(e->ival[MS__K_MAX_BATCH_DELAY_US], x->max_batch_delay_us);
    assert_int_equal(e->ival[MS__K_REQUEST_TIMEOUT_US], x->request_timeout_us);
    assert_int_equal(e->ival[MS__K_MIN_WORKERS], x->min_workers);
    assert_int_equal(e->ival[MS__K_MAX_WORKERS], x->max_workers);
    assert_false(e->set & (1u << MS__K_MAX_QUEUE_SIZE)); /* not in the file: unset, not a number */
    ms__registry_global_free(g);

    if (strcmp(x->model, "noop") == 0) {
      char *gpath = ms_test_path(tmp, "global.json");
      assert_int_equal(ms_test_write_file(gpath, wrapped, strlen(wrapped)), 0);
      ms_store *s = NULL;
      ms_registry *r = NULL;
      assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
      assert_int_equal(ms_registry_open(s, gpath, &r), MS_OK);
      char *mar = fx("torchserve/archives/noop.mar");
      ms_model *m = NULL;
      assert_int_equal(ms_registry_register(r, mar, NULL, &m), MS_OK);
      int64_t v = 0;
      ms_config_source src = MS_SRC_API;
      assert_int_equal(ms_model_get_int(m, "min_workers", &v, &src), MS_OK);
      assert_int_equal(v, x->min_workers);
      assert_int_equal(src, MS_SRC_GLOBAL);
      assert_int_equal(ms_model_get_int(m, "batch_size", &v, &src), MS_OK);
      assert_int_equal(v, x->batch_size);
      assert_int_equal(src, MS_SRC_GLOBAL);
      assert_int_equal(ms_model_get_int(m, "max_queue_size", &v, &src), MS_OK);
      assert_int_equal(v, 100);
      assert_int_equal(src, MS_SRC_DEFAULT);
      ms_model_free(m);
      free(mar);
      ms_registry_close(r);
      ms_store_close(s);
      free(gpath);
    }
    free(wrapped);
    free(json);
    free(p);
  }
  ms_test_rmtree(tmp);
  free(tmp);
}

/* ---- TorchServe's own files, unchanged, as the global config ---------------- */

static int has_unused(ms_registry *r, const char *key, const char *value) {
  ms_key_list *l = NULL;
  assert_int_equal(ms_registry_unused_keys(r, &l), MS_OK);
  int found = 0;
  for (size_t i = 0; i < ms_key_list_count(l) && !found; i++) {
    const char *k = NULL, *v = NULL;
    assert_int_equal(ms_key_list_get(l, i, &k, &v, NULL), MS_OK);
    found = strcmp(k, key) == 0 && (!value || strcmp(v, value) == 0);
  }
  ms_key_list_free(l);
  return found;
}

static void expect_setting(const ms_model *m, const char *key, int64_t value, ms_config_source src) {
  int64_t v = -1;
  ms_config_source s = MS_SRC_API;
  assert_int_equal(ms_model_get_int(m, key, &v, &s), MS_OK);
  if (v != value || s != src)
    fail_msg("%s %s: %s = %lld (source %d), expected %lld (source %d)", ms_model_name(m), ms_model_version(m), key,
             (long long)v, (int)s, (long long)value, (int)src);
}

/* Every file of torchserve/config/ (config.properties and the *.cfg
 * snapshots) opens as the global config, as it is. Then what each says:
 * models= and model_snapshot= entries with TorchServe's units, the
 * server-wide defaults, the default version, every key the registry does
 * not apply listed with its value, model_store and load_models as written. */
static void torchserve_config_files_open_unchanged(void **state) {
  (void)state;
  char *dir = fx("torchserve/config");
  DIR *d = opendir(dir);
  if (!d) fail_msg("no folder %s", dir);
  size_t opened = 0;
  struct dirent *de;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' || strcmp(de->d_name, "LICENSE") == 0) continue;
    char *p = ms_test_path(dir, de->d_name);
    ms_registry *r = NULL;
    int st = ms_registry_open(s, p, &r);
    if (st) fail_msg("%s: %s %s", de->d_name, ms_status_name(st), ms_errmsg());
    assert_true(has_unused(r, "inference_address", NULL));
    const char *v = NULL;
    assert_int_equal(ms_registry_get_global(r, "model_store", &v), MS_OK);
    assert_string_equal(v, "../archive/src/test/resources/models");
    assert_int_equal(ms_registry_get_global(r, "load_models", &v), MS_OK);
    assert_string_equal(v, "noop.mar");
    ms_registry_close(r);
    free(p);
    opened++;
  }
  closedir(d);
  assert_true(opened >= 4);

  /* config.properties: models= (continued over lines) and the defaults. */
  char *p = ms_test_path(dir, "config.properties");
  ms_registry *r = NULL;
  assert_int_equal(ms_registry_open(s, p, &r), MS_OK);
  assert_true(has_unused(r, "inference_address", "https://127.0.0.1:8443"));
  assert_true(has_unused(r, "models.\"noop\".\"1.11\".marName", "noop.mar"));
  assert_false(has_unused(r, "models.\"noop\".\"1.11\".defaultVersion", NULL));
  assert_false(has_unused(r, "default_response_timeout", NULL));
  char *mar = fx("torchserve/archives/noop.mar");
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(r, mar, NULL, &m), MS_OK);
  expect_setting(m, "batch_size", 4, MS_SRC_GLOBAL);
  expect_setting(m, "max_batch_delay_us", 100000, MS_SRC_GLOBAL);
  expect_setting(m, "request_timeout_us", 120000000, MS_SRC_GLOBAL);
  assert_int_equal(ms_model_is_default(m), 1);
  ms_model_free(m);
  free(mar);
  mar = fx("torchserve/archives/echo.mar"); /* not listed: default_response_timeout=120 */
  assert_int_equal(ms_registry_register(r, mar, NULL, &m), MS_OK);
  expect_setting(m, "request_timeout_us", 120000000, MS_SRC_GLOBAL);
  expect_setting(m, "min_workers", 1, MS_SRC_DEFAULT); /* default_workers_per_model is commented out */
  ms_model_free(m);
  free(mar);
  ms_registry_close(r);
  free(p);

  /* snapshot9.cfg: model_snapshot= (escaped JSON), default_workers_per_model=4,
   * a model with two versions and its default. */
  ms_store_close(s);
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  p = ms_test_path(dir, "snapshot9.cfg");
  assert_int_equal(ms_registry_open(s, p, &r), MS_OK);
  assert_true(has_unused(r, "model_snapshot.modelCount", "4"));
  assert_true(has_unused(r, "model_snapshot.models.\"noop_v1.0\".\"1.11\".startupTimeout", "120"));
  assert_true(has_unused(r, "number_of_gpu", "0"));
  char *archives = fx("torchserve/archives");
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(r, archives, &rep), MS_OK);
  ms_scan_report_free(rep);
  assert_int_equal(ms_registry_get(r, "noop", "1.11", &m), MS_OK);
  assert_int_equal(ms_model_is_default(m), 1); /* "defaultVersion": true */
  expect_setting(m, "min_workers", 1, MS_SRC_GLOBAL);
  ms_model_free(m);
  assert_int_equal(ms_registry_get(r, "echo", NULL, &m), MS_OK);
  expect_setting(m, "min_workers", 4, MS_SRC_GLOBAL); /* default_workers_per_model */
  expect_setting(m, "max_workers", 4, MS_SRC_GLOBAL);
  ms_model_free(m);
  free(archives);
  ms_registry_close(r);
  free(p);
  ms_store_close(s);

  /* The snapshot entries themselves, through the parser. */
  p = ms_test_path(dir, "snapshot9.cfg");
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof text, f);
  fclose(f);
  ms__global_config *g = NULL;
  assert_int_equal(ms__registry_global_parse(text, n, p, &g), MS_OK);
  assert_int_equal(ms__registry_global_is_default(g, "noopversioned", "1.2.1"), 1);
  assert_int_equal(ms__registry_global_is_default(g, "noopversioned", "1.11"), 0);
  const ms__settings *e = ms__registry_global_lookup(g, "noop_v1.0", "1.11");
  assert_non_null(e);
  assert_int_equal(e->ival[MS__K_MIN_WORKERS], 2);
  assert_int_equal(g->defaults.ival[MS__K_MAX_WORKERS], 4);
  ms__registry_global_free(g);
  free(p);
  free(dir);
}

int main(void) {
  if (!ms_test_fixtures()) {
    printf("fixtures folder absent: skipping\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_fixture_inspects),     cmocka_unit_test(every_fixture_validates),
      cmocka_unit_test(archive_config_files_are_read),
      cmocka_unit_test(scan_of_archive_folder),     cmocka_unit_test(fixtures_materialize),
      cmocka_unit_test(every_model_config_parses),
      cmocka_unit_test(torchserve_models_setting_is_a_global_config),
      cmocka_unit_test(torchserve_config_files_open_unchanged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
