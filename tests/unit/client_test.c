/*
 * client_test.c - the client library (include/aecs/client.h,
 * src/client/client.c) and its configuration (src/client/client_config.c).
 *
 *   - the configuration file: every key read as documented, relative paths,
 *     the environment, and each refusal with its exact "FILE:LINE: PATH:
 *     reason" message;
 *   - the release protocol, client side, against a server stand-in in this
 *     process (a transport of client_internal.h) that follows
 *     docs/protocol-release.md: its identity evidence and the application's
 *     evidence are real sim quotes (attest/sim.h), and it checks the client's
 *     binding by its own SHA-512 over the bytes the document lists. Then each
 *     check of the summary, made to fail on purpose, with the exact status
 *     and check name, and for identity failures the proof that nothing else
 *     was sent; the identity cache; failover;
 *   - the HTTPS transport against tests/unit/common/tls_server.py: a server
 *     without the release routes is refused at the identity step, after one
 *     request, and a dead first server is skipped.
 *
 * Expected values: secrets and measurements are this file's inputs; the
 * bindings the stand-in checks are computed here from the document's byte
 * layout with aecs_sha512, not with the code under test.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "aecs/client.h"
#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/err.h"
#include "client/client_config.h"
#include "client/client_internal.h"
#include "client/conn.h"
#include "client/identity.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "policy/policy.h"
#include "proto/release.h"
#include "testutil.h"
#include "tls_loopback.h"

#define MSG() (aecs_err_last()->message)

#define SERVER_MR "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
#define OTHER_MR "0707070707070707070707070707070707070707070707070707070707070707"
#define APP_MR "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define APP_SIGNER "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define FP_HEX "13f50848d8a303362d776407f643967c3141734c46f3135081c346e1c7e6d789"
#define FAKE_SID "5ed1d0005ed1d0005ed1d0005ed1d000"
#define OTHER_SID "0123456789abcdef0123456789abcdef"

static char g_dir[64];
static char g_sim[128];

static void assert_msg_is(const char *expected)
{
    if (strcmp(MSG(), expected) != 0)
        fail_msg("message '%s' is not '%s'", MSG(), expected);
}

static void assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("'%s' does not contain '%s'", text, needle);
}

/* ---- the configuration ---- */

static const char k_minimal[] = "server: https://aecs.example.com:19527\n"
                                "ca: ca.pem\n"
                                "server_policy:\n"
                                "  enclaveMatchAnyRules:\n"
                                "  - mrenclave: \"" SERVER_MR "\"\n";

static struct aecs_client_config *parse_ok(const char *text, const char *base)
{
    struct aecs_client_config *c = NULL;

    if (aecs_client_config_parse(text, strlen(text), "client.yaml", base, &c) != AECS_OK)
        fail_msg("refused: %s", MSG());
    assert_non_null(c);
    return c;
}

static void refused(const char *text, const char *message)
{
    struct aecs_client_config *c = (struct aecs_client_config *)1;

    assert_int_equal(aecs_client_config_parse(text, strlen(text), "client.yaml", NULL, &c),
                     AECS_E_INVALID_ARGUMENT);
    assert_null(c);
    assert_msg_is(message);
}

/* k_minimal with `extra` appended. */
static void refused_with(const char *extra, const char *message)
{
    char text[4096];

    snprintf(text, sizeof(text), "%s%s", k_minimal, extra);
    refused(text, message);
}

static void test_config_minimal(void **state)
{
    struct aecs_client_config *c;
    uint8_t mr[32];

    (void)state;
    c = parse_ok(k_minimal, "/etc/aecs");
    assert_int_equal(c->server_count, 1);
    assert_string_equal(c->servers[0], "https://aecs.example.com:19527");
    assert_string_equal(c->ca, "/etc/aecs/ca.pem");
    assert_int_equal(c->pinned, 0);
    assert_int_equal(c->trust.server_rules.count, 1);
    tu_hex(SERVER_MR, mr, sizeof(mr));
    assert_memory_equal(c->trust.server_rules.items[0].mrenclave, mr, 32);
    assert_int_equal(c->trust.server_rules.items[0].fields, AECS_RULE_MRENCLAVE);
    assert_int_equal(c->trust.server_rules.items[0].allow_sim, 0);
    assert_int_equal(c->trust.server_rules.items[0].allow_debug, 0);
    /* the defaults */
    assert_string_equal(c->attester, "auto");
    assert_int_equal(c->connect_timeout, 10);
    assert_int_equal(c->timeout, 60);
    assert_null(c->trust.collateral_dir);
    assert_null(c->trust.pccs_url);
    assert_null(c->trust.insecure_trust_sim);
    assert_string_equal(c->trust.service_id, ""); /* not pinned */
    assert_int_equal(c->trust.accept_insecure_server, 0);
    assert_int_equal(c->trust.use_kds, 0);
    assert_int_equal(c->has_sim_identity, 0);
    assert_int_equal(c->has_privlevel, 0);
    assert_string_equal(c->source, "client.yaml");
    aecs_client_config_free(c);
}

static void test_config_full(void **state)
{
    static const char text[] =
        "# every key\n"
        "server:\n"
        "  - https://a.example:1/\n"
        "  - HTTPS://b.example:2\n"
        "fingerprint: \"13:F5:08:48:D8:A3:03:36:2D:77:64:07:F6:43:96:7C:31:41:73:4C:46:F3:13:50:"
        "81:C3:46:E1:C7:E6:D7:89\"\n"
        "server_policy:\n"
        "  enclaveMatchAnyRules:\n"
        "  - mrsigner: " APP_SIGNER "\n"
        "    prodID: 7\n"
        "    minIsvSvn: \"3\"\n"
        "    accepted_tcb_statuses: [UpToDate]\n"
        "  - platform: tdx\n"
        "    mrtd: \"" SERVER_MR "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\"\n"
        "    allow_debug: true\n"
        "verifier:\n"
        "  collateral_dir: coll\n"
        "  pccs_url: https://pccs.example:8081/sgx/certification/v4/\n"
        "  collateral_cache_dir: /var/cache/aecs\n"
        "  intel_root: /etc/aecs/intel.pem\n"
        "  snp_collateral_dir: snp\n"
        "  use_kds: TRUE\n"
        "  kds_url: https://kds.example\n"
        "  kds_cache_dir: kds\n"
        "  insecure_trust_sim: /tmp/sim\n"
        "attester:\n"
        "  type: sim\n"
        "  root: /fake\n"
        "  sim_dir: sim\n"
        "  sim_tee: tdx\n"
        "  sim_identity: {mrenclave: " APP_MR ", mrsigner: " APP_SIGNER
        ", isvprodid: 65535, isvsvn: 0, debug: false,\n"
        "                 mrtd: \"" SERVER_MR "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\",\n"
        "                 rtmr3: \"" OTHER_MR "07070707070707070707070707070707\"}\n"
        "timeouts:\n"
        "  connect: 1\n"
        "  request: 3600\n"
        "service_id: 0123456789ABCDEF0123456789abcdef\n"
        "accept_insecure_server: true\n";
    struct aecs_client_config *c = parse_ok(text, "/etc/aecs");
    uint8_t b[48];

    (void)state;
    assert_int_equal(c->server_count, 2);
    assert_string_equal(c->servers[0], "https://a.example:1");
    assert_string_equal(c->servers[1], "HTTPS://b.example:2");
    assert_null(c->ca);
    assert_int_equal(c->pinned, 1);
    tu_hex(FP_HEX, b, 32);
    assert_memory_equal(c->pin.sha256, b, 32);
    assert_int_equal(c->trust.server_rules.count, 2);
    assert_int_equal(c->trust.server_rules.items[0].platform, AECS_TEE_SGX);
    assert_int_equal(c->trust.server_rules.items[0].prodid, 7);
    assert_int_equal(c->trust.server_rules.items[0].min_isvsvn, 3);
    assert_int_equal(c->trust.server_rules.items[0].tcb_statuses, AECS_POLICY_TCB_UP_TO_DATE);
    assert_int_equal(c->trust.server_rules.items[1].platform, AECS_TEE_TDX);
    assert_int_equal(c->trust.server_rules.items[1].allow_debug, 1);
    assert_string_equal(c->trust.collateral_dir, "/etc/aecs/coll");
    assert_string_equal(c->trust.pccs_url, "https://pccs.example:8081/sgx/certification/v4/");
    assert_string_equal(c->trust.collateral_cache_dir, "/var/cache/aecs");
    assert_string_equal(c->trust.intel_root, "/etc/aecs/intel.pem");
    assert_string_equal(c->trust.snp_collateral_dir, "/etc/aecs/snp");
    assert_int_equal(c->trust.use_kds, 1);
    assert_string_equal(c->trust.kds_url, "https://kds.example");
    assert_string_equal(c->trust.kds_cache_dir, "/etc/aecs/kds");
    assert_string_equal(c->trust.insecure_trust_sim, "/tmp/sim");
    assert_string_equal(c->attester, "sim");
    assert_string_equal(c->attest_root, "/fake");
    assert_string_equal(c->sim_dir, "/etc/aecs/sim");
    assert_int_equal(c->sim_tdx, 1);
    assert_int_equal(c->has_sim_identity, 1);
    tu_hex(APP_MR, b, 32);
    assert_memory_equal(c->sim_identity.mrenclave, b, 32);
    tu_hex(APP_SIGNER, b, 32);
    assert_memory_equal(c->sim_identity.mrsigner, b, 32);
    assert_int_equal(c->sim_identity.isvprodid, 65535);
    assert_int_equal(c->sim_identity.isvsvn, 0);
    assert_int_equal(c->sim_identity.debug, 0);
    tu_hex(SERVER_MR "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", b, 48);
    assert_memory_equal(c->sim_identity.mrtd, b, 48);
    tu_hex(OTHER_MR "07070707070707070707070707070707", b, 48);
    assert_memory_equal(c->sim_identity.rtmr[3], b, 48);
    assert_int_equal(c->connect_timeout, 1);
    assert_int_equal(c->timeout, 3600);
    /* kept lowercase, as the server writes it */
    assert_string_equal(c->trust.service_id, "0123456789abcdef0123456789abcdef");
    assert_int_equal(c->trust.accept_insecure_server, 1);
    aecs_client_config_free(c);

    /* servers as a comma-separated list; the quote file; a privlevel */
    c = parse_ok("server: https://a:1, https://b:2 ,https://c\n"
                 "ca: /abs/ca.pem\n"
                 "server_policy: {enclaveMatchAnyRules: [{mrsigner: " APP_SIGNER "}]}\n"
                 "attester: {type: file, quote_file: q.bin}\n",
                 NULL);
    assert_int_equal(c->server_count, 3);
    assert_string_equal(c->servers[2], "https://c");
    assert_string_equal(c->ca, "/abs/ca.pem");
    assert_string_equal(c->quote_file, "q.bin");
    aecs_client_config_free(c);
    c = parse_ok("server: https://a\nca: c\n"
                 "server_policy: {enclaveMatchAnyRules: [{mrsigner: " APP_SIGNER "}]}\n"
                 "attester: {type: sev-guest, privlevel: 2}\n",
                 NULL);
    assert_int_equal(c->has_privlevel, 1);
    assert_int_equal(c->privlevel, 2);
    aecs_client_config_free(c);
}

