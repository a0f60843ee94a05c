/* Integration test of examples/mserve-autoscale: replays the two sample
 * scenarios and a set of broken inputs through the real binary and checks
 * what a user would see: the decision timeline, the JSON document, the exit
 * status and message of each error, and a well-formed SVG plot.
 * Needs MSERVE_AUTOSCALE_CLI and MSERVE_AUTOSCALE_SAMPLES (set by ctest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mserve.h>
#include <mserve/autoscaler.h>

#include "testutil.h"
#include "xml_check.h"

static const char *cli, *samples;

typedef struct fx {
  char *dir;
  char *out, *err; /* the last run's stdout and stderr */
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("autoscale-cli");
  *state = f;
  return f->dir ? 0 : -1;
}

static int teardown(void **state) {
  fx *f = *state;
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->out);
  free(f->err);
  free(f);
  return 0;
}

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf) {
    size_t got = fread(buf, 1, (size_t)n, fp);
    buf[got] = '\0';
  }
  fclose(fp);
  return buf;
}

/* Run the CLI with args (NULL-terminated); returns its exit status and keeps
 * its output in f->out / f->err. */
static int run_cli(fx *f, ...) {
  char *argv[32];
  int argc = 0;
  argv[argc++] = (char *)cli;
  va_list ap;
  va_start(ap, f);
  for (char *a; argc < 31 && (a = va_arg(ap, char *)) != NULL;) argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  char *out = ms_test_path(f->dir, "stdout.txt"), *err = ms_test_path(f->dir, "stderr.txt");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(127);
    execv(cli, argv);
    _exit(127);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  free(f->out);
  free(f->err);
  f->out = slurp(out);
  f->err = slurp(err);
  assert_non_null(f->out);
  assert_non_null(f->err);
  free(out);
  free(err);
  return WEXITSTATUS(status);
}

static char *sample(const char *name) { return ms_test_path(samples, name); }

static char *write_tmp(fx *f, const char *name, const char *text) {
  char *p = ms_test_path(f->dir, name);
  assert_int_equal(ms_test_write_file(p, text, strlen(text)), 0);
  return p;
}

#define assert_contains(hay, needle)                                                              \
  do {                                                                                            \
    if (!strstr((hay), (needle))) fail_msg("expected \"%s\" in:\n%s", (needle), (hay));           \
  } while (0)

/* The SVG must be one well-formed document with an <svg> root, and draw what
 * the brief says: per-rule dashed thresholds, lines, axes text. */
static void check_svg(const char *path, size_t n_rules, size_t n_changes) {
  char *svg = slurp(path);
  assert_non_null(svg);
  assert_true(strncmp(svg, "<?xml", 5) == 0);
  size_t len = strlen(svg);
  assert_true(len > 1000);
  assert_true(strcmp(svg + len - 7, "</svg>\n") == 0);
  xml_stats st;
  char why[160];
  if (xml_check(svg, &st, why, sizeof why)) fail_msg("%s: not well-formed: %s", path, why);
  assert_string_equal(st.root, "svg");
  assert_true(st.elements > 50);
  assert_int_equal(xml_count(svg, "svg"), 1);
  assert_true(xml_count(svg, "path") >= 3);     /* metric line, replica line, its fill */
  assert_true(xml_count(svg, "text") >= 20);    /* ticks, labels, legend */
  /* one dashed line per rule plus the legend's sample */
  size_t dashed = 0;
  for (const char *p = strstr(svg, "stroke-dasharray"); p; p = strstr(p + 1, "stroke-dasharray")) dashed++;
  assert_int_equal(dashed, n_rules + 1);
  for (size_t j = 1; j <= n_rules; j++) {
    char label[32];
    snprintf(label, sizeof label, ">rule#%zu: ", j);
    assert_contains(svg, label);
  }
  /* one white-filled marker per change */
  size_t marks = 0;
  for (const char *p = strstr(svg, "r=\"4\" fill=\"#fff\""); p; p = strstr(p + 1, "r=\"4\" fill=\"#fff\"")) marks++;
  assert_int_equal(marks, n_changes);
  /* the replica count in a panel of its own (one per endpoint) */
  assert_contains(svg, "<g class=\"panel\" data-kind=\"replicas\"");
  free(svg);
}

