/*
 * release.c - benchmark of attested releases through a real aecsd, beside the
 * cost of the cryptography of one release measured in the same run.
 *
 * Setup (in a temporary folder): a simulated TEE (aecs_sim_init), aecsd
 * started as a child process with the sim as its attester and trusted root,
 * auto-unseal from the sim key file, and a rate limit it never reaches; then
 * `aecs admin init`, a service and one AES secret whose policy names the sim
 * application's MRENCLAVE (all through the real aecs command).
 *
 * A release is what a TEE application does: POST /v1/challenge, evidence
 * (a sim quote) over SHA-512("aecs-release-v1" 0x00 || nonce || key), POST
 * /v1/release, then the answer's signature is checked and the envelope
 * opened. Clients are threads with one keep-alive libcurl handle each; 1, 8
 * and 64 of them run for AECS_BENCH_SECONDS (default 3) each.
 *
 * Figures: releases per second, p50/p99 latency, and the server's CPU time
 * per release (utime + stime of the aecsd process from /proc, over the
 * phase). The cryptography of one release, measured in this process on the
 * same machine: one warm verification of a sim quote by the verifier aecsd
 * uses, one envelope seal (key generation, ECDH, HKDF, AES-GCM), and one
 * answer signature. Then a floor: 64 clients sending GET /v1/health on
 * their keep-alive connections, the server's CPU per request when it does no
 * work but TLS, HTTP and the kernel's TCP (a release is two such requests,
 * a challenge and the release). The last line is
 *   release_ratio=X rps_64=Y p99_ms_64=Z
 * with X = server CPU per release at 64 clients / that cryptography.
 *
 * The store is SQLite by default. AECS_BENCH_STORE=etcd starts one etcd
 * member on free loopback ports in the temporary folder (data dir and log
 * there; `etcd` from PATH, exit 2 when it is not installed) and aecsd on it
 * with --store etcd:URL, as an operator starts a first replica: it is then
 * initialized the same way, and every challenge and release also writes the
 * client address's rate-limit bucket, the nonce and (for a release) the
 * audit entry in etcd. Every client comes from 127.0.0.1, so with etcd they
 * all take from one stored bucket (one key, compare-and-swap). The table
 * then has a column with the etcd member's CPU per release too;
 * release_ratio stays aecsd's CPU alone (docs/development.md says where the
 * time goes).
 *
 * The binaries are found as $AECS_BIN / $AECSD_BIN, else next to this
 * program's build folder (build/aecs, build/aecsd). Everything started here
 * (aecsd, etcd) is stopped and the folder removed at the end and on failure
 * (then the end of the logs is printed first).
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "proto/release.h"

#define MAX_SAMPLES 400000

static char g_dir[256];
static char g_sim[300];
static char g_url[128];
static char g_ca[PATH_MAX + 32];
static char g_aecs[PATH_MAX];
static char g_aecsd[PATH_MAX];
static char g_threads[8] = "8"; /* aecsd --threads; AECS_BENCH_THREADS */
static pid_t g_pid = -1;
static const uint8_t g_mrenclave[32] = {0xa5, 0xa5, 0xa5, 0xa5};
/* AECS_BENCH_STORE=etcd: the etcd program, and the member started here */
static int g_etcd;
static char g_etcd_bin[PATH_MAX];
static pid_t g_etcd_pid = -1;
static char g_store[128]; /* aecsd --store */

/*
 * Stops aecsd, then etcd (aecsd is etcd's client: stopped first, it logs no
 * store errors), waits for both, and removes the folder.
 */
