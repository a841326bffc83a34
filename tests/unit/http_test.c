/*
 * http_test.c - the libcurl GET wrapper against the loopback PCS
 * (tests/tools/pcs_server): statuses, headers, the size cap, timeouts,
 * retries as Intel's QCNL does them, refused schemes, URL decoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/http.h"
#include "pcs_loopback.h"

static const char *const k_sets[] = {"sgx_v3_dcapqvl", NULL};
static struct tu_loopback g_srv;

static int setup(void **state)
{
    (void)state;
    pcs_loopback_start(&g_srv, k_sets, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_loopback_stop(&g_srv);
    return 0;
}

static void url_of(char *buf, size_t size, const char *path)
{
    snprintf(buf, size, "%s%s", g_srv.url, path);
}

static void test_get_ok_with_headers(void **state)
{
    (void)state;
    char url[256];
    struct aecs_http_response r;
    char *v = NULL;

    tu_loopback_control(&g_srv, "mode=ok&reset=1");
    url_of(url, sizeof(url), "/sgx/certification/v4/tcb?fmspc=00A067110000");
    assert_int_equal(aecs_http_get(url, NULL, &r), AECS_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 1);
    assert_true(r.body_size > 100);
    assert_memory_equal(r.body, "{\"tcbInfo\":", 11);
    /* header names are case-insensitive; the value is URL-encoded PEM */
    assert_int_equal(aecs_http_header(&r, "tcb-info-issuer-chain", &v), AECS_OK);
    assert_non_null(strstr(v, "-----BEGIN%20CERTIFICATE-----"));
    free(v);
    assert_int_equal(aecs_http_header(&r, "SGX-TCB-Info-Issuer-Chain", &v), AECS_E_NOT_FOUND);
    assert_null(v);
    aecs_http_response_free(&r);
}

static void test_status_is_returned(void **state)
{
    (void)state;
    char url[256];
    struct aecs_http_response r;

    url_of(url, sizeof(url), "/sgx/certification/v4/tcb?fmspc=FFFFFFFFFFFF");
    assert_int_equal(aecs_http_get(url, NULL, &r), AECS_OK);
    assert_int_equal(r.status, 404);
    aecs_http_response_free(&r);

    tu_loopback_control(&g_srv, "mode=500");
    url_of(url, sizeof(url), "/sgx/certification/v4/qe/identity");
    assert_int_equal(aecs_http_get(url, NULL, &r), AECS_OK);
    assert_int_equal(r.status, 500);
    aecs_http_response_free(&r);
    tu_loopback_control(&g_srv, "mode=ok");
}

static void test_size_cap(void **state)
{
    (void)state;
    char url[256];
    struct aecs_http_response r;
    struct aecs_http_options o;

    aecs_http_options_init(&o);
    o.max_response_size = 1u << 20;
    tu_loopback_control(&g_srv, "mode=huge");
    url_of(url, sizeof(url), "/sgx/certification/v4/qe/identity");
    assert_int_equal(aecs_http_get(url, &o, &r), AECS_E_TOO_LARGE);
    assert_non_null(strstr(aecs_err_last()->message, url));
    assert_null(r.body);
    tu_loopback_control(&g_srv, "mode=ok");
}

static void test_timeout(void **state)
{
    (void)state;
    char url[256];
    struct aecs_http_response r;
    struct aecs_http_options o;

    aecs_http_options_init(&o);
    o.total_timeout_ms = 300;
    tu_loopback_control(&g_srv, "mode=slow&delay_ms=1500");
    url_of(url, sizeof(url), "/sgx/certification/v4/qe/identity");
    assert_int_equal(aecs_http_get(url, &o, &r), AECS_E_IO);
    assert_non_null(strstr(aecs_err_last()->message, "timed out"));
    assert_non_null(strstr(aecs_err_last()->message, url));
    tu_loopback_control(&g_srv, "mode=ok");
}

