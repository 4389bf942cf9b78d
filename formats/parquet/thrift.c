/* thrift.c — Thrift compact protocol: field headers with id deltas, zigzag
 * varint integers, length-prefixed binary, short/long list headers. */
#include "thrift.h"

#include <string.h>

#include "../varint.h"

void sl_tc_init(sl_tc *t, sl_buf *out)
{
    memset(t, 0, sizeof *t);
    t->out = out;
}

void sl_tc_field(sl_tc *t, int16_t id, int type)
{
    int16_t delta = (int16_t)(id - t->last[t->depth]);
    if (delta > 0 && delta <= 15) {
        sl_buf_addc(t->out, (char)((delta << 4) | type));
    } else {
        sl_buf_addc(t->out, (char)type);
        sl_buf_zigzag(t->out, id);
    }
    t->last[t->depth] = id;
}

void sl_tc_field_i32(sl_tc *t, int16_t id, int32_t v)
{
    sl_tc_field(t, id, SL_TC_I32);
    sl_buf_zigzag(t->out, v);
}

void sl_tc_field_i64(sl_tc *t, int16_t id, int64_t v)
{
    sl_tc_field(t, id, SL_TC_I64);
    sl_buf_zigzag(t->out, v);
}

void sl_tc_field_i16(sl_tc *t, int16_t id, int16_t v)
{
    sl_tc_field(t, id, SL_TC_I16);
    sl_buf_zigzag(t->out, v);
}

void sl_tc_field_i8(sl_tc *t, int16_t id, int8_t v)
{
    sl_tc_field(t, id, SL_TC_I8);
    sl_buf_addc(t->out, (char)v);
}

void sl_tc_field_bool(sl_tc *t, int16_t id, int v) { sl_tc_field(t, id, v ? SL_TC_TRUE : SL_TC_FALSE); }

void sl_tc_field_binary(sl_tc *t, int16_t id, const void *p, size_t n)
{
    sl_tc_field(t, id, SL_TC_BINARY);
    sl_tc_binary(t, p, n);
}

void sl_tc_field_string(sl_tc *t, int16_t id, const char *s) { sl_tc_field_binary(t, id, s, strlen(s)); }

static void push(sl_tc *t)
{
    if (t->depth + 1 >= SL_TC_DEPTH) {
        t->overflow = 1;
        return;
    }
    t->last[++t->depth] = 0;
}

void sl_tc_field_struct(sl_tc *t, int16_t id)
{
    sl_tc_field(t, id, SL_TC_STRUCT);
    push(t);
}

void sl_tc_list_header(sl_tc *t, int elem_type, uint32_t n)
{
    if (n < 15) {
        sl_buf_addc(t->out, (char)((n << 4) | (unsigned)elem_type));
    } else {
        sl_buf_addc(t->out, (char)(0xf0 | elem_type));
        sl_buf_uvarint(t->out, n);
    }
}

void sl_tc_field_list(sl_tc *t, int16_t id, int elem_type, uint32_t n)
{
    sl_tc_field(t, id, SL_TC_LIST);
    sl_tc_list_header(t, elem_type, n);
}

void sl_tc_i32(sl_tc *t, int32_t v) { sl_buf_zigzag(t->out, v); }
void sl_tc_i64(sl_tc *t, int64_t v) { sl_buf_zigzag(t->out, v); }

void sl_tc_binary(sl_tc *t, const void *p, size_t n)
{
    sl_buf_uvarint(t->out, n);
    sl_buf_add(t->out, p, n);
}

void sl_tc_struct(sl_tc *t) { push(t); }

void sl_tc_end(sl_tc *t)
{
    sl_buf_addc(t->out, 0);
    if (t->depth > 0)
        t->depth--;
}

/* ---- decoding --------------------------------------------------------- */

void sl_tc_reader_init(sl_tc_reader *r, const void *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = r->p + n;
}

static uint64_t rd_varint(sl_tc_reader *r)
{
    uint64_t v = 0;
    if (sl_uvarint_get(&r->p, r->end, &v))
        r->error = 1;
    return v;
}

