/* charset.c — character data of MySQL columns into UTF-8.
 *
 * utf8mb3/utf8mb4 and ascii pass through; latin1 is MySQL's latin1, which
 * is Windows-1252, converted with a table; binary stays bytes; any other
 * charset goes through iconv with the name libmariadb knows for the
 * collation id.
 */
#include <iconv.h>
#include <stdio.h>
#include <mysql.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "binlog_decode.h"

int sl_mysql_charset_conv(uint32_t coll)
{
    if (coll == 63)
        return SL_CONV_BINARY;
    if (coll == 0)
        return SL_CONV_UTF8;
    MARIADB_CHARSET_INFO *cs = mariadb_get_charset_by_nr(coll);
    if (!cs || !cs->csname) {
        /* MySQL 8's newer utf8mb4 collations (255 and up) and MariaDB's
         * UCA 14 ids may be unknown to the client library */
        return SL_CONV_UTF8;
    }
    const char *n = cs->csname;
    if (strncasecmp(n, "utf8", 4) == 0 || strcasecmp(n, "ascii") == 0)
        return SL_CONV_UTF8;
    if (strcasecmp(n, "latin1") == 0)
        return SL_CONV_LATIN1;
    if (strcasecmp(n, "binary") == 0)
        return SL_CONV_BINARY;
    return SL_CONV_ICONV;
}

/* cp1252 0x80..0x9f; MySQL maps the five undefined bytes to U+0081 etc. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

int sl_mysql_latin1_to_utf8(const uint8_t *in, size_t len, sl_arena *a, const char **out, uint32_t *outlen)
{
    size_t extra = 0, i = 0;
    /* plain ASCII, the common case, is checked a word at a time */
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        if (w & 0x8080808080808080ULL)
            break;
    }
    for (; i < len; i++)
        extra += in[i] >= 0x80 ? 2 : 0;
    if (!extra) {
        char *p = sl_arena_memdup(a, in, len);
        if (!p)
            return -1;
        *out = p;
        *outlen = (uint32_t)len;
        return 0;
    }
    char *p = sl_arena_alloc(a, len + extra + 1), *o = p;
    if (!p)
        return -1;
    for (i = 0; i < len; i++) {
        uint32_t c = in[i];
        if (c >= 0x80 && c < 0xa0)
            c = cp1252_high[c - 0x80];
        if (c < 0x80) {
            *o++ = (char)c;
        } else if (c < 0x800) {
            *o++ = (char)(0xc0 | c >> 6);
            *o++ = (char)(0x80 | (c & 0x3f));
        } else {
            *o++ = (char)(0xe0 | c >> 12);
            *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
            *o++ = (char)(0x80 | (c & 0x3f));
        }
    }
    *out = p;
    *outlen = (uint32_t)(o - p);
    return 0;
}

static const char *iconv_name(const char *mysql)
{
    static const struct {
        const char *my, *ic;
    } map[] = {{"ucs2", "UCS-2BE"}, {"utf16", "UTF-16BE"}, {"utf16le", "UTF-16LE"}, {"utf32", "UTF-32BE"},
               {"cp1251", "CP1251"}, {"cp1250", "CP1250"}, {"cp1256", "CP1256"}, {"cp1257", "CP1257"},
               {"latin2", "ISO-8859-2"}, {"latin5", "ISO-8859-9"}, {"latin7", "ISO-8859-13"},
               {"greek", "ISO-8859-7"}, {"hebrew", "ISO-8859-8"}, {"koi8r", "KOI8-R"}, {"koi8u", "KOI8-U"},
               {"sjis", "SHIFT_JIS"}, {"cp932", "CP932"}, {"ujis", "EUC-JP"}, {"eucjpms", "EUC-JP-MS"},
               {"gbk", "GBK"}, {"gb2312", "GB2312"}, {"big5", "BIG5"}, {"euckr", "EUC-KR"},
               {"tis620", "TIS-620"}, {"cp850", "CP850"}, {"cp852", "CP852"}, {"cp866", "CP866"},
               {"macroman", "MACINTOSH"}, {"swe7", "ASCII"}, {"dec8", "ISO-8859-1"}, {"hp8", "ISO-8859-1"},
               {"armscii8", "ARMSCII-8"}, {"geostd8", "GEORGIAN-PS"}, {"keybcs2", "CP895"}, {NULL, NULL}};
    for (int i = 0; map[i].my; i++)
        if (strcasecmp(map[i].my, mysql) == 0)
            return map[i].ic;
    return mysql;
}

int sl_mysql_iconv_to_utf8(sl_mysql_iconv_cache *c, uint32_t coll, const uint8_t *in, size_t len, sl_arena *a,
                           const char **out, uint32_t *outlen)
{
    MARIADB_CHARSET_INFO *cs = mariadb_get_charset_by_nr(coll);
    if (!cs || !c)
        return -1;
    iconv_t cd = (iconv_t)-1;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->name[i], cs->csname) == 0)
            cd = (iconv_t)c->cd[i];
    if (cd == (iconv_t)-1) {
        cd = iconv_open("UTF-8", iconv_name(cs->csname));
        if (cd == (iconv_t)-1)
            return -1;
        if (c->n < 8) {
            snprintf(c->name[c->n], sizeof c->name[c->n], "%s", cs->csname);
            c->cd[c->n++] = cd;
        }
    }
    int cached = 0;
    for (int i = 0; i < c->n; i++)
        cached |= c->cd[i] == (void *)cd;
    /* every value is a whole text of its own: start from the initial
     * shift state, convert all of it (an incomplete sequence at the end is
     * an error, not a shorter value), then flush what a stateful charset
     * still holds. A descriptor the cache has no room for is closed on
     * every path. */
    size_t cap = len * 4 + 8;
    char *p = sl_arena_alloc(a, cap);
    char *inp = (char *)in, *outp = p;
    size_t inleft = len, outleft = cap;
    int rc = -1;
    if (p && iconv(cd, NULL, NULL, NULL, NULL) != (size_t)-1 &&
        iconv(cd, &inp, &inleft, &outp, &outleft) != (size_t)-1 && inleft == 0 &&
        iconv(cd, NULL, NULL, &outp, &outleft) != (size_t)-1) {
        *out = p;
        *outlen = (uint32_t)(cap - outleft);
        rc = 0;
    }
    if (!cached)
        iconv_close(cd);
    else if (rc)
        iconv(cd, NULL, NULL, NULL, NULL); /* a failed value leaves no shift state behind */
    return rc;
}

void sl_mysql_iconv_cache_free(sl_mysql_iconv_cache *c)
{
    for (int i = 0; i < c->n; i++)
        iconv_close((iconv_t)c->cd[i]);
    c->n = 0;
}
