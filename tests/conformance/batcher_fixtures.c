/* Conformance: the registry's resolved settings flow into the batcher. Real
 * TorchServe archives and model-config.yaml files from the shared fixtures
 * are registered, one key is overridden through the API (ms_registry_update),
 * and the batcher, configured from the model, cuts by the resolved values:
 * batch size, delay, queue size and timeout, each from its own source.
 * Skips (77) when the fixtures folder is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mserve.h"
#include "testutil.h"

#define T0 INT64_C(50000000)
#define MS(x) ((int64_t)(x) * 1000)

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    *len = (size_t)n;
  }
  return buf;
}

static char *fx(const char *rel) { return ms_test_path(ms_test_fixtures(), rel); }

static int64_t setting(const ms_model *m, const char *key, ms_config_source want) {
  int64_t v = -1;
  ms_config_source src = MS_SRC_DEFAULT;
  int st = ms_model_get_int(m, key, &v, &src);
  if (st) fail_msg("%s: %s %s", key, ms_status_name(st), ms_errmsg());
  if (src != want) fail_msg("%s = %lld comes from source %d, expected %d", key, (long long)v, (int)src, (int)want);
  return v;
}

static size_t poll_count(ms_batcher *b, int64_t t, int *status) {
  ms_batch *x = NULL;
  assert_int_equal(ms_batcher_poll(b, t, &x), MS_OK);
  if (!x) return 0;
  size_t n = ms_batch_count(x);
  *status = ms_batch_status(x);
  ms_batch_free(x);
  return n;
}

static int64_t next_of(ms_batcher *b) {
  int64_t d = 0;
  assert_int_equal(ms_batcher_next_deadline(b, &d), MS_OK);
  return d;
}

/* A real .mar with a model-config.yaml (only clientTimeoutInMills, which is
 * not a batching key): batch settings come from the global config and the
 * built-in defaults; then batch_size is overridden through the API. */
static void real_mar_defaults_global_and_api(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("batcher-conf");
  char *cfg = ms_test_path(dir, "global.json");
  const char *json = "{\"models\": {\"echo-client-timeout\": {\"1.0\": {\"jobQueueSize\": 6}}}}";
  assert_int_equal(ms_test_write_file(cfg, json, strlen(json)), 0);
  ms_store *s = NULL;
  ms_registry *r = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, cfg, &r), MS_OK);
  char *mar = fx("torchserve/archives/echo-client-timeout.mar");
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(r, mar, NULL, &m), MS_OK);
  const char *v = NULL;
  assert_int_equal(ms_model_get_str(m, "clientTimeoutInMills", &v, NULL), MS_OK); /* its yaml was read */
  assert_int_equal(setting(m, "batch_size", MS_SRC_DEFAULT), 1);
  assert_int_equal(setting(m, "max_queue_size", MS_SRC_GLOBAL), 6);
  ms_model_free(m);

  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "batch_size", 4), MS_OK);
  assert_int_equal(ms_registry_update(r, "echo-client-timeout", NULL, ov), MS_OK);
  ms_overrides_free(ov);
  assert_int_equal(ms_registry_get(r, "echo-client-timeout", NULL, &m), MS_OK);
  assert_int_equal(setting(m, "batch_size", MS_SRC_API), 4);
  int64_t delay = setting(m, "max_batch_delay_us", MS_SRC_DEFAULT);
  int64_t timeout = setting(m, "request_timeout_us", MS_SRC_DEFAULT);
  assert_true(delay > 0 && timeout > delay);

  ms_batcher *b = NULL;
  assert_int_equal(ms_batcher_new(&b), MS_OK);
  assert_int_equal(ms_batcher_configure(b, m), MS_OK);
  int st = 0;
  /* batch_size 4 (API): four requests go at once */
  for (uint64_t i = 1; i <= 4; i++) assert_int_equal(ms_batcher_submit(b, i, 1, 0, 0, T0), MS_OK);
  assert_int_equal(poll_count(b, T0, &st), 4);
  assert_int_equal(st, MS_OK);
  assert_int_equal(ms_batcher_submit(b, 5, 5, 0, 0, T0), MS_EINVAL); /* more items than a batch */
  /* max_batch_delay_us (default): one request waits exactly the delay */
  assert_int_equal(ms_batcher_submit(b, 5, 1, 0, 0, T0), MS_OK);
  assert_int_equal(next_of(b), T0 + delay);
  assert_int_equal(poll_count(b, T0 + delay - 1, &st), 0);
  assert_int_equal(poll_count(b, T0 + delay, &st), 1);
  /* max_queue_size 6 (global config): the seventh pending request is refused */
  int64_t t = T0 + MS(1000);
  assert_int_equal(ms_batcher_set_max_delay(b, timeout * 2), MS_OK); /* keep them pending */
  assert_int_equal(ms_batcher_set_max_batch(b, 8), MS_OK);
  for (uint64_t i = 10; i < 16; i++) assert_int_equal(ms_batcher_submit(b, i, 1, 0, 0, t), MS_OK);
  assert_int_equal(ms_batcher_submit(b, 16, 1, 0, 0, t), MS_EFULL);
  assert_non_null(strstr(ms_errmsg(), "max_queue 6"));
  /* request_timeout_us (default): they time out together at t + timeout */
  assert_int_equal(next_of(b), t + timeout);
  assert_int_equal(poll_count(b, t + timeout, &st), 6);
  assert_int_equal(st, MS_ETIMEDOUT);
  ms_batcher_free(b);
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  ms_test_rmtree(dir);
  free(mar);
  free(cfg);
  free(dir);
}

