/*
 * secret.c - secret types, their params, and making a secret's value; see
 * secret.h.
 *
 * Each type has a table entry: its name, the params it takes (NULL-terminated;
 * CONFIGURATIONS takes any), and a maker. Params are checked in two passes:
 * first names (unknown or repeated keys are refused before anything else),
 * then each value the maker reads, with a message naming the field. Key
 * material is made by src/crypto/keygen.c; CONFIGURATIONS JSON by jansson.
 */
#include "keystore/secret.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/keygen.h"
#include "crypto/secmem.h"

#define AES256_KEY_SIZE 32
#define HMAC_MIN 16
#define HMAC_MAX 128
#define HMAC_DEFAULT 32
#define RSA_DEFAULT_BITS 2048
#define CERT_DEFAULT_DAYS 365
#define CERT_MAX_DAYS 36500
#define CERT_DEFAULT_SUBJECT "CN=aecs"
#define CONFIG_MAX_KEY 256
#define CONFIG_MAX_VALUE (64u << 10)

struct params {
    const struct aecs_secret_param *list;
    size_t count;
};

typedef int (*maker_fn)(const struct params *p, const uint8_t *data, size_t data_size,
                        struct aecs_secret *s);

struct type_info {
    enum aecs_secret_type type;
    const char *name;
    const char *const *params; /* NULL: any key (CONFIGURATIONS) */
    maker_fn make;
};

/* ---- param values ---- */

/* The value of param `name`, or NULL when absent. */
static const char *param(const struct params *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->list[i].key, name) == 0)
            return p->list[i].value;
    return NULL;
}

/* A decimal number of 1..9 digits (no sign, no spaces). */
static int parse_uint(const char *name, const char *text, unsigned long *out)
{
    size_t len = strlen(text);
    unsigned long v = 0;
    int ok = len >= 1 && len <= 9;

    for (size_t i = 0; ok && i < len; i++) {
        ok = text[i] >= '0' && text[i] <= '9';
        v = v * 10 + (unsigned long)(text[i] - '0');
    }
    ENSURE(ok, AECS_E_INVALID_ARGUMENT, "params.%s: '%.20s' is not a number", name, text);
    *out = v;
    return AECS_OK;
}

/* A number param in lo..hi, or dflt when absent. */
static int number_param(const struct params *p, const char *name, unsigned long lo,
                        unsigned long hi, unsigned long dflt, unsigned long *out)
{
    const char *text = param(p, name);

    *out = dflt;
    if (text == NULL)
        return AECS_OK;
    GUARD(parse_uint(name, text, out));
    ENSURE(*out >= lo && *out <= hi, AECS_E_INVALID_ARGUMENT, "params.%s: %lu is not in %lu..%lu",
           name, *out, lo, hi);
    return AECS_OK;
}

static int rsa_bits_param(const struct params *p, unsigned *bits)
{
    const char *text = param(p, "bit_length");
    unsigned long v = RSA_DEFAULT_BITS;

    if (text != NULL)
        GUARD(parse_uint("bit_length", text, &v));
    ENSURE(v == 2048 || v == 3072 || v == 4096, AECS_E_INVALID_ARGUMENT,
           "params.bit_length: %lu is not one of 2048, 3072, 4096", v);
    *bits = (unsigned)v;
    return AECS_OK;
}

/* ---- makers ---- */

static int set_private(struct aecs_secret *s, const char *content_type, size_t size)
{
    s->private_data = aecs_secure_alloc(size + 1);
    ENSURE(s->private_data != NULL, AECS_E_NO_MEMORY, "out of memory");
    s->private_size = size;
    s->content_type = content_type;
    return AECS_OK;
}

/* Moves a generated key pair into s (private and public parts, both PEM). */
static void take_pair(struct aecs_secret *s, struct aecs_keypair_pem *kp)
{
    s->content_type = AECS_CONTENT_PEM;
    s->private_data = (uint8_t *)kp->private_pem;
    s->private_size = kp->private_size;
    s->public_content_type = AECS_CONTENT_PEM;
    s->public_data = kp->public_pem;
    s->public_size = kp->public_size;
    memset(kp, 0, sizeof(*kp));
}

static int make_random(struct aecs_secret *s, size_t size)
{
    GUARD(set_private(s, AECS_CONTENT_BINARY, size));
    return aecs_keygen_random(s->private_data, size);
}

