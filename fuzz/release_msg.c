/*
 * release_msg.c - libFuzzer target for the release protocol's message parsers
 * (src/proto/release.c): the release request and answer, the identity and
 * public-part answers, the challenge answer and request, the nonce and
 * public-key texts, the records of shared unseal progress (a mailbox, a
 * forwarded share), the sealed admin messages (an unseal request, an init
 * answer), a cluster join's request and answer, and an answer's signature
 * header (which must never verify: the key is the target's own).
 * Every parser sees every input. Whatever the bytes: no crash, no leak. What
 * a parser accepts, its serializer must write (the two sides agree on the
 * rules), and parsing that output must give the same output again, so every
 * accepted message has one canonical form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "proto/release.h"

typedef int (*ser_fn)(const void *msg, char **out, size_t *size);
typedef int (*parse_fn)(const char *body, size_t size, void **out);
typedef void (*free_fn)(void *msg);

/* Serializes msg, parses the text back, serializes again: both texts must be equal. */
static void round_trip(const void *msg, ser_fn ser, parse_fn parse, free_fn release)
{
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    void *again = NULL;

    if (ser(msg, &a, &na) != AECS_OK)
        abort();
    if (parse(a, na, &again) != AECS_OK)
        abort();
    if (ser(again, &b, &nb) != AECS_OK || na != nb || memcmp(a, b, na) != 0)
        abort();
    release(again);
    free(a);
    free(b);
}

static int ser_request(const void *m, char **o, size_t *s)
{
    return aecs_release_request_serialize(m, o, s);
}
static int parse_request(const char *b, size_t n, void **o)
{
    return aecs_release_request_parse(b, n, (struct aecs_release_request **)o);
}
static void free_request(void *m)
{
    aecs_release_request_free(m);
}

static int ser_answer(const void *m, char **o, size_t *s)
{
    return aecs_release_answer_serialize(m, o, s);
}
static int parse_answer(const char *b, size_t n, void **o)
{
    return aecs_release_answer_parse(b, n, (struct aecs_release_answer **)o);
}
static void free_answer(void *m)
{
    aecs_release_answer_free(m);
}

static int ser_identity(const void *m, char **o, size_t *s)
{
    return aecs_identity_answer_serialize(m, o, s);
}
static int parse_identity(const char *b, size_t n, void **o)
{
    return aecs_identity_answer_parse(b, n, (struct aecs_identity_answer **)o);
}
static void free_identity(void *m)
{
    aecs_identity_answer_free(m);
}

static int ser_public(const void *m, char **o, size_t *s)
{
    return aecs_public_answer_serialize(m, o, s);
}
static int parse_public(const char *b, size_t n, void **o)
{
    return aecs_public_answer_parse(b, n, (struct aecs_public_answer **)o);
}
static void free_public(void *m)
{
    aecs_public_answer_free(m);
}

static int ser_mailbox(const void *m, char **o, size_t *s)
{
    return aecs_unseal_mailbox_serialize(m, o, s);
}
static int parse_mailbox(const char *b, size_t n, void **o)
{
    return aecs_unseal_mailbox_parse(b, n, (struct aecs_unseal_mailbox **)o);
}
static void free_mailbox(void *m)
{
    aecs_unseal_mailbox_free(m);
}

static int ser_join_request(const void *m, char **o, size_t *s)
{
    return aecs_join_request_serialize(m, o, s);
}
static int parse_join_request(const char *b, size_t n, void **o)
{
    return aecs_join_request_parse(b, n, (struct aecs_release_request **)o);
}

static int ser_init(const void *m, char **o, size_t *s)
{
    return aecs_init_answer_serialize(m, o, s);
}
static int parse_init(const char *b, size_t n, void **o)
{
    return aecs_init_answer_parse(b, n, (struct aecs_init_answer **)o);
}
static void free_init(void *m)
{
    aecs_init_answer_free(m);
}

/*
 * An unseal request: a sealed share or a reset must serialize and parse back
 * to the same kind and text; an old client's share in clear carries no
 * envelope.
 */
