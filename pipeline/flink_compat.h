/* flink_compat.h — what of a Flink CDC pipeline file sluice accepts without
 * acting on it: options of Flink's Java runtime (Debezium engine tuning,
 * JDBC connection pools, Flink operator settings) that mean nothing to a
 * native binary. The loader accepts them with one warning naming them all,
 * so a Flink file loads unchanged; an option that would change what reaches
 * the sink is never in this list. */
#ifndef SL_FLINK_COMPAT_H
#define SL_FLINK_COMPAT_H

/* section: "source", "sink" or "pipeline"; 1 when key is such an option */
int sl_flink_ignored_option(const char *section, const char *key);

/* A TLS setting of the Java connectors (debezium.database.ssl.*,
 * jdbc.properties.useSSL, ...) that asks for TLS or verification: never
 * ignored, since ignoring it could silently connect with less protection
 * than the file asks for; the loader refuses it and names sluice's own
 * option. One that turns TLS off (false, disable, disabled) is ignored
 * like the other Java options (sluice's default, preferred TLS, protects
 * more). NULL when key/value is not such a setting, else the name of
 * sluice's options for the message. */
const char *sl_flink_tls_option(const char *section, const char *key, const char *value);

#endif
