/* Unit tests: model folders ms_executor_open refuses, each generated here,
 * with the status and the message naming what is wrong: missing folder,
 * manifest, config or weights; a handler other than mserve:mlp; weights that
 * are not safetensors; paths leaving the folder; a bad mlp: section; missing
 * tensors, wrong ranks, empty or unsupported dims, unknown and unsupported
 * dtypes, bias lengths, shapes that do not chain (both layers named). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mserve.h"
#include "test_executor_gen.h"

static char *g_dir;
static int g_seq;

static int group_setup(void **state) {
  (void)state;
  g_dir = ms_test_tmpdir("executor-model");
  return g_dir ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  ms_test_rmtree(g_dir);
  free(g_dir);
  return 0;
}

static char *new_dir(void) {
  char name[32];
  snprintf(name, sizeof name, "m%d", g_seq++);
  char *d = ms_test_path(g_dir, name);
  mkdir(d, 0755);
  return d;
}

/* Open must fail with `status`, leave *out alone, and say each of the needles. */
static void expect_open(const char *dir, int status, const char *n1, const char *n2, const char *n3) {
  ms_executor *ex = (ms_executor *)(uintptr_t)0x1;
  int st = ms_executor_open(dir, "cpu", &ex);
  const char *m = ms_errmsg();
  if (st != status) print_error("%s: got %s: %s\n", dir, ms_status_name(st), m);
  assert_int_equal(st, status);
  assert_ptr_equal(ex, (ms_executor *)(uintptr_t)0x1);
  assert_int_equal(strncmp(m, "executor: ms_executor_open: ", 28), 0);
  const char *n[3] = {n1, n2, n3};
  for (int i = 0; i < 3; i++) {
    if (n[i] && !strstr(m, n[i])) print_error("message '%s' lacks '%s'\n", m, n[i]);
    if (n[i]) assert_non_null(strstr(m, n[i]));
  }
}

/* A folder with a 2 -> 3 -> 2 F32 network whose pieces the tests replace. */
static const float W1[6] = {1, 2, 3, 4, 5, 6}, B1[3] = {1, 1, 1}, W2[6] = {1, 0, 0, 1, 1, 1}, B2[2] = {0, 0};

static gen_st base_weights(void) {
  gen_st s;
  memset(&s, 0, sizeof s);
  static const uint64_t s32[2] = {3, 2}, s3[1] = {3}, s23[2] = {2, 3}, s2[1] = {2};
  gen_st_add(&s, "fc1.weight", "F32", 2, s32, W1, sizeof W1);
  gen_st_add(&s, "fc1.bias", "F32", 1, s3, B1, sizeof B1);
  gen_st_add(&s, "fc2.weight", "F32", 2, s23, W2, sizeof W2);
  gen_st_add(&s, "fc2.bias", "F32", 1, s2, B2, sizeof B2);
  return s;
}

static const char *const YAML_OK = "batchSize: 4\nmlp:\n  layers: [fc1, fc2]\n  activation: relu\n";

static char *folder(const char *handler, const char *serialized, const char *config, const char *yaml,
                    const gen_st *w) {
  char *d = new_dir();
  gen_manifest(d, handler, serialized, config);
  if (yaml) gen_write_str(d, config ? config : "model-config.yaml", yaml);
  if (w) {
    gen_buf b = gen_st_image(w);
    gen_write(d, serialized ? serialized : "model.safetensors", b.p, b.n);
    free(b.p);
  }
  return d;
}

static void test_base_folder_opens(void **state) {
  (void)state;
  gen_st w = base_weights();
  char *d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open(d, "cpu", &ex), MS_OK);
  const float x[2] = {1, -1};
  float y[2];
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_OK);
  /* h = relu(W1 x + 1) = relu(-1+1, -1+1, -1+1) = 0; y = 0 */
  assert_true(y[0] == 0 && y[1] == 0);
  ms_executor_close(ex);
  free(d);
}

static void test_missing_things(void **state) {
  (void)state;
  char *none = ms_test_path(g_dir, "does-not-exist");
  expect_open(none, MS_ENOTFOUND, "does-not-exist", NULL, NULL);
  free(none);
  char *empty = new_dir(); /* a folder without a manifest */
  expect_open(empty, MS_ENOTFOUND, "MAR-INF/MANIFEST.json", NULL, NULL);
  free(empty);
  gen_st w = base_weights();
  char *d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, NULL); /* no weights */
  expect_open(d, MS_ENOTFOUND, "model.safetensors", NULL, NULL);
  free(d);
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", NULL, &w); /* config named, absent */
  expect_open(d, MS_ENOTFOUND, "model-config.yaml", NULL, NULL);
  free(d);
  d = folder("mserve:mlp", NULL, "model-config.yaml", YAML_OK, NULL);
  expect_open(d, MS_ECORRUPT, "serializedFile", NULL, NULL);
  free(d);
  d = folder("mserve:mlp", "model.safetensors", NULL, NULL, &w);
  expect_open(d, MS_ECORRUPT, "configFile", NULL, NULL);
  free(d);
  /* a file, not a folder */
  char *f = ms_test_path(g_dir, "plain-file");
  assert_int_equal(ms_test_write_file(f, "x", 1), 0);
  expect_open(f, MS_EINVAL, "not a folder", NULL, NULL);
  free(f);
}

