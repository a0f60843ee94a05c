/* mserve-autoscale: reading the observations CSV.
 * The file is read whole and split in place, so a replay of a few million
 * rows costs one allocation for the text and one for the rows. Order is
 * checked here because a replay of shuffled rows would silently drop the
 * older observations (the engine keeps only the latest per key). */
#include "obs.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli_num.h"
#include "rules.h"

static const char *const header[] = {"time_s", "endpoint", "source", "metric", "replica", "value"};
enum { N_FIELDS = 6 };

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
  return s;
}

/* Split `line` on commas into exactly N_FIELDS trimmed fields. Returns the
 * number of fields found (more than N_FIELDS stops counting at N_FIELDS+1). */
static int split(char *line, char **f) {
  int n = 0;
  char *p = line;
  for (;;) {
    char *comma = strchr(p, ',');
    if (n == N_FIELDS) return N_FIELDS + 1;
    if (comma) *comma = '\0';
    f[n++] = trim(p);
    if (!comma) return n;
    p = comma + 1;
  }
}

static int parse_double(const char *s, double *out) {
  double d = 0;
  if (cli_num_parse(s, &d) != CLI_NUM_OK || !isfinite(d)) return -1;
  *out = d;
  return 0;
}

/* time_s: a non-negative number of seconds whose replay instant (relative
 * times start at AS_REPLAY_BASE_S) fits in int64 microseconds. Returns 0, or
 * -1 with the cause in err. */
static int parse_time(const char *name, size_t lineno, const char *s, int relative, as_obs *o, char *err,
                      size_t errlen) {
  double t = 0;
  cli_num_status st = cli_num_parse(s, &t);
  if (st == CLI_NUM_OK) st = cli_num_seconds_to_us(t, &o->t_us); /* the sign, NaN and range as written */
  /* (a relative file's row at or past the threshold fails the mixing check) */
  if (st == CLI_NUM_OK && relative && t < AS_EPOCH_THRESHOLD_S) st = cli_num_seconds_to_us(t + AS_REPLAY_BASE_S, &o->t_us);
  switch (st) {
  case CLI_NUM_OK: o->t_s = t; return 0;
  case CLI_NUM_NAN: snprintf(err, errlen, "%s:%zu: time_s \"%s\" is not a number", name, lineno, s); break;
  case CLI_NUM_NEGATIVE:
    snprintf(err, errlen, "%s:%zu: time_s \"%s\" is negative: times are seconds from the start or Unix-epoch seconds",
             name, lineno, s);
    break;
  case CLI_NUM_RANGE:
    snprintf(err, errlen,
             "%s:%zu: time_s \"%s\" is out of range: a replay time must fit in int64 microseconds since the Unix "
             "epoch (at most 9223372036854 s)",
             name, lineno, s);
    break;
  case CLI_NUM_SYNTAX:
    snprintf(err, errlen, "%s:%zu: time_s \"%s\" is not a non-negative number of seconds", name, lineno, s);
    break;
  }
  return -1;
}

void as_obs_free(as_obs_list *l) {
  if (!l) return;
  free(l->rows);
  free(l->text);
  memset(l, 0, sizeof *l);
}

int as_obs_load(const char *path, as_obs_list *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  size_t len = 0;
  char *text = as_read_file(path, &len);
  if (!text) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return -1;
  }
  return as_obs_parse(text, len, path, out, err, errlen);
}

int as_obs_parse(char *text, size_t len, const char *path, as_obs_list *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (strlen(text) != len) {
    snprintf(err, errlen, "%s: contains a NUL byte: not a CSV text file", path);
    free(text);
    return -1;
  }
  size_t lines = 1;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  as_obs *rows = malloc(lines * sizeof *rows);
  if (!rows) {
    snprintf(err, errlen, "%s: out of memory", path);
    free(text);
    return -1;
  }

  size_t n = 0, lineno = 0;
  int seen_header = 0;
  double prev_t = 0;
  size_t prev_line = 0;
  char *p = text;
  if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF) p += 3; /* UTF-8 BOM */
  while (p && *p) {
    lineno++;
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    char *line = trim(p);
    p = nl ? nl + 1 : NULL;
    if (!*line || *line == '#') continue;
    char *f[N_FIELDS + 1];
    int nf = split(line, f);
    if (!seen_header) {
      int ok = nf == N_FIELDS;
      for (int i = 0; ok && i < N_FIELDS; i++) ok = strcmp(f[i], header[i]) == 0;
      if (!ok) {
        snprintf(err, errlen, "%s:%zu: expected the header \"time_s,endpoint,source,metric,replica,value\"",
                 path, lineno);
        goto fail;
      }
      seen_header = 1;
      continue;
    }
    if (nf != N_FIELDS) {
      snprintf(err, errlen, "%s:%zu: expected 6 comma-separated fields, got %s", path, lineno,
               nf > N_FIELDS ? "more" : "fewer");
      goto fail;
    }
    for (int i = 0; i < N_FIELDS; i++) {
      if (strchr(f[i], '"')) {
        snprintf(err, errlen, "%s:%zu: field %s is quoted; quoting is not supported", path, lineno, header[i]);
        goto fail;
      }
    }
    as_obs *o = &rows[n];
    /* the first row decides whether times are relative or Unix-epoch (for
     * it, parse_time adds the base only below the threshold) */
    if (parse_time(path, lineno, f[0], n ? !out->absolute : 1, o, err, errlen)) goto fail;
    if (parse_double(f[5], &o->value)) {
      snprintf(err, errlen, "%s:%zu: value \"%s\" is not a finite number", path, lineno, f[5]);
      goto fail;
    }
    for (int i = 1; i <= 3; i++) {
      if (!*f[i]) {
        snprintf(err, errlen, "%s:%zu: %s is empty", path, lineno, header[i]);
        goto fail;
      }
    }
    if (n == 0) {
      out->absolute = o->t_s >= AS_EPOCH_THRESHOLD_S;
    } else if (o->t_s < prev_t) {
      snprintf(err, errlen, "%s:%zu: time %s is earlier than %.17g on line %zu: rows must be in time order", path,
               lineno, f[0], prev_t, prev_line);
      goto fail;
    }
    if (out->absolute != (o->t_s >= AS_EPOCH_THRESHOLD_S)) {
      snprintf(err, errlen,
               "%s:%zu: time %s mixes relative and Unix-epoch seconds (the first row decided: %s)", path, lineno,
               f[0], out->absolute ? "epoch" : "relative");
      goto fail;
    }
    prev_t = o->t_s;
    prev_line = lineno;
    o->endpoint = f[1];
    o->source = f[2];
    o->metric = f[3];
    o->replica = *f[4] ? f[4] : NULL;
    o->line = lineno;
    n++;
  }
  if (!seen_header) {
    snprintf(err, errlen, "%s: empty file: expected the header \"time_s,endpoint,source,metric,replica,value\"",
             path);
    goto fail;
  }
  if (n == 0) {
    snprintf(err, errlen, "%s: no observations after the header", path);
    goto fail;
  }
  out->rows = rows;
  out->n = n;
  out->text = text;
  return 0;
fail:
  free(rows);
  free(text);
  memset(out, 0, sizeof *out);
  return -1;
}
