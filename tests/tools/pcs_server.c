/*
 * pcs_server.c - a loopback stand-in for Intel's PCS / a PCCS, for tests.
 *
 * It serves the test vectors in the PCS response form: for each set given
 * with --set (a folder under --data), the TCB Info and QE Identity as
 * {"tcbInfo":BODY,"signature":"HEX"} built from the set's *.body.json and
 * *.sig.hex, the CRLs as DER, and every issuer chain as URL-encoded PEM in the
 * PCS response headers. It binds 127.0.0.1 on a port the kernel picks and
 * prints that port on the first line of stdout.
 *
 *   GET .../{sgx,tdx}/certification/vN/tcb?fmspc=HEX      TCB Info of the set with that FMSPC
 *   GET .../{sgx,tdx}/certification/vN/qe/identity         QE Identity of the first set of that TEE
 *   GET .../sgx/certification/vN/pckcrl?ca=processor|platform   PCK CRL of the set with that CA
 *   GET .../sgx/certification/vN/rootcacrl                 root CA CRL of the first set
 *   GET /_stats     {"requests":N,"rootcacrl":N,"pckcrl":N,"tcb":N,"qe":N}
 *   GET /_control?mode=M&only=ITEM&delay_ms=N&fail_first=N&reset=1&quit=1
 *
 * Modes (for every item, or only for ITEM: rootcacrl, pckcrl, tcb, qe):
 *   ok, 404, 500, 503, garbage (200 with a body that is not collateral),
 *   noheaders (200 without the issuer chain header), slow (answers after
 *   delay_ms), huge (200 with a 16 MiB body). fail_first=N answers 503 to
 *   the next N collateral requests whatever the mode.
 *
 * It stops by itself after --lifetime seconds (default 300), on SIGTERM or
 * SIGINT, or on /_control?quit=1.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/serve.h"
#include "attest/collateral.h"
#include "base/codec.h"
#include "base/file.h"
#include "crypto/x509.h"

#define MAX_SETS 8
#define MAX_FILE (4u << 20)
#define HUGE_BODY (16u << 20)

enum item { IT_ROOTCACRL, IT_PCKCRL, IT_TCB, IT_QE, IT_COUNT };
static const char *const k_item_names[IT_COUNT] = {"rootcacrl", "pckcrl", "tcb", "qe"};

struct blob {
    uint8_t *data;
    size_t size;
};

struct vset {
    char name[128];
    int tdx;
    int platform_ca;
    char fmspc[13];
    struct blob root_crl, pck_crl, pck_crl_chain, tcb, tcb_chain, qe, qe_chain;
};

static struct vset g_sets[MAX_SETS];
static size_t g_set_count;
static struct event_base *g_base;
static char g_mode[16] = "ok";
static int g_only = -1;
static unsigned g_delay_ms = 2000;
static unsigned g_fail_first;
static int g_v3_headers;
static int g_hex_crl;
static unsigned long g_requests;
static unsigned long g_counts[IT_COUNT];

static void die(const char *what)
{
    fprintf(stderr, "pcs_server: %s\n", what);
    exit(2);
}

static void read_blob(const char *dir, const char *name, struct blob *b)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (aecs_file_read(path, MAX_FILE, &b->data, &b->size) != AECS_OK) {
        fprintf(stderr, "pcs_server: cannot read %s\n", path);
        exit(2);
    }
}

/* {"<member>":<body>,"signature":"<hex>"} from a set's split files. */
static void pcs_response(const char *dir, const char *stem, const char *member, struct blob *out)
{
    char name[128];
    struct blob body = {0};
    struct blob sig = {0};

    snprintf(name, sizeof(name), "%s.body.json", stem);
    read_blob(dir, name, &body);
    snprintf(name, sizeof(name), "%s.sig.hex", stem);
    read_blob(dir, name, &sig);
    while (sig.size > 0 && isspace(sig.data[sig.size - 1]))
        sig.size--;
    size_t cap = body.size + sig.size + strlen(member) + 64;
    out->data = malloc(cap);
    if (out->data == NULL)
        die("out of memory");
    int n = snprintf((char *)out->data, cap, "{\"%s\":%.*s,\"signature\":\"%.*s\"}", member,
                     (int)body.size, (const char *)body.data, (int)sig.size,
                     (const char *)sig.data);
    out->size = (size_t)n;
    free(body.data);
    free(sig.data);
}

