# libFuzzer target for the registry's Java properties reader (config.properties
# and TorchServe snapshots), only with -DMSERVE_BUILD_FUZZ=ON (clang, the fuzz
# preset). Seeds: tests/fuzz/corpus/properties/ (scripts/fuzz-smoke's rule:
# fuzz_<part>_<parser> starts from corpus/<parser>/), replayed in every build by
# tests/integration/fuzz_replay_registry_properties.cmake. Run by hand:
#   build/fuzz/tests/fuzz_registry_properties -max_total_time=300 corpus_dir tests/fuzz/corpus/properties
add_executable(fuzz_registry_properties ${CMAKE_CURRENT_LIST_DIR}/../fuzz/fuzz_registry_properties.c)
target_link_libraries(fuzz_registry_properties PRIVATE mserve_static)
target_compile_options(fuzz_registry_properties PRIVATE ${MSERVE_WARNINGS} -fsanitize=fuzzer-no-link
  -fno-sanitize-recover=all)
target_link_options(fuzz_registry_properties PRIVATE -fsanitize=fuzzer,address,undefined)