static int make_aes256(const struct params *p, const uint8_t *data, size_t data_size,
                       struct aecs_secret *s)
{
    return make_random(s, AES256_KEY_SIZE);
}

static int make_hmac(const struct params *p, const uint8_t *data, size_t data_size,
                     struct aecs_secret *s)
{
    unsigned long size;

    GUARD(number_param(p, "byte_length", HMAC_MIN, HMAC_MAX, HMAC_DEFAULT, &size));
    return make_random(s, (size_t)size);
}

static int make_rsa(const struct params *p, const uint8_t *data, size_t data_size,
                    struct aecs_secret *s)
{
    const char *form = param(p, "pkcs_type");
    struct aecs_keypair_pem kp;
    unsigned bits;
    int pkcs1 = 0;

    GUARD(rsa_bits_param(p, &bits));
    if (form != NULL) {
        ENSURE(strcmp(form, "pkcs1") == 0 || strcmp(form, "pkcs8") == 0, AECS_E_INVALID_ARGUMENT,
               "params.pkcs_type: '%.20s' is not one of pkcs1, pkcs8", form);
        pkcs1 = strcmp(form, "pkcs1") == 0;
    }
    GUARD(aecs_keygen_rsa(bits, pkcs1 ? AECS_RSA_PKCS1 : AECS_RSA_PKCS8, &kp));
    take_pair(s, &kp);
    return AECS_OK;
}

static int make_sm2(const struct params *p, const uint8_t *data, size_t data_size,
                    struct aecs_secret *s)
{
    struct aecs_keypair_pem kp;

    GUARD(aecs_keygen_sm2(&kp));
    take_pair(s, &kp);
    return AECS_OK;
}

static int make_ec(const struct params *p, const uint8_t *data, size_t data_size,
                   struct aecs_secret *s)
{
    const char *curve = param(p, "curve");
    enum aecs_ec_curve c = AECS_CURVE_P256;
    struct aecs_keypair_pem kp;

    if (curve != NULL) {
        if (strcmp(curve, "P-256") == 0 || strcmp(curve, "prime256v1") == 0)
            c = AECS_CURVE_P256;
        else if (strcmp(curve, "P-384") == 0 || strcmp(curve, "secp384r1") == 0)
            c = AECS_CURVE_P384;
        else
            return AECS_ERR(AECS_E_INVALID_ARGUMENT,
                            "params.curve: '%.20s' is not one of P-256, P-384 (or their names "
                            "prime256v1, secp384r1)",
                            curve);
    }
    GUARD(aecs_keygen_ec(c, &kp));
    take_pair(s, &kp);
    return AECS_OK;
}

static int make_ed25519(const struct params *p, const uint8_t *data, size_t data_size,
                        struct aecs_secret *s)
{
    struct aecs_keypair_pem kp;

    GUARD(aecs_keygen_ed25519(&kp));
    take_pair(s, &kp);
    return AECS_OK;
}

static int make_certificate(const struct params *p, const uint8_t *data, size_t data_size,
                            struct aecs_secret *s)
{
    const char *subject = param(p, "subject");
    struct aecs_keypair_pem kp;
    unsigned long days;
    unsigned bits;
    char *cn = NULL;
    char *o = NULL;
    int rc;

    GUARD(rsa_bits_param(p, &bits));
    GUARD(number_param(p, "days", 1, CERT_MAX_DAYS, CERT_DEFAULT_DAYS, &days));
    if (subject == NULL)
        subject = CERT_DEFAULT_SUBJECT;
    /* Checked here first so that a bad subject is reported before an RSA key is made. */
    rc = aecs_keygen_parse_subject(subject, &cn, &o);
    free(cn);
    free(o);
    if (rc != AECS_OK) {
        aecs_err_prefix("params.subject: ");
        return rc;
    }
    GUARD(aecs_keygen_self_signed(bits, (unsigned)days, subject, (int64_t)time(NULL), &kp));
    take_pair(s, &kp);
    return AECS_OK;
}

static int make_import(const struct params *p, const uint8_t *data, size_t data_size,
                       struct aecs_secret *s)
{
    ENSURE(data != NULL && data_size > 0, AECS_E_INVALID_ARGUMENT,
           "data: SECRET_TYPE_IMPORT_DATA needs the data to import");
    ENSURE(data_size <= AECS_SECRET_MAX_DATA, AECS_E_TOO_LARGE,
           "data: %zu bytes, at most %u can be imported", data_size, AECS_SECRET_MAX_DATA);
    GUARD(set_private(s, AECS_CONTENT_BINARY, data_size));
    memcpy(s->private_data, data, data_size);
    return AECS_OK;
}

