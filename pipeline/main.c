/* main.c — the sluice command line: run, migrate, check, describe,
 * status, version. Exit codes: 0 ok, 1 runtime failure, 2 usage or
 * configuration error. Logs go to stderr; results of check/describe/status
 * go to stdout. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../core/envelope.h"
#include "../core/log.h"
#include "ha/ha.h"
#include "registry.h"
#include "runtime.h"
#include "sd_notify.h"
#include "status.h"
#include "../core/verify.h"

/* The process's one piece of mutable global state: a stop request. */
static volatile sig_atomic_t stop_flag;

/* Signals are taken by one thread with sigwait() (every other thread has
 * them blocked), so what a signal does runs as ordinary code: it can log.
 * SIGINT/SIGTERM request a stop (the second one exits at once), SIGHUP
 * reopens the --log-file (after logrotate moved it) and is otherwise
 * logged and ignored (a terminal hang-up must not end a pipeline
 * silently). Commands that do not stop gracefully leave SIGINT/SIGTERM at
 * their default. */
static void *signal_main(void *arg)
{
    sigset_t set = *(sigset_t *)arg;
    free(arg);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig))
            continue;
        const char *name = sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" : "SIGTERM";
        if (sig == SIGHUP) {
            int rc = sl_log_reopen();
            if (rc == 1)
                sl_warn("received SIGHUP: ignored, sluice keeps running (stop it with SIGTERM or SIGINT)");
            else if (rc == 0)
                sl_info("received SIGHUP: reopened the log file %s", sl_log_file());
            else
                sl_warn("received SIGHUP: cannot reopen the log file %s: %s; logging on to the old one", sl_log_file(),
                        strerror(errno));
            continue;
        }
        if (__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
            sl_warn("received %s again: second signal: exiting without a final checkpoint", name);
            _exit(130);
        }
        sl_info("received %s: stopping (a second signal exits at once, without a final checkpoint)", name);
        __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED); /* read by the pipeline's threads */
        sl_sd_notify("STOPPING=1");
    }
    return NULL;
}

static void install_signals(int stoppable)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t *set = malloc(sizeof *set);
    if (!set)
        return;
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    if (stoppable) {
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
    }
    pthread_sigmask(SIG_BLOCK, set, NULL);
    pthread_t tid;
    if (pthread_create(&tid, NULL, signal_main, set)) {
        pthread_sigmask(SIG_UNBLOCK, set, NULL);
        free(set);
        return;
    }
    pthread_detach(tid);
}

static const char usage_main[] =
    "usage: sluice [--log-level LEVEL] <command> [options]\n"
    "\n"
    "Change data capture: reads a database's changelog and writes every change\n"
    "to a sink, exactly once where the sink allows it.\n"
    "\n"
    "commands:\n"
    "  run <pipeline.yaml>       snapshot (per scan.startup.mode), then stream changes until stopped\n"
    "  migrate <pipeline.yaml>   one-shot: snapshot and catch up to now, then exit\n"
    "  check <pipeline.yaml>     validate the pipeline file; --connect also probes the servers\n"
    "  describe [connector]      list connectors, or the options of one\n"
    "  status <pipeline.yaml>    last checkpoint, source head and lag, snapshot progress (--json)\n"
    "  version                   print the version\n"
    "\n"
    "common options (before or after the command):\n"
    "  --log-level LEVEL         error, warn, info (default), debug, trace\n"
    "  --log-format FORMAT       text (default) or json (one object per line: time, level,\n"
    "                            component, message, fields)\n"
    "  --log-file PATH           append the log to PATH instead of stderr; SIGHUP reopens it\n"
    "  -h, --help                help for a command: sluice <command> --help\n"
    "\n"
    "signals (run, migrate): SIGINT or SIGTERM stops after a final checkpoint, a\n"
    "second one exits at once; SIGHUP reopens the --log-file, else it is logged and\n"
    "ignored.\n";

