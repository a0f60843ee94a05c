# Regression replays of the fuzz corpora, in every build (gcc included): each
# fuzz entry point runs once over every seed in tests/fuzz/corpus/<target>/
# through a plain main() (tests/fuzz/replay_main.c). Reproducers of fixed
# crashes are kept in those folders, so a fix can never silently regress.
# In sanitizer builds every finding is fatal (the environment below), so a
# replay that only prints a UBSan report still fails.
set(_ms_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
set(_ms_fuzz_env
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1"
  "TSAN_OPTIONS=halt_on_error=1")
foreach(target manifest model_config global_config archive)
  add_executable(fuzz_replay_${target} ${_ms_fuzz_dir}/fuzz_${target}.c ${_ms_fuzz_dir}/replay_main.c)
  target_link_libraries(fuzz_replay_${target} PRIVATE mserve_static)
  target_compile_options(fuzz_replay_${target} PRIVATE ${MSERVE_WARNINGS})
  target_compile_definitions(fuzz_replay_${target} PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  add_test(NAME fuzz_regress_${target} COMMAND fuzz_replay_${target} ${_ms_fuzz_dir}/corpus/${target})
  set_tests_properties(fuzz_regress_${target} PROPERTIES ENVIRONMENT "${_ms_fuzz_env}")
endforeach()

# The example CLIs' parsers (tests/fuzz/cli_sources.cmake): fuzz_cli_<parser>
# replays tests/fuzz/corpus/<parser>/.
include(${_ms_fuzz_dir}/cli_sources.cmake)
foreach(parser IN LISTS MS_CLI_FUZZ_PARSERS)
  set(_t fuzz_replay_cli_${parser})
  add_executable(${_t} ${_ms_fuzz_dir}/fuzz_cli_${parser}.c ${MS_CLI_FUZZ_SOURCES_${parser}} ${_ms_fuzz_dir}/replay_main.c)
  target_link_libraries(${_t} PRIVATE ${MS_CLI_FUZZ_LIBS})
  target_compile_options(${_t} PRIVATE ${MSERVE_WARNINGS})
  target_compile_definitions(${_t} PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  add_test(NAME fuzz_regress_cli_${parser} COMMAND ${_t} ${_ms_fuzz_dir}/corpus/${parser})
  set_tests_properties(fuzz_regress_cli_${parser} PROPERTIES ENVIRONMENT "${_ms_fuzz_env}")
endforeach()
