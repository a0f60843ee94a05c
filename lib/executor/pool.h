/* Internal: the CPU backend's own small thread pool, for the skinny path
 * (batches of a few rows, where a GEMV per layer split over the cores beats
 * a BLAS call). One pool per executor, sized by ms_executor_set_threads;
 * the thread calling run is worker 0, so a pool of n threads starts n - 1.
 *
 * A job is a fixed sequence of phases (the layers); phase i is chunks[i]
 * chunks, fn(ctx, i, c) each, and every chunk of phase i completes before
 * any chunk of phase i + 1 starts. Worker t owns the chunks
 * [t C / n, (t + 1) C / n) of a phase of C chunks and runs them first, so a
 * chunk runs on the same core from job to job (its weights stay in that
 * core's cache); then it takes what the others have not started yet. A
 * worker that the system does not run (another process holds its core)
 * therefore delays a job by at most the chunk it is in, never by its whole
 * share, and run does not wait for a worker that took no part.
 *
 * Idle workers spin briefly for the next job (runs of a busy executor come
 * back to back), then block: an idle executor burns no CPU. Nothing is
 * allocated per job.
 *
 * Thread safety: one run at a time per pool (the executor's busy guard).
 * Fork: a child of fork may run and destroy a pool its parent created; it
 * has none of the workers, so the calling thread runs every chunk. */
#ifndef MS_EXECUTOR_POOL_H
#define MS_EXECUTOR_POOL_H

typedef struct ms__executor_pool ms__executor_pool;
typedef void (*ms__executor_pool_fn)(void *ctx, int phase, int chunk);

/* Start a pool of `threads` (>= 1; less is taken as 1) workers, the
 * caller's included, for jobs of `phases` phases of chunks[i] >= 1 chunks
 * (copied). fn and ctx are the same for every job: ctx holds what changes
 * (fn reads it only while its job runs). Errors: MS_ENOMEM (memory, or the
 * system refused a thread), with the message set. */
int ms__executor_pool_create(int threads, int phases, const int *chunks, ms__executor_pool_fn fn, void *ctx,
                             ms__executor_pool **out);
/* Stop and join the workers; NULL is a no-op. */
void ms__executor_pool_destroy(ms__executor_pool *p);
int ms__executor_pool_threads(const ms__executor_pool *p);
/* Run one job and return when every chunk has completed; everything the
 * chunks wrote is visible to the caller then. */
void ms__executor_pool_run(ms__executor_pool *p);

#endif