/* the usage, then the connectors this binary has (from the registry) */
static void print_usage_main(FILE *out)
{
    fputs(usage_main, out);
    fputs("\nsources:", out);
    for (const sl_source_plugin *const *p = sl_sources(); *p; p++)
        fprintf(out, " %s", (*p)->name);
    fputs("\nsinks:  ", out);
    for (const sl_sink_plugin *const *p = sl_sinks(); *p; p++)
        fprintf(out, " %s", (*p)->name);
    fputs("\n(sluice describe <connector> lists its options)\n", out);
}

static const char usage_run[] =
    "usage: sluice run [--log-level LEVEL] <pipeline.yaml>\n"
    "\n"
    "Runs the pipeline until SIGINT/SIGTERM. On start it resumes from the last\n"
    "checkpoint committed in the sink; without one it starts as scan.startup.mode\n"
    "says. A stop commits a final checkpoint when the stream is between\n"
    "transactions, otherwise the open epoch is rolled back and replayed on restart.\n";

static const char usage_migrate[] =
    "usage: sluice migrate [--follow-until=now|POSITION] [--log-level LEVEL] <pipeline.yaml>\n"
    "\n"
    "Snapshots the configured tables (or reads the changelog from the startup\n"
    "position), follows the changelog up to the position at start (or the given\n"
    "one), commits, and exits.\n";

static const char usage_check[] =
    "usage: sluice check [--connect] [--log-level LEVEL] <pipeline.yaml>\n"
    "\n"
    "Validates the pipeline file: syntax, keys, option types and ranges, secrets.\n"
    "With --connect it also connects to the source and the sink and checks the\n"
    "server settings and privileges sluice needs, printing the statements that fix\n"
    "what is wrong. It creates nothing and does not disturb a running pipeline.\n";

static const char usage_describe[] =
    "usage: sluice describe [connector]\n"
    "\n"
    "Without an argument lists the connectors; with one prints its options:\n"
    "name, type, default and description. `sluice describe pipeline` prints the\n"
    "options of the pipeline: block.\n";

static const char usage_status[] =
    "usage: sluice status [--json] [--log-level LEVEL] <pipeline.yaml>\n"
    "\n"
    "Prints the last checkpoint committed in the pipeline's sink and its age, the\n"
    "source server's head position and how many bytes the checkpoint is behind it,\n"
    "and snapshot progress per table; with pipeline ha.mode set, the members of\n"
    "the group and which one is active. Reads without disturbing a running\n"
    "pipeline. --json prints one JSON object for scripts (without the group).\n";

static const char usage_version[] = "usage: sluice version\n";

typedef struct cli {
    const char *command;
    const char *file;
    int connect;
    int json;
    const char *follow_until;
} cli;

/* --log-level, --log-format, --log-file: 0, or 2 after saying what is wrong */
static int log_option(const char *name, const char *value)
{
    if (strcmp(name, "--log-level") == 0) {
        sl_log_level lvl;
        if (sl_log_parse_level(value, &lvl)) {
            fprintf(stderr, "sluice: unknown log level '%s' (error, warn, info, debug, trace)\n", value);
            return 2;
        }
        sl_log_init(lvl);
    } else if (strcmp(name, "--log-format") == 0) {
        sl_log_format f;
        if (sl_log_parse_format(value, &f)) {
            fprintf(stderr, "sluice: unknown log format '%s' (text, json)\n", value);
            return 2;
        }
        sl_log_set_format(f);
    } else if (sl_log_open_file(value)) {
        fprintf(stderr, "sluice: cannot open the log file %s: %s\n", value, strerror(errno));
        return 2;
    }
    return 0;
}

