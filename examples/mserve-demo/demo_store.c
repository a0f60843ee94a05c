/* Demo: open a store, reopen it, and show how failures are reported. */
#include <stdio.h>
#include <string.h>

#include "demo.h"

int demo_store(const char *workdir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/demo.db", workdir);
  demo_printf("[store] opening %s\n", path);
  ms_store *s = NULL;
  int st = ms_store_open(path, 0, &s);
  if (st) return demo_fail("ms_store_open", st);
  int64_t v = 0;
  ms_store_schema_version(s, &v);
  demo_printf("[store] schema version %lld, WAL mode, ready for every part\n", (long long)v);
  ms_store_close(s);

  /* Bad input never crashes: it gets a status and a message naming the cause. */
  snprintf(path, sizeof path, "%s/not-a-db", workdir);
  FILE *f = fopen(path, "w");
  if (f) {
    for (int i = 0; i < 512; i++) fputs("this is not SQLite ", f);
    fclose(f);
  }
  st = ms_store_open(path, 0, &s);
  demo_printf("[store] opening a text file as a store -> %s: %s\n", ms_status_name(st), ms_errmsg());
  return st == MS_ECORRUPT ? 0 : 1;
}
