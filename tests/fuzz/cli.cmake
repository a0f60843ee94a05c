# libFuzzer targets for the example CLIs' parsers: mserve-tracker's command
# line and reconcile list, mserve-autoscale's rules (JSON) and observations
# (CSV), mserve-server's request bodies and --limits file. Built only with
# -DMSERVE_BUILD_FUZZ=ON (clang; see registry.cmake); scripts/fuzz-smoke runs them from tests/fuzz/corpus/<parser>/, and
# tests/integration/fuzz_replay.cmake replays those seeds in every build.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MSERVE_BUILD_FUZZ needs clang (libFuzzer); use the 'fuzz' preset")
endif()
include(${CMAKE_CURRENT_LIST_DIR}/cli_sources.cmake)
foreach(parser IN LISTS MS_CLI_FUZZ_PARSERS)
  add_executable(fuzz_cli_${parser} ${CMAKE_CURRENT_LIST_DIR}/fuzz_cli_${parser}.c ${MS_CLI_FUZZ_SOURCES_${parser}})
  target_link_libraries(fuzz_cli_${parser} PRIVATE ${MS_CLI_FUZZ_LIBS})
  target_compile_definitions(fuzz_cli_${parser} PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  # every finding is fatal, whatever the preset's flags
  target_compile_options(fuzz_cli_${parser} PRIVATE ${MSERVE_WARNINGS} -fsanitize=fuzzer-no-link
    -fno-sanitize-recover=all)
  target_link_options(fuzz_cli_${parser} PRIVATE -fsanitize=fuzzer,address,undefined)
endforeach()
