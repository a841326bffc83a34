/*
 * attester_test.c - the evidence producers (src/attest/attester.h), each
 * against a fake of the kernel or Gramine interface it drives.
 *
 * The fake (struct fake) implements struct aecs_attester_ops in memory, under
 * the root FAKE_ROOT, the way the real interfaces behave:
 *
 *   configfs-tsm (Documentation/ABI/testing/configfs-tsm-report):
 *     ROOT/sys/kernel/config/tsm/report is a directory; mkdir makes a report
 *     entry with generation 0; `generation` counts the writes to `inblob`
 *     (at most 64 bytes) and `privlevel` (0..3, not below `privlevel_floor`);
 *     reading `outblob` makes the evidence from the entry's inblob: for the
 *     provider tdx_guest a real TDX quote of a sim with inblob as report data,
 *     for sev_guest the SNP report of tests/data/snp/snp_milan_virtee with
 *     REPORT_DATA (0x50) and VMPL (0x30) set as the firmware would; rmdir
 *     removes the entry. A "race" is another writer that writes its own
 *     inblob into the entry just before our outblob read.
 *   /dev/sev-guest (include/uapi/linux/sev-guest.h): the ioctl decodes its
 *     argument by the byte offsets of the header (msg_version at 0, req_data
 *     at 8, resp_data at 16, exitinfo2 at 24; the request user_data[64], vmpl
 *     at 64, rsvd[28]), never through the structs of the code under test, and
 *     answers a MSG_REPORT_RSP (AMD SEV-SNP ABI: STATUS at 0, REPORT_SIZE at 4,
 *     the report at 32).
 *   Gramine (/dev/attestation): user_report_data takes exactly 64 bytes,
 *     quote is a sim SGX quote over the last ones written, attestation_type
 *     is optional.
 *
 * Expected values come from the test's own requests and from the formats'
 * offsets (SGX report data at 48 + 320 of a quote, TD report data at
 * 48 + 520, SNP REPORT_DATA at 0x50, VMPL at 0x30), not from the attesters.
 * Sim evidence is also verified with the real verifier against the sim root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/attester.h"
#include "attest/collateral.h"
#include "attest/dcap.h"
#include "attest/sim.h"
#include "base/file.h"
#include "crypto/x509.h"
#include "testutil.h"

#if defined(__has_include)
#if __has_include(<linux/sev-guest.h>)
#include <linux/sev-guest.h>
#define HAVE_UAPI_SEV_GUEST 1
#endif
#endif

/* SNP_GET_REPORT from the kernel's header; without it, _IOWR('S', 0x0, 32 bytes) in the
 * generic encoding of x86 and arm64: (3 << 30) | (32 << 16) | ('S' << 8) | 0. */
#ifdef HAVE_UAPI_SEV_GUEST
#define EXPECTED_SNP_GET_REPORT ((unsigned long)SNP_GET_REPORT)
#else
#define EXPECTED_SNP_GET_REPORT 0xC0205300ul
#endif

#define FAKE_ROOT "/fake"
#define TSM_DIR "/sys/kernel/config/tsm/report"
#define QUOTE_HEADER 48
#define SGX_RD_OFFSET (QUOTE_HEADER + 320)
#define TD_RD_OFFSET (QUOTE_HEADER + 520)
#define SNP_RD_OFFSET 0x50
#define SNP_VMPL_OFFSET 0x30
#define SNP_SIZE 1184

static char g_tmp[64];  /* holds the sim of every test */
static char g_sim[128]; /* g_tmp/sim */
static uint8_t *g_snp;  /* the SNP report template */
static size_t g_snp_size;

/* ---- the fake kernel ---- */

#define MAX_ENTRIES 8

struct fake_entry {
    int used;
    char name[128];
    unsigned generation;
    uint8_t inblob[64];
    size_t inblob_size;
    unsigned privlevel;
};

struct fake {
    /* configfs-tsm */
    int tsm;
    const char *provider;
    unsigned privlevel_floor;
    int races;          /* outblob reads that another writer interferes with */
    size_t outblob_cut; /* nonzero: outblob is cut to this many bytes */
    struct fake_entry entries[MAX_ENTRIES];
    int mkdirs, rmdirs;
    char log[1024]; /* the operations on report entries, in order */
    /* /dev/sev-guest */
    int sev_guest;
    uint32_t fw_status;
    uint32_t report_size; /* 0: 1184 */
    int ioctl_errno;
    uint64_t exitinfo2;
    int ioctls;
    int bad_request; /* the request broke the ABI (see fake_ioctl) */
    unsigned long last_request;
    uint8_t last_user_data[64];
    uint32_t last_vmpl;
    /* Gramine */
    int gramine;
    const char *attestation_type; /* NULL: no such file */
    int stale_quote;              /* quote ignores user_report_data */
    uint8_t user_report_data[64];
};

static void fake_log(struct fake *f, const char *what)
{
    size_t len = strlen(f->log);
    snprintf(f->log + len, sizeof(f->log) - len, "%s;", what);
}

/* The path below FAKE_ROOT, or NULL when it is not under it. */
static const char *rel(const char *path)
{
    size_t n = strlen(FAKE_ROOT);
    return strncmp(path, FAKE_ROOT, n) == 0 && path[n] == '/' ? path + n : NULL;
}

/* For ROOT/sys/kernel/config/tsm/report/NAME[/ATTR]: the entry (or NULL) and *attr. */
static struct fake_entry *tsm_entry(struct fake *f, const char *path, const char **attr)
{
    const char *r = rel(path);
    char name[128];
    size_t n = strlen(TSM_DIR);

    *attr = NULL;
    if (!f->tsm || r == NULL || strncmp(r, TSM_DIR "/", n + 1) != 0)
        return NULL;
    r += n + 1;
    const char *slash = strchr(r, '/');
    size_t len = slash ? (size_t)(slash - r) : strlen(r);
    if (len == 0 || len >= sizeof(name))
        return NULL;
    memcpy(name, r, len);
    name[len] = '\0';
    *attr = slash ? slash + 1 : "";
    for (int i = 0; i < MAX_ENTRIES; i++) {
        if (f->entries[i].used && strcmp(f->entries[i].name, name) == 0)
            return &f->entries[i];
    }
    return NULL;
}

