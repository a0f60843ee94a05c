/* Unit tests: the safetensors reader. Every rule has its own malformed
 * file, generated here, written to disk and read through the mapping path
 * (as ms_executor_open does); each must fail with MS_ECORRUPT and a message
 * naming the file and, where one is involved, the tensor. The valid cases
 * include the reference crate's own serialization vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve/common.h"
#include "test_executor_gen.h"

static char *g_dir;

static int group_setup(void **state) {
  (void)state;
  g_dir = ms_test_tmpdir("safetensors");
  return g_dir ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  ms_test_rmtree(g_dir);
  free(g_dir);
  return 0;
}

/* Write the image to a file named after the case, map and parse it. */
static int load(const char *name, gen_buf b, ms__st_file **out, char **path) {
  char file[128];
  snprintf(file, sizeof file, "%s.safetensors", name);
  *path = ms_test_path(g_dir, file);
  assert_int_equal(ms_test_write_file(*path, b.p, b.n), 0);
  free(b.p);
  return ms__executor_st_map(*path, *path, out);
}

/* Expect MS_ECORRUPT naming the file, the tensor (when given) and `cause`. */
static void expect_corrupt(const char *name, gen_buf b, const char *tensor, const char *cause) {
  ms__st_file *f = (ms__st_file *)(uintptr_t)0x1; /* untouched on failure */
  char *path = NULL;
  int st = load(name, b, &f, &path);
  if (st != MS_ECORRUPT) print_error("%s: %s %s\n", name, ms_status_name(st), ms_errmsg());
  assert_int_equal(st, MS_ECORRUPT);
  assert_ptr_equal(f, (ms__st_file *)(uintptr_t)0x1);
  const char *m = ms_errmsg();
  assert_non_null(strstr(m, path));
  if (tensor) {
    char q[160];
    snprintf(q, sizeof q, "tensor '%s'", tensor);
    if (!strstr(m, q)) print_error("%s: message '%s' lacks %s\n", name, m, q);
    assert_non_null(strstr(m, q));
  }
  if (cause && !strstr(m, cause)) print_error("%s: message '%s' lacks '%s'\n", name, m, cause);
  if (cause) assert_non_null(strstr(m, cause));
  free(path);
}

static ms__st_file *expect_ok(const char *name, gen_buf b) {
  ms__st_file *f = NULL;
  char *path = NULL;
  int st = load(name, b, &f, &path);
  if (st) print_error("%s: %s %s\n", name, ms_status_name(st), ms_errmsg());
  assert_int_equal(st, MS_OK);
  free(path);
  return f;
}

static const unsigned char ZEROS[64];

/* ---- valid files ------------------------------------------------------------- */

/* The reference crate's test_serialization vector: attn.0 F32 [1,2,3] = 0..5. */
static void test_reference_vector(void **state) {
  (void)state;
  static const unsigned char v[] = {
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34,
      58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97,
      116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0,
      128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64};
  gen_buf b = {0};
  gen_put(&b, v, sizeof v);
  ms__st_file *f = expect_ok("reference_vector", b);
  assert_int_equal(ms__executor_st_count(f), 1);
  const ms__st_tensor *t = ms__executor_st_find(f, "attn.0");
  assert_non_null(t);
  assert_int_equal(t->dtype, MS__ST_F32);
  assert_int_equal(t->ndim, 3);
  assert_int_equal(t->shape[0], 1);
  assert_int_equal(t->shape[1], 2);
  assert_int_equal(t->shape[2], 3);
  assert_int_equal(t->begin, 0);
  assert_int_equal(t->end, 24);
  float x[6];
  memcpy(x, t->data, sizeof x);
  for (int i = 0; i < 6; i++) assert_true(x[i] == (float)i);
  ms__executor_st_free(f);
}

/* The reference's test_empty vectors: no tensor, with and without metadata. */
static void test_empty_files(void **state) {
  (void)state;
  static const unsigned char e1[] = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};
  gen_buf b = {0};
  gen_put(&b, e1, sizeof e1);
  ms__st_file *f = expect_ok("empty", b);
  assert_int_equal(ms__executor_st_count(f), 0);
  ms__executor_st_free(f);
  static const unsigned char e2[] = {40,  0,   0,   0,   0,   0,   0,   0,   123, 34,  95,  95,  109, 101, 116, 97,
                                     100, 97,  116, 97,  95,  95,  34,  58,  123, 34,  102, 114, 97,  109, 101, 119,
                                     111, 114, 107, 34,  58,  34,  112, 116, 34,  125, 125, 32,  32,  32,  32,  32};
  b = (gen_buf){0};
  gen_put(&b, e2, sizeof e2);
  f = expect_ok("empty_metadata", b);
  assert_int_equal(ms__executor_st_metadata_count(f), 1);
  assert_string_equal(ms__executor_st_metadata_get(f, "framework"), "pt");
  assert_null(ms__executor_st_metadata_get(f, "other"));
  ms__executor_st_free(f);
  /* the reference's whitespace-padded header */
  static const unsigned char e3[] = {6, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0x0D, 0x20, 0x09, 0x0A};
  b = (gen_buf){0};
  gen_put(&b, e3, sizeof e3);
  ms__executor_st_free(expect_ok("whitespace_padded", b));
}

