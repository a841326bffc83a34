/*
 * quote_verify.c - benchmark of DCAP quote verification against the cost of
 * one raw ECDSA P-256 verify measured in the same run.
 *
 * Modes, single-threaded, on the real vectors tests/data/dcap/tdx_v4_dcapqvl
 * and sgx_v3_dcapqvl. Each mode runs for AECS_BENCH_SECONDS in total (default
 * 1.5 s), split into ROUNDS rounds that interleave all modes, so that a noisy
 * machine disturbs raw and quote figures alike; the table shows the median
 * round (and the fastest and slowest). Times are the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so ops/s is per busy core and time spent
 * descheduled is not counted (cache contention from other load still is):
 *   raw          aecs_ecdsa_verify_rs() over a 32-byte message with a prepared
 *                P-256 key (SHA-256 of the message included, as in every
 *                verify the library does).
 *   warm         aecs_dcap_verify() repeatedly on one prepared collateral
 *                (after one untimed verify, so the platform cache holds the
 *                PCK chain and QE report checks).
 *   cold         per quote: collateral parsed from memory (the files are read
 *                into buffers once at start, so no disk I/O), aecs_dcap_prepare()
 *                with Intel's pinned root, one aecs_dcap_verify(), and freeing
 *                everything. This is the figure cold_ratio uses.
 *   cold+disk    the same with aecs_collateral_load_dir() reading the files
 *                (page cache warm), as a server without a collateral cache does.
 * and, to show where cold time goes, collateral parsing alone (parse + free)
 * and parsing + prepare (+ free) without a verify.
 *
 * Every verification must give verified=1 at the set's verify_time, else the
 * program aborts. The last line is `warm_ratio=X cold_ratio=Y`: microseconds
 * per warm (cold) verification over microseconds per raw verify, for
 * tdx_v4_dcapqvl. The data is found under $AECS_SRC, else the current
 * directory, else two levels above the executable (build/bench/quote_verify).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attest/collateral.h"
#include "attest/dcap.h"
#include "base/codec.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#define MAX_FILE (4u << 20)

/* The files of one test vector, read into memory once. */
struct file_buf {
    const char *name;
    int optional;
    uint8_t *data; /* NULL when an optional file is absent */
    size_t size;
};

enum {
    F_ROOT_CRL,
    F_PCK_CRL,
    F_TCB_BODY,
    F_TCB_SIG,
    F_TCB_CHAIN,
    F_QE_BODY,
    F_QE_SIG,
    F_QE_CHAIN,
    F_PCK_CHAIN,
    F_PCK_CRL_CHAIN,
    F_COUNT
};

struct vector {
    const char *set;
    char dir[4200];
    struct file_buf files[F_COUNT];
    uint8_t *quote;
    size_t quote_size;
    int64_t at;
};

#define ROUNDS 5

static double g_seconds = 1.5;

static void die(const char *what)
{
    fprintf(stderr, "quote_verify bench: %s: %s\n", what, aecs_err_last()->message);
    exit(1);
}

/* CPU time of this thread: time the thread spends descheduled is not counted. */
static double cpu_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int has_data(const char *root)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/tests/data/dcap/tdx_v4_dcapqvl/quote.bin", root);
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
    if (has_data(".")) {
        snprintf(out, size, ".");
        return;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(exe, '/');
            if (slash != NULL)
                *slash = '\0';
        }
        if (has_data(exe)) {
            snprintf(out, size, "%s", exe);
            return;
        }
    }
    snprintf(out, size, ".");
}

static void read_in(const char *dir, const char *name, uint8_t **data, size_t *size)
{
    char path[4400];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (aecs_file_read(path, MAX_FILE, data, size) != AECS_OK)
        die(path);
}

static void vector_load(struct vector *v, const char *root, const char *set)
{
    static const char *const names[F_COUNT] = {
        [F_ROOT_CRL] = "root_ca_crl.der",
        [F_PCK_CRL] = "pck_crl.der",
        [F_TCB_BODY] = "tcb_info.body.json",
        [F_TCB_SIG] = "tcb_info.sig.hex",
        [F_TCB_CHAIN] = "tcb_info_issuer_chain.pem",
        [F_QE_BODY] = "qe_identity.body.json",
        [F_QE_SIG] = "qe_identity.sig.hex",
        [F_QE_CHAIN] = "qe_identity_issuer_chain.pem",
        [F_PCK_CHAIN] = "pck_chain.pem",
        [F_PCK_CRL_CHAIN] = "pck_crl_issuer_chain.pem",
    };
    uint8_t *text = NULL;
    size_t text_size = 0;
    char path[4400];

    memset(v, 0, sizeof(*v));
    v->set = set;
    snprintf(v->dir, sizeof(v->dir), "%s/tests/data/dcap/%s", root, set);
    for (int i = 0; i < F_COUNT; i++) {
        struct file_buf *f = &v->files[i];
        f->name = names[i];
        f->optional = i == F_PCK_CHAIN || i == F_PCK_CRL_CHAIN;
        snprintf(path, sizeof(path), "%s/%s", v->dir, f->name);
        if (f->optional && !aecs_file_exists(path))
            continue;
        read_in(v->dir, f->name, &f->data, &f->size);
    }
    read_in(v->dir, "quote.bin", &v->quote, &v->quote_size);
    read_in(v->dir, "verify_time", &text, &text_size);
    while (text_size > 0 && (text[text_size - 1] == '\n' || text[text_size - 1] == '\r' ||
                             text[text_size - 1] == ' '))
        text[--text_size] = '\0';
    if (aecs_time_parse((const char *)text, &v->at) != AECS_OK)
        die("verify_time");
    free(text);
}

