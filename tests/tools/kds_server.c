/*
 * kds_server.c - a loopback stand-in for AMD's Key Distribution Service, for
 * tests.
 *
 * It serves the SNP test vectors under --data (tests/data/snp) the way KDS
 * does (AMD #57230, chapter 4), binds 127.0.0.1 on a port the kernel picks and
 * prints that port on the first line of stdout:
 *
 *   GET /vcek/v1/{Milan|Turin}/{hwid}?{SPLs}   the vector's VCEK (DER), only at
 *       the exact KDS path: hwid in lowercase hex (64 bytes, Turin 8) and
 *       exactly the parameters blSPL, teeSPL, snpSPL, ucodeSPL (Turin also
 *       fmcSPL) with the VCEK's own SPL values, in any order
 *   GET /vcek/v1/{Milan|Genoa|Turin}/cert_chain   ASK then ARK, PEM
 *   anything else                              404
 *   GET /_stats    {"requests":N,"vcek":N,"chain":N,"last_vcek":URI,"last_chain":URI}
 *   GET /_control?mode=M&only=vcek|chain|all&count=N&retry_after=V&delay_ms=N&reset=1&quit=1
 *
 * The VCEKs' paths are computed from their certificates' KDS extensions
 * (hwID, SPLs), so the server answers only requests KDS would answer.
 *
 * Modes (for both items, or `only` one): ok, 404, 500, 429 (with
 * "Retry-After: V", none when V is "none"), garbage (200 with an HTML page),
 * slow (answers after delay_ms), pem (the VCEK as PEM instead of DER),
 * anyvcek (the product's VCEK, else Milan's, at any /vcek/v1/P/HWID path
 * whatever the hwID and SPLs: a KDS that answers wrongly), wrongchain (another
 * product's cert_chain). With count=N the mode applies to the next N matching
 * requests, then the server is back to ok; count=0 keeps it.
 *
 * It stops by itself after --lifetime seconds (default 300), on SIGTERM or
 * SIGINT, or on /_control?quit=1.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/serve.h"
#include "base/codec.h"
#include "base/file.h"
#include "crypto/amd.h"
#include "crypto/x509.h"

#define MAX_FILE (1u << 20)

struct blob {
    uint8_t *data;
    size_t size;
};

struct vcek {
    enum aecs_amd_product product;
    char hwid[2 * AECS_AMD_HWID_MAX + 1];
    int turin;
    unsigned fmc, bl, tee, snp, ucode;
    struct blob der;
    struct blob pem;
};

struct chain {
    enum aecs_amd_product product;
    struct blob pem;
};

enum item { IT_VCEK = 0, IT_CHAIN = 1, IT_ALL = 2 };

static struct vcek g_vceks[2];
static size_t g_vcek_count;
static struct chain g_chains[3];
static size_t g_chain_count;
static struct event_base *g_base;
static char g_mode[16] = "ok";
static int g_only = IT_ALL;
static unsigned g_count;
static char g_retry_after[64] = "1";
static unsigned g_delay_ms = 2000;
static unsigned long g_requests, g_vcek_requests, g_chain_requests;
static char g_last_vcek[1024], g_last_chain[1024];

static void die(const char *what)
{
    fprintf(stderr, "kds_server: %s\n", what);
    exit(2);
}

static void read_blob(const char *dir, const char *name, struct blob *b)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (aecs_file_read(path, MAX_FILE, &b->data, &b->size) != AECS_OK) {
        fprintf(stderr, "kds_server: cannot read %s\n", path);
        exit(2);
    }
}

static void append_blob(struct blob *to, const struct blob *from)
{
    uint8_t *p = realloc(to->data, to->size + from->size + 1);

    if (p == NULL)
        die("out of memory");
    memcpy(p + to->size, from->data, from->size);
    to->data = p;
    to->size += from->size;
    to->data[to->size] = '\0';
}

/* The VCEK of a vector and where KDS serves it, from its own extensions. */
static void load_vcek(const char *dir)
{
    struct vcek *v = &g_vceks[g_vcek_count++];
    struct aecs_cert *cert = NULL;
    struct aecs_amd_vek_ext e;
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
    static const char end[] = "-----END CERTIFICATE-----\n";

    read_blob(dir, "vcek.der", &v->der);
    if (aecs_cert_parse(v->der.data, v->der.size, &cert) != AECS_OK ||
        aecs_amd_vek_ext_parse(cert, &e) != AECS_OK || e.is_vlek)
        die("a vector's vcek.der is not a VCEK");
    aecs_cert_free(cert);
    v->product = e.product;
    v->turin = aecs_amd_product_turin_layout(e.product);
    aecs_hex_encode(e.hwid, e.hwid_size, v->hwid);
    v->fmc = e.fmc_spl;
    v->bl = e.bl_spl;
    v->tee = e.tee_spl;
    v->snp = e.snp_spl;
    v->ucode = e.ucode_spl;

    /* The same certificate as PEM, 64 base64 characters a line. */
    size_t b64_size = aecs_base64_encoded_size(v->der.size);
    char *b64 = malloc(b64_size + 1);
    v->pem.data = malloc(b64_size + b64_size / 64 + sizeof(begin) + sizeof(end) + 2);
    if (b64 == NULL || v->pem.data == NULL)
        die("out of memory");
    aecs_base64_encode(v->der.data, v->der.size, b64);
    size_t n = strlen(b64);
    char *p = (char *)v->pem.data;
    p += sprintf(p, "%s", begin);
    for (size_t i = 0; i < n; i += 64)
        p += sprintf(p, "%.64s\n", b64 + i);
    p += sprintf(p, "%s", end);
    v->pem.size = (size_t)(p - (char *)v->pem.data);
    free(b64);
}

