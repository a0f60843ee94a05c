/* mserve-autoscale: the replay itself.
 * Observations are fed in file order; evaluations run at fixed replay times
 * (or after each distinct observation time) and see every row at or before
 * their time. Each evaluation's per-rule values and the resulting replica
 * counts are kept for the plot; the timeline lists the changes. */
#include "replay.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <mserve.h>
#include <mserve/autoscaler.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cli_num.h"

#define MAX_EVALS 1000000u

void as_fmt_duration(double s, char *buf, size_t cap) {
  const char *sign = s < 0 ? "-" : "";
  double a = fabs(s);
  if (a != floor(a)) {
    snprintf(buf, cap, "%s%.3gs", sign, a);
    return;
  }
  long long v = (long long)a;
  if (v < 60 || v % 60 != 0) {
    if (v < 600) snprintf(buf, cap, "%s%llds", sign, v);
    else snprintf(buf, cap, "%s%lldm%02llds", sign, v / 60, v % 60);
  } else if (v < 3600 || v % 3600 != 0) {
    if (v < 36000) snprintf(buf, cap, "%s%lldm", sign, v / 60);
    else snprintf(buf, cap, "%s%lldh%02lldm", sign, v / 3600, (v % 3600) / 60);
  } else {
    snprintf(buf, cap, "%s%lldh", sign, v / 3600);
  }
}

static const char *outcome_text(ms_rule_outcome o) {
  switch (o) {
  case MS_RULE_APPLIED: return "applied";
  case MS_RULE_NOT_TRIGGERED: return "not-triggered";
  case MS_RULE_NO_METRIC: return "no-metric";
  case MS_RULE_COOLDOWN: return "cooldown";
  case MS_RULE_AT_BOUND: return "at-bound";
  case MS_RULE_OUTVOTED: return "outvoted";
  case MS_RULE_DISABLED: return "disabled";
  }
  return "unknown";
}

/* The replay instant of file time `file_t` (an evaluation time); every row's
 * own instant was checked when the file was read (as_obs.t_us). Returns 0, or
 * -1 when it does not fit in int64 microseconds. */
static int to_us(const as_replay *r, double file_t, int64_t *us) {
  double base = r->obs.absolute ? 0.0 : AS_REPLAY_BASE_S;
  return cli_num_seconds_to_us(file_t + base, us) == CLI_NUM_OK ? 0 : -1;
}

/* A duration from the rules file or a flag, already range-checked in
 * seconds, to microseconds; a positive one is at least 1 us. */
static int duration_us(double s, int64_t *us) { return cli_num_seconds_to_us(s, us) == CLI_NUM_OK ? 0 : -1; }

static void print_rule_list(const as_replay *r, FILE *out) {
  fprintf(out, "rules:\n");
  for (size_t i = 0; i < r->rules.n_eps; i++) {
    const as_endpoint *e = &r->rules.eps[i];
    fprintf(out, "  %s: starts at %lld replica%s%s\n", e->name, (long long)e->replicas, e->replicas == 1 ? "" : "s",
            e->n_rules ? "" : ", no rules");
    for (size_t j = 0; j < e->n_rules; j++) {
      const as_rule *u = &e->rules[j];
      char cd[32];
      as_fmt_duration(u->cooldown_s, cd, sizeof cd);
      fprintf(out, "    rule#%zu  %s %s/%s %s %.6g -> %+lld  cooldown %s", j + 1, as_agg_text(u->agg), u->source,
              u->metric, as_cmp_text(u->cmp), u->threshold, (long long)u->step, cd);
      if (u->min >= 0) fprintf(out, ", min %lld", (long long)u->min);
      if (u->max >= 0) fprintf(out, ", max %lld", (long long)u->max);
      fprintf(out, "%s\n", u->enabled ? "" : "  (disabled)");
    }
  }
}

/* Create the endpoints and rules; a rule the engine refuses is reported with
 * its place in the rules file, since that is where the fix goes. */
