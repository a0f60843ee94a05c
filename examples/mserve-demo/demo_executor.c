/* Demo: the batch executor. A small MLP archive (a folder: manifest,
 * model-config.yaml with an mlp: section, safetensors weights written by a
 * few lines below) is opened on "auto" — the GPU when there is one, else
 * the CPU —, a batch of four rows runs through it, and the device and the
 * class probabilities are printed. Asking for "cuda" explicitly shows the
 * reason when no GPU can be used. */
#include <errno.h>
#include <mserve/executor.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "demo.h"

enum { IN = 4, HID = 8, OUT = 3 };

static int write_file(const char *dir, const char *name, const void *data, size_t len) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, len, f);
  return fclose(f) == 0 && w == len ? 0 : -1;
}

/* safetensors: u64 header length, JSON header (padded to 8), raw F32 data. */
static int write_weights(const char *dir) {
  float w1[HID * IN], b1[HID], w2[OUT * HID], b2[OUT];
  for (int j = 0; j < HID; j++) {
    for (int i = 0; i < IN; i++) w1[j * IN + i] = (float)(((j * 7 + i * 3) % 11) - 5) / 5.0f;
    b1[j] = 0.1f * (float)(j % 3);
  }
  for (int k = 0; k < OUT; k++) {
    for (int j = 0; j < HID; j++) w2[k * HID + j] = (float)(((k * 5 + j * 2) % 7) - 3) / 3.0f;
    b2[k] = 0.0f;
  }
  char hdr[512];
  int n = snprintf(hdr, sizeof hdr,
                   "{\"__metadata__\":{\"format\":\"pt\"},"
                   "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[0,%zu]},"
                   "\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]},"
                   "\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]},"
                   "\"fc2.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}}",
                   HID, sizeof b1, HID, IN, sizeof b1, sizeof b1 + sizeof w1, OUT, sizeof b1 + sizeof w1,
                   sizeof b1 + sizeof w1 + sizeof b2, OUT, HID, sizeof b1 + sizeof w1 + sizeof b2,
                   sizeof b1 + sizeof w1 + sizeof b2 + sizeof w2);
  while (n % 8) hdr[n++] = ' ';
  size_t total = 8 + (size_t)n + sizeof b1 + sizeof w1 + sizeof b2 + sizeof w2;
  unsigned char *buf = malloc(total);
  if (!buf) return -1;
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
  size_t p = 8;
  memcpy(buf + p, hdr, (size_t)n), p += (size_t)n;
  memcpy(buf + p, b1, sizeof b1), p += sizeof b1;
  memcpy(buf + p, w1, sizeof w1), p += sizeof w1;
  memcpy(buf + p, b2, sizeof b2), p += sizeof b2;
  memcpy(buf + p, w2, sizeof w2);
  int rc = write_file(dir, "model.safetensors", buf, total);
  free(buf);
  return rc;
}

static int ensure_dir(const char *dir) { return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1; }

static int write_model(const char *dir) {
  char mar[4200];
  snprintf(mar, sizeof mar, "%s/MAR-INF", dir);
  if (ensure_dir(dir) || ensure_dir(mar)) return -1;
  const char *manifest = "{\"runtime\": \"python\", \"model\": {\"modelName\": \"iris_mlp\", \"modelVersion\": \"1.0\", "
                         "\"handler\": \"mserve:mlp\", \"serializedFile\": \"model.safetensors\", "
                         "\"configFile\": \"model-config.yaml\"}}\n";
  const char *config = "batchSize: 4\nmlp:\n  layers: [fc1, fc2]\n  activation: relu\n  output: softmax\n";
  if (write_file(dir, "MAR-INF/MANIFEST.json", manifest, strlen(manifest)) ||
      write_file(dir, "model-config.yaml", config, strlen(config)))
    return -1;
  return write_weights(dir);
}

int demo_executor(const char *workdir) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%.4000s/iris_mlp", workdir);
  if (write_model(dir)) {
    return demo_fail_msg("the executor", "cannot write the model folder %s", dir);
  }
  ms_executor *ex = NULL;
  int st = ms_executor_open(dir, "auto", &ex);
  if (st) return demo_fail("ms_executor_open", st);
  int64_t in = 0, out = 0;
  ms_executor_dims(ex, &in, &out);
  demo_printf("[executor] opened %s (%lld -> %d -> %lld, relu, softmax) on \"auto\": %s\n", "iris_mlp", (long long)in, HID,
         (long long)out, ms_executor_device(ex));
  const float x[4 * IN] = {5.1f, 3.5f, 1.4f, 0.2f, 6.2f, 2.9f, 4.3f, 1.3f,
                           7.7f, 3.0f, 6.1f, 2.3f, 0.0f, 0.0f, 0.0f, 0.0f};
  float y[4 * OUT];
  if ((st = ms_executor_run(ex, x, 4, y))) {
    ms_executor_close(ex);
    return demo_fail("ms_executor_run", st);
  }
  for (int r = 0; r < 4; r++)
    demo_printf("[executor] row %d: [%.1f %.1f %.1f %.1f] -> p = %.4f %.4f %.4f\n", r, x[r * IN], x[r * IN + 1], x[r * IN + 2],
           x[r * IN + 3], y[r * OUT], y[r * OUT + 1], y[r * OUT + 2]);
  st = ms_executor_run(ex, x, 0, y);
  demo_printf("[executor] a batch of 0 rows: %s (%s)\n", ms_status_name(st), ms_errmsg());
  ms_executor_close(ex);
  if (!ms_executor_cuda_available(0)) {
    ms_executor *gpu = NULL;
    st = ms_executor_open(dir, "cuda", &gpu);
    demo_printf("[executor] \"cuda\" here: %s: %s\n", ms_status_name(st), ms_errmsg());
    ms_executor_close(gpu);
  }
  return 0;
}
