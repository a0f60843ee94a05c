/* Unit tests: integrity checks while reading and extracting archives.
 *
 * Every archive here carries real bad bytes, made at run time: a zip whose
 * entry data no longer match their CRC-32 (the central directory left as
 * written), an archive changed in place after registration, a tar.gz whose
 * gzip trailer (CRC-32 or length) is wrong, a tar header whose checksum
 * fails, a .tar.gz cut short after its manifest, and a zip entry whose
 * name has a 256-byte component. Extraction must refuse each one, name the
 * archive and the entry, and leave nothing under the extraction root; a
 * folder is only ever reused when its extraction completed and verified,
 * and temporary folders of dead extractions are cleaned up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry/archive.h"
#include "registry_testutil.h"
#include "testutil.h"

typedef struct fx {
  char *dir;  /* sandbox */
  char *root; /* extraction root inside it */
  ms_store *s;
  ms_registry *r;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("integrity");
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

/* ---- helpers -------------------------------------------------------------- */

static unsigned char *load(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

/* Overwrite bytes of a file in place: same inode, same size. */
static void patch_file(const char *path, size_t off, const void *bytes, size_t n) {
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
  assert_int_equal(close(fd), 0);
}

/* Offset of `needle` in the file (it must occur exactly once). */
static size_t find_in_file(const char *path, const char *needle) {
  size_t len, n = strlen(needle);
  unsigned char *buf = load(path, &len);
  size_t at = (size_t)-1, hits = 0;
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(buf + i, needle, n) == 0) {
      at = i;
      hits++;
    }
  free(buf);
  assert_int_equal(hits, 1);
  return at;
}

/* CRC-32 (zip, gzip), bit by bit. */
static uint32_t crc32_of(const void *data, size_t n) {
  const unsigned char *p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

/* Offset of the local file header of zip entry `name`, and (data) of its data. */
static size_t zip_local_header(const char *path, const char *name, size_t *data) {
  size_t len, n = strlen(name);
  unsigned char *buf = load(path, &len);
  size_t at = (size_t)-1;
  for (size_t i = 0; i + 30 + n <= len && at == (size_t)-1; i++)
    if (memcmp(buf + i, "PK\x03\x04", 4) == 0 && (size_t)(buf[i + 26] | buf[i + 27] << 8) == n &&
        memcmp(buf + i + 30, name, n) == 0) {
      at = i;
      if (data) *data = i + 30 + n + (size_t)(buf[i + 28] | buf[i + 29] << 8);
    }
  free(buf);
  assert_true(at != (size_t)-1);
  return at;
}

static size_t zip_data_offset(const char *path, const char *name) {
  size_t data = 0;
  zip_local_header(path, name, &data);
  return data;
}

/* Every name under dir (not recursive), hidden ones included. */
static size_t count_entries(const char *dir, char *names, size_t cap) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  if (names && cap) names[0] = '\0';
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      n++;
      if (names) {
        size_t used = strlen(names);
        snprintf(names + used, cap - used, "%s ", de->d_name);
      }
    }
  closedir(d);
  return n;
}

/* Register `path` (dropping an earlier registration of the same name). */
static ms_model *reg(fx *f, const char *path) {
  ms_model *m = NULL;
  int st = ms_registry_register(f->r, path, NULL, &m);
  if (st) fail_msg("register %s: %s %s", path, ms_status_name(st), ms_errmsg());
  return m;
}

