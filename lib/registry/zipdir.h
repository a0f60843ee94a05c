/* Internal: locating and hashing a zip's central directory without
 * libarchive, for the content hash (zipdir.c).
 *
 * Layer: leaf reader (source.h, lib/common). Used by zip.c. */
#ifndef MS_REGISTRY_ZIPDIR_H
#define MS_REGISTRY_ZIPDIR_H

#include "common/sha256.h"
#include "registry/source.h"

/* Hash the zip's central directory and end records into h: they hold
 * every entry's name, CRC-32, sizes and offset, so any change of content
 * changes them, and they are a tiny part of the file. MS_ECORRUPT when no
 * valid end of central directory record is found. */
int ms__registry_zip_hash_directory(const ms__source *s, ms__sha256 *h);

#endif
