/* libarchive over our sources: readers, integrity, entry data and names. */
#include "registry/entry.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "mserve/common.h"

struct archive *ms__registry_archive_open(const ms__source *s, int format, ms__reader *rd, int *st) {
  struct archive *a = archive_read_new();
  if (!a) {
    memset(rd, 0, sizeof *rd);
    *st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
    return NULL;
  }
  int rc;
  if (format == MS__FMT_ZIP) {
    /* The seekable reader starts from the central directory, so skipping
     * an entry never inflates it. */
    archive_read_support_format_zip_seekable(a);
    rc = ms__registry_reader_open(a, rd, s, NULL);
  } else {
    archive_read_support_format_tar(a);
    rc = ms__registry_reader_open_gz(a, rd, s, NULL, 0, 0);
  }
  if (rc != ARCHIVE_OK) {
    *st = rd->status ? rd->status
                     : ms__fail(MS_ECORRUPT, "archive '%s': not a valid %s: %s", s->origin,
                                format == MS__FMT_ZIP ? "zip (.mar)" : "tar.gz",
                                archive_error_string(a) ? archive_error_string(a) : "unreadable");
    archive_read_free(a);
    ms__registry_reader_free(rd);
    return NULL;
  }
  return a;
}

/* libarchive's integrity warnings: a zip local header that disagrees with
 * the central directory ("Inconsistent CRC32 values", "... size"), a CRC
 * or checksum mismatch. Other warnings (a name that cannot be converted to
 * the locale's charset) leave the entry readable. */
static int integrity_warning(const char *msg) {
  return msg && (strstr(msg, "Inconsistent") || strstr(msg, "CRC") || strstr(msg, "checksum") ||
                 strstr(msg, "wrong size"));
}

int ms__registry_archive_header_ok(struct archive *a, int r) {
  return r == ARCHIVE_OK || (r == ARCHIVE_WARN && !integrity_warning(archive_error_string(a)));
}

int ms__registry_archive_failure(struct archive *a, const ms__reader *rd, int rc, int format, const char *origin,
                                 const char *entry, int in_data) {
  if (rd && rd->status) {
    if (!rd->why[0]) return rd->status; /* a read failure: its message is set */
    if (entry && in_data) return ms__fail(rd->status, "archive '%s': entry '%s': %s", origin, entry, rd->why);
    if (entry) return ms__fail(rd->status, "archive '%s': %s (last entry read: '%s')", origin, rd->why, entry);
    return ms__fail(rd->status, "archive '%s': %s", origin, rd->why);
  }
  const char *msg = archive_error_string(a);
  if (!msg) msg = in_data ? "damaged data" : "damaged archive";
  if (in_data) {
    if (strstr(msg, "CRC"))
      return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s' fails its CRC-32 check (%s)", origin,
                      entry ? entry : "?", msg);
    return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s': %s", origin, entry ? entry : "?", msg);
  }
  if (format == MS__FMT_TGZ && rc == ARCHIVE_RETRY) {
    if (entry)
      return ms__fail(MS_ECORRUPT, "archive '%s': the tar header after entry '%s' fails its checksum (%s)", origin,
                      entry, msg);
    return ms__fail(MS_ECORRUPT, "archive '%s': a tar header fails its checksum (%s)", origin, msg);
  }
  if (rc == ARCHIVE_WARN && entry) /* an integrity warning about this entry's header */
    return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s': %s", origin, entry, msg);
  if (entry) return ms__fail(MS_ECORRUPT, "archive '%s': %s (after entry '%s')", origin, msg, entry);
  return ms__fail(MS_ECORRUPT, "archive '%s': %s", origin, msg);
}

