/* The safetensors reader: header length, UTF-8, strict JSON on cJSON, then
 * the layout rules of Hugging Face's reference reader (tensors sorted by
 * offset cover the data section exactly; sizes computed without overflow),
 * plus duplicate names, which cJSON would otherwise keep silently.
 *
 * cJSON reads numbers as doubles and is lax about a few lexical forms
 * ("01", "1e3", control bytes as whitespace), so a lexical pass runs over the
 * header as well: it accepts only what a strict JSON reader accepts, takes
 * every number as an exact u64 (only plain non-negative integers are valid
 * in this format), and the tree walk then gives each cJSON number node its
 * exact value by position. */
#include "executor/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "mserve/common.h"

static const struct {
  const char *name;
  unsigned bits;
} DTYPES[MS__ST_DTYPE_COUNT] = {
    [MS__ST_BOOL] = {"BOOL", 8},       [MS__ST_F4] = {"F4", 4},
    [MS__ST_F6_E2M3] = {"F6_E2M3", 6}, [MS__ST_F6_E3M2] = {"F6_E3M2", 6},
    [MS__ST_U8] = {"U8", 8},           [MS__ST_I8] = {"I8", 8},
    [MS__ST_F8_E5M2] = {"F8_E5M2", 8}, [MS__ST_F8_E4M3] = {"F8_E4M3", 8},
    [MS__ST_F8_E8M0] = {"F8_E8M0", 8}, [MS__ST_I16] = {"I16", 16},
    [MS__ST_U16] = {"U16", 16},        [MS__ST_F16] = {"F16", 16},
    [MS__ST_BF16] = {"BF16", 16},      [MS__ST_I32] = {"I32", 32},
    [MS__ST_U32] = {"U32", 32},        [MS__ST_F32] = {"F32", 32},
    [MS__ST_C64] = {"C64", 64},        [MS__ST_F64] = {"F64", 64},
    [MS__ST_I64] = {"I64", 64},        [MS__ST_U64] = {"U64", 64},
};

const char *ms__executor_st_dtype_name(int dtype) {
  return dtype >= 0 && dtype < MS__ST_DTYPE_COUNT ? DTYPES[dtype].name : "?";
}

unsigned ms__executor_st_dtype_bits(int dtype) {
  return dtype >= 0 && dtype < MS__ST_DTYPE_COUNT ? DTYPES[dtype].bits : 0;
}

int ms__executor_st_dtype_lookup(const char *name) {
  for (int i = 0; i < MS__ST_DTYPE_COUNT; i++)
    if (strcmp(DTYPES[i].name, name) == 0) return i;
  return -1;
}

typedef struct st_meta {
  char *key, *value;
} st_meta;

struct ms__st_file {
  ms__st_tensor *tensors; /* sorted by name */
  size_t n_tensors;
  uint64_t *shapes; /* every tensor's dims, one block */
  char *names;      /* every tensor's name, one block */
  st_meta *meta;    /* sorted by key */
  size_t n_meta;
  size_t size, data_size;
  void *map; /* owned mapping (ms__executor_st_map), else NULL */
  size_t map_len;
};

/* ---- lexical pass ---------------------------------------------------------- */

typedef struct lex {
  const char *origin;
  uint64_t *nums;
  size_t n_nums, cap_nums;
} lex;

static int corrupt(const char *origin, const char *fmt_cause, size_t at) {
  return ms__fail(MS_ECORRUPT, "weights '%s': header byte %zu: %s", origin, at, fmt_cause);
}

/* Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
 * as Rust's str::from_utf8. Returns the offset of the first bad byte, or n. */
static size_t utf8_check(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c == 0xE0) {
      need = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      need = 2;
    } else if (c == 0xED) {
      need = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      need = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      need = 3;
    } else if (c == 0xF4) {
      need = 3, hi = 0x8F;
    } else {
      return i;
    }
    if (n - i <= need) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k <= need; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += need + 1;
  }
  return n;
}