static void stop_all(int sig)
{
    char cmd[PATH_MAX + 16];

    if (g_pid > 0) {
        kill(g_pid, sig);
        waitpid(g_pid, NULL, 0);
        g_pid = -1;
    }
    if (g_etcd_pid > 0) {
        kill(g_etcd_pid, sig);
        waitpid(g_etcd_pid, NULL, 0);
        g_etcd_pid = -1;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (g_dir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "bench/release: could not remove %s\n", g_dir);
}

/* The last lines of a log in the folder, to stderr, when it is there. */
static void print_log_end(const char *name)
{
    char path[PATH_MAX], cmd[PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    if (g_dir[0] == '\0' || access(path, R_OK) != 0)
        return;
    fprintf(stderr, "---- end of %s:\n", path);
    fflush(stderr);
    snprintf(cmd, sizeof(cmd), "tail -n 15 %s 1>&2", path);
    if (system(cmd) != 0)
        fprintf(stderr, "(unreadable)\n");
}

/* Says what failed, prints the end of the logs (their folder goes), stops everything, exits 1. */
static void fail(const char *fmt, ...) AECS_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bench/release: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    print_log_end("aecsd.log");
    print_log_end("etcd.log");
    stop_all(SIGKILL);
    exit(1);
}

static void die(const char *what)
{
    fail("%s: %s", what, aecs_err_last()->message);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of a child (aecsd, etcd), in seconds; 0 when there is none. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    FILE *f;
    unsigned long ut = 0, st = 0;
    char *p;

    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        if (f != NULL)
            fclose(f);
        return 0;
    }
    fclose(f);
    p = strrchr(buf, ')');
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                            &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void find_binaries(const char *argv0)
{
    const char *a = getenv("AECS_BIN"), *d = getenv("AECSD_BIN");
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    (void)argv0;
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/'); /* build/bench/release -> build/ */
        if (slash != NULL)
            *slash = '\0';
        slash = strrchr(self, '/');
        if (slash != NULL)
            *slash = '\0';
    } else {
        strcpy(self, "build");
    }
    snprintf(g_aecs, sizeof(g_aecs), "%s", a != NULL ? a : "");
    snprintf(g_aecsd, sizeof(g_aecsd), "%s", d != NULL ? d : "");
    if (a == NULL)
        snprintf(g_aecs, sizeof(g_aecs), "%.4000s/aecs", self);
    if (d == NULL)
        snprintf(g_aecsd, sizeof(g_aecsd), "%.4000s/aecsd", self);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t l = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static void run(const char *cmd)
{
    if (system(cmd) != 0)
        fail("failed: %s", cmd);
}

/* ---- HTTP ---- */

struct buf {
    char *data;
    size_t size;
    char sig[128];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    char *d = realloc(b->data, b->size + size * n + 1);

    if (d == NULL)
        return 0;
    memcpy(d + b->size, p, size * n);
    b->data = d;
    b->size += size * n;
    b->data[b->size] = '\0';
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t len = size * n, hl = strlen(AECS_HDR_ANSWER_SIGNATURE);

    if (len > hl + 2 && strncasecmp(p, AECS_HDR_ANSWER_SIGNATURE, hl) == 0 && p[hl] == ':') {
        size_t v = hl + 1;
        while (v < len && p[v] == ' ')
            v++;
        size_t e = len;
        while (e > v && (p[e - 1] == '\r' || p[e - 1] == '\n'))
            e--;
        if (e - v < sizeof(b->sig)) {
            memcpy(b->sig, p + v, e - v);
            b->sig[e - v] = '\0';
        }
    }
    return len;
}

/* A request on c's keep-alive connection: a POST of body, or a GET when body is NULL. */
static long request(CURL *c, const char *path, const char *body, size_t size, struct buf *out)
{
    char url[256];
    long status = 0;

    free(out->data);
    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "%s%s", g_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)size);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (curl_easy_perform(c) != CURLE_OK)
        return 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* One GET /v1/health: the least a request costs the server. */
static int one_health(CURL *c, const struct aecs_p256_pub *identity, struct buf *b)
{
    (void)identity;
    return request(c, "/v1/health", NULL, 0, b) == 200;
}

static CURL *client_handle(void)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");

    curl_easy_setopt(c, CURLOPT_CAINFO, g_ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h); /* leaked once per client: a benchmark */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    return c;
}

/* ---- one release ---- */

