# bench-batcher: the batching queue against TorchServe's batching algorithm
# (a mutex + condition-variable bounded deque, batcher_baseline.c) in the same
# run: throughput, dispatch lateness, timeout promptness, memory per queued
# request, poll cost at depth. Not a ctest: timings are reported, never
# asserted. Run: build/<dir>/tests/bench-batcher [--quick] [--json FILE]
add_executable(bench-batcher ${CMAKE_CURRENT_LIST_DIR}/batcher_bench.c ${CMAKE_CURRENT_LIST_DIR}/batcher_baseline.c)
# static: the memory figure also reads the batcher's own accounting
target_link_libraries(bench-batcher PRIVATE mserve_static Threads::Threads m)
target_compile_options(bench-batcher PRIVATE ${MSERVE_WARNINGS})
target_compile_definitions(bench-batcher PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE _GNU_SOURCE)
