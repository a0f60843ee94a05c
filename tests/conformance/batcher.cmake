# Batcher conformance: real TorchServe archives and model-config.yaml files
# from the shared fixtures, registered and overridden through the API, then
# batched by the resolved settings (skipped when the fixtures are absent).
ms_add_cmocka(conformance_batcher ${CMAKE_CURRENT_LIST_DIR}/batcher_fixtures.c)
target_link_libraries(conformance_batcher PRIVATE PkgConfig::CJSON)
