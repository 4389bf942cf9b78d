/* tablemap.c — TABLE_MAP events into sluice schemas.
 *
 * With binlog_row_metadata=FULL the event carries, after the classic type
 * and metadata arrays, optional TLV fields: signedness, charsets, column
 * names, ENUM/SET members and the primary key. Those make sluice
 * independent of DDL parsing and schema-history stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "binlog_decode.h"

typedef struct rd {
    const uint8_t *p, *end;
    int bad;
} rd;

static uint64_t rd_lenenc(rd *r)
{
    if (r->p >= r->end) {
        r->bad = 1;
        return 0;
    }
    uint8_t c = *r->p++;
    int n = c < 251 ? 0 : c == 252 ? 2 : c == 253 ? 3 : c == 254 ? 8 : -1;
    if (n < 0) {
        r->bad = 1;
        return 0;
    }
    if (n == 0)
        return c;
    if (r->end - r->p < n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static const uint8_t *rd_bytes(rd *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

/* The column types that own a bit in the SIGNEDNESS metadata, one bit per
 * such column in column order, most significant bit first.
 *
 * MariaDB (sql/log_event_server.cc, Table_map_log_event::
 * init_signedness_field): every column whose Binlog_type_info carries a
 * signedness, which is every Field_num (sql/field.h: Field_num::
 * binlog_type_info): TINYINT, SMALLINT, MEDIUMINT, INT, BIGINT, FLOAT,
 * DOUBLE, DECIMAL, the pre-5.0 DECIMAL, and YEAR, because Field_year
 * derives from Field_tiny (its bit is set: YEAR is built unsigned).
 *
 * MySQL 8.0 (sql/log_event.cc, is_numeric_field): up to 8.0.20 it is
 * is_numeric_type() of sql/field.h, the same list without YEAR; 8.0.41 and
 * 8.4 use has_signedess_information_type() of
 * sql/field_common_properties.h, which adds YEAR ("still contains sign
 * modifiers even if ignored"). Both were read; the release in between that
 * switched was not, and 8.0.21 (the first release after 8.0.20, the year
 * that header was written) is taken as the first with YEAR. Where the
 * field's byte count can only be one of the two counts, it decides. */
static int is_numeric_no_year(int t)
{
    return t == MT_TINY || t == MT_SHORT || t == MT_INT24 || t == MT_LONG || t == MT_LONGLONG || t == MT_FLOAT ||
           t == MT_DOUBLE || t == MT_NEWDECIMAL || t == MT_DECIMAL;
}

enum { MYSQL_FIRST_YEAR_SIGNEDNESS = 80021 };

static int year_has_bit(const sl_mysql_server *srv, uint64_t n_other, uint64_t n_year, size_t field_len)
{
    size_t without = (size_t)((n_other + 7) / 8), with = (size_t)((n_other + n_year + 7) / 8);
    if (without != with && (field_len == without || field_len == with))
        return field_len == with;
    if (srv && !srv->mariadb && srv->version && srv->version < MYSQL_FIRST_YEAR_SIGNEDNESS)
        return 0;
    return 1;
}

void sl_mysql_server_parse(const char *version, size_t len, sl_mysql_server *out)
{
    char v[64];
    size_t n = 0;
    while (n < len && n + 1 < sizeof v && version[n])
        n++;
    memcpy(v, version, n);
    v[n] = 0;
    out->mariadb = strstr(v, "MariaDB") != NULL;
    out->version = 0;
    /* MariaDB before 11 may announce itself as "5.5.5-10.11.6-MariaDB" to
     * clients that expect a 5.x major version */
    const char *p = v;
    if (out->mariadb && strncmp(p, "5.5.5-", 6) == 0)
        p += 6;
    unsigned a, b, c;
    if (sscanf(p, "%u.%u.%u", &a, &b, &c) == 3 && a < 100 && b < 100 && c < 100)
        out->version = a * 10000 + b * 100 + c;
}

static int is_enum_set(int real) { return real == MT_ENUM || real == MT_SET; }