static void gpu_sample_scales_1_to_4_to_2(void **state) {
  fx *f = *state;
  char *rules = sample("gpu-util.json"), *obs = sample("gpu-util.csv"), *svg = ms_test_path(f->dir, "gpu.svg");
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--plot", svg, NULL), 0);
  assert_string_equal(f->err, "");
  /* the five changes, in order, each with the rule that made it */
  const char *expect[] = {
      "t=    20s  gpu-ep  1 -> 2  rule#1 applied (mean cuda.util 80.2 > 80); rule#2 not-triggered (80.2 < 40 false)",
      "t=   110s  gpu-ep  2 -> 3  rule#1 applied (mean cuda.util 82.3 > 80)",
      "t=   150s  gpu-ep  3 -> 4  rule#3 applied (max cuda.mem 94.5 > 90)",
      "t=   530s  gpu-ep  4 -> 3  rule#2 applied (mean cuda.util 39.025 < 40)",
      "t=   650s  gpu-ep  3 -> 2  rule#2 applied",
  };
  const char *at = f->out;
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
    const char *hit = strstr(at, expect[i]);
    if (!hit) fail_msg("change %zu missing or out of order: \"%s\" in:\n%s", i, expect[i], f->out);
    at = hit + 1;
  }
  assert_contains(f->out, "summary: 5 changes in 91 evaluations; final replicas: gpu-ep 2");
  check_svg(svg, 3, 5);

  /* --all shows the evaluations in between, cooldowns and bounds included */
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--all", NULL), 0);
  assert_contains(f->out, "t=    30s  gpu-ep  2 -> 2  rule#1 cooldown (87.3 > 80; until t=80s)");
  assert_contains(f->out, "rule#1 at-bound (");
  free(rules);
  free(obs);
  free(svg);
}

static void queue_sample_scales_up_from_zero_json(void **state) {
  fx *f = *state;
  char *rules = sample("queue-from-zero.json"), *obs = sample("queue-from-zero.csv");
  char *svg = ms_test_path(f->dir, "queue.svg");
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--obs", obs, "--json", "--plot", svg, NULL), 0);
  cJSON *doc = cJSON_Parse(f->out);
  if (!doc) fail_msg("--json printed no JSON document:\n%s", f->out);
  const cJSON *dec = cJSON_GetObjectItem(doc, "decisions");
  assert_true(cJSON_IsArray(dec));
  assert_int_equal(cJSON_GetArraySize(dec), 11);
  const cJSON *first = cJSON_GetArrayItem(dec, 0);
  assert_int_equal(cJSON_GetObjectItem(first, "t_s")->valueint, 60);
  assert_int_equal(cJSON_GetObjectItem(first, "from")->valueint, 0);
  assert_int_equal(cJSON_GetObjectItem(first, "to")->valueint, 1);
  assert_int_equal(cJSON_GetObjectItem(first, "applied_rule")->valueint, 1);
  /* the endpoint-wide queue of 20 at zero replicas counts as 20 per replica */
  const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(first, "rules"), 0);
  assert_string_equal(cJSON_GetObjectItem(r0, "outcome")->valuestring, "applied");
  assert_true(cJSON_GetObjectItem(r0, "value")->valuedouble == 20.0);
  /* the burst takes the +2 rule; the +1 rule is then in its cooldown */
  const cJSON *second = cJSON_GetArrayItem(dec, 1);
  assert_int_equal(cJSON_GetObjectItem(second, "to")->valueint, 3);
  assert_int_equal(cJSON_GetObjectItem(second, "applied_rule")->valueint, 2);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "final_replicas"), "queue-ep")->valueint, 0);
  assert_int_equal(cJSON_GetObjectItem(doc, "evaluations")->valueint, 79);
  cJSON_Delete(doc);
  assert_contains(f->err, "plot: wrote "); /* stdout stays pure JSON */
  check_svg(svg, 3, 11);
  free(rules);
  free(obs);
  free(svg);
}

