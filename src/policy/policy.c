/*
 * policy.c - the SecretPolicy validator: a document tree (from YAML or from a
 * spec's JSON form, policy_internal.h) to secret specs, checking every field.
 *
 * Each section is checked the same way: its keys against the list of keys it
 * may hold (an unknown or duplicate key is an error: a typo must never weaken
 * a policy by being skipped), then each field with a getter that knows the
 * field's kind (name, number, boolean, hex of an exact size, list) and fails
 * with the field's path and line. Absent optional fields and the seeds' empty
 * strings ("") mean "not set". Then the cross-field rules: which platform a
 * rule is for, that it names an identity (or was explicitly let off), that
 * `data` goes with SECRET_TYPE_IMPORT_DATA and nothing else.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "policy/policy_internal.h"

/* ---- names ---- */

static const char *const g_tcb_names[] = {
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "TDRelaunchAdvised",
    "TDRelaunchAdvisedConfigurationNeeded",
};
#define TCB_NAME_COUNT (sizeof(g_tcb_names) / sizeof(g_tcb_names[0]))

unsigned aecs_policy_tcb_bit(const char *status)
{
    for (size_t i = 0; status != NULL && i < TCB_NAME_COUNT; i++) {
        if (strcmp(g_tcb_names[i], status) == 0)
            return 1u << i;
    }
    return 0;
}

const char *aecs_policy_tcb_name(unsigned bit)
{
    for (size_t i = 0; i < TCB_NAME_COUNT; i++) {
        if (bit == 1u << i)
            return g_tcb_names[i];
    }
    return NULL;
}

int aecs_policy_rule_has_identity(const struct aecs_policy_rule *rule)
{
    switch (rule->platform) {
    case AECS_TEE_SGX:
        return (rule->fields & (AECS_RULE_MRENCLAVE | AECS_RULE_MRSIGNER)) != 0;
    case AECS_TEE_TDX:
        return (rule->fields & AECS_RULE_MRTD) != 0;
    case AECS_TEE_SNP:
        return (rule->fields & AECS_RULE_MEASUREMENT) != 0;
    case AECS_TEE_UNKNOWN:
    default:
        return 0;
    }
}

/* ---- tree helpers ---- */

static const char *kind_name(const struct pnode *n)
{
    switch (n->kind) {
    case PNODE_MAP:
        return "a mapping";
    case PNODE_SEQ:
        return "a list";
    case PNODE_SCALAR:
    default:
        return "a single value";
    }
}

