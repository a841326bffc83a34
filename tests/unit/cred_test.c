/*
 * cred_test.c - the credential file of the admin commands
 * (src/client/cred.c) and the service/secret name rule (src/proto/name.c).
 *
 * Credential texts are written out here; expected paths are joined by hand,
 * the fingerprint is the one `openssl x509 -in tests/data/keys/tls_server.pem
 * -noout -fingerprint -sha256` prints. Every refusal is checked with its
 * exact message (file, line, key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "client/client_config.h"
#include "client/cred.h"
#include "proto/name.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

/* openssl x509 -in tests/data/keys/tls_server.pem -noout -fingerprint -sha256 */
#define FP_COLONS                                                                                  \
    "13:F5:08:48:D8:A3:03:36:2D:77:64:07:F6:43:96:7C:31:41:73:4C:46:F3:13:50:81:C3:46:E1:C7:E6:"   \
    "D7:89"
#define FP_HEX "13f50848d8a303362d776407f643967c3141734c46f3135081c346e1c7e6d789"

static char g_dir[64];

static void clear_env(void)
{
    unsetenv("AECS_SERVER");
    unsetenv("AECS_KEY");
    unsetenv("AECS_CA");
    unsetenv("AECS_FINGERPRINT");
}

static int setup(void **state)
{
    (void)state;
    tu_mkdtemp(g_dir, sizeof(g_dir));
    clear_env();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(g_dir);
    clear_env();
    return 0;
}

static void assert_msg_is(const char *expected)
{
    if (strcmp(MSG(), expected) != 0)
        fail_msg("message '%s' is not '%s'", MSG(), expected);
}

/* Parses text as "admin.yaml" in folder /etc/aecs. */
static struct aecs_cred *parse(const char *text)
{
    struct aecs_cred *c = NULL;

    if (aecs_cred_parse(text, strlen(text), "admin.yaml", "/etc/aecs", &c) != AECS_OK)
        fail_msg("refused: %s", MSG());
    assert_non_null(c);
    return c;
}

static void refused(const char *text, const char *msg)
{
    struct aecs_cred *c = (struct aecs_cred *)1;

    assert_int_equal(aecs_cred_parse(text, strlen(text), "admin.yaml", "/etc/aecs", &c),
                     AECS_E_INVALID_ARGUMENT);
    assert_null(c);
    assert_msg_is(msg);
}

/* Writes text to g_dir/name; its path to path. */
static void write_cred(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", g_dir, name);
    tu_write_file(path, text, strlen(text));
}

static void test_parse_ca(void **state)
{
    struct aecs_cred *c;

    (void)state;
    c = parse("# admin credentials\n"
              "server: https://aecs.example.com:8443/\n"
              "key: keys/admin.pem\n"
              "ca: /etc/ssl/aecs-ca.pem\n"
              "service: payments\n");
    assert_int_equal(c->server_count, 1);
    assert_string_equal(c->servers[0], "https://aecs.example.com:8443");
    assert_string_equal(c->key, "/etc/aecs/keys/admin.pem");
    assert_string_equal(c->ca, "/etc/ssl/aecs-ca.pem");
    assert_int_equal(c->pinned, 0);
    assert_string_equal(c->service, "payments");
    assert_string_equal(c->source, "admin.yaml");
    assert_int_equal(aecs_cred_check(c, AECS_CRED_NEED_KEY), AECS_OK);
    aecs_cred_free(c);
}

