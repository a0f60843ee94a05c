/* Scan reports: one entry per path, with its outcome. */
#include "registry/report.h"

#include <stdlib.h>

#include "common/error.h"
#include "common/text.h"

int ms__registry_report_add(ms_scan_report *rep, const char *path, ms_scan_outcome outcome, int status,
                            const char *message) {
  if (rep->n == rep->cap) {
    size_t cap = rep->cap ? rep->cap * 2 : 16;
    ms__scan_entry *g = realloc(rep->items, cap * sizeof *g);
    if (!g) return ms__fail(MS_ENOMEM, "scan report: out of memory");
    rep->items = g;
    rep->cap = cap;
  }
  ms__scan_entry *e = &rep->items[rep->n];
  e->path = ms__strdup(path);
  e->message = ms__strdup(message ? message : "");
  if (!e->path || !e->message) {
    free(e->path);
    free(e->message);
    return MS_ENOMEM;
  }
  e->outcome = outcome;
  e->status = status;
  rep->n++;
  return MS_OK;
}

size_t ms_scan_report_count(const ms_scan_report *rep) { return rep ? rep->n : 0; }

size_t ms_scan_report_count_outcome(const ms_scan_report *rep, ms_scan_outcome outcome) {
  size_t c = 0;
  for (size_t i = 0; rep && i < rep->n; i++) c += rep->items[i].outcome == outcome;
  return c;
}

int ms_scan_report_get(const ms_scan_report *rep, size_t i, const char **path, ms_scan_outcome *outcome,
                         int *status, const char **message) {
  if (!rep) return ms__fail(MS_EINVAL, "registry: ms_scan_report_get: NULL report");
  if (i >= rep->n)
    return ms__fail(MS_EINVAL, "registry: ms_scan_report_get: index %zu is out of range (the report holds %zu)", i,
                    rep->n);
  const ms__scan_entry *e = &rep->items[i];
  if (path) *path = e->path;
  if (outcome) *outcome = e->outcome;
  if (status) *status = e->status;
  if (message) *message = e->message;
  return MS_OK;
}

void ms_scan_report_free(ms_scan_report *rep) {
  if (!rep) return;
  for (size_t i = 0; i < rep->n; i++) {
    free(rep->items[i].path);
    free(rep->items[i].message);
  }
  free(rep->items);
  free(rep);
}
