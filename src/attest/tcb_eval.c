/*
 * tcb_eval.c - TCB level selection and status merging; see tcb_eval.h.
 *
 * The rules follow Intel's QVL (TcbLevelCheck, TdxModuleCheck,
 * TDRelaunchCheck, EnclaveReportVerifier) as described in docs/attestation.md.
 */
#include "attest/tcb_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum aecs_qvl_status aecs_qvl_status_of_level(enum aecs_tcb_status s)
{
    switch (s) {
    case AECS_TCB_UP_TO_DATE:
        return QVL_OK;
    case AECS_TCB_SW_HARDENING_NEEDED:
        return QVL_TCB_SW_HARDENING_NEEDED;
    case AECS_TCB_CONFIGURATION_NEEDED:
        return QVL_TCB_CONFIGURATION_NEEDED;
    case AECS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED;
    case AECS_TCB_OUT_OF_DATE:
        return QVL_TCB_OUT_OF_DATE;
    case AECS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
        return QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    case AECS_TCB_REVOKED:
        return QVL_TCB_REVOKED;
    default:
        return QVL_TCB_UNRECOGNIZED_STATUS;
    }
}

enum aecs_qe_tcb aecs_qe_tcb_of_level(const struct aecs_isv_level *level)
{
    if (level == NULL)
        return AECS_QE_TCB_NOT_SUPPORTED;
    switch (level->status) {
    case AECS_TCB_UP_TO_DATE:
        return AECS_QE_TCB_UP_TO_DATE;
    case AECS_TCB_REVOKED:
        return AECS_QE_TCB_REVOKED;
    default:
        /* OutOfDate, ConfigurationNeeded, OutOfDateConfigurationNeeded: all out of date */
        return AECS_QE_TCB_OUT_OF_DATE;
    }
}

/* Intel's order: descending by SGX components, then PCESVN, then TDX components. */
static int level_cmp_desc(const void *a, const void *b)
{
    const struct aecs_tcb_level *x = *(const struct aecs_tcb_level *const *)a;
    const struct aecs_tcb_level *y = *(const struct aecs_tcb_level *const *)b;

    for (int i = 0; i < 16; i++) {
        if (x->sgx_comp[i] != y->sgx_comp[i])
            return x->sgx_comp[i] < y->sgx_comp[i] ? 1 : -1;
    }
    if (x->pcesvn != y->pcesvn)
        return x->pcesvn < y->pcesvn ? 1 : -1;
    for (int i = 0; i < 16; i++) {
        if (x->tdx_comp[i] != y->tdx_comp[i])
            return x->tdx_comp[i] < y->tdx_comp[i] ? 1 : -1;
    }
    return 0;
}

void aecs_tcb_levels_sort(const struct aecs_tcb_level **levels, size_t count)
{
    qsort(levels, count, sizeof(*levels), level_cmp_desc);
}

/* Appends src's IDs not yet in dst (platform level first, then QE, then TDX module). */
static void add_advisories(struct aecs_advisory_list *dst, const struct aecs_advisories *src)
{
    for (size_t i = 0; i < src->count; i++) {
        int dup = 0;
        for (size_t j = 0; j < dst->count; j++)
            dup |= strcmp(dst->ids[j], src->ids[i]) == 0;
        if (!dup && dst->count < AECS_MAX_ADVISORIES)
            snprintf(dst->ids[dst->count++], AECS_ADVISORY_ID_MAX, "%s", src->ids[i]);
    }
}


/* The level with the highest ISV SVN not above svn (Intel keeps them sorted descending). */
const struct aecs_isv_level *aecs_isv_level_for(const struct aecs_isv_level *levels, size_t count,
                                                unsigned svn)
{
    const struct aecs_isv_level *best = NULL;

    for (size_t i = 0; i < count; i++) {
        if (levels[i].isvsvn <= svn && (best == NULL || levels[i].isvsvn > best->isvsvn))
            best = &levels[i];
    }
    return best;
}

static const struct aecs_tdx_module_identity *module_identity(const struct aecs_tcb_info *info,
                                                              uint8_t major)
{
    char id[16];

    snprintf(id, sizeof(id), "TDX_%02X", major);
    for (size_t i = 0; i < info->module_count; i++) {
        if (strcasecmp(info->modules[i].id, id) == 0)
            return &info->modules[i];
    }
    return NULL;
}

