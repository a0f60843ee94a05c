/* mserve-server: the one event loop. epoll over the HTTP daemons, every
 * batcher's fd, a timerfd armed at the earliest deadline (batchers, MHD's
 * connection timeouts, the autoscaler's second, the shutdown grace), a
 * signal handler's eventfd (TERM/INT: stop; HUP: rescan the model store)
 * and the workers' eventfd. */
#ifndef MSERVE_SERVER_LOOP_H
#define MSERVE_SERVER_LOOP_H

#include "server.h"

/* epoll data of the fixed fds (1..3 are the HTTP daemons: 1 + api). */
enum { EP_TIMER = 4, EP_SIGNAL = 5, EP_WORKERS = 6 };

/* Create the epoll set, the timerfd and the eventfds, and install the
 * signal handlers. MS_OK or MS_EIO with the reason in err. */
int loop_setup(srv *s, char *err, size_t errlen);
/* Run until SIGTERM/SIGINT and every request answered. */
void loop_run(srv *s);
void loop_close(srv *s);

#endif
