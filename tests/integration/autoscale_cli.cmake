# integration_autoscale_cli: runs examples/mserve-autoscale on its sample
# scenarios and on broken inputs; checks the timeline, the JSON output, the
# exit statuses and that the SVG plot is well-formed XML.
if(MSERVE_BUILD_EXAMPLES)
  ms_add_cmocka(integration_autoscale_cli ${CMAKE_CURRENT_LIST_DIR}/autoscale_cli_test.c
    ${CMAKE_CURRENT_LIST_DIR}/xml_check.c)
  target_link_libraries(integration_autoscale_cli PRIVATE PkgConfig::CJSON)
  add_dependencies(integration_autoscale_cli mserve-autoscale)
  set_property(TEST integration_autoscale_cli APPEND PROPERTY ENVIRONMENT
    "MSERVE_AUTOSCALE_CLI=$<TARGET_FILE:mserve-autoscale>"
    "MSERVE_AUTOSCALE_SAMPLES=${PROJECT_SOURCE_DIR}/examples/mserve-autoscale/samples")
endif()
