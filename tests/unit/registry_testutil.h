/* Helpers for the registry tests: build archives at run time with
 * libarchive's writer (including hostile ones) and write small files. */
#ifndef MS_REGISTRY_TESTUTIL_H
#define MS_REGISTRY_TESTUTIL_H

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* T_NOISE: a regular file of `size` pseudo-random (incompressible) bytes. */
typedef enum t_kind { T_FILE = 0, T_DIR, T_SYMLINK, T_HARDLINK, T_CHR, T_BLK, T_FIFO, T_NOISE } t_kind;

typedef struct t_entry {
  const char *name;
  t_kind kind;
  const char *data;   /* T_FILE: contents (NUL-terminated) unless size set */
  size_t size;        /* T_FILE: when data is NULL, `size` bytes of filler */
  const char *target; /* T_SYMLINK / T_HARDLINK */
} t_entry;

/* fmt: "zip" (deflate), "zip-store", or "tgz". Returns 0 on success. */
static inline int t_write_archive(const char *path, const char *fmt, const t_entry *e, size_t n) {
  struct archive *a = archive_write_new();
  if (strncmp(fmt, "zip", 3) == 0) {
    archive_write_set_format_zip(a);
    if (strcmp(fmt, "zip-store") == 0) archive_write_set_options(a, "zip:compression=store");
  } else {
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
  }
  if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
    archive_write_free(a);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, e[i].name);
    archive_entry_set_mtime(ae, 1700000000, 0);
    size_t size = e[i].data ? strlen(e[i].data) : e[i].size;
    switch (e[i].kind) {
      case T_FILE:
      case T_NOISE:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_size(ae, (la_int64_t)size);
        break;
      case T_DIR:
        archive_entry_set_filetype(ae, AE_IFDIR);
        archive_entry_set_perm(ae, 0755);
        break;
      case T_SYMLINK:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_perm(ae, 0777);
        archive_entry_set_symlink(ae, e[i].target);
        break;
      case T_HARDLINK:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_hardlink(ae, e[i].target);
        archive_entry_set_size(ae, 0);
        break;
      case T_CHR:
        archive_entry_set_filetype(ae, AE_IFCHR);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_rdev(ae, 0x0103);
        break;
      case T_BLK:
        archive_entry_set_filetype(ae, AE_IFBLK);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_rdev(ae, 0x0801);
        break;
      case T_FIFO:
        archive_entry_set_filetype(ae, AE_IFIFO);
        archive_entry_set_perm(ae, 0644);
        break;
    }
    if (archive_write_header(a, ae) < ARCHIVE_WARN) rc = -1;
    if (!rc && (e[i].kind == T_FILE || e[i].kind == T_NOISE) && size) {
      if (e[i].data) {
        if (archive_write_data(a, e[i].data, size) < 0) rc = -1;
      } else {
        char chunk[8192];
        memset(chunk, 'A', sizeof chunk);
        uint32_t x = 2463534242u + (uint32_t)i;
        size_t left = size;
        while (left && !rc) {
          size_t k = left < sizeof chunk ? left : sizeof chunk;
          for (size_t j = 0; e[i].kind == T_NOISE && j < k; j++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            chunk[j] = (char)(x >> 24);
          }
          if (archive_write_data(a, chunk, k) < 0) rc = -1;
          left -= k;
        }
      }
    }
    archive_entry_free(ae);
  }
  if (archive_write_close(a) != ARCHIVE_OK) rc = -1;
  archive_write_free(a);
  return rc;
}

/* A TorchServe manifest; extra_model is spliced into the "model" object
 * (e.g. "\"batchSize\": 4,"), config_file may be NULL. malloc'd. */
static inline char *t_manifest(const char *name, const char *version, const char *extra_model,
                               const char *config_file) {
  char *buf = malloc(4096);
  char ver[256] = "", cfg[256] = "";
  if (version) snprintf(ver, sizeof ver, "\"modelVersion\": \"%s\",", version);
  if (config_file) snprintf(cfg, sizeof cfg, "\"configFile\": \"%s\",", config_file);
  snprintf(buf, 4096,
           "{\"runtime\": \"python\", \"model\": {%s %s %s \"modelName\": \"%s\", \"handler\": \"h.py\"},"
           " \"archiverVersion\": \"0.7.1\"}",
           extra_model ? extra_model : "", ver, cfg, name);
  return buf;
}

/* Write a .mar with a manifest (+ optional model-config.yaml) and a payload. */
static inline int t_write_mar(const char *path, const char *name, const char *version, const char *extra_model,
                              const char *yaml) {
  char *man = t_manifest(name, version, extra_model, yaml ? "model-config.yaml" : NULL);
  t_entry e[3] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                  {"model.pt", T_FILE, "weights", 0, NULL},
                  {"model-config.yaml", T_FILE, yaml, 0, NULL}};
  int rc = t_write_archive(path, "zip", e, yaml ? 3 : 2);
  free(man);
  return rc;
}

static inline int t_write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t n = strlen(text);
  size_t w = fwrite(text, 1, n, f);
  return (fclose(f) == 0 && w == n) ? 0 : -1;
}

#endif