static void vector_free(struct vector *v)
{
    for (int i = 0; i < F_COUNT; i++)
        free(v->files[i].data);
    free(v->quote);
}

static int parse_chain(const struct file_buf *f, struct aecs_certs **out)
{
    GUARD(aecs_certs_parse_cached(f->data, f->size, AECS_CERTS_CACHE_INSERT, out));
    return aecs_certs_order_chain(*out);
}

/* A signed document from its body and hex signature; the body is copied (the doc owns it). */
static int parse_signed(const struct file_buf *body, const struct file_buf *sig,
                        const struct file_buf *chain, struct aecs_signed_doc *doc)
{
    size_t sig_size = sig->size;

    doc->text = malloc(body->size + 1);
    ENSURE(doc->text != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(doc->text, body->data, body->size);
    doc->text[body->size] = '\0';
    doc->body = doc->text;
    doc->body_size = body->size;
    while (sig_size > 0 && (sig->data[sig_size - 1] == '\n' || sig->data[sig_size - 1] == '\r' ||
                            sig->data[sig_size - 1] == ' '))
        sig_size--;
    GUARD(aecs_hex_decode_exact((const char *)sig->data, sig_size, doc->sig, 64));
    return parse_chain(chain, &doc->issuer_chain);
}

/*
 * Collateral from the in-memory files: the same parsing aecs_collateral_load_dir
 * does, without the reads.
 */
static int collateral_from_memory(const struct vector *v, struct aecs_collateral **out)
{
    const struct file_buf *f = v->files;
    struct aecs_collateral *c = calloc(1, sizeof(*c));
    int rc = AECS_OK;

    *out = NULL;
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(aecs_crl_parse(f[F_ROOT_CRL].data, f[F_ROOT_CRL].size, &c->root_ca_crl));
    GUARD_OUT(aecs_crl_parse(f[F_PCK_CRL].data, f[F_PCK_CRL].size, &c->pck_crl));
    GUARD_OUT(parse_signed(&f[F_TCB_BODY], &f[F_TCB_SIG], &f[F_TCB_CHAIN], &c->tcb_info_doc));
    GUARD_OUT(aecs_tcb_info_parse(c->tcb_info_doc.body, c->tcb_info_doc.body_size, &c->tcb_info));
    GUARD_OUT(parse_signed(&f[F_QE_BODY], &f[F_QE_SIG], &f[F_QE_CHAIN], &c->qe_identity_doc));
    GUARD_OUT(aecs_qe_identity_parse(c->qe_identity_doc.body, c->qe_identity_doc.body_size,
                                     &c->qe_identity));
    /*
     * As a PCCS serves it: the quotes carry their PCK chain (certification data
     * type 5), so there is no pck_chain.pem to parse.
     */
    if (f[F_PCK_CRL_CHAIN].data != NULL) {
        GUARD_OUT(aecs_certs_parse_cached(f[F_PCK_CRL_CHAIN].data, f[F_PCK_CRL_CHAIN].size,
                                          AECS_CERTS_CACHE_INSERT, &c->pck_crl_chain));
        GUARD_OUT(aecs_certs_order_chain(c->pck_crl_chain));
    }
    *out = c;
    c = NULL;
out:
    aecs_collateral_free(c);
    return rc;
}

static void check_verified(const struct vector *v, const struct aecs_dcap_result *res)
{
    if (res->verified == 1)
        return;
    fprintf(stderr, "quote_verify bench: %s did not verify: stage %s, %s: %s\n", v->set,
            res->stage ? res->stage : "-", aecs_qvl_status_name(res->error), res->message);
    abort();
}

/* ---- the modes; each runs one operation per call ---- */

struct raw_ctx {
    struct aecs_pubkey *key;
    uint8_t msg[32];
    uint8_t rs[64];
};

static void op_raw(void *arg)
{
    struct raw_ctx *c = arg;

    if (aecs_ecdsa_verify_rs(c->key, AECS_SHA256, c->msg, sizeof(c->msg), c->rs, 64) != AECS_OK) {
        fprintf(stderr, "quote_verify bench: raw ECDSA verify failed\n");
        abort();
    }
}

struct quote_ctx {
    const struct vector *v;
    struct aecs_dcap_prepared *prepared; /* warm only */
    struct aecs_dcap_result res;
};

static void op_warm(void *arg)
{
    struct quote_ctx *c = arg;

    aecs_dcap_verify(c->prepared, c->v->quote, c->v->quote_size, c->v->at, &c->res);
    check_verified(c->v, &c->res);
}

static void verify_once(struct quote_ctx *c, struct aecs_collateral *col)
{
    struct aecs_dcap_prepared *p = NULL;

    if (aecs_dcap_prepare(col, NULL, &p) != AECS_OK)
        die("aecs_dcap_prepare");
    aecs_dcap_verify(p, c->v->quote, c->v->quote_size, c->v->at, &c->res);
    check_verified(c->v, &c->res);
    aecs_dcap_prepared_free(p);
}

static void op_cold(void *arg)
{
    struct quote_ctx *c = arg;
    struct aecs_collateral *col = NULL;

    if (collateral_from_memory(c->v, &col) != AECS_OK)
        die("collateral from memory");
    verify_once(c, col);
}

static void op_cold_disk(void *arg)
{
    struct quote_ctx *c = arg;
    struct aecs_collateral *col = NULL;

    if (aecs_collateral_load_dir(c->v->dir, &col) != AECS_OK)
        die(c->v->dir);
    verify_once(c, col);
}

static void op_parse(void *arg)
{
    struct quote_ctx *c = arg;
    struct aecs_collateral *col = NULL;

    if (collateral_from_memory(c->v, &col) != AECS_OK)
        die("collateral from memory");
    aecs_collateral_free(col);
}

static void op_parse_prepare(void *arg)
{
    struct quote_ctx *c = arg;
    struct aecs_collateral *col = NULL;
    struct aecs_dcap_prepared *p = NULL;

    if (collateral_from_memory(c->v, &col) != AECS_OK)
        die("collateral from memory");
    if (aecs_dcap_prepare(col, NULL, &p) != AECS_OK)
        die("aecs_dcap_prepare");
    aecs_dcap_prepared_free(p);
}

/* One row of the table: an operation and its timings over the rounds. */
struct mode {
    const char *set;
    const char *name;
    void (*op)(void *);
    void *arg;
    double us[ROUNDS]; /* microseconds per operation in each round */
    unsigned long ops;
    double median_us;
    double min_us;
    double max_us;
};

/* Runs op for about `seconds` of CPU time (and at least twice); returns CPU microseconds per call.
 */
static double run_for(struct mode *m, double seconds)
{
    unsigned long n = 0;
    unsigned long batch = 1;
    double start = cpu_now_s();
    double elapsed = 0;

    do {
        for (unsigned long i = 0; i < batch; i++)
            m->op(m->arg);
        n += batch;
        elapsed = cpu_now_s() - start;
        if (batch < 256)
            batch *= 2;
    } while (elapsed < seconds || n < 2);
    m->ops += n;
    return elapsed * 1e6 / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void summarize(struct mode *m)
{
    double sorted[ROUNDS];

    memcpy(sorted, m->us, sizeof(sorted));
    qsort(sorted, ROUNDS, sizeof(sorted[0]), cmp_double);
    m->median_us = sorted[ROUNDS / 2];
    m->min_us = sorted[0];
    m->max_us = sorted[ROUNDS - 1];
}

static void print_row(const struct mode *m, double raw_us)
{
    printf("%-16s %-12s %10.1f %10.0f %8.2f %10.1f %10.1f %8lu\n", m->set, m->name, m->median_us,
           1e6 / m->median_us, m->median_us / raw_us, m->min_us, m->max_us, m->ops);
}

/* The rows of one vector; ctx keeps a prepared collateral for the warm mode. */
static void add_set(struct mode *modes, size_t *count, struct quote_ctx *c)
{
    static const struct {
        const char *name;
        void (*op)(void *);
    } k_ops[] = {
        {"warm", op_warm},
        {"cold", op_cold},
        {"cold+disk", op_cold_disk},
        {"  parse", op_parse},
        {"  parse+prep", op_parse_prepare},
    };
    struct aecs_collateral *col = NULL;

    if (collateral_from_memory(c->v, &col) != AECS_OK)
        die("collateral from memory");
    if (aecs_dcap_prepare(col, NULL, &c->prepared) != AECS_OK)
        die("aecs_dcap_prepare");
    for (size_t i = 0; i < sizeof(k_ops) / sizeof(k_ops[0]); i++) {
        struct mode *m = &modes[(*count)++];
        memset(m, 0, sizeof(*m));
        m->set = c->v->set;
        m->name = k_ops[i].name;
        m->op = k_ops[i].op;
        m->arg = c;
    }
}

int main(void)
{
    static const char *const sets[] = {"tdx_v4_dcapqvl", "sgx_v3_dcapqvl"};
    enum { NSETS = sizeof(sets) / sizeof(sets[0]) };
    char root[4096];
    struct raw_ctx raw;
    struct aecs_privkey *priv = NULL;
    uint8_t xy[64];
    const char *env = getenv("AECS_BENCH_SECONDS");
    struct vector vectors[NSETS];
    struct quote_ctx *ctx[NSETS];
    struct mode modes[1 + NSETS * 5];
    size_t count = 0;

    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        double s = strtod(env, &end);
        if (end == env || *end != '\0' || !(s > 0) || s > 600) {
            fprintf(stderr, "quote_verify bench: AECS_BENCH_SECONDS must be in (0, 600]\n");
            return 2;
        }
        g_seconds = s;
    }
    find_root(root, sizeof(root));

    /* raw: one key pair and one signature, verified over and over */
    memset(&raw, 0, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw.msg); i++)
        raw.msg[i] = (uint8_t)(i * 7 + 1);
    if (aecs_privkey_generate_p256(&priv) != AECS_OK ||
        aecs_ecdsa_sign_p256_rs(priv, raw.msg, sizeof(raw.msg), raw.rs) != AECS_OK ||
        aecs_privkey_p256_xy(priv, xy) != AECS_OK ||
        aecs_pubkey_from_p256_xy(xy, &raw.key) != AECS_OK)
        die("P-256 key setup");
    aecs_privkey_free(priv);
    memset(&modes[0], 0, sizeof(modes[0]));
    modes[0] = (struct mode){.set = "-", .name = "raw ecdsa", .op = op_raw, .arg = &raw};
    count = 1;

    for (size_t i = 0; i < NSETS; i++) {
        vector_load(&vectors[i], root, sets[i]);
        ctx[i] = calloc(1, sizeof(*ctx[i]));
        if (ctx[i] == NULL)
            abort();
        ctx[i]->v = &vectors[i];
        add_set(modes, &count, ctx[i]);
    }

    /* One untimed call each (fills the warm platform caches), then interleaved rounds. */
    for (size_t k = 0; k < count; k++)
        modes[k].op(modes[k].arg);
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t k = 0; k < count; k++)
            modes[k].us[r] = run_for(&modes[k], g_seconds / ROUNDS);
    }
    for (size_t k = 0; k < count; k++)
        summarize(&modes[k]);

    double raw_us = modes[0].median_us;
    printf("DCAP quote verification, single-threaded: each mode runs %.2f s of CPU time in %d "
           "rounds\ninterleaved with the others (AECS_BENCH_SECONDS); figures are the median "
           "round, in thread CPU time.\n",
           g_seconds, ROUNDS);
    printf("  raw         aecs_ecdsa_verify_rs: one P-256 verify (SHA-256 of 32 bytes included)\n");
    printf("  warm        aecs_dcap_verify on prepared collateral, platform cache hot\n");
    printf("  cold        collateral parsed from memory + aecs_dcap_prepare + aecs_dcap_verify + "
           "free (no disk I/O: files read once at start)\n");
    printf("  cold+disk   the same with aecs_collateral_load_dir reading the files (page cache)\n");
    printf("  parse       part of cold: collateral parsed from memory + free\n");
    printf("  parse+prep  part of cold: parse + aecs_dcap_prepare + free, no verify\n");
    printf("Every quote verification is checked for verified=1 at the set's verify_time.\n\n");
    printf("%-16s %-12s %10s %10s %8s %10s %10s %8s\n", "set", "mode", "us/op", "ops/s/core",
           "x raw", "min us", "max us", "ops");
    for (size_t k = 0; k < count; k++)
        print_row(&modes[k], raw_us);

    const struct mode *warm = &modes[1];
    const struct mode *cold = &modes[2];
    printf("\n%s: warm %.2fx raw (target <= 2.5), cold %.2fx raw (target <= 14)\n", warm->set,
           warm->median_us / raw_us, cold->median_us / raw_us);

    for (size_t i = 0; i < NSETS; i++) {
        aecs_dcap_prepared_free(ctx[i]->prepared);
        free(ctx[i]);
        vector_free(&vectors[i]);
    }
    aecs_pubkey_free(raw.key);
    printf("warm_ratio=%.2f cold_ratio=%.2f\n", warm->median_us / raw_us, cold->median_us / raw_us);
    return 0;
}