/* An uncompressed tar image of entries (files only), into a malloc'd buffer. */
static unsigned char *tar_image(const t_entry *e, size_t n, size_t *len) {
  size_t cap = 1 << 22;
  unsigned char *buf = malloc(cap);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  size_t used = 0;
  assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *ae = archive_entry_new();
    size_t size = e[i].data ? strlen(e[i].data) : e[i].size;
    archive_entry_set_pathname(ae, e[i].name);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_mtime(ae, 1700000000, 0);
    archive_entry_set_size(ae, (la_int64_t)size);
    assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
    if (e[i].data) {
      assert_int_equal(archive_write_data(a, e[i].data, size), (la_ssize_t)size);
    } else {
      char chunk[4096];
      uint32_t x = 2463534242u + (uint32_t)i;
      for (size_t left = size; left;) {
        size_t k = left < sizeof chunk ? left : sizeof chunk;
        for (size_t j = 0; j < k; j++) {
          x ^= x << 13, x ^= x >> 17, x ^= x << 5;
          chunk[j] = (char)(x >> 24);
        }
        assert_int_equal(archive_write_data(a, chunk, k), (la_ssize_t)k);
        left -= k;
      }
    }
    archive_entry_free(ae);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  *len = used;
  return buf;
}

/* gzip `data` into the file at path (one gzip member). */
static void write_gzip(const char *path, const unsigned char *data, size_t len) {
  struct archive *a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  struct archive_entry *ae = archive_entry_new();
  archive_entry_set_pathname(ae, "data");
  archive_entry_set_filetype(ae, AE_IFREG);
  archive_entry_set_size(ae, (la_int64_t)len);
  assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
  archive_entry_free(ae);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

/* Recompute a tar header's checksum field (after editing the header). */
static void tar_fix_checksum(unsigned char *h) {
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

/* ---- zip: CRC-32 of the entry data --------------------------------------- */

/* A stored zip whose weights.bin has one byte flipped after the archive was
 * written: the central directory (and so the content hash) is unchanged,
 * the data no longer match its CRC-32. Registration reads only the manifest
 * (fine); extraction must refuse, name the entry, and leave nothing. */
static void zip_entry_failing_its_crc_is_refused(void **state) {
  fx *f = *state;
  char *man = t_manifest("crc", "1", NULL, NULL);
  t_entry e[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                 {"weights.bin", T_FILE, "WEIGHTS-0123456789abcdef", 0, NULL},
                 {"tail.txt", T_FILE, "the end\n", 0, NULL}};
  const char *fmts[] = {"zip-store", "zip"};
  for (int k = 0; k < 2; k++) {
    char *p = ms_test_path(f->dir, k ? "crc-deflate.mar" : "crc.mar");
    assert_int_equal(t_write_archive(p, fmts[k], e, 3), 0);
    size_t at = zip_data_offset(p, "weights.bin");
    if (k == 0) {
      assert_int_equal(at, find_in_file(p, "WEIGHTS-0123456789abcdef"));
      patch_file(p, at + 8, "X", 1);
    } else {
      /* A byte of the deflate stream of weights.bin (the stored lengths
       * stay, so it inflates to other bytes or fails; either is bad). */
      size_t blen;
      unsigned char *b = load(p, &blen);
      unsigned char x = (unsigned char)(b[at + 3] ^ 0x55);
      free(b);
      patch_file(p, at + 3, &x, 1);
    }
    ms_model *m = reg(f, p);
    char out[4096] = "untouched";
    int st = ms_registry_materialize(f->r, m, f->root, out, sizeof out);
    if (st != MS_ECORRUPT || !strstr(ms_errmsg(), p) || !strstr(ms_errmsg(), "weights.bin"))
      fail_msg("%s: %s '%s'", p, ms_status_name(st), ms_errmsg());
    if (k == 0) assert_non_null(strstr(ms_errmsg(), "CRC-32"));
    assert_string_equal(out, "untouched");
    char names[4096];
    if (count_entries(f->root, names, sizeof names) != 0) fail_msg("left behind under the root: %s", names);
    assert_int_equal(ms_registry_unregister(f->r, "crc", NULL), MS_OK);
    ms_model_free(m);
    free(p);
  }
  free(man);
}

/* An archive changed in place after registration (same size, same central
 * directory, other bytes in an entry) is not extracted under the old hash;
 * restored, it extracts; a folder extracted and verified is then reused. */
static void zip_changed_in_place_after_registration(void **state) {
  fx *f = *state;
  char *man = t_manifest("inplace", "1", NULL, NULL);
  t_entry e[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                 {"model.bin", T_FILE, "registered weights, version A", 0, NULL}};
  char *p = ms_test_path(f->dir, "inplace.mar");
  assert_int_equal(t_write_archive(p, "zip-store", e, 2), 0);
  ms_model *m = reg(f, p);
  size_t at = find_in_file(p, "version A");
  struct stat before, after;
  assert_int_equal(stat(p, &before), 0);
  patch_file(p, at, "version B", 9);
  assert_int_equal(stat(p, &after), 0);
  assert_int_equal(before.st_size, after.st_size);
  ms_model *again = NULL;
  assert_int_equal(ms_archive_inspect(p, NULL, &again), MS_OK);
  assert_string_equal(ms_model_content_hash(again), ms_model_content_hash(m)); /* same directory */
  ms_model_free(again);
  char out[4096] = "untouched";
  int st = ms_registry_materialize(f->r, m, f->root, out, sizeof out);
  if (st != MS_ECORRUPT || !strstr(ms_errmsg(), "inplace.mar") || !strstr(ms_errmsg(), "model.bin"))
    fail_msg("%s '%s'", ms_status_name(st), ms_errmsg());
  assert_string_equal(out, "untouched");
  assert_int_equal(count_entries(f->root, NULL, 0), 0);
  patch_file(p, at, "version A", 9);
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_OK);
  char *bin = ms_test_path(out, "model.bin");
  size_t len;
  unsigned char *data = load(bin, &len);
  assert_int_equal(len, strlen("registered weights, version A"));
  assert_memory_equal(data, "registered weights, version A", len);
  free(data);
  free(bin);
  assert_int_equal(count_entries(f->root, NULL, 0), 1);
  ms_model_free(m);
  free(p);
  free(man);
}

/* The same change in place, with the local file header's CRC-32 rewritten
 * to match the new bytes (only the central directory keeps the registered
 * CRC-32): libarchive only warns that the two disagree, and a warning about
 * integrity is a failure. A local header CRC-32 that is merely wrong (data
 * unchanged) is refused the same way. */
static void zip_local_header_disagreeing_with_directory(void **state) {
  fx *f = *state;
  char *man = t_manifest("local", "1", NULL, NULL);
  t_entry e[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                 {"model.bin", T_FILE, "registered weights, version A", 0, NULL}};
  char *p = ms_test_path(f->dir, "local.mar");
  for (int k = 0; k < 2; k++) {
    assert_int_equal(t_write_archive(p, "zip-store", e, 2), 0);
    ms_model *m = reg(f, p);
    size_t at = 0, lh = zip_local_header(p, "model.bin", &at);
    const char *now = k ? "registered weights, version B" : "registered weights, version A";
    uint32_t crc = crc32_of(now, strlen(now));
    if (!k) crc ^= 0x1; /* merely wrong */
    unsigned char le[4] = {(unsigned char)crc, (unsigned char)(crc >> 8), (unsigned char)(crc >> 16),
                           (unsigned char)(crc >> 24)};
    if (k) patch_file(p, at, now, strlen(now));
    patch_file(p, lh + 14, le, 4);
    char out[4096] = "untouched";
    int st = ms_registry_materialize(f->r, m, f->root, out, sizeof out);
    if (st != MS_ECORRUPT || !strstr(ms_errmsg(), "local.mar") || !strstr(ms_errmsg(), "model.bin"))
      fail_msg("case %d: %s '%s'", k, ms_status_name(st), ms_errmsg());
    assert_string_equal(out, "untouched");
    assert_int_equal(count_entries(f->root, NULL, 0), 0);
    assert_int_equal(ms_registry_unregister(f->r, "local", NULL), MS_OK);
    ms_model_free(m);
  }
  free(p);
  free(man);
}

/* ---- tar.gz: gzip trailer, tar header checksum, truncation ---------------- */

static t_entry tgz_entries[] = {{"g/MAR-INF/MANIFEST.json", T_FILE, NULL, 0, NULL},
                                {"g/model.bin", T_FILE, NULL, 200000, NULL},
                                {"g/handler.py", T_FILE, "print('hi')\n", 0, NULL}};

static unsigned char *good_tar(const char *name, size_t *len) {
  char *man = t_manifest(name, "1", NULL, NULL);
  t_entry e[3];
  memcpy(e, tgz_entries, sizeof e);
  e[0].data = man;
  unsigned char *tar = tar_image(e, 3, len);
  free(man);
  return tar;
}

/* A corrupt gzip trailer is named for what it is (the CRC-32 or the length
 * of the gzip trailer does not match the data), not "truncated", at
 * registration (which reads the whole file) and by validation. */
static void tgz_bad_gzip_trailer_is_named(void **state) {
  fx *f = *state;
  size_t tlen;
  unsigned char *tar = good_tar("g", &tlen);
  const struct {
    const char *file;
    int from_end; /* byte flipped, counted from the end of the file */
    const char *needle;
  } cases[] = {{"crc.tgz", 8, "CRC-32"}, {"len.tgz", 2, "length"}};
  for (size_t i = 0; i < 2; i++) {
    char *p = ms_test_path(f->dir, cases[i].file);
    write_gzip(p, tar, tlen);
    size_t len;
    unsigned char *gz = load(p, &len);
    /* The file ends with the gzip trailer: CRC-32, then the length. */
    assert_int_equal((size_t)gz[len - 4] | (size_t)gz[len - 3] << 8 | (size_t)gz[len - 2] << 16, tlen & 0xffffff);
    gz[len - (size_t)cases[i].from_end] ^= 0x10;
    assert_int_equal(ms_test_write_file(p, gz, len), 0);
    ms_model *m = NULL;
    int st = ms_archive_inspect(p, NULL, &m);
    if (st != MS_ECORRUPT || !strstr(ms_errmsg(), cases[i].file) || !strstr(ms_errmsg(), "gzip trailer") ||
        !strstr(ms_errmsg(), cases[i].needle) || strstr(ms_errmsg(), "truncated"))
      fail_msg("%s: %s '%s'", cases[i].file, ms_status_name(st), ms_errmsg());
    st = ms_registry_register(f->r, p, NULL, &m);
    assert_int_equal(st, MS_ECORRUPT);
    ms_model *none = NULL;
    assert_int_equal(ms_registry_get(f->r, "g", NULL, &none), MS_ENOTFOUND);
    /* The same image from memory (the fuzzing entry point). */
    ms__archive_meta meta;
    assert_int_equal(ms__registry_archive_read_manifest_from_memory(gz, len, cases[i].file, &meta), MS_ECORRUPT);
    assert_non_null(strstr(ms_errmsg(), "gzip trailer"));
    free(gz);
    free(p);
  }
  free(tar);
}

/* A tar.gz whose trailer is damaged after registration: the extraction
 * (hashing and checking the trailer in the same pass) refuses it, naming
 * the trailer (the content hash would catch it too, later and vaguer), and
 * leaves nothing. */
static void tgz_trailer_damaged_after_registration(void **state) {
  fx *f = *state;
  size_t tlen;
  unsigned char *tar = good_tar("g", &tlen);
  char *p = ms_test_path(f->dir, "late.tgz");
  write_gzip(p, tar, tlen);
  ms_model *m = reg(f, p);
  size_t len;
  unsigned char *gz = load(p, &len);
  unsigned char b = (unsigned char)(gz[len - 7] ^ 0x01);
  patch_file(p, len - 7, &b, 1);
  char out[4096] = "untouched";
  int st = ms_registry_materialize(f->r, m, f->root, out, sizeof out);
  if (st != MS_ECORRUPT || !strstr(ms_errmsg(), "late.tgz") || !strstr(ms_errmsg(), "gzip trailer's CRC-32"))
    fail_msg("%s '%s'", ms_status_name(st), ms_errmsg());
  assert_string_equal(out, "untouched");
  assert_int_equal(count_entries(f->root, NULL, 0), 0);
  ms_model_free(m);
  free(gz);
  free(p);
  free(tar);
}

/* A tar header that fails its checksum, after the manifest: registration
 * reads to the end and refuses it, naming the archive, where the damaged
 * header is and the entry before it. */
static void tar_header_checksum_is_checked(void **state) {
  fx *f = *state;
  size_t tlen;
  unsigned char *tar = good_tar("g", &tlen);
  /* Find the header of g/handler.py and change its mode without fixing
   * the checksum. */
  size_t hdr = (size_t)-1;
  for (size_t off = 0; off + 512 <= tlen; off += 512)
    if (strcmp((char *)tar + off, "g/handler.py") == 0) hdr = off;
  assert_true(hdr != (size_t)-1);
  char *p = ms_test_path(f->dir, "hdr.tgz");
  /* Control: the same edit with the checksum fixed reads fine. */
  tar[hdr + 101] = '7';
  tar_fix_checksum(tar + hdr);
  write_gzip(p, tar, tlen);
  ms_model *m = NULL;
  assert_int_equal(ms_archive_inspect(p, NULL, &m), MS_OK);
  ms_model_free(m);
  tar[hdr + 101] = '6';
  write_gzip(p, tar, tlen);
  int st = ms_archive_inspect(p, NULL, &m);
  if (st != MS_ECORRUPT || !strstr(ms_errmsg(), "hdr.tgz") || !strstr(ms_errmsg(), "checksum") ||
      !strstr(ms_errmsg(), "g/model.bin"))
    fail_msg("%s '%s'", ms_status_name(st), ms_errmsg());
  assert_int_equal(ms_registry_register(f->r, p, NULL, &m), MS_ECORRUPT);
  ms_model *none = NULL;
  assert_int_equal(ms_registry_get(f->r, "g", NULL, &none), MS_ENOTFOUND);
  free(p);
  free(tar);
}

/* A .tar.gz cut anywhere, also after its manifest, is refused at
 * registration: it could not be read to the end. Every cut of a tar.gz
 * whose manifest comes first, and a scan of the folder, say so. */
static void tgz_truncated_after_manifest_fails_registration(void **state) {
  fx *f = *state;
  size_t tlen;
  unsigned char *tar = good_tar("cut", &tlen);
  char *full = ms_test_path(f->dir, "full.tgz");
  write_gzip(full, tar, tlen);
  size_t len;
  unsigned char *gz = load(full, &len);
  ms_model *m = reg(f, full); /* the whole file is fine */
  ms_model_free(m);
  assert_int_equal(ms_registry_unregister(f->r, "cut", NULL), MS_OK);
  char *store = ms_test_path(f->dir, "store");
  assert_int_equal(mkdir(store, 0755), 0);
  char *cut = ms_test_path(store, "cut.tgz");
  size_t tried = 0;
  for (size_t n = len / 2; n < len; n += 1 + (len - n) / 7, tried++) {
    assert_int_equal(ms_test_write_file(cut, gz, n), 0);
    int st = ms_registry_register(f->r, cut, NULL, &m);
    if (st != MS_ECORRUPT || !strstr(ms_errmsg(), "cut.tgz"))
      fail_msg("cut at %zu of %zu: %s '%s'", n, len, ms_status_name(st), ms_errmsg());
    if (!strstr(ms_errmsg(), "truncated") && !strstr(ms_errmsg(), "end"))
      fail_msg("cut at %zu of %zu: '%s'", n, len, ms_errmsg());
  }
  assert_true(tried > 3);
  /* In a scan: one failed entry with the reason; nothing registered. */
  assert_int_equal(ms_test_write_file(cut, gz, len - 100), 0);
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, store, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), 1);
  int status = 0;
  const char *msg = NULL;
  assert_int_equal(ms_scan_report_get(rep, 0, NULL, NULL, &status, &msg), MS_OK);
  assert_int_equal(status, MS_ECORRUPT);
  assert_non_null(strstr(msg, "truncated"));
  ms_scan_report_free(rep);
  ms_model *none = NULL;
  assert_int_equal(ms_registry_get(f->r, "cut", NULL, &none), MS_ENOTFOUND);
  free(cut);
  free(store);
  free(gz);
  free(full);
  free(tar);
}

