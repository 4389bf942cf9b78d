/* fn_string.c — Flink CDC's string functions, LIKE and SIMILAR TO.
 *
 * Positions and lengths count characters (code points) of the UTF-8 text,
 * as SQL does. LIKE with two operands is Flink CDC's: the right side is a
 * Java regular expression found anywhere in the left (`name LIKE '^A'`);
 * with an ESCAPE clause it is SQL's LIKE. A function whose argument is NULL
 * returns NULL (Flink's CONCAT would print "null"; sluice follows SQL).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unicode/ucasemap.h>

#include "xeval.h"
#include "xregex.h"

static const char *tn(xtype t, char *buf)
{
    xt_name(t, buf, 48);
    return buf;
}

static void set_str(xval *out, const char *p, size_t n)
{
    out->null = 0;
    out->unavailable = 0;
    out->u.s.p = p;
    out->u.s.n = (uint32_t)n;
}

static void set_int(xval *out, int64_t v)
{
    out->null = 0;
    out->unavailable = 0;
    out->u.i = v;
}

/* ---- UTF-8 ---- */

static size_t cp_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* byte offset of code point k (n when past the end) */
static size_t cp_off(const char *s, size_t n, size_t k)
{
    /* ASCII up to k: the offset is k */
    size_t lim = k < n ? k : n, j = 0;
    while (j < lim && !((unsigned char)s[j] & 0x80))
        j++;
    if (j == lim)
        return lim;
    size_t i = 0;
    while (i < n && k) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

static size_t cp_next(const char *s, size_t n, size_t i)
{
    i++;
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* ---- typing helpers ---- */

/* every listed argument must be text (a number or a time is converted to
 * its text as Calcite's coercion would) */
static int strings(xbinder *b, xnode *n, int from, int to)
{
    for (int i = from; i < n->nargs && i < to; i++) {
        xt t = n->args[i]->type.t;
        if (t == XT_ANY || xt_is_string(t))
            continue;
        if (t == XT_NULL || xt_is_numeric(t) || xt_is_temporal(t) || t == XT_BOOLEAN || xt_is_binary(t)) {
            if (xb_coerce(b, n, i, xt_make(XT_VARCHAR, 1)))
                return -1;
            continue;
        }
        char x[48];
        return xb_fail(b, n->args[i], "%s needs text, not %s", n->nargs ? "the function" : "", tn(n->args[i]->type, x));
    }
    return 0;
}

static int ints(xbinder *b, xnode *n, int from, int to)
{
    for (int i = from; i < n->nargs && i < to; i++) {
        xt t = n->args[i]->type.t;
        if (t == XT_ANY || xt_is_int(t))
            continue;
        if (t == XT_NULL) {
            n->args[i]->type = xt_make(XT_INT, 1);
            continue;
        }
        char x[48];
        return xb_fail(b, n->args[i], "expected an integer argument, not %s", tn(n->args[i]->type, x));
    }
    return 0;
}

static void result(xnode *n, xt t, xfn fn)
{
    n->type = xt_make(t, 1);
    n->type.nullable = 1;
    n->eval = fn;
}

/* ---- simple string functions ---- */

static void f_char_length(const xnode *n, xctx *c, xval *out)
{
    xval v;
    if (x_args(n, c, &v, out))
        return;
    set_int(out, (int64_t)cp_len(v.u.s.p, v.u.s.n));
}

static int b_char_length(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 1))
        return -1;
    result(n, XT_INT, f_char_length);
    n->type.nullable = (uint8_t)xb_nullable_args(n);
    return 0;
}

static void release_casemap(void *p) { ucasemap_close(p); }

static void f_case(const xnode *n, xctx *c, xval *out)
{
    xval v;
    if (x_args(n, c, &v, out))
        return;
    size_t cap = (size_t)v.u.s.n * 3 + 8;
    char *p = x_alloc(c, cap);
    if (!p)
        return x_null(out);
    UErrorCode st = U_ZERO_ERROR;
    int32_t len = n->i1 ? ucasemap_utf8ToUpper(n->aux, p, (int32_t)cap, v.u.s.p, (int32_t)v.u.s.n, &st)
                        : ucasemap_utf8ToLower(n->aux, p, (int32_t)cap, v.u.s.p, (int32_t)v.u.s.n, &st);
    if (U_FAILURE(st))
        return x_fail(c, n, out, "cannot change the case of the text: %s", u_errorName(st));
    set_str(out, p, (size_t)len);
}