static void test_handler_and_format(void **state) {
  (void)state;
  gen_st w = base_weights();
  char *d = folder("image_classifier", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_EUNSUPPORTED, "handler 'image_classifier' is not mserve:mlp", "ms_executor_open_handler", NULL);
  free(d);
  d = folder(NULL, "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_EUNSUPPORTED, "handler '' is not mserve:mlp", NULL, NULL);
  free(d);
  d = folder("mserve:mlp", "model.pt", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_EUNSUPPORTED, "'model.pt' is not a .safetensors file", NULL, NULL);
  free(d);
  d = new_dir(); /* a manifest that is not JSON */
  gen_manifest(d, "mserve:mlp", "model.safetensors", "model-config.yaml");
  gen_write_str(d, "MAR-INF/MANIFEST.json", "{\"model\": ");
  expect_open(d, MS_ECORRUPT, "not valid JSON", NULL, NULL);
  free(d);
}

static void test_paths_stay_inside(void **state) {
  (void)state;
  gen_st w = base_weights();
  char *d = folder("mserve:mlp", "../model.safetensors", "model-config.yaml", YAML_OK, NULL);
  expect_open(d, MS_EUNSAFE, "leaves the model folder", NULL, NULL);
  free(d);
  d = folder("mserve:mlp", "/etc/model.safetensors", "model-config.yaml", YAML_OK, NULL);
  expect_open(d, MS_EUNSAFE, "absolute path", NULL, NULL);
  free(d);
  d = folder("mserve:mlp", "model.safetensors", "sub/../../c.yaml", NULL, &w);
  expect_open(d, MS_EUNSAFE, "configFile", NULL, NULL);
  free(d);
  /* a sub-folder is fine */
  d = new_dir();
  gen_manifest(d, "mserve:mlp", "weights/model.safetensors", "model-config.yaml");
  gen_write_str(d, "model-config.yaml", YAML_OK);
  char *sub = ms_test_path(d, "weights");
  mkdir(sub, 0755);
  gen_buf b = gen_st_image(&w);
  gen_write(sub, "model.safetensors", b.p, b.n);
  free(b.p);
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open(d, "cpu", &ex), MS_OK);
  ms_executor_close(ex);
  free(sub);
  free(d);
}

static void test_bad_config(void **state) {
  (void)state;
  gen_st w = base_weights();
  const char *cases[][3] = {
      {"batchSize: 4\n", "no mlp: section", NULL},
      {"mlp: [fc1, fc2]\n", "mlp is not a mapping", NULL},
      {"mlp:\n  activation: relu\n", "mlp has no layers", NULL},
      {"mlp:\n  layers: []\n", "not a non-empty sequence", NULL},
      {"mlp:\n  layers: fc1\n", "not a non-empty sequence", NULL},
      {"mlp:\n  layers: [fc1, [x]]\n", "mlp.layers[1]", NULL},
      {"mlp:\n  layers: [fc1, fc2]\n  activation: sigmoid\n", "'sigmoid' is not one of relu, gelu, tanh, none", NULL},
      {"mlp:\n  layers: [fc1, fc2]\n  output: logsoftmax\n", "'logsoftmax' is not one of none, softmax", NULL},
      {"mlp:\n  layers: [fc1, fc2]\n  allow_tf32: maybe\n", "allow_tf32 'maybe'", NULL},
      {"mlp:\n  layers: [fc1, fc2]\n  activaton: relu\n", "unknown key mlp.activaton", NULL},
      {"mlp:\n  layers: [fc1, fc2]\n  activation: [relu]\n", "mlp.activation is not a scalar", NULL},
      {"base: &a [fc1, fc2]\nmlp:\n  layers: *a\n", "anchors", "line 1"},
      {"mlp:\n  layers: !!seq [fc1, fc2]\n", "tags", NULL},
      {"mlp:\n  layers: [fc1\n", "config", NULL},
      {"mlp:\n  layers: [fc1]\nmlp:\n  layers: [fc2]\n", "duplicate key 'mlp'", NULL},
      {"- a\n- b\n", "top level is not a mapping", NULL},
      {"mlp: {layers: [fc1]}\n---\nmlp: {layers: [fc2]}\n", "only one YAML document", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", cases[i][0], &w);
    expect_open(d, MS_ECORRUPT, "model-config.yaml", cases[i][1], cases[i][2]);
    free(d);
  }
  /* allow_tf32 accepted; true/false spellings */
  char *d = folder("mserve:mlp", "model.safetensors", "model-config.yaml",
                   "mlp:\n  layers: [fc1, fc2]\n  allow_tf32: True\n  output: softmax\n", &w);
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open(d, "cpu", &ex), MS_OK);
  ms_executor_close(ex);
  free(d);
}

