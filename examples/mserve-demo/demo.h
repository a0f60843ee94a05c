/* The parts of the demo tour. Each returns 0 on success and prints a few
 * lines; `workdir` is a scratch folder the demo owns. */
#ifndef MSERVE_DEMO_H
#define MSERVE_DEMO_H

#include <mserve.h>

int demo_store(const char *workdir);
int demo_tracker(const char *workdir);
int demo_registry(const char *workdir);
int demo_autoscaler(const char *workdir);
int demo_batcher(const char *workdir);
int demo_executor(const char *workdir);

/* Print a failed call's status and message and return 1. */
int demo_fail(const char *what, int status);

#endif
