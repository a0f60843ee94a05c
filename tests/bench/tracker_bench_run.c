/* The workload drivers of the tracker benchmark, identical for every backend.
 *
 * W1, W3 and W4 run the same worker loop: admit a fresh session over two
 * scopes, then release it, timing each call; an "op" is one admit or one
 * release call. The growth workload runs it once more over a domain scope
 * prefilled with many sessions. W2 runs scheduler ticks. W4's worker
 * processes are forked while the parent holds no database handle and report
 * over pipes. */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mserve/common.h"
#include "tracker_bench.h"

void tb_result_free(tb_result *r) { tb_samples_free(&r->lat); }

int tb_breakdown;

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time and context switches of the calling thread so far. */
static void thread_usage(tb_io *u) {
  struct rusage ru;
  memset(u, 0, sizeof *u);
  u->cpu_ns = thread_cpu_ns();
  if (getrusage(RUSAGE_THREAD, &ru) == 0) {
    u->vcsw = (uint64_t)ru.ru_nvcsw;
    u->ivcsw = (uint64_t)ru.ru_nivcsw;
  }
}

/* Worker processes alive now, so a signal handler can kill and reap them. */
#define MAX_PROCS 64
static volatile pid_t g_workers[MAX_PROCS];

void tb_workers_kill_all(void) {
  for (int i = 0; i < MAX_PROCS; i++) {
    pid_t p = g_workers[i];
    if (p > 0) {
      kill(p, SIGKILL);
      waitpid(p, NULL, 0);
      g_workers[i] = 0;
    }
  }
}

/* The scopes of session i of a worker: spread over TB_USERS users. */
static void scopes_of(unsigned worker, uint64_t i, char kp[32], char user[32]) {
  tb_scope_names((unsigned)((i * 7u + worker * 13u) % TB_USERS), kp, user);
}

typedef struct wire_head {
  int32_t failed;
  uint32_t pad;
  uint64_t ops, t_start, t_end, n;
  tb_io io;
} wire_head;

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t got = read(fd, c, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    c += got;
    n -= (size_t)got;
  }
  return 0;
}

/* ---- the admit/release worker ------------------------------------------------------ */

typedef struct worker {
  const tb_backend *b;
  void *proc;
  unsigned id;              /* unique across processes and threads */
  int growth;               /* name TB_DOMAIN and a user scope (the growth workload) */
  double seconds;
  pthread_barrier_t *start; /* all workers of a process begin together */
  /* results */
  int failed;
  uint64_t ops, t_start, t_end;
  tb_samples lat;
  tb_io io; /* breakdown runs: CPU, context switches, I/O of this thread */
} worker;

static void *worker_main(void *arg) {
  worker *k = arg;
  void *w = NULL;
  if (k->b->worker_open(k->proc, &w)) k->failed = 1;
  /* Even a failed worker meets the barrier, or the others would wait forever. */
  pthread_barrier_wait(k->start);
  if (k->failed) return NULL;
  char sid[64], kp[32], user[32];
  const char *scopes[TB_SCOPES] = {kp, user};
  if (k->growth) scopes[0] = TB_DOMAIN;
  tb_io before;
  if (tb_breakdown) {
    tb_io_take(&before); /* zero this thread's I/O counters */
    thread_usage(&before);
  }
  k->t_start = tb_now_ns();
  uint64_t deadline = k->t_start + (uint64_t)(k->seconds * 1e9);
  uint64_t t = k->t_start;
  for (uint64_t i = 0; t < deadline; i++) {
    snprintf(sid, sizeof sid, "sess-%u-%llu", k->id, (unsigned long long)i);
    scopes_of(k->id, i, kp, user);
    uint64_t t0 = tb_now_ns();
    if (k->b->admit(w, sid, scopes, ms_clock_realtime_us())) goto fail;
    uint64_t t1 = tb_now_ns();
    if (k->b->release(w, sid, scopes)) goto fail;
    t = tb_now_ns();
    if (tb_samples_add(&k->lat, t1 - t0) || tb_samples_add(&k->lat, t - t1)) goto fail;
    k->ops += 2;
  }
  k->t_end = t;
  if (tb_breakdown) {
    tb_io after;
    thread_usage(&after);
    tb_io_take(&k->io);
    k->io.cpu_ns = after.cpu_ns - before.cpu_ns;
    k->io.vcsw = after.vcsw - before.vcsw;
    k->io.ivcsw = after.ivcsw - before.ivcsw;
  }
  k->b->worker_close(w);
  return NULL;
fail:
  k->failed = 1;
  k->t_end = tb_now_ns();
  k->b->worker_close(w);
  return NULL;
}