static void load_chain(enum aecs_amd_product product, const char *dir, const char *const *files)
{
    struct chain *c = &g_chains[g_chain_count++];

    c->product = product;
    for (size_t i = 0; files[i] != NULL; i++) {
        struct blob b = {0};
        read_blob(dir, files[i], &b);
        append_blob(&c->pem, &b);
        free(b.data);
    }
}

static void load(const char *data)
{
    char dir[1024];
    static const char *const kds_chain[] = {"cert_chain.pem", NULL};
    static const char *const genoa_chain[] = {"genoa_ask.pem", "genoa_ark.pem", NULL};

    snprintf(dir, sizeof(dir), "%s/snp_milan_virtee", data);
    load_vcek(dir);
    load_chain(AECS_AMD_MILAN, dir, kds_chain);
    snprintf(dir, sizeof(dir), "%s/snp_turin_chain_only_virtee", data);
    load_vcek(dir);
    load_chain(AECS_AMD_TURIN, dir, kds_chain);
    snprintf(dir, sizeof(dir), "%s/amd_roots", data);
    load_chain(AECS_AMD_GENOA, dir, genoa_chain);
}

static void free_all(void)
{
    for (size_t i = 0; i < g_vcek_count; i++) {
        free(g_vceks[i].der.data);
        free(g_vceks[i].pem.data);
    }
    for (size_t i = 0; i < g_chain_count; i++)
        free(g_chains[i].pem.data);
}

static void send_body(struct evhttp_request *req, int code, const void *data, size_t size,
                      const char *type)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL)
        die("out of memory");
    evbuffer_add(b, data, size);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
    evbuffer_free(b);
}

static void not_found(struct evhttp_request *req)
{
    static const char msg[] = "Not Found\n";

    send_body(req, 404, msg, sizeof(msg) - 1, "text/plain");
}

static const char *query_param(struct evhttp_request *req, const char *name, char *buf, size_t size)
{
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    const char *v;

    if (query == NULL || evhttp_parse_query_str(query, &q) != 0)
        return NULL;
    v = evhttp_find_header(&q, name);
    if (v != NULL)
        snprintf(buf, size, "%s", v);
    evhttp_clear_headers(&q);
    return v != NULL ? buf : NULL;
}

