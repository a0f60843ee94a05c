/* Unit tests: hostile settings input. Key counts are bounded and duplicates
 * found at any size; numbers are converted into microseconds with a check on
 * both sides; every string kept from a manifest, model-config.yaml or global
 * config is UTF-8 without NUL; messages say what is really wrong (nesting
 * limit, numbers past 2^53, keys past YAML's 1024-character limit); a global
 * config path that is missing, a folder or a FIFO is refused at once with the
 * documented status. Failures leave their outputs untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry/manifest.h"
#include "registry/config_yaml.h"
#include "registry/global_config.h"
#include "registry/settings.h"
#include "registry_testutil.h"
#include "testutil.h"

static int parse_yaml(const char *text, ms__settings *s) {
  return ms__registry_yaml_parse(text, strlen(text), "test.yaml", s);
}

static int parse_manifest(const char *text, ms__manifest *m) {
  return ms__registry_manifest_parse(text, strlen(text), "MANIFEST.json", m);
}

static int parse_global(const char *text, ms__global_config **g) {
  return ms__registry_global_parse(text, strlen(text), "global.json", g);
}

static void expect_msg(const char *needle) {
  if (!strstr(ms_errmsg(), needle)) fail_msg("message '%s' lacks '%s'", ms_errmsg(), needle);
}

/* A failed parse leaves *out as it was: a recognisable pattern. */
static void poison(ms__settings *s) { memset(s, 0x5A, sizeof *s); }
static int poisoned(const ms__settings *s) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < sizeof *s; i++)
    if (p[i] != 0x5A) return 0;
  return 1;
}

/* "k0: v\nk1: v\n..." with n keys; `nested` of them under one mapping. */
static char *many_keys(size_t n, size_t nested) {
  size_t cap = n * 24 + 64, len = 0;
  char *b = malloc(cap);
  assert_non_null(b);
  size_t top = n - nested;
  for (size_t i = 0; i < top; i++) len += (size_t)snprintf(b + len, cap - len, "k%zu: v\n", i);
  if (nested) {
    len += (size_t)snprintf(b + len, cap - len, "inner:\n"); /* one more key at the top */
    for (size_t i = 0; i + 1 < nested; i++) len += (size_t)snprintf(b + len, cap - len, "  n%zu: v\n", i);
  }
  return b;
}

/* ---- key counts and duplicates ------------------------------------------- */

static void yaml_key_count_is_bounded(void **state) {
  (void)state;
  ms__settings s;
  char *at = many_keys(MS__CONFIG_MAX_KEYS, 0);
  assert_int_equal(parse_yaml(at, &s), MS_OK);
  assert_non_null(s.extra);
  assert_int_equal(cJSON_GetArraySize(s.extra), MS__CONFIG_MAX_KEYS);
  ms__registry_settings_free(&s);
  free(at);

  char limit[32];
  snprintf(limit, sizeof limit, "%d", MS__CONFIG_MAX_KEYS);
  char *over = many_keys(MS__CONFIG_MAX_KEYS + 1, 0);
  poison(&s);
  assert_int_equal(parse_yaml(over, &s), MS_ECORRUPT);
  expect_msg("test.yaml");
  expect_msg(limit);
  assert_true(poisoned(&s));
  free(over);

  /* The limit counts the keys of every mapping, not only the top level. */
  char *nested = many_keys(MS__CONFIG_MAX_KEYS + 1, MS__CONFIG_MAX_KEYS / 2);
  assert_int_equal(parse_yaml(nested, &s), MS_ECORRUPT);
  expect_msg(limit);
  free(nested);
}