/* YAML null: an absent value, `~` or `null` written without quotes. */
static int is_null(const struct pnode *n)
{
    if (n == NULL)
        return 1;
    if (n->kind != PNODE_SCALAR || n->quoted)
        return 0;
    return n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

/* Not set: null, or the empty string the seeds write for unused fields. */
static int is_unset(const struct pnode *n)
{
    return is_null(n) || (n->kind == PNODE_SCALAR && n->len == 0);
}

static const struct pnode *map_get(const struct pnode *m, const char *key)
{
    for (size_t i = 0; m != NULL && m->kind == PNODE_MAP && i < m->count; i++) {
        const struct pnode *k = m->kids[2 * i];
        if (k->kind == PNODE_SCALAR && strcmp(k->value, key) == 0)
            return m->kids[2 * i + 1];
    }
    return NULL;
}

/* Pushes ".key" (or "key" at the root) onto the path. */
static size_t push_field(struct pctx *c, const char *key)
{
    return pctx_push(c, c->path_len > 0 ? ".%.60s" : "%.60s", key);
}

static int expect_kind(struct pctx *c, const struct pnode *n, enum pnode_kind kind)
{
    static const struct pnode probe_map = {.kind = PNODE_MAP}, probe_seq = {.kind = PNODE_SEQ},
                              probe_scalar = {.kind = PNODE_SCALAR};
    const struct pnode *want = kind == PNODE_MAP   ? &probe_map
                               : kind == PNODE_SEQ ? &probe_seq
                                                   : &probe_scalar;
    if (n->kind == kind)
        return AECS_OK;
    if (is_null(n))
        return pctx_fail(c, n, AECS_E_FORMAT, "must be %s, but it is empty", kind_name(want));
    return pctx_fail(c, n, AECS_E_FORMAT, "must be %s, not %s", kind_name(want), kind_name(n));
}

/* Letters, digits and '_' only, lowercased: "minIsvSvn" ~ "min_isv_svn" ~ "MINISVSVN". */
static void squash(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (; *in != '\0' && o + 1 < size; in++) {
        if (*in != '_' && *in != '-')
            out[o++] = (char)tolower((unsigned char)*in);
    }
    out[o] = '\0';
}

/*
 * Every key of mapping m must be a scalar in known[], and appear once. An
 * unknown key is reported with the known key it looks like, if any.
 */
static int check_keys(struct pctx *c, const struct pnode *m, const char *const *known,
                      size_t known_count)
{
    for (size_t i = 0; i < m->count; i++) {
        const struct pnode *k = m->kids[2 * i];
        if (k->kind != PNODE_SCALAR || k->len == 0)
            return pctx_fail(c, k, AECS_E_FORMAT, "a key must be a non-empty name, not %s",
                             kind_name(k));
        for (size_t j = 0; j < i; j++) {
            const struct pnode *prev = m->kids[2 * j];
            if (strcmp(prev->value, k->value) == 0) {
                size_t mark = push_field(c, k->value);
                int rc =
                    pctx_fail(c, k, AECS_E_FORMAT, "duplicate key (first at line %d)", prev->line);
                pctx_pop(c, mark);
                return rc;
            }
        }
        size_t j = 0;
        while (j < known_count && strcmp(known[j], k->value) != 0)
            j++;
        if (j < known_count)
            continue;

        char want[64], have[64];
        const char *hint = NULL;
        squash(k->value, have, sizeof(have));
        for (j = 0; j < known_count && hint == NULL; j++) {
            squash(known[j], want, sizeof(want));
            if (strcmp(want, have) == 0)
                hint = known[j];
        }
        size_t mark = push_field(c, k->value);
        int rc;
        if (hint != NULL)
            rc = pctx_fail(c, k, AECS_E_FORMAT, "unknown key (did you mean %s?)", hint);
        else if (known_count <= 8) {
            char list[256] = "";
            size_t len = 0;
            for (j = 0; j < known_count && len < sizeof(list); j++) {
                int w = snprintf(list + len, sizeof(list) - len, "%s%s", j ? ", " : "", known[j]);
                if (w < 0)
                    break;
                len += (size_t)w;
            }
            rc = pctx_fail(c, k, AECS_E_FORMAT, "unknown key (known keys here: %s)", list);
        } else {
            rc = pctx_fail(c, k, AECS_E_FORMAT,
                           "unknown key (docs/policy.md lists the keys of this section)");
        }
        pctx_pop(c, mark);
        return rc;
    }
    return AECS_OK;
}

/* ---- field getters; n may be NULL (absent) ---- */

static int get_scalar(struct pctx *c, const struct pnode *n, const char **out)
{
    *out = NULL;
    GUARD(expect_kind(c, n, PNODE_SCALAR));
    *out = n->value;
    return AECS_OK;
}

static int valid_name(const char *s, size_t len)
{
    if (len < 1 || len > AECS_POLICY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
            return 0;
        if (ch >= 0x80)
            return 0;
    }
    return 1;
}

/* A required name ([A-Za-z0-9._-], 1..64) into out[AECS_POLICY_NAME_MAX + 1]. */
static int field_name(struct pctx *c, const struct pnode *m, const char *key, char *out)
{
    const struct pnode *n = map_get(m, key);
    const char *s;
    size_t mark = push_field(c, key);
    int rc = AECS_OK;

    if (is_unset(n))
        GUARD_OUT(pctx_fail(c, n != NULL ? n : m, AECS_E_FORMAT, "required"));
    GUARD_OUT(get_scalar(c, n, &s));
    if (!valid_name(s, n->len))
        GUARD_OUT(pctx_fail(c, n, AECS_E_FORMAT,
                            "must be 1 to %d characters from A-Z a-z 0-9 . _ - (got \"%.64s\"%s)",
                            AECS_POLICY_NAME_MAX, s, n->len > 64 ? "..." : ""));
    memcpy(out, s, n->len + 1);
out:
    pctx_pop(c, mark);
    return rc;
}

/* A whole number in 0..max: a YAML int or a quoted string of digits (no sign, no leading 0). */
static int field_uint(struct pctx *c, const struct pnode *m, const char *key, unsigned long max,
                      unsigned long *out, int *set)
{
    const struct pnode *n = map_get(m, key);
    const char *s;
    size_t mark = push_field(c, key);
    int rc = AECS_OK;

    *out = 0;
    *set = 0;
    if (is_unset(n))
        goto out;
    GUARD_OUT(get_scalar(c, n, &s));
    int ok = n->len >= 1 && n->len <= 10 && !(n->len > 1 && s[0] == '0');
    unsigned long v = 0;
    for (size_t i = 0; ok && i < n->len; i++) {
        if (s[i] < '0' || s[i] > '9')
            ok = 0;
        else
            v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (!ok || v > max)
        GUARD_OUT(pctx_fail(c, n, AECS_E_FORMAT, "must be a whole number from 0 to %lu", max));
    *out = v;
    *set = 1;
out:
    pctx_pop(c, mark);
    return rc;
}

/* true/false, with or without quotes (True/TRUE/False/FALSE too). */
static int field_bool(struct pctx *c, const struct pnode *m, const char *key, int *out, int *set)
{
    const struct pnode *n = map_get(m, key);
    const char *s;
    size_t mark = push_field(c, key);
    int rc = AECS_OK;

    *out = 0;
    *set = 0;
    if (is_unset(n))
        goto out;
    GUARD_OUT(get_scalar(c, n, &s));
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        *out = 0;
    else
        GUARD_OUT(pctx_fail(c, n, AECS_E_FORMAT, "must be true or false"));
    *set = 1;
out:
    pctx_pop(c, mark);
    return rc;
}

/* Exactly `size` bytes as 2*size hex digits, either case. */
static int field_hex(struct pctx *c, const struct pnode *m, const char *key, size_t size,
                     uint8_t *out, int *set)
{
    const struct pnode *n = map_get(m, key);
    const char *s;
    size_t mark = push_field(c, key);
    int rc = AECS_OK;

    *set = 0;
    if (is_unset(n))
        goto out;
    GUARD_OUT(get_scalar(c, n, &s));
    if (n->len != 2 * size)
        GUARD_OUT(pctx_fail(c, n, AECS_E_FORMAT, "must be %zu hex digits (got %zu characters)",
                            2 * size, n->len));
    for (size_t i = 0; i < n->len; i++) {
        if (!isxdigit((unsigned char)s[i]))
            GUARD_OUT(pctx_fail(c, n, AECS_E_FORMAT,
                                "must be %zu hex digits (character %zu is not one)", 2 * size,
                                i + 1));
    }
    if (aecs_hex_decode_exact(s, n->len, out, size) != AECS_OK)
        GUARD_OUT(pctx_fail(c, n, AECS_E_FORMAT, "must be %zu hex digits", 2 * size));
    *set = 1;
out:
    pctx_pop(c, mark);
    return rc;
}

/* The field must be empty or absent (seeds' fields aecs keeps for compatibility only). */
static int field_must_be_empty(struct pctx *c, const struct pnode *m, const char *key,
                               const char *why)
{
    const struct pnode *n = map_get(m, key);
    size_t mark = push_field(c, key);
    int rc = AECS_OK;

    if (!is_unset(n))
        rc = pctx_fail(c, n, AECS_E_FORMAT, "must be empty: %s", why);
    pctx_pop(c, mark);
    return rc;
}

/* ---- rules ---- */

struct hex_field {
    const char *key;
    unsigned bit;
    enum aecs_tee tee;
    size_t offset;
    size_t size;
};

static const struct hex_field g_hex_fields[] = {
    {"mrenclave", AECS_RULE_MRENCLAVE, AECS_TEE_SGX, offsetof(struct aecs_policy_rule, mrenclave),
     32},
    {"mrsigner", AECS_RULE_MRSIGNER, AECS_TEE_SGX, offsetof(struct aecs_policy_rule, mrsigner), 32},
    {"config_id", AECS_RULE_CONFIG_ID, AECS_TEE_SGX, offsetof(struct aecs_policy_rule, config_id),
     64},
    {"mrtd", AECS_RULE_MRTD, AECS_TEE_TDX, offsetof(struct aecs_policy_rule, mrtd), 48},
    {"rtmr0", AECS_RULE_RTMR(0), AECS_TEE_TDX, offsetof(struct aecs_policy_rule, rtmr), 48},
    {"rtmr1", AECS_RULE_RTMR(1), AECS_TEE_TDX, offsetof(struct aecs_policy_rule, rtmr) + 48, 48},
    {"rtmr2", AECS_RULE_RTMR(2), AECS_TEE_TDX, offsetof(struct aecs_policy_rule, rtmr) + 96, 48},
    {"rtmr3", AECS_RULE_RTMR(3), AECS_TEE_TDX, offsetof(struct aecs_policy_rule, rtmr) + 144, 48},
    {"mrconfigid", AECS_RULE_MRCONFIGID, AECS_TEE_TDX,
     offsetof(struct aecs_policy_rule, mrconfigid), 48},
    {"mrowner", AECS_RULE_MROWNER, AECS_TEE_TDX, offsetof(struct aecs_policy_rule, mrowner), 48},
    {"measurement", AECS_RULE_MEASUREMENT, AECS_TEE_SNP,
     offsetof(struct aecs_policy_rule, measurement), 48},
    {"host_data", AECS_RULE_HOST_DATA, AECS_TEE_SNP, offsetof(struct aecs_policy_rule, host_data),
     32},
};
#define HEX_FIELD_COUNT (sizeof(g_hex_fields) / sizeof(g_hex_fields[0]))

/* Every field that ties a rule to one platform, with the key that sets it. */
static const struct {
    const char *key;
    unsigned bit;
    enum aecs_tee tee;
} g_platform_fields[] = {
    {"mrenclave", AECS_RULE_MRENCLAVE, AECS_TEE_SGX},
    {"mrsigner", AECS_RULE_MRSIGNER, AECS_TEE_SGX},
    {"prodID", AECS_RULE_PRODID, AECS_TEE_SGX},
    {"minIsvSvn", AECS_RULE_MIN_ISVSVN, AECS_TEE_SGX},
    {"config_id", AECS_RULE_CONFIG_ID, AECS_TEE_SGX},
    {"mrtd", AECS_RULE_MRTD, AECS_TEE_TDX},
    {"rtmr0", AECS_RULE_RTMR(0), AECS_TEE_TDX},
    {"rtmr1", AECS_RULE_RTMR(1), AECS_TEE_TDX},
    {"rtmr2", AECS_RULE_RTMR(2), AECS_TEE_TDX},
    {"rtmr3", AECS_RULE_RTMR(3), AECS_TEE_TDX},
    {"mrconfigid", AECS_RULE_MRCONFIGID, AECS_TEE_TDX},
    {"mrowner", AECS_RULE_MROWNER, AECS_TEE_TDX},
    {"measurement", AECS_RULE_MEASUREMENT, AECS_TEE_SNP},
    {"host_data", AECS_RULE_HOST_DATA, AECS_TEE_SNP},
    {"min_tcb", AECS_RULE_MIN_TCB, AECS_TEE_SNP},
};
#define PLATFORM_FIELD_COUNT (sizeof(g_platform_fields) / sizeof(g_platform_fields[0]))

static const char *const g_rule_keys[] = {
    /* the seeds' fields */
    "mrenclave", "mrsigner", "prodID", "minIsvSvn", "user_data", "spid", "debug_disabled",
    /* aecs */
    "platform", "config_id", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid", "mrowner",
    "measurement", "host_data", "min_tcb", "accepted_tcb_statuses", "accepted_advisories",
    "allow_debug", "allow_sim",
    /* JSON form only: the record of the --insecure-allow-any-enclave opt-in */
    "insecure_allow_any_enclave"};
#define RULE_KEY_COUNT (sizeof(g_rule_keys) / sizeof(g_rule_keys[0]))

static int parse_min_tcb(struct pctx *c, const struct pnode *rule, struct aecs_policy_rule *r)
{
    static const char *const keys[] = {"bootloader", "tee", "snp", "microcode", "fmc"};
    const struct pnode *n = map_get(rule, "min_tcb");
    size_t mark = push_field(c, "min_tcb");
    uint8_t *dst[] = {&r->min_tcb.bootloader, &r->min_tcb.tee, &r->min_tcb.snp,
                      &r->min_tcb.microcode, &r->min_tcb.fmc};
    int rc = AECS_OK;

    if (is_unset(n))
        goto out;
    GUARD_OUT(expect_kind(c, n, PNODE_MAP));
    GUARD_OUT(check_keys(c, n, keys, 5));
    for (size_t i = 0; i < 5; i++) {
        unsigned long v;
        int set;
        GUARD_OUT(field_uint(c, n, keys[i], 255, &v, &set));
        if (!set && i < 4) {
            size_t m2 = push_field(c, keys[i]);
            rc = pctx_fail(c, n, AECS_E_FORMAT,
                           "required (min_tcb needs bootloader, tee, snp and microcode; fmc on "
                           "Turin)");
            pctx_pop(c, m2);
            goto out;
        }
        *dst[i] = (uint8_t)v;
        if (i == 4)
            r->min_tcb.has_fmc = set;
    }
    r->fields |= AECS_RULE_MIN_TCB;
out:
    pctx_pop(c, mark);
    return rc;
}

/* A list of scalars; calls each(c, item, index, arg). An empty list is an error. */
static int field_list(struct pctx *c, const struct pnode *n, size_t max,
                      int (*each)(struct pctx *, const struct pnode *, size_t, void *), void *arg)
{
    GUARD(expect_kind(c, n, PNODE_SEQ));
    if (n->count == 0)
        return pctx_fail(c, n, AECS_E_FORMAT, "must not be an empty list (leave it out instead)");
    if (n->count > max)
        return pctx_fail(c, n, AECS_E_FORMAT, "more than %zu entries", max);
    for (size_t i = 0; i < n->count; i++) {
        size_t mark = pctx_push(c, "[%zu]", i);
        int rc = expect_kind(c, n->kids[i], PNODE_SCALAR);
        if (rc == AECS_OK)
            rc = each(c, n->kids[i], i, arg);
        pctx_pop(c, mark);
        GUARD(rc);
    }
    return AECS_OK;
}

static int tcb_status_item(struct pctx *c, const struct pnode *item, size_t i, void *arg)
{
    struct aecs_policy_rule *r = arg;
    unsigned bit = aecs_policy_tcb_bit(item->value);

    (void)i;
    if (strcmp(item->value, "Revoked") == 0)
        return pctx_fail(c, item, AECS_E_FORMAT, "Revoked is never accepted");
    if (bit == 0)
        return pctx_fail(c, item, AECS_E_FORMAT,
                         "unknown TCB status \"%.48s\" (known: UpToDate, SWHardeningNeeded, "
                         "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
                         "OutOfDateConfigurationNeeded, TDRelaunchAdvised, "
                         "TDRelaunchAdvisedConfigurationNeeded)",
                         item->value);
    if (r->tcb_statuses & bit)
        return pctx_fail(c, item, AECS_E_FORMAT, "%s is listed twice", item->value);
    r->tcb_statuses |= bit;
    return AECS_OK;
}

static int advisory_item(struct pctx *c, const struct pnode *item, size_t i, void *arg)
{
    struct aecs_policy_rule *r = arg;
    char id[AECS_CLAIMS_ADVISORY_ID_MAX];

    (void)i;
    int ok = item->len >= 1 && item->len < sizeof(id);
    for (size_t k = 0; ok && k < item->len; k++) {
        unsigned char ch = (unsigned char)item->value[k];
        ok = ch < 0x80 && (isalnum(ch) || ch == '-' || ch == '_' || ch == '.');
        id[k] = (char)toupper(ch);
    }
    if (!ok)
        return pctx_fail(c, item, AECS_E_FORMAT,
                         "must be an advisory ID such as INTEL-SA-00615 (1 to %zu characters "
                         "from A-Z 0-9 . _ -)",
                         sizeof(id) - 1);
    id[item->len] = '\0';
    for (size_t k = 0; k < r->advisory_count; k++) {
        if (strcmp(r->advisories[k], id) == 0)
            return pctx_fail(c, item, AECS_E_FORMAT, "%s is listed twice", id);
    }
    memcpy(r->advisories[r->advisory_count++], id, item->len + 1);
    return AECS_OK;
}

static const char *identity_hint(enum aecs_tee tee)
{
    switch (tee) {
    case AECS_TEE_SGX:
        return "set mrenclave or mrsigner (prodID and minIsvSvn alone do not name an enclave)";
    case AECS_TEE_TDX:
        return "set mrtd (RTMRs, mrconfigid and mrowner without mrtd can be reproduced by any "
               "TD firmware)";
    case AECS_TEE_SNP:
        return "set measurement (host_data is chosen by the host)";
    case AECS_TEE_UNKNOWN:
    default:
        return "set mrenclave or mrsigner (SGX), mrtd (TDX) or measurement (SNP); `aecs quote "
               "show` prints them from a quote of your application";
    }
}

static int rule_from_tree(struct pctx *c, const struct pnode *n, struct aecs_policy_rule *r)
{
    unsigned long v;
    int set, b;
    const struct pnode *f;

    memset(r, 0, sizeof(*r));
    GUARD(expect_kind(c, n, PNODE_MAP));
    r->line = n->line;
    if (!c->json && (f = map_get(n, "insecure_allow_any_enclave")) != NULL) {
        size_t mark = push_field(c, "insecure_allow_any_enclave");
        int rc = pctx_fail(c, f, AECS_E_FORMAT,
                           "not a policy file key: pass --insecure-allow-any-enclave to "
                           "`aecs secret create` instead");
        pctx_pop(c, mark);
        return rc;
    }
    GUARD(check_keys(c, n, g_rule_keys, RULE_KEY_COUNT));

    /* platform */
    enum aecs_tee platform = AECS_TEE_UNKNOWN;
    const struct pnode *pf = map_get(n, "platform");
    if (!is_unset(pf)) {
        size_t mark = push_field(c, "platform");
        int rc = expect_kind(c, pf, PNODE_SCALAR);
        if (rc == AECS_OK && (platform = aecs_tee_parse(pf->value)) == AECS_TEE_UNKNOWN)
            rc = pctx_fail(c, pf, AECS_E_FORMAT, "must be sgx, tdx or snp");
        pctx_pop(c, mark);
        GUARD(rc);
    }

    /* measurements */
    for (size_t i = 0; i < HEX_FIELD_COUNT; i++) {
        const struct hex_field *h = &g_hex_fields[i];
        GUARD(field_hex(c, n, h->key, h->size, (uint8_t *)r + h->offset, &set));
        if (set)
            r->fields |= h->bit;
    }
    GUARD(field_uint(c, n, "prodID", 0xFFFF, &v, &set));
    r->prodid = (uint16_t)v;
    if (set)
        r->fields |= AECS_RULE_PRODID;
    GUARD(field_uint(c, n, "minIsvSvn", 0xFFFF, &v, &set));
    r->min_isvsvn = (uint16_t)v;
    if (v > 0) /* the seeds' "0" is no constraint */
        r->fields |= AECS_RULE_MIN_ISVSVN;
    GUARD(parse_min_tcb(c, n, r));

    /* the seeds' fields aecs does not match on */
    GUARD(field_must_be_empty(c, n, "spid",
                              "EPID is not supported (aecs verifies DCAP and SEV-SNP evidence); "
                              "leave spid empty or remove it"));
    GUARD(field_must_be_empty(
        c, n, "user_data",
        "aecs binds report data to its own challenge and the application's key, so it cannot "
        "carry user data; pin launch configuration with config_id (SGX) or mrconfigid (TDX)"));

    /* debug */
    int debug_disabled;
    GUARD(field_bool(c, n, "debug_disabled", &debug_disabled, &set));
    if (set && !debug_disabled) {
        size_t mark = push_field(c, "debug_disabled");
        int rc = pctx_fail(c, map_get(n, "debug_disabled"), AECS_E_FORMAT,
                           "\"false\" does not let debug enclaves in; write allow_debug: true to "
                           "accept them (insecure: a debug enclave's memory can be read)");
        pctx_pop(c, mark);
        return rc;
    }
    GUARD(field_bool(c, n, "allow_debug", &r->allow_debug, &b));
    if (r->allow_debug && debug_disabled) {
        size_t mark = push_field(c, "allow_debug");
        int rc = pctx_fail(c, map_get(n, "allow_debug"), AECS_E_FORMAT,
                           "contradicts debug_disabled: \"true\" in the same rule");
        pctx_pop(c, mark);
        return rc;
    }
    GUARD(field_bool(c, n, "allow_sim", &r->allow_sim, &b));

    /* which platform the fields are for, in the order the file sets them */
    for (size_t k = 0; k < n->count; k++) {
        const char *key = n->kids[2 * k]->value;
        size_t i = 0;
        while (i < PLATFORM_FIELD_COUNT && strcmp(g_platform_fields[i].key, key) != 0)
            i++;
        if (i == PLATFORM_FIELD_COUNT || !(r->fields & g_platform_fields[i].bit))
            continue;
        enum aecs_tee tee = g_platform_fields[i].tee;
        if (platform == AECS_TEE_UNKNOWN) {
            platform = tee;
            continue;
        }
        if (tee != platform) {
            size_t mark = push_field(c, key);
            int rc;
            if (!is_unset(pf))
                rc = pctx_fail(c, n->kids[2 * k + 1], AECS_E_FORMAT,
                               "a %s field in a rule for platform %s", aecs_tee_name(tee),
                               aecs_tee_name(platform));
            else
                rc = pctx_fail(c, n->kids[2 * k + 1], AECS_E_FORMAT,
                               "a %s field in a rule with %s fields: write one rule per platform",
                               aecs_tee_name(tee), aecs_tee_name(platform));
            pctx_pop(c, mark);
            return rc;
        }
    }
    r->platform = platform;

    /* TCB status and advisories (Intel platforms) */
    const struct pnode *statuses = map_get(n, "accepted_tcb_statuses");
    const struct pnode *advisories = map_get(n, "accepted_advisories");
    if (platform == AECS_TEE_SNP) {
        const char *key = !is_null(statuses)     ? "accepted_tcb_statuses"
                          : !is_null(advisories) ? "accepted_advisories"
                                                 : NULL;
        if (key != NULL) {
            size_t mark = push_field(c, key);
            int rc = pctx_fail(c, map_get(n, key), AECS_E_FORMAT,
                               "not applicable to snp: SEV-SNP reports carry no TCB status or "
                               "advisories; set min_tcb");
            pctx_pop(c, mark);
            return rc;
        }
    } else {
        size_t mark = push_field(c, "accepted_tcb_statuses");
        int rc = is_null(statuses) ? AECS_OK
                                   : field_list(c, statuses, TCB_NAME_COUNT, tcb_status_item, r);
        pctx_pop(c, mark);
        GUARD(rc);
        if (is_null(statuses))
            r->tcb_statuses = AECS_POLICY_TCB_DEFAULT;
        mark = push_field(c, "accepted_advisories");
        rc = is_null(advisories)
                 ? AECS_OK
                 : field_list(c, advisories, AECS_POLICY_MAX_ADVISORIES, advisory_item, r);
        pctx_pop(c, mark);
        GUARD(rc);
    }
    if (platform == AECS_TEE_SNP && !(r->fields & AECS_RULE_MIN_TCB)) {
        size_t mark = push_field(c, "min_tcb");
        int rc = pctx_fail(c, n, AECS_E_FORMAT,
                           "required for platform snp: SEV-SNP reports carry no TCB status, so "
                           "write the lowest firmware you accept, e.g. min_tcb: {bootloader: 3, "
                           "tee: 0, snp: 8, microcode: 115}");
        pctx_pop(c, mark);
        return rc;
    }

    /* identity, or the explicit opt-in */
    int marker = 0;
    if (c->json) {
        size_t mark = push_field(c, "insecure_allow_any_enclave");
        int rc = field_bool(c, n, "insecure_allow_any_enclave", &marker, &set);
        pctx_pop(c, mark);
        GUARD(rc);
    }
    if (aecs_policy_rule_has_identity(r)) {
        if (marker) {
            size_t mark = push_field(c, "insecure_allow_any_enclave");
            int rc = pctx_fail(c, map_get(n, "insecure_allow_any_enclave"), AECS_E_FORMAT,
                               "set on a rule that names an identity");
            pctx_pop(c, mark);
            return rc;
        }
        return AECS_OK;
    }
    int allowed = (c->flags & AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE) != 0;
    if (c->json)
        allowed = allowed && marker;
    if (!allowed)
        return pctx_fail(c, n, AECS_E_FORMAT,
                         "this rule names no enclave identity, so any enclave would get the "
                         "secret: %s; or pass --insecure-allow-any-enclave (tests only)",
                         identity_hint(platform));
    r->insecure_allow_any_enclave = 1;
    return AECS_OK;
}

/* ---- specs ---- */

void spec_clear(struct aecs_secret_spec *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; s->params != NULL && i < s->param_count; i++) {
        struct aecs_policy_param *p = &s->params[i];
        if (p->key != NULL)
            free(p->key);
        if (p->value != NULL) {
            aecs_cleanse(p->value, strlen(p->value));
            free(p->value);
        }
    }
    free(s->params);
    if (s->data != NULL) {
        aecs_cleanse(s->data, s->data_size);
        free(s->data);
    }
    free(s->rules.items);
    memset(s, 0, sizeof(*s));
}

static char *dup_scalar(const struct pnode *n)
{
    char *p = malloc(n->len + 1);
    if (p != NULL)
        memcpy(p, n->value, n->len + 1);
    return p;
}

static int parse_params(struct pctx *c, const struct pnode *spec, struct aecs_secret_spec *s)
{
    static const char *const keys[] = {"key", "value"};
    const struct pnode *n = map_get(spec, "params");
    size_t mark = push_field(c, "params");
    int rc = AECS_OK;

    if (is_null(n))
        goto out;
    GUARD_OUT(expect_kind(c, n, PNODE_SEQ));
    if (n->count > AECS_POLICY_MAX_PARAMS)
        GUARD_OUT(pctx_fail(c, n, AECS_E_FORMAT, "more than %d params", AECS_POLICY_MAX_PARAMS));
    if (n->count > 0) {
        s->params = calloc(n->count, sizeof(*s->params));
        ENSURE_OUT(s->params != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
    }
    s->param_count = n->count;
    for (size_t i = 0; i < n->count; i++) {
        const struct pnode *item = n->kids[i];
        struct aecs_policy_param *p = &s->params[i];
        char key[AECS_POLICY_NAME_MAX + 1];
        size_t m2 = pctx_push(c, "[%zu]", i);

        rc = expect_kind(c, item, PNODE_MAP);
        if (rc == AECS_OK)
            rc = check_keys(c, item, keys, 2);
        if (rc == AECS_OK)
            rc = field_name(c, item, "key", key);
        for (size_t j = 0; rc == AECS_OK && j < i; j++) {
            if (strcmp(s->params[j].key, key) == 0) {
                size_t m3 = push_field(c, "key");
                rc = pctx_fail(c, map_get(item, "key"), AECS_E_FORMAT,
                               "duplicate param %s (first in params[%zu])", key, j);
                pctx_pop(c, m3);
            }
        }
        if (rc == AECS_OK && (p->key = strdup(key)) == NULL)
            rc = AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory");

        const struct pnode *value = map_get(item, "value");
        size_t m3 = push_field(c, "value");
        if (rc != AECS_OK) {
            /* already failed */
        } else if (c->json && s->type == AECS_SECRET_CONFIGURATIONS) {
            if (value != NULL)
                rc = pctx_fail(c, value, AECS_E_FORMAT,
                               "the JSON form of a SECRET_TYPE_CONFIGURATIONS secret holds no "
                               "values");
        } else if (is_null(value)) {
            rc = pctx_fail(c, value != NULL ? value : item, AECS_E_FORMAT,
                           "required (write \"\" for an empty value)");
        } else if (value->kind != PNODE_SCALAR) {
            rc = pctx_fail(c, value, AECS_E_FORMAT, "must be a single value, not %s",
                           kind_name(value));
        } else if (value->len > AECS_POLICY_VALUE_MAX) {
            rc = pctx_fail(c, value, AECS_E_FORMAT, "longer than %u bytes", AECS_POLICY_VALUE_MAX);
        } else if ((p->value = dup_scalar(value)) == NULL) {
            rc = AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory");
        }
        pctx_pop(c, m3);
        pctx_pop(c, m2);
        if (rc != AECS_OK)
            goto out;
    }
out:
    pctx_pop(c, mark);
    return rc;
}

/*
 * The rules under parent[key], a mapping with exactly enclaveMatchAnyRules,
 * into *rules (whose items the caller frees, also on failure). `missing` is
 * the reason given when parent has no such key.
 */
static int rules_under(struct pctx *c, const struct pnode *parent, const char *key,
                       const char *missing, struct aecs_policy_rules *rules)
{
    static const char *const policy_keys[] = {"enclaveMatchAnyRules"};
    const struct pnode *policy = map_get(parent, key);
    size_t mark = push_field(c, key);
    int rc = AECS_OK;

    if (is_null(policy))
        GUARD_OUT(pctx_fail(c, policy != NULL ? policy : parent, AECS_E_FORMAT, "%s", missing));
    GUARD_OUT(expect_kind(c, policy, PNODE_MAP));
    GUARD_OUT(check_keys(c, policy, policy_keys, 1));
    const struct pnode *list = map_get(policy, "enclaveMatchAnyRules");
    size_t m2 = push_field(c, "enclaveMatchAnyRules");
    if (is_null(list))
        rc = pctx_fail(c, list != NULL ? list : policy, AECS_E_FORMAT, "required");
    if (rc == AECS_OK)
        rc = expect_kind(c, list, PNODE_SEQ);
    if (rc == AECS_OK && list->count == 0)
        rc = pctx_fail(c, list, AECS_E_FORMAT, "must hold at least one rule");
    if (rc == AECS_OK && list->count > AECS_POLICY_MAX_RULES)
        rc = pctx_fail(c, list, AECS_E_FORMAT, "more than %d rules", AECS_POLICY_MAX_RULES);
    if (rc == AECS_OK) {
        rules->items = calloc(list->count, sizeof(*rules->items));
        if (rules->items == NULL)
            rc = AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory");
    }
    for (size_t i = 0; rc == AECS_OK && i < list->count; i++) {
        size_t m3 = pctx_push(c, "[%zu]", i);
        rc = rule_from_tree(c, list->kids[i], &rules->items[i]);
        pctx_pop(c, m3);
        if (rc == AECS_OK)
            rules->count = i + 1;
    }
    pctx_pop(c, m2);
out:
    pctx_pop(c, mark);
    return rc;
}

static int parse_rules(struct pctx *c, const struct pnode *spec, struct aecs_secret_spec *s)
{
    return rules_under(c, spec, "policy",
                       "required: a secret without a policy would be released to no one "
                       "(or, in the seeds' AECS, to anyone)",
                       &s->rules);
}

static const char *const g_spec_keys[] = {"name",  "type",   "service", "readonly",
                                          "share", "policy", "params"};

int spec_from_tree(struct pctx *c, const struct pnode *spec, const struct pnode *data,
                   struct aecs_secret_spec *s)
{
    int set, rc = AECS_OK;
    const struct pnode *n;

    memset(s, 0, sizeof(*s));
    GUARD(expect_kind(c, spec, PNODE_MAP));
    GUARD(check_keys(c, spec, g_spec_keys, sizeof(g_spec_keys) / sizeof(g_spec_keys[0])));
    s->line = spec->line;
    GUARD_OUT(field_name(c, spec, "name", s->name));

    n = map_get(spec, "type");
    size_t mark = push_field(c, "type");
    if (is_unset(n))
        rc = pctx_fail(c, n != NULL ? n : spec, AECS_E_FORMAT, "required");
    if (rc == AECS_OK)
        rc = expect_kind(c, n, PNODE_SCALAR);
    if (rc == AECS_OK && aecs_secret_type_parse(n->value, &s->type) != AECS_OK)
        rc = pctx_fail(c, n, AECS_E_FORMAT,
                       "unknown secret type \"%.64s\" (known: SECRET_TYPE_AES256_KEY, "
                       "SECRET_TYPE_RSA_KEY_PAIR, SECRET_TYPE_SM2_KEY_PAIR, "
                       "SECRET_TYPE_CERTIFICATE, SECRET_TYPE_IMPORT_DATA, "
                       "SECRET_TYPE_CONFIGURATIONS, SECRET_TYPE_EC_KEY_PAIR, "
                       "SECRET_TYPE_ED25519_KEY_PAIR, SECRET_TYPE_HMAC_KEY)",
                       n->value);
    pctx_pop(c, mark);
    GUARD_OUT(rc);

    GUARD_OUT(field_name(c, spec, "service", s->service));
    GUARD_OUT(field_bool(c, spec, "readonly", &s->readonly, &set));

    n = map_get(spec, "share");
    mark = push_field(c, "share");
    s->share = AECS_SHARE_PRIVATE;
    if (!is_unset(n)) {
        rc = expect_kind(c, n, PNODE_SCALAR);
        if (rc == AECS_OK && strcmp(n->value, "public") == 0)
            s->share = AECS_SHARE_PUBLIC;
        else if (rc == AECS_OK && strcmp(n->value, "private") != 0)
            rc = pctx_fail(c, n, AECS_E_FORMAT, "must be private or public");
    }
    pctx_pop(c, mark);
    GUARD_OUT(rc);

    GUARD_OUT(parse_rules(c, spec, s));
    GUARD_OUT(parse_params(c, spec, s));

    /* data: the secret itself, for SECRET_TYPE_IMPORT_DATA only (never quoted in messages) */
    if (c->json)
        goto out;
    size_t base = c->path_len;
    /* `data` is a sibling of `spec`: drop ".spec" from the path */
    if (base >= 5 && strcmp(c->path + base - 5, ".spec") == 0)
        pctx_pop(c, base - 5);
    mark = push_field(c, "data");
    if (s->type != AECS_SECRET_IMPORT_DATA && data != NULL)
        rc = pctx_fail(c, data, AECS_E_FORMAT, "only a SECRET_TYPE_IMPORT_DATA secret has data");
    else if (s->type == AECS_SECRET_IMPORT_DATA && is_unset(data))
        rc = pctx_fail(c, data != NULL ? data : spec, AECS_E_FORMAT,
                       "required for SECRET_TYPE_IMPORT_DATA (the secret to import)");
    else if (data != NULL && data->kind != PNODE_SCALAR)
        rc = pctx_fail(c, data, AECS_E_FORMAT, "must be a single value, not %s", kind_name(data));
    else if (data != NULL && data->len > AECS_POLICY_VALUE_MAX)
        rc = pctx_fail(c, data, AECS_E_FORMAT, "longer than %u bytes", AECS_POLICY_VALUE_MAX);
    else if (data != NULL) {
        s->data = dup_scalar(data);
        s->data_size = data->len;
        if (s->data == NULL)
            rc = AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory");
    }
    pctx_pop(c, mark);
    if (base >= 5)
        pctx_push(c, "%s", ".spec");
out:
    if (rc != AECS_OK)
        spec_clear(s);
    return rc;
}

/* ---- documents ---- */

void aecs_policy_free(struct aecs_policy *policy)
{
    if (policy == NULL)
        return;
    for (size_t i = 0; policy->specs != NULL && i < policy->count; i++)
        spec_clear(&policy->specs[i]);
    free(policy->specs);
    free(policy);
}

int policy_from_tree(struct pctx *c, const struct pnode *root, struct aecs_policy **out)
{
    static const char *const top_keys[] = {"apiVersion", "kind", "secrets"};
    static const char *const item_keys[] = {"spec", "data"};
    struct aecs_policy *p = NULL;
    const struct pnode *n;
    int rc = AECS_OK;

    *out = NULL;
    GUARD(expect_kind(c, root, PNODE_MAP));
    GUARD(check_keys(c, root, top_keys, 3));

    n = map_get(root, "apiVersion");
    size_t mark = push_field(c, "apiVersion");
    if (is_unset(n))
        rc = pctx_fail(c, n != NULL ? n : root, AECS_E_FORMAT, "required (apiVersion: v1)");
    else if (n->kind != PNODE_SCALAR || strcmp(n->value, "v1") != 0)
        rc = pctx_fail(c, n, AECS_E_FORMAT, "must be v1");
    pctx_pop(c, mark);
    GUARD(rc);

    n = map_get(root, "kind");
    mark = push_field(c, "kind");
    if (is_unset(n))
        rc = pctx_fail(c, n != NULL ? n : root, AECS_E_FORMAT, "required (kind: SecretPolicy)");
    else if (n->kind != PNODE_SCALAR || strcmp(n->value, "SecretPolicy") != 0)
        rc = pctx_fail(c, n, AECS_E_FORMAT, "must be SecretPolicy");
    pctx_pop(c, mark);
    GUARD(rc);

    n = map_get(root, "secrets");
    mark = push_field(c, "secrets");
    if (is_null(n))
        rc = pctx_fail(c, n != NULL ? n : root, AECS_E_FORMAT, "required");
    if (rc == AECS_OK)
        rc = expect_kind(c, n, PNODE_SEQ);
    if (rc == AECS_OK && n->count == 0)
        rc = pctx_fail(c, n, AECS_E_FORMAT, "must hold at least one secret");
    if (rc == AECS_OK && n->count > AECS_POLICY_MAX_SECRETS)
        rc = pctx_fail(c, n, AECS_E_FORMAT, "more than %d secrets", AECS_POLICY_MAX_SECRETS);
    pctx_pop(c, mark);
    GUARD(rc);

    p = calloc(1, sizeof(*p));
    ENSURE_OUT(p != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
    p->specs = calloc(n->count, sizeof(*p->specs));
    ENSURE_OUT(p->specs != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
    p->count = n->count;
    for (size_t i = 0; i < n->count; i++) {
        const struct pnode *item = n->kids[i];
        mark = pctx_push(c, "secrets[%zu]", i);
        rc = expect_kind(c, item, PNODE_MAP);
        if (rc == AECS_OK)
            rc = check_keys(c, item, item_keys, 2);
        const struct pnode *spec = map_get(item, "spec");
        if (rc == AECS_OK && is_null(spec)) {
            size_t m2 = push_field(c, "spec");
            rc = pctx_fail(c, spec != NULL ? spec : item, AECS_E_FORMAT, "required");
            pctx_pop(c, m2);
        }
        if (rc == AECS_OK) {
            size_t m2 = push_field(c, "spec");
            rc = spec_from_tree(c, spec, map_get(item, "data"), &p->specs[i]);
            pctx_pop(c, m2);
        }
        for (size_t j = 0; rc == AECS_OK && j < i; j++) {
            if (strcmp(p->specs[j].name, p->specs[i].name) == 0) {
                size_t m2 = push_field(c, "spec.name");
                rc = pctx_fail(c, map_get(spec, "name"), AECS_E_FORMAT,
                               "duplicate secret name %s (also secrets[%zu], line %d)",
                               p->specs[i].name, j, p->specs[j].line);
                pctx_pop(c, m2);
            }
        }
        pctx_pop(c, mark);
        GUARD_OUT(rc);
    }
    *out = p;
    p = NULL;
out:
    aecs_policy_free(p);
    return rc;
}

int aecs_policy_parse(const char *text, size_t size, const char *source, unsigned flags,
                      struct aecs_policy **out, struct aecs_policy_error *err)
{
    struct pctx c;
    struct pnode *root = NULL;
    int rc = AECS_OK;

    *out = NULL;
    pctx_init(&c, source, flags, 0, err);
    ENSURE(text != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "policy: no text");
    GUARD_OUT(pnode_from_yaml(&c, text != NULL ? text : "", size, &root));
    GUARD_OUT(policy_from_tree(&c, root, out));
out:
    pnode_free(root);
    return rc;
}

int aecs_policy_rules_parse(const char *text, size_t size, const char *source, const char *key,
                            unsigned flags, struct aecs_policy_rules *out,
                            struct aecs_policy_error *err)
{
    struct pctx c;
    struct pnode *root = NULL;
    int rc = AECS_OK;

    memset(out, 0, sizeof(*out));
    pctx_init(&c, source, flags, 0, err);
    ENSURE(text != NULL || size == 0, AECS_E_INVALID_ARGUMENT, "policy: no text");
    ENSURE(key != NULL && key[0] != '\0', AECS_E_INVALID_ARGUMENT, "policy: no key");
    GUARD_OUT(pnode_from_yaml(&c, text != NULL ? text : "", size, &root));
    GUARD_OUT(expect_kind(&c, root, PNODE_MAP));
    GUARD_OUT(rules_under(&c, root, key, "required: the enclaveMatchAnyRules to check", out));
out:
    if (rc != AECS_OK)
        aecs_policy_rules_clear(out);
    pnode_free(root);
    return rc;
}

void aecs_policy_rules_clear(struct aecs_policy_rules *rules)
{
    if (rules == NULL)
        return;
    free(rules->items);
    memset(rules, 0, sizeof(*rules));
}

int aecs_policy_load(const char *path, unsigned flags, struct aecs_policy **out,
                     struct aecs_policy_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc;

    *out = NULL;
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    rc = aecs_file_read(path, AECS_POLICY_MAX_SIZE, &data, &size);
    if (rc != AECS_OK) {
        if (err != NULL)
            snprintf(err->reason, sizeof(err->reason), "%.380s", aecs_err_last()->message);
        return rc;
    }
    rc = aecs_policy_parse((const char *)data, size, path, flags, out, err);
    /* the file may hold imported data */
    aecs_cleanse(data, size);
    free(data);
    return rc;
}
