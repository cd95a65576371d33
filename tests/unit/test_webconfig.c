/* test_webconfig.c — the exporter-toolkit web configuration file: what it takes (TLS files made here with
 * openssl, bcrypt hashes made here with libxcrypt), every refusal with its reason, passwords. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <crypt.h>

#include "agent/util.h"
#include "agent/webconfig.h"

static char dir[] = "/tmp/slurmpush-webconfig-XXXXXX";

static int make_files(void **st) {
    (void)st;
    if (!mkdtemp(dir)) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
             "-keyout key.pem -out cert.pem 2>/dev/null && cp cert.pem ca.pem && echo junk > junk.pem && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other "
             "-keyout otherkey.pem -out othercert.pem 2>/dev/null",
             dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_files(void **st) {
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static bool parse(const char *text, web_config *wc, char *err) { return web_config_parse(text, strlen(text), dir, wc, err, 512); }

static void test_empty_file(void **st) {
    (void)st;
    web_config wc;
    char err[512];
    assert_true(parse("", &wc, err));
    assert_false(wc.tls);
    assert_int_equal(wc.n_users, 0);
    web_config_free(&wc);
    assert_true(parse("tls_server_config:\nbasic_auth_users:\n", &wc, err)); /* present but empty */
    assert_false(wc.tls);
    web_config_free(&wc);
}

static void test_full_file(void **st) {
    (void)st;
    web_config wc;
    char err[512] = "";
    const char *text = "tls_server_config:\n"
                       "  cert_file: cert.pem\n" /* relative: to the file's directory */
                       "  key_file: key.pem\n"
                       "  client_auth_type: RequireAndVerifyClientCert\n"
                       "  client_ca_file: ca.pem\n"
                       "  min_version: TLS13\n"
                       "  prefer_server_cipher_suites: true\n"
                       "http_server_config:\n"
                       "  http2: false\n"
                       "  headers:\n"
                       "    X-Frame-Options: deny\n"
                       "    Strict-Transport-Security: max-age=31536000\n"
                       "basic_auth_users:\n"
                       "  alice: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n";
    if (!parse(text, &wc, err)) fail_msg("refused: %s", err);
    assert_true(wc.tls);
    assert_non_null(strstr(wc.cert_pem, "BEGIN CERTIFICATE"));
    assert_non_null(strstr(wc.key_pem, "PRIVATE KEY"));
    assert_non_null(wc.client_ca_pem);
    assert_int_equal(wc.client_auth, CLIENT_AUTH_REQUIRE_AND_VERIFY);
    assert_int_equal(wc.min_version, TLS_V13);
    assert_int_equal(wc.max_version, TLS_V13);
    assert_int_equal(wc.n_headers, 2);
    assert_string_equal(wc.headers[0].name, "X-Frame-Options");
    assert_string_equal(wc.headers[0].value, "deny");
    assert_int_equal(wc.n_users, 1);
    assert_string_equal(wc.users[0].name, "alice");
    char prio[128];
    web_config_tls_priorities(&wc, prio, sizeof prio);
    assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
    web_config_free(&wc);
    assert_true(parse("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n", &wc, err));
    web_config_tls_priorities(&wc, prio, sizeof prio); /* the toolkit's defaults: TLS 1.2 to 1.3 */
    assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
    assert_int_equal(wc.client_auth, CLIENT_AUTH_NONE);
    web_config_free(&wc);
}

/* Every refusal names its problem; nothing is half-taken. */
static void test_refusals(void **st) {
    (void)st;
    const struct {
        const char *text, *reason;
    } cases[] = {
        {"tls_server_config: [1, 2\n", "line"},
        {"- a\n- b\n", "mapping"},
        {"tls_config:\n  cert_file: cert.pem\n", "unknown key \"tls_config\""},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  cert_fil: x\n", "unknown key \"cert_fil\""},
        {"tls_server_config:\n  cert_file: cert.pem\n", "cert_file without key_file"},
        {"tls_server_config:\n  key_file: key.pem\n", "key_file without cert_file"},
        {"tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n", "cannot read"},
        {"tls_server_config:\n  cert_file: junk.pem\n  key_file: key.pem\n", "cert_file and key_file:"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: otherkey.pem\n", "cert_file and key_file:"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: Maybe\n", "none of NoClientCert"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_ca_file: ca.pem\n",
         "without a client_auth_type"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAndVerifyClientCert\n",
         "needs client_ca_file"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAndVerifyClientCert\n"
         "  client_ca_file: junk.pem\n",
         "client_ca_file:"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: TLS13\n  max_version: TLS12\n",
         "min_version is above max_version"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: SSL3\n", "none of TLS10"},
        {"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
         "cipher_suites is not supported"},
        {"tls_server_config:\n  cert_file: cert.pem\n  cert_file: cert.pem\n  key_file: key.pem\n", "given twice"},
        {"http_server_config:\n  headers:\n    Set-Cookie: a=b\n", "Set-Cookie cannot be set"},
        {"http_server_config:\n  headers:\n    X-Frame-Options: \"deny\\r\\nX: y\"\n", "control"},
        {"http_server_config:\n  http2: maybe\n", "true or false"},
        {"basic_auth_users:\n  alice: plaintext\n", "not a bcrypt hash"},
        {"basic_auth_users:\n  alice: [a]\n", "single value"},
        {"basic_auth_users:\n  \"a:b\": $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n", "not a user name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        web_config wc;
        char err[512] = "";
        if (parse(cases[i].text, &wc, err)) fail_msg("took case %zu:\n%s", i, cases[i].text);
        if (!strstr(err, cases[i].reason)) fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].reason);
        assert_false(wc.tls);
        assert_null(wc.users);
    }
}

static void test_load_names_the_file(void **st) {
    (void)st;
    web_config wc;
    char err[512], path[256];
    snprintf(path, sizeof path, "%s/web.yml", dir);
    FILE *f = fopen(path, "w");
    fputs("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n", f); /* relative to the file's directory */
    fclose(f);
    assert_true(web_config_load(path, &wc, err, sizeof err));
    assert_true(wc.tls);
    web_config_free(&wc);
    snprintf(path, sizeof path, "%s/absent.yml", dir);
    assert_false(web_config_load(path, &wc, err, sizeof err));
    assert_non_null(strstr(err, "absent.yml"));
}

static void test_passwords(void **st) {
    (void)st;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn("$2y$", 4, NULL, 0, salt, sizeof salt));
    struct crypt_data cd = {0};
    const char *hash = crypt_rn("s3cret", salt, &cd, sizeof cd);
    assert_non_null(hash);
    char text[256];
    snprintf(text, sizeof text, "basic_auth_users:\n  alice: %s\n  bob: '%s'\n", hash, hash);
    web_config wc;
    char err[512];
    if (!parse(text, &wc, err)) fail_msg("refused: %s", err);
    assert_int_equal(wc.n_users, 2);
    assert_string_equal(wc.users[1].hash, hash); /* quoted or not, the same hash */
    assert_true(web_config_hash_matches(wc.users[0].hash, "s3cret"));
    assert_false(web_config_hash_matches(wc.users[0].hash, "s3cret "));
    assert_false(web_config_hash_matches(wc.users[0].hash, ""));
    assert_false(web_config_hash_matches(wc.users[0].hash, "S3cret"));
    web_config_free(&wc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_file),          cmocka_unit_test(test_full_file), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_load_names_the_file), cmocka_unit_test(test_passwords),
    };
    return cmocka_run_group_tests(tests, make_files, remove_files);
}