static void yaml_duplicates_found_at_any_size(void **state) {
  (void)state;
  /* The duplicate of the first key comes last: found, with both lines. */
  size_t n = 5000, cap = n * 24 + 64, len = 0;
  char *b = malloc(cap);
  for (size_t i = 0; i < n; i++) len += (size_t)snprintf(b + len, cap - len, "k%zu: v\n", i);
  snprintf(b + len, cap - len, "k0: again\n");
  ms__settings s;
  poison(&s);
  assert_int_equal(parse_yaml(b, &s), MS_ECORRUPT);
  expect_msg("duplicate key 'k0'");
  expect_msg("line 5001");
  expect_msg("first at line 1");
  assert_true(poisoned(&s));
  free(b);
  /* In a nested mapping as well. */
  assert_int_equal(parse_yaml("handler:\n  a: 1\n  b: 2\n  a: 3\n", &s), MS_ECORRUPT);
  expect_msg("duplicate key 'a'");
  expect_msg("line 4");
  /* One setting under both of its names would lose one of the two values. */
  assert_int_equal(parse_yaml("batchSize: 4\nbatch_size: 5\n", &s), MS_ECORRUPT);
  expect_msg("batch_size");
  assert_int_equal(parse_yaml("responseTimeout: 4\nrequest_timeout_us: 5\n", &s), MS_ECORRUPT);
  /* Same keys in different mappings are fine. */
  assert_int_equal(parse_yaml("a:\n  x: 1\nb:\n  x: 2\nx: 3\n", &s), MS_OK);
  ms__registry_settings_free(&s);
}

static void merge_replaces_extras_key_by_key(void **state) {
  (void)state;
  ms__settings base, over;
  ms__registry_settings_init(&base);
  ms__registry_settings_init(&over);
  base.extra = cJSON_Parse("{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}");
  /* A stored row may carry a key twice: its last value wins, as before. */
  over.extra = cJSON_Parse("{\"b\":\"20\",\"d\":\"4\",\"b\":\"21\"}");
  over.set = 1u << MS__K_BATCH_SIZE;
  over.ival[MS__K_BATCH_SIZE] = 7;
  assert_int_equal(ms__registry_settings_merge(&base, &over), MS_OK);
  char *txt = cJSON_PrintUnformatted(base.extra);
  assert_string_equal(txt, "{\"a\":\"1\",\"c\":\"3\",\"d\":\"4\",\"b\":\"21\"}");
  cJSON_free(txt);
  assert_int_equal(base.ival[MS__K_BATCH_SIZE], 7);
  /* Merging into settings without extras copies them. */
  ms__settings empty;
  ms__registry_settings_init(&empty);
  assert_int_equal(ms__registry_settings_merge(&empty, &base), MS_OK);
  txt = cJSON_PrintUnformatted(empty.extra);
  assert_string_equal(txt, "{\"a\":\"1\",\"c\":\"3\",\"d\":\"4\",\"b\":\"21\"}");
  cJSON_free(txt);
  ms__registry_settings_free(&empty);
  ms__registry_settings_free(&base);
  ms__registry_settings_free(&over);

  /* Thousands of extras on both sides: every key once, the override's value. */
  ms__settings big_a, big_b;
  ms__registry_settings_init(&big_a);
  ms__registry_settings_init(&big_b);
  big_a.extra = cJSON_CreateObject();
  big_b.extra = cJSON_CreateObject();
  for (int i = 0; i < 8000; i++) {
    char k[32];
    snprintf(k, sizeof k, "k%d", i);
    cJSON_AddStringToObject(big_a.extra, k, "a");
    if (i % 2 == 0) cJSON_AddStringToObject(big_b.extra, k, "b");
  }
  assert_int_equal(ms__registry_settings_merge(&big_a, &big_b), MS_OK);
  assert_int_equal(cJSON_GetArraySize(big_a.extra), 8000);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(big_a.extra, "k4000")->valuestring, "b");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(big_a.extra, "k4001")->valuestring, "a");
  ms__registry_settings_free(&big_a);
  ms__registry_settings_free(&big_b);
}