static void test_zero_sized_and_scalar(void **state) {
  (void)state;
  /* zero-sized tensors at the same offset as a real one; a scalar (shape []) */
  ms__st_file *f = expect_ok(
      "zero_sized",
      gen_raw_auto("{\"z\":{\"dtype\":\"I32\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
                   "\"s\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]},"
                   "\"e\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                   ZEROS, 4));
  assert_int_equal(ms__executor_st_count(f), 3);
  const ms__st_tensor *s = ms__executor_st_find(f, "s");
  assert_int_equal(s->ndim, 0);
  assert_null(s->shape);
  assert_int_equal(s->end - s->begin, 4);
  assert_int_equal(ms__executor_st_find(f, "z")->shape[1], 0);
  /* sorted by name */
  assert_string_equal(ms__executor_st_at(f, 0)->name, "e");
  assert_string_equal(ms__executor_st_at(f, 2)->name, "z");
  ms__executor_st_free(f);
}

static void test_every_dtype_and_unknown_fields(void **state) {
  (void)state;
  /* every dtype with its size: 8 elements each (F4: 4 bytes, F6: 6 bytes) */
  gen_buf h = {0};
  gen_puts(&h, "{\"__metadata__\":{\"a\":\"1\",\"b\":\"\"}");
  uint64_t off = 0;
  for (int d = 0; d < MS__ST_DTYPE_COUNT; d++) {
    uint64_t bytes = 8u * ms__executor_st_dtype_bits(d) / 8u;
    gen_printf(&h, ",\"t%02d\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[%llu,%llu],\"extra\":[1,{\"x\":2}]}",
               d, ms__executor_st_dtype_name(d), (unsigned long long)off, (unsigned long long)(off + bytes));
    off += bytes;
  }
  gen_puts(&h, "}");
  unsigned char *data = calloc(1, (size_t)off);
  gen_buf b = gen_raw_auto((const char *)h.p, data, (size_t)off);
  free(h.p);
  free(data);
  ms__st_file *f = expect_ok("every_dtype", b);
  assert_int_equal(ms__executor_st_count(f), MS__ST_DTYPE_COUNT);
  for (int d = 0; d < MS__ST_DTYPE_COUNT; d++) {
    char n[8];
    snprintf(n, sizeof n, "t%02d", d);
    const ms__st_tensor *t = ms__executor_st_find(f, n);
    assert_non_null(t);
    assert_int_equal(t->dtype, d);
    assert_int_equal(ms__executor_st_dtype_lookup(ms__executor_st_dtype_name(d)), d);
  }
  assert_int_equal(ms__executor_st_metadata_count(f), 2);
  assert_string_equal(ms__executor_st_metadata_get(f, "b"), "");
  ms__executor_st_free(f);
  assert_int_equal(ms__executor_st_dtype_lookup("f32"), -1);
  assert_int_equal(ms__executor_st_dtype_bits(MS__ST_F4), 4);
  assert_int_equal(ms__executor_st_dtype_bits(MS__ST_C64), 64);
}

/* Large exact integers: cJSON's doubles would round 2^53 + 1. */
static void test_exact_integers(void **state) {
  (void)state;
  ms__st_file *f = expect_ok("exact_integers",
                             gen_raw_auto("{\"z\":{\"dtype\":\"U8\",\"shape\":[0,9007199254740993,"
                                          "18446744073709551615],\"data_offsets\":[0,0]}}",
                                          NULL, 0));
  const ms__st_tensor *t = ms__executor_st_find(f, "z");
  assert_true(t->shape[1] == 9007199254740993ull);
  assert_true(t->shape[2] == 18446744073709551615ull);
  ms__executor_st_free(f);
}

/* A misaligned data section (header length not a multiple of 8) is valid. */
static void test_misaligned_is_valid(void **state) {
  (void)state;
  float v[2] = {1.5f, -2.0f};
  ms__st_file *f =
      expect_ok("misaligned", gen_raw_auto("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} ", v, 8));
  const ms__st_tensor *t = ms__executor_st_find(f, "a");
  assert_int_not_equal((uintptr_t)t->data % 4, 0);
  float got[2];
  memcpy(got, t->data, 8);
  assert_true(got[0] == 1.5f && got[1] == -2.0f);
  ms__executor_st_free(f);
}

/* ---- the header --------------------------------------------------------------- */

static void test_too_small(void **state) {
  (void)state;
  gen_buf b = {0};
  gen_put(&b, "\x05\0\0", 3);
  expect_corrupt("too_small", b, NULL, "too small");
  expect_corrupt("zero_bytes", (gen_buf){0}, NULL, "too small");
}

static void test_header_too_large(void **state) {
  (void)state;
  /* the reference's test_header_too_large: a length of 0xffffff000000003c */
  gen_buf b = gen_raw("{}", 0xFFFFFF000000003Cull, NULL, 0);
  expect_corrupt("header_too_large", b, NULL, "over the limit of 100000000");
  /* just over the limit, with the bytes present (sparse-looking but real) */
  b = gen_raw("{}", 100000001ull, NULL, 0);
  expect_corrupt("header_limit_plus_one", b, NULL, "over the limit");
}

static void test_header_past_end(void **state) {
  (void)state;
  expect_corrupt("header_past_end", gen_raw("", 60, NULL, 0), NULL, "runs past the end of the file");
  expect_corrupt("header_past_end_by_one", gen_raw("{}", 3, NULL, 0), NULL, "runs past the end");
}

static void test_not_utf8(void **state) {
  (void)state;
  expect_corrupt("utf8_ff", gen_raw_auto("\xff", NULL, 0), NULL, "UTF-8");
  expect_corrupt("utf8_overlong", gen_raw_auto("{\"\xc0\x80\":{}}", NULL, 0), NULL, "UTF-8");
  expect_corrupt("utf8_surrogate", gen_raw_auto("{\"\xed\xa0\x80\":{}}", NULL, 0), NULL, "UTF-8");
  expect_corrupt("utf8_truncated", gen_raw_auto("{\"\xe2\x82\"}", NULL, 0), NULL, "UTF-8");
  expect_corrupt("utf8_past_max", gen_raw_auto("{\"\xf4\x90\x80\x80\":{}}", NULL, 0), NULL, "UTF-8");
  /* valid multi-byte names are fine */
  ms__executor_st_free(expect_ok("utf8_valid", gen_raw_auto("{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\":"
                                                            "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                                                            ZEROS, 1)));
}

static void test_not_json(void **state) {
  (void)state;
  expect_corrupt("json_open_brace", gen_raw_auto("{", NULL, 0), NULL, "not valid JSON");
  expect_corrupt("json_trailing_comma", gen_raw_auto("{\"a\":{},}", NULL, 0), NULL, "not valid JSON");
  expect_corrupt("json_start_space", gen_raw_auto(" {}", NULL, 0), NULL, "does not start with '{'");
  expect_corrupt("json_array", gen_raw_auto("[]", NULL, 0), NULL, "does not start with '{'");
  expect_corrupt("json_trailing", gen_raw_auto("{}x", NULL, 0), NULL, "trailing characters");
  expect_corrupt("json_two_objects", gen_raw_auto("{} {}", NULL, 0), NULL, "trailing characters");
  expect_corrupt("json_nul_padding", gen_raw("{}", 4, "\0\0", 2), NULL, "trailing characters");
  expect_corrupt("json_control_outside", gen_raw_auto("{\x01}", NULL, 0), NULL, "control character");
  expect_corrupt("json_control_in_string", gen_raw_auto("{\"a\x01\":{}}", NULL, 0), NULL, "control character");
  expect_corrupt("json_nul_escape", gen_raw_auto("{\"a\\u0000b\":{}}", NULL, 0), NULL, "\\u0000");
}

static void test_entry_shape(void **state) {
  (void)state;
  expect_corrupt("entry_not_object", gen_raw_auto("{\"w\":[1,2]}", NULL, 0), "w", "not an object");
  expect_corrupt("entry_no_dtype", gen_raw_auto("{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", ZEROS, 1), "w",
                 "missing 'dtype'");
  expect_corrupt("entry_no_shape", gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", ZEROS, 1), "w",
                 "missing 'shape'");
  expect_corrupt("entry_no_offsets", gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", ZEROS, 1), "w",
                 "missing 'data_offsets'");
  expect_corrupt("entry_dtype_number",
                 gen_raw_auto("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", ZEROS, 1), "w",
                 "dtype is not a string");
  expect_corrupt("entry_shape_object",
                 gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"shape\":{},\"data_offsets\":[0,1]}}", ZEROS, 1), "w",
                 "shape is not an array");
  expect_corrupt("entry_shape_string",
                 gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]}}", ZEROS, 1), "w",
                 "not an integer");
  expect_corrupt("entry_offsets_three",
                 gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,1]}}", ZEROS, 1), "w",
                 "pair of integers");
  expect_corrupt("entry_offsets_one",
                 gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}", ZEROS, 1), "w",
                 "pair of integers");
  expect_corrupt("entry_dtype_twice",
                 gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                              ZEROS, 1),
                 "w", "given twice");
}