/* A real model folder (its manifest and model.pt) with a real TorchServe
 * model-config.yaml (batchSize 8, maxBatchDelay 0, jobQueueSize 500,
 * responseTimeout 10800): the archive's values, then max_batch_delay_us
 * overridden through the API. */
static void real_model_config_yaml_and_an_api_override(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("batcher-conf");
  char *model = ms_test_path(dir, "noop");
  char *marinf = ms_test_path(model, "MAR-INF");
  assert_int_equal(mkdir(model, 0755), 0);
  assert_int_equal(mkdir(marinf, 0755), 0);
  size_t len = 0;
  char *src = fx("torchserve/no_archive/noop_no_archive/noop/MAR-INF/MANIFEST.json");
  char *manifest = slurp(src, &len);
  assert_non_null(manifest);
  cJSON *j = cJSON_Parse(manifest);
  assert_non_null(j);
  cJSON_AddStringToObject(cJSON_GetObjectItem(j, "model"), "configFile", "model-config.yaml");
  char *text = cJSON_Print(j);
  char *dst = ms_test_path(marinf, "MANIFEST.json");
  assert_int_equal(ms_test_write_file(dst, text, strlen(text)), 0);
  char *pt = ms_test_path(model, "model.pt");
  assert_int_equal(ms_test_write_file(pt, "", 0), 0);
  char *ysrc = fx("torchserve/model-config/large_models_inferentia2_llama_continuous_batching_llama2-model-config.yaml.yaml");
  char *yaml = slurp(ysrc, &len);
  assert_non_null(yaml);
  char *ydst = ms_test_path(model, "model-config.yaml");
  assert_int_equal(ms_test_write_file(ydst, yaml, len), 0);

  ms_store *s = NULL;
  ms_registry *r = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(r, model, NULL, &m), MS_OK);
  assert_string_equal(ms_model_name(m), "noop");
  assert_int_equal(setting(m, "batch_size", MS_SRC_ARCHIVE), 8);
  assert_int_equal(setting(m, "max_batch_delay_us", MS_SRC_ARCHIVE), 0);
  assert_int_equal(setting(m, "max_queue_size", MS_SRC_ARCHIVE), 500);
  assert_int_equal(setting(m, "request_timeout_us", MS_SRC_ARCHIVE), MS_SEC(10800));

  /* as configured by the archive: no delay, so even one request goes at once */
  ms_batcher *b = NULL;
  int st = 0;
  assert_int_equal(ms_batcher_new(&b), MS_OK);
  assert_int_equal(ms_batcher_configure(b, m), MS_OK);
  assert_int_equal(ms_batcher_submit(b, 1, 1, 0, 0, T0), MS_OK);
  assert_int_equal(poll_count(b, T0, &st), 1);
  ms_model_free(m);

  /* the management API sets a 5 ms delay; the rest stays the archive's */
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "max_batch_delay_us", MS(5)), MS_OK);
  assert_int_equal(ms_registry_update(r, "noop", NULL, ov), MS_OK);
  ms_overrides_free(ov);
  assert_int_equal(ms_registry_get(r, "noop", NULL, &m), MS_OK);
  assert_int_equal(setting(m, "max_batch_delay_us", MS_SRC_API), MS(5));
  assert_int_equal(setting(m, "batch_size", MS_SRC_ARCHIVE), 8);
  assert_int_equal(ms_batcher_configure(b, m), MS_OK);
  int64_t t = T0 + MS(100);
  for (uint64_t i = 10; i < 13; i++) assert_int_equal(ms_batcher_submit(b, i, 1, 0, 0, t), MS_OK);
  assert_int_equal(poll_count(b, t, &st), 0); /* 3 of 8: waits */
  assert_int_equal(next_of(b), t + MS(5));
  assert_int_equal(poll_count(b, t + MS(5), &st), 3);
  t += MS(10);
  for (uint64_t i = 20; i < 28; i++) assert_int_equal(ms_batcher_submit(b, i, 1, 0, 0, t), MS_OK);
  assert_int_equal(poll_count(b, t, &st), 8); /* batch size 8: at once */
  /* jobQueueSize 500: the 501st pending request is refused */
  for (uint64_t i = 0; i < 500; i++) assert_int_equal(ms_batcher_submit(b, 1000 + i, 8, 0, 0, t), MS_OK);
  assert_int_equal(ms_batcher_submit(b, 2000, 1, 0, 0, t), MS_EFULL);
  assert_non_null(strstr(ms_errmsg(), "max_queue 500"));
  ms_batcher_free(b);
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  cJSON_Delete(j);
  free(text);
  free(manifest);
  free(yaml);
  ms_test_rmtree(dir);
  free(dir), free(model), free(marinf), free(src), free(dst), free(pt), free(ysrc), free(ydst);
}

int main(void) {
  if (!ms_test_fixtures()) {
    printf("fixtures folder absent (set MSERVE_FIXTURES to the shared fixtures): skipping\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(real_mar_defaults_global_and_api),
      cmocka_unit_test(real_model_config_yaml_and_an_api_override),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
