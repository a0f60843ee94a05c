/* Writing model archives: a zip (.mar; deflate, or stored) or a tar.gz,
 * entry by entry, through libarchive's write API. One writer for
 * mserve-archive create, the registry tests (hostile entries: links,
 * devices, odd names) and the registry benchmark's generated stores
 * (stored weights next to deflated manifests, gzip level 1).
 *
 * Use: aw_open (or aw_open_fd), aw_add / aw_add_file / aw_add_filler per
 * entry, then aw_close (finishes the archive and frees the writer) or
 * aw_abort (frees it without finishing). Every call returns an ms_status
 * (MS_OK, MS_EINVAL, MS_EIO, MS_ENOMEM) and on failure leaves the reason,
 * naming the archive and the entry, in aw_last_error(); after a failure
 * only aw_abort is useful. Not thread safe (one writer at a time per
 * process). Needs libarchive and the public mserve.h only. */
#ifndef MSERVE_EXAMPLES_ARCHIVE_WRITE_H
#define MSERVE_EXAMPLES_ARCHIVE_WRITE_H

#include <stddef.h>
#include <stdint.h>

typedef enum aw_format {
  AW_ZIP = 0,       /* zip, entries deflated (torch-model-archiver's default .mar) */
  AW_ZIP_STORE = 1, /* zip, entries stored (torch-model-archiver --archive-format zip-store) */
  AW_TGZ = 2        /* tar (pax restricted) + gzip (--archive-format tgz) */
} aw_format;

typedef enum aw_kind { AW_FILE = 0, AW_DIR, AW_SYMLINK, AW_HARDLINK, AW_CHR, AW_BLK, AW_FIFO } aw_kind;

/* One entry's header. mode 0 means the kind's default (0644 files, 0755
 * folders, 0777 links); target is the link target (AW_SYMLINK, AW_HARDLINK);
 * rdev the device number (AW_CHR, AW_BLK). */
typedef struct aw_entry {
  const char *name;
  aw_kind kind;
  unsigned mode;
  int64_t mtime; /* seconds since the epoch */
  const char *target;
  unsigned long rdev;
} aw_entry;

typedef struct aw_writer aw_writer;

/* A new archive at path (created or truncated), or on an open fd (the
 * caller keeps and closes it; shown_name names it in messages). gzip_level
 * (tgz only) is 1..9, or 0 for libarchive's default. *out owns the writer. */
int aw_open(const char *path, aw_format fmt, int gzip_level, aw_writer **out);
int aw_open_fd(int fd, const char *shown_name, aw_format fmt, int gzip_level, aw_writer **out);

/* The message of the last failed call (aw_open and aw_close included),
 * "" when none failed yet. */
const char *aw_last_error(void);

/* zip: the entries that follow are stored (1) or deflated (0). */
int aw_set_store(aw_writer *w, int store);

/* An entry with `len` bytes of data (files only; other kinds take none). */
int aw_add(aw_writer *w, const aw_entry *e, const void *data, size_t len);
/* A regular file from disk, streamed; mtime < 0: the file's own. The file
 * must still be a regular file when opened (never waits on a FIFO). */
int aw_add_file(aw_writer *w, const char *name, const char *disk_path, int64_t mtime);
/* A regular file of `size` bytes: 'A's, or pseudo-random incompressible
 * bytes from `seed` when noise is 1 (test and benchmark payloads). */
int aw_add_filler(aw_writer *w, const char *name, uint64_t size, int noise, uint32_t seed, int64_t mtime);

/* Uncompressed bytes written so far (entry data only). */
uint64_t aw_bytes_in(const aw_writer *w);

/* Finish the archive (central directory, gzip trailer) and free w, in
 * every case: MS_OK, or MS_EIO (the reason in aw_last_error()). */
int aw_close(aw_writer *w);
/* Free w without finishing: the file is left incomplete (remove it). */
void aw_abort(aw_writer *w);

#endif
