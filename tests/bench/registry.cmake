# Registry benchmark (not a ctest): cold scan and re-scan of a model store
# against extract-all (TorchServe/MMS startup). Run:
#   build/<dir>/tests/bench_registry_scan --quick     (about 200 MB, seconds)
#   build/<dir>/tests/bench_registry_scan             (about 5 GB, minutes)
add_executable(bench_registry_scan ${CMAKE_CURRENT_LIST_DIR}/registry_scan.c ${CMAKE_CURRENT_LIST_DIR}/registry_gen.c)
target_link_libraries(bench_registry_scan PRIVATE mserve_static PkgConfig::CJSON PkgConfig::LIBARCHIVE)
target_compile_options(bench_registry_scan PRIVATE ${MSERVE_WARNINGS})
target_compile_definitions(bench_registry_scan PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
