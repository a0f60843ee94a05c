# bench-bindings: the bindings' overhead. tests/bench/bench-bindings runs this
# C loop, the same loops through the Python binding (bindings_py.py) and the
# Go binding (bindings_go/), in one run, and reports their rates and ratios.
# Not a ctest: timings are reported, never asserted.
add_executable(bench-bindings-c ${CMAKE_CURRENT_LIST_DIR}/bindings_c.c)
# The shared library, as the bindings load it.
target_link_libraries(bench-bindings-c PRIVATE mserve)
target_compile_options(bench-bindings-c PRIVATE ${MSERVE_WARNINGS})
target_compile_definitions(bench-bindings-c PRIVATE _XOPEN_SOURCE=700 _DEFAULT_SOURCE)
