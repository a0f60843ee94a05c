# bench-autoscaler: the autoscaler's observe throughput and evaluation tick
# at 100,000 endpoints, against the per-rule SQL query baseline on the same
# store. Not a ctest: run it by hand (--quick for a smoke run).
add_executable(bench-autoscaler
  ${CMAKE_CURRENT_LIST_DIR}/autoscaler_tick.c
  ${CMAKE_CURRENT_LIST_DIR}/autoscaler_baseline.c)
# static: the baseline runs on the store's own connection and statement cache
target_link_libraries(bench-autoscaler PRIVATE mserve_static)
target_compile_options(bench-autoscaler PRIVATE ${MSERVE_WARNINGS})
target_compile_definitions(bench-autoscaler PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
