# The layering rule, as a test: the files of lib/store and lib/schema include
# only downward and in one style (scripts/check-layers; scripts/run checks
# runs it over the whole of lib/).
find_program(MS_PYTHON3 python3)
if(MS_PYTHON3)
  add_test(NAME store_layers COMMAND ${MS_PYTHON3} ${PROJECT_SOURCE_DIR}/scripts/check-layers store schema)
endif()