static void load_set(const char *data_dir, const char *name)
{
    char dir[1024];
    struct vset *s;
    struct aecs_tcb_info *info = NULL;
    struct aecs_certs *chain = NULL;
    struct blob body = {0};
    char cn[128];

    if (g_set_count == MAX_SETS)
        die("too many sets");
    s = &g_sets[g_set_count++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(dir, sizeof(dir), "%s/%s", data_dir, name);
    read_blob(dir, "root_ca_crl.der", &s->root_crl);
    read_blob(dir, "pck_crl.der", &s->pck_crl);
    read_blob(dir, "pck_crl_issuer_chain.pem", &s->pck_crl_chain);
    read_blob(dir, "tcb_info_issuer_chain.pem", &s->tcb_chain);
    read_blob(dir, "qe_identity_issuer_chain.pem", &s->qe_chain);
    pcs_response(dir, "tcb_info", "tcbInfo", &s->tcb);
    pcs_response(dir, "qe_identity", "enclaveIdentity", &s->qe);
    read_blob(dir, "tcb_info.body.json", &body);
    if (aecs_tcb_info_parse(body.data, body.size, &info) != AECS_OK)
        die("a set's TCB Info does not parse");
    s->tdx = info->id == AECS_ID_TDX;
    aecs_hex_encode(info->fmspc, 6, s->fmspc);
    aecs_tcb_info_free(info);
    free(body.data);
    if (aecs_certs_parse(s->pck_crl_chain.data, s->pck_crl_chain.size, &chain) != AECS_OK ||
        aecs_certs_order_chain(chain) != AECS_OK)
        die("a set's PCK CRL issuer chain does not parse");
    aecs_cert_subject_cn(aecs_certs_get(chain, 0), cn, sizeof(cn));
    s->platform_ca = strstr(cn, "Platform") != NULL;
    aecs_certs_free(chain);
}

static void free_sets(void)
{
    for (size_t i = 0; i < g_set_count; i++) {
        struct vset *s = &g_sets[i];
        free(s->root_crl.data);
        free(s->pck_crl.data);
        free(s->pck_crl_chain.data);
        free(s->tcb.data);
        free(s->tcb_chain.data);
        free(s->qe.data);
        free(s->qe_chain.data);
    }
}

static void add_chain_header(struct evhttp_request *req, const char *name, const struct blob *pem)
{
    char *enc = evhttp_uriencode((const char *)pem->data, (ev_ssize_t)pem->size, 0);

    if (enc == NULL)
        die("out of memory");
    evhttp_add_header(evhttp_request_get_output_headers(req), name, enc);
    free(enc);
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

static void send_crl(struct evhttp_request *req, const struct blob *crl)
{
    if (!g_hex_crl) {
        send_body(req, 200, crl->data, crl->size, "application/pkix-crl");
        return;
    }
    char *hex = malloc(crl->size * 2 + 1);
    if (hex == NULL)
        die("out of memory");
    aecs_hex_encode(crl->data, crl->size, hex);
    send_body(req, 200, hex, crl->size * 2, "text/plain");
    free(hex);
}

static const char *query_param(struct evhttp_request *req, const char *name, char *buf,
                               size_t size)
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
    char text[256];
    int n = snprintf(text, sizeof(text),
                     "{\"requests\":%lu,\"rootcacrl\":%lu,\"pckcrl\":%lu,\"tcb\":%lu,\"qe\":%lu}",
                     g_requests, g_counts[IT_ROOTCACRL], g_counts[IT_PCKCRL], g_counts[IT_TCB],
                     g_counts[IT_QE]);
    send_body(req, 200, text, (size_t)n, "application/json");
}

static void handle_control(struct evhttp_request *req)
{
    char v[64];

    if (query_param(req, "mode", v, sizeof(v)) != NULL)
        snprintf(g_mode, sizeof(g_mode), "%.15s", v);
    if (query_param(req, "only", v, sizeof(v)) != NULL) {
        g_only = -1;
        for (int i = 0; i < IT_COUNT; i++) {
            if (strcmp(v, k_item_names[i]) == 0)
                g_only = i;
        }
    }
    if (query_param(req, "delay_ms", v, sizeof(v)) != NULL)
        g_delay_ms = (unsigned)strtoul(v, NULL, 10) % 30001u;
    if (query_param(req, "fail_first", v, sizeof(v)) != NULL)
        g_fail_first = (unsigned)strtoul(v, NULL, 10);
    if (query_param(req, "reset", v, sizeof(v)) != NULL) {
        g_requests = 0;
        memset(g_counts, 0, sizeof(g_counts));
    }
    send_body(req, 200, "ok\n", 3, "text/plain");
    if (query_param(req, "quit", v, sizeof(v)) != NULL)
        event_base_loopexit(g_base, NULL);
}

static void handle(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    const char *api;
    char v[64];
    int tdx;
    int item = -1;
    const struct vset *set = NULL;

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
    api = strstr(path, "/certification/v");
    if (api == NULL || api - path < 4) {
        evhttp_send_error(req, 404, "Not Found");
        return;
    }
    tdx = strncmp(api - 4, "/tdx", 4) == 0;
    api = strchr(api + strlen("/certification/v"), '/');
    if (api == NULL) {
        evhttp_send_error(req, 404, "Not Found");
        return;
    }
    api++;
    if (strcmp(api, "rootcacrl") == 0)
        item = IT_ROOTCACRL;
    else if (strcmp(api, "pckcrl") == 0)
        item = IT_PCKCRL;
    else if (strcmp(api, "tcb") == 0)
        item = IT_TCB;
    else if (strcmp(api, "qe/identity") == 0)
        item = IT_QE;
    if (item < 0) {
        evhttp_send_error(req, 404, "Not Found");
        return;
    }
    g_requests++;
    g_counts[item]++;

    if (g_fail_first > 0) {
        g_fail_first--;
        evhttp_send_error(req, 503, "Service Unavailable");
        return;
    }
    const char *mode = (g_only < 0 || g_only == item) ? g_mode : "ok";
    if (strcmp(mode, "404") == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Error-Message",
                          "No cache data for this platform");
        send_body(req, 404, "", 0, "text/plain");
        return;
    }
    if (strcmp(mode, "500") == 0) {
        send_body(req, 500, "internal error\n", 15, "text/plain");
        return;
    }
    if (strcmp(mode, "503") == 0) {
        evhttp_send_error(req, 503, "Service Unavailable");
        return;
    }
    if (strcmp(mode, "slow") == 0)
        usleep(g_delay_ms * 1000u); /* blocks the loop: tests use one request at a time */
    if (strcmp(mode, "huge") == 0) {
        char *big = malloc(HUGE_BODY);
        if (big == NULL)
            die("out of memory");
        memset(big, 'A', HUGE_BODY);
        send_body(req, 200, big, HUGE_BODY, "application/octet-stream");
        free(big);
        return;
    }
    int headers = strcmp(mode, "noheaders") != 0;
    int garbage = strcmp(mode, "garbage") == 0;
    static const char junk[] = "<html><body>Welcome to nginx!</body></html>\n";

    for (size_t i = 0; i < g_set_count && set == NULL; i++) {
        const struct vset *s = &g_sets[i];
        if (item == IT_ROOTCACRL)
            set = s;
        else if (item == IT_PCKCRL && query_param(req, "ca", v, sizeof(v)) != NULL &&
                 (strcasecmp(v, "platform") == 0) == s->platform_ca)
            set = s;
        else if (item == IT_TCB && s->tdx == tdx &&
                 query_param(req, "fmspc", v, sizeof(v)) != NULL && strcasecmp(v, s->fmspc) == 0)
            set = s;
        else if (item == IT_QE && s->tdx == tdx)
            set = s;
    }
    if (set == NULL) {
        evhttp_send_error(req, 404, "Not Found");
        return;
    }
    switch (item) {
    case IT_ROOTCACRL:
        if (garbage)
            send_body(req, 200, junk, sizeof(junk) - 1, "text/html");
        else
            send_crl(req, &set->root_crl);
        break;
    case IT_PCKCRL:
        if (headers)
            add_chain_header(req, "SGX-PCK-CRL-Issuer-Chain", &set->pck_crl_chain);
        if (garbage)
            send_body(req, 200, junk, sizeof(junk) - 1, "text/html");
        else
            send_crl(req, &set->pck_crl);
        break;
    case IT_TCB:
        if (headers)
            add_chain_header(req, g_v3_headers ? "SGX-TCB-Info-Issuer-Chain" : "TCB-Info-Issuer-Chain",
                             &set->tcb_chain);
        if (garbage)
            send_body(req, 200, junk, sizeof(junk) - 1, "text/html");
        else
            send_body(req, 200, set->tcb.data, set->tcb.size, "application/json");
        break;
    case IT_QE:
        if (headers)
            add_chain_header(req, "SGX-Enclave-Identity-Issuer-Chain", &set->qe_chain);
        if (garbage)
            send_body(req, 200, "{\"enclaveIdentity\":", 19, "application/json");
        else
            send_body(req, 200, set->qe.data, set->qe.size, "application/json");
        break;
    default:
        evhttp_send_error(req, 500, "Internal Error");
        break;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},   {"set", required_argument, NULL, 's'},
        {"mode", required_argument, NULL, 'm'},   {"delay-ms", required_argument, NULL, 'w'},
        {"lifetime", required_argument, NULL, 'l'}, {"v3-headers", no_argument, NULL, '3'},
        {"hex-crl", no_argument, NULL, 'x'},      {NULL, 0, NULL, 0},
    };
    const char *data = "tests/data/dcap";
    const char *sets[MAX_SETS];
    size_t nsets = 0;
    long lifetime = 300;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 's':
            if (nsets == MAX_SETS)
                die("too many --set");
            sets[nsets++] = optarg;
            break;
        case 'm':
            snprintf(g_mode, sizeof(g_mode), "%.15s", optarg);
            break;
        case 'w':
            g_delay_ms = (unsigned)strtoul(optarg, NULL, 10) % 30001u;
            break;
        case 'l':
            lifetime = strtol(optarg, NULL, 10);
            if (lifetime <= 0 || lifetime > 3600)
                die("--lifetime must be 1..3600 seconds");
            break;
        case '3':
            g_v3_headers = 1;
            break;
        case 'x':
            g_hex_crl = 1;
            break;
        default:
            fprintf(stderr, "usage: pcs_server [--data DIR] --set NAME... [--mode MODE] "
                            "[--delay-ms N] [--lifetime S] [--v3-headers] [--hex-crl]\n");
            return 2;
        }
    }
    if (nsets == 0)
        die("give at least one --set");
    for (size_t i = 0; i < nsets; i++)
        load_set(data, sets[i]);
    g_base = event_base_new();
    if (g_base == NULL)
        die("cannot create the event base");
    int rc = tool_serve(g_base, handle, lifetime);
    event_base_free(g_base);
    free_sets();
    return rc == 0 ? 0 : 1;
}
