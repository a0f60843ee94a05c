/* Conformance: the registry reads every TorchServe / MMS fixture with the
 * right name, version, handler and runtime (table written from the files),
 * parses every model-config.yaml fixture, and scans the archive folder.
 * Skips (77) when the fixtures folder is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve.h"
#include "mserve/registry.h"
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

static void archive_config_files_are_read(void **state) {
  (void)state;
  char *p = fx("torchserve/archives/echo-client-timeout.mar");
  ms_model *m = NULL;
  assert_int_equal(ms_archive_inspect(p, NULL, &m), MS_OK);
  const char *v = NULL;
  ms_config_source src = MS_SRC_API;
  assert_int_equal(ms_model_config_str(m, "clientTimeoutInMills", &v, &src), MS_OK);
  assert_string_equal(v, "1");
  assert_int_equal(src, MS_SRC_ARCHIVE);
  int64_t bs = 0;
  assert_int_equal(ms_model_config_int(m, "batch_size", &bs, &src), MS_OK);
  assert_int_equal(bs, 1);
  assert_int_equal(src, MS_SRC_DEFAULT);
  ms_model_free(m);
  free(p);
}

/* Every archive of the folder registers; the two archives that declare
 * custom_python_dep 1.0 collide (the second in name order fails). */
static void scan_of_archive_folder(void **state) {
  (void)state;
  ms_store *s = NULL;
  ms_registry *r = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  char *dir = fx("torchserve/archives");
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(r, dir, &rep), MS_OK);
  assert_int_equal(ms_scan_report_size(rep), 18);
  assert_int_equal(ms_scan_report_count(rep, MS_SCAN_ADDED), 17);
  assert_int_equal(ms_scan_report_count(rep, MS_SCAN_FAILED), 1);
  for (size_t i = 0; i < ms_scan_report_size(rep); i++) {
    const char *path, *msg;
    ms_scan_outcome o;
    int st;
    assert_int_equal(ms_scan_report_entry(rep, i, &path, &o, &st, &msg), MS_OK);
    if (o == MS_SCAN_FAILED) {
      assert_non_null(strstr(path, "custom_python_dep.mar"));
      assert_int_equal(st, MS_EEXIST);
      assert_non_null(strstr(msg, "custom_python_dep"));
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
  assert_int_equal(ms_scan_report_count(rep, MS_SCAN_UNCHANGED), 17);
  assert_int_equal(ms_scan_report_count(rep, MS_SCAN_FAILED), 1);
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
  int st = ms__model_config_parse_yaml(buf, n, p, s);
  free(p);
  return st;
}

static void every_model_config_parses(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof yaml_files / sizeof yaml_files[0]; i++) {
    ms__settings s;
    int st = load_yaml(yaml_files[i], &s);
    if (st) fail_msg("%s: %s", yaml_files[i], ms_errmsg());
    ms__settings_free(&s);
  }
  for (size_t i = 0; i < sizeof yaml_table / sizeof yaml_table[0]; i++) {
    const yexpect *y = &yaml_table[i];
    ms__settings s;
    assert_int_equal(load_yaml(y->file, &s), MS_OK);
    int k = ms__key_lookup(y->key);
    if (k >= 0 && !ms__key_is_str(k)) {
      assert_true(s.set & (1u << k));
      assert_int_equal(s.ival[k], y->ival);
    } else if (k >= 0) {
      assert_string_equal(s.device, y->sval);
    } else {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(s.extra, y->key);
      assert_true(cJSON_IsString(v));
      assert_string_equal(v->valuestring, y->sval);
    }
    ms__settings_free(&s);
  }
}

int main(void) {
  if (!ms_test_fixtures()) {
    printf("fixtures folder absent: skipping\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_fixture_inspects),     cmocka_unit_test(archive_config_files_are_read),
      cmocka_unit_test(scan_of_archive_folder),     cmocka_unit_test(fixtures_materialize),
      cmocka_unit_test(every_model_config_parses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