static int entries_in_use(const struct fake *f)
{
    int n = 0;
    for (int i = 0; i < MAX_ENTRIES; i++)
        n += f->entries[i].used;
    return n;
}

static int fake_stat(void *ctx, const char *path, int *is_dir)
{
    struct fake *f = ctx;
    const char *r = rel(path);
    const char *attr = NULL;

    *is_dir = 0;
    if (r == NULL)
        return ENOENT;
    if (f->tsm && (strcmp(r, TSM_DIR) == 0 || (tsm_entry(f, path, &attr) && attr[0] == '\0'))) {
        *is_dir = 1;
        return 0;
    }
    if (f->sev_guest && strcmp(r, "/dev/sev-guest") == 0)
        return 0;
    if (f->gramine && strcmp(r, "/dev/attestation") == 0) {
        *is_dir = 1;
        return 0;
    }
    if (f->gramine &&
        (strcmp(r, "/dev/attestation/quote") == 0 ||
         strcmp(r, "/dev/attestation/user_report_data") == 0 ||
         (strcmp(r, "/dev/attestation/attestation_type") == 0 && f->attestation_type != NULL)))
        return 0;
    return ENOENT;
}

static uint8_t *sim_quote(int tdx, const uint8_t rd[64], size_t *size)
{
    struct aecs_sim_quote_params p;
    uint8_t *q = NULL;

    memset(&p, 0, sizeof(p));
    p.tee = tdx ? AECS_SIM_TDX : AECS_SIM_SGX;
    memcpy(p.report_data, rd, 64);
    if (aecs_sim_quote(g_sim, &p, &q, size) != AECS_OK)
        return NULL;
    return q;
}

static uint8_t *snp_report(const uint8_t rd[64], uint32_t vmpl)
{
    uint8_t *r = malloc(SNP_SIZE);
    if (r == NULL)
        return NULL;
    memcpy(r, g_snp, SNP_SIZE);
    memcpy(r + SNP_RD_OFFSET, rd, 64);
    for (int i = 0; i < 4; i++)
        r[SNP_VMPL_OFFSET + i] = (uint8_t)(vmpl >> (8 * i));
    return r;
}

static int give(uint8_t *data, size_t size, size_t max, uint8_t **out, size_t *out_size)
{
    if (data == NULL)
        return EIO;
    if (size > max) {
        free(data);
        return EFBIG;
    }
    *out = data;
    *out_size = size;
    return 0;
}

static int give_text(const char *text, size_t max, uint8_t **out, size_t *out_size)
{
    return give((uint8_t *)strdup(text), strlen(text), max, out, out_size);
}

static int fake_read(void *ctx, const char *path, size_t max, uint8_t **data, size_t *size)
{
    struct fake *f = ctx;
    const char *r = rel(path);
    const char *attr = NULL;
    struct fake_entry *e = tsm_entry(f, path, &attr);
    char text[64];

    *data = NULL;
    *size = 0;
    if (e != NULL) {
        snprintf(text, sizeof(text), "read %s", attr);
        fake_log(f, text);
        if (strcmp(attr, "provider") == 0) {
            snprintf(text, sizeof(text), "%s\n", f->provider);
            return give_text(text, max, data, size);
        }
        if (strcmp(attr, "generation") == 0) {
            snprintf(text, sizeof(text), "%u\n", e->generation);
            return give_text(text, max, data, size);
        }
        if (strcmp(attr, "privlevel_floor") == 0) {
            snprintf(text, sizeof(text), "%u\n", f->privlevel_floor);
            return give_text(text, max, data, size);
        }
        if (strcmp(attr, "outblob") == 0) {
            uint8_t rd[64] = {0};
            uint8_t *blob;
            size_t blob_size = SNP_SIZE;
            if (f->races > 0) { /* another writer's inblob lands first */
                f->races--;
                memset(e->inblob, 0xee, 64);
                e->inblob_size = 64;
                e->generation++;
            }
            memcpy(rd, e->inblob, e->inblob_size);
            if (strcmp(f->provider, "tdx_guest") == 0)
                blob = sim_quote(1, rd, &blob_size);
            else
                blob = snp_report(rd, e->privlevel);
            if (f->outblob_cut != 0 && blob_size > f->outblob_cut)
                blob_size = f->outblob_cut;
            return give(blob, blob_size, max, data, size);
        }
        return strcmp(attr, "inblob") == 0 || strcmp(attr, "privlevel") == 0 ? EACCES : ENOENT;
    }
    if (r != NULL && f->gramine && strcmp(r, "/dev/attestation/quote") == 0) {
        uint8_t zero[64] = {0};
        size_t q_size = 0;
        uint8_t *q = sim_quote(0, f->stale_quote ? zero : f->user_report_data, &q_size);
        return give(q, q_size, max, data, size);
    }
    if (r != NULL && f->gramine && f->attestation_type != NULL &&
        strcmp(r, "/dev/attestation/attestation_type") == 0)
        return give_text(f->attestation_type, max, data, size);
    return ENOENT;
}

static int fake_write(void *ctx, const char *path, const uint8_t *data, size_t size)
{
    struct fake *f = ctx;
    const char *r = rel(path);
    const char *attr = NULL;
    struct fake_entry *e = tsm_entry(f, path, &attr);
    char text[64];

    if (e != NULL) {
        snprintf(text, sizeof(text), "write %s", attr);
        fake_log(f, text);
        if (strcmp(attr, "inblob") == 0) {
            if (size > 64)
                return EFBIG;
            memcpy(e->inblob, data, size);
            e->inblob_size = size;
            e->generation++;
            return 0;
        }
        if (strcmp(attr, "privlevel") == 0) {
            char buf[16] = {0};
            if (size >= sizeof(buf))
                return EINVAL;
            memcpy(buf, data, size);
            unsigned long v = strtoul(buf, NULL, 0);
            if (v > 3 || v < f->privlevel_floor)
                return EINVAL;
            e->privlevel = (unsigned)v;
            e->generation++;
            return 0;
        }
        return ENOENT;
    }
    if (r != NULL && f->gramine && strcmp(r, "/dev/attestation/user_report_data") == 0) {
        if (size != 64)
            return EINVAL;
        memcpy(f->user_report_data, data, 64);
        return 0;
    }
    return ENOENT;
}