static void handle_stats(struct evhttp_request *req)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:s,s:s}", "requests", (json_int_t)g_requests, "vcek",
                          (json_int_t)g_vcek_requests, "chain", (json_int_t)g_chain_requests,
                          "last_vcek", g_last_vcek, "last_chain", g_last_chain);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (text == NULL)
        die("cannot build /_stats");
    send_body(req, 200, text, strlen(text), "application/json");
    free(text);
    json_decref(o);
}

static void handle_control(struct evhttp_request *req)
{
    char v[64];

    if (query_param(req, "mode", v, sizeof(v)) != NULL)
        snprintf(g_mode, sizeof(g_mode), "%.15s", v);
    if (query_param(req, "only", v, sizeof(v)) != NULL)
        g_only = strcmp(v, "vcek") == 0 ? IT_VCEK : strcmp(v, "chain") == 0 ? IT_CHAIN : IT_ALL;
    if (query_param(req, "count", v, sizeof(v)) != NULL)
        g_count = (unsigned)strtoul(v, NULL, 10);
    if (query_param(req, "retry_after", v, sizeof(v)) != NULL)
        snprintf(g_retry_after, sizeof(g_retry_after), "%s", v);
    if (query_param(req, "delay_ms", v, sizeof(v)) != NULL)
        g_delay_ms = (unsigned)strtoul(v, NULL, 10) % 30001u;
    if (query_param(req, "reset", v, sizeof(v)) != NULL) {
        g_requests = g_vcek_requests = g_chain_requests = 0;
        g_last_vcek[0] = g_last_chain[0] = '\0';
    }
    send_body(req, 200, "ok\n", 3, "text/plain");
    if (query_param(req, "quit", v, sizeof(v)) != NULL)
        event_base_loopexit(g_base, NULL);
}

/* 1 when the query has exactly the VCEK's SPL parameters with its values. */
static int spls_match(struct evhttp_request *req, const struct vcek *v)
{
    struct evkeyvalq q;
    struct evkeyval *kv;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    const char *names[] = {"blSPL", "teeSPL", "snpSPL", "ucodeSPL", "fmcSPL"};
    const unsigned want[] = {v->bl, v->tee, v->snp, v->ucode, v->fmc};
    size_t nwant = v->turin ? 5 : 4;
    unsigned seen = 0;
    int ok = 1;

    if (query == NULL || evhttp_parse_query_str(query, &q) != 0)
        return 0;
    TAILQ_FOREACH(kv, &q, next)
    {
        size_t i = 0;
        while (i < nwant && strcmp(kv->key, names[i]) != 0)
            i++;
        char *end = NULL;
        unsigned long val = strtoul(kv->value, &end, 10);
        if (i == nwant || (seen & (1u << i)) || kv->value[0] == '\0' || *end != '\0' ||
            val != want[i])
            ok = 0;
        else
            seen |= 1u << i;
    }
    evhttp_clear_headers(&q);
    return ok && seen == (1u << nwant) - 1;
}

static const struct chain *chain_for(enum aecs_amd_product p)
{
    for (size_t i = 0; i < g_chain_count; i++) {
        if (g_chains[i].product == p)
            return &g_chains[i];
    }
    return NULL;
}

