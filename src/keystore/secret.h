/*
 * secret.h - the secret types aecs keeps, and making a secret's value from a
 * type and the policy's params.
 *
 * Types and params (as in the seeds' SecretPolicy YAML: `type:` and
 * `params: [{key, value}]`; docs/design-keystore.md has the full table):
 *
 *   SECRET_TYPE_AES256_KEY        -                  32 random bytes
 *   SECRET_TYPE_RSA_KEY_PAIR      bit_length         2048 (default), 3072, 4096
 *                                 pkcs_type          pkcs8 (default), pkcs1
 *   SECRET_TYPE_SM2_KEY_PAIR      -                  SM2 key, PKCS#8 PEM
 *   SECRET_TYPE_CERTIFICATE       bit_length         RSA key size, as above
 *                                 days               1..36500, default 365
 *                                 subject            default "CN=aecs"
 *   SECRET_TYPE_IMPORT_DATA       - (takes data)     the data as given
 *   SECRET_TYPE_CONFIGURATIONS    any keys           a JSON object of them
 *   SECRET_TYPE_EC_KEY_PAIR       curve              P-256 (default), P-384,
 *                                                    prime256v1, secp384r1
 *   SECRET_TYPE_ED25519_KEY_PAIR  -                  Ed25519 key, PKCS#8 PEM
 *   SECRET_TYPE_HMAC_KEY          byte_length        16..128, default 32
 *
 * A param a type does not take, a bad value, a repeated key, or data given to
 * a type other than IMPORT_DATA is an error (AECS_E_INVALID_ARGUMENT) whose
 * message starts with the field ("params.bit_length: 1000 is not one of 2048,
 * 3072, 4096"); only absent params take their defaults. Messages never quote
 * imported data or configuration values.
 */
#ifndef AECS_KEYSTORE_SECRET_H
#define AECS_KEYSTORE_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum aecs_secret_type {
    AECS_SECRET_TYPE_UNKNOWN = 0,
    AECS_SECRET_AES256_KEY = 1,
    AECS_SECRET_RSA_KEY_PAIR,
    AECS_SECRET_SM2_KEY_PAIR,
    AECS_SECRET_CERTIFICATE,
    AECS_SECRET_IMPORT_DATA,
    AECS_SECRET_CONFIGURATIONS,
    AECS_SECRET_EC_KEY_PAIR,
    AECS_SECRET_ED25519_KEY_PAIR,
    AECS_SECRET_HMAC_KEY,
};

#define AECS_CONTENT_PEM "application/x-pem-file"
#define AECS_CONTENT_BINARY "application/octet-stream"
#define AECS_CONTENT_JSON "application/json"

/* Largest IMPORT_DATA value, and largest CONFIGURATIONS JSON. */
#define AECS_SECRET_MAX_DATA (1u << 20)
#define AECS_SECRET_MAX_PARAMS 256

/* One policy param; both strings are required (values as text, "2048"). */
struct aecs_secret_param {
    const char *key;
    const char *value;
};

/*
 * A secret's value. The private part is what a released secret delivers: on
 * the secure heap, followed by a NUL that is not counted. The public part
 * (for `share: public`) is NULL for types without one; for key pairs it is the
 * public key PEM, for certificates the certificate PEM.
 *
 *   type            private part                          public part
 *   AES256_KEY      32 bytes (octet-stream)               -
 *   RSA_KEY_PAIR    private key PEM                       public key PEM
 *   SM2/EC/ED25519  private key PEM (PKCS#8)              public key PEM (SPKI)
 *   CERTIFICATE     private key PEM + certificate PEM     certificate PEM
 *   IMPORT_DATA     the data (octet-stream)               -
 *   CONFIGURATIONS  JSON object (application/json)        -
 *   HMAC_KEY        byte_length bytes (octet-stream)      -
 */
struct aecs_secret {
    enum aecs_secret_type type;
    const char *content_type; /* of the private part: one of AECS_CONTENT_* */
    uint8_t *private_data;
    size_t private_size;
    const char *public_content_type; /* NULL when there is no public part */
    char *public_data;
    size_t public_size;
};

/* "SECRET_TYPE_AES256_KEY" ...; "?" for a value outside the enum. */
const char *aecs_secret_type_name(enum aecs_secret_type type);

/*
 * The type named exactly (e.g. "SECRET_TYPE_RSA_KEY_PAIR"). AECS_E_INVALID_ARGUMENT
 * otherwise: "type: 'X' is not a secret type (one of ...)".
 */
AECS_MUST_CHECK int aecs_secret_type_parse(const char *name, enum aecs_secret_type *out);

/*
 * Makes the value of a secret of the named type from count params (params may
 * be NULL when count is 0) and, for SECRET_TYPE_IMPORT_DATA only, data_size
 * bytes of data (1..AECS_SECRET_MAX_DATA). Key material comes from OpenSSL's
 * private random generator. The caller frees *out with aecs_secret_free().
 */
AECS_MUST_CHECK int aecs_secret_generate(const char *type, const struct aecs_secret_param *params,
                                         size_t count, const uint8_t *data, size_t data_size,
                                         struct aecs_secret **out);

/* Wipes the private part and frees everything. NULL is fine. */
void aecs_secret_free(struct aecs_secret *secret);

#endif
