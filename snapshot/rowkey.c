/* rowkey.c — canonical key bytes and their hash (FNV-1a, 64 bit). */
#include "rowkey.h"

static void put_u64(sl_buf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (56 - 8 * i));
    sl_buf_add(b, x, 8);
}

static void encode_value(sl_buf *b, const sl_value *v)
{
    switch ((sl_kind)v->kind) {
    case SL_INT:
    case SL_YEAR:
    case SL_BOOL:
        if (v->v.i < 0) {
            sl_buf_addc(b, 'n');
            put_u64(b, (uint64_t)v->v.i);
            return;
        }
        sl_buf_addc(b, 'i');
        put_u64(b, (uint64_t)v->v.i);
        return;
    case SL_UINT:
    case SL_BIT:
        sl_buf_addc(b, 'i');
        put_u64(b, v->v.u);
        return;
    case SL_DATE:
    case SL_TIME:
    case SL_DATETIME:
    case SL_TIMESTAMP:
        sl_buf_addc(b, 't');
        put_u64(b, (uint64_t)v->v.i);
        return;
    case SL_FLOAT:
    case SL_DOUBLE: {
        uint64_t bits;
        double d = v->v.d;
        memcpy(&bits, &d, 8);
        sl_buf_addc(b, 'f');
        put_u64(b, bits);
        return;
    }
    case SL_NULL:
    case SL_UNCHANGED:
        sl_buf_addc(b, '0');
        return;
    default:
        sl_buf_addc(b, 's');
        put_u64(b, v->len);
        sl_buf_add(b, v->v.s, v->len);
        return;
    }
}

void sl_rowkey_encode(sl_buf *b, const sl_table_schema *s, const int *key_cols, int nkey, const sl_value *row)
{
    if (!key_cols) {
        key_cols = s->pk;
        nkey = s->npk;
    }
    if (nkey == 0) {
        for (int i = 0; i < s->ncols; i++)
            encode_value(b, &row[i]);
        return;
    }
    for (int k = 0; k < nkey; k++)
        encode_value(b, &row[key_cols[k]]);
}

uint64_t sl_rowkey_hash(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}
