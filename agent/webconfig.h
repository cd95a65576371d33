/* webconfig.h — the web configuration file of Prometheus' exporter-toolkit (--web.config.file), the one
 * node_exporter and every official exporter read: TLS for the listener, users for basic auth (bcrypt
 * hashes), extra response headers. Parsed with libyaml, strictly as the toolkit does (an unknown key is
 * an error); paths are relative to the file's directory. Knows nothing of HTTP servers. */
#ifndef SLURMPUSH_WEBCONFIG_H
#define SLURMPUSH_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CLIENT_AUTH_NONE,              /* NoClientCert (the default) */
    CLIENT_AUTH_REQUEST,           /* RequestClientCert: asked for, not required, not verified */
    CLIENT_AUTH_REQUIRE_ANY,       /* RequireAnyClientCert: required, not verified */
    CLIENT_AUTH_VERIFY_IF_GIVEN,   /* VerifyClientCertIfGiven */
    CLIENT_AUTH_REQUIRE_AND_VERIFY /* RequireAndVerifyClientCert */
} client_auth;

typedef enum { TLS_V10 = 10, TLS_V11, TLS_V12, TLS_V13 } tls_version;

typedef struct {
    char *name, *hash; /* a basic_auth_users entry: user name and bcrypt hash */
} web_user;

typedef struct {
    char *name, *value; /* an http_server_config.headers entry */
} web_header;

typedef struct {
    bool tls;                 /* tls_server_config with a certificate */
    char *cert_pem, *key_pem; /* the contents of cert_file and key_file */
    char *client_ca_pem;      /* client_ca_file's, or NULL */
    client_auth client_auth;
    tls_version min_version, max_version;
    web_user *users;
    size_t n_users;
    web_header *headers; /* for every response */
    size_t n_headers;
} web_config;

/* Reads and checks path; on failure fills err with one line that names the problem. */
bool web_config_load(const char *path, web_config *out, char *err, size_t errlen);
/* Parses text as the file's contents (dir: where relative paths start). For tests and fuzzing. */
bool web_config_parse(const char *text, size_t len, const char *dir, web_config *out, char *err, size_t errlen);
void web_config_free(web_config *wc);

/* The GnuTLS priority string for the version range ("NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"). */
void web_config_tls_priorities(const web_config *wc, char *out, size_t len);

/* True if password hashes to hash (bcrypt, through libxcrypt's crypt_rn; compared in constant time). Slow on
 * purpose (the hash's cost): callers remember what passed, and check an unknown user against some user's
 * hash so that it costs the same. */
bool web_config_hash_matches(const char *hash, const char *password);

#endif
