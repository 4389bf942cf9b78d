/* json_diff.c — MySQL 8's partial JSON updates applied to the before
 * value (binlog_row_value_options=PARTIAL_JSON).
 *
 * A PARTIAL_UPDATE_ROWS_EVENT may carry a JSON column of the after image
 * as a list of diffs against the before image instead of the whole value;
 * a change stream needs the whole after value, so the diffs are applied
 * here: the before value becomes a small tree (containers with their
 * entries, scalars as the text json_binary.c prints for them), each diff
 * edits the tree, and the tree is printed the way MySQL prints JSON.
 *
 * Facts from MySQL's source (read, not copied): sql/json_diff.cc
 * (Json_diff_vector::read_binary: operation byte, path length as a
 * net_field_length integer, the path text, and unless the operation is
 * REMOVE the value length and the value in binary JSON; apply_json_diffs
 * and seek_exact_path for the meaning of each operation), sql/json_diff.h
 * (REPLACE = 0, INSERT = 1, REMOVE = 2), sql/json_path.cc (the path text:
 * `$`, `.member` or `."quoted member"`, `[n]`, `[last]`, `[last-n]`),
 * sql/json_dom.h (an object's members ordered by key length, then bytes,
 * which is the order a rewritten value prints in). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/envelope.h"
#include "binlog_decode.h"

enum { OP_REPLACE = 0, OP_INSERT = 1, OP_REMOVE = 2 };
enum { N_SCALAR, N_OBJECT, N_ARRAY };

typedef struct node {
    int kind;
    const char *text; /* N_SCALAR: as printed */
    uint32_t tlen;
    uint32_t n, cap;
    const char **keys; /* N_OBJECT */
    uint32_t *klens;
    struct node **kids;
} node;

typedef struct ctx {
    sl_arena *a;
    const char *col;
    char *why;
    size_t whylen;
} ctx;

static int fail(ctx *c, const char *what, const char *path, size_t plen)
{
    if (path)
        snprintf(c->why, c->whylen, "column %s: JSON diff %s at path %.*s", c->col, what, (int)plen, path);
    else
        snprintf(c->why, c->whylen, "column %s: JSON diff %s", c->col, what);
    return -1;
}

static int grow(ctx *c, node *n, uint32_t want)
{
    if (want <= n->cap)
        return 0;
    uint32_t cap = n->cap ? n->cap * 2 : 4;
    while (cap < want)
        cap *= 2;
    node **kids = sl_arena_alloc(c->a, cap * sizeof *kids);
    const char **keys = sl_arena_alloc(c->a, cap * sizeof *keys);
    uint32_t *klens = sl_arena_alloc(c->a, cap * sizeof *klens);
    if (!kids || !keys || !klens)
        return -1;
    if (n->n) {
        memcpy(kids, n->kids, n->n * sizeof *kids);
        if (n->kind == N_OBJECT) {
            memcpy(keys, n->keys, n->n * sizeof *keys);
            memcpy(klens, n->klens, n->n * sizeof *klens);
        }
    }
    n->kids = kids;
    n->keys = keys;
    n->klens = klens;
    n->cap = cap;
    return 0;
}

static node *build(ctx *c, int type, const uint8_t *p, size_t len, int depth)
{
    node *n = sl_arena_alloc(c->a, sizeof *n);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    sl_mysql_json_box bx;
    if (type <= 3) {
        if (depth > SL_MYSQL_JSON_MAX_DEPTH || sl_mysql_json_box_open(&bx, type, p, len))
            return NULL;
        n->kind = bx.is_obj ? N_OBJECT : N_ARRAY;
        if (grow(c, n, bx.count))
            return NULL;
        for (uint32_t i = 0; i < bx.count; i++) {
            int vt;
            const uint8_t *vp;
            size_t vlen;
            if (sl_mysql_json_box_item(&bx, i, &n->keys[i], &n->klens[i], &vt, &vp, &vlen) ||
                !(n->kids[i] = build(c, vt, vp, vlen, depth + 1)))
                return NULL;
        }
        n->n = bx.count;
        return n;
    }
    sl_buf b;
    sl_buf_init(&b);
    int bad = sl_mysql_json_value_text(&b, type, p, len) || b.failed;
    char *t = bad ? NULL : sl_arena_memdup(c->a, b.data, b.len);
    uint32_t tl = (uint32_t)b.len;
    sl_buf_free(&b);
    if (!t)
        return NULL;
    n->kind = N_SCALAR;
    n->text = t;
    n->tlen = tl;
    return n;
}