static void unseal_round_trip(const char *text, size_t size)
{
    struct aecs_unseal_request ur, again;
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;

    if (aecs_unseal_request_parse(text, size, &ur) != AECS_OK)
        return;
    if (ur.kind == AECS_UNSEAL_REQUEST_PLAIN) {
        if (ur.share.ciphertext != NULL)
            abort();
        return;
    }
    if (ur.kind != AECS_UNSEAL_REQUEST_SEALED && ur.kind != AECS_UNSEAL_REQUEST_RESET)
        abort();
    if (ur.share.size < 1 || ur.share.size > AECS_ADMIN_SHARE_PLAIN_MAX)
        abort();
    if (aecs_unseal_request_serialize(&ur, &a, &na) != AECS_OK ||
        aecs_unseal_request_parse(a, na, &again) != AECS_OK || again.kind != ur.kind ||
        aecs_unseal_request_serialize(&again, &b, &nb) != AECS_OK || na != nb ||
        memcmp(a, b, na) != 0)
        abort();
    aecs_envelope_clear(&ur.share);
    aecs_envelope_clear(&again.share);
    free(a);
    free(b);
}

/* A forwarded share: parse, serialize, parse again; the two texts must be equal. */
static void box_round_trip(const char *text, size_t size)
{
    struct aecs_envelope env, again;
    char from[AECS_UNSEAL_ID_HEX + 1], from2[AECS_UNSEAL_ID_HEX + 1];
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;

    if (aecs_unseal_box_parse(text, size, from, &env) != AECS_OK)
        return;
    if (env.size < 1 || env.size > AECS_UNSEAL_BOX_PLAIN_MAX || strlen(from) != 32)
        abort();
    if (aecs_unseal_box_serialize(from, &env, &a, &na) != AECS_OK ||
        aecs_unseal_box_parse(a, na, from2, &again) != AECS_OK ||
        aecs_unseal_box_serialize(from2, &again, &b, &nb) != AECS_OK || na != nb ||
        memcmp(a, b, na) != 0)
        abort();
    aecs_envelope_clear(&env);
    aecs_envelope_clear(&again);
    free(a);
    free(b);
}

