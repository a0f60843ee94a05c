# The CLIs' read commands over a store their user may not write (the store's
# MS_STORE_READONLY), end to end.
if(MSERVE_BUILD_EXAMPLES)
  add_executable(integration_store_readonly_cli ${CMAKE_CURRENT_LIST_DIR}/store_readonly_cli.c)
  target_link_libraries(integration_store_readonly_cli PRIVATE ms_testsupport PkgConfig::CMOCKA)
  target_compile_options(integration_store_readonly_cli PRIVATE ${MSERVE_WARNINGS})
  add_test(NAME integration_store_readonly_cli
           COMMAND integration_store_readonly_cli $<TARGET_FILE:mserve-tracker> $<TARGET_FILE:mserve-registry>)
endif()
