/* Internal: the report of a scan, one entry per path (report.c).
 *
 * Layer: a value; filled by scan.c. */
#ifndef MS_REGISTRY_REPORT_H
#define MS_REGISTRY_REPORT_H

#include <stddef.h>

#include "mserve/registry.h"

typedef struct ms__scan_entry {
  char *path, *message;
  ms_scan_outcome outcome;
  int status;
} ms__scan_entry;

struct ms_scan_report {
  ms__scan_entry *items;
  size_t n, cap;
};

/* Append an entry (strings copied); MS_OK or MS_ENOMEM. */
int ms__registry_report_add(ms_scan_report *rep, const char *path, ms_scan_outcome outcome, int status,
                            const char *message);

#endif
