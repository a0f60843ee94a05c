/* mserve-batch: the SVG plot, written with plain fprintf. Two panels over
 * one time axis: the batches (a bar per batch, its height the items; the
 * max batch and the preferred sizes as lines) and the requests (a dot per
 * request at the time it was handed out, its height the wait; the max delay
 * as a line; refused requests marked on the axis at their arrival). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batch_cli.h"

static const double W = 1000, L = 78, R = 30, TOP = 56, PANEL = 230, GAP = 62;
static const char *const C_RUN = "#1f77b4", *const C_TIMEOUT = "#d62728", *const C_REFUSED = "#ff7f0e",
                        *const C_GUIDE = "#555555";

static double nice_step(double span, int want) {
  if (span <= 0) return 1;
  double raw = span / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

typedef struct axis {
  double t1_ms, x0, x1;
} axis;

static double xt(const axis *ax, int64_t t_us) { return ax->x0 + (double)t_us / 1000.0 / ax->t1_ms * (ax->x1 - ax->x0); }

static void frame(FILE *f, const axis *ax, double y0, double h, double vmax, const char *ylabel, const char *title) {
  double y1 = y0 + h;
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", ax->x0, y0 - 12, title);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", ax->x0, y0,
          ax->x1 - ax->x0, h);
  double step = nice_step(vmax, 5);
  for (double v = 0; v <= vmax * 1.0001; v += step) {
    double y = y1 - v / vmax * h;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", ax->x0, y, ax->x1, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n", ax->x0 - 6, y + 4, v);
  }
  double ts = nice_step(ax->t1_ms, 10);
  for (double t = 0; t <= ax->t1_ms * 1.0001; t += ts) {
    double x = ax->x0 + t / ax->t1_ms * (ax->x1 - ax->x0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>\n", x, y1, x, y1 + 4);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n", x, y1 + 16, t);
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">time (ms)</text>\n",
          (ax->x0 + ax->x1) / 2, y1 + 32);
  fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
          ax->x0 - 48, y0 + h / 2, ylabel);
}

static void guide(FILE *f, const axis *ax, double y, const char *label, const char *dash) {
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"%s\"/>\n", ax->x0, y,
          ax->x1, y, C_GUIDE, dash);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"%s\">%s</text>\n", ax->x1 - 4,
          y - 3, C_GUIDE, label);
}

int plot_svg(const char *path, const settings *s, const arrivals *a, const result *r, char *err, size_t errlen) {
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  int64_t end = r->end_us;
  for (size_t i = 0; i < a->n; i++)
    if (a->v[i].t_us > end) end = a->v[i].t_us;
  axis ax = {end > 0 ? (double)end / 1000.0 * 1.02 : 1.0, L, W - R};
  double height = TOP + 2 * PANEL + GAP + 70;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
             "font-family=\"sans-serif\">\n",
          W, height, W, height);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  size_t runs = 0;
  for (size_t i = 0; i < r->nb; i++) runs += r->b[i].status == MS_OK;
  fprintf(f, "<text x=\"%.1f\" y=\"24\" font-size=\"16\" font-weight=\"bold\">mserve-batch: %zu requests, %zu batches "
             "run, %ld timed out, %zu refused</text>\n",
          L, a->n, runs, r->timed_out, r->nrefused);
  fprintf(f, "<text x=\"%.1f\" y=\"42\" font-size=\"12\">batch size %lld, max delay %.3f ms, max queue %lld, timeout "
             "%.3f ms</text>\n",
          L, (long long)s->batch_size.value, (double)s->delay_us.value / 1000.0, (long long)s->max_queue.value,
          (double)s->timeout_us.value / 1000.0);

  /* batches */
  double y0 = TOP + 30, y1 = y0 + PANEL;
  double vmax = (double)s->batch_size.value * 1.1;
  for (size_t i = 0; i < r->nb; i++)
    if ((double)r->b[i].items > vmax) vmax = (double)r->b[i].items * 1.1;
  frame(f, &ax, y0, PANEL, vmax, "items", "batches: size when handed out");
  int max_is_pref = 0;
  for (size_t k = 0; k < s->n_pref; k++) {
    if (s->pref[k] == s->batch_size.value) {
      max_is_pref = 1;
      continue;
    }
    char label[64];
    snprintf(label, sizeof label, "preferred %lld", (long long)s->pref[k]);
    guide(f, &ax, y1 - (double)s->pref[k] / vmax * PANEL, label, "2,3");
  }
  guide(f, &ax, y1 - (double)s->batch_size.value / vmax * PANEL, max_is_pref ? "max batch (preferred)" : "max batch",
        "6,3");
  for (size_t i = 0; i < r->nb; i++) {
    const rbatch *b = &r->b[i];
    double x = xt(&ax, b->at_us), y = y1 - (double)b->items / vmax * PANEL;
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x, y1, x, y,
            b->status == MS_OK ? C_RUN : C_TIMEOUT);
  }

  /* waits */
  y0 = y1 + GAP;
  y1 = y0 + PANEL;
  double wmax = (double)s->delay_us.value / 1000.0 * 1.2;
  for (size_t i = 0; i < r->nm; i++)
    if ((double)r->wait[i] / 1000.0 * 1.1 > wmax) wmax = (double)r->wait[i] / 1000.0 * 1.1;
  if (wmax <= 0) wmax = 1;
  frame(f, &ax, y0, PANEL, wmax, "wait (ms)", "requests: wait from arrival to hand-out");
  if (s->delay_us.value > 0) guide(f, &ax, y1 - (double)s->delay_us.value / 1000.0 / wmax * PANEL, "max delay", "6,3");
  for (size_t bi = 0; bi < r->nb; bi++) {
    const rbatch *b = &r->b[bi];
    double x = xt(&ax, b->at_us);
    for (size_t j = b->first; j < b->first + b->n; j++) {
      double y = y1 - (double)r->wait[j] / 1000.0 / wmax * PANEL;
      if (b->status == MS_OK)
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.2\" fill=\"%s\" fill-opacity=\"0.6\"/>\n", x, y, C_RUN);
      else
        fprintf(f, "<path d=\"M%.2f %.2fl6 6m0 -6l-6 6\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", x - 3, y - 3, C_TIMEOUT);
    }
  }
  for (size_t i = 0; i < r->nrefused; i++) {
    double x = xt(&ax, a->v[r->refused[i]].t_us);
    fprintf(f, "<path d=\"M%.2f %.2fl4 -7l4 7z\" fill=\"%s\"/>\n", x - 4, y1, C_REFUSED);
  }
  /* legend */
  double ly = y1 + 52;
  fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">ran"
             "</text>\n",
          L + 6, ly - 4, C_RUN, L + 16, ly);
  fprintf(f, "<path d=\"M%.1f %.1fl8 8m0 -8l-8 8\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" "
             "font-size=\"12\">timed out</text>\n",
          L + 72, ly - 8, C_TIMEOUT, L + 88, ly);
  fprintf(f, "<path d=\"M%.1f %.1fl5 -9l5 9z\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">refused "
             "(queue full)</text>\n",
          L + 172, ly, C_REFUSED, L + 188, ly);
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}
