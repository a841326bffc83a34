/*
 * conn_test.c - the connection to aecsd (src/client/conn.c) and certificate
 * pinning (src/crypto/tls_pin.c), against tests/unit/common/tls_server.py on
 * loopback: an HTTPS stand-in that logs every request and checks signatures
 * on its own (hashlib for the signed string of docs/api.md, `openssl dgst
 * -verify` for the signature).
 *
 * TLS: the test CA accepts the server certificate and refuses a self-signed
 * one and one for another host name; the server certificate itself works as
 * `ca`; a pin accepts exactly the pinned certificate (whatever its name) and
 * refuses another one, naming what it saw. Fingerprints are what `openssl
 * x509 -noout -fingerprint -sha256` prints for the certificates of
 * tests/data/keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "base/err.h"
#include "client/conn.h"
#include "client/cred.h"
#include "crypto/tls_pin.h"
#include "testutil.h"
#include "tls_loopback.h"

#define MSG() (aecs_err_last()->message)

/* openssl x509 -in tests/data/keys/tls_server.pem -noout -fingerprint -sha256 */
#define FP_SERVER                                                                                  \
    "13:F5:08:48:D8:A3:03:36:2D:77:64:07:F6:43:96:7C:31:41:73:4C:46:F3:13:50:81:C3:46:E1:C7:E6:"   \
    "D7:89"
/* openssl x509 -in tests/data/keys/tls_other.pem -noout -fingerprint -sha256 */
#define FP_OTHER                                                                                   \
    "6B:AB:E1:30:A5:B8:EC:91:BA:5B:DF:79:75:88:E8:81:FA:81:A8:1F:39:60:96:66:CD:86:94:83:E8:B9:"   \
    "B4:B7"
/* openssl x509 -in tests/data/keys/tls_wrongname.pem -noout -fingerprint -sha256 */
#define FP_WRONGNAME                                                                               \
    "21:A5:8C:5E:80:BB:1D:F9:9A:9D:D8:AB:3F:25:05:DE:85:06:9E:AA:87:F0:88:1D:EB:C5:42:5B:1F:39:"   \
    "FC:24"
/* openssl pkey -pubin -in tests/data/keys/admin_p256.pub.pem -outform DER | sha256sum */
#define ADMIN_ID "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a29"
#define SERVICE_ID "0123456789abcdef0123456789abcdef"

static char g_dir[64];
static struct tu_tls_server g_srv; /* tls_server.pem, shared by most tests */
static int g_have_python;

static int group_setup(void **state)
{
    (void)state;
    tu_mkdtemp(g_dir, sizeof(g_dir));
    unsetenv("AECS_SERVER");
    unsetenv("AECS_KEY");
    unsetenv("AECS_CA");
    unsetenv("AECS_FINGERPRINT");
    g_have_python = tu_tls_server_start(&g_srv, g_dir, "tls_server", NULL) == 0;
    if (!g_have_python)
        fprintf(stderr, "conn_test: cannot start tests/unit/common/tls_server.py (python3): "
                        "the loopback tests are skipped\n");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_tls_server_stop(&g_srv);
    tu_rmtree(g_dir);
    return 0;
}

static void need_python(void)
{
    if (!g_have_python)
        skip();
}

static void assert_msg_is(const char *expected)
{
    if (strcmp(MSG(), expected) != 0)
        fail_msg("message '%s' is not '%s'", MSG(), expected);
}

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

static void data_path(char *buf, size_t size, const char *name)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "tests/data/keys/%s", name);
    tu_src_path(buf, size, rel);
}

/*
 * Credentials: `server` as given, `key` the named file of tests/data/keys (or
 * none), and trust either "ca=<file of tests/data/keys>" or "fp=<fingerprint>".
 */
static struct aecs_cred *make_cred(const char *servers, const char *key, const char *trust)
{
    char text[2048], keyp[512], cap[512];
    int n = snprintf(text, sizeof(text), "server: %s\n", servers);
    struct aecs_cred *c = NULL;

