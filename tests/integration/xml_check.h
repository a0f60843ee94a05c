/* A small well-formedness check for the XML the tools write (SVG plots). */
#ifndef MS_TEST_XML_CHECK_H
#define MS_TEST_XML_CHECK_H

#include <stddef.h>

typedef struct xml_stats {
  char root[32];      /* name of the root element */
  size_t elements;    /* elements seen, root included */
  size_t max_depth;
} xml_stats;

/* Check that `text` is one well-formed XML document: an optional
 * declaration, comments, exactly one root element, properly nested and
 * closed tags, quoted attributes without a raw '<', and only the predefined or
 * numeric entities in text and attributes. Returns 0, or -1 with the reason
 * and byte offset in err. */
int xml_check(const char *text, xml_stats *stats, char *err, size_t errlen);

/* How many elements named `name` the document has (counts start tags). */
size_t xml_count(const char *text, const char *name);

#endif