int ms__registry_archive_entry_data(struct archive *a, const ms__reader *rd, struct archive_entry *e,
                                    const char *origin, const char *name, char **out, size_t *out_len) {
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)MS__META_MAX_BYTES)
    return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s' is larger than %u bytes", origin, name,
                    MS__META_MAX_BYTES);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (!buf) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", origin);
  for (;;) {
    if (len == cap) {
      if (cap > MS__META_MAX_BYTES) {
        free(buf);
        return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s' is larger than %u bytes", origin, name,
                        MS__META_MAX_BYTES);
      }
      char *g = realloc(buf, cap * 2);
      if (!g) {
        free(buf);
        return ms__fail(MS_ENOMEM, "archive '%s': out of memory", origin);
      }
      buf = g;
      cap *= 2;
    }
    /* archive_read_data gives a warning (a zip entry failing its CRC-32)
     * as a negative result too: the data are refused either way. */
    la_ssize_t r = archive_read_data(a, buf + len, cap - len);
    if (r < 0) {
      free(buf);
      return ms__registry_archive_failure(a, rd, (int)r, -1, origin, name, 1);
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  *out = buf;
  *out_len = len;
  return MS_OK;
}

const char *ms__registry_archive_rel_name(const char *name, int format, size_t *top_len) {
  name = ms__registry_skip_dot_slash(name);
  *top_len = 0;
  if (format == MS__FMT_TGZ && strncmp(name, "MAR-INF/", 8) != 0) {
    const char *slash = strchr(name, '/');
    if (slash) {
      *top_len = (size_t)(slash - name) + 1;
      return slash + 1;
    }
  }
  return name;
}

int ms__registry_archive_find_entry(const ms__source *s, int format, const char *want, char **out, size_t *out_len) {
  int st = MS_OK;
  ms__reader rd;
  struct archive *a = ms__registry_archive_open(s, format, &rd, &st);
  if (!a) return st;
  struct archive_entry *e;
  int r, hit = 0;
  while (ms__registry_archive_header_ok(a, r = archive_read_next_header(a, &e))) {
    const char *name = archive_entry_pathname(e);
    if (!name) continue;
    name = ms__registry_skip_dot_slash(name);
    if (strcmp(name, want) != 0) continue;
    if (archive_entry_filetype(e) != AE_IFREG) {
      st = ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file", s->origin, name);
      break;
    }
    st = ms__registry_archive_entry_data(a, &rd, e, s->origin, name, out, out_len);
    hit = 1;
    break;
  }
  if (!st && !hit && r != ARCHIVE_EOF)
    st = ms__registry_archive_failure(a, &rd, r, format, s->origin,
                                      r == ARCHIVE_WARN ? archive_entry_pathname(e) : NULL, 0);
  archive_read_free(a);
  ms__registry_reader_free(&rd);
  if (!st && !hit)
    st = ms__fail(MS_ECORRUPT, "archive '%s': config file '%s' named by the manifest is missing", s->origin, want);
  return st;
}

int ms__registry_archive_find_names(const ms__source *s, int format, const char *const *want, size_t n, int *found) {
  for (size_t i = 0; i < n; i++) found[i] = 0;
  int st = MS_OK;
  ms__reader rd;
  struct archive *a = ms__registry_archive_open(s, format, &rd, &st);
  if (!a) return st;
  struct archive_entry *e;
  int r;
  while (ms__registry_archive_header_ok(a, r = archive_read_next_header(a, &e))) {
    const char *name = archive_entry_pathname(e);
    if (!name) continue;
    size_t top_len;
    const char *rel = ms__registry_archive_rel_name(name, format, &top_len);
    size_t len = strlen(rel);
    while (len && rel[len - 1] == '/') len--; /* a folder entry: "model.pt/" */
    for (size_t i = 0; i < n; i++)
      if (!found[i] && strlen(want[i]) == len && strncmp(rel, want[i], len) == 0)
        found[i] = archive_entry_filetype(e) == AE_IFREG ? 1 : 2;
  }
  if (r != ARCHIVE_EOF)
    st = ms__registry_archive_failure(a, &rd, r, format, s->origin,
                                      r == ARCHIVE_WARN ? archive_entry_pathname(e) : NULL, 0);
  archive_read_free(a);
  ms__registry_reader_free(&rd);
  return st;
}
