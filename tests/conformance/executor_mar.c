/* Conformance: a .mar built the way TorchServe users build one, end to end.
 *
 * The weights are written in the layout PyTorch's safetensors.torch.save_file
 * produces (tensors sorted by dtype then name, contiguous from 0, header
 * padded with spaces to 8 bytes, {"format": "pt"} metadata), by a writer in
 * this file; the archive is a deflated zip with MAR-INF/MANIFEST.json
 * written last, as torch-model-archiver does, plus model-config.yaml and an
 * extra file. It is registered with the registry, materialized, opened on
 * "cpu" and "auto", run, and the outputs are compared with a reference
 * computed here in double precision from the same numbers (nothing of the
 * library is used to compute it; BF16 rounding is done here too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mserve.h"
#include "testutil.h"

/* ---- an MLP and its reference -------------------------------------------------------- */

enum { N_LAYERS = 3 };
static const int DIMS[N_LAYERS + 1] = {20, 32, 16, 5};

typedef struct net {
  int bf16;
  double *w[N_LAYERS], *b[N_LAYERS];       /* the stored values */
  unsigned char *wraw[N_LAYERS], *braw[N_LAYERS];
} net;

static uint32_t rng = 2463534242u;
static double uniform(void) {
  rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
  return (double)rng / 4294967296.0 * 2.0 - 1.0;
}

/* F32 bits of v, or BF16 bits rounded to nearest even (computed here). */
static double store(int bf16, double v, unsigned char *dst) {
  float f = (float)v;
  uint32_t u;
  memcpy(&u, &f, 4);
  if (!bf16) {
    for (int i = 0; i < 4; i++) dst[i] = (unsigned char)(u >> (8 * i));
    return f;
  }
  uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  dst[0] = (unsigned char)(r >> 16), dst[1] = (unsigned char)(r >> 24);
  float g;
  memcpy(&g, &r, 4);
  return g;
}

static void make_net(net *n, int bf16) {
  memset(n, 0, sizeof *n);
  n->bf16 = bf16;
  size_t es = bf16 ? 2 : 4;
  for (int k = 0; k < N_LAYERS; k++) {
    size_t in = (size_t)DIMS[k], out = (size_t)DIMS[k + 1];
    n->w[k] = malloc(in * out * sizeof(double));
    n->b[k] = malloc(out * sizeof(double));
    n->wraw[k] = malloc(in * out * es);
    n->braw[k] = malloc(out * es);
    for (size_t i = 0; i < in * out; i++) n->w[k][i] = store(bf16, uniform() * 2 / sqrt((double)in), n->wraw[k] + es * i);
    for (size_t i = 0; i < out; i++) n->b[k][i] = store(bf16, uniform() * 0.5, n->braw[k] + es * i);
  }
}

static void free_net(net *n) {
  for (int k = 0; k < N_LAYERS; k++) free(n->w[k]), free(n->b[k]), free(n->wraw[k]), free(n->braw[k]);
}

/* gelu between layers, softmax at the end */
static void reference(const net *n, const float *x, int rows, double *y) {
  for (int r = 0; r < rows; r++) {
    double a[64], h[64];
    for (int i = 0; i < DIMS[0]; i++) a[i] = x[r * DIMS[0] + i];
    for (int k = 0; k < N_LAYERS; k++) {
      for (int j = 0; j < DIMS[k + 1]; j++) {
        double s = n->b[k][j];
        for (int i = 0; i < DIMS[k]; i++) s += n->w[k][j * DIMS[k] + i] * a[i];
        h[j] = k + 1 < N_LAYERS ? 0.5 * s * erfc(-s / sqrt(2.0)) : s;
      }
      memcpy(a, h, sizeof(double) * (size_t)DIMS[k + 1]);
    }
    double m = a[0], sum = 0;
    for (int j = 0; j < DIMS[N_LAYERS]; j++) m = fmax(m, a[j]);
    for (int j = 0; j < DIMS[N_LAYERS]; j++) sum += exp(a[j] - m);
    for (int j = 0; j < DIMS[N_LAYERS]; j++) y[r * DIMS[N_LAYERS] + j] = exp(a[j] - m) / sum;
  }
}

/* ---- safetensors as save_file writes it ------------------------------------------------- */

static size_t weights_image(const net *n, unsigned char **out) {
  const char *dt = n->bf16 ? "BF16" : "F32";
  size_t es = n->bf16 ? 2 : 4;
  /* one dtype: sorted by name, which for fc1..fc3 is bias before weight */
  char hdr[4096];
  size_t hl = (size_t)snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"format\":\"pt\"}");
  size_t off = 0;
  for (int k = 0; k < N_LAYERS; k++) {
    size_t bb = (size_t)DIMS[k + 1] * es, wb = (size_t)DIMS[k + 1] * (size_t)DIMS[k] * es;
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl,
                           ",\"fc%d.bias\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}"
                           ",\"fc%d.weight\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                           k + 1, dt, DIMS[k + 1], off, off + bb, k + 1, dt, DIMS[k + 1], DIMS[k], off + bb,
                           off + bb + wb);
    off += bb + wb;
  }
  hdr[hl++] = '}';
  while (hl % 8) hdr[hl++] = ' ';
  unsigned char *b = malloc(8 + hl + off);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(b + 8, hdr, hl);
  size_t p = 8 + hl;
  for (int k = 0; k < N_LAYERS; k++) {
    size_t bb = (size_t)DIMS[k + 1] * es, wb = (size_t)DIMS[k + 1] * (size_t)DIMS[k] * es;
    memcpy(b + p, n->braw[k], bb), p += bb;
    memcpy(b + p, n->wraw[k], wb), p += wb;
  }
  *out = b;
  return p;
}

/* ---- the archive ------------------------------------------------------------------------------ */