/* Run `threads` workers in this process over one process handle. */
static int run_threads(const tb_backend *b, unsigned first_id, int threads, double seconds, int growth,
                       int ready_fd, int go_fd, worker *ws) {
  void *proc = NULL;
  if (b->proc_open(b->ctx, &proc)) return -1;
  /* A forked worker process tells the parent its handle is open, so opening
   * the database is outside the measured window. */
  if (ready_fd >= 0) {
    char one = 'r';
    if (write_all(ready_fd, &one, 1)) {
      b->proc_close(proc);
      return -1;
    }
  }
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  pthread_t *tids = calloc((size_t)threads, sizeof *tids);
  int made = 0, st = 0;
  for (int i = 0; tids && i < threads; i++) {
    memset(&ws[i], 0, sizeof ws[i]);
    ws[i].b = b;
    ws[i].proc = proc;
    ws[i].id = first_id + (unsigned)i;
    ws[i].growth = growth;
    ws[i].seconds = seconds;
    ws[i].start = &start;
  }
  if (!tids) {
    fprintf(stderr, "bench: out of memory\n");
    st = -1;
  }
  for (; !st && made < threads; made++)
    if (pthread_create(&tids[made], NULL, worker_main, &ws[made])) {
      fprintf(stderr, "bench: cannot start a thread\n");
      st = -1;
      break;
    }
  if (made == threads) {
    /* In a forked worker process, wait for the parent's go so every process
     * starts together. */
    if (go_fd >= 0) {
      char c;
      ssize_t got;
      do got = read(go_fd, &c, 1);
      while (got < 0 && errno == EINTR);
    }
    pthread_barrier_wait(&start);
  }
  /* Threads that never started can't reach the barrier: a partial start is
   * only possible on resource exhaustion, where exiting is the answer. */
  if (made != threads && made > 0) {
    fprintf(stderr, "bench: only %d of %d threads started\n", made, threads);
    exit(1);
  }
  for (int i = 0; i < made; i++) pthread_join(tids[i], NULL);
  for (int i = 0; i < made; i++)
    if (ws[i].failed) st = -1;
  free(tids);
  pthread_barrier_destroy(&start);
  b->proc_close(proc);
  return st;
}

/* Fold worker results into r. */
static int collect(worker *ws, int n, tb_result *r) {
  uint64_t first = UINT64_MAX, last = 0;
  for (int i = 0; i < n; i++) {
    r->ops += ws[i].ops;
    if (ws[i].t_start < first) first = ws[i].t_start;
    if (ws[i].t_end > last) last = ws[i].t_end;
    if (tb_samples_append(&r->lat, &ws[i].lat)) return -1;
    tb_io_add(&r->io, &ws[i].io);
  }
  r->workers = n;
  r->sessions = r->ops / 2;
  r->seconds = last > first ? (double)(last - first) / 1e9 : 0.0;
  return 0;
}

int tb_run_single(const tb_backend *b, double seconds, tb_result *r) {
  return tb_run_workers(b, 1, 1, seconds, r);
}

/* ---- W4: worker processes ----------------------------------------------------------- */

