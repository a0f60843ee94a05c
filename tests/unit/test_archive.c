/* Unit tests: SHA-256, manifest parsing, reading archives (zip stored and
 * deflate, tar.gz, folders, memory images), bad input, and materialize
 * against hostile archives built at run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sha256.h"
#include "mserve.h"
#include "mserve/registry.h"
#include "registry/archive.h"
#include "registry/manifest.h"
#include "registry_testutil.h"
#include "testutil.h"

/* ---- SHA-256 -------------------------------------------------------------- */

static void hex_of(const void *data, size_t len, char out[65]) {
  ms__sha256 c;
  ms__sha256_init(&c);
  ms__sha256_update(&c, data, len);
  ms__sha256_final_hex(&c, out);
}

static void sha256_test_vectors(void **state) {
  (void)state;
  char h[65];
  hex_of("", 0, h);
  assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hex_of("abc", 3, h);
  assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hex_of(two, strlen(two), h);
  assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  /* One million 'a', fed in uneven pieces to cover the buffering. */
  ms__sha256 c;
  ms__sha256_init(&c);
  char a[997];
  memset(a, 'a', sizeof a);
  size_t left = 1000000;
  for (size_t piece = 1; left; piece = piece % 900 + 13) {
    size_t k = piece < left ? piece : left;
    ms__sha256_update(&c, a, k);
    left -= k;
  }
  ms__sha256_final_hex(&c, h);
  assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The SHA extensions block function (when this CPU has one) computes the
 * same state as the portable one, for every block count, and update()
 * gives the same digest however the input is cut. */
static void sha256_implementations_agree(void **state) {
  (void)state;
  enum { N = 64 * 300 + 37 };
  unsigned char *data = malloc(N);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < N; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    data[i] = (unsigned char)x;
  }
  ms__sha256_blocks_fn accel = ms__sha256_blocks_accel();
  printf("sha256 implementation: %s\n", ms__sha256_impl());
  if (accel) {
    for (size_t blocks = 0; blocks <= 300; blocks += blocks < 8 ? 1 : 29) {
      uint32_t a[8], b[8];
      for (int i = 0; i < 8; i++) a[i] = b[i] = (uint32_t)(0x01234567u * (unsigned)(i + 1));
      ms__sha256_blocks_portable(a, data + 1, blocks); /* unaligned on purpose */
      accel(b, data + 1, blocks);
      assert_memory_equal(a, b, sizeof a);
    }
  }
  char whole[65], cut[65];
  hex_of(data, N, whole);
  ms__sha256 c;
  ms__sha256_init(&c);
  for (size_t off = 0, step = 1; off < N; off += step, step = step * 3 % 1031 + 1)
    ms__sha256_update(&c, data + off, off + step > N ? N - off : step);
  ms__sha256_final_hex(&c, cut);
  assert_string_equal(whole, cut);
  free(data);
}

/* ---- manifests ------------------------------------------------------------ */

static int parse(const char *json, ms__manifest *m) { return ms__registry_manifest_parse(json, strlen(json), "MANIFEST.json", m); }

static void manifests_parse_and_migrate(void **state) {
  (void)state;
  ms__manifest m;
  assert_int_equal(parse("{\"runtime\": \"python\", \"model\": {\"modelName\": \"a.b-c_d\", \"handler\": \"h:f\","
                         " \"unknown\": {\"x\": 1}}, \"extra\": true}",
                         &m),
                   MS_OK);
  assert_string_equal(m.name, "a.b-c_d");
  assert_string_equal(m.version, "1.0"); /* missing modelVersion */
  assert_string_equal(m.handler, "h:f");
  assert_string_equal(m.runtime, "python");
  assert_null(m.config_file);
  assert_int_equal(m.legacy, 0);
  ms__registry_manifest_free(&m);
  assert_int_equal(parse("{\"Model-Archive-Version\": 0.1, \"Model\": {\"Model-Name\": \"old\", \"Service\": \"s.py\"}}", &m),
                   MS_OK);
  assert_string_equal(m.name, "old");
  assert_string_equal(m.handler, "s.py");
  assert_string_equal(m.version, "1.0");
  assert_int_equal(m.legacy, 1);
  ms__registry_manifest_free(&m);
}

