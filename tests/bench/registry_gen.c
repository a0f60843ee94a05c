/* Generating the benchmark's model stores (with the project's one archive
 * writer, examples/common/archive_write.c, as the tools and tests do) and
 * measuring the extract-all baseline with libarchive only (no libmserve
 * code), so the baseline is independent of the thing it is compared with. */
#include "registry_gen.h"

#include <mserve.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_write.h"


double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)sb, (void)f, (void)w;
  remove(p);
  return 0;
}

void rm_tree(const char *path) { nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS); }

static int gen_one(const char *path, const char *name, size_t idx, uint64_t payload, gen_format fmt) {
  char manifest[1024], top[256], p[512];
  snprintf(manifest, sizeof manifest,
           "{\n  \"createdOn\": \"01/01/2026 00:00:00\",\n  \"runtime\": \"python\",\n  \"model\": {\n"
           "    \"modelName\": \"%s\",\n    \"modelVersion\": \"1.0\",\n    \"handler\": \"handler.py\",\n"
           "    \"serializedFile\": \"model.pt\",\n    \"configFile\": \"model-config.yaml\",\n"
           "    \"batchSize\": %zu,\n    \"maxBatchDelay\": 50\n  },\n  \"archiverVersion\": \"bench\"\n}\n",
           name, 1 + idx % 8);
  static const char yaml[] = "minWorkers: 1\nmaxWorkers: 2\nresponseTimeout: 120\nhandler:\n  threshold: 0.5\n";
  static const char handler[] = "def handle(data, context):\n    return data\n";
  snprintf(top, sizeof top, "%s", fmt == GEN_TGZ ? name : "");
  const int64_t mtime = 1767225600;
  aw_writer *w = NULL;
  if (aw_open(path, fmt == GEN_MAR ? AW_ZIP : AW_TGZ, fmt == GEN_TGZ ? 1 : 0, &w) != MS_OK) {
    fprintf(stderr, "bench: %s\n", aw_last_error());
    return -1;
  }
#define P(x) (snprintf(p, sizeof p, "%s%s%s", top, *top ? "/" : "", x), p)
  /* torch-model-archiver's order: the weights first, MAR-INF last (so in a
   * zip the manifest sits next to the central directory). Weights do not
   * deflate: they are stored, as archivers that detect it do. */
  aw_entry e_handler = {P("handler.py"), AW_FILE, 0644, mtime, NULL, 0};
  int st = fmt == GEN_MAR ? aw_set_store(w, 1) : MS_OK;
  if (!st) st = aw_add_filler(w, P("model.pt"), payload, 1, (uint32_t)(idx + 1) * 2654435761u, mtime);
  if (!st && fmt == GEN_MAR) st = aw_set_store(w, 0);
  e_handler.name = P("handler.py");
  if (!st) st = aw_add(w, &e_handler, handler, sizeof handler - 1);
  aw_entry e_yaml = {P("model-config.yaml"), AW_FILE, 0644, mtime, NULL, 0};
  if (!st) st = aw_add(w, &e_yaml, yaml, sizeof yaml - 1);
  aw_entry e_man = {P("MAR-INF/MANIFEST.json"), AW_FILE, 0644, mtime, NULL, 0};
  if (!st) st = aw_add(w, &e_man, manifest, strlen(manifest));
#undef P
  if (st) {
    fprintf(stderr, "bench: writing %s: %s\n", path, aw_last_error());
    aw_abort(w);
    return -1;
  }
  if (aw_close(w) != MS_OK) {
    fprintf(stderr, "bench: writing %s: %s\n", path, aw_last_error());
    return -1;
  }
  int ok = 1;
  int fd = open(path, O_RDONLY);
  if (fd < 0 || fsync(fd) != 0) ok = 0;
  if (fd >= 0) close(fd);
  return ok ? 0 : -1;
}

int gen_store(const char *dir, const char *prefix, size_t count, uint64_t payload_bytes, gen_format fmt,
              uint64_t *total_bytes) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench: mkdir %s: %s\n", dir, strerror(errno));
    return -1;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < count; i++) {
    char name[128], path[4096];
    snprintf(name, sizeof name, "%s_%04zu", prefix, i);
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, fmt == GEN_MAR ? "mar" : "tar.gz");
    if (gen_one(path, name, i, payload_bytes, fmt) != 0) return -1;
    struct stat st;
    if (stat(path, &st) == 0) total += (uint64_t)st.st_size;
  }
  if (total_bytes) *total_bytes = total;
  return 0;
}