static void test_config_refused(void **state)
{
    (void)state;
    refused("", "client.yaml: empty: expected server, ca or fingerprint, server_policy");
    refused("- a\n", "client.yaml:1: must be a mapping of `key: value` lines");
    refused("server: [https://a\n",
            "client.yaml:2: YAML: while parsing a flow sequence: did not find expected ',' or ']'");
    refused_with("---\nserver: https://b\n", "client.yaml:7: more than one YAML document");
    /* keys */
    refused_with(
        "sever: https://b\n",
        "client.yaml:6: sever: unknown key (known keys here: server, ca, fingerprint, "
        "server_policy, verifier, attester, timeouts, service_id, accept_insecure_server)");
    /* the credential file's keys are not a client's */
    refused_with(
        "key: admin.pem\n",
        "client.yaml:6: key: unknown key (known keys here: server, ca, fingerprint, "
        "server_policy, verifier, attester, timeouts, service_id, accept_insecure_server)");
    refused_with("server: https://b\n", "client.yaml:6: server: given twice (first on line 1)");
    refused_with("verifier: {pccs: https://x}\n",
                 "client.yaml:6: verifier.pccs: unknown key (known keys here: collateral_dir, "
                 "pccs_url, collateral_cache_dir, intel_root, snp_collateral_dir, use_kds, "
                 "kds_url, kds_cache_dir, insecure_trust_sim)");
    refused_with("attester: {type: sim, sim_dir: d, sim_identity: {mrenclave: " APP_MR
                 ", MRSIGNER: x}}\n",
                 "client.yaml:6: attester.sim_identity.MRSIGNER: unknown key (known keys here: "
                 "mrenclave, mrsigner, isvprodid, isvsvn, debug, mrtd, rtmr0, rtmr1, rtmr2, "
                 "rtmr3, mrconfigid, mrowner)");
    refused_with("verifier:\n  use_kds: true\n  use_kds: false\n",
                 "client.yaml:8: verifier.use_kds: given twice (first on line 7)");
    refused_with("service_id: 0123456789abcdef\n",
                 "client.yaml:6: service_id: must be 32 hex digits");
    refused_with("service_id: 0123456789abcdef0123456789abcdeg\n",
                 "client.yaml:6: service_id: must be 32 hex digits");
    refused_with("accept_insecure_server: yes\n",
                 "client.yaml:6: accept_insecure_server: must be true or false");
    refused_with("timeouts: 5\n",
                 "client.yaml:6: timeouts: must be a mapping of `key: value` lines");
    /* required keys */
    refused("ca: c\nserver_policy: {enclaveMatchAnyRules: [{mrenclave: " SERVER_MR "}]}\n",
            "client.yaml: no `server` (the aecsd URL, https://HOST:PORT)");
    refused("server: https://a\nserver_policy: {enclaveMatchAnyRules: [{mrenclave: " SERVER_MR
            "}]}\n",
            "client.yaml: neither `ca` nor `fingerprint`: say how to trust the server's TLS "
            "certificate (a CA or certificate PEM file, or its SHA-256)");
    refused_with("fingerprint: " FP_HEX "\n",
                 "client.yaml:6: `ca` and `fingerprint` are both given (the other on line 2): "
                 "trust the server one way, with a CA file or a pinned certificate");
    refused("server: https://a\nca: c\n",
            "client.yaml: no `server_policy`: say which aecsd to trust (enclaveMatchAnyRules, "
            "as in a secret's policy: docs/policy.md)");
    /* values */
    refused("server: ftp://a\n",
            "client.yaml:1: server: a server must be an https:// URL (https://HOST:PORT)");
    refused("server: https://a/v1\n",
            "client.yaml:1: server: a server must be just https://HOST[:PORT], without a path, "
            "query, user or spaces (character 10)");
    refused("server: https://a,,https://b\n", "client.yaml:1: server: has an empty entry");
    refused("server: []\n", "client.yaml:1: server: is an empty list");
    refused("server:\n", "client.yaml:1: server: has no value");
    refused("server: {a: 1}\n", "client.yaml:1: server: must be a single value, not a mapping");
    refused("server: !custom https://a\n", "client.yaml:1: server: unsupported YAML tag");
    refused("server: \"https://a\\tb\"\n", "client.yaml:1: server: holds a control character");
    refused("server: https://1,https://2,https://3,https://4,https://5,https://6,https://7,"
            "https://8,https://9\n",
            "client.yaml:1: server: lists more than 8 servers");
    refused("fingerprint: 13:F5\n",
            "client.yaml:1: fingerprint: must be the SHA-256 of the server's certificate: 64 hex "
            "digits, optionally in pairs separated by ':'");
    refused_with("verifier: {use_kds: yes}\n",
                 "client.yaml:6: verifier.use_kds: must be true or false");
    refused_with("verifier: {pccs_url: pccs.example}\n",
                 "client.yaml:6: verifier.pccs_url: must be an https:// URL");
    refused_with("timeouts: {connect: 0}\n",
                 "client.yaml:6: timeouts.connect: must be a number from 1 to 3600");
    refused_with("timeouts: {request: 010}\n",
                 "client.yaml:6: timeouts.request: must be a number from 1 to 3600");
    refused_with("timeouts: {request: -1}\n",
                 "client.yaml:6: timeouts.request: must be a number from 1 to 3600");
    refused_with("attester: {type: sgx}\n",
                 "client.yaml:6: attester.type: must be auto, sim, gramine, tsm, sev-guest or "
                 "file");
    refused_with("attester: {type: sim, sim_dir: d, sim_identity: {mrenclave: abcd}}\n",
                 "client.yaml:6: attester.sim_identity.mrenclave: must be 64 hex digits");
    refused_with("attester: {type: sim, sim_dir: d, sim_identity: {isvsvn: 65536}}\n",
                 "client.yaml:6: attester.sim_identity.isvsvn: must be a number from 0 to 65535");
    refused_with("attester: {privlevel: 4}\n",
                 "client.yaml:6: attester.privlevel: must be a number from 0 to 3");
    /* what goes together */
    refused_with("attester:\n  type: sim\n",
                 "client.yaml:6: attester: type sim needs sim_dir (the folder of `aecs sim init`)");
    refused_with("attester:\n  type: file\n",
                 "client.yaml:6: attester: type file needs quote_file");
    refused_with("attester:\n  type: gramine\n  sim_identity: {isvsvn: 1}\n",
                 "client.yaml:6: attester: sim_identity and sim_tee are for type sim only");
    refused_with("attester:\n  type: gramine\n  privlevel: 0\n",
                 "client.yaml:6: attester: privlevel is for SEV-SNP attesters only (tsm, "
                 "sev-guest, auto)");
    refused_with("attester:\n  type: tsm\n  quote_file: q\n",
                 "client.yaml:6: attester: quote_file is for type file only");
    refused_with("verifier:\n  kds_url: https://kds\n",
                 "client.yaml:6: verifier: kds_url is given but use_kds is not true");
}