/* A join answer: parse, serialize, parse again; the two texts must be equal. */
static void join_answer_round_trip(const char *text, size_t size)
{
    struct aecs_envelope env, again;
    char id[33], id2[33];
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;

    if (aecs_join_answer_parse(text, size, id, &env) != AECS_OK) {
        if (env.ciphertext != NULL || id[0] != '\0')
            abort();
        return;
    }
    if (strlen(id) != 32 || env.size < 1 || env.size > AECS_ENVELOPE_PLAIN_MAX)
        abort();
    if (aecs_join_answer_serialize(id, &env, &a, &na) != AECS_OK ||
        aecs_join_answer_parse(a, na, id2, &again) != AECS_OK ||
        aecs_join_answer_serialize(id2, &again, &b, &nb) != AECS_OK || na != nb ||
        memcmp(a, b, na) != 0)
        abort();
    aecs_envelope_clear(&env);
    aecs_envelope_clear(&again);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct aecs_release_request *req = NULL;
    struct aecs_release_answer *ans = NULL;
    struct aecs_identity_answer *id = NULL;
    struct aecs_public_answer *pub = NULL;
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    int64_t expires = 0;

    aecs_log_set_level(AECS_LOG_ERROR);

    if (aecs_release_request_parse(text, size, &req) == AECS_OK) {
        if (req->count < 1 || req->count > AECS_RELEASE_MAX_SECRETS || req->evidence_size < 1 ||
            req->evidence_size > AECS_RELEASE_EVIDENCE_MAX)
            abort();
        round_trip(req, ser_request, parse_request, free_request);
        aecs_release_request_free(req);
    }
    if (aecs_release_answer_parse(text, size, &ans) == AECS_OK) {
        for (size_t i = 0; i < ans->count; i++) {
            const struct aecs_release_result *r = &ans->results[i];
            if (strnlen(r->service, sizeof(r->service)) == sizeof(r->service) ||
                strnlen(r->name, sizeof(r->name)) == sizeof(r->name) ||
                r->envelope.size > AECS_ENVELOPE_PLAIN_MAX)
                abort();
        }
        round_trip(ans, ser_answer, parse_answer, free_answer);
        aecs_release_answer_free(ans);
    }
    if (aecs_identity_answer_parse(text, size, &id) == AECS_OK) {
        if (strnlen(id->service_id, sizeof(id->service_id)) != AECS_SERVICE_ID_HEX ||
            id->insecure_count > AECS_IDENTITY_INSECURE_MAX)
            abort();
        round_trip(id, ser_identity, parse_identity, free_identity);
        aecs_identity_answer_free(id);
    }
    if (aecs_public_answer_parse(text, size, &pub) == AECS_OK) {
        if (strlen(pub->public_data) != pub->public_size)
            abort();
        round_trip(pub, ser_public, parse_public, free_public);
        aecs_public_answer_free(pub);
    }
    if (aecs_challenge_answer_parse(text, size, nonce, &expires) == AECS_OK) {
        char *s = NULL;
        size_t n = 0;
        uint8_t again[AECS_RELEASE_NONCE_SIZE];
        int64_t t = 0;
        if (aecs_challenge_answer_serialize(nonce, expires, &s, &n) != AECS_OK ||
            aecs_challenge_answer_parse(s, n, again, &t) != AECS_OK || t != expires ||
            memcmp(again, nonce, sizeof(again)) != 0)
            abort();
        free(s);
    }
    {
        struct aecs_unseal_mailbox *m = NULL;
        if (aecs_unseal_mailbox_parse(text, size, &m) == AECS_OK) {
            if (m->evidence_size < 1 || m->evidence_size > AECS_RELEASE_EVIDENCE_MAX ||
                strlen(m->set) != AECS_UNSEAL_SET_HEX || m->time < 0)
                abort();
            round_trip(m, ser_mailbox, parse_mailbox, free_mailbox);
            aecs_unseal_mailbox_free(m);
        }
    }
    if (aecs_join_request_parse(text, size, &req) == AECS_OK) {
        if (req->count != 0 || req->evidence_size < 1 ||
            req->evidence_size > AECS_RELEASE_EVIDENCE_MAX || req->pubkey[0] != 0x04)
            abort();
        round_trip(req, ser_join_request, parse_join_request, free_request);
        aecs_release_request_free(req);
        req = NULL;
    } else if (req != NULL) {
        abort();
    }
    join_answer_round_trip(text, size);
    {
        /* the input as an X-Aecs-Answer-Signature: nobody but the key's holder signs */
        static struct aecs_p256_pub *pub;
        static const uint8_t zero[AECS_RELEASE_NONCE_SIZE];
        if (pub == NULL) {
            struct aecs_p256_key *key = NULL;
            uint8_t point[AECS_P256_PUB_SIZE];
            if (aecs_p256_key_generate(&key) != AECS_OK)
                abort();
            aecs_p256_key_public(key, point);
            aecs_p256_key_free(key);
            if (aecs_p256_pub_import(point, sizeof(point), &pub) != AECS_OK)
                abort();
        }
        if (aecs_answer_verify(pub, AECS_ANSWER_IDENTITY, zero, NULL, "{}", 2, text, size) ==
            AECS_OK)
            abort();
    }
    box_round_trip(text, size);
    unseal_round_trip(text, size);
    {
        struct aecs_init_answer *ia = NULL;
        if (aecs_init_answer_parse(text, size, &ia) == AECS_OK) {
            if (ia->count < 2 || ia->count > AECS_INIT_SHARES_MAX || ia->threshold < 2 ||
                ia->threshold > ia->count || strlen(ia->id) != AECS_UNSEAL_ID_HEX ||
                strlen(ia->admin) != AECS_ADMIN_KEY_ID_HEX)
                abort();
            for (size_t i = 0; i < ia->count; i++) {
                if (ia->shares[i].size < 1 || ia->shares[i].size > AECS_ADMIN_SHARE_PLAIN_MAX)
                    abort();
            }
            round_trip(ia, ser_init, parse_init, free_init);
            aecs_init_answer_free(ia);
        }
    }
    (void)aecs_challenge_request_check(text, size);
    if (aecs_release_nonce_parse(text, size, nonce) == AECS_OK && size != AECS_RELEASE_NONCE_HEX)
        abort();
    {
        uint8_t point[AECS_P256_PUB_SIZE];
        if (aecs_release_pubkey_parse(text, size, point) == AECS_OK &&
            (size != AECS_RELEASE_PUBKEY_HEX || point[0] != 0x04))
            abort();
    }
    return 0;
}