static int fake_mkdir(void *ctx, const char *path)
{
    struct fake *f = ctx;
    const char *r = rel(path);
    const char *attr = NULL;
    size_t n = strlen(TSM_DIR);

    if (!f->tsm || r == NULL || strncmp(r, TSM_DIR "/", n + 1) != 0 || strchr(r + n + 1, '/'))
        return ENOENT;
    if (tsm_entry(f, path, &attr) != NULL)
        return EEXIST;
    for (int i = 0; i < MAX_ENTRIES; i++) {
        if (!f->entries[i].used) {
            memset(&f->entries[i], 0, sizeof(f->entries[i]));
            f->entries[i].used = 1;
            snprintf(f->entries[i].name, sizeof(f->entries[i].name), "%s", r + n + 1);
            f->mkdirs++;
            fake_log(f, "mkdir");
            return 0;
        }
    }
    return ENOSPC;
}

static int fake_rmdir(void *ctx, const char *path)
{
    struct fake *f = ctx;
    const char *attr = NULL;
    struct fake_entry *e = tsm_entry(f, path, &attr);

    if (e == NULL || attr[0] != '\0')
        return ENOENT;
    e->used = 0;
    f->rmdirs++;
    fake_log(f, "rmdir");
    return 0;
}

static uint64_t le64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The kernel's SNP_GET_REPORT, by the byte layout of the uapi header. */
static int fake_ioctl(void *ctx, const char *path, unsigned long request, void *arg)
{
    struct fake *f = ctx;
    const char *r = rel(path);
    uint8_t *io = arg;

    if (r == NULL || !f->sev_guest || strcmp(r, "/dev/sev-guest") != 0)
        return ENOENT;
    f->ioctls++;
    f->last_request = request;
    if (request != EXPECTED_SNP_GET_REPORT)
        return ENOTTY;
    if (io[0] != 1) { /* msg_version */
        f->bad_request = 1;
        return EINVAL;
    }
    const uint8_t *req = (const uint8_t *)(uintptr_t)le64_at(io + 8);
    uint8_t *resp = (uint8_t *)(uintptr_t)le64_at(io + 16);
    memcpy(f->last_user_data, req, 64);
    f->last_vmpl = (uint32_t)req[64] | (uint32_t)req[65] << 8 | (uint32_t)req[66] << 16 |
                   (uint32_t)req[67] << 24;
    for (int i = 68; i < 96; i++) {
        if (req[i] != 0) {
            f->bad_request = 1;
            return EINVAL;
        }
    }
    if (f->ioctl_errno != 0) {
        memcpy(io + 24, &f->exitinfo2, 8); /* little-endian host */
        return f->ioctl_errno;
    }
    memset(resp, 0, 4000);
    put_le32(resp, f->fw_status);
    put_le32(resp + 4, f->report_size != 0 ? f->report_size : SNP_SIZE);
    uint8_t *rep = snp_report(f->last_user_data, f->last_vmpl);
    memcpy(resp + 32, rep, SNP_SIZE);
    free(rep);
    return 0;
}

static struct aecs_attester_ops fake_ops(struct fake *f)
{
    struct aecs_attester_ops ops = {
        .ctx = f,
        .stat = fake_stat,
        .read = fake_read,
        .write = fake_write,
        .mkdir = fake_mkdir,
        .rmdir = fake_rmdir,
        .ioctl = fake_ioctl,
    };
    return ops;
}

/* ---- helpers ---- */

static void fill_rd(uint8_t rd[64], uint8_t seed)
{
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(seed + 3 * i);
}

static void config(struct aecs_attester_config *cfg, const struct aecs_attester_ops *ops)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->root = FAKE_ROOT;
    cfg->ops = ops;
}

static struct aecs_attester *open_ok(const char *name, const struct aecs_attester_config *cfg)
{
    struct aecs_attester *a = NULL;

    if (aecs_attester_open(name, cfg, &a) != AECS_OK) {
        print_error("open %s: %s\n", name, aecs_err_last()->message);
        fail();
    }
    return a;
}

static void assert_open_fails(const char *name, const struct aecs_attester_config *cfg, int code,
                              const char *text)
{
    struct aecs_attester *a = (struct aecs_attester *)&a; /* must be reset to NULL */

    int rc = aecs_attester_open(name, cfg, &a);
    if (rc != code || strstr(aecs_err_last()->message, text) == NULL) {
        print_error("open %s: expected %s with '%s', got %s: %s\n", name, aecs_err_name(code), text,
                    aecs_err_name(rc), aecs_err_last()->message);
        fail();
    }
    assert_null(a);
}

static uint8_t *evidence_ok(struct aecs_attester *a, const uint8_t rd[64], size_t *size,
                            enum aecs_evidence_kind want)
{
    uint8_t *ev = NULL;
    enum aecs_evidence_kind kind = AECS_EVIDENCE_UNKNOWN;

    if (aecs_attester_evidence(a, rd, &ev, size, &kind) != AECS_OK) {
        print_error("evidence (%s): %s\n", aecs_attester_name(a), aecs_err_last()->message);
        fail();
    }
    assert_int_equal(kind, want);
    return ev;
}

static void assert_evidence_fails(struct aecs_attester *a, const uint8_t rd[64], int code,
                                  const char *text)
{
    uint8_t *ev = (uint8_t *)&ev;
    size_t size = 1;
    enum aecs_evidence_kind kind = AECS_EVIDENCE_DCAP;

    int rc = aecs_attester_evidence(a, rd, &ev, &size, &kind);
    if (rc != code || strstr(aecs_err_last()->message, text) == NULL) {
        print_error("evidence (%s): expected %s with '%s', got %s: %s\n", aecs_attester_name(a),
                    aecs_err_name(code), text, aecs_err_name(rc), aecs_err_last()->message);
        fail();
    }
    assert_null(ev);
    assert_int_equal(size, 0);
    assert_int_equal(kind, AECS_EVIDENCE_UNKNOWN);
}