static int one_release(CURL *c, const struct aecs_p256_pub *identity, struct buf *b)
{
    uint8_t nonce[AECS_RELEASE_NONCE_SIZE], pub[AECS_P256_PUB_SIZE];
    int64_t expires = 0;
    struct aecs_p256_key *key = NULL;
    struct aecs_sim_quote_params qp;
    struct aecs_release_request rq;
    struct aecs_release_answer *ans = NULL;
    char *json = NULL;
    size_t json_size = 0;
    uint8_t *plain = NULL;
    size_t plain_size = 0;
    struct aecs_envelope_binding eb;
    int ok = 0;

    if (request(c, "/v1/challenge", "", 0, b) != 200 ||
        aecs_challenge_answer_parse(b->data, b->size, nonce, &expires) != AECS_OK)
        return 0;
    if (aecs_p256_key_generate(&key) != AECS_OK)
        return 0;
    aecs_p256_key_public(key, pub);
    memset(&qp, 0, sizeof(qp));
    memcpy(qp.mrenclave, g_mrenclave, sizeof(qp.mrenclave));
    aecs_release_binding(nonce, pub, qp.report_data);
    memset(&rq, 0, sizeof(rq));
    if (aecs_sim_quote(g_sim, &qp, &rq.evidence, &rq.evidence_size) != AECS_OK)
        goto out;
    memcpy(rq.pubkey, pub, sizeof(pub));
    memcpy(rq.nonce, nonce, sizeof(nonce));
    rq.count = 1;
    strcpy(rq.secrets[0].service, "bench");
    strcpy(rq.secrets[0].name, "key");
    if (aecs_release_request_serialize(&rq, &json, &json_size) != AECS_OK)
        goto out;
    if (request(c, "/v1/release", json, json_size, b) != 200)
        goto out;
    if (aecs_answer_verify(identity, AECS_ANSWER_RELEASE, nonce, pub, b->data, b->size, b->sig,
                           strlen(b->sig)) != AECS_OK ||
        aecs_release_answer_parse(b->data, b->size, &ans) != AECS_OK || ans->count != 1 ||
        !ans->results[0].sealed)
        goto out;
    eb.nonce = nonce;
    eb.service = "bench";
    eb.name = "key";
    eb.type = ans->results[0].type;
    ok = aecs_envelope_open(key, &eb, &ans->results[0].envelope, &plain, &plain_size) ==
             AECS_OK &&
         plain_size == 32;
out:
    aecs_envelope_plain_free(plain, plain_size);
    aecs_release_answer_free(ans);
    free(json);
    free(rq.evidence);
    aecs_p256_key_free(key);
    return ok;
}

/* ---- the load ---- */

typedef int (*action_fn)(CURL *c, const struct aecs_p256_pub *identity, struct buf *b);

struct load {
    action_fn action;
    const struct aecs_p256_pub *identity;
    double until;
    pthread_mutex_t lock;
    double *samples;
    size_t count;
    unsigned long failures;
};