static void bad_manifests_are_explained(void **state) {
  (void)state;
  static const struct {
    const char *json, *needle;
  } bad[] = {
      {"{\"model\": {\"modelName\": \"x\",}}", "byte"},
      {"{\n\"model\": \n{\"modelName\" \"x\"}}", "line 3"},
      {"", "empty"},
      {"[]", "object"},
      {"{\"runtime\": \"python\"}", "\"model\""},
      {"{\"model\": []}", "'model'"},
      {"{\"model\": {}}", "modelName"},
      {"{\"model\": {\"modelName\": 42}}", "modelName"},
      {"{\"model\": {\"modelName\": \"x\", \"modelVersion\": 1.0}}", "modelVersion"},
      {"{\"model\": {\"modelName\": \"x\", \"handler\": []}}", "handler"},
      {"{\"model\": {\"modelName\": \"x\"}, \"runtime\": 3}", "runtime"},
      {"{\"model\": {\"modelName\": \"../etc\"}}", "does not match"},
      {"{\"model\": {\"modelName\": \"-x\"}}", "does not match"},
      {"{\"model\": {\"modelName\": \"\"}}", "does not match"},
      {"{\"model\": {\"modelName\": \"a b\"}}", "does not match"},
      {"{\"model\": {\"modelName\": \"x\", \"modelVersion\": \"1/2\"}}", "version"},
      {"{\"model\": {\"modelName\": \"x\", \"configFile\": \"../c.yaml\"}}", "configFile"},
      {"{\"model\": {\"modelName\": \"x\", \"configFile\": \"/etc/c.yaml\"}}", "configFile"},
      {"{\"Model\": {\"Service\": \"s.py\"}}", "Model-Name"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms__manifest m;
    int st = parse(bad[i].json, &m);
    if (st != MS_ECORRUPT) fail_msg("manifest %zu accepted: %s", i, bad[i].json);
    if (!strstr(ms_errmsg(), bad[i].needle) || !strstr(ms_errmsg(), "MANIFEST.json"))
      fail_msg("manifest %zu: message '%s' lacks '%s'", i, ms_errmsg(), bad[i].needle);
  }
  /* Not NUL-terminated input is fine. */
  const char *j = "{\"model\": {\"modelName\": \"x\"}}GARBAGE";
  ms__manifest m;
  assert_int_equal(ms__registry_manifest_parse(j, strlen(j) - 7, "m", &m), MS_OK);
  ms__registry_manifest_free(&m);
}

/* ---- reading archives ----------------------------------------------------- */

typedef struct fx {
  char *dir;     /* sandbox: everything the test writes lives here */
  char *root;    /* extraction root inside it */
  ms_store *s;
  ms_registry *r;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("archive");
  f->root = ms_test_path(f->dir, "root");
  if (ms_store_open(":memory:", 0, &f->s) || ms_registry_open(f->s, NULL, &f->r)) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ms_registry_close(f->r);
  ms_store_close(f->s);
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->root);
  free(f);
  return 0;
}

