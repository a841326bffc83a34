/*
 * policy.h - secret policies: the SecretPolicy YAML that users of the seeds'
 * AECS write today, parsed into secret specs, the same specs to and from JSON
 * (what the server stores and `secret list` prints), and the matching of a
 * spec's rules against the claims of verified evidence (claims.h).
 *
 * The format, every field, the defaults and the matching rules are written out
 * in docs/policy.md. In short:
 *
 *   apiVersion: v1
 *   kind: SecretPolicy
 *   secrets:
 *   - spec:
 *       name: data_key_1                 [A-Za-z0-9._-], 1..64
 *       type: SECRET_TYPE_RSA_KEY_PAIR
 *       service: service1                [A-Za-z0-9._-], 1..64
 *       readonly: "true"                 default false
 *       share: "public"                  private (default) | public
 *       policy:
 *         enclaveMatchAnyRules:          OR-ed; inside a rule every set field must match
 *         - mrsigner: "<64 hex>"
 *           prodID: 1
 *           minIsvSvn: 2
 *       params:                          ordered key/value strings, checked by the key store
 *       - key: bit_length
 *         value: 2048
 *     data: "..."                        SECRET_TYPE_IMPORT_DATA only
 *
 * Fail closed: unknown keys, duplicate keys, a value of the wrong kind, an
 * unknown secret type, a malformed hex value, YAML aliases, more than one
 * document: each is an error that names the file, the line and the field path
 * ("policy.yaml:14: secrets[0].spec.policy.enclaveMatchAnyRules[0].mrenclave:
 * must be 64 hex digits (got 10)"). A rule that names no enclave identity is
 * refused unless the caller passes AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE.
 * Error messages never quote the value of `data` or of a param.
 */
#ifndef AECS_POLICY_POLICY_H
#define AECS_POLICY_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "keystore/secret.h"
#include "policy/claims.h"

#define AECS_POLICY_MAX_SIZE (1u << 20)   /* bytes of YAML */
#define AECS_POLICY_NAME_MAX 64           /* name, service, param key (without the NUL) */
#define AECS_POLICY_MAX_SECRETS 256       /* secrets in one file */
#define AECS_POLICY_MAX_RULES 16          /* enclaveMatchAnyRules of one secret */
#define AECS_POLICY_MAX_PARAMS 64         /* params of one secret */
#define AECS_POLICY_MAX_ADVISORIES 32     /* accepted_advisories of one rule */
#define AECS_POLICY_VALUE_MAX (64u << 10) /* bytes of one param value or of data */

/* Flags for aecs_policy_parse / aecs_policy_load / aecs_policy_spec_from_json. */
#define AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE 0x1u /* --insecure-allow-any-enclave */

/* Secret types (enum aecs_secret_type) and their names are the keystore's: keystore/secret.h. */

enum aecs_share_mode { AECS_SHARE_PRIVATE = 0, AECS_SHARE_PUBLIC = 1 };

/* Intel TCB statuses a rule can accept, as bits. Revoked is never acceptable. */
enum aecs_policy_tcb {
    AECS_POLICY_TCB_UP_TO_DATE = 1u << 0,
    AECS_POLICY_TCB_SW_HARDENING_NEEDED = 1u << 1,
    AECS_POLICY_TCB_CONFIGURATION_NEEDED = 1u << 2,
    AECS_POLICY_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED = 1u << 3,
    AECS_POLICY_TCB_OUT_OF_DATE = 1u << 4,
    AECS_POLICY_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED = 1u << 5,
    AECS_POLICY_TCB_TD_RELAUNCH_ADVISED = 1u << 6,
    AECS_POLICY_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED = 1u << 7,
};
#define AECS_POLICY_TCB_DEFAULT (AECS_POLICY_TCB_UP_TO_DATE | AECS_POLICY_TCB_SW_HARDENING_NEEDED)

/* The bit of a status name ("OutOfDate"), or 0 when it is not an acceptable status. */
unsigned aecs_policy_tcb_bit(const char *status);
/* The name of one bit, or NULL. */
const char *aecs_policy_tcb_name(unsigned bit);

