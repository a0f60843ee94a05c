/* Unit tests: the common text and unit helpers (lib/common/text.c,
 * lib/common/units.c): the UTF-8 check every part uses on strings from
 * files, the safe rendering of untrusted strings in messages, cuts that
 * never split a character, and the checked conversions into microseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"
#include "common/units.h"
#include "mserve.h"

static void utf8_accepts_well_formed_text(void **state) {
  (void)state;
  static const char *good[] = {
      "",
      "plain ascii \t\n\x7f",
      "\xc2\x80",             /* U+0080 */
      "\xdf\xbf",             /* U+07FF */
      "\xe0\xa0\x80",         /* U+0800 */
      "\xed\x9f\xbf",         /* U+D7FF, just below the surrogates */
      "\xee\x80\x80",         /* U+E000, just above them */
      "\xef\xbf\xbd",         /* U+FFFD */
      "\xf0\x90\x80\x80",     /* U+10000 */
      "\xf4\x8f\xbf\xbf",     /* U+10FFFF, the last code point */
      "caf\xc3\xa9 \xe6\xa8\xa1\xe5\x9e\x8b \xf0\x9f\x98\x80",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    size_t bad = 12345;
    if (!ms__text_utf8_valid(good[i], strlen(good[i]), &bad)) fail_msg("good %zu refused at %zu", i, bad);
    assert_int_equal(bad, 12345); /* untouched */
    assert_true(ms__text_utf8_str(good[i]));
  }
  assert_true(ms__text_utf8_str(NULL));
  assert_true(ms__text_utf8_valid(NULL, 0, NULL));
}

static void utf8_refuses_malformed_text_and_nul(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t len, at;
  } bad[] = {
      {"a\0b", 3, 1},                 /* NUL */
      {"\x80", 1, 0},                 /* lone continuation byte */
      {"ab\xbf", 3, 2},
      {"\xc0\x80", 2, 0},             /* overlong NUL */
      {"\xc1\xbf", 2, 0},             /* overlong */
      {"\xe0\x80\x80", 3, 0},         /* overlong 3-byte */
      {"\xe0\x9f\xbf", 3, 0},
      {"\xf0\x80\x80\x80", 4, 0},     /* overlong 4-byte */
      {"\xf0\x8f\xbf\xbf", 4, 0},
      {"\xed\xa0\x80", 3, 0},         /* U+D800 */
      {"\xed\xbf\xbf", 3, 0},         /* U+DFFF */
      {"\xf4\x90\x80\x80", 4, 0},     /* U+110000 */
      {"\xf5\x80\x80\x80", 4, 0},
      {"\xff", 1, 0},
      {"\xfe", 1, 0},
      {"x\xc3", 2, 1},                /* truncated 2-byte */
      {"x\xe2\x82", 3, 1},            /* truncated 3-byte */
      {"x\xf0\x9f\x98", 4, 1},        /* truncated 4-byte */
      {"\xc3\x28", 2, 0},             /* bad continuation */
      {"\xe2\x28\xa1", 3, 0},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t at = 999;
    if (ms__text_utf8_valid(bad[i].s, bad[i].len, &at)) fail_msg("bad %zu accepted", i);
    if (at != bad[i].at) fail_msg("bad %zu: offset %zu, want %zu", i, at, bad[i].at);
  }
  /* A length that cuts a character is a truncated sequence. */
  assert_false(ms__text_utf8_valid("\xc3\xa9", 1, NULL));
  assert_true(ms__text_utf8_valid("\xc3\xa9", 2, NULL));
}

