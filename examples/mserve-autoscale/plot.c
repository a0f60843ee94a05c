/* mserve-autoscale: the SVG plot, written with plain fprintf so the tool
 * needs nothing beyond libmserve. Layout: a title, then one panel per
 * endpoint stacked vertically; each panel has its own legend, a metric axis
 * on the left and a replica axis on the right. */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SERIES = 8, MAX_LABEL = 192 };

static const double W = 1000, L = 78, R = 70;      /* canvas width, plot margins */
static const double PANEL_H = 350, PLOT_TOP = 66, PLOT_H = 226;
static const double TITLE_H = 56;
static const char *const palette[MAX_SERIES] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                                "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
static const char *const REPLICA_COLOR = "#222222";

/* A metric line: the rules of one endpoint sharing (source, metric, aggregation)
 * have the same value at every evaluation, so they share one line. */
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

typedef struct frame {
  double x0, x1, y0, y1; /* plot area in pixels (y0 top) */
  double tmin, tmax, vmin, vmax, rmax;
} frame;

static double px(const frame *fr, double t) { return fr->x0 + (t - fr->tmin) / (fr->tmax - fr->tmin) * (fr->x1 - fr->x0); }
static double py(const frame *fr, double v) { return fr->y1 - (v - fr->vmin) / (fr->vmax - fr->vmin) * (fr->y1 - fr->y0); }
static double pr(const frame *fr, double n) { return fr->y1 - n / fr->rmax * (fr->y1 - fr->y0); }

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

static void scale(const as_replay *r, const as_endpoint *e, frame *fr) {
  fr->tmin = r->eval_t[0];
  fr->tmax = r->eval_t[r->n_evals - 1];
  if (fr->tmax <= fr->tmin) fr->tmax = fr->tmin + 1;
  double lo = 0, hi = 0;
  int64_t rmax = e->replicas;
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_rule *u = &e->rules[j];
    lo = fmin(lo, u->threshold);
    hi = fmax(hi, u->threshold);
    for (size_t i = 0; i < r->n_evals; i++) {
      if (!u->has_value[i]) continue;
      lo = fmin(lo, u->values[i]);
      hi = fmax(hi, u->values[i]);
    }
  }
  for (size_t i = 0; i < r->n_evals; i++)
    if (e->replicas_after[i] > rmax) rmax = e->replicas_after[i];
  if (hi <= lo) hi = lo + 1;
  double step = nice_step(hi - lo, 5);
  fr->vmin = floor(lo / step) * step;
  fr->vmax = ceil(hi * 1.05 / step) * step;
  if (fr->vmax <= hi) fr->vmax += step;
  /* headroom above the largest count so the step line never hugs the frame */
  fr->rmax = (double)rmax + 1 + floor((double)rmax / 4);
  if (fr->rmax < 2) fr->rmax = 2;
}

static void axes(FILE *f, const frame *fr, const char *metric_label) {
  char buf[64];
  /* horizontal grid + left ticks */
  double vs = nice_step(fr->vmax - fr->vmin, 5);
  for (double v = fr->vmin; v <= fr->vmax + vs * 1e-6; v += vs) {
    double y = py(fr, v);
    fmt_num(v, buf, sizeof buf);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n", fr->x0, y, fr->x1, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">%s</text>\n", fr->x0 - 6, y + 4, buf);
  }
  /* right ticks: integer replica counts */
  double rs = fr->rmax <= 10 ? 1 : ceil(fr->rmax / 8);
  for (double n = 0; n <= fr->rmax + 1e-9; n += rs) {
    double y = pr(fr, n);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", fr->x1, y, fr->x1 + 4, y,
            REPLICA_COLOR);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%.0f</text>\n", fr->x1 + 7, y + 4, REPLICA_COLOR, n);
  }
  /* time ticks */
  double ts = time_step(fr->tmax - fr->tmin);
  for (double t = ceil(fr->tmin / ts - 1e-9) * ts; t <= fr->tmax + ts * 1e-6; t += ts) {
    double x = px(fr, t);
    as_fmt_duration(t, buf, sizeof buf);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f0f0f0\"/>\n", x, fr->y0, x, fr->y1);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x, fr->y1, x, fr->y1 + 4);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n", x, fr->y1 + 17, buf);
  }
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n", fr->x0,
          fr->y0, fr->x1 - fr->x0, fr->y1 - fr->y0);
  double ym = (fr->y0 + fr->y1) / 2;
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-90 %.1f %.1f)\" text-anchor=\"middle\" "
          "fill=\"#444\">",
          fr->x0 - 52, ym, fr->x0 - 52, ym);
  xml_text(f, metric_label);
  fprintf(f, "</text>\n");
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(90 %.1f %.1f)\" text-anchor=\"middle\" "
          "fill=\"%s\">replicas</text>\n",
          fr->x1 + 40, ym, fr->x1 + 40, ym, REPLICA_COLOR);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">replay time</text>\n",
          (fr->x0 + fr->x1) / 2, fr->y1 + 34);
}

