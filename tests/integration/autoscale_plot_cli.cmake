# The autoscale plot people look at: integration_autoscale_plot checks what
# the SVG draws where (a replicas panel with bounds and labelled changes, one
# panel per metric with its own thresholds and cooldowns, clock times for
# epoch inputs); integration_autoscale_plot_png renders the plots to PNG with
# rsvg-convert (librsvg2-bin; skipped when absent), checks the pixels and
# keeps the PNGs in <build>/tests/autoscale-plots/ to be looked at.
if(MSERVE_BUILD_EXAMPLES)
  add_executable(integration_autoscale_plot ${CMAKE_CURRENT_LIST_DIR}/autoscale_plot_cli.c)
  target_link_libraries(integration_autoscale_plot PRIVATE ms_testsupport PkgConfig::CMOCKA PkgConfig::ZLIB)
  target_compile_options(integration_autoscale_plot PRIVATE ${MSERVE_WARNINGS})
  add_dependencies(integration_autoscale_plot mserve-autoscale)
  set(_ms_plot_args $<TARGET_FILE:mserve-autoscale> ${PROJECT_SOURCE_DIR}/examples/mserve-autoscale/samples
    ${CMAKE_CURRENT_BINARY_DIR}/autoscale-plots)
  add_test(NAME integration_autoscale_plot COMMAND integration_autoscale_plot ${_ms_plot_args})
  add_test(NAME integration_autoscale_plot_png COMMAND integration_autoscale_plot ${_ms_plot_args} --png)
  set_tests_properties(integration_autoscale_plot integration_autoscale_plot_png PROPERTIES
    ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout" SKIP_RETURN_CODE 77)
  set_tests_properties(integration_autoscale_plot_png PROPERTIES DEPENDS integration_autoscale_plot)
endif()