static int is_config_needed(enum aecs_qvl_status s)
{
    return s == QVL_TCB_CONFIGURATION_NEEDED || s == QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED ||
           s == QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
           s == QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* Both Intel merges share this shape: an out-of-date part lowers Up-to-date-ish statuses. */
static enum aecs_qvl_status lower_for_out_of_date(enum aecs_qvl_status t)
{
    if (t == QVL_OK || t == QVL_TCB_SW_HARDENING_NEEDED)
        return QVL_TCB_OUT_OF_DATE;
    if (t == QVL_TCB_CONFIGURATION_NEEDED || t == QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
        return QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    return t;
}

static enum aecs_qvl_status converge_qe(enum aecs_qvl_status t, enum aecs_qe_tcb qe)
{
    switch (qe) {
    case AECS_QE_TCB_UP_TO_DATE:
        return t;
    case AECS_QE_TCB_OUT_OF_DATE:
        return lower_for_out_of_date(t);
    case AECS_QE_TCB_REVOKED:
        return QVL_TCB_REVOKED;
    case AECS_QE_TCB_NOT_SUPPORTED:
        return QVL_TCB_NOT_SUPPORTED;
    default:
        return QVL_INTERNAL_ERROR;
    }
}

static int sgx_level_matches(const struct aecs_tcb_level *lv, const struct aecs_sgx_ext *pck)
{
    for (int i = 0; i < 16; i++) {
        if (pck->tcb_comp[i] < lv->sgx_comp[i])
            return 0;
    }
    return pck->pcesvn >= lv->pcesvn;
}

/*
 * TCB level selection and status merging (Intel's checkTcbLevel). Returns the
 * final QVL status and fills the advisories and level details of r.
 */
enum aecs_qvl_status aecs_tcb_evaluate(const struct aecs_tcb_info *info,
                                       const struct aecs_tcb_level *const *levels, size_t count,
                                       const struct aecs_quote *q, const struct aecs_sgx_ext *pck,
                                       const struct aecs_isv_level *qe_level, enum aecs_qe_tcb qe,
                                       struct aecs_dcap_result *r)
{
    const struct aecs_tcb_level *sgx_level = NULL;
    const struct aecs_tcb_level *tdx_level = NULL;
    int tdx = q->body_type != AECS_BODY_SGX;
    const uint8_t *svn = q->td.tee_tcb_svn;
    int start = tdx && svn[1] > 0 ? 2 : 0;

    for (size_t i = 0; i < count; i++) {
        const struct aecs_tcb_level *lv = levels[i];
        if (!sgx_level_matches(lv, pck))
            continue;
        if (sgx_level == NULL)
            sgx_level = lv;
        if (!tdx)
            break;
        int ok = 1;
        for (int k = start; k < 16; k++)
            ok &= svn[k] >= lv->tdx_comp[k];
        if (ok) {
            tdx_level = lv;
            break;
        }
    }
    if (sgx_level == NULL || (tdx && tdx_level == NULL)) {
        snprintf(r->message, sizeof(r->message),
                 "no TCB level of the TCB Info (FMSPC %02x%02x%02x%02x%02x%02x) matches the "
                 "platform's %s; the platform's TCB is below every level Intel lists",
                 info->fmspc[0], info->fmspc[1], info->fmspc[2], info->fmspc[3], info->fmspc[4],
                 info->fmspc[5], sgx_level == NULL ? "SGX TCB components and PCESVN" : "TEE_TCB_SVN");
        return QVL_TCB_NOT_SUPPORTED;
    }
    if (!tdx) {
        add_advisories(&r->advisories, &sgx_level->advisories);
        if (qe_level != NULL)
            add_advisories(&r->advisories, &qe_level->advisories);
        return converge_qe(aecs_qvl_status_of_level(sgx_level->status), qe);
    }

    /* TDX module TCB status: only for modules with a major version (TEE_TCB_SVN[1] > 0). */
    enum aecs_qvl_status module = QVL_OK;
    const struct aecs_isv_level *module_level = NULL;
    if (svn[1] > 0) {
        const struct aecs_tdx_module_identity *m = module_identity(info, svn[1]);
        if (m == NULL) {
            snprintf(r->message, sizeof(r->message),
                     "TCB Info has no TDX module identity TDX_%02X", svn[1]);
            return QVL_TDX_MODULE_MISMATCH;
        }
        module_level = aecs_isv_level_for(m->levels, m->level_count, svn[0]);
        if (module_level == NULL) {
            snprintf(r->message, sizeof(r->message),
                     "TDX module %s SVN %u is below every level of the TCB Info", m->id, svn[0]);
            return QVL_TCB_NOT_SUPPORTED;
        }
        if (module_level->status != AECS_TCB_UP_TO_DATE &&
            module_level->status != AECS_TCB_OUT_OF_DATE && module_level->status != AECS_TCB_REVOKED)
            return QVL_TCB_UNRECOGNIZED_STATUS;
        module = aecs_qvl_status_of_level(module_level->status);
        r->has_module = 1;
        r->module_isvsvn = svn[0];
        r->module_tcb_status = aecs_tcb_status_name(module_level->status);
    }

    enum aecs_qvl_status t = aecs_qvl_status_of_level(tdx_level->status);
    if (module == QVL_TCB_OUT_OF_DATE)
        t = lower_for_out_of_date(t);
    else if (module == QVL_TCB_REVOKED)
        t = QVL_TCB_REVOKED;
    add_advisories(&r->advisories, &tdx_level->advisories);
    if (qe_level != NULL)
        add_advisories(&r->advisories, &qe_level->advisories);
    if (module_level != NULL)
        add_advisories(&r->advisories, &module_level->advisories);
    if (t == QVL_TCB_REVOKED)
        return t;

    /* TD relaunch advice (TD report 1.5): a newer module is already loaded. */
    enum aecs_qvl_status sgx_status = aecs_qvl_status_of_level(sgx_level->status);
    if (q->td.is_td15 && qe == AECS_QE_TCB_UP_TO_DATE &&
        (sgx_status == QVL_OK || sgx_status == QVL_TCB_SW_HARDENING_NEEDED ||
         sgx_status == QVL_TCB_CONFIGURATION_NEEDED ||
         sgx_status == QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED) &&
        (t == QVL_TCB_OUT_OF_DATE || t == QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) &&
        module == QVL_TCB_OUT_OF_DATE) {
        const uint8_t *svn2 = q->td.tee_tcb_svn2;
        const struct aecs_tcb_level *latest = levels[0];
        int current = 0;
        if (svn2[1] == 0) {
            current = svn2[0] >= latest->tdx_comp[0] && svn2[2] >= latest->tdx_comp[2];
        } else {
            const struct aecs_tdx_module_identity *m2 = module_identity(info, svn2[1]);
            if (m2 == NULL) {
                snprintf(r->message, sizeof(r->message),
                         "TCB Info has no TDX module identity TDX_%02X (TEE_TCB_SVN2)", svn2[1]);
                return QVL_TDX_MODULE_MISMATCH;
            }
            const struct aecs_isv_level *top = aecs_isv_level_for(m2->levels, m2->level_count, 0xffff);
            if (top == NULL)
                return QVL_TCB_NOT_SUPPORTED;
            current = svn2[0] >= top->isvsvn && svn2[2] >= latest->tdx_comp[2];
        }
        if (current)
            t = is_config_needed(sgx_status) || is_config_needed(t)
                    ? QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
                    : QVL_TCB_TD_RELAUNCH_ADVISED;
    }
    return converge_qe(t, qe);
}

enum aecs_qvl_status aecs_tdx_module_check(const struct aecs_tcb_info *info,
                                           const struct aecs_td_report *td, char *msg,
                                           size_t msg_size)
{
    const uint8_t *mrsigner = info->tdx_module_mrsigner;
    const uint8_t *attributes = info->tdx_module_attributes;
    uint8_t major = td->tee_tcb_svn[1];

    if (major > 0) {
        const struct aecs_tdx_module_identity *m = module_identity(info, major);
        if (m == NULL) {
            snprintf(msg, msg_size,
                     "TCB Info has no TDX module identity TDX_%02X for this TD's module", major);
            return QVL_TDX_MODULE_MISMATCH;
        }
        mrsigner = m->mrsigner;
        attributes = m->attributes;
    } else if (!info->has_tdx_module) {
        snprintf(msg, msg_size, "TCB Info has no tdxModule");
        return QVL_TCB_INFO_MISMATCH;
    }
    if (memcmp(td->mrsignerseam, mrsigner, 48) != 0) {
        snprintf(msg, msg_size,
                 "the TD's MRSIGNERSEAM is not the TDX module signer the TCB Info names");
        return QVL_TDX_MODULE_MISMATCH;
    }
    /* As Intel: SEAMATTRIBUTES must be all zero and equal to the expected value. */
    for (int i = 0; i < 8; i++) {
        if (td->seam_attributes[i] != 0 || attributes[i] != 0) {
            snprintf(msg, msg_size, "the TD's SEAMATTRIBUTES are not the expected all-zero value");
            return QVL_TDX_MODULE_MISMATCH;
        }
    }
    return QVL_OK;
}