    if (key != NULL) {
        data_path(keyp, sizeof(keyp), key);
        n += snprintf(text + n, sizeof(text) - (size_t)n, "key: %s\n", keyp);
    }
    if (strncmp(trust, "ca=", 3) == 0) {
        data_path(cap, sizeof(cap), trust + 3);
        snprintf(text + n, sizeof(text) - (size_t)n, "ca: %s\n", cap);
    } else {
        assert_true(strncmp(trust, "fp=", 3) == 0);
        snprintf(text + n, sizeof(text) - (size_t)n, "fingerprint: %s\n", trust + 3);
    }
    if (aecs_cred_parse(text, strlen(text), "test.yaml", NULL, &c) != AECS_OK)
        fail_msg("credentials refused: %s", MSG());
    return c;
}

static struct aecs_conn *open_conn(const struct aecs_cred *cred, long timeout_ms)
{
    struct aecs_conn_options o;
    struct aecs_conn *c = NULL;

    memset(&o, 0, sizeof(o));
    o.timeout_ms = timeout_ms;
    if (aecs_conn_open(cred, &o, &c) != AECS_OK)
        fail_msg("open: %s", MSG());
    return c;
}

/* GET target, expecting 200 and a JSON object. */
static void get_ok(struct aecs_conn *c, const char *target)
{
    struct aecs_reply r;

    if (aecs_conn_request(c, "GET", target, NULL, 0, 0, &r) != AECS_OK)
        fail_msg("GET %s: %s", target, MSG());
    assert_int_equal(r.status, 200);
    assert_non_null(r.body);
    assert_string_equal(r.code, "");
    aecs_reply_clear(&r);
}

/* GET target expecting failure `code`; the reply's status to *status. */
static void get_fails(struct aecs_conn *c, const char *target, int code, long status)
{
    struct aecs_reply r;

    assert_int_equal(aecs_conn_request(c, "GET", target, NULL, 0, 0, &r), code);
    assert_int_equal(r.status, status);
    aecs_reply_clear(&r);
}

/* The last n requests the server logged (a new reference). */
static json_t *last_requests(const struct tu_tls_server *s, size_t n)
{
    json_t *all = tu_tls_server_requests(s);
    json_t *tail = json_array();
    size_t total = json_array_size(all);

    assert_true(total >= n);
    for (size_t i = total - n; i < total; i++)
        json_array_append(tail, json_array_get(all, i));
    json_decref(all);
    return tail;
}

/* ---- tls_pin ---- */

