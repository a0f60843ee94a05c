/* model-config.yaml as plain data for the executor: libyaml's event parser
 * builds a cJSON tree whose scalars are strings. Anchors, aliases and tags
 * are refused (no alias expansion bombs), nesting and event counts are
 * bounded, duplicate mapping keys are refused. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/error.h"
#include "executor/executor_internal.h"
#include "mserve/common.h"

#define YAML_MAX_DEPTH 32
#define YAML_MAX_EVENTS 100000

typedef struct yctx {
  yaml_parser_t p;
  const char *origin;
  size_t events;
} yctx;

static int yfail(const yctx *c, const yaml_event_t *ev, const char *what) {
  return ms__fail(MS_ECORRUPT, "config '%s': line %zu: %s", c->origin, (size_t)ev->start_mark.line + 1, what);
}

static int next_event(yctx *c, yaml_event_t *ev) {
  if (!yaml_parser_parse(&c->p, ev))
    return ms__fail(MS_ECORRUPT, "config '%s': line %zu: %s", c->origin, (size_t)c->p.problem_mark.line + 1,
                    c->p.problem ? c->p.problem : "invalid YAML");
  if (++c->events > YAML_MAX_EVENTS) {
    yaml_event_delete(ev);
    return ms__fail(MS_ECORRUPT, "config '%s': more than %d YAML events", c->origin, YAML_MAX_EVENTS);
  }
  return MS_OK;
}

/* Parse the node whose first event is *ev (consumed, deleted) into *out. */
static int node(yctx *c, yaml_event_t *ev, int depth, cJSON **out) {
  int st = MS_OK;
  cJSON *n = NULL;
  if (depth > YAML_MAX_DEPTH) {
    st = yfail(c, ev, "nesting deeper than 32 levels");
  } else if (ev->type == YAML_ALIAS_EVENT) {
    st = yfail(c, ev, "aliases are not allowed");
  } else if (ev->type == YAML_SCALAR_EVENT) {
    if (ev->data.scalar.anchor || ev->data.scalar.tag) {
      st = yfail(c, ev, "anchors and tags are not allowed");
    } else if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length) {
      st = yfail(c, ev, "a scalar holds a NUL character");
    } else if (!(n = cJSON_CreateString((const char *)ev->data.scalar.value))) {
      st = ms__fail(MS_ENOMEM, "config '%s': out of memory", c->origin);
    }
  } else if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (is_map ? (ev->data.mapping_start.anchor || ev->data.mapping_start.tag)
               : (ev->data.sequence_start.anchor || ev->data.sequence_start.tag)) {
      st = yfail(c, ev, "anchors and tags are not allowed");
    } else if (!(n = is_map ? cJSON_CreateObject() : cJSON_CreateArray())) {
      st = ms__fail(MS_ENOMEM, "config '%s': out of memory", c->origin);
    }
    yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    while (!st) {
      yaml_event_t e;
      if ((st = next_event(c, &e))) break;
      if (e.type == end) {
        yaml_event_delete(&e);
        break;
      }
      cJSON *key = NULL, *val = NULL;
      if (is_map && e.type != YAML_SCALAR_EVENT) {
        st = yfail(c, &e, "mapping keys must be plain scalars");
        yaml_event_delete(&e);
        break;
      }
      if ((st = node(c, &e, depth + 1, is_map ? &key : &val))) break;
      if (is_map) {
        yaml_event_t ve;
        if (!(st = next_event(c, &ve))) st = node(c, &ve, depth + 1, &val);
        if (!st && cJSON_GetObjectItemCaseSensitive(n, key->valuestring))
          st = ms__fail(MS_ECORRUPT, "config '%s': duplicate key '%s'", c->origin, key->valuestring);
        if (!st) cJSON_AddItemToObject(n, key->valuestring, val);
        else cJSON_Delete(val);
        cJSON_Delete(key);
      } else {
        cJSON_AddItemToArray(n, val);
      }
    }
  } else {
    st = yfail(c, ev, "unexpected YAML event");
  }
  yaml_event_delete(ev);
  if (st) {
    cJSON_Delete(n);
    return st;
  }
  *out = n;
  return MS_OK;
}

int ms__executor_yaml_parse(const char *buf, size_t len, const char *origin, cJSON **out) {
  yctx c;
  memset(&c, 0, sizeof c);
  c.origin = origin;
  if (!yaml_parser_initialize(&c.p)) return ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
  yaml_parser_set_input_string(&c.p, (const unsigned char *)(buf ? buf : ""), len);
  cJSON *root = NULL;
  yaml_event_t ev;
  int st = next_event(&c, &ev); /* STREAM-START */
  if (!st) {
    yaml_event_delete(&ev);
    st = next_event(&c, &ev); /* DOCUMENT-START or STREAM-END */
  }
  if (!st && ev.type == YAML_STREAM_END_EVENT) {
    yaml_event_delete(&ev);
  } else if (!st) {
    yaml_event_delete(&ev);
    if (!(st = next_event(&c, &ev))) st = node(&c, &ev, 0, &root);
    if (!st && !(st = next_event(&c, &ev))) { /* DOCUMENT-END */
      yaml_event_delete(&ev);
      if (!(st = next_event(&c, &ev))) {
        if (ev.type != YAML_STREAM_END_EVENT) st = yfail(&c, &ev, "only one YAML document is allowed");
        yaml_event_delete(&ev);
      }
    }
  }
  yaml_parser_delete(&c.p);
  if (!st && !root && !(root = cJSON_CreateObject()))
    st = ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
  if (!st && cJSON_IsString(root) && root->valuestring[0] == '\0') { /* "---" alone: empty */
    cJSON_Delete(root);
    if (!(root = cJSON_CreateObject())) st = ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
  }
  if (!st && !cJSON_IsObject(root)) st = ms__fail(MS_ECORRUPT, "config '%s': the top level is not a mapping", origin);
  if (st) {
    cJSON_Delete(root);
    return st;
  }
  *out = root;
  return MS_OK;
}
