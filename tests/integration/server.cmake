# integration_server: mserve-server end to end (tests/integration/server/,
# Python's urllib and curl against a model store of generated MLP archives);
# integration_server_soak: 64 clients for 30 s. server_ref is the reference
# they compare outputs with (ms_executor_run on the same rows).
if(MSERVE_BUILD_EXAMPLES)
  add_executable(server_ref ${CMAKE_CURRENT_LIST_DIR}/server_ref.c)
  target_link_libraries(server_ref PRIVATE mserve PkgConfig::CJSON)
  target_compile_options(server_ref PRIVATE ${MSERVE_WARNINGS})
  set(_ms_sanitized 0)
  if(CMAKE_C_FLAGS MATCHES "-fsanitize")
    set(_ms_sanitized 1)
  endif()
  set(_ms_server_env
    "MSERVE_SERVER=$<TARGET_FILE:mserve-server>" "MSERVE_SERVER_REF=$<TARGET_FILE:server_ref>"
    "MSERVE_SANITIZED=${_ms_sanitized}" "OPENBLAS_NUM_THREADS=1"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1" "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
    "TSAN_OPTIONS=halt_on_error=1:exitcode=66")
  add_test(NAME integration_server COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/server/test_server.py)
  add_test(NAME integration_server_soak COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/server/test_soak.py)
  set_tests_properties(integration_server integration_server_soak PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
    ENVIRONMENT "${_ms_server_env}")
  add_dependencies(server_ref mserve-server)
endif()