static void each_row_epoch_times_and_db(void **state) {
  fx *f = *state;
  char *rules = write_tmp(f, "r.json",
                          "{\"endpoints\": [{\"name\": \"e\", \"replicas\": 1, \"rules\": [{\"metric\": \"m\", "
                          "\"cmp\": \">=\", \"threshold\": 10, \"step\": 2, \"max\": 2}]}]}");
  char *obs = write_tmp(f, "o.csv",
                        "time_s,endpoint,source,metric,replica,value\n"
                        "1700000000,e,kernel,m,a,5\n"
                        "1700000007.5,e,kernel,m,a,12\n"
                        "1700000009,e,kernel,m,a,50\n");
  char *db = ms_test_path(f->dir, "replay.db");
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--eval-at-each-row", "--db", db,
                           NULL),
                   0);
  assert_contains(f->out, "t=0 is 1700000000 (Unix-epoch seconds of the first row)");
  assert_contains(f->out, "3 evaluations, one after each distinct observation time");
  /* +2 clamped to max 2: 1 -> 2, then at the bound */
  assert_contains(f->out, "t=    7.50s  e     1 -> 2  rule#1 applied (mean m 12 >= 10)");
  assert_contains(f->out, "summary: 1 change in 3 evaluations; final replicas: e 2");
  struct stat sb;
  assert_int_equal(stat(db, &sb), 0);
  /* a second replay never mixes with an earlier store */
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--db", db, NULL), 2);
  assert_contains(f->err, "the file exists");
  free(rules);
  free(obs);
  free(db);
}

static void bad_rules_name_file_path_and_cause(void **state) {
  fx *f = *state;
  char *obs = write_tmp(f, "o.csv", "time_s,endpoint,source,metric,replica,value\n0,e,kernel,m,a,5\n");
  static const struct {
    const char *json, *expect;
  } cases[] = {
      {"{\"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": \"m\", \"cmp\": \"=>\", \"threshold\": 1, "
       "\"step\": 1}]}]}",
       ": $.endpoints[0].rules[0].cmp: \"=>\" is not a comparator"},
      {"{\"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": \"m\", \"cmp\": \">\", \"treshold\": 1}]}]}",
       ": $.endpoints[0].rules[0]: unknown key \"treshold\""},
      {"{\"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": \"m\", \"cmp\": \">\", \"threshold\": 1, "
       "\"step\": 0}]}]}",
       ": $.endpoints[0].rules[0].step: must not be 0"},
      {"{\"endpoints\": [{\"name\": \"e\", \"replicas\": 1.5}]}", ": $.endpoints[0].replicas: expected an integer"},
      {"{\"endpoints\": [{\"name\": \"e\"}, {\"name\": \"e\"}]}", ": $.endpoints[1]: endpoint \"e\" is already defined"},
      {"{\"endpoints\": [\n  {\"name\": \"e\",}\n]}", ":2:"},
      {"{\"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": \"m\", \"cmp\": \">\", \"threshold\": 50, "
       "\"step\": 1}, {\"metric\": \"m\", \"cmp\": \"<\", \"threshold\": 70, \"step\": -1}]}]}",
       ": $.endpoints[0].rules[1]: refused by the autoscaler: MS_ECONFLICT"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *rules = write_tmp(f, "bad.json", cases[i].json);
    assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, NULL), 2);
    assert_contains(f->err, rules); /* the message names the file */
    assert_contains(f->err, cases[i].expect);
    free(rules);
  }
  free(obs);
}

static void bad_observations_name_the_line(void **state) {
  fx *f = *state;
  char *rules = write_tmp(f, "r.json",
                          "{\"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": \"m\", \"cmp\": \">\", "
                          "\"threshold\": 1, \"step\": 1}]}]}");
  static const struct {
    const char *csv, *expect;
  } cases[] = {
      {"time_s,endpoint,source,metric,replica,value\n10,e,kernel,m,a,5\n\n# comment\n5,e,kernel,m,a,6\n",
       ":5: time 5 is earlier than 10 on line 2: rows must be in time order"},
      {"time,endpoint,source,metric,replica,value\n", ":1: expected the header"},
      {"time_s,endpoint,source,metric,replica,value\n0,e,kernel,m,a\n", ":2: expected 6 comma-separated fields"},
      {"time_s,endpoint,source,metric,replica,value\n0,e,kernel,m,a,high\n", ":2: value \"high\" is not a finite"},
      {"time_s,endpoint,source,metric,replica,value\n0,nope,kernel,m,a,1\n", ":2: endpoint \"nope\" is not defined"},
      {"time_s,endpoint,source,metric,replica,value\n0,e,kernel,m,a,1\n1800000000,e,kernel,m,a,1\n",
       ":3: time 1800000000 mixes relative and Unix-epoch seconds"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *obs = write_tmp(f, "bad.csv", cases[i].csv);
    assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, NULL), 2);
    assert_contains(f->err, obs);
    assert_contains(f->err, cases[i].expect);
    free(obs);
  }
  free(rules);
}

