/* xtime.h — time zones and Java date patterns for transform expressions,
 * through ICU (whose time zones come from the tz database and whose
 * SimpleDateFormat patterns are Java's: yyyy-MM-dd HH:mm:ss.SSS).
 *
 * Flink CDC evaluates its temporal functions in the pipeline's
 * local-time-zone; these helpers give the offset of a zone at an instant,
 * the instant of a wall-clock time (Java's rules for gaps and overlaps:
 * a time in a gap moves forward by the gap, an ambiguous time takes the
 * earlier offset), and formatting/parsing with a pattern.
 */
#ifndef SL_XTIME_H
#define SL_XTIME_H

#include <stddef.h>
#include <stdint.h>

typedef struct xtz xtz;

/* "Asia/Shanghai", "UTC", "+08:00", "GMT+8"; NULL = the system's zone */
int xtz_open(const char *id, xtz **out, char *why, size_t wlen);
void xtz_free(xtz *tz);
const char *xtz_id(const xtz *tz);
/* offset from UTC in milliseconds at the instant utc_ms */
int64_t xtz_offset_ms(xtz *tz, int64_t utc_ms);
/* the instant (UTC ms) of the wall-clock time local_ms in the zone */
int64_t xtz_utc_of_local_ms(xtz *tz, int64_t local_ms);

/* microsecond helpers on top of the millisecond offsets */
int64_t xtz_local_us(xtz *tz, int64_t utc_us);
int64_t xtz_utc_us(xtz *tz, int64_t local_us);

/* a compiled Java date pattern for one zone (NULL zone: UTC, for wall-clock
 * values) */
typedef struct xdatefmt xdatefmt;
int xdatefmt_open(const char *pattern, size_t plen, const xtz *tz, xdatefmt **out, char *why, size_t wlen);
void xdatefmt_free(void *f);
/* formats the instant ms (in the formatter's zone); returns the length
 * written into buf (UTF-8) or -1 */
int xdatefmt_format(xdatefmt *f, int64_t ms, char *buf, size_t len);
/* parses text as SimpleDateFormat does (leniently, from the start, trailing
 * text ignored); 0 and *ms on success */
int xdatefmt_parse(xdatefmt *f, const char *text, size_t n, int64_t *ms);

/* civil helpers in microseconds */
int64_t x_floor_div(int64_t a, int64_t b);
void x_split_us(int64_t us, int64_t *days, int64_t *us_of_day);

#endif