static void test_pin_parse(void **state)
{
    struct aecs_tls_pin pin, want;
    char text[AECS_TLS_FINGERPRINT_TEXT];

    (void)state;
    assert_int_equal(aecs_tls_pin_parse(FP_SERVER, &want), AECS_OK);
    assert_int_equal(want.pinned, 1);
    aecs_tls_fingerprint_format(want.sha256, text);
    assert_string_equal(text, FP_SERVER);
    assert_int_equal(
        aecs_tls_pin_parse(" 13f50848d8a303362d776407f643967c3141734c46f3135081c346e1c7e6d789\n",
                           &pin),
        AECS_OK);
    assert_memory_equal(pin.sha256, want.sha256, 32);
    assert_int_equal(
        aecs_tls_pin_parse("13:f5:08:48:d8:A3:03:36:2d:77:64:07:f6:43:96:7c:31:41:73:4c:46:f3:13:"
                           "50:81:c3:46:e1:c7:e6:d7:89",
                           &pin),
        AECS_OK);
    assert_memory_equal(pin.sha256, want.sha256, 32);

    assert_int_equal(aecs_tls_pin_parse("13F5", &pin), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("a fingerprint is the SHA-256 of the server's certificate: 64 hex digits, "
                  "optionally in pairs separated by ':' (got 4 characters)");
    assert_int_equal(pin.pinned, 0);
    /* 95 characters, but a colon out of place */
    assert_int_equal(aecs_tls_pin_parse("13F:5:08:48:D8:A3:03:36:2D:77:64:07:F6:43:96:7C:31:41:73:"
                                        "4C:46:F3:13:50:81:C3:46:E1:C7:E6:D7:89",
                                        &pin),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("a fingerprint in pairs has ':' between every pair (character 3 is not ':')");
    assert_int_equal(aecs_tls_pin_parse(
                         "g3f50848d8a303362d776407f643967c3141734c46f3135081c346e1c7e6d789", &pin),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("a fingerprint is made of hex digits (found another character)");
    assert_int_equal(
        aecs_tls_pin_parse("13-F5-08-48-D8-A3-03-36-2D-77-64-07-F6-43-96-7C-31-41-73-4C-46-F3-13-"
                           "50-81-C3-46-E1-C7-E6-D7-89",
                           &pin),
        AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_tls_pin_parse(NULL, &pin), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_tls_pin_parse("", &pin), AECS_E_INVALID_ARGUMENT);
}

static void test_cert_fingerprint(void **state)
{
    char path[512], text[AECS_TLS_FINGERPRINT_TEXT], want[600];
    uint8_t fp[AECS_TLS_FINGERPRINT_SIZE];

    (void)state;
    data_path(path, sizeof(path), "tls_server.pem");
    assert_int_equal(aecs_tls_cert_fingerprint_file(path, fp), AECS_OK);
    aecs_tls_fingerprint_format(fp, text);
    assert_string_equal(text, FP_SERVER);
    data_path(path, sizeof(path), "tls_other.pem");
    assert_int_equal(aecs_tls_cert_fingerprint_file(path, fp), AECS_OK);
    aecs_tls_fingerprint_format(fp, text);
    assert_string_equal(text, FP_OTHER);
    data_path(path, sizeof(path), "tls_server.key.pem");
    assert_int_equal(aecs_tls_cert_fingerprint_file(path, fp), AECS_E_FORMAT);
    snprintf(want, sizeof(want), "%s: no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found",
             path);
    assert_msg_is(want);
    data_path(path, sizeof(path), "no-such.pem");
    assert_int_equal(aecs_tls_cert_fingerprint_file(path, fp), AECS_E_NOT_FOUND);
    assert_int_equal(aecs_tls_cert_fingerprint_pem("", 0, fp), AECS_E_FORMAT);
}

/* ---- opening ---- */

static void test_open_refusals(void **state)
{
    struct aecs_cred *cred;
    struct aecs_conn *c = (struct aecs_conn *)1;
    struct aecs_conn_options o;
    char want[600], path[512];

    (void)state;
    cred = make_cred("https://127.0.0.1:1, http://127.0.0.1:2", NULL, "fp=" FP_SERVER);
    assert_int_equal(aecs_conn_open(cred, NULL, &c), AECS_E_INVALID_ARGUMENT);
    assert_null(c);
    assert_msg_is("http://127.0.0.1:2: plain http:// is refused: aecsd speaks HTTPS only "
                  "(https://...)");
    /* only the explicit insecure option lets it through */
    memset(&o, 0, sizeof(o));
    o.insecure_allow_http_insecure = 1;
    assert_int_equal(aecs_conn_open(cred, &o, &c), AECS_OK);
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* `ca` must hold a certificate */
    cred = make_cred("https://127.0.0.1:1", NULL, "ca=admin_p256.pub.pem");
    assert_int_equal(aecs_conn_open(cred, NULL, &c), AECS_E_FORMAT);
    data_path(path, sizeof(path), "admin_p256.pub.pem");
    snprintf(want, sizeof(want),
             "ca: %s: no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found", path);
    assert_msg_is(want);
    aecs_cred_free(cred);
    cred = make_cred("https://127.0.0.1:1", NULL, "ca=missing.pem");
    assert_int_equal(aecs_conn_open(cred, NULL, &c), AECS_E_NOT_FOUND);
    assert_msg_has("ca: cannot open ");
    aecs_cred_free(cred);
    /* credentials without a way to trust the server */
    cred = make_cred("https://127.0.0.1:1", NULL, "fp=" FP_SERVER);
    cred->pinned = 0;
    assert_int_equal(aecs_conn_open(cred, NULL, &c), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("neither `ca` nor `fingerprint`");
    aecs_cred_free(cred);
}

/* ---- TLS with a CA ---- */

static void test_ca_verified(void **state)
{
    struct aecs_cred *cred;
    struct aecs_conn *c;
    uint8_t fp[AECS_TLS_FINGERPRINT_SIZE];
    char text[AECS_TLS_FINGERPRINT_TEXT];
    json_t *reqs;

    (void)state;
    need_python();
    cred = make_cred(g_srv.url, NULL, "ca=tls_ca.pem");
    c = open_conn(cred, 0);
    assert_int_equal(aecs_conn_peer_fingerprint(c, fp), AECS_E_NOT_FOUND);
    get_ok(c, "/v1/status");
    get_ok(c, "/v1/health");
    get_ok(c, "/v1/echo?x=1");
    /* one TLS connection for the three (keep-alive) */
    reqs = last_requests(&g_srv, 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0), "target")),
                        "/v1/status");
    assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 2), "target")),
                        "/v1/echo?x=1");
    json_int_t conn = json_integer_value(json_object_get(json_array_get(reqs, 0), "conn"));
    assert_true(conn > 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(reqs, 1), "conn")), conn);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(reqs, 2), "conn")), conn);
    json_decref(reqs);
    /* the certificate the server presented */
    assert_int_equal(aecs_conn_peer_fingerprint(c, fp), AECS_OK);
    aecs_tls_fingerprint_format(fp, text);
    assert_string_equal(text, FP_SERVER);
    assert_string_equal(aecs_conn_server(c), g_srv.url);
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* by host name: the certificate names localhost too */
    char url[64];
    snprintf(url, sizeof(url), "https://localhost:%d", g_srv.port);
    cred = make_cred(url, NULL, "ca=tls_ca.pem");
    c = open_conn(cred, 0);
    get_ok(c, "/v1/health");
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* the server's own certificate as `ca` */
    cred = make_cred(g_srv.url, NULL, "ca=tls_server.pem");
    c = open_conn(cred, 0);
    get_ok(c, "/v1/health");
    aecs_conn_free(c);
    aecs_cred_free(cred);
}

