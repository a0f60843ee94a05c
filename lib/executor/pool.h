/* Internal: the CPU backend's own small thread pool, for the skinny path
 * (batches of a few rows, where a GEMV per layer split over the cores beats
 * a BLAS call). One pool per executor, sized by ms_executor_set_threads;
 * the thread calling run is worker 0, so a pool of n threads starts n - 1.
 *
 * A job runs fn(ctx, t, n) on every worker t = 0..n-1 at once; inside it
 * the workers may meet at ms__executor_pool_barrier (between layers). Idle
 * workers spin briefly for the next job (runs of a busy executor come back
 * to back), then block on a condition variable: an idle executor burns no
 * CPU. Nothing is allocated per job.
 *
 * Thread safety: one run at a time per pool (the executor's busy guard);
 * barrier only from inside a job, by every worker. */
#ifndef MS_EXECUTOR_POOL_H
#define MS_EXECUTOR_POOL_H

typedef struct ms__executor_pool ms__executor_pool;
typedef void (*ms__executor_pool_fn)(void *ctx, int t, int n);

/* Start a pool of `threads` (>= 1) workers, the caller's included.
 * Errors: MS_ENOMEM (memory, or the system refused a thread), with the message set. */
int ms__executor_pool_create(int threads, ms__executor_pool **out);
/* Stop and join the workers; NULL is a no-op. */
void ms__executor_pool_destroy(ms__executor_pool *p);
int ms__executor_pool_threads(const ms__executor_pool *p);
/* Run fn on every worker and return when all have returned; everything the
 * workers wrote is visible to the caller then. */
void ms__executor_pool_run(ms__executor_pool *p, ms__executor_pool_fn fn, void *ctx);
/* Wait until every worker of the running job reached this point. */
void ms__executor_pool_barrier(ms__executor_pool *p);

#endif