static void show_escapes_and_cuts_safely(void **state) {
  (void)state;
  char buf[64];
  assert_string_equal(ms__text_show("plain", buf, sizeof buf), "plain");
  assert_string_equal(ms__text_show("a\x1b[2Jb\n\t", buf, sizeof buf), "a\\x1B[2Jb\\x0A\\x09");
  assert_string_equal(ms__text_show("back\\slash", buf, sizeof buf), "back\\\\slash");
  assert_string_equal(ms__text_show("\xff\xc3\xa9\xc2\x85\x7f", buf, sizeof buf), "\\xFF\xc3\xa9\\xC2\\x85\\x7F");
  assert_string_equal(ms__text_show(NULL, buf, sizeof buf), "(null)");
  assert_string_equal(ms__text_show_n("a\0b", 3, buf, sizeof buf), "a\\x00b");
  /* Exactly fitting text is not cut; longer text ends with "..." and never
   * splits a character or an escape. */
  char small[8];
  assert_string_equal(ms__text_show("1234567", small, sizeof small), "1234567");
  assert_string_equal(ms__text_show("12345678", small, sizeof small), "1234...");
  assert_string_equal(ms__text_show("12\x01", small, sizeof small), "12\\x01");
  assert_string_equal(ms__text_show("1234\x01", small, sizeof small), "1234...");
  assert_string_equal(ms__text_show("\xe6\xa8\xa1\xe6\xa8\xa1\xe6\xa8\xa1", small, sizeof small), "\xe6\xa8\xa1...");
  /* Whatever goes in, what comes out is printable UTF-8. */
  char in[256], out[100];
  for (int seed = 0; seed < 200; seed++) {
    uint32_t x = 2463534242u + (uint32_t)seed;
    size_t n = (size_t)(seed % 200) + 1;
    for (size_t i = 0; i < n; i++) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      in[i] = (char)((x >> 24) | 1); /* no NUL inside */
    }
    in[n] = '\0';
    ms__text_show(in, out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_true(ms__text_utf8_str(out));
    for (const unsigned char *p = (const unsigned char *)out; *p; p++) assert_true(*p >= 0x20 && *p != 0x7f);
  }
}

static void strlcpy_never_splits_a_character(void **state) {
  (void)state;
  char buf[5];
  assert_int_equal(ms__strlcpy(buf, "abcdef", sizeof buf), 6);
  assert_string_equal(buf, "abcd");
  /* "ab" + U+00E9 + "c": a cut after 4 bytes would leave half of it. */
  assert_int_equal(ms__strlcpy(buf, "ab\xc3\xa9\xc3\xa9", sizeof buf), 6);
  assert_string_equal(buf, "ab\xc3\xa9");
  assert_int_equal(ms__strlcpy(buf, "abc\xc3\xa9", sizeof buf), 5);
  assert_string_equal(buf, "abc");
  assert_int_equal(ms__strlcpy(buf, "\xf0\x9f\x98\x80z", sizeof buf), 5);
  assert_string_equal(buf, "\xf0\x9f\x98\x80");
  assert_int_equal(ms__strlcpy(buf, "a\xf0\x9f\x98\x80", sizeof buf), 5);
  assert_string_equal(buf, "a");
  assert_int_equal(ms__strlcpy(buf, "ab", sizeof buf), 2);
  assert_string_equal(buf, "ab");
}

static void units_mul_is_checked_both_ways(void **state) {
  (void)state;
  int64_t out = 42;
  assert_int_equal(ms__units_mul(-18446744073709, MS__US_PER_S, &out), -1); /* the input */
  assert_int_equal(out, 42);
  assert_int_equal(ms__units_mul(9223372036855, MS__US_PER_S, &out), -1);
  assert_int_equal(ms__units_mul(-9223372036855, MS__US_PER_S, &out), -1);
  assert_int_equal(ms__units_mul(INT64_MIN, 1, &out), 0);
  assert_int_equal(out, INT64_MIN);
  assert_int_equal(ms__units_mul(INT64_MIN, 2, &out), -1);
  assert_int_equal(ms__units_mul(INT64_MAX, 2, &out), -1);
  assert_int_equal(ms__units_mul(9223372036854, MS__US_PER_S, &out), 0);
  assert_int_equal(out, (int64_t)9223372036854000000);
  assert_int_equal(ms__units_mul(-9223372036854, MS__US_PER_S, &out), 0);
  assert_int_equal(out, -(int64_t)9223372036854000000);
  assert_int_equal(ms__units_mul(INT64_MAX / 1000, MS__US_PER_MS, &out), 0);
  assert_int_equal(ms__units_mul(INT64_MAX / 1000 + 1, MS__US_PER_MS, &out), -1);
  assert_int_equal(ms__units_mul(INT64_MIN / 1000, MS__US_PER_MS, &out), 0);
  assert_int_equal(ms__units_mul(INT64_MIN / 1000 - 1, MS__US_PER_MS, &out), -1);
  assert_int_equal(ms__units_mul(5, 0, &out), -1);
  assert_int_equal(ms__units_mul(5, -1, &out), -1);
}

