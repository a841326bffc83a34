/*
 * qcnl_test.c - sgx_default_qcnl.conf in both forms. The inputs are the files
 * users write: the legacy form from the Alibaba Cloud vSGX guide (the seed),
 * and the JSON form of Intel's shipped sample (comments, comma-first lines).
 * Expected values and defaults are Intel's (QcnlConfig: default URL
 * https://localhost:8081/sgx/certification/v4/, secure, no retries,
 * collateral from pccs_url unless collateral_service is set).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/collateral_fetch.h"
#include "attest/qcnl.h"
#include "base/file.h"

static int parse(const char *text, struct aecs_qcnl *q)
{
    return aecs_qcnl_parse(text, strlen(text), "test.conf", q);
}

/* Runs parse with stderr sent to a file; returns what was written there. */
static char *parse_capturing_stderr(const char *text, struct aecs_qcnl *q, int *rc)
{
    char path[] = "/tmp/aecs-qcnl-test-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    uint8_t *out = NULL;
    size_t size = 0;

    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    *rc = parse(text, q);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    assert_int_equal(aecs_file_read(path, 1 << 20, &out, &size), AECS_OK);
    unlink(path);
    return (char *)out;
}

static void test_legacy_seed_form(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    /* verbatim from the vSGX guide (seed 000) */
    const char *text =
        "# PCCS server address\n"
        "PCCS_URL=https://sgx-dcap-server.cn-beijing.aliyuncs.com/sgx/certification/v3/\n"
        "# To accept insecure HTTPS cert, set this option to FALSE\n"
        "USE_SECURE_CERT=TRUE\n";

    assert_int_equal(parse(text, &q), AECS_OK);
    assert_int_equal(q.format, AECS_QCNL_LEGACY);
    assert_string_equal(q.pccs_url,
                        "https://sgx-dcap-server.cn-beijing.aliyuncs.com/sgx/certification/v3/");
    assert_string_equal(q.collateral_url, q.pccs_url);
    assert_false(q.has_collateral_service);
    assert_int_equal(q.use_secure_cert, 1);
    assert_int_equal(q.retry_times, 0);
    assert_int_equal(q.retry_delay, 0);
}

static void test_legacy_all_keys(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    const char *text =
        "\n"
        "   # indented comment\n"
        "PCCS_URL = https://pccs.example:8081/sgx/certification/v4/   # trailing comment\n"
        "COLLATERAL_SERVICE=https://api.trustedservices.intel.com/sgx/certification/v4/\n"
        "PCCS_API_VERSION=3.1\n"
        "RETRY_TIMES=6\n"
        "RETRY_DELAY=10\n"
        "LOCAL_PCK_URL=http://169.254.169.254/metadata/THIM/sgx/certification/v4/\n"
        "PCK_CACHE_EXPIRE_HOURS=168\n"
        "VERIFY_COLLATERAL_CACHE_EXPIRE_HOURS=5000\n"
        "LOCAL_CACHE_ONLY=false\n"
        "#USE_SECURE_CERT=FALSE\n";

    assert_int_equal(parse(text, &q), AECS_OK);
    assert_int_equal(q.format, AECS_QCNL_LEGACY);
    assert_string_equal(q.pccs_url, "https://pccs.example:8081/sgx/certification/v4/");
    assert_true(q.has_collateral_service);
    assert_string_equal(q.collateral_url,
                        "https://api.trustedservices.intel.com/sgx/certification/v4/");
    assert_string_equal(q.pccs_api_version, "3.1");
    assert_int_equal(q.retry_times, 6);
    assert_int_equal(q.retry_delay, 10);
    assert_string_equal(q.local_pck_url,
                        "http://169.254.169.254/metadata/THIM/sgx/certification/v4/");
    assert_true(q.pck_cache_expire_hours == 168.0);
    assert_true(q.verify_collateral_cache_expire_hours == 2160.0); /* Intel's 90-day cap */
    assert_int_equal(q.use_secure_cert, 1); /* the commented-out line does not count */
    assert_int_equal(q.local_cache_only, 0);
}