/* 0 ok, 1 help printed, 2 usage error */
static int parse_args(int argc, char **argv, const char *usage, cli *c)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"log-level", required_argument, NULL, 'l'},
        {"connect", no_argument, NULL, 'c'},
        {"follow-until", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"log-format", required_argument, NULL, 'F'},
        {"log-file", required_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            fputs(usage, stdout);
            return 1;
        case 'l':
            if (log_option("--log-level", optarg))
                return 2;
            break;
        case 'F':
            if (log_option("--log-format", optarg))
                return 2;
            break;
        case 'L':
            if (log_option("--log-file", optarg))
                return 2;
            break;
        case 'c':
            if (strcmp(c->command, "check") != 0)
                goto bad;
            c->connect = 1;
            break;
        case 'f':
            if (strcmp(c->command, "migrate") != 0)
                goto bad;
            c->follow_until = optarg;
            break;
        case 'j':
            if (strcmp(c->command, "status") != 0)
                goto bad;
            c->json = 1;
            break;
        default:
        bad:
            fprintf(stderr, "sluice %s: unknown option '%s'\n%s", c->command, argv[optind - 1], usage);
            return 2;
        }
    }
    if (optind < argc)
        c->file = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "sluice %s: unexpected argument '%s'\n%s", c->command, argv[optind], usage);
        return 2;
    }
    return 0;
}

static void print_option_table(const sl_option_def *defs)
{
    size_t w = 4;
    for (const sl_option_def *d = defs; d->name; d++) {
        size_t n = strlen(d->name) + (d->type == SL_OPT_PREFIX ? 1 : 0);
        if (n > w)
            w = n;
    }
    printf("  %-*s  %-8s  %-16s  %s\n", (int)w, "NAME", "TYPE", "DEFAULT", "DESCRIPTION");
    for (const sl_option_def *d = defs; d->name; d++) {
        char name[128], dflt[64];
        snprintf(name, sizeof name, "%s%s", d->name, d->type == SL_OPT_PREFIX ? "*" : "");
        if (d->required)
            snprintf(dflt, sizeof dflt, "(required)");
        else if (d->default_value && d->type == SL_OPT_SECRET)
            snprintf(dflt, sizeof dflt, "-");
        else if (d->default_value && *d->default_value)
            snprintf(dflt, sizeof dflt, "%s", d->default_value);
        else
            snprintf(dflt, sizeof dflt, "-");
        printf("  %-*s  %-8s  %-16s  %s", (int)w, name, sl_opt_type_name(d->type), dflt, d->description);
        if (d->type == SL_OPT_ENUM) {
            printf(" One of: ");
            for (const char *p = d->enum_values; *p; p++)
                fputs(*p == '|' ? ", " : (char[]){*p, 0}, stdout);
            putchar('.');
        }
        if (d->min || d->max)
            printf(" Range: %lld..%lld%s.", (long long)d->min, (long long)d->max,
                   d->type == SL_OPT_DURATION ? " ms" : d->type == SL_OPT_SIZE ? " bytes" : "");
        putchar('\n');
    }
}

static int cmd_describe(const cli *c)
{
    if (!c->file) {
        printf("sources:\n");
        for (const sl_source_plugin *const *p = sl_sources(); *p; p++)
            printf("  %-10s %s\n", (*p)->name, (*p)->description);
        printf("sinks:\n");
        for (const sl_sink_plugin *const *p = sl_sinks(); *p; p++)
            printf("  %-10s %s [%s]\n", (*p)->name, (*p)->description, sl_guarantee_name((*p)->guarantee));
        printf("other:\n  %-10s options of the pipeline: block\n", "pipeline");
        return 0;
    }
    if (strcmp(c->file, "pipeline") == 0) {
        printf("pipeline: options of the pipeline: block\n\n");
        print_option_table(sl_pipeline_options);
        return 0;
    }
    const sl_source_plugin *src = sl_find_source(c->file);
    const sl_sink_plugin *snk = sl_find_sink(c->file);
    if (!src && !snk) {
        const char *names[32];
        size_t n = 0;
        for (const sl_source_plugin *const *p = sl_sources(); *p && n < 30; p++)
            names[n++] = (*p)->name;
        for (const sl_sink_plugin *const *p = sl_sinks(); *p && n < 30; p++)
            names[n++] = (*p)->name;
        names[n++] = "pipeline";
        const char *hint = sl_did_you_mean(c->file, names, n);
        if (hint)
            fprintf(stderr, "sluice describe: unknown connector '%s'; did you mean '%s'?\n", c->file, hint);
        else
            fprintf(stderr, "sluice describe: unknown connector '%s' (sluice describe lists them)\n", c->file);
        return 2;
    }
    if (src) {
        printf("%s (source): %s\n\n", src->name, src->description);
        print_option_table(src->options);
    }
    if (snk) {
        if (src)
            putchar('\n');
        printf("%s (sink, %s): %s\n\n", snk->name, sl_guarantee_name(snk->guarantee), snk->description);
        print_option_table(snk->options);
    }
    return 0;
}

