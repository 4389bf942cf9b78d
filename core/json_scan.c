/* json_scan.c — a value skipper for well-formed JSON (what sluice wrote). */
#include "json_scan.h"

#include <string.h>

static const char *blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

const char *sl_json_skip(const char *p, const char *end)
{
    p = blank(p, end);
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
        p++;
    return p;
}

int sl_json_member(const char *obj, const char *end, const char *name, const char **vstart, const char **vend)
{
    const char *p = blank(obj, end);
    if (p >= end || *p != '{')
        return -1;
    size_t nlen = strlen(name);
    p++;
    for (;;) {
        p = blank(p, end);
        if (p >= end || *p == '}')
            return -1;
        if (*p != '"')
            return -1;
        const char *kend = skip_string(p, end);
        if (!kend)
            return -1;
        int match = (size_t)(kend - p - 2) == nlen && memcmp(p + 1, name, nlen) == 0;
        p = blank(kend, end);
        if (p >= end || *p != ':')
            return -1;
        const char *vs = blank(p + 1, end);
        const char *ve = sl_json_skip(vs, end);
        if (!ve)
            return -1;
        if (match) {
            *vstart = vs;
            *vend = ve;
            return 0;
        }
        p = blank(ve, end);
        if (p < end && *p == ',')
            p++;
    }
}
