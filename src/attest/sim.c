/*
 * sim.c - the simulated TEE: test PKI, signed collateral and quotes; see sim.h.
 *
 * The sim platform is fixed here (FMSPC, TCB components, QE identities, TDX
 * module) so that the PCK certificate made at init, the TCB Info and QE
 * Identity, and the quotes made later all agree: a quote matches exactly the
 * TCB level whose status was chosen at init. Certificates, CRLs and keys are
 * made by src/crypto/x509_build.c; the TCB Info and QE Identity bodies are
 * dumped compactly by jansson and signed over exactly the bytes written to
 * disk. Quotes are laid out as quote.c parses them (and checked by it).
 */
#include "attest/sim.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attest/collateral.h"
#include "attest/quote.h"
#include "base/codec.h"
#include "base/file.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "crypto/x509_build.h"

#define DAY_SECONDS 86400
#define YEAR_SECONDS (365 * DAY_SECONDS)
#define MAX_PATH 4096
#define MAX_CHAIN_FILE (64u << 10)
#define QE_AUTH_SIZE 32
/* The attestation key, written last by init: a folder with it holds a complete sim. */
#define SIM_MARKER "attestation.key.pem"

/* ---- the sim platform ---- */

static const uint8_t k_fmspc[6] = {0xae, 0xc5, 0x51, 0x00, 0x00, 0x00};
static const uint8_t k_pceid[2] = {0x00, 0x00};
/* SGX TCB components of the platform (also its CPUSVN) and of the lower, OutOfDate level. */
static const uint8_t k_sgx_comp[16] = {5, 5, 3, 3, 4, 1, 0, 3};
static const uint8_t k_sgx_comp_low[16] = {4, 4, 3, 3, 4, 1, 0, 3};
#define PCESVN 13
#define PCESVN_LOW 11
/* TEE_TCB_SVN of every sim TD: TDX module SVN 5, major version 1, then the TDX components. */
static const uint8_t k_tee_tcb_svn[16] = {5, 1, 2};
static const uint8_t k_tdx_comp_low[16] = {3, 1, 1};
#define MODULE_ID "TDX_01"
#define MODULE_SVN_LOW 3
#define TCB_DATE "2025-01-15T00:00:00Z"
#define TCB_DATE_LOW "2024-01-15T00:00:00Z"
#define TCB_EVAL_NUMBER 1

/* The quoting enclaves: report fields and their QE Identity. */
struct qe_desc {
    const char *id;   /* QE Identity id */
    const char *name; /* MRENCLAVE = SHA-256(name), MRSIGNER = SHA-256(name + " signer") */
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint16_t isvsvn_low;
};
static const struct qe_desc k_qe = {"QE", "aecs simulated QE", 1, 8, 6};
static const struct qe_desc k_td_qe = {"TD_QE", "aecs simulated TD QE", 2, 4, 2};
/* QE ATTRIBUTES (INIT, MODE64BIT, PROVISIONKEY; XFRM x87/SSE/AVX...) and the identity's view. */
#define QE_ATTR_FLAGS 0x15
#define QE_ATTR_XFRM 0xe7
#define QE_ID_ATTRIBUTES "11000000000000000000000000000000"
#define QE_ID_ATTRIBUTES_MASK "FBFFFFFFFFFFFFFF0000000000000000"

/* Enclave and TD attributes of sim quotes. */
#define ENCLAVE_FLAGS 0x05 /* INIT, MODE64BIT */
#define ENCLAVE_FLAG_DEBUG 0x02
#define ENCLAVE_XFRM 0xe7
#define TD_ATTR_DEBUG 0x01
#define TD_ATTR_SEPT_VE_DISABLE_BYTE3 0x10 /* bit 28, as Linux TDs set it */
static const uint8_t k_xfam[8] = {0xe7, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00};

static const char *const k_names_o = "aecs simulated TEE (not Intel)";

/* ---- small helpers ---- */

static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);

    ENSURE(n > 0 && (size_t)n < size, AECS_E_INVALID_ARGUMENT, "path too long: %.100s/%s", dir,
           name);
    return AECS_OK;
}

static int write_in(const char *dir, const char *name, const void *data, size_t size, unsigned mode)
{
    char path[MAX_PATH];

    GUARD(path_in(path, sizeof(path), dir, name));
    return aecs_file_write_atomic(path, data, size, mode);
}

