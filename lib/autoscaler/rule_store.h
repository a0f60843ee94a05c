/* Internal (autoscaler, layer 4): the rule table's rows (rule_store.c).
 * Depends on the store and the rule builder's layout. */
#ifndef MS_AUTOSCALER_RULE_STORE_H
#define MS_AUTOSCALER_RULE_STORE_H

#include <stdint.h>

#include "autoscaler/rule.h"
#include "store/store_internal.h"

/* One atomic write (group-committed, ms__store_write): insert rule r of
 * endpoint `endpoint_id`; *id receives its rowid. */
int ms__autoscaler_rule_insert(ms_store *s, int64_t endpoint_id, const ms_rule *r, int64_t *id);
/* One atomic write: delete rule `id`. */
int ms__autoscaler_rule_delete(ms_store *s, int64_t id);
/* Inside a write already open (a write callback): delete rule `id`. */
int ms__autoscaler_rule_delete_row(ms_store *s, int64_t id);
/* One atomic write: set rule `id`'s enabled flag. */
int ms__autoscaler_rule_update_enabled(ms_store *s, int64_t id, int enabled);

#endif
