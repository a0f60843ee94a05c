# Registry benchmark (not a ctest): cold scan and re-scan of a model store
# against extract-all (TorchServe/MMS startup). Run:
#   build/<dir>/tests/bench-registry --quick     (about 200 MB, seconds)
#   build/<dir>/tests/bench-registry             (about 5 GB, minutes)
# The stores are written by the project's one archive writer (examples/common).
add_executable(bench-registry ${CMAKE_CURRENT_LIST_DIR}/registry_scan.c ${CMAKE_CURRENT_LIST_DIR}/registry_gen.c
  ${PROJECT_SOURCE_DIR}/examples/common/archive_write.c)
target_include_directories(bench-registry PRIVATE ${PROJECT_SOURCE_DIR}/examples/common)
target_link_libraries(bench-registry PRIVATE mserve_static PkgConfig::CJSON PkgConfig::LIBARCHIVE)
target_compile_options(bench-registry PRIVATE ${MSERVE_WARNINGS})
target_compile_definitions(bench-registry PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