static int setup_engine(const as_opts *o, as_replay *r, ms_autoscaler *a, FILE *err) {
  double ttl = o->ttl_s > 0 ? o->ttl_s : r->rules.metric_ttl_s;
  int64_t ttl_us = 0;
  if (duration_us(ttl, &ttl_us)) {
    fprintf(err, "mserve-autoscale: metric TTL %gs is out of range\n", ttl);
    return AS_EXIT_INPUT;
  }
  int st = ms_autoscaler_set_metric_ttl(a, ttl_us);
  if (st) {
    r->status = st;
    fprintf(err, "mserve-autoscale: metric TTL %gs: %s\n", ttl, ms_errmsg());
    return AS_EXIT_INPUT;
  }
  for (size_t i = 0; i < r->rules.n_eps; i++) {
    as_endpoint *e = &r->rules.eps[i];
    st = ms_autoscaler_set_replicas(a, e->name, e->replicas);
    if (st) {
      r->status = st;
      fprintf(err, "%s: $.endpoints[%zu]: %s: %s\n", o->rules_path, i, ms_status_name(st), ms_errmsg());
      return st == MS_EINVAL ? AS_EXIT_INPUT : AS_EXIT_FAIL;
    }
    for (size_t j = 0; j < e->n_rules; j++) {
      as_rule *u = &e->rules[j];
      ms_rule *b = NULL;
      int64_t cooldown_us = 0;
      if (duration_us(u->cooldown_s, &cooldown_us)) {
        fprintf(err, "%s: $.endpoints[%zu].rules[%zu].cooldown_s: %g is out of range\n", o->rules_path, i, j,
                u->cooldown_s);
        return AS_EXIT_INPUT;
      }
      st = ms_rule_new(&b);
      if (!st) st = ms_rule_set_metric(b, u->source, u->metric);
      if (!st) st = ms_rule_set_trigger(b, (ms_comparator)u->cmp, u->threshold);
      if (!st) st = ms_rule_set_step(b, u->step);
      if (!st) st = ms_rule_set_cooldown(b, cooldown_us);
      if (!st) st = ms_rule_set_bounds(b, u->min, u->max);
      if (!st) st = ms_rule_set_aggregation(b, (ms_aggregation)u->agg);
      if (!st) st = ms_rule_set_enabled(b, u->enabled);
      if (!st) st = ms_autoscaler_add_rule(a, e->name, b, &u->rule_id);
      ms_rule_free(b);
      if (st) {
        r->status = st;
        fprintf(err, "%s: $.endpoints[%zu].rules[%zu]: refused by the autoscaler: %s: %s\n", o->rules_path, i, j,
                ms_status_name(st), ms_errmsg());
        return st == MS_EINVAL || st == MS_ECONFLICT ? AS_EXIT_INPUT : AS_EXIT_FAIL;
      }
    }
  }
  return AS_EXIT_OK;
}

/* Plan the evaluation times (display seconds) and allocate the trace. */
static int plan(const as_opts *o, as_replay *r, FILE *err) {
  const as_obs *rows = r->obs.rows;
  double first = rows[0].t_s, last = rows[r->obs.n - 1].t_s;
  size_t n = 0;
  if (o->each_row) {
    n = 1;
    for (size_t i = 1; i < r->obs.n; i++) n += rows[i].t_s != rows[i - 1].t_s;
  } else {
    double k = floor((last - first) / o->step_s + 1e-9) + 1;
    if (k > MAX_EVALS) {
      fprintf(err, "mserve-autoscale: --step %g over %g s of observations makes %.0f evaluations (at most %u)\n",
              o->step_s, last - first, k, MAX_EVALS);
      return AS_EXIT_INPUT;
    }
    n = (size_t)k;
  }
  if (n > MAX_EVALS) {
    fprintf(err, "mserve-autoscale: %zu distinct observation times to evaluate at (at most %u); use --step\n", n,
            MAX_EVALS);
    return AS_EXIT_INPUT;
  }
  r->origin_s = r->obs.absolute ? first : 0.0;
  r->n_evals = n;
  r->eval_t = calloc(n, sizeof *r->eval_t);
  if (!r->eval_t) goto oom;
  if (o->each_row) {
    size_t k = 0;
    r->eval_t[k++] = first - r->origin_s;
    for (size_t i = 1; i < r->obs.n; i++)
      if (rows[i].t_s != rows[i - 1].t_s) r->eval_t[k++] = rows[i].t_s - r->origin_s;
  } else {
    for (size_t k = 0; k < n; k++) r->eval_t[k] = first + (double)k * o->step_s - r->origin_s;
  }
  for (size_t i = 0; i < r->rules.n_eps; i++) {
    as_endpoint *e = &r->rules.eps[i];
    e->replicas_after = calloc(n, sizeof *e->replicas_after);
    if (!e->replicas_after) goto oom;
    for (size_t j = 0; j < e->n_rules; j++) {
      as_rule *u = &e->rules[j];
      u->values = calloc(n, sizeof *u->values);
      u->has_value = calloc(n, 1);
      u->outcome = malloc(n);
      if (!u->values || !u->has_value || !u->outcome) goto oom;
      memset(u->outcome, AS_OUTCOME_NONE, n); /* 0 is MS_RULE_APPLIED: "not reported" must differ */
    }
  }
  return AS_EXIT_OK;
oom:
  fprintf(err, "mserve-autoscale: out of memory for %zu evaluations\n", n);
  return AS_EXIT_FAIL;
}