static void global_config_entries_are_unique_and_found(void **state) {
  (void)state;
  /* Many entries in an arbitrary order: each one found by name and version. */
  size_t n = 3000, cap = n * 64 + 64, len = 0;
  char *b = malloc(cap);
  len += (size_t)snprintf(b + len, cap - len, "{\"models\": {");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(b + len, cap - len, "%s\"m%zu\": {\"2.0\": {\"batch_size\": %zu}, \"1.0\": {}}",
                            i ? "," : "", (i * 7919) % n, i + 1);
  snprintf(b + len, cap - len, "}}");
  ms__global_config *g = NULL;
  assert_int_equal(parse_global(b, &g), MS_OK);
  for (size_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "m%zu", (i * 7919) % n);
    const ms__settings *e = ms__registry_global_lookup(g, name, "2.0");
    assert_non_null(e);
    assert_int_equal(e->ival[MS__K_BATCH_SIZE], (int64_t)(i + 1));
    assert_non_null(ms__registry_global_lookup(g, name, "1.0"));
    assert_null(ms__registry_global_lookup(g, name, "3.0"));
  }
  assert_null(ms__registry_global_lookup(g, "nope", "1.0"));
  ms__registry_global_free(g);
  free(b);
  /* A model version given twice would silently lose one entry: refused. */
  g = NULL;
  assert_int_equal(parse_global("{\"models\": {\"a\": {\"1\": {\"batch_size\": 2}}, \"a\": {\"1\": {\"batch_size\": 3}}}}", &g),
                   MS_ECORRUPT);
  assert_null(g);
  expect_msg("models.\"a\".\"1\"");
  assert_int_equal(parse_global("{\"models\": {\"a\": {\"1\": {}, \"1\": {}}}}", &g), MS_ECORRUPT);
  assert_null(g);
  /* Both spellings of one key in one level. */
  assert_int_equal(parse_global("{\"defaults\": {\"batchSize\": 2, \"batch_size\": 3}}", &g), MS_ECORRUPT);
  assert_null(g);
}

/* ---- unit conversions ------------------------------------------------------ */

static void yaml_durations_are_checked_both_ways(void **state) {
  (void)state;
  static const char *bad[] = {
      "responseTimeout: -18446744073709\n", /* wrapped into 551,616 us before */
      "responseTimeout: -9223372036854\n",
      "responseTimeout: -9223372036855\n",
      "responseTimeout: -9007199254740992\n",
      "responseTimeout: 9007199255\n", /* 9007199255000000 us > 2^53 */
      "responseTimeout: 9223372036855\n",
      "responseTimeout: -1\n",
      "maxBatchDelay: -9223372036854775\n",
      "maxBatchDelay: 9007199254741\n",
      "maxBatchDelay: 99999999999999999999\n", /* past int64 as written */
      "request_timeout_us: -9223372036854775808\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms__settings s;
    poison(&s);
    int st = parse_yaml(bad[i], &s);
    if (st != MS_ECORRUPT) fail_msg("yaml %zu accepted (%d): %s", i, st, bad[i]);
    expect_msg("out of range");
    expect_msg("test.yaml");
    assert_true(poisoned(&s));
  }
  ms__settings s;
  assert_int_equal(parse_yaml("responseTimeout: -18446744073709\n", &s), MS_ECORRUPT);
  expect_msg("'responseTimeout' = -18446744073709 s is out of range (0..9007199254 s)");
  /* The largest values that fit are exact. */
  assert_int_equal(parse_yaml("responseTimeout: 9007199254\nmaxBatchDelay: 9007199254740\n", &s), MS_OK);
  assert_int_equal(s.ival[MS__K_REQUEST_TIMEOUT_US], (int64_t)9007199254 * 1000000);
  assert_int_equal(s.ival[MS__K_MAX_BATCH_DELAY_US], (int64_t)9007199254740 * 1000);
  ms__registry_settings_free(&s);
}

