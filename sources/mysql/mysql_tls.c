/* mysql_tls.c — TLS of every connection the mysql source opens (binlog,
 * snapshot readers, probes, check --connect): `ssl-mode` and the CA /
 * client certificate files, mapped onto MariaDB Connector/C 3.3.
 *
 * What the library does (measured on Debian 12's libmariadb 3.3 with
 * OpenSSL): any TLS option makes it ask for TLS, but it falls back to
 * plaintext when the server offers none unless the server certificate is
 * verified; a CA file makes it verify the chain; the verify flag adds the
 * host name check. So `required` is checked here after the connect (the
 * cipher must be set), `verify-ca` is a CA without the flag (the system CA
 * directory when no ssl-ca is given), `verify-identity` the CA plus the
 * flag. */
#define SL_LOG_COMPONENT "mysql source"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>

#include "../../core/log.h"
#include "mysql_source.h"

#define SYSTEM_CA_DIR "/etc/ssl/certs"

static const char *const file_opts[] = {"ssl-ca", "ssl-cert", "ssl-key"};

int sl_mysql_tls_validate(const sl_options *o, sl_err *err)
{
    char where[512];
    for (size_t i = 0; i < sizeof file_opts / sizeof *file_opts; i++) {
        int rc = sl_opt_check_file(o, file_opts[i], SL_LOG_COMPONENT, 0, err);
        if (rc)
            return rc;
    }
    if (!sl_opt_str(o, "ssl-cert") != !sl_opt_str(o, "ssl-key")) {
        const char *set = sl_opt_str(o, "ssl-cert") ? "ssl-cert" : "ssl-key";
        sl_opt_where(o, set, where, sizeof where);
        return sl_errf(err, SL_ECONFIG, "%s: " SL_LOG_COMPONENT ": %s needs %s (a client certificate and its key)",
                       where, set, strcmp(set, "ssl-cert") ? "ssl-cert" : "ssl-key");
    }
    if (sl_opt_num(o, "ssl-mode") == SL_MYSQL_SSL_DISABLED) {
        for (size_t i = 0; i < sizeof file_opts / sizeof *file_opts; i++) {
            if (!sl_opt_str(o, file_opts[i]))
                continue;
            sl_opt_where(o, file_opts[i], where, sizeof where);
            return sl_errf(err, SL_ECONFIG,
                           "%s: " SL_LOG_COMPONENT ": %s is set but ssl-mode is disabled; fix: remove %s or choose "
                           "an ssl-mode (required, verify-ca, verify-identity)",
                           where, file_opts[i], file_opts[i]);
        }
    }
    return 0;
}

void sl_mysql_tls_apply(const sl_mysql_conf *c, MYSQL *m)
{
    if (c->ssl_mode == SL_MYSQL_SSL_DISABLED)
        return;
    my_bool on = 1, verify_host = c->ssl_mode == SL_MYSQL_SSL_VERIFY_IDENTITY;
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify_host);
    /* a CA file makes the library verify the chain: only where asked */
    if (c->ssl_ca && c->ssl_mode >= SL_MYSQL_SSL_VERIFY_CA)
        mysql_optionsv(m, MYSQL_OPT_SSL_CA, c->ssl_ca);
    else if (c->ssl_mode >= SL_MYSQL_SSL_VERIFY_CA)
        mysql_optionsv(m, MYSQL_OPT_SSL_CAPATH, SYSTEM_CA_DIR);
    if (c->ssl_cert) {
        mysql_optionsv(m, MYSQL_OPT_SSL_CERT, c->ssl_cert);
        mysql_optionsv(m, MYSQL_OPT_SSL_KEY, c->ssl_key);
    }
}

int sl_mysql_tls_failure_is_final(const sl_mysql_conf *c, unsigned code)
{
    /* a certificate that does not verify will not verify on the next try;
     * without verification a handshake error may be a connection cut */
    return code == CR_SSL_CONNECTION_ERROR && c->ssl_mode >= SL_MYSQL_SSL_VERIFY_CA;
}

/* 1 when a connection with ssl-mode `mode` and otherwise the same
 * settings succeeds */
