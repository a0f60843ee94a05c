/* Clock helpers for hosts; libmserve itself never reads the clock for decisions. */
#include <time.h>

#include "mserve/common.h"

static int64_t read_us(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ms_clock_realtime_us(void) { return read_us(CLOCK_REALTIME); }
int64_t ms_clock_monotonic_us(void) { return read_us(CLOCK_MONOTONIC); }