static void json_durations_are_checked_both_ways(void **state) {
  (void)state;
  static const char *values[] = {"-18446744073709", "-9223372036854", "9223372036855", "9007199255",
                                 "-9007199254740992", "1e300", "-1e300"};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    char doc[256];
    /* global config defaults and per-model entries */
    snprintf(doc, sizeof doc, "{\"defaults\": {\"responseTimeout\": %s}}", values[i]);
    ms__global_config *g = NULL;
    if (parse_global(doc, &g) != MS_ECORRUPT) fail_msg("global config accepted %s", values[i]);
    assert_null(g);
    expect_msg("out of range");
    snprintf(doc, sizeof doc, "{\"models\": {\"m\": {\"1\": {\"responseTimeout\": %s}}}}", values[i]);
    if (parse_global(doc, &g) != MS_ECORRUPT) fail_msg("global entry accepted %s", values[i]);
    /* the manifest's model object */
    snprintf(doc, sizeof doc, "{\"model\": {\"modelName\": \"m\", \"responseTimeout\": %s}}", values[i]);
    ms__manifest m;
    memset(&m, 0x5A, sizeof m);
    if (parse_manifest(doc, &m) != MS_ECORRUPT) fail_msg("manifest accepted %s", values[i]);
    expect_msg("out of range");
    assert_int_equal(((unsigned char *)&m)[0], 0x5A);
  }
}

static void overrides_reject_out_of_range_microseconds(void **state) {
  (void)state;
  /* Overrides take canonical microseconds: the range is 0..2^53 either way. */
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "request_timeout_us", INT64_MIN), MS_EINVAL);
  expect_msg("out of range");
  assert_int_equal(ms_overrides_set_int(ov, "request_timeout_us", INT64_MAX), MS_EINVAL);
  assert_int_equal(ms_overrides_set_int(ov, "request_timeout_us", (int64_t)1 << 53), MS_OK);
  ms_overrides_free(ov);
}

/* ---- text ------------------------------------------------------------------ */