/* Every observed endpoint must be in the rules file: a typo in the CSV would
 * otherwise only surface as "no-metric" forever. */
static int check_endpoints(const as_opts *o, const as_replay *r, FILE *err) {
  const char *last_ok = NULL;
  for (size_t i = 0; i < r->obs.n; i++) {
    const as_obs *x = &r->obs.rows[i];
    if (last_ok && strcmp(last_ok, x->endpoint) == 0) continue;
    size_t k = 0;
    while (k < r->rules.n_eps && strcmp(r->rules.eps[k].name, x->endpoint) != 0) k++;
    if (k == r->rules.n_eps) {
      fprintf(err, "%s:%zu: endpoint \"%s\" is not defined in %s\n", o->obs_path, x->line, x->endpoint,
              o->rules_path);
      return AS_EXIT_INPUT;
    }
    last_ok = r->rules.eps[k].name;
  }
  return AS_EXIT_OK;
}

static as_endpoint *find_endpoint(as_replay *r, size_t hint, const char *name) {
  if (hint < r->rules.n_eps && strcmp(r->rules.eps[hint].name, name) == 0) return &r->rules.eps[hint];
  for (size_t i = 0; i < r->rules.n_eps; i++)
    if (strcmp(r->rules.eps[i].name, name) == 0) return &r->rules.eps[i];
  return NULL;
}

static size_t find_rule(const as_endpoint *e, int64_t id) {
  for (size_t j = 0; j < e->n_rules; j++)
    if (e->rules[j].rule_id == id) return j;
  return (size_t)-1;
}

static void print_time(FILE *out, double t) {
  if (t == floor(t) && fabs(t) < 1e12) fprintf(out, "t=%6.0fs", t);
  else fprintf(out, "t=%8.2fs", t);
}

/* One rule's outcome as text, e.g. "rule#2 not-triggered (91.5 < 20 false)". */
static void print_rule(FILE *out, const as_endpoint *e, size_t j, ms_rule_outcome oc, double v, int64_t proposed) {
  const as_rule *u = &e->rules[j];
  const char *cmp = as_cmp_text(u->cmp);
  fprintf(out, "rule#%zu %s", j + 1, outcome_text(oc));
  switch (oc) {
  case MS_RULE_APPLIED:
    fprintf(out, " (%s %s %.5g %s %.6g)", as_agg_text(u->agg), u->metric, v, cmp, u->threshold);
    break;
  case MS_RULE_NOT_TRIGGERED: fprintf(out, " (%.5g %s %.6g false)", v, cmp, u->threshold); break;
  case MS_RULE_NO_METRIC: fprintf(out, " (%s: no fresh value)", u->metric); break;
  case MS_RULE_COOLDOWN: {
    char until[32];
    as_fmt_duration(u->last_applied_t + u->cooldown_s, until, sizeof until);
    if (u->last_applied_t > -1e300) fprintf(out, " (%.5g %s %.6g; until t=%s)", v, cmp, u->threshold, until);
    else fprintf(out, " (%.5g %s %.6g)", v, cmp, u->threshold);
    break;
  }
  case MS_RULE_AT_BOUND:
    if (u->step > 0 && u->max >= 0) fprintf(out, " (%.5g %s %.6g; max %lld)", v, cmp, u->threshold, (long long)u->max);
    else if (u->step < 0 && u->min >= 0)
      fprintf(out, " (%.5g %s %.6g; min %lld)", v, cmp, u->threshold, (long long)u->min);
    else fprintf(out, " (%.5g %s %.6g; at 0)", v, cmp, u->threshold);
    break;
  case MS_RULE_OUTVOTED:
    fprintf(out, " (%.5g %s %.6g; proposed %lld)", v, cmp, u->threshold, (long long)proposed);
    break;
  case MS_RULE_DISABLED: break;
  }
}

