/* mserve-autoscale: the SVG plot, written with plain fprintf so the tool
 * needs nothing beyond libmserve.
 *
 * Layout: a title, then per endpoint a header and a stack of panels that
 * share one time axis:
 *   - the replica count, a step line on its own integer axis, with the
 *     rules' bounds shaded (the counts they never go past) and each change
 *     marked and labelled with the rule that made it;
 *   - one panel per metric (the rules that read the same source, metric and
 *     aggregation see the same value), each on its own y axis, holding that
 *     metric's line, its rules' thresholds and their cooldown windows.
 * Metrics with different units never share an axis, so a 0-100 utilisation
 * is not squashed under a 0-600 queue time, and a threshold sits beside the
 * metric it applies to. Times are replay seconds, or clock times (UTC) when
 * the observations were Unix-epoch times.
 *
 * Every panel is a <g class="panel" data-kind="replicas|metric" ...> group,
 * thresholds, bounds, cooldowns and changes carry a class and data-rule, so
 * a test can check what is drawn where. */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mserve.h>
#include <mserve/autoscaler.h>
#include <time.h>

enum { MAX_SERIES = 8, MAX_LABEL = 192 };

static const double W = 1000, L = 78, R = 40;   /* canvas width, plot margins */
static const double TITLE_H = 56;               /* the replay's title */
static const double HEAD_H = 50;                /* an endpoint's name, summary and legend */
static const double REPL_H = 150, METRIC_H = 170; /* plot heights */
static const double GAP = 34;                   /* between panels: the panel's own title */
static const double AXIS_H = 44;                /* the time axis under an endpoint's last panel */
static const char *const palette[MAX_SERIES] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                                "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
static const char *const REPLICA_COLOR = "#222222";

/* A metric: the rules of one endpoint sharing (source, metric, aggregation)
 * have the same value at every evaluation, so they share one line and one
 * panel. */
typedef struct series {
  const as_rule *rule; /* first rule of the group */
  int endpoint_wide;
  const char *color;
} series;

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default:
      /* control characters are not allowed in XML 1.0 */
      if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
    }
  }
}

/* A "nice" tick step (1, 2, 5 x 10^k) giving about `want` ticks over span. */
static double nice_step(double span, int want) {
  double raw = span / want;
  double mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* Time ticks land on human units: seconds, minutes, hours. */
static double time_step(double span) {
  static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                 7200, 10800, 21600, 43200, 86400};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    if (span / steps[i] <= 10) return steps[i];
  return nice_step(span, 8);
}

static void fmt_num(double v, char *buf, size_t cap) {
  if (fabs(v) < 1e-9) v = 0;
  snprintf(buf, cap, "%.6g", v);
}

/* A time on the axis: replay time ("2m30s"), or the clock (UTC) of a
 * Unix-epoch replay ("14:02:30", with the date when the day changes). */
static void fmt_time(const as_replay *r, double t, int with_date, char *buf, size_t cap) {
  if (!r->obs.absolute) {
    as_fmt_duration(t, buf, cap);
    return;
  }
  double at = r->origin_s + t;
  time_t secs = (time_t)floor(at);
  struct tm tmv;
  if (!gmtime_r(&secs, &tmv)) {
    snprintf(buf, cap, "%.0f", at);
    return;
  }
  char clock[32];
  if (tmv.tm_sec == 0 && at == floor(at)) strftime(clock, sizeof clock, "%H:%M", &tmv);
  else strftime(clock, sizeof clock, "%H:%M:%S", &tmv);
  if (with_date) {
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%d", &tmv);
    snprintf(buf, cap, "%s %s", day, clock);
  } else {
    snprintf(buf, cap, "%s", clock);
  }
}

typedef struct frame {
  double x0, x1, y0, y1; /* plot area in pixels (y0 top) */
  double tmin, tmax, vmin, vmax;
} frame;

static double px(const frame *fr, double t) { return fr->x0 + (t - fr->tmin) / (fr->tmax - fr->tmin) * (fr->x1 - fr->x0); }
static double py(const frame *fr, double v) { return fr->y1 - (v - fr->vmin) / (fr->vmax - fr->vmin) * (fr->y1 - fr->y0); }
static double clampx(const frame *fr, double x) { return x < fr->x0 ? fr->x0 : x > fr->x1 ? fr->x1 : x; }