static void manifest_strings_are_utf8_without_nul(void **state) {
  (void)state;
  static const struct {
    const char *doc, *field;
  } bad[] = {
      {"{\"model\": {\"modelName\": \"m\", \"handler\": \"h\\u0000.py\"}}", "model.handler"},
      {"{\"model\": {\"modelName\": \"m\", \"handler\": \"h\xff.py\"}}", "model.handler"},
      {"{\"model\": {\"modelName\": \"m\", \"handler\": \"h\xed\xa0\x80\"}}", "model.handler"}, /* surrogate */
      {"{\"model\": {\"modelName\": \"m\", \"handler\": \"h\xc0\xaf\"}}", "model.handler"},      /* overlong */
      {"{\"runtime\": \"py\\u0000thon\", \"model\": {\"modelName\": \"m\"}}", "runtime"},
      {"{\"runtime\": \"py\xe2\x82\", \"model\": {\"modelName\": \"m\"}}", "runtime"}, /* truncated */
      {"{\"model\": {\"modelName\": \"m\", \"configFile\": \"c\\u0000.yaml\"}}", "model.configFile"},
      {"{\"Model\": {\"Model-Name\": \"m\", \"Service\": \"s\\u0000\"}}", "Model.Service"},
      {"{\"model\": {\"modelName\": \"m\", \"modelVersion\": \"1\\u0000\"}}", "model.modelVersion"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms__manifest m;
    memset(&m, 0x5A, sizeof m);
    int st = parse_manifest(bad[i].doc, &m);
    if (st != MS_ECORRUPT) fail_msg("manifest %zu accepted (%d): %s", i, st, bad[i].doc);
    expect_msg("MANIFEST.json");
    expect_msg(bad[i].field);
    assert_int_equal(((unsigned char *)&m)[0], 0x5A);
  }
  ms__manifest m;
  assert_int_equal(parse_manifest("{\"model\": {\"modelName\": \"m\", \"handler\": \"h\\u0000.py\"}}", &m), MS_ECORRUPT);
  expect_msg("NUL");
  /* The message itself stays printable UTF-8: the bad bytes are escaped. */
  assert_int_equal(parse_manifest("{\"model\": {\"modelName\": \"m\", \"handler\": \"\x1b[2J\xff\"}}", &m), MS_ECORRUPT);
  for (const unsigned char *p = (const unsigned char *)ms_errmsg(); *p; p++) {
    assert_true(*p >= 0x20);
    assert_true(*p < 0x80); /* this message has nothing but ASCII */
  }
  /* Text that is fine: accents, CJK, emoji, escapes of real characters. */
  assert_int_equal(parse_manifest("{\"runtime\": \"pyth\xc3\xb6n\", \"model\": {\"modelName\": \"m\", "
                                  "\"handler\": \"\xe6\xa8\xa1\xe5\x9e\x8b \xf0\x9f\x98\x80 \\u00e9 \\ud83d\\ude00\"}}",
                                  &m),
                   MS_OK);
  assert_string_equal(m.handler, "\xe6\xa8\xa1\xe5\x9e\x8b \xf0\x9f\x98\x80 \xc3\xa9 \xf0\x9f\x98\x80");
  ms__registry_manifest_free(&m);
  /* "\\u0000" is an escaped backslash followed by text, not a NUL. */
  assert_int_equal(parse_manifest("{\"model\": {\"modelName\": \"m\", \"handler\": \"a\\\\u0000b\"}}", &m), MS_OK);
  assert_string_equal(m.handler, "a\\u0000b");
  ms__registry_manifest_free(&m);
}

static void yaml_strings_are_utf8_without_nul(void **state) {
  (void)state;
  static const struct {
    const char *doc, *needle;
  } bad[] = {
      {"handler: \"a\\0b\"\n", "key 'handler'"},
      {"handler:\n  inner: \"a\\0b\"\n", "key 'inner'"},
      {"list: [\"ok\", \"a\\0b\"]\n", "key 'list'"},
      {"\"a\\0b\": 1\n", "the key 'a\\x00b'"},
      {"deviceType: \"gpu\\0\"\n", "key 'deviceType'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms__settings s;
    poison(&s);
    int st = parse_yaml(bad[i].doc, &s);
    if (st != MS_ECORRUPT) fail_msg("yaml %zu accepted (%d): %s", i, st, bad[i].doc);
    expect_msg("test.yaml");
    expect_msg(bad[i].needle);
    assert_true(poisoned(&s));
  }
  /* Other escapes give real characters and are kept. */
  ms__settings s;
  assert_int_equal(parse_yaml("handler: \"caf\\u00e9 \\x41\"\n", &s), MS_OK);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(s.extra, "handler")->valuestring, "caf\xc3\xa9 A");
  ms__registry_settings_free(&s);
}

static void global_config_strings_are_utf8(void **state) {
  (void)state;
  static const char *bad[] = {
      "{\"defaults\": {\"deviceType\": \"gpu\\u0000\"}}",
      "{\"defaults\": {\"device\": \"gpu\xff\"}}",
      "{\"models\": {\"m\\u0000x\": {\"1.0\": {}}}}",
      "{\"models\": {\"m\": {\"1\xff\": {}}}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms__global_config *g = NULL;
    int st = parse_global(bad[i], &g);
    if (st != MS_ECORRUPT) fail_msg("global config %zu accepted (%d): %s", i, st, bad[i]);
    assert_null(g);
    expect_msg("global.json");
  }
  /* Runtime overrides come from the host: the same rule, as a bad argument. */
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_str(ov, "device", "cuda\xff"), MS_EINVAL);
  assert_int_equal(ms_overrides_set_str(ov, "device", "cuda:0"), MS_OK);
  ms_overrides_free(ov);
}