static int works_with(const sl_mysql_conf *c, int mode)
{
    sl_mysql_conf probe = *c;
    probe.ssl_mode = mode;
    probe.max_retries = 0;
    probe.tls_diagnosed = 1;
    MYSQL *m;
    sl_err ignore;
    if (sl_mysql_connect(&probe, &m, &ignore))
        return 0;
    mysql_close(m);
    return 1;
}

int sl_mysql_tls_fix(const sl_mysql_conf *c, unsigned code, sl_err *err, int rc)
{
    if (c->tls_diagnosed)
        return rc;
    if (code == ER_ACCESS_DENIED_ERROR && c->ssl_mode == SL_MYSQL_SSL_DISABLED)
        return sl_err_fix(err, rc, "check username and password; an account created REQUIRE SSL (or X509) is "
                                   "refused the same way over plaintext: set ssl-mode to required or stricter");
    /* the server answers a missing or unmatched client certificate like a
     * wrong password: name the other cause too */
    if (code == ER_ACCESS_DENIED_ERROR && !c->ssl_cert)
        return sl_err_fix(err, rc, "check username and password; an account created REQUIRE X509, SUBJECT or ISSUER "
                                   "is refused the same way without a client certificate: set ssl-cert and ssl-key");
    if (code == ER_ACCESS_DENIED_ERROR)
        return sl_err_fix(err, rc, "check username and password; an account created REQUIRE SUBJECT or ISSUER is "
                                   "refused the same way when the certificate in ssl-cert %s has another subject or "
                                   "issuer",
                          c->ssl_cert);
    if (code != CR_SSL_CONNECTION_ERROR || c->ssl_mode == SL_MYSQL_SSL_DISABLED)
        return rc;
    /* the library reports every TLS failure with one code: ask the server
     * again with less verification to learn which check failed */
    const char *ca = c->ssl_ca ? c->ssl_ca : SYSTEM_CA_DIR " (the system CAs; ssl-ca is not set)";
    if (c->ssl_mode == SL_MYSQL_SSL_VERIFY_IDENTITY && works_with(c, SL_MYSQL_SSL_VERIFY_CA))
        return sl_err_fix(err, rc,
                          "the server's certificate is signed by a CA in ssl-ca but does not name the host '%s' "
                          "(ssl-mode verify-identity checks the name); connect by a name the certificate lists "
                          "(subjectAltName), or use ssl-mode verify-ca",
                          c->host);
    if (c->ssl_mode >= SL_MYSQL_SSL_VERIFY_CA && works_with(c, SL_MYSQL_SSL_REQUIRED))
        return sl_err_fix(err, rc,
                          "the server's certificate is not signed by a CA in ssl-ca %s (ssl-mode %s verifies it); "
                          "point ssl-ca at the CA that signed the server's certificate",
                          ca, c->ssl_mode == SL_MYSQL_SSL_VERIFY_CA ? "verify-ca" : "verify-identity");
    return sl_err_fix(err, rc, "the TLS handshake failed with ssl-mode %s; check the server's TLS setup (ssl_cert, "
                               "ssl_key) and the ssl-cert/ssl-key files given",
                      c->ssl_mode == SL_MYSQL_SSL_PREFERRED ? "preferred" : "required or stricter");
}

int sl_mysql_tls_verify(const sl_mysql_conf *c, MYSQL *m, sl_err *err)
{
    if (c->ssl_mode < SL_MYSQL_SSL_REQUIRED || mysql_get_ssl_cipher(m))
        return 0;
    return sl_errf(err, SL_ECONFIG,
                   SL_LOG_PREFIX "ssl-mode requires TLS but %s:%u accepted a plaintext connection (the server offers "
                   "no TLS); fix: give the server ssl_cert and ssl_key in my.cnf [mysqld] and restart it, or set "
                   "ssl-mode: preferred",
                   c->host, c->port);
}

void sl_mysql_tls_describe(MYSQL *m, char *buf, size_t len)
{
    const char *cipher = mysql_get_ssl_cipher(m);
    const char *version = NULL;
    if (!cipher) {
        snprintf(buf, len, "plaintext");
        return;
    }
    mariadb_get_infov(m, MARIADB_CONNECTION_TLS_VERSION, &version);
    snprintf(buf, len, "%s, %s", version ? version : "TLS", cipher);
}