static void test_ca_refuses(void **state)
{
    struct tu_tls_server other, wrongname;
    struct aecs_cred *cred;
    struct aecs_conn *c;
    char want[600], ca[512];
    json_t *reqs;

    (void)state;
    need_python();
    data_path(ca, sizeof(ca), "tls_ca.pem");
    assert_int_equal(tu_tls_server_start(&other, g_dir, "tls_other", NULL), 0);
    assert_int_equal(tu_tls_server_start(&wrongname, g_dir, "tls_wrongname", NULL), 0);

    /* a self-signed certificate the CA did not sign */
    cred = make_cred(other.url, NULL, "ca=tls_ca.pem");
    c = open_conn(cred, 0);
    get_fails(c, "/v1/health", AECS_E_IO, 0);
    snprintf(want, sizeof(want), "%s: TLS: ", other.url);
    assert_true(strncmp(MSG(), want, strlen(want)) == 0);
    snprintf(want, sizeof(want),
             "(the server's certificate must chain to `ca` %s and name the host)", ca);
    assert_msg_has(want);
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* signed by the CA, for another name */
    cred = make_cred(wrongname.url, NULL, "ca=tls_ca.pem");
    c = open_conn(cred, 0);
    get_fails(c, "/v1/health", AECS_E_IO, 0);
    assert_msg_has("TLS: ");
    assert_msg_has("127.0.0.1");
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* a CA that is not the server's */
    cred = make_cred(g_srv.url, NULL, "ca=tls_other.pem");
    c = open_conn(cred, 0);
    get_fails(c, "/v1/health", AECS_E_IO, 0);
    assert_msg_has("TLS: ");
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* no request got through to either server */
    reqs = tu_tls_server_requests(&other);
    assert_int_equal(json_array_size(reqs), 0);
    json_decref(reqs);
    reqs = tu_tls_server_requests(&wrongname);
    assert_int_equal(json_array_size(reqs), 0);
    json_decref(reqs);
    tu_tls_server_stop(&other);
    tu_tls_server_stop(&wrongname);
}

/* ---- TLS pinned ---- */