static int is_num_char(unsigned char c) {
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

static int lex_push(lex *lx, uint64_t v) {
  if (lx->n_nums == lx->cap_nums) {
    size_t cap = lx->cap_nums ? lx->cap_nums * 2 : 64;
    uint64_t *p = realloc(lx->nums, cap * sizeof *p);
    if (!p) return ms__fail(MS_ENOMEM, "weights '%s': out of memory", lx->origin);
    lx->nums = p;
    lx->cap_nums = cap;
  }
  lx->nums[lx->n_nums++] = v;
  return MS_OK;
}

/* Runs over text that cJSON already parsed (so strings are terminated and
 * the structure is valid): refuses what a strict reader refuses and collects
 * every number, exactly. */
static int lex_scan(lex *lx, const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c == '"') {
      for (i++; i < n; i++) {
        c = s[i];
        if (c == '"') break;
        if (c < 0x20) return corrupt(lx->origin, "a control character inside a string", i);
        if (c == '\\') {
          if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
            return corrupt(lx->origin, "the escape \\u0000 (NUL) inside a string", i);
          i++; /* skip the escaped character; \uXXXX digits are plain characters */
        }
      }
      i++;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = i;
      while (i < n && is_num_char(s[i])) i++;
      size_t len = i - start;
      for (size_t k = start; k < i; k++)
        if (s[k] < '0' || s[k] > '9')
          return corrupt(lx->origin, "a number that is not a plain non-negative integer", start);
      if (len > 1 && s[start] == '0') return corrupt(lx->origin, "a number with a leading zero", start);
      uint64_t v = 0;
      for (size_t k = start; k < i; k++) {
        unsigned d = (unsigned)(s[k] - '0');
        if (v > (UINT64_MAX - d) / 10) return corrupt(lx->origin, "an integer that does not fit in 64 bits", start);
        v = v * 10 + d;
      }
      int st = lex_push(lx, v);
      if (st) return st;
    } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      return corrupt(lx->origin, "a control character outside a string", i);
    } else {
      i++;
    }
  }
  return MS_OK;
}

/* Give every number node its position in document order (cJSON keeps
 * children in order, so pre-order equals text order). */
static int number_walk(cJSON *node, size_t *next, size_t total) {
  for (; node; node = node->next) {
    if (cJSON_IsNumber(node)) {
      if (*next >= total) return -1;
      node->valueint = (int)*next; /* index into lex.nums (< 10^8: fits) */
      (*next)++;
    }
    if (node->child && number_walk(node->child, next, total)) return -1;
  }
  return 0;
}

/* ---- structure --------------------------------------------------------------- */

typedef struct raw_tensor {
  const char *name; /* cJSON's key */
  int dtype;
  const cJSON *shape;
  uint64_t begin, end;
} raw_tensor;

static int cmp_by_offset(const void *a, const void *b) {
  const raw_tensor *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int cmp_raw_name(const void *a, const void *b) {
  return strcmp(((const raw_tensor *)a)->name, ((const raw_tensor *)b)->name);
}

static int cmp_tensor_name(const void *a, const void *b) {
  return strcmp(((const ms__st_tensor *)a)->name, ((const ms__st_tensor *)b)->name);
}

static int cmp_meta(const void *a, const void *b) {
  return strcmp(((const st_meta *)a)->key, ((const st_meta *)b)->key);
}

static uint64_t num_of(const lex *lx, const cJSON *n) { return lx->nums[(size_t)n->valueint]; }

/* One tensor entry: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}.
 * Other keys are ignored, as by the reference reader; a key given twice is refused. */
static int read_entry(const lex *lx, const cJSON *e, raw_tensor *t) {
  const char *o = lx->origin, *name = e->string;
  if (!cJSON_IsObject(e))
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': the entry is not an object", o, name);
  const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
  for (const cJSON *f = e->child; f; f = f->next) {
    const cJSON **slot = strcmp(f->string, "dtype") == 0          ? &dtype
                         : strcmp(f->string, "shape") == 0        ? &shape
                         : strcmp(f->string, "data_offsets") == 0 ? &offs
                                                                  : NULL;
    if (!slot) continue;
    if (*slot) return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': '%s' is given twice", o, name, f->string);
    *slot = f;
  }
  if (!dtype || !shape || !offs)
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': missing '%s'", o, name,
                    !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
  if (!cJSON_IsString(dtype))
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': dtype is not a string", o, name);
  t->dtype = ms__executor_st_dtype_lookup(dtype->valuestring);
  if (t->dtype < 0)
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': unknown dtype '%s'", o, name, dtype->valuestring);
  if (!cJSON_IsArray(shape))
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': shape is not an array", o, name);
  for (const cJSON *d = shape->child; d; d = d->next)
    if (!cJSON_IsNumber(d))
      return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': shape holds a value that is not an integer", o,
                      name);
  if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !cJSON_IsNumber(offs->child) ||
      !cJSON_IsNumber(offs->child->next))
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': data_offsets is not a pair of integers", o, name);
  t->name = name;
  t->shape = shape;
  t->begin = num_of(lx, offs->child);
  t->end = num_of(lx, offs->child->next);
  return MS_OK;
}

