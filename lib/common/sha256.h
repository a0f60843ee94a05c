/* Internal: SHA-256 (FIPS 180-4), dependency-free, for content hashes of
 * model archives. Not constant-time; not for secrets.
 *
 * Speed matters here: a .tar.gz has no index, so registering one hashes
 * every byte of it. On x86-64 CPUs with the SHA extensions (Intel since Ice
 * Lake / Goldmont, AMD since Zen) the block function uses them (about
 * 1.3-2 GB/s); elsewhere a portable C version runs (about 0.2-0.3 GB/s).
 * The choice is made once, at the first use, from CPUID. Every function is
 * thread safe on distinct contexts. */
#ifndef MS_COMMON_SHA256_H
#define MS_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct ms__sha256 {
  uint32_t h[8];
  uint64_t total;      /* bytes hashed so far */
  unsigned char buf[64];
  size_t used;
} ms__sha256;

void ms__sha256_init(ms__sha256 *c);
void ms__sha256_update(ms__sha256 *c, const void *data, size_t len);
void ms__sha256_final(ms__sha256 *c, unsigned char out[32]);
/* Finish and write 64 lowercase hex digits + NUL into hex[65]. */
void ms__sha256_final_hex(ms__sha256 *c, char hex[65]);

/* For tests and benchmarks: the two block functions (n whole 64-byte
 * blocks into state h), whichever the CPU has, and which one update uses
 * ("sha-ni" or "portable"). ms__sha256_blocks_accel is NULL when the CPU or
 * the build has no accelerated version. */
typedef void (*ms__sha256_blocks_fn)(uint32_t h[8], const unsigned char *p, size_t n);
extern const ms__sha256_blocks_fn ms__sha256_blocks_portable;
ms__sha256_blocks_fn ms__sha256_blocks_accel(void);
const char *ms__sha256_impl(void);

#endif