static void print(sl_buf *b, const node *n)
{
    if (n->kind == N_SCALAR) {
        sl_buf_add(b, n->text, n->tlen);
        return;
    }
    sl_buf_addc(b, n->kind == N_OBJECT ? '{' : '[');
    for (uint32_t i = 0; i < n->n; i++) {
        if (i)
            sl_buf_adds(b, ", ");
        if (n->kind == N_OBJECT) {
            sl_json_string(b, n->keys[i], n->klens[i]);
            sl_buf_adds(b, ": ");
        }
        print(b, n->kids[i]);
    }
    sl_buf_addc(b, n->kind == N_OBJECT ? '}' : ']');
}

/* one leg of a path: a member name (unescaped) or an array cell */
typedef struct leg {
    int member;
    const char *name;
    uint32_t nlen;
    int from_end; /* [last-n] */
    uint64_t index;
} leg;

enum { MAX_LEGS = 128 };

static int is_ident_char(unsigned char ch)
{
    return ch == '_' || ch == '$' || ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

static const char *skip_ws(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return s;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

static int hex4(const char *s, unsigned *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(s[k]);
        if (h < 0)
            return -1;
        *v = *v << 4 | (unsigned)h;
    }
    return 0;
}

/* a quoted member name (JSON string escapes) into the arena */
static const char *quoted(ctx *c, const char *s, const char *e, leg *l)
{
    char *out = sl_arena_alloc(c->a, (size_t)(e - s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (s++; s < e && *s != '"'; s++) {
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        if (++s >= e)
            return NULL;
        switch (*s) {
        case '"': case '\\': case '/': *o++ = *s; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            if (e - s < 5)
                return NULL;
            unsigned cp, lo;
            if (hex4(s + 1, &cp))
                return NULL;
            s += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && e - s >= 7 && s[1] == '\\' && s[2] == 'u') {
                if (hex4(s + 3, &lo))
                    return NULL;
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    s += 6;
                }
            }
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xc0 | cp >> 6);
                *o++ = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xe0 | cp >> 12);
                *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *o++ = (char)(0x80 | (cp & 0x3f));
            } else {
                *o++ = (char)(0xf0 | cp >> 18);
                *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
                *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *o++ = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default: return NULL;
        }
    }
    if (s >= e)
        return NULL;
    l->name = out;
    l->nlen = (uint32_t)(o - out);
    return s + 1;
}