static void test_legacy_errors_name_the_line(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    static const struct {
        const char *text;
        int line;
        const char *words;
    } cases[] = {
        {"# ok\nPCCS_URL=https://a/sgx/certification/v4/\nthis line has no equals\n", 3,
         "KEY=VALUE"},
        {"RETRY_TIMES=six\n", 1, "RETRY_TIMES"},
        {"RETRY_TIMES=-1\n", 1, "RETRY_TIMES"},
        {"\n\nRETRY_DELAY=10s\n", 3, "RETRY_DELAY"},
        {"USE_SECURE_CERT=maybe\n", 1, "USE_SECURE_CERT"},
        {"#\nPCCS_URL=ftp://pccs/sgx/certification/v4/\n", 2, "http"},
        {"PCCS_URL=\n", 1, "empty"},
        {"COLLATERAL_SERVICE=pccs:8081\n", 1, "COLLATERAL_SERVICE"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char where[32];
        assert_int_equal(parse(cases[i].text, &q), AECS_E_FORMAT);
        assert_int_equal(q.error_line, cases[i].line);
        snprintf(where, sizeof(where), "test.conf:%d:", cases[i].line);
        assert_non_null(strstr(aecs_err_last()->message, where));
        assert_non_null(strstr(aecs_err_last()->message, cases[i].words));
    }
}

/* Intel's shipped JSON sample, in its style: comments, comma-first members. */
static const char k_intel_json[] =
    "{\n"
    "  // *** ATTENTION : This file is in JSON format so the keys are case sensitive.\n"
    "\n"
    "  // PCCS server address\n"
    "  \"pccs_url\": \"https://localhost:8081/sgx/certification/v4/\"\n"
    "\n"
    "  // To accept insecure HTTPS certificate, set this option to false\n"
    "  ,\"use_secure_cert\": false\n"
    "\n"
    "  /* You can use the Intel PCS to get quote verification collateral.\n"
    "     \"collateral_service\": \"https://ignored.example/\" stays in the comment */\n"
    "  ,\"collateral_service\": \"https://api.trustedservices.intel.com/sgx/certification/v4/\"\n"
    "\n"
    "  // Maximum retry times.\n"
    "  ,\"retry_times\": 6\n"
    "  ,\"retry_delay\": 10\n"
    "  ,\"pck_cache_expire_hours\": 168\n"
    "  ,\"verify_collateral_cache_expire_hours\": 168\n"
    "  ,\"custom_request_options\" : {\"get_cert\" : {\"headers\": {\"head1\": \"value1\"}}}\n"
    "}\n";

static void test_json_intel_sample(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    int rc;
    char *err = parse_capturing_stderr(k_intel_json, &q, &rc);

    assert_int_equal(rc, AECS_OK);
    assert_int_equal(q.format, AECS_QCNL_JSON);
    assert_string_equal(q.pccs_url, "https://localhost:8081/sgx/certification/v4/");
    assert_string_equal(q.collateral_url,
                        "https://api.trustedservices.intel.com/sgx/certification/v4/");
    assert_int_equal(q.use_secure_cert, 0);
    assert_int_equal(q.use_secure_cert_line, 8);
    assert_int_equal(q.retry_times, 6);
    assert_int_equal(q.retry_delay, 10);
    assert_true(q.pck_cache_expire_hours == 168.0);
    /* use_secure_cert=false is insecure and said so, with the line */
    assert_non_null(strstr(err, "warning"));
    assert_non_null(strstr(err, "test.conf:8"));
    assert_non_null(strstr(err, "use_secure_cert"));
    assert_non_null(strstr(err, "insecure"));
    free(err);
}

static void test_legacy_insecure_warning(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    int rc;
    char *err = parse_capturing_stderr("PCCS_URL=https://p/sgx/certification/v4/\n"
                                       "USE_SECURE_CERT=FALSE\n",
                                       &q, &rc);

    assert_int_equal(rc, AECS_OK);
    assert_int_equal(q.use_secure_cert, 0);
    assert_int_equal(q.use_secure_cert_line, 2);
    assert_non_null(strstr(err, "test.conf:2"));
    assert_non_null(strstr(err, "insecure"));
    free(err);

    /* a secure file says nothing */
    err = parse_capturing_stderr("{\"pccs_url\": \"https://p/\", \"use_secure_cert\": true}", &q,
                                 &rc);
    assert_int_equal(rc, AECS_OK);
    assert_int_equal(q.use_secure_cert, 1);
    assert_string_equal(err, "");
    free(err);
}

static void test_json_comments_in_strings_are_content(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    const char *text = "/* leading comment */ {\"pccs_url\": \"https://h/a//b/*c*/\" // x\n"
                       ", \"pccs_api_version\": \"3\\\"//\" }";

    assert_int_equal(parse(text, &q), AECS_OK);
    assert_int_equal(q.format, AECS_QCNL_JSON);
    assert_string_equal(q.pccs_url, "https://h/a//b/*c*/");
    assert_string_equal(q.pccs_api_version, "3\"//");

    /* the scanner alone: comments become spaces, newlines and strings stay */
    char buf[] = "{\"a\"://x\n:/*y\nz*/1}";
    int line = 0;
    assert_int_equal(aecs_qcnl_strip_json_comments(buf, strlen(buf), &line), AECS_OK);
    assert_string_equal(buf, "{\"a\":   \n:   \n   1}");
}

static void test_json_errors_name_the_line(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    static const struct {
        const char *text;
        int line;
        const char *words;
    } cases[] = {
        /* a syntax error after a multi-line comment: the line in the file */
        {"{\n  /* one\n     two\n     three */\n  \"pccs_url\": \"https://p/\",\n  \"retry_times\" 3\n}\n",
         6, "not valid JSON"},
        /* a trailing comma, as Intel's parser also refuses */
        {"{\n\"pccs_url\": \"https://p/\",\n}\n", 3, "not valid JSON"},
        /* a known key with the wrong type */
        {"{\n\"pccs_url\": \"https://p/\"\n// c\n,\"use_secure_cert\": \"false\"\n}\n", 4,
         "use_secure_cert"},
        {"{\"retry_times\": 1,\n \"retry_delay\": -5}", 2, "retry_delay"},
        {"{\n\n\"collateral_service\": \"pccs.example\"}", 3, "http"},
        {"{\n\"pccs_url\": \"https://p/\", /* never closed\n}\n", 2, "never closed"},
        {"{\"pccs_url\": \"https://a/\",\n\"pccs_url\": \"https://b/\"}", 2, "duplicate"},
        {"{\"pccs_url\": 42}", 1, "pccs_url"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char where[32];
        assert_int_equal(parse(cases[i].text, &q), AECS_E_FORMAT);
        assert_int_equal(q.error_line, cases[i].line);
        snprintf(where, sizeof(where), "test.conf:%d:", cases[i].line);
        assert_non_null(strstr(aecs_err_last()->message, where));
        assert_non_null(strstr(aecs_err_last()->message, cases[i].words));
    }
}

static void test_defaults_and_odd_files(void **state)
{
    (void)state;
    struct aecs_qcnl q;

    assert_int_equal(parse("", &q), AECS_OK);
    assert_int_equal(q.format, AECS_QCNL_LEGACY);
    assert_string_equal(q.pccs_url, "https://localhost:8081/sgx/certification/v4/");
    assert_string_equal(q.collateral_url, "https://localhost:8081/sgx/certification/v4/");
    assert_int_equal(q.use_secure_cert, 1);

    assert_int_equal(parse("{}", &q), AECS_OK);
    assert_int_equal(q.format, AECS_QCNL_JSON);
    assert_string_equal(q.pccs_url, "https://localhost:8081/sgx/certification/v4/");

    /* a UTF-8 byte order mark is not content */
    assert_int_equal(parse("\xEF\xBB\xBF{\"pccs_url\": \"https://p/\"}", &q), AECS_OK);
    assert_string_equal(q.pccs_url, "https://p/");

    /* unknown keys are ignored (with a warning) in both forms */
    assert_int_equal(parse("PCCS_ULR=https://typo/\n", &q), AECS_OK);
    assert_int_equal(parse("{\"pccs_ulr\": \"https://typo/\"}", &q), AECS_OK);

    /* arrays and NUL bytes are not configurations */
    assert_int_equal(parse("[1]", &q), AECS_E_FORMAT);
    assert_int_equal(aecs_qcnl_parse("PCCS_URL=https://p/\n\0x", 22, "t", &q), AECS_E_FORMAT);
    assert_int_equal(q.error_line, 2);
}

static void test_load_file(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    char path[] = "/tmp/aecs-qcnl-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "{ \"pccs_url\": \"https://p:8081/sgx/certification/v4/\" }\n";

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(aecs_qcnl_load(path, &q), AECS_OK);
    assert_string_equal(q.collateral_url, "https://p:8081/sgx/certification/v4/");
    unlink(path);
    assert_int_equal(aecs_qcnl_load(path, &q), AECS_E_NOT_FOUND);
    assert_int_equal(q.error_line, 0);
    assert_non_null(strstr(aecs_err_last()->message, path));
}

static void test_source_from_config(void **state)
{
    (void)state;
    struct aecs_qcnl q;
    struct aecs_pcs_source src;

    assert_int_equal(parse("PCCS_URL=https://p:8081/sgx/certification/v4\nUSE_SECURE_CERT=FALSE\n"
                           "RETRY_TIMES=3\nRETRY_DELAY=2\n",
                           &q),
                     AECS_OK);
    assert_int_equal(aecs_pcs_source_from_qcnl(&q, &src), AECS_OK);
    assert_string_equal(src.base_url, "https://p:8081/sgx/certification/v4/");
    assert_int_equal(src.http.tls_verify_disabled_insecure, 1);
    assert_int_equal(src.http.retry_times, 3);
    assert_int_equal(src.http.retry_delay_ms, 2000);

    /* --pccs URLs: a bare host gets the v4 SGX path, an API URL is kept */
    assert_int_equal(aecs_pcs_source_from_url("https://pccs:8081", &src), AECS_OK);
    assert_string_equal(src.base_url, "https://pccs:8081/sgx/certification/v4/");
    assert_int_equal(src.http.tls_verify_disabled_insecure, 0);
    assert_int_equal(aecs_pcs_source_from_url("https://pccs:8081/sgx/certification/v3/", &src),
                     AECS_OK);
    assert_string_equal(src.base_url, "https://pccs:8081/sgx/certification/v3/");
    assert_int_equal(aecs_pcs_source_from_url("pccs:8081", &src), AECS_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_seed_form),
        cmocka_unit_test(test_legacy_all_keys),
        cmocka_unit_test(test_legacy_errors_name_the_line),
        cmocka_unit_test(test_json_intel_sample),
        cmocka_unit_test(test_legacy_insecure_warning),
        cmocka_unit_test(test_json_comments_in_strings_are_content),
        cmocka_unit_test(test_json_errors_name_the_line),
        cmocka_unit_test(test_defaults_and_odd_files),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_source_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
