# Registry conformance: every archive, manifest and model-config.yaml of the
# shared third-party fixtures (skipped when they are absent).
ms_add_cmocka(conformance_registry ${CMAKE_CURRENT_LIST_DIR}/registry_fixtures.c)
