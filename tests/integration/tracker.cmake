# Tracker integration tests: many processes x threads on one file, kill -9
# durability, member counts that stay exact across kill -9, and the
# mserve-tracker CLI end to end.
ms_add_cmocka(integration_tracker_multiproc ${CMAKE_CURRENT_LIST_DIR}/tracker_multiproc.c)
ms_add_cmocka(integration_tracker_crash ${CMAKE_CURRENT_LIST_DIR}/tracker_crash.c)
ms_add_cmocka(integration_tracker_counts ${CMAKE_CURRENT_LIST_DIR}/tracker_counts.c)
set_tests_properties(integration_tracker_multiproc integration_tracker_crash integration_tracker_counts
  PROPERTIES TIMEOUT 300)
# The same programs with hosts sharing one PostgreSQL server (tests/CMakeLists.txt's parameterised suites).
foreach(name integration_tracker_multiproc integration_tracker_crash)
  add_test(NAME ${name}_pg COMMAND ${name})
  set_tests_properties(${name}_pg PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
    ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout;MSERVE_TEST_STORE=postgresql")
endforeach()

# The CLI test runs the built mserve-tracker (an example), so it exists only
# when examples are built.
if(MSERVE_BUILD_EXAMPLES)
  add_executable(integration_tracker_cli ${CMAKE_CURRENT_LIST_DIR}/tracker_cli.c)
  target_link_libraries(integration_tracker_cli PRIVATE ms_testsupport PkgConfig::CJSON)
  target_compile_options(integration_tracker_cli PRIVATE ${MSERVE_WARNINGS})
  add_test(NAME integration_tracker_cli COMMAND integration_tracker_cli $<TARGET_FILE:mserve-tracker>)
endif()