/* The server policy: the policy module's checks and messages, the path under server_policy. */
static void test_config_server_policy(void **state)
{
    (void)state;
    refused("server: https://a\nca: c\nserver_policy:\n  enclaveMatchAnyRules:\n"
            "  - mrenclave: abcd\n",
            "client.yaml:5: server_policy.enclaveMatchAnyRules[0].mrenclave: must be 64 hex "
            "digits (got 4 characters)");
    /* a rule without identity would trust any server: refused, with no way around it */
    refused("server: https://a\nca: c\nserver_policy:\n  enclaveMatchAnyRules:\n"
            "  - prodID: 1\n",
            "client.yaml:5: server_policy.enclaveMatchAnyRules[0]: this rule names no enclave "
            "identity, so any server would be trusted: set mrenclave or mrsigner (SGX), mrtd "
            "(TDX) or measurement (SNP) of the aecsd to trust");
    refused("server: https://a\nca: c\nserver_policy:\n  enclaveMatchAnyRules: []\n",
            "client.yaml:4: server_policy.enclaveMatchAnyRules: must hold at least one rule");
    refused(
        "server: https://a\nca: c\nserver_policy:\n  rules: []\n",
        "client.yaml:4: server_policy.rules: unknown key (known keys here: enclaveMatchAnyRules)");
    refused("server: https://a\nca: c\nserver_policy:\n  enclaveMatchAnyRules:\n"
            "  - mrEnclave: " SERVER_MR "\n",
            "client.yaml:5: server_policy.enclaveMatchAnyRules[0].mrEnclave: unknown key (did "
            "you mean mrenclave?)");
    refused("server: https://a\nca: c\nserver_policy: ~\n",
            "client.yaml:3: server_policy: required: the enclaveMatchAnyRules to check");
    /* aliases are refused anywhere in the file, as in policy files */
    refused("server: &s https://a\nca: c\nserver_policy:\n  enclaveMatchAnyRules:\n"
            "  - mrenclave: " SERVER_MR "\nverifier: {pccs_url: *s}\n",
            "client.yaml:6: verifier.pccs_url: a value used again through a YAML alias (*name): "
            "aliases "
            "are refused, write the value out");
}

static void write_text(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", g_dir, name);
    tu_write_file(path, text, strlen(text));
}

