# The fuzz targets for mserve-registry's and mserve-archive's command lines
# and the sources each one compiles (the CLIs link only the public library, so
# their parsers are built into the targets from examples/). Shared by the
# fuzzers (tests/fuzz/registry_cli_args.cmake) and by the corpus replays that
# run in every build (tests/integration/fuzz_replay_registry_cli_args.cmake).
# It only sets variables, so being included more than once is harmless.
#   fuzz_cli_<parser>: tests/fuzz/fuzz_cli_<parser>.c, seeds in tests/fuzz/corpus/<parser>/
set(_ms_ex ${PROJECT_SOURCE_DIR}/examples)
set(MS_REGISTRY_CLI_FUZZ_PARSERS registry_args archive_args)
set(_ms_cli_common ${_ms_ex}/common/cli.c ${_ms_ex}/common/cli_text.c ${_ms_ex}/common/cli_num.c)
set(MS_REGISTRY_CLI_FUZZ_SOURCES_registry_args ${_ms_ex}/mserve-registry/args.c ${_ms_cli_common}
  ${_ms_ex}/common/model_print.c)
set(MS_REGISTRY_CLI_FUZZ_SOURCES_archive_args ${_ms_ex}/mserve-archive/args.c ${_ms_cli_common})
set(MS_REGISTRY_CLI_FUZZ_INCLUDES_registry_args ${_ms_ex}/mserve-registry ${_ms_ex}/common
  ${PROJECT_SOURCE_DIR}/lib/common)
set(MS_REGISTRY_CLI_FUZZ_INCLUDES_archive_args ${_ms_ex}/mserve-archive ${_ms_ex}/common ${PROJECT_SOURCE_DIR}/lib/common)
set(MS_REGISTRY_CLI_FUZZ_LIBS mserve_static PkgConfig::CJSON m)
