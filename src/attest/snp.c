/*
 * snp.c - SEV-SNP report parsing and verification; see snp.h.
 *
 * Report layout (AMD #56860, ATTESTATION_REPORT; LE integers):
 *   0x000 VERSION u32 | 0x004 GUEST_SVN u32 | 0x008 POLICY u64
 *   0x010 FAMILY_ID[16] | 0x020 IMAGE_ID[16] | 0x030 VMPL u32
 *   0x034 SIGNATURE_ALGO u32 | 0x038 CURRENT_TCB[8] | 0x040 PLATFORM_INFO u64
 *   0x048 flags u32 (AUTHOR_KEY_EN, MASK_CHIP_ID, SIGNING_KEY; 31:5 reserved)
 *   0x04C reserved u32 | 0x050 REPORT_DATA[64] | 0x090 MEASUREMENT[48]
 *   0x0C0 HOST_DATA[32] | 0x0E0 ID_KEY_DIGEST[48] | 0x110 AUTHOR_KEY_DIGEST[48]
 *   0x140 REPORT_ID[32] | 0x160 REPORT_ID_MA[32] | 0x180 REPORTED_TCB[8]
 *   0x188 v3+: CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP, reserved[21]
 *         v2:  reserved[24]
 *   0x1A0 CHIP_ID[64] | 0x1E0 COMMITTED_TCB[8]
 *   0x1E8 CURRENT_BUILD, _MINOR, _MAJOR, reserved | 0x1EC COMMITTED_BUILD, _MINOR, _MAJOR, reserved
 *   0x1F0 LAUNCH_TCB[8]
 *   0x1F8 v5: LAUNCH_MIT_VECTOR u64, 0x200 CURRENT_MIT_VECTOR u64, reserved[152]
 *         v2, v3: reserved[168]
 *   0x2A0 SIGNATURE: R[72] S[72] (little-endian), reserved[368]
 * Every reserved range must be zero; the unsigned reserved tail of the
 * signature too, so that no two different byte strings carry one signature.
 */
#include "attest/snp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/reader.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"

#define MAX_CERT_FILE (1u << 16)

/* ---- parsing ---- */

void aecs_snp_tcb_decode(const uint8_t bytes[8], int turin_layout, struct aecs_snp_tcb *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->bytes, bytes, 8);
    for (int i = 7; i >= 0; i--)
        out->raw = (out->raw << 8) | bytes[i];
    out->turin_layout = turin_layout;
    out->microcode = bytes[7];
    if (turin_layout) {
        out->fmc = bytes[0];
        out->bootloader = bytes[1];
        out->tee = bytes[2];
        out->snp = bytes[3];
    } else {
        out->bootloader = bytes[0];
        out->tee = bytes[1];
        out->snp = bytes[6];
    }
}

enum aecs_amd_product aecs_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
    if (family == 0x19 && model <= 0x0f)
        return AECS_AMD_MILAN;
    if (family == 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)))
        return AECS_AMD_GENOA;
    if (family == 0x1a && model <= 0x1f)
        return AECS_AMD_TURIN;
    return AECS_AMD_PRODUCT_UNKNOWN;
}

void aecs_snp_report_set_product(struct aecs_snp_report *r, enum aecs_amd_product product)
{
    int turin = aecs_amd_product_turin_layout(product);

    aecs_snp_tcb_decode(r->current_tcb_raw, turin, &r->current_tcb);
    aecs_snp_tcb_decode(r->reported_tcb_raw, turin, &r->reported_tcb);
    aecs_snp_tcb_decode(r->committed_tcb_raw, turin, &r->committed_tcb);
    aecs_snp_tcb_decode(r->launch_tcb_raw, turin, &r->launch_tcb);
}

const char *aecs_snp_signing_key_name(enum aecs_snp_signing_key key)
{
    switch (key) {
    case AECS_SNP_KEY_VCEK:
        return "vcek";
    case AECS_SNP_KEY_VLEK:
        return "vlek";
    case AECS_SNP_KEY_NONE:
        return "none";
    default:
        return "reserved";
    }
}

