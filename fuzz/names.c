/*
 * names.c - libFuzzer target for the short texts an admin's policy, the
 * clients and request paths name things with: service and secret names
 * (aecs_name_check on the client side, aecs_service_name_valid on the
 * server's, for path segments and policy entries alike), a secret's type
 * (aecs_secret_type_parse) and a certificate secret's subject parameter
 * (aecs_keygen_parse_subject, "CN=name,O=org").
 *
 * Whatever the bytes: no crash, no leak, and
 *   - a name is accepted, by both checks, exactly when it is 1 to 64 of A-Z
 *     a-z 0-9 . _ - not starting with '.' (checked here by code of our own);
 *   - a type is accepted exactly when it is one of the names
 *     aecs_secret_type_name gives, and is that type's name;
 *   - an accepted subject has a CN, and both values are non-empty, hold no
 *     ',' and no blank at either end; written again as "CN=...,O=..." it
 *     gives the same values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/keygen.h"
#include "keystore/secret.h"
#include "proto/name.h"
#include "service/service.h"

#include "fuzz_text.h"

static void fuzz_name(const char *text)
{
    size_t len = strlen(text);
    int want =
        len >= 1 && len <= 64 && text[0] != '.' &&
        strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;

    if ((aecs_name_check(text, "name") == AECS_OK) != want ||
        (aecs_service_name_valid(text) != 0) != want)
        abort();
}

static void fuzz_type(const char *text)
{
    enum aecs_secret_type type;

    if (aecs_secret_type_parse(text, &type) == AECS_OK &&
        strcmp(aecs_secret_type_name(type), text) != 0)
        abort();
}

static void check_value(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || strchr(v, ',') != NULL || v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' ||
        v[n - 1] == '\t')
        abort();
}

static void fuzz_subject(const char *text)
{
    char *cn = NULL, *o = NULL, *cn2 = NULL, *o2 = NULL;

    if (aecs_keygen_parse_subject(text, &cn, &o) != AECS_OK) {
        if (cn != NULL || o != NULL)
            abort();
        return;
    }
    if (cn == NULL)
        abort();
    check_value(cn);
    if (o != NULL)
        check_value(o);
    size_t size = strlen(cn) + (o != NULL ? strlen(o) : 0) + 8;
    char *again = malloc(size);
    if (again == NULL)
        abort();
    snprintf(again, size, "CN=%s%s%s", cn, o != NULL ? ",O=" : "", o != NULL ? o : "");
    if (aecs_keygen_parse_subject(again, &cn2, &o2) != AECS_OK || strcmp(cn, cn2) != 0 ||
        (o == NULL) != (o2 == NULL) || (o != NULL && strcmp(o, o2) != 0))
        abort();
    free(again);
    free(cn);
    free(o);
    free(cn2);
    free(o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);

    if (text == NULL)
        return 0;
    fuzz_name(text);
    fuzz_type(text);
    fuzz_subject(text);
    free(text);
    aecs_err_clear();
    return 0;
}
