/* webconfig.c — the exporter-toolkit web configuration file (see webconfig.h). */
#include "webconfig.h"

#include <crypt.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "util.h"

enum { FILE_MAX = 1 << 20 };

typedef struct {
    yaml_document_t *doc;
    const char *dir;
    web_config *wc;
    char *err;
    size_t errlen;
} walk;

static bool fail(walk *w, const yaml_node_t *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool fail(walk *w, const yaml_node_t *at, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (at)
        snprintf(w->err, w->errlen, "line %zu: %s", at->start_mark.line + 1, what);
    else
        snprintf(w->err, w->errlen, "%s", what);
    return false;
}

static yaml_node_t *node(walk *w, int id) { return yaml_document_get_node(w->doc, id); }

/* The scalar text of n, or NULL (and the error) if n is not a scalar. */
static const char *scalar(walk *w, yaml_node_t *n, const char *key) {
    if (n->type != YAML_SCALAR_NODE) {
        fail(w, n, "%s: expected a single value", key);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static bool parse_bool(walk *w, yaml_node_t *n, const char *key) {
    const char *v = scalar(w, n, key);
    if (!v) return false;
    if (!strcmp(v, "true") || !strcmp(v, "false")) return true;
    return fail(w, n, "%s: expected true or false, not \"%s\"", key, v);
}

/* A mapping's pairs, keys checked: scalars, none twice (the toolkit's strict YAML refuses both). */
static bool check_mapping(walk *w, yaml_node_t *n, const char *what) {
    if (n->type != YAML_MAPPING_NODE) return fail(w, n, "%s: expected a mapping of keys to values", what);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(w, p->key);
        if (k->type != YAML_SCALAR_NODE) return fail(w, k, "%s: a key that is not a name", what);
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
            if (!strcmp((char *)node(w, q->key)->data.scalar.value, (char *)k->data.scalar.value))
                return fail(w, k, "%s: \"%s\" given twice", what, (char *)k->data.scalar.value);
    }
    return true;
}

/* A mapping's pairs (check_mapping has checked the keys): how many, the i-th key (its node and text), value. */
static size_t pairs(const yaml_node_t *n) { return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start); }
static yaml_node_t *key_node(walk *w, yaml_node_t *n, size_t i) { return node(w, n->data.mapping.pairs.start[i].key); }
static const char *key_text(walk *w, yaml_node_t *n, size_t i) { return (const char *)key_node(w, n, i)->data.scalar.value; }
static yaml_node_t *value_node(walk *w, yaml_node_t *n, size_t i) { return node(w, n->data.mapping.pairs.start[i].value); }

/* The contents of a file the configuration names (relative to the configuration's directory). */
static char *read_named(walk *w, yaml_node_t *n, const char *key) {
    const char *name = scalar(w, n, key);
    if (!name) return NULL;
    if (!*name) {
        fail(w, n, "%s: empty", key);
        return NULL;
    }
    buf path = {0};
    if (name[0] != '/' && w->dir) buf_printf(&path, "%s/", w->dir);
    buf_puts(&path, name);
    size_t len;
    char *text = read_file(path.data, FILE_MAX, &len);
    if (!text || !len) fail(w, n, "%s: cannot read %s", key, path.data);
    buf_free(&path);
    if (text && !len) {
        free(text);
        return NULL;
    }
    return text;
}

static bool parse_version(walk *w, yaml_node_t *n, const char *key, tls_version *out) {
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    const char *v = scalar(w, n, key);
    if (!v) return false;
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) {
            *out = (tls_version)(TLS_V10 + i);
            return true;
        }
    return fail(w, n, "%s: \"%s\" is none of TLS10, TLS11, TLS12, TLS13", key, v);
}

static bool parse_client_auth(walk *w, yaml_node_t *n, client_auth *out) {
    static const char *const names[] = {"NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
                                        "RequireAndVerifyClientCert"};
    const char *v = scalar(w, n, "client_auth_type");
    if (!v) return false;
    for (int i = 0; i < 5; i++)
        if (!strcmp(v, names[i])) {
            *out = (client_auth)i;
            return true;
        }
    return fail(w, n,
                "client_auth_type: \"%s\" is none of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                "VerifyClientCertIfGiven, RequireAndVerifyClientCert",
                v);
}

/* The certificate and key make a pair GnuTLS takes, and the client CAs parse: found at start-up (or at a
 * reload, which then keeps what runs), not at the first connection. */
