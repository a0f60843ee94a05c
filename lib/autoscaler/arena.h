/* Internal (autoscaler, layer 2): the evaluation arena (arena.c), the
 * endpoints' hot arrays and names packed into segments so a tick reads memory
 * sequentially; the work is spread over configuration calls and bounded per
 * call. Packing never fails: without memory it is skipped, and the engine
 * works the same, only slower. Depends on the model's types. */
#ifndef MS_AUTOSCALER_ARENA_H
#define MS_AUTOSCALER_ARENA_H

#include "autoscaler/model.h"

#define AS_SEGMENT_EPS 256 /* endpoints per segment */

/* A newly attached endpoint (its data on the heap) joins the loose list. */
void ms__autoscaler_arena_attach(as_model *m, as_endpoint *ep);
/* Move ep's hot data out of its segment to the heap (so its arrays can grow);
 * MS_ENOMEM with message, nothing changed. A no-op for a loose endpoint. */
int ms__autoscaler_arena_leave(as_model *m, as_endpoint *ep);
/* ep is about to be freed: off the loose list, out of its segment. */
void ms__autoscaler_arena_forget(as_model *m, as_endpoint *ep);
/* End of a configuration call: pack AS_SEGMENT_EPS endpoints once twice as
 * many are loose. */
void ms__autoscaler_arena_maintain(as_model *m);
/* A real evaluation: pack up to AS_SEGMENT_EPS loose endpoints. */
void ms__autoscaler_arena_pack_some(as_model *m);
/* After loading: pack every endpoint. */
void ms__autoscaler_arena_pack_all(as_model *m);

#endif
