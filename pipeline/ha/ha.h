/* ha.h — high availability: any number of `sluice run` processes of one
 * pipeline form a group, exactly one runs the pipeline (active), the
 * others wait (standby) and take over when it stops or dies.
 *
 * Leadership comes from an existing coordinator, never a home-made one:
 * Kafka's consumer-group protocol (ha_kafka_group.c) or a lock held on the
 * source database for as long as a session lives (ha_source_lock.c). ha.c
 * runs the standby/active loop, the lease watchdog and the commit gate
 * that keeps a process which lost leadership from committing; the timing
 * argument is in docs/architecture.md ("High availability").
 */
#ifndef SL_HA_H
#define SL_HA_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "../config.h"
#include "../runtime.h"

enum sl_ha_mode { SL_HA_NONE = 0, SL_HA_KAFKA_GROUP = 1, SL_HA_SOURCE_LOCK = 2 };

/* One coordinator: how a member joins, becomes active, proves it still
 * is, and leaves. Every call runs on the HA thread except open/close. */
typedef struct sl_ha_ops {
    const char *name; /* "kafka-group", "source-lock" */
    int (*open)(const sl_config *cfg, const char *member, int64_t session_ms, const volatile sig_atomic_t *stop,
                void **self, sl_err *err);
    /* Standby: waits up to wait_ms for leadership. 1 active, 0 not yet,
     * <0 an error (the member then leaves and joins again). */
    int (*acquire)(void *self, int wait_ms, sl_err *err);
    /* Active: proves leadership still holds, waiting up to wait_ms for
     * the coordinator. 0 held, 1 lost (why in err). */
    int (*check)(void *self, int wait_ms, sl_err *err);
    /* Gives leadership up at once (graceful hand-over). */
    void (*release)(void *self);
    void (*close)(void *self);
    /* `sluice status`: the group's members and who is active, read
     * without joining, into view: "coordinator" (what holds leadership),
     * optional "state", "roles_known" (false while a Kafka group
     * rebalances), "count_known", "active" (one member leads) and
     * "members": [{"member", "host", optional "connection", "role":
     * "active"|"standby"|null}]. */
    int (*status)(const sl_config *cfg, json_t *view, sl_err *err);
} sl_ha_ops;

extern const sl_ha_ops sl_ha_kafka_group, sl_ha_source_lock;

/* Option combinations the pipeline's option table cannot express
 * (kafka-group needs brokers, source-lock a mysql or postgres source). */
int sl_ha_validate(const sl_config *cfg, sl_err *err);

/* This process's role, for logs, status and metrics. */
typedef enum sl_ha_role { SL_HA_ROLE_NONE = 0, SL_HA_ROLE_STANDBY, SL_HA_ROLE_ACTIVE } sl_ha_role;
const char *sl_ha_role_name(sl_ha_role r);

/* Hook for metrics: called on every role transition with the reason. */
typedef void (*sl_ha_role_fn)(void *ctx, sl_ha_role role, const char *why);

/* `sluice run` with ha.mode set: standby until active, then the pipeline
 * until a stop (hand-over) or a loss of leadership (back to standby).
 * on_role may be NULL. */
int sl_ha_run(const sl_config *cfg, const sl_run_opts *ro, const volatile sig_atomic_t *stop, sl_run_stats *stats,
              sl_ha_role_fn on_role, void *role_ctx, sl_err *err);

/* `sluice status`: the group as seen by its coordinator ({"mode", and
 * what sl_ha_ops.status fills}); *view stays NULL when ha.mode is none. */
int sl_ha_status(const sl_config *cfg, json_t **view, sl_err *err);
/* The same as text: a line for the group, one per member. */
void sl_ha_status_print(const json_t *view, FILE *out);

#endif