/* ---- names ----------------------------------------------------------------- */

/* A zip entry name with a 256-byte component cannot be created on any
 * usual filesystem: it is a bad archive (MS_EUNSAFE, the entry named), not
 * an OS error, and nothing is left behind. 255 bytes is fine. */
static void zip_name_component_over_255_bytes(void **state) {
  fx *f = *state;
  char *man = t_manifest("longname", "1", NULL, NULL);
  char n255[300] = "dir/", n256[300] = "dir/";
  memset(n255 + 4, 'a', 255);
  n255[4 + 255] = '\0';
  memset(n256 + 4, 'b', 256);
  n256[4 + 256] = '\0';
  t_entry ok[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {n255, T_FILE, "x", 0, NULL}};
  t_entry bad[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {n256, T_FILE, "x", 0, NULL}};
  char *p = ms_test_path(f->dir, "long.mar");
  assert_int_equal(t_write_archive(p, "zip", ok, 2), 0);
  ms_model *m = reg(f, p);
  char out[4096];
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_OK);
  ms_model_free(m);
  assert_int_equal(ms_registry_unregister(f->r, "longname", NULL), MS_OK);
  ms_test_rmtree(f->root);
  assert_int_equal(t_write_archive(p, "zip", bad, 2), 0);
  m = reg(f, p);
  int st = ms_registry_materialize(f->r, m, f->root, out, sizeof out);
  if (st != MS_EUNSAFE || !strstr(ms_errmsg(), "long.mar") || !strstr(ms_errmsg(), "bbbbbbbb") ||
      !strstr(ms_errmsg(), "255"))
    fail_msg("%s '%s'", ms_status_name(st), ms_errmsg());
  assert_int_equal(count_entries(f->root, NULL, 0), 0);
  ms_model_free(m);
  free(p);
  free(man);
}