/* Record one evaluation in the trace and print / collect what changed. */
static int record(const as_opts *o, as_replay *r, size_t k, const ms_decisions *d, FILE *out, cJSON *jdec,
                  size_t name_w) {
  double t = r->eval_t[k];
  size_t n = ms_decisions_count(d);
  for (size_t i = 0; i < n; i++) {
    const char *name = NULL;
    int64_t from = 0, to = 0, applied = -1;
    if (ms_decisions_get(d, i, &name, NULL, &from, &to, &applied)) return AS_EXIT_FAIL;
    as_endpoint *e = find_endpoint(r, i, name);
    if (!e) continue; /* the store starts empty, so every endpoint is ours; stay safe anyway */
    e->replicas_after[k] = to;
    int show = from != to || o->all;
    if (from != to) r->n_changes++;
    cJSON *jd = NULL, *jrules = NULL;
    if (show && jdec) {
      jd = cJSON_CreateObject();
      cJSON_AddNumberToObject(jd, "t_s", t);
      cJSON_AddStringToObject(jd, "endpoint", e->name);
      cJSON_AddNumberToObject(jd, "from", (double)from);
      cJSON_AddNumberToObject(jd, "to", (double)to);
      jrules = cJSON_AddArrayToObject(jd, "rules");
      cJSON_AddItemToArray(jdec, jd);
    } else if (show) {
      print_time(out, t);
      fprintf(out, "  %-*s  %lld -> %lld ", (int)name_w, e->name, (long long)from, (long long)to);
    }
    size_t nr = ms_decisions_rule_count(d, i);
    int first = 1;
    if (show && !jdec && nr == 0) fprintf(out, " no rules");
    /* the applied rule first: it is the reason for the change */
    for (int pass = 0; pass < 2; pass++) {
      for (size_t j = 0; j < nr; j++) {
        int64_t id = 0, proposed = from;
        ms_rule_outcome oc = MS_RULE_NO_METRIC;
        double v = NAN;
        if (ms_decisions_get_rule(d, i, j, &id, &oc, &v)) return AS_EXIT_FAIL;
        if ((pass == 0) != (oc == MS_RULE_APPLIED)) continue;
        (void)ms_decisions_get_rule_detail(d, i, j, NULL, NULL, NULL, &proposed);
        size_t ri = find_rule(e, id);
        if (ri == (size_t)-1) continue;
        as_rule *u = &e->rules[ri];
        u->outcome[k] = (unsigned char)oc;
        u->has_value[k] = isfinite(v) != 0;
        u->values[k] = v;
        if (show && jrules) {
          cJSON *jr = cJSON_CreateObject();
          cJSON_AddNumberToObject(jr, "rule", (double)(ri + 1));
          cJSON_AddNumberToObject(jr, "rule_id", (double)id);
          cJSON_AddStringToObject(jr, "outcome", outcome_text(oc));
          if (isfinite(v)) cJSON_AddNumberToObject(jr, "value", v);
          else cJSON_AddNullToObject(jr, "value");
          cJSON_AddNumberToObject(jr, "proposed", (double)proposed);
          cJSON_AddItemToArray(jrules, jr);
        } else if (show) {
          fprintf(out, "%s", first ? " " : "; ");
          print_rule(out, e, ri, oc, v, proposed);
        }
        first = 0;
        if (oc == MS_RULE_APPLIED) u->last_applied_t = t;
      }
    }
    if (jd) {
      if (applied >= 0) {
        size_t ri = find_rule(e, applied);
        if (ri != (size_t)-1) cJSON_AddNumberToObject(jd, "applied_rule", (double)(ri + 1));
      } else {
        cJSON_AddNullToObject(jd, "applied_rule");
      }
    }
    if (show && !jdec) fputc('\n', out);
  }
  return AS_EXIT_OK;
}

