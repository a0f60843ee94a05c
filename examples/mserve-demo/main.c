/* mserve-demo: exercises every part of libmserve built so far on data it
 * creates in a scratch folder, and says what happened. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"

int demo_fail(const char *what, int status) {
  fprintf(stderr, "  %s failed: %s: %s\n", what, ms_status_name(status), ms_errmsg());
  return 1;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)sb, (void)f, (void)w;
  remove(p);
  return 0;
}

int main(int argc, char **argv) {
  char tmpl[] = "/tmp/mserve-demo-XXXXXX";
  const char *workdir = argc > 1 ? argv[1] : mkdtemp(tmpl);
  if (!workdir) {
    perror("mserve-demo: mkdtemp");
    return 1;
  }
  printf("libmserve %s demo (work folder %s)\n", ms_version(), workdir);
  int rc = 0;
  rc |= demo_store(workdir);
  rc |= demo_tracker(workdir);
  rc |= demo_registry(workdir);
  rc |= demo_autoscaler(workdir);
  rc |= demo_batcher(workdir);
  rc |= demo_executor(workdir);
  if (argc <= 1) nftw(workdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  printf(rc ? "demo: FAILED\n" : "demo: all parts OK\n");
  return rc;
}