static void register_refuses_bad_text_and_changes_nothing(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("settings-text");
  char *p = ms_test_path(dir, "bad.mar");
  const char *man = "{\"runtime\": \"python\", \"model\": {\"modelName\": \"bad\", \"handler\": \"h\xff.py\"}}";
  t_entry e[2] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"model.pt", T_FILE, "w", 0, NULL}};
  assert_int_equal(t_write_archive(p, "zip", e, 2), 0);
  ms_store *s = NULL;
  ms_registry *r = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  ms_model *m = (ms_model *)(uintptr_t)0x1;
  assert_int_equal(ms_registry_register(r, p, NULL, &m), MS_ECORRUPT);
  expect_msg("model.handler");
  assert_ptr_equal(m, (ms_model *)(uintptr_t)0x1);
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(r, NULL, &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), 0);
  ms_model_list_free(l);
  /* The same archive through a scan: one failed entry, nothing registered. */
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(r, dir, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), 1);
  ms_scan_report_free(rep);
  ms_registry_close(r);
  ms_store_close(s);
  free(p);
  ms_test_rmtree(dir);
  free(dir);
}

/* ---- messages that say what is wrong --------------------------------------- */

static void json_nesting_limit_is_named(void **state) {
  (void)state;
  size_t n = 1100;
  char *deep = malloc(n * 2 + 64);
  size_t len = (size_t)sprintf(deep, "{\"model\": {\"modelName\": \"m\", \"x\": ");
  for (size_t i = 0; i < n; i++) deep[len++] = '[';
  for (size_t i = 0; i < n; i++) deep[len++] = ']';
  strcpy(deep + len, "}}");
  ms__manifest m;
  assert_int_equal(parse_manifest(deep, &m), MS_ECORRUPT);
  expect_msg("nested deeper than 1000 levels");
  ms__global_config *g = NULL;
  assert_int_equal(parse_global(deep, &g), MS_ECORRUPT);
  expect_msg("nested deeper than 1000 levels");
  /* 1000 levels are allowed: an error inside them is a syntax error. */
  len = 0;
  for (size_t i = 0; i < 1000; i++) deep[len++] = '[';
  deep[len++] = 'x';
  deep[len] = '\0';
  assert_int_equal(parse_manifest(deep, &m), MS_ECORRUPT);
  expect_msg("invalid JSON at byte 1000");
  /* A plain syntax error is still one, with its position; brackets inside
   * strings do not count as nesting. */
  assert_int_equal(parse_manifest("{\"model\": {\"modelName\": \"[[[[\", }}", &m), MS_ECORRUPT);
  expect_msg("invalid JSON at byte");
  free(deep);
}

static void big_integers_are_printed_digit_for_digit(void **state) {
  (void)state;
  ms__manifest m;
  assert_int_equal(parse_manifest("{\"model\": {\"modelName\": \"m\", \"batchSize\": 9223372036854775807}}", &m),
                   MS_ECORRUPT);
  expect_msg("9223372036854775808"); /* the double nearest to what was written */
  if (strstr(ms_errmsg(), "e+")) fail_msg("exponent in '%s'", ms_errmsg());
  assert_int_equal(parse_manifest("{\"model\": {\"modelName\": \"m\", \"batchSize\": 9007199254740993000}}", &m),
                   MS_ECORRUPT);
  expect_msg("9007199254740993024");
  expect_msg("1..9007199254740992");
  ms__global_config *g = NULL;
  assert_int_equal(parse_global("{\"defaults\": {\"maxBatchDelay\": 18446744073709551616}}", &g), MS_ECORRUPT);
  expect_msg("18446744073709551616");
  if (strstr(ms_errmsg(), "e+")) fail_msg("exponent in '%s'", ms_errmsg());
  /* Fractions still read as fractions. */
  assert_int_equal(parse_global("{\"defaults\": {\"batchSize\": 1.5}}", &g), MS_ECORRUPT);
  expect_msg("1.5");
}

