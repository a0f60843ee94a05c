/* Internal: the safetensors reader (Hugging Face's format), on cJSON.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then
 * the data section. Validated as strictly as the reference reader (see
 * include/mserve/executor.h for the rules); every violation is MS_ECORRUPT
 * with a message "<origin>: [tensor '<name>': ]<cause>" (the caller puts the
 * part and call in front).
 *
 * Fuzz entry point: ms__executor_st_parse + ms__executor_st_free. */
#ifndef MS_EXECUTOR_SAFETENSORS_H
#define MS_EXECUTOR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define MS__ST_MAX_HEADER 100000000u

/* The format's dtypes. */
typedef enum ms__st_dtype {
  MS__ST_BOOL = 0,
  MS__ST_F4,
  MS__ST_F6_E2M3,
  MS__ST_F6_E3M2,
  MS__ST_U8,
  MS__ST_I8,
  MS__ST_F8_E5M2,
  MS__ST_F8_E4M3,
  MS__ST_F8_E8M0,
  MS__ST_I16,
  MS__ST_U16,
  MS__ST_F16,
  MS__ST_BF16,
  MS__ST_I32,
  MS__ST_U32,
  MS__ST_F32,
  MS__ST_C64,
  MS__ST_F64,
  MS__ST_I64,
  MS__ST_U64,
  MS__ST_DTYPE_COUNT
} ms__st_dtype;

/* "F32" for MS__ST_F32; "?" outside the enum. */
const char *ms__executor_st_dtype_name(int dtype);
/* Bits per element (4 for F4, 6 for F6_*, 8 for BOOL, ...); 0 outside the enum. */
unsigned ms__executor_st_dtype_bits(int dtype);
/* The dtype of a name, or -1. */
int ms__executor_st_dtype_lookup(const char *name);

typedef struct ms__st_tensor {
  const char *name;          /* owned by the file */
  int dtype;                 /* ms__st_dtype */
  size_t ndim;
  const uint64_t *shape;     /* ndim entries (NULL when ndim is 0) */
  uint64_t begin, end;       /* byte range inside the data section */
  const unsigned char *data; /* the tensor's first byte (end - begin bytes, little-endian) */
} ms__st_tensor;

typedef struct ms__st_file ms__st_file;

/*
 * ms__executor_st_parse - validate and index the safetensors image buf[len].
 * The file borrows buf (keep it alive and unchanged until
 * ms__executor_st_free). `origin` names the file in messages.
 * Errors: MS_ECORRUPT, MS_ENOMEM, MS_EINVAL (NULL argument).
 * *out untouched on failure.
 */
int ms__executor_st_parse(const void *buf, size_t len, const char *origin, ms__st_file **out);

/*
 * ms__executor_st_map - memory-map the file at `path` read-only and parse
 * it; the file then owns the mapping. Errors: MS_ENOTFOUND (no such file),
 * MS_EIO (cannot open, not a regular file, mmap failed), those of
 * ms__executor_st_parse. *out untouched on failure.
 */
int ms__executor_st_map(const char *path, const char *origin, ms__st_file **out);

void ms__executor_st_free(ms__st_file *f);

/* Tensors, sorted by name. */
size_t ms__executor_st_count(const ms__st_file *f);
const ms__st_tensor *ms__executor_st_at(const ms__st_file *f, size_t i);
const ms__st_tensor *ms__executor_st_find(const ms__st_file *f, const char *name);

/* __metadata__ entries, sorted by key. */
size_t ms__executor_st_metadata_count(const ms__st_file *f);
int ms__executor_st_metadata_at(const ms__st_file *f, size_t i, const char **key, const char **value);
const char *ms__executor_st_metadata_get(const ms__st_file *f, const char *key);

/* Total size of the image (8 + header + data) and of its data section. */
size_t ms__executor_st_size(const ms__st_file *f);
size_t ms__executor_st_data_size(const ms__st_file *f);

#endif
