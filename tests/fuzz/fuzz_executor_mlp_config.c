/* libFuzzer target: the executor's model-config.yaml reader and its mlp:
 * section on arbitrary bytes. Seeds: tests/fuzz/corpus/mlp_config/. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "executor/executor_internal.h"
#include "mserve/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *root = NULL;
  if (ms__executor_yaml_parse((const char *)data, size, "fuzz.yaml", &root) != MS_OK) return 0;
  const cJSON *mlp = cJSON_GetObjectItemCaseSensitive(root, "mlp");
  char **prefixes = NULL;
  size_t n = 0;
  int act = -1, output = -1, tf32 = -1;
  if (mlp && ms__executor_mlp_config(mlp, "fuzz.yaml", &prefixes, &n, &act, &output, &tf32) == MS_OK) {
    if (!n || act < 0 || act > MS__ACT_TANH || output < 0 || output > MS__OUTPUT_SOFTMAX || (tf32 != 0 && tf32 != 1))
      abort();
    for (size_t i = 0; i < n; i++) {
      if (!prefixes[i] || !prefixes[i][0]) abort();
      free(prefixes[i]);
    }
    free(prefixes);
  }
  cJSON_Delete(root);
  return 0;
}
