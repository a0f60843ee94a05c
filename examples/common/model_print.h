/* A model's settings as the registry CLIs show them (mserve-archive inspect,
 * mserve-registry show/list, mserve-batch): one table of the settings with
 * every spelling a TorchServe user knows (the canonical key, TorchServe's
 * model-config.yaml / config.properties key, the flag) and the flag's unit,
 * so a value shows in the unit it was given in next to its canonical key. */
#ifndef MSERVE_EXAMPLES_MODEL_PRINT_H
#define MSERVE_EXAMPLES_MODEL_PRINT_H

#include <cjson/cJSON.h>
#include <mserve.h>
#include <mserve/registry.h>
#include <stdint.h>
#include <stdio.h>

typedef struct model_setting {
  const char *key;    /* canonical: "max_batch_delay_us" */
  const char *ts_key; /* TorchServe's: "maxBatchDelay" */
  const char *flag;   /* the flag that sets it: "--max-batch-delay" */
  const char *unit;   /* the flag's unit ("ms", "s"), NULL for counts and strings */
  int64_t factor;     /* canonical units per flag unit (1000 for ms -> us), 1 for counts, 0 for strings */
} model_setting;

/* Every setting, in display order; the last has key NULL. */
extern const model_setting model_settings[];

/* The setting spelled `name` in any of its spellings: the canonical key
 * ("max_batch_delay_us"), without its unit suffix ("max_batch_delay"),
 * TorchServe's key ("maxBatchDelay"), or the flag with or without its
 * dashes ("--max-batch-delay", "max-batch-delay"). NULL when none. */
const model_setting *model_setting_find(const char *name);

/* "default", "global", "archive", "api". */
const char *model_source_name(ms_config_source src);

/* Human-readable: identity, then one line per setting with its value, its
 * source and, for a duration, the value in the flag's unit; then every
 * other setting the archive carries (ms_model_get_setting: TorchServe's
 * clientTimeoutInMills, parallelType, ...) with its source. */
void model_print_text(FILE *out, const ms_model *m, const char *indent);

/* {"name","version","runtime","handler","archive","content_hash","default",
 *  "missing","settings":{key:{"value":..,"source":".."}}}: the canonical
 * settings (a duration also with "unit", "flag", "flag_unit"), then the
 * archive's other settings ({"value": text, "source", "applied": false});
 * NULL on ENOMEM. */
cJSON *model_to_json(const ms_model *m);

#endif
