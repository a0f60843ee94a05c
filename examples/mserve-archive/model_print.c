/* Shared output of the registry CLIs: one place decides how a setting and its
 * source look, so mserve-archive and mserve-registry never disagree. */
#include "model_print.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "units.h" /* lib/common: the library's checked unit conversions (header only) */

const char *const model_setting_keys[] = {"batch_size", "max_batch_delay_us", "max_queue_size", "request_timeout_us",
                                          "min_workers", "max_workers", "device", NULL};

const char *model_source_name(ms_config_source src) {
  switch (src) {
    case MS_SRC_DEFAULT: return "default";
    case MS_SRC_GLOBAL: return "global";
    case MS_SRC_ARCHIVE: return "archive";
    case MS_SRC_API: return "api";
  }
  return "unknown";
}

static int is_str_key(const char *key) { return strcmp(key, "device") == 0; }

void model_print_text(FILE *out, const ms_model *m, const char *indent) {
  fprintf(out, "%s%s %s%s%s\n", indent, tx(ms_model_name(m)), tx(ms_model_version(m)),
          ms_model_is_default(m) ? " (default)" : "", ms_model_is_missing(m) ? " (MISSING)" : "");
  fprintf(out, "%s  runtime   %s\n", indent, tx(ms_model_runtime(m)));
  fprintf(out, "%s  handler   %s\n", indent, tx(ms_model_handler(m)));
  if (*ms_model_archive_path(m)) fprintf(out, "%s  archive   %s\n", indent, tx(ms_model_archive_path(m)));
  fprintf(out, "%s  sha256    %s\n", indent, tx(ms_model_content_hash(m)));
  fprintf(out, "%s  settings  (value, source)\n", indent);
  for (size_t i = 0; model_setting_keys[i]; i++) {
    const char *key = model_setting_keys[i];
    ms_config_source src = MS_SRC_DEFAULT;
    if (is_str_key(key)) {
      const char *v = NULL;
      int st = ms_model_get_str(m, key, &v, &src);
      if (st == MS_OK)
        fprintf(out, "%s    %-20s %-12s %s\n", indent, key, tx(v), model_source_name(src));
      else
        fprintf(out, "%s    %-20s %-12s %s\n", indent, key, "(unset)", "-");
    } else {
      int64_t v = 0;
      int st = ms_model_get_int(m, key, &v, &src);
      if (st == MS_OK)
        fprintf(out, "%s    %-20s %-12lld %s\n", indent, key, (long long)v, model_source_name(src));
      else
        fprintf(out, "%s    %-20s %-12s %s\n", indent, key, "(unset)", "-");
    }
  }
}

cJSON *model_to_json(const ms_model *m) {
  cJSON *o = cJSON_CreateObject();
  cJSON *settings = cJSON_CreateObject();
  if (!o || !settings) {
    cJSON_Delete(o);
    cJSON_Delete(settings);
    return NULL;
  }
  json_add_str(o, "name", ms_model_name(m));
  json_add_str(o, "version", ms_model_version(m));
  json_add_str(o, "runtime", ms_model_runtime(m));
  json_add_str(o, "handler", ms_model_handler(m));
  json_add_str(o, "archive", ms_model_archive_path(m));
  json_add_str(o, "content_hash", ms_model_content_hash(m));
  cJSON_AddBoolToObject(o, "default", ms_model_is_default(m));
  cJSON_AddBoolToObject(o, "missing", ms_model_is_missing(m));
  cJSON_AddItemToObject(o, "settings", settings);
  for (size_t i = 0; model_setting_keys[i]; i++) {
    const char *key = model_setting_keys[i];
    ms_config_source src = MS_SRC_DEFAULT;
    cJSON *s = cJSON_CreateObject();
    if (!s) break;
    int st;
    if (is_str_key(key)) {
      const char *v = NULL;
      st = ms_model_get_str(m, key, &v, &src);
      if (st == MS_OK) json_add_str(s, "value", v);
    } else {
      int64_t v = 0;
      st = ms_model_get_int(m, key, &v, &src);
      if (st == MS_OK) { /* digit for digit: cJSON's own printing rounds past 10^15 */
        char digits[24];
        snprintf(digits, sizeof digits, "%lld", (long long)v);
        cJSON_AddRawToObject(s, "value", digits);
      }
    }
    if (st == MS_OK)
      cJSON_AddStringToObject(s, "source", model_source_name(src));
    else
      cJSON_AddNullToObject(s, "value");
    cJSON_AddItemToObject(settings, key, s);
  }
  return o;
}

int status_exit_code(int status) {
  switch (status) {
    case MS_OK: return 0;
    case MS_ENOTFOUND:
    case MS_EEXIST:
    case MS_ELIMIT:
    case MS_ECORRUPT:
    case MS_EUNSAFE:
    case MS_EUNSUPPORTED:
    case MS_ECONFLICT: return EXIT_BAD;
    default: return EXIT_USAGE; /* EINVAL (usage), EIO, ENOMEM, EBUSY, EINTERNAL ... */
  }
}

