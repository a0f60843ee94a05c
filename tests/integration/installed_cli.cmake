# installed_cli: `cmake --install` into a scratch prefix, then every installed
# tool's --version (and one command) under env -i: the tools start without
# LD_LIBRARY_PATH, through their install RUNPATH ($ORIGIN/../lib style).
if(MSERVE_BUILD_EXAMPLES)
  add_test(NAME installed_cli
    COMMAND ${CMAKE_COMMAND} -DBUILD=${CMAKE_BINARY_DIR} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/installed_cli.work
      -DTOOLS=mserve-tracker,mserve-registry,mserve-archive,mserve-autoscale,mserve-batch,mserve-demo -P ${CMAKE_CURRENT_LIST_DIR}/installed_cli/driver.cmake)
  set_tests_properties(installed_cli PROPERTIES TIMEOUT 120)
endif()