/* Verifies a sim quote with the real verifier against the sim's own root. */
static void assert_sim_verifies(const uint8_t *q, size_t size, int tdx, const uint8_t rd[64])
{
    char path[256];
    uint8_t *der = NULL;
    size_t der_size = 0;
    struct aecs_cert *root = NULL;
    struct aecs_collateral *col = NULL;
    struct aecs_dcap_prepared *prep = NULL;
    struct aecs_dcap_result *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    snprintf(path, sizeof(path), "%s/%s", g_sim, AECS_SIM_ROOT_FILE);
    assert_int_equal(aecs_file_read(path, 1u << 16, &der, &der_size), AECS_OK);
    assert_int_equal(aecs_cert_parse(der, der_size, &root), AECS_OK);
    snprintf(path, sizeof(path), "%s/%s", g_sim,
             tdx ? AECS_SIM_TDX_COLLATERAL : AECS_SIM_SGX_COLLATERAL);
    assert_int_equal(aecs_collateral_load_dir(path, &col), AECS_OK);
    assert_int_equal(aecs_dcap_prepare(col, root, &prep), AECS_OK);
    aecs_dcap_verify(prep, q, size, (int64_t)time(NULL), r);
    if (!r->verified) {
        print_error("sim evidence not verified: [%s] %s\n", r->stage ? r->stage : "-", r->message);
        fail();
    }
    assert_int_equal(r->platform, tdx ? AECS_PLATFORM_TDX : AECS_PLATFORM_SGX);
    assert_memory_equal(tdx ? r->quote.td.report_data : r->quote.sgx.report_data, rd, 64);
    aecs_dcap_prepared_free(prep);
    aecs_cert_free(root);
    free(der);
    free(r);
}

/* ---- sim ---- */

static void test_sim_sgx(void **state)
{
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.sim_dir = g_sim;
    struct aecs_attester *a = open_ok("sim", &cfg);
    assert_string_equal(aecs_attester_name(a), "sim");
    assert_true(aecs_attester_is_sim(a));
    fill_rd(rd, 1);
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_true(size > SGX_RD_OFFSET + 64);
    assert_int_equal(q[0] | q[1] << 8, 3); /* quote version 3 */
    assert_memory_equal(q + SGX_RD_OFFSET, rd, 64);
    assert_sim_verifies(q, size, 0, rd);
    free(q);
    aecs_attester_free(a);
}

static void test_sim_tdx_with_identity(void **state)
{
    struct aecs_attester_config cfg;
    struct aecs_sim_quote_params id;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    memset(&id, 0, sizeof(id));
    memset(id.mrtd, 0x33, 48);
    memset(id.report_data, 0x77, 64); /* ignored: the request's report data wins */
    cfg.sim_dir = g_sim;
    cfg.sim_tdx = 1;
    cfg.sim_identity = &id;
    struct aecs_attester *a = open_ok("sim", &cfg);
    fill_rd(rd, 2);
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_int_equal(q[0] | q[1] << 8, 4); /* quote version 4 */
    assert_memory_equal(q + TD_RD_OFFSET, rd, 64);
    /* MRTD is at 136 in a TD report 1.0 (after TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM and three 8-byte
     * fields) */
    assert_memory_equal(q + QUOTE_HEADER + 136, id.mrtd, 48);
    assert_sim_verifies(q, size, 1, rd);
    free(q);
    aecs_attester_free(a);
}

static void test_sim_from_environment(void **state)
{
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(setenv(AECS_SIM_DIR_ENV, g_sim, 1), 0);
    struct aecs_attester *a = open_ok("sim", &cfg);
    fill_rd(rd, 3);
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_memory_equal(q + SGX_RD_OFFSET, rd, 64);
    free(q);
    aecs_attester_free(a);
    /* an empty variable is no sim */
    assert_int_equal(setenv(AECS_SIM_DIR_ENV, "", 1), 0);
    assert_open_fails("sim", &cfg, AECS_E_INVALID_ARGUMENT, "no sim folder configured");
    unsetenv(AECS_SIM_DIR_ENV);
}

static void test_sim_needs_a_folder(void **state)
{
    struct aecs_attester_config cfg;
    char empty[160];

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_open_fails("sim", &cfg, AECS_E_INVALID_ARGUMENT,
                      "no sim folder configured (--sim DIR or AECS_SIM_DIR)");
    snprintf(empty, sizeof(empty), "%s/empty", g_tmp);
    assert_int_equal(mkdir(empty, 0700), 0);
    cfg.sim_dir = empty;
    assert_open_fails("sim", &cfg, AECS_E_NOT_FOUND, "run 'aecs sim init");
    rmdir(empty);
}

/* ---- configfs-tsm ---- */

static void test_tsm_tdx(void **state)
{
    struct fake f = {.tsm = 1, .provider = "tdx_guest"};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("tsm", &cfg);
    assert_string_equal(aecs_attester_name(a), "tsm");
    assert_false(aecs_attester_is_sim(a));
    fill_rd(rd, 4);
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_int_equal(q[0] | q[1] << 8, 4);
    assert_memory_equal(q + TD_RD_OFFSET, rd, 64);
    /* generation read before the first write and after the outblob; the entry removed */
    assert_string_equal(f.log, "mkdir;read provider;read generation;write inblob;read outblob;"
                               "read generation;rmdir;");
    assert_int_equal(entries_in_use(&f), 0);
    free(q);
    /* each request has its own entry */
    fill_rd(rd, 5);
    q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_memory_equal(q + TD_RD_OFFSET, rd, 64);
    assert_int_equal(f.mkdirs, 2);
    assert_int_equal(f.rmdirs, 2);
    free(q);
    aecs_attester_free(a);
    /* "configfs-tsm" names the same backend */
    a = open_ok("configfs-tsm", &cfg);
    assert_string_equal(aecs_attester_name(a), "tsm");
    aecs_attester_free(a);
}

static void test_tsm_snp_privlevel(void **state)
{
    struct fake f = {.tsm = 1, .provider = "sev_guest", .privlevel_floor = 1};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("tsm", &cfg);
    fill_rd(rd, 6);
    uint8_t *r = evidence_ok(a, rd, &size, AECS_EVIDENCE_SNP);
    assert_int_equal(size, SNP_SIZE);
    assert_memory_equal(r + SNP_RD_OFFSET, rd, 64);
    assert_string_equal(f.log, "mkdir;read provider;read generation;write inblob;read outblob;"
                               "read generation;rmdir;");
    free(r);
    aecs_attester_free(a);

    /* a VMPL: privlevel is written (a second write the generation counts) */
    f.log[0] = '\0';
    cfg.has_privlevel = 1;
    cfg.privlevel = 2;
    a = open_ok("tsm", &cfg);
    r = evidence_ok(a, rd, &size, AECS_EVIDENCE_SNP);
    assert_int_equal(r[SNP_VMPL_OFFSET], 2);
    assert_string_equal(f.log, "mkdir;read provider;read generation;write inblob;"
                               "write privlevel;read outblob;read generation;rmdir;");
    free(r);
    aecs_attester_free(a);

    /* below privlevel_floor: the kernel's EINVAL, with the floor in the message */
    cfg.privlevel = 0;
    a = open_ok("tsm", &cfg);
    assert_evidence_fails(a, rd, AECS_E_IO, "privlevel_floor: 1");
    assert_non_null(strstr(aecs_err_last()->message, "Invalid argument"));
    assert_int_equal(entries_in_use(&f), 0);
    aecs_attester_free(a);
}

