/* TorchServe model-config.yaml, read as plain data with libyaml's event
 * parser: tags, anchors and aliases are refused (no alias expansion bombs),
 * nesting is bounded, and the document becomes a cJSON tree of strings that
 * the settings code then interprets. */
#include "registry/config_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/error.h"
#include "common/text.h"
#include "mserve/common.h"

#define MAX_DEPTH 64
#define MAX_NODES 100000
/* libyaml's limit on a key written without '?' (yaml_parser_stale_simple_keys). */
#define SIMPLE_KEY_MAX 1024

typedef struct yctx {
  yaml_parser_t p;
  const char *origin;
  size_t nodes;
  size_t keys; /* mapping keys in the whole document */
  yaml_mark_t scalar_start, scalar_end; /* of the last scalar read */
  int have_scalar;
} yctx;

static int yfail_event(yctx *c, const yaml_event_t *ev, const char *what) {
  return ms__fail(MS_ECORRUPT, "config '%s': line %zu: %s", c->origin, (size_t)ev->start_mark.line + 1,
                  what);
}

static int key_too_long(yctx *c, size_t line) {
  return ms__fail(MS_ECORRUPT, "config '%s': line %zu: a key longer than %d characters (YAML's limit for a key "
                               "written without '?')",
                  c->origin, line + 1, SIMPLE_KEY_MAX);
}

/* libyaml's error, said the way a person would understand it: a key past
 * its 1024-character limit is reported as such, not as a missing ':' or a
 * misplaced one. libyaml gives up on such a key: either it wants the ':'
 * (the key's line ended, "could not find expected ':'"), or it reads the
 * key as a plain value and then meets its ':' ("mapping values are not
 * allowed") right after that long scalar, on the same line. */
static int parser_fail(yctx *c) {
  const yaml_parser_t *p = &c->p;
  if (p->context && strcmp(p->context, "while scanning a simple key") == 0 &&
      p->context_mark.line == p->problem_mark.line && p->problem_mark.index > p->context_mark.index + SIMPLE_KEY_MAX)
    return key_too_long(c, (size_t)p->context_mark.line);
  if (p->problem && strcmp(p->problem, "mapping values are not allowed in this context") == 0 && c->have_scalar &&
      c->scalar_start.line == p->problem_mark.line && c->scalar_end.line == p->problem_mark.line &&
      p->problem_mark.index >= c->scalar_end.index && p->problem_mark.index > c->scalar_start.index + SIMPLE_KEY_MAX)
    return key_too_long(c, (size_t)p->problem_mark.line);
  return ms__fail(MS_ECORRUPT, "config '%s': line %zu: %s", c->origin, (size_t)p->problem_mark.line + 1,
                  p->problem ? p->problem : "invalid YAML");
}

static int next_event(yctx *c, yaml_event_t *ev) {
  if (!yaml_parser_parse(&c->p, ev)) return parser_fail(c);
  if (ev->type == YAML_SCALAR_EVENT) {
    c->scalar_start = ev->start_mark;
    c->scalar_end = ev->end_mark;
    c->have_scalar = 1;
  }
  if (++c->nodes > MAX_NODES) {
    yaml_event_delete(ev);
    return ms__fail(MS_ECORRUPT, "config '%s': more than %d YAML events", c->origin, MAX_NODES);
  }
  return MS_OK;
}

/* The keys of one mapping with where they were written. */
typedef struct keyline {
  const char *key; /* owned by the mapping's cJSON members */
  size_t line, pos;
} keyline;

typedef struct keylist {
  keyline *v;
  size_t n, cap;
} keylist;

static int cmp_keyline(const void *pa, const void *pb) {
  const keyline *a = pa, *b = pb;
  int c = strcmp(a->key, b->key);
  if (c) return c;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int keylist_add(yctx *c, keylist *l, const char *key, size_t line) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    keyline *g = realloc(l->v, cap * sizeof *g);
    if (!g) return ms__fail(MS_ENOMEM, "config '%s': out of memory", c->origin);
    l->v = g;
    l->cap = cap;
  }
  l->v[l->n] = (keyline){key, line, l->n};
  l->n++;
  return MS_OK;
}

/* A key twice in one mapping is refused. Sorting the keys keeps this
 * O(n log n): a lookup per insertion made 40,000 keys take seconds. */
static int check_duplicates(yctx *c, keylist *l) {
  if (l->n < 2) return MS_OK;
  qsort(l->v, l->n, sizeof *l->v, cmp_keyline);
  const keyline *dup = NULL, *first = NULL;
  for (size_t i = 0; i + 1 < l->n; i++)
    if (strcmp(l->v[i].key, l->v[i + 1].key) == 0 && (!dup || l->v[i + 1].pos < dup->pos)) {
      first = &l->v[i];
      dup = &l->v[i + 1];
    }
  if (!dup) return MS_OK;
  char shown[160];
  return ms__fail(MS_ECORRUPT, "config '%s': line %zu: duplicate key '%s' (first at line %zu)", c->origin,
                  dup->line + 1, ms__text_show(dup->key, shown, sizeof shown), first->line + 1);
}

/* `under` of a mapping key itself. */
static const char AS_KEY[] = "(key)";

/* Parse the node whose first event is *ev (consumed) into *out. `under` is
 * the key the node is the value of (or inside of), AS_KEY for a key itself,
 * NULL for the document. */
