/*
 * policy_match.c - a secret's rules against the claims of verified evidence;
 * see policy.h and docs/policy.md.
 *
 * Rules are OR-ed. Each rule is checked in full and every reason it fails is
 * collected, so the refusal tells the user everything to fix at once. The
 * order inside a rule: platform (a rule for another platform says only
 * that), identity guard, measurements, then sim, debug and TCB. Everything
 * not explicitly accepted is refused: unknown platforms, verdicts without a
 * TCB status, a TCB status outside the rule's list, advisories outside the
 * rule's list when the status is not UpToDate, debug, sim.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"
#include "policy/policy.h"

struct why_buf {
    char *p;
    size_t size;
    size_t len;
};

static void AECS_PRINTF(2, 3) add(struct why_buf *w, const char *fmt, ...)
{
    va_list ap;

    if (w->size == 0 || w->len + 1 >= w->size)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->len, w->size - w->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->p[w->len] = '\0';
        return;
    }
    if ((size_t)n >= w->size - w->len) {
        w->len = w->size - 1;
        if (w->size >= 4)
            memcpy(w->p + w->size - 4, "...", 4);
        return;
    }
    w->len += (size_t)n;
}

/* The first 8 bytes as hex and "..": enough to tell values apart in a message. */
static void short_hex(const uint8_t *data, size_t size, char out[24])
{
    size_t n = size < 8 ? size : 8;
    aecs_hex_encode(data, n, out);
    memcpy(out + 2 * n, "..", 3);
}

static void check_hex(struct why_buf *w, int *fails, const char *what, const uint8_t *want,
                      const uint8_t *got, size_t size)
{
    char a[24], b[24];

    if (memcmp(want, got, size) == 0)
        return;
    short_hex(want, size, a);
    short_hex(got, size, b);
    add(w, "%s%s does not match: expected %s, got %s", *fails ? "; " : "", what, a, b);
    (*fails)++;
}

static void check_min(struct why_buf *w, int *fails, const char *what, unsigned min, unsigned got)
{
    if (got >= min)
        return;
    add(w, "%s%s %u is below the minimum %u", *fails ? "; " : "", what, got, min);
    (*fails)++;
}

static void list_tcb_statuses(struct why_buf *w, unsigned bits)
{
    int first = 1;

    for (unsigned bit = 1; bit <= AECS_POLICY_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
         bit <<= 1) {
        if (bits & bit) {
            add(w, "%s%s", first ? "" : ", ", aecs_policy_tcb_name(bit));
            first = 0;
        }
    }
    if (first)
        add(w, "none");
}

static int advisory_accepted(const struct aecs_policy_rule *r, const char *id)
{
    for (size_t i = 0; i < r->advisory_count && i < AECS_POLICY_MAX_ADVISORIES; i++) {
        if (strcasecmp(r->advisories[i], id) == 0)
            return 1;
    }
    return 0;
}

static void check_tcb(const struct aecs_policy_rule *r, const struct aecs_claims *cl,
                      struct why_buf *w, int *fails)
{
    if (cl->tcb_status[0] == '\0') {
        add(w, "%sthe verdict has no TCB status", *fails ? "; " : "");
        (*fails)++;
        return;
    }
    unsigned bit = aecs_policy_tcb_bit(cl->tcb_status);
    if (bit == 0 || !(r->tcb_statuses & bit)) {
        add(w, "%sTCB status %.48s is not accepted (accepted: ", *fails ? "; " : "",
            cl->tcb_status);
        list_tcb_statuses(w, r->tcb_statuses);
        add(w, ")");
        (*fails)++;
        return;
    }
    if (bit == AECS_POLICY_TCB_UP_TO_DATE)
        return;
    size_t refused = 0;
    for (size_t i = 0; i < cl->advisory_count && i < AECS_CLAIMS_MAX_ADVISORIES; i++) {
        if (advisory_accepted(r, cl->advisories[i]))
            continue;
        if (refused == 0)
            add(w, "%sadvisories not accepted for TCB status %s: ", *fails ? "; " : "",
                cl->tcb_status);
        add(w, "%s%.31s", refused ? ", " : "", cl->advisories[i]);
        refused++;
    }
    if (refused == 0)
        return;
    add(w, " (accepted_advisories: ");
    for (size_t i = 0; i < r->advisory_count && i < AECS_POLICY_MAX_ADVISORIES; i++)
        add(w, "%s%s", i ? ", " : "", r->advisories[i]);
    add(w, "%s)", r->advisory_count ? "" : "none");
    (*fails)++;
}

static void check_snp_tcb(const struct aecs_policy_rule *r, const struct aecs_claims *cl,
                          struct why_buf *w, int *fails)
{
    const struct aecs_policy_snp_tcb *min = &r->min_tcb;
    const struct aecs_claims_snp_tcb *got = &cl->snp_tcb;

    if (!(r->fields & AECS_RULE_MIN_TCB)) {
        add(w, "%sthe snp rule has no min_tcb", *fails ? "; " : "");
        (*fails)++;
        return;
    }
    check_min(w, fails, "TCB bootloader", min->bootloader, got->bootloader);
    check_min(w, fails, "TCB tee", min->tee, got->tee);
    check_min(w, fails, "TCB snp", min->snp, got->snp);
    check_min(w, fails, "TCB microcode", min->microcode, got->microcode);
    if (!min->has_fmc)
        return;
    if (!got->has_fmc) {
        add(w, "%smin_tcb.fmc is set but the platform (%.15s) has no FMC", *fails ? "; " : "",
            cl->snp_product[0] ? cl->snp_product : "unknown");
        (*fails)++;
        return;
    }
    check_min(w, fails, "TCB fmc", min->fmc, got->fmc);
}