/* ---- publication: only verified, complete extractions are reused ----------- */

static char *write_big_mar(fx *f, const char *file, const char *name) {
  char *man = t_manifest(name, "1", NULL, NULL);
  t_entry e[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                 {"a.bin", T_NOISE, NULL, 300000, NULL},
                 {"b.bin", T_NOISE, NULL, 300000, NULL},
                 {"c.bin", T_NOISE, NULL, 300000, NULL}};
  char *p = ms_test_path(f->dir, file);
  assert_int_equal(t_write_archive(p, "zip", e, 4), 0);
  free(man);
  return p;
}

/* A process killed in the middle of an extraction (here: by SIGXFSZ, as its
 * file size limit stops the second file) leaves only a temporary folder.
 * It is never taken for the extracted model: the next materialize
 * extracts again, completely, and removes the dead one's folder. */
static void crash_mid_extraction_is_never_reused(void **state) {
  fx *f = *state;
  char *p = write_big_mar(f, "big.mar", "big");
  ms_model *m = reg(f, p);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit core = {0, 0}, fsize = {200000, 200000};
    setrlimit(RLIMIT_CORE, &core);
    signal(SIGXFSZ, SIG_DFL);
    setrlimit(RLIMIT_FSIZE, &fsize);
    char out[4096];
    int st = ms_registry_materialize(f->r, m, f->root, out, sizeof out);
    _exit(st == MS_OK ? 0 : 3);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFSIGNALED(ws));
  assert_int_equal(WTERMSIG(ws), SIGXFSZ);
  char names[4096];
  assert_int_equal(count_entries(f->root, names, sizeof names), 1);
  assert_non_null(strstr(names, ".tmp-"));
  char out[4096];
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_OK);
  /* Complete, and the dead extraction's folder is gone. */
  const char *files[] = {"a.bin", "b.bin", "c.bin"};
  for (int i = 0; i < 3; i++) {
    char *q = ms_test_path(out, files[i]);
    struct stat sb;
    assert_int_equal(stat(q, &sb), 0);
    assert_int_equal(sb.st_size, 300000);
    free(q);
  }
  if (count_entries(f->root, names, sizeof names) != 1) fail_msg("root holds: %s", names);
  assert_null(strstr(names, ".tmp-"));
  ms_model_free(m);
  free(p);
}

