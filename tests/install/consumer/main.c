/* A program outside the tree, built against the installed libmserve. */
#include <mserve.h>
#include <stdio.h>

int main(int argc, char **argv) {
  ms_store *s = NULL;
  int st = ms_store_open(argc > 1 ? argv[1] : ":memory:", 0, &s);
  if (st != MS_OK) {
    fprintf(stderr, "%s: %s\n", ms_status_name(st), ms_errmsg());
    return 1;
  }
  int64_t v = 0;
  ms_store_schema_version(s, &v);
  printf("libmserve %s, schema %lld\n", ms_version(), (long long)v);
  ms_store_close(s);
  return v == ms_store_latest_schema() ? 0 : 1;
}
