/*
 * release_probe.c - hand-made POST /v1/release requests for
 * tests/integration/cli_fetch.sh: the requests an honest client
 * (src/client/client.c) never sends, to see aecsd refuse each of them.
 *
 *   release_probe --server URL --ca FILE --sim DIR --mrenclave HEX
 *                 --service S --name N --case CASE [--nonce-file FILE]
 *
 * Cases (the evidence is a sim quote of the enclave --mrenclave, made with
 * the sim folder DIR):
 *   ok          a correct request (the control: it must be released)
 *   replay      a correct request, then the very same body again
 *   other-key   evidence bound to one key, the request naming another
 *   tampered    evidence with one byte of its enclave report changed
 *   unknown     a nonce this server never issued
 *   challenge   only asks for a challenge and writes its nonce to --nonce-file
 *   stale       a correct request over the nonce read from --nonce-file
 *
 * It prints, for the request that matters (the second one of replay), one
 * line: "status=<HTTP status> code=<error code or ->", plus for a 200 the
 * release answer's entries as "entry=<service>/<name>:<sealed|code>". It
 * does not check the server's identity or signatures: that is the client
 * library's job, tested elsewhere. Exit status 0 when a request got an
 * answer, 2 otherwise.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/sim.h"
#include "base/codec.h"
#include "base/err.h"
#include "base/file.h"
#include "client/conn.h"
#include "client/cred.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "proto/release.h"

/* The offset of MRENCLAVE in an SGX quote v3: 48-byte header, then the report body at 112 - 48. */
#define QUOTE_MRENCLAVE_OFFSET 112

struct probe {
    const char *server, *ca, *sim, *mrenclave, *service, *name, *kase, *nonce_file;
    struct aecs_cred *cred;
    struct aecs_conn *conn;
};

static int die(const char *what)
{
    fprintf(stderr, "release_probe: %s: %s\n", what, aecs_err_last()->message);
    return 2;
}

static void print_reply(const struct aecs_raw_reply *r)
{
    struct aecs_release_answer *ans = NULL;

    printf("status=%ld code=%s\n", r->status, r->code[0] ? r->code : "-");
    if (r->status != 200 || aecs_release_answer_parse(r->body, r->body_size, &ans) != AECS_OK)
        return;
    for (size_t i = 0; i < ans->count; i++)
        printf("entry=%s/%s:%s\n", ans->results[i].service, ans->results[i].name,
               ans->results[i].sealed ? "sealed" : ans->results[i].code);
    aecs_release_answer_free(ans);
}

static int challenge(struct probe *p, uint8_t nonce[AECS_RELEASE_NONCE_SIZE])
{
    struct aecs_raw_reply r;
    int64_t expires;
    int rc;

    rc = aecs_conn_request_raw(p->conn, "POST", "/v1/challenge", "{}", 2, 0, NULL, &r);
    if (rc == AECS_OK)
        rc = aecs_challenge_answer_parse(r.body, r.body_size, nonce, &expires);
    aecs_raw_reply_clear(&r);
    return rc;
}

/* A sim quote over report_data, with one byte of MRENCLAVE changed when tamper is set. */
static int quote(struct probe *p, const uint8_t report_data[64], int tamper, uint8_t **q,
                 size_t *size)
{
    struct aecs_sim_quote_params qp;

    memset(&qp, 0, sizeof(qp));
    qp.tee = AECS_SIM_SGX;
    GUARD(aecs_hex_decode_exact(p->mrenclave, strlen(p->mrenclave), qp.mrenclave, 32));
    memcpy(qp.report_data, report_data, 64);
    GUARD(aecs_sim_quote(p->sim, &qp, q, size));
    if (tamper) {
        ENSURE(*size > QUOTE_MRENCLAVE_OFFSET, AECS_E_INTERNAL, "quote too short");
        (*q)[QUOTE_MRENCLAVE_OFFSET] ^= 0x01;
    }
    return AECS_OK;
}

/* Sends a release request over nonce: evidence bound to (nonce, bound), the request naming `named`.
 */
static int release(struct probe *p, const uint8_t nonce[AECS_RELEASE_NONCE_SIZE],
                   const struct aecs_p256_key *bound, const struct aecs_p256_key *named, int tamper,
                   int times)
{
    struct aecs_release_request req;
    uint8_t pub[AECS_P256_PUB_SIZE], rd[64];
    char *body = NULL;
    size_t size = 0;
    struct aecs_raw_reply r;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    memcpy(req.nonce, nonce, AECS_RELEASE_NONCE_SIZE);
    aecs_p256_key_public(bound, pub);
    aecs_release_binding(nonce, pub, rd);
    GUARD(quote(p, rd, tamper, &req.evidence, &req.evidence_size));
    aecs_p256_key_public(named, req.pubkey);
    req.count = 1;
    snprintf(req.secrets[0].service, sizeof(req.secrets[0].service), "%s", p->service);
    snprintf(req.secrets[0].name, sizeof(req.secrets[0].name), "%s", p->name);
    rc = aecs_release_request_serialize(&req, &body, &size);
    free(req.evidence);
    GUARD(rc);
    for (int i = 0; i < times; i++) {
        aecs_raw_reply_clear(&r);
        rc = aecs_conn_request_raw(p->conn, "POST", "/v1/release", body, size, 0,
                                   AECS_HDR_ANSWER_SIGNATURE, &r);
        if (r.status == 0)
            break;
        rc = AECS_OK;
    }
    free(body);
    if (rc == AECS_OK)
        print_reply(&r);
    aecs_raw_reply_clear(&r);
    return rc;
}

