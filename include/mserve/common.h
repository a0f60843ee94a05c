/*
 * libmserve — common definitions: status codes, error messages, versions,
 * clocks and the host log hook.
 *
 * Every fallible function of libmserve returns an int holding an ms_status
 * (MS_OK == 0). On failure, ms_errmsg() returns a message for the calling
 * thread that starts with the part, the call and the object, then gives the
 * cause ("store: ms_store_open: 'x.db': the file is not an SQLite
 * database"). Output parameters are left untouched on failure unless a
 * function documents otherwise.
 *
 * Stability. Every function of every header is marked Stable or
 * Experimental. While the version is 0.x (this is 0.1.0) any of them may
 * still change in a minor release, each change listed in the CHANGELOG;
 * from 1.0 on, a Stable function keeps its signature and meaning for the
 * whole major version 1 (releases only add functions, flags and status
 * codes), and an Experimental one (a part newer than 1.0's freeze) may still
 * change in a minor release, the CHANGELOG saying how. Everything in this
 * header is Stable.
 */
#ifndef MSERVE_COMMON_H
#define MSERVE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MSERVE_BUILDING) && defined(__GNUC__)
#define MS_API __attribute__((visibility("default")))
#else
#define MS_API
#endif

/* The version of these headers (ms_version() says the running library's).
 * Stable. */
#define MS_VERSION_MAJOR 0
#define MS_VERSION_MINOR 1
#define MS_VERSION_PATCH 0
/* One number for comparisons in the preprocessor: MAJOR*10000 + MINOR*100 + PATCH. */
#define MS_VERSION_NUMBER (MS_VERSION_MAJOR * 10000 + MS_VERSION_MINOR * 100 + MS_VERSION_PATCH)

/* Status codes. Values never change once released; new codes are appended.
 * Stable. */
typedef enum ms_status {
  MS_OK = 0,
  MS_EINVAL = 1,       /* an argument is invalid (NULL, empty, out of range) */
  MS_ENOMEM = 2,       /* an allocation failed */
  MS_ENOTFOUND = 3,    /* the named object does not exist */
  MS_EEXIST = 4,       /* the named object exists already */
  MS_ELIMIT = 5,       /* admission denied by a concurrency limit; nothing changed */
  MS_EFULL = 6,        /* queue full; the request was not taken */
  MS_ETIMEDOUT = 7,    /* a deadline passed: batcher requests past their timeout, a wait with nothing due */
  MS_ECANCELED = 8,    /* canceled: batcher requests handed back by ms_batcher_cancel or _shutdown */
  MS_EBUSY = 9,        /* in use: the store locked past the busy timeout, or by the calling thread's own
                        * open transaction; an executor in the middle of a run */
  MS_EIO = 10,         /* the operating system refused a file operation */
  MS_ECORRUPT = 11,    /* malformed archive, manifest, config file or database */
  MS_EUNSAFE = 12,     /* archive entry escapes its root, is a link or device, or breaks a size limit */
  MS_EUNSUPPORTED = 13,/* a format, version or feature this build does not support */
  MS_ENODEV = 14,      /* the executor's "cuda" device: none usable, or a build without CUDA
                        * (CMake MSERVE_CUDA=OFF, or AUTO with no CUDA Toolkit found) */
  MS_ECLOSED = 15,     /* the object was closed or shut down */
  MS_ECONFLICT = 16,   /* contradicting rules or settings */
  MS_EINTERNAL = 17    /* a bug in libmserve; please report it */
} ms_status;

/* Durations are microseconds everywhere. Stable. */
#define MS_SEC(s) ((int64_t)(s) * 1000000)

/*
 * ms_status_name - the symbolic name of a status, e.g. "MS_ELIMIT".
 * Returns a static string, never NULL ("MS_UNKNOWN" for values outside the
 * enum). Thread safe. Stable.
 */
MS_API const char *ms_status_name(int status);

/*
 * ms_errmsg - the message of the calling thread's most recent failure.
 * Returns a thread-local string, never NULL ("" when nothing failed yet). It
 * stays valid until the next libmserve call that fails on the same thread;
 * copy it if you need it longer. Successful calls do not clear it. A
 * binding reads it on the thread that made the call, right after it.
 * Stable.
 */
MS_API const char *ms_errmsg(void);

/*
 * ms_version - the library's version as "MAJOR.MINOR.PATCH" of the code that
 * is running, which may be newer than the headers a program compiled with.
 * Static string. Thread safe. Stable.
 */
MS_API const char *ms_version(void);

/* ms_version_number - MS_VERSION_NUMBER of the running library. Thread safe.
 * Stable. */
MS_API int ms_version_number(void);

/*
 * ms_clock_realtime_us - Unix-epoch time in microseconds (CLOCK_REALTIME).
 * Use it for persisted or cross-process times: leases, cooldowns. Thread safe.
 * Stable.
 */
MS_API int64_t ms_clock_realtime_us(void);

/*
 * ms_clock_monotonic_us - monotonic time in microseconds (CLOCK_MONOTONIC),
 * for in-process deadlines (the batcher's). Thread safe. Stable.
 */
MS_API int64_t ms_clock_monotonic_us(void);

/* Log levels for ms_set_log. Stable. */
typedef enum ms_log_level {
  MS_LOG_DEBUG = 0,
  MS_LOG_INFO = 1,
  MS_LOG_WARN = 2,
  MS_LOG_ERROR = 3,
  MS_LOG_OFF = 4
} ms_log_level;

/*
 * Log callback: level, a NUL-terminated message without trailing newline
 * (valid only during the call) and the user pointer given to ms_set_log.
 * It may be called from any thread that calls into libmserve, and must not
 * call back into libmserve. Stable.
 */
typedef void (*ms_log_fn)(int level, const char *message, void *user);

/*
 * ms_set_log - install a process-wide log callback receiving messages of
 * min_level and above. fn NULL (the default) makes libmserve silent.
 * Thread safe, but a callback may still run once on another thread after it
 * was replaced: keep `user` alive until you are sure no call is in flight.
 * Returns MS_OK, or MS_EINVAL for a level outside ms_log_level. Stable.
 */
MS_API int ms_set_log(ms_log_fn fn, int min_level, void *user);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_COMMON_H */
