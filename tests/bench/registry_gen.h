/* Benchmark helpers for the registry: generating model stores of .mar and
 * .tar.gz archives, dropping them from the page cache, and the extract-all
 * baseline (what TorchServe and MMS do at startup). */
#ifndef MS_BENCH_REGISTRY_GEN_H
#define MS_BENCH_REGISTRY_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef enum gen_format { GEN_MAR = 0, GEN_TGZ = 1 } gen_format;

/* Write `count` archives named <prefix>_NNNN into dir (created), each a
 * manifest, a model-config.yaml, a handler and a payload of payload_bytes
 * incompressible bytes (stored, not deflated, in a .mar; gzip level 1 in a
 * .tar.gz). Every file is fsync'ed so that its pages are clean and can be
 * dropped. Returns 0, or -1 with a message on stderr. */
int gen_store(const char *dir, const char *prefix, size_t count, uint64_t payload_bytes, gen_format fmt,
              uint64_t *total_bytes);

/* Drop every file under dir from the page cache: posix_fadvise(DONTNEED) on
 * each file, plus /proc/sys/vm/drop_caches when running as root and
 * permitted. Returns a static description of what was used. */
const char *drop_cache(const char *dir);

/* Fraction (0..1) of the pages of the files under dir that are resident in
 * the page cache (mincore), to show whether dropping worked; -1 if unknown. */
double resident_fraction(const char *dir);

/* Extract every archive of dir into a fresh folder under scratch with
 * libarchive (as TorchServe/MMS unpack each .mar at startup), timing only the
 * extraction; each folder is removed after its archive, untimed, to bound
 * disk use. Returns seconds, or a negative value on failure. */
double extract_all(const char *dir, const char *scratch);

/* Recursive remove (best effort). */
void rm_tree(const char *path);

/* Monotonic seconds. */
double now_s(void);

#endif
