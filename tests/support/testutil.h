/* Helpers shared by the test programs: scratch folders and small file I/O. */
#ifndef MS_TESTUTIL_H
#define MS_TESTUTIL_H

#include <stddef.h>

/* Create a fresh folder under $TMPDIR (or /tmp); returns a malloc'd path. */
char *ms_test_tmpdir(const char *tag);
/* Remove a folder tree (best effort). */
void ms_test_rmtree(const char *path);
/* Join folder and name into a malloc'd path. */
char *ms_test_path(const char *dir, const char *name);
/* Write `len` bytes to `path`; returns 0 on success. */
int ms_test_write_file(const char *path, const void *data, size_t len);
/* The fixtures folder ($MSERVE_FIXTURES) when it exists, else NULL. */
const char *ms_test_fixtures(void);



/* Scale a loop count for the current run: n normally, n/4 (at least 1) when
 * MSERVE_TEST_SLOW is set (the sanitizer presets set it, since ASan and TSan
 * run several times slower). Tests use it instead of timing anything. */
int ms_test_scale(int n);

#endif
