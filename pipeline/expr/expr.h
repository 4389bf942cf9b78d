/* expr.h — Flink CDC transform expressions: what pipeline/transform.c uses.
 *
 * A projection or filter is parsed once when the pipeline loads
 * (xparse_projection, xparse_expr), checked there against unknown column
 * types (xbind with no table), and bound to each table the rule meets at
 * its first event (xbind with the table): names resolve, types are fixed,
 * constant parts computed. Evaluation (xeval) then runs per row without
 * allocating, writing produced text into the batch's arena.
 *
 * The files of pipeline/expr/: xlex.c tokens, xparse.c the parse tree,
 * xbind.c names and types, xconv.c casts and row values, xrun.c shared
 * evaluator helpers, xdecimal.c exact decimals, xtime.c time zones and
 * Java date patterns (ICU), xregex.c Java regexes (ICU), fn_*.c the
 * operator and function families, fn_table.c their lookup.
 */
#ifndef SL_EXPR_H
#define SL_EXPR_H

#include "xast.h"
#include "xbind.h"
#include "xeval.h"
#include "xtime.h"
#include "xtype.h"

#endif
