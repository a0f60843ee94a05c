# libFuzzer targets for the registry's parsers (only with -DMSERVE_BUILD_FUZZ=ON,
# clang; the fuzz preset compiles everything with -fsanitize=fuzzer-no-link,
# address,undefined). Nothing here is registered with ctest: run a target by
# hand, e.g.
#   build/fuzz/tests/fuzz_registry_manifest -max_total_time=300 \
#       -dict=... corpus_dir tests/fuzz/corpus/manifest
# The seeds in tests/fuzz/corpus/<target>/ are replayed in every build by
# tests/integration/fuzz_replay.cmake.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MSERVE_BUILD_FUZZ needs clang (libFuzzer); use the 'fuzz' preset")
endif()
foreach(target manifest model_config global_config archive)
  add_executable(fuzz_registry_${target} ${CMAKE_CURRENT_LIST_DIR}/../fuzz/fuzz_${target}.c)
  target_link_libraries(fuzz_registry_${target} PRIVATE mserve_static)
  # every finding is fatal, whatever the preset's flags
  target_compile_options(fuzz_registry_${target} PRIVATE ${MSERVE_WARNINGS} -fsanitize=fuzzer-no-link
    -fno-sanitize-recover=all)
  target_link_options(fuzz_registry_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
endforeach()