static void test_pinned(void **state)
{
    struct tu_tls_server wrongname;
    struct aecs_cred *cred;
    struct aecs_conn *c;
    char want[600];
    json_t *reqs;
    size_t before;

    (void)state;
    need_python();
    cred = make_cred(g_srv.url, NULL, "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    get_ok(c, "/v1/status");
    get_ok(c, "/v1/health");
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* the pin names the certificate exactly: its host name does not matter */
    assert_int_equal(tu_tls_server_start(&wrongname, g_dir, "tls_wrongname", NULL), 0);
    cred = make_cred(wrongname.url, NULL, "fp=" FP_WRONGNAME);
    c = open_conn(cred, 0);
    get_ok(c, "/v1/health");
    aecs_conn_free(c);
    aecs_cred_free(cred);
    tu_tls_server_stop(&wrongname);

    /* another certificate is refused, and nothing is sent */
    reqs = tu_tls_server_requests(&g_srv);
    before = json_array_size(reqs);
    json_decref(reqs);
    cred = make_cred(g_srv.url, "admin_p256.pem", "fp=" FP_OTHER);
    c = open_conn(cred, 0);
    get_fails(c, "/v1/health", AECS_E_IO, 0);
    snprintf(want, sizeof(want),
             "%s: TLS: the server's certificate (SHA-256 " FP_SERVER
             ") is not the one pinned by `fingerprint` in test.yaml",
             g_srv.url);
    assert_msg_is(want);
    struct aecs_reply r;
    assert_int_equal(aecs_conn_request(c, "POST", "/v1/echo", "{}", 2, AECS_REQ_SIGNED, &r),
                     AECS_E_IO);
    assert_msg_is(want);
    aecs_reply_clear(&r);
    aecs_conn_free(c);
    aecs_cred_free(cred);
    reqs = tu_tls_server_requests(&g_srv);
    assert_int_equal(json_array_size(reqs), before);
    json_decref(reqs);
}

/* ---- signed requests ---- */

static const char *req_str(json_t *req, const char *field)
{
    const char *v = json_string_value(json_object_get(req, field));

    assert_non_null(v);
    return v;
}

static const char *req_header(json_t *req, const char *name)
{
    const char *v = json_string_value(json_object_get(json_object_get(req, "headers"), name));

    if (v == NULL)
        fail_msg("no %s header", name);
    return v;
}

static void assert_verified(json_t *req)
{
    if (!json_is_true(json_object_get(req, "verified")))
        fail_msg("the server did not verify %s %s: %s", req_str(req, "method"),
                 req_str(req, "target"), json_string_value(json_object_get(req, "why")));
}

static void test_signed(void **state)
{
    static const char body[] = "{\"name\":\"payments\",\"pubkey\":\"-----BEGIN PUBLIC KEY-----\"}";
    struct aecs_cred *cred;
    struct aecs_conn *c;
    struct aecs_reply r;
    json_t *reqs, *req, *jbody;
    const char *id = NULL;

    (void)state;
    need_python();
    cred = make_cred(g_srv.url, "admin_p256.pem", "ca=tls_ca.pem");
    c = open_conn(cred, 0);
    assert_int_equal(
        aecs_conn_request(c, "POST", "/v1/echo/services", body, strlen(body), AECS_REQ_SIGNED, &r),
        AECS_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "body")), body);
    aecs_reply_clear(&r);
    assert_int_equal(aecs_conn_request(c, "DELETE", "/v1/echo/services/payments?force=1", NULL, 0,
                                       AECS_REQ_SIGNED, &r),
                     AECS_OK);
    aecs_reply_clear(&r);
    assert_int_equal(
        aecs_conn_request(c, "GET", "/v1/echo/audit?from=3&limit=2", NULL, 0, AECS_REQ_SIGNED, &r),
        AECS_OK);
    aecs_reply_clear(&r);
    /* POST without a body: the empty body is signed */
    assert_int_equal(aecs_conn_request(c, "POST", "/v1/echo/verify", NULL, 0, AECS_REQ_SIGNED, &r),
                     AECS_OK);
    aecs_reply_clear(&r);
    /* a JSON body, serialized compactly */
    jbody = json_pack("{s:s, s:i}", "share", "aecs-share-v1:x", "n", 2);
    assert_int_equal(
        aecs_conn_request_json(c, "POST", "/v1/echo/unseal", jbody, AECS_REQ_SIGNED, &r), AECS_OK);
    assert_string_equal(json_string_value(json_object_get(r.body, "body")),
                        "{\"share\":\"aecs-share-v1:x\",\"n\":2}");
    json_decref(jbody);
    aecs_reply_clear(&r);
    assert_int_equal(aecs_conn_service_id(c, &id), AECS_OK);
    assert_string_equal(id, SERVICE_ID);

    /* status once, then the five signed requests, each verified by the server */
    reqs = last_requests(&g_srv, 6);
    req = json_array_get(reqs, 0);
    assert_string_equal(req_str(req, "target"), "/v1/status");
    assert_false(json_is_true(json_object_get(req, "signed")));
    const char *nonces[5];
    for (size_t i = 1; i < 6; i++) {
        req = json_array_get(reqs, i);
        assert_true(json_is_true(json_object_get(req, "signed")));
        assert_verified(req);
        assert_string_equal(req_header(req, "X-Aecs-Key"), ADMIN_ID);
        long long ts = atoll(req_header(req, "X-Aecs-Timestamp"));
        assert_true(llabs(ts - (long long)time(NULL)) < 30);
        nonces[i - 1] = req_header(req, "X-Aecs-Nonce");
        assert_int_equal(strlen(nonces[i - 1]), 32);
        for (size_t j = 0; j + 1 < i; j++)
            assert_string_not_equal(nonces[j], nonces[i - 1]);
    }
    req = json_array_get(reqs, 1);
    assert_string_equal(req_str(req, "method"), "POST");
    assert_string_equal(req_str(req, "body"), body);
    assert_string_equal(req_str(req, "content_type"), "application/json");
    req = json_array_get(reqs, 2);
    assert_string_equal(req_str(req, "method"), "DELETE");
    assert_string_equal(req_str(req, "target"), "/v1/echo/services/payments?force=1");
    assert_string_equal(req_str(req, "body"), "");
    assert_string_equal(req_str(json_array_get(reqs, 3), "target"),
                        "/v1/echo/audit?from=3&limit=2");
    assert_string_equal(req_str(json_array_get(reqs, 4), "body"), "");
    json_decref(reqs);
    aecs_conn_free(c);
    aecs_cred_free(cred);
}

