/* mserve-server: an inference server built on libmserve's public API.
 *
 *   mserve-server --model-store DIR [--db FILE] [--config FILE] [options]
 *
 * Boots stateless from a model store (registry scan -> materialize ->
 * executors -> batchers), serves TorchServe's inference API and KServe's v2
 * on the inference address, the management API on its own (loopback)
 * address and Prometheus text on the metrics address. Exit statuses as
 * every libmserve tool: 0 after a clean stop (SIGTERM/SIGINT), 2 when it
 * cannot start (usage, store, config, an address in use). */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cli.h"
#include "admission.h"
#include "autoscale.h"
#include "dispatch.h"
#include "http.h"
#include "loop.h"
#include "models.h"
#include "workers.h"

static const char usage_text[] =
    "usage: mserve-server --model-store DIR [--db FILE] [--config FILE] [options]\n"
    "\n"
    "An inference server on libmserve: boots from a model store folder with no API\n"
    "call (every .mar, .tar.gz and model folder registered, materialized, one executor\n"
    "per worker, one batcher per model version), and serves:\n"
    "  inference   GET /ping, POST /predictions/{model}[/{version}] (TorchServe);\n"
    "              GET /v2, /v2/health/live|ready, /v2/models/{m}[/versions/{v}][/ready],\n"
    "              POST .../infer (KServe Open Inference Protocol v2, FP32)\n"
    "  management  GET /models, GET /models/{m}[/{v}|/all], POST /models?url=NAME.mar\n"
    "              [&batch_size=&max_batch_delay=&initial_workers=], PUT /models/{m}[/{v}]\n"
    "              ?min_worker=&max_worker=[&batch_size=&max_batch_delay=], PUT\n"
    "              /models/{m}/{v}/set-default, DELETE /models/{m}/{v}\n"
    "  metrics     GET /metrics (Prometheus text)\n"
    "\n"
    "options:\n"
    "  --model-store DIR          the model store (or model_store= of --config)\n"
    "  --db FILE                  keep registrations, runtime overrides, default versions\n"
    "                             and worker counts in FILE: a restart comes back to them;\n"
    "                             default: an in-memory store (nothing persists)\n"
    "  --config FILE              TorchServe's config.properties (or the registry's JSON):\n"
    "                             per-model settings, and the server keys inference_address,\n"
    "                             management_address, metrics_address, model_store,\n"
    "                             max_request_size when not given here\n"
    "  --inference-address A      HOST:PORT or [IPV6]:PORT (default 127.0.0.1:8080; port 0: any free one)\n"
    "  --management-address A     default 127.0.0.1:8081 (keep it on loopback)\n"
    "  --metrics-address A        default 127.0.0.1:8082\n"
    "  --device D                 auto (default), cpu, cuda or cuda:N, for models whose\n"
    "                             settings name no device\n"
    "  --limits FILE              per-key concurrency limits (JSON):\n"
    "                               {\"default_limit\": 4, \"anonymous_limit\": -1,\n"
    "                                \"keys\": {\"KEY\": {\"limit\": 2, \"scopes\": [\"team:red\"]}},\n"
    "                                \"scopes\": {\"team:red\": 3}}\n"
    "                             a request's key: Authorization: Bearer KEY, or X-Api-Key;\n"
    "                             over a limit: 429 with the scope, its limit and its count\n"
    "  --rules FILE               autoscaling rules (mserve-autoscale's JSON; endpoint names\n"
    "                             NAME/VERSION or NAME; metrics server/queue_length,\n"
    "                             server/oldest_wait_ms, server/busy); default: made from\n"
    "                             each model's min_workers, max_workers and batch_size\n"
    "  --max-request-size BYTES   larger bodies are answered 413 (default 6553500)\n"
    "  --extract-dir DIR          where archives are extracted (default FILE.models next to\n"
    "                             --db, else a temporary folder removed at exit)\n"
    "  --blas-threads N           OpenBLAS threads per executor run (default 1; 0: OpenBLAS's)\n"
    "  --grace SECONDS            SIGTERM: how long running batches may take (default 30)\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop accepting, answer queued requests 503, let running\n"
    "batches finish, exit 0; SIGHUP rescans the model store.\n"
    "Once listening it prints one line (with --json, one JSON document) naming the\n"
    "three addresses; logs go to stderr.\n"
    "\n"
    "example:\n"
    "  mserve-server --model-store model-store --db server.db\n"
    "  curl -s -X POST http://127.0.0.1:8080/predictions/mnist -d '{\"data\": [[0.1, 0.2, ...]]}'\n";

