/* Status names: the one table that maps ms_status values to their symbols. */
#include "mserve/common.h"

const char *ms_status_name(int status) {
  static const char *const names[] = {
      "MS_OK",        "MS_EINVAL",    "MS_ENOMEM",       "MS_ENOTFOUND", "MS_EEXIST",
      "MS_ELIMIT",    "MS_EFULL",     "MS_ETIMEDOUT",    "MS_ECANCELED", "MS_EBUSY",
      "MS_EIO",       "MS_ECORRUPT",  "MS_EUNSAFE",      "MS_EUNSUPPORTED",
      "MS_ENODEV",    "MS_ECLOSED",   "MS_ECONFLICT",    "MS_EINTERNAL"};
  if (status < 0 || (size_t)status >= sizeof names / sizeof names[0]) return "MS_UNKNOWN";
  return names[status];
}
