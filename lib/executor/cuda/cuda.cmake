# The executor's CUDA backend, included from lib/CMakeLists.txt. With
# MSERVE_HAVE_CUDA (the top level found the CUDA Toolkit) each .cu file here
# is compiled by nvcc (a custom command, so CMake's CUDA language and its
# implicit C++ link libraries stay out of the C library) into an object
# linked into both libmserve.so.1 and libmserve.a, with the static CUDA
# runtime. cuBLASLt is loaded at run time (dlopen): loading libmserve needs
# no CUDA library. Without CUDA, lib/executor/cuda_stub.c answers MS_ENODEV.
set(MSERVE_PC_LIBS_CUDA "" PARENT_SCOPE)
if(NOT MSERVE_HAVE_CUDA)
  return()
endif()

set(MSERVE_CUDA_ARCHITECTURES "80;90" CACHE STRING
  "GPU architectures of the CUDA executor: SASS for each, plus PTX of the last for newer GPUs")
set(_ms_nvcc_flags -std=c++17 -O2 -lineinfo
  -Xcompiler=-fPIC,-fvisibility=hidden,-fno-exceptions,-fno-threadsafe-statics,-Wall,-Wextra
  -DMSERVE_BUILDING -I${PROJECT_SOURCE_DIR}/include -I${CMAKE_CURRENT_SOURCE_DIR})
if(MSERVE_WERROR)
  list(APPEND _ms_nvcc_flags -Werror=all-warnings)
endif()
if(CMAKE_CUDA_HOST_COMPILER)
  list(APPEND _ms_nvcc_flags -ccbin ${CMAKE_CUDA_HOST_COMPILER})
endif()
foreach(_ms_arch IN LISTS MSERVE_CUDA_ARCHITECTURES)
  list(APPEND _ms_nvcc_flags -gencode=arch=compute_${_ms_arch},code=sm_${_ms_arch})
endforeach()
list(GET MSERVE_CUDA_ARCHITECTURES -1 _ms_arch)
list(APPEND _ms_nvcc_flags -gencode=arch=compute_${_ms_arch},code=compute_${_ms_arch})

file(GLOB _ms_cuda_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cu)
set(_ms_cuda_objects)
foreach(_ms_src IN LISTS _ms_cuda_sources)
  get_filename_component(_ms_stem ${_ms_src} NAME_WE)
  set(_ms_obj ${CMAKE_CURRENT_BINARY_DIR}/executor_cuda_${_ms_stem}.o)
  add_custom_command(OUTPUT ${_ms_obj}
    COMMAND ${CUDAToolkit_NVCC_EXECUTABLE} ${_ms_nvcc_flags} -MD -MF ${_ms_obj}.d -c ${_ms_src} -o ${_ms_obj}
    DEPENDS ${_ms_src}
    DEPFILE ${_ms_obj}.d
    COMMENT "nvcc ${_ms_stem}.cu"
    VERBATIM)
  list(APPEND _ms_cuda_objects ${_ms_obj})
endforeach()
set_source_files_properties(${_ms_cuda_objects} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)

target_compile_definitions(mserve_objects PRIVATE MSERVE_HAVE_CUDA=1)
target_sources(mserve PRIVATE ${_ms_cuda_objects})
target_sources(mserve_static PRIVATE ${_ms_cuda_objects})
target_link_libraries(mserve PRIVATE CUDA::cudart_static)
target_link_libraries(mserve_static PUBLIC CUDA::cudart_static)
set(MSERVE_PC_LIBS_CUDA " -L${CUDAToolkit_LIBRARY_DIR} -lcudart_static -ldl -lrt" PARENT_SCOPE)