static int endpoint_wide(const as_replay *r, const as_endpoint *e, const as_rule *u) {
  for (size_t i = 0; i < r->obs.n; i++) {
    const as_obs *x = &r->obs.rows[i];
    if (!x->replica && strcmp(x->endpoint, e->name) == 0 && strcmp(x->source, u->source) == 0 &&
        strcmp(x->metric, u->metric) == 0)
      return 1;
  }
  return 0;
}

static size_t group_series(const as_replay *r, const as_endpoint *e, series *s, size_t *rule_series) {
  size_t n = 0;
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_rule *u = &e->rules[j];
    size_t k = 0;
    while (k < n && !(strcmp(s[k].rule->source, u->source) == 0 && strcmp(s[k].rule->metric, u->metric) == 0 &&
                      s[k].rule->agg == u->agg))
      k++;
    if (k == n && n < MAX_SERIES) {
      s[n].rule = u;
      s[n].endpoint_wide = endpoint_wide(r, e, u);
      s[n].color = palette[n];
      n++;
    }
    rule_series[j] = k < n ? k : n - 1;
  }
  return n;
}

/* The value of series k at evaluation i: the first of its rules that had one. */
static int series_value(const as_endpoint *e, const size_t *rule_series, size_t k, size_t i, double *v) {
  for (size_t j = 0; j < e->n_rules; j++) {
    if (rule_series[j] == k && e->rules[j].has_value[i]) {
      *v = e->rules[j].values[i];
      return 1;
    }
  }
  return 0;
}

static void series_name(const series *s, char *buf, size_t cap) {
  snprintf(buf, cap, "%s %s/%s%s", as_agg_text(s->rule->agg), s->rule->source, s->rule->metric,
           s->endpoint_wide ? " (endpoint-wide \xC3\xB7 replicas)" : "");
}

static const char *cmp_xml(as_cmp c) {
  static const char *const t[] = {"&lt;", "&lt;=", "&gt;", "&gt;="};
  return (unsigned)c < 4 ? t[c] : "?";
}

/* ---- the shared pieces of a panel ---------------------------------------- */

/* The frame, its horizontal grid and y tick labels, the vertical time grid
 * (labels only when `labels`), and the panel's title above it. */
static void panel_frame(FILE *f, const as_replay *r, const frame *fr, double ystep, int integer_ticks, int labels,
                        const char *title, const char *title_color) {
  char buf[64];
  for (double v = fr->vmin; v <= fr->vmax + ystep * 1e-6; v += ystep) {
    double y = py(fr, v);
    if (integer_ticks) snprintf(buf, sizeof buf, "%.0f", v);
    else fmt_num(v, buf, sizeof buf);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n", fr->x0, y, fr->x1, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">%s</text>\n", fr->x0 - 6, y + 4, buf);
  }
  /* ticks on round replay times, or on round clock times for epoch inputs */
  double ts = time_step(fr->tmax - fr->tmin), off = r->obs.absolute ? r->origin_s : 0;
  for (double a = ceil((fr->tmin + off) / ts - 1e-9) * ts; a - off <= fr->tmax + ts * 1e-6; a += ts) {
    double t = a - off, x = px(fr, t);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f0f0f0\"/>\n", x, fr->y0, x, fr->y1);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x, fr->y1, x, fr->y1 + 4);
    if (labels) {
      fmt_time(r, t, 0, buf, sizeof buf);
      fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n", x,
              fr->y1 + 17, buf);
    }
  }
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n", fr->x0,
          fr->y0, fr->x1 - fr->x0, fr->y1 - fr->y0);
  fprintf(f, "<text class=\"panel-title\" x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\" fill=\"%s\">", fr->x0,
          fr->y0 - 8, title_color);
  xml_text(f, title);
  fprintf(f, "</text>\n");
}

/* The time axis' title under an endpoint's last panel. */
static void time_title(FILE *f, const as_replay *r, const frame *fr) {
  char day[128] = "";
  if (r->obs.absolute) {
    char first[64];
    fmt_time(r, fr->tmin, 1, first, sizeof first);
    snprintf(day, sizeof day, "time (UTC), from %s", first);
  } else {
    snprintf(day, sizeof day, "replay time");
  }
  fprintf(f, "<text class=\"time-title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
          (fr->x0 + fr->x1) / 2, fr->y1 + 34, day);
}