static int open_store(const as_opts *o, as_replay *r, ms_store **s, FILE *err) {
  const char *path = o->db_path ? o->db_path : ":memory:";
  struct stat sb;
  if (o->db_path && stat(o->db_path, &sb) == 0) {
    /* a replay starts from the rules file alone; mixing in an older state
     * would make its timeline depend on what ran before */
    fprintf(err, "mserve-autoscale: --db %s: the file exists; remove it or choose a new path\n", o->db_path);
    return AS_EXIT_INPUT;
  }
  int st = ms_store_open(path, 0, s);
  if (st) {
    r->status = st;
    fprintf(err, "mserve-autoscale: --db %s: %s: %s\n", path, ms_status_name(st), ms_errmsg());
    return AS_EXIT_FAIL;
  }
  return AS_EXIT_OK;
}

static void print_header(const as_opts *o, const as_replay *r, FILE *out) {
  size_t n_rules = 0;
  for (size_t i = 0; i < r->rules.n_eps; i++) n_rules += r->rules.eps[i].n_rules;
  char step[32], span[32], ttl[32];
  as_fmt_duration(o->step_s, step, sizeof step);
  as_fmt_duration(r->eval_t[r->n_evals - 1], span, sizeof span);
  as_fmt_duration(o->ttl_s > 0 ? o->ttl_s : r->rules.metric_ttl_s, ttl, sizeof ttl);
  fprintf(out, "replay: %zu endpoint%s, %zu rule%s, %zu observation%s (%s times), metric TTL %s\n", r->rules.n_eps,
          r->rules.n_eps == 1 ? "" : "s", n_rules, n_rules == 1 ? "" : "s", r->obs.n, r->obs.n == 1 ? "" : "s",
          r->obs.absolute ? "Unix-epoch" : "relative", ttl);
  if (r->obs.absolute) fprintf(out, "        t=0 is %.17g (Unix-epoch seconds of the first row)\n", r->origin_s);
  if (o->each_row) fprintf(out, "        %zu evaluations, one after each distinct observation time\n", r->n_evals);
  else fprintf(out, "        %zu evaluations, every %s until t=%s\n", r->n_evals, step, span);
  print_rule_list(r, out);
  fprintf(out, "timeline (%s):\n", o->all ? "every evaluation" : "changes only; --all lists every evaluation");
}

static int run_loop(const as_opts *o, as_replay *r, ms_autoscaler *a, FILE *out, FILE *err, cJSON *jdec) {
  size_t name_w = 4;
  for (size_t i = 0; i < r->rules.n_eps; i++)
    if (strlen(r->rules.eps[i].name) > name_w) name_w = strlen(r->rules.eps[i].name);
  size_t row = 0;
  for (size_t k = 0; k < r->n_evals; k++) {
    double file_t = r->eval_t[k] + r->origin_s;
    for (; row < r->obs.n && r->obs.rows[row].t_s <= file_t + 1e-9; row++) {
      const as_obs *x = &r->obs.rows[row];
      int st = ms_autoscaler_observe(a, x->endpoint, x->source, x->metric, x->replica, x->value, x->t_us);
      if (st) {
        r->status = st;
        fprintf(err, "%s:%zu: observation refused: %s: %s\n", o->obs_path, x->line, ms_status_name(st),
                ms_errmsg());
        return st == MS_ENOMEM ? AS_EXIT_FAIL : AS_EXIT_INPUT;
      }
    }
    ms_decisions *d = NULL;
    int64_t now_us = 0;
    if (to_us(r, file_t, &now_us)) {
      fprintf(err, "mserve-autoscale: evaluation at t=%g s: the replay time is out of range (past int64 microseconds)\n",
              r->eval_t[k]);
      return AS_EXIT_INPUT;
    }
    int st = ms_autoscaler_evaluate(a, now_us, 0, &d);
    if (st) {
      r->status = st;
      fprintf(err, "mserve-autoscale: evaluation at t=%g s: %s: %s\n", r->eval_t[k], ms_status_name(st), ms_errmsg());
      return AS_EXIT_FAIL;
    }
    int rc = record(o, r, k, d, out, jdec, name_w);
    ms_decisions_free(d);
    if (rc) {
      fprintf(err, "mserve-autoscale: reading the decisions at t=%g s: %s\n", r->eval_t[k], ms_errmsg());
      return rc;
    }
  }
  return AS_EXIT_OK;
}