/* Which fields of a rule are set (struct aecs_policy_rule.fields). */
enum aecs_rule_field {
    AECS_RULE_MRENCLAVE = 1u << 0,
    AECS_RULE_MRSIGNER = 1u << 1,
    AECS_RULE_PRODID = 1u << 2,
    AECS_RULE_MIN_ISVSVN = 1u << 3, /* only when above 0 */
    AECS_RULE_CONFIG_ID = 1u << 4,
    AECS_RULE_MRTD = 1u << 5,
    AECS_RULE_RTMR0 = 1u << 6, /* RTMR1..3 are the next bits */
    AECS_RULE_MRCONFIGID = 1u << 10,
    AECS_RULE_MROWNER = 1u << 11,
    AECS_RULE_MEASUREMENT = 1u << 12,
    AECS_RULE_HOST_DATA = 1u << 13,
    AECS_RULE_MIN_TCB = 1u << 14,
};
#define AECS_RULE_RTMR(i) (AECS_RULE_RTMR0 << (i))

/* A minimum SEV-SNP TCB: every component of REPORTED_TCB must be at least this. */
struct aecs_policy_snp_tcb {
    uint8_t bootloader, tee, snp, microcode;
    int has_fmc; /* fmc set: the platform must have an FMC component (Turin) */
    uint8_t fmc;
};

struct aecs_policy_rule {
    enum aecs_tee platform; /* AECS_TEE_UNKNOWN only in an insecure any-enclave rule */
    unsigned fields;        /* AECS_RULE_* bits of the identity fields that are set */