static int bind_case(xbinder *b, xnode *n, int upper)
{
    if (strings(b, n, 0, 1))
        return -1;
    result(n, XT_VARCHAR, f_case);
    n->type.nullable = (uint8_t)xb_nullable_args(n);
    n->i1 = upper;
    UErrorCode st = U_ZERO_ERROR;
    UCaseMap *m = ucasemap_open("", 0, &st);
    if (U_FAILURE(st))
        return xb_fail(b, n, "cannot open ICU case mapping: %s", u_errorName(st));
    n->aux = m;
    xb_own(b, m, release_casemap);
    return 0;
}

static int b_upper(xbinder *b, xnode *n) { return bind_case(b, n, 1); }
static int b_lower(xbinder *b, xnode *n) { return bind_case(b, n, 0); }

/* TRIM(s) is Java's String.trim (every character up to ' '); LTRIM, RTRIM
 * and BTRIM remove the characters of the second argument (a blank by
 * default). i1: 1 leading, 2 trailing, 3 both; i2: Java trim */
static int in_set(const char *set, size_t sn, const char *s, size_t n, size_t i, size_t *next)
{
    size_t e = cp_next(s, n, i);
    *next = e;
    for (size_t k = 0; k < sn;) {
        size_t ke = cp_next(set, sn, k);
        if (ke - k == e - i && memcmp(set + k, s + i, e - i) == 0)
            return 1;
        k = ke;
    }
    return 0;
}

static void f_trim(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    const char *s = v[0].u.s.p;
    size_t lo = 0, hi = v[0].u.s.n;
    if (n->i2) {
        while (lo < hi && (unsigned char)s[lo] <= ' ')
            lo++;
        while (hi > lo && (unsigned char)s[hi - 1] <= ' ')
            hi--;
        return set_str(out, s + lo, hi - lo);
    }
    const char *set = n->nargs > 1 ? v[1].u.s.p : " ";
    size_t sn = n->nargs > 1 ? v[1].u.s.n : 1;
    if (sn == 0)
        return set_str(out, s, hi);
    if (n->i1 & 1) {
        size_t next;
        while (lo < hi && in_set(set, sn, s, hi, lo, &next))
            lo = next;
    }
    if (n->i1 & 2) {
        while (hi > lo) {
            size_t st = hi - 1, next;
            while (st > lo && ((unsigned char)s[st] & 0xC0) == 0x80)
                st--;
            if (!in_set(set, sn, s, hi, st, &next))
                break;
            hi = st;
        }
    }
    set_str(out, s + lo, hi - lo);
}

static int bind_trim(xbinder *b, xnode *n, int mode, int java)
{
    if (strings(b, n, 0, 2))
        return -1;
    result(n, XT_VARCHAR, f_trim);
    n->type.nullable = (uint8_t)xb_nullable_args(n);
    n->i1 = mode;
    n->i2 = java;
    return 0;
}

static int b_trim(xbinder *b, xnode *n) { return bind_trim(b, n, 3, n->nargs == 1); }
static int b_ltrim(xbinder *b, xnode *n) { return bind_trim(b, n, 1, 0); }
static int b_rtrim(xbinder *b, xnode *n) { return bind_trim(b, n, 2, 0); }
static int b_btrim(xbinder *b, xnode *n) { return bind_trim(b, n, 3, 0); }

/* SUBSTR(s, pos[, len]) with Flink's rules: pos > 0 counts from 1, pos < 0
 * from the end, 0 is the start; a negative length is an error */
static void f_substr(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    int64_t pos = v[1].u.i, len = n->nargs > 2 ? v[2].u.i : INT64_MAX;
    if (len < 0)
        return x_fail(c, n, out, "the length of SUBSTRING must not be negative, got %lld", (long long)len);
    const char *s = v[0].u.s.p;
    size_t bn = v[0].u.s.n;
    if (pos > 0) {
        /* from the start: walk to the first and the last character only */
        size_t a = cp_off(s, bn, (size_t)(pos - 1));
        size_t e = len >= (int64_t)(bn - a) ? bn : a + cp_off(s + a, bn - a, (size_t)len);
        return set_str(out, s + a, e - a);
    }
    size_t cn = cp_len(s, bn);
    int64_t start;
    if (pos < 0) {
        start = (int64_t)cn + pos;
        if (start < 0)
            return set_str(out, s, 0);
    } else {
        start = 0;
    }
    int64_t end = (int64_t)cn - start < len ? (int64_t)cn : start + len;
    size_t a = cp_off(s, bn, (size_t)start), e = cp_off(s, bn, (size_t)end);
    set_str(out, s + a, e - a);
}

static int b_substr(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 1) || ints(b, n, 1, 3))
        return -1;
    result(n, XT_VARCHAR, f_substr);
    return 0;
}

