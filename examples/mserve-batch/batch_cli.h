/* mserve-batch: the shared state of one run — the arrivals read from the
 * CSV, the batch settings, and what the replay handed out. */
#ifndef MSERVE_BATCH_CLI_H
#define MSERVE_BATCH_CLI_H

#include <mserve.h>
#include <stddef.h>
#include <stdint.h>

enum { EXIT_OK = 0, EXIT_NEGATIVE = 1, EXIT_ERROR = 2 };

typedef struct arrival {
  int64_t t_us, items, timeout_us; /* timeout 0: the policy's */
  int priority;                    /* 0: the default level */
  long line;                       /* in the CSV, for messages */
} arrival;

typedef struct arrivals {
  arrival *v;
  size_t n;
} arrivals;

/* One setting and where its value came from ("flag", or a registry source). */
typedef struct setting {
  int64_t value;
  const char *source;
} setting;

typedef struct settings {
  setting batch_size, delay_us, max_queue, timeout_us;
  int64_t pref[MS_BATCHER_MAX_PREFERRED];
  size_t n_pref;
  ms_timeout_action action;
  int levels; /* 0: the highest priority in the CSV (at least 1) */
} settings;

typedef struct rbatch {
  int64_t at_us;
  int status;
  size_t first, n; /* members: result.member[first .. first + n) */
  int64_t items, wait_min, wait_max;
  double wait_mean;
} rbatch;

typedef struct result {
  rbatch *b;
  size_t nb, cap_b;
  size_t *member; /* arrival indices */
  int64_t *wait;  /* per member */
  size_t nm, cap_m;
  size_t *refused; /* arrival indices refused at submit (queue full) */
  size_t nrefused, cap_r;
  int levels;
  long run, timed_out, canceled;
  int64_t end_us;
} result;

/* Read a CSV of arrivals "time_us,items[,priority[,timeout_us]]": an
 * optional header line, '#' comments and blank lines; times must not go
 * backwards. 0, or -1 with a message naming the file and line in err. */
int arrivals_read(const char *path, arrivals *out, char *err, size_t errlen);
void arrivals_free(arrivals *a);

/* Replay the arrivals through a batcher with these settings, as an event
 * loop with no execution time would: at each arrival, first every batch due
 * before it (polled at ms_batcher_next_deadline), then the submit and what it
 * made due; after the last one, every batch until the queue is empty.
 * MS_OK, or a library status with the message in err. */
int replay_run(const settings *s, const arrivals *a, result *r, char *err, size_t errlen);
void result_free(result *r);

/* Write the SVG plot: batch sizes over time, and each request's wait. 0, or
 * -1 with a message in err. */
int plot_svg(const char *path, const settings *s, const arrivals *a, const result *r, char *err, size_t errlen);

#endif