static int make_configurations(const struct params *p, const uint8_t *data, size_t data_size,
                               struct aecs_secret *s)
{
    int rc = AECS_OK;
    json_t *obj = NULL;
    size_t size;

    ENSURE(p->count > 0, AECS_E_INVALID_ARGUMENT,
           "params: SECRET_TYPE_CONFIGURATIONS needs at least one key-value pair");
    obj = json_object();
    ENSURE(obj != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < p->count; i++) {
        const char *key = p->list[i].key;
        const char *value = p->list[i].value;
        json_t *str;

        ENSURE_OUT(strlen(key) <= CONFIG_MAX_KEY, AECS_E_INVALID_ARGUMENT,
                   "params.%.64s: key longer than %d bytes", key, CONFIG_MAX_KEY);
        ENSURE_OUT(strlen(value) <= CONFIG_MAX_VALUE, AECS_E_INVALID_ARGUMENT,
                   "params.%.64s: value longer than %u bytes", key, CONFIG_MAX_VALUE);
        str = json_string(value);
        ENSURE_OUT(str != NULL, AECS_E_INVALID_ARGUMENT, "params.%.64s: value is not UTF-8 text",
                   key);
        ENSURE_OUT(json_object_set_new(obj, key, str) == 0, AECS_E_INVALID_ARGUMENT,
                   "params[%zu]: key is not UTF-8 text", i);
    }
    size = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    ENSURE_OUT(size > 0, AECS_E_INTERNAL, "configurations: cannot encode JSON");
    ENSURE_OUT(size <= AECS_SECRET_MAX_DATA, AECS_E_TOO_LARGE,
               "params: configurations of %zu bytes as JSON, at most %u", size,
               AECS_SECRET_MAX_DATA);
    GUARD_OUT(set_private(s, AECS_CONTENT_JSON, size));
    ENSURE_OUT(json_dumpb(obj, (char *)s->private_data, size, JSON_COMPACT) == size,
               AECS_E_INTERNAL, "configurations: cannot encode JSON");
    s->content_type = AECS_CONTENT_JSON;
out:
    json_decref(obj);
    return rc;
}

/* ---- the type table ---- */

static const char *const no_params[] = {NULL};
static const char *const rsa_params[] = {"bit_length", "pkcs_type", NULL};
static const char *const cert_params[] = {"bit_length", "days", "subject", NULL};
static const char *const ec_params[] = {"curve", NULL};
static const char *const hmac_params[] = {"byte_length", NULL};

static const struct type_info g_types[] = {
    {AECS_SECRET_AES256_KEY, "SECRET_TYPE_AES256_KEY", no_params, make_aes256},
    {AECS_SECRET_RSA_KEY_PAIR, "SECRET_TYPE_RSA_KEY_PAIR", rsa_params, make_rsa},
    {AECS_SECRET_SM2_KEY_PAIR, "SECRET_TYPE_SM2_KEY_PAIR", no_params, make_sm2},
    {AECS_SECRET_CERTIFICATE, "SECRET_TYPE_CERTIFICATE", cert_params, make_certificate},
    {AECS_SECRET_IMPORT_DATA, "SECRET_TYPE_IMPORT_DATA", no_params, make_import},
    {AECS_SECRET_CONFIGURATIONS, "SECRET_TYPE_CONFIGURATIONS", NULL, make_configurations},
    {AECS_SECRET_EC_KEY_PAIR, "SECRET_TYPE_EC_KEY_PAIR", ec_params, make_ec},
    {AECS_SECRET_ED25519_KEY_PAIR, "SECRET_TYPE_ED25519_KEY_PAIR", no_params, make_ed25519},
    {AECS_SECRET_HMAC_KEY, "SECRET_TYPE_HMAC_KEY", hmac_params, make_hmac},
};

#define TYPE_COUNT (sizeof(g_types) / sizeof(g_types[0]))

const char *aecs_secret_type_name(enum aecs_secret_type type)
{
    for (size_t i = 0; i < TYPE_COUNT; i++)
        if (g_types[i].type == type)
            return g_types[i].name;
    return "?";
}