/* OVERLAY(s PLACING r FROM pos [FOR len]) */
static void f_overlay(const xnode *n, xctx *c, xval *out)
{
    xval v[4];
    if (x_args(n, c, v, out))
        return;
    const char *s = v[0].u.s.p;
    size_t bn = v[0].u.s.n, cn = cp_len(s, bn);
    int64_t pos = v[2].u.i;
    int64_t len = n->nargs > 3 ? v[3].u.i : (int64_t)cp_len(v[1].u.s.p, v[1].u.s.n);
    if (pos <= 0 || (size_t)pos > cn)
        return set_str(out, s, bn);
    size_t a = cp_off(s, bn, (size_t)(pos - 1));
    size_t tail = bn;
    if (len > 0 && (size_t)(pos + len) <= cn + 1)
        tail = cp_off(s, bn, (size_t)(pos - 1 + len));
    size_t total = a + v[1].u.s.n + (bn - tail);
    char *p = x_alloc(c, total);
    if (!p)
        return x_null(out);
    memcpy(p, s, a);
    memcpy(p + a, v[1].u.s.p, v[1].u.s.n);
    memcpy(p + a + v[1].u.s.n, s + tail, bn - tail);
    set_str(out, p, total);
}

static int b_overlay(xbinder *b, xnode *n)
{
    if (n->nargs < 3)
        return xb_fail(b, n, "write OVERLAY(s PLACING r FROM pos [FOR len])");
    if (strings(b, n, 0, 2) || ints(b, n, 2, 4))
        return -1;
    result(n, XT_VARCHAR, f_overlay);
    return 0;
}

/* 1-based position of needle in hay from character `from`, 0 if absent */
static int64_t position(const char *needle, size_t nn, const char *hay, size_t hn, int64_t from)
{
    if (nn == 0)
        return 1;
    size_t cn = cp_len(hay, hn);
    int64_t f = from - 1 < 0 ? 0 : from - 1;
    if ((size_t)f > cn)
        return 0;
    size_t off = cp_off(hay, hn, (size_t)f);
    const char *hit = off <= hn ? memmem(hay + off, hn - off, needle, nn) : NULL;
    return hit ? (int64_t)cp_len(hay, (size_t)(hit - hay)) + 1 : 0;
}

/* POSITION(a IN b [FROM k]) and LOCATE(a, b[, k]) */
static void f_position(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    set_int(out, position(v[0].u.s.p, v[0].u.s.n, v[1].u.s.p, v[1].u.s.n, n->nargs > 2 ? v[2].u.i : 1));
}

static int b_position(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 2) || ints(b, n, 2, 3))
        return -1;
    result(n, XT_INT, f_position);
    return 0;
}

/* INSTR(s, sub) */
static void f_instr(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    set_int(out, position(v[1].u.s.p, v[1].u.s.n, v[0].u.s.p, v[0].u.s.n, 1));
}

static int b_instr(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 2))
        return -1;
    result(n, XT_INT, f_instr);
    return 0;
}

static void f_concat(const xnode *n, xctx *c, xval *out)
{
    xval v[64];
    if (x_args(n, c, v, out))
        return;
    size_t total = 0;
    for (int i = 0; i < n->nargs; i++)
        total += v[i].u.s.n;
    char *p = x_alloc(c, total);
    if (!p)
        return x_null(out);
    size_t o = 0;
    for (int i = 0; i < n->nargs; i++) {
        memcpy(p + o, v[i].u.s.p, v[i].u.s.n);
        o += v[i].u.s.n;
    }
    set_str(out, p, total);
}

static int b_concat(xbinder *b, xnode *n)
{
    if (n->nargs > 64)
        return xb_fail(b, n, "CONCAT takes at most 64 arguments");
    if (strings(b, n, 0, n->nargs))
        return -1;
    result(n, XT_VARCHAR, f_concat);
    n->type.nullable = (uint8_t)xb_nullable_args(n);
    return 0;
}

/* CONCAT_WS skips NULL values; a NULL separator gives NULL */
static void f_concat_ws(const xnode *n, xctx *c, xval *out)
{
    xval v[64];
    v[0].null = 1;
    for (int i = 0; i < n->nargs; i++)
        xeval_arg(n, i, c, &v[i]);
    if (v[0].null) {
        *out = v[0];
        return;
    }
    size_t total = 0;
    for (int i = 1; i < n->nargs; i++)
        if (!v[i].null)
            total += v[i].u.s.n + v[0].u.s.n;
    char *p = x_alloc(c, total);
    if (!p)
        return x_null(out);
    size_t o = 0;
    int first = 1;
    for (int i = 1; i < n->nargs; i++) {
        if (v[i].null)
            continue;
        if (!first) {
            memcpy(p + o, v[0].u.s.p, v[0].u.s.n);
            o += v[0].u.s.n;
        }
        memcpy(p + o, v[i].u.s.p, v[i].u.s.n);
        o += v[i].u.s.n;
        first = 0;
    }
    set_str(out, p, o);
}

