# End-to-end checks of the registry CLIs (examples/mserve-archive and
# examples/mserve-registry): exit codes and --json shape, on archives the test
# creates, and on the TorchServe fixtures when present (skipped otherwise).
if(MSERVE_BUILD_EXAMPLES)
  foreach(mode own fixtures)
    add_test(NAME registry_cli_${mode}
      COMMAND ${CMAKE_COMMAND}
        -DARCHIVE=$<TARGET_FILE:mserve-archive> -DREGISTRY=$<TARGET_FILE:mserve-registry>
        -DWORK=${CMAKE_CURRENT_BINARY_DIR}/registry_cli_${mode}.work
        -DFIXTURES=${MSERVE_FIXTURES_DIR} -DMODE=${mode}
        -P ${CMAKE_CURRENT_LIST_DIR}/registry_cli/driver.cmake)
    set_tests_properties(registry_cli_${mode} PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED: ")
  endforeach()
endif()
