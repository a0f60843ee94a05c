/* A zip's (.mar's) metadata: the central directory is hashed (zipdir.c),
 * the manifest found by the seekable reader (which starts from the central
 * directory, so skipping an entry never inflates it), then the config it
 * names in a second pass. */
#include "registry/zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/sha256.h"
#include "registry/entry.h"
#include "mserve/common.h"
#include "registry/zipdir.h"

typedef struct found {
  char *manifest;
  size_t manifest_len;
  char *top;      /* top folder of the manifest ("noop/") or "" */
} found;

static void found_free(found *f) {
  free(f->manifest);
  free(f->top);
  memset(f, 0, sizeof *f);
}

/* Zip pass 1: find MAR-INF/MANIFEST.json (or the legacy top-level
 * MANIFEST.json, which only counts when no MAR-INF manifest exists). */
static int find_manifest(const ms__source *s, found *f) {
  const int format = MS__FMT_ZIP;
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
    int is_mar = strcmp(rel, "MAR-INF/MANIFEST.json") == 0;
    int is_legacy = !is_mar && strcmp(rel, "MANIFEST.json") == 0 && !f->manifest;
    if (!is_mar && !is_legacy) continue;
    if (archive_entry_filetype(e) != AE_IFREG) {
      st = ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file", s->origin, name);
      break;
    }
    free(f->manifest);
    f->manifest = NULL;
    free(f->top);
    if (!(f->top = malloc(top_len + 1))) {
      st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
      break;
    }
    memcpy(f->top, rel - top_len, top_len);
    f->top[top_len] = '\0';
    if ((st = ms__registry_archive_entry_data(a, &rd, e, s->origin, name, &f->manifest, &f->manifest_len))) break;
    if (is_mar) break;
  }
  if (!st && !ms__registry_archive_header_ok(a, r) && r != ARCHIVE_EOF)
    st = ms__registry_archive_failure(a, &rd, r, format, s->origin,
                                      r == ARCHIVE_WARN ? archive_entry_pathname(e) : NULL, 0);
  archive_read_free(a);
  ms__registry_reader_free(&rd);
  if (!st && !f->manifest)
    st = ms__fail(MS_ECORRUPT, "archive '%s': no MAR-INF/MANIFEST.json (nor a legacy MANIFEST.json)", s->origin);
  return st;
}

int ms__registry_zip_read(const ms__source *s, ms__archive_meta *out) {
  ms__archive_meta m;
  memset(&m, 0, sizeof m);
  m.format = MS__FMT_ZIP;
  found f;
  memset(&f, 0, sizeof f);
  char *config = NULL, *want = NULL;
  size_t config_len = 0;
  ms__sha256 h;
  ms__sha256_init(&h);
  int st = ms__registry_zip_hash_directory(s, &h);
  if (!st) st = find_manifest(s, &f);
  if (!st) {
    /* Peek at configFile before the full parse so the config is read once. */
    ms__manifest peek;
    st = ms__registry_manifest_parse(f.manifest, f.manifest_len, s->origin, &peek);
    int parsed = !st; /* peek is ours to free from here on */
    if (!st && peek.config_file) {
      const char *cf = ms__registry_skip_dot_slash(peek.config_file);
      size_t n = strlen(f.top) + strlen(cf) + 1;
      if (!(want = malloc(n))) st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
      else snprintf(want, n, "%s%s", f.top, cf);
    }
    if (parsed) ms__registry_manifest_free(&peek);
  }
  if (!st && want) st = ms__registry_archive_find_entry(s, MS__FMT_ZIP, want, &config, &config_len);
  if (!st)
    st = ms__registry_archive_parse_meta(s->origin, f.manifest, f.manifest_len, config, config_len, want ? want : "",
                                         &m);
  if (!st) {
    ms__sha256_update(&h, f.manifest, f.manifest_len);
    if (config) ms__sha256_update(&h, config, config_len);
    ms__sha256_final_hex(&h, m.hash);
  }
  found_free(&f);
  free(config);
  free(want);
  if (st) {
    ms__registry_archive_meta_free(&m);
    return st;
  }
  *out = m;
  return MS_OK;
}
