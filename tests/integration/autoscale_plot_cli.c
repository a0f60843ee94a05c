/* Integration: the SVG of `mserve-autoscale replay --plot` draws what a
 * person needs to read it:
 *   - per endpoint a replicas panel, with the rules' bounds shaded and each
 *     change labelled with the rule that made it;
 *   - one panel per metric, on its own y axis, holding that metric's rules'
 *     thresholds and cooldown windows (never another metric's);
 *   - clock times (UTC) on the time axis when the observations are
 *     Unix-epoch times.
 * With --png the same plots are rendered to PNG by rsvg-convert (exit 77,
 * skipped, when it is absent), decoded and checked for the metric colours,
 * and kept in OUT_DIR for a person to look at.
 * argv: MSERVE_AUTOSCALE SAMPLES_DIR OUT_DIR [--png] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

static const char *cli, *samples, *outdir;
static int png_mode;

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
  fclose(f);
  if (!buf) return NULL;
  buf[got] = '\0';
  if (len) *len = got;
  return buf;
}

static int run(const char *const *argv) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    execvp(argv[0], (char *const *)(void *)argv);
    _exit(127);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* Replay rules + obs into OUT_DIR/<name>.svg; its text (free it). */
static char *plot(const char *name, const char *rules, const char *obs, const char *extra) {
  char svg[4096];
  snprintf(svg, sizeof svg, "%s/%s.svg", outdir, name);
  const char *argv[12] = {cli, "replay", "--rules", rules, "--observations", obs, "--plot", svg, "--quiet", extra, NULL};
  if (run(argv) != 0) fail_msg("replay %s with %s failed", rules, obs);
  char *text = slurp(svg, NULL);
  assert_non_null(text);
  return text;
}

#define assert_contains(hay, needle)                                                                   \
  do {                                                                                                 \
    if (!strstr((hay), (needle))) fail_msg("expected \"%s\" in the plot", (needle));                   \
  } while (0)

/* The panels of a plot: where each starts; panel i is [at[i], at[i + 1]). */
typedef struct panels {
  const char *at[32];
  size_t n;
  const char *end;
} panels;

static void find_panels(const char *svg, panels *p) {
  p->n = 0;
  for (const char *s = strstr(svg, "<g class=\"panel\""); s && p->n < 31; s = strstr(s + 1, "<g class=\"panel\""))
    p->at[p->n++] = s;
  p->end = svg + strlen(svg);
  p->at[p->n] = p->end;
}

/* Whether panel i holds `needle`. */
static int panel_has(const panels *p, size_t i, const char *needle) {
  size_t len = (size_t)(p->at[i + 1] - p->at[i]);
  char *seg = malloc(len + 1);
  memcpy(seg, p->at[i], len);
  seg[len] = '\0';
  int hit = strstr(seg, needle) != NULL;
  free(seg);
  return hit;
}

/* The panel whose opening tag holds `tag_part`, or -1. */
static long panel_of(const panels *p, const char *tag_part) {
  for (size_t i = 0; i < p->n; i++) {
    const char *close = strchr(p->at[i], '>');
    size_t len = (size_t)(close - p->at[i]);
    char tag[512];
    if (len >= sizeof tag) continue;
    memcpy(tag, p->at[i], len);
    tag[len] = '\0';
    if (strstr(tag, tag_part)) return (long)i;
  }
  return -1;
}

