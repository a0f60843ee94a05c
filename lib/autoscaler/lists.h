/* Internal (autoscaler, layer 1, values): the snapshot lists handed to hosts
 * (lists.c): endpoint names, and rule snapshots. Each is one block of
 * entries plus one block of strings, filled by the call that lists (under the
 * engine's mutex), immutable afterwards. Depends on nothing of the part but
 * the rule snapshot's layout (rule.h). */
#ifndef MS_AUTOSCALER_LISTS_H
#define MS_AUTOSCALER_LISTS_H

#include <stddef.h>

#include "autoscaler/rule.h"
#include "mserve/autoscaler.h"

struct ms_endpoint_list {
  size_t n;
  size_t *name_off; /* [n] offsets into names */
  char *names;
};

struct ms_rule_list {
  size_t n;
  ms_rule *rules; /* [n], each borrowed: its strings point into `strings` */
  char *strings;
};

/* An endpoint list with room for n names of name_bytes bytes in all (NULs
 * included), or NULL (no message). Fill with ms__autoscaler_endpoint_list_push. */
ms_endpoint_list *ms__autoscaler_endpoint_list_new(size_t n, size_t name_bytes);
/* Append a name (room reserved by _new). */
void ms__autoscaler_endpoint_list_push(ms_endpoint_list *l, size_t *used, const char *name, size_t len);

/* A rule list with room for n rules of string_bytes bytes of strings in all,
 * or NULL (no message). ms__autoscaler_rule_list_string copies a string into
 * the reserved room and returns the copy. */
ms_rule_list *ms__autoscaler_rule_list_new(size_t n, size_t string_bytes);
char *ms__autoscaler_rule_list_string(ms_rule_list *l, size_t *used, const char *s, size_t len);

#endif
