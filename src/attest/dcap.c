/*
 * dcap.c - Intel DCAP quote verification; see dcap.h.
 *
 * The checks and their order follow Intel's QVL (QuoteVerifier::verify) and
 * QvE: PCK chain and CRLs, TCB Info and QE Identity signatures, FMSPC and
 * PCE-ID, TDX module identity, QE report signature and report data, QE
 * identity, quote signature, then TCB level selection and status merging.
 * Each failure names its stage and the QVL status it maps to.
 */
#include "attest/dcap.h"

#include "attest/tcb_eval.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"

/* ---- status table ---- */

struct status_info {
    const char *name;
    uint16_t quote3;
    const char *quote3_name;
    uint16_t qv; /* before QvE's final overwrite of terminal errors with UNSPECIFIED */
};

#define QV_OK 0x0000
#define QV_UNSPECIFIED 0xA006

static const struct status_info k_status[QVL_STATUS_COUNT] = {
    [QVL_OK] = {"STATUS_OK", 0, "SGX_QL_SUCCESS", 0x0000},
    [QVL_TCB_SW_HARDENING_NEEDED] = {"STATUS_TCB_SW_HARDENING_NEEDED", 0, "SGX_QL_SUCCESS", 0xA007},
    [QVL_TCB_CONFIGURATION_NEEDED] = {"STATUS_TCB_CONFIGURATION_NEEDED", 0, "SGX_QL_SUCCESS",
                                      0xA001},
    [QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] =
        {"STATUS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED", 0, "SGX_QL_SUCCESS", 0xA008},
    [QVL_TCB_OUT_OF_DATE] = {"STATUS_TCB_OUT_OF_DATE", 0, "SGX_QL_SUCCESS", 0xA002},
    [QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = {"STATUS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED", 0,
                                                  "SGX_QL_SUCCESS", 0xA003},
    [QVL_TCB_TD_RELAUNCH_ADVISED] = {"STATUS_TCB_TD_RELAUNCH_ADVISED", 0, "SGX_QL_SUCCESS",
                                     0xA009},
    [QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED] =
        {"STATUS_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED", 0, "SGX_QL_SUCCESS", 0xA00A},
    [QVL_TCB_REVOKED] = {"STATUS_TCB_REVOKED", 0xE032, "SGX_QL_TCB_REVOKED", 0xA005},
    [QVL_TCB_NOT_SUPPORTED] = {"STATUS_TCB_NOT_SUPPORTED", 0xE066, "SGX_QL_TCB_NOT_SUPPORTED",
                               QV_UNSPECIFIED},
    [QVL_TCB_UNRECOGNIZED_STATUS] = {"STATUS_TCB_UNRECOGNIZED_STATUS", 0xE001,
                                     "SGX_QL_ERROR_UNEXPECTED", QV_UNSPECIFIED},
    [QVL_TDX_MODULE_MISMATCH] = {"STATUS_TDX_MODULE_MISMATCH", 0xE060,
                                 "SGX_QL_TDX_MODULE_MISMATCH", QV_UNSPECIFIED},
    [QVL_TCB_INFO_MISMATCH] = {"STATUS_TCB_INFO_MISMATCH", 0xE024, "SGX_QL_TCBINFO_MISMATCH",
                               QV_UNSPECIFIED},
    [QVL_QE_IDENTITY_MISMATCH] = {"STATUS_QE_IDENTITY_MISMATCH", 0xE026,
                                  "SGX_QL_QEIDENTITY_MISMATCH", QV_UNSPECIFIED},
    [QVL_UNSUPPORTED_QUOTE_FORMAT] = {"STATUS_UNSUPPORTED_QUOTE_FORMAT", 0xE01D,
                                      "SGX_QL_QUOTE_FORMAT_UNSUPPORTED", QV_UNSPECIFIED},
    [QVL_UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE] =
        {"STATUS_UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE", 0xE01C,
         "SGX_QL_QUOTE_CERTIFICATION_DATA_UNSUPPORTED", QV_UNSPECIFIED},
    [QVL_SGX_PCK_CERT_CHAIN_UNTRUSTED] = {"STATUS_SGX_PCK_CERT_CHAIN_UNTRUSTED", 0xE022,
                                          "SGX_QL_PCK_CERT_CHAIN_ERROR", QV_UNSPECIFIED},
    [QVL_INVALID_PCK_CERT] = {"STATUS_INVALID_PCK_CERT", 0xE022, "SGX_QL_PCK_CERT_CHAIN_ERROR",
                              QV_UNSPECIFIED},
    [QVL_SGX_PCK_REVOKED] = {"STATUS_SGX_PCK_REVOKED", 0xE031, "SGX_QL_PCK_REVOKED", 0xA005},
    [QVL_SGX_INTERMEDIATE_CA_REVOKED] = {"STATUS_SGX_INTERMEDIATE_CA_REVOKED", 0xE031,
                                         "SGX_QL_PCK_REVOKED", 0xA005},
    [QVL_SGX_TCB_SIGNING_CERT_REVOKED] = {"STATUS_SGX_TCB_SIGNING_CERT_REVOKED", 0xE031,
                                          "SGX_QL_PCK_REVOKED", 0xA005},
    [QVL_SGX_CRL_UNSUPPORTED_FORMAT] = {"STATUS_SGX_CRL_UNSUPPORTED_FORMAT", 0xE038,
                                        "SGX_QL_CRL_UNSUPPORTED_FORMAT", QV_UNSPECIFIED},
    [QVL_SGX_CRL_INVALID_SIGNATURE] = {"STATUS_SGX_CRL_INVALID_SIGNATURE", 0xE068,
                                       "SGX_QL_RESULT_INVALID_SIGNATURE", 0xA004},
    [QVL_INVALID_PCK_CRL] = {"STATUS_INVALID_PCK_CRL", 0xE001, "SGX_QL_ERROR_UNEXPECTED",
                             QV_UNSPECIFIED},
    [QVL_SGX_TCB_INFO_UNSUPPORTED_FORMAT] = {"STATUS_SGX_TCB_INFO_UNSUPPORTED_FORMAT", 0xE023,
                                             "SGX_QL_TCBINFO_UNSUPPORTED_FORMAT", QV_UNSPECIFIED},
    [QVL_TCB_INFO_INVALID_SIGNATURE] = {"STATUS_TCB_INFO_INVALID_SIGNATURE", 0xE03A,
                                        "SGX_QL_TCBINFO_CHAIN_ERROR", 0xA004},
    [QVL_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED] = {"STATUS_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED",
                                                  0xE03A, "SGX_QL_TCBINFO_CHAIN_ERROR",
                                                  QV_UNSPECIFIED},
    [QVL_SGX_QE_IDENTITY_UNSUPPORTED_FORMAT] = {"STATUS_SGX_QE_IDENTITY_UNSUPPORTED_FORMAT",
                                                0xE025, "SGX_QL_QEIDENTITY_UNSUPPORTED_FORMAT",
                                                QV_UNSPECIFIED},
    [QVL_SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE] =
        {"STATUS_SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE", 0xE039, "SGX_QL_QEIDENTITY_CHAIN_ERROR",
         0xA004},
    [QVL_INVALID_QE_REPORT_SIGNATURE] = {"STATUS_INVALID_QE_REPORT_SIGNATURE", 0xE01F,
                                         "SGX_QL_QE_REPORT_INVALID_SIGNATURE", 0xA004},
    [QVL_INVALID_QE_REPORT_DATA] = {"STATUS_INVALID_QE_REPORT_DATA", 0xE001,
                                    "SGX_QL_ERROR_UNEXPECTED", QV_UNSPECIFIED},
    [QVL_INVALID_QUOTE_SIGNATURE] = {"STATUS_INVALID_QUOTE_SIGNATURE", 0xE068,
                                     "SGX_QL_RESULT_INVALID_SIGNATURE", 0xA004},
    [QVL_SGX_CRL_EXPIRED] = {"STATUS_SGX_CRL_EXPIRED", 0xE02E, "SGX_QL_SGX_CRL_EXPIRED",
                             QV_UNSPECIFIED},
    [QVL_SGX_TCB_INFO_EXPIRED] = {"STATUS_SGX_TCB_INFO_EXPIRED", 0xE02C,
                                  "SGX_QL_SGX_TCB_INFO_EXPIRED", QV_UNSPECIFIED},
    [QVL_SGX_PCK_CERT_CHAIN_EXPIRED] = {"STATUS_SGX_PCK_CERT_CHAIN_EXPIRED", 0xE02D,
                                        "SGX_QL_SGX_PCK_CERT_CHAIN_EXPIRED", QV_UNSPECIFIED},
    [QVL_SGX_SIGNING_CERT_CHAIN_EXPIRED] = {"STATUS_SGX_SIGNING_CERT_CHAIN_EXPIRED", 0xE02F,
                                            "SGX_QL_SGX_SIGNING_CERT_CHAIN_EXPIRED",
                                            QV_UNSPECIFIED},
    [QVL_SGX_ENCLAVE_IDENTITY_EXPIRED] = {"STATUS_SGX_ENCLAVE_IDENTITY_EXPIRED", 0xE030,
                                          "SGX_QL_SGX_ENCLAVE_IDENTITY_EXPIRED", QV_UNSPECIFIED},
    [QVL_INTERNAL_ERROR] = {"STATUS_INTERNAL_ERROR", 0xE001, "SGX_QL_ERROR_UNEXPECTED",
                            QV_UNSPECIFIED},
};

const char *aecs_qvl_status_name(enum aecs_qvl_status s)
{
    return (unsigned)s < QVL_STATUS_COUNT ? k_status[s].name : "STATUS_UNKNOWN";
}

uint16_t aecs_qvl_quote3_error(enum aecs_qvl_status s)
{
    return (unsigned)s < QVL_STATUS_COUNT ? k_status[s].quote3 : 0xE001;
}

const char *aecs_qvl_quote3_error_name(enum aecs_qvl_status s)
{
    return (unsigned)s < QVL_STATUS_COUNT ? k_status[s].quote3_name : "SGX_QL_ERROR_UNEXPECTED";
}

static int is_terminal(enum aecs_qvl_status s)
{
    return s > QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

uint16_t aecs_qvl_qv_result(enum aecs_qvl_status s)
{
    /* QvE reports UNSPECIFIED with every terminal error. */
    if ((unsigned)s >= QVL_STATUS_COUNT || is_terminal(s))
        return QV_UNSPECIFIED;
    return k_status[s].qv;
}

const char *aecs_qv_result_name(uint16_t qv)
{
    switch (qv) {
    case 0x0000:
        return "SGX_QL_QV_RESULT_OK";
    case 0xA001:
        return "SGX_QL_QV_RESULT_CONFIG_NEEDED";
    case 0xA002:
        return "SGX_QL_QV_RESULT_OUT_OF_DATE";
    case 0xA003:
        return "SGX_QL_QV_RESULT_OUT_OF_DATE_CONFIG_NEEDED";
    case 0xA004:
        return "SGX_QL_QV_RESULT_INVALID_SIGNATURE";
    case 0xA005:
        return "SGX_QL_QV_RESULT_REVOKED";
    case 0xA006:
        return "SGX_QL_QV_RESULT_UNSPECIFIED";
    case 0xA007:
        return "SGX_QL_QV_RESULT_SW_HARDENING_NEEDED";
    case 0xA008:
        return "SGX_QL_QV_RESULT_CONFIG_AND_SW_HARDENING_NEEDED";
    case 0xA009:
        return "SGX_QL_QV_RESULT_TD_RELAUNCH_ADVISED";
    case 0xA00A:
        return "SGX_QL_QV_RESULT_TD_RELAUNCH_ADVISED_CONFIG_NEEDED";
    default:
        return "SGX_QL_QV_RESULT_UNKNOWN";
    }
}

/* The TCB status name a QVL outcome stands for, or NULL when it is an error. */
static const char *tcb_name_of(enum aecs_qvl_status s)
{
    switch (s) {
    case QVL_OK:
        return "UpToDate";
    case QVL_TCB_SW_HARDENING_NEEDED:
        return "SWHardeningNeeded";
    case QVL_TCB_CONFIGURATION_NEEDED:
        return "ConfigurationNeeded";
    case QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return "ConfigurationAndSWHardeningNeeded";
    case QVL_TCB_OUT_OF_DATE:
        return "OutOfDate";
    case QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
        return "OutOfDateConfigurationNeeded";
    case QVL_TCB_TD_RELAUNCH_ADVISED:
        return "TDRelaunchAdvised";
    case QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED:
        return "TDRelaunchAdvisedConfigurationNeeded";
    case QVL_TCB_REVOKED:
    case QVL_SGX_PCK_REVOKED:
    case QVL_SGX_INTERMEDIATE_CA_REVOKED:
    case QVL_SGX_TCB_SIGNING_CERT_REVOKED:
        return "Revoked";
    default:
        return NULL;
    }
}

/* ---- prepared collateral ---- */

#define PLATFORM_CACHE_SIZE 64

/* A platform whose PCK chain, CRL status and QE report were verified once. */
struct platform_entry {
    int used;
    uint8_t key[32]; /* SHA-256 over the certification data, QE report, its signature, auth data */
    uint64_t last_use;
    struct aecs_cert *leaf;
    struct aecs_certs *chain;
    struct aecs_sgx_ext pck;
    char pck_ca[64];
    int64_t chain_not_before;
    int64_t chain_not_after;
};

struct aecs_dcap_prepared {
    struct aecs_collateral *col;
    struct aecs_cert *root;

    /* outcome of the quote-independent checks */
    enum aecs_qvl_status status;
    const char *stage;
    char message[512];
    int sim; /* the trusted root is an aecs simulator's */

    /* the validity window of the collateral itself (PCK chains add their own) */
    int64_t valid_from;
    int64_t valid_until;
    enum aecs_qvl_status from_status;  /* which item starts the window */
    enum aecs_qvl_status until_status; /* which item ends it first */

    /* certificate links (child, issuer) verified while preparing; read-only afterwards */
    size_t link_count;
    struct {
        const struct aecs_cert *child;
        const struct aecs_cert *issuer;
    } links[16];

    /* TCB levels in Intel's evaluation order */
    const struct aecs_tcb_level **levels;
    size_t level_count;

    pthread_rwlock_t lock;
    uint64_t clock;
    struct platform_entry cache[PLATFORM_CACHE_SIZE];
};

static void prep_fail(struct aecs_dcap_prepared *p, enum aecs_qvl_status s, const char *stage,
                      const char *fmt, ...) AECS_PRINTF(4, 5);
static void prep_fail(struct aecs_dcap_prepared *p, enum aecs_qvl_status s, const char *stage,
                      const char *fmt, ...)
{
    va_list ap;

    p->status = s;
    p->stage = stage;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

static void window_from(struct aecs_dcap_prepared *p, int64_t t, enum aecs_qvl_status s)
{
    if (t > p->valid_from) {
        p->valid_from = t;
        p->from_status = s;
    }
}

static void window_until(struct aecs_dcap_prepared *p, int64_t t, enum aecs_qvl_status s)
{
    if (t < p->valid_until) {
        p->valid_until = t;
        p->until_status = s;
    }
}

static void window_certs(struct aecs_dcap_prepared *p, const struct aecs_certs *certs,
                         enum aecs_qvl_status s)
{
    for (size_t i = 0; i < aecs_certs_count(certs); i++) {
        window_from(p, aecs_cert_not_before(aecs_certs_get(certs, i)), s);
        window_until(p, aecs_cert_not_after(aecs_certs_get(certs, i)), s);
    }
}

static int link_known(const struct aecs_dcap_prepared *p, const struct aecs_cert *child,
                      const struct aecs_cert *issuer)
{
    for (size_t i = 0; i < p->link_count; i++) {
        if (p->links[i].child == child && p->links[i].issuer == issuer)
            return 1;
    }
    return 0;
}

/*
 * Verifies that `issuer` issued `child`, unless this very pair was verified
 * while preparing. `learn` (only while preparing) records the pair.
 */
static int check_link(struct aecs_dcap_prepared *p, int learn, const struct aecs_cert *child,
                      const struct aecs_cert *issuer)
{
    if (link_known(p, child, issuer))
        return AECS_OK;
    GUARD(aecs_cert_check_issued_by(child, issuer));
    if (learn && p->link_count < sizeof(p->links) / sizeof(p->links[0])) {
        p->links[p->link_count].child = child;
        p->links[p->link_count].issuer = issuer;
        p->link_count++;
    }
    return AECS_OK;
}

/*
 * Checks a leaf-first chain that must end in the trusted root: the top is the
 * anchor itself, or a certificate with the anchor's subject and key (a
 * re-issue) whose signature verifies with the anchor's key; every other link
 * verifies. Returns AECS_OK, or fills msg and returns an error.
 */
static int check_chain_to_root(struct aecs_dcap_prepared *p, int learn,
                               const struct aecs_certs *chain, const char *what, char *msg,
                               size_t msg_size)
{
    size_t n = aecs_certs_count(chain);
    const struct aecs_cert *top = aecs_certs_get(chain, n - 1);
    const struct aecs_cert *root = p->root;

    if (!aecs_cert_self_issued(top) || !aecs_cert_same_key_and_subject(top, root)) {
        snprintf(msg, msg_size, "%s does not end in the trusted root CA", what);
        return AECS_E_UNTRUSTED;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (check_link(p, learn, aecs_certs_get(chain, i), aecs_certs_get(chain, i + 1)) !=
            AECS_OK) {
            snprintf(msg, msg_size, "%s: %.300s", what, aecs_err_last()->message);
            return AECS_E_UNTRUSTED;
        }
    }
    /* The anchor is trusted as configured; a re-issued copy must be signed by it. */
    if (top != root && !aecs_cert_equal(top, root) && check_link(p, learn, top, root) != AECS_OK) {
        snprintf(msg, msg_size, "%s: root: %.300s", what, aecs_err_last()->message);
        return AECS_E_UNTRUSTED;
    }
    return AECS_OK;
}

static void check_signed_doc(struct aecs_dcap_prepared *p, const struct aecs_signed_doc *doc,
                             const char *what, enum aecs_qvl_status chain_status,
                             enum aecs_qvl_status sig_status)
{
    char msg[400];
    const struct aecs_cert *signer;
    struct aecs_crl *root_crl = p->col->root_ca_crl;

    if (p->status != QVL_OK)
        return;
    /*
     * Only Intel's TCB Signing certificate may sign TCB Info and QE Identity: a
     * non-CA certificate issued directly by the root, named as Intel names it.
     * Any other certificate under the root (a PCK certificate whose key leaked,
     * say) must not be able to vouch for a platform's TCB.
     */
    signer = aecs_certs_get(doc->issuer_chain, 0);
    {
        char cn[128];
        aecs_cert_subject_cn(signer, cn, sizeof(cn));
        const char *want = p->sim ? AECS_SIM_ROOT_CN_PREFIX " SGX TCB Signing"
                                  : "Intel SGX TCB Signing";
        if (aecs_certs_count(doc->issuer_chain) != 2 || aecs_cert_is_ca(signer) ||
            strcmp(cn, want) != 0) {
            prep_fail(p, chain_status, "collateral",
                      "%s: the issuer chain must be the '%s' certificate and the root CA "
                      "(found %zu certificates, the first named '%.80s')",
                      what, want, aecs_certs_count(doc->issuer_chain), cn);
            return;
        }
    }
    if (check_chain_to_root(p, 1, doc->issuer_chain, what, msg, sizeof(msg)) != AECS_OK) {
        prep_fail(p, chain_status, "collateral", "%s", msg);
        return;
    }
    for (size_t i = 0; i + 1 < aecs_certs_count(doc->issuer_chain); i++) {
        if (aecs_crl_lists(root_crl, aecs_certs_get(doc->issuer_chain, i))) {
            prep_fail(p, QVL_SGX_TCB_SIGNING_CERT_REVOKED, "collateral",
                      "%s: the signing certificate is revoked by the root CA CRL", what);
            return;
        }
    }
    if (aecs_ecdsa_verify_rs(aecs_cert_pubkey(signer), AECS_SHA256, doc->body, doc->body_size,
                             doc->sig, 64) != AECS_OK) {
        prep_fail(p, sig_status, "collateral", "%s: signature over the body does not verify",
                  what);
        return;
    }
    window_certs(p, doc->issuer_chain, QVL_SGX_SIGNING_CERT_CHAIN_EXPIRED);
}

int aecs_dcap_prepare(struct aecs_collateral *col, const struct aecs_cert *trusted_root,
                      struct aecs_dcap_prepared **out)
{
    int rc = AECS_OK;
    struct aecs_dcap_prepared *p = calloc(1, sizeof(*p));
    struct aecs_cert *intel = NULL;
    char msg[400];

    *out = NULL;
    if (p == NULL) {
        aecs_collateral_free(col);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    p->col = col;
    p->valid_from = INT64_MIN;
    p->valid_until = INT64_MAX;
    p->status = QVL_OK;
    if (pthread_rwlock_init(&p->lock, NULL) != 0) {
        aecs_collateral_free(col);
        free(p);
        return AECS_ERR(AECS_E_INTERNAL, "cannot create a lock");
    }
    if (trusted_root == NULL) {
        GUARD_OUT(aecs_cert_parse_cached(g_aecs_intel_sgx_root_der,
                                         g_aecs_intel_sgx_root_der_size, AECS_CERTS_CACHE_INSERT,
                                         &intel));
        p->root = intel;
        intel = NULL;
    } else {
        p->root = aecs_cert_ref((struct aecs_cert *)trusted_root);
    }
    {
        char cn[128];
        aecs_cert_subject_cn(p->root, cn, sizeof(cn));
        p->sim = strncmp(cn, AECS_SIM_ROOT_CN_PREFIX, strlen(AECS_SIM_ROOT_CN_PREFIX)) == 0;
    }
    window_from(p, aecs_cert_not_before(p->root), QVL_SGX_PCK_CERT_CHAIN_EXPIRED);
    window_until(p, aecs_cert_not_after(p->root), QVL_SGX_PCK_CERT_CHAIN_EXPIRED);

    if (col->problem != AECS_COL_OK) {
        static const enum aecs_qvl_status map[] = {
            [AECS_COL_OK] = QVL_OK,
            [AECS_COL_BAD_CRL] = QVL_SGX_CRL_UNSUPPORTED_FORMAT,
            [AECS_COL_BAD_TCB_INFO] = QVL_SGX_TCB_INFO_UNSUPPORTED_FORMAT,
            [AECS_COL_BAD_QE_IDENTITY] = QVL_SGX_QE_IDENTITY_UNSUPPORTED_FORMAT,
            [AECS_COL_BAD_SIGNING_CHAIN] = QVL_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED,
            [AECS_COL_BAD_PCK_CHAIN] = QVL_INVALID_PCK_CERT,
        };
        prep_fail(p, map[col->problem], "collateral", "%s", col->problem_message);
        *out = p;
        return AECS_OK;
    }

    /* Root CA CRL: issued and signed by the trusted root. */
    int crc = aecs_crl_check_issued_by(col->root_ca_crl, p->root);
    if (crc != AECS_OK) {
        prep_fail(p, crc == AECS_E_BAD_SIGNATURE ? QVL_SGX_CRL_INVALID_SIGNATURE : QVL_INVALID_PCK_CRL,
                  "collateral", "root CA CRL: %s", aecs_err_last()->message);
    }
    if (p->status == QVL_OK &&
        (aecs_crl_next_update(col->root_ca_crl) == 0 || aecs_crl_next_update(col->pck_crl) == 0))
        prep_fail(p, QVL_SGX_CRL_UNSUPPORTED_FORMAT, "collateral",
                  "%s has no nextUpdate: a CRL that never expires cannot be judged fresh",
                  aecs_crl_next_update(col->root_ca_crl) == 0 ? "the root CA CRL" : "the PCK CRL");
    window_from(p, aecs_crl_this_update(col->root_ca_crl), QVL_SGX_CRL_EXPIRED);
    if (aecs_crl_next_update(col->root_ca_crl) != 0)
        window_until(p, aecs_crl_next_update(col->root_ca_crl), QVL_SGX_CRL_EXPIRED);
    window_from(p, aecs_crl_this_update(col->pck_crl), QVL_SGX_CRL_EXPIRED);
    if (aecs_crl_next_update(col->pck_crl) != 0)
        window_until(p, aecs_crl_next_update(col->pck_crl), QVL_SGX_CRL_EXPIRED);
    if (col->pck_crl_chain != NULL && p->status == QVL_OK) {
        if (aecs_certs_order_chain(col->pck_crl_chain) != AECS_OK ||
            check_chain_to_root(p, 1, col->pck_crl_chain, "PCK CRL issuer chain", msg,
                                sizeof(msg)) != AECS_OK) {
            prep_fail(p, QVL_INVALID_PCK_CRL, "collateral", "%s",
                      msg[0] ? msg : aecs_err_last()->message);
        } else {
            window_certs(p, col->pck_crl_chain, QVL_SGX_PCK_CERT_CHAIN_EXPIRED);
        }
    }

    check_signed_doc(p, &col->tcb_info_doc, "TCB Info", QVL_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED,
                     QVL_TCB_INFO_INVALID_SIGNATURE);
    check_signed_doc(p, &col->qe_identity_doc, "QE Identity",
                     QVL_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED,
                     QVL_SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE);
    if (p->status == QVL_OK && col->qe_identity->id == AECS_ID_QVE)
        prep_fail(p, QVL_QE_IDENTITY_MISMATCH, "collateral",
                  "QE Identity is the QvE's identity, not a quoting enclave's");

    window_from(p, col->tcb_info->issue_date, QVL_SGX_TCB_INFO_EXPIRED);
    window_until(p, col->tcb_info->next_update, QVL_SGX_TCB_INFO_EXPIRED);
    window_from(p, col->qe_identity->issue_date, QVL_SGX_ENCLAVE_IDENTITY_EXPIRED);
    window_until(p, col->qe_identity->next_update, QVL_SGX_ENCLAVE_IDENTITY_EXPIRED);

    p->level_count = col->tcb_info->level_count;
    p->levels = calloc(p->level_count ? p->level_count : 1, sizeof(*p->levels));
    ENSURE_OUT(p->levels != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < p->level_count; i++)
        p->levels[i] = &col->tcb_info->levels[i];
    aecs_tcb_levels_sort(p->levels, p->level_count);

    *out = p;
    p = NULL;
out:
    aecs_cert_free(intel);
    aecs_dcap_prepared_free(p);
    return rc;
}

static void platform_entry_clear(struct platform_entry *e)
{
    aecs_cert_free(e->leaf);
    aecs_certs_free(e->chain);
    memset(e, 0, sizeof(*e));
}

void aecs_dcap_prepared_free(struct aecs_dcap_prepared *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < PLATFORM_CACHE_SIZE; i++)
        platform_entry_clear(&p->cache[i]);
    pthread_rwlock_destroy(&p->lock);
    free(p->levels);
    aecs_cert_free(p->root);
    aecs_collateral_free(p->col);
    free(p);
}

/* ---- per-quote verification ---- */

static void fail(struct aecs_dcap_result *r, enum aecs_qvl_status s, const char *stage,
                 const char *fmt, ...) AECS_PRINTF(4, 5);
static void fail(struct aecs_dcap_result *r, enum aecs_qvl_status s, const char *stage,
                 const char *fmt, ...)
{
    va_list ap;

    r->verified = 0;
    r->status = s;
    r->error = s;
    r->stage = stage;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

/*
 * The key of a verified platform: SHA-256 over everything the platform checks
 * depend on, each part fixed-size or preceded by its size. Fails closed: no
 * key, no cache.
 */
static int platform_key(const struct aecs_quote *q, uint8_t key[32])
{
    const struct aecs_bytes parts[] = {
        {&q->cert_type, sizeof(q->cert_type)},
        {&q->cert_size, sizeof(q->cert_size)},
        {q->cert_data, q->cert_size},
        {q->qe_report_raw, AECS_SGX_REPORT_SIZE},
        {q->qe_report_sig, 64},
        {&q->qe_auth_size, sizeof(q->qe_auth_size)},
        {q->qe_auth_data, q->qe_auth_size},
    };

    return aecs_sha256_parts(parts, sizeof(parts) / sizeof(parts[0]), key);
}

/*
 * The platform part of a quote: the PCK chain to the trusted root, both CRLs,
 * the PCK certificate and its SGX extensions, and the QE report signature.
 * Fills `e` (which then owns a chain) and returns 0, or records the failure
 * in r and returns -1.
 */
static int verify_platform(struct aecs_dcap_prepared *p, const struct aecs_quote *q,
                           struct aecs_dcap_result *r, struct platform_entry *e)
{
    struct aecs_collateral *col = p->col;
    struct aecs_certs *chain = NULL;
    struct aecs_cert *leaf;
    struct aecs_cert *ca;
    char msg[400] = "";
    char cn[128];
    int rc;

    memset(e, 0, sizeof(*e));
    if (q->cert_type == 5) {
        /* Untrusted input: reuse decoded CA certificates, never add to the cache. */
        rc = aecs_certs_parse_cached(q->cert_data, q->cert_size, AECS_CERTS_CACHE_LOOKUP, &chain);
    } else if (col->pck_chain != NULL) {
        rc = aecs_certs_dup(col->pck_chain, &chain);
    } else {
        fail(r, QVL_UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE, "parse",
             "the quote carries certification data type %u, not a PCK certificate chain "
             "(type 5); provide the chain as pck_chain.pem in the collateral folder",
             q->cert_type);
        return -1;
    }
    if (rc != AECS_OK || aecs_certs_order_chain(chain) != AECS_OK) {
        fail(r, QVL_INVALID_PCK_CERT, "chain", "PCK certificate chain: %s",
             aecs_err_last()->message);
        goto bad;
    }
    if (aecs_certs_count(chain) != 3) {
        fail(r, QVL_INVALID_PCK_CERT, "chain",
             "PCK certificate chain has %zu certificates; expected 3 (PCK, PCK CA, root CA)",
             aecs_certs_count(chain));
        goto bad;
    }
    if (check_chain_to_root(p, 0, chain, "PCK certificate chain", msg, sizeof(msg)) != AECS_OK) {
        fail(r, QVL_SGX_PCK_CERT_CHAIN_UNTRUSTED, "chain", "%s", msg);
        goto bad;
    }
    leaf = aecs_certs_get(chain, 0);
    ca = aecs_certs_get(chain, 1);
    if (aecs_crl_lists(col->root_ca_crl, ca)) {
        fail(r, QVL_SGX_INTERMEDIATE_CA_REVOKED, "chain",
             "the PCK CA certificate is revoked by the root CA CRL");
        goto bad;
    }
    rc = aecs_crl_check_issued_by(col->pck_crl, ca);
    if (rc != AECS_OK) {
        fail(r, rc == AECS_E_BAD_SIGNATURE ? QVL_SGX_CRL_INVALID_SIGNATURE : QVL_INVALID_PCK_CRL,
             "chain", "PCK CRL: %s (a Processor CA CRL is needed for Processor CA quotes, a "
             "Platform CA CRL for Platform CA quotes)",
             aecs_err_last()->message);
        goto bad;
    }
    if (aecs_crl_lists(col->pck_crl, leaf)) {
        fail(r, QVL_SGX_PCK_REVOKED, "chain", "the PCK certificate is revoked by the PCK CRL");
        goto bad;
    }
    aecs_cert_subject_cn(leaf, cn, sizeof(cn));
    if (strstr(cn, "SGX PCK Certificate") == NULL) {
        fail(r, QVL_INVALID_PCK_CERT, "chain",
             "the leaf certificate is not a PCK certificate (CN '%.60s')", cn);
        goto bad;
    }
    if (aecs_sgx_ext_parse_cert(leaf, &e->pck) != AECS_OK) {
        fail(r, QVL_INVALID_PCK_CERT, "chain", "PCK certificate: %s", aecs_err_last()->message);
        goto bad;
    }
    aecs_cert_subject_cn(ca, e->pck_ca, sizeof(e->pck_ca));
    if (aecs_ecdsa_verify_rs(aecs_cert_pubkey(leaf), AECS_SHA256, q->qe_report_raw,
                             AECS_SGX_REPORT_SIZE, q->qe_report_sig, 64) != AECS_OK) {
        fail(r, QVL_INVALID_QE_REPORT_SIGNATURE, "signature",
             "the QE report signature does not verify with the PCK certificate's key");
        goto bad;
    }
    e->chain_not_before = INT64_MIN;
    e->chain_not_after = INT64_MAX;
    for (size_t i = 0; i < 3; i++) {
        struct aecs_cert *c = aecs_certs_get(chain, i);
        if (aecs_cert_not_before(c) > e->chain_not_before)
            e->chain_not_before = aecs_cert_not_before(c);
        if (aecs_cert_not_after(c) < e->chain_not_after)
            e->chain_not_after = aecs_cert_not_after(c);
    }
    e->leaf = aecs_cert_ref(leaf);
    e->chain = chain;
    return 0;
bad:
    aecs_certs_free(chain);
    return -1;
}

/* Looks up a verified platform; copies it into out (with its own references). */
static int cache_get(struct aecs_dcap_prepared *p, const uint8_t key[32], struct platform_entry *out)
{
    int found = 0;

    pthread_rwlock_rdlock(&p->lock);
    for (size_t i = 0; i < PLATFORM_CACHE_SIZE; i++) {
        struct platform_entry *e = &p->cache[i];
        if (e->used && memcmp(e->key, key, 32) == 0) {
            *out = *e;
            out->leaf = aecs_cert_ref(e->leaf);
            out->chain = NULL;
            __atomic_store_n(&e->last_use, __atomic_add_fetch(&p->clock, 1, __ATOMIC_RELAXED),
                             __ATOMIC_RELAXED);
            found = 1;
            break;
        }
    }
    pthread_rwlock_unlock(&p->lock);
    return found;
}

/* Stores a verified platform, evicting the least recently used; takes e's references. */
static void cache_put(struct aecs_dcap_prepared *p, struct platform_entry *e)
{
    size_t victim = 0;

    pthread_rwlock_wrlock(&p->lock);
    for (size_t i = 0; i < PLATFORM_CACHE_SIZE; i++) {
        if (p->cache[i].used && memcmp(p->cache[i].key, e->key, 32) == 0) {
            pthread_rwlock_unlock(&p->lock);
            platform_entry_clear(e);
            return;
        }
        if (!p->cache[i].used || p->cache[i].last_use < p->cache[victim].last_use ||
            (p->cache[victim].used && !p->cache[i].used))
            victim = i;
    }
    platform_entry_clear(&p->cache[victim]);
    p->cache[victim] = *e;
    p->cache[victim].used = 1;
    p->cache[victim].last_use = ++p->clock;
    pthread_rwlock_unlock(&p->lock);
    memset(e, 0, sizeof(*e));
}

/* The QE report against the QE Identity (Intel's EnclaveReportVerifier). */
static int check_qe_identity(const struct aecs_qe_identity *id, const struct aecs_quote *q,
                             struct aecs_dcap_result *r, const struct aecs_isv_level **level,
                             enum aecs_qe_tcb *qe)
{
    const struct aecs_sgx_report *rep = &q->qe_report;
    int tdx = q->body_type != AECS_BODY_SGX;

    if (tdx ? id->id != AECS_ID_TD_QE : id->id != AECS_ID_QE) {
        fail(r, QVL_QE_IDENTITY_MISMATCH, "identity",
             "the QE Identity is for %s, but a %s quote needs the %s identity",
             id->id == AECS_ID_QE ? "QE" : id->id == AECS_ID_TD_QE ? "TD_QE" : "QVE",
             tdx ? "TDX" : "SGX", tdx ? "TD_QE" : "QE");
        return -1;
    }
    if ((rep->miscselect & id->miscselect_mask) != id->miscselect) {
        fail(r, QVL_QE_IDENTITY_MISMATCH, "identity",
             "QE report MISCSELECT 0x%08x does not match the QE Identity (0x%08x under mask "
             "0x%08x)",
             rep->miscselect, id->miscselect, id->miscselect_mask);
        return -1;
    }
    for (int i = 0; i < 16; i++) {
        if ((rep->attributes[i] & id->attributes_mask[i]) != id->attributes[i]) {
            fail(r, QVL_QE_IDENTITY_MISMATCH, "identity",
                 "QE report ATTRIBUTES do not match the QE Identity under its mask");
            return -1;
        }
    }
    if (memcmp(rep->mrsigner, id->mrsigner, 32) != 0) {
        char got[65];
        char want[65];
        aecs_hex_encode(rep->mrsigner, 32, got);
        aecs_hex_encode(id->mrsigner, 32, want);
        fail(r, QVL_QE_IDENTITY_MISMATCH, "identity",
             "QE report MRSIGNER %s is not the QE Identity's %s", got, want);
        return -1;
    }
    if (rep->isvprodid != id->isvprodid) {
        fail(r, QVL_QE_IDENTITY_MISMATCH, "identity",
             "QE report ISVPRODID %u is not the QE Identity's %u", rep->isvprodid, id->isvprodid);
        return -1;
    }
    *level = aecs_isv_level_for(id->levels, id->level_count, rep->isvsvn);
    *qe = aecs_qe_tcb_of_level(*level);
    r->qe_tcb_status = *level ? aecs_tcb_status_name((*level)->status) : "NotSupported";
    return 0;
}

static void check_expiry(struct aecs_dcap_prepared *p, const struct platform_entry *e,
                         int64_t at, struct aecs_dcap_result *r)
{
    enum aecs_qvl_status from_status = p->from_status;
    enum aecs_qvl_status until_status = p->until_status;
    char t1[32];
    char t2[32];

    r->valid_from = p->valid_from;
    r->valid_until = p->valid_until;
    if (e != NULL && e->leaf != NULL) {
        if (e->chain_not_before > r->valid_from) {
            r->valid_from = e->chain_not_before;
            from_status = QVL_SGX_PCK_CERT_CHAIN_EXPIRED;
        }
        if (e->chain_not_after < r->valid_until) {
            r->valid_until = e->chain_not_after;
            until_status = QVL_SGX_PCK_CERT_CHAIN_EXPIRED;
        }
    }
    if (at >= r->valid_from && at < r->valid_until)
        return;
    r->collateral_expired = 1;
    if (!r->verified)
        return;
    r->verified = 0;
    r->stage = "expiry";
    aecs_time_format(at, t1);
    if (at < r->valid_from) {
        aecs_time_format(r->valid_from, t2);
        r->error = from_status;
        snprintf(r->message, sizeof(r->message),
                 "collateral is not yet valid at %s: it is valid from %s (%s)", t1, t2,
                 aecs_qvl_status_name(from_status));
    } else {
        aecs_time_format(r->valid_until, t2);
        r->error = until_status;
        snprintf(r->message, sizeof(r->message),
                 "collateral expired: valid until %s, verification time %s (%s)", t2, t1,
                 aecs_qvl_status_name(until_status));
    }
}

void aecs_dcap_verify(struct aecs_dcap_prepared *p, const uint8_t *quote, size_t size,
                      int64_t at, struct aecs_dcap_result *r)
{
    struct aecs_quote *q = &r->quote;
    struct platform_entry e;
    uint8_t key[32];
    uint8_t digest[32];
    const struct aecs_isv_level *qe_level = NULL;
    enum aecs_qe_tcb qe = AECS_QE_TCB_UP_TO_DATE;
    struct aecs_pubkey *attest = NULL;
    const struct aecs_tcb_info *info = p->col->tcb_info;
    int have_platform = 0;

    memset(r, 0, sizeof(*r));
    memset(&e, 0, sizeof(e));
    r->status = QVL_OK;
    r->qv_result = QV_UNSPECIFIED;
    r->tcb_eval_number = info != NULL ? info->eval_number : 0;
    r->sim = p->sim;

    if (aecs_quote_parse(quote, size, q) != AECS_OK) {
        fail(r, QVL_UNSUPPORTED_QUOTE_FORMAT, "parse", "%s", aecs_err_last()->message);
        return;
    }
    r->quote_parsed = 1;
    r->platform = q->body_type == AECS_BODY_SGX ? AECS_PLATFORM_SGX : AECS_PLATFORM_TDX;
    if (memcmp(q->qe_vendor_id, g_aecs_intel_qe_vendor_id, 16) != 0) {
        fail(r, QVL_UNSUPPORTED_QUOTE_FORMAT, "parse",
             "quote: header.qe_vendor_id is not Intel's quoting enclave vendor id");
        return;
    }
    if (p->status != QVL_OK) {
        fail(r, p->status, p->stage, "%s", p->message);
        goto out;
    }

    /* Platform: PCK chain, CRLs, PCK extensions, QE report signature (cached). */
    if (platform_key(q, key) != AECS_OK) {
        fail(r, QVL_INTERNAL_ERROR, "chain", "%s", aecs_err_last()->message);
        goto out;
    }
    if (cache_get(p, key, &e)) {
        have_platform = 1;
    } else {
        if (verify_platform(p, q, r, &e) != 0)
            goto out;
        memcpy(e.key, key, 32);
        struct platform_entry copy = e;
        copy.leaf = aecs_cert_ref(e.leaf);
        e.chain = NULL;
        cache_put(p, &copy);
        have_platform = 1;
    }
    r->pck = e.pck;
    r->pck_parsed = 1;
    snprintf(r->pck_ca, sizeof(r->pck_ca), "%s", e.pck_ca);

    /* TCB Info must describe this platform. */
    if (info->version == 2 ? r->platform == AECS_PLATFORM_TDX
                           : (info->id == AECS_ID_TDX) != (r->platform == AECS_PLATFORM_TDX)) {
        fail(r, QVL_TCB_INFO_MISMATCH, "collateral", "the TCB Info is for %s, the quote is %s",
             info->id == AECS_ID_TDX ? "TDX" : "SGX",
             r->platform == AECS_PLATFORM_TDX ? "TDX" : "SGX");
        goto out;
    }
    if (memcmp(e.pck.fmspc, info->fmspc, 6) != 0) {
        char a[13];
        char b[13];
        aecs_hex_encode(e.pck.fmspc, 6, a);
        aecs_hex_encode(info->fmspc, 6, b);
        fail(r, QVL_TCB_INFO_MISMATCH, "collateral",
             "the TCB Info is for FMSPC %s, the PCK certificate's FMSPC is %s", b, a);
        goto out;
    }
    if (memcmp(e.pck.pceid, info->pceid, 2) != 0) {
        fail(r, QVL_TCB_INFO_MISMATCH, "collateral",
             "the TCB Info's PCE-ID is not the PCK certificate's");
        goto out;
    }

    /* The QE report binds the attestation key and the QE authentication data. */
    {
        size_t n = 64 + q->qe_auth_size;
        uint8_t *buf = malloc(n);
        if (buf == NULL) {
            fail(r, QVL_INTERNAL_ERROR, "parse", "out of memory");
            goto out;
        }
        memcpy(buf, q->attest_key, 64);
        memcpy(buf + 64, q->qe_auth_data, q->qe_auth_size);
        aecs_sha256(buf, n, digest);
        free(buf);
        if (memcmp(digest, q->qe_report.report_data, 32) != 0) {
            fail(r, QVL_INVALID_QE_REPORT_DATA, "signature",
                 "the QE report does not bind the attestation key and QE authentication data "
                 "(report data is not SHA-256 of them)");
            goto out;
        }
    }
    if (check_qe_identity(p->col->qe_identity, q, r, &qe_level, &qe) != 0)
        goto out;

    if (aecs_pubkey_from_p256_xy(q->attest_key, &attest) != AECS_OK) {
        fail(r, QVL_UNSUPPORTED_QUOTE_FORMAT, "signature",
             "the attestation key is not a valid P-256 point");
        goto out;
    }
    if (aecs_ecdsa_verify_rs(attest, AECS_SHA256, q->signed_data, q->signed_size, q->signature,
                             64) != AECS_OK) {
        fail(r, QVL_INVALID_QUOTE_SIGNATURE, "signature",
             "the quote signature does not verify with its attestation key");
        goto out;
    }

    /*
     * The TDX module's identity is checked once every signature has verified,
     * just before TCB evaluation (older QVL releases check it here too; the
     * newest check it earlier, which only changes which error a quote that
     * fails twice reports).
     */
    if (r->platform == AECS_PLATFORM_TDX) {
        char msg[sizeof(r->message)];
        enum aecs_qvl_status m = aecs_tdx_module_check(info, &q->td, msg, sizeof(msg));
        if (m != QVL_OK) {
            fail(r, m, m == QVL_TCB_INFO_MISMATCH ? "collateral" : "identity", "%s", msg);
            goto out;
        }
    }

    r->message[0] = '\0';
    enum aecs_qvl_status s = aecs_tcb_evaluate(info, p->levels, p->level_count, q, &e.pck,
                                               qe_level, qe, r);
    r->status = s;
    r->tcb_status = tcb_name_of(s);
    r->has_tcb_status = r->tcb_status != NULL;
    if (is_terminal(s)) {
        char detail[sizeof(r->message)];
        snprintf(detail, sizeof(detail), "%s", r->message);
        fail(r, s, "tcb", "%s",
             detail[0] ? detail
             : s == QVL_TCB_REVOKED ? "the platform's TCB level is Revoked"
                                    : aecs_qvl_status_name(s));
        r->tcb_status = tcb_name_of(s);
        r->has_tcb_status = r->tcb_status != NULL;
        goto out;
    }
    r->verified = 1;

out:
    if (r->tcb_status == NULL) {
        r->tcb_status = tcb_name_of(r->status);
        r->has_tcb_status = r->tcb_status != NULL;
    }
    r->qv_result = aecs_qvl_qv_result(r->status);
    check_expiry(p, have_platform ? &e : NULL, at, r);
    aecs_pubkey_free(attest);
    aecs_cert_free(e.leaf);
    aecs_certs_free(e.chain);
}