static void test_config_load_env(void **state)
{
    char path[256], want[512];
    struct aecs_client_config *c = NULL;

    (void)state;
    write_text("client.yaml", k_minimal, path, sizeof(path));
    assert_int_equal(aecs_client_config_load(path, 0, &c), AECS_OK);
    snprintf(want, sizeof(want), "%s/ca.pem", g_dir);
    assert_string_equal(c->ca, want);
    assert_string_equal(c->source, path);
    aecs_client_config_free(c);

    setenv("AECS_SERVER", "https://x:1, https://y:2", 1);
    setenv("AECS_FINGERPRINT", FP_HEX, 1);
    setenv("AECS_ATTESTER", "gramine", 1);
    assert_int_equal(aecs_client_config_load(path, 0, &c), AECS_OK); /* no ENV flag */
    assert_int_equal(c->server_count, 1);
    aecs_client_config_free(c);
    assert_int_equal(aecs_client_config_load(path, AECS_CLIENT_CONFIG_ENV, &c), AECS_OK);
    assert_int_equal(c->server_count, 2);
    assert_string_equal(c->servers[0], "https://x:1");
    assert_string_equal(c->servers[1], "https://y:2");
    assert_null(c->ca);
    assert_int_equal(c->pinned, 1);
    assert_string_equal(c->attester, "gramine");
    aecs_client_config_free(c);

    setenv("AECS_CA", "/x/ca.pem", 1);
    assert_int_equal(aecs_client_config_load(path, AECS_CLIENT_CONFIG_ENV, &c),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("AECS_CA and AECS_FINGERPRINT are both set: use one");
    unsetenv("AECS_FINGERPRINT");
    setenv("AECS_SERVER", "https://x:1,ftp://y", 1);
    assert_int_equal(aecs_client_config_load(path, AECS_CLIENT_CONFIG_ENV, &c),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("environment: AECS_SERVER: a server must be an https:// URL (https://HOST:PORT)");
    setenv("AECS_SERVER", "", 1); /* empty: unset */
    setenv("AECS_ATTESTER", "tpm", 1);
    assert_int_equal(aecs_client_config_load(path, AECS_CLIENT_CONFIG_ENV, &c),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_is("AECS_ATTESTER must be auto, sim, gramine, tsm, sev-guest or file");
    unsetenv("AECS_ATTESTER");
    assert_int_equal(aecs_client_config_load(path, AECS_CLIENT_CONFIG_ENV, &c), AECS_OK);
    assert_string_equal(c->ca, "/x/ca.pem");
    assert_string_equal(c->servers[0], "https://aecs.example.com:19527");
    aecs_client_config_free(c);
    unsetenv("AECS_CA");
    unsetenv("AECS_SERVER");

    snprintf(path, sizeof(path), "%s/missing.yaml", g_dir);
    assert_int_equal(aecs_client_config_load(path, 0, &c), AECS_E_NOT_FOUND);
    assert_null(c);
}

/* The public constructors' errors. */
static void test_new_errors(void **state)
{
    char path[256], ca[512], text[2048];
    aecs_client *client = (aecs_client *)1;
    aecs_client_error err;

    (void)state;
    snprintf(path, sizeof(path), "%s/missing.yaml", g_dir);
    assert_int_equal(aecs_client_new_from_file(path, &client, &err), AECS_CLIENT_E_CONFIG);
    assert_null(client);
    assert_int_equal(err.status, AECS_CLIENT_E_CONFIG);
    assert_string_equal(err.check, "config");
    assert_has(err.message, "missing.yaml");

    write_text("bad.yaml", "server: https://a\nca: c\nnope: 1\n", path, sizeof(path));
    assert_int_equal(aecs_client_new_from_file(path, &client, &err), AECS_CLIENT_E_CONFIG);
    assert_has(err.message, "bad.yaml:3: nope: unknown key");
    assert_int_equal(aecs_client_new_from_file(path, &client, NULL), AECS_CLIENT_E_CONFIG);
    assert_int_equal(aecs_client_new_from_file(NULL, &client, &err), AECS_CLIENT_E_USAGE);

    unsetenv("AECS_CONFIG");
    assert_int_equal(aecs_client_new_from_env(&client, &err), AECS_CLIENT_E_CONFIG);
    assert_has(err.message, "AECS_CONFIG is not set");

    /* an attester that is not there: the file is fine, the machine is not */
    tu_src_path(ca, sizeof(ca), "tests/data/keys/tls_ca.pem");
    snprintf(text, sizeof(text),
             "server: https://a\nca: %s\n"
             "server_policy: {enclaveMatchAnyRules: [{mrenclave: " SERVER_MR "}]}\n"
             "attester: {type: gramine, root: /nonexistent-aecs-root}\n",
             ca);
    write_text("gramine.yaml", text, path, sizeof(path));
    setenv("AECS_CONFIG", path, 1);
    assert_int_equal(aecs_client_new_from_env(&client, &err), AECS_CLIENT_E_ATTESTATION);
    assert_string_equal(err.check, "attester");
    assert_has(err.message, "gramine.yaml: attester: ");
    unsetenv("AECS_CONFIG");

    /* a sim folder to trust that is not one */
    snprintf(text, sizeof(text),
             "server: https://a\nca: %s\n"
             "server_policy: {enclaveMatchAnyRules: [{mrenclave: " SERVER_MR "}]}\n"
             "verifier: {insecure_trust_sim: /nonexistent-aecs-sim}\n",
             ca);
    write_text("nosim.yaml", text, path, sizeof(path));
    assert_int_equal(aecs_client_new_from_file(path, &client, &err), AECS_CLIENT_E_CONFIG);
    assert_has(err.message, "nosim.yaml: verifier: ");
    /* a `ca` that is no certificate: a configuration error, found before any request */
    write_text("notcert.pem", "hello\n", path, sizeof(path));
    write_text("badca.yaml",
               "server: https://a\nca: notcert.pem\n"
               "server_policy: {enclaveMatchAnyRules: [{mrenclave: " SERVER_MR "}]}\n"
               "attester: {type: sim, sim_dir: /nonexistent-aecs-sim}\n",
               path, sizeof(path));
    assert_int_equal(aecs_client_new_from_file(path, &client, &err), AECS_CLIENT_E_CONFIG);
    assert_has(err.message, "badca.yaml: ca: ");
    assert_string_equal(aecs_client_status_string(AECS_CLIENT_E_SERVER_IDENTITY),
                        "the server's identity did not pass");
    assert_string_equal(aecs_client_status_string((aecs_client_status)99), "unknown status");
}

/* ---- a server stand-in, in this process ---- */

enum route { R_IDENTITY, R_CHALLENGE, R_RELEASE, R_COUNT };

enum server_mode { UP = 0, DOWN, ERROR_503, CHALLENGE_503 };

enum tamper {
    T_NONE = 0,
    /* identity */
    T_ID_GARBAGE,
    T_ID_NO_SIG,
    T_ID_TWO_SIGS,
    T_ID_SIG_OTHER_KEY,
    T_ID_SIG_OTHER_NONCE,
    T_ID_EVIDENCE_CORRUPT,
    T_ID_EVIDENCE_UNBOUND,
    T_ID_EVIDENCE_OTHER_MR,
    T_ID_EVIDENCE_DEBUG,
    T_ID_404,
    /* release */
    T_REL_NO_SIG,
    T_REL_SIG_OTHER_KEY,
    T_REL_SIG_OTHER_NONCE,
    T_REL_GARBAGE,
    T_REL_REORDER,
    T_REL_ENVELOPE_BYTE,
    T_REL_ENVELOPE_SWAP,
    T_REL_REFUSE_401,
    T_REL_500,
};

struct fake_secret {
    const char *service;
    const char *name;
    const char *type;
    const char *content_type;
    const char *value;
    size_t size;
    const char *allowed_mr; /* the application mrenclave the secret's policy names */
};

static const struct fake_secret k_secrets[] = {
    {"svc", "aes", "SECRET_TYPE_AES256_KEY", "application/octet-stream",
     "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
     "\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff",
     32, APP_MR},
    {"svc", "conf", "SECRET_TYPE_IMPORT_DATA", "text/plain", "db_password=correct horse", 25,
     APP_MR},
    {"svc", "theirs", "SECRET_TYPE_IMPORT_DATA", "text/plain", "not for you", 11, OTHER_MR},
    {"svc2", "pem", "SECRET_TYPE_CERTIFICATE", "application/x-pem-file",
     "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", 57, APP_MR},
};

#define FAKE_NONCES 32

struct fake {
    struct aecs_p256_key *identity;
    struct aecs_p256_key *other; /* a key that is not the identity */
    uint8_t *evidence;           /* the identity evidence */
    size_t evidence_size;
    struct aecs_verifier *verifier;
    const char *service_id; /* what the identity answer names */
    uint8_t nonces[FAKE_NONCES][AECS_RELEASE_NONCE_SIZE];
    int nonce_used[FAKE_NONCES];
    size_t nonce_count;
    enum server_mode mode[2];
    enum tamper tamper;
    int requests[2][R_COUNT];
    int releases_verified; /* release requests whose evidence and binding the stand-in checked */
};

static struct fake g_fake;

static uint8_t *sim_quote(const char *mr_hex, int debug, const uint8_t report_data[64],
                          size_t *size)
{
    struct aecs_sim_quote_params p;
    uint8_t *q = NULL;

    memset(&p, 0, sizeof(p));
    p.tee = AECS_SIM_SGX;
    p.debug = debug;
    tu_hex(mr_hex, p.mrenclave, 32);
    tu_hex(APP_SIGNER, p.mrsigner, 32);
    memcpy(p.report_data, report_data, 64);
    if (aecs_sim_quote(g_sim, &p, &q, size) != AECS_OK)
        fail_msg("sim quote: %s", MSG());
    return q;
}

/* SHA-512(label || 0x00 || parts): the bindings of docs/protocol-release.md section 1. */
static void binding(const char *label, const uint8_t *a, size_t a_size, const uint8_t *b,
                    size_t b_size, uint8_t out[64])
{
    uint8_t buf[256];
    size_t n = strlen(label) + 1;

    memcpy(buf, label, n);
    memcpy(buf + n, a, a_size);
    n += a_size;
    if (b != NULL) {
        memcpy(buf + n, b, b_size);
        n += b_size;
    }
    aecs_sha512(buf, n, out);
}

/* A new identity key and its evidence (a server start), made as the tamper mode says. */
static void fake_start(enum tamper t)
{
    uint8_t pub[AECS_P256_PUB_SIZE], other[AECS_P256_PUB_SIZE], rd[64];

    aecs_p256_key_free(g_fake.identity);
    free(g_fake.evidence);
    assert_int_equal(aecs_p256_key_generate(&g_fake.identity), AECS_OK);
    aecs_p256_key_public(g_fake.identity, pub);
    aecs_p256_key_public(g_fake.other, other);
    binding("aecs-identity-v1", t == T_ID_EVIDENCE_UNBOUND ? other : pub, AECS_P256_PUB_SIZE, NULL,
            0, rd);
    g_fake.evidence = sim_quote(t == T_ID_EVIDENCE_OTHER_MR ? OTHER_MR : SERVER_MR,
                                t == T_ID_EVIDENCE_DEBUG, rd, &g_fake.evidence_size);
    if (t == T_ID_EVIDENCE_CORRUPT)
        g_fake.evidence[g_fake.evidence_size - 100] ^= 1; /* inside the signature data */
}

static void fake_reset(void)
{
    memset(g_fake.mode, 0, sizeof(g_fake.mode));
    memset(g_fake.requests, 0, sizeof(g_fake.requests));
    g_fake.tamper = T_NONE;
    g_fake.releases_verified = 0;
    g_fake.service_id = FAKE_SID;
    fake_start(T_NONE);
}

static int reply_error(struct aecs_raw_reply *reply, long status, const char *code, int rc,
                       const char *message)
{
    reply->status = status;
    snprintf(reply->code, sizeof(reply->code), "%s", code);
    return AECS_ERR(rc, "%s", message);
}

static void reply_body(struct aecs_raw_reply *reply, char *body, size_t size)
{
    reply->status = 200;
    reply->body = body;
    reply->body_size = size;
    reply->body_alloc = size + 1;
}

static void reply_sign(struct aecs_raw_reply *reply, const struct aecs_p256_key *key,
                       enum aecs_answer_kind kind, const uint8_t *nonce, const uint8_t *client_pub)
{
    char sig[AECS_ANSWER_SIG_B64_MAX];

    assert_int_equal(
        aecs_answer_sign(key, kind, nonce, client_pub, reply->body, reply->body_size, sig),
        AECS_OK);
    snprintf(reply->header, sizeof(reply->header), "%s", sig);
    reply->header_count = 1;
}

static int fake_identity(const char *target, struct aecs_raw_reply *reply)
{
    struct aecs_identity_answer ans;
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    char *body = NULL;
    size_t size = 0;
    const char *q = strchr(target, '?');

    if (g_fake.tamper == T_ID_404)
        return reply_error(reply, 404, "not_found", AECS_E_NOT_FOUND, "no such route");
    assert_non_null(q);
    assert_int_equal(strncmp(q, "?nonce=", 7), 0);
    assert_int_equal(aecs_release_nonce_parse(q + 7, strlen(q + 7), nonce), AECS_OK);
    memset(&ans, 0, sizeof(ans));
    aecs_p256_key_public(g_fake.identity, ans.pubkey);
    ans.evidence = g_fake.evidence;
    ans.evidence_size = g_fake.evidence_size;
    snprintf(ans.service_id, sizeof(ans.service_id), "%s", g_fake.service_id);
    /* as a sim aecsd with a weakened verifier reports itself: the sim exception lets it pass */
    strcpy(ans.insecure[0], "intel-root");
    strcpy(ans.insecure[1], "sim-attester");
    ans.insecure_count = 2;
    assert_int_equal(aecs_identity_answer_serialize(&ans, &body, &size), AECS_OK);
    if (g_fake.tamper == T_ID_GARBAGE) {
        free(body);
        body = strdup("<html>hello</html>");
        size = strlen(body);
    }
    reply_body(reply, body, size);
    if (g_fake.tamper == T_ID_SIG_OTHER_NONCE)
        nonce[0] ^= 1;
    reply_sign(reply, g_fake.tamper == T_ID_SIG_OTHER_KEY ? g_fake.other : g_fake.identity,
               AECS_ANSWER_IDENTITY, nonce, NULL);
    if (g_fake.tamper == T_ID_NO_SIG)
        reply->header_count = 0;
    if (g_fake.tamper == T_ID_TWO_SIGS)
        reply->header_count = 2;
    return AECS_OK;
}

static int fake_challenge(const char *body, size_t size, struct aecs_raw_reply *reply)
{
    char *out = NULL;
    size_t out_size = 0;
    uint8_t *n;

    assert_int_equal(aecs_challenge_request_check(body, size), AECS_OK);
    assert_true(g_fake.nonce_count < FAKE_NONCES);
    n = g_fake.nonces[g_fake.nonce_count++];
    assert_int_equal(aecs_random_bytes(n, AECS_RELEASE_NONCE_SIZE), AECS_OK);
    assert_int_equal(aecs_challenge_answer_serialize(n, 4102444800, &out, &out_size), AECS_OK);
    reply_body(reply, out, out_size);
    return AECS_OK;
}

static const struct fake_secret *find_secret(const char *service, const char *name)
{
    for (size_t i = 0; i < sizeof(k_secrets) / sizeof(k_secrets[0]); i++) {
        if (strcmp(k_secrets[i].service, service) == 0 && strcmp(k_secrets[i].name, name) == 0)
            return &k_secrets[i];
    }
    return NULL;
}

static int fake_release(const char *body, size_t size, struct aecs_raw_reply *reply)
{
    struct aecs_release_request *req = NULL;
    struct aecs_release_answer *ans = aecs_release_answer_new();
    struct aecs_p256_pub *client = NULL;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    uint8_t rd[64], app_mr[32];
    char *out = NULL;
    size_t out_size = 0;
    size_t i;

    assert_non_null(ans);
    if (g_fake.tamper == T_REL_REFUSE_401) {
        aecs_release_answer_free(ans);
        return reply_error(reply, 401, "attestation_failed", AECS_E_UNTRUSTED,
                           "the evidence does not verify (stage chain)");
    }
    if (g_fake.tamper == T_REL_500) {
        aecs_release_answer_free(ans);
        return reply_error(reply, 500, "internal", AECS_E_IO, "something broke");
    }
    assert_int_equal(aecs_release_request_parse(body, size, &req), AECS_OK);
    /* the nonce: one the stand-in issued and has not seen used */
    for (i = 0; i < g_fake.nonce_count; i++) {
        if (memcmp(g_fake.nonces[i], req->nonce, AECS_RELEASE_NONCE_SIZE) == 0)
            break;
    }
    assert_true(i < g_fake.nonce_count);
    assert_false(g_fake.nonce_used[i]);
    g_fake.nonce_used[i] = 1;
    /* the evidence, and its binding computed here from the document's layout */
    if (aecs_verifier_verify(g_fake.verifier, req->evidence, req->evidence_size, AECS_VERIFIER_NOW,
                             &claims, &why) != AECS_OK)
        fail_msg("the client's evidence does not verify: %s", why.message);
    binding("aecs-release-v1", req->nonce, AECS_RELEASE_NONCE_SIZE, req->pubkey, AECS_P256_PUB_SIZE,
            rd);
    assert_memory_equal(claims.report_data, rd, 64);
    g_fake.releases_verified++;
    assert_int_equal(aecs_p256_pub_import(req->pubkey, AECS_P256_PUB_SIZE, &client), AECS_OK);

    ans->count = req->count;
    for (i = 0; i < req->count; i++) {
        struct aecs_release_result *e = &ans->results[i];
        const struct fake_secret *s = find_secret(req->secrets[i].service, req->secrets[i].name);
        struct aecs_envelope_binding b;

        snprintf(e->service, sizeof(e->service), "%s", req->secrets[i].service);
        snprintf(e->name, sizeof(e->name), "%s", req->secrets[i].name);
        if (s == NULL) {
            snprintf(e->code, sizeof(e->code), "not_found");
            snprintf(e->reason, sizeof(e->reason), "no such secret");
            continue;
        }
        tu_hex(s->allowed_mr, app_mr, 32);
        if (memcmp(claims.mrenclave, app_mr, 32) != 0) {
            snprintf(e->code, sizeof(e->code), "forbidden");
            snprintf(e->reason, sizeof(e->reason), "no rule of the policy matches the evidence");
            continue;
        }
        e->sealed = 1;
        snprintf(e->type, sizeof(e->type), "%s", s->type);
        snprintf(e->content_type, sizeof(e->content_type), "%s", s->content_type);
        b.nonce = req->nonce;
        b.service = s->service;
        b.name = g_fake.tamper == T_REL_ENVELOPE_SWAP ? "other" : s->name;
        b.type = s->type;
        assert_int_equal(
            aecs_envelope_seal(client, &b, (const uint8_t *)s->value, s->size, &e->envelope),
            AECS_OK);
        if (g_fake.tamper == T_REL_ENVELOPE_BYTE && e->envelope.size > 0)
            e->envelope.ciphertext[0] ^= 0x80;
    }
    if (g_fake.tamper == T_REL_REORDER && ans->count > 1) {
        struct aecs_release_result t = ans->results[0];
        ans->results[0] = ans->results[1];
        ans->results[1] = t;
    }
    assert_int_equal(aecs_release_answer_serialize(ans, &out, &out_size), AECS_OK);
    if (g_fake.tamper == T_REL_GARBAGE) {
        free(out);
        out = strdup("{\"secrets\": 1}");
        out_size = strlen(out);
    }
    reply_body(reply, out, out_size);
    if (g_fake.tamper == T_REL_SIG_OTHER_NONCE)
        req->nonce[0] ^= 1;
    reply_sign(reply, g_fake.tamper == T_REL_SIG_OTHER_KEY ? g_fake.other : g_fake.identity,
               AECS_ANSWER_RELEASE, req->nonce, req->pubkey);
    if (g_fake.tamper == T_REL_NO_SIG)
        reply->header_count = 0;
    aecs_p256_pub_free(client);
    aecs_release_request_free(req);
    aecs_release_answer_free(ans);
    return AECS_OK;
}

static int fake_request(void *ctx, size_t server, const char *url, const char *method,
                        const char *target, const char *body, size_t body_size, const char *header,
                        struct aecs_raw_reply *reply)
{
    enum route route = R_RELEASE;

    (void)ctx;
    memset(reply, 0, sizeof(*reply));
    assert_true(server < 2);
    assert_string_equal(url, server == 0 ? "https://one.test" : "https://two.test");
    if (strncmp(target, "/v1/identity?", 13) == 0 && strcmp(method, "GET") == 0)
        route = R_IDENTITY;
    else if (strcmp(target, "/v1/challenge") == 0 && strcmp(method, "POST") == 0)
        route = R_CHALLENGE;
    else if (strcmp(target, "/v1/release") == 0 && strcmp(method, "POST") == 0)
        route = R_RELEASE;
    else
        fail_msg("unexpected %s %s", method, target);
    if (route != R_CHALLENGE)
        assert_string_equal(header, AECS_HDR_ANSWER_SIGNATURE);
    if (g_fake.mode[server] == DOWN)
        return AECS_ERR(AECS_E_IO, "cannot reach %s: Connection refused", url);
    g_fake.requests[server][route]++;
    if (g_fake.mode[server] == ERROR_503 ||
        (g_fake.mode[server] == CHALLENGE_503 && route == R_CHALLENGE))
        return reply_error(reply, 503, "sealed", AECS_E_IO, "the service is sealed");
    switch (route) {
    case R_IDENTITY:
        return fake_identity(target, reply);
    case R_CHALLENGE:
        return fake_challenge(body, body_size, reply);
    case R_RELEASE:
    default:
        return fake_release(body, body_size, reply);
    }
}

static const struct aecs_client_transport k_fake_transport = {NULL, fake_request};

/* A client of the stand-in with these server_policy rules and extra root keys. */
static aecs_client *fake_client_cfg(const char *rules, const char *extra)
{
    char text[4096];
    struct aecs_client_config *cfg = NULL;
    struct aecs_client_options opts;
    aecs_client *client = NULL;
    aecs_client_error err;

    snprintf(text, sizeof(text),
             "server: [https://one.test, https://two.test]\n"
             "fingerprint: " FP_HEX "\n"
             "server_policy:\n"
             "  enclaveMatchAnyRules:\n%s"
             "verifier: {insecure_trust_sim: %s}\n"
             "attester:\n"
             "  type: sim\n"
             "  sim_dir: %s\n"
             "  sim_identity: {mrenclave: " APP_MR ", mrsigner: " APP_SIGNER "}\n%s",
             rules, g_sim, g_sim, extra);
    if (aecs_client_config_parse(text, strlen(text), "client.yaml", NULL, &cfg) != AECS_OK)
        fail_msg("config: %s", MSG());
    memset(&opts, 0, sizeof(opts));
    opts.transport = &k_fake_transport;
    if (aecs_client_new_config(cfg, &opts, &client, &err) != AECS_CLIENT_OK)
        fail_msg("client: %s", err.message);
    return client;
}

static aecs_client *fake_client_with(const char *rules)
{
    return fake_client_cfg(rules, "");
}

static aecs_client *fake_client(void)
{
    return fake_client_with("  - mrenclave: " SERVER_MR "\n    allow_sim: true\n");
}

static int group_setup(void **state)
{
    struct aecs_sim_options so;
    struct aecs_verifier_config vc;
    char root[256];

    (void)state;
    tu_mkdtemp(g_dir, sizeof(g_dir));
    snprintf(g_sim, sizeof(g_sim), "%s/sim", g_dir);
    memset(&so, 0, sizeof(so));
    if (aecs_sim_init(g_sim, &so) != AECS_OK) {
        fprintf(stderr, "sim init: %s\n", MSG());
        return -1;
    }
    memset(&vc, 0, sizeof(vc));
    snprintf(root, sizeof(root), "%s/root.der", g_sim);
    vc.sim_root_file = root;
    if (aecs_verifier_new(&vc, &g_fake.verifier) != AECS_OK ||
        aecs_p256_key_generate(&g_fake.other) != AECS_OK) {
        fprintf(stderr, "setup: %s\n", MSG());
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    aecs_verifier_free(g_fake.verifier);
    aecs_p256_key_free(g_fake.identity);
    aecs_p256_key_free(g_fake.other);
    free(g_fake.evidence);
    tu_rmtree(g_dir);
    return 0;
}

/* ---- the protocol ---- */

static void test_fetch_one(void **state)
{
    aecs_client *client;
    aecs_client_secret *s = NULL;
    const aecs_client_error *e;

    (void)state;
    fake_reset();
    client = fake_client();
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    assert_non_null(s);
    assert_int_equal(aecs_client_secret_size(s), k_secrets[0].size);
    assert_memory_equal(aecs_client_secret_data(s), k_secrets[0].value, k_secrets[0].size);
    assert_int_equal(aecs_client_secret_data(s)[k_secrets[0].size], 0); /* NUL after */
    assert_string_equal(aecs_client_secret_type(s), "SECRET_TYPE_AES256_KEY");
    assert_string_equal(aecs_client_secret_content_type(s), "application/octet-stream");
    assert_string_equal(aecs_client_secret_service(s), "svc");
    assert_string_equal(aecs_client_secret_name(s), "aes");
    aecs_client_secret_free(s);
    e = aecs_client_last_error(client);
    assert_int_equal(e->status, AECS_CLIENT_OK);
    assert_string_equal(e->message, "");
    /* one request of each kind, to the first server, whose evidence and binding checked */
    assert_int_equal(g_fake.requests[0][R_IDENTITY], 1);
    assert_int_equal(g_fake.requests[0][R_CHALLENGE], 1);
    assert_int_equal(g_fake.requests[0][R_RELEASE], 1);
    assert_int_equal(g_fake.releases_verified, 1);
    assert_int_equal(g_fake.requests[1][R_IDENTITY], 0);

    /* a text secret is usable as a C string */
    assert_int_equal(aecs_client_fetch(client, "svc", "conf", &s), AECS_CLIENT_OK);
    assert_string_equal((const char *)aecs_client_secret_data(s), "db_password=correct horse");
    aecs_client_secret_free(s);

    /* a refused one: the secret's policy names another enclave */
    s = (aecs_client_secret *)1;
    assert_int_equal(aecs_client_fetch(client, "svc", "theirs", &s), AECS_CLIENT_E_SECRET_REFUSED);
    assert_null(s);
    e = aecs_client_last_error(client);
    assert_string_equal(e->check, "secret");
    assert_string_equal(e->server_code, "forbidden");
    assert_string_equal(
        e->message, "svc/theirs refused: no rule of the policy matches the evidence (forbidden)");
    aecs_client_free(client);
}

static void test_fetch_many(void **state)
{
    aecs_client *client;
    aecs_client_ref refs[] = {{"svc", "aes"}, {"svc", "theirs"}, {"svc", "nope"}, {"svc2", "pem"}};
    aecs_client_result res[4];

    (void)state;
    fake_reset();
    client = fake_client();
    assert_int_equal(aecs_client_fetch_many(client, refs, 4, res), AECS_CLIENT_E_SECRET_REFUSED);
    /* one round for all four */
    assert_int_equal(g_fake.requests[0][R_CHALLENGE], 1);
    assert_int_equal(g_fake.requests[0][R_RELEASE], 1);
    assert_int_equal(res[0].status, AECS_CLIENT_OK);
    assert_non_null(res[0].secret);
    assert_memory_equal(aecs_client_secret_data(res[0].secret), k_secrets[0].value, 32);
    assert_int_equal(res[1].status, AECS_CLIENT_E_SECRET_REFUSED);
    assert_null(res[1].secret);
    assert_string_equal(res[1].code, "forbidden");
    assert_string_equal(res[1].reason, "no rule of the policy matches the evidence");
    assert_int_equal(res[2].status, AECS_CLIENT_E_SECRET_REFUSED);
    assert_string_equal(res[2].code, "not_found");
    assert_int_equal(res[3].status, AECS_CLIENT_OK);
    assert_string_equal(aecs_client_secret_content_type(res[3].secret), "application/x-pem-file");
    assert_string_equal(aecs_client_secret_service(res[3].secret), "svc2");
    assert_int_equal(aecs_client_secret_size(res[3].secret), k_secrets[3].size);
    assert_string_equal(aecs_client_last_error(client)->server_code, "forbidden");
    aecs_client_results_clear(res, 4);
    assert_null(res[0].secret);

    /* all released: OK */
    assert_int_equal(aecs_client_fetch_many(client, refs, 1, res), AECS_CLIENT_OK);
    aecs_client_results_clear(res, 1);
    aecs_client_free(client);
}

static void test_usage(void **state)
{
    aecs_client *client;
    aecs_client_ref refs[AECS_CLIENT_MAX_SECRETS + 1];
    aecs_client_result res[AECS_CLIENT_MAX_SECRETS + 1];
    aecs_client_secret *s;

    (void)state;
    fake_reset();
    client = fake_client();
    for (size_t i = 0; i <= AECS_CLIENT_MAX_SECRETS; i++) {
        refs[i].service = "svc";
        refs[i].name = "aes";
    }
    assert_int_equal(aecs_client_fetch_many(client, refs, 0, res), AECS_CLIENT_E_USAGE);
    assert_int_equal(aecs_client_fetch_many(client, refs, AECS_CLIENT_MAX_SECRETS + 1, res),
                     AECS_CLIENT_E_USAGE);
    assert_string_equal(aecs_client_last_error(client)->message,
                        "ask for 1 to 16 secrets at once (got 17)");
    assert_int_equal(aecs_client_fetch_many(client, refs, 2, res), AECS_CLIENT_E_USAGE);
    assert_string_equal(aecs_client_last_error(client)->message,
                        "secret svc/aes is asked for twice");
    assert_int_equal(aecs_client_fetch(client, "svc", "../x", &s), AECS_CLIENT_E_USAGE);
    assert_null(s);
    assert_has(aecs_client_last_error(client)->message, "secret 1: name");
    assert_int_equal(aecs_client_fetch(client, NULL, "x", &s), AECS_CLIENT_E_USAGE);
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", NULL), AECS_CLIENT_E_USAGE);
    assert_int_equal(aecs_client_fetch(NULL, "svc", "aes", &s), AECS_CLIENT_E_USAGE);
    /* nothing was sent for any of them */
    assert_int_equal(g_fake.requests[0][R_IDENTITY], 0);
    aecs_client_free(client);
    aecs_client_free(NULL);
    aecs_client_secret_free(NULL);
}

/*
 * An identity that does not pass: the status, the check, and nothing sent
 * after it. extra: root keys added to the configuration, or NULL.
 */
static void identity_refused_full(enum tamper t, const char *rules, const char *extra,
                                  const char *check, const char *needle)
{
    aecs_client *client;
    aecs_client_secret *s = NULL;
    const aecs_client_error *e;

    fake_reset();
    fake_start(t);
    g_fake.tamper = t;
    client = fake_client_cfg(rules != NULL ? rules
                                           : "  - mrenclave: " SERVER_MR "\n    allow_sim: true\n",
                             extra != NULL ? extra : "");
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_SERVER_IDENTITY);
    assert_null(s);
    e = aecs_client_last_error(client);
    assert_int_equal(e->status, AECS_CLIENT_E_SERVER_IDENTITY);
    if (strcmp(e->check, check) != 0)
        fail_msg("check '%s' is not '%s' (%s)", e->check, check, e->message);
    assert_has(e->message, needle);
    assert_int_equal(g_fake.requests[0][R_IDENTITY], 1);
    assert_int_equal(g_fake.requests[0][R_CHALLENGE], 0);
    assert_int_equal(g_fake.requests[0][R_RELEASE], 0);
    /* and no failover: the second server is not asked either */
    assert_int_equal(g_fake.requests[1][R_IDENTITY], 0);
    aecs_client_free(client);
}

static void identity_refused(enum tamper t, const char *rules, const char *check,
                             const char *needle)
{
    identity_refused_full(t, rules, NULL, check, needle);
}

static void identity_refused_cfg(enum tamper t, const char *extra, const char *check,
                                 const char *needle)
{
    identity_refused_full(t, NULL, extra, check, needle);
}

static void test_identity_refused(void **state)
{
    (void)state;
    identity_refused(T_ID_GARBAGE, NULL, "identity", "identity answer: ");
    identity_refused(T_ID_NO_SIG, NULL, "identity-signature",
                     "https://one.test: the answer has no X-Aecs-Answer-Signature header");
    identity_refused(T_ID_TWO_SIGS, NULL, "identity-signature",
                     "the answer has more than one X-Aecs-Answer-Signature header");
    identity_refused(T_ID_SIG_OTHER_KEY, NULL, "identity-signature",
                     "the identity answer's signature does not verify with the key it names");
    identity_refused(T_ID_SIG_OTHER_NONCE, NULL, "identity-signature",
                     "the identity answer's signature does not verify");
    identity_refused(T_ID_EVIDENCE_CORRUPT, NULL, "identity-evidence",
                     "https://one.test: the server's evidence does not verify (stage ");
    identity_refused(T_ID_EVIDENCE_UNBOUND, NULL, "identity-binding",
                     "the server's evidence is not bound to its identity key");
    identity_refused(T_ID_EVIDENCE_OTHER_MR, NULL, "server-policy",
                     "the server's evidence does not match server_policy of client.yaml: "
                     "enclaveMatchAnyRules[0]: mrenclave does not match: expected "
                     "5e5e5e5e5e5e5e5e.., got 0707070707070707..");
    identity_refused(T_ID_EVIDENCE_DEBUG, NULL, "server-policy", "debug enclave refused");
    /* a server policy without allow_sim refuses the sim server itself */
    identity_refused(T_NONE, "  - mrenclave: " SERVER_MR "\n", "server-policy", "simulated TEE");
    identity_refused(T_ID_404, NULL, "identity",
                     "https://one.test refused the identity request: no such route (not_found)");
}

/* A release answer that breaks the protocol: nothing is returned. */
static void release_broken(enum tamper t, aecs_client_status status, const char *check,
                           const char *needle)
{
    aecs_client *client;
    aecs_client_ref refs[] = {{"svc", "aes"}, {"svc", "conf"}};
    aecs_client_result res[2];
    const aecs_client_error *e;

    fake_reset();
    g_fake.tamper = t;
    client = fake_client();
    assert_int_equal(aecs_client_fetch_many(client, refs, 2, res), status);
    assert_null(res[0].secret);
    assert_null(res[1].secret);
    e = aecs_client_last_error(client);
    if (strcmp(e->check, check) != 0)
        fail_msg("check '%s' is not '%s' (%s)", e->check, check, e->message);
    assert_has(e->message, needle);
    assert_int_equal(g_fake.requests[1][R_IDENTITY], 0); /* not a reason to fail over */
    aecs_client_free(client);
}

static void test_release_refused(void **state)
{
    (void)state;
    release_broken(T_REL_NO_SIG, AECS_CLIENT_E_PROTOCOL, "release-signature",
                   "the answer has no X-Aecs-Answer-Signature header");
    release_broken(T_REL_SIG_OTHER_KEY, AECS_CLIENT_E_PROTOCOL, "release-signature",
                   "the release answer's signature does not verify with the server's checked "
                   "identity key");
    release_broken(T_REL_SIG_OTHER_NONCE, AECS_CLIENT_E_PROTOCOL, "release-signature",
                   "does not verify");
    release_broken(T_REL_GARBAGE, AECS_CLIENT_E_PROTOCOL, "release-answer", "release answer: ");
    release_broken(T_REL_REORDER, AECS_CLIENT_E_PROTOCOL, "release-entries", "release answer: ");
    release_broken(T_REL_ENVELOPE_BYTE, AECS_CLIENT_E_PROTOCOL, "envelope",
                   "https://one.test: the envelope of svc/aes does not open");
    release_broken(T_REL_ENVELOPE_SWAP, AECS_CLIENT_E_PROTOCOL, "envelope",
                   "the envelope of svc/aes does not open");
    release_broken(T_REL_REFUSE_401, AECS_CLIENT_E_REFUSED, "release",
                   "https://one.test refused the release request: the evidence does not verify "
                   "(stage chain) (attestation_failed)");
}

static void test_identity_cache(void **state)
{
    aecs_client *client;
    aecs_client_secret *s = NULL;

    (void)state;
    fake_reset();
    client = fake_client();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
        aecs_client_secret_free(s);
    }
    /* asked each round (a fresh nonce), verified in full once */
    assert_int_equal(g_fake.requests[0][R_IDENTITY], 3);
    assert_int_equal(aecs_client_identity_verifications(client), 1);

    /* the server restarts: a new identity key, checked in full again */
    fake_start(T_NONE);
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    aecs_client_secret_free(s);
    assert_int_equal(aecs_client_identity_verifications(client), 2);

    /* it restarts as something the policy refuses: refused, and the cache is emptied */
    fake_start(T_ID_EVIDENCE_OTHER_MR);
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_SERVER_IDENTITY);
    assert_string_equal(aecs_client_last_error(client)->check, "server-policy");
    assert_int_equal(aecs_client_identity_verifications(client), 3);
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_SERVER_IDENTITY);
    assert_int_equal(aecs_client_identity_verifications(client), 4);

    /* a key that passed before does not help another key's answers */
    fake_start(T_NONE);
    g_fake.tamper = T_ID_SIG_OTHER_KEY;
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_SERVER_IDENTITY);
    assert_string_equal(aecs_client_last_error(client)->check, "identity-signature");
    aecs_client_free(client);
}