static void test_bad_tensors(void **state) {
  (void)state;
  static const unsigned char Z[256];
  /* missing weight */
  gen_st w = base_weights();
  w.t[2].name = "fc3.weight";
  char *d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_ECORRUPT, "tensor 'fc2.weight'", "is missing", "model.safetensors");
  free(d);
  /* non-chaining shapes: fc2 takes 4 inputs, fc1 gives 3 */
  w = base_weights();
  static const uint64_t s24[2] = {2, 4};
  w.t[2].shape[0] = s24[0], w.t[2].shape[1] = s24[1], w.t[2].data = Z, w.t[2].bytes = 32;
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_ECORRUPT, "layer 'fc1' (fc1.weight [3, 2] F32) gives 3 outputs",
              "layer 'fc2' (fc2.weight [2, 4] F32) takes 4 inputs", "do not chain");
  free(d);
  /* a 1-D weight */
  w = base_weights();
  w.t[0].ndim = 1, w.t[0].shape[0] = 6;
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_ECORRUPT, "fc1.weight [6] F32", "must have 2 dimensions", NULL);
  free(d);
  /* a bias of the wrong length */
  w = base_weights();
  w.t[1].shape[0] = 2, w.t[1].bytes = 8;
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_ECORRUPT, "'fc1.bias' has 2 entries", "'fc1.weight' has 3 outputs", NULL);
  free(d);
  /* an empty dimension */
  w = base_weights();
  w.t[0].shape[1] = 0, w.t[0].bytes = 0;
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_ECORRUPT, "fc1.weight [3, 0] F32", "empty dimension", NULL);
  free(d);
  /* a known dtype the executor does not run */
  w = base_weights();
  w.t[0].dtype = "I32";
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_EUNSUPPORTED, "fc1.weight [3, 2] I32", "dtype I32 is not run", NULL);
  free(d);
  w = base_weights();
  w.t[3].dtype = "F64", w.t[3].data = Z, w.t[3].bytes = 16;
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_EUNSUPPORTED, "fc2.bias [2] F64", NULL, NULL);
  free(d);
  /* an unknown dtype is a corrupt file */
  w = base_weights();
  w.t[3].dtype = "F24";
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, &w);
  expect_open(d, MS_ECORRUPT, "tensor 'fc2.bias'", "unknown dtype 'F24'", "model.safetensors");
  free(d);
  /* a corrupt weights file: the reader's message comes through */
  d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", YAML_OK, NULL);
  gen_write(d, "model.safetensors", "\x09\0\0\0\0\0\0\0{}", 10);
  expect_open(d, MS_ECORRUPT, "model.safetensors", "runs past the end", NULL);
  free(d);
}

/* A dimension over INT_MAX (BLAS takes int): a sparse file of 4.4 GB that is
 * valid safetensors, refused before anything is read. */
static void test_dimension_over_int_max(void **state) {
  (void)state;
  char *d = folder("mserve:mlp", "model.safetensors", "model-config.yaml", "mlp:\n  layers: [big]\n", NULL);
  const uint64_t cols = 2200000000ull, bytes = cols * 2;
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr, "{\"big.weight\":{\"dtype\":\"F16\",\"shape\":[1,%llu],\"data_offsets\":[0,%llu]}}",
                   (unsigned long long)cols, (unsigned long long)bytes);
  gen_buf b = gen_raw(hdr, (uint64_t)n, NULL, 0);
  char *p = ms_test_path(d, "model.safetensors");
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(truncate(p, (off_t)(b.n + bytes)), 0); /* sparse: nothing is written */
  expect_open(d, MS_EUNSUPPORTED, "big.weight [1, 2200000000] F16", "a dimension over 2147483647", NULL);
  free(b.p);
  free(p);
  free(d);
}
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base_folder_opens), cmocka_unit_test(test_missing_things),
      cmocka_unit_test(test_handler_and_format), cmocka_unit_test(test_paths_stay_inside),
      cmocka_unit_test(test_bad_config),        cmocka_unit_test(test_bad_tensors),
      cmocka_unit_test(test_dimension_over_int_max),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