static void units_from_double_never_makes_zero_or_wraps(void **state) {
  (void)state;
  int64_t out = 42;
  assert_int_equal(ms__units_from_double(NAN, MS__US_PER_S, &out), -1);
  assert_int_equal(ms__units_from_double(INFINITY, MS__US_PER_S, &out), -1);
  assert_int_equal(ms__units_from_double(-INFINITY, MS__US_PER_S, &out), -1);
  assert_int_equal(ms__units_from_double(9223372036855.0, MS__US_PER_S, &out), -1);
  assert_int_equal(ms__units_from_double(-1e300, MS__US_PER_S, &out), -1);
  assert_int_equal(out, 42);
  /* A positive duration below 1 us is 1 us, never "none". */
  assert_int_equal(ms__units_from_double(0.0000004, MS__US_PER_S, &out), 0);
  assert_int_equal(out, 1);
  assert_int_equal(ms__units_from_double(-0.0000004, MS__US_PER_S, &out), 0);
  assert_int_equal(out, -1);
  assert_int_equal(ms__units_from_double(0.0, MS__US_PER_S, &out), 0);
  assert_int_equal(out, 0);
  assert_int_equal(ms__units_from_double(1.5, MS__US_PER_MS, &out), 0);
  assert_int_equal(out, 1500);
  assert_int_equal(ms__units_from_double(2.0000014, MS__US_PER_S, &out), 0);
  assert_int_equal(out, 2000001);
  assert_int_equal(ms__units_from_double(-1e12, MS__US_PER_S, &out), 0);
  assert_int_equal(out, -(int64_t)1000000000000000000);
}

static void units_to_us_reports_in_the_values_unit(void **state) {
  (void)state;
  int64_t out = 42;
  assert_int_equal(ms__units_to_us(-18446744073709, MS__US_PER_S, "s", 0, (int64_t)1 << 53, MS_ECORRUPT,
                                   "config 'x.yaml'", "responseTimeout", &out),
                   MS_ECORRUPT);
  assert_string_equal(ms_errmsg(),
                      "config 'x.yaml': 'responseTimeout' = -18446744073709 s is out of range (0..9007199254 s)");
  assert_int_equal(out, 42);
  assert_int_equal(ms__units_to_us(0, 1, NULL, 1, 100, MS_EINVAL, "flag", "batch", &out), MS_EINVAL);
  assert_string_equal(ms_errmsg(), "flag: 'batch' = 0 is out of range (1..100)");
  assert_int_equal(ms__units_to_us(1500, MS__US_PER_MS, "ms", 1, 2000000, MS_EINVAL, "flag", "delay", &out), MS_OK);
  assert_int_equal(out, 1500000);
  /* A range that does not fall on whole units is shown rounded inwards. */
  assert_int_equal(ms__units_to_us(3, MS__US_PER_MS, "ms", 1500, 2500, MS_EINVAL, "f", "k", &out), MS_EINVAL);
  assert_string_equal(ms_errmsg(), "f: 'k' = 3 ms is out of range (2..2 ms)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(utf8_accepts_well_formed_text),
      cmocka_unit_test(utf8_refuses_malformed_text_and_nul),
      cmocka_unit_test(show_escapes_and_cuts_safely),
      cmocka_unit_test(strlcpy_never_splits_a_character),
      cmocka_unit_test(units_mul_is_checked_both_ways),
      cmocka_unit_test(units_from_double_never_makes_zero_or_wraps),
      cmocka_unit_test(units_to_us_reports_in_the_values_unit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
