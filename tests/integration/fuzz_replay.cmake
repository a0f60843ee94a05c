# Regression replays of the fuzz corpora, in every build (gcc included): each
# fuzz entry point runs once over every seed in tests/fuzz/corpus/<target>/
# through a plain main() (tests/fuzz/replay_main.c). Reproducers of fixed
# crashes are kept in those folders, so a fix can never silently regress.
set(_ms_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
foreach(target manifest model_config global_config archive)
  add_executable(fuzz_replay_${target} ${_ms_fuzz_dir}/fuzz_${target}.c ${_ms_fuzz_dir}/replay_main.c)
  target_link_libraries(fuzz_replay_${target} PRIVATE mserve_static)
  target_compile_options(fuzz_replay_${target} PRIVATE ${MSERVE_WARNINGS})
  target_compile_definitions(fuzz_replay_${target} PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  add_test(NAME fuzz_regress_${target} COMMAND fuzz_replay_${target} ${_ms_fuzz_dir}/corpus/${target})
endforeach()