/* Reads a reserved range and fails unless every byte is zero. */
static int read_mbz(struct aecs_reader *r, const char *field, size_t n)
{
    const uint8_t *p = NULL;
    size_t at = aecs_reader_offset(r);

    GUARD(aecs_read_bytes(r, field, n, &p));
    for (size_t i = 0; i < n; i++) {
        ENSURE(p[i] == 0, AECS_E_FORMAT,
               "SNP report: reserved field '%s' (offset 0x%zx) is not zero at byte 0x%zx", field,
               at, at + i);
    }
    return AECS_OK;
}

static int parse_head(struct aecs_reader *r, struct aecs_snp_report *out)
{
    GUARD(aecs_read_u32le(r, "version", &out->version));
    ENSURE(out->version == 2 || out->version == 3 || out->version == 5, AECS_E_UNSUPPORTED,
           "SNP report: version %u is not supported (2, 3 or 5)", out->version);
    GUARD(aecs_read_u32le(r, "guest_svn", &out->guest_svn));
    GUARD(aecs_read_u64le(r, "policy", &out->policy));
    ENSURE(out->policy & AECS_SNP_POLICY_RESERVED_ONE, AECS_E_FORMAT,
           "SNP report: policy bit 17 (reserved, must be one) is zero");
    GUARD(aecs_read_copy(r, "family_id", out->family_id, 16));
    GUARD(aecs_read_copy(r, "image_id", out->image_id, 16));
    GUARD(aecs_read_u32le(r, "vmpl", &out->vmpl));
    GUARD(aecs_read_u32le(r, "signature_algo", &out->signature_algo));
    ENSURE(out->signature_algo == AECS_SNP_SIG_ECDSA_P384_SHA384, AECS_E_UNSUPPORTED,
           "SNP report: signature_algo %u is not supported (1: ECDSA P-384 with SHA-384)",
           out->signature_algo);
    GUARD(aecs_read_copy(r, "current_tcb", out->current_tcb_raw, 8));
    GUARD(aecs_read_u64le(r, "platform_info", &out->platform_info));
    GUARD(aecs_read_u32le(r, "flags", &out->flags));
    ENSURE((out->flags >> 5) == 0, AECS_E_FORMAT,
           "SNP report: reserved bits 31:5 of the flags (offset 0x48) are not zero (0x%x)",
           out->flags);
    out->author_key_en = (out->flags & 1) != 0;
    out->mask_chip_id = (out->flags & 2) != 0;
    unsigned key = (out->flags >> 2) & 7;
    ENSURE(key == AECS_SNP_KEY_VCEK || key == AECS_SNP_KEY_VLEK || key == AECS_SNP_KEY_NONE,
           AECS_E_UNSUPPORTED, "SNP report: SIGNING_KEY %u is reserved (0 VCEK, 1 VLEK, 7 none)",
           key);
    out->signing_key = (enum aecs_snp_signing_key)key;
    GUARD(read_mbz(r, "reserved0", 4));
    return AECS_OK;
}

static int parse_body(struct aecs_reader *r, struct aecs_snp_report *out)
{
    GUARD(aecs_read_copy(r, "report_data", out->report_data, 64));
    GUARD(aecs_read_copy(r, "measurement", out->measurement, 48));
    GUARD(aecs_read_copy(r, "host_data", out->host_data, 32));
    GUARD(aecs_read_copy(r, "id_key_digest", out->id_key_digest, 48));
    GUARD(aecs_read_copy(r, "author_key_digest", out->author_key_digest, 48));
    GUARD(aecs_read_copy(r, "report_id", out->report_id, 32));
    GUARD(aecs_read_copy(r, "report_id_ma", out->report_id_ma, 32));
    GUARD(aecs_read_copy(r, "reported_tcb", out->reported_tcb_raw, 8));
    if (out->version >= 3) {
        out->has_cpuid = 1;
        GUARD(aecs_read_u8(r, "cpuid_fam_id", &out->cpuid_fam_id));
        GUARD(aecs_read_u8(r, "cpuid_mod_id", &out->cpuid_mod_id));
        GUARD(aecs_read_u8(r, "cpuid_step", &out->cpuid_step));
        GUARD(read_mbz(r, "reserved1", 21));
    } else {
        GUARD(read_mbz(r, "reserved1", 24));
    }
    GUARD(aecs_read_copy(r, "chip_id", out->chip_id, 64));
    GUARD(aecs_read_copy(r, "committed_tcb", out->committed_tcb_raw, 8));
    GUARD(aecs_read_u8(r, "current_build", &out->current_build));
    GUARD(aecs_read_u8(r, "current_minor", &out->current_minor));
    GUARD(aecs_read_u8(r, "current_major", &out->current_major));
    GUARD(read_mbz(r, "reserved2", 1));
    GUARD(aecs_read_u8(r, "committed_build", &out->committed_build));
    GUARD(aecs_read_u8(r, "committed_minor", &out->committed_minor));
    GUARD(aecs_read_u8(r, "committed_major", &out->committed_major));
    GUARD(read_mbz(r, "reserved3", 1));
    GUARD(aecs_read_copy(r, "launch_tcb", out->launch_tcb_raw, 8));
    if (out->version >= 5) {
        out->has_mit_vectors = 1;
        GUARD(aecs_read_u64le(r, "launch_mit_vector", &out->launch_mit_vector));
        GUARD(aecs_read_u64le(r, "current_mit_vector", &out->current_mit_vector));
        GUARD(read_mbz(r, "reserved4", 152));
    } else {
        GUARD(read_mbz(r, "reserved4", 168));
    }
    return AECS_OK;
}

