/* json_scan.h — finds members of JSON text without building a tree.
 *
 * Reading back what a sink wrote (migrate's verification) must not change
 * a value on the way: a parser would turn 18446744073709551615 into a
 * double. Scanning keeps each value as the exact text that was written,
 * which is what the source side renders too, so the two compare by bytes.
 */
#ifndef SL_JSON_SCAN_H
#define SL_JSON_SCAN_H

#include <stddef.h>

/* End of the JSON value starting at p (after leading blanks), or NULL. */
const char *sl_json_skip(const char *p, const char *end);
/* In the object [obj, end): the raw text of member name's value. */
int sl_json_member(const char *obj, const char *end, const char *name, const char **vstart, const char **vend);

#endif
