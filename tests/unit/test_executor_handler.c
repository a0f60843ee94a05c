/* Unit tests: host handler executors. The handler gets exactly the batch's
 * rows and dims; its status fails the run as "handler returned ..."; a
 * status that is not an ms_status, or a write past its rows, fails the run
 * and leaves the caller's output untouched; rows and buffers are checked
 * before the handler is called; a run from inside the handler is MS_EBUSY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mserve.h"

typedef struct hctx {
  int calls;
  int64_t rows, in_dim, out_dim;
  int ret;
  int64_t overrun; /* floats written past rows x out_dim */
  ms_executor *self;
  int inner_status, inner_resize;
} hctx;

/* output[r][j] = sum of input row r + j, unless told otherwise */
static int handler(void *user, const float *input, int64_t rows, int64_t input_dim, float *output,
                   int64_t output_dim) {
  hctx *h = user;
  h->calls++;
  h->rows = rows;
  h->in_dim = input_dim;
  h->out_dim = output_dim;
  for (int64_t r = 0; r < rows; r++) {
    float s = 0;
    for (int64_t i = 0; i < input_dim; i++) s += input[r * input_dim + i];
    for (int64_t j = 0; j < output_dim; j++) output[r * output_dim + j] = s + (float)j;
  }
  for (int64_t k = 0; k < h->overrun; k++) output[rows * output_dim + k] = 1.0f;
  if (h->self) {
    h->inner_status = ms_executor_run(h->self, input, 1, output);
    h->inner_resize = ms_executor_set_max_batch(h->self, 7); /* buffers in use: refused */
  }
  return h->ret;
}

static void test_handler_runs(void **state) {
  (void)state;
  hctx h = {0};
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open_handler(handler, &h, 3, 2, &ex), MS_OK);
  assert_string_equal(ms_executor_device(ex), "host");
  int64_t in = 0, out = 0;
  assert_int_equal(ms_executor_dims(ex, &in, &out), MS_OK);
  assert_true(in == 3 && out == 2);
  const float x[6] = {1, 2, 3, 4, 5, 6};
  float y[4] = {0};
  assert_int_equal(ms_executor_run(ex, x, 2, y), MS_OK);
  assert_int_equal(h.calls, 1);
  assert_true(h.rows == 2 && h.in_dim == 3 && h.out_dim == 2);
  assert_true(y[0] == 6 && y[1] == 7 && y[2] == 15 && y[3] == 16);
  ms_executor_close(ex);
}

static void test_handler_status(void **state) {
  (void)state;
  hctx h = {.ret = MS_EIO};
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open_handler(handler, &h, 1, 1, &ex), MS_OK);
  const float x[1] = {1};
  float y[1] = {-7};
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_EIO);
  assert_non_null(strstr(ms_errmsg(), "executor: ms_executor_run: 'host': handler returned MS_EIO (10)"));
  assert_true(y[0] == -7); /* the caller's output is copied only on success */
  h.ret = MS_ETIMEDOUT;
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_ETIMEDOUT);
  assert_non_null(strstr(ms_errmsg(), "handler returned MS_ETIMEDOUT"));
  h.ret = 99;
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_EINTERNAL);
  assert_non_null(strstr(ms_errmsg(), "handler returned 99, which is not an ms_status"));
  h.ret = -1;
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_EINTERNAL);
  h.ret = MS_OK;
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_OK);
  assert_true(y[0] == 1);
  ms_executor_close(ex);
}

static void test_handler_overrun(void **state) {
  (void)state;
  hctx h = {.overrun = 1};
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open_handler(handler, &h, 2, 3, &ex), MS_OK);
  const float x[4] = {1, 1, 2, 2};
  float y[6 + 1];
  for (int i = 0; i < 7; i++) y[i] = -1;
  assert_int_equal(ms_executor_run(ex, x, 2, y), MS_EINTERNAL);
  assert_non_null(strstr(ms_errmsg(), "wrote past the end of its output"));
  for (int i = 0; i < 7; i++) assert_true(y[i] == -1); /* nothing reached the caller */
  h.overrun = 1000; /* still inside the guard */
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_EINTERNAL);
  h.overrun = 0;
  assert_int_equal(ms_executor_run(ex, x, 2, y), MS_OK);
  assert_true(y[0] == 2 && y[3] == 4 && y[6] == -1);
  ms_executor_close(ex);
}

static void test_handler_bad_input(void **state) {
  (void)state;
  hctx h = {0};
  ms_executor *ex = (ms_executor *)(uintptr_t)0x1;
  assert_int_equal(ms_executor_open_handler(NULL, &h, 1, 1, &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open_handler(handler, &h, 0, 1, &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open_handler(handler, &h, 1, -1, &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open_handler(handler, &h, (int64_t)1 << 40, 1, &ex), MS_EINVAL);
  assert_int_equal(ms_executor_open_handler(handler, &h, 1, 1, NULL), MS_EINVAL);
  assert_ptr_equal(ex, (ms_executor *)(uintptr_t)0x1);
  assert_int_equal(ms_executor_open_handler(handler, NULL, 2, 2, &ex), MS_OK); /* user may be NULL */
  ms_executor_close(ex);
  assert_int_equal(ms_executor_open_handler(handler, &h, 2, 2, &ex), MS_OK);
  float x[2 * 300] = {0}, y[2 * 300];
  assert_int_equal(ms_executor_run(ex, x, 0, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, 257, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, NULL, 1, y), MS_EINVAL);
  assert_int_equal(ms_executor_run(ex, x, 1, NULL), MS_EINVAL);
  assert_int_equal(h.calls, 0); /* never called for a bad batch */
  assert_int_equal(ms_executor_set_max_batch(ex, 300), MS_OK);
  assert_int_equal(ms_executor_run(ex, x, 300, y), MS_OK);
  assert_true(h.rows == 300);
  assert_int_equal(ms_executor_set_threads(ex, 4), MS_OK); /* ignored by handlers */
  ms_executor_close(ex);
}

static void test_handler_reentry_is_busy(void **state) {
  (void)state;
  hctx h = {0};
  ms_executor *ex = NULL;
  assert_int_equal(ms_executor_open_handler(handler, &h, 1, 1, &ex), MS_OK);
  h.self = ex;
  const float x[1] = {3};
  float y[1];
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_OK);
  assert_int_equal(h.inner_status, MS_EBUSY);
  assert_int_equal(h.inner_resize, MS_EBUSY);
  int64_t mb = 0;
  assert_int_equal(ms_executor_get_max_batch(ex, &mb), MS_OK);
  assert_int_equal(mb, MS_EXECUTOR_DEFAULT_MAX_BATCH);
  assert_int_equal(h.calls, 1);
  h.self = NULL;
  assert_int_equal(ms_executor_run(ex, x, 1, y), MS_OK); /* the guard was released */
  assert_int_equal(h.calls, 2);
  ms_executor_close(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handler_runs),       cmocka_unit_test(test_handler_status),
      cmocka_unit_test(test_handler_overrun),    cmocka_unit_test(test_handler_bad_input),
      cmocka_unit_test(test_handler_reentry_is_busy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