static int b_concat_ws(xbinder *b, xnode *n)
{
    if (n->nargs > 64)
        return xb_fail(b, n, "CONCAT_WS takes at most 64 arguments");
    if (strings(b, n, 0, n->nargs))
        return -1;
    result(n, XT_VARCHAR, f_concat_ws);
    return 0;
}

/* LPAD/RPAD with Flink's rules: a negative length or an empty pad is
 * NULL, a longer string is cut */
static void f_pad(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    int64_t len = v[1].u.i;
    if (len < 0 || v[2].u.s.n == 0)
        return x_null(out);
    const char *s = v[0].u.s.p, *pad = v[2].u.s.p;
    size_t sn = v[0].u.s.n, sc = cp_len(s, sn), pn = v[2].u.s.n, pc = cp_len(pad, pn);
    if ((size_t)len <= sc) {
        return set_str(out, s, cp_off(s, sn, (size_t)len));
    }
    size_t need = (size_t)len - sc;
    size_t full = need / pc, part = need % pc, pb = cp_off(pad, pn, part);
    size_t total = sn + full * pn + pb;
    char *p = x_alloc(c, total);
    if (!p)
        return x_null(out);
    size_t o = 0;
    if (!n->i1) {
        memcpy(p, s, sn);
        o = sn;
    }
    for (size_t k = 0; k < full; k++, o += pn)
        memcpy(p + o, pad, pn);
    memcpy(p + o, pad, pb);
    o += pb;
    if (n->i1) {
        memcpy(p + o, s, sn);
        o += sn;
    }
    set_str(out, p, o);
}

static int bind_pad(xbinder *b, xnode *n, int left)
{
    if (strings(b, n, 0, 1) || ints(b, n, 1, 2) || strings(b, n, 2, 3))
        return -1;
    result(n, XT_VARCHAR, f_pad);
    n->i1 = left;
    return 0;
}

static int b_lpad(xbinder *b, xnode *n) { return bind_pad(b, n, 1); }
static int b_rpad(xbinder *b, xnode *n) { return bind_pad(b, n, 0); }

/* REPLACE(s, from, to): every occurrence; an empty `from` puts `to`
 * between all characters, as Java's String.replace does */
static void f_replace(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    const char *s = v[0].u.s.p, *f = v[1].u.s.p, *t = v[2].u.s.p;
    size_t sn = v[0].u.s.n, fn = v[1].u.s.n, tnn = v[2].u.s.n;
    size_t count = 0;
    if (fn == 0) {
        count = cp_len(s, sn) + 1;
    } else {
        for (const char *q = s; (q = memmem(q, sn - (size_t)(q - s), f, fn)); q += fn)
            count++;
    }
    if (!count)
        return set_str(out, s, sn);
    size_t total = sn + count * tnn - (fn ? count * fn : 0);
    char *p = x_alloc(c, total);
    if (!p)
        return x_null(out);
    size_t o = 0, i = 0;
    if (fn == 0) {
        memcpy(p, t, tnn);
        o = tnn;
        while (i < sn) {
            size_t e = cp_next(s, sn, i);
            memcpy(p + o, s + i, e - i);
            o += e - i;
            memcpy(p + o, t, tnn);
            o += tnn;
            i = e;
        }
    } else {
        const char *q;
        while ((q = memmem(s + i, sn - i, f, fn))) {
            size_t k = (size_t)(q - s);
            memcpy(p + o, s + i, k - i);
            o += k - i;
            memcpy(p + o, t, tnn);
            o += tnn;
            i = k + fn;
        }
        memcpy(p + o, s + i, sn - i);
        o += sn - i;
    }
    set_str(out, p, o);
}

static int b_replace(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 3))
        return -1;
    result(n, XT_VARCHAR, f_replace);
    return 0;
}

