/* mserve-autoscale: drawing a replay as an SVG file. */
#ifndef AS_PLOT_H
#define AS_PLOT_H

#include "replay.h"

/* Write the SVG for a finished replay to `path`: per endpoint a replicas
 * panel (the count as a step line, the rules' bounds shaded, each change
 * marked and labelled with the rule that made it) and one panel per metric
 * on its own y axis (the aggregated metric per evaluation, its rules'
 * thresholds as dashed lines, their cooldown windows shaded), over one time
 * axis: replay time, or clock times (UTC) for Unix-epoch inputs. Returns 0,
 * or -1 with a message in err. */
int as_plot_svg(const as_opts *o, const as_replay *r, const char *path, char *err, size_t errlen);

#endif