/* service_id pinned: the answer must name it, in full checks and cached ones alike. */
static void test_identity_service_id(void **state)
{
    aecs_client *client;
    aecs_client_secret *s = NULL;
    const aecs_client_error *e;

    (void)state;
    fake_reset();
    /* the same id, written in capitals: accepted */
    client = fake_client_cfg("  - mrenclave: " SERVER_MR "\n    allow_sim: true\n",
                             "service_id: 5ED1D0005ED1D0005ED1D0005ED1D000\n");
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    aecs_client_secret_free(s);
    /* the store is wiped and initialized again under the same (cached) identity key */
    g_fake.service_id = OTHER_SID;
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_SERVER_IDENTITY);
    assert_null(s);
    e = aecs_client_last_error(client);
    assert_string_equal(e->check, "server-service-id");
    assert_string_equal(
        e->message,
        "https://one.test: the server serves service id " OTHER_SID ", but client.yaml pins "
        "service_id " FAKE_SID ": its store was initialized again (new secrets, perhaps chosen by "
        "whoever wiped it) or this is not the configured server; nothing was sent");
    assert_int_equal(g_fake.requests[0][R_CHALLENGE], 1); /* the first round's only */
    assert_int_equal(g_fake.requests[1][R_IDENTITY], 0);  /* no failover */
    aecs_client_free(client);

    /* a full check (a new client) refuses it too, after the evidence passed */
    identity_refused_cfg(T_NONE, "service_id: " OTHER_SID "\n", "server-service-id",
                         "https://one.test: the server serves service id " FAKE_SID
                         ", but client.yaml pins service_id " OTHER_SID);
}