static bool tls_files_usable(walk *w, yaml_node_t *at) {
    const web_config *wc = w->wc;
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) return fail(w, at, "out of memory");
    gnutls_datum_t cert = {(unsigned char *)wc->cert_pem, (unsigned int)strlen(wc->cert_pem)};
    gnutls_datum_t key = {(unsigned char *)wc->key_pem, (unsigned int)strlen(wc->key_pem)};
    int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    bool ok = rc >= 0 || fail(w, at, "cert_file and key_file: %s", gnutls_strerror(rc));
    if (ok && wc->client_ca_pem) {
        gnutls_datum_t ca = {(unsigned char *)wc->client_ca_pem, (unsigned int)strlen(wc->client_ca_pem)};
        rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        ok = rc > 0 || fail(w, at, "client_ca_file: %s", rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
    }
    gnutls_certificate_free_credentials(cred);
    return ok;
}

static bool parse_tls(walk *w, yaml_node_t *n) {
    web_config *wc = w->wc;
    if (!check_mapping(w, n, "tls_server_config")) return false;
    yaml_node_t *cert = NULL, *key_at = NULL, *ca = NULL, *auth_at = NULL;
    for (size_t i = 0; i < pairs(n); i++) {
        const char *key = key_text(w, n, i);
        yaml_node_t *v = value_node(w, n, i);
        if (!strcmp(key, "cert_file")) {
            if (!(wc->cert_pem = read_named(w, v, key))) return false;
            cert = v;
        } else if (!strcmp(key, "key_file")) {
            if (!(wc->key_pem = read_named(w, v, key))) return false;
            key_at = v;
        } else if (!strcmp(key, "client_ca_file")) {
            if (!(wc->client_ca_pem = read_named(w, v, key))) return false;
            ca = v;
        } else if (!strcmp(key, "client_auth_type")) {
            if (!parse_client_auth(w, v, &wc->client_auth)) return false;
            auth_at = v;
        } else if (!strcmp(key, "min_version")) {
            if (!parse_version(w, v, key, &wc->min_version)) return false;
        } else if (!strcmp(key, "max_version")) {
            if (!parse_version(w, v, key, &wc->max_version)) return false;
        } else if (!strcmp(key, "prefer_server_cipher_suites")) {
            if (!parse_bool(w, v, key)) return false; /* GnuTLS prefers the server's order already */
        } else if (!strcmp(key, "cipher_suites") || !strcmp(key, "curve_preferences") || !strcmp(key, "client_allowed_sans")) {
            /* each narrows what is accepted: ignoring one would accept more than the file says */
            return fail(w, v, "tls_server_config: %s is not supported by slurmpush (GnuTLS); remove it", key);
        } else {
            return fail(w, key_node(w, n, i), "tls_server_config: unknown key \"%s\"", key);
        }
    }
    if (cert && !key_at) return fail(w, cert, "tls_server_config: cert_file without key_file");
    if (key_at && !cert) return fail(w, key_at, "tls_server_config: key_file without cert_file");
    if (wc->min_version > wc->max_version) return fail(w, n, "tls_server_config: min_version is above max_version");
    if (ca && wc->client_auth == CLIENT_AUTH_NONE)
        return fail(w, ca, "tls_server_config: client_ca_file without a client_auth_type that asks for certificates");
    if (wc->client_auth != CLIENT_AUTH_NONE && !ca)
        return fail(w, auth_at, "tls_server_config: client_auth_type %s needs client_ca_file (the CAs to ask the client for)",
                    (const char *)auth_at->data.scalar.value);
    wc->tls = cert != NULL;
    if (wc->tls && !tls_files_usable(w, cert)) return false;
    if (!wc->tls && wc->client_auth != CLIENT_AUTH_NONE)
        return fail(w, auth_at, "tls_server_config: client certificates without cert_file and key_file");
    return true;
}

/* The response headers the toolkit allows, and nothing else (it refuses the rest too). */
static bool allowed_header(const char *name) {
    static const char *const names[] = {"Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
                                        "X-XSS-Protection", "Content-Security-Policy"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(name, names[i])) return true;
    return false;
}

static bool printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

static bool parse_http(walk *w, yaml_node_t *n) {
    if (!check_mapping(w, n, "http_server_config")) return false;
    for (size_t i = 0; i < pairs(n); i++) {
        const char *key = key_text(w, n, i);
        yaml_node_t *v = value_node(w, n, i);
        if (!strcmp(key, "http2")) {
            if (!parse_bool(w, v, key)) return false; /* HTTP/1.1 only, either way */
        } else if (!strcmp(key, "headers")) {
            if (!check_mapping(w, v, "headers")) return false;
            for (size_t h = 0; h < pairs(v); h++) {
                const char *name = key_text(w, v, h);
                yaml_node_t *hv = value_node(w, v, h);
                const char *value = scalar(w, hv, name);
                if (!value) return false;
                if (!allowed_header(name)) return fail(w, hv, "headers: %s cannot be set here", name);
                if (!printable(value)) return fail(w, hv, "headers: %s: control or non-ASCII characters", name);
                w->wc->headers = xrealloc(w->wc->headers, (w->wc->n_headers + 1) * sizeof *w->wc->headers);
                w->wc->headers[w->wc->n_headers++] = (web_header){xstrdup(name), xstrdup(value)};
            }
        } else {
            return fail(w, key_node(w, n, i), "http_server_config: unknown key \"%s\"", key);
        }
    }
    return true;
}

