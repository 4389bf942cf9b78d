/* xbind.h — binds a parsed expression to one table: names resolve to
 * columns, metadata or computed columns, operators and functions get their
 * static types and evaluators, constant parts are computed once.
 *
 * The same binder runs at load time with no table (every column of type
 * ANY), which catches unknown functions, wrong argument counts and type
 * errors among literals before anything starts.
 */
#ifndef SL_XBIND_H
#define SL_XBIND_H

#include "../../core/schema.h"
#include "xeval.h"

/* Flink's metadata columns */
enum {
    XM_NAMESPACE = 1, /* __namespace_name__: the database */
    XM_SCHEMA,        /* __schema_name__: MySQL database, PostgreSQL schema */
    XM_TABLE,         /* __table_name__ */
    XM_EVENT_TYPE,    /* __data_event_type__: +I -U +U -D */
    XM_OP_TS,         /* op_ts (metadata.list): commit time in ms, 0 for snapshot rows */
    XM_DATABASE_NAME, /* database_name (metadata.list) */
    XM_SCHEMA_NAME,   /* schema_name (metadata.list) */
    XM_TABLE_NAME,    /* table_name (metadata.list) */
};

/* 1 when name is a metadata column name that nothing may shadow */
int xb_is_metadata(const char *name);

/* a computed column a filter may name */
typedef struct xpost {
    const char *name;
    xtype type;
    int in_col; /* >= 0: the column is input column in_col renamed */
    int slot;   /* otherwise ctx->post[slot] holds its value */
} xpost;

typedef struct xscope {
    const sl_table_schema *in; /* NULL: checking at load, columns are ANY */
    const xpost *post;         /* filter: the projection's columns, which win over input columns */
    int npost;
    const char *metadata_list; /* the source's metadata.list */
    int *uses_post;            /* set to 1 when a computed column is named (may be NULL) */
} xscope;

/* what one binding owns: nodes, constants, compiled patterns */
typedef struct xbinding {
    sl_arena arena;
    struct xowned *owned;
} xbinding;

void xbinding_init(xbinding *b);
void xbinding_free(xbinding *b);

int xbind(const pnode *p, const xscope *sc, const xrt *rt, xbinding *owner, xnode **out, int *err_pos, char *why,
          size_t wlen);

#endif