static void test_tsm_privlevel_is_for_snp(void **state)
{
    struct fake f = {.tsm = 1, .provider = "tdx_guest"};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];

    (void)state;
    config(&cfg, &ops);
    cfg.has_privlevel = 1;
    cfg.privlevel = 1;
    struct aecs_attester *a = open_ok("tsm", &cfg);
    fill_rd(rd, 7);
    assert_evidence_fails(a, rd, AECS_E_INVALID_ARGUMENT, "the provider is tdx_guest");
    assert_string_equal(f.log, "mkdir;read provider;rmdir;");
    aecs_attester_free(a);
}

static void test_tsm_race_retried(void **state)
{
    struct fake f = {.tsm = 1, .provider = "tdx_guest", .races = 1};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("tsm", &cfg);
    fill_rd(rd, 8);
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    /* the first entry's outblob was for the other writer's inblob: dropped */
    assert_memory_equal(q + TD_RD_OFFSET, rd, 64);
    assert_int_equal(f.mkdirs, 2);
    assert_int_equal(f.rmdirs, 2);
    assert_int_equal(entries_in_use(&f), 0);
    free(q);
    aecs_attester_free(a);
}

static void test_tsm_race_fails(void **state)
{
    struct fake f = {.tsm = 1, .provider = "sev_guest", .races = 100};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("tsm", &cfg);
    fill_rd(rd, 9);
    assert_evidence_fails(a, rd, AECS_E_IO,
                          "generation 0 before, 2 after the read of outblob, 1 expected");
    assert_non_null(strstr(aecs_err_last()->message, "another writer"));
    assert_int_equal(f.mkdirs, AECS_TSM_TRIES);
    assert_int_equal(f.rmdirs, AECS_TSM_TRIES);
    assert_int_equal(entries_in_use(&f), 0);
    aecs_attester_free(a);
}

static void test_tsm_unknown_provider(void **state)
{
    struct fake f = {.tsm = 1, .provider = "arm_cca_guest"};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("tsm", &cfg);
    fill_rd(rd, 10);
    assert_evidence_fails(a, rd, AECS_E_UNSUPPORTED, "unknown provider 'arm_cca_guest'");
    assert_non_null(strstr(aecs_err_last()->message, FAKE_ROOT TSM_DIR "/aecs-"));
    /* nothing written, the entry removed */
    assert_string_equal(f.log, "mkdir;read provider;rmdir;");
    assert_int_equal(entries_in_use(&f), 0);
    aecs_attester_free(a);
}

static void test_tsm_short_outblob(void **state)
{
    struct fake f = {.tsm = 1, .provider = "tdx_guest", .outblob_cut = 600};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("tsm", &cfg);
    fill_rd(rd, 11);
    assert_evidence_fails(a, rd, AECS_E_TRUNCATED, "outblob (provider tdx_guest)");
    assert_int_equal(entries_in_use(&f), 0);
    /* an SNP report one byte short */
    f.provider = "sev_guest";
    f.outblob_cut = SNP_SIZE - 1;
    assert_evidence_fails(a, rd, AECS_E_TRUNCATED, "outblob (provider sev_guest)");
    assert_int_equal(entries_in_use(&f), 0);
    aecs_attester_free(a);
}

static void test_tsm_missing(void **state)
{
    struct fake f = {.tsm = 0};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;

    (void)state;
    config(&cfg, &ops);
    assert_open_fails("tsm", &cfg, AECS_E_NOT_FOUND, "configfs-tsm: no " FAKE_ROOT TSM_DIR);
    assert_non_null(strstr(aecs_err_last()->message, "Linux 6.7"));
}

/* ---- /dev/sev-guest ---- */

static void test_uapi_layout(void **state)
{
    (void)state;
    /* include/uapi/linux/sev-guest.h, by its offsets */
    assert_int_equal(sizeof(struct aecs_snp_report_req), 96);
    assert_int_equal(offsetof(struct aecs_snp_report_req, vmpl), 64);
    assert_int_equal(offsetof(struct aecs_snp_report_req, rsvd), 68);
    assert_int_equal(sizeof(struct aecs_snp_report_resp), 4000);
    assert_int_equal(offsetof(struct aecs_snp_guest_request_ioctl, msg_version), 0);
    assert_int_equal(offsetof(struct aecs_snp_guest_request_ioctl, req_data), 8);
    assert_int_equal(offsetof(struct aecs_snp_guest_request_ioctl, resp_data), 16);
    assert_int_equal(offsetof(struct aecs_snp_guest_request_ioctl, exitinfo2), 24);
    assert_int_equal(sizeof(struct aecs_snp_guest_request_ioctl), 32);
    assert_int_equal(AECS_SNP_MSG_REPORT_RSP_HEADER, 32);
#if defined(__x86_64__) || defined(__aarch64__)
    assert_int_equal(AECS_SNP_GET_REPORT, 0xC0205300ul);
#endif
#ifdef HAVE_UAPI_SEV_GUEST
    /* and against the header itself, where it is installed */
    assert_int_equal(AECS_SNP_GET_REPORT, SNP_GET_REPORT);
    assert_int_equal(sizeof(struct aecs_snp_report_req), sizeof(struct snp_report_req));
    assert_int_equal(offsetof(struct aecs_snp_report_req, vmpl),
                     offsetof(struct snp_report_req, vmpl));
    assert_int_equal(sizeof(struct aecs_snp_report_resp), sizeof(struct snp_report_resp));
    assert_int_equal(sizeof(struct aecs_snp_guest_request_ioctl),
                     sizeof(struct snp_guest_request_ioctl));
    assert_int_equal(offsetof(struct aecs_snp_guest_request_ioctl, req_data),
                     offsetof(struct snp_guest_request_ioctl, req_data));
    assert_int_equal(offsetof(struct aecs_snp_guest_request_ioctl, resp_data),
                     offsetof(struct snp_guest_request_ioctl, resp_data));
#else
    print_message("linux/sev-guest.h not installed: layout checked by offsets only\n");
#endif
}