int sl_tc_next_field(sl_tc_reader *r, int16_t *id)
{
    if (r->p >= r->end) {
        r->error = 1;
        return SL_TC_STOP;
    }
    uint8_t b = *r->p++;
    int type = b & 0x0f;
    if (type == SL_TC_STOP) {
        if (r->depth > 0)
            r->depth--;
        return SL_TC_STOP;
    }
    int delta = b >> 4;
    int16_t fid = delta ? (int16_t)(r->last[r->depth] + delta) : (int16_t)sl_unzigzag64(rd_varint(r));
    r->last[r->depth] = fid;
    *id = fid;
    return type;
}

void sl_tc_enter(sl_tc_reader *r)
{
    if (r->depth + 1 >= SL_TC_DEPTH) {
        r->error = 1;
        return;
    }
    r->last[++r->depth] = 0;
}

int64_t sl_tc_read_int(sl_tc_reader *r) { return sl_unzigzag64(rd_varint(r)); }

int sl_tc_read_i8(sl_tc_reader *r)
{
    if (r->p >= r->end) {
        r->error = 1;
        return 0;
    }
    return (int8_t)*r->p++;
}

int sl_tc_read_bool(sl_tc_reader *r, int type)
{
    if (type == SL_TC_TRUE)
        return 1;
    if (type == SL_TC_FALSE)
        return 0;
    return sl_tc_read_i8(r) == 1; /* list element: 1 true, 0 or 2 false */
}

double sl_tc_read_double(sl_tc_reader *r)
{
    double d = 0;
    if (r->end - r->p < 8) {
        r->error = 1;
        return 0;
    }
    memcpy(&d, r->p, 8);
    r->p += 8;
    return d;
}

const uint8_t *sl_tc_read_binary(sl_tc_reader *r, size_t *n)
{
    uint64_t len = rd_varint(r);
    if (r->error || len > (uint64_t)(r->end - r->p)) {
        r->error = 1;
        *n = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += len;
    *n = (size_t)len;
    return p;
}

uint32_t sl_tc_read_list(sl_tc_reader *r, int *elem_type)
{
    if (r->p >= r->end) {
        r->error = 1;
        return 0;
    }
    uint8_t b = *r->p++;
    *elem_type = b & 0x0f;
    uint32_t n = b >> 4;
    if (n == 15)
        n = (uint32_t)rd_varint(r);
    return n;
}

void sl_tc_skip(sl_tc_reader *r, int type)
{
    size_t n;
    int16_t id;
    switch (type) {
    case SL_TC_TRUE:
    case SL_TC_FALSE:
        break;
    case SL_TC_I8:
        sl_tc_read_i8(r);
        break;
    case SL_TC_I16:
    case SL_TC_I32:
    case SL_TC_I64:
        rd_varint(r);
        break;
    case SL_TC_DOUBLE:
        sl_tc_read_double(r);
        break;
    case SL_TC_BINARY:
        sl_tc_read_binary(r, &n);
        break;
    case SL_TC_LIST:
    case SL_TC_SET: {
        int et;
        uint32_t cnt = sl_tc_read_list(r, &et);
        for (uint32_t i = 0; i < cnt && !r->error; i++)
            sl_tc_skip(r, et == SL_TC_TRUE || et == SL_TC_FALSE ? SL_TC_I8 : et);
        break;
    }
    case SL_TC_MAP: {
        uint32_t cnt = (uint32_t)rd_varint(r);
        if (cnt) {
            int kv = sl_tc_read_i8(r);
            int kt = (kv >> 4) & 15, vt = kv & 15;
            for (uint32_t i = 0; i < cnt && !r->error; i++) {
                sl_tc_skip(r, kt == SL_TC_TRUE || kt == SL_TC_FALSE ? SL_TC_I8 : kt);
                sl_tc_skip(r, vt == SL_TC_TRUE || vt == SL_TC_FALSE ? SL_TC_I8 : vt);
            }
        }
        break;
    }
    case SL_TC_STRUCT: {
        sl_tc_enter(r);
        int t;
        while (!r->error && (t = sl_tc_next_field(r, &id)) != SL_TC_STOP)
            sl_tc_skip(r, t);
        break;
    }
    default:
        r->error = 1;
    }
}