int report_failure_msg(const char *tool, int json, int status, const char *message) {
  int code = status_exit_code(status);
  fprintf(stderr, "%s: %s: %s\n", tool, ms_status_name(status), tx(message));
  if (json) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddBoolToObject(o, "ok", 0);
      cJSON_AddStringToObject(o, "status", ms_status_name(status));
      cJSON_AddNumberToObject(o, "code", code);
      json_add_str(o, "message", message);
      char *txt = cJSON_PrintUnformatted(o);
      if (txt) printf("%s\n", txt);
      cJSON_free(txt);
      cJSON_Delete(o);
    }
  }
  return code;
}

int report_usage(const char *tool, int json, const char *message) {
  fprintf(stderr, "%s: %s\ntry '%s --help'\n", tool, tx(message), tool);
  if (json) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddBoolToObject(o, "ok", 0);
      cJSON_AddStringToObject(o, "status", "usage");
      cJSON_AddNumberToObject(o, "code", EXIT_USAGE);
      json_add_str(o, "message", message);
      char *txt = cJSON_PrintUnformatted(o);
      if (txt) printf("%s\n", txt);
      cJSON_free(txt);
      cJSON_Delete(o);
    }
  }
  return EXIT_USAGE;
}

int argv_has_json(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--json") == 0) return 1;
  return 0;
}

int report_failure(const char *tool, int json, const char *what, int status) {
  char msg[2048];
  snprintf(msg, sizeof msg, "%s: %s", what, ms_errmsg());
  return report_failure_msg(tool, json, status, msg);
}

int print_json(cJSON *obj) {
  if (!obj) return EXIT_USAGE;
  cJSON_AddBoolToObject(obj, "ok", 1);
  char *txt = cJSON_PrintUnformatted(obj);
  cJSON_Delete(obj);
  if (!txt) return EXIT_USAGE;
  printf("%s\n", txt);
  cJSON_free(txt);
  return 0;
}

int parse_int_arg(const char *s, long long *out) {
  if (!s || !*s || strspn(s, "0123456789") != strlen(s)) return -1;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < 0) return -1;
  *out = v;
  return 0;
}

int parse_scaled_arg(const char *s, int64_t factor, int64_t *out) {
  long long v = 0;
  if (parse_int_arg(s, &v) != 0) return s && *s && strspn(s, "0123456789") == strlen(s) ? -2 : -1; /* digits past int64 */
  int64_t us = 0;
  if (ms__units_mul((int64_t)v, factor, &us) != 0) return -2;
  *out = us;
  return 0;
}

/* ---- safe text ------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s (at least one byte left
 * before the NUL), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp, min;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1Fu, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0Fu, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07u, min = 0x10000;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0; /* the NUL terminator stops here too */
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

int text_is_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    size_t n = utf8_len(p);
    if (!n) return 0;
    p += n;
  }
  return 1;
}

const char *tx(const char *s) {
  static char *ring[16];
  static size_t caps[16];
  static unsigned next;
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t need = strlen((const char *)p) * 4 + 1; /* at worst every byte as \xNN */
  unsigned slot = next++ % 16;
  if (caps[slot] < need) {
    char *g = realloc(ring[slot], need);
    if (!g) return "";
    ring[slot] = g;
    caps[slot] = need;
  }
  char *o = ring[slot];
  while (*p) {
    size_t n = utf8_len(p);
    int c1 = n == 2 && p[0] == 0xC2 && p[1] <= 0x9F; /* U+0080..U+009F */
    if (n == 1 && *p >= 0x20 && *p != 0x7F && *p != '\\') {
      *o++ = (char)*p++;
    } else if (n == 1 && *p == '\\') {
      *o++ = '\\', *o++ = '\\';
      p++;
    } else if (n > 1 && !c1) {
      memcpy(o, p, n);
      o += n, p += n;
    } else {
      snprintf(o, 5, "\\x%02X", (unsigned)*p++);
      o += 4;
    }
  }
  *o = '\0';
  return ring[slot];
}

cJSON *json_add_str(cJSON *o, const char *key, const char *s) {
  if (!s) s = "";
  if (text_is_utf8(s)) return cJSON_AddStringToObject(o, key, s);
  const unsigned char *p = (const unsigned char *)s;
  char *buf = malloc(strlen(s) * 3 + 1), *w = buf; /* U+FFFD is 3 bytes */
  if (!buf) return NULL;
  while (*p) {
    size_t n = utf8_len(p);
    if (n) {
      memcpy(w, p, n);
      w += n, p += n;
    } else {
      memcpy(w, "\xEF\xBF\xBD", 3);
      w += 3, p++;
    }
  }
  *w = '\0';
  cJSON *it = cJSON_AddStringToObject(o, key, buf);
  free(buf);
  return it;
}
