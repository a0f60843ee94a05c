/* Internal: small file-system utilities shared by the parts — opening a
 * regular file without ever blocking, reading a small file whole, saying
 * what a path is, the parent folder of a path, removing a folder tree.
 *
 * Layer: common (depends on error.h only; knows nothing of the parts). */
#ifndef MS_COMMON_FSUTIL_H
#define MS_COMMON_FSUTIL_H

#include <stddef.h>
#include <sys/stat.h>

/* Returned by ms__fs_open_regular for a path that is not a regular file. */
#define MS__FS_NOT_REGULAR (-1)

/*
 * ms__fs_open_regular - open `path` for reading only if it is a regular
 * file, without ever blocking: open(O_RDONLY | O_NONBLOCK | O_CLOEXEC |
 * O_NOCTTY), fstat, and O_NONBLOCK cleared again for a regular file. So a
 * FIFO (which would wait for a writer), a device or a folder is refused
 * instead of read. Returns 0 with *fd and *sb set; an errno value when
 * open or fstat failed; or MS__FS_NOT_REGULAR with *sb describing what the
 * path is (*fd untouched, nothing left open). Sets no message: callers say
 * what the file was for.
 */
int ms__fs_open_regular(const char *path, int *fd, struct stat *sb);

/* What a file of st_mode `mode` is, for messages: "a FIFO", "a folder",
 * "a character device", ... Never NULL. */
const char *ms__fs_kind(unsigned mode);

/*
 * ms__fs_read_fd - read the open file fd to its end into a malloc'd,
 * NUL-terminated buffer (*out, its length without the NUL in *len). Returns
 * 0; EFBIG when the file holds more than `cap` bytes; ENOMEM; or the errno
 * of a failed read (EINTR is retried). Does not close fd. Sets no message.
 * *out and *len untouched on failure.
 */
int ms__fs_read_fd(int fd, size_t cap, char **out, size_t *len);

/*
 * ms__fs_read_all - read the small regular file `path` whole (at most `cap`
 * bytes) into a malloc'd, NUL-terminated buffer. `what` names the file in
 * messages ("<what> '<path>': <cause>"). Errors: MS_ENOTFOUND (no such
 * file), MS_EIO (unreadable, or a folder, FIFO, socket or device: never
 * waited on), MS_ECORRUPT (larger than cap), MS_ENOMEM. *out and *len
 * untouched on failure.
 */
int ms__fs_read_all(const char *path, size_t cap, const char *what, char **out, size_t *len);

/* The parent folder of the absolute path `abs_path` ("/a/b" -> "/a",
 * "/x" -> "/"), malloc'd; NULL with MS_ENOMEM set. */
char *ms__fs_parent_dir(const char *abs_path);

/* Remove a folder tree, never following symbolic links (best effort; NULL
 * is a no-op). */
void ms__fs_rmtree(const char *path);

#endif
