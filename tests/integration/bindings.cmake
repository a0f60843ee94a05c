# The Python (ctypes) and Go (cgo) bindings' suites against the library of this
# build tree (scripts/run bindings runs them against an installed one): Python
# through MSERVE_LIBRARY, Go through a pkg-config file that names the build
# tree's headers and library. Both skip (77) when their toolchain is missing.
# Not under the sanitizers: an instrumented library cannot be loaded into an
# interpreter or a Go test binary that was not linked with their runtime.
if(CMAKE_C_FLAGS MATCHES "-fsanitize")
  return()
endif()
set(MSERVE_BINDINGS_PC ${CMAKE_CURRENT_BINARY_DIR}/bindings/pkgconfig/mserve.pc)
file(GENERATE OUTPUT ${MSERVE_BINDINGS_PC} CONTENT
"libdir=$<TARGET_FILE_DIR:mserve>
includedir=${PROJECT_SOURCE_DIR}/include

Name: mserve
Description: libmserve of the build tree ${CMAKE_BINARY_DIR}
Version: ${PROJECT_VERSION}
Libs: -L\${libdir} -lmserve
Cflags: -I\${includedir}
")
add_test(NAME bindings_python
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/test-bindings python $<TARGET_FILE:mserve> ${PROJECT_SOURCE_DIR}/include)
add_test(NAME bindings_go
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/test-bindings go ${CMAKE_CURRENT_BINARY_DIR}/bindings/pkgconfig
    $<TARGET_FILE_DIR:mserve> ${CMAKE_CURRENT_BINARY_DIR}/bindings/go)
set_tests_properties(bindings_python bindings_go PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
