# integration_cli_family: every command-line tool is one family: --help with
# an example and the exit statuses, --version, global options anywhere, exit
# codes 0/1/2, one JSON envelope on success and failure, stdout write errors.
if(MSERVE_BUILD_EXAMPLES)
  add_executable(integration_cli_family ${CMAKE_CURRENT_LIST_DIR}/cli_family.c)
  target_link_libraries(integration_cli_family PRIVATE ms_testsupport PkgConfig::CMOCKA PkgConfig::CJSON)
  target_compile_options(integration_cli_family PRIVATE ${MSERVE_WARNINGS})
  add_test(NAME integration_cli_family COMMAND integration_cli_family
    $<TARGET_FILE:mserve-tracker> $<TARGET_FILE:mserve-registry> $<TARGET_FILE:mserve-archive>
    $<TARGET_FILE:mserve-autoscale> $<TARGET_FILE:mserve-batch> $<TARGET_FILE:mserve-demo> $<TARGET_FILE:mserve-server>
    ${PROJECT_SOURCE_DIR}/examples)
  set_tests_properties(integration_cli_family PROPERTIES TIMEOUT 300 ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
endif()