/*
 * The insecure options of the answer. The stand-in's evidence is the
 * simulated TEE's, which the exception lets through (every test above): a
 * hardware server's case is run on the check itself.
 */
static void test_identity_insecure(void **state)
{
    struct aecs_identity_check chk;
    struct aecs_identity_answer ans;
    aecs_client *client;
    aecs_client_secret *s = NULL;

    (void)state;
    memset(&chk, 0, sizeof(chk));
    memset(&ans, 0, sizeof(ans));
    chk.url = "https://one.test";
    chk.source = "client.yaml";
    /* none: nothing to refuse */
    assert_int_equal(aecs_identity_insecure_check(&chk, &ans, 0), AECS_OK);
    strcpy(ans.insecure[0], "intel-root");
    strcpy(ans.insecure[1], "trust-sim");
    ans.insecure_count = 2;
    assert_int_equal(aecs_identity_insecure_check(&chk, &ans, 0), AECS_E_UNTRUSTED);
    assert_msg_is("https://one.test: the server was started with insecure options (intel-root, "
                  "trust-sim): its verifier may trust evidence that is not the hardware's, so "
                  "whoever holds the root it trusts can pose as any enclave; refused. Restart "
                  "aecsd without them, or, for a test server only, set `accept_insecure_server: "
                  "true` in client.yaml (INSECURE)");
    /* the simulated TEE's evidence: a test server anyway */
    assert_int_equal(aecs_identity_insecure_check(&chk, &ans, 1), AECS_OK);
    /* accepted by the configuration (with a warning) */
    chk.accept_insecure = 1;
    assert_int_equal(aecs_identity_insecure_check(&chk, &ans, 0), AECS_OK);

    /* through the client: the sim server reporting intel-root passes without the key */
    fake_reset();
    client = fake_client_cfg("  - mrenclave: " SERVER_MR "\n    allow_sim: true\n",
                             "accept_insecure_server: false\n");
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    aecs_client_secret_free(s);
    aecs_client_free(client);
}