int aecs_snp_report_parse(const uint8_t *data, size_t size, struct aecs_snp_report *out)
{
    struct aecs_reader r;

    memset(out, 0, sizeof(*out));
    aecs_reader_init(&r, data, size, "SNP report");
    GUARD(parse_head(&r, out));
    GUARD(parse_body(&r, out));
    GUARD(aecs_read_copy(&r, "signature.r", out->sig_r, 72));
    GUARD(aecs_read_copy(&r, "signature.s", out->sig_s, 72));
    GUARD(read_mbz(&r, "signature.reserved", 368));
    GUARD(aecs_read_end(&r));
    memcpy(out->raw, data, AECS_SNP_REPORT_SIZE);
    if (out->has_cpuid)
        out->product = aecs_snp_product_from_cpuid(out->cpuid_fam_id, out->cpuid_mod_id);
    aecs_snp_report_set_product(out, out->product);
    return AECS_OK;
}

int aecs_snp_kds_vcek_path(const struct aecs_snp_report *r, enum aecs_amd_product product,
                           char *buf, size_t size)
{
    static const uint8_t zero[64] = {0};
    char hwid[2 * 64 + 1];
    struct aecs_snp_tcb t;
    int n;

    ENSURE(product != AECS_AMD_PRODUCT_UNKNOWN, AECS_E_INVALID_ARGUMENT,
           "KDS VCEK path: unknown product");
    ENSURE(r->signing_key == AECS_SNP_KEY_VCEK, AECS_E_INVALID_ARGUMENT,
           "KDS VCEK path: the report is not signed by a VCEK (KDS serves VLEKs to CSPs only)");
    ENSURE(!r->mask_chip_id && memcmp(r->chip_id, zero, 64) != 0, AECS_E_INVALID_ARGUMENT,
           "KDS VCEK path: CHIP_ID is masked in this report");
    int turin = aecs_amd_product_turin_layout(product);
    aecs_hex_encode(r->chip_id, turin ? 8 : 64, hwid);
    aecs_snp_tcb_decode(r->reported_tcb_raw, turin, &t);
    if (turin)
        n = snprintf(buf, size, "/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
                     aecs_amd_product_name(product), hwid, t.fmc, t.bootloader, t.tee, t.snp,
                     t.microcode);
    else
        n = snprintf(buf, size, "/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
                     aecs_amd_product_name(product), hwid, t.bootloader, t.tee, t.snp, t.microcode);
    ENSURE(n > 0 && (size_t)n < size, AECS_E_TOO_LARGE, "KDS VCEK path: buffer too small");
    return AECS_OK;
}

/* ---- collateral ---- */

/* Loads dir/name when it exists (*out stays NULL when it does not). */
static int load_cert(const char *dir, const char *name, struct aecs_cert **out)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t size = 0;
    int rc;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!aecs_file_exists(path))
        return AECS_OK;
    rc = aecs_file_read(path, MAX_CERT_FILE, &data, &size);
    if (rc == AECS_OK) {
        rc = aecs_cert_parse(data, size, out);
        if (rc != AECS_OK)
            aecs_err_prefix("%.200s: ", path);
    }
    free(data);
    return rc;
}

