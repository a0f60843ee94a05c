/* Internal (autoscaler, layer 0): an open-addressing pointer table and the
 * hashes it is keyed with. Depends on nothing of the part (table.c). */
#ifndef MS_AUTOSCALER_TABLE_H
#define MS_AUTOSCALER_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Linear probing over a power-of-two array at most half full, backward-shift
 * delete. Items are pointers owned elsewhere. */
/* A slot holds an item and its hash side by side: a probe of a table far
 * larger than the caches misses once, not once per array. */
typedef struct as_table_slot {
  uint64_t hash;
  void *item; /* NULL: empty */
} as_table_slot;

typedef struct as_table {
  as_table_slot *slots;
  size_t cap, n; /* cap is 0 or a power of two, load <= 1/2 */
} as_table;

typedef int (*as_eq_fn)(const void *item, const void *key);

void *ms__autoscaler_table_find(const as_table *t, uint64_t h, as_eq_fn eq, const void *key);
/* Grow so that `extra` more items fit without allocation (MS_ENOMEM with a
 * message; the table is unchanged). */
int ms__autoscaler_table_reserve(as_table *t, size_t extra);
/* Insert (room must have been reserved; never fails). */
void ms__autoscaler_table_insert(as_table *t, uint64_t h, void *item);
/* Remove the entry (h, item); a no-op when it is not there. */
void ms__autoscaler_table_remove(as_table *t, uint64_t h, const void *item);
void ms__autoscaler_table_free(as_table *t);

uint64_t ms__autoscaler_hash_str(const char *s);
uint64_t ms__autoscaler_hash_i64(int64_t v); /* a bijection: distinct ids never share a hash */
uint64_t ms__autoscaler_hash_pair(const char *a, const char *b);

#endif
