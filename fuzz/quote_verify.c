/*
 * quote_verify.c - libFuzzer target for aecs_dcap_verify() against real
 * collateral: a forged or mutated quote must never verify.
 *
 * On the first input the target loads tests/data/dcap/tdx_v4_dcapqvl (the
 * collateral through aecs_collateral_load_dir, prepared once with Intel's
 * pinned root, and the set's quote.bin and verify_time) and keeps it for the
 * whole run; the platform cache inside the prepared object makes inputs that
 * keep the original PCK chain cheap. The data folder is found from $AECS_SRC,
 * else the current directory (make fuzz-smoke runs from the repo root), else
 * two levels above the executable (build-fuzz/fuzz/<stem>).
 *
 * Oracle: an input that verifies must carry everything the verifier relies
 * on unchanged from the original quote: the signed header and body, the
 * attestation key, the QE report and its authentication data, and the same
 * PCK certificates. Three differences are allowed because they verify by
 * design and change nothing attested:
 *   - PEM text that the chain reader ignores (aecs_certs_parse skips text
 *     outside the PEM blocks and trailing NULs; the quote's chain ends in a
 *     NUL byte that any other byte can replace);
 *   - an ECDSA signature (r, s) replaced by its twin (r, n - s);
 *   - a certification data type other than 5: the verifier then uses the
 *     collateral's pck_chain.pem (the same PCK chain for this set) and
 *     ignores the quote's certification data.
 * With AECS_FUZZ_STRICT=1 the oracle is byte identity instead: an input may
 * verify only if its first signed_size + 4 + sig_data_size bytes equal the
 * original's (only the ignored padding after the signature data may
 * differ). That oracle fires on the benign differences above.
 *
 * Seed: fuzz/corpus/quote_verify/ holds the set's quote.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/collateral.h"
#include "attest/dcap.h"
#include "attest/quote.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "crypto/x509.h"

#define SET_DIR "tests/data/dcap/tdx_v4_dcapqvl"

static struct aecs_dcap_prepared *g_prepared;
static uint8_t *g_quote;
static size_t g_quote_size;
static size_t g_signed_prefix; /* signed_size + 4 + sig_data_size of the original */
static int64_t g_verify_time;
static int g_strict;
static uint8_t *g_pck_chain; /* the set's pck_chain.pem, used for quotes without a type 5 chain */
static size_t g_pck_chain_size;

static void die(const char *what)
{
    const struct aecs_err_info *e = aecs_err_last();
    fprintf(stderr, "quote_verify fuzzer setup: %s: %s\n", what, e->message);
    abort();
}

static int has_set(const char *root)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s/quote.bin", root, SET_DIR);
    return aecs_file_exists(path);
}

/* The repo root: $AECS_SRC, the current directory, or two levels above the binary. */
static void find_root(char *out, size_t size)
{
    const char *env = getenv("AECS_SRC");
    char exe[4096];

    if (env != NULL && env[0] != '\0') {
        snprintf(out, size, "%s", env);
        return;
    }
    if (has_set(".")) {
        snprintf(out, size, ".");
        return;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(exe, '/');
            if (slash == NULL)
                break;
            *slash = '\0';
        }
        if (has_set(exe)) {
            snprintf(out, size, "%s", exe);
            return;
        }
    }
    snprintf(out, size, ".");
}

static void cleanup(void)
{
    aecs_dcap_prepared_free(g_prepared);
    g_prepared = NULL;
    free(g_quote);
    g_quote = NULL;
    free(g_pck_chain);
    g_pck_chain = NULL;
}