static int make_dir(const char *path, unsigned mode)
{
    struct stat st;

    if (mkdir(path, (mode_t)mode) == 0)
        return AECS_OK;
    ENSURE(errno == EEXIST, AECS_E_IO, "cannot create the folder %.200s: %s", path,
           strerror(errno));
    ENSURE(stat(path, &st) == 0 && S_ISDIR(st.st_mode), AECS_E_IO,
           "%.200s exists and is not a folder", path);
    return AECS_OK;
}

static void hex_upper(const uint8_t *data, size_t size, char *out)
{
    aecs_hex_encode(data, size, out);
    for (size_t i = 0; out[i] != '\0'; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- collateral documents ---- */

/* [{"svn":N} x16] */
static json_t *components_json(const uint8_t comp[16])
{
    json_t *arr = json_array();

    for (int i = 0; arr != NULL && i < 16; i++) {
        if (json_array_append_new(arr, json_pack("{s:i}", "svn", comp[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* {"tcb":TCB,"tcbDate":..,"tcbStatus":..[,"advisoryIDs":[..]]}; takes tcb. */
static json_t *level_json(json_t *tcb, const char *date, enum aecs_tcb_status status)
{
    if (status == AECS_TCB_UP_TO_DATE)
        return json_pack("{s:o,s:s,s:s}", "tcb", tcb, "tcbDate", date, "tcbStatus",
                         aecs_tcb_status_name(status));
    return json_pack("{s:o,s:s,s:s,s:[s]}", "tcb", tcb, "tcbDate", date, "tcbStatus",
                     aecs_tcb_status_name(status), "advisoryIDs", AECS_SIM_ADVISORY);
}

static json_t *tcb_level_json(const uint8_t sgx[16], int pcesvn, const uint8_t *tdx,
                              const char *date, enum aecs_tcb_status status)
{
    json_t *tcb;

    if (tdx == NULL)
        tcb = json_pack("{s:o,s:i}", "sgxtcbcomponents", components_json(sgx), "pcesvn", pcesvn);
    else
        tcb = json_pack("{s:o,s:i,s:o}", "sgxtcbcomponents", components_json(sgx), "pcesvn", pcesvn,
                        "tdxtcbcomponents", components_json(tdx));
    return level_json(tcb, date, status);
}

static json_t *isv_level_json(int isvsvn, const char *date, enum aecs_tcb_status status)
{
    return level_json(json_pack("{s:i}", "isvsvn", isvsvn), date, status);
}

/* TCB Info v3 ("SGX" or "TDX") in Intel's field order. */
static json_t *tcb_info_json(int tdx, const char *issue, const char *next,
                             enum aecs_tcb_status status)
{
    char fmspc[13];
    char pceid[5];
    char zeros48[97];
    uint8_t zero[48] = {0};
    json_t *levels;

    hex_upper(k_fmspc, 6, fmspc);
    hex_upper(k_pceid, 2, pceid);
    hex_upper(zero, 48, zeros48);
    levels = json_pack(
        "[o,o]", tcb_level_json(k_sgx_comp, PCESVN, tdx ? k_tee_tcb_svn : NULL, TCB_DATE, status),
        tcb_level_json(k_sgx_comp_low, PCESVN_LOW, tdx ? k_tdx_comp_low : NULL, TCB_DATE_LOW,
                       AECS_TCB_OUT_OF_DATE));
    if (!tdx)
        return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:i,s:o}", "id", "SGX", "version", 3,
                         "issueDate", issue, "nextUpdate", next, "fmspc", fmspc, "pceId", pceid,
                         "tcbType", 0, "tcbEvaluationDataNumber", TCB_EVAL_NUMBER, "tcbLevels",
                         levels);
    /* The module signer is all zero, as for Intel's own TDX modules. */
    json_t *module = json_pack("{s:s,s:s,s:s}", "mrsigner", zeros48, "attributes",
                               "0000000000000000", "attributesMask", "FFFFFFFFFFFFFFFF");
    json_t *identities =
        json_pack("[{s:s,s:s,s:s,s:s,s:[o,o]}]", "id", MODULE_ID, "mrsigner", zeros48, "attributes",
                  "0000000000000000", "attributesMask", "FFFFFFFFFFFFFFFF", "tcbLevels",
                  isv_level_json(k_tee_tcb_svn[0], TCB_DATE, AECS_TCB_UP_TO_DATE),
                  isv_level_json(MODULE_SVN_LOW, TCB_DATE_LOW, AECS_TCB_OUT_OF_DATE));
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:i,s:o,s:o,s:o}", "id", "TDX", "version", 3,
                     "issueDate", issue, "nextUpdate", next, "fmspc", fmspc, "pceId", pceid,
                     "tcbType", 0, "tcbEvaluationDataNumber", TCB_EVAL_NUMBER, "tdxModule", module,
                     "tdxModuleIdentities", identities, "tcbLevels", levels);
}

static void qe_measurements(const struct qe_desc *qe, uint8_t mrenclave[32], uint8_t mrsigner[32])
{
    char text[96];

    snprintf(text, sizeof(text), "%s signer", qe->name);
    aecs_sha256(qe->name, strlen(qe->name), mrenclave);
    aecs_sha256(text, strlen(text), mrsigner);
}

static json_t *qe_identity_json(const struct qe_desc *qe, const char *issue, const char *next)
{
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    char signer[65];

    qe_measurements(qe, mrenclave, mrsigner);
    hex_upper(mrsigner, 32, signer);
    return json_pack("{s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:i,s:[o,o]}", "id", qe->id,
                     "version", 2, "issueDate", issue, "nextUpdate", next,
                     "tcbEvaluationDataNumber", TCB_EVAL_NUMBER, "miscselect", "00000000",
                     "miscselectMask", "FFFFFFFF", "attributes", QE_ID_ATTRIBUTES, "attributesMask",
                     QE_ID_ATTRIBUTES_MASK, "mrsigner", signer, "isvprodid", qe->isvprodid,
                     "tcbLevels", isv_level_json(qe->isvsvn, TCB_DATE, AECS_TCB_UP_TO_DATE),
                     isv_level_json(qe->isvsvn_low, TCB_DATE_LOW, AECS_TCB_OUT_OF_DATE));
}

/* Writes <stem>.body.json (compact, exactly the signed bytes) and <stem>.sig.hex (r||s). */
static int write_signed(const char *dir, const char *stem, json_t *doc,
                        const struct aecs_privkey *key)
{
    int rc = AECS_OK;
    char *body = NULL;
    char name[64];
    uint8_t rs[64];
    char sig[130];

    ENSURE(doc != NULL, AECS_E_NO_MEMORY, "sim: cannot build the %s document", stem);
    body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    ENSURE(body != NULL, AECS_E_NO_MEMORY, "sim: cannot serialise the %s document", stem);
    GUARD_OUT(aecs_ecdsa_sign_p256_rs(key, body, strlen(body), rs));
    aecs_hex_encode(rs, 64, sig);
    sig[128] = '\n';
    sig[129] = '\0';
    snprintf(name, sizeof(name), "%s.body.json", stem);
    GUARD_OUT(write_in(dir, name, body, strlen(body), 0644));
    snprintf(name, sizeof(name), "%s.sig.hex", stem);
    GUARD_OUT(write_in(dir, name, sig, 129, 0644));
out:
    free(body);
    return rc;
}

/* ---- init ---- */

struct sim_pki {
    struct aecs_privkey *root_key;
    struct aecs_privkey *ca_key;
    struct aecs_privkey *pck_key;
    struct aecs_privkey *tcb_key;
    struct aecs_privkey *att_key;
    struct aecs_cert *root;
    struct aecs_cert *ca;
    struct aecs_cert *pck;
    struct aecs_cert *tcb;
    uint8_t *root_crl;
    size_t root_crl_size;
    uint8_t *pck_crl;
    size_t pck_crl_size;
    char *pck_chain; /* PCK, PCK CA, root */
    size_t pck_chain_size;
    char *ca_chain; /* PCK CA, root */
    size_t ca_chain_size;
    char *tcb_chain; /* TCB signing, root */
    size_t tcb_chain_size;
};

static void pki_free(struct sim_pki *k)
{
    aecs_privkey_free(k->root_key);
    aecs_privkey_free(k->ca_key);
    aecs_privkey_free(k->pck_key);
    aecs_privkey_free(k->tcb_key);
    aecs_privkey_free(k->att_key);
    aecs_cert_free(k->root);
    aecs_cert_free(k->ca);
    aecs_cert_free(k->pck);
    aecs_cert_free(k->tcb);
    free(k->root_crl);
    free(k->pck_crl);
    free(k->pck_chain);
    free(k->ca_chain);
    free(k->tcb_chain);
    memset(k, 0, sizeof(*k));
}

/* The PEM of certs, one after the other, in a fresh NUL-terminated buffer. */
static int pem_chain(const struct aecs_cert *const *certs, size_t count, char **out, size_t *size)
{
    int rc = AECS_OK;
    char *all = NULL;
    char *pem = NULL;
    size_t total = 0;

    *out = NULL;
    *size = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = 0;
        GUARD_OUT(aecs_cert_to_pem(certs[i], &pem, &n));
        char *grown = realloc(all, total + n + 1);
        ENSURE_OUT(grown != NULL, AECS_E_NO_MEMORY, "out of memory");
        all = grown;
        memcpy(all + total, pem, n + 1);
        total += n;
        free(pem);
        pem = NULL;
    }
    *out = all;
    *size = total;
    all = NULL;
out:
    free(pem);
    free(all);
    return rc;
}

static int make_pki(struct sim_pki *k, const struct aecs_sim_options *o, int64_t now, int64_t next)
{
    struct aecs_sgx_ext ext;

    GUARD(aecs_privkey_generate_p256(&k->root_key));
    GUARD(aecs_privkey_generate_p256(&k->ca_key));
    GUARD(aecs_privkey_generate_p256(&k->pck_key));
    GUARD(aecs_privkey_generate_p256(&k->tcb_key));
    GUARD(aecs_privkey_generate_p256(&k->att_key));

    const struct aecs_cert_template root = {
        .subject_cn = "aecs simulated SGX Root CA",
        .subject_o = k_names_o,
        .subject_key = k->root_key,
        .not_before = now,
        .not_after = now + 30 * (int64_t)YEAR_SECONDS,
        .ca = 1,
        .path_len = 1,
        .key_usage = AECS_KU_CERT_SIGN | AECS_KU_CRL_SIGN,
    };
    GUARD(aecs_cert_build(&root, &k->root));
    const struct aecs_cert_template ca = {
        .subject_cn = "aecs simulated SGX PCK Processor CA",
        .subject_o = k_names_o,
        .subject_key = k->ca_key,
        .issuer = k->root,
        .issuer_key = k->root_key,
        .not_before = now,
        .not_after = now + 25 * (int64_t)YEAR_SECONDS,
        .ca = 1,
        .path_len = 0,
        .key_usage = AECS_KU_CERT_SIGN | AECS_KU_CRL_SIGN,
    };
    GUARD(aecs_cert_build(&ca, &k->ca));

    memset(&ext, 0, sizeof(ext));
    GUARD(aecs_random_bytes(ext.ppid, sizeof(ext.ppid)));
    memcpy(ext.tcb_comp, k_sgx_comp, 16);
    ext.pcesvn = PCESVN;
    memcpy(ext.cpusvn, k_sgx_comp, 16);
    memcpy(ext.pceid, k_pceid, 2);
    memcpy(ext.fmspc, k_fmspc, 6);
    ext.sgx_type = 0; /* Standard */
    ext.dynamic_platform = ext.cached_keys = ext.smt_enabled = -1;
    const struct aecs_cert_template pck = {
        .subject_cn = "aecs simulated SGX PCK Certificate",
        .subject_o = k_names_o,
        .subject_key = k->pck_key,
        .issuer = k->ca,
        .issuer_key = k->ca_key,
        .not_before = now,
        .not_after = now + 20 * (int64_t)YEAR_SECONDS,
        .path_len = -1,
        .key_usage = AECS_KU_DIGITAL_SIGNATURE | AECS_KU_NON_REPUDIATION,
        .sgx_ext = &ext,
    };
    GUARD(aecs_cert_build(&pck, &k->pck));
    const struct aecs_cert_template tcb = {
        .subject_cn = "aecs simulated SGX TCB Signing",
        .subject_o = k_names_o,
        .subject_key = k->tcb_key,
        .issuer = k->root,
        .issuer_key = k->root_key,
        .not_before = now,
        .not_after = now + 20 * (int64_t)YEAR_SECONDS,
        .path_len = -1,
        .key_usage = AECS_KU_DIGITAL_SIGNATURE | AECS_KU_NON_REPUDIATION,
    };
    GUARD(aecs_cert_build(&tcb, &k->tcb));

    const struct aecs_crl_template root_crl = {
        .issuer = k->root,
        .issuer_key = k->root_key,
        .this_update = now,
        .next_update = next,
        .number = 1,
    };
    GUARD(aecs_crl_build(&root_crl, &k->root_crl, &k->root_crl_size));
    const struct aecs_cert *const revoked[] = {k->pck};
    const struct aecs_crl_template pck_crl = {
        .issuer = k->ca,
        .issuer_key = k->ca_key,
        .this_update = now,
        .next_update = next,
        .number = 1,
        .revoked = revoked,
        .revoked_count = o->revoke_pck ? 1 : 0,
    };
    GUARD(aecs_crl_build(&pck_crl, &k->pck_crl, &k->pck_crl_size));

    const struct aecs_cert *const pck_chain[] = {k->pck, k->ca, k->root};
    const struct aecs_cert *const ca_chain[] = {k->ca, k->root};
    const struct aecs_cert *const tcb_chain[] = {k->tcb, k->root};
    GUARD(pem_chain(pck_chain, 3, &k->pck_chain, &k->pck_chain_size));
    GUARD(pem_chain(ca_chain, 2, &k->ca_chain, &k->ca_chain_size));
    GUARD(pem_chain(tcb_chain, 2, &k->tcb_chain, &k->tcb_chain_size));
    return AECS_OK;
}

/* One collateral folder: the shared CRLs and chains, and the TEE's TCB Info and QE Identity. */
static int write_collateral(const char *dir, int tdx, const struct sim_pki *k, int64_t now,
                            int64_t next, enum aecs_tcb_status status)
{
    char issue[32];
    char until[32];

    aecs_time_format(now, issue);
    aecs_time_format(next, until);
    GUARD(make_dir(dir, 0755));
    GUARD(write_in(dir, "root_ca_crl.der", k->root_crl, k->root_crl_size, 0644));
    GUARD(write_in(dir, "pck_crl.der", k->pck_crl, k->pck_crl_size, 0644));
    GUARD(write_in(dir, "pck_crl_issuer_chain.pem", k->ca_chain, k->ca_chain_size, 0644));
    GUARD(write_in(dir, "tcb_info_issuer_chain.pem", k->tcb_chain, k->tcb_chain_size, 0644));
    GUARD(write_in(dir, "qe_identity_issuer_chain.pem", k->tcb_chain, k->tcb_chain_size, 0644));
    GUARD(write_signed(dir, "tcb_info", tcb_info_json(tdx, issue, until, status), k->tcb_key));
    return write_signed(dir, "qe_identity", qe_identity_json(tdx ? &k_td_qe : &k_qe, issue, until),
                        k->tcb_key);
}

static int write_key(const char *dir, const char *name, const struct aecs_privkey *key)
{
    char path[MAX_PATH];

    GUARD(path_in(path, sizeof(path), dir, name));
    return aecs_privkey_save_pem(key, path);
}

static int write_qe_signatures(const char *dir, const struct sim_pki *k);

int aecs_sim_init(const char *dir, const struct aecs_sim_options *opts)
{
    static const struct aecs_sim_options defaults = {0};
    const struct aecs_sim_options *o = opts != NULL ? opts : &defaults;
    int rc = AECS_OK;
    struct sim_pki k;
    char path[MAX_PATH];
    const char *status_name = o->tcb_status != NULL ? o->tcb_status : "UpToDate";
    int status = aecs_tcb_status_parse(status_name);
    int days = o->validity_days != 0 ? o->validity_days : AECS_SIM_DEFAULT_VALIDITY_DAYS;
    int64_t now = o->now != 0 ? o->now : aecs_time_now();
    int64_t next = now + (int64_t)days * DAY_SECONDS;
    size_t der_size = 0;
    const uint8_t *der;

    memset(&k, 0, sizeof(k));
    ENSURE(status >= 0, AECS_E_INVALID_ARGUMENT,
           "unknown TCB status '%.40s': use one of Intel's UpToDate, SWHardeningNeeded, "
           "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
           "OutOfDateConfigurationNeeded, Revoked",
           status_name);
    ENSURE(days >= 1 && days <= AECS_SIM_MAX_VALIDITY_DAYS, AECS_E_INVALID_ARGUMENT,
           "collateral validity must be 1 to %d days, not %d", AECS_SIM_MAX_VALIDITY_DAYS, days);
    GUARD(make_dir(dir, 0700));
    GUARD(path_in(path, sizeof(path), dir, SIM_MARKER));
    ENSURE(o->force || !aecs_file_exists(path), AECS_E_INVALID_ARGUMENT,
           "%.200s already holds a sim (%s); replace it with --force, or use another folder", dir,
           SIM_MARKER);

    GUARD_OUT(make_pki(&k, o, now, next));
    GUARD_OUT(path_in(path, sizeof(path), dir, AECS_SIM_SGX_COLLATERAL));
    GUARD_OUT(write_collateral(path, 0, &k, now, next, (enum aecs_tcb_status)status));
    GUARD_OUT(path_in(path, sizeof(path), dir, AECS_SIM_TDX_COLLATERAL));
    GUARD_OUT(write_collateral(path, 1, &k, now, next, (enum aecs_tcb_status)status));
    GUARD_OUT(write_in(dir, "pck_chain.pem", k.pck_chain, k.pck_chain_size, 0644));
    der = aecs_cert_der(k.root, &der_size);
    GUARD_OUT(write_in(dir, AECS_SIM_ROOT_FILE, der, der_size, 0644));
    GUARD_OUT(write_key(dir, "root_ca.key.pem", k.root_key));
    GUARD_OUT(write_key(dir, "pck_ca.key.pem", k.ca_key));
    GUARD_OUT(write_key(dir, "tcb_signing.key.pem", k.tcb_key));
    GUARD_OUT(write_key(dir, "pck.key.pem", k.pck_key));
    GUARD_OUT(write_qe_signatures(dir, &k));
    /* Last: its presence is what makes the folder an initialised sim. */
    GUARD_OUT(write_key(dir, SIM_MARKER, k.att_key));
out:
    pki_free(&k);
    if (rc != AECS_OK)
        aecs_err_prefix("sim init: ");
    return rc;
}

/* ---- quotes ---- */

static void sgx_report_encode(const struct aecs_sgx_report *r, uint8_t out[AECS_SGX_REPORT_SIZE])
{
    memset(out, 0, AECS_SGX_REPORT_SIZE);
    memcpy(out, r->cpusvn, 16);
    put_le32(out + 16, r->miscselect);
    memcpy(out + 32, r->isv_ext_prod_id, 16);
    memcpy(out + 48, r->attributes, 16);
    memcpy(out + 64, r->mrenclave, 32);
    memcpy(out + 128, r->mrsigner, 32);
    memcpy(out + 192, r->config_id, 64);
    put_le16(out + 256, r->isvprodid);
    put_le16(out + 258, r->isvsvn);
    put_le16(out + 260, r->config_svn);
    memcpy(out + 304, r->isv_family_id, 16);
    memcpy(out + 320, r->report_data, 64);
}

static void td_report_encode(const struct aecs_td_report *t, uint8_t out[AECS_TD10_REPORT_SIZE])
{
    memcpy(out, t->tee_tcb_svn, 16);
    memcpy(out + 16, t->mrseam, 48);
    memcpy(out + 64, t->mrsignerseam, 48);
    memcpy(out + 112, t->seam_attributes, 8);
    memcpy(out + 120, t->td_attributes, 8);
    memcpy(out + 128, t->xfam, 8);
    memcpy(out + 136, t->mrtd, 48);
    memcpy(out + 184, t->mrconfigid, 48);
    memcpy(out + 232, t->mrowner, 48);
    memcpy(out + 280, t->mrownerconfig, 48);
    for (int i = 0; i < 4; i++)
        memcpy(out + 328 + 48 * i, t->rtmr[i], 48);
    memcpy(out + 520, t->report_data, 64);
}

static void app_body(const struct aecs_sim_quote_params *p, uint8_t *body)
{
    if (p->tee == AECS_SIM_SGX) {
        struct aecs_sgx_report r;
        memset(&r, 0, sizeof(r));
        memcpy(r.cpusvn, k_sgx_comp, 16);
        r.attributes[0] = (uint8_t)(ENCLAVE_FLAGS | (p->debug ? ENCLAVE_FLAG_DEBUG : 0));
        r.attributes[8] = ENCLAVE_XFRM;
        memcpy(r.mrenclave, p->mrenclave, 32);
        memcpy(r.mrsigner, p->mrsigner, 32);
        r.isvprodid = p->isvprodid;
        r.isvsvn = p->isvsvn;
        memcpy(r.report_data, p->report_data, 64);
        sgx_report_encode(&r, body);
        return;
    }
    static const char seam[] = "aecs simulated TDX module";
    struct aecs_td_report t;
    memset(&t, 0, sizeof(t));
    memcpy(t.tee_tcb_svn, k_tee_tcb_svn, 16);
    aecs_sha384(seam, strlen(seam), t.mrseam);
    /* mrsignerseam and seam_attributes stay zero: the TCB Info's module identity says so. */
    t.td_attributes[0] = p->debug ? TD_ATTR_DEBUG : 0;
    t.td_attributes[3] = TD_ATTR_SEPT_VE_DISABLE_BYTE3;
    memcpy(t.xfam, k_xfam, 8);
    memcpy(t.mrtd, p->mrtd, 48);
    memcpy(t.mrconfigid, p->mrconfigid, 48);
    memcpy(t.mrowner, p->mrowner, 48);
    memcpy(t.rtmr, p->rtmr, sizeof(t.rtmr));
    memcpy(t.report_data, p->report_data, 64);
    td_report_encode(&t, body);
}

/* The QE report that certifies the attestation key (report data binds key and auth data). */
static void qe_report(const struct qe_desc *qe, const uint8_t att_xy[64],
                      const uint8_t auth[QE_AUTH_SIZE], uint8_t out[AECS_SGX_REPORT_SIZE])
{
    struct aecs_sgx_report r;
    uint8_t bound[64 + QE_AUTH_SIZE];

    memset(&r, 0, sizeof(r));
    memcpy(r.cpusvn, k_sgx_comp, 16);
    r.attributes[0] = QE_ATTR_FLAGS;
    r.attributes[8] = QE_ATTR_XFRM;
    qe_measurements(qe, r.mrenclave, r.mrsigner);
    r.isvprodid = qe->isvprodid;
    r.isvsvn = qe->isvsvn;
    memcpy(bound, att_xy, 64);
    memcpy(bound + 64, auth, QE_AUTH_SIZE);
    aecs_sha256(bound, sizeof(bound), r.report_data); /* bytes 32..63 stay zero */
    sgx_report_encode(&r, out);
}

struct sim_quote_keys {
    struct aecs_privkey *att;
    struct aecs_privkey *pck;
    uint8_t *chain;
    size_t chain_size;
};

static int load_quote_keys(const char *dir, struct sim_quote_keys *k)
{
    char path[MAX_PATH];
    int rc;

    GUARD(path_in(path, sizeof(path), dir, SIM_MARKER));
    ENSURE(aecs_file_exists(path), AECS_E_NOT_FOUND,
           "%.200s is not an initialised sim (no %s): run 'aecs sim init %.200s' first", dir,
           SIM_MARKER, dir);
    GUARD(aecs_privkey_load_pem(path, &k->att));
    GUARD(path_in(path, sizeof(path), dir, "pck.key.pem"));
    GUARD(aecs_privkey_load_pem(path, &k->pck));
    GUARD(path_in(path, sizeof(path), dir, "pck_chain.pem"));
    rc = aecs_file_read(path, MAX_CHAIN_FILE, &k->chain, &k->chain_size);
    return rc;
}

/*
 * The PCK's signature over a QE report. Real hardware certifies its
 * attestation key once, so every quote of a platform carries the same QE
 * report and signature, which is what verifiers cache; `aecs sim init` signs
 * both reports once and keeps the signatures (qe_report_{sgx,tdx}.sig, r||s),
 * and quotes reuse them. A sim made before that file existed signs each time.
 */
#define QE_SIG_SGX "qe_report_sgx.sig"
#define QE_SIG_TDX "qe_report_tdx.sig"

static int qe_signature(const char *dir, int tdx, const struct aecs_privkey *pck,
                        const uint8_t report[AECS_SGX_REPORT_SIZE], uint8_t rs[64])
{
    char path[MAX_PATH];
    uint8_t *data = NULL;
    size_t size = 0;

    GUARD(path_in(path, sizeof(path), dir, tdx ? QE_SIG_TDX : QE_SIG_SGX));
    if (aecs_file_exists(path) && aecs_file_read(path, 64, &data, &size) == AECS_OK &&
        size == 64) {
        memcpy(rs, data, 64);
        free(data);
        return AECS_OK;
    }
    free(data);
    aecs_err_clear();
    return aecs_ecdsa_sign_p256_rs(pck, report, AECS_SGX_REPORT_SIZE, rs);
}

static int write_qe_signatures(const char *dir, const struct sim_pki *k)
{
    uint8_t att_xy[64], auth[QE_AUTH_SIZE], report[AECS_SGX_REPORT_SIZE], rs[64];

    GUARD(aecs_privkey_p256_xy(k->att_key, att_xy));
    for (int i = 0; i < QE_AUTH_SIZE; i++)
        auth[i] = (uint8_t)i;
    for (int tdx = 0; tdx <= 1; tdx++) {
        qe_report(tdx ? &k_td_qe : &k_qe, att_xy, auth, report);
        GUARD(aecs_ecdsa_sign_p256_rs(k->pck_key, report, sizeof(report), rs));
        GUARD(write_in(dir, tdx ? QE_SIG_TDX : QE_SIG_SGX, rs, sizeof(rs), 0644));
    }
    return AECS_OK;
}

int aecs_sim_quote(const char *dir, const struct aecs_sim_quote_params *p, uint8_t **quote,
                   size_t *size)
{
    int rc = AECS_OK;
    struct sim_quote_keys k = {0};
    int tdx = p->tee == AECS_SIM_TDX;
    const struct qe_desc *qe = tdx ? &k_td_qe : &k_qe;
    uint8_t att_xy[64];
    uint8_t auth[QE_AUTH_SIZE];
    uint8_t qe_id[32];
    uint8_t *buf = NULL;
    struct aecs_quote parsed;

    *quote = NULL;
    *size = 0;
    ENSURE(p->tee == AECS_SIM_SGX || p->tee == AECS_SIM_TDX, AECS_E_INVALID_ARGUMENT,
           "sim quote: unknown TEE %d", (int)p->tee);
    GUARD_OUT(load_quote_keys(dir, &k));
    GUARD_OUT(aecs_privkey_p256_xy(k.att, att_xy));
    for (int i = 0; i < QE_AUTH_SIZE; i++)
        auth[i] = (uint8_t)i; /* as Intel's QE: 00 01 02 .. 1f */

    size_t body_size = tdx ? AECS_TD10_REPORT_SIZE : AECS_SGX_REPORT_SIZE;
    size_t cert_size = k.chain_size + 1; /* the PEM chain and a NUL, as Intel's QE writes it */
    size_t qe_part = AECS_SGX_REPORT_SIZE + 64 + 2 + QE_AUTH_SIZE + 2 + 4 + cert_size;
    size_t sig_size = 64 + 64 + (tdx ? 2 + 4 : 0) + qe_part;
    size_t total = AECS_QUOTE_HEADER_SIZE + body_size + 4 + sig_size;
    ENSURE_OUT(k.chain_size > 0 && sig_size < UINT32_MAX, AECS_E_FORMAT,
               "sim quote: bad PCK chain file in %.200s", dir);
    buf = calloc(1, total);
    ENSURE_OUT(buf != NULL, AECS_E_NO_MEMORY, "out of memory");

    /* header */
    uint8_t *w = buf;
    put_le16(w, tdx ? 4 : 3);
    put_le16(w + 2, AECS_ATT_KEY_ECDSA_P256);
    if (tdx) {
        put_le32(w + 4, AECS_TEE_TYPE_TDX); /* then 4 reserved bytes */
    } else {
        put_le16(w + 8, qe->isvsvn); /* v3: 4 reserved bytes, QE SVN, PCE SVN */
        put_le16(w + 10, PCESVN);
    }
    memcpy(w + 12, g_aecs_intel_qe_vendor_id, 16);
    aecs_sha256(att_xy, 64, qe_id); /* user data: a QE/platform id, then zeros */
    memcpy(w + 28, qe_id, 16);
    w += AECS_QUOTE_HEADER_SIZE;
    app_body(p, w);
    w += body_size;

    /* signature data */
    put_le32(w, (uint32_t)sig_size);
    w += 4;
    GUARD_OUT(aecs_ecdsa_sign_p256_rs(k.att, buf, AECS_QUOTE_HEADER_SIZE + body_size, w));
    memcpy(w + 64, att_xy, 64);
    w += 128;
    if (tdx) {
        put_le16(w, 6); /* QE report certification data */
        put_le32(w + 2, (uint32_t)qe_part);
        w += 6;
    }
    qe_report(qe, att_xy, auth, w);
    GUARD_OUT(qe_signature(dir, tdx, k.pck, w, w + AECS_SGX_REPORT_SIZE));
    w += AECS_SGX_REPORT_SIZE + 64;
    put_le16(w, QE_AUTH_SIZE);
    memcpy(w + 2, auth, QE_AUTH_SIZE);
    w += 2 + QE_AUTH_SIZE;
    put_le16(w, 5); /* PCK certificate chain */
    put_le32(w + 2, (uint32_t)cert_size);
    memcpy(w + 6, k.chain, k.chain_size); /* the NUL after it is already there (calloc) */
    w += 6 + cert_size;
    ENSURE_OUT((size_t)(w - buf) == total, AECS_E_INTERNAL, "sim quote: layout size mismatch");
    /* What the verifier will parse must parse here too. */
    GUARD_OUT(aecs_quote_parse(buf, total, &parsed));

    *quote = buf;
    *size = total;
    buf = NULL;
out:
    free(buf);
    aecs_privkey_free(k.att);
    aecs_privkey_free(k.pck);
    free(k.chain);
    if (rc != AECS_OK)
        aecs_err_prefix("sim quote: ");
    return rc;
}