static void f_repeat(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    if (v[1].u.i <= 0 || v[0].u.s.n == 0)
        return set_str(out, "", 0);
    if ((uint64_t)v[1].u.i * v[0].u.s.n > (64u << 20))
        return x_fail(c, n, out, "REPEAT would make %lld characters", (long long)((uint64_t)v[1].u.i * v[0].u.s.n));
    size_t total = (size_t)v[1].u.i * v[0].u.s.n;
    char *p = x_alloc(c, total);
    if (!p)
        return x_null(out);
    for (int64_t k = 0; k < v[1].u.i; k++)
        memcpy(p + (size_t)k * v[0].u.s.n, v[0].u.s.p, v[0].u.s.n);
    set_str(out, p, total);
}

static int b_repeat(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 1) || ints(b, n, 1, 2))
        return -1;
    result(n, XT_VARCHAR, f_repeat);
    return 0;
}

/* LEFT / RIGHT: i1 = 1 for LEFT */
static void f_leftright(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    int64_t k = v[1].u.i;
    const char *s = v[0].u.s.p;
    size_t sn = v[0].u.s.n, cn = cp_len(s, sn);
    if (k <= 0)
        return set_str(out, s, 0);
    if ((size_t)k >= cn)
        return set_str(out, s, sn);
    if (n->i1)
        return set_str(out, s, cp_off(s, sn, (size_t)k));
    size_t off = cp_off(s, sn, cn - (size_t)k);
    set_str(out, s + off, sn - off);
}

static int bind_leftright(xbinder *b, xnode *n, int left)
{
    if (strings(b, n, 0, 1) || ints(b, n, 1, 2))
        return -1;
    result(n, XT_VARCHAR, f_leftright);
    n->i1 = left;
    return 0;
}

static int b_left(xbinder *b, xnode *n) { return bind_leftright(b, n, 1); }
static int b_right(xbinder *b, xnode *n) { return bind_leftright(b, n, 0); }

/* STARTSWITH / ENDSWITH: i1 = 1 for STARTSWITH */
static void f_affix(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    size_t sn = v[0].u.s.n, pn = v[1].u.s.n;
    int r = pn <= sn && memcmp(n->i1 ? v[0].u.s.p : v[0].u.s.p + sn - pn, v[1].u.s.p, pn) == 0;
    set_int(out, r);
}

static int bind_affix(xbinder *b, xnode *n, int starts)
{
    int bin = xt_is_binary(n->args[0]->type.t) && xt_is_binary(n->args[1]->type.t);
    if (!bin && strings(b, n, 0, 2))
        return -1;
    result(n, XT_BOOLEAN, f_affix);
    n->i1 = starts;
    return 0;
}

static int b_startswith(xbinder *b, xnode *n) { return bind_affix(b, n, 1); }
static int b_endswith(xbinder *b, xnode *n) { return bind_affix(b, n, 0); }

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void f_to_base64(const xnode *n, xctx *c, xval *out)
{
    xval v;
    if (x_args(n, c, &v, out))
        return;
    const unsigned char *s = (const unsigned char *)v.u.s.p;
    size_t sn = v.u.s.n, total = (sn + 2) / 3 * 4;
    char *p = x_alloc(c, total);
    if (!p)
        return x_null(out);
    size_t o = 0, i = 0;
    for (; i + 3 <= sn; i += 3) {
        uint32_t w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        p[o++] = b64[w >> 18];
        p[o++] = b64[(w >> 12) & 63];
        p[o++] = b64[(w >> 6) & 63];
        p[o++] = b64[w & 63];
    }
    if (i < sn) {
        uint32_t w = (uint32_t)s[i] << 16 | (i + 1 < sn ? (uint32_t)s[i + 1] << 8 : 0);
        p[o++] = b64[w >> 18];
        p[o++] = b64[(w >> 12) & 63];
        p[o++] = i + 1 < sn ? b64[(w >> 6) & 63] : '=';
        p[o++] = '=';
    }
    set_str(out, p, o);
}

static int b_to_base64(xbinder *b, xnode *n)
{
    if (!xt_is_binary(n->args[0]->type.t) && strings(b, n, 0, 1))
        return -1;
    result(n, XT_VARCHAR, f_to_base64);
    n->type.nullable = (uint8_t)xb_nullable_args(n);
    return 0;
}

/* Java's Base64 decoder: padding optional at the end, anything else that
 * is not base64 an error */
