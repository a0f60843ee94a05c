# libFuzzer targets for the executor's parsers: the safetensors reader and
# the model-config.yaml mlp: section. Built only with -DMSERVE_BUILD_FUZZ=ON
# (clang; the fuzz preset); scripts/fuzz-smoke runs fuzz_executor_<parser>
# from tests/fuzz/corpus/<parser>/. The same seeds are replayed, with their
# expected verdicts, in every build by tests/conformance/executor.cmake.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MSERVE_BUILD_FUZZ needs clang (libFuzzer); use the 'fuzz' preset")
endif()
foreach(parser safetensors mlp_config)
  add_executable(fuzz_executor_${parser} ${CMAKE_CURRENT_LIST_DIR}/fuzz_executor_${parser}.c)
  target_link_libraries(fuzz_executor_${parser} PRIVATE mserve_static)
  target_compile_definitions(fuzz_executor_${parser} PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
  # every finding is fatal, whatever the preset's flags
  target_compile_options(fuzz_executor_${parser} PRIVATE ${MSERVE_WARNINGS} -fsanitize=fuzzer-no-link
    -fno-sanitize-recover=all)
  target_link_options(fuzz_executor_${parser} PRIVATE -fsanitize=fuzzer,address,undefined)
endforeach()