static void print_summary(const as_replay *r, FILE *out) {
  fprintf(out, "summary: %zu change%s in %zu evaluations; final replicas:", r->n_changes,
          r->n_changes == 1 ? "" : "s", r->n_evals);
  for (size_t i = 0; i < r->rules.n_eps; i++) {
    const as_endpoint *e = &r->rules.eps[i];
    fprintf(out, "%s %s %lld", i ? "," : "", e->name, (long long)e->replicas_after[r->n_evals - 1]);
  }
  fputc('\n', out);
}

static cJSON *json_doc(const as_opts *o, const as_replay *r, cJSON *doc, cJSON **jdec) {
  cJSON_AddStringToObject(doc, "rules", o->rules_path);
  cJSON_AddStringToObject(doc, "observations", o->obs_path);
  cJSON_AddStringToObject(doc, "times", r->obs.absolute ? "epoch" : "relative");
  cJSON_AddNumberToObject(doc, "origin_s", r->origin_s);
  cJSON_AddNumberToObject(doc, "metric_ttl_s", o->ttl_s > 0 ? o->ttl_s : r->rules.metric_ttl_s);
  if (o->each_row) cJSON_AddStringToObject(doc, "cadence", "each-row");
  else cJSON_AddNumberToObject(doc, "step_s", o->step_s);
  cJSON_AddNumberToObject(doc, "evaluations", (double)r->n_evals);
  *jdec = cJSON_AddArrayToObject(doc, "decisions");
  return doc;
}

int as_replay_run(const as_opts *o, as_replay *r, FILE *out, FILE *err, cJSON *jdoc) {
  memset(r, 0, sizeof *r);
  char msg[1024];
  if (as_rules_load(o->rules_path, &r->rules, msg, sizeof msg)) {
    fprintf(err, "%s\n", msg);
    return AS_EXIT_INPUT;
  }
  if (as_obs_load(o->obs_path, &r->obs, msg, sizeof msg)) {
    fprintf(err, "%s\n", msg);
    return AS_EXIT_INPUT;
  }
  int rc = check_endpoints(o, r, err);
  if (!rc) rc = plan(o, r, err);
  if (rc) return rc;

  ms_store *store = NULL;
  ms_autoscaler *a = NULL;
  cJSON *doc = NULL, *jdec = NULL;
  rc = open_store(o, r, &store, err);
  if (rc) return rc;
  int st = ms_autoscaler_open(store, &a);
  if (st) {
    r->status = st;
    fprintf(err, "mserve-autoscale: opening the autoscaler: %s: %s\n", ms_status_name(st), ms_errmsg());
    rc = AS_EXIT_FAIL;
    goto done;
  }
  rc = setup_engine(o, r, a, err);
  if (rc) goto done;
  if (jdoc) {
    doc = json_doc(o, r, jdoc, &jdec);
    if (!jdec) {
      fprintf(err, "mserve-autoscale: out of memory\n");
      rc = AS_EXIT_FAIL;
      goto done;
    }
  } else {
    print_header(o, r, out);
  }
  rc = run_loop(o, r, a, out, err, jdec);
  if (rc) goto done;
  if (doc) {
    cJSON *fin = cJSON_AddObjectToObject(doc, "final_replicas");
    for (size_t i = 0; fin && i < r->rules.n_eps; i++)
      cJSON_AddNumberToObject(fin, r->rules.eps[i].name, (double)r->rules.eps[i].replicas_after[r->n_evals - 1]);
    cJSON_AddNumberToObject(doc, "changes", (double)r->n_changes);
  } else {
    print_summary(r, out);
  }
done:
  ms_autoscaler_close(a);
  ms_store_close(store);
  return rc;
}

void as_replay_free(as_replay *r) {
  if (!r) return;
  as_rules_free(&r->rules);
  as_obs_free(&r->obs);
  free(r->eval_t);
  memset(r, 0, sizeof *r);
}
