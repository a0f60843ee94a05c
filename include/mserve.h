/*
 * libmserve — umbrella header. Include this to get every public part:
 * common (status codes, errors, clocks, logging), store, tracker, registry,
 * autoscaler (Stable), batcher and executor (Experimental). Each part's
 * header can also be included on its own, and marks each of its functions
 * Stable or Experimental (common.h says what each promises).
 */
#ifndef MSERVE_H
#define MSERVE_H

#include "mserve/common.h"
#include "mserve/store.h"
#include "mserve/tracker.h"
#include "mserve/registry.h"
#include "mserve/autoscaler.h"
#include "mserve/batcher.h"
#include "mserve/executor.h"

#endif /* MSERVE_H */
