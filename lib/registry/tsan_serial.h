/* Internal: under ThreadSanitizer only, serialize libarchive reads.
 *
 * libarchive's zip reader converts DOS times with mktime(), and glibc's
 * tzset frees and re-allocates its TZ string under a lock that TSan cannot
 * see (libc is not instrumented), so concurrent archive reads in one
 * process are reported as a data race in libc. The race is not real; this
 * keeps TSan runs meaningful for our own code. Normal builds are not
 * serialized. */
#ifndef MS_REGISTRY_TSAN_SERIAL_H
#define MS_REGISTRY_TSAN_SERIAL_H

#if defined(__SANITIZE_THREAD__)
#define MS__UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MS__UNDER_TSAN 1
#endif
#endif

#ifdef MS__UNDER_TSAN
#include <pthread.h>
extern pthread_mutex_t ms__registry_tsan_mu;
#define MS__ARCHIVE_SERIAL_BEGIN() pthread_mutex_lock(&ms__registry_tsan_mu)
#define MS__ARCHIVE_SERIAL_END() pthread_mutex_unlock(&ms__registry_tsan_mu)
#else
#define MS__ARCHIVE_SERIAL_BEGIN() ((void)0)
#define MS__ARCHIVE_SERIAL_END() ((void)0)
#endif

#endif