static int read_metadata(const lex *lx, const cJSON *m, ms__st_file *f) {
  const char *o = lx->origin;
  if (cJSON_IsNull(m)) return MS_OK; /* "__metadata__": null is no metadata, as for the reference */
  if (!cJSON_IsObject(m)) return ms__fail(MS_ECORRUPT, "weights '%s': __metadata__ is not an object", o);
  size_t n = 0;
  for (const cJSON *it = m->child; it; it = it->next) {
    if (!cJSON_IsString(it))
      return ms__fail(MS_ECORRUPT, "weights '%s': __metadata__ '%s' is not a string", o, it->string);
    n++;
  }
  if (!n) return MS_OK;
  f->meta = calloc(n, sizeof *f->meta);
  if (!f->meta) return ms__fail(MS_ENOMEM, "weights '%s': out of memory", o);
  for (const cJSON *it = m->child; it; it = it->next) {
    st_meta *e = &f->meta[f->n_meta];
    e->key = strdup(it->string);
    e->value = strdup(it->valuestring);
    f->n_meta++;
    if (!e->key || !e->value) return ms__fail(MS_ENOMEM, "weights '%s': out of memory", o);
  }
  qsort(f->meta, f->n_meta, sizeof *f->meta, cmp_meta);
  for (size_t i = 1; i < f->n_meta; i++)
    if (strcmp(f->meta[i - 1].key, f->meta[i].key) == 0)
      return ms__fail(MS_ECORRUPT, "weights '%s': __metadata__ key '%s' appears twice", o, f->meta[i].key);
  return MS_OK;
}

/* Shape rules of one tensor, in the reference's order after the offset check. */
static int check_size(const lex *lx, const raw_tensor *t) {
  const char *o = lx->origin;
  uint64_t count = 1;
  for (const cJSON *d = t->shape->child; d; d = d->next) {
    uint64_t v = num_of(lx, d);
    if (v && count > UINT64_MAX / v)
      return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': the element count of its shape overflows 64 bits",
                      o, t->name);
    count *= v;
  }
  uint64_t bits = ms__executor_st_dtype_bits(t->dtype);
  if (count > UINT64_MAX / bits)
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': its size in bits overflows 64 bits", o, t->name);
  uint64_t nbits = count * bits;
  if (nbits % 8)
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': %llu elements of %s are not a whole number of bytes",
                    o, t->name, (unsigned long long)count, ms__executor_st_dtype_name(t->dtype));
  if (nbits / 8 != t->end - t->begin)
    return ms__fail(MS_ECORRUPT,
                    "weights '%s': tensor '%s': %llu elements of %s take %llu bytes, but data_offsets [%llu, %llu] "
                    "hold %llu",
                    o, t->name, (unsigned long long)count, ms__executor_st_dtype_name(t->dtype),
                    (unsigned long long)(nbits / 8), (unsigned long long)t->begin, (unsigned long long)t->end,
                    (unsigned long long)(t->end - t->begin));
  return MS_OK;
}

