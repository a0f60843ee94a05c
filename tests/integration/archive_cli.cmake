# integration_archive_cli: TorchServe's flags and files through mserve-archive
# and mserve-registry (torch-model-archiver's create flags and formats,
# validate's check of the files the manifest names, materialize, settings in
# TorchServe's units and spellings).
if(MSERVE_BUILD_EXAMPLES)
  add_executable(integration_archive_cli ${CMAKE_CURRENT_LIST_DIR}/archive_cli.c)
  target_include_directories(integration_archive_cli PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  target_link_libraries(integration_archive_cli PRIVATE ms_testsupport PkgConfig::CMOCKA PkgConfig::CJSON
    PkgConfig::LIBARCHIVE)
  target_compile_options(integration_archive_cli PRIVATE ${MSERVE_WARNINGS})
  add_test(NAME integration_archive_cli
    COMMAND integration_archive_cli $<TARGET_FILE:mserve-archive> $<TARGET_FILE:mserve-registry>)
  set_tests_properties(integration_archive_cli PROPERTIES ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
endif()
