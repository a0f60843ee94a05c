# integration_registry_cli_text: mserve-archive and mserve-registry against
# hostile input (create validates with the library before writing anything;
# text output escapes control characters and stray bytes; --json output is
# always valid UTF-8; duration flags are checked both ways). It runs the
# built tools, so it exists only when examples are built.
if(MSERVE_BUILD_EXAMPLES)
  add_executable(integration_registry_cli_text ${CMAKE_CURRENT_LIST_DIR}/registry_cli_text.c)
  target_include_directories(integration_registry_cli_text PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  target_link_libraries(integration_registry_cli_text PRIVATE ms_testsupport PkgConfig::CMOCKA PkgConfig::CJSON)
  target_compile_options(integration_registry_cli_text PRIVATE ${MSERVE_WARNINGS})
  add_test(NAME integration_registry_cli_text
    COMMAND integration_registry_cli_text $<TARGET_FILE:mserve-archive> $<TARGET_FILE:mserve-registry>)
  set_tests_properties(integration_registry_cli_text PROPERTIES ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
endif()