/* Temporary folders of dead extractions are removed by the next extraction
 * under the same root; one still held by a live extraction (its lock held)
 * and anything not shaped like our temporary folder are left alone. */
static void stale_temp_folders_are_cleaned_safely(void **state) {
  fx *f = *state;
  assert_int_equal(mkdir(f->root, 0755), 0);
  char *dead = ms_test_path(f->root, ".tmp-0123456789abcdef-AbC123");
  char *live = ms_test_path(f->root, ".tmp-fedcba9876543210-XyZ789");
  char *other = ms_test_path(f->root, ".tmp-mine");
  char *file = ms_test_path(f->root, ".tmp-0123456789abcdef-fILe00");
  char *target = ms_test_path(f->dir, "precious");
  char *link = ms_test_path(f->root, ".tmp-0123456789abcdef-LiNk00");
  assert_int_equal(mkdir(dead, 0755), 0);
  assert_int_equal(mkdir(live, 0755), 0);
  assert_int_equal(mkdir(other, 0755), 0);
  assert_int_equal(mkdir(target, 0755), 0);
  assert_int_equal(t_write_text(file, "a file, not a folder"), 0);
  assert_int_equal(symlink(target, link), 0);
  char *inner = ms_test_path(dead, "partial.bin");
  assert_int_equal(t_write_text(inner, "half a model"), 0);
  char *keep = ms_test_path(target, "keep.txt");
  assert_int_equal(t_write_text(keep, "keep me"), 0);
  int lfd = open(live, O_RDONLY | O_DIRECTORY);
  assert_true(lfd >= 0);
  assert_int_equal(flock(lfd, LOCK_EX | LOCK_NB), 0);

  char *p = ms_test_path(f->dir, "small.mar");
  assert_int_equal(t_write_mar(p, "small", "1", NULL, NULL), 0);
  ms_model *m = reg(f, p);
  char out[4096];
  assert_int_equal(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_OK);
  struct stat sb;
  assert_int_equal(lstat(dead, &sb), -1); /* removed */
  assert_int_equal(errno, ENOENT);
  assert_int_equal(stat(live, &sb), 0); /* held: kept */
  assert_int_equal(stat(other, &sb), 0);
  assert_int_equal(stat(file, &sb), 0);
  assert_int_equal(lstat(link, &sb), 0);
  assert_int_equal(stat(keep, &sb), 0); /* never followed */
  close(lfd);
  ms_model_free(m);
  free(p);
  free(keep);
  free(inner);
  free(link);
  free(target);
  free(file);
  free(other);
  free(live);
  free(dead);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(zip_entry_failing_its_crc_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(zip_changed_in_place_after_registration, setup, teardown),
      cmocka_unit_test_setup_teardown(zip_local_header_disagreeing_with_directory, setup, teardown),
      cmocka_unit_test_setup_teardown(tgz_bad_gzip_trailer_is_named, setup, teardown),
      cmocka_unit_test_setup_teardown(tgz_trailer_damaged_after_registration, setup, teardown),
      cmocka_unit_test_setup_teardown(tar_header_checksum_is_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(tgz_truncated_after_manifest_fails_registration, setup, teardown),
      cmocka_unit_test_setup_teardown(zip_name_component_over_255_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(crash_mid_extraction_is_never_reused, setup, teardown),
      cmocka_unit_test_setup_teardown(stale_temp_folders_are_cleaned_safely, setup, teardown),
  };
  const char *only = getenv("MS_TEST_FILTER"); /* run one test: MS_TEST_FILTER=<name> */
  if (only && *only) cmocka_set_test_filter(only);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
