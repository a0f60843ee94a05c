/* Integration: the mserve-batch CLI end to end — exit codes 0/1/2, one JSON
 * document on every path, the batches a known replay must cut, settings from
 * a registered model (--db) with flags on top, and the SVG.
 * argv[1]: the CLI; argv[2]: the sample CSV. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "testutil.h"

static const char *cli;
static int failures;
static char out[1 << 20], err[8192];

#define CHECK(cond, ...)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);    \
      fprintf(stderr, __VA_ARGS__);                                               \
      fputc('\n', stderr);                                                        \
      failures++;                                                                 \
    }                                                                             \
  } while (0)

static void slurp_fd(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t k;
  while (len + 1 < cap && (k = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)k;
  buf[len] = '\0';
  close(fd);
}

/* Run the CLI with args (NULL-terminated); stdout in out, stderr in err
 * (written to files, so neither pipe can fill up). */
static int run(const char *const *args) {
  char *dir = ms_test_tmpdir("batch-cli-run");
  char *o = ms_test_path(dir, "out"), *e = ms_test_path(dir, "err");
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(o, "w", stdout) || !freopen(e, "w", stderr)) _exit(99);
    const char *argv[40] = {cli};
    int n = 1;
    for (; args[n - 1] && n < 39; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    execv(cli, (char *const *)argv);
    _exit(98);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  FILE *f = fopen(o, "r");
  slurp_fd(f ? fileno(f) : -1, out, sizeof out);
  f = fopen(e, "r");
  slurp_fd(f ? fileno(f) : -1, err, sizeof err);
  ms_test_rmtree(dir);
  free(o), free(e), free(dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* stdout must be exactly one JSON object (and a newline). */
static cJSON *one_json(void) {
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithOpts(out, &end, 0);
  CHECK(j && cJSON_IsObject(j), "not one JSON object: %.300s", out);
  if (end) {
    while (*end == '\n' || *end == ' ') end++;
    CHECK(*end == '\0', "more after the JSON document: %.200s", end);
  }
  return j;
}

static int num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItem(o, key);
  return cJSON_IsNumber(v) ? v->valueint : -1;
}

static const char *str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItem(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static void expect_failure_envelope(const char *code) {
  cJSON *j = one_json();
  if (!j) return;
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")), "ok is not false: %.200s", out);
  CHECK(!strcmp(str(j, "code"), code), "code %s, expected %s", str(j, "code"), code);
  CHECK(*str(j, "message"), "no message: %.200s", out);
  cJSON_Delete(j);
}

static char *write_csv(const char *dir, const char *name, const char *text) {
  char *p = ms_test_path(dir, name);
  if (ms_test_write_file(p, text, strlen(text))) {
    fprintf(stderr, "cannot write %s\n", p);
    exit(1);
  }
  return p;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: integration_batch_cli MSERVE_BATCH SAMPLE.csv\n");
    return 2;
  }
  cli = argv[1];
  const char *sample = argv[2];
  char *dir = ms_test_tmpdir("batch-cli");

  CHECK(run((const char *[]){"--help", NULL}) == 0, "--help: %s", err);
  CHECK(strstr(out, "example:") && strstr(out, "exit status"), "--help text: %.200s", out);
  CHECK(run((const char *[]){"--version", NULL}) == 0, "--version");
  CHECK(strstr(out, "mserve-batch (libmserve "), "--version: %s", out);

  /* a known replay: batch 4, delay 5 ms; three requests trickle in and go at
   * the first one's delay end; four at once go at once */
  char *small = write_csv(dir, "small.csv", "time_us,items\n0,1\n1000,1\n2000,1\n10000,1\n10000,1\n10000,1\n10000,1\n");
  CHECK(run((const char *[]){"--batch-size", "4", "--max-batch-delay", "5", "--json", small, NULL}) == 0, "%s", err);
  cJSON *j = one_json();
  if (j) {
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")), "ok: %.200s", out);
    const cJSON *b = cJSON_GetObjectItem(j, "batches");
    CHECK(cJSON_GetArraySize(b) == 2, "batches: %d", cJSON_GetArraySize(b));
    CHECK(num(cJSON_GetArrayItem(b, 0), "at_us") == 5000, "first at %d", num(cJSON_GetArrayItem(b, 0), "at_us"));
    CHECK(num(cJSON_GetArrayItem(b, 0), "items") == 3, "first items");
    CHECK(num(cJSON_GetArrayItem(b, 1), "at_us") == 10000, "second at");
    CHECK(num(cJSON_GetArrayItem(b, 1), "items") == 4, "second items");
    const cJSON *w = cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "wait_us");
    CHECK(cJSON_GetArraySize(w) == 3 && cJSON_GetArrayItem(w, 0)->valueint == 5000 &&
              cJSON_GetArrayItem(w, 2)->valueint == 3000,
          "waits of the first batch");
    const cJSON *st = cJSON_GetObjectItem(j, "settings");
    CHECK(!strcmp(str(cJSON_GetObjectItem(st, "batch_size"), "source"), "flag"), "batch_size source");
    CHECK(!strcmp(str(cJSON_GetObjectItem(st, "max_queue_size"), "source"), "default"), "max_queue source");
    cJSON_Delete(j);
  }
  /* the same as text */
  CHECK(run((const char *[]){"--batch-size", "4", "--max-batch-delay", "5", small, NULL}) == 0, "%s", err);
  CHECK(strstr(out, "summary: 7 requests: 7 ran in 2 batches"), "text: %.400s", out);

  /* a queue limit: refused requests are a negative answer (1) */
  CHECK(run((const char *[]){"--batch-size", "8", "--max-batch-delay", "50", "--max-queue", "2", "--json", small, NULL}) == 1,
        "%s", err);
  expect_failure_envelope("MS_EFULL");
  /* a timeout shorter than the delay */
  CHECK(run((const char *[]){small, "--json", "--batch-size", "8", "--max-batch-delay", "50", "--timeout", "1", NULL}) == 1,
        "%s", err);
  expect_failure_envelope("MS_ETIMEDOUT");

  /* usage errors and bad input (2), in JSON too */
  char *back = write_csv(dir, "back.csv", "0,1\n500,1\n400,1\n");
  CHECK(run((const char *[]){"--json", back, NULL}) == 2, "backwards");
  expect_failure_envelope("MS_EINVAL");
  CHECK(strstr(err, "back.csv:3: time goes backwards"), "message: %s", err);
  char *big = write_csv(dir, "big.csv", "0,9\n");
  CHECK(run((const char *[]){"--batch-size", "8", "--json", big, NULL}) == 2, "items over the batch size");
  expect_failure_envelope("MS_EINVAL");
  CHECK(run((const char *[]){"--bogus", "--json", small, NULL}) == 2, "unknown option");
  expect_failure_envelope("MS_EINVAL");
  CHECK(run((const char *[]){"--max-batch-delay", "-3", small, NULL}) == 2, "negative delay");
  CHECK(run((const char *[]){"--json", NULL}) == 2, "no CSV");
  expect_failure_envelope("MS_EINVAL");
  CHECK(run((const char *[]){"--json", "/nonexistent/arrivals.csv", NULL}) == 2, "missing CSV");
  expect_failure_envelope("MS_EINVAL");

  /* the sample, with a plot */
  char *svg = ms_test_path(dir, "plot.svg");
  int rc = run((const char *[]){"--batch-size", "8", "--max-batch-delay", "5", "--preferred", "4,8", "--plot", svg, sample, NULL});
  CHECK(rc == 0 || rc == 1, "sample: %d %s", rc, err);
  CHECK(strstr(out, "plot: wrote"), "%.200s", out);
  FILE *f = fopen(svg, "r");
  CHECK(f != NULL, "no SVG");
  if (f) {
    static char s[1 << 20];
    size_t n = fread(s, 1, sizeof s - 1, f);
    s[n] = '\0';
    fclose(f);
    CHECK(!strncmp(s, "<?xml", 5) && strstr(s, "</svg>") && strstr(s, "<circle"), "SVG content");
  }

  /* settings from a registered model: a folder archive whose
   * model-config.yaml sets batchSize 4 and maxBatchDelay 5 (ms) */
  char *model = ms_test_path(dir, "m"), *marinf = ms_test_path(model, "MAR-INF");
  mkdir(model, 0755);
  mkdir(marinf, 0755);
  free(write_csv(marinf, "MANIFEST.json",
                 "{\"runtime\":\"python\",\"model\":{\"modelName\":\"m\",\"handler\":\"h.py\",\"modelVersion\":\"1.0\","
                 "\"configFile\":\"model-config.yaml\"}}"));
  free(write_csv(model, "model-config.yaml", "batchSize: 4\nmaxBatchDelay: 5\n"));
  char *db = ms_test_path(dir, "r.db");
  ms_store *store = NULL;
  ms_registry *reg = NULL;
  if (ms_store_open(db, 0, &store) || ms_registry_open(store, NULL, &reg) || ms_registry_register(reg, model, NULL, NULL)) {
    fprintf(stderr, "registry setup: %s\n", ms_errmsg());
    return 1;
  }
  ms_registry_close(reg);
  ms_store_close(store);
  CHECK(run((const char *[]){"--db", db, "--model", "m", "--json", small, NULL}) == 0, "%s", err);
  j = one_json();
  if (j) {
    const cJSON *st = cJSON_GetObjectItem(j, "settings");
    CHECK(num(cJSON_GetObjectItem(st, "batch_size"), "value") == 4, "batch_size from the archive");
    CHECK(!strcmp(str(cJSON_GetObjectItem(st, "batch_size"), "source"), "archive"), "source archive");
    CHECK(num(cJSON_GetObjectItem(st, "max_batch_delay_us"), "value") == 5000, "delay from the archive");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "batches")) == 2, "same two batches");
    cJSON_Delete(j);
  }
  CHECK(run((const char *[]){"--json", "--max-batch-delay", "1", small, "--db", db, "--model", "m", NULL}) == 0, "%s", err);
  j = one_json();
  if (j) {
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "settings"), "max_batch_delay_us");
    CHECK(num(d, "value") == 1000 && !strcmp(str(d, "source"), "flag"), "the flag wins over the archive");
    cJSON_Delete(j);
  }
  CHECK(run((const char *[]){"--db", db, "--model", "nope", "--json", small, NULL}) == 1, "unknown model: %s", err);
  expect_failure_envelope("MS_ENOTFOUND");
  CHECK(run((const char *[]){"--db", db, small, NULL}) == 2, "--db without --model");

  ms_test_rmtree(dir);
  free(dir), free(small), free(back), free(big), free(svg), free(model), free(marinf), free(db);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  return failures ? 1 : 0;
}