static void long_yaml_keys_are_named(void **state) {
  (void)state;
  char *doc = malloc(4096);
  ms__settings s;
  /* At the top level: libyaml reads the line as one scalar. */
  memset(doc, 'k', 2000);
  strcpy(doc + 2000, ": 1\n");
  assert_int_equal(parse_yaml(doc, &s), MS_ECORRUPT);
  expect_msg("longer than 1024 characters");
  expect_msg("line 1");
  /* After other keys. */
  strcpy(doc, "a: 1\n");
  memset(doc + 5, 'k', 2000);
  strcpy(doc + 2005, ": 1\n");
  assert_int_equal(parse_yaml(doc, &s), MS_ECORRUPT);
  expect_msg("longer than 1024 characters");
  expect_msg("line 2");
  /* Inside a nested mapping. */
  strcpy(doc, "handler:\n  ");
  memset(doc + 11, 'k', 2000);
  strcpy(doc + 2011, ": 1\n");
  assert_int_equal(parse_yaml(doc, &s), MS_ECORRUPT);
  expect_msg("longer than 1024 characters");
  /* A long key written with '?' is fine. */
  strcpy(doc, "? ");
  memset(doc + 2, 'k', 2000);
  strcpy(doc + 2002, "\n: 1\n");
  assert_int_equal(parse_yaml(doc, &s), MS_OK);
  ms__registry_settings_free(&s);
  /* A real non-mapping still says so. */
  assert_int_equal(parse_yaml("just text\n", &s), MS_ECORRUPT);
  expect_msg("must be a mapping");
  assert_int_equal(parse_yaml("- 1\n- 2\n", &s), MS_ECORRUPT);
  expect_msg("must be a mapping");
  free(doc);
}

static void registry_open_config_path_statuses(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("settings-open");
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  ms_registry *r = (ms_registry *)(uintptr_t)0x1;
  /* Missing: MS_ENOTFOUND, as the header says, with the call named. */
  char *missing = ms_test_path(dir, "nope.json");
  assert_int_equal(ms_registry_open(s, missing, &r), MS_ENOTFOUND);
  expect_msg("registry: ms_registry_open: global config");
  expect_msg("nope.json");
  assert_ptr_equal(r, (ms_registry *)(uintptr_t)0x1);
  /* A folder: MS_EIO saying so. */
  assert_int_equal(ms_registry_open(s, dir, &r), MS_EIO);
  expect_msg("folder");
  /* A FIFO nobody writes to: refused at once, never waited on. */
  char *fifo = ms_test_path(dir, "fifo.json");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_int_equal(ms_registry_open(s, fifo, &r), MS_EIO);
  expect_msg("not a regular file");
  assert_ptr_equal(r, (ms_registry *)(uintptr_t)0x1);
  /* ms_archive_inspect reads the global config the same way. */
  ms_model *m = NULL;
  assert_int_equal(ms_archive_inspect(dir, fifo, &m), MS_EIO);
  assert_null(m);
  /* A broken file: MS_ECORRUPT naming it. */
  char *broken = ms_test_path(dir, "broken.json");
  assert_int_equal(t_write_text(broken, "{\"defaults\": 3}"), 0);
  assert_int_equal(ms_registry_open(s, broken, &r), MS_ECORRUPT);
  expect_msg("broken.json");
  ms_store_close(s);
  free(missing);
  free(fifo);
  free(broken);
  ms_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(yaml_key_count_is_bounded),
      cmocka_unit_test(yaml_duplicates_found_at_any_size),
      cmocka_unit_test(merge_replaces_extras_key_by_key),
      cmocka_unit_test(global_config_entries_are_unique_and_found),
      cmocka_unit_test(yaml_durations_are_checked_both_ways),
      cmocka_unit_test(json_durations_are_checked_both_ways),
      cmocka_unit_test(overrides_reject_out_of_range_microseconds),
      cmocka_unit_test(manifest_strings_are_utf8_without_nul),
      cmocka_unit_test(yaml_strings_are_utf8_without_nul),
      cmocka_unit_test(global_config_strings_are_utf8),
      cmocka_unit_test(register_refuses_bad_text_and_changes_nothing),
      cmocka_unit_test(json_nesting_limit_is_named),
      cmocka_unit_test(big_integers_are_printed_digit_for_digit),
      cmocka_unit_test(long_yaml_keys_are_named),
      cmocka_unit_test(registry_open_config_path_statuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