static void gpu_sample_panels(void **state) {
  (void)state;
  char *rules = ms_test_path(samples, "gpu-util.json"), *obs = ms_test_path(samples, "gpu-util.csv");
  char *svg = plot("gpu-util", rules, obs, NULL);
  panels p;
  find_panels(svg, &p);
  assert_int_equal(p.n, 3); /* replicas, mean cuda.util, max cuda.mem */
  long rep = panel_of(&p, "data-kind=\"replicas\"");
  long util = panel_of(&p, "data-metric=\"kernel/cuda.util\" data-aggregation=\"mean\"");
  long mem = panel_of(&p, "data-metric=\"kernel/cuda.mem\" data-aggregation=\"max\"");
  assert_true(rep == 0 && util >= 0 && mem >= 0 && util != mem);
  /* each metric's thresholds in its own panel, and only there */
  assert_true(panel_has(&p, (size_t)util, "class=\"threshold\" data-rule=\"1\""));
  assert_true(panel_has(&p, (size_t)util, "class=\"threshold\" data-rule=\"2\""));
  assert_false(panel_has(&p, (size_t)util, "class=\"threshold\" data-rule=\"3\""));
  assert_true(panel_has(&p, (size_t)mem, "class=\"threshold\" data-rule=\"3\""));
  assert_false(panel_has(&p, (size_t)mem, "class=\"threshold\" data-rule=\"1\""));
  assert_false(panel_has(&p, (size_t)rep, "class=\"threshold\""));
  /* cooldown windows where the rules applied, in their metric's panel */
  assert_true(panel_has(&p, (size_t)util, "class=\"cooldown\" data-rule=\"1\""));
  assert_true(panel_has(&p, (size_t)util, "class=\"cooldown\" data-rule=\"2\""));
  assert_true(panel_has(&p, (size_t)mem, "class=\"cooldown\" data-rule=\"3\""));
  assert_false(panel_has(&p, (size_t)mem, "class=\"cooldown\" data-rule=\"1\""));
  /* the bounds shaded in the replicas panel, named by the rules that set them */
  assert_true(panel_has(&p, (size_t)rep, "class=\"bound\" data-bound=\"max\""));
  assert_true(panel_has(&p, (size_t)rep, "class=\"bound\" data-bound=\"min\""));
  assert_true(panel_has(&p, (size_t)rep, "max 4 (rule#1, rule#3)"));
  assert_true(panel_has(&p, (size_t)rep, "min 1 (rule#2)"));
  /* every change labelled with the rule that made it, as the timeline says */
  static const char *const changes[] = {"1\xE2\x86\x92" "2 rule#1", "2\xE2\x86\x92" "3 rule#1",
                                        "3\xE2\x86\x92" "4 rule#3", "4\xE2\x86\x92" "3 rule#2",
                                        "3\xE2\x86\x92" "2 rule#2"};
  for (size_t i = 0; i < 5; i++) {
    char want[64];
    snprintf(want, sizeof want, "paint-order=\"stroke\">%s</text>", changes[i]);
    if (!panel_has(&p, (size_t)rep, want)) fail_msg("the change '%s' is not labelled in the replicas panel", changes[i]);
  }
  /* relative times: replay time on the axis */
  assert_contains(svg, ">replay time</text>");
  assert_contains(svg, ">2m</text>");
  free(svg);
  free(rules);
  free(obs);
}