static void *client_main(void *arg)
{
    struct load *l = arg;
    CURL *c = client_handle();
    struct buf b = {0};

    while (now_s() < l->until) {
        double t0 = now_s();
        int ok = l->action(c, l->identity, &b);
        double dt = now_s() - t0;
        pthread_mutex_lock(&l->lock);
        if (ok && l->count < MAX_SAMPLES)
            l->samples[l->count++] = dt;
        if (!ok)
            l->failures++;
        pthread_mutex_unlock(&l->lock);
    }
    free(b.data);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct phase {
    unsigned clients;
    double rps, p50_ms, p99_ms, server_us;
    double etcd_us; /* the etcd member's CPU per release (0 on SQLite) */
    size_t releases;
    unsigned long failures;
};

static void run_phase(action_fn action, const struct aecs_p256_pub *identity, unsigned clients,
                      double seconds, struct phase *ph)
{
    struct load l;
    pthread_t th[64];
    double t0, cpu0, etcd0, wall;

    memset(&l, 0, sizeof(l));
    l.action = action;
    l.identity = identity;
    l.samples = malloc(MAX_SAMPLES * sizeof(double));
    pthread_mutex_init(&l.lock, NULL);
    cpu0 = cpu_s(g_pid);
    etcd0 = cpu_s(g_etcd_pid);
    t0 = now_s();
    l.until = t0 + seconds;
    for (unsigned i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, client_main, &l);
    for (unsigned i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    wall = now_s() - t0;
    ph->clients = clients;
    ph->releases = l.count;
    ph->failures = l.failures;
    ph->rps = (double)l.count / wall;
    qsort(l.samples, l.count, sizeof(double), cmp_double);
    ph->p50_ms = l.count > 0 ? l.samples[l.count / 2] * 1e3 : 0;
    ph->p99_ms = l.count > 0 ? l.samples[(size_t)((double)l.count * 0.99)] * 1e3 : 0;
    ph->server_us = l.count > 0 ? (cpu_s(g_pid) - cpu0) * 1e6 / (double)l.count : 0;
    ph->etcd_us = l.count > 0 ? (cpu_s(g_etcd_pid) - etcd0) * 1e6 / (double)l.count : 0;
    free(l.samples);
    pthread_mutex_destroy(&l.lock);
}

/* ---- the cryptography of one release, in this process ---- */

static double crypto_us(double seconds)
{
    struct aecs_verifier_config vc;
    struct aecs_verifier *v = NULL;
    struct aecs_sim_quote_params qp;
    uint8_t *quote = NULL;
    size_t qsize = 0;
    struct aecs_claims claims;
    struct aecs_p256_key *client = NULL, *identity = NULL;
    struct aecs_p256_pub *client_pub = NULL;
    uint8_t pub[AECS_P256_PUB_SIZE], nonce[32] = {1}, secret[32] = {2};
    char root[PATH_MAX + 16], sig[AECS_ANSWER_SIG_B64_MAX];
    const char body[] = "{\"secrets\":[]}";
    struct aecs_envelope_binding eb = {nonce, "bench", "key", "SECRET_TYPE_AES256_KEY"};
    double t0, t, best = 1e9;
    unsigned n;

    memset(&vc, 0, sizeof(vc));
    snprintf(root, sizeof(root), "%s/root.der", g_sim);
    vc.sim_root_file = root;
    vc.sim_dir = g_sim;
    memset(&qp, 0, sizeof(qp));
    if (aecs_verifier_new(&vc, &v) != AECS_OK || aecs_sim_quote(g_sim, &qp, &quote, &qsize) ||
        aecs_p256_key_generate(&client) != AECS_OK ||
        aecs_p256_key_generate(&identity) != AECS_OK)
        die("crypto setup");
    aecs_p256_key_public(client, pub);
    if (aecs_p256_pub_import(pub, sizeof(pub), &client_pub) != AECS_OK ||
        aecs_verifier_verify(v, quote, qsize, 0, &claims, NULL) != AECS_OK)
        die("crypto setup");
    /* the median-free estimate: the fastest of a few rounds, as the server is warm too */
    for (int round = 0; round < 5; round++) {
        t0 = thread_cpu_s();
        n = 0;
        while (thread_cpu_s() - t0 < seconds / 5) {
            struct aecs_envelope env;
            if (aecs_verifier_verify(v, quote, qsize, 0, &claims, NULL) != AECS_OK ||
                aecs_envelope_seal(client_pub, &eb, secret, sizeof(secret), &env) != AECS_OK ||
                aecs_answer_sign(identity, AECS_ANSWER_RELEASE, nonce, pub, body,
                                 sizeof(body) - 1, sig) != AECS_OK)
                die("crypto loop");
            aecs_envelope_clear(&env);
            n++;
        }
        t = (thread_cpu_s() - t0) * 1e6 / (double)n;
        best = t < best ? t : best;
    }
    aecs_p256_pub_free(client_pub);
    aecs_p256_key_free(client);
    aecs_p256_key_free(identity);
    free(quote);
    aecs_verifier_free(v);
    return best;
}

/* ---- setup ---- */

static void write_text(const char *path, const char *text)
{
    if (aecs_file_write_atomic(path, text, strlen(text), 0600) != AECS_OK)
        die(path);
}

/* The MRENCLAVE of aecsd's sim identity, which the admin's server_policy names. */
#define BENCH_SERVER_MR "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"

/*
 * One etcd member on free loopback ports, its data dir and log in the
 * folder: the single-member cluster an operator would start to try aecs on
 * etcd (plain HTTP on loopback, etcd's default raft timings and fsync), so
 * that a release pays what it would pay there. Sets g_store to its spec and
 * waits until it has a leader (its /health says true).
 */
static void start_etcd(void)
{
    char client[64], peer[64], cluster[96], data[PATH_MAX + 8], log[PATH_MAX + 16];
    char probe[256];
    int client_port = free_port(), peer_port = free_port();

    /* both were free, but the kernel may hand out the same port twice once it is closed */
    while (peer_port > 0 && peer_port == client_port)
        peer_port = free_port();
    if (client_port <= 0 || peer_port <= 0)
        fail("no free port for etcd");
    snprintf(client, sizeof(client), "http://127.0.0.1:%d", client_port);
    snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", peer_port);
    snprintf(cluster, sizeof(cluster), "bench=%s", peer);
    snprintf(data, sizeof(data), "%s/etcd", g_dir);
    snprintf(log, sizeof(log), "%s/etcd.log", g_dir);
    fflush(NULL); /* nothing buffered may be written twice */
    g_etcd_pid = fork();
    if (g_etcd_pid < 0)
        fail("fork: %s", strerror(errno));
    if (g_etcd_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a bench killed by a signal leaves no etcd behind */
        if (freopen(log, "a", stdout) == NULL || freopen(log, "a", stderr) == NULL)
            _exit(126);
        execl(g_etcd_bin, "etcd", "--name", "bench", "--data-dir", data, "--listen-client-urls",
              client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
              "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
              "--initial-cluster-state", "new", "--logger", "zap", "--log-level", "warn",
              (char *)NULL);
        _exit(127);
    }
    snprintf(g_store, sizeof(g_store), "etcd:%s", client);
    snprintf(probe, sizeof(probe),
             "curl -sf --max-time 1 %s/health 2>/dev/null | grep -q '\"health\":\"true\"'",
             client);
    for (int i = 0; i < 200; i++) {
        if (system(probe) == 0)
            return;
        if (waitpid(g_etcd_pid, NULL, WNOHANG) == g_etcd_pid) {
            g_etcd_pid = -1;
            fail("etcd exited at start (a port taken meanwhile? run again)");
        }
        usleep(100000);
    }
    fail("etcd has no leader after 20 s");
}

/*
 * aecsd on g_store with the sim TEE as attester and trusted root, auto-unseal
 * from the sim key file, and a rate limit it never reaches (1000000 a
 * second, for a burst of as many): the phases measure releases, not
 * refusals, while each limited request still takes a token (with etcd: one
 * bucket write).
 */
static void start_server(void)
{
    char listen[64], data[PATH_MAX + 8], log[PATH_MAX + 16], probe[512];
    int port = free_port();

    if (port <= 0)
        die("no free port");
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(g_url, sizeof(g_url), "https://127.0.0.1:%d", port);
    snprintf(data, sizeof(data), "%s/data", g_dir);
    snprintf(g_ca, sizeof(g_ca), "%s/tls/cert.pem", data);
    snprintf(log, sizeof(log), "%s/aecsd.log", g_dir);
    if (!g_etcd) /* aecsd's default, said out loud */
        snprintf(g_store, sizeof(g_store), "sqlite:%.100s/store.db", data);
    fflush(NULL);
    g_pid = fork();
    if (g_pid < 0)
        fail("fork: %s", strerror(errno));
    if (g_pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* as etcd: a killed bench leaves no aecsd behind */
        execl(g_aecsd, g_aecsd, "--data", data, "--store", g_store, "--listen", listen,
              "--threads", g_threads, "--attester", "sim", "--sim-dir", g_sim,
              "--sim-mrenclave", BENCH_SERVER_MR, "--insecure-trust-sim", g_sim,
              "--insecure-sim-auto-unseal", "--rate-burst", "1000000", "--rate-per-second",
              "1000000", "--access-log", "none", "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    snprintf(probe, sizeof(probe), "curl -sk -o /dev/null --max-time 1 %s/v1/health", g_url);
    for (int i = 0; i < 200; i++) {
        if (system(probe) == 0)
            return;
        if (waitpid(g_pid, NULL, WNOHANG) == g_pid) {
            g_pid = -1;
            fail("aecsd exited at start");
        }
        usleep(100000);
    }
    fail("aecsd did not answer after 20 s");
}

static void setup(void)
{
    char cmd[4 * PATH_MAX], path[PATH_MAX + 32], mr[65];
    struct aecs_sim_options so;

    memset(&so, 0, sizeof(so));
    if (aecs_sim_init(g_sim, &so) != AECS_OK)
        die("sim init");
    if (g_etcd)
        start_etcd();
    start_server();
    snprintf(path, sizeof(path), "%s/admin.yaml", g_dir);
    /* init checks the server's identity first: the sim aecsd's enclave, the sim trusted */
    snprintf(cmd, sizeof(cmd),
             "server: %s\nkey: %s/admin.pem\nca: %s\nserver_policy: {enclaveMatchAnyRules: "
             "[{mrenclave: " BENCH_SERVER_MR ", allow_sim: true}]}\n"
             "verifier: {insecure_trust_sim: %s}\n",
             g_url, g_dir, g_ca, g_sim);
    write_text(path, cmd);
    snprintf(path, sizeof(path), "%s/svc.yaml", g_dir);
    snprintf(cmd, sizeof(cmd), "server: %s\nkey: %s/svc.pem\nca: %s\nservice: bench\n", g_url,
             g_dir, g_ca);
    write_text(path, cmd);
    aecs_hex_encode(g_mrenclave, sizeof(g_mrenclave), mr);
    snprintf(path, sizeof(path), "%s/policy.yaml", g_dir);
    snprintf(cmd, sizeof(cmd),
             "apiVersion: v1\nkind: SecretPolicy\nsecrets:\n- spec:\n    name: key\n"
             "    type: SECRET_TYPE_AES256_KEY\n    service: bench\n    policy:\n"
             "      enclaveMatchAnyRules:\n      - mrenclave: \"%s\"\n        allow_sim: true\n",
             mr);
    write_text(path, cmd);
    snprintf(cmd, sizeof(cmd),
             "set -e; cd %s; A=%s; $A keygen --out admin >/dev/null; $A keygen --out svc >/dev/null;"
             " $A admin init --config admin.yaml --shares 2 --threshold 2 --json >/dev/null;"
             " $A admin service register --config admin.yaml --name bench --pubkey svc.pub.pem >/dev/null;"
             " $A secret create --config svc.yaml --policy policy.yaml >/dev/null",
             g_dir, g_aecs);
    run(cmd);
}

/* The identity key, read from the server's signed identity answer. */
static struct aecs_p256_pub *fetch_identity(void)
{
    CURL *c = client_handle();
    struct buf b = {0};
    char url[256];
    struct aecs_identity_answer *ia = NULL;
    struct aecs_p256_pub *pub = NULL;
    long status = 0;

    snprintf(url, sizeof(url),
             "%s/v1/identity?nonce=0000000000000000000000000000000000000000000000000000000000000000",
             g_url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) != CURLE_OK ||
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
        aecs_identity_answer_parse(b.data, b.size, &ia) != AECS_OK ||
        aecs_p256_pub_import(ia->pubkey, sizeof(ia->pubkey), &pub) != AECS_OK)
        die("identity");
    aecs_identity_answer_free(ia);
    free(b.data);
    curl_easy_cleanup(c);
    return pub;
}

/*
 * AECS_BENCH_STORE: "sqlite" (the default) or "etcd", which needs the etcd
 * program in PATH. Returns 0, or 2 after saying on stderr what is wrong
 * (before anything is started).
 */
static int choose_store(void)
{
    const char *store = getenv("AECS_BENCH_STORE");

    if (store == NULL || store[0] == '\0' || strcmp(store, "sqlite") == 0)
        return 0;
    if (strcmp(store, "etcd") != 0) {
        fprintf(stderr, "bench/release: AECS_BENCH_STORE=%.32s: sqlite (the default) or etcd\n",
                store);
        return 2;
    }
    if (!aecs_file_find_program("etcd", g_etcd_bin, sizeof(g_etcd_bin))) {
        fprintf(stderr, "bench/release: AECS_BENCH_STORE=etcd needs the etcd program, which is "
                        "not in PATH (Debian: apt-get install etcd-server, which "
                        "scripts/deps.sh does)\n");
        return 2;
    }
    g_etcd = 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *env = getenv("AECS_BENCH_SECONDS");
    const char *threads = getenv("AECS_BENCH_THREADS");
    double seconds = env != NULL ? atof(env) : 3.0;
    static const unsigned k_clients[] = {1, 8, 64};
    struct phase ph[3], floor;
    struct aecs_p256_pub *identity;
    double crypto;
    int rc;

    (void)argc;
    rc = choose_store();
    if (rc != 0)
        return rc;
    if (seconds <= 0)
        seconds = 3.0;
    if (threads != NULL && atoi(threads) >= 1 && atoi(threads) <= 256)
        snprintf(g_threads, sizeof(g_threads), "%d", atoi(threads));
    find_binaries(argv[0]);
    snprintf(g_dir, sizeof(g_dir), "/tmp/aecs-bench-release-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_sim, sizeof(g_sim), "%s/sim", g_dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    setup();
    identity = fetch_identity();
    crypto = crypto_us(1.0);
    printf("bench/release: aecsd (%s threads, %s store, sim TEE) on loopback, %.1f s per phase\n",
           g_threads, g_etcd ? "one-member etcd" : "SQLite", seconds);
    printf("cryptography of one release (warm verify + envelope + signature): %.1f us\n",
           crypto);
    printf("%8s %10s %9s %9s %16s %8s %9s%s\n", "clients", "releases", "rps", "p50_ms",
           "server_us/release", "ratio", "failures", g_etcd ? "  etcd_us/release" : "");
    for (int i = 0; i < 3; i++) {
        run_phase(one_release, identity, k_clients[i], seconds, &ph[i]);
        printf("%8u %10zu %9.1f %9.2f %16.1f %8.2f %9lu", ph[i].clients, ph[i].releases,
               ph[i].rps, ph[i].p50_ms, ph[i].server_us, ph[i].server_us / crypto,
               ph[i].failures);
        if (g_etcd) /* the store's own CPU, beside aecsd's (which the ratio stays) */
            printf(" %16.1f", ph[i].etcd_us);
        printf("\n");
        fflush(stdout);
    }
    run_phase(one_health, identity, 64, seconds, &floor);
    printf("floor: GET /v1/health at 64 clients (keep-alive TLS, no work): %.1f us of server "
           "CPU per request (%.2f x the cryptography; a release is two requests), %.0f rps, "
           "%lu failures\n",
           floor.server_us, floor.server_us / crypto, floor.rps, floor.failures);
    aecs_p256_pub_free(identity);
    stop_all(SIGTERM);
    printf("release_ratio=%.2f rps_64=%.1f p99_ms_64=%.2f\n", ph[2].server_us / crypto, ph[2].rps,
           ph[2].p99_ms);
    return ph[2].releases > 0 ? 0 : 1;
}
