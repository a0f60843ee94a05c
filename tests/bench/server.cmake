# bench-server: mserve-server under wrk against FastAPI + uvicorn + PyTorch
# eager (tests/bench/bench-server, a script). server_exec_time is its helper:
# the executor's own time for one row, to tell the server's overhead from the
# model's. Not a ctest: timings are reported, never asserted.
if(MSERVE_BUILD_EXAMPLES)
  add_executable(bench-server-exec ${CMAKE_CURRENT_LIST_DIR}/server_exec_time.c)
  target_link_libraries(bench-server-exec PRIVATE mserve m)
  target_compile_options(bench-server-exec PRIVATE ${MSERVE_WARNINGS})
  target_compile_definitions(bench-server-exec PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  add_dependencies(bench-server-exec mserve-server)
endif()