static void clip_begin(FILE *f, const char *id, const frame *fr) {
  fprintf(f,
          "<clipPath id=\"%s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n"
          "<g clip-path=\"url(#%s)\">\n",
          id, fr->x0, fr->y0 - 1, fr->x1 - fr->x0, fr->y1 - fr->y0 + 2, id);
}

/* ---- the replicas panel ---------------------------------------------------- */

/* The rule that applied at evaluation i (the reason for a change), or -1. */
static long applied_rule(const as_endpoint *e, size_t i) {
  for (size_t j = 0; j < e->n_rules; j++)
    if (e->rules[j].outcome[i] == MS_RULE_APPLIED) return (long)j;
  return -1;
}

/* The bounds a rule keeps the count within: scale-up rules stop at their
 * max, scale-down rules at their min (and at 0). */
static void bounds(const as_endpoint *e, int64_t *lo, int64_t *hi) {
  *lo = -1, *hi = -1;
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_rule *u = &e->rules[j];
    if (u->step > 0 && u->max >= 0 && (*hi < 0 || u->max > *hi)) *hi = u->max;
    if (u->step < 0 && u->min >= 0 && (*lo < 0 || u->min < *lo)) *lo = u->min;
  }
}

/* Which rules set a bound at `v` (max when is_max), as "rule#1, rule#3". */
static void bound_rules(const as_endpoint *e, int64_t v, int is_max, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_rule *u = &e->rules[j];
    int hit = is_max ? u->step > 0 && u->max == v : u->step < 0 && u->min == v;
    if (hit && n + 12 < cap) n += (size_t)snprintf(buf + n, cap - n, "%srule#%zu", n ? ", " : "", j + 1);
  }
}

