/* mserve-autoscale: drawing a replay as an SVG file. */
#ifndef AS_PLOT_H
#define AS_PLOT_H

#include "replay.h"

/* Write the SVG for a finished replay to `path`: one panel per endpoint with
 * every rule's aggregated metric per evaluation, each rule's threshold as a
 * dashed line, the replica count as a step line on a right-hand axis, and the
 * changes marked. Returns 0, or -1 with a message in err. */
int as_plot_svg(const as_opts *o, const as_replay *r, const char *path, char *err, size_t errlen);

#endif
