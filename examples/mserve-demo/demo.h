/* The parts of the demo tour. Each returns 0 on success and prints a few
 * lines with demo_printf; `workdir` is a scratch folder the demo owns. */
#ifndef MSERVE_DEMO_H
#define MSERVE_DEMO_H

#include <mserve.h>

int demo_store(const char *workdir);
int demo_tracker(const char *workdir);
int demo_registry(const char *workdir);
int demo_autoscaler(const char *workdir);
int demo_batcher(const char *workdir);
int demo_executor(const char *workdir);

/* The tour's narration: stdout, stderr with --json (stdout then holds the
 * one JSON document), nowhere with --quiet. */
int demo_printf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A failed libmserve call: print its status and ms_errmsg() and return 1. */
int demo_fail(const char *what, int status);
/* A failure of the demo itself (no library call, so ms_errmsg() would be
 * an older message): print it and return 1. */
int demo_fail_msg(const char *what, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