static const char *g_drop_desc;
static int drop_one(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)sb, (void)w;
  if (f != FTW_F) return 0;
  int fd = open(p, O_RDONLY);
  if (fd >= 0) {
    (void)fdatasync(fd); /* only clean pages can be dropped */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
  return 0;
}

const char *drop_cache(const char *dir) {
  nftw(dir, drop_one, 32, FTW_PHYS);
  g_drop_desc = "posix_fadvise(DONTNEED) per file";
  if (geteuid() == 0) {
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd >= 0) {
      if (write(fd, "1", 1) == 1) g_drop_desc = "posix_fadvise(DONTNEED) per file + /proc/sys/vm/drop_caches=1";
      close(fd);
    }
  }
  return g_drop_desc;
}

static uint64_t g_pages, g_resident;
static int resident_one(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)w;
  if (f != FTW_F || sb->st_size == 0) return 0;
  int fd = open(p, O_RDONLY);
  if (fd < 0) return 0;
  size_t len = (size_t)sb->st_size;
  void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return 0;
  long pg = sysconf(_SC_PAGESIZE);
  size_t n = (len + (size_t)pg - 1) / (size_t)pg;
  unsigned char *vec = malloc(n);
  if (vec && mincore(m, len, vec) == 0) {
    for (size_t i = 0; i < n; i++) g_resident += vec[i] & 1;
    g_pages += n;
  }
  free(vec);
  munmap(m, len);
  return 0;
}

double resident_fraction(const char *dir) {
  g_pages = g_resident = 0;
  nftw(dir, resident_one, 32, FTW_PHYS);
  return g_pages ? (double)g_resident / (double)g_pages : -1.0;
}

static int extract_one(const char *archive_path, const char *dest) {
  struct archive *a = archive_read_new();
  struct archive *w = archive_write_disk_new();
  if (!a || !w) return -1;
  archive_read_support_format_zip(a);
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  /* The destination is prefixed below, so absolute paths are expected; ".."
   * and links are still refused, as a careful server would. */
  archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  int rc = 0;
  if (archive_read_open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK) {
    rc = -1;
  } else {
    struct archive_entry *e;
    int r;
    char out[8192];
    while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
      snprintf(out, sizeof out, "%s/%s", dest, archive_entry_pathname(e));
      archive_entry_set_pathname(e, out);
      if (archive_write_header(w, e) != ARCHIVE_OK) {
        rc = -1;
        break;
      }
      const void *blk;
      size_t sz;
      la_int64_t off;
      while ((r = archive_read_data_block(a, &blk, &sz, &off)) == ARCHIVE_OK)
        if (archive_write_data_block(w, blk, sz, off) != ARCHIVE_OK) {
          rc = -1;
          break;
        }
      if (r != ARCHIVE_EOF) rc = -1;
      if (archive_write_finish_entry(w) != ARCHIVE_OK) rc = -1;
    }
    if (rc == 0 && r != ARCHIVE_EOF) rc = -1;
  }
  if (rc) {
    const char *why = archive_error_string(w);
    fprintf(stderr, "bench: extracting %s: %s\n", archive_path, why ? why : archive_error_string(a));
  }
  archive_read_free(a);
  archive_write_free(w);
  return rc;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

double extract_all(const char *dir, const char *scratch) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) break;
      names = nn;
    }
    names[n] = strdup(e->d_name);
    if (names[n]) n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  double total = 0;
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    char src[4096], dest[4096];
    snprintf(src, sizeof src, "%s/%s", dir, names[i]);
    snprintf(dest, sizeof dest, "%s/x%zu", scratch, i);
    double t0 = now_s();
    if (extract_one(src, dest) != 0) failed = 1;
    total += now_s() - t0;
    rm_tree(dest);
    free(names[i]);
  }
  free(names);
  return failed ? -1.0 : total;
}