static void test_bad_dtype(void **state) {
  (void)state;
  expect_corrupt("dtype_unknown",
                 gen_raw_auto("{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", ZEROS, 4), "w",
                 "unknown dtype 'F33'");
  expect_corrupt("dtype_lowercase",
                 gen_raw_auto("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", ZEROS, 4), "w",
                 "unknown dtype");
}

static void test_numbers(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"num_negative", "{\"w\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}"},
      {"num_fraction", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}"},
      {"num_exponent", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1e0],\"data_offsets\":[0,1]}}"},
      {"num_leading_zero", "{\"w\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}"},
      {"num_too_big", "{\"w\":{\"dtype\":\"U8\",\"shape\":[18446744073709551616],\"data_offsets\":[0,1]}}"},
      {"num_offset_negative", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-0,1]}}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_corrupt(cases[i][0], gen_raw_auto(cases[i][1], ZEROS, 1), NULL, "header byte");
}

/* ---- layout --------------------------------------------------------------------- */

static void test_offsets_inverted(void **state) {
  (void)state;
  expect_corrupt("offsets_inverted",
                 gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", ZEROS, 4), "w",
                 "end before they begin");
}

static void test_gap_at_start(void **state) {
  (void)state;
  expect_corrupt("gap_at_start",
                 gen_raw_auto("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", ZEROS, 8), "w",
                 "a gap");
}

