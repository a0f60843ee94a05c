# bench-tracker: the concurrency tracker against the Redis design
# (sorted sets + Lua via hiredis) in the same run. Built only when hiredis is
# found; needs redis-server at run time (without it, the tracker half runs
# alone). Not a ctest: timings are reported, never asserted.
pkg_check_modules(HIREDIS IMPORTED_TARGET hiredis)
if(HIREDIS_FOUND)
  add_executable(bench-tracker
    ${CMAKE_CURRENT_LIST_DIR}/tracker_vs_redis.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_run.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_stats.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_mserve.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_redis.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_floor.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_vfs.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_bai.c
    ${CMAKE_CURRENT_LIST_DIR}/tracker_bench_pg.c
    ${PROJECT_SOURCE_DIR}/tests/support/pg_cluster.c
    ${PROJECT_SOURCE_DIR}/tests/support/testutil.c)
  target_include_directories(bench-tracker PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_compile_definitions(bench-tracker PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  target_compile_options(bench-tracker PRIVATE ${MSERVE_WARNINGS})
  # The shared library through its public API; SQLite to print its version and,
# for --breakdown, to wrap its default VFS with a timing one.
  target_link_libraries(bench-tracker PRIVATE mserve PkgConfig::HIREDIS PkgConfig::CJSON PkgConfig::SQLITE3
    PkgConfig::LIBPQ Threads::Threads)
else()
  message(STATUS "libmserve: hiredis not found, bench-tracker not built")
endif()