/* Body of a forked worker process: never returns. */
static void child_main(const tb_backend *b, unsigned first_id, int threads, double seconds,
                       int ready_fd, int go_fd, int out_fd) {
  worker *ws = calloc((size_t)threads, sizeof *ws);
  if (!ws) _exit(1);
  int st = run_threads(b, first_id, threads, seconds, 0, ready_fd, go_fd, ws);
  for (int i = 0; i < threads; i++) {
    wire_head h = {ws[i].failed || st, 0, ws[i].ops, ws[i].t_start, ws[i].t_end, ws[i].lat.n, ws[i].io};
    if (write_all(out_fd, &h, sizeof h) || write_all(out_fd, ws[i].lat.ns, ws[i].lat.n * sizeof *ws[i].lat.ns))
      _exit(1);
  }
  _exit(st ? 1 : 0);
}

static int run_procs(const tb_backend *b, int procs, int threads, double seconds, tb_result *r) {
  int go[2];
  if (pipe(go)) return -1;
  pid_t *pids = calloc((size_t)procs, sizeof *pids);
  int *outs = calloc((size_t)procs, sizeof *outs);
  int *readys = calloc((size_t)procs, sizeof *readys);
  worker *ws = calloc((size_t)(procs * threads), sizeof *ws);
  int st = (pids && outs && readys && ws) ? 0 : -1;
  int started = 0;
  fflush(NULL);
  for (; !st && started < procs; started++) {
    int out[2], ready[2];
    if (pipe(out)) {
      st = -1;
      break;
    }
    if (pipe(ready)) {
      close(out[0]);
      close(out[1]);
      st = -1;
      break;
    }
    pid_t pid = fork();
    if (pid < 0) {
      close(out[0]);
      close(out[1]);
      close(ready[0]);
      close(ready[1]);
      st = -1;
      break;
    }
    if (pid == 0) {
      /* An interrupted benchmark takes its workers with it. */
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(go[1]);
      close(out[0]);
      close(ready[0]);
      for (int i = 0; i < started; i++) {
        close(outs[i]);
        close(readys[i]);
      }
      child_main(b, (unsigned)(started * threads), threads, seconds, ready[1], go[0], out[1]);
    }
    close(out[1]);
    close(ready[1]);
    if (started < MAX_PROCS) g_workers[started] = pid;
    pids[started] = pid;
    outs[started] = out[0];
    readys[started] = ready[0];
  }
  close(go[0]);
  if (st) fprintf(stderr, "bench: cannot start worker processes: %s\n", strerror(errno));
  /* Wait until every child has its handles, then let them all go at once. */
  for (int i = 0; !st && i < started; i++) {
    char c;
    if (read_all(readys[i], &c, 1)) st = -1;
  }
  if (!st) {
    char gos[64];
    memset(gos, 'g', sizeof gos);
    if (write_all(go[1], gos, (size_t)procs)) st = -1;
  }
  close(go[1]); /* children that did not get a byte see EOF and go anyway */
  int nw = 0;
  for (int i = 0; i < started; i++) {
    for (int t = 0; t < threads; t++) {
      wire_head h;
      if (read_all(outs[i], &h, sizeof h)) {
        st = -1;
        break;
      }
      worker *k = &ws[nw++];
      k->failed = h.failed;
      k->ops = h.ops;
      k->t_start = h.t_start;
      k->t_end = h.t_end;
      k->io = h.io;
      k->lat.ns = malloc((h.n ? h.n : 1) * sizeof *k->lat.ns);
      k->lat.n = k->lat.cap = k->lat.ns ? (size_t)h.n : 0;
      if (!k->lat.ns || read_all(outs[i], k->lat.ns, (size_t)h.n * sizeof *k->lat.ns)) {
        st = -1;
        break;
      }
      if (h.failed) st = -1;
    }
    close(outs[i]);
    close(readys[i]);
  }
  for (int i = 0; i < started; i++) {
    int ws_status = 0;
    while (waitpid(pids[i], &ws_status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(ws_status) || WEXITSTATUS(ws_status) != 0) st = -1;
    if (i < MAX_PROCS) g_workers[i] = 0;
  }
  if (!st) st = collect(ws, nw, r);
  for (int i = 0; ws && i < procs * threads; i++) tb_samples_free(&ws[i].lat);
  free(ws);
  free(pids);
  free(outs);
  free(readys);
  if (st) fprintf(stderr, "bench: %s: a worker process failed\n", b->name);
  return st;
}

int tb_run_workers(const tb_backend *b, int procs, int threads, double seconds, tb_result *r) {
  memset(r, 0, sizeof *r);
  if (procs < 1 || procs > MAX_PROCS || threads < 1) return -1;
  if (b->reset(b->ctx)) return -1;
  if (procs > 1) return run_procs(b, procs, threads, seconds, r);
  worker *ws = calloc((size_t)threads, sizeof *ws);
  if (!ws) return -1;
  int st = run_threads(b, 0, threads, seconds, 0, -1, -1, ws);
  if (!st) st = collect(ws, threads, r);
  for (int i = 0; i < threads; i++) tb_samples_free(&ws[i].lat);
  free(ws);
  return st;
}

int tb_run_growth(const tb_backend *b, size_t held, double seconds, tb_result *r) {
  memset(r, 0, sizeof *r);
  if (b->reset(b->ctx)) return -1;
  if (held && b->prefill(b->ctx, held, ms_clock_realtime_us())) return -1;
  worker w;
  int st = run_threads(b, 0, 1, seconds, 1, -1, -1, &w);
  if (!st) st = collect(&w, 1, r);
  tb_samples_free(&w.lat);
  return st;
}

/* ---- W2: scheduler ticks --------------------------------------------------------------- */

int tb_run_ticks(const tb_backend *b, double seconds, int batched, tb_result *r) {
  memset(r, 0, sizeof *r);
  if (b->reset(b->ctx)) return -1;
  void *proc = NULL, *w = NULL;
  if (b->proc_open(b->ctx, &proc)) return -1;
  if (b->worker_open(proc, &w)) {
    b->proc_close(proc);
    return -1;
  }
  static char sid_buf[TB_TICK][64], scope_buf[TB_TICK * TB_SCOPES][32];
  const char *sids[TB_TICK], *scopes[TB_TICK * TB_SCOPES];
  for (int j = 0; j < TB_TICK; j++) sids[j] = sid_buf[j];
  for (int j = 0; j < TB_TICK * TB_SCOPES; j++) scopes[j] = scope_buf[j];
  int st = 0;
  uint64_t t_start = tb_now_ns(), deadline = t_start + (uint64_t)(seconds * 1e9), t = t_start;
  uint64_t next = 0; /* next session number */
  while (!st && t < deadline) {
    for (int j = 0; j < TB_TICK; j++, next++) {
      snprintf(sid_buf[j], sizeof sid_buf[j], "tick-%llu", (unsigned long long)next);
      scopes_of(0, next, scope_buf[j * TB_SCOPES], scope_buf[j * TB_SCOPES + 1]);
    }
    uint64_t t0 = tb_now_ns();
    st = b->tick(w, TB_TICK, sids, scopes, ms_clock_realtime_us());
    uint64_t t1 = tb_now_ns();
    if (batched) st = st ? st : b->release_tick(w, TB_TICK, sids, scopes, ms_clock_realtime_us());
    else
      for (int j = 0; !st && j < TB_TICK; j++) st = b->release(w, sids[j], scopes + j * TB_SCOPES);
    t = tb_now_ns();
    if (!st) st = tb_samples_add(&r->lat, t1 - t0);
    if (!st) {
      r->ops++;
      r->sessions += TB_TICK;
    }
  }
  r->seconds = (double)(t - t_start) / 1e9;
  b->worker_close(w);
  b->proc_close(proc);
  return st;
}
