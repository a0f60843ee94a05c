/* Internal (autoscaler, layer 4): the persisted blobs (history_codec.c, the
 * formats there): one history entry, and an endpoint's cooldown stamps.
 * Depends on the byte codec, the decisions' rule entries and the model's
 * endpoints. */
#ifndef MS_AUTOSCALER_HISTORY_CODEC_H
#define MS_AUTOSCALER_HISTORY_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/codec.h"
#include "autoscaler/decisions.h"
#include "autoscaler/model.h"

typedef struct as_entry_head {
  int64_t at, from, to, applied;
  size_t n_rules;
} as_entry_head;

/* Upper bound of an encoded entry with n_rules rules. */
size_t ms__autoscaler_entry_max(size_t n_rules);
size_t ms__autoscaler_entry_encode(unsigned char *out, int64_t at, int64_t from, int64_t to, int64_t applied,
                                   const as_dec_rule *rules, size_t n_rules);
/* Decode into *buf (grown to *cap as needed). MS_ECORRUPT (no message) or
 * MS_ENOMEM (with message). */
int ms__autoscaler_entry_decode(const unsigned char *blob, size_t len, as_entry_head *h, as_dec_rule **buf,
                                size_t *cap);

size_t ms__autoscaler_stamps_max(size_t n_rules);
/* The stamps of ep's rules as they are after rule `applied` (an index) was
 * applied at now. */
size_t ms__autoscaler_stamps_encode(unsigned char *out, const as_endpoint *ep, size_t applied, int64_t now);
typedef struct as_stamp_iter {
  as_reader r;
  int64_t prev;
} as_stamp_iter;
/* MS_OK or MS_ECORRUPT (no message). */
int ms__autoscaler_stamps_begin(as_stamp_iter *it, const unsigned char *blob, size_t len);
/* 1: one stamp read; 0: end; -1: malformed. */
int ms__autoscaler_stamps_next(as_stamp_iter *it, int64_t *rule_id, int64_t *at);

#endif