static int build(const lex *lx, const cJSON *root, const unsigned char *data, size_t data_size, ms__st_file *f) {
  const char *o = lx->origin;
  size_t n = 0, n_meta_keys = 0;
  const cJSON *meta = NULL;
  for (const cJSON *it = root->child; it; it = it->next) {
    if (strcmp(it->string, "__metadata__") == 0) {
      if (++n_meta_keys > 1) return ms__fail(MS_ECORRUPT, "weights '%s': __metadata__ appears twice", o);
      meta = it;
    } else {
      n++;
    }
  }
  int st = MS_OK;
  if (meta && (st = read_metadata(lx, meta, f))) return st;
  raw_tensor *raw = n ? calloc(n, sizeof *raw) : NULL;
  if (n && !raw) return ms__fail(MS_ENOMEM, "weights '%s': out of memory", o);
  size_t k = 0, total_dims = 0, total_names = 0;
  for (const cJSON *it = root->child; it && !st; it = it->next) {
    if (it == meta) continue;
    st = read_entry(lx, it, &raw[k]);
    if (!st) {
      total_dims += (size_t)cJSON_GetArraySize(raw[k].shape);
      total_names += strlen(raw[k].name) + 1;
      k++;
    }
  }
  if (!st && n) {
    qsort(raw, n, sizeof *raw, cmp_raw_name);
    for (size_t i = 1; i < n && !st; i++)
      if (strcmp(raw[i - 1].name, raw[i].name) == 0)
        st = ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s' appears twice", o, raw[i].name);
  }
  if (!st && n) {
    qsort(raw, n, sizeof *raw, cmp_by_offset);
    uint64_t at = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < n && !st; i++) {
      const raw_tensor *t = &raw[i];
      if (t->end < t->begin)
        st = ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s': data_offsets [%llu, %llu] end before they begin", o,
                      t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
      else if (t->begin > at && !prev)
        st = ms__fail(MS_ECORRUPT,
                      "weights '%s': tensor '%s': the first tensor starts at data byte %llu, not 0 (a gap)", o,
                      t->name, (unsigned long long)t->begin);
      else if (t->begin > at)
        st = ms__fail(MS_ECORRUPT,
                      "weights '%s': tensor '%s': starts at data byte %llu but tensor '%s' ends at %llu (a gap)", o,
                      t->name, (unsigned long long)t->begin, prev, (unsigned long long)at);
      else if (t->begin < at)
        st = ms__fail(MS_ECORRUPT,
                      "weights '%s': tensor '%s': starts at data byte %llu, inside tensor '%s' which ends at %llu "
                      "(an overlap)",
                      o, t->name, (unsigned long long)t->begin, prev, (unsigned long long)at);
      else
        st = check_size(lx, t);
      at = t->end;
      prev = t->name;
    }
    if (!st && at != data_size)
      st = ms__fail(MS_ECORRUPT,
                    at < data_size ? "weights '%s': the tensors end at data byte %llu, but the data section has %llu "
                                     "bytes (trailing bytes after tensor '%s')"
                                   : "weights '%s': the tensors end at data byte %llu, but the data section has only "
                                     "%llu bytes (tensor '%s' runs past the end of the file)",
                    o, (unsigned long long)at, (unsigned long long)data_size, prev);
  } else if (!st && data_size) {
    st = ms__fail(MS_ECORRUPT, "weights '%s': no tensors, but %zu bytes of data follow the header", o, data_size);
  }
  if (!st && n) {
    f->tensors = calloc(n, sizeof *f->tensors);
    f->shapes = total_dims ? calloc(total_dims, sizeof *f->shapes) : NULL;
    f->names = malloc(total_names);
    if (!f->tensors || (total_dims && !f->shapes) || !f->names)
      st = ms__fail(MS_ENOMEM, "weights '%s': out of memory", o);
  }
  if (!st && n) {
    size_t dpos = 0, npos = 0;
    for (size_t i = 0; i < n; i++) {
      ms__st_tensor *t = &f->tensors[i];
      size_t len = strlen(raw[i].name) + 1;
      memcpy(f->names + npos, raw[i].name, len);
      t->name = f->names + npos;
      npos += len;
      t->dtype = raw[i].dtype;
      t->ndim = (size_t)cJSON_GetArraySize(raw[i].shape);
      t->shape = t->ndim ? f->shapes + dpos : NULL;
      for (const cJSON *d = raw[i].shape->child; d; d = d->next) f->shapes[dpos++] = num_of(lx, d);
      t->begin = raw[i].begin;
      t->end = raw[i].end;
      t->data = data + t->begin;
    }
    f->n_tensors = n;
    qsort(f->tensors, n, sizeof *f->tensors, cmp_tensor_name);
  }
  free(raw);
  return st;
}

void ms__executor_st_free(ms__st_file *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n_meta; i++) {
    free(f->meta[i].key);
    free(f->meta[i].value);
  }
  free(f->meta);
  free(f->tensors);
  free(f->shapes);
  free(f->names);
  if (f->map) munmap(f->map, f->map_len);
  free(f);
}

