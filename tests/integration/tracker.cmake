# Tracker integration tests: many processes x threads on one file, kill -9
# durability, and the mserve-tracker CLI end to end.
ms_add_cmocka(integration_tracker_multiproc ${CMAKE_CURRENT_LIST_DIR}/tracker_multiproc.c)
ms_add_cmocka(integration_tracker_crash ${CMAKE_CURRENT_LIST_DIR}/tracker_crash.c)
set_tests_properties(integration_tracker_multiproc integration_tracker_crash PROPERTIES TIMEOUT 300)