static void test_gap_between(void **state) {
  (void)state;
  expect_corrupt("gap_between",
                 gen_raw_auto("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                              ZEROS, 12),
                 "b", "tensor 'a' ends at 4 (a gap)");
}

static void test_overlap(void **state) {
  (void)state;
  expect_corrupt("overlap",
                 gen_raw_auto("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                              ZEROS, 12),
                 "b", "an overlap");
  /* the reference's test_json_attack: ten tensors all at [0, 16] */
  gen_buf h = {0};
  gen_puts(&h, "{");
  for (int i = 0; i < 10; i++)
    gen_printf(&h, "%s\"weight_%d\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}", i ? "," : "", i);
  gen_puts(&h, "}");
  gen_buf b = gen_raw_auto((const char *)h.p, ZEROS, 16);
  free(h.p);
  expect_corrupt("json_attack", b, "weight_1", "an overlap");
}

static void test_trailing_bytes(void **state) {
  (void)state;
  /* the reference's test_metadata_incomplete_buffer, first half */
  const char *hdr = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
  unsigned char data[16 + 34] = {0};
  memcpy(data + 16, "extra_bogus_data_for_polyglot_file", 34);
  expect_corrupt("trailing_bytes", gen_raw_auto(hdr, data, sizeof data), NULL, "trailing bytes after tensor 'test'");
  expect_corrupt("no_tensor_trailing", gen_raw_auto("{}", ZEROS, 3), NULL, "no tensors, but 3 bytes");
}

static void test_missing_bytes(void **state) {
  (void)state;
  /* second half: two bytes missing */
  const char *hdr = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
  expect_corrupt("missing_bytes", gen_raw_auto(hdr, ZEROS, 14), "test", "runs past the end of the file");
}

static void test_wrong_size(void **state) {
  (void)state;
  /* the reference's test_invalid_info: [2,2] I32 in 4 bytes */
  expect_corrupt("wrong_size",
                 gen_raw_auto("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", ZEROS, 4),
                 "test", "take 16 bytes, but data_offsets [0, 4] hold 4");
  expect_corrupt("f6_not_whole_bytes",
                 gen_raw_auto("{\"t\":{\"dtype\":\"F6_E2M3\",\"shape\":[3],\"data_offsets\":[0,2]}}", ZEROS, 2), "t",
                 "not a whole number of bytes");
}

static void test_overflow(void **state) {
  (void)state;
  /* the reference's test_validation_overflow, both vectors */
  expect_corrupt("overflow_count",
                 gen_raw_auto("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,18446744073709551614],\"data_offsets\":[0,16]}}",
                              ZEROS, 16),
                 "test", "overflows 64 bits");
  expect_corrupt("overflow_bytes",
                 gen_raw_auto("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,9223372036854775807],\"data_offsets\":[0,16]}}",
                              ZEROS, 16),
                 "test", "overflows 64 bits");
}

/* ---- names and metadata -------------------------------------------------------------- */

static void test_duplicates(void **state) {
  (void)state;
  expect_corrupt("duplicate_name",
                 gen_raw_auto("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                              "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                              ZEROS, 2),
                 "w", "appears twice");
  expect_corrupt("duplicate_metadata", gen_raw_auto("{\"__metadata__\":{},\"__metadata__\":{}}", NULL, 0), NULL,
                 "__metadata__ appears twice");
  expect_corrupt("duplicate_metadata_key", gen_raw_auto("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", NULL, 0), NULL,
                 "key 'k' appears twice");
}

static void test_metadata(void **state) {
  (void)state;
  expect_corrupt("metadata_number", gen_raw_auto("{\"__metadata__\":{\"k\":1}}", NULL, 0), NULL,
                 "__metadata__ 'k' is not a string");
  expect_corrupt("metadata_array", gen_raw_auto("{\"__metadata__\":[\"k\"]}", NULL, 0), NULL,
                 "__metadata__ is not an object");
  /* null metadata is no metadata, as for the reference */
  ms__st_file *f = expect_ok("metadata_null", gen_raw_auto("{\"__metadata__\":null}", NULL, 0));
  assert_int_equal(ms__executor_st_metadata_count(f), 0);
  ms__executor_st_free(f);
}

/* ---- the mapping path ---------------------------------------------------------------------- */

static void test_map_errors(void **state) {
  (void)state;
  ms__st_file *f = NULL;
  char *p = ms_test_path(g_dir, "absent.safetensors");
  assert_int_equal(ms__executor_st_map(p, p, &f), MS_ENOTFOUND);
  assert_null(f);
  assert_int_equal(ms__executor_st_map(g_dir, g_dir, &f), MS_EIO);
  assert_int_equal(ms__executor_st_parse(NULL, 3, "x", &f), MS_EINVAL);
  free(p);
}

/* In-memory parsing borrows the buffer; tensor data points into it. */
static void test_parse_in_memory(void **state) {
  (void)state;
  unsigned char d[6] = {1, 2, 3, 4, 5, 6};
  gen_buf b = gen_raw_auto("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                           "\"b\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[2,6]}}  ",
                           d, 6);
  ms__st_file *f = NULL;
  assert_int_equal(ms__executor_st_parse(b.p, b.n, "mem", &f), MS_OK);
  assert_int_equal(ms__executor_st_size(f), b.n);
  assert_int_equal(ms__executor_st_data_size(f), 6);
  const ms__st_tensor *t = ms__executor_st_find(f, "b");
  assert_ptr_equal(t->data, b.p + b.n - 4);
  assert_null(ms__executor_st_find(f, "c"));
  ms__executor_st_free(f);
  free(b.p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_vector),
      cmocka_unit_test(test_empty_files),
      cmocka_unit_test(test_zero_sized_and_scalar),
      cmocka_unit_test(test_every_dtype_and_unknown_fields),
      cmocka_unit_test(test_exact_integers),
      cmocka_unit_test(test_misaligned_is_valid),
      cmocka_unit_test(test_too_small),
      cmocka_unit_test(test_header_too_large),
      cmocka_unit_test(test_header_past_end),
      cmocka_unit_test(test_not_utf8),
      cmocka_unit_test(test_not_json),
      cmocka_unit_test(test_entry_shape),
      cmocka_unit_test(test_bad_dtype),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_offsets_inverted),
      cmocka_unit_test(test_gap_at_start),
      cmocka_unit_test(test_gap_between),
      cmocka_unit_test(test_overlap),
      cmocka_unit_test(test_trailing_bytes),
      cmocka_unit_test(test_missing_bytes),
      cmocka_unit_test(test_wrong_size),
      cmocka_unit_test(test_overflow),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_metadata),
      cmocka_unit_test(test_map_errors),
      cmocka_unit_test(test_parse_in_memory),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
