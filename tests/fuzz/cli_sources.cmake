# The fuzz targets for the example CLIs' parsers (mserve-server's request
# bodies and --limits file among them) and the sources each one
# compiles (the CLIs link only the public library, so their parsers are built
# into the targets from examples/). Shared by the fuzzers (tests/fuzz/cli.cmake)
# and by the corpus replays that run in every build
# (tests/integration/fuzz_replay.cmake). It only sets variables, so being
# included more than once is harmless.
#   fuzz_cli_<parser>: tests/fuzz/fuzz_cli_<parser>.c, seeds in tests/fuzz/corpus/<parser>/
set(_ms_ex ${PROJECT_SOURCE_DIR}/examples)
set(MS_CLI_FUZZ_PARSERS tracker_args tracker_list autoscale_rules autoscale_csv server_body server_limits
  server_addr)
set(MS_CLI_FUZZ_SOURCES_tracker_args ${_ms_ex}/mserve-tracker/args.c ${_ms_ex}/common/cli_num.c
  ${_ms_ex}/common/cli.c ${_ms_ex}/common/cli_text.c)
set(MS_CLI_FUZZ_SOURCES_tracker_list ${_ms_ex}/mserve-tracker/list.c)
set(MS_CLI_FUZZ_SOURCES_autoscale_rules ${_ms_ex}/mserve-autoscale/rules.c)
set(MS_CLI_FUZZ_SOURCES_autoscale_csv ${_ms_ex}/mserve-autoscale/obs.c ${_ms_ex}/mserve-autoscale/rules.c
  ${_ms_ex}/common/cli_num.c)
set(MS_CLI_FUZZ_SOURCES_server_body ${_ms_ex}/mserve-server/body.c)
set(MS_CLI_FUZZ_SOURCES_server_limits ${_ms_ex}/mserve-server/admit.c)
set(MS_CLI_FUZZ_SOURCES_server_addr ${_ms_ex}/mserve-server/options.c ${_ms_ex}/common/cli_num.c)
set(MS_CLI_FUZZ_LIBS mserve_static PkgConfig::CJSON m)