static void replicas_panel(FILE *f, const as_replay *r, size_t idx, const frame *base, int labels) {
  const as_endpoint *e = &r->rules.eps[idx];
  int64_t rmax = e->replicas, lo = -1, hi = -1;
  for (size_t i = 0; i < r->n_evals; i++)
    if (e->replicas_after[i] > rmax) rmax = e->replicas_after[i];
  bounds(e, &lo, &hi);
  if (hi > rmax) rmax = hi;
  frame fr = *base;
  fr.vmin = 0;
  fr.vmax = (double)rmax + 1 + floor((double)rmax / 6);
  if (fr.vmax < 2) fr.vmax = 2;
  double ystep = fr.vmax <= 8 ? 1 : ceil(fr.vmax / 6);
  fprintf(f, "<g class=\"panel\" data-kind=\"replicas\" data-endpoint=\"");
  xml_text(f, e->name);
  fprintf(f, "\">\n");
  panel_frame(f, r, &fr, ystep, 1, labels, "replicas", REPLICA_COLOR);
  char id[48];
  snprintf(id, sizeof id, "clip-r%zu", idx);
  clip_begin(f, id, &fr);
  /* the bounds: the counts past them are shaded, the line labelled */
  char who[160];
  double bound_box[2][4]; /* the bound labels, so change labels keep off them */
  size_t n_bound = 0;
  if (hi >= 0) {
    double y = py(&fr, (double)hi);
    bound_rules(e, hi, 1, who, sizeof who);
    fprintf(f,
            "<rect class=\"bound\" data-bound=\"max\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"#9e9e9e\" fill-opacity=\"0.22\"/>\n",
            fr.x0, fr.y0, fr.x1 - fr.x0, y - fr.y0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" stroke-width=\"1\"/>\n", fr.x0, y,
            fr.x1, y);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\" fill=\"#555\">max %lld (%s)</text>\n",
            fr.x1 - 6, y - 4, (long long)hi, who);
    double bw = 6.2 * (double)(strlen(who) + 10);
    bound_box[n_bound][0] = fr.x1 - 6 - bw, bound_box[n_bound][1] = fr.x1, bound_box[n_bound][2] = y - 15;
    bound_box[n_bound++][3] = y - 1;
  }
  if (lo > 0) {
    double y = py(&fr, (double)lo);
    bound_rules(e, lo, 0, who, sizeof who);
    fprintf(f,
            "<rect class=\"bound\" data-bound=\"min\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"#9e9e9e\" fill-opacity=\"0.22\"/>\n",
            fr.x0, y, fr.x1 - fr.x0, fr.y1 - y);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" stroke-width=\"1\"/>\n", fr.x0, y,
            fr.x1, y);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\" fill=\"#555\">min %lld (%s)</text>\n",
            fr.x1 - 6, y + 13, (long long)lo, who);
    double bw = 6.2 * (double)(strlen(who) + 10);
    bound_box[n_bound][0] = fr.x1 - 6 - bw, bound_box[n_bound][1] = fr.x1, bound_box[n_bound][2] = y + 2;
    bound_box[n_bound++][3] = y + 16;
  }
  /* the count before the first evaluation, then one step per evaluation:
   * a light fill under it, then the line */
  double x = px(&fr, r->eval_t[0]), y = py(&fr, (double)e->replicas);
  fprintf(f, "<path fill=\"%s\" fill-opacity=\"0.06\" stroke=\"none\" d=\"M%.1f %.1f L%.1f %.1f ", REPLICA_COLOR, x,
          fr.y1, x, y);
  for (size_t i = 0; i < r->n_evals; i++) {
    double xi = px(&fr, r->eval_t[i]), yi = py(&fr, (double)e->replicas_after[i]);
    double xn = i + 1 < r->n_evals ? px(&fr, r->eval_t[i + 1]) : fr.x1;
    fprintf(f, "L%.1f %.1f L%.1f %.1f ", xi, yi, xn, yi);
  }
  fprintf(f, "L%.1f %.1f Z\"/>\n", fr.x1, fr.y1);
  fprintf(f, "<path class=\"replicas\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" d=\"M%.1f %.1f ", REPLICA_COLOR,
          x, y);
  for (size_t i = 0; i < r->n_evals; i++) {
    x = px(&fr, r->eval_t[i]);
    y = py(&fr, (double)e->replicas_after[i]);
    double xn = i + 1 < r->n_evals ? px(&fr, r->eval_t[i + 1]) : fr.x1;
    fprintf(f, "L%.1f %.1f L%.1f %.1f ", x, y, xn, y);
  }
  fprintf(f, "\"/>\n</g>\n");
  /* each change, marked and labelled with the rule that made it (drawn last,
   * unclipped, so no line crosses a label) */
  size_t changes = 0;
  int64_t prev = e->replicas;
  for (size_t i = 0; i < r->n_evals; prev = e->replicas_after[i], i++) changes += e->replicas_after[i] != prev;
  prev = e->replicas;
  /* labels go where they overlap no other: above or below the marker, a
   * little further out each try, inside the panel */
  typedef struct box {
    double x0, x1, y0, y1;
  } box;
  box *placed = calloc(changes + 2, sizeof *placed);
  size_t n_placed = 0;
  for (size_t b = 0; placed && b < n_bound; b++)
    placed[n_placed++] = (box){bound_box[b][0], bound_box[b][1], bound_box[b][2], bound_box[b][3]};
  for (size_t i = 0; i < r->n_evals; prev = e->replicas_after[i], i++) {
    int64_t now = e->replicas_after[i];
    if (now == prev) continue;
    long j = applied_rule(e, i);
    x = px(&fr, r->eval_t[i]);
    y = py(&fr, (double)now);
    fprintf(f, "<circle class=\"change\" data-rule=\"%ld\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#fff\" stroke=\"%s\" "
               "stroke-width=\"2\"/>\n",
            j + 1, x, y, REPLICA_COLOR);
    if (changes > 30 || !placed) continue; /* a marker each, labels only while they fit */
    char text[64];
    int len = snprintf(text, sizeof text, "%lld\xE2\x86\x92%lld", (long long)prev, (long long)now);
    if (j >= 0) len += snprintf(text + len, sizeof text - (size_t)len, " rule#%ld", j + 1);
    double w = 6.6 * (double)(len - 2), cx = x;
    if (cx - w / 2 < fr.x0 + 2) cx = fr.x0 + 2 + w / 2;
    if (cx + w / 2 > fr.x1 - 2) cx = fr.x1 - 2 - w / 2;
    double best = now > prev ? y - 9 : y + 17;
    for (int t = 0; t < 12; t++) {
      double off = 9 + 13.0 * (t / 2);
      double ly = ((t % 2 == 0) == (now > prev)) ? y - off : y + off + 8;
      if (ly - 10 < fr.y0 || ly + 2 > fr.y1) continue;
      int clash = 0;
      for (size_t b = 0; b < n_placed && !clash; b++)
        clash = cx - w / 2 < placed[b].x1 && cx + w / 2 > placed[b].x0 && ly - 10 < placed[b].y1 && ly + 2 > placed[b].y0;
      if (!clash) {
        best = ly;
        break;
      }
    }
    placed[n_placed++] = (box){cx - w / 2, cx + w / 2, best - 10, best + 2};
    fprintf(f,
            "<text class=\"change-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" "
            "font-weight=\"bold\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">%s</text>\n",
            cx, best, REPLICA_COLOR, text);
  }
  free(placed);
  fprintf(f, "</g>\n");
}