static int run(struct probe *p)
{
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE];
    char hex[AECS_RELEASE_NONCE_HEX + 1];
    struct aecs_p256_key *a = NULL, *b = NULL;
    uint8_t *text = NULL;
    size_t size = 0;
    int rc = AECS_OK;

    GUARD_OUT(aecs_p256_key_generate(&a));
    GUARD_OUT(aecs_p256_key_generate(&b));
    if (strcmp(p->kase, "challenge") == 0) {
        ENSURE_OUT(p->nonce_file != NULL, AECS_E_USAGE, "challenge needs --nonce-file");
        GUARD_OUT(challenge(p, nonce));
        aecs_hex_encode(nonce, sizeof(nonce), hex);
        GUARD_OUT(aecs_file_write_atomic(p->nonce_file, hex, strlen(hex), 0600));
        printf("challenge written\n");
    } else if (strcmp(p->kase, "stale") == 0) {
        ENSURE_OUT(p->nonce_file != NULL, AECS_E_USAGE, "stale needs --nonce-file");
        GUARD_OUT(aecs_file_read(p->nonce_file, 200, &text, &size));
        GUARD_OUT(aecs_release_nonce_parse((const char *)text, size, nonce));
        GUARD_OUT(release(p, nonce, a, a, 0, 1));
    } else if (strcmp(p->kase, "unknown") == 0) {
        GUARD_OUT(aecs_random_bytes(nonce, sizeof(nonce)));
        GUARD_OUT(release(p, nonce, a, a, 0, 1));
    } else {
        GUARD_OUT(challenge(p, nonce));
        if (strcmp(p->kase, "ok") == 0)
            GUARD_OUT(release(p, nonce, a, a, 0, 1));
        else if (strcmp(p->kase, "replay") == 0)
            GUARD_OUT(release(p, nonce, a, a, 0, 2));
        else if (strcmp(p->kase, "other-key") == 0)
            GUARD_OUT(release(p, nonce, a, b, 0, 1));
        else if (strcmp(p->kase, "tampered") == 0)
            GUARD_OUT(release(p, nonce, a, a, 1, 1));
        else
            BAIL_OUT(AECS_E_USAGE, "unknown --case %.40s", p->kase);
    }
out:
    free(text);
    aecs_p256_key_free(a);
    aecs_p256_key_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'},
        {"ca", required_argument, NULL, 'c'},
        {"sim", required_argument, NULL, 'S'},
        {"mrenclave", required_argument, NULL, 'm'},
        {"service", required_argument, NULL, 'v'},
        {"name", required_argument, NULL, 'n'},
        {"case", required_argument, NULL, 'k'},
        {"nonce-file", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    struct probe p;
    char text[8192];
    int c, rc;

    memset(&p, 0, sizeof(p));
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            p.server = optarg;
            break;
        case 'c':
            p.ca = optarg;
            break;
        case 'S':
            p.sim = optarg;
            break;
        case 'm':
            p.mrenclave = optarg;
            break;
        case 'v':
            p.service = optarg;
            break;
        case 'n':
            p.name = optarg;
            break;
        case 'k':
            p.kase = optarg;
            break;
        case 'f':
            p.nonce_file = optarg;
            break;
        default:
            return 2;
        }
    }
    if (p.server == NULL || p.ca == NULL || p.sim == NULL || p.mrenclave == NULL ||
        p.service == NULL || p.name == NULL || p.kase == NULL) {
        fprintf(stderr, "usage: release_probe --server URL --ca FILE --sim DIR --mrenclave HEX "
                        "--service S --name N --case CASE [--nonce-file FILE]\n");
        return 2;
    }
    snprintf(text, sizeof(text), "server: %s\nca: %s\n", p.server, p.ca);
    if (aecs_cred_parse(text, strlen(text), "release_probe", NULL, &p.cred) != AECS_OK)
        return die("credentials");
    if (aecs_conn_open(p.cred, NULL, &p.conn) != AECS_OK) {
        aecs_cred_free(p.cred);
        return die("connection");
    }
    rc = run(&p);
    aecs_conn_free(p.conn);
    aecs_cred_free(p.cred);
    if (rc != AECS_OK)
        return die(p.kase);
    return 0;
}
