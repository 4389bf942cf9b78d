/* kind_tag.c — see kind_tag.h. */
#include "kind_tag.h"

#include <stdlib.h>
#include <string.h>

#include "value.h"

void sl_kind_tag_for(sl_buf *b, const sl_column *c)
{
    if (c->type_name)
        sl_buf_adds(b, c->type_name);
    uint16_t n = c->kind == SL_BIT ? c->precision : c->scale;
    if (c->is_array)
        sl_buf_printf(b, " [sluice:array/%s/%u]", sl_kind_name((sl_kind)c->elem_kind), (unsigned)c->scale);
    else
        sl_buf_printf(b, " [sluice:%s/%u]", sl_kind_name((sl_kind)c->kind), (unsigned)n);
}

static int kind_by_name(const char *s, size_t len, uint8_t *kind)
{
    for (int k = 0; k <= SL_UNCHANGED; k++) {
        const char *name = sl_kind_name((sl_kind)k);
        if (strlen(name) == len && memcmp(name, s, len) == 0) {
            *kind = (uint8_t)k;
            return 0;
        }
    }
    return -1;
}

int sl_kind_tag_parse(const char *comment, uint8_t *kind, uint16_t *n, uint8_t *elem_kind)
{
    const char *p = comment ? strstr(comment, "[sluice:") : NULL;
    if (!p)
        return 0;
    p += 8;
    const char *slash = strchr(p, '/');
    if (!slash)
        return 0;
    *elem_kind = 0;
    if ((size_t)(slash - p) == 5 && memcmp(p, "array", 5) == 0) {
        const char *s2 = strchr(slash + 1, '/');
        if (!s2 || kind_by_name(slash + 1, (size_t)(s2 - slash - 1), elem_kind))
            return 0;
        *kind = SL_TEXTUAL;
        *n = (uint16_t)atoi(s2 + 1);
        return 1;
    }
    if (kind_by_name(p, (size_t)(slash - p), kind))
        return 0;
    *n = (uint16_t)atoi(slash + 1);
    return 1;
}