static int digits(const char **s, const char *e, uint64_t *v)
{
    const char *p = *s;
    uint64_t x = 0;
    if (p >= e || *p < '0' || *p > '9')
        return -1;
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        if (x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *s = p;
    *v = x;
    return 0;
}

/* `$` then legs; wildcards and ranges never name one place, so MySQL
 * never writes them in a diff and they are refused as malformed */
static int parse_path(ctx *c, const char *s, size_t len, leg *legs, int *nlegs)
{
    const char *e = s + len;
    s = skip_ws(s, e);
    if (s >= e || *s != '$')
        return -1;
    s++;
    int n = 0;
    for (;;) {
        s = skip_ws(s, e);
        if (s >= e)
            break;
        if (n == MAX_LEGS)
            return -1;
        leg *l = &legs[n];
        memset(l, 0, sizeof *l);
        if (*s == '.') {
            s = skip_ws(s + 1, e);
            l->member = 1;
            if (s < e && *s == '"') {
                if (!(s = quoted(c, s, e, l)))
                    return -1;
            } else {
                const char *b = s;
                while (s < e && is_ident_char((unsigned char)*s))
                    s++;
                if (s == b || (*b >= '0' && *b <= '9'))
                    return -1;
                l->name = b;
                l->nlen = (uint32_t)(s - b);
            }
        } else if (*s == '[') {
            s = skip_ws(s + 1, e);
            if (e - s >= 4 && memcmp(s, "last", 4) == 0) {
                l->from_end = 1;
                s = skip_ws(s + 4, e);
                if (s < e && *s == '-') {
                    s = skip_ws(s + 1, e);
                    if (digits(&s, e, &l->index))
                        return -1;
                }
            } else if (digits(&s, e, &l->index)) {
                return -1;
            }
            s = skip_ws(s, e);
            if (s >= e || *s != ']')
                return -1;
            s++;
        } else {
            return -1;
        }
        n++;
    }
    *nlegs = n;
    return 0;
}

/* the array position a cell leg names in an array of size n; *in: whether
 * it is an existing element (MySQL's Json_array_index) */
static uint64_t cell(const leg *l, uint64_t n, int *in)
{
    if (l->from_end) {
        *in = l->index < n;
        return *in ? n - 1 - l->index : 0;
    }
    *in = l->index < n;
    return *in ? l->index : n;
}

static int member_at(const node *obj, const leg *l)
{
    for (uint32_t i = 0; i < obj->n; i++)
        if (obj->klens[i] == l->nlen && memcmp(obj->keys[i], l->name, l->nlen) == 0)
            return (int)i;
    return -1;
}

/* the node a path leads to, following no more than nlegs legs */
static node *seek(node *n, const leg *legs, int nlegs)
{
    for (int i = 0; i < nlegs && n; i++) {
        const leg *l = &legs[i];
        if (n->kind == N_ARRAY && !l->member) {
            int in;
            uint64_t at = cell(l, n->n, &in);
            n = in ? n->kids[at] : NULL;
        } else if (n->kind == N_OBJECT && l->member) {
            int at = member_at(n, l);
            n = at < 0 ? NULL : n->kids[at];
        } else {
            n = NULL;
        }
    }
    return n;
}

/* MySQL's object key order: shorter keys first, then bytewise */
static int key_cmp(const char *a, uint32_t al, const char *b, uint32_t bl)
{
    if (al != bl)
        return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

static int apply_one(ctx *c, node *root, int op, const char *path, size_t plen, node *val)
{
    leg legs[MAX_LEGS];
    int nlegs;
    if (parse_path(c, path, plen, legs, &nlegs))
        return fail(c, "has a malformed path", path, plen);
    if (nlegs == 0)
        return fail(c, "addresses the whole value", path, plen);
    const leg *last = &legs[nlegs - 1];
    if (op == OP_REPLACE) {
        node *parent = seek(root, legs, nlegs - 1);
        node *old = seek(parent, last, 1);
        if (!old)
            return fail(c, "replaces a value the before image does not have", path, plen);
        if (parent->kind == N_OBJECT)
            parent->kids[member_at(parent, last)] = val;
        else
            parent->kids[cell(last, parent->n, &(int){0})] = val;
        return 0;
    }
    node *parent = seek(root, legs, nlegs - 1);
    if (!parent)
        return fail(c, op == OP_INSERT ? "inserts below a value the before image does not have"
                                       : "removes below a value the before image does not have",
                    path, plen);
    if (op == OP_INSERT) {
        uint32_t at;
        if (parent->kind == N_OBJECT && last->member) {
            if (member_at(parent, last) >= 0)
                return fail(c, "inserts a member the before image already has", path, plen);
            for (at = 0; at < parent->n && key_cmp(parent->keys[at], parent->klens[at], last->name, last->nlen) < 0; at++)
                ;
        } else if (parent->kind == N_ARRAY && !last->member) {
            int in;
            at = (uint32_t)cell(last, parent->n, &in);
        } else {
            return fail(c, "inserts into a value of another kind", path, plen);
        }
        if (grow(c, parent, parent->n + 1))
            return fail(c, "ran out of memory", NULL, 0);
        memmove(parent->kids + at + 1, parent->kids + at, (parent->n - at) * sizeof *parent->kids);
        if (parent->kind == N_OBJECT) {
            memmove(parent->keys + at + 1, parent->keys + at, (parent->n - at) * sizeof *parent->keys);
            memmove(parent->klens + at + 1, parent->klens + at, (parent->n - at) * sizeof *parent->klens);
            parent->keys[at] = last->name;
            parent->klens[at] = last->nlen;
        }
        parent->kids[at] = val;
        parent->n++;
        return 0;
    }
    int at = -1;
    if (parent->kind == N_OBJECT && last->member) {
        at = member_at(parent, last);
    } else if (parent->kind == N_ARRAY && !last->member) {
        int in;
        uint64_t i = cell(last, parent->n, &in);
        at = in ? (int)i : -1;
    }
    if (at < 0)
        return fail(c, "removes a value the before image does not have", path, plen);
    uint32_t rest = parent->n - (uint32_t)at - 1;
    memmove(parent->kids + at, parent->kids + at + 1, rest * sizeof *parent->kids);
    if (parent->kind == N_OBJECT) {
        memmove(parent->keys + at, parent->keys + at + 1, rest * sizeof *parent->keys);
        memmove(parent->klens + at, parent->klens + at + 1, rest * sizeof *parent->klens);
    }
    parent->n--;
    return 0;
}

int sl_mysql_json_apply_diff(const uint8_t *before, size_t blen, const uint8_t *diff, size_t dlen, const char *col,
                             sl_arena *a, const char **out, uint32_t *outlen, char *why, size_t whylen)
{
    ctx c = {a, col, why, whylen};
    if (blen < 1)
        return fail(&c, "applies to an empty before value", NULL, 0);
    node *root = build(&c, before[0], before + 1, blen - 1, 0);
    if (!root)
        return fail(&c, "applies to a malformed binary JSON before value", NULL, 0);
    const uint8_t *p = diff, *e = diff + dlen;
    while (p < e) {
        int op = *p++;
        if (op > OP_REMOVE) {
            char what[48];
            snprintf(what, sizeof what, "has unknown operation %d", op);
            return fail(&c, what, NULL, 0);
        }
        uint64_t plen, vlen;
        if (sl_mysql_netlen(&p, e, &plen))
            return fail(&c, "is truncated in a path length", NULL, 0);
        if ((uint64_t)(e - p) < plen)
            return fail(&c, "is truncated in a path", NULL, 0);
        const char *path = (const char *)p;
        p += plen;
        node *val = NULL;
        if (op != OP_REMOVE) {
            if (sl_mysql_netlen(&p, e, &vlen))
                return fail(&c, "is truncated in a value length", path, plen);
            if ((uint64_t)(e - p) < vlen)
                return fail(&c, "is truncated in a value", path, plen);
            if (vlen < 1 || !(val = build(&c, p[0], p + 1, vlen - 1, 0)))
                return fail(&c, "has a malformed binary JSON value", path, plen);
            p += vlen;
        }
        if (apply_one(&c, root, op, path, plen, val))
            return -1;
    }
    sl_buf b;
    sl_buf_init(&b);
    print(&b, root);
    char *s = b.failed ? NULL : sl_arena_memdup(a, b.data, b.len);
    *outlen = (uint32_t)b.len;
    sl_buf_free(&b);
    if (!s)
        return fail(&c, "ran out of memory", NULL, 0);
    *out = s;
    return 0;
}