static void usage_errors_and_help(void **state) {
  fx *f = *state;
  assert_int_equal(run_cli(f, "--help", NULL), 0);
  assert_contains(f->out, "usage: mserve-autoscale replay --rules RULES.json --observations OBS.csv");
  assert_int_equal(run_cli(f, "replay", "--rules", "x.json", NULL), 2);
  assert_contains(f->err, "replay needs --observations OBS.csv");
  assert_int_equal(run_cli(f, "replay", "--rules", "x", "--obs", "y", "--step", "5", "--eval-at-each-row", NULL), 2);
  assert_contains(f->err, "exclude each other");
  assert_int_equal(run_cli(f, "replay", "--rules", "x", "--obs", "y", "--step", "-1", NULL), 2);
  assert_int_equal(run_cli(f, "replay", "--bogus", NULL), 2);
  assert_contains(f->err, "unknown option '--bogus'");
  assert_int_equal(run_cli(f, "frobnicate", NULL), 2);
  char *missing = ms_test_path(f->dir, "missing.json");
  assert_int_equal(run_cli(f, "replay", "--rules", missing, "--obs", missing, NULL), 2);
  assert_contains(f->err, "cannot read");
  free(missing);
}

/* Times whose microseconds do not fit in int64 are refused with the line, not
 * replayed into wrapped-around instants (which printed cooldowns that ended
 * before they began). */
static void times_past_int64_us_are_refused(void **state) {
  fx *f = *state;
  char *rules = write_tmp(f, "r.json",
                          "{\"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": \"m\", \"cmp\": \">\", "
                          "\"threshold\": 10, \"step\": 1, \"cooldown_s\": 100}]}]}");
  static const struct {
    const char *csv, *expect;
  } cases[] = {
      {"time_s,endpoint,source,metric,replica,value\n9223372036000,e,kernel,m,a,50\n9223372036900,e,kernel,m,a,50\n",
       ":3: time_s \"9223372036900\" is out of range"},
      {"time_s,endpoint,source,metric,replica,value\n1e300,e,kernel,m,a,50\n", ":2: time_s \"1e300\" is out of range"},
      {"time_s,endpoint,source,metric,replica,value\n# c\n1e19,e,kernel,m,a,50\n", ":3: time_s \"1e19\" is out of range"},
      {"time_s,endpoint,source,metric,replica,value\n1e400,e,kernel,m,a,50\n", ":2: time_s \"1e400\" is out of range"},
      {"time_s,endpoint,source,metric,replica,value\nnan,e,kernel,m,a,50\n", ":2: time_s \"nan\" is not a number"},
      {"time_s,endpoint,source,metric,replica,value\n-1e-400,e,kernel,m,a,50\n", ":2: time_s \"-1e-400\" is negative"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *obs = write_tmp(f, "big.csv", cases[i].csv);
    assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--all", NULL), 2);
    assert_contains(f->err, obs);
    assert_contains(f->err, cases[i].expect);
    assert_string_equal(f->out, "");
    free(obs);
  }
  /* the largest time that fits still replays */
  char *obs = write_tmp(f, "max.csv",
                        "time_s,endpoint,source,metric,replica,value\n9223372036000,e,kernel,m,a,50\n"
                        "9223372036854,e,kernel,m,a,50\n");
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--eval-at-each-row", NULL), 0);
  assert_contains(f->out, "t=   854s  e     2 -> 3  rule#1 applied");
  assert_contains(f->out, "summary: 2 changes in 2 evaluations");
  free(obs);
  free(rules);
}

/* A positive duration below 1 us is 1 us in the engine, never 0 (which is
 * "no cooldown" or a refused TTL). */
static void sub_microsecond_durations_round_up(void **state) {
  fx *f = *state;
  char *rules = write_tmp(f, "tiny.json",
                          "{\"metric_ttl_s\": 0.0000004, \"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": "
                          "\"m\", \"cmp\": \">\", \"threshold\": 10, \"step\": 1, \"cooldown_s\": 4e-7}]}]}");
  char *obs = write_tmp(f, "o.csv", "time_s,endpoint,source,metric,replica,value\n0,e,kernel,m,a,50\n");
  char *db = ms_test_path(f->dir, "tiny.db");
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--db", db, NULL), 0);
  assert_contains(f->out, "summary: 1 change in 1 evaluations");
  ms_store *s = NULL;
  ms_autoscaler *a = NULL;
  assert_int_equal(ms_store_open(db, 0, &s), MS_OK);
  assert_int_equal(ms_autoscaler_open(s, &a), MS_OK);
  ms_rule_list *l = NULL;
  const ms_rule *first = NULL;
  int64_t ids[1];
  assert_int_equal(ms_autoscaler_list_rules(a, "e", &l), MS_OK);
  assert_int_equal(ms_rule_list_count(l), 1);
  assert_int_equal(ms_rule_list_get(l, 0, &first), MS_OK);
  assert_int_equal(ms_rule_get_state(first, &ids[0], NULL, NULL, NULL), MS_OK);
  ms_rule_list_free(l);
  ms_rule *r = NULL;
  assert_int_equal(ms_autoscaler_get_rule(a, ids[0], &r), MS_OK);
  int64_t cooldown = -1;
  assert_int_equal(ms_rule_get_cooldown(r, &cooldown), MS_OK);
  assert_int_equal(cooldown, 1);
  ms_rule_free(r);
  ms_autoscaler_close(a);
  ms_store_close(s);
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", obs, "--ttl", "1e-400", NULL), 0);
  free(db);
  free(obs);
  free(rules);
}

/* Duration flags: NaN, infinities, negative and too large values are refused
 * with exit 2 and a message that says why. */
static void duration_flags_out_of_range(void **state) {
  fx *f = *state;
  static const struct {
    const char *v, *says;
  } cases[] = {
      {"nan", "not a number"},       {"inf", "out of range"},       {"-inf", "out of range"},
      {"1e400", "out of range"},     {"1e300", "out of range"},     {"1e10", "out of range"},
      {"-1", "out of range"},        {"0", "out of range"},         {"-1e-400", "out of range"},
      {"x", "expected a number of seconds"},
  };
  static const char *const flags[] = {"--ttl", "--step"};
  for (size_t k = 0; k < 2; k++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      assert_int_equal(run_cli(f, "replay", "--rules", "r", "--obs", "o", flags[k], cases[i].v, NULL), 2);
      char want[64];
      snprintf(want, sizeof want, "%s '%s': ", flags[k], cases[i].v);
      assert_contains(f->err, want);
      assert_contains(f->err, cases[i].says);
    }
  }
}