static void f_from_base64(const xnode *n, xctx *c, xval *out)
{
    xval v;
    if (x_args(n, c, &v, out))
        return;
    const char *s = v.u.s.p;
    size_t sn = v.u.s.n;
    while (sn && s[sn - 1] == '=')
        sn--;
    char *p = x_alloc(c, sn * 3 / 4 + 3);
    if (!p)
        return x_null(out);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < sn; i++) {
        const char *k = strchr(b64, s[i]);
        if (!k || !s[i])
            return x_fail(c, n, out, "'%.*s' is not base64 (character %zu)", (int)(v.u.s.n > 40 ? 40 : v.u.s.n), s,
                          i + 1);
        acc = acc << 6 | (uint32_t)(k - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    if (sn % 4 == 1)
        return x_fail(c, n, out, "'%.*s' is not base64 (truncated)", (int)(v.u.s.n > 40 ? 40 : v.u.s.n), s);
    set_str(out, p, o);
}

static int bind_from_base64(xbinder *b, xnode *n, int binary)
{
    if (strings(b, n, 0, 1))
        return -1;
    result(n, binary ? XT_VARBINARY : XT_VARCHAR, f_from_base64);
    n->type.nullable = (uint8_t)xb_nullable_args(n);
    return 0;
}

static int b_from_base64(xbinder *b, xnode *n) { return bind_from_base64(b, n, 0); }
static int b_from_base64_binary(xbinder *b, xnode *n) { return bind_from_base64(b, n, 1); }

/* UUID(): a random (version 4) UUID */
static void f_uuid(const xnode *n, xctx *c, xval *out)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return x_fail(c, n, out, "no random bytes for UUID()");
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
    char *p = x_alloc(c, 37);
    if (!p)
        return x_null(out);
    snprintf(p, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
    set_str(out, p, 36);
}

static int b_uuid(xbinder *b, xnode *n)
{
    n->type = xt_make(XT_CHAR, 0);
    n->type.p = 36;
    n->eval = f_uuid;
    return 0;
}

/* ---- regular expressions ---- */

/* a node's pattern: compiled once when constant, else cached by text */
typedef struct pat_cache {
    xre *re;
    char *text;
    size_t n;
    int kind; /* 0 Java regex, 1 SQL LIKE, 2 SIMILAR TO */
    char esc;
} pat_cache;

static void release_cache(void *p)
{
    pat_cache *pc = p;
    xre_free(pc->re);
    free(pc->text);
    free(pc);
}

static int compile(pat_cache *pc, const char *pat, size_t n, char *why, size_t wlen)
{
    char conv[2048];
    const char *src = pat;
    size_t sn = n;
    if (pc->kind) {
        int k = xre_from_sql(pat, n, pc->esc, pc->kind == 2, conv, sizeof conv);
        if (k < 0) {
            snprintf(why, wlen, "malformed %s pattern '%.*s'", pc->kind == 1 ? "LIKE" : "SIMILAR TO",
                     (int)(n > 80 ? 80 : n), pat);
            return -1;
        }
        src = conv;
        sn = (size_t)k;
    }
    xre *re;
    int rc = xre_open(src, sn, &re, why, wlen);
    if (rc)
        return rc;
    xre_free(pc->re);
    free(pc->text);
    pc->re = re;
    pc->text = malloc(n ? n : 1);
    if (pc->text)
        memcpy(pc->text, pat, n);
    pc->n = n;
    return 0;
}

/* the compiled pattern for this row's pattern text; NULL on failure */
static xre *pattern(const xnode *n, xctx *c, const xval *pat, xval *out, int null_on_bad)
{
    pat_cache *pc = n->aux;
    if (pc->re && pc->n == pat->u.s.n && (pc->n == 0 || memcmp(pc->text, pat->u.s.p, pc->n) == 0))
        return pc->re;
    char why[300];
    int rc = compile(pc, pat->u.s.p, pat->u.s.n, why, sizeof why);
    if (rc) {
        if (null_on_bad && rc != XRE_PATHOLOGICAL)
            x_null(out);
        else
            x_fail(c, n, out, "%s", why);
        return NULL;
    }
    return pc->re;
}

/* sets up the node's cache; with a constant pattern compiles it now so a
 * bad pattern is a load error */
static int bind_pattern(xbinder *b, xnode *n, int argi, int kind, char esc, int null_on_bad)
{
    pat_cache *pc = calloc(1, sizeof *pc);
    if (!pc)
        return xb_fail(b, n, "out of memory");
    pc->kind = kind;
    pc->esc = esc;
    xb_own(b, pc, release_cache);
    n->aux = pc;
    const xval *k = xb_const_arg(n, argi);
    char why[300];
    int rc = k && !k->null ? compile(pc, k->u.s.p, k->u.s.n, why, sizeof why) : 0;
    if (rc && (!null_on_bad || rc == XRE_PATHOLOGICAL))
        return xb_fail(b, n->args[argi], "%s", why);
    return 0;
}

static void f_like(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    pat_cache *pc = n->aux;
    if (n->nargs == 3 && (v[2].u.s.n != 1 || (pc->esc && pc->esc != v[2].u.s.p[0])))
        return x_fail(c, n, out, "the ESCAPE of LIKE must be one character");
    if (n->nargs == 3)
        pc->esc = v[2].u.s.p[0];
    xre *re = pattern(n, c, &v[1], out, 0);
    if (!re)
        return;
    xre_reset(re, v[0].u.s.p, v[0].u.s.n);
    int m = pc->kind == 0 ? xre_next(re) : xre_matches(re);
    set_int(out, n->i1 ? !m : m);
}

static int bind_like(xbinder *b, xnode *n, int similar, int neg)
{
    if (strings(b, n, 0, 3))
        return -1;
    result(n, XT_BOOLEAN, f_like);
    n->type.nullable = (uint8_t)xb_nullable_args(n);
    n->i1 = neg;
    char esc = 0;
    if (n->nargs == 3) {
        const xval *e = xb_const_arg(n, 2);
        if (e && !e->null) {
            if (e->u.s.n != 1)
                return xb_fail(b, n->args[2], "the ESCAPE of LIKE must be one character");
            esc = e->u.s.p[0];
        }
    }
    int kind = similar ? 2 : n->nargs == 3 ? 1 : 0;
    return bind_pattern(b, n, 1, kind, esc, 0);
}

static int b_like(xbinder *b, xnode *n) { return bind_like(b, n, 0, 0); }
static int b_not_like(xbinder *b, xnode *n) { return bind_like(b, n, 0, 1); }
static int b_similar(xbinder *b, xnode *n) { return bind_like(b, n, 1, 0); }
static int b_not_similar(xbinder *b, xnode *n) { return bind_like(b, n, 1, 1); }

/* REGEXP_REPLACE(s, re, replacement): the replacement is literal (Flink
 * quotes it); an invalid regex gives NULL as in Flink */
static void f_regexp_replace(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    xre *re = pattern(n, c, &v[1], out, 1);
    if (!re)
        return;
    const char *s = v[0].u.s.p;
    size_t sn = v[0].u.s.n;
    xre_reset(re, s, sn);
    size_t cap = sn + 64, o = 0;
    char *p = x_alloc(c, cap);
    if (!p)
        return x_null(out);
    int64_t last = 0, ms, me;
    while (xre_next(re) && xre_group(re, 0, &ms, &me)) {
        size_t need = o + (size_t)(ms - last) + v[2].u.s.n + (sn - (size_t)me);
        if (need > cap) {
            size_t nc = need * 2;
            char *np = x_alloc(c, nc);
            if (!np)
                return x_null(out);
            memcpy(np, p, o);
            p = np;
            cap = nc;
        }
        memcpy(p + o, s + last, (size_t)(ms - last));
        o += (size_t)(ms - last);
        memcpy(p + o, v[2].u.s.p, v[2].u.s.n);
        o += v[2].u.s.n;
        last = me;
    }
    memcpy(p + o, s + last, sn - (size_t)last);
    o += sn - (size_t)last;
    set_str(out, p, o);
}

static int b_regexp_replace(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 3))
        return -1;
    result(n, XT_VARCHAR, f_regexp_replace);
    return bind_pattern(b, n, 1, 0, 0, 1);
}