/* ---- a metric panel ---------------------------------------------------------- */

typedef struct tlabel {
  double y;
  size_t rule;
} tlabel;

static int cmp_label(const void *a, const void *b) {
  double d = ((const tlabel *)a)->y - ((const tlabel *)b)->y;
  return d < 0 ? -1 : d > 0;
}

static void metric_panel(FILE *f, const as_replay *r, size_t idx, size_t k, const series *s, const size_t *rule_series,
                         const frame *base, int labels) {
  const as_endpoint *e = &r->rules.eps[idx];
  frame fr = *base;
  /* this metric's own scale: its values and its rules' thresholds */
  double lo = INFINITY, hi = -INFINITY;
  for (size_t j = 0; j < e->n_rules; j++) {
    if (rule_series[j] != k) continue;
    lo = fmin(lo, e->rules[j].threshold);
    hi = fmax(hi, e->rules[j].threshold);
  }
  for (size_t i = 0; i < r->n_evals; i++) {
    double v;
    if (series_value(e, rule_series, k, i, &v)) lo = fmin(lo, v), hi = fmax(hi, v);
  }
  if (lo > 0) lo = 0; /* from zero, unless the metric goes below it */
  if (!(hi > lo)) hi = lo + 1;
  double step = nice_step(hi - lo, 5);
  fr.vmin = floor(lo / step) * step;
  fr.vmax = ceil((hi + (hi - lo) * 0.06) / step) * step;
  if (fr.vmax <= hi) fr.vmax += step;
  char name[MAX_LABEL];
  series_name(&s[k], name, sizeof name);
  fprintf(f, "<g class=\"panel\" data-kind=\"metric\" data-metric=\"");
  xml_text(f, s[k].rule->source);
  fputc('/', f);
  xml_text(f, s[k].rule->metric);
  fprintf(f, "\" data-aggregation=\"%s\">\n", as_agg_text(s[k].rule->agg));
  panel_frame(f, r, &fr, step, 0, labels, name, s[k].color);
  char id[48];
  snprintf(id, sizeof id, "clip-m%zu-%zu", idx, k);
  clip_begin(f, id, &fr);
  /* cooldown windows: after each time one of this metric's rules applied,
   * overlapping windows of one rule merged; lightly shaded over the whole
   * height, and a bar per rule in a lane of its own at the top, named where
   * it fits */
  int lane = 0;
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_rule *u = &e->rules[j];
    if (rule_series[j] != k || u->cooldown_s <= 0) continue;
    int used = 0;
    double ly = fr.y0 + 1 + 12.0 * lane;
    for (size_t i = 0; i < r->n_evals; i++) {
      if (u->outcome[i] != MS_RULE_APPLIED) continue;
      double ta = r->eval_t[i], tb = ta + u->cooldown_s;
      size_t n2 = i + 1;
      for (; n2 < r->n_evals && r->eval_t[n2] <= tb; n2++)
        if (u->outcome[n2] == MS_RULE_APPLIED) tb = r->eval_t[n2] + u->cooldown_s;
      double xa = px(&fr, ta), xb = clampx(&fr, px(&fr, tb));
      fprintf(f,
              "<rect class=\"cooldown\" data-rule=\"%zu\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
              "fill=\"%s\" fill-opacity=\"0.07\"/>\n",
              j + 1, xa, fr.y0, xb - xa, fr.y1 - fr.y0, s[k].color);
      fprintf(f,
              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"11\" fill=\"%s\" fill-opacity=\"0.30\"/>\n", xa,
              ly, xb - xa, s[k].color);
      if (xb - xa > 24)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9.5\" fill=\"#123\">%s%zu%s</text>\n", xa + 3, ly + 9,
                xb - xa > 100 ? "rule#" : "#", j + 1, xb - xa > 100 ? " cooldown" : "");
      used = 1;
      i = n2 - 1;
    }
    lane += used;
  }
  /* the metric: a gap where it is missing, dots while they fit */
  fprintf(f, "<path class=\"metric\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" d=\"",
          s[k].color);
  int pen = 0;
  for (size_t i = 0; i < r->n_evals; i++) {
    double v;
    if (!series_value(e, rule_series, k, i, &v)) {
      pen = 0;
      continue;
    }
    fprintf(f, "%s%.1f %.1f ", pen ? "L" : "M", px(&fr, r->eval_t[i]), py(&fr, v));
    pen = 1;
  }
  fprintf(f, "\"/>\n");
  if (r->n_evals <= 150) {
    fprintf(f, "<g fill=\"%s\">", s[k].color);
    for (size_t i = 0; i < r->n_evals; i++) {
      double v;
      if (series_value(e, rule_series, k, i, &v))
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\"/>", px(&fr, r->eval_t[i]), py(&fr, v));
    }
    fprintf(f, "</g>\n");
  }
  /* this metric's thresholds, dashed, labelled just above (pushed apart) */
  size_t n = 0;
  tlabel lab[64];
  for (size_t j = 0; j < e->n_rules && n < 64; j++) {
    if (rule_series[j] != k) continue;
    const as_rule *u = &e->rules[j];
    double y = py(&fr, u->threshold);
    fprintf(f,
            "<line class=\"threshold\" data-rule=\"%zu\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"1.3\" stroke-dasharray=\"7 5\"%s/>\n",
            j + 1, fr.x0, y, fr.x1, y, s[k].color, u->enabled ? "" : " stroke-opacity=\"0.35\"");
    lab[n].y = y - 5;
    lab[n].rule = j;
    n++;
  }
  qsort(lab, n, sizeof *lab, cmp_label);
  double below = fr.y1 + 10;
  for (size_t j = n; j-- > 0;) {
    double y = fmin(lab[j].y, below - 13);
    if (y > fr.y1 - 3) y = fr.y1 - 3;
    if (y < fr.y0 + 12) y = fr.y0 + 12;
    lab[j].y = below = y;
  }
  for (size_t j = 0; j < n; j++) {
    const as_rule *u = &e->rules[lab[j].rule];
    char cd[32];
    as_fmt_duration(u->cooldown_s, cd, sizeof cd);
    fprintf(f,
            "<text class=\"threshold-label\" data-rule=\"%zu\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"%s\" "
            "font-size=\"11\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">rule#%zu: %s %.6g "
            "\xE2\x86\x92 %+lld (cooldown %s)%s</text>\n",
            lab[j].rule + 1, fr.x1 - 6, lab[j].y, s[k].color, lab[j].rule + 1, cmp_xml(u->cmp), u->threshold,
            (long long)u->step, cd, u->enabled ? "" : " disabled");
  }
  fprintf(f, "</g>\n</g>\n");
}

