/*
 * policy_json.c - a secret spec to and from JSON (jansson), for the server's
 * store and `secret list`.
 *
 * Writing: the YAML field names, every default written out, no secret
 * material (no `data`, no values of a SECRET_TYPE_CONFIGURATIONS secret).
 * Reading: the JSON is turned into the same document tree the YAML loader
 * makes (strings as quoted scalars; numbers, booleans and null as plain ones)
 * and checked by the same validator, so both forms obey the same rules.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "policy/policy_internal.h"

/* ---- JSON to tree ---- */

static int scalar_node(const char *text, size_t len, int quoted, struct pnode **out)
{
    struct pnode *n = calloc(1, sizeof(*n));

    *out = NULL;
    if (n == NULL || (n->value = malloc(len + 1)) == NULL) {
        free(n);
        return AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory");
    }
    n->kind = PNODE_SCALAR;
    n->quoted = quoted;
    memcpy(n->value, text, len);
    n->value[len] = '\0';
    n->len = len;
    *out = n;
    return AECS_OK;
}

static int json_node(struct pctx *c, const json_t *j, int depth, struct pnode **out)
{
    struct pnode *n = NULL;
    char buf[64];
    int rc = AECS_OK;

    *out = NULL;
    if (depth > PNODE_MAX_DEPTH)
        return pctx_fail_at(c, 0, 0, AECS_E_FORMAT, "nested more than %d levels deep",
                            PNODE_MAX_DEPTH);
    switch (json_typeof(j)) {
    case JSON_STRING: {
        size_t len = json_string_length(j);
        if (memchr(json_string_value(j), '\0', len) != NULL)
            return pctx_fail_at(c, 0, 0, AECS_E_FORMAT, "a string holds a NUL character");
        return scalar_node(json_string_value(j), len, 1, out);
    }
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return scalar_node(buf, strlen(buf), 0, out);
    case JSON_REAL:
        /* keep a real a real: 1.0 must not pass for the integer 1 */
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
        if (strspn(buf, "-0123456789") == strlen(buf))
            strcat(buf, ".0");
        return scalar_node(buf, strlen(buf), 0, out);
    case JSON_TRUE:
        return scalar_node("true", 4, 0, out);
    case JSON_FALSE:
        return scalar_node("false", 5, 0, out);
    case JSON_NULL:
        return scalar_node("null", 4, 0, out);
    case JSON_ARRAY: {
        size_t count = json_array_size(j);
        n = calloc(1, sizeof(*n));
        ENSURE_OUT(n != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
        n->kind = PNODE_SEQ;
        if (count > 0) {
            n->kids = calloc(count, sizeof(*n->kids));
            ENSURE_OUT(n->kids != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
        }
        n->count = count;
        for (size_t i = 0; i < count; i++)
            GUARD_OUT(json_node(c, json_array_get(j, i), depth + 1, &n->kids[i]));
        break;
    }
    case JSON_OBJECT: {
        size_t count = json_object_size(j), i = 0;
        const char *key;
        json_t *value;
        n = calloc(1, sizeof(*n));
        ENSURE_OUT(n != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
        n->kind = PNODE_MAP;
        if (count > 0) {
            n->kids = calloc(2 * count, sizeof(*n->kids));
            ENSURE_OUT(n->kids != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
        }
        n->count = count;
        json_object_foreach((json_t *)j, key, value)
        {
            if (i >= count)
                break;
            GUARD_OUT(scalar_node(key, strlen(key), 1, &n->kids[2 * i]));
            GUARD_OUT(json_node(c, value, depth + 1, &n->kids[2 * i + 1]));
            i++;
        }
        break;
    }
    default:
        return pctx_fail_at(c, 0, 0, AECS_E_FORMAT, "unexpected JSON value");
    }
    *out = n;
    n = NULL;
out:
    pnode_free(n);
    return rc;
}

int pnode_from_json(struct pctx *c, const json_t *json, struct pnode **out)
{
    return json_node(c, json, 0, out);
}

int aecs_policy_spec_from_json(const json_t *json, unsigned flags, struct aecs_secret_spec **out,
                               struct aecs_policy_error *err)
{
    struct pctx c;
    struct pnode *root = NULL;
    struct aecs_secret_spec *s = NULL;
    int rc = AECS_OK;

    *out = NULL;
    pctx_init(&c, NULL, flags, 1, err);
    ENSURE(json != NULL, AECS_E_INVALID_ARGUMENT, "policy: no JSON spec");
    GUARD_OUT(pnode_from_json(&c, json, &root));
    s = calloc(1, sizeof(*s));
    ENSURE_OUT(s != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
    GUARD_OUT(spec_from_tree(&c, root, NULL, s));
    *out = s;
    s = NULL;
out:
    aecs_policy_spec_free(s);
    pnode_free(root);
    return rc;
}

void aecs_policy_spec_free(struct aecs_secret_spec *spec)
{
    if (spec == NULL)
        return;
    spec_clear(spec);
    free(spec);
}

/* ---- spec to JSON ---- */

static int put(json_t *o, const char *key, json_t *value)
{
    if (value == NULL || json_object_set_new(o, key, value) != 0)
        return AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory building JSON");
    return AECS_OK;
}

static int append(json_t *a, json_t *value)
{
    if (value == NULL || json_array_append_new(a, value) != 0)
        return AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory building JSON");
    return AECS_OK;
}

static int put_hex(json_t *o, const char *key, const uint8_t *data, size_t size)
{
    char buf[2 * 64 + 1];

    aecs_hex_encode(data, size, buf);
    return put(o, key, json_string(buf));
}

static int rule_to_json(const struct aecs_policy_rule *r, json_t **out)
{
    static const struct {
        const char *key;
        unsigned bit;
        size_t offset;
        size_t size;
    } hex[] = {
        {"mrenclave", AECS_RULE_MRENCLAVE, offsetof(struct aecs_policy_rule, mrenclave), 32},
        {"mrsigner", AECS_RULE_MRSIGNER, offsetof(struct aecs_policy_rule, mrsigner), 32},
        {"config_id", AECS_RULE_CONFIG_ID, offsetof(struct aecs_policy_rule, config_id), 64},
        {"mrtd", AECS_RULE_MRTD, offsetof(struct aecs_policy_rule, mrtd), 48},
        {"rtmr0", AECS_RULE_RTMR(0), offsetof(struct aecs_policy_rule, rtmr), 48},
        {"rtmr1", AECS_RULE_RTMR(1), offsetof(struct aecs_policy_rule, rtmr) + 48, 48},
        {"rtmr2", AECS_RULE_RTMR(2), offsetof(struct aecs_policy_rule, rtmr) + 96, 48},
        {"rtmr3", AECS_RULE_RTMR(3), offsetof(struct aecs_policy_rule, rtmr) + 144, 48},
        {"mrconfigid", AECS_RULE_MRCONFIGID, offsetof(struct aecs_policy_rule, mrconfigid), 48},
        {"mrowner", AECS_RULE_MROWNER, offsetof(struct aecs_policy_rule, mrowner), 48},
        {"measurement", AECS_RULE_MEASUREMENT, offsetof(struct aecs_policy_rule, measurement), 48},
        {"host_data", AECS_RULE_HOST_DATA, offsetof(struct aecs_policy_rule, host_data), 32},
    };
    json_t *o = json_object();
    int rc = AECS_OK;

    *out = NULL;
    ENSURE_OUT(o != NULL, AECS_E_NO_MEMORY, "policy: out of memory building JSON");
    if (r->platform != AECS_TEE_UNKNOWN)
        GUARD_OUT(put(o, "platform", json_string(aecs_tee_name(r->platform))));
    for (size_t i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
        if (r->fields & hex[i].bit)
            GUARD_OUT(put_hex(o, hex[i].key, (const uint8_t *)r + hex[i].offset, hex[i].size));
    }
    if (r->fields & AECS_RULE_PRODID)
        GUARD_OUT(put(o, "prodID", json_integer(r->prodid)));
    if (r->fields & AECS_RULE_MIN_ISVSVN)
        GUARD_OUT(put(o, "minIsvSvn", json_integer(r->min_isvsvn)));
    if (r->fields & AECS_RULE_MIN_TCB) {
        json_t *t = json_object();
        GUARD_OUT(put(o, "min_tcb", t));
        GUARD_OUT(put(t, "bootloader", json_integer(r->min_tcb.bootloader)));
        GUARD_OUT(put(t, "tee", json_integer(r->min_tcb.tee)));
        GUARD_OUT(put(t, "snp", json_integer(r->min_tcb.snp)));
        GUARD_OUT(put(t, "microcode", json_integer(r->min_tcb.microcode)));
        if (r->min_tcb.has_fmc)
            GUARD_OUT(put(t, "fmc", json_integer(r->min_tcb.fmc)));
    }
    if (r->tcb_statuses != 0) {
        json_t *a = json_array();
        GUARD_OUT(put(o, "accepted_tcb_statuses", a));
        for (unsigned bit = 1;
             bit != 0 && bit <= AECS_POLICY_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
             bit <<= 1) {
            if (r->tcb_statuses & bit)
                GUARD_OUT(append(a, json_string(aecs_policy_tcb_name(bit))));
        }
    }
    if (r->advisory_count > 0) {
        json_t *a = json_array();
        GUARD_OUT(put(o, "accepted_advisories", a));
        for (size_t i = 0; i < r->advisory_count && i < AECS_POLICY_MAX_ADVISORIES; i++)
            GUARD_OUT(append(a, json_string(r->advisories[i])));
    }
    GUARD_OUT(put(o, "allow_debug", json_boolean(r->allow_debug)));
    GUARD_OUT(put(o, "allow_sim", json_boolean(r->allow_sim)));
    if (r->insecure_allow_any_enclave)
        GUARD_OUT(put(o, "insecure_allow_any_enclave", json_true()));
    *out = o;
    o = NULL;
out:
    json_decref(o);
    return rc;
}

int aecs_policy_spec_to_json(const struct aecs_secret_spec *spec, json_t **out)
{
    json_t *o = json_object(), *policy = NULL, *rules = NULL, *params = NULL;
    const char *type = aecs_secret_type_name(spec->type);
    int rc = AECS_OK;

    *out = NULL;
    ENSURE_OUT(o != NULL, AECS_E_NO_MEMORY, "policy: out of memory building JSON");
    ENSURE_OUT(type != NULL, AECS_E_INVALID_ARGUMENT, "policy: spec %.64s has no known type",
               spec->name);
    GUARD_OUT(put(o, "name", json_string(spec->name)));
    GUARD_OUT(put(o, "type", json_string(type)));
    GUARD_OUT(put(o, "service", json_string(spec->service)));
    GUARD_OUT(put(o, "readonly", json_boolean(spec->readonly)));
    GUARD_OUT(
        put(o, "share", json_string(spec->share == AECS_SHARE_PUBLIC ? "public" : "private")));
    GUARD_OUT(put(o, "policy", policy = json_object()));
    GUARD_OUT(put(policy, "enclaveMatchAnyRules", rules = json_array()));
    for (size_t i = 0; i < spec->rules.count; i++) {
        json_t *r;
        GUARD_OUT(rule_to_json(&spec->rules.items[i], &r));
        GUARD_OUT(append(rules, r));
    }
    GUARD_OUT(put(o, "params", params = json_array()));
    for (size_t i = 0; i < spec->param_count; i++) {
        const struct aecs_policy_param *p = &spec->params[i];
        json_t *item = json_object();
        GUARD_OUT(append(params, item));
        GUARD_OUT(put(item, "key", json_string(p->key)));
        /* configuration values are the secret itself */
        if (spec->type != AECS_SECRET_CONFIGURATIONS && p->value != NULL)
            GUARD_OUT(put(item, "value", json_string(p->value)));
    }
    *out = o;
    o = NULL;
out:
    json_decref(o);
    return rc;
}