static void test_failover(void **state)
{
    aecs_client *client;
    aecs_client_secret *s = NULL;
    const aecs_client_error *e;

    (void)state;
    /* the first server cannot be reached: the second one serves, and stays current */
    fake_reset();
    g_fake.mode[0] = DOWN;
    client = fake_client();
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    aecs_client_secret_free(s);
    assert_int_equal(g_fake.requests[1][R_RELEASE], 1);
    assert_int_equal(aecs_client_current_server(client), 1);
    g_fake.mode[0] = UP;
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    aecs_client_secret_free(s);
    assert_int_equal(g_fake.requests[0][R_IDENTITY], 0);
    assert_int_equal(g_fake.requests[1][R_RELEASE], 2);
    /* now the second goes down: back to the first */
    g_fake.mode[1] = DOWN;
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    aecs_client_secret_free(s);
    assert_int_equal(aecs_client_current_server(client), 0);
    aecs_client_free(client);

    /* a 5xx in the middle of a round (after the identity passed) moves on too */
    fake_reset();
    g_fake.mode[0] = CHALLENGE_503;
    client = fake_client();
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_OK);
    aecs_client_secret_free(s);
    assert_int_equal(g_fake.requests[0][R_CHALLENGE], 1);
    assert_int_equal(g_fake.requests[1][R_IDENTITY], 1);
    assert_int_equal(g_fake.requests[1][R_RELEASE], 1);
    aecs_client_free(client);

    /* a 500 to the release itself moves on (a new challenge and evidence there) */
    fake_reset();
    client = fake_client();
    g_fake.tamper = T_REL_500;
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_UNAVAILABLE);
    e = aecs_client_last_error(client);
    assert_int_equal(g_fake.requests[0][R_RELEASE], 1);
    assert_int_equal(g_fake.requests[1][R_RELEASE], 1);
    assert_string_equal(e->check, "release");
    assert_string_equal(e->server_code, "internal");
    assert_string_equal(e->message,
                        "no server gave a usable answer: https://one.test: release: HTTP 500: "
                        "something broke; https://two.test: release: HTTP 500: something broke");
    aecs_client_free(client);

    /* both down */
    fake_reset();
    g_fake.mode[0] = DOWN;
    g_fake.mode[1] = ERROR_503;
    client = fake_client();
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_UNAVAILABLE);
    e = aecs_client_last_error(client);
    assert_string_equal(e->message,
                        "no server gave a usable answer: cannot reach https://one.test: "
                        "Connection refused; https://two.test: identity: HTTP 503: the service "
                        "is sealed");
    assert_string_equal(e->server_code, "sealed");
    aecs_client_free(client);

    /* a refusal does not move on */
    fake_reset();
    g_fake.tamper = T_REL_REFUSE_401;
    client = fake_client();
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_REFUSED);
    assert_string_equal(aecs_client_last_error(client)->server_code, "attestation_failed");
    assert_int_equal(g_fake.requests[1][R_IDENTITY], 0);
    aecs_client_free(client);
}