static void test_retries(void **state)
{
    (void)state;
    char url[256];
    struct aecs_http_response r;
    struct aecs_http_options o;

    url_of(url, sizeof(url), "/sgx/certification/v4/qe/identity");
    aecs_http_options_init(&o);
    o.retry_delay_ms = 20;

    /* 503 twice, then OK: three attempts with two retries allowed */
    o.retry_times = 2;
    tu_loopback_control(&g_srv, "reset=1&fail_first=2");
    assert_int_equal(aecs_http_get(url, &o, &r), AECS_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(tu_loopback_count(&g_srv, "qe"), 3);
    aecs_http_response_free(&r);

    /* one retry is not enough: the last status (503) is returned */
    o.retry_times = 1;
    tu_loopback_control(&g_srv, "reset=1&fail_first=3");
    assert_int_equal(aecs_http_get(url, &o, &r), AECS_OK);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.attempts, 2);
    aecs_http_response_free(&r);
    tu_loopback_control(&g_srv, "fail_first=0");

    /* a 404 or a 500 is final: no retry (Intel retries 503 and network failures only) */
    o.retry_times = 3;
    tu_loopback_control(&g_srv, "reset=1&mode=500");
    assert_int_equal(aecs_http_get(url, &o, &r), AECS_OK);
    assert_int_equal(r.status, 500);
    assert_int_equal(r.attempts, 1);
    aecs_http_response_free(&r);
    tu_loopback_control(&g_srv, "mode=ok");

    /* a refused connection is retried, then reported with the URL */
    o.retry_times = 1;
    assert_int_equal(aecs_http_get("http://127.0.0.1:1/x", &o, &r), AECS_E_IO);
    assert_non_null(strstr(aecs_err_last()->message, "http://127.0.0.1:1/x"));
    assert_non_null(strstr(aecs_err_last()->message, "after retries"));
}

static void test_only_http(void **state)
{
    (void)state;
    struct aecs_http_response r;

    assert_int_equal(aecs_http_get("ftp://127.0.0.1/x", NULL, &r), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_http_get("file:///etc/passwd", NULL, &r), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_http_get("127.0.0.1:80/x", NULL, &r), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_http_get(NULL, NULL, &r), AECS_E_INVALID_ARGUMENT);
    assert_true(aecs_http_url_allowed("HTTPS://example/"));
    assert_false(aecs_http_url_allowed("gopher://example/"));
}

static void test_tls_verification_is_on(void **state)
{
    (void)state;
    char url[256];
    struct aecs_http_response r;

    /* https to a plain HTTP server fails in the TLS handshake: TLS is really attempted */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/sgx/certification/v4/qe/identity",
             g_srv.port);
    assert_int_equal(aecs_http_get(url, NULL, &r), AECS_E_IO);
    assert_non_null(strstr(aecs_err_last()->message, url));
}

/* Global set-up runs once and may be asked for again from anywhere. */
static void test_init_is_idempotent(void **state)
{
    (void)state;
    assert_int_equal(aecs_http_init(), AECS_OK);
    assert_int_equal(aecs_http_init(), AECS_OK);
}

static void test_url_decode(void **state)
{
    (void)state;
    char *out = NULL;
    size_t n = 0;

    assert_int_equal(aecs_url_decode("-----BEGIN%20CERT%0Aab+c%2Bd%3d", 31, &out, &n), AECS_OK);
    assert_string_equal(out, "-----BEGIN CERT\nab+c+d=");
    assert_int_equal(n, strlen("-----BEGIN CERT\nab+c+d="));
    free(out);
    assert_int_equal(aecs_url_decode("a%zz", 4, &out, &n), AECS_E_FORMAT);
    assert_null(out);
    assert_int_equal(aecs_url_decode("a%2", 3, &out, &n), AECS_E_FORMAT);
    assert_int_equal(aecs_url_decode("a%00b", 5, &out, &n), AECS_E_FORMAT);
    assert_int_equal(aecs_url_decode("", 0, &out, &n), AECS_OK);
    assert_string_equal(out, "");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_ok_with_headers),
        cmocka_unit_test(test_status_is_returned),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_only_http),
        cmocka_unit_test(test_tls_verification_is_on),
        cmocka_unit_test(test_init_is_idempotent),
        cmocka_unit_test(test_url_decode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
