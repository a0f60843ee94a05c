/* TorchServe model-config.yaml, read as plain data with libyaml's event
 * parser: tags, anchors and aliases are refused (no alias expansion bombs),
 * nesting is bounded, and the document becomes a cJSON tree of strings that
 * the settings code then interprets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/error.h"
#include "mserve/common.h"
#include "settings.h"

#define MAX_DEPTH 64
#define MAX_NODES 100000

typedef struct yctx {
  yaml_parser_t p;
  const char *origin;
  size_t nodes;
} yctx;

static int yfail_event(yctx *c, const yaml_event_t *ev, const char *what) {
  return ms__fail(MS_ECORRUPT, "config '%s': line %zu: %s", c->origin, (size_t)ev->start_mark.line + 1,
                  what);
}

static int next_event(yctx *c, yaml_event_t *ev) {
  if (!yaml_parser_parse(&c->p, ev))
    return ms__fail(MS_ECORRUPT, "config '%s': line %zu: %s", c->origin,
                    (size_t)c->p.problem_mark.line + 1, c->p.problem ? c->p.problem : "invalid YAML");
  if (++c->nodes > MAX_NODES) {
    yaml_event_delete(ev);
    return ms__fail(MS_ECORRUPT, "config '%s': more than %d YAML events", c->origin, MAX_NODES);
  }
  return MS_OK;
}

/* Parse the node whose first event is *ev (consumed) into *out. */
static int parse_node(yctx *c, yaml_event_t *ev, int depth, cJSON **out) {
  int st = MS_OK;
  cJSON *node = NULL;
  if (depth > MAX_DEPTH) {
    st = yfail_event(c, ev, "nesting deeper than 64 levels");
    yaml_event_delete(ev);
    return st;
  }
  switch (ev->type) {
    case YAML_ALIAS_EVENT:
      st = yfail_event(c, ev, "aliases are not allowed");
      break;
    case YAML_SCALAR_EVENT:
      if (ev->data.scalar.anchor) st = yfail_event(c, ev, "anchors are not allowed");
      else if (ev->data.scalar.tag) st = yfail_event(c, ev, "tags are not allowed");
      else {
        /* Scalars may hold NUL bytes; keep up to the first one. */
        node = cJSON_CreateString((const char *)ev->data.scalar.value);
        if (!node) st = ms__fail(MS_ENOMEM, "config '%s': out of memory", c->origin);
      }
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      int is_map = ev->type == YAML_MAPPING_START_EVENT;
      const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
      const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
      if (anchor) {
        st = yfail_event(c, ev, "anchors are not allowed");
        break;
      }
      if (tag) {
        st = yfail_event(c, ev, "tags are not allowed");
        break;
      }
      node = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
      if (!node) {
        st = ms__fail(MS_ENOMEM, "config '%s': out of memory", c->origin);
        break;
      }
      yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
      for (;;) {
        yaml_event_t e;
        if ((st = next_event(c, &e))) break;
        if (e.type == end) {
          yaml_event_delete(&e);
          break;
        }
        cJSON *key = NULL, *val = NULL;
        if (is_map) {
          if (e.type != YAML_SCALAR_EVENT) {
            st = yfail_event(c, &e, "mapping keys must be plain scalars");
            yaml_event_delete(&e);
            break;
          }
          if ((st = parse_node(c, &e, depth + 1, &key))) break;
          yaml_event_t ve;
          if ((st = next_event(c, &ve))) {
            cJSON_Delete(key);
            break;
          }
          if ((st = parse_node(c, &ve, depth + 1, &val))) {
            cJSON_Delete(key);
            break;
          }
          if (cJSON_GetObjectItemCaseSensitive(node, key->valuestring)) {
            st = ms__fail(MS_ECORRUPT, "config '%s': duplicate key '%s'", c->origin, key->valuestring);
            cJSON_Delete(key);
            cJSON_Delete(val);
            break;
          }
          cJSON_AddItemToObject(node, key->valuestring, val);
          cJSON_Delete(key);
        } else {
          if ((st = parse_node(c, &e, depth + 1, &val))) break;
          cJSON_AddItemToArray(node, val);
        }
      }
      break;
    }
    default:
      st = yfail_event(c, ev, "unexpected YAML event");
      break;
  }
  yaml_event_delete(ev);
  if (st) {
    cJSON_Delete(node);
    return st;
  }
  *out = node;
  return MS_OK;
}