static int g_log_level = MS_LOG_INFO;

void srv_log(int level, const char *fmt, ...) {
  if (level < g_log_level) return;
  static const char *const names[] = {"debug", "info", "warning", "error"};
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "mserve-server: %s: %s\n", names[level >= 0 && level <= 3 ? level : 3], line);
}

static void lib_log(int level, const char *message, void *user) {
  (void)user;
  srv_log(level, "libmserve: %s", message);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* A server-wide key of --config, when the command line did not give it. */
static const char *global(srv *s, const char *key) {
  const char *v = NULL;
  if (!s->o.config || ms_registry_get_global(s->reg, key, &v) != MS_OK || !v || !*v) return NULL;
  return v;
}

static int setup(srv *s, cli_ctx *c, int *made_tmp) {
  char err[1400];
  int st = ms_store_open(s->o.db ? s->o.db : ":memory:", 0, &s->store);
  if (st) return cli_fail_setup(c, st);
  st = ms_registry_open(s->store, s->o.config, &s->reg);
  if (st) return cli_fail_setup(c, st);
  static const char *const keys[3] = {"inference_address", "management_address", "metrics_address"};
  for (int k = 0; k < 3; k++) {
    const char *v = global(s, keys[k]);
    if (v && !s->o.addr_set[k] && srv_addr_parse(v, &s->o.addr[k], err, sizeof err))
      return cli_fail(c, CLI_EXIT_FAIL, "MS_ECORRUPT", "%s: %s: %s", s->o.config, keys[k], err);
  }
  const char *mrs = global(s, "max_request_size");
  if (mrs && !s->o.max_request_size_set) {
    char *end = NULL;
    long long v = strtoll(mrs, &end, 10);
    if (!end || *end || v < 1)
      return cli_fail(c, CLI_EXIT_FAIL, "MS_ECORRUPT", "%s: max_request_size: '%s' is not a byte count", s->o.config,
                      mrs);
    s->o.max_request_size = v;
  }
  if (!s->o.model_store) s->o.model_store = global(s, "model_store");
  if (!s->o.model_store) return cli_usage(c, "--model-store DIR is required (or model_store= in --config)");
  if (!realpath(s->o.model_store, s->store_real))
    return cli_fail(c, CLI_EXIT_FAIL, "MS_ENOTFOUND", "model store '%s': %s", s->o.model_store, strerror(errno));
  if (s->o.extract_dir) snprintf(s->extract_dir, sizeof s->extract_dir, "%s", s->o.extract_dir);
  else if (s->o.db) snprintf(s->extract_dir, sizeof s->extract_dir, "%s.models", s->o.db);
  else {
    const char *tmp = getenv("TMPDIR");
    snprintf(s->extract_dir, sizeof s->extract_dir, "%s/mserve-server-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    if (!mkdtemp(s->extract_dir))
      return cli_fail(c, CLI_EXIT_FAIL, "MS_EIO", "cannot create a folder to extract into: %s", strerror(errno));
    *made_tmp = 1;
  }
  if (loop_setup(s, err, sizeof err)) return cli_fail(c, CLI_EXIT_FAIL, "MS_EIO", "%s", err);
  if ((st = admission_setup(s, err, sizeof err))) return cli_fail(c, CLI_EXIT_FAIL, ms_status_name(st), "%s", err);
  if ((st = scale_setup(s, err, sizeof err))) return cli_fail(c, CLI_EXIT_FAIL, ms_status_name(st), "%s", err);
  if ((st = models_boot(s, err, sizeof err))) return cli_fail(c, CLI_EXIT_FAIL, ms_status_name(st), "%s", err);
  /* listening once the executors are open: "ready" means ready */
  if (dsp_wait_started(s, 120 * 1000000LL))
    srv_log(MS_LOG_WARN, "some workers are still opening their executors after 120 s; serving anyway");
  if ((st = http_start(s, err, sizeof err))) return cli_fail(c, CLI_EXIT_FAIL, ms_status_name(st), "%s", err);
  return 0;
}

static void ready(srv *s, cli_ctx *c) {
  static const char *const names[3] = {"inference", "management", "metrics"};
  char url[3][96];
  for (int k = 0; k < 3; k++) snprintf(url[k], sizeof url[k], "http://%s%s%s:%d", s->o.addr[k].v6 ? "[" : "",
                                     s->o.addr[k].host, s->o.addr[k].v6 ? "]" : "", s->port[k]);
  if (c->json) {
    cJSON *o = cli_doc(c);
    for (int k = 0; o && k < 3; k++) cJSON_AddStringToObject(o, names[k], url[k]);
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "models") : NULL;
    for (size_t i = 0; arr && i < s->n_models; i++) {
      cJSON *m = cJSON_CreateObject();
      if (!m) continue;
      cli_json_str(m, "name", s->models[i]->name);
      cli_json_str(m, "version", s->models[i]->version);
      cJSON_AddItemToArray(arr, m);
    }
    cli_emit(c, o, 0);
  } else {
    fprintf(c->out, "mserve-server: serving %zu model version%s; inference %s, management %s, metrics %s\n",
            s->n_models, s->n_models == 1 ? "" : "s", url[0], url[1], url[2]);
  }
  fflush(stdout);
}

static void teardown(srv *s, int made_tmp) {
  http_stop(s);
  models_free_all(s);
  for (srv_event *e = s->ep >= 0 && s->wfd >= 0 ? worker_events_take(s) : NULL; e;) {
    srv_event *next = e->next;
    ms_batch_free(e->batch);
    free(e);
    e = next;
  }
  scale_close(s);
  admission_close(s);
  ms_registry_close(s->reg);
  ms_store_close(s->store);
  loop_close(s);
  pthread_mutex_destroy(&s->evmu);
  if (made_tmp) nftw(s->extract_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv) {
  static const char *const value_opts[] = {"--model-store",        "--config",      "--inference-address",
                                           "--management-address", "--metrics-address", "--device",
                                           "--limits",             "--rules",       "--max-request-size",
                                           "--extract-dir",        "--blas-threads", "--grace",
                                           NULL};
  static const cli_spec spec = {"mserve-server", value_opts, NULL, 1};
  cli_ctx c;
  char err[1024];
  int bad = cli_init(&c, &spec, argc, argv, err, sizeof err);
  c.command = "serve";
  if (bad) return cli_finish(&c, cli_usage(&c, "%s", err));
  if (c.help) return cli_finish(&c, cli_help(&c, usage_text, "(none: the server has no negative answer)"));
  if (c.version) return cli_finish(&c, cli_version(&c));
  if (argc == 1) {
    /* nothing at all: the usage line, as every tool of the family */
    fprintf(stderr, "%.*s", (int)(strchr(usage_text, '\n') - usage_text + 1), usage_text);
    return cli_finish(&c, cli_usage(&c, "--model-store DIR is required"));
  }
  static srv s;
  s.ep = s.tfd = s.sfd = s.wfd = -1;
  pthread_mutex_init(&s.evmu, NULL);
  if (srv_options_parse(&s.o, c.argc, c.argv, err, sizeof err)) return cli_finish(&c, cli_usage(&c, "%s", err));
  s.o.db = c.db;
  s.o.json = c.json;
  s.o.quiet = c.quiet;
  if (c.quiet) g_log_level = MS_LOG_WARN;
  ms_set_log(lib_log, MS_LOG_WARN, NULL);
  signal(SIGPIPE, SIG_IGN);
  int made_tmp = 0;
  int rc = setup(&s, &c, &made_tmp);
  if (rc) {
    teardown(&s, made_tmp);
    return cli_finish(&c, rc);
  }
  ready(&s, &c);
  loop_run(&s);
  teardown(&s, made_tmp);
  srv_log(MS_LOG_INFO, "stopped");
  return cli_finish(&c, 0);
}