    /* SGX */
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t prodid;     /* exact ISVPRODID */
    uint16_t min_isvsvn; /* minimum ISVSVN */
    uint8_t config_id[64];
    /* TDX */
    uint8_t mrtd[48];
    uint8_t rtmr[4][48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    /* SNP */
    uint8_t measurement[48];
    uint8_t host_data[32];
    struct aecs_policy_snp_tcb min_tcb;

    unsigned tcb_statuses; /* AECS_POLICY_TCB_* bits; 0 for SNP rules (not applicable) */
    size_t advisory_count; /* accepted when the TCB status is not UpToDate */
    char advisories[AECS_POLICY_MAX_ADVISORIES][AECS_CLAIMS_ADVISORY_ID_MAX];
    int allow_debug;
    int allow_sim;
    int insecure_allow_any_enclave; /* a rule without identity, accepted on explicit opt-in */

    int line; /* the rule's line in the YAML file (0 when it came from JSON) */
};

struct aecs_policy_rules {
    size_t count;
    struct aecs_policy_rule *items;
};

/* One params entry. value is NULL only in the JSON form of SECRET_TYPE_CONFIGURATIONS. */
struct aecs_policy_param {
    char *key;
    char *value;
};

struct aecs_secret_spec {
    char name[AECS_POLICY_NAME_MAX + 1];
    enum aecs_secret_type type;
    char service[AECS_POLICY_NAME_MAX + 1];
    int readonly;
    enum aecs_share_mode share;
    struct aecs_policy_rules rules;
    size_t param_count;
    struct aecs_policy_param *params; /* in file order */
    char *data;                       /* SECRET_TYPE_IMPORT_DATA's secret, else NULL */
    size_t data_size;
    int line; /* the line of `spec:` (0 when it came from JSON) */
};

/* A parsed SecretPolicy file. */
struct aecs_policy {
    size_t count;
    struct aecs_secret_spec *specs;
};

/* Where a parse failed: also in the recorded error's message. */
struct aecs_policy_error {
    int line;       /* 1-based, 0 when unknown (JSON input, missing file) */
    int column;     /* 1-based, 0 when unknown */
    char path[256]; /* "secrets[2].spec.policy.enclaveMatchAnyRules[0].mrenclave", or "" */
    char reason[384];
};

/*
 * Parses a SecretPolicy YAML document from text[0..size). `source` names the
 * input in messages (a file name). On success *out holds every secret of the
 * file; free it with aecs_policy_free. On failure *out is NULL, the recorded
 * error says "SOURCE:LINE: PATH: REASON", and *err (when not NULL) holds the
 * parts. AECS_E_FORMAT for anything wrong with the document,
 * AECS_E_TOO_LARGE above AECS_POLICY_MAX_SIZE, AECS_E_NO_MEMORY.
 */
AECS_MUST_CHECK int aecs_policy_parse(const char *text, size_t size, const char *source,
                                      unsigned flags, struct aecs_policy **out,
                                      struct aecs_policy_error *err);

/* Reads the file at path and parses it (AECS_E_NOT_FOUND when it does not exist). */
AECS_MUST_CHECK int aecs_policy_load(const char *path, unsigned flags, struct aecs_policy **out,
                                     struct aecs_policy_error *err);

/*
 * Parses the rules held by a YAML document that is not a SecretPolicy: under
 * its top-level key `key`, a mapping with exactly `enclaveMatchAnyRules`, as
 * a secret's `policy` (the server policy of a client's configuration file,
 * say). The rules are checked exactly as a secret's; the document's other
 * top-level keys are the caller's to check. Errors as for aecs_policy_parse,
 * the path starting with `key` ("client.yaml:7:
 * server_policy.enclaveMatchAnyRules[0].mrenclave: must be 64 hex digits
 * ..."); a missing `key` is an error. On success *out holds 1 to
 * AECS_POLICY_MAX_RULES rules: release them with aecs_policy_rules_clear. On
 * failure *out is empty.
 */
AECS_MUST_CHECK int aecs_policy_rules_parse(const char *text, size_t size, const char *source,
                                            const char *key, unsigned flags,
                                            struct aecs_policy_rules *out,
                                            struct aecs_policy_error *err);

/* Frees the rules of aecs_policy_rules_parse and empties *rules. NULL is fine. */
void aecs_policy_rules_clear(struct aecs_policy_rules *rules);

/* Frees a parsed file; params and data are wiped first. NULL is fine. */
void aecs_policy_free(struct aecs_policy *policy);

/*
 * The JSON form of a spec: the same field names as the YAML, hex in
 * lowercase, numbers and booleans as JSON numbers and booleans, every default
 * written out (platform, accepted_tcb_statuses, ...). It never holds secret
 * material: `data` is left out, and so are the values of a
 * SECRET_TYPE_CONFIGURATIONS secret's params (their keys stay). *out is a new
 * reference.
 */
AECS_MUST_CHECK int aecs_policy_spec_to_json(const struct aecs_secret_spec *spec, json_t **out);

/*
 * Reads a spec back from its JSON form, with the same checks as the YAML
 * parser (unknown keys, types, hex, identity). `data` is refused, and so are
 * param values of a SECRET_TYPE_CONFIGURATIONS secret. A rule without identity
 * is accepted only when it says "insecure_allow_any_enclave": true AND flags
 * hold AECS_POLICY_INSECURE_ALLOW_ANY_ENCLAVE. The caller frees *out with
 * aecs_policy_spec_free.
 */
AECS_MUST_CHECK int aecs_policy_spec_from_json(const json_t *json, unsigned flags,
                                               struct aecs_secret_spec **out,
                                               struct aecs_policy_error *err);

/* Frees a spec made by aecs_policy_spec_from_json (wiping params and data). NULL is fine. */
void aecs_policy_spec_free(struct aecs_secret_spec *spec);

/* 1 when the rule pins an enclave identity: mrenclave or mrsigner, mrtd, or measurement. */
int aecs_policy_rule_has_identity(const struct aecs_policy_rule *rule);

/*
 * Decides whether claims satisfy rules (OR of the rules; inside a rule, every
 * set field must match, and the debug, sim and TCB requirements hold). Returns
 * AECS_OK when some rule allows the claims; anything else is a refusal:
 * AECS_E_MISMATCH when no rule matches, AECS_E_INVALID_ARGUMENT for missing
 * rules or claims. why (when not NULL) gets one line a user can act on:
 * "allowed by enclaveMatchAnyRules[1]", or, for each rule, why it does not
 * match ("enclaveMatchAnyRules[0]: mrenclave does not match: expected
 * 1a2b.., got 9f8e..; debug enclave refused"). The same text is the recorded
 * error on refusal. Measurements are not secret; nothing secret is printed.
 */
AECS_MUST_CHECK int aecs_policy_match(const struct aecs_policy_rules *rules,
                                      const struct aecs_claims *claims, char *why, size_t why_size);

#endif
