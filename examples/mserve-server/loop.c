/* mserve-server: the event loop (see loop.h). */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "autoscale.h"
#include "dispatch.h"
#include "http.h"
#include "models.h"
#include "workers.h"

static int add_fd(srv *s, int fd, uint64_t tag) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
  return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Signals arrive on whichever thread does not block them (OpenBLAS starts
 * its threads before main runs, so a signalfd cannot own them): the
 * handler only sets a flag and wakes the loop through an eventfd. */
static volatile sig_atomic_t got_term, got_hup;
static int sig_fd = -1;

static void on_sig(int sig) {
  int saved = errno;
  if (sig == SIGHUP) got_hup = 1;
  else got_term = 1;
  uint64_t one = 1;
  ssize_t n = write(sig_fd, &one, sizeof one);
  (void)n;
  errno = saved;
}

int loop_setup(srv *s, char *err, size_t errlen) {
  s->ep = epoll_create1(EPOLL_CLOEXEC);
  s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  s->sfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  s->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  sig_fd = s->sfd;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (s->sfd >= 0)
    for (int i = 0; i < 3; i++) sigaction(i == 0 ? SIGTERM : i == 1 ? SIGINT : SIGHUP, &sa, NULL);
  if (s->ep < 0 || s->tfd < 0 || s->sfd < 0 || s->wfd < 0 || add_fd(s, s->tfd, EP_TIMER) ||
      add_fd(s, s->sfd, EP_SIGNAL) || add_fd(s, s->wfd, EP_WORKERS)) {
    snprintf(err, errlen, "mserve-server: cannot set up the event loop: %s", strerror(errno));
    return MS_EIO;
  }
  return MS_OK;
}

void loop_close(srv *s) {
  /* the handlers stay: a second SIGTERM during the teardown changes nothing */
  sig_fd = -1;
  int *fds[4] = {&s->ep, &s->tfd, &s->sfd, &s->wfd};
  for (int i = 0; i < 4; i++)
    if (*fds[i] >= 0) {
      close(*fds[i]);
      *fds[i] = -1;
    }
}

static void arm(srv *s, int64_t at_us) {
  /* one system call fewer per wake-up when the deadline did not move */
  static int64_t armed = -1;
  if (at_us == armed) return;
  armed = at_us;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (at_us != INT64_MAX) {
    if (at_us < 1) at_us = 1; /* 0 would disarm it */
    its.it_value.tv_sec = (time_t)(at_us / 1000000);
    its.it_value.tv_nsec = (long)(at_us % 1000000) * 1000;
  }
  timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* SIGTERM: refuse new work, answer what is queued (503), let running
 * batches finish. */
static void begin_stop(srv *s, int64_t now) {
  if (s->stopping) return;
  srv_log(MS_LOG_INFO, "stopping: no new connections; queued requests are answered 503, running batches finish");
  s->stopping = 1;
  s->stop_deadline_us = now + s->o.grace_us;
  http_quiesce(s);
  for (size_t i = 0; i < s->n_models; i++) {
    ms_batcher_shutdown(s->models[i]->b);
    dsp_pump(s, s->models[i], now);
  }
}

static void on_signal(srv *s, int64_t now) {
  uint64_t v;
  ssize_t n = read(s->sfd, &v, sizeof v);
  (void)n;
  if (got_hup) {
    got_hup = 0;
    if (!s->stopping) {
      srv_log(MS_LOG_INFO, "SIGHUP: rescanning the model store");
      models_rescan(s);
    }
  }
  if (got_term) begin_stop(s, now);
}

void loop_run(srv *s) {
  struct epoll_event evs[64];
  s->next_autoscale_us = ms_clock_monotonic_us() + 1000000;
  int64_t drained_at = 0;
  for (;;) {
    int64_t now = ms_clock_monotonic_us();
    if (s->stopping) {
      if (!s->live && !drained_at) drained_at = now;
      /* every request answered: give the answers a moment to leave, then go */
      if (drained_at && (s->open_conns == 0 || now - drained_at > 1000000)) break;
      if (now > s->stop_deadline_us) {
        srv_log(MS_LOG_WARN, "stopping: the grace period ended with requests still running");
        break;
      }
    }
    int64_t at = http_deadline(s, now);
    for (size_t i = 0; i < s->n_models; i++) {
      int64_t d = dsp_deadline(s, s->models[i], now);
      if (d < at) at = d;
    }
    if (!s->stopping && s->next_autoscale_us < at) at = s->next_autoscale_us;
    if (s->stopping) {
      int64_t d = drained_at ? drained_at + 1000000 : s->stop_deadline_us;
      if (d < at) at = d;
    }
    /* something due now: no sleep, and no timer to set (a timer armed for
     * later can only wake the loop once more, which is harmless) */
    if (at > now) arm(s, at);
    int n = epoll_wait(s->ep, evs, 64, at <= now ? 0 : -1);
    now = ms_clock_monotonic_us();
    int run_http = at <= now;
    for (int i = 0; i < n; i++) {
      uint64_t tag = evs[i].data.u64;
      if (tag >= 1 && tag <= API_COUNT) http_run(s, (int)tag - 1);
      else if (tag == EP_TIMER) {
        uint64_t v;
        ssize_t r = read(s->tfd, &v, sizeof v);
        (void)r;
      } else if (tag == EP_SIGNAL) on_signal(s, now);
      else if (tag == EP_WORKERS) dsp_events(s);
      else dsp_pump(s, (srv_model *)evs[i].data.ptr, now);
    }
    now = ms_clock_monotonic_us();
    for (size_t i = 0; i < s->n_models; i++)
      if (dsp_deadline(s, s->models[i], now) <= now) dsp_pump(s, s->models[i], now);
    /* a resumed connection waits for MHD_run to take it back; MHD's own
     * wake-up for it does not reach an external epoll set in time */
    if (s->resumed) http_run(s, API_INFERENCE); /* predictions are only on the inference API */
    s->resumed = 0;
    if (run_http) http_run_due(s, now);
    if (!s->stopping && now >= s->next_autoscale_us) {
      scale_tick(s, now);
      s->next_autoscale_us = now + 1000000;
    }
    models_reap(s);
  }
}
