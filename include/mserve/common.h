/*
 * libmserve — common definitions: status codes, error messages, versions,
 * clocks and the host log hook.
 *
 * Every fallible function of libmserve returns an int holding an ms_status
 * (MS_OK == 0). On failure, ms_errmsg() returns a message for the calling
 * thread that names the object and the cause. Output parameters are left
 * untouched on failure unless a function documents otherwise.
 *
 * Stability: everything in this header is stable API within major version 1.
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

#define MS_VERSION_MAJOR 0
#define MS_VERSION_MINOR 1
#define MS_VERSION_PATCH 0
/* One number for comparisons in the preprocessor: MAJOR*10000 + MINOR*100 + PATCH. */
#define MS_VERSION_NUMBER (MS_VERSION_MAJOR * 10000 + MS_VERSION_MINOR * 100 + MS_VERSION_PATCH)

/* Status codes. Values never change once released; new codes are appended. */
typedef enum ms_status {
  MS_OK = 0,
  MS_EINVAL = 1,       /* an argument is invalid (NULL, empty, out of range) */
  MS_ENOMEM = 2,       /* an allocation failed */
  MS_ENOTFOUND = 3,    /* the named object does not exist */
  MS_EEXIST = 4,       /* the named object exists already */
  MS_ELIMIT = 5,       /* admission denied by a concurrency limit; nothing changed */
  MS_EFULL = 6,        /* queue full; the request was not taken */
  MS_ETIMEDOUT = 7,    /* a deadline passed */
  MS_ECANCELED = 8,    /* the operation was canceled */
  MS_EBUSY = 9,        /* store still locked after the busy timeout */
  MS_EIO = 10,         /* the operating system refused a file operation */
  MS_ECORRUPT = 11,    /* malformed archive, manifest, config file or database */
  MS_EUNSAFE = 12,     /* archive entry escapes its root, is a link or device, or breaks a size limit */
  MS_EUNSUPPORTED = 13,/* a format, version or feature this build does not support */
  MS_ENODEV = 14,      /* no usable CUDA device, or built without CUDA */
  MS_ECLOSED = 15,     /* the object was closed or shut down */
  MS_ECONFLICT = 16,   /* contradicting rules or settings */
  MS_EINTERNAL = 17    /* a bug in libmserve; please report it */
} ms_status;

/* Durations are microseconds everywhere. */
#define MS_SEC(s) ((int64_t)(s) * 1000000)

/*
 * ms_status_name - the symbolic name of a status, e.g. "MS_ELIMIT".
 * Returns a static string, never NULL ("MS_UNKNOWN" for values outside the
 * enum). Thread safe.
 */
MS_API const char *ms_status_name(int status);

/*
 * ms_errmsg - the message of the calling thread's most recent failure.
 * Returns a thread-local string, never NULL ("" when nothing failed yet). It
 * stays valid until the next libmserve call that fails on the same thread;
 * copy it if you need it longer. Successful calls do not clear it.
 */
MS_API const char *ms_errmsg(void);

/*
 * ms_version - the library's version as "MAJOR.MINOR.PATCH" of the code that
 * is running, which may be newer than the headers a program compiled with.
 * Static string. Thread safe.
 */
MS_API const char *ms_version(void);

/* ms_version_number - MS_VERSION_NUMBER of the running library. Thread safe. */
MS_API int ms_version_number(void);

/*
 * ms_clock_realtime_us - Unix-epoch time in microseconds (CLOCK_REALTIME).
 * Use it for persisted or cross-process times: leases, cooldowns. Thread safe.
 */
MS_API int64_t ms_clock_realtime_us(void);

/*
 * ms_clock_monotonic_us - monotonic time in microseconds (CLOCK_MONOTONIC),
 * for in-process deadlines. Thread safe.
 */
MS_API int64_t ms_clock_monotonic_us(void);

/* Log levels for ms_set_log. */
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
 * call back into libmserve.
 */
typedef void (*ms_log_fn)(int level, const char *message, void *user);

/*
 * ms_set_log - install a process-wide log callback receiving messages of
 * min_level and above. fn NULL (the default) makes libmserve silent.
 * Thread safe, but a callback may still run once on another thread after it
 * was replaced: keep `user` alive until you are sure no call is in flight.
 * Returns MS_OK, or MS_EINVAL for a level outside ms_log_level.
 */
MS_API int ms_set_log(ms_log_fn fn, int min_level, void *user);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_COMMON_H */