static void test_parse_fingerprint(void **state)
{
    struct aecs_cred *c;
    uint8_t want[32];

    (void)state;
    tu_hex(FP_HEX, want, sizeof(want));
    c = parse("server: \"https://10.0.0.1:8443\"\nfingerprint: " FP_COLONS "\n");
    assert_int_equal(c->pinned, 1);
    assert_int_equal(c->pin.pinned, 1);
    assert_memory_equal(c->pin.sha256, want, 32);
    assert_null(c->ca);
    assert_null(c->key);
    assert_null(c->service);
    assert_int_equal(aecs_cred_check(c, 0), AECS_OK);
    assert_int_equal(aecs_cred_check(c, AECS_CRED_NEED_KEY), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("admin.yaml: no `key` (the admin's private key file, made by `aecs keygen`): "
                  "signed requests need one");
    aecs_cred_free(c);
    /* lower case, without colons, quoted */
    c = parse("server: https://h\nfingerprint: '" FP_HEX "'\nkey: k.pem\n");
    assert_memory_equal(c->pin.sha256, want, 32);
    assert_string_equal(c->key, "/etc/aecs/k.pem");
    aecs_cred_free(c);
}

static void test_servers(void **state)
{
    struct aecs_cred *c;

    (void)state;
    c = parse("server: https://a:1, https://b:2 ,HTTPS://c\nca: ca.pem\n");
    assert_int_equal(c->server_count, 3);
    assert_string_equal(c->servers[0], "https://a:1");
    assert_string_equal(c->servers[1], "https://b:2");
    assert_string_equal(c->servers[2], "HTTPS://c");
    assert_string_equal(c->ca, "/etc/aecs/ca.pem");
    aecs_cred_free(c);
    c = parse("server:\n  - https://a:1\n  - https://[::1]:8443/\nca: ca.pem\n");
    assert_int_equal(c->server_count, 2);
    assert_string_equal(c->servers[1], "https://[::1]:8443");
    aecs_cred_free(c);
    /* http:// parses (the connection refuses it) */
    c = parse("server: http://127.0.0.1:80\nca: ca.pem\n");
    assert_string_equal(c->servers[0], "http://127.0.0.1:80");
    aecs_cred_free(c);

    refused("server: ftp://a\nca: x\n",
            "admin.yaml:1: server: a server must be an https:// URL (https://HOST:PORT)");
    refused("server: aecs.example.com:8443\n",
            "admin.yaml:1: server: a server must be an https:// URL (https://HOST:PORT)");
    refused("server: https://\n", "admin.yaml:1: server: a server has no host name");
    refused("server: https://a/v1\n",
            "admin.yaml:1: server: a server must be just https://HOST[:PORT], without a path, "
            "query, user or spaces (character 10)");
    refused("server: https://user@a\n",
            "admin.yaml:1: server: a server must be just https://HOST[:PORT], without a path, "
            "query, user or spaces (character 13)");
    refused("server: https://a?x=1\n",
            "admin.yaml:1: server: a server must be just https://HOST[:PORT], without a path, "
            "query, user or spaces (character 10)");
    refused("server: https://a, ,https://b\n", "admin.yaml:1: server: has an empty entry");
    refused("server: https://a,\n", "admin.yaml:1: server: has an empty entry");
    refused("server: []\n", "admin.yaml:1: server: is an empty list");
    refused("server:\n  - https://a\n  - {x: 1}\n",
            "admin.yaml:3: server: must be a single value, not a mapping");
    refused("server:\n  - https://a\n  - ftp://b\n",
            "admin.yaml:3: server: a server must be an https:// URL (https://HOST:PORT)");
    refused("server: https://1,https://2,https://3,https://4,https://5,https://6,https://7,"
            "https://8,https://9\n",
            "admin.yaml:1: server: lists more than 8 servers");
}

static void test_refusals(void **state)
{
    (void)state;
    refused("server: https://a\nca: x\nfoo: bar\n",
            "admin.yaml:3: foo: unknown key "
            "(known keys here: server, key, ca, fingerprint, service, server_policy, verifier, "
            "service_id, accept_insecure_server)");
    refused("Server: https://a\n", "admin.yaml:1: Server: unknown key "
                                   "(known keys here: server, key, ca, fingerprint, service, "
                                   "server_policy, verifier, service_id, accept_insecure_server)");
    refused("server: https://a\nca: x\nkey: a.pem\nserver: https://b\n",
            "admin.yaml:4: server: given twice (first on line 1)");
    refused("key: a.pem\n\n\nkey: b.pem\n", "admin.yaml:4: key: given twice (first on line 1)");
    refused("server: https://a\nca: x.pem\nfingerprint: " FP_HEX "\n",
            "admin.yaml:3: `ca` and `fingerprint` are both given (the other on line 2): trust "
            "the server one way, with a CA file or a pinned certificate");
    refused("fingerprint: " FP_HEX "\nca: x.pem\n",
            "admin.yaml:2: `ca` and `fingerprint` are both given (the other on line 1): trust "
            "the server one way, with a CA file or a pinned certificate");
    refused("fingerprint: 13F5\n",
            "admin.yaml:1: fingerprint: must be the SHA-256 of the server's certificate: 64 hex "
            "digits, optionally in pairs separated by ':'");
    refused("fingerprint: " FP_HEX "00\n",
            "admin.yaml:1: fingerprint: must be the SHA-256 of the server's certificate: 64 hex "
            "digits, optionally in pairs separated by ':'");
    refused("key:\n", "admin.yaml:1: key: has no value");
    refused("key: ~\n", "admin.yaml:1: key: has no value");
    refused("key: ''\n", "admin.yaml:1: key: has no value");
    refused("ca: null\n", "admin.yaml:1: ca: has no value");
    refused("key: {a: b}\n", "admin.yaml:1: key: must be a single value, not a mapping");
    refused("key: [a]\n", "admin.yaml:1: key: must be a single value, not a list");
    refused("ca: [a]\n", "admin.yaml:1: ca: must be a single value, not a list");
    refused("key: \"a\\tb\"\n", "admin.yaml:1: key: holds a control character");
    refused("key: \"a\\0b\"\n", "admin.yaml:1: key: holds a control character");
    refused("key: !custom a\n", "admin.yaml:1: key: unsupported YAML tag");
    refused("service: .hidden\n", "admin.yaml:1: service: the name must not start with '.'");
    refused("service: a/b\n",
            "admin.yaml:1: service: the name may only hold A-Z a-z 0-9 . _ - (character 2 is not "
            "one)");
    refused("? [a]\n: b\n", "admin.yaml:1: keys must be plain words");
    refused("- server\n- key\n", "admin.yaml:1: must be a mapping of `key: value` lines");
    refused("just text\n", "admin.yaml:1: must be a mapping of `key: value` lines");
    refused("", "admin.yaml: empty: expected server, key and ca or fingerprint");
    refused("# nothing\n", "admin.yaml: empty: expected server, key and ca or fingerprint");
    refused("server: https://a\n---\nkey: b\n", "admin.yaml:3: more than one YAML document");
    refused("server: [https://a\n",
            "admin.yaml:2: YAML: while parsing a flow sequence: did not find expected ',' or ']'");
    refused("key: a\n  b: c\n",
            "admin.yaml:2: YAML: mapping values are not allowed in this context");

    /* too large */
    size_t big = AECS_CRED_FILE_MAX + 1;
    char *text = malloc(big);
    struct aecs_cred *c = NULL;
    assert_non_null(text);
    memset(text, '#', big);
    assert_int_equal(aecs_cred_parse(text, big, "admin.yaml", NULL, &c), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("admin.yaml: larger than 65536 bytes: not a credential file");
    free(text);
}

/* Required keys are checked on load, with the file's name. */
static void test_load(void **state)
{
    char path[256], want[512];
    struct aecs_cred *c = NULL;

    (void)state;
    write_cred("ok.yaml", "server: https://a:1\nkey: admin.pem\nca: ../ca.pem\n", path,
               sizeof(path));
    assert_int_equal(aecs_cred_load(path, AECS_CRED_NEED_KEY, &c), AECS_OK);
    snprintf(want, sizeof(want), "%s/admin.pem", g_dir);
    assert_string_equal(c->key, want);
    snprintf(want, sizeof(want), "%s/../ca.pem", g_dir);
    assert_string_equal(c->ca, want);
    assert_string_equal(c->source, path);
    aecs_cred_free(c);

    write_cred("noserver.yaml", "key: admin.pem\nca: ca.pem\n", path, sizeof(path));
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_E_INVALID_ARGUMENT);
    assert_null(c);
    snprintf(want, sizeof(want), "%s: no `server` (the aecsd URL, https://HOST:PORT)", path);
    assert_msg_is(want);

    write_cred("nokey.yaml", "server: https://a\nca: ca.pem\n", path, sizeof(path));
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_OK);
    aecs_cred_free(c);
    assert_int_equal(aecs_cred_load(path, AECS_CRED_NEED_KEY, &c), AECS_E_INVALID_ARGUMENT);
    snprintf(want, sizeof(want),
             "%s: no `key` (the admin's private key file, made by `aecs keygen`): signed requests "
             "need one",
             path);
    assert_msg_is(want);

    write_cred("notrust.yaml", "server: https://a\nkey: k.pem\n", path, sizeof(path));
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_E_INVALID_ARGUMENT);
    snprintf(want, sizeof(want),
             "%s: neither `ca` nor `fingerprint`: say how to trust the server (a CA or "
             "certificate PEM file, or the SHA-256 fingerprint of its certificate)",
             path);
    assert_msg_is(want);

    write_cred("bad.yaml", "server: https://a\nnope: 1\n", path, sizeof(path));
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_E_INVALID_ARGUMENT);
    snprintf(want, sizeof(want),
             "%s:2: nope: unknown key "
             "(known keys here: server, key, ca, fingerprint, service, server_policy, verifier, "
             "service_id, accept_insecure_server)",
             path);
    assert_msg_is(want);

    snprintf(path, sizeof(path), "%s/missing.yaml", g_dir);
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_E_NOT_FOUND);
    snprintf(want, sizeof(want), "credential file: cannot open %s: No such file or directory",
             path);
    assert_msg_is(want);
    assert_int_equal(aecs_cred_load("", 0, &c), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("the credential file name is empty");

    /* a relative file name: paths relative to its folder, "." */
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(g_dir), 0);
    assert_int_equal(aecs_cred_load("ok.yaml", 0, &c), AECS_OK);
    assert_string_equal(c->key, "./admin.pem");
    aecs_cred_free(c);
    assert_int_equal(chdir(cwd), 0);
}