int aecs_snp_collateral_load_dir(const char *dir, struct aecs_snp_collateral **out)
{
    int rc = AECS_OK;
    struct aecs_snp_collateral *col = calloc(1, sizeof(*col));
    struct aecs_certs *chain = NULL;
    char path[4096];
    uint8_t *data = NULL;
    size_t size = 0;

    *out = NULL;
    ENSURE(col != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(load_cert(dir, "vcek.der", &col->vcek));
    GUARD_OUT(load_cert(dir, "vlek.der", &col->vlek));
    ENSURE_OUT(col->vcek != NULL || col->vlek != NULL, AECS_E_NOT_FOUND,
               "SNP collateral: %.200s has neither vcek.der nor vlek.der", dir);
    GUARD_OUT(load_cert(dir, "ask.pem", &col->ask));
    GUARD_OUT(load_cert(dir, "ark.pem", &col->ark));
    snprintf(path, sizeof(path), "%s/cert_chain.pem", dir);
    if ((col->ask == NULL || col->ark == NULL) && aecs_file_exists(path)) {
        GUARD_OUT(aecs_file_read(path, 2 * MAX_CERT_FILE, &data, &size));
        rc = aecs_certs_parse(data, size, &chain);
        if (rc != AECS_OK) {
            aecs_err_prefix("%.200s: ", path);
            goto out;
        }
        ENSURE_OUT(aecs_certs_count(chain) == 2, AECS_E_FORMAT,
                   "%.200s: expected 2 certificates (ASK then ARK), found %zu", path,
                   aecs_certs_count(chain));
        if (col->ask == NULL)
            col->ask = aecs_cert_ref(aecs_certs_get(chain, 0));
        if (col->ark == NULL)
            col->ark = aecs_cert_ref(aecs_certs_get(chain, 1));
    }
    *out = col;
    col = NULL;
out:
    free(data);
    aecs_certs_free(chain);
    aecs_snp_collateral_free(col);
    return rc;
}

void aecs_snp_collateral_free(struct aecs_snp_collateral *col)
{
    if (col == NULL)
        return;
    aecs_cert_free(col->vcek);
    aecs_cert_free(col->vlek);
    aecs_cert_free(col->ask);
    aecs_cert_free(col->ark);
    free(col);
}

/* ---- stage checks ---- */

static int check_link(const struct aecs_cert *cert, const struct aecs_cert *issuer,
                      const char *what)
{
    int rc = aecs_amd_check_pss_sha384(cert);

    if (rc == AECS_OK)
        rc = aecs_cert_check_issued_by(cert, issuer);
    if (rc != AECS_OK)
        aecs_err_prefix("%s: ", what);
    return rc;
}

int aecs_snp_check_chain(const struct aecs_cert *vek, const struct aecs_cert *ask,
                         const struct aecs_cert *ark)
{
    GUARD(check_link(ark, ark, "ARK (self-signed)"));
    GUARD(check_link(ask, ark, "ASK issued by the ARK"));
    GUARD(check_link(vek, ask, "VCEK/VLEK issued by the ASK"));
    return AECS_OK;
}

int aecs_snp_check_signature(const struct aecs_snp_report *r, const struct aecs_cert *vek)
{
    uint8_t rs[96];

    /* R and S are 72-byte little-endian fields; P-384 values fit in their low 48 bytes. */
    for (size_t i = 48; i < 72; i++) {
        ENSURE(r->sig_r[i] == 0 && r->sig_s[i] == 0, AECS_E_BAD_SIGNATURE,
               "SNP report signature: R or S does not fit in 384 bits");
    }
    for (size_t i = 0; i < 48; i++) {
        rs[47 - i] = r->sig_r[i];
        rs[95 - i] = r->sig_s[i];
    }
    int rc = aecs_ecdsa_verify_rs(aecs_cert_pubkey(vek), AECS_SHA384, r->raw, AECS_SNP_SIGNED_SIZE,
                                  rs, sizeof(rs));
    if (rc != AECS_OK)
        aecs_err_prefix("SNP report signature (ECDSA P-384 over bytes 0..0x29F): ");
    return rc;
}

static int check_product(const struct aecs_snp_report *r, const struct aecs_amd_vek_ext *vek)
{
    enum aecs_amd_product p = r->has_cpuid
                                  ? aecs_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id)
                                  : AECS_AMD_PRODUCT_UNKNOWN;

    ENSURE(p == AECS_AMD_PRODUCT_UNKNOWN || p == vek->product, AECS_E_MISMATCH,
           "the report's CPUID (family 0x%02x, model 0x%02x) is a %s, the VCEK/VLEK is for %s",
           r->cpuid_fam_id, r->cpuid_mod_id, aecs_amd_product_name(p),
           aecs_amd_product_name(vek->product));
    return AECS_OK;
}