static int load(const cli *c, sl_config *cfg)
{
    if (!c->file) {
        fprintf(stderr, "sluice %s: missing pipeline file (sluice %s --help)\n", c->command, c->command);
        return 2;
    }
    sl_err err;
    int rc = sl_config_load(c->file, cfg, &err);
    if (rc) {
        sl_config_free(cfg);
        sl_error("%s", err.msg);
        return rc == SL_ECONFIG ? 2 : 1;
    }
    return 0;
}

/* exit code of a connector check: 0 ok, 2 configuration, 1 otherwise */
static int check_exit(int rc, const sl_err *err)
{
    if (!rc)
        return 0;
    sl_error("%s", err->msg);
    return rc == SL_ECONFIG ? 2 : 1;
}

static int check_source(const sl_config *cfg)
{
    const sl_source_plugin *src = cfg->source_plugin;
    if (!src->check_connect) {
        printf("source %s: no connection checks\n", src->name);
        return 0;
    }
    sl_err err;
    void *self = NULL;
    sl_source_env env = {.pipeline_name = sl_opt_str(&cfg->pipeline, "name"), .pipeline = &cfg->pipeline};
    int rc = src->create(&cfg->source, &env, &self, &err);
    if (!rc)
        rc = src->check_connect(self, stdout, &err);
    if (self)
        src->destroy(self);
    return check_exit(rc, &err);
}

static int check_sink(const sl_config *cfg)
{
    const sl_sink_plugin *snk = cfg->sink_plugin;
    if (!snk->check_connect) {
        printf("sink %s: no connection checks\n", snk->name);
        return 0;
    }
    sl_err err;
    sl_sink_env env = {.pipeline_name = sl_opt_str(&cfg->pipeline, "name"), .pipeline = &cfg->pipeline,
                       .source_connector = sl_source_envelope_name(cfg->source_plugin)};
    return check_exit(snk->check_connect(&cfg->sink, &env, stdout, &err), &err);
}

static int cmd_check(const cli *c)
{
    sl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = load(c, &cfg);
    if (rc)
        return rc;
    /* the source's create() checks what needs the pipeline around it
     * (a slot name derived from the pipeline name); it opens nothing */
    sl_err err;
    void *self = NULL;
    sl_source_env env = {.pipeline_name = sl_opt_str(&cfg.pipeline, "name"), .pipeline = &cfg.pipeline};
    rc = cfg.source_plugin->create(&cfg.source, &env, &self, &err);
    if (self)
        cfg.source_plugin->destroy(self);
    if (rc) {
        rc = check_exit(rc, &err);
    } else {
        printf("%s: ok (source %s, sink %s, %zu routes, %zu transforms)\n", c->file, cfg.source_plugin->name,
               cfg.sink_plugin->name, cfg.nroutes, cfg.ntransforms);
    }
    if (!rc && c->connect) {
        /* both sides are probed; the worse verdict decides */
        int src_rc = check_source(&cfg);
        fflush(stdout);
        int snk_rc = check_sink(&cfg);
        rc = src_rc == 2 || snk_rc == 2 ? 2 : src_rc ? src_rc : snk_rc;
    }
    sl_config_free(&cfg);
    return rc;
}

static int cmd_status(const cli *c)
{
    sl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = load(c, &cfg);
    if (rc)
        return rc;
    /* the group as its coordinator sees it (with ha.mode); the rest of the
     * status shows even when the coordinator cannot be asked */
    sl_err err;
    json_t *ha = NULL;
    int ha_rc = sl_ha_status(&cfg, &ha, &err);
    rc = sl_status(&cfg, c->json, ha, stdout);
    if (!rc && !c->json)
        sl_ha_status_print(ha, stdout);
    if (!rc && ha_rc) {
        sl_error("%s", err.msg);
        rc = 1;
    }
    json_decref(ha);
    sl_config_free(&cfg);
    return rc;
}

