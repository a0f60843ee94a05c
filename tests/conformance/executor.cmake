# Executor conformance:
#  - conformance_executor_mar: a .mar built as TorchServe users build one
#    (safetensors weights in save_file's layout, deflated zip, manifest last)
#    registered, materialized, opened, run and checked against a reference;
#  - conformance_executor_vectors: the fuzz seeds of the executor's parsers
#    (the reference safetensors crate's test vectors among them) get the
#    verdict their names say (ok_* accepted, bad_* MS_ECORRUPT);
#  - fuzz_regress_executor_*: every seed replayed through the fuzz entry
#    points with a plain main(), in every build (gcc included), so a fixed
#    crash kept in the corpus can never come back.
ms_add_cmocka(conformance_executor_mar ${CMAKE_CURRENT_LIST_DIR}/executor_mar.c)
target_link_libraries(conformance_executor_mar PRIVATE PkgConfig::LIBARCHIVE m)

add_executable(conformance_executor_vectors ${CMAKE_CURRENT_LIST_DIR}/executor_vectors.c)
target_link_libraries(conformance_executor_vectors PRIVATE ms_testsupport PkgConfig::CMOCKA PkgConfig::CJSON)
target_compile_options(conformance_executor_vectors PRIVATE ${MSERVE_WARNINGS})
add_test(NAME conformance_executor_vectors
  COMMAND conformance_executor_vectors ${CMAKE_CURRENT_LIST_DIR}/../fuzz/corpus)
set_tests_properties(conformance_executor_vectors PROPERTIES ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")

set(_ms_exec_fuzz ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
foreach(parser safetensors mlp_config)
  add_executable(fuzz_replay_executor_${parser} ${_ms_exec_fuzz}/fuzz_executor_${parser}.c ${_ms_exec_fuzz}/replay_main.c)
  target_link_libraries(fuzz_replay_executor_${parser} PRIVATE mserve_static)
  target_compile_options(fuzz_replay_executor_${parser} PRIVATE ${MSERVE_WARNINGS})
  target_compile_definitions(fuzz_replay_executor_${parser} PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  add_test(NAME fuzz_regress_executor_${parser}
    COMMAND fuzz_replay_executor_${parser} ${_ms_exec_fuzz}/corpus/${parser})
  set_tests_properties(fuzz_regress_executor_${parser} PROPERTIES ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1;TSAN_OPTIONS=halt_on_error=1")
endforeach()
