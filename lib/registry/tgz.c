/* Reading a .tar.gz's metadata in one pass over the file.
 *
 * A tar has no index: the manifest is found by decompressing the stream up
 * to it, and the content hash needs every byte of the file. Both happen in
 * the same pass: libarchive pulls the file through a reader that hashes
 * each chunk it hands out and inflates it with zlib (source.c). Once the
 * manifest and the config it names are in hand, the pass goes on to the
 * end of the archive without keeping anything: every tar header is read
 * (and its checksum checked) and the gzip stream is inflated to its end,
 * where its trailer (CRC-32 and length of the data) is checked. So a file
 * cut short after its manifest, or damaged anywhere, fails at registration
 * (MS_ECORRUPT) instead of being registered and failing only when it is
 * extracted. A tar.gz costs one sequential read, SHA-256 of the file and
 * inflating it (what TorchServe's own noop.tar.gz and the benchmark, with
 * their manifest last, cost before as well).
 *
 * The config entry may come before the manifest that names it. Small
 * regular entries seen before the manifest are kept (up to
 * MS__TGZ_PENDING_BUDGET bytes in all); only when the config was not among
 * them, because it was too large or the budget ran out, does a second pass
 * look for it.
 *
 * Inflating up to the manifest is bounded by the registry's limits
 * (check_inflate), so a compression bomb placed before the manifest fails
 * fast instead of stalling a scan. */
#include "registry/tgz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "registry/entry.h"
#include "mserve/common.h"

typedef struct pending {
  char *name; /* full entry name, "./" stripped */
  char *data;
  size_t len;
} pending;

typedef struct tgz_state {
  const ms__source *s;
  const ms__read_limits *lim;
  char *manifest;
  size_t manifest_len;
  int have_mar;      /* the manifest is MAR-INF/MANIFEST.json (not legacy) */
  char *want;        /* full name of the config entry, or NULL */
  char *config;
  size_t config_len;
  pending *pend;
  size_t n_pend, cap_pend, pend_bytes;
  int pend_skipped;  /* an entry that could have been the config was not kept */
  char last[512];    /* the last entry read (for messages about the header after it) */
} tgz_state;

static void state_free(tgz_state *t) {
  free(t->manifest);
  free(t->want);
  free(t->config);
  for (size_t i = 0; i < t->n_pend; i++) {
    free(t->pend[i].name);
    free(t->pend[i].data);
  }
  free(t->pend);
}

void ms__registry_tgz_hash_init(ms__sha256 *h) {
  static const char tag[] = "mserve-tgz-v2";
  ms__sha256_init(h);
  ms__sha256_update(h, tag, sizeof tag);
}

/* Take the manifest entry (MAR-INF or legacy) and, for MAR-INF, work out
 * the full name of the config entry and look for it among the kept ones. */
static int take_manifest(tgz_state *t, struct archive *a, const ms__reader *rd, struct archive_entry *e,
                         const char *name, const char *rel, size_t top_len, int is_mar) {
  if (archive_entry_filetype(e) != AE_IFREG)
    return ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file", t->s->origin, name);
  free(t->manifest);
  t->manifest = NULL;
  int st = ms__registry_archive_entry_data(a, rd, e, t->s->origin, name, &t->manifest, &t->manifest_len);
  if (st || !is_mar) return st;
  t->have_mar = 1;
  ms__manifest peek;
  if ((st = ms__registry_manifest_parse(t->manifest, t->manifest_len, t->s->origin, &peek))) return st;
  if (peek.config_file) {
    const char *cf = ms__registry_skip_dot_slash(peek.config_file);
    size_t n = top_len + strlen(cf) + 1;
    if (!(t->want = malloc(n))) st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", t->s->origin);
    else snprintf(t->want, n, "%.*s%s", (int)top_len, rel - top_len, cf);
  }
  ms__registry_manifest_free(&peek);
  for (size_t i = 0; !st && t->want && i < t->n_pend; i++)
    if (strcmp(t->pend[i].name, t->want) == 0) {
      t->config = t->pend[i].data;
      t->config_len = t->pend[i].len;
      t->pend[i].data = NULL;
      break;
    }
  return st;
}

/* Keep a small regular entry seen before the manifest: it may be the config. */
static int keep_pending(tgz_state *t, struct archive *a, const ms__reader *rd, struct archive_entry *e,
                        const char *name) {
  la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
  if (size < 0 || size > (la_int64_t)MS__META_MAX_BYTES || t->pend_bytes + (size_t)size > MS__TGZ_PENDING_BUDGET) {
    t->pend_skipped = 1;
    return MS_OK;
  }
  if (t->n_pend == t->cap_pend) {
    size_t cap = t->cap_pend ? t->cap_pend * 2 : 8;
    pending *g = realloc(t->pend, cap * sizeof *g);
    if (!g) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", t->s->origin);
    t->pend = g;
    t->cap_pend = cap;
  }
  pending *p = &t->pend[t->n_pend];
  memset(p, 0, sizeof *p);
  if (!(p->name = ms__strdup(name))) return MS_ENOMEM;
  int st = ms__registry_archive_entry_data(a, rd, e, t->s->origin, name, &p->data, &p->len);
  if (st) {
    free(p->name);
    return st;
  }
  t->n_pend++;
  t->pend_bytes += p->len;
  return MS_OK;
}

/* Moving past entry e inflates its data: refuse before doing so when that
 * would break the limits (a tar entry's size is exactly what is skipped).
 * Inflating anything else (headers, the padding after the last entry) is
 * bounded by the reader (ms__registry_reader_open_gz). */