static void epoch_times_on_the_axis(void **state) {
  (void)state;
  char *rules = ms_test_path(outdir, "two-metrics.json"), *obs = ms_test_path(outdir, "two-metrics.csv");
  static const char rules_text[] =
      "{\"endpoints\": [{\"name\": \"api\", \"replicas\": 2, \"rules\": ["
      "{\"source\": \"kernel\", \"metric\": \"cuda.util\", \"cmp\": \">\", \"threshold\": 80, \"step\": 1,"
      " \"cooldown_s\": 60, \"max\": 5},"
      "{\"source\": \"proxy\", \"metric\": \"latency.ms\", \"cmp\": \">\", \"threshold\": 400, \"step\": 2,"
      " \"cooldown_s\": 120, \"max\": 5, \"aggregation\": \"max\"},"
      "{\"source\": \"kernel\", \"metric\": \"cuda.util\", \"cmp\": \"<\", \"threshold\": 20, \"step\": -1,"
      " \"cooldown_s\": 60, \"min\": 1}]}]}";
  assert_int_equal(ms_test_write_file(rules, rules_text, sizeof rules_text - 1), 0);
  /* 2023-11-14 22:13:20 UTC, then every 30 s for 15 minutes: utilisation
   * 0-100, latency 0-600 ms on axes of their own */
  FILE *f = fopen(obs, "w");
  assert_non_null(f);
  fprintf(f, "time_s,endpoint,source,metric,replica,value\n");
  for (int i = 0; i <= 30; i++) {
    double util = i < 10 ? 50 + 4.0 * i : i < 20 ? 90 - 3.0 * (i - 10) : 15;
    double lat = i < 8 ? 150 + 60.0 * i : 200;
    fprintf(f, "%d,api,kernel,cuda.util,r1,%.1f\n", 1700000000 + 30 * i, util);
    fprintf(f, "%d,api,proxy,latency.ms,r1,%.1f\n", 1700000000 + 30 * i, lat);
  }
  assert_int_equal(fclose(f), 0);
  char *svg = plot("epoch", rules, obs, NULL);
  panels p;
  find_panels(svg, &p);
  assert_int_equal(p.n, 3);
  long util = panel_of(&p, "data-metric=\"kernel/cuda.util\"");
  long lat = panel_of(&p, "data-metric=\"proxy/latency.ms\"");
  assert_true(util > 0 && lat > 0);
  assert_true(panel_has(&p, (size_t)lat, "class=\"threshold\" data-rule=\"2\""));
  assert_false(panel_has(&p, (size_t)util, "class=\"threshold\" data-rule=\"2\""));
  assert_true(panel_has(&p, (size_t)util, "class=\"threshold\" data-rule=\"3\""));
  /* each axis its own scale: the latency axis reaches 600, utilisation's does not */
  assert_true(panel_has(&p, (size_t)lat, ">600</text>"));
  assert_false(panel_has(&p, (size_t)util, ">600</text>"));
  /* clock times in UTC, the date named once */
  assert_contains(svg, "time (UTC), from 2023-11-14 22:13:20");
  assert_contains(svg, ">22:14</text>"); /* ticks on round clock times */
  assert_contains(svg, "Unix-epoch times, from 2023-11-14 22:13:20 UTC");
  free(svg);
  free(rules);
  free(obs);
}

/* ---- PNG ------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode an 8-bit RGB or RGBA PNG (what rsvg-convert writes) into RGBA. */
static unsigned char *png_decode(const unsigned char *png, size_t len, uint32_t *w, uint32_t *h) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (len < 33 || memcmp(png, sig, 8) != 0 || memcmp(png + 12, "IHDR", 4) != 0) return NULL;
  *w = be32(png + 16), *h = be32(png + 20);
  int depth = png[24], color = png[25];
  if (depth != 8 || (color != 2 && color != 6) || png[28] != 0) return NULL;
  size_t ch = color == 6 ? 4 : 3, stride = *w * ch;
  unsigned char *idat = NULL;
  size_t n_idat = 0;
  for (size_t off = 8; off + 12 <= len;) {
    uint32_t clen = be32(png + off);
    if (off + 12 + clen > len) break;
    if (memcmp(png + off + 4, "IDAT", 4) == 0) {
      idat = realloc(idat, n_idat + clen);
      memcpy(idat + n_idat, png + off + 8, clen);
      n_idat += clen;
    }
    off += 12 + clen;
  }
  uLongf raw_len = (uLongf)((stride + 1) * *h);
  unsigned char *raw = malloc(raw_len), *rgba = malloc((size_t)*w * *h * 4);
  if (!idat || !raw || !rgba || uncompress(raw, &raw_len, idat, (uLong)n_idat) != Z_OK ||
      raw_len != (uLongf)((stride + 1) * *h)) {
    free(idat), free(raw), free(rgba);
    return NULL;
  }
  free(idat);
  unsigned char *prev = calloc(stride, 1), *cur = malloc(stride);
  for (uint32_t y = 0; y < *h; y++) {
    const unsigned char *line = raw + (size_t)y * (stride + 1);
    int ft = line[0];
    for (size_t x = 0; x < stride; x++) {
      int a = x >= ch ? cur[x - ch] : 0, b = prev[x], c = x >= ch ? prev[x - ch] : 0, v = line[1 + x];
      int pred = ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2 : ft == 4 ? paeth(a, b, c) : 0;
      cur[x] = (unsigned char)(v + pred);
    }
    for (uint32_t x = 0; x < *w; x++) {
      unsigned char *o = rgba + ((size_t)y * *w + x) * 4;
      memcpy(o, cur + x * ch, 3);
      o[3] = ch == 4 ? cur[x * ch + 3] : 255;
    }
    memcpy(prev, cur, stride);
  }
  free(prev), free(cur), free(raw);
  return rgba;
}