static void series_name(const series *s, char *buf, size_t cap) {
  snprintf(buf, cap, "%s %s/%s%s", as_agg_text(s->rule->agg), s->rule->source, s->rule->metric,
           s->endpoint_wide ? " (endpoint-wide \xC3\xB7 replicas)" : "");
}

static void metric_lines(FILE *f, const as_replay *r, const as_endpoint *e, const frame *fr, const series *s,
                         size_t ns, const size_t *rule_series) {
  int dots = r->n_evals <= 150;
  for (size_t k = 0; k < ns; k++) {
    fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" d=\"", s[k].color);
    int pen = 0;
    for (size_t i = 0; i < r->n_evals; i++) {
      double v;
      if (!series_value(e, rule_series, k, i, &v)) {
        pen = 0; /* a missing metric is a gap, not a zero */
        continue;
      }
      fprintf(f, "%s%.1f %.1f ", pen ? "L" : "M", px(fr, r->eval_t[i]), py(fr, v));
      pen = 1;
    }
    fprintf(f, "\"/>\n");
    if (!dots) continue;
    fprintf(f, "<g fill=\"%s\">", s[k].color);
    for (size_t i = 0; i < r->n_evals; i++) {
      double v;
      if (series_value(e, rule_series, k, i, &v))
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\"/>", px(fr, r->eval_t[i]), py(fr, v));
    }
    fprintf(f, "</g>\n");
  }
}

static const char *cmp_xml(as_cmp c) {
  static const char *const t[] = {"&lt;", "&lt;=", "&gt;", "&gt;="};
  return (unsigned)c < 4 ? t[c] : "?";
}

typedef struct tlabel {
  double y;
  size_t rule;
} tlabel;

static int cmp_label(const void *a, const void *b) {
  double d = ((const tlabel *)a)->y - ((const tlabel *)b)->y;
  return d < 0 ? -1 : d > 0;
}

/* How much data lies under a label box spanning [xa, xb] around baseline y:
 * replica steps count double, as the label would hide the count. */
static int crowding(const as_replay *r, const as_endpoint *e, const frame *fr, double xa, double xb, double y) {
  int n = 0;
  double mid = y - 4;
  for (size_t i = 0; i < r->n_evals; i++) {
    double x = px(fr, r->eval_t[i]);
    if (x < xa || x > xb) continue;
    if (fabs(pr(fr, (double)e->replicas_after[i]) - mid) < 10) n += 2;
    for (size_t j = 0; j < e->n_rules; j++)
      if (e->rules[j].has_value[i] && fabs(py(fr, e->rules[j].values[i]) - mid) < 10) n++;
  }
  return n;
}