/* REGEXP_EXTRACT(s, re[, group]), REGEXP_SUBSTR(s, re): NULL without a match */
static void f_regexp_extract(const xnode *n, xctx *c, xval *out)
{
    xval v[3];
    if (x_args(n, c, v, out))
        return;
    int64_t g = n->nargs > 2 ? v[2].u.i : 0;
    if (g < 0)
        return x_null(out);
    xre *re = pattern(n, c, &v[1], out, 1);
    if (!re)
        return;
    xre_reset(re, v[0].u.s.p, v[0].u.s.n);
    int64_t s, e;
    if (g > xre_group_count(re) || !xre_next(re) || !xre_group(re, (int)g, &s, &e))
        return x_null(out);
    set_str(out, v[0].u.s.p + s, (size_t)(e - s));
}

static int b_regexp_extract(xbinder *b, xnode *n)
{
    if (strings(b, n, 0, 2) || ints(b, n, 2, 3))
        return -1;
    result(n, XT_VARCHAR, f_regexp_extract);
    return bind_pattern(b, n, 1, 0, 0, 1);
}

/* REGEXP_COUNT (i1 0) and REGEXP_INSTR (i1 1) */
static void f_regexp_count(const xnode *n, xctx *c, xval *out)
{
    xval v[2];
    if (x_args(n, c, v, out))
        return;
    xre *re = pattern(n, c, &v[1], out, 1);
    if (!re)
        return;
    xre_reset(re, v[0].u.s.p, v[0].u.s.n);
    if (n->i1) {
        int64_t s, e;
        if (!xre_next(re) || !xre_group(re, 0, &s, &e))
            return set_int(out, 0);
        return set_int(out, (int64_t)cp_len(v[0].u.s.p, (size_t)s) + 1);
    }
    int64_t k = 0;
    while (xre_next(re))
        k++;
    set_int(out, k);
}

