/* Helpers for the registry tests: build archives at run time (including
 * hostile ones) and write small files.
 *
 * Archives are written by the one archive writer of the project, the
 * command-line tools' (examples/common/archive_write.c), compiled into the
 * test program that includes this header: every program including it is
 * one translation unit, and none links the tools' library. */
#ifndef MS_REGISTRY_TESTUTIL_H
#define MS_REGISTRY_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* cmocka's fail() macro would rename the writer's own static fail(). */
#pragma push_macro("fail")
#undef fail
#include "../../examples/common/archive_write.c"
#pragma pop_macro("fail")

/* T_NOISE: a regular file of `size` pseudo-random (incompressible) bytes. */
typedef enum t_kind { T_FILE = 0, T_DIR, T_SYMLINK, T_HARDLINK, T_CHR, T_BLK, T_FIFO, T_NOISE } t_kind;

typedef struct t_entry {
  const char *name;
  t_kind kind;
  const char *data;   /* T_FILE: contents (NUL-terminated) unless size set */
  size_t size;        /* T_FILE: when data is NULL, `size` bytes of filler */
  const char *target; /* T_SYMLINK / T_HARDLINK */
} t_entry;

/* fmt: "zip" (deflate), "zip-store", or "tgz". Returns 0 on success. Written
 * by the archive writer the command-line tools use (aw_*, included above);
 * every entry's mtime is 1700000000, T_NOISE bytes are the writer's xorshift
 * stream seeded per entry. */
static inline int t_write_archive(const char *path, const char *fmt, const t_entry *e, size_t n) {
  aw_format f = strncmp(fmt, "zip", 3) != 0 ? AW_TGZ : strcmp(fmt, "zip-store") == 0 ? AW_ZIP_STORE : AW_ZIP;
  aw_writer *w = NULL;
  if (aw_open(path, f, 0, &w) != MS_OK) return -1;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    static const aw_kind kinds[] = {AW_FILE, AW_DIR, AW_SYMLINK, AW_HARDLINK, AW_CHR, AW_BLK, AW_FIFO, AW_FILE};
    aw_entry ae = {e[i].name, kinds[e[i].kind], 0, 1700000000, e[i].target,
                   e[i].kind == T_CHR ? 0x0103u : e[i].kind == T_BLK ? 0x0801u : 0u};
    int st;
    if ((e[i].kind == T_FILE && !e[i].data) || e[i].kind == T_NOISE)
      st = aw_add_filler(w, e[i].name, e[i].data ? strlen(e[i].data) : e[i].size, e[i].kind == T_NOISE,
                         2463534242u + (uint32_t)i, 1700000000);
    else
      st = aw_add(w, &ae, e[i].data, e[i].data ? strlen(e[i].data) : 0);
    if (st != MS_OK) rc = -1;
  }
  if (rc) {
    aw_abort(w);
    return -1;
  }
  return aw_close(w) == MS_OK ? 0 : -1;
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
