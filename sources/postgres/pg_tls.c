/* pg_tls.c — TLS of every libpq connection the postgres source opens
 * (walsender, snapshot exporter and readers, catalog, check --connect):
 * `sslmode`, `sslrootcert`, `sslcert`, `sslkey` are libpq's own
 * parameters under libpq's names, passed to each connection (so PGSSLMODE
 * and friends no longer decide it). libpq gives no code for a failed
 * handshake, so when a connection with verification fails the server is
 * asked again with less verification: what then succeeds says which check
 * failed, and the message names the option that fixes it. */
#define SL_LOG_COMPONENT "postgres source"

#include <stdio.h>
#include <string.h>

#include "../../core/log.h"
#include "pg_source.h"

static const char *const modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};

int sl_pg_tls_validate(const sl_options *o, sl_err *err)
{
    static const char *const files[] = {"sslrootcert", "sslcert", "sslkey"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        int rc = sl_opt_check_file(o, files[i], SL_LOG_COMPONENT, 0, err);
        if (rc)
            return rc;
    }
    if (!sl_opt_str(o, "sslcert") != !sl_opt_str(o, "sslkey")) {
        char where[512];
        const char *set = sl_opt_str(o, "sslcert") ? "sslcert" : "sslkey";
        sl_opt_where(o, set, where, sizeof where);
        return sl_errf(err, SL_ECONFIG, "%s: " SL_LOG_COMPONENT ": %s needs %s (a client certificate and its key)",
                       where, set, strcmp(set, "sslcert") ? "sslcert" : "sslkey");
    }
    return 0;
}

const char *sl_pg_tls_mode_name(int mode) { return modes[mode]; }

size_t sl_pg_tls_params(const sl_pg_conf *c, int mode, const char **keys, const char **vals)
{
    size_t n = 0;
    keys[n] = "sslmode";
    vals[n++] = modes[mode];
    if (mode == SL_PG_SSL_DISABLE)
        return n;
    /* libpq verifies against a root certificate whenever it has one, also
     * with require: give it only where the mode asks for verification */
    if (c->sslrootcert && mode >= SL_PG_SSL_VERIFY_CA) {
        keys[n] = "sslrootcert";
        vals[n++] = c->sslrootcert;
    }
    if (c->sslcert) {
        keys[n] = "sslcert";
        vals[n++] = c->sslcert;
        keys[n] = "sslkey";
        vals[n++] = c->sslkey;
    }
    return n;
}

/* 1 when a plain (non-replication) connection with sslmode `mode` and
 * otherwise the same parameters succeeds */
static int works_with(const sl_pg_conf *c, int mode)
{
    sl_pg_conf probe = *c;
    probe.ssl_mode = mode;
    probe.max_retries = 0;
    probe.tls_diagnosed = 1;
    PGconn *conn;
    sl_err ignore;
    if (sl_pg_connect(&probe, 0, &conn, &ignore))
        return 0;
    PQfinish(conn);
    return 1;
}

/* the server's own words (pg_hba.conf method cert, clientcert=verify-*)
 * say when a client certificate is missing or does not match the role */
static int client_cert_fix(const sl_pg_conf *c, sl_err *err)
{
    if (strstr(err->msg, "requires a valid client certificate"))
        return sl_err_fix(err, SL_ECONFIG,
                          "the server admits this role only with a client certificate (pg_hba.conf method cert or "
                          "clientcert=verify-ca/verify-full)%s",
                          c->sslcert ? "; the server did not accept the one in sslcert: it must be signed by a CA "
                                       "in the server's ssl_ca_file"
                                     : ": set sslcert and sslkey");
    if (strstr(err->msg, "certificate authentication failed") || strstr(err->msg, "certificate validation"))
        return sl_err_fix(err, SL_ECONFIG,
                          "the certificate in sslcert %s does not name role '%s': its CN must be the role name "
                          "(or mapped to it in pg_ident.conf)",
                          c->sslcert ? c->sslcert : "(none)", c->user);
    return 0;
}

int sl_pg_tls_diagnose(const sl_pg_conf *c, sl_err *err, int rc)
{
    if (c->tls_diagnosed)
        return rc;
    int cert_rc = client_cert_fix(c, err);
    if (cert_rc)
        return cert_rc;
    if (c->ssl_mode < SL_PG_SSL_REQUIRE)
        return rc;
    const char *root = c->sslrootcert ? c->sslrootcert : "~/.postgresql/root.crt (libpq's default)";
    if (c->ssl_mode == SL_PG_SSL_VERIFY_FULL && works_with(c, SL_PG_SSL_VERIFY_CA))
        return sl_err_fix(err, SL_ECONFIG,
                          "the server's certificate is signed by a CA in sslrootcert but does not name the host "
                          "'%s' (sslmode verify-full checks the name); connect by a name the certificate lists "
                          "(subjectAltName), or use sslmode verify-ca",
                          c->host);
    if (c->ssl_mode >= SL_PG_SSL_VERIFY_CA && works_with(c, SL_PG_SSL_REQUIRE))
        return sl_err_fix(err, SL_ECONFIG,
                          "the server's certificate is not signed by a CA in sslrootcert %s (sslmode %s verifies "
                          "it); point sslrootcert at the CA that signed the server's certificate",
                          root, modes[c->ssl_mode]);
    if (works_with(c, SL_PG_SSL_DISABLE))
        return sl_err_fix(err, SL_ECONFIG,
                          "the server offers no TLS but sslmode %s requires it; set ssl = on with ssl_cert_file and "
                          "ssl_key_file in postgresql.conf and reload, or choose sslmode prefer",
                          modes[c->ssl_mode]);
    return rc;
}

void sl_pg_tls_describe(PGconn *conn, char *buf, size_t len)
{
    if (!PQsslInUse(conn)) {
        snprintf(buf, len, "plaintext");
        return;
    }
    const char *proto = PQsslAttribute(conn, "protocol"), *cipher = PQsslAttribute(conn, "cipher");
    snprintf(buf, len, "%s, %s", proto ? proto : "TLS", cipher ? cipher : "?");
}