/* After a migrate: what moved per table, then source and sink compared. */
static int migrate_report(const sl_config *cfg, const sl_run_stats *st)
{
    printf("\n%-40s %12s %10s %10s %10s %10s %12s\n", "table", "snapshotted", "inserts", "updates", "deletes",
           "elapsed", "rows/s");
    for (size_t i = 0; i < st->ntables; i++) {
        const sl_table_stat *t = &st->tables[i];
        unsigned long long total = t->reads + t->inserts + t->updates + t->deletes;
        printf("%-40s %12llu %10llu %10llu %10llu %9.1fs %12.0f\n", t->table, t->reads, t->inserts, t->updates,
               t->deletes, st->seconds, st->seconds > 0 ? (double)total / st->seconds : 0.0);
    }
    const sl_source_plugin *src = cfg->source_plugin;
    const sl_sink_plugin *snk = cfg->sink_plugin;
    const char *mode = sl_opt_str(&cfg->source, "scan.startup.mode");
    if (mode && strcmp(mode, "initial") != 0 && strcmp(mode, "snapshot") != 0) {
        printf("\nverification skipped: scan.startup.mode %s reads only the changelog, so the sink does not hold "
               "the rows from before it; use initial to verify whole tables\n",
               mode);
        return 0;
    }
    if (!src->digest || !snk->read_back) {
        printf("\nverification skipped: the %s sink cannot be read back\n", snk->name);
        return 0;
    }
    sl_err err;
    void *so = NULL, *ko = NULL;
    const char *name = sl_opt_str(&cfg->pipeline, "name");
    sl_source_env renv = {.pipeline_name = name, .pipeline = &cfg->pipeline};
    sl_sink_env kenv = {.pipeline_name = name, .pipeline = &cfg->pipeline, .source_connector = sl_source_envelope_name(src)};
    sl_digest_set a, b;
    sl_digest_set_init(&a);
    sl_digest_set_init(&b);
    char *ck = NULL;
    int rc = src->create(&cfg->source, &renv, &so, &err);
    if (!rc)
        rc = snk->create(&cfg->sink, &kenv, &ko, &err);
    if (!rc)
        rc = snk->load_checkpoint(ko, &ck, &err);
    if (!rc)
        rc = src->digest(so, &a, &err);
    if (!rc)
        rc = snk->read_back(ko, &a, &b, &err);
    free(ck);
    if (so)
        src->destroy(so);
    if (ko)
        snk->destroy(ko);
    if (rc) {
        sl_error("verification failed to run: %s", err.msg);
        sl_digest_set_free(&a);
        sl_digest_set_free(&b);
        return 1;
    }
    int bad = sl_digest_compare(stdout, &a, &b);
    sl_digest_set_free(&a);
    sl_digest_set_free(&b);
    if (bad) {
        printf("\nverification FAILED: %d table%s differ between source and sink\n", bad, bad == 1 ? "" : "s");
        return 1;
    }
    printf("\nverification ok: every table matches row for row\n");
    return 0;
}

static int cmd_run(const cli *c, int migrate)
{
    sl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = load(c, &cfg);
    if (rc)
        return rc;
    sl_run_opts ro = {.migrate = migrate, .follow_until = c->follow_until};
    sl_run_stats stats;
    sl_err err;
    sl_log_set_pipeline(sl_opt_str(&cfg.pipeline, "name"));
    sl_info("pipeline %s: %s -> %s", sl_opt_str(&cfg.pipeline, "name"), cfg.source_plugin->name,
            cfg.sink_plugin->name);
    /* a one-shot migrate runs alone: high availability is for run */
    if (!migrate && sl_opt_num(&cfg.pipeline, "ha.mode"))
        rc = sl_ha_run(&cfg, &ro, &stop_flag, &stats, NULL, NULL, &err);
    else
        rc = sl_pipeline_run(&cfg, &ro, &stop_flag, &stats, &err);
    if (rc) {
        sl_error("%s", err.msg);
        rc = rc == SL_ECONFIG ? 2 : 1;
    } else {
        sl_info("pipeline %s stopped: %llu events in %.1fs, %llu checkpoints", sl_opt_str(&cfg.pipeline, "name"),
                stats.events, stats.seconds, stats.commits);
        if (migrate && !__atomic_load_n(&stop_flag, __ATOMIC_RELAXED))
            rc = migrate_report(&cfg, &stats);
    }
    sl_run_stats_free(&stats);
    sl_log_set_pipeline(NULL);
    sl_config_free(&cfg);
    return rc;
}