static int check_chip_id(const struct aecs_snp_report *r, const struct aecs_amd_vek_ext *vek)
{
    if (vek->is_vlek || r->mask_chip_id)
        return AECS_OK; /* a VLEK names no chip; a masked CHIP_ID is zero by design */
    ENSURE(vek->hwid_size == 64 || vek->hwid_size == 8, AECS_E_MISMATCH,
           "VCEK hwID has an unexpected size (%zu)", vek->hwid_size);
    ENSURE(memcmp(r->chip_id, vek->hwid, vek->hwid_size) == 0, AECS_E_MISMATCH,
           "CHIP_ID%s does not match the VCEK's %zu-byte hwID",
           vek->hwid_size == 8 ? " (its first 8 bytes)" : "", vek->hwid_size);
    return AECS_OK;
}

int aecs_snp_check_identity(const struct aecs_snp_report *r, const struct aecs_amd_vek_ext *vek)
{
    GUARD(check_product(r, vek));
    GUARD(check_chip_id(r, vek));
    return AECS_OK;
}

int aecs_snp_check_tcb(const struct aecs_snp_report *r, const struct aecs_amd_vek_ext *vek)
{
    struct aecs_snp_tcb t;
    int turin = aecs_amd_product_turin_layout(vek->product);

    aecs_snp_tcb_decode(r->reported_tcb_raw, turin, &t);
    ENSURE(t.bootloader == vek->bl_spl, AECS_E_MISMATCH,
           "REPORTED_TCB bootloader %u != VCEK blSPL %u", t.bootloader, vek->bl_spl);
    ENSURE(t.tee == vek->tee_spl, AECS_E_MISMATCH, "REPORTED_TCB tee %u != VCEK teeSPL %u", t.tee,
           vek->tee_spl);
    ENSURE(t.snp == vek->snp_spl, AECS_E_MISMATCH, "REPORTED_TCB snp %u != VCEK snpSPL %u", t.snp,
           vek->snp_spl);
    ENSURE(t.microcode == vek->ucode_spl, AECS_E_MISMATCH,
           "REPORTED_TCB microcode %u != VCEK ucodeSPL %u", t.microcode, vek->ucode_spl);
    ENSURE(!turin || t.fmc == vek->fmc_spl, AECS_E_MISMATCH,
           "REPORTED_TCB fmc %u != VCEK fmcSPL %u", t.fmc, vek->fmc_spl);
    for (int i = 0; i < 8; i++) {
        ENSURE(r->reported_tcb_raw[i] == vek->tcb[i], AECS_E_MISMATCH,
               "REPORTED_TCB byte %d (reserved) is %u, the VCEK's SPLs make %u", i,
               r->reported_tcb_raw[i], vek->tcb[i]);
    }
    return AECS_OK;
}

/* ---- verification ---- */

