/* Conformance: the fuzz seeds of the executor's parsers carry their verdict
 * in their name — tests/fuzz/corpus/safetensors/ok_* must be accepted and
 * bad_* refused with MS_ECORRUPT (they are the reference crate's test
 * vectors and the rules it checks), and likewise for
 * tests/fuzz/corpus/mlp_config/. Argument: the corpus root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "executor/executor_internal.h"
#include "executor/safetensors.h"
#include "mserve/common.h"
#include "testutil.h"

static const char *g_root;

static int parse_safetensors(const char *path) {
  ms__st_file *f = NULL;
  int st = ms__executor_st_map(path, path, &f);
  ms__executor_st_free(f);
  return st;
}

static int parse_mlp_config(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return MS_EIO;
  char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  cJSON *root = NULL;
  int st = ms__executor_yaml_parse(buf, n, path, &root);
  const cJSON *mlp = root ? cJSON_GetObjectItemCaseSensitive(root, "mlp") : NULL;
  if (!st && !mlp) st = ms__fail(MS_ECORRUPT, "config '%s': no mlp: section", path); /* as model.c says */
  char **p = NULL;
  size_t count = 0;
  int a, o, t;
  if (!st) st = ms__executor_mlp_config(mlp, path, &p, &count, &a, &o, &t);
  for (size_t i = 0; i < count; i++) free(p[i]);
  free(p);
  cJSON_Delete(root);
  return st;
}

static void check_folder(const char *sub, int (*parse)(const char *)) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", g_root, sub);
  DIR *d = opendir(dir);
  assert_non_null(d);
  int ok = 0, bad = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    int st = parse(path);
    int want_ok = strncmp(e->d_name, "ok_", 3) == 0;
    assert_true(want_ok || strncmp(e->d_name, "bad_", 4) == 0); /* every seed says what it expects */
    if (want_ok ? st != MS_OK : st != MS_ECORRUPT)
      print_error("%s: %s (%s)\n", e->d_name, ms_status_name(st), st ? ms_errmsg() : "accepted");
    assert_int_equal(st, want_ok ? MS_OK : MS_ECORRUPT);
    if (!want_ok) assert_non_null(strstr(ms_errmsg(), e->d_name)); /* the message names the file */
    want_ok ? ok++ : bad++;
  }
  closedir(d);
  print_message("%s: %d accepted, %d refused, as named\n", sub, ok, bad);
  assert_true(ok > 0 && bad > 0);
}

static void test_safetensors_vectors(void **state) {
  (void)state;
  check_folder("safetensors", parse_safetensors);
}

static void test_mlp_config_vectors(void **state) {
  (void)state;
  check_folder("mlp_config", parse_mlp_config);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_safetensors_vectors),
                                     cmocka_unit_test(test_mlp_config_vectors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