/* The columns that own an entry in the DEFAULT_CHARSET / COLUMN_CHARSET
 * metadata. MySQL (sql/log_event.cc, is_character_type of the real type):
 * CHAR, VARCHAR and the BLOB/TEXT family. MariaDB (sql/log_event_server.cc,
 * is_character_field): every column whose Binlog_type_info carries a
 * charset and is not ENUM/SET, which adds GEOMETRY (sql/sql_type_geom.cc:
 * Field_geom::binlog_type_info passes its binary charset) -- a GEOMETRY
 * column shifted every charset after it. */
static int is_character(int t, int real, const sl_mysql_server *srv)
{
    if (is_enum_set(real))
        return 0;
    if (t == MT_GEOMETRY)
        return !srv || srv->mariadb;
    return t == MT_STRING || t == MT_VAR_STRING || t == MT_VARCHAR || t == MT_BLOB || t == MT_TINY_BLOB ||
           t == MT_MEDIUM_BLOB || t == MT_LONG_BLOB;
}

static const char *base_name(int real, uint32_t meta, int binary)
{
    switch (real) {
    case MT_TINY: return "tinyint";
    case MT_SHORT: return "smallint";
    case MT_INT24: return "mediumint";
    case MT_LONG: return "int";
    case MT_LONGLONG: return "bigint";
    case MT_FLOAT: return "float";
    case MT_DOUBLE: return "double";
    case MT_NEWDECIMAL: case MT_DECIMAL: return "decimal";
    case MT_YEAR: return "year";
    case MT_DATE: case MT_NEWDATE: return "date";
    case MT_TIME: case MT_TIME2: return "time";
    case MT_DATETIME: case MT_DATETIME2: return "datetime";
    case MT_TIMESTAMP: case MT_TIMESTAMP2: return "timestamp";
    case MT_BIT: return "bit";
    case MT_VARCHAR: case MT_VAR_STRING: return binary ? "varbinary" : "varchar";
    case MT_STRING: return binary ? "binary" : "char";
    case MT_ENUM: return "enum";
    case MT_SET: return "set";
    case MT_JSON: return "json";
    case MT_GEOMETRY: return "geometry";
    case MT_BLOB: case MT_TINY_BLOB: case MT_MEDIUM_BLOB: case MT_LONG_BLOB:
        switch (meta) {
        case 1: return binary ? "tinyblob" : "tinytext";
        case 2: return binary ? "blob" : "text";
        case 3: return binary ? "mediumblob" : "mediumtext";
        default: return binary ? "longblob" : "longtext";
        }
    case MT_NULL: return "null";
    }
    return "unknown";
}

static int kind_of(int real, int is_unsigned, int binary)
{
    switch (real) {
    case MT_TINY: case MT_SHORT: case MT_INT24: case MT_LONG: case MT_LONGLONG:
        return is_unsigned ? SL_UINT : SL_INT;
    case MT_FLOAT: return SL_FLOAT;
    case MT_DOUBLE: return SL_DOUBLE;
    case MT_NEWDECIMAL: case MT_DECIMAL: return SL_DECIMAL;
    case MT_YEAR: return SL_YEAR;
    case MT_DATE: case MT_NEWDATE: return SL_DATE;
    case MT_TIME: case MT_TIME2: return SL_TIME;
    case MT_DATETIME: case MT_DATETIME2: return SL_DATETIME;
    case MT_TIMESTAMP: case MT_TIMESTAMP2: return SL_TIMESTAMP;
    case MT_BIT: return SL_BIT;
    case MT_ENUM: return SL_ENUM;
    case MT_SET: return SL_SET;
    case MT_JSON: return SL_JSON;
    case MT_GEOMETRY: return SL_BYTES;
    case MT_NULL: return SL_NULL;
    default: return binary ? SL_BYTES : SL_STRING;
    }
}

/* The catalog (information_schema) names DATE and the 5.6 temporal types
 * by these codes; TABLE_MAP uses the same, so schemas compare equal. */