const char *aecs_snp_error_name(enum aecs_snp_error e)
{
    switch (e) {
    case AECS_SNP_OK:
        return "SNP_OK";
    case AECS_SNP_REPORT_FORMAT_UNSUPPORTED:
        return "SNP_REPORT_FORMAT_UNSUPPORTED";
    case AECS_SNP_REPORT_MALFORMED:
        return "SNP_REPORT_MALFORMED";
    case AECS_SNP_VEK_MISSING:
        return "SNP_VEK_MISSING";
    case AECS_SNP_VEK_INVALID:
        return "SNP_VEK_INVALID";
    case AECS_SNP_CERT_CHAIN_ERROR:
        return "SNP_CERT_CHAIN_ERROR";
    case AECS_SNP_REPORT_INVALID_SIGNATURE:
        return "SNP_REPORT_INVALID_SIGNATURE";
    case AECS_SNP_PRODUCT_MISMATCH:
        return "SNP_PRODUCT_MISMATCH";
    case AECS_SNP_CHIP_ID_MISMATCH:
        return "SNP_CHIP_ID_MISMATCH";
    case AECS_SNP_TCB_MISMATCH:
        return "SNP_TCB_MISMATCH";
    case AECS_SNP_COLLATERAL_EXPIRED:
        return "SNP_COLLATERAL_EXPIRED";
    case AECS_SNP_INTERNAL_ERROR:
        return "SNP_INTERNAL_ERROR";
    default:
        return "SNP_INTERNAL_ERROR";
    }
}

/* Records the failing stage with the last error's message (or `msg` when given). */
static void fail(struct aecs_snp_result *res, const char *stage, enum aecs_snp_error e,
                 const char *msg)
{
    res->verified = 0;
    res->stage = stage;
    res->error = e;
    snprintf(res->message, sizeof(res->message), "%s", msg ? msg : aecs_err_last()->message);
}

static void window_add(struct aecs_snp_result *res, const struct aecs_cert *c)
{
    int64_t nb = aecs_cert_not_before(c);
    int64_t na = aecs_cert_not_after(c);

    if (nb > res->valid_from)
        res->valid_from = nb;
    if (res->valid_until == 0 || na < res->valid_until)
        res->valid_until = na;
}

/* The certificates verification uses; the pinned ones are parsed here and owned. */
struct chain_certs {
    const struct aecs_cert *vek;
    const struct aecs_cert *ask;
    struct aecs_cert *pinned_ark;
    struct aecs_cert *pinned_ask;
};

/* chain stage: picks the VEK, parses it, finds the ARK and ASK and checks the links. */
static int stage_chain(const struct aecs_snp_collateral *col, struct aecs_snp_result *res,
                       struct chain_certs *cc)
{
    const struct aecs_snp_report *r = &res->report;
    int vlek = r->signing_key == AECS_SNP_KEY_VLEK;
    char msg[256];

    cc->vek = vlek ? col->vlek : col->vcek;
    if (cc->vek == NULL) {
        snprintf(msg, sizeof(msg), "the report is signed by a %s but the collateral has no %s",
                 vlek ? "VLEK" : "VCEK", vlek ? "vlek.der" : "vcek.der");
        fail(res, "chain", AECS_SNP_VEK_MISSING, msg);
        return -1;
    }
    if (aecs_amd_vek_ext_parse(cc->vek, &res->vek) != AECS_OK) {
        fail(res, "chain", AECS_SNP_VEK_INVALID, NULL);
        return -1;
    }
    res->vek_parsed = 1;
    res->product = res->vek.product;
    if (res->vek.is_vlek != vlek) {
        snprintf(msg, sizeof(msg), "the report is signed by a %s but %s is a %s certificate",
                 vlek ? "VLEK" : "VCEK", vlek ? "vlek.der" : "vcek.der",
                 res->vek.is_vlek ? "VLEK" : "VCEK");
        fail(res, "chain", AECS_SNP_VEK_INVALID, msg);
        return -1;
    }
    if (aecs_amd_check_p384_key(cc->vek) != AECS_OK) {
        fail(res, "chain", AECS_SNP_VEK_INVALID, NULL);
        return -1;
    }
    const struct aecs_amd_root *root = aecs_amd_root_for(res->product);
    if (root == NULL ||
        aecs_cert_parse(root->ark_der, root->ark_size, &cc->pinned_ark) != AECS_OK ||
        aecs_cert_parse(root->ask_der, root->ask_size, &cc->pinned_ask) != AECS_OK) {
        fail(res, "chain", AECS_SNP_INTERNAL_ERROR, "cannot load the pinned AMD certificates");
        return -1;
    }
    cc->ask = col->ask != NULL ? col->ask : vlek ? NULL : cc->pinned_ask;
    window_add(res, cc->pinned_ark);
    window_add(res, cc->vek);
    if (cc->ask != NULL)
        window_add(res, cc->ask);
    if (col->ark != NULL && !aecs_cert_same_key_and_subject(col->ark, cc->pinned_ark)) {
        snprintf(msg, sizeof(msg), "the ARK in the collateral is not AMD's pinned ARK for %s",
                 aecs_amd_product_name(res->product));
        fail(res, "chain", AECS_SNP_CERT_CHAIN_ERROR, msg);
        return -1;
    }
    if (cc->ask == NULL) {
        fail(res, "chain", AECS_SNP_CERT_CHAIN_ERROR,
             "a VLEK needs its ASVK in the collateral (ask.pem or cert_chain.pem)");
        return -1;
    }
    aecs_cert_subject_cn(cc->pinned_ark, res->ark_cn, sizeof(res->ark_cn));
    aecs_cert_subject_cn(cc->ask, res->ask_cn, sizeof(res->ask_cn));
    if (aecs_snp_check_chain(cc->vek, cc->ask, cc->pinned_ark) != AECS_OK) {
        fail(res, "chain", AECS_SNP_CERT_CHAIN_ERROR, NULL);
        return -1;
    }
    return 0;
}