static void setup(void)
{
    char root[4096];
    char dir[4200];
    char path[4300];
    struct aecs_collateral *col = NULL;
    uint8_t *text = NULL;
    size_t text_size = 0;
    struct aecs_quote q;
    struct aecs_dcap_result *res;

    find_root(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/%s", root, SET_DIR);
    if (aecs_collateral_load_dir(dir, &col) != AECS_OK)
        die(dir);
    if (aecs_dcap_prepare(col, NULL, &g_prepared) != AECS_OK)
        die("aecs_dcap_prepare");

    snprintf(path, sizeof(path), "%s/quote.bin", dir);
    if (aecs_file_read(path, 1u << 20, &g_quote, &g_quote_size) != AECS_OK)
        die(path);
    snprintf(path, sizeof(path), "%s/pck_chain.pem", dir);
    if (aecs_file_read(path, 1u << 20, &g_pck_chain, &g_pck_chain_size) != AECS_OK)
        die(path);
    snprintf(path, sizeof(path), "%s/verify_time", dir);
    if (aecs_file_read(path, 256, &text, &text_size) != AECS_OK)
        die(path);
    while (text_size > 0 && (text[text_size - 1] == '\n' || text[text_size - 1] == '\r' ||
                             text[text_size - 1] == ' '))
        text[--text_size] = '\0';
    if (aecs_time_parse((const char *)text, &g_verify_time) != AECS_OK)
        die("verify_time");
    free(text);

    if (aecs_quote_parse(g_quote, g_quote_size, &q) != AECS_OK)
        die("quote.bin");
    g_signed_prefix = q.signed_size + 4 + q.sig_data_size;

    /* The oracle is only meaningful if the original verifies. */
    res = calloc(1, sizeof(*res));
    if (res == NULL)
        abort();
    aecs_dcap_verify(g_prepared, g_quote, g_quote_size, g_verify_time, res);
    if (!res->verified) {
        fprintf(stderr, "quote_verify fuzzer setup: the original quote does not verify: %s\n",
                res->message);
        abort();
    }
    free(res);

    const char *strict = getenv("AECS_FUZZ_STRICT");
    g_strict = strict != NULL && strcmp(strict, "1") == 0;
    atexit(cleanup);
}

/*
 * The PCK chain the verifier uses for a parsed quote: the certification data
 * of a type 5 quote, else the collateral's pck_chain.pem. Ordered leaf first.
 */
static int chain_of(const struct aecs_quote *q, struct aecs_certs **out)
{
    *out = NULL;
    if (q->cert_type == 5)
        GUARD(aecs_certs_parse(q->cert_data, q->cert_size, out));
    else
        GUARD(aecs_certs_parse(g_pck_chain, g_pck_chain_size, out));
    return aecs_certs_order_chain(*out);
}

/* Both quotes are verified with the same PCK certificates. */
static int same_chain(const struct aecs_quote *a, const struct aecs_quote *b)
{
    struct aecs_certs *ca = NULL;
    struct aecs_certs *cb = NULL;
    int same = 0;

    if (chain_of(a, &ca) == AECS_OK && chain_of(b, &cb) == AECS_OK &&
        aecs_certs_count(ca) == aecs_certs_count(cb)) {
        same = 1;
        for (size_t i = 0; i < aecs_certs_count(ca); i++)
            same &= aecs_cert_equal(aecs_certs_get(ca, i), aecs_certs_get(cb, i));
    }
    aecs_certs_free(ca);
    aecs_certs_free(cb);
    return same;
}

/* The P-256 group order n, big-endian. */
static const uint8_t k_p256_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* 1 when rs2 is rs or its ECDSA twin (r, n - s), which verifies as well. */
static int same_or_twin(const uint8_t rs[64], const uint8_t rs2[64])
{
    uint8_t neg[32];
    int borrow = 0;

    if (memcmp(rs, rs2, 64) == 0)
        return 1;
    if (memcmp(rs, rs2, 32) != 0)
        return 0;
    for (int i = 31; i >= 0; i--) {
        int d = (int)k_p256_n[i] - (int)rs[32 + i] - borrow;
        borrow = d < 0;
        neg[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    return memcmp(neg, rs2 + 32, 32) == 0;
}

/*
 * The default oracle: everything the verifier relies on is the same. The
 * signed header and body, the attestation key, the QE report and its
 * authentication data must be byte-identical; the PCK chain the verifier
 * uses must hold the same certificates (its PEM text may differ where the
 * PEM reader ignores it, and a quote whose certification type is not 5 is
 * checked with the collateral's pck_chain.pem); the two signatures may be
 * ECDSA twins.
 */
static int same_in_substance(const uint8_t *data, size_t size)
{
    struct aecs_quote a;
    struct aecs_quote b;

    if (aecs_quote_parse(g_quote, g_quote_size, &a) != AECS_OK ||
        aecs_quote_parse(data, size, &b) != AECS_OK)
        return 0;
    return a.signed_size == b.signed_size &&
           memcmp(a.signed_data, b.signed_data, a.signed_size) == 0 &&
           memcmp(a.attest_key, b.attest_key, 64) == 0 &&
           memcmp(a.qe_report_raw, b.qe_report_raw, AECS_SGX_REPORT_SIZE) == 0 &&
           a.qe_auth_size == b.qe_auth_size &&
           memcmp(a.qe_auth_data, b.qe_auth_data, a.qe_auth_size) == 0 &&
           same_or_twin(a.signature, b.signature) &&
           same_or_twin(a.qe_report_sig, b.qe_report_sig) && same_chain(&a, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct aecs_dcap_result res;

    if (g_prepared == NULL)
        setup();
    aecs_dcap_verify(g_prepared, data, size, g_verify_time, &res);
    if (!res.verified)
        return 0;

    int same = size >= g_signed_prefix && memcmp(data, g_quote, g_signed_prefix) == 0;
    if (!same && !g_strict)
        same = same_in_substance(data, size);
    if (!same) {
        fprintf(stderr,
                "quote_verify: a quote that differs from the original %s verified (size %zu, "
                "TCB status %s)\n",
                g_strict ? "in its signed prefix" : "in a verified field", size,
                res.tcb_status ? res.tcb_status : "-");
        abort();
    }
    return 0;
}