static void add_entry(struct archive *a, const char *name, const void *data, size_t len) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)len);
  archive_entry_set_mtime(e, 1700000000, 0);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
  archive_entry_free(e);
}

static void write_mar(const char *path, const net *n) {
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
  assert_int_equal(archive_write_set_options(a, "zip:compression=deflate"), ARCHIVE_OK);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  unsigned char *w = NULL;
  size_t wl = weights_image(n, &w);
  add_entry(a, "model.safetensors", w, wl);
  free(w);
  const char *yaml = "# TorchServe model-config.yaml\nminWorkers: 1\nmaxWorkers: 2\nbatchSize: 8\nmaxBatchDelay: 5\n"
                     "responseTimeout: 30\nmlp:\n  layers: [fc1, fc2, fc3]\n  activation: gelu\n  output: softmax\n";
  add_entry(a, "model-config.yaml", yaml, strlen(yaml));
  const char *labels = "{\"0\": \"a\", \"1\": \"b\", \"2\": \"c\", \"3\": \"d\", \"4\": \"e\"}";
  add_entry(a, "index_to_name.json", labels, strlen(labels));
  const char *manifest =
      "{\n  \"createdOn\": \"14/11/2023 22:13:20\",\n  \"runtime\": \"python\",\n  \"model\": {\n"
      "    \"modelName\": \"tiny_mlp\",\n    \"serializedFile\": \"model.safetensors\",\n"
      "    \"handler\": \"mserve:mlp\",\n    \"modelVersion\": \"2.0\",\n    \"configFile\": \"model-config.yaml\"\n"
      "  },\n  \"archiverVersion\": \"0.9.0\"\n}";
  add_entry(a, "MAR-INF/MANIFEST.json", manifest, strlen(manifest)); /* last, as torch-model-archiver */
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

/* ---- the test ------------------------------------------------------------------------------------- */

static void run_case(int bf16) {
  char *dir = ms_test_tmpdir("executor-mar");
  char *mar = ms_test_path(dir, "tiny_mlp.mar"), *root = ms_test_path(dir, "models");
  mkdir(root, 0755);
  net n;
  make_net(&n, bf16);
  write_mar(mar, &n);

  ms_store *s = NULL;
  ms_registry *r = NULL;
  ms_model *m = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  int st = ms_registry_register(r, mar, NULL, &m);
  if (st) print_error("register: %s %s\n", ms_status_name(st), ms_errmsg());
  assert_int_equal(st, MS_OK);
  assert_string_equal(ms_model_name(m), "tiny_mlp");
  assert_string_equal(ms_model_version(m), "2.0");
  assert_string_equal(ms_model_handler(m), "mserve:mlp");
  int64_t bs = 0;
  ms_config_source src;
  assert_int_equal(ms_model_get_int(m, "batch_size", &bs, &src), MS_OK);
  assert_int_equal(bs, 8);
  assert_int_equal(src, MS_SRC_ARCHIVE);
  char path[4096];
  st = ms_registry_materialize(r, m, root, path, sizeof path);
  if (st) print_error("materialize: %s %s\n", ms_status_name(st), ms_errmsg());
  assert_int_equal(st, MS_OK);

  const char *devices[2] = {"cpu", "auto"};
  for (int d = 0; d < 2; d++) {
    ms_executor *ex = NULL;
    st = ms_executor_open(path, devices[d], &ex);
    if (st) print_error("open: %s %s\n", ms_status_name(st), ms_errmsg());
    assert_int_equal(st, MS_OK);
    int64_t in = 0, out = 0;
    assert_int_equal(ms_executor_dims(ex, &in, &out), MS_OK);
    assert_true(in == DIMS[0] && out == DIMS[N_LAYERS]);
    assert_int_equal(ms_executor_set_max_batch(ex, bs), MS_OK); /* the archive's batch size */
    enum { ROWS = 8 };
    float x[ROWS * 20], y[ROWS * 5];
    for (int i = 0; i < ROWS * 20; i++) x[i] = (float)(uniform() * 3);
    double ref[ROWS * 5];
    reference(&n, x, ROWS, ref);
    assert_int_equal(ms_executor_run(ex, x, ROWS, y), MS_OK);
    /* CPU: 1e-5 of each row's max, for F32 and (converted exactly) BF16; a GPU in
     * auto rounds BF16 activations: 4 x L x 2^-8 */
    int gpu = strncmp(ms_executor_device(ex), "cuda", 4) == 0;
    double tol = (gpu && bf16) ? 4.0 * N_LAYERS / 256.0 : 1e-5;
    for (int rr = 0; rr < ROWS; rr++) {
      double mx = 0, sum = 0;
      for (int j = 0; j < 5; j++) mx = fmax(mx, fabs(ref[rr * 5 + j]));
      for (int j = 0; j < 5; j++) {
        double e = fabs(y[rr * 5 + j] - ref[rr * 5 + j]);
        if (e > tol * mx) print_error("%s row %d col %d: %.9g vs %.9g\n", devices[d], rr, j, y[rr * 5 + j], ref[rr * 5 + j]);
        assert_true(e <= tol * mx);
        sum += y[rr * 5 + j];
      }
      assert_true(fabs(sum - 1.0) < 1e-5);
    }
    print_message("%s weights on %s: ok\n", bf16 ? "BF16" : "F32", ms_executor_device(ex));
    ms_executor_close(ex);
  }
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  free_net(&n);
  ms_test_rmtree(dir);
  free(dir);
  free(mar);
  free(root);
}

static void test_mar_f32(void **state) {
  (void)state;
  run_case(0);
}

static void test_mar_bf16(void **state) {
  (void)state;
  run_case(1);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_mar_f32), cmocka_unit_test(test_mar_bf16)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