static void verify_stages(const uint8_t *report, size_t size, const struct aecs_snp_collateral *col,
                          int64_t at, struct aecs_snp_result *res, struct chain_certs *cc)
{
    char t1[32], t2[32];
    char msg[256];
    int rc = aecs_snp_report_parse(report, size, &res->report);

    if (rc != AECS_OK) {
        fail(res, "parse",
             rc == AECS_E_UNSUPPORTED ? AECS_SNP_REPORT_FORMAT_UNSUPPORTED
                                      : AECS_SNP_REPORT_MALFORMED,
             NULL);
        return;
    }
    res->report_parsed = 1;
    if (res->report.signing_key == AECS_SNP_KEY_NONE) {
        fail(res, "parse", AECS_SNP_REPORT_FORMAT_UNSUPPORTED,
             "the report is not signed (SIGNING_KEY 7)");
        return;
    }
    int chain_failed = stage_chain(col, res, cc);
    /* Reported whenever the certificates are known, even when a check failed. */
    if (res->valid_until != 0)
        res->collateral_expired = at < res->valid_from || at >= res->valid_until;
    if (chain_failed)
        return;
    aecs_snp_report_set_product(&res->report, res->product);
    if (aecs_snp_check_signature(&res->report, cc->vek) != AECS_OK) {
        fail(res, "signature", AECS_SNP_REPORT_INVALID_SIGNATURE, NULL);
        return;
    }
    if (check_product(&res->report, &res->vek) != AECS_OK) {
        fail(res, "identity", AECS_SNP_PRODUCT_MISMATCH, NULL);
        return;
    }
    if (check_chip_id(&res->report, &res->vek) != AECS_OK) {
        fail(res, "identity", AECS_SNP_CHIP_ID_MISMATCH, NULL);
        return;
    }
    if (aecs_snp_check_tcb(&res->report, &res->vek) != AECS_OK) {
        fail(res, "tcb", AECS_SNP_TCB_MISMATCH, NULL);
        return;
    }
    if (res->collateral_expired) {
        aecs_time_format(at, t1);
        aecs_time_format(at < res->valid_from ? res->valid_from : res->valid_until, t2);
        snprintf(msg, sizeof(msg), "the certificate chain is %s at %s (%s %s)",
                 at < res->valid_from ? "not yet valid" : "expired", t1,
                 at < res->valid_from ? "valid from" : "valid until", t2);
        fail(res, "expiry", AECS_SNP_COLLATERAL_EXPIRED, msg);
        return;
    }
    res->verified = 1;
    res->stage = NULL;
    res->error = AECS_SNP_OK;
}

void aecs_snp_verify(const uint8_t *report, size_t size, const struct aecs_snp_collateral *col,
                     int64_t at, struct aecs_snp_result *res)
{
    struct chain_certs cc = {0};

    memset(res, 0, sizeof(*res));
    res->valid_from = INT64_MIN;
    aecs_err_clear();
    verify_stages(report, size, col, at, res, &cc);
    if (res->valid_until == 0)
        res->valid_from = 0;
    aecs_cert_free(cc.pinned_ark);
    aecs_cert_free(cc.pinned_ask);
}
