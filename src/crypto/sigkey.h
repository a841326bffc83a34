/*
 * sigkey.h - admin signing keys: ECDSA P-256 key pairs in PEM files, key ids,
 * and DER ECDSA-SHA256 signatures (what signed admin requests use; docs/api.md).
 *
 * A key id is the lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo
 * (64 characters), the same for the private key and its public half, so a
 * server can name a key without quoting it. Only P-256 keys are accepted;
 * anything else is refused by name ("... is an RSA key; aecs admin keys are
 * ECDSA P-256 (make one with `aecs keygen`)").
 */
#ifndef AECS_CRYPTO_SIGKEY_H
#define AECS_CRYPTO_SIGKEY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AECS_SIGKEY_ID_HEX 64
/* A DER ECDSA P-256 signature is at most 72 bytes. */
#define AECS_SIGKEY_SIG_MAX 80

struct aecs_sigkey; /* a public key, or a key pair */

/*
 * Makes a key pair and writes `base`.pem (PKCS#8 private key, mode 0600) and
 * `base`.pub.pem (SubjectPublicKeyInfo), each atomically. Refuses to replace
 * an existing file (AECS_E_INVALID_ARGUMENT naming the file). When key_id is
 * not NULL it gets the key id and a NUL.
 */
AECS_MUST_CHECK int aecs_sigkey_generate_files(const char *base,
                                               char key_id[AECS_SIGKEY_ID_HEX + 1]);

/* Loads a private key PEM file (a key pair). The caller frees *out with aecs_sigkey_free. */
AECS_MUST_CHECK int aecs_sigkey_load_private(const char *path, struct aecs_sigkey **out);

/*
 * Parses a public key PEM (SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----")
 * of size bytes. AECS_E_FORMAT when it is not one, AECS_E_UNSUPPORTED when it
 * is not P-256. The caller frees *out with aecs_sigkey_free.
 */
AECS_MUST_CHECK int aecs_sigkey_parse_public(const char *pem, size_t size,
                                             struct aecs_sigkey **out);

/* The public key as PEM in a fresh NUL-terminated string the caller frees with free(). */
AECS_MUST_CHECK int aecs_sigkey_public_pem(const struct aecs_sigkey *key, char **pem);

/* The key id (64 lowercase hex digits and a NUL). */
AECS_MUST_CHECK int aecs_sigkey_id(const struct aecs_sigkey *key,
                                   char key_id[AECS_SIGKEY_ID_HEX + 1]);

/*
 * Signs size bytes of msg with ECDSA-SHA256 (the key must be a key pair):
 * writes the DER signature to sig (AECS_SIGKEY_SIG_MAX bytes) and its size.
 */
AECS_MUST_CHECK int aecs_sigkey_sign(const struct aecs_sigkey *key, const void *msg, size_t size,
                                     uint8_t sig[AECS_SIGKEY_SIG_MAX], size_t *sig_size);

/* AECS_OK when sig is a valid DER ECDSA-SHA256 signature of msg, else AECS_E_BAD_SIGNATURE. */
AECS_MUST_CHECK int aecs_sigkey_verify(const struct aecs_sigkey *key, const void *msg,
                                       size_t size, const uint8_t *sig, size_t sig_size);

void aecs_sigkey_free(struct aecs_sigkey *key);

#endif
