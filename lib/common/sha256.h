/* Internal: SHA-256 (FIPS 180-4), small and dependency-free, for content
 * hashes of model archives. Not constant-time; not for secrets. */
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

#endif