static void thresholds(FILE *f, const as_replay *r, const as_endpoint *e, const frame *fr, const series *s,
                       const size_t *rule_series) {
  tlabel *lab = calloc(e->n_rules ? e->n_rules : 1, sizeof *lab);
  if (!lab) return;
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_rule *u = &e->rules[j];
    double y = py(fr, u->threshold);
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.3\" "
            "stroke-dasharray=\"7 5\"%s/>\n",
            fr->x0, y, fr->x1, y, s[rule_series[j]].color, u->enabled ? "" : " stroke-opacity=\"0.35\"");
    lab[j].y = y - 5;
    lab[j].rule = j;
  }
  /* labels sit just above their line; from the bottom up, a label that
   * would overlap the one below it moves up, and none leaves the plot */
  qsort(lab, e->n_rules, sizeof *lab, cmp_label);
  double below = fr->y1 + 10;
  for (size_t j = e->n_rules; j-- > 0;) {
    double y = fmin(lab[j].y, below - 13);
    if (y > fr->y1 - 3) y = fr->y1 - 3;
    if (y < fr->y0 + 12) y = fr->y0 + 12;
    lab[j].y = below = y;
  }
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_rule *u = &e->rules[lab[j].rule];
    char cd[32], text[160];
    as_fmt_duration(u->cooldown_s, cd, sizeof cd);
    int len = snprintf(text, sizeof text, "rule#%zu: %s %.6g -> %+lld (cooldown %s)%s", lab[j].rule + 1,
                       as_cmp_text(u->cmp), u->threshold, (long long)u->step, cd, u->enabled ? "" : " disabled");
    /* whichever end of the line hides less data */
    double w = 6.3 * (len > 0 ? len : 40);
    int left = crowding(r, e, fr, fr->x0, fr->x0 + w + 6, lab[j].y) < crowding(r, e, fr, fr->x1 - w - 6, fr->x1, lab[j].y);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"%s\" font-size=\"11\" stroke=\"#fff\" "
            "stroke-width=\"3\" paint-order=\"stroke\">rule#%zu: %s %.6g \xE2\x86\x92 %+lld (cooldown %s)%s</text>\n",
            left ? fr->x0 + 6 : fr->x1 - 6, lab[j].y, left ? "start" : "end", s[rule_series[lab[j].rule]].color,
            lab[j].rule + 1, cmp_xml(u->cmp), u->threshold, (long long)u->step, cd, u->enabled ? "" : " disabled");
  }
  free(lab);
}

static void replica_line(FILE *f, const as_replay *r, const as_endpoint *e, const frame *fr) {
  /* the count before the first evaluation, then one step per evaluation */
  double x = px(fr, r->eval_t[0]);
  double y = pr(fr, (double)e->replicas);
  fprintf(f, "<path fill=\"%s\" fill-opacity=\"0.06\" stroke=\"none\" d=\"M%.1f %.1f L%.1f %.1f ", REPLICA_COLOR,
          x, fr->y1, x, y);
  for (size_t i = 0; i < r->n_evals; i++) {
    x = px(fr, r->eval_t[i]);
    y = pr(fr, (double)e->replicas_after[i]);
    double xn = i + 1 < r->n_evals ? px(fr, r->eval_t[i + 1]) : fr->x1;
    fprintf(f, "L%.1f %.1f L%.1f %.1f ", x, y, xn, y);
  }
  fprintf(f, "L%.1f %.1f Z\"/>\n", fr->x1, fr->y1);
  x = px(fr, r->eval_t[0]);
  y = pr(fr, (double)e->replicas);
  fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" d=\"M%.1f %.1f ", REPLICA_COLOR, x, y);
  for (size_t i = 0; i < r->n_evals; i++) {
    x = px(fr, r->eval_t[i]);
    y = pr(fr, (double)e->replicas_after[i]);
    double xn = i + 1 < r->n_evals ? px(fr, r->eval_t[i + 1]) : fr->x1;
    fprintf(f, "L%.1f %.1f L%.1f %.1f ", x, y, xn, y);
  }
  fprintf(f, "\"/>\n");
}

