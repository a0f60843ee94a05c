# Executor benchmark (not a ctest): the CPU MLPs against PyTorch eager (Debian's
# python3-torch, on OpenBLAS through libblas.so.3), and the GPU path when a CUDA
# device is usable. Run:
#   build/<dir>/tests/bench-executor --quick            (about a minute)
#   build/<dir>/tests/bench-executor --threads 1 --json bench-executor.json
add_executable(bench-executor ${CMAKE_CURRENT_LIST_DIR}/executor_bench.c)
target_link_libraries(bench-executor PRIVATE mserve_static PkgConfig::CJSON m)
target_compile_options(bench-executor PRIVATE ${MSERVE_WARNINGS})
target_compile_definitions(bench-executor PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE
  MS_BENCH_DIR="${CMAKE_CURRENT_LIST_DIR}")