/* ---- an endpoint --------------------------------------------------------------- */

/* The height an endpoint takes: its header, the replicas panel, one panel
 * per metric and the time axis. */
static double endpoint_height(const as_replay *r, const as_endpoint *e) {
  series s[MAX_SERIES];
  size_t *rule_series = calloc(e->n_rules ? e->n_rules : 1, sizeof *rule_series);
  size_t ns = rule_series ? group_series(r, e, s, rule_series) : 0;
  free(rule_series);
  return HEAD_H + GAP + REPL_H + (double)ns * (GAP + METRIC_H) + AXIS_H;
}

static void endpoint(FILE *f, const as_replay *r, size_t idx, double top) {
  const as_endpoint *e = &r->rules.eps[idx];
  series s[MAX_SERIES];
  size_t *rule_series = calloc(e->n_rules ? e->n_rules : 1, sizeof *rule_series);
  if (!rule_series) return;
  size_t ns = group_series(r, e, s, rule_series);
  int64_t last = e->replicas_after[r->n_evals - 1], peak = e->replicas, prev = e->replicas;
  size_t changes = 0;
  for (size_t i = 0; i < r->n_evals; prev = e->replicas_after[i], i++) {
    changes += e->replicas_after[i] != prev;
    if (e->replicas_after[i] > peak) peak = e->replicas_after[i];
  }
  fprintf(f, "<g class=\"endpoint\">\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\" fill=\"#111\">",
          L, top + 20);
  xml_text(f, e->name);
  fprintf(f,
          "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">replicas %lld \xE2\x86\x92 %lld, "
          "peak %lld, %zu change%s</text>\n",
          W - R, top + 20, (long long)e->replicas, (long long)last, (long long)peak, changes, changes == 1 ? "" : "s");
  /* the legend of what the panels draw */
  double ly = top + 40, lx = L;
  fprintf(f,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\" stroke-width=\"1.3\" "
          "stroke-dasharray=\"7 5\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">rule threshold</text>\n",
          lx, ly - 4, lx + 22, ly - 4, lx + 27, ly);
  lx += 135;
  fprintf(f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" fill=\"#1f77b4\" fill-opacity=\"0.18\"/>\n"
          "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">cooldown after the rule applied</text>\n",
          lx, ly - 9, lx + 27, ly);
  lx += 250;
  fprintf(f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" fill=\"#9e9e9e\" fill-opacity=\"0.35\"/>\n"
          "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">past the rules' bounds</text>\n",
          lx, ly - 9, lx + 27, ly);
  lx += 200;
  fprintf(f,
          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"2\"/>\n"
          "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">a change, by the rule named</text>\n",
          lx + 8, ly - 4, REPLICA_COLOR, lx + 18, ly);

  double y = top + HEAD_H + GAP;
  frame fr = {L, W - R, y, y + REPL_H, r->eval_t[0], r->eval_t[r->n_evals - 1], 0, 1};
  if (fr.tmax <= fr.tmin) fr.tmax = fr.tmin + 1;
  replicas_panel(f, r, idx, &fr, ns == 0);
  frame last_fr = fr;
  for (size_t k = 0; k < ns; k++) {
    y += (k == 0 ? REPL_H : METRIC_H) + GAP;
    frame m = {L, W - R, y, y + METRIC_H, fr.tmin, fr.tmax, 0, 1};
    metric_panel(f, r, idx, k, s, rule_series, &m, k + 1 == ns);
    last_fr = m;
  }
  time_title(f, r, &last_fr);
  if (e->n_rules == 0)
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#888\">no rules</text>\n",
            (fr.x0 + fr.x1) / 2, (fr.y0 + fr.y1) / 2);
  fprintf(f, "</g>\n");
  free(rule_series);
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

