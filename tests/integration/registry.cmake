# integration_registry_race: several processes materialize one model into
# one root at the same time, and scan one model store at the same time.
ms_add_cmocka(integration_registry_race ${CMAKE_CURRENT_LIST_DIR}/registry_race.c)
target_include_directories(integration_registry_race PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
# The same processes as hosts sharing one PostgreSQL server (tests/CMakeLists.txt's parameterised suites).
add_test(NAME integration_registry_race_pg COMMAND integration_registry_race)
set_tests_properties(integration_registry_race_pg PROPERTIES SKIP_RETURN_CODE 77
  ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout;MSERVE_TEST_STORE=postgresql")
