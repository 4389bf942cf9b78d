/* err.h — how errors travel in sluice.
 *
 * Every fallible call returns an int (0 ok, negative failure) and fills a
 * caller-owned message buffer, the librdkafka `errstr` habit: the message is
 * written where the failure is understood and carried up unchanged, so the
 * CLI prints one line that names the place. Nothing deep inside exits.
 *
 * Hints. Where the fix is known, the message says it, in one of two
 * shapes: woven into the sentence where it reads naturally ("...; give
 * this pipeline a unique 'server-id'"), or appended with sl_err_fix() as
 * a last clause "; fix: <what to do>" that names the setting, the
 * statement or the option to change. A hint is part of the message, so
 * it survives every copy and prefix on the way up and is printed wherever
 * the message is; there is no second field to forget.
 *
 * Classes. Code decides the class (SL_ECONFIG, SL_ERETRY, SL_ERUNTIME:
 * what the runtime does with each is written in sources/source.h and
 * sinks/sink.h) from facts: the server's error code (SQLSTATE,
 * mysql_errno), or a question asked to the server; never from the text of
 * a server's message, which changes across versions and languages.
 */
#ifndef SL_ERR_H
#define SL_ERR_H

#include <stddef.h>

#define SL_ERRLEN 1024

typedef struct sl_err {
    char msg[SL_ERRLEN];
} sl_err;

/* Exit codes of the CLI, also used as error classes. */
enum {
    SL_OK = 0,
    SL_ERUNTIME = -1, /* exit 1: a server, the network, the data */
    SL_ECONFIG = -2,  /* exit 2: usage or configuration */
    SL_ERETRY = -3,   /* transient: the pipeline restarts from its last checkpoint (exit 1 if it persists) */
};

/* Formats into err (if not NULL) and returns code, so callers can write
 * `return sl_errf(err, SL_ECONFIG, "...")`. */
int sl_errf(sl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends "; fix: <printf(fmt, ...)>" to the message (see Hints above);
 * returns code. */
int sl_err_fix(sl_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends context ("mysql source: ") to an existing message. */
int sl_err_prefix(sl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