static void handle(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    static const char prefix[] = "/vcek/v1/";
    static const char junk[] = "<html><body>Welcome to nginx!</body></html>\n";
    char product[16];
    const char *rest;
    int item;

    if (path == NULL)
        path = "/";
    if (strcmp(path, "/_stats") == 0) {
        handle_stats(req);
        return;
    }
    if (strcmp(path, "/_control") == 0) {
        handle_control(req);
        return;
    }
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0) {
        not_found(req);
        return;
    }
    rest = path + sizeof(prefix) - 1;
    const char *slash = strchr(rest, '/');
    if (slash == NULL || (size_t)(slash - rest) >= sizeof(product)) {
        not_found(req);
        return;
    }
    memcpy(product, rest, (size_t)(slash - rest));
    product[slash - rest] = '\0';
    rest = slash + 1;
    enum aecs_amd_product p = AECS_AMD_PRODUCT_UNKNOWN;
    if (strcmp(product, "Milan") == 0 || strcmp(product, "Genoa") == 0 ||
        strcmp(product, "Turin") == 0)
        p = aecs_amd_product_from_name(product);
    if (p == AECS_AMD_PRODUCT_UNKNOWN) {
        not_found(req);
        return;
    }
    item = strcmp(rest, "cert_chain") == 0 ? IT_CHAIN : IT_VCEK;
    g_requests++;
    if (item == IT_CHAIN) {
        g_chain_requests++;
        snprintf(g_last_chain, sizeof(g_last_chain), "%s", uri);
    } else {
        g_vcek_requests++;
        snprintf(g_last_vcek, sizeof(g_last_vcek), "%s", uri);
    }

    char mode[16];
    snprintf(mode, sizeof(mode), "%s", (g_only == IT_ALL || g_only == item) ? g_mode : "ok");
    if (strcmp(mode, "ok") != 0 && (g_only == IT_ALL || g_only == item) && g_count > 0 &&
        --g_count == 0)
        snprintf(g_mode, sizeof(g_mode), "ok");

    if (strcmp(mode, "404") == 0) {
        not_found(req);
        return;
    }
    if (strcmp(mode, "500") == 0) {
        send_body(req, 500, "internal error\n", 15, "text/plain");
        return;
    }
    if (strcmp(mode, "429") == 0) {
        if (strcmp(g_retry_after, "none") != 0)
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", g_retry_after);
        send_body(req, 429, "Too Many Requests\n", 18, "text/plain");
        return;
    }
    if (strcmp(mode, "garbage") == 0) {
        send_body(req, 200, junk, sizeof(junk) - 1, "text/html");
        return;
    }
    if (strcmp(mode, "slow") == 0)
        usleep(g_delay_ms * 1000u); /* blocks the loop: tests send one request at a time */

    if (item == IT_CHAIN) {
        const struct chain *c = chain_for(p);
        if (strcmp(mode, "wrongchain") == 0)
            c = chain_for(p == AECS_AMD_MILAN ? AECS_AMD_TURIN : AECS_AMD_MILAN);
        if (c == NULL) {
            not_found(req);
            return;
        }
        send_body(req, 200, c->pem.data, c->pem.size, "application/x-pem-file");
        return;
    }

    const struct vcek *v = NULL;
    for (size_t i = 0; i < g_vcek_count && v == NULL; i++) {
        if (g_vceks[i].product == p && strcmp(rest, g_vceks[i].hwid) == 0 &&
            spls_match(req, &g_vceks[i]))
            v = &g_vceks[i];
    }
    if (strcmp(mode, "anyvcek") == 0 && v == NULL) {
        for (size_t i = 0; i < g_vcek_count && v == NULL; i++) {
            if (g_vceks[i].product == p)
                v = &g_vceks[i];
        }
        if (v == NULL)
            v = &g_vceks[0]; /* Milan's */
    }
    if (v == NULL) {
        not_found(req);
        return;
    }
    if (strcmp(mode, "pem") == 0)
        send_body(req, 200, v->pem.data, v->pem.size, "application/x-pem-file");
    else
        send_body(req, 200, v->der.data, v->der.size, "application/x-x509-ca-cert");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"lifetime", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    const char *data = "tests/data/snp";
    long lifetime = 300;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'l':
            lifetime = strtol(optarg, NULL, 10);
            if (lifetime <= 0 || lifetime > 3600)
                die("--lifetime must be 1..3600 seconds");
            break;
        default:
            fprintf(stderr, "usage: kds_server [--data DIR] [--lifetime S]\n");
            return 2;
        }
    }
    load(data);
    g_base = event_base_new();
    if (g_base == NULL)
        die("cannot create the event base");
    int rc = tool_serve(g_base, handle, lifetime);
    event_base_free(g_base);
    free_all();
    return rc == 0 ? 0 : 1;
}
