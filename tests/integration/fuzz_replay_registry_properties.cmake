# Regression replay of the properties corpus (tests/fuzz/corpus/properties/) in
# every build: fuzz_registry_properties.c runs once over every seed through a
# plain main() (tests/fuzz/replay_main.c). In sanitizer builds every finding is
# fatal (the environment below).
set(_ms_props_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
add_executable(fuzz_replay_properties ${_ms_props_fuzz_dir}/fuzz_registry_properties.c
  ${_ms_props_fuzz_dir}/replay_main.c)
target_link_libraries(fuzz_replay_properties PRIVATE mserve_static)
target_compile_options(fuzz_replay_properties PRIVATE ${MSERVE_WARNINGS})
target_compile_definitions(fuzz_replay_properties PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
add_test(NAME fuzz_regress_properties COMMAND fuzz_replay_properties ${_ms_props_fuzz_dir}/corpus/properties)
set_tests_properties(fuzz_regress_properties PROPERTIES ENVIRONMENT
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1;TSAN_OPTIONS=halt_on_error=1")