/* Options given before the command (sluice --log-level trace run x.yaml);
 * returns the index of the command, or -1 with *exit_code set. */
static int global_options(int argc, char **argv, int *exit_code)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_usage_main(stdout);
            *exit_code = 0;
            return -1;
        }
        if (strcmp(a, "--version") == 0)
            return i;
        static const char *const opts[] = {"--log-level", "--log-format", "--log-file"};
        static const char *const wants[] = {"(error, warn, info, debug, trace)", "(text, json)", "(a file path)"};
        const char *name = NULL, *value = NULL;
        for (size_t k = 0; k < 3 && !name; k++) {
            size_t n = strlen(opts[k]);
            if (strcmp(a, opts[k]) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "sluice: option '%s' needs a value %s\n", opts[k], wants[k]);
                    *exit_code = 2;
                    return -1;
                }
                name = opts[k];
                value = argv[i + 1];
                i += 2;
            } else if (strncmp(a, opts[k], n) == 0 && a[n] == '=') {
                name = opts[k];
                value = a + n + 1;
                i++;
            }
        }
        if (!name) {
            fprintf(stderr, "sluice: unknown option '%s'\n\n", a);
            print_usage_main(stderr);
            *exit_code = 2;
            return -1;
        }
        if (log_option(name, value)) {
            *exit_code = 2;
            return -1;
        }
    }
    if (i >= argc) {
        print_usage_main(stderr);
        *exit_code = 2;
        return -1;
    }
    return i;
}

int main(int argc, char **argv)
{
    sl_log_init(SL_LOG_INFO);
    sl_err rerr;
    if (sl_registry_check(&rerr)) {
        sl_error("this build of sluice is broken: %s", rerr.msg);
        return 1;
    }
    int exit_code = 0;
    int at = global_options(argc, argv, &exit_code);
    if (at < 0)
        return exit_code;
    argc -= at - 1;
    argv += at - 1;
    cli c = {.command = argv[1]};
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0) {
        print_usage_main(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0)
        cmd = c.command = "version";
    static const struct {
        const char *name, *usage;
    } commands[] = {
        {"run", usage_run},         {"migrate", usage_migrate}, {"check", usage_check},
        {"describe", usage_describe}, {"status", usage_status}, {"version", usage_version},
    };
    const char *usage = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            usage = commands[i].usage;
    if (!usage) {
        const char *names[] = {"run", "migrate", "check", "describe", "status", "version"};
        const char *hint = sl_did_you_mean(cmd, names, 6);
        if (hint)
            fprintf(stderr, "sluice: unknown command '%s'; did you mean '%s'?\n", cmd, hint);
        else
        {
            fprintf(stderr, "sluice: unknown command '%s'\n\n", cmd);
            print_usage_main(stderr);
        }
        return 2;
    }
    /* the log settings first: the signal thread logs, and they are written
     * once before any thread exists (TSan saw the level written after) */
    int prc = parse_args(argc - 1, argv + 1, usage, &c);
    if (prc)
        return prc == 1 ? 0 : 2;
    /* before any other thread exists, so that every thread inherits the mask */
    install_signals(strcmp(cmd, "run") == 0 || strcmp(cmd, "migrate") == 0);
    if (strcmp(cmd, "version") == 0) {
        printf("sluice %s\n", SL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "describe") == 0)
        return cmd_describe(&c);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(&c);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(&c);
    return cmd_run(&c, strcmp(cmd, "migrate") == 0);
}