/* Drawn last, so no line crosses the change labels. */
static void change_marks(FILE *f, const as_replay *r, const as_endpoint *e, const frame *fr) {
  double x, y;
  /* mark and label each change; labels only while they fit */
  size_t changes = 0;
  int64_t prev = e->replicas;
  for (size_t i = 0; i < r->n_evals; prev = e->replicas_after[i], i++) changes += e->replicas_after[i] != prev;
  prev = e->replicas;
  for (size_t i = 0; i < r->n_evals; prev = e->replicas_after[i], i++) {
    int64_t now = e->replicas_after[i];
    if (now == prev) continue;
    x = px(fr, r->eval_t[i]);
    y = pr(fr, (double)now);
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"2\"/>\n", x, y,
            REPLICA_COLOR);
    if (changes <= 24)
      fprintf(f,
              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"bold\" fill=\"%s\" "
              "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">%lld\xE2\x86\x92%lld</text>\n",
              x, now > prev || y + 17 > fr->y1 - 2 ? y - 9 : y + 17, REPLICA_COLOR, (long long)prev,
              (long long)now);
  }
}

static void legend(FILE *f, double x, double y, const series *s, size_t ns) {
  char name[MAX_LABEL];
  for (size_t k = 0; k < ns; k++) {
    series_name(&s[k], name, sizeof name);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x, y - 4,
            x + 22, y - 4, s[k].color);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">", x + 27, y);
    xml_text(f, name);
    fprintf(f, "</text>\n");
    x += 44 + 7.0 * (double)strlen(name);
  }
  fprintf(f,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\" stroke-width=\"1.3\" "
          "stroke-dasharray=\"7 5\"/>\n",
          x, y - 4, x + 22, y - 4);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">rule threshold</text>\n", x + 27, y);
  x += 130;
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"/>\n", x, y - 4,
          x + 22, y - 4, REPLICA_COLOR);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">replicas (right axis)</text>\n", x + 27, y);
}

static void panel(FILE *f, const as_replay *r, size_t idx, double top) {
  const as_endpoint *e = &r->rules.eps[idx];
  series s[MAX_SERIES];
  size_t *rule_series = calloc(e->n_rules ? e->n_rules : 1, sizeof *rule_series);
  if (!rule_series) return;
  size_t ns = group_series(r, e, s, rule_series);
  frame fr = {L, W - R, top + PLOT_TOP, top + PLOT_TOP + PLOT_H, 0, 0, 0, 0, 0};
  scale(r, e, &fr);

  int64_t last = e->replicas_after[r->n_evals - 1], peak = e->replicas, prev = e->replicas;
  size_t changes = 0;
  for (size_t i = 0; i < r->n_evals; prev = e->replicas_after[i], i++) {
    changes += e->replicas_after[i] != prev;
    if (e->replicas_after[i] > peak) peak = e->replicas_after[i];
  }
  fprintf(f, "<g>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\" fill=\"#111\">", L, top + 22);
  xml_text(f, e->name);
  fprintf(f,
          "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\">replicas %lld \xE2\x86\x92 %lld, "
          "peak %lld, %zu change%s</text>\n",
          W - R, top + 22, (long long)e->replicas, (long long)last, (long long)peak, changes, changes == 1 ? "" : "s");
  legend(f, L, top + 44, s, ns);

  char metric_label[MAX_LABEL] = "metric value";
  if (ns == 1) snprintf(metric_label, sizeof metric_label, "%s", s[0].rule->metric);
  axes(f, &fr, metric_label);
  /* clip the data to the plot area so out-of-range points never spill */
  fprintf(f,
          "<clipPath id=\"clip%zu\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n"
          "<g clip-path=\"url(#clip%zu)\">\n",
          idx, fr.x0, fr.y0 - 1, fr.x1 - fr.x0, fr.y1 - fr.y0 + 2, idx);
  replica_line(f, r, e, &fr);
  metric_lines(f, r, e, &fr, s, ns, rule_series);
  thresholds(f, r, e, &fr, s, rule_series);
  change_marks(f, r, e, &fr);
  fprintf(f, "</g>\n");
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
  double h = TITLE_H + PANEL_H * (double)r->rules.n_eps + 10;
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
  fprintf(f, ", metric TTL %s</text>\n", ttl);
  for (size_t i = 0; i < r->rules.n_eps; i++) panel(f, r, i, TITLE_H + PANEL_H * (double)i);
  fprintf(f, "</svg>\n");
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    snprintf(err, errlen, "--plot %s: write failed: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}
