# Installs the build into a scratch prefix and runs every installed tool with
# no environment help at all (env -i: no LD_LIBRARY_PATH, no PATH): each finds
# libmserve through its install RUNPATH. Run by ctest through
# tests/integration/installed_cli.cmake:
#   cmake -DBUILD=<build dir> -DWORK=<scratch> -DTOOLS=<tool,tool,...> -P driver.cmake
cmake_minimum_required(VERSION 3.25)
string(REPLACE "," ";" TOOLS "${TOOLS}")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD}" --prefix "${WORK}/prefix"
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "FAIL: cmake --install: ${err}")
endif()
find_program(ENV_PROGRAM env REQUIRED)
foreach(tool IN LISTS TOOLS)
  set(exe "${WORK}/prefix/bin/${tool}")
  if(NOT EXISTS "${exe}")
    message(SEND_ERROR "FAIL: ${tool} is not installed into bin/")
    continue()
  endif()
  execute_process(COMMAND ${ENV_PROGRAM} -i "${exe}" --version
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY "${WORK}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "^${tool} \\(libmserve [0-9]")
    message(SEND_ERROR "FAIL: env -i ${exe} --version: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
  else()
    message(STATUS "ok: env -i ${tool} --version: ${out}")
  endif()
endforeach()
# one real command from the prefix, as a user would run it
execute_process(COMMAND ${ENV_PROGRAM} -i "${WORK}/prefix/bin/mserve-tracker" --db "${WORK}/t.db" --json
  limit user:a 2 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "\"ok\":true")
  message(SEND_ERROR "FAIL: installed mserve-tracker limit: exit ${rc}\n${out}${err}")
endif()
file(REMOVE_RECURSE "${WORK}")