int as_plot_svg(const as_opts *o, const as_replay *r, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "--plot %s: cannot write: %s", path, strerror(errno));
    return -1;
  }
  double h = TITLE_H + 10;
  for (size_t i = 0; i < r->rules.n_eps; i++) h += endpoint_height(r, &r->rules.eps[i]);
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
          "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
          W, h, W, h);
  fprintf(f, "<title>autoscaler replay of ");
  xml_text(f, base_name(o->rules_path));
  fprintf(f, " with ");
  xml_text(f, base_name(o->obs_path));
  fprintf(f, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
  char step[32], ttl[32];
  as_fmt_duration(o->step_s, step, sizeof step);
  as_fmt_duration(o->ttl_s > 0 ? o->ttl_s : r->rules.metric_ttl_s, ttl, sizeof ttl);
  fprintf(f, "<text x=\"%.1f\" y=\"26\" font-size=\"17\" font-weight=\"bold\" fill=\"#111\">Autoscaler replay: ", L);
  xml_text(f, base_name(o->rules_path));
  fprintf(f, " + ");
  xml_text(f, base_name(o->obs_path));
  fprintf(f, "</text>\n<text x=\"%.1f\" y=\"44\" fill=\"#555\">", L);
  if (o->each_row) fprintf(f, "evaluated after each observation time");
  else fprintf(f, "evaluated every %s", step);
  fprintf(f, ", metric TTL %s", ttl);
  if (r->obs.absolute) {
    char first[64];
    fmt_time(r, r->eval_t[0], 1, first, sizeof first);
    fprintf(f, "; Unix-epoch times, from %s UTC", first);
  }
  fprintf(f, "</text>\n");
  double top = TITLE_H;
  for (size_t i = 0; i < r->rules.n_eps; i++) {
    endpoint(f, r, i, top);
    top += endpoint_height(r, &r->rules.eps[i]);
  }
  fprintf(f, "</svg>\n");
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    snprintf(err, errlen, "--plot %s: write failed: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}