static void test_environment(void **state)
{
    char path[256], want[512];
    struct aecs_cred *c = NULL;
    uint8_t fp[32];

    (void)state;
    tu_hex(FP_HEX, fp, sizeof(fp));
    write_cred("env.yaml", "server: https://file:1\nkey: file.pem\nfingerprint: " FP_HEX "\n", path,
               sizeof(path));

    /* AECS_CA replaces the file's fingerprint; paths from the environment are kept as given */
    setenv("AECS_CA", "env-ca.pem", 1);
    setenv("AECS_KEY", "env.pem", 1);
    setenv("AECS_SERVER", "https://env:1,https://env:2/", 1);
    assert_int_equal(aecs_cred_load(path, AECS_CRED_NEED_KEY, &c), AECS_OK);
    assert_int_equal(c->server_count, 2);
    assert_string_equal(c->servers[0], "https://env:1");
    assert_string_equal(c->servers[1], "https://env:2");
    assert_string_equal(c->key, "env.pem");
    assert_string_equal(c->ca, "env-ca.pem");
    assert_int_equal(c->pinned, 0);
    aecs_cred_free(c);

    /* AECS_FINGERPRINT replaces a file's ca */
    clear_env();
    write_cred("env2.yaml", "server: https://file:1\nca: ca.pem\n", path, sizeof(path));
    setenv("AECS_FINGERPRINT", FP_COLONS, 1);
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_OK);
    assert_null(c->ca);
    assert_int_equal(c->pinned, 1);
    assert_memory_equal(c->pin.sha256, fp, 32);
    assert_string_equal(c->servers[0], "https://file:1");
    aecs_cred_free(c);

    /* both, a bad fingerprint, a bad server */
    setenv("AECS_CA", "x.pem", 1);
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("AECS_CA and AECS_FINGERPRINT are both set: use one");
    unsetenv("AECS_CA");
    setenv("AECS_FINGERPRINT", "abc", 1);
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("AECS_FINGERPRINT: a fingerprint is the SHA-256 of the server's certificate: "
                  "64 hex digits, optionally in pairs separated by ':' (got 3 characters)");
    unsetenv("AECS_FINGERPRINT");
    setenv("AECS_SERVER", "ftp://x", 1);
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("environment: AECS_SERVER: a server must be an https:// URL (https://HOST:PORT)");
    /* empty variables count as unset */
    setenv("AECS_SERVER", "", 1);
    assert_int_equal(aecs_cred_load(path, 0, &c), AECS_OK);
    assert_string_equal(c->servers[0], "https://file:1");
    aecs_cred_free(c);

    /* no file: the environment alone */
    clear_env();
    assert_int_equal(aecs_cred_load(NULL, 0, &c), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("environment (AECS_SERVER, AECS_KEY, AECS_CA, AECS_FINGERPRINT): no `server` "
                  "(the aecsd URL, https://HOST:PORT)");
    setenv("AECS_SERVER", "https://only-env:9", 1);
    setenv("AECS_FINGERPRINT", FP_HEX, 1);
    assert_int_equal(aecs_cred_load(NULL, 0, &c), AECS_OK);
    assert_string_equal(c->servers[0], "https://only-env:9");
    assert_int_equal(c->pinned, 1);
    aecs_cred_free(c);
    assert_int_equal(aecs_cred_load(NULL, AECS_CRED_NEED_KEY, &c), AECS_E_INVALID_ARGUMENT);
    snprintf(want, sizeof(want),
             "environment (AECS_SERVER, AECS_KEY, AECS_CA, AECS_FINGERPRINT): no `key` (the "
             "admin's private key file, made by `aecs keygen`): signed requests need one");
    assert_msg_is(want);
    clear_env();
}