static uint32_t canonical_type(int real)
{
    switch (real) {
    case MT_NEWDATE: return MT_DATE;
    case MT_TIME: return MT_TIME2;
    case MT_DATETIME: return MT_DATETIME2;
    case MT_TIMESTAMP: return MT_TIMESTAMP2;
    case MT_VAR_STRING: return MT_VARCHAR;
    case MT_TINY_BLOB: case MT_MEDIUM_BLOB: case MT_LONG_BLOB: return MT_BLOB;
    case MT_DECIMAL: return MT_NEWDECIMAL;
    default: return (uint32_t)real;
    }
}

static char *dup_n(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static void free_lens(uint32_t **mlens, uint64_t ncols)
{
    for (uint64_t i = 0; i < ncols; i++)
        free(mlens[i]);
    free(mlens);
}

/* The members of an ENUM/SET arrive in the column's charset; the schema
 * carries them in UTF-8 (type names, Kafka Connect and ClickHouse enum
 * definitions read them), and rows then take them as they are. A UTF-16
 * member holds zero bytes, so its length comes from the event (lens). */
static int members_to_utf8(sl_column *c, const uint32_t *lens, char *why, size_t whylen)
{
    if (!lens || (c->conv != SL_CONV_LATIN1 && c->conv != SL_CONV_ICONV))
        return 0;
    sl_arena a;
    sl_arena_init(&a);
    sl_mysql_iconv_cache ic = {0};
    int rc = 0;
    for (uint32_t k = 0; k < c->n_enum_values && !rc; k++) {
        const char *u;
        uint32_t ul;
        const uint8_t *m = (const uint8_t *)c->enum_values[k];
        rc = c->conv == SL_CONV_LATIN1 ? sl_mysql_latin1_to_utf8(m, lens[k], &a, &u, &ul)
                                       : sl_mysql_iconv_to_utf8(&ic, c->charset, m, lens[k], &a, &u, &ul);
        if (rc || memchr(u, 0, ul)) {
            snprintf(why, whylen, "member %u of the %s is not valid in its charset (collation %u)", k + 1,
                     c->kind == SL_ENUM ? "ENUM" : "SET", c->charset);
            rc = -1;
            break;
        }
        char *d = dup_n((const uint8_t *)u, ul);
        if (!d) {
            snprintf(why, whylen, "out of memory");
            rc = -1;
            break;
        }
        free(c->enum_values[k]);
        c->enum_values[k] = d;
    }
    if (!rc)
        c->conv = SL_CONV_UTF8;
    sl_mysql_iconv_cache_free(&ic);
    sl_arena_free(&a);
    return rc;
}

/* The legal range of a column's metadata; NULL when it is in range. Checked
 * here once, so the row decoder can size every value from it. */
static const char *bad_metadata(int rt, uint32_t md, char *why, size_t n)
{
    switch (rt) {
    case MT_TINY: case MT_SHORT: case MT_INT24: case MT_LONG: case MT_LONGLONG: case MT_FLOAT: case MT_DOUBLE:
    case MT_NULL: case MT_DATE: case MT_NEWDATE: case MT_YEAR: case MT_VARCHAR: case MT_VAR_STRING: case MT_STRING:
        return NULL;
    case MT_NEWDECIMAL: {
        unsigned prec = md >> 8, scale = md & 0xff;
        if (prec < 1 || prec > 65 || scale > 30 || scale > prec) {
            snprintf(why, n, "DECIMAL(%u,%u) is outside precision 1..65, scale 0..30 and <= precision", prec, scale);
            return why;
        }
        return NULL;
    }
    case MT_TIME2: case MT_DATETIME2: case MT_TIMESTAMP2:
        if (md > 6) {
            snprintf(why, n, "fractional-second precision %u is outside 0..6", md);
            return why;
        }
        return NULL;
    case MT_BIT: {
        unsigned bytes = md >> 8, bits = md & 0xff;
        if (bits > 7 || bytes > 8 || bytes * 8 + bits < 1 || bytes * 8 + bits > 64) {
            snprintf(why, n, "BIT metadata (%u bytes + %u bits) is outside 1..64 bits", bytes, bits);
            return why;
        }
        return NULL;
    }
    case MT_BLOB: case MT_TINY_BLOB: case MT_MEDIUM_BLOB: case MT_LONG_BLOB: case MT_GEOMETRY: case MT_JSON:
        if (md < 1 || md > 4) {
            snprintf(why, n, "length width %u is outside 1..4 bytes", md);
            return why;
        }
        return NULL;
    case MT_ENUM:
        if (md < 1 || md > 2) {
            snprintf(why, n, "ENUM width %u is outside 1..2 bytes", md);
            return why;
        }
        return NULL;
    case MT_SET:
        if (md < 1 || (md > 4 && md != 8)) {
            snprintf(why, n, "SET width %u is not 1, 2, 3, 4 or 8 bytes", md);
            return why;
        }
        return NULL;
    case MT_TIMESTAMP: case MT_DATETIME: case MT_TIME:
        snprintf(why, n,
                 "binlog type %d is the pre-MySQL-5.6 temporal format, which sluice does not decode; rebuild the "
                 "table (ALTER TABLE ... FORCE; on MariaDB with mysql56_temporal_format=ON)",
                 rt);
        return why;
    default:
        snprintf(why, n, "binlog type %d is not supported", rt);
        return why;
    }
}

int sl_mysql_table_map_names(const uint8_t *body, size_t len, char *db, char *table)
{
    rd r = {body, body + len, 0};
    rd_bytes(&r, 8);
    const uint8_t *dl = rd_bytes(&r, 1);
    const uint8_t *d = dl ? rd_bytes(&r, (size_t)*dl + 1) : NULL;
    const uint8_t *tl = rd_bytes(&r, 1);
    const uint8_t *t = tl ? rd_bytes(&r, (size_t)*tl + 1) : NULL;
    if (r.bad)
        return -1;
    snprintf(db, 256, "%.*s", (int)*dl, (const char *)d);
    snprintf(table, 256, "%.*s", (int)*tl, (const char *)t);
    return 0;
}

/* Adds column idx to the primary key once; a TABLE_MAP naming a column
 * twice (or more key columns than the table has) cannot overrun pk. */
static void add_pk(sl_table_schema *s, uint64_t idx)
{
    if (idx >= (uint64_t)s->ncols || s->cols[idx].is_pk || s->npk >= s->ncols)
        return;
    s->cols[idx].is_pk = 1;
    s->pk[s->npk++] = (int)idx;
}

int sl_mysql_parse_table_map(const uint8_t *body, size_t len, const sl_mysql_server *srv, uint64_t *table_id,
                             sl_table_schema **out, sl_err *err)
{
    *out = NULL;
    rd r = {body, body + len, 0};
    const uint8_t *h = rd_bytes(&r, 8);
    if (!h)
        return sl_errf(err, SL_ERUNTIME, "TABLE_MAP event too short");
    uint64_t id = 0;
    for (int i = 0; i < 6; i++)
        id |= (uint64_t)h[i] << (8 * i);
    *table_id = id;
    const uint8_t *dbl = rd_bytes(&r, 1);
    size_t dlen = dbl ? *dbl : 0;
    const uint8_t *db = rd_bytes(&r, dlen + 1);
    const uint8_t *tbl_l = rd_bytes(&r, 1);
    size_t tlen = tbl_l ? *tbl_l : 0;
    const uint8_t *tb = rd_bytes(&r, tlen + 1);
    uint64_t ncols = rd_lenenc(&r);
    if (r.bad || ncols > 4096)
        return sl_errf(err, SL_ERUNTIME, "malformed TABLE_MAP event");
    const uint8_t *types = rd_bytes(&r, ncols);
    uint64_t mlen = rd_lenenc(&r);
    const uint8_t *meta = rd_bytes(&r, mlen);
    const uint8_t *nulls = rd_bytes(&r, (ncols + 7) / 8);
    if (r.bad)
        return sl_errf(err, SL_ERUNTIME, "malformed TABLE_MAP event");
    char dbname[256], tbname[256];
    snprintf(dbname, sizeof dbname, "%.*s", (int)dlen, (const char *)db);
    snprintf(tbname, sizeof tbname, "%.*s", (int)tlen, (const char *)tb);
    sl_table_schema *s = sl_schema_new(dbname, NULL, tbname, (int)ncols);
    if (!s)
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    int real[4096];
    /* classic metadata, one entry per column with a type-dependent width */
    const uint8_t *m = meta, *mend = meta + mlen;
    for (uint64_t i = 0; i < ncols; i++) {
        sl_column *c = &s->cols[i];
        int t = types[i];
        uint32_t md = 0;
        int rt = t;
        switch (t) {
        case MT_FLOAT: case MT_DOUBLE: case MT_BLOB: case MT_GEOMETRY: case MT_JSON:
        case MT_TIMESTAMP2: case MT_DATETIME2: case MT_TIME2:
            if (m < mend)
                md = *m++;
            break;
        case MT_VARCHAR: case MT_VAR_STRING:
            if (mend - m >= 2) {
                md = (uint32_t)m[0] | (uint32_t)m[1] << 8;
                m += 2;
            }
            break;
        case MT_BIT:
            if (mend - m >= 2) {
                md = (uint32_t)m[1] << 8 | m[0]; /* bytes << 8 | bits */
                m += 2;
            }
            break;
        case MT_NEWDECIMAL:
            if (mend - m >= 2) {
                md = (uint32_t)m[0] << 8 | m[1]; /* precision << 8 | scale */
                m += 2;
            }
            break;
        case MT_STRING: case MT_ENUM: case MT_SET:
            if (mend - m >= 2) {
                uint8_t b0 = m[0], b1 = m[1];
                m += 2;
                if ((b0 & 0x30) != 0x30) {
                    /* CHAR longer than 255: two length bits hide in the type byte */
                    rt = b0 | 0x30;
                    md = b1 | (((uint32_t)(b0 & 0x30) ^ 0x30) << 4);
                } else {
                    rt = b0;
                    md = b1;
                }
            }
            break;
        default:
            break;
        }
        real[i] = rt;
        c->src_type = canonical_type(rt);
        c->src_meta = md;
        c->nullable = (nulls[i / 8] >> (i % 8)) & 1;
        if (rt == MT_NEWDECIMAL) {
            c->precision = (uint16_t)(md >> 8);
            c->scale = (uint16_t)(md & 0xff);
        } else if (rt == MT_BIT) {
            c->precision = (uint16_t)((md >> 8) * 8 + (md & 0xff));
        } else if (rt == MT_TIME2 || rt == MT_DATETIME2 || rt == MT_TIMESTAMP2) {
            c->scale = (uint16_t)md;
        } else if (rt == MT_STRING || rt == MT_VARCHAR || rt == MT_VAR_STRING) {
            c->precision = (uint16_t)md; /* in bytes */
        }
    }
    /* optional metadata; ENUM/SET members keep their byte lengths until
     * their charset (a later field) is known */
    uint32_t **mlens = calloc((size_t)(ncols ? ncols : 1), sizeof *mlens);
    if (!mlens) {
        sl_schema_free(s);
        return sl_errf(err, SL_ERUNTIME, "out of memory");
    }
    int have_names = 0;
    uint64_t n_other = 0, n_year = 0;
    for (uint64_t i = 0; i < ncols; i++) {
        n_other += is_numeric_no_year(real[i]);
        n_year += real[i] == MT_YEAR;
    }
    while (r.p < r.end && !r.bad) {
        uint8_t type = *r.p++;
        uint64_t flen = rd_lenenc(&r);
        const uint8_t *f = rd_bytes(&r, flen);
        if (!f)
            break;
        rd fr = {f, f + flen, 0};
        switch (type) {
        case 1: { /* SIGNEDNESS: one bit per numeric column, MSB first */
            int year_bit = year_has_bit(srv, n_other, n_year, (size_t)flen);
            uint64_t k = 0;
            for (uint64_t i = 0; i < ncols; i++) {
                int has_bit = is_numeric_no_year(real[i]) || (year_bit && real[i] == MT_YEAR);
                if (!has_bit)
                    continue;
                /* YEAR carries the bit but is always unsigned: keep its
                 * type name "year", as the catalog spells it */
                if (k / 8 < flen && (f[k / 8] >> (7 - k % 8)) & 1 && real[i] != MT_YEAR)
                    s->cols[i].is_unsigned = 1;
                k++;
            }
            break;
        }
        case 2:   /* DEFAULT_CHARSET */
        case 10: { /* ENUM_AND_SET_DEFAULT_CHARSET */
            uint64_t dflt = rd_lenenc(&fr);
            int enumset = type == 10;
            for (uint64_t i = 0; i < ncols; i++)
                if (enumset ? is_enum_set(real[i]) : is_character(types[i], real[i], srv))
                    s->cols[i].charset = (uint32_t)dflt;
            while (fr.p < fr.end && !fr.bad) {
                uint64_t idx = rd_lenenc(&fr), coll = rd_lenenc(&fr);
                uint64_t k = 0;
                for (uint64_t i = 0; i < ncols; i++) {
                    if (!(enumset ? is_enum_set(real[i]) : is_character(types[i], real[i], srv)))
                        continue;
                    if (k++ == idx)
                        s->cols[i].charset = (uint32_t)coll;
                }
            }
            break;
        }
        case 3:   /* COLUMN_CHARSET */
        case 11: { /* ENUM_AND_SET_COLUMN_CHARSET */
            int enumset = type == 11;
            for (uint64_t i = 0; i < ncols && fr.p < fr.end; i++)
                if (enumset ? is_enum_set(real[i]) : is_character(types[i], real[i], srv))
                    s->cols[i].charset = (uint32_t)rd_lenenc(&fr);
            break;
        }
        case 4: /* COLUMN_NAME */
            for (uint64_t i = 0; i < ncols && fr.p < fr.end; i++) {
                uint64_t nl = rd_lenenc(&fr);
                const uint8_t *nm = rd_bytes(&fr, nl);
                if (nm) {
                    free(s->cols[i].name); /* a repeated field replaces, never leaks */
                    s->cols[i].name = dup_n(nm, nl);
                }
            }
            have_names = 1;
            break;
        case 5:   /* SET_STR_VALUE */
        case 6: { /* ENUM_STR_VALUE */
            int want = type == 5 ? MT_SET : MT_ENUM;
            for (uint64_t i = 0; i < ncols && fr.p < fr.end; i++) {
                if (real[i] != want)
                    continue;
                uint64_t cnt = rd_lenenc(&fr);
                /* every member takes at least its length byte */
                if (fr.bad || cnt > 65535 || cnt > (uint64_t)(fr.end - fr.p))
                    break;
                sl_column *c = &s->cols[i];
                for (uint32_t k = 0; k < c->n_enum_values; k++)
                    free(c->enum_values[k]);
                free(c->enum_values);
                c->n_enum_values = 0;
                free(mlens[i]);
                c->enum_values = calloc(cnt ? cnt : 1, sizeof *c->enum_values);
                mlens[i] = calloc(cnt ? cnt : 1, sizeof *mlens[i]);
                if (!c->enum_values || !mlens[i])
                    break;
                c->n_enum_values = (uint32_t)cnt;
                for (uint64_t k = 0; k < cnt; k++) {
                    uint64_t vl = rd_lenenc(&fr);
                    const uint8_t *v = rd_bytes(&fr, vl);
                    c->enum_values[k] = v ? dup_n(v, vl) : strdup("");
                    mlens[i][k] = v ? (uint32_t)vl : 0;
                }
            }
            break;
        }
        case 8: /* SIMPLE_PRIMARY_KEY */
            while (fr.p < fr.end && !fr.bad)
                add_pk(s, rd_lenenc(&fr));
            break;
        case 9: /* PRIMARY_KEY_WITH_PREFIX */
            while (fr.p < fr.end && !fr.bad) {
                uint64_t idx = rd_lenenc(&fr);
                rd_lenenc(&fr);
                add_pk(s, idx);
            }
            break;
        default:
            break;
        }
    }
    if (!have_names) {
        int rc = sl_errf(err, SL_ECONFIG,
                         "the binlog has no column names for table %s.%s: binlog_row_metadata is MINIMAL, sluice "
                         "needs FULL: SET GLOBAL binlog_row_metadata = 'FULL' (and binlog_row_metadata=FULL in "
                         "my.cnf)",
                         dbname, tbname);
        free_lens(mlens, ncols);
        sl_schema_free(s);
        return rc;
    }
    for (uint64_t i = 0; i < ncols; i++) {
        sl_column *c = &s->cols[i];
        if (!c->name) {
            free_lens(mlens, ncols);
            sl_schema_free(s);
            return sl_errf(err, SL_ERUNTIME, "TABLE_MAP of %s.%s lacks a column name", dbname, tbname);
        }
        char why[256];
        if (bad_metadata(real[i], c->src_meta, why, sizeof why)) {
            int rc = sl_errf(err, SL_ERUNTIME, "TABLE_MAP of %s.%s: column %s: %s", dbname, tbname, c->name, why);
            free_lens(mlens, ncols);
            sl_schema_free(s);
            return rc;
        }
        int binary = c->charset == 63 && (is_character(types[i], real[i], srv));
        if (real[i] == MT_GEOMETRY)
            binary = 1;
        c->kind = (uint8_t)kind_of(real[i], c->is_unsigned, binary);
        if (c->kind == SL_STRING || c->kind == SL_ENUM || c->kind == SL_SET)
            c->conv = (uint8_t)sl_mysql_charset_conv(c->charset);
        if ((c->kind == SL_ENUM || c->kind == SL_SET) && members_to_utf8(c, mlens[i], why, sizeof why)) {
            int rc = sl_errf(err, SL_ERUNTIME, "TABLE_MAP of %s.%s: column %s: %s", dbname, tbname, c->name, why);
            free_lens(mlens, ncols);
            sl_schema_free(s);
            return rc;
        }
        char tn[4096];
        const char *bn = base_name(real[i], c->src_meta, binary);
        if ((real[i] == MT_VARCHAR || real[i] == MT_VAR_STRING || real[i] == MT_STRING) && !binary) {
            /* metadata counts bytes; the type is declared in characters */
            MARIADB_CHARSET_INFO *cs = mariadb_get_charset_by_nr(c->charset);
            unsigned mb = cs && cs->char_maxlen ? cs->char_maxlen : 1;
            snprintf(tn, sizeof tn, "%s(%u)", bn, c->src_meta / mb);
        } else if (real[i] == MT_VARCHAR || real[i] == MT_VAR_STRING || real[i] == MT_STRING) {
            snprintf(tn, sizeof tn, "%s(%u)", bn, c->src_meta);
        } else if (c->kind == SL_ENUM || c->kind == SL_SET) {
            size_t o = (size_t)snprintf(tn, sizeof tn, "%s(", bn);
            for (uint32_t k = 0; k < c->n_enum_values && o + 8 < sizeof tn; k++) {
                tn[o++] = k ? ',' : '\'';
                if (k)
                    tn[o++] = '\'';
                for (const char *q = c->enum_values[k]; *q && o + 6 < sizeof tn; q++) {
                    if (*q == '\'')
                        tn[o++] = '\'';
                    tn[o++] = *q;
                }
                tn[o++] = '\'';
            }
            tn[o++] = ')';
            tn[o] = 0;
        } else if (real[i] == MT_NEWDECIMAL)
            snprintf(tn, sizeof tn, "%s(%u,%u)", bn, c->precision, c->scale);
        else if (real[i] == MT_BIT)
            snprintf(tn, sizeof tn, "%s(%u)", bn, c->precision);
        else if ((c->kind == SL_TIME || c->kind == SL_DATETIME || c->kind == SL_TIMESTAMP) && c->scale)
            snprintf(tn, sizeof tn, "%s(%u)", bn, c->scale);
        else if (c->is_unsigned)
            snprintf(tn, sizeof tn, "%s unsigned", bn);
        else
            snprintf(tn, sizeof tn, "%s", bn);
        c->type_name = strdup(tn);
    }
    free_lens(mlens, ncols);
    *out = s;
    return 0;
}
