/*
 * policy_yaml.c - libFuzzer target for the SecretPolicy parser (YAML, through
 * libyaml's document API, then the validator) and for a spec's JSON form.
 *
 * Whatever the bytes: no crash, no leak, and on success the invariants the
 * server relies on hold: every rule names an identity unless it carries the
 * insecure marker (which only the insecure flag can set), every spec survives
 * a JSON round trip unchanged, and matching any claims returns a verdict.
 * The same bytes are also read as JSON and fed to aecs_policy_spec_from_json.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/claims.h"
#include "policy/policy.h"

static void claims_for(enum aecs_tee tee, const uint8_t *data, size_t size, struct aecs_claims *c)
{
    memset(c, 0, sizeof(*c));
    c->platform = tee;
    /* measurements from the input itself, so matches are reachable */
    uint8_t fill = size > 0 ? data[size / 2] : 0;
    memset(c->mrenclave, fill, sizeof(c->mrenclave));
    memset(c->mrsigner, fill, sizeof(c->mrsigner));
    memset(c->mrtd, fill, sizeof(c->mrtd));
    memset(c->measurement, fill, sizeof(c->measurement));
    c->isvsvn = fill;
    c->debug = fill & 1;
    c->sim = (fill >> 1) & 1;
    c->snp_tcb.microcode = fill;
    c->snp_tcb.has_fmc = (fill >> 2) & 1;
    strcpy(c->tcb_status, tee == AECS_TEE_SNP ? "" : (fill & 8) ? "SWHardeningNeeded" : "UpToDate");
    if (fill & 16) {
        c->advisory_count = 1;
        strcpy(c->advisories[0], "INTEL-SA-00615");
    }
}

static void check_spec(const struct aecs_secret_spec *s, unsigned flags, int from_yaml,
                       const uint8_t *data, size_t size)
{
    json_t *j = NULL, *j2 = NULL;
    struct aecs_secret_spec *back = NULL;
    struct aecs_policy_error err;
    char why[512];

    if (s->rules.count == 0)
        abort();
    for (size_t i = 0; i < s->rules.count; i++) {
        const struct aecs_policy_rule *r = &s->rules.items[i];
        if (!aecs_policy_rule_has_identity(r) && !r->insecure_allow_any_enclave)
            abort();
        if (r->insecure_allow_any_enclave && !(flags & AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE))
            abort();
    }
    /* data comes with SECRET_TYPE_IMPORT_DATA, and only from YAML */
    if (from_yaml && (s->type == AECS_SECRET_IMPORT_DATA) != (s->data != NULL))
        abort();
    if (!from_yaml && s->data != NULL)
        abort();
    if (aecs_policy_spec_to_json(s, &j) != AECS_OK)
        abort();
    if (aecs_policy_spec_from_json(j, flags, &back, &err) != AECS_OK)
        abort();
    if (aecs_policy_spec_to_json(back, &j2) != AECS_OK || !json_equal(j, j2))
        abort();
    static const enum aecs_tee tees[] = {AECS_TEE_SGX, AECS_TEE_TDX, AECS_TEE_SNP};
    for (size_t t = 0; t < 3; t++) {
        struct aecs_claims c;
        claims_for(tees[t], data, size, &c);
        int a = aecs_policy_match(&s->rules, &c, why, sizeof(why));
        int b = aecs_policy_match(&back->rules, &c, NULL, 0);
        if ((a == AECS_OK) != (b == AECS_OK))
            abort();
        if (strnlen(why, sizeof(why)) == sizeof(why))
            abort();
    }
    aecs_policy_spec_free(back);
    json_decref(j);
    json_decref(j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned flag_sets[] = {0, AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE};
    struct aecs_policy_error err;

    for (size_t f = 0; f < 2; f++) {
        struct aecs_policy *p = NULL;
        if (aecs_policy_parse((const char *)data, size, "fuzz", flag_sets[f], &p, &err) !=
            AECS_OK) {
            if (p != NULL || strnlen(err.reason, sizeof(err.reason)) == sizeof(err.reason))
                abort();
            continue;
        }
        if (p == NULL || p->count == 0)
            abort();
        for (size_t i = 0; i < p->count; i++)
            check_spec(&p->specs[i], flag_sets[f], 1, data, size);
        aecs_policy_free(p);
    }

    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (j != NULL) {
        struct aecs_secret_spec *s = NULL;
        if (aecs_policy_spec_from_json(j, AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE, &s, &err) ==
            AECS_OK) {
            check_spec(s, AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE, 0, data, size);
            aecs_policy_spec_free(s);
        }
        json_decref(j);
    }
    return 0;
}