static void test_sev_guest(void **state)
{
    struct fake f = {.sev_guest = 1};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("sev-guest", &cfg);
    assert_string_equal(aecs_attester_name(a), "sev-guest");
    fill_rd(rd, 12);
    uint8_t *r = evidence_ok(a, rd, &size, AECS_EVIDENCE_SNP);
    assert_int_equal(f.ioctls, 1);
    assert_int_equal(f.last_request, EXPECTED_SNP_GET_REPORT);
    assert_int_equal(f.bad_request, 0);
    assert_memory_equal(f.last_user_data, rd, 64);
    assert_int_equal(f.last_vmpl, 0);
    assert_int_equal(size, SNP_SIZE);
    assert_memory_equal(r + SNP_RD_OFFSET, rd, 64);
    /* the rest is the firmware's report as it came (offset 32 of the response) */
    assert_memory_equal(r + SNP_RD_OFFSET + 64, g_snp + SNP_RD_OFFSET + 64,
                        SNP_SIZE - SNP_RD_OFFSET - 64);
    free(r);
    aecs_attester_free(a);

    cfg.has_privlevel = 1;
    cfg.privlevel = 3;
    a = open_ok("sev-guest", &cfg);
    r = evidence_ok(a, rd, &size, AECS_EVIDENCE_SNP);
    assert_int_equal(f.last_vmpl, 3);
    assert_int_equal(r[SNP_VMPL_OFFSET], 3);
    free(r);
    aecs_attester_free(a);
}

static void test_sev_guest_errors(void **state)
{
    struct fake f = {.sev_guest = 1, .ioctl_errno = EIO, .exitinfo2 = (2ull << 32) | 0x16};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("sev-guest", &cfg);
    fill_rd(rd, 13);
    /* the ioctl fails: errno text and exitinfo2 split into firmware and VMM errors */
    assert_evidence_fails(a, rd, AECS_E_IO,
                          "SNP_GET_REPORT on " FAKE_ROOT "/dev/sev-guest failed: Input/output "
                          "error (firmware error 0x16, VMM error 0x2)");
    /* the firmware's MSG_REPORT_RSP says no */
    f.ioctl_errno = 0;
    f.exitinfo2 = 0;
    f.fw_status = 0x16;
    assert_evidence_fails(a, rd, AECS_E_IO, "status 0x16 (INVALID_PARAM");
    f.fw_status = 0x27;
    assert_evidence_fails(a, rd, AECS_E_IO, "refused the report request");
    /* a report of another size */
    f.fw_status = 0;
    f.report_size = 1000;
    assert_evidence_fails(a, rd, AECS_E_UNSUPPORTED, "is 1000 bytes; aecs reads 1184-byte");
    /* permission */
    f.report_size = 0;
    f.ioctl_errno = EACCES;
    assert_evidence_fails(a, rd, AECS_E_IO, "Permission denied (it needs read-write access");
    assert_int_equal(f.bad_request, 0);
    aecs_attester_free(a);
}

static void test_sev_guest_missing(void **state)
{
    struct fake f = {.sev_guest = 0};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;

    (void)state;
    config(&cfg, &ops);
    assert_open_fails("sev-guest", &cfg, AECS_E_NOT_FOUND,
                      "sev-guest: no " FAKE_ROOT "/dev/sev-guest (not an SEV-SNP guest");
}

