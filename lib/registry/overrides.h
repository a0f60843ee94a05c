/* Internal: runtime overrides (the API level of settings) as a value the
 * host fills before ms_registry_register / ms_registry_update (overrides.c).
 *
 * Layer: a value above settings.h; read by registry.c. */
#ifndef MS_REGISTRY_OVERRIDES_H
#define MS_REGISTRY_OVERRIDES_H

#include "mserve/registry.h"
#include "registry/settings.h"

struct ms_overrides {
  ms__settings set;
  unsigned clear; /* bit k: remove key k in ms_registry_update */
};

#endif
