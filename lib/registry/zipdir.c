/* Locating and hashing a zip's central directory (APPNOTE 4.3.16, zip64
 * 4.3.14-15) without libarchive, for the content hash. */
#include "registry/zipdir.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "mserve/common.h"

#define EOCD_LEN 22
#define MAX_COMMENT 65535
#define MAX_CD_BYTES ((int64_t)1 << 30)

static uint32_t le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Hash len bytes at off into h, a chunk at a time. */
static int hash_range(const ms__source *s, int64_t off, int64_t len, ms__sha256 *h) {
  if (!s->path) {
    ms__sha256_update(h, s->mem + off, (size_t)len);
    return MS_OK;
  }
  unsigned char buf[1 << 14];
  while (len > 0) {
    size_t n = len > (int64_t)sizeof buf ? sizeof buf : (size_t)len;
    int st = ms__registry_source_pread(s, buf, n, off);
    if (st) return st;
    ms__sha256_update(h, buf, n);
    off += (int64_t)n;
    len -= (int64_t)n;
  }
  return MS_OK;
}

int ms__registry_zip_hash_directory(const ms__source *s, ms__sha256 *h) {
  if (s->size < EOCD_LEN)
    return ms__fail(MS_ECORRUPT, "archive '%s': too short to be a zip (%lld bytes)", s->origin, (long long)s->size);
  int64_t tail = s->size < EOCD_LEN + MAX_COMMENT ? s->size : EOCD_LEN + MAX_COMMENT;
  unsigned char *buf = malloc((size_t)tail);
  if (!buf) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
  int st = ms__registry_source_pread(s, buf, (size_t)tail, s->size - tail);
  if (st) {
    free(buf);
    return st;
  }
  int64_t at = -1;
  for (int64_t i = tail - EOCD_LEN; i >= 0; i--) {
    const unsigned char *p = buf + i;
    if (p[0] == 'P' && p[1] == 'K' && p[2] == 5 && p[3] == 6 && i + EOCD_LEN + (int64_t)le16(p + 20) <= tail) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    free(buf);
    return ms__fail(MS_ECORRUPT, "archive '%s': no zip end of central directory record (truncated or not a zip)",
                    s->origin);
  }
  const unsigned char *e = buf + at;
  int64_t eocd_pos = s->size - tail + at;
  int64_t eocd_len = EOCD_LEN + (int64_t)le16(e + 20);
  uint64_t cd_size = le32(e + 12), cd_off = le32(e + 16);
  if (cd_size == 0xffffffffu || cd_off == 0xffffffffu || le16(e + 10) == 0xffffu) {
    unsigned char loc[20], z[56];
    if (eocd_pos < 20 || (st = ms__registry_source_pread(s, loc, sizeof loc, eocd_pos - 20)) ||
        le32(loc) != 0x07064b50u) {
      free(buf);
      return st ? st : ms__fail(MS_ECORRUPT, "archive '%s': zip64 locator missing", s->origin);
    }
    uint64_t zoff = le64(loc + 8);
    if (zoff > (uint64_t)s->size || (st = ms__registry_source_pread(s, z, sizeof z, (int64_t)zoff)) ||
        le32(z) != 0x06064b50u) {
      free(buf);
      return st ? st : ms__fail(MS_ECORRUPT, "archive '%s': zip64 end record missing", s->origin);
    }
    cd_size = le64(z + 40);
    cd_off = le64(z + 48);
  }
  if (cd_size > (uint64_t)MAX_CD_BYTES || cd_off > (uint64_t)eocd_pos || cd_size > (uint64_t)eocd_pos - cd_off) {
    free(buf);
    return ms__fail(MS_ECORRUPT, "archive '%s': zip central directory (%llu bytes at %llu) lies outside the file",
                    s->origin, (unsigned long long)cd_size, (unsigned long long)cd_off);
  }
  static const char tag[] = "mserve-zip-cd-v1";
  ms__sha256_update(h, tag, sizeof tag);
  ms__sha256_update(h, e, (size_t)eocd_len);
  free(buf);
  return hash_range(s, (int64_t)cd_off, (int64_t)cd_size, h);
}