/* Returns how many reasons the rule refuses the claims for (0: it allows them). */
static int check_rule(const struct aecs_policy_rule *r, const struct aecs_claims *cl,
                      struct why_buf *w)
{
    int fails = 0;
    char what[16];

    if (r->platform != AECS_TEE_UNKNOWN && r->platform != cl->platform) {
        add(w, "platform %s does not match rule platform %s", aecs_tee_name(cl->platform),
            aecs_tee_name(r->platform));
        return 1;
    }
    if (!aecs_policy_rule_has_identity(r) && !r->insecure_allow_any_enclave) {
        add(w, "the rule names no enclave identity");
        return 1;
    }

    switch (r->platform) {
    case AECS_TEE_SGX:
        if (r->fields & AECS_RULE_MRENCLAVE)
            check_hex(w, &fails, "mrenclave", r->mrenclave, cl->mrenclave, 32);
        if (r->fields & AECS_RULE_MRSIGNER)
            check_hex(w, &fails, "mrsigner", r->mrsigner, cl->mrsigner, 32);
        if ((r->fields & AECS_RULE_PRODID) && r->prodid != cl->isvprodid) {
            add(w, "%sprodID does not match: expected %u, got %u", fails ? "; " : "", r->prodid,
                cl->isvprodid);
            fails++;
        }
        if (r->fields & AECS_RULE_MIN_ISVSVN)
            check_min(w, &fails, "isvsvn", r->min_isvsvn, cl->isvsvn);
        if (r->fields & AECS_RULE_CONFIG_ID)
            check_hex(w, &fails, "config_id", r->config_id, cl->config_id, 64);
        break;
    case AECS_TEE_TDX:
        if (r->fields & AECS_RULE_MRTD)
            check_hex(w, &fails, "mrtd", r->mrtd, cl->mrtd, 48);
        for (int i = 0; i < 4; i++) {
            if (r->fields & AECS_RULE_RTMR(i)) {
                snprintf(what, sizeof(what), "rtmr%d", i);
                check_hex(w, &fails, what, r->rtmr[i], cl->rtmr[i], 48);
            }
        }
        if (r->fields & AECS_RULE_MRCONFIGID)
            check_hex(w, &fails, "mrconfigid", r->mrconfigid, cl->mrconfigid, 48);
        if (r->fields & AECS_RULE_MROWNER)
            check_hex(w, &fails, "mrowner", r->mrowner, cl->mrowner, 48);
        break;
    case AECS_TEE_SNP:
        if (r->fields & AECS_RULE_MEASUREMENT)
            check_hex(w, &fails, "measurement", r->measurement, cl->measurement, 48);
        if (r->fields & AECS_RULE_HOST_DATA)
            check_hex(w, &fails, "host_data", r->host_data, cl->host_data, 32);
        check_snp_tcb(r, cl, w, &fails);
        break;
    case AECS_TEE_UNKNOWN:
    default:
        /* an insecure any-enclave rule: no measurement to compare */
        break;
    }

    if (cl->sim && !r->allow_sim) {
        add(w,
            "%ssimulated TEE refused (the evidence chains to an aecs sim root; allow_sim: "
            "true accepts it, for tests only)",
            fails ? "; " : "");
        fails++;
    }
    if (cl->debug && !r->allow_debug) {
        add(w, "%sdebug enclave refused", fails ? "; " : "");
        fails++;
    }
    if (cl->platform == AECS_TEE_SGX || cl->platform == AECS_TEE_TDX)
        check_tcb(r, cl, w, &fails);
    return fails;
}

int aecs_policy_match(const struct aecs_policy_rules *rules, const struct aecs_claims *claims,
                      char *why, size_t why_size)
{
    char local[1024];
    struct why_buf w = {.p = why, .size = why_size};

    if (why == NULL || why_size == 0) {
        w.p = local;
        w.size = sizeof(local);
    }
    w.p[0] = '\0';
    if (rules == NULL || rules->count == 0 || rules->items == NULL) {
        add(&w, "the secret has no policy rules");
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "policy: %s", w.p);
    }
    if (claims == NULL) {
        add(&w, "no claims");
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "policy: %s", w.p);
    }
    if (claims->platform != AECS_TEE_SGX && claims->platform != AECS_TEE_TDX &&
        claims->platform != AECS_TEE_SNP) {
        add(&w, "the claims name no known platform");
        return AECS_ERR(AECS_E_MISMATCH, "policy: %s", w.p);
    }

    for (size_t i = 0; i < rules->count; i++) {
        char buf[768];
        struct why_buf one = {.p = buf, .size = sizeof(buf)};
        buf[0] = '\0';
        if (check_rule(&rules->items[i], claims, &one) == 0) {
            w.len = 0;
            w.p[0] = '\0';
            add(&w, "allowed by enclaveMatchAnyRules[%zu]", i);
            return AECS_OK;
        }
        add(&w, "%senclaveMatchAnyRules[%zu]: %s", i ? " | " : "", i, buf);
    }
    return AECS_ERR(AECS_E_MISMATCH, "policy: %s", w.p);
}