static int check_inflate(const tgz_state *t, struct archive *a, struct archive_entry *e) {
  int64_t size = archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : 0;
  int64_t pos = (int64_t)archive_filter_bytes(a, 0);
  if (size < 0) size = 0;
  if (pos < 0) pos = 0;
  const ms__read_limits *lim = t->lim;
  if (pos > lim->max_bytes || size > lim->max_bytes - pos)
    return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' takes the decompressed size past the limit of %lld bytes",
                    t->s->origin,
                    ms__registry_skip_dot_slash(archive_entry_pathname(e) ? archive_entry_pathname(e) : "?"),
                    (long long)lim->max_bytes);
  int64_t base = t->s->size > 0 ? t->s->size : 1, end = pos + size; /* <= max_bytes: no overflow */
  if (end > MS__TGZ_RATIO_FLOOR && end / base >= lim->max_ratio)
    return ms__fail(MS_EUNSAFE,
                    "archive '%s': compression ratio over %lld (%lld bytes from %lld): a compression bomb?",
                    t->s->origin, (long long)lim->max_ratio, (long long)end, (long long)t->s->size);
  return MS_OK;
}

/* The pass over the entries: the manifest and its config are taken on the
 * way, and the pass goes on to the end of the archive. */
static int walk(tgz_state *t, struct archive *a, ms__reader *rd) {
  struct archive_entry *e;
  int r, st = MS_OK, done = 0;
  while (ms__registry_archive_header_ok(a, r = archive_read_next_header(a, &e))) {
    if ((st = check_inflate(t, a, e))) return st;
    const char *full = archive_entry_pathname(e);
    if (!full) continue;
    const char *name = ms__registry_skip_dot_slash(full);
    ms__strlcpy(t->last, name, sizeof t->last);
    if (done) continue; /* read on to the end: headers checked, data inflated and dropped */
    size_t top_len;
    const char *rel = ms__registry_archive_rel_name(name, MS__FMT_TGZ, &top_len);
    int is_reg = archive_entry_filetype(e) == AE_IFREG;
    if (!t->have_mar && strcmp(rel, "MAR-INF/MANIFEST.json") == 0) {
      if ((st = take_manifest(t, a, rd, e, name, rel, top_len, 1))) return st;
      done = !t->want || t->config;
      continue;
    }
    if (t->have_mar) {
      if (strcmp(name, t->want) != 0) continue;
      if (!is_reg) return ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file", t->s->origin, name);
      if ((st = ms__registry_archive_entry_data(a, rd, e, t->s->origin, name, &t->config, &t->config_len))) return st;
      done = 1;
      continue;
    }
    /* Before a MAR-INF manifest: the first legacy one counts unless a
     * MAR-INF manifest follows (so the walk goes on to the end). */
    if (!t->manifest && strcmp(rel, "MANIFEST.json") == 0) {
      if ((st = take_manifest(t, a, rd, e, name, rel, top_len, 0))) return st;
      continue;
    }
    if (is_reg && (st = keep_pending(t, a, rd, e, name))) return st;
  }
  if (r != ARCHIVE_EOF)
    return ms__registry_archive_failure(a, rd, r, MS__FMT_TGZ, t->s->origin,
                                        r == ARCHIVE_WARN ? archive_entry_pathname(e)
                                        : t->last[0]      ? t->last
                                                          : NULL,
                                        0);
  /* The end of the tar: the rest of the gzip stream, and its trailer. */
  return ms__registry_reader_finish_gz(rd);
}

int ms__registry_tgz_read(const ms__source *s, const ms__read_limits *lim, ms__archive_meta *out) {
  tgz_state t;
  memset(&t, 0, sizeof t);
  t.s = s;
  t.lim = lim;
  ms__sha256 h;
  ms__registry_tgz_hash_init(&h);
  ms__reader rd;
  int st = MS_OK;
  struct archive *a = archive_read_new();
  if (!a) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
  archive_read_support_format_tar(a);
  /* The decompressed stream is bounded as it is made too: what comes after
   * the tar's last entry (its padding) has no header to check. */
  int64_t slack = MS__TGZ_STREAM_SLACK, cap = lim->max_bytes > INT64_MAX - slack ? INT64_MAX : lim->max_bytes + slack;
  if (ms__registry_reader_open_gz(a, &rd, s, &h, cap, lim->max_ratio) != ARCHIVE_OK)
    st = rd.status ? rd.status
                   : ms__fail(MS_ECORRUPT, "archive '%s': not a valid tar.gz: %s", s->origin,
                              archive_error_string(a) ? archive_error_string(a) : "unreadable");
  else
    st = walk(&t, a, &rd);
  archive_read_free(a);
  if (!st && !t.manifest)
    st = ms__fail(MS_ECORRUPT, "archive '%s': no MAR-INF/MANIFEST.json (nor a legacy MANIFEST.json)", s->origin);
  if (!st && t.want && !t.config) {
    st = t.pend_skipped ? ms__registry_archive_find_entry(s, MS__FMT_TGZ, t.want, &t.config, &t.config_len)
                        : ms__fail(MS_ECORRUPT, "archive '%s': config file '%s' named by the manifest is missing",
                                   s->origin, t.want);
  }
  if (!st) st = ms__registry_reader_drain(&rd);
  ms__registry_reader_free(&rd);
  ms__archive_meta m;
  memset(&m, 0, sizeof m);
  m.format = MS__FMT_TGZ;
  if (!st)
    st = ms__registry_archive_parse_meta(s->origin, t.manifest, t.manifest_len, t.config, t.config_len,
                                         t.want ? t.want : "", &m);
  state_free(&t);
  if (st) {
    ms__registry_archive_meta_free(&m);
    return st;
  }
  ms__sha256_final_hex(&h, m.hash);
  *out = m;
  return MS_OK;
}