/* Whole-string decimal integer (optional sign); 0 on success. */
static int parse_i64(const char *s, int64_t *v) {
  if (!*s) return -1;
  char *end = NULL;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno || *end) return -1;
  *v = (int64_t)x;
  return 0;
}

/* Interpret the top-level mapping. */
static int apply(const cJSON *root, const char *origin, ms__settings *s) {
  char what[512];
  snprintf(what, sizeof what, "config '%s'", origin);
  for (const cJSON *it = root->child; it; it = it->next) {
    int64_t factor = 1;
    int k = ms__key_map_external(it->string, &factor);
    if (k >= 0) {
      if (!cJSON_IsString(it))
        return ms__fail(MS_ECORRUPT, "%s: '%s' must be a scalar", what, it->string);
      cJSON *num = NULL;
      int st;
      if (ms__key_is_str(k)) {
        st = ms__settings_set_json(s, it->string, it, what);
      } else {
        int64_t v;
        if (parse_i64(it->valuestring, &v))
          return ms__fail(MS_ECORRUPT, "%s: '%s' must be an integer, got '%s'", what, it->string,
                          it->valuestring);
        if (v > ((int64_t)1 << 53) || v < -((int64_t)1 << 53))
          return ms__fail(MS_ECORRUPT, "%s: '%s' = %lld is too large", what, it->string, (long long)v);
        num = cJSON_CreateNumber((double)v);
        if (!num) return ms__fail(MS_ENOMEM, "%s: out of memory", what);
        st = ms__settings_set_json(s, it->string, num, what);
        cJSON_Delete(num);
      }
      if (st) return st;
      continue;
    }
    /* Anything else is kept for handlers: scalars as written, the rest as JSON. */
    cJSON *val = cJSON_IsString(it) ? cJSON_CreateString(it->valuestring) : NULL;
    if (!val) {
      char *txt = cJSON_IsString(it) ? NULL : cJSON_PrintUnformatted(it);
      if (txt) val = cJSON_CreateString(txt);
      free(txt);
    }
    if (!val) return ms__fail(MS_ENOMEM, "%s: out of memory", what);
    if (!s->extra && !(s->extra = cJSON_CreateObject())) {
      cJSON_Delete(val);
      return ms__fail(MS_ENOMEM, "%s: out of memory", what);
    }
    cJSON_AddItemToObject(s->extra, it->string, val);
  }
  return MS_OK;
}

int ms__model_config_parse_yaml(const char *buf, size_t len, const char *origin, ms__settings *out) {
  if ((!buf && len) || !origin || !out) return ms__fail(MS_EINVAL, "config: NULL argument");
  yctx c;
  memset(&c, 0, sizeof c);
  c.origin = origin;
  if (!yaml_parser_initialize(&c.p)) return ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
  yaml_parser_set_input_string(&c.p, (const unsigned char *)(buf ? buf : ""), len);
  cJSON *root = NULL;
  int st = MS_OK;
  yaml_event_t ev;
  /* STREAM-START, then DOCUMENT-START or STREAM-END (empty file). */
  if ((st = next_event(&c, &ev))) goto done;
  yaml_event_delete(&ev);
  if ((st = next_event(&c, &ev))) goto done;
  if (ev.type == YAML_STREAM_END_EVENT) {
    yaml_event_delete(&ev);
    goto done;
  }
  yaml_event_delete(&ev);
  if ((st = next_event(&c, &ev))) goto done;
  if ((st = parse_node(&c, &ev, 0, &root))) goto done;
  if (cJSON_IsString(root) && root->valuestring[0] == '\0') {
    cJSON_Delete(root); /* "---" alone or "~": an empty config */
    root = cJSON_CreateObject();
    if (!root) st = ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
  } else if (!cJSON_IsObject(root)) {
    st = ms__fail(MS_ECORRUPT, "config '%s': the top level must be a mapping", origin);
  }
  if (st) goto done;
  if ((st = next_event(&c, &ev))) goto done; /* DOCUMENT-END */
  yaml_event_delete(&ev);
  if ((st = next_event(&c, &ev))) goto done;
  if (ev.type != YAML_STREAM_END_EVENT) st = yfail_event(&c, &ev, "only one YAML document is allowed");
  yaml_event_delete(&ev);
done:
  yaml_parser_delete(&c.p);
  ms__settings s;
  ms__settings_init(&s);
  if (!st && root) st = apply(root, origin, &s);
  cJSON_Delete(root);
  if (st) {
    ms__settings_free(&s);
    return st;
  }
  *out = s;
  return MS_OK;
}