static const struct type_info *find_type(const char *name)
{
    for (size_t i = 0; i < TYPE_COUNT; i++)
        if (strcmp(g_types[i].name, name) == 0)
            return &g_types[i];
    return NULL;
}

int aecs_secret_type_parse(const char *name, enum aecs_secret_type *out)
{
    const struct type_info *t;

    ENSURE(name != NULL && name[0] != '\0', AECS_E_INVALID_ARGUMENT, "type: missing");
    t = find_type(name);
    ENSURE(t != NULL, AECS_E_INVALID_ARGUMENT,
           "type: '%.64s' is not a secret type (one of SECRET_TYPE_AES256_KEY, "
           "SECRET_TYPE_RSA_KEY_PAIR, SECRET_TYPE_SM2_KEY_PAIR, SECRET_TYPE_CERTIFICATE, "
           "SECRET_TYPE_IMPORT_DATA, SECRET_TYPE_CONFIGURATIONS, SECRET_TYPE_EC_KEY_PAIR, "
           "SECRET_TYPE_ED25519_KEY_PAIR, SECRET_TYPE_HMAC_KEY)",
           name);
    *out = t->type;
    return AECS_OK;
}

/* "bit_length, pkcs_type" or "none" into buf. */
static void list_params(const char *const *names, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; names[i] != NULL && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i > 0 ? ", " : "", names[i]);
    if (names[0] == NULL)
        snprintf(buf, size, "none");
}

/* Every key present, known to the type, and given once; every value present. */
static int check_names(const struct type_info *t, const struct params *p)
{
    char known[128];

    ENSURE(p->count <= AECS_SECRET_MAX_PARAMS, AECS_E_INVALID_ARGUMENT,
           "params: %zu given, at most %d", p->count, AECS_SECRET_MAX_PARAMS);
    for (size_t i = 0; i < p->count; i++) {
        const char *key = p->list[i].key;
        int known_key = t->params == NULL;

        ENSURE(key != NULL && key[0] != '\0', AECS_E_INVALID_ARGUMENT, "params[%zu]: empty key", i);
        ENSURE(p->list[i].value != NULL, AECS_E_INVALID_ARGUMENT, "params.%.64s: no value", key);
        for (size_t j = 0; t->params != NULL && t->params[j] != NULL; j++)
            known_key |= strcmp(t->params[j], key) == 0;
        if (!known_key) {
            list_params(t->params, known, sizeof(known));
            return AECS_ERR(AECS_E_INVALID_ARGUMENT,
                            "params.%.64s: not a parameter of %s (it takes: %s)", key, t->name,
                            known);
        }
        for (size_t j = 0; j < i; j++)
            ENSURE(strcmp(p->list[j].key, key) != 0, AECS_E_INVALID_ARGUMENT,
                   "params.%.64s: given more than once", key);
    }
    return AECS_OK;
}

int aecs_secret_generate(const char *type, const struct aecs_secret_param *params, size_t count,
                         const uint8_t *data, size_t data_size, struct aecs_secret **out)
{
    const struct type_info *t;
    struct params p = {params, count};
    struct aecs_secret *s;
    enum aecs_secret_type which;
    int rc;

    *out = NULL;
    ENSURE(params != NULL || count == 0, AECS_E_INVALID_ARGUMENT, "params: missing");
    GUARD(aecs_secret_type_parse(type, &which));
    t = find_type(type);
    GUARD(check_names(t, &p));
    ENSURE(which == AECS_SECRET_IMPORT_DATA || (data == NULL && data_size == 0),
           AECS_E_INVALID_ARGUMENT, "data: only SECRET_TYPE_IMPORT_DATA takes data, not %s",
           t->name);
    s = calloc(1, sizeof(*s));
    ENSURE(s != NULL, AECS_E_NO_MEMORY, "out of memory");
    s->type = which;
    rc = t->make(&p, data, data_size, s);
    if (rc != AECS_OK) {
        aecs_secret_free(s);
        return rc;
    }
    *out = s;
    return AECS_OK;
}

void aecs_secret_free(struct aecs_secret *secret)
{
    if (secret == NULL)
        return;
    if (secret->private_data != NULL)
        aecs_secure_free(secret->private_data, secret->private_size + 1);
    free(secret->public_data);
    free(secret);
}