static void test_names(void **state)
{
    char long_name[80];

    (void)state;
    assert_int_equal(aecs_name_check("payments", "--service"), AECS_OK);
    assert_int_equal(aecs_name_check("a", "x"), AECS_OK);
    assert_int_equal(aecs_name_check("db-key_1.v2", "x"), AECS_OK);
    assert_int_equal(aecs_name_check("a.", "x"), AECS_OK);
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_int_equal(aecs_name_check(long_name, "x"), AECS_OK);
    long_name[64] = 'a';
    long_name[65] = '\0';
    assert_int_equal(aecs_name_check(long_name, "--name"), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("--name must be 1 to 64 characters (got more than 64)");
    assert_int_equal(aecs_name_check("", "--name"), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("--name must be 1 to 64 characters (got 0)");
    assert_int_equal(aecs_name_check(NULL, "--name"), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("--name: no name given");
    assert_int_equal(aecs_name_check(".a", "--name"), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("--name must not start with '.'");
    assert_int_equal(aecs_name_check("..", "--name"), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_name_check("a b", "--name"), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("--name may only hold A-Z a-z 0-9 . _ - (character 2 is not one)");
    assert_int_equal(aecs_name_check("a/b", "--name"), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_name_check("a%2f", "--name"), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_name_check("caf\xc3\xa9", "--name"), AECS_E_INVALID_ARGUMENT);
    assert_msg_is("--name may only hold A-Z a-z 0-9 . _ - (character 4 is not one)");
    assert_int_equal(aecs_name_check("a*", "--name"), AECS_E_INVALID_ARGUMENT);
}

/*
 * server_policy and verifier: the client configuration's keys, read by the
 * same parser, with its rules and messages (docs/client.md, docs/cli.md).
 */
static void test_trust(void **state)
{
    struct aecs_cred *c;
    const struct aecs_server_trust *t;

    (void)state;
    c = parse("server: https://a\nca: ca.pem\n");
    assert_null(c->trust); /* no server_policy: init and unseal refuse to go on */
    aecs_cred_free(c);

    c = parse(
        "server: https://a\n"
        "key: admin.pem\n"
        "ca: ca.pem\n"
        "server_policy:\n"
        "  enclaveMatchAnyRules:\n"
        "  - {mrenclave: \"5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\", "
        "allow_sim: true}\n"
        "  - {mrsigner: \"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2\"}\n"
        "verifier:\n"
        "  collateral_dir: coll\n"
        "  pccs_url: https://pccs.example:8081/sgx/certification/v4/\n"
        "  insecure_trust_sim: /tmp/sim\n");
    t = c->trust;
    assert_non_null(t);
    assert_int_equal(t->has_policy, 1);
    assert_int_equal(t->server_rules.count, 2);
    assert_int_equal(t->server_rules.items[0].allow_sim, 1);
    assert_int_equal(t->server_rules.items[0].mrenclave[0], 0x5e);
    assert_int_equal(t->server_rules.items[1].mrsigner[31], 0xb2);
    assert_string_equal(t->collateral_dir, "/etc/aecs/coll");
    assert_string_equal(t->pccs_url, "https://pccs.example:8081/sgx/certification/v4/");
    assert_string_equal(t->insecure_trust_sim, "/tmp/sim");
    assert_string_equal(c->key, "/etc/aecs/admin.pem");
    aecs_cred_free(c);

    /* the identity answer's keys alone: kept (init and unseal apply them) */
    c = parse("server: https://a\nca: ca.pem\nservice_id: 0123456789ABCDEF0123456789abcdef\n"
              "accept_insecure_server: true\n");
    assert_non_null(c->trust);
    assert_int_equal(c->trust->has_policy, 0);
    assert_string_equal(c->trust->service_id, "0123456789abcdef0123456789abcdef");
    assert_int_equal(c->trust->accept_insecure_server, 1);
    aecs_cred_free(c);

    /* a verifier alone: kept, and still no policy */
    c = parse("server: https://a\nca: ca.pem\nverifier: {use_kds: true}\n");
    assert_non_null(c->trust);
    assert_int_equal(c->trust->has_policy, 0);
    assert_int_equal(c->trust->use_kds, 1);
    aecs_cred_free(c);

    refused("server: https://a\nserver_policy:\n  enclaveMatchAnyRules:\n  - {allow_sim: true}\n",
            "admin.yaml:4: server_policy.enclaveMatchAnyRules[0]: this rule names no enclave "
            "identity, so any server would be trusted: set mrenclave or mrsigner (SGX), mrtd "
            "(TDX) or measurement (SNP) of the aecsd to trust");
    refused("server_policy:\n  enclaveMatchAnyRules:\n  - {mrenclave: \"5e\"}\n",
            "admin.yaml:3: server_policy.enclaveMatchAnyRules[0].mrenclave: must be 64 hex "
            "digits (got 2 characters)");
    refused("verifier: {pccs: https://x}\n",
            "admin.yaml:1: verifier.pccs: unknown key (known keys here: collateral_dir, "
            "pccs_url, collateral_cache_dir, intel_root, snp_collateral_dir, use_kds, kds_url, "
            "kds_cache_dir, insecure_trust_sim)");
    refused("verifier:\n  kds_url: https://kds\n",
            "admin.yaml:1: verifier: kds_url is given but use_kds is not true");
    refused("verifier:\n  use_kds: yes\n", "admin.yaml:2: verifier.use_kds: must be true or false");
    /* a client configuration's own keys are not a credential file's */
    refused("attester: {type: sim}\n",
            "admin.yaml:1: attester: unknown key (known keys here: server, key, ca, fingerprint, "
            "service, server_policy, verifier, service_id, accept_insecure_server)");
    /* aliases are refused, as in client configurations */
    refused("server: &s https://a\nca: *s\n",
            "admin.yaml:2: ca: a value used again through a YAML alias (*name): aliases are "
            "refused, write the value out");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ca), cmocka_unit_test(test_parse_fingerprint),
        cmocka_unit_test(test_servers),  cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_load),     cmocka_unit_test(test_environment),
        cmocka_unit_test(test_names),    cmocka_unit_test(test_trust),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