static void test_signed_refusals(void **state)
{
    struct tu_tls_server bad;
    json_t *reqs;
    struct aecs_cred *cred;
    struct aecs_conn *c;
    struct aecs_reply r;
    const struct aecs_sigkey *key = NULL;
    const char *id = NULL;

    (void)state;
    need_python();
    /* a key the server does not know: its 401 answer becomes the error */
    cred = make_cred(g_srv.url, "admin_p256_sec1.pem", "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    assert_int_equal(aecs_conn_request(c, "GET", "/v1/echo", NULL, 0, AECS_REQ_SIGNED, &r),
                     AECS_E_UNTRUSTED);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.code, "unauthenticated");
    assert_non_null(r.body);
    assert_msg_is("bad signature: unknown key");
    aecs_reply_clear(&r);
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* no key */
    cred = make_cred(g_srv.url, NULL, "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    assert_int_equal(aecs_conn_request(c, "GET", "/v1/echo", NULL, 0, AECS_REQ_SIGNED, &r),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("test.yaml: no `key` (the admin's private key file, made by `aecs keygen`): "
                  "signed requests need one");
    assert_int_equal(aecs_conn_key(c, &key), AECS_E_INVALID_ARGUMENT);
    aecs_reply_clear(&r);
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* a key file that is not P-256 */
    cred = make_cred(g_srv.url, "rsa2048.pem", "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    assert_int_equal(aecs_conn_request(c, "GET", "/v1/echo", NULL, 0, AECS_REQ_SIGNED, &r),
                     AECS_E_UNSUPPORTED);
    assert_msg_has("is an RSA key; aecs admin keys are ECDSA P-256");
    aecs_reply_clear(&r);
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* a server not initialized yet: its empty id is not kept, so an init on the same
       connection is followed by requests signed over the id it made */
    assert_int_equal(tu_tls_server_start(&bad, g_dir, "tls_server", ""), 0);
    cred = make_cred(bad.url, "admin_p256.pem", "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    assert_int_equal(aecs_conn_service_id(c, &id), AECS_OK);
    assert_string_equal(id, "");
    assert_int_equal(aecs_conn_service_id(c, &id), AECS_OK);
    reqs = tu_tls_server_requests(&bad);
    assert_int_equal(json_array_size(reqs), 2); /* asked twice: nothing cached */
    assert_string_equal(req_str(json_array_get(reqs, 1), "target"), "/v1/status");
    json_decref(reqs);
    aecs_conn_free(c);
    aecs_cred_free(cred);
    tu_tls_server_stop(&bad);

    /* a server whose status id is not 32 lowercase hex digits */
    assert_int_equal(tu_tls_server_start(&bad, g_dir, "tls_server", "0123456789ABCDEF"), 0);
    cred = make_cred(bad.url, "admin_p256.pem", "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    assert_int_equal(aecs_conn_request(c, "GET", "/v1/echo", NULL, 0, AECS_REQ_SIGNED, &r),
                     AECS_E_FORMAT);
    char want[300];
    snprintf(want, sizeof(want),
             "%s: GET /v1/status gave a service `id` that is not 32 lowercase hex digits, nor "
             "empty",
             bad.url);
    assert_msg_is(want);
    assert_int_equal(aecs_conn_service_id(c, &id), AECS_E_FORMAT);
    assert_null(id);
    aecs_reply_clear(&r);
    aecs_conn_free(c);
    aecs_cred_free(cred);
    tu_tls_server_stop(&bad);
}

/* ---- answers ---- */

static void expect_error(struct aecs_conn *c, const char *target, int code, long status,
                         const char *server_code, const char *msg)
{
    struct aecs_reply r;

    assert_int_equal(aecs_conn_request(c, "GET", target, NULL, 0, 0, &r), code);
    assert_int_equal(r.status, status);
    assert_string_equal(r.code, server_code);
    assert_msg_is(msg);
    aecs_reply_clear(&r);
}

static void test_answers(void **state)
{
    struct aecs_cred *cred;
    struct aecs_conn *c;
    struct aecs_reply r;
    char want[300];

    (void)state;
    need_python();
    cred = make_cred(g_srv.url, NULL, "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    expect_error(c, "/v1/error/sealed/503", AECS_E_IO, 503, "sealed", "the sealed message");
    expect_error(c, "/v1/error/not_found/404", AECS_E_NOT_FOUND, 404, "not_found",
                 "the not_found message");
    expect_error(c, "/v1/error/conflict/409", AECS_E_INVALID_ARGUMENT, 409, "conflict",
                 "the conflict message");
    expect_error(c, "/v1/error/bad_share/400", AECS_E_INVALID_ARGUMENT, 400, "bad_share",
                 "the bad_share message");
    expect_error(c, "/v1/error/forbidden/403", AECS_E_UNTRUSTED, 403, "forbidden",
                 "the forbidden message");
    expect_error(c, "/v1/error/too_large/413", AECS_E_TOO_LARGE, 413, "too_large",
                 "the too_large message");
    expect_error(c, "/v1/error/internal/500", AECS_E_IO, 500, "internal", "the internal message");
    expect_error(c, "/v1/error-ctl", AECS_E_INVALID_ARGUMENT, 400, "bad_request",
                 "line one?line two?[31m red");
    snprintf(want, sizeof(want), "%s answered HTTP 502 without an aecs error", g_srv.url);
    expect_error(c, "/v1/error-plain", AECS_E_IO, 502, "", want);
    snprintf(want, sizeof(want), "%s answered HTTP 302, a redirect (not followed)", g_srv.url);
    expect_error(c, "/v1/redirect", AECS_E_IO, 302, "", want);
    snprintf(want, sizeof(want), "%s answered HTTP 200 with something that is not a JSON object",
             g_srv.url);
    expect_error(c, "/v1/notjson", AECS_E_FORMAT, 200, "", want);
    expect_error(c, "/v1/array", AECS_E_FORMAT, 200, "", want);
    snprintf(want, sizeof(want), "%s: the answer is larger than 8388608 bytes", g_srv.url);
    expect_error(c, "/v1/big", AECS_E_TOO_LARGE, 0, "", want);
    /* the connection still works after all that */
    get_ok(c, "/v1/health");

    /* requests refused before anything is sent */
    assert_int_equal(aecs_conn_request(c, "GET", "v1/status", NULL, 0, 0, &r),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("request target must start with '/'");
    assert_int_equal(aecs_conn_request(c, "GET", "/v1/a b", NULL, 0, 0, &r),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("request target holds a space, a control character or a non-ASCII byte");
    assert_int_equal(aecs_conn_request(c, "PUT", "/v1/status", NULL, 0, 0, &r),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("method PUT: only GET, POST and DELETE");
    assert_int_equal(aecs_conn_request(c, "GET", "/v1/status", "{}", 2, 0, &r),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("a GET request has no body");
    char *huge = calloc(1, AECS_CONN_MAX_BODY + 2);
    assert_non_null(huge);
    assert_int_equal(aecs_conn_request(c, "POST", "/v1/echo", huge, AECS_CONN_MAX_BODY + 1, 0, &r),
                     AECS_E_TOO_LARGE);
    assert_msg_is("the request is 1114113 bytes; aecsd takes at most 1114112");
    free(huge);
    aecs_reply_clear(&r);
    aecs_conn_free(c);
    aecs_cred_free(cred);
}

/* ---- reaching servers ---- */

static void test_timeout_and_failover(void **state)
{
    struct aecs_cred *cred;
    struct aecs_conn *c;
    char servers[256], want[300];

    (void)state;
    need_python();
    /* bounded waits */
    cred = make_cred(g_srv.url, NULL, "fp=" FP_SERVER);
    c = open_conn(cred, 500);
    get_fails(c, "/v1/slow", AECS_E_IO, 0);
    snprintf(want, sizeof(want), "%s: no answer in time: ", g_srv.url);
    assert_true(strncmp(MSG(), want, strlen(want)) == 0);
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* a server that cannot be reached, then one that can: the second answers */
    snprintf(servers, sizeof(servers), "https://127.0.0.1:1, %s", g_srv.url);
    cred = make_cred(servers, NULL, "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    assert_string_equal(aecs_conn_server(c), "https://127.0.0.1:1");
    get_ok(c, "/v1/health");
    assert_string_equal(aecs_conn_server(c), g_srv.url);
    get_ok(c, "/v1/health");
    aecs_conn_free(c);
    aecs_cred_free(cred);

    /* nothing reachable */
    cred = make_cred("https://127.0.0.1:1", NULL, "fp=" FP_SERVER);
    c = open_conn(cred, 0);
    get_fails(c, "/v1/health", AECS_E_IO, 0);
    assert_true(strncmp(MSG(), "cannot reach https://127.0.0.1:1: ", 34) == 0);
    aecs_conn_free(c);
    aecs_cred_free(cred);
}

static void test_json_wipe(void **state)
{
    json_t *j = json_pack("{s:[s,s], s:{s:s}, s:i}", "shares", "secret-one", "secret-two", "x", "y",
                          "zz", "n", 5);
    const char *s0 = json_string_value(json_array_get(json_object_get(j, "shares"), 0));
    const char *s2 = json_string_value(json_object_get(json_object_get(j, "x"), "y"));

    (void)state;
    aecs_json_wipe(j);
    for (size_t i = 0; i < strlen("secret-one"); i++)
        assert_int_equal(s0[i], 0);
    assert_int_equal(s2[0], 0);
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 5);
    json_decref(j);
    aecs_json_wipe(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_parse),
        cmocka_unit_test(test_cert_fingerprint),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_json_wipe),
        cmocka_unit_test(test_ca_verified),
        cmocka_unit_test(test_ca_refuses),
        cmocka_unit_test(test_pinned),
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_signed_refusals),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_timeout_and_failover),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
