# Regression replays of the registry CLIs' argument-parser corpora
# (tests/fuzz/registry_cli_sources.cmake), in every build: fuzz_cli_<parser>
# runs once over every seed in tests/fuzz/corpus/<parser>/ through a plain
# main() (tests/fuzz/replay_main.c). In sanitizer builds every finding is
# fatal (the environment below).
set(_ms_rcli_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
include(${_ms_rcli_fuzz_dir}/registry_cli_sources.cmake)
foreach(parser IN LISTS MS_REGISTRY_CLI_FUZZ_PARSERS)
  set(_t fuzz_replay_cli_${parser})
  add_executable(${_t} ${_ms_rcli_fuzz_dir}/fuzz_cli_${parser}.c ${MS_REGISTRY_CLI_FUZZ_SOURCES_${parser}}
    ${_ms_rcli_fuzz_dir}/replay_main.c)
  target_include_directories(${_t} PRIVATE ${MS_REGISTRY_CLI_FUZZ_INCLUDES_${parser}})
  target_link_libraries(${_t} PRIVATE ${MS_REGISTRY_CLI_FUZZ_LIBS})
  target_compile_options(${_t} PRIVATE ${MSERVE_WARNINGS})
  target_compile_definitions(${_t} PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  add_test(NAME fuzz_regress_cli_${parser} COMMAND ${_t} ${_ms_rcli_fuzz_dir}/corpus/${parser})
  set_tests_properties(fuzz_regress_cli_${parser} PROPERTIES ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1")
endforeach()
