/* kind_tag.h — the text sinks keep next to a column they created (a
 * ClickHouse column comment, an Iceberg field's doc) saying which source
 * kind its values have: "<source type> [sluice:<kind>/<n>]" (n: the
 * scale, or the bit width of BIT), "[sluice:array/<element kind>/<n>]" for
 * arrays. Reading a table back (`sluice migrate` verification) needs it to
 * render values as the source does, since the sink's type alone is
 * ambiguous (a long may hold INT or BIT(5), a string JSON or ENUM). */
#ifndef SL_KIND_TAG_H
#define SL_KIND_TAG_H

#include <stdint.h>

#include "buf.h"
#include "schema.h"

/* appends c's type name and tag to b */
void sl_kind_tag_for(sl_buf *b, const sl_column *c);
/* the kind and n of a text holding a tag (1), or 0 when it has none */
int sl_kind_tag_parse(const char *text, uint8_t *kind, uint16_t *n, uint8_t *elem_kind);

#endif