/* "$2a$", "$2b$" or "$2y$", a two-digit cost, "$", 53 characters of bcrypt's base64. */
static bool bcrypt_hash(const char *h) {
    if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' || h[6] != '$') return false;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
    for (const char *c = h + 7; *c; c++)
        if (!strchr("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", *c)) return false;
    return true;
}

static bool parse_users(walk *w, yaml_node_t *n) {
    if (!check_mapping(w, n, "basic_auth_users")) return false;
    for (size_t i = 0; i < pairs(n); i++) {
        const char *user = key_text(w, n, i);
        yaml_node_t *v = value_node(w, n, i);
        const char *hash = scalar(w, v, user);
        if (!hash) return false;
        if (!*user || strchr(user, ':')) return fail(w, v, "basic_auth_users: \"%s\" is not a user name", user);
        if (!bcrypt_hash(hash)) return fail(w, v, "basic_auth_users: %s: not a bcrypt hash ($2y$…)", user);
        web_config *wc = w->wc;
        wc->users = xrealloc(wc->users, (wc->n_users + 1) * sizeof *wc->users);
        wc->users[wc->n_users++] = (web_user){xstrdup(user), xstrdup(hash)};
    }
    return true;
}

/* "key:" with nothing after it. */
static bool is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null");
}

static bool parse_root(walk *w, yaml_node_t *root) {
    if (!root) return true; /* an empty file: no TLS, no users */
    if (root->type == YAML_SCALAR_NODE && !root->data.scalar.length) return true;
    if (!check_mapping(w, root, "the file")) return false;
    for (size_t i = 0; i < pairs(root); i++) {
        const char *key = key_text(w, root, i);
        yaml_node_t *v = value_node(w, root, i);
        bool ok = true;
        if (is_null(v) &&
            (!strcmp(key, "tls_server_config") || !strcmp(key, "http_server_config") || !strcmp(key, "basic_auth_users")))
            ok = true; /* present, empty: as if absent */
        else if (!strcmp(key, "tls_server_config"))
            ok = parse_tls(w, v);
        else if (!strcmp(key, "http_server_config"))
            ok = parse_http(w, v);
        else if (!strcmp(key, "basic_auth_users"))
            ok = parse_users(w, v);
        else
            ok = fail(w, key_node(w, root, i), "unknown key \"%s\"", key);
        if (!ok) return false;
    }
    return true;
}

bool web_config_parse(const char *text, size_t len, const char *dir, web_config *out, char *err, size_t errlen) {
    *out = (web_config){.client_auth = CLIENT_AUTH_NONE, .min_version = TLS_V12, .max_version = TLS_V13};
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    bool ok = yaml_parser_load(&parser, &doc);
    if (!ok) {
        snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1, parser.problem ? parser.problem : "not YAML");
    } else {
        walk w = {.doc = &doc, .dir = dir, .wc = out, .err = err, .errlen = errlen};
        ok = parse_root(&w, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    if (!ok) web_config_free(out);
    return ok;
}

bool web_config_load(const char *path, web_config *out, char *err, size_t errlen) {
    size_t len;
    char *text = read_file(path, FILE_MAX, &len);
    if (!text) {
        snprintf(err, errlen, "%s: cannot read it", path);
        *out = (web_config){0};
        return false;
    }
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    char why[400];
    bool ok = web_config_parse(text, len, dir, out, why, sizeof why);
    if (!ok) snprintf(err, errlen, "%s: %s", path, why);
    free(dir);
    free(text);
    return ok;
}

void web_config_free(web_config *wc) {
    free(wc->cert_pem), free(wc->key_pem), free(wc->client_ca_pem);
    for (size_t i = 0; i < wc->n_users; i++) free(wc->users[i].name), free(wc->users[i].hash);
    free(wc->users);
    for (size_t i = 0; i < wc->n_headers; i++) free(wc->headers[i].name), free(wc->headers[i].value);
    free(wc->headers);
    *wc = (web_config){0};
}

void web_config_tls_priorities(const web_config *wc, char *out, size_t len) {
    buf p = {0};
    buf_puts(&p, "NORMAL:-VERS-ALL");
    for (int v = wc->max_version; v >= (int)wc->min_version; v--) buf_printf(&p, ":+VERS-TLS1.%d", v - TLS_V10);
    snprintf(out, len, "%s", p.data);
    buf_free(&p);
}

bool web_config_hash_matches(const char *hash, const char *password) {
    struct crypt_data *cd = xcalloc(1, sizeof *cd);
    const char *got = crypt_rn(password, hash, cd, sizeof *cd);
    bool same = got && strlen(got) == strlen(hash) && same_bytes(got, hash, strlen(hash));
    free(cd);
    return same;
}