int ms__executor_st_parse(const void *buf, size_t len, const char *origin, ms__st_file **out) {
  if ((!buf && len) || !origin || !out) return ms__fail(MS_EINVAL, "weights: NULL argument");
  const unsigned char *b = buf;
  if (len < 8)
    return ms__fail(MS_ECORRUPT, "weights '%s': %zu bytes: too small for the 8-byte header length", origin, len);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
  if (n > MS__ST_MAX_HEADER)
    return ms__fail(MS_ECORRUPT, "weights '%s': header length %llu is over the limit of %u bytes", origin,
                    (unsigned long long)n, MS__ST_MAX_HEADER);
  if (n > len - 8)
    return ms__fail(MS_ECORRUPT, "weights '%s': header length %llu runs past the end of the file (%zu bytes)", origin,
                    (unsigned long long)n, len);
  const unsigned char *h = b + 8;
  size_t hn = (size_t)n;
  size_t bad = utf8_check(h, hn);
  if (bad != hn) return corrupt(origin, "the header is not valid UTF-8", bad);
  if (hn == 0 || h[0] != '{') return corrupt(origin, "the header does not start with '{'", 0);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts((const char *)h, hn, &end, 0);
  if (!root) {
    size_t at = end && end >= (const char *)h && end <= (const char *)h + hn ? (size_t)(end - (const char *)h) : 0;
    return corrupt(origin, "the header is not valid JSON", at);
  }
  int st = MS_OK;
  size_t after = (size_t)(end - (const char *)h);
  for (size_t i = after; i < hn && !st; i++)
    if (h[i] != ' ' && h[i] != '\t' && h[i] != '\n' && h[i] != '\r')
      st = corrupt(origin, "trailing characters after the header's JSON object", i);
  if (!st && !cJSON_IsObject(root)) st = corrupt(origin, "the header is not a JSON object", 0);
  lex lx = {.origin = origin};
  if (!st) st = lex_scan(&lx, h, after);
  size_t next = 0;
  if (!st && (number_walk(root->child, &next, lx.n_nums) || next != lx.n_nums))
    st = corrupt(origin, "the header's numbers could not be read exactly", 0);
  ms__st_file *f = NULL;
  if (!st && !(f = calloc(1, sizeof *f))) st = ms__fail(MS_ENOMEM, "weights '%s': out of memory", origin);
  if (!st) {
    f->size = len;
    f->data_size = len - 8 - hn;
    st = build(&lx, root, h + hn, f->data_size, f);
  }
  cJSON_Delete(root);
  free(lx.nums);
  if (st) {
    ms__executor_st_free(f);
    return st;
  }
  *out = f;
  return MS_OK;
}

int ms__executor_st_map(const char *path, const char *origin, ms__st_file **out) {
  if (!path || !origin || !out) return ms__fail(MS_EINVAL, "weights: NULL argument");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return ms__fail(e == ENOENT ? MS_ENOTFOUND : MS_EIO, "weights '%s': %s", origin, strerror(e));
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return ms__fail(MS_EIO, "weights '%s': not a regular file", origin);
  }
  size_t len = (size_t)sb.st_size;
  void *map = NULL;
  if (len) {
    map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int e = errno;
      close(fd);
      return ms__fail(e == ENOMEM ? MS_ENOMEM : MS_EIO, "weights '%s': mmap: %s", origin, strerror(e));
    }
  }
  close(fd);
  ms__st_file *f = NULL;
  int st = ms__executor_st_parse(map ? map : "", len, origin, &f);
  if (st) {
    if (map) munmap(map, len);
    return st;
  }
  f->map = map;
  f->map_len = len;
  *out = f;
  return MS_OK;
}

size_t ms__executor_st_count(const ms__st_file *f) { return f ? f->n_tensors : 0; }

const ms__st_tensor *ms__executor_st_at(const ms__st_file *f, size_t i) {
  return f && i < f->n_tensors ? &f->tensors[i] : NULL;
}

const ms__st_tensor *ms__executor_st_find(const ms__st_file *f, const char *name) {
  if (!f || !name || !f->n_tensors) return NULL;
  ms__st_tensor key = {.name = name};
  return bsearch(&key, f->tensors, f->n_tensors, sizeof key, cmp_tensor_name);
}

size_t ms__executor_st_metadata_count(const ms__st_file *f) { return f ? f->n_meta : 0; }

int ms__executor_st_metadata_at(const ms__st_file *f, size_t i, const char **key, const char **value) {
  if (!f || i >= f->n_meta) return ms__fail(MS_EINVAL, "weights: metadata index out of range");
  if (key) *key = f->meta[i].key;
  if (value) *value = f->meta[i].value;
  return MS_OK;
}

const char *ms__executor_st_metadata_get(const ms__st_file *f, const char *key) {
  if (!f || !key || !f->n_meta) return NULL;
  st_meta k = {.key = (char *)(uintptr_t)key};
  const st_meta *m = bsearch(&k, f->meta, f->n_meta, sizeof k, cmp_meta);
  return m ? m->value : NULL;
}

size_t ms__executor_st_size(const ms__st_file *f) { return f ? f->size : 0; }
size_t ms__executor_st_data_size(const ms__st_file *f) { return f ? f->data_size : 0; }
