# The commands users copy: every tool's --help example runs as written
# (help_examples_cli), and every shell block of the README, with its C
# examples compiled (readme_cli, scripts/check-readme against this build).
if(MSERVE_BUILD_EXAMPLES)
  add_test(NAME help_examples_cli
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/help_examples_cli/run.sh ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  add_test(NAME readme_cli COMMAND ${PROJECT_SOURCE_DIR}/scripts/check-readme ${CMAKE_BINARY_DIR})
  set_tests_properties(help_examples_cli readme_cli PROPERTIES TIMEOUT 300)
endif()