/* A file that cannot be read says why (the cause from the system, not a
 * generic I/O error). */
static void unreadable_inputs_name_the_cause(void **state) {
  fx *f = *state;
  char *rules = write_tmp(f, "r.json",
                          "{\"endpoints\": [{\"name\": \"e\", \"rules\": [{\"metric\": \"m\", \"cmp\": \">\", "
                          "\"threshold\": 1, \"step\": 1}]}]}");
  char *obs = write_tmp(f, "o.csv", "time_s,endpoint,source,metric,replica,value\n0,e,kernel,m,a,5\n");
  assert_int_equal(run_cli(f, "replay", "--rules", f->dir, "--observations", obs, NULL), 2);
  assert_contains(f->err, "cannot read: Is a directory");
  assert_int_equal(run_cli(f, "replay", "--rules", rules, "--observations", f->dir, NULL), 2);
  assert_contains(f->err, "cannot read: Is a directory");
  free(obs);
  free(rules);
}

int main(void) {
  cli = getenv("MSERVE_AUTOSCALE_CLI");
  samples = getenv("MSERVE_AUTOSCALE_SAMPLES");
  if (!cli || !samples || access(cli, X_OK) != 0) {
    printf("skipped: MSERVE_AUTOSCALE_CLI / MSERVE_AUTOSCALE_SAMPLES not set\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(gpu_sample_scales_1_to_4_to_2, setup, teardown),
      cmocka_unit_test_setup_teardown(queue_sample_scales_up_from_zero_json, setup, teardown),
      cmocka_unit_test_setup_teardown(each_row_epoch_times_and_db, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_rules_name_file_path_and_cause, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_observations_name_the_line, setup, teardown),
      cmocka_unit_test_setup_teardown(usage_errors_and_help, setup, teardown),
      cmocka_unit_test_setup_teardown(times_past_int64_us_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(sub_microsecond_durations_round_up, setup, teardown),
      cmocka_unit_test_setup_teardown(duration_flags_out_of_range, setup, teardown),
      cmocka_unit_test_setup_teardown(unreadable_inputs_name_the_cause, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