/* The application's own evidence: an attester that fails stops the round before the release. */
static void test_attester_fails(void **state)
{
    char text[2048];
    struct aecs_client_config *cfg = NULL;
    struct aecs_client_options opts;
    aecs_client *client = NULL;
    aecs_client_error err;
    aecs_client_secret *s = NULL;
    char qpath[256];

    (void)state;
    fake_reset();
    /* a quote file made for other report data: the file attester refuses to hand it out */
    snprintf(qpath, sizeof(qpath), "%s/stale.bin", g_dir);
    {
        uint8_t rd[64] = {0};
        size_t size = 0;
        uint8_t *q = sim_quote(APP_MR, 0, rd, &size);
        tu_write_file(qpath, q, size);
        free(q);
    }
    snprintf(text, sizeof(text),
             "server: https://one.test\nfingerprint: " FP_HEX "\n"
             "server_policy: {enclaveMatchAnyRules: [{mrenclave: " SERVER_MR
             ", allow_sim: true}]}\n"
             "verifier: {insecure_trust_sim: %s}\n"
             "attester: {type: file, quote_file: %s}\n",
             g_sim, qpath);
    assert_int_equal(aecs_client_config_parse(text, strlen(text), "client.yaml", NULL, &cfg),
                     AECS_OK);
    memset(&opts, 0, sizeof(opts));
    opts.transport = &k_fake_transport;
    assert_int_equal(aecs_client_new_config(cfg, &opts, &client, &err), AECS_CLIENT_OK);
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_ATTESTATION);
    assert_string_equal(aecs_client_last_error(client)->check, "attester");
    assert_has(aecs_client_last_error(client)->message, "attester: ");
    assert_int_equal(g_fake.requests[0][R_CHALLENGE], 1);
    assert_int_equal(g_fake.requests[0][R_RELEASE], 0);
    aecs_client_free(client);
}

/* ---- the HTTPS transport ---- */

static void test_https(void **state)
{
    struct tu_tls_server srv;
    char text[2048], ca[512], path[256];
    aecs_client *client = NULL;
    aecs_client_error err;
    aecs_client_secret *s = NULL;
    const aecs_client_error *e;
    json_t *log;
    int dead_port;

    (void)state;
    if (tu_tls_server_start(&srv, g_dir, "tls_server", NULL) != 0)
        skip();
    tu_src_path(ca, sizeof(ca), "tests/data/keys/tls_ca.pem");
    /* a port nobody listens on: the server just started took another one */
    dead_port = srv.port == 1 ? 2 : 1;
    snprintf(text, sizeof(text),
             "server: [https://127.0.0.1:%d, %s]\nca: %s\n"
             "server_policy: {enclaveMatchAnyRules: [{mrenclave: " SERVER_MR
             ", allow_sim: true}]}\n"
             "verifier: {insecure_trust_sim: %s}\n"
             "attester: {type: sim, sim_dir: %s}\n"
             "timeouts: {connect: 5, request: 10}\n",
             dead_port, srv.url, ca, g_sim, g_sim);
    write_text("https.yaml", text, path, sizeof(path));
    assert_int_equal(aecs_client_new_from_file(path, &client, &err), AECS_CLIENT_OK);
    /* the stand-in has no /v1/identity: refused at the identity step, after the dead server */
    assert_int_equal(aecs_client_fetch(client, "svc", "aes", &s), AECS_CLIENT_E_SERVER_IDENTITY);
    e = aecs_client_last_error(client);
    assert_string_equal(e->check, "identity");
    assert_string_equal(e->server_code, "not_found");
    assert_has(e->message, srv.url);
    log = tu_tls_server_requests(&srv);
    assert_int_equal(json_array_size(log), 1);
    assert_string_equal(tu_json_str(json_array_get(log, 0), "method"), "GET");
    assert_int_equal(
        strncmp(tu_json_str(json_array_get(log, 0), "target"), "/v1/identity?nonce=", 19), 0);
    assert_int_equal(strlen(tu_json_str(json_array_get(log, 0), "target")), 19 + 64);
    json_decref(log);
    aecs_client_free(client);

    /* the raw request: the body's bytes as sent, the server's error code */
    {
        struct aecs_client_config *cfg = NULL;
        struct aecs_cred *cred = NULL;
        struct aecs_conn *conn = NULL;
        struct aecs_raw_reply r;
        char cred_text[1024];

        (void)cfg;
        snprintf(cred_text, sizeof(cred_text), "server: %s\nca: %s\n", srv.url, ca);
        assert_int_equal(aecs_cred_parse(cred_text, strlen(cred_text), "t.yaml", NULL, &cred),
                         AECS_OK);
        assert_int_equal(aecs_conn_open(cred, NULL, &conn), AECS_OK);
        assert_int_equal(
            aecs_conn_request_raw(conn, "POST", "/v1/echo", "{\"a\": 1}", 8, 0, "Content-Type", &r),
            AECS_OK);
        assert_int_equal(r.status, 200);
        assert_non_null(r.body);
        assert_int_equal(r.body[r.body_size], '\0');
        assert_has(r.body, "\"body\"");
        assert_int_equal(r.header_count, 1);
        assert_string_equal(r.header, "application/json");
        aecs_raw_reply_clear(&r);
        assert_int_equal(aecs_conn_request_raw(conn, "GET", "/v1/health", NULL, 0, 0,
                                               AECS_HDR_ANSWER_SIGNATURE, &r),
                         AECS_OK);
        assert_int_equal(r.header_count, 0);
        assert_string_equal(r.header, "");
        aecs_raw_reply_clear(&r);
        assert_int_equal(
            aecs_conn_request_raw(conn, "GET", "/v1/error/sealed/503", NULL, 0, 0, NULL, &r),
            AECS_E_IO);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.code, "sealed");
        assert_msg_is("the sealed message");
        aecs_raw_reply_clear(&r);
        assert_int_equal(
            aecs_conn_request_raw(conn, "GET", "/v1/health", NULL, 0, 0, "Bad: name", &r),
            AECS_E_INVALID_ARGUMENT);
        aecs_raw_reply_clear(&r);
        aecs_conn_free(conn);
        aecs_cred_free(cred);
    }
    tu_tls_server_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_minimal),
        cmocka_unit_test(test_config_full),
        cmocka_unit_test(test_config_refused),
        cmocka_unit_test(test_config_server_policy),
        cmocka_unit_test(test_config_load_env),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_fetch_one),
        cmocka_unit_test(test_fetch_many),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_identity_refused),
        cmocka_unit_test(test_release_refused),
        cmocka_unit_test(test_identity_cache),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_attester_fails),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_identity_service_id),
        cmocka_unit_test(test_identity_insecure),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