static int parse_node(yctx *c, yaml_event_t *ev, int depth, const char *under, cJSON **out) {
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
      else if (!ms__text_utf8_valid((const char *)ev->data.scalar.value, ev->data.scalar.length, NULL)) {
        /* A "\0" escape gives a NUL byte, which would silently cut the
         * value short: refused like any text that is not clean UTF-8. */
        char shown[160], key[160];
        const char *text = ms__text_show_n((const char *)ev->data.scalar.value, ev->data.scalar.length, shown,
                                           sizeof shown);
        if (under == AS_KEY)
          ms__fail(MS_ECORRUPT, "config '%s': line %zu: the key '%s' is not UTF-8 text without NUL", c->origin,
                   (size_t)ev->start_mark.line + 1, text);
        else if (under)
          ms__fail(MS_ECORRUPT, "config '%s': line %zu: key '%s': the value '%s' is not UTF-8 text without NUL",
                   c->origin, (size_t)ev->start_mark.line + 1, ms__text_show(under, key, sizeof key), text);
        else
          ms__fail(MS_ECORRUPT, "config '%s': line %zu: the value '%s' is not UTF-8 text without NUL", c->origin,
                   (size_t)ev->start_mark.line + 1, text);
        st = MS_ECORRUPT;
      } else {
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
      keylist kl = {NULL, 0, 0};
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
          if (++c->keys > MS__CONFIG_MAX_KEYS) {
            st = ms__fail(MS_ECORRUPT, "config '%s': line %zu: more than %d keys (the limit for a model config)",
                          c->origin, (size_t)e.start_mark.line + 1, MS__CONFIG_MAX_KEYS);
            yaml_event_delete(&e);
            break;
          }
          size_t key_line = (size_t)e.start_mark.line;
          if ((st = parse_node(c, &e, depth + 1, AS_KEY, &key))) break;
          yaml_event_t ve;
          if ((st = next_event(c, &ve))) {
            cJSON_Delete(key);
            break;
          }
          if ((st = parse_node(c, &ve, depth + 1, key->valuestring, &val))) {
            cJSON_Delete(key);
            break;
          }
          /* Duplicates are found once the mapping is complete (sorted, n log n). */
          int added = cJSON_AddItemToObject(node, key->valuestring, val);
          cJSON_Delete(key);
          if (!added) {
            cJSON_Delete(val);
            st = ms__fail(MS_ENOMEM, "config '%s': out of memory", c->origin);
            break;
          }
          if ((st = keylist_add(c, &kl, val->string, key_line))) break;
        } else {
          if ((st = parse_node(c, &e, depth + 1, under, &val))) break;
          cJSON_AddItemToArray(node, val);
        }
      }
      if (!st && is_map) st = check_duplicates(c, &kl);
      free(kl.v);
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
  char what[512], shown[160];
  snprintf(what, sizeof what, "config '%s'", origin);
  for (const cJSON *it = root->child; it; it = it->next) {
    int64_t factor = 1;
    int k = ms__registry_key_map_external(it->string, &factor);
    if (k >= 0) {
      if (!cJSON_IsString(it))
        return ms__fail(MS_ECORRUPT, "%s: '%s' must be a scalar", what, it->string);
      int st;
      if (ms__registry_key_is_str(k)) {
        st = ms__registry_settings_set_json(s, it->string, it, what);
      } else {
        int64_t v;
        if (parse_i64(it->valuestring, &v)) {
          /* Digits that overflow int64 are a number out of range, not "not an integer". */
          const char *d = it->valuestring + (it->valuestring[0] == '-' || it->valuestring[0] == '+');
          if (*d && strspn(d, "0123456789") == strlen(d))
            return ms__fail(MS_ECORRUPT, "%s: '%s' = %s is out of range", what, it->string,
                            ms__text_show(it->valuestring, shown, sizeof shown));
          return ms__fail(MS_ECORRUPT, "%s: '%s' must be an integer, got '%s'", what, it->string,
                          ms__text_show(it->valuestring, shown, sizeof shown));
        }
        st = ms__registry_settings_set_int(s, it->string, v, what);
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
    if (!cJSON_AddItemToObject(s->extra, it->string, val)) {
      cJSON_Delete(val);
      return ms__fail(MS_ENOMEM, "%s: out of memory", what);
    }
  }
  return MS_OK;
}

/* The document is not a mapping. A plain scalar may be a key libyaml gave
 * up on (longer than its limit): reading on says so (parser_fail). */
static int not_a_mapping(yctx *c, const cJSON *root, yaml_mark_t start) {
  if (cJSON_IsString(root)) {
    yaml_event_t ev;
    if (next_event(c, &ev)) return MS_ECORRUPT;
    yaml_event_delete(&ev);
  }
  return ms__fail(MS_ECORRUPT, "config '%s': line %zu: the top level must be a mapping (key: value lines), not %s",
                  c->origin, (size_t)start.line + 1, cJSON_IsArray(root) ? "a sequence" : "a single value");
}

int ms__registry_yaml_parse(const char *buf, size_t len, const char *origin, ms__settings *out) {
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
  yaml_mark_t root_mark = ev.start_mark;
  if ((st = parse_node(&c, &ev, 0, NULL, &root))) goto done;
  if (cJSON_IsString(root) && root->valuestring[0] == '\0') {
    cJSON_Delete(root); /* "---" alone or "~": an empty config */
    root = cJSON_CreateObject();
    if (!root) st = ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
  } else if (!cJSON_IsObject(root)) {
    st = not_a_mapping(&c, root, root_mark);
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
  ms__registry_settings_init(&s);
  if (!st && root) st = apply(root, origin, &s);
  cJSON_Delete(root);
  if (st) {
    ms__registry_settings_free(&s);
    return st;
  }
  *out = s;
  return MS_OK;
}
