# integration_registry_race: several processes materialize one model into
# one root at the same time, and scan one model store at the same time.
ms_add_cmocka(integration_registry_race ${CMAKE_CURRENT_LIST_DIR}/registry_race.c)
target_include_directories(integration_registry_race PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