static char *load(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

static void formats_read_the_same_model(void **state) {
  fx *f = *state;
  char *man = t_manifest("multi", "2.0", NULL, "conf/model-config.yaml");
  t_entry zip[] = {{"model.pt", T_FILE, NULL, 200000, NULL},
                   {"conf/model-config.yaml", T_FILE, "batchSize: 3\n", 0, NULL},
                   {"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}};
  t_entry tgz[] = {{"multi/", T_DIR, NULL, 0, NULL},
                   {"multi/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                   {"multi/model.pt", T_FILE, NULL, 200000, NULL},
                   {"multi/conf/model-config.yaml", T_FILE, "batchSize: 3\n", 0, NULL}};
  const char *names[] = {"deflate.mar", "stored.mar", "gz.tar.gz", "gz.tgz"};
  const char *fmts[] = {"zip", "zip-store", "tgz", "tgz"};
  for (size_t i = 0; i < 4; i++) {
    char *p = ms_test_path(f->dir, names[i]);
    int is_zip = strncmp(fmts[i], "zip", 3) == 0;
    assert_int_equal(t_write_archive(p, fmts[i], is_zip ? zip : tgz, is_zip ? 3 : 4), 0);
    ms_model *m = NULL;
    if (ms_archive_inspect(p, NULL, &m) != MS_OK) fail_msg("%s: %s", names[i], ms_errmsg());
    assert_string_equal(ms_model_name(m), "multi");
    assert_string_equal(ms_model_version(m), "2.0");
    int64_t v;
    assert_int_equal(ms_model_get_int(m, "batch_size", &v, NULL), MS_OK);
    assert_int_equal(v, 3);
    ms_model_free(m);
    /* The same bytes from memory (the fuzzing entry point). */
    size_t len;
    char *buf = load(p, &len);
    ms__archive_meta meta;
    assert_int_equal(ms__registry_archive_read_manifest_from_memory(buf, len, names[i], &meta), MS_OK);
    assert_string_equal(meta.manifest.name, "multi");
    assert_int_equal(meta.config.ival[MS__K_BATCH_SIZE], 3);
    ms__archive_meta meta2;
    assert_int_equal(ms__registry_archive_read_path(p, is_zip ? MS__FMT_ZIP : MS__FMT_TGZ, &meta2), MS_OK);
    assert_string_equal(meta.hash, meta2.hash);
    ms__registry_archive_meta_free(&meta);
    ms__registry_archive_meta_free(&meta2);
    free(buf);
    free(p);
  }
  free(man);
}

/* The zip hash covers the central directory: a payload byte flipped in
 * place (same size) changes the entry's CRC-32 and so the hash. */
static void zip_hash_follows_content(void **state) {
  fx *f = *state;
  char *man = t_manifest("h", "1", NULL, NULL);
  t_entry e1[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"w.bin", T_FILE, "0123456789", 0, NULL}};
  t_entry e2[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"w.bin", T_FILE, "0123456780", 0, NULL}};
  char *p1 = ms_test_path(f->dir, "1.mar"), *p2 = ms_test_path(f->dir, "2.mar"), *p3 = ms_test_path(f->dir, "3.mar");
  assert_int_equal(t_write_archive(p1, "zip-store", e1, 2), 0);
  assert_int_equal(t_write_archive(p2, "zip-store", e2, 2), 0);
  assert_int_equal(t_write_archive(p3, "zip-store", e1, 2), 0);
  ms__archive_meta a, b, c;
  assert_int_equal(ms__registry_archive_read_path(p1, MS__FMT_ZIP, &a), MS_OK);
  assert_int_equal(ms__registry_archive_read_path(p2, MS__FMT_ZIP, &b), MS_OK);
  assert_int_equal(ms__registry_archive_read_path(p3, MS__FMT_ZIP, &c), MS_OK);
  assert_string_not_equal(a.hash, b.hash);
  assert_string_equal(a.hash, c.hash);
  ms__registry_archive_meta_free(&a);
  ms__registry_archive_meta_free(&b);
  ms__registry_archive_meta_free(&c);
  free(p1);
  free(p2);
  free(p3);
  free(man);
}

static void bad_archives_are_explained(void **state) {
  fx *f = *state;
  char *man = t_manifest("ok", "1", NULL, NULL);
  char *man_cfg = t_manifest("ok", "1", NULL, "absent.yaml");
  t_entry good[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"model.pt", T_FILE, NULL, 5000, NULL}};
  t_entry nomanifest[] = {{"model.pt", T_FILE, "x", 0, NULL}};
  t_entry nocfg[] = {{"MAR-INF/MANIFEST.json", T_FILE, man_cfg, 0, NULL}};
  t_entry badjson[] = {{"MAR-INF/MANIFEST.json", T_FILE, "{\"model\": ", 0, NULL}};
  t_entry badyaml[] = {{"MAR-INF/MANIFEST.json", T_FILE, man_cfg, 0, NULL}, {"absent.yaml", T_FILE, "a: &x 1\n", 0, NULL}};
  t_entry dirmanifest[] = {{"MAR-INF/MANIFEST.json/", T_DIR, NULL, 0, NULL}};
  struct {
    const char *file, *fmt;
    t_entry *e;
    size_t n;
    const char *needle;
  } cases[] = {
      {"nomanifest.mar", "zip", nomanifest, 1, "MANIFEST.json"},
      {"nomanifest.tgz", "tgz", nomanifest, 1, "MANIFEST.json"},
      {"nocfg.mar", "zip", nocfg, 1, "absent.yaml"},
      {"badjson.mar", "zip", badjson, 1, "invalid JSON"},
      {"badyaml.mar", "zip", badyaml, 2, "anchors"},
      {"dirmanifest.mar", "zip", dirmanifest, 1, "MANIFEST.json"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = ms_test_path(f->dir, cases[i].file);
    assert_int_equal(t_write_archive(p, cases[i].fmt, cases[i].e, cases[i].n), 0);
    ms_model *m = NULL;
    int st = ms_archive_inspect(p, NULL, &m);
    if (st != MS_ECORRUPT || !strstr(ms_errmsg(), cases[i].file) || !strstr(ms_errmsg(), cases[i].needle))
      fail_msg("%s: %s '%s'", cases[i].file, ms_status_name(st), ms_errmsg());
    free(p);
  }
  /* Truncations of a good zip and tar.gz at many lengths, and garbage. A
   * tar.gz is read to its end, so a cut after its manifest fails too. */
  const char *fmts[] = {"zip", "tgz"};
  for (size_t k = 0; k < 2; k++) {
    char *p = ms_test_path(f->dir, k ? "good.tgz" : "good.mar");
    assert_int_equal(t_write_archive(p, fmts[k], good, 2), 0);
    size_t len;
    char *buf = load(p, &len);
    char *cut = ms_test_path(f->dir, k ? "cut.tgz" : "cut.mar");
    for (size_t n = 0; n < len; n += 1 + len / 97) {
      assert_int_equal(ms_test_write_file(cut, buf, n), 0);
      ms_model *m = NULL;
      int st = ms_archive_inspect(cut, NULL, &m);
      if (st != MS_ECORRUPT) fail_msg("%s cut at %zu of %zu: %s %s", fmts[k], n, len, ms_status_name(st), ms_errmsg());
      assert_non_null(strstr(ms_errmsg(), "cut."));
      ms__archive_meta meta;
      assert_int_not_equal(ms__registry_archive_read_manifest_from_memory(buf, n, "mem", &meta), MS_OK);
    }
    for (size_t n = 0; n < len; n += 7) buf[n] = (char)(buf[n] ^ 0x5a);
    assert_int_equal(ms_test_write_file(cut, buf, len), 0);
    ms_model *m = NULL;
    int st = ms_archive_inspect(cut, NULL, &m);
    if (st == MS_OK) ms_model_free(m);
    else assert_true(st == MS_ECORRUPT);
    free(buf);
    free(cut);
    free(p);
  }
  ms__archive_meta meta;
  assert_int_equal(ms__registry_archive_read_manifest_from_memory("hello", 5, "mem", &meta), MS_ECORRUPT);
  assert_int_equal(ms__registry_archive_read_manifest_from_memory(NULL, 0, "mem", &meta), MS_ECORRUPT);
  free(man);
  free(man_cfg);
}

/* A tar.gz is read in one pass: the config may come before the manifest
 * (kept on the way), after it, or, when too much came before the manifest
 * to keep, be found by a second pass. */
static void tgz_config_anywhere(void **state) {
  fx *f = *state;
  char *man = t_manifest("t", "1", NULL, "conf/model-config.yaml");
  char *man_dot = t_manifest("t", "1", NULL, "./conf/model-config.yaml");
  t_entry before[] = {{"t/conf/model-config.yaml", T_FILE, "batchSize: 6\n", 0, NULL},
                      {"t/model.pt", T_FILE, NULL, 300000, NULL},
                      {"t/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}};
  t_entry after[] = {{"t/MAR-INF/MANIFEST.json", T_FILE, man_dot, 0, NULL},
                     {"t/model.pt", T_FILE, NULL, 300000, NULL},
                     {"t/conf/model-config.yaml", T_FILE, "batchSize: 6\n", 0, NULL}};
  /* Entries before the config that fill exactly what is kept: the config
   * no longer fits, so the second pass has to find it. */
  enum { FULL = MS__TGZ_PENDING_BUDGET / MS__META_MAX_BYTES };
  _Static_assert(FULL >= 1 && FULL <= 6, "crowded[] holds up to 6 filler entries");
  t_entry crowded[8] = {{"t/w1.bin", T_FILE, NULL, MS__META_MAX_BYTES, NULL}};
  static const char *fill_names[] = {"t/w1.bin", "t/w2.bin", "t/w3.bin", "t/w4.bin", "t/w5.bin", "t/w6.bin"};
  for (size_t k = 0; k < FULL; k++) crowded[k] = (t_entry){fill_names[k], T_FILE, NULL, MS__META_MAX_BYTES, NULL};
  crowded[FULL] = (t_entry){"t/conf/model-config.yaml", T_FILE, "batchSize: 6\n", 0, NULL};
  crowded[FULL + 1] = (t_entry){"t/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL};
  t_entry missing[] = {{"t/model.pt", T_FILE, "w", 0, NULL}, {"t/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}};
  t_entry legacy[] = {{"old/MANIFEST.json", T_FILE, "{\"Model\": {\"Model-Name\": \"old\", \"Service\": \"s.py\"}}", 0, NULL},
                      {"old/s.py", T_FILE, "pass\n", 0, NULL}};
  struct {
    const char *file;
    t_entry *e;
    size_t n;
    int expect_st;
    const char *name;
  } cases[] = {
      {"before.tgz", before, 3, MS_OK, "t"},   {"after.tgz", after, 3, MS_OK, "t"},
      {"crowded.tgz", crowded, FULL + 2, MS_OK, "t"}, {"missing.tgz", missing, 2, MS_ECORRUPT, NULL},
      {"legacy.tgz", legacy, 2, MS_OK, "old"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = ms_test_path(f->dir, cases[i].file);
    assert_int_equal(t_write_archive(p, "tgz", cases[i].e, cases[i].n), 0);
    ms_model *m = NULL;
    int st = ms_archive_inspect(p, NULL, &m);
    if (st != cases[i].expect_st) fail_msg("%s: %s %s", cases[i].file, ms_status_name(st), ms_errmsg());
    if (st) {
      assert_non_null(strstr(ms_errmsg(), cases[i].file));
      assert_non_null(strstr(ms_errmsg(), "model-config.yaml"));
    } else {
      assert_string_equal(ms_model_name(m), cases[i].name);
      int64_t v = 0;
      assert_int_equal(ms_model_get_int(m, "batch_size", &v, NULL), MS_OK);
      assert_int_equal(v, strcmp(cases[i].name, "t") == 0 ? 6 : 1);
      ms_model_free(m);
    }
    free(p);
  }
  free(man);
  free(man_dot);
}

/* Reading a tar.gz decompresses it whole: a bomb before or after the
 * manifest is refused by the registry's limits, before it is inflated. */
static void tgz_bomb_before_the_manifest(void **state) {
  fx *f = *state;
  char *man = t_manifest("bomb", "1", NULL, NULL);
  t_entry before[] = {{"b/zeros.bin", T_FILE, NULL, 2000000, NULL}, {"b/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}};
  t_entry after[] = {{"b/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"b/zeros.bin", T_FILE, NULL, 2000000, NULL}};
  /* Past the 64 MiB floor of the ratio check: 70 MB of one byte is ~70 kB. */
  t_entry ratio[] = {{"b/zeros.bin", T_FILE, NULL, 70000000, NULL}, {"b/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}};
  char *p1 = ms_test_path(f->dir, "before.tgz"), *p2 = ms_test_path(f->dir, "after.tgz"),
       *p3 = ms_test_path(f->dir, "ratio.tgz");
  assert_int_equal(t_write_archive(p1, "tgz", before, 2), 0);
  assert_int_equal(t_write_archive(p2, "tgz", after, 2), 0);
  assert_int_equal(t_write_archive(p3, "tgz", ratio, 2), 0);
  assert_int_equal(ms_registry_set_limits(f->r, 1000, 1000000, 100), MS_OK);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(f->r, p1, NULL, &m), MS_EUNSAFE);
  assert_non_null(strstr(ms_errmsg(), "before.tgz"));
  assert_non_null(strstr(ms_errmsg(), "1000000 bytes"));
  assert_int_equal(ms_registry_register(f->r, p2, NULL, &m), MS_EUNSAFE);
  assert_non_null(strstr(ms_errmsg(), "after.tgz"));
  assert_non_null(strstr(ms_errmsg(), "1000000 bytes"));
  assert_int_equal(ms_registry_set_limits(f->r, 1000, (int64_t)1 << 40, 100), MS_OK);
  assert_int_equal(ms_registry_register(f->r, p3, NULL, &m), MS_EUNSAFE);
  assert_non_null(strstr(ms_errmsg(), "ratio"));
  /* Deflate tops out near 1032:1; a ratio limit above that lets it through. */
  assert_int_equal(ms_registry_set_limits(f->r, MS_REGISTRY_DEFAULT_MAX_ENTRIES, MS_REGISTRY_DEFAULT_MAX_BYTES, 2000),
                   MS_OK);
  assert_int_equal(ms_registry_register(f->r, p3, NULL, &m), MS_OK);
  ms_model_free(m);
  free(p1);
  free(p2);
  free(p3);
  free(man);
}

/* The tar.gz hash covers every byte of the file, also the part after the
 * manifest that reading never decompresses; a pure file copy hashes the same. */
static void tgz_hash_covers_the_whole_file(void **state) {
  fx *f = *state;
  char *man = t_manifest("w", "1", NULL, NULL);
  /* Incompressible, so the file is several times the reader's chunk. */
  t_entry e[] = {{"w/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"w/model.pt", T_NOISE, NULL, 1500000, NULL}};
  char *p = ms_test_path(f->dir, "w.tgz"), *q = ms_test_path(f->dir, "w2.tgz");
  assert_int_equal(t_write_archive(p, "tgz", e, 2), 0);
  size_t len;
  char *buf = load(p, &len);
  assert_int_equal(ms_test_write_file(q, buf, len), 0);
  ms__archive_meta a, b;
  assert_int_equal(ms__registry_archive_read_path(p, MS__FMT_TGZ, &a), MS_OK);
  assert_int_equal(ms__registry_archive_read_path(q, MS__FMT_TGZ, &b), MS_OK);
  assert_string_equal(a.hash, b.hash);
  ms__registry_archive_meta_free(&b);
  buf[len - 20] = (char)(buf[len - 20] ^ 1); /* deep in the compressed payload */
  assert_int_equal(ms_test_write_file(q, buf, len), 0);
  /* The manifest comes first, but the file is read to its end: refused. */
  assert_int_equal(ms__registry_archive_read_path(q, MS__FMT_TGZ, &b), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "w2.tgz"));
  char *grown = malloc(len + 1);
  buf[len - 20] = (char)(buf[len - 20] ^ 1); /* back to the original */
  memcpy(grown, buf, len);
  grown[len] = '\n'; /* trailing garbage after the gzip stream */
  assert_int_equal(ms_test_write_file(q, grown, len + 1), 0);
  assert_int_equal(ms__registry_archive_read_path(q, MS__FMT_TGZ, &b), MS_OK);
  assert_string_not_equal(a.hash, b.hash);
  ms__registry_archive_meta_free(&b);
  ms__registry_archive_meta_free(&a);
  free(grown);
  free(buf);
  free(p);
  free(q);
  free(man);
}

/* ---- materialize ---------------------------------------------------------- */

/* Names of every file under `dir` (recursive), sorted, one per line. */
static void walk(const char *dir, const char *prefix, char *out, size_t cap) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char *names[256];
  size_t n = 0;
  while ((de = readdir(d)) && n < 256)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) names[n++] = strdup(de->d_name);
  closedir(d);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) {
        char *t = names[i];
        names[i] = names[j];
        names[j] = t;
      }
  for (size_t i = 0; i < n; i++) {
    char rel[1024], full[2048];
    snprintf(rel, sizeof rel, "%s%s", prefix, names[i]);
    snprintf(full, sizeof full, "%s/%s", dir, names[i]);
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s\n", rel);
    struct stat sb;
    if (lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      char sub[1100];
      snprintf(sub, sizeof sub, "%s/", rel);
      walk(full, sub, out, cap);
    }
    free(names[i]);
  }
}

static void materialize_extracts_once(void **state) {
  fx *f = *state;
  char *man = t_manifest("x", "1", NULL, NULL);
  t_entry e[] = {{"MAR-INF/", T_DIR, NULL, 0, NULL},
                 {"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                 {"./code/handler.py", T_FILE, "print(1)\n", 0, NULL},
                 {"model.pt", T_FILE, NULL, 100000, NULL}};
  char *p = ms_test_path(f->dir, "x.mar");
  assert_int_equal(t_write_archive(p, "zip", e, 4), 0);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(f->r, p, NULL, &m), MS_OK);
  char out[4096], out2[4096];
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_OK);
  assert_non_null(strstr(out, ms_model_content_hash(m)));
  char listing[8192] = "";
  walk(out, "", listing, sizeof listing);
  assert_string_equal(listing, "MAR-INF\nMAR-INF/MANIFEST.json\ncode\ncode/handler.py\nmodel.pt\n");
  char *pt = ms_test_path(out, "model.pt");
  struct stat sb;
  assert_int_equal(stat(pt, &sb), 0);
  assert_int_equal(sb.st_size, 100000);
  /* A second call reuses the folder, even with the archive gone. */
  assert_int_equal(unlink(p), 0);
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out2, sizeof out2), MS_OK);
  assert_string_equal(out, out2);
  char rootlist[8192] = "";
  walk(f->root, "", rootlist, sizeof rootlist);
  assert_int_equal(strchr(rootlist, '\n') - rootlist, 64); /* only the hash folder at the top */
  /* Too small a buffer writes nothing. */
  char tiny[8] = "keep";
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, tiny, sizeof tiny), MS_EINVAL);
  assert_string_equal(tiny, "keep");
  ms_model_free(m);
  free(pt);
  free(p);
  free(man);
}

static size_t count_in(const char *dir) {
  char listing[16384] = "";
  walk(dir, "", listing, sizeof listing);
  size_t n = 0;
  for (const char *c = listing; *c; c++) n += *c == '\n';
  return n;
}

/* An archive rewritten after registration is refused, and nothing is left
 * under the root: a zip is caught before extracting; a tar.gz (same
 * manifest, payload changed) after extracting it in full, by its hash. */
static void materialize_refuses_changed_archive(void **state) {
  fx *f = *state;
  char *p = ms_test_path(f->dir, "c.mar");
  assert_int_equal(t_write_mar(p, "c", "1", NULL, NULL), 0);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(f->r, p, NULL, &m), MS_OK);
  assert_int_equal(t_write_mar(p, "c", "1", NULL, "batchSize: 2\n"), 0);
  char out[4096] = "untouched";
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "c.mar"));
  assert_non_null(strstr(ms_errmsg(), "changed"));
  assert_string_equal(out, "untouched");
  ms_model_free(m);
  free(p);

  char *man = t_manifest("g", "1", NULL, NULL);
  t_entry v1[] = {{"g/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"g/model.pt", T_FILE, "version one", 0, NULL}};
  t_entry v2[] = {{"g/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"g/model.pt", T_FILE, "version two", 0, NULL}};
  p = ms_test_path(f->dir, "g.tar.gz");
  assert_int_equal(t_write_archive(p, "tgz", v1, 2), 0);
  assert_int_equal(ms_registry_register(f->r, p, NULL, &m), MS_OK);
  assert_int_equal(t_write_archive(p, "tgz", v2, 2), 0);
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "g.tar.gz"));
  assert_non_null(strstr(ms_errmsg(), "changed"));
  assert_string_equal(out, "untouched");
  assert_int_equal(count_in(f->root), 0); /* the extracted copy was discarded */
  /* Restored, it extracts, with the registered bytes. */
  assert_int_equal(t_write_archive(p, "tgz", v1, 2), 0);
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_OK);
  char *pt = ms_test_path(out, "model.pt");
  size_t len = 0;
  char *data = load(pt, &len);
  assert_int_equal(len, strlen("version one"));
  assert_memory_equal(data, "version one", len);
  free(data);
  free(pt);
  /* Gone and never extracted: MS_ENOTFOUND, naming the file. */
  ms_model *m2 = NULL;
  char *q = ms_test_path(f->dir, "gone.mar");
  assert_int_equal(t_write_mar(q, "gone", "1", NULL, NULL), 0);
  assert_int_equal(ms_registry_register(f->r, q, NULL, &m2), MS_OK);
  assert_int_equal(unlink(q), 0);
  assert_int_equal(ms_registry_materialize(f->r, m2, f->root, out, sizeof out), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "gone.mar"));
  ms_model_free(m2);
  free(q);
  ms_model_free(m);
  free(p);
  free(man);
}

typedef struct hostile {
  const char *file, *fmt;
  t_entry e[4];
  size_t n;
  const char *needle;
} hostile;

static void materialize_refuses_hostile_archives(void **state) {
  fx *f = *state;
  char *man = t_manifest("evil", "1", NULL, NULL);
  char abs_name[1024], link_target[1024];
  snprintf(abs_name, sizeof abs_name, "%s/evil_abs", f->dir);
  snprintf(link_target, sizeof link_target, "%s", f->dir);
  char deep[1024] = "";
  for (int i = 0; i < 200; i++) strcat(deep, "d/");
  strcat(deep, "x");
  hostile cases[] = {
      {"abs.mar", "zip", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {abs_name, T_FILE, "x", 0, NULL}}, 2, "absolute"},
      {"abs.tgz", "tgz", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {abs_name, T_FILE, "x", 0, NULL}}, 2, "absolute"},
      {"dotdot.mar", "zip", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"../evil_dotdot", T_FILE, "x", 0, NULL}}, 2, ".."},
      {"dotdot2.mar", "zip", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"MAR-INF/../../../evil2", T_FILE, "x", 0, NULL}}, 2, ".."},
      {"dotdot.tgz", "tgz", {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/../../evil3", T_FILE, "x", 0, NULL}}, 2, ".."},
      {"symlink.mar", "zip",
       {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"link", T_SYMLINK, NULL, 0, link_target}, {"link/evil_link", T_FILE, "x", 0, NULL}}, 3,
       "symbolic link"},
      {"symlink.tgz", "tgz",
       {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/link", T_SYMLINK, NULL, 0, link_target}, {"m/link/evil_link", T_FILE, "x", 0, NULL}}, 3,
       "symbolic link"},
      {"hardlink.tgz", "tgz",
       {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/hl", T_HARDLINK, NULL, 0, abs_name}}, 2, "hard link"},
      {"device.tgz", "tgz", {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/dev", T_CHR, NULL, 0, NULL}}, 2, "device"},
      {"blockdev.tgz", "tgz", {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/sda", T_BLK, NULL, 0, NULL}}, 2, "device"},
      {"dotdot_top.tgz", "tgz", {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/..", T_DIR, NULL, 0, NULL}}, 2, ".."},
      {"dotdot_mid.mar", "zip", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"./a/./../../evil4", T_FILE, "x", 0, NULL}}, 2, ".."},
      {"hardlink_in.tgz", "tgz",
       {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/a", T_FILE, "x", 0, NULL}, {"m/b", T_HARDLINK, NULL, 0, "m/a"}}, 3,
       "hard link"},
      {"entries.tgz", "tgz",
       {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/a", T_FILE, "1", 0, NULL}, {"m/b", T_FILE, "2", 0, NULL}, {"m/c", T_FILE, "3", 0, NULL}}, 4,
       "entries"},
      {"big.tgz", "tgz", {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/big.bin", T_FILE, NULL, 300000, NULL}}, 2, "size"},
      {"deep.mar", "zip", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {deep, T_FILE, "x", 0, NULL}}, 2, "deeper"},
      {"fifo.tgz", "tgz", {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/fifo", T_FIFO, NULL, 0, NULL}}, 2, "fifo"},
      {"entries.mar", "zip",
       {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"a", T_FILE, "1", 0, NULL}, {"b", T_FILE, "2", 0, NULL}, {"c", T_FILE, "3", 0, NULL}}, 4,
       "entries"},
      {"big.mar", "zip-store", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"big.bin", T_FILE, NULL, 300000, NULL}}, 2, "size"},
      {"bomb.mar", "zip", {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"bomb.bin", T_FILE, NULL, 150000, NULL}}, 2, "ratio"},
      {"bomb.tgz", "tgz", {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"m/bomb.bin", T_FILE, NULL, 150000, NULL}}, 2, "ratio"},
  };
  /* 3 entries, 200 kB, ratio 20: the bombs (150 kB of one byte, a few
   * hundred bytes packed) break the ratio before the size. */
  assert_int_equal(ms_registry_set_limits(f->r, 3, 200000, 20), MS_OK);
  char before[16384] = "";
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = ms_test_path(f->dir, cases[i].file);
    assert_int_equal(t_write_archive(p, cases[i].fmt, cases[i].e, cases[i].n), 0);
    free(p);
  }
  mkdir(f->root, 0755);
  walk(f->dir, "", before, sizeof before);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = ms_test_path(f->dir, cases[i].file);
    ms_model *m = NULL;
    /* Registration reads a zip's manifest only, so it succeeds; a tar.gz
     * is read whole, so one over the size limit is refused already. */
    (void)ms_registry_unregister(f->r, "evil", NULL); /* same manifest in every case */
    int st = ms_registry_register(f->r, p, NULL, &m);
    if (st == MS_EUNSAFE && strcmp(cases[i].fmt, "tgz") == 0) {
      if (!strstr(ms_errmsg(), cases[i].needle) || !strstr(ms_errmsg(), cases[i].file))
        fail_msg("%s: %s '%s'", cases[i].file, ms_status_name(st), ms_errmsg());
      free(p);
      continue;
    }
    if (st != MS_OK) fail_msg("%s: %s", cases[i].file, ms_errmsg());
    char out[4096] = "untouched";
    st = ms_registry_materialize(f->r, m, f->root, out, sizeof out);
    if (st != MS_EUNSAFE || !strstr(ms_errmsg(), cases[i].needle))
      fail_msg("%s: %s '%s'", cases[i].file, ms_status_name(st), ms_errmsg());
    assert_string_equal(out, "untouched");
    assert_non_null(strstr(ms_errmsg(), cases[i].file));
    char after[16384] = "";
    walk(f->dir, "", after, sizeof after);
    if (strcmp(before, after) != 0) fail_msg("%s changed the filesystem:\nbefore:\n%s\nafter:\n%s", cases[i].file, before, after);
    ms_model_free(m);
    free(p);
  }
  free(man);
}

/* Folder models are used in place. */
static void folder_model_materializes_in_place(void **state) {
  fx *f = *state;
  char *d = ms_test_path(f->dir, "folder");
  char *inf = ms_test_path(d, "MAR-INF");
  mkdir(d, 0755);
  mkdir(inf, 0755);
  char *mf = ms_test_path(inf, "MANIFEST.json");
  char *man = t_manifest("folder", "1", NULL, NULL);
  assert_int_equal(t_write_text(mf, man), 0);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(f->r, d, NULL, &m), MS_OK);
  char out[4096];
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_OK);
  char *real = realpath(d, NULL);
  assert_string_equal(out, real);
  free(real);
  ms_model_free(m);
  free(man);
  free(mf);
  free(inf);
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sha256_test_vectors),
      cmocka_unit_test(sha256_implementations_agree),
      cmocka_unit_test(manifests_parse_and_migrate),
      cmocka_unit_test(bad_manifests_are_explained),
      cmocka_unit_test_setup_teardown(formats_read_the_same_model, setup, teardown),
      cmocka_unit_test_setup_teardown(zip_hash_follows_content, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_archives_are_explained, setup, teardown),
      cmocka_unit_test_setup_teardown(tgz_config_anywhere, setup, teardown),
      cmocka_unit_test_setup_teardown(tgz_hash_covers_the_whole_file, setup, teardown),
      cmocka_unit_test_setup_teardown(tgz_bomb_before_the_manifest, setup, teardown),
      cmocka_unit_test_setup_teardown(materialize_extracts_once, setup, teardown),
      cmocka_unit_test_setup_teardown(materialize_refuses_changed_archive, setup, teardown),
      cmocka_unit_test_setup_teardown(materialize_refuses_hostile_archives, setup, teardown),
      cmocka_unit_test_setup_teardown(folder_model_materializes_in_place, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
