/* Version of the running library (may differ from the headers compiled against). */
#include "mserve/common.h"

#define MS_STR2(x) #x
#define MS_STR(x) MS_STR2(x)

const char *ms_version(void) {
  return MS_STR(MS_VERSION_MAJOR) "." MS_STR(MS_VERSION_MINOR) "." MS_STR(MS_VERSION_PATCH);
}

int ms_version_number(void) { return MS_VERSION_NUMBER; }