static int bind_regexp_count(xbinder *b, xnode *n, int instr)
{
    if (strings(b, n, 0, 2))
        return -1;
    result(n, XT_INT, f_regexp_count);
    n->i1 = instr;
    return bind_pattern(b, n, 1, 0, 0, 1);
}

static int b_regexp_count(xbinder *b, xnode *n) { return bind_regexp_count(b, n, 0); }
static int b_regexp_instr(xbinder *b, xnode *n) { return bind_regexp_count(b, n, 1); }

static int b_unsupported(xbinder *b, xnode *n)
{
    return xb_fail(b, n, "this function returns ARRAY, MAP, ROW or VARIANT values, which sluice's transform does "
                         "not have");
}

const xfunc x_fn_string[] = {
    {"CHAR_LENGTH", 1, 1, b_char_length, 0},
    {"CHARACTER_LENGTH", 1, 1, b_char_length, 0},
    {"UPPER", 1, 1, b_upper, 0},
    {"LOWER", 1, 1, b_lower, 0},
    {"TRIM", 1, 2, b_trim, 0},
    {"LTRIM", 1, 2, b_ltrim, 0},
    {"RTRIM", 1, 2, b_rtrim, 0},
    {"BTRIM", 1, 2, b_btrim, 0},
    {"SUBSTR", 2, 3, b_substr, 0},
    {"SUBSTRING", 2, 3, b_substr, 0},
    {"OVERLAY", 3, 4, b_overlay, 0},
    {"POSITION", 2, 3, b_position, 0},
    {"LOCATE", 2, 3, b_position, 0},
    {"INSTR", 2, 2, b_instr, 0},
    {"CONCAT", 1, -1, b_concat, 0},
    {"CONCAT_WS", 2, -1, b_concat_ws, 0},
    {"LPAD", 3, 3, b_lpad, 0},
    {"RPAD", 3, 3, b_rpad, 0},
    {"REPLACE", 3, 3, b_replace, 0},
    {"REPEAT", 2, 2, b_repeat, 0},
    {"LEFT", 2, 2, b_left, 0},
    {"RIGHT", 2, 2, b_right, 0},
    {"STARTSWITH", 2, 2, b_startswith, 0},
    {"ENDSWITH", 2, 2, b_endswith, 0},
    {"TO_BASE64", 1, 1, b_to_base64, 0},
    {"FROM_BASE64", 1, 1, b_from_base64, 0},
    {"FROM_BASE64_BINARY", 1, 1, b_from_base64_binary, 0},
    {"UUID", 0, 0, b_uuid, 1},
    {"LIKE", 2, 3, b_like, 0},
    {"NOT LIKE", 2, 3, b_not_like, 0},
    {"SIMILAR TO", 2, 3, b_similar, 0},
    {"NOT SIMILAR TO", 2, 3, b_not_similar, 0},
    {"REGEXP_REPLACE", 3, 3, b_regexp_replace, 0},
    {"REGEXP_EXTRACT", 2, 3, b_regexp_extract, 0},
    {"REGEXP_SUBSTR", 2, 2, b_regexp_extract, 0},
    {"REGEXP_COUNT", 2, 2, b_regexp_count, 0},
    {"REGEXP_INSTR", 2, 2, b_regexp_instr, 0},
    {"REGEXP_EXTRACT_ALL", 2, 3, b_unsupported, 0},
    {"PARSE_JSON", 1, 2, b_unsupported, 0},
    {"TRY_PARSE_JSON", 1, 2, b_unsupported, 0},
    {"ARRAY", 0, -1, b_unsupported, 0},
    {"MAP", 0, -1, b_unsupported, 0},
    {"ROW", 0, -1, b_unsupported, 0},
    {"CARDINALITY", 1, 1, b_unsupported, 0},
    {"ARRAY_CONTAINS", 2, 2, b_unsupported, 0},
    {"ARRAY_POSITION", 2, 2, b_unsupported, 0},
    {"ELEMENT", 1, 1, b_unsupported, 0},
    {NULL, 0, 0, NULL, 0},
};