/* The real system calls on a fake tree: a regular file is no device. */
static void test_sev_guest_regular_file(void **state)
{
    char tmp[64];
    char path[160];
    struct aecs_attester_config cfg;
    uint8_t rd[64];

    (void)state;
    tu_mkdtemp(tmp, sizeof(tmp));
    snprintf(path, sizeof(path), "%s/dev", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/dev/sev-guest", tmp);
    tu_write_file(path, "", 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.root = tmp;
    struct aecs_attester *a = open_ok("sev-guest", &cfg);
    fill_rd(rd, 14);
    assert_evidence_fails(a, rd, AECS_E_IO, "Inappropriate ioctl for device");
    assert_non_null(strstr(aecs_err_last()->message, path));
    aecs_attester_free(a);
    tu_rmtree(tmp);
}

/* ---- Gramine ---- */

static void test_gramine(void **state)
{
    struct fake f = {.gramine = 1, .attestation_type = "dcap"};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    (void)state;
    config(&cfg, &ops);
    struct aecs_attester *a = open_ok("gramine", &cfg);
    assert_string_equal(aecs_attester_name(a), "gramine");
    fill_rd(rd, 15);
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_memory_equal(f.user_report_data, rd, 64);
    assert_int_equal(q[0] | q[1] << 8, 3);
    assert_memory_equal(q + SGX_RD_OFFSET, rd, 64);
    free(q);
    aecs_attester_free(a);
    /* with a newline, and without the file (older Gramine) */
    f.attestation_type = "dcap\n";
    aecs_attester_free(open_ok("gramine", &cfg));
    f.attestation_type = NULL;
    aecs_attester_free(open_ok("gramine", &cfg));
}

static void test_gramine_errors(void **state)
{
    struct fake f = {.gramine = 1, .attestation_type = "none"};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];

    (void)state;
    config(&cfg, &ops);
    assert_open_fails("gramine", &cfg, AECS_E_UNSUPPORTED, "says 'none': aecs needs DCAP");
    f.attestation_type = "epid";
    assert_open_fails("gramine", &cfg, AECS_E_UNSUPPORTED, "says 'epid'");
    /* a quote over other report data (stale, or not ours) is refused */
    f.attestation_type = "dcap";
    f.stale_quote = 1;
    struct aecs_attester *a = open_ok("gramine", &cfg);
    fill_rd(rd, 16);
    assert_evidence_fails(a, rd, AECS_E_MISMATCH,
                          "gramine: the quote from " FAKE_ROOT "/dev/attestation/quote: its "
                          "report data is not the requested report data");
    aecs_attester_free(a);
    f.gramine = 0;
    assert_open_fails("gramine", &cfg, AECS_E_NOT_FOUND,
                      "gramine: no " FAKE_ROOT "/dev/attestation/quote (not inside a Gramine");
}

/* The real system calls on a tree of plain files laid out as Gramine's. */
static void test_gramine_plain_files(void **state)
{
    char tmp[64];
    char path[160];
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    uint8_t other[64];
    size_t size = 0;
    size_t q_size = 0;

    (void)state;
    tu_mkdtemp(tmp, sizeof(tmp));
    snprintf(path, sizeof(path), "%s/dev", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/dev/attestation", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    fill_rd(rd, 17);
    uint8_t *made = sim_quote(0, rd, &q_size);
    assert_non_null(made);
    snprintf(path, sizeof(path), "%s/dev/attestation/quote", tmp);
    tu_write_file(path, made, q_size);
    snprintf(path, sizeof(path), "%s/dev/attestation/attestation_type", tmp);
    tu_write_file(path, "dcap", 4);
    snprintf(path, sizeof(path), "%s/dev/attestation/user_report_data", tmp);
    tu_write_file(path, "", 0);

    memset(&cfg, 0, sizeof(cfg));
    cfg.root = tmp;
    struct aecs_attester *a = open_ok("gramine", &cfg);
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_int_equal(size, q_size);
    assert_memory_equal(q, made, q_size);
    free(q);
    uint8_t *written = tu_read_file(path, &size);
    assert_int_equal(size, 64);
    assert_memory_equal(written, rd, 64);
    free(written);
    /* the file's quote is for rd only */
    fill_rd(other, 18);
    assert_evidence_fails(a, other, AECS_E_MISMATCH, "not the requested report data");
    aecs_attester_free(a);
    /* the root from the environment, with a trailing slash */
    snprintf(path, sizeof(path), "%s/", tmp);
    assert_int_equal(setenv(AECS_ATTEST_ROOT_ENV, path, 1), 0);
    cfg.root = NULL;
    a = open_ok("gramine", &cfg);
    q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    free(q);
    aecs_attester_free(a);
    unsetenv(AECS_ATTEST_ROOT_ENV);
    free(made);
    tu_rmtree(tmp);
}

/* ---- bring your own quote ---- */

static void test_file(void **state)
{
    char path[160];
    char snp_path[160];
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    uint8_t other[64];
    size_t size = 0;
    size_t q_size = 0;

    (void)state;
    fill_rd(rd, 19);
    uint8_t *made = sim_quote(1, rd, &q_size);
    assert_non_null(made);
    snprintf(path, sizeof(path), "%s/quote.bin", g_tmp);
    tu_write_file(path, made, q_size);
    memset(&cfg, 0, sizeof(cfg));
    cfg.quote_file = path;
    struct aecs_attester *a = open_ok("file", &cfg);
    assert_string_equal(aecs_attester_name(a), "file");
    uint8_t *q = evidence_ok(a, rd, &size, AECS_EVIDENCE_DCAP);
    assert_int_equal(size, q_size);
    assert_memory_equal(q, made, q_size);
    free(q);
    /* made for another request: refused */
    fill_rd(other, 20);
    assert_evidence_fails(a, other, AECS_E_MISMATCH, "quote.bin: its report data is not the");
    aecs_attester_free(a);

    /* an SNP report */
    uint8_t *rep = snp_report(rd, 0);
    snprintf(snp_path, sizeof(snp_path), "%s/report.bin", g_tmp);
    tu_write_file(snp_path, rep, SNP_SIZE);
    cfg.quote_file = snp_path;
    a = open_ok("file", &cfg);
    q = evidence_ok(a, rd, &size, AECS_EVIDENCE_SNP);
    assert_memory_equal(q, rep, SNP_SIZE);
    free(q);
    assert_evidence_fails(a, other, AECS_E_MISMATCH, "report.bin");
    /* neither a quote nor a report */
    tu_write_file(snp_path, "hello, world", 12);
    assert_evidence_fails(a, rd, AECS_E_FORMAT, "neither an Intel DCAP quote nor an SEV-SNP");
    /* gone since the attester was opened */
    unlink(snp_path);
    assert_evidence_fails(a, rd, AECS_E_NOT_FOUND, "report.bin");
    aecs_attester_free(a);
    assert_open_fails("file", &cfg, AECS_E_NOT_FOUND, "file: no ");
    cfg.quote_file = NULL;
    assert_open_fails("file", &cfg, AECS_E_INVALID_ARGUMENT, "--quote-file");
    unlink(path);
    free(rep);
    free(made);
}

/* ---- auto ---- */

static void assert_auto_picks(struct fake *f, const char *sim_dir, const char *want)
{
    struct aecs_attester_ops ops = fake_ops(f);
    struct aecs_attester_config cfg;
    uint8_t rd[64];
    size_t size = 0;

    config(&cfg, &ops);
    cfg.sim_dir = sim_dir;
    struct aecs_attester *a = open_ok("auto", &cfg);
    assert_string_equal(aecs_attester_name(a), want);
    /* and it works */
    fill_rd(rd, 21);
    enum aecs_evidence_kind kind = AECS_EVIDENCE_UNKNOWN;
    uint8_t *ev = NULL;
    assert_int_equal(aecs_attester_evidence(a, rd, &ev, &size, &kind), AECS_OK);
    free(ev);
    aecs_attester_free(a);
}

static void test_auto_order(void **state)
{
    struct fake f = {.tsm = 1,
                     .provider = "tdx_guest",
                     .sev_guest = 1,
                     .gramine = 1,
                     .attestation_type = "dcap"};

    (void)state;
    /* configfs-tsm, sev-guest, gramine, then sim: each the first one present */
    assert_auto_picks(&f, NULL, "tsm");
    assert_auto_picks(&f, g_sim, "tsm"); /* a real TEE wins over a configured sim */
    f.tsm = 0;
    assert_auto_picks(&f, g_sim, "sev-guest");
    f.sev_guest = 0;
    assert_auto_picks(&f, g_sim, "gramine");
    f.gramine = 0;
    assert_auto_picks(&f, g_sim, "sim");
}

static void test_auto_never_picks_an_unconfigured_sim(void **state)
{
    struct fake f = {.tsm = 0};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;
    char empty[160];

    (void)state;
    unsetenv(AECS_SIM_DIR_ENV);
    config(&cfg, &ops);
    assert_open_fails("auto", &cfg, AECS_E_NOT_FOUND,
                      "no attester available: configfs-tsm: no " FAKE_ROOT TSM_DIR
                      "; sev-guest: no " FAKE_ROOT "/dev/sev-guest; gramine: no " FAKE_ROOT
                      "/dev/attestation/quote; sim: not configured (--sim DIR or AECS_SIM_DIR)");
    /* a sim folder that holds no sim is not a sim */
    snprintf(empty, sizeof(empty), "%s/empty", g_tmp);
    assert_int_equal(mkdir(empty, 0700), 0);
    cfg.sim_dir = empty;
    assert_open_fails("auto", &cfg, AECS_E_NOT_FOUND, "is not an initialised sim");
    rmdir(empty);
    /* AECS_SIM_DIR configures it */
    cfg.sim_dir = NULL;
    assert_int_equal(setenv(AECS_SIM_DIR_ENV, g_sim, 1), 0);
    struct aecs_attester *a = open_ok("auto", &cfg);
    assert_string_equal(aecs_attester_name(a), "sim");
    aecs_attester_free(a);
    unsetenv(AECS_SIM_DIR_ENV);
}

static void test_auto_stops_at_a_broken_tee(void **state)
{
    /* Gramine is there but attestation is off: no fallback to the sim */
    struct fake f = {.gramine = 1, .attestation_type = "none"};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;

    (void)state;
    config(&cfg, &ops);
    cfg.sim_dir = g_sim;
    assert_open_fails("auto", &cfg, AECS_E_UNSUPPORTED, "auto: gramine: ");
}

/* ---- configuration ---- */

static void test_configuration_errors(void **state)
{
    struct fake f = {.tsm = 1, .provider = "sev_guest", .sev_guest = 1, .gramine = 1};
    struct aecs_attester_ops ops = fake_ops(&f);
    struct aecs_attester_config cfg;

    (void)state;
    config(&cfg, &ops);
    assert_open_fails("tpm", &cfg, AECS_E_INVALID_ARGUMENT, "unknown attester 'tpm'");
    assert_open_fails(NULL, &cfg, AECS_E_INVALID_ARGUMENT, "no attester named");
    cfg.has_privlevel = 1;
    cfg.privlevel = 4;
    assert_open_fails("sev-guest", &cfg, AECS_E_INVALID_ARGUMENT, "must be 0 to 3, not 4");
    cfg.privlevel = 1;
    assert_open_fails("gramine", &cfg, AECS_E_INVALID_ARGUMENT, "not to gramine");
    cfg.has_privlevel = 0;
    cfg.root = "";
    assert_open_fails("tsm", &cfg, AECS_E_INVALID_ARGUMENT, "must not be empty");
}

static void test_check_evidence(void **state)
{
    uint8_t rd[64];
    uint8_t other[64];
    size_t size = 0;
    enum aecs_evidence_kind kind = AECS_EVIDENCE_UNKNOWN;

    (void)state;
    fill_rd(rd, 22);
    fill_rd(other, 23);
    uint8_t *q = sim_quote(0, rd, &size);
    assert_non_null(q);
    assert_int_equal(aecs_attester_check_evidence(q, size, rd, &kind), AECS_OK);
    assert_int_equal(kind, AECS_EVIDENCE_DCAP);
    assert_int_equal(aecs_attester_check_evidence(q, size, other, &kind), AECS_E_MISMATCH);
    assert_int_equal(kind, AECS_EVIDENCE_UNKNOWN);
    assert_int_equal(aecs_attester_check_evidence(q, 100, rd, &kind), AECS_E_TRUNCATED);
    free(q);
    uint8_t *r = snp_report(rd, 1);
    assert_int_equal(aecs_attester_check_evidence(r, SNP_SIZE, rd, &kind), AECS_OK);
    assert_int_equal(kind, AECS_EVIDENCE_SNP);
    assert_int_equal(aecs_attester_check_evidence(r, SNP_SIZE, other, &kind), AECS_E_MISMATCH);
    free(r);
    assert_int_equal(aecs_attester_check_evidence((const uint8_t *)"x", 1, rd, &kind),
                     AECS_E_FORMAT);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    char path[256];
    struct aecs_sim_options o;

    (void)state;
    unsetenv(AECS_SIM_DIR_ENV);
    unsetenv(AECS_ATTEST_ROOT_ENV);
    tu_mkdtemp(g_tmp, sizeof(g_tmp));
    snprintf(g_sim, sizeof(g_sim), "%s/sim", g_tmp);
    memset(&o, 0, sizeof(o));
    if (aecs_sim_init(g_sim, &o) != AECS_OK) {
        fprintf(stderr, "sim init: %s\n", aecs_err_last()->message);
        return -1;
    }
    tu_src_path(path, sizeof(path), "tests/data/snp/snp_milan_virtee/report.bin");
    g_snp = tu_try_read_file(path, &g_snp_size);
    return g_snp != NULL && g_snp_size == SNP_SIZE ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_snp);
    tu_rmtree(g_tmp);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_sgx),
        cmocka_unit_test(test_sim_tdx_with_identity),
        cmocka_unit_test(test_sim_from_environment),
        cmocka_unit_test(test_sim_needs_a_folder),
        cmocka_unit_test(test_tsm_tdx),
        cmocka_unit_test(test_tsm_snp_privlevel),
        cmocka_unit_test(test_tsm_privlevel_is_for_snp),
        cmocka_unit_test(test_tsm_race_retried),
        cmocka_unit_test(test_tsm_race_fails),
        cmocka_unit_test(test_tsm_unknown_provider),
        cmocka_unit_test(test_tsm_short_outblob),
        cmocka_unit_test(test_tsm_missing),
        cmocka_unit_test(test_uapi_layout),
        cmocka_unit_test(test_sev_guest),
        cmocka_unit_test(test_sev_guest_errors),
        cmocka_unit_test(test_sev_guest_missing),
        cmocka_unit_test(test_sev_guest_regular_file),
        cmocka_unit_test(test_gramine),
        cmocka_unit_test(test_gramine_errors),
        cmocka_unit_test(test_gramine_plain_files),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_auto_order),
        cmocka_unit_test(test_auto_never_picks_an_unconfigured_sim),
        cmocka_unit_test(test_auto_stops_at_a_broken_tee),
        cmocka_unit_test(test_configuration_errors),
        cmocka_unit_test(test_check_evidence),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