/* Pixels within `tol` of (r, g, b), opaque. */
static size_t count_color(const unsigned char *rgba, uint32_t w, uint32_t h, int r, int g, int b, int tol) {
  size_t n = 0;
  for (size_t i = 0; i < (size_t)w * h; i++) {
    const unsigned char *p = rgba + i * 4;
    if (p[3] > 200 && abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol) n++;
  }
  return n;
}

static void render(const char *name, uint32_t *w, uint32_t *h, unsigned char **rgba) {
  char svg[4096], png[4096];
  snprintf(svg, sizeof svg, "%s/%s.svg", outdir, name);
  snprintf(png, sizeof png, "%s/%s.png", outdir, name);
  const char *argv[] = {"rsvg-convert", "--format", "png", "--output", png, svg, NULL};
  if (run(argv) != 0) fail_msg("rsvg-convert could not render %s", svg);
  size_t len = 0;
  unsigned char *bytes = (unsigned char *)slurp(png, &len);
  assert_non_null(bytes);
  *rgba = png_decode(bytes, len, w, h);
  free(bytes);
  if (!*rgba) fail_msg("%s is not a PNG this test can read", png);
}

static void plots_render_to_png(void **state) {
  (void)state;
  char *rules = ms_test_path(samples, "gpu-util.json"), *obs = ms_test_path(samples, "gpu-util.csv");
  free(plot("gpu-util", rules, obs, NULL));
  free(rules), free(obs);
  rules = ms_test_path(samples, "queue-from-zero.json"), obs = ms_test_path(samples, "queue-from-zero.csv");
  free(plot("queue-from-zero", rules, obs, NULL));
  free(rules), free(obs);
  uint32_t w = 0, h = 0;
  unsigned char *px = NULL;
  render("gpu-util", &w, &h, &px);
  assert_int_equal(w, 1000);
  assert_true(h > 600);
  /* both metrics drawn in their colours, the replica line in its own */
  size_t blue = count_color(px, w, h, 0x1f, 0x77, 0xb4, 12), red = count_color(px, w, h, 0xd6, 0x27, 0x28, 12),
         dark = count_color(px, w, h, 0x22, 0x22, 0x22, 10), white = count_color(px, w, h, 255, 255, 255, 0);
  if (blue < 500 || red < 500 || dark < 500) fail_msg("gpu-util.png: blue %zu, red %zu, dark %zu pixels", blue, red, dark);
  if (white > (size_t)w * h * 97 / 100) fail_msg("gpu-util.png is almost blank");
  free(px);
  render("queue-from-zero", &w, &h, &px);
  assert_int_equal(w, 1000);
  assert_true(count_color(px, w, h, 0x1f, 0x77, 0xb4, 12) > 300);
  free(px);
}

static int have_rsvg(void) {
  const char *argv[] = {"rsvg-convert", "--version", NULL};
  return run(argv) == 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MSERVE_AUTOSCALE SAMPLES_DIR OUT_DIR [--png]\n", argv[0]);
    return 2;
  }
  cli = argv[1], samples = argv[2], outdir = argv[3];
  png_mode = argc > 4 && strcmp(argv[4], "--png") == 0;
  mkdir(outdir, 0755);
  if (png_mode) {
    if (!have_rsvg()) {
      printf("skipped: rsvg-convert (librsvg2-bin) is not installed\n");
      return 77;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(plots_render_to_png)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (!rc) printf("the PNGs are in %s\n", outdir);
    return rc;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gpu_sample_panels),
      cmocka_unit_test(epoch_times_on_the_axis),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
