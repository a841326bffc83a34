/*
 * etcd_cluster.c - see etcd_cluster.h. Members are started with fork and
 * execv (no shell), their output goes to DIR/mN.log; readiness and leaders
 * are read from POST /v3/maintenance/status with libcurl directly, so the
 * checks do not go through the store code under test. TLS files are made
 * with the openssl command line.
 */
#include "etcd_cluster.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/file.h"

#include "testutil.h"

#define WAIT_MS 20000
#define START_ATTEMPTS 3

/* Every cluster started and not stopped yet, for the exit handler. */
#define MAX_LIVE 8
static struct tu_etcd *g_live[MAX_LIVE];
static int g_atexit_set;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void kill_all_at_exit(void)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        struct tu_etcd *c = g_live[i];
        for (size_t k = 0; c != NULL && k < c->count; k++) {
            if (c->m[k].pid > 0) {
                kill(c->m[k].pid, SIGKILL);
                waitpid(c->m[k].pid, NULL, 0);
                c->m[k].pid = 0;
            }
        }
    }
}

static void track(struct tu_etcd *c, int on)
{
    if (!g_atexit_set) {
        atexit(kill_all_at_exit);
        g_atexit_set = 1;
    }
    for (int i = 0; i < MAX_LIVE; i++) {
        if (on && g_live[i] == NULL) {
            g_live[i] = c;
            return;
        }
        if (!on && g_live[i] == c) {
            g_live[i] = NULL;
            return;
        }
    }
    assert_false(on); /* more than MAX_LIVE clusters at once */
}

/* Runs argv (argv[0] found in PATH) with output to log (or /dev/null); returns its exit status. */
static int run(const char *const *argv, const char *log)
{
    char prog[512];
    int status = 0;

    if (!aecs_file_find_program(argv[0], prog, sizeof(prog)))
        fail_msg("%s is not installed (Debian: scripts/deps.sh installs it)", argv[0]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log != NULL ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Distinct free loopback ports: all bound at once, then released. */
static void free_ports(int *ports, size_t n)
{
    int fds[2 * TU_ETCD_MAX_MEMBERS];

    assert_true(n <= sizeof(fds) / sizeof(fds[0]));
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        socklen_t len = sizeof(a);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(bind(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(fds[i], (struct sockaddr *)&a, &len), 0);
        ports[i] = ntohs(a.sin_port);
    }
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* Prints the end of every member's log (after a failure). */
static void print_logs(struct tu_etcd *c)
{
    for (size_t i = 0; i < c->count; i++) {
        char path[160];
        size_t size = 0;
        snprintf(path, sizeof(path), "%s/m%zu.log", c->dir, i);
        uint8_t *log = tu_try_read_file(path, &size);
        if (log == NULL)
            continue;
        size_t from = size > 3000 ? size - 3000 : 0;
        print_error("---- etcd member %zu (%s), end of its log:\n%s\n", i, path,
                    (char *)log + from);
        free(log);
    }
}

static void spawn(struct tu_etcd *c, size_t i)
{
    char prog[512];
    char name[8], data[128], peer[64], cluster[256], token[96], log[160];
    char cert[160], key[160], ca[160];
    const char *argv[64];
    size_t n = 0;

    if (!aecs_file_find_program("etcd", prog, sizeof(prog)))
        fail_msg("etcd is not installed: the etcd store tests need a real etcd (Debian: "
                 "apt-get install etcd-server etcd-client, which scripts/deps.sh does)");
    snprintf(name, sizeof(name), "m%zu", i);
    snprintf(data, sizeof(data), "%s/m%zu", c->dir, i);
    snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", c->m[i].peer_port);
    snprintf(token, sizeof(token), "aecs-test-%d-%s", (int)getpid(), c->dir + 5);
    snprintf(log, sizeof(log), "%s/m%zu.log", c->dir, i);
    cluster[0] = '\0';
    for (size_t k = 0; k < c->count; k++) {
        size_t len = strlen(cluster);
        snprintf(cluster + len, sizeof(cluster) - len, "%sm%zu=http://127.0.0.1:%d",
                 k > 0 ? "," : "", k, c->m[k].peer_port);
    }
    argv[n++] = "etcd";
    argv[n++] = "--name";
    argv[n++] = name;
    argv[n++] = "--data-dir";
    argv[n++] = data;
    argv[n++] = "--listen-client-urls";
    argv[n++] = c->m[i].client_url;
    argv[n++] = "--advertise-client-urls";
    argv[n++] = c->m[i].client_url;
    argv[n++] = "--listen-peer-urls";
    argv[n++] = peer;
    argv[n++] = "--initial-advertise-peer-urls";
    argv[n++] = peer;
    argv[n++] = "--initial-cluster";
    argv[n++] = cluster;
    argv[n++] = "--initial-cluster-token";
    argv[n++] = token;
    argv[n++] = "--initial-cluster-state";
    argv[n++] = "new";
    /* short raft timings: elections in well under a second */
    argv[n++] = "--heartbeat-interval";
    argv[n++] = "50";
    argv[n++] = "--election-timeout";
    argv[n++] = "500";
    argv[n++] = "--logger";
    argv[n++] = "zap";
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    if (c->flags & TU_ETCD_TLS) {
        snprintf(cert, sizeof(cert), "%s/server.pem", c->dir);
        snprintf(key, sizeof(key), "%s/server.key", c->dir);
        snprintf(ca, sizeof(ca), "%s/ca.pem", c->dir);
        argv[n++] = "--cert-file";
        argv[n++] = cert;
        argv[n++] = "--key-file";
        argv[n++] = key;
        argv[n++] = "--trusted-ca-file";
        argv[n++] = ca;
        argv[n++] = "--client-cert-auth";
    }
    for (size_t k = 0; c->extra[k] != NULL; k++)
        argv[n++] = c->extra[k];
    argv[n] = NULL;
    assert_true(n < sizeof(argv) / sizeof(argv[0]));

    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* die with the test process, whatever happens to it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    c->m[i].pid = pid;
}

/* ---------------------------------------------------------------- HTTP */

static size_t collect(char *p, size_t size, size_t nmemb, void *arg)
{
    char **buf = arg;
    size_t old = *buf != NULL ? strlen(*buf) : 0;
    size_t n = size * nmemb;
    char *grown = realloc(*buf, old + n + 1);

    if (grown == NULL)
        return 0;
    memcpy(grown + old, p, n);
    grown[old + n] = '\0';
    *buf = grown;
    return n;
}

static long post_raw(struct tu_etcd *c, size_t i, const char *path, const char *body,
                     const char *token, json_t **out)
{
    char url[160];
    char auth[600];
    char *answer = NULL;
    long status = 0;
    struct curl_slist *h = NULL;
    CURL *curl = curl_easy_init();

    if (out != NULL)
        *out = NULL;
    assert_non_null(curl);
    snprintf(url, sizeof(url), "%s%s", c->m[i].client_url, path);
    h = curl_slist_append(h, "Content-Type: application/json");
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    if (c->flags & TU_ETCD_TLS) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(curl, CURLOPT_SSLCERT, c->cert_file);
        curl_easy_setopt(curl, CURLOPT_SSLKEY, c->key_file);
    }
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    if (out != NULL && answer != NULL)
        *out = json_loads(answer, 0, NULL);
    free(answer);
    return status;
}

long tu_etcd_post(struct tu_etcd *c, size_t i, const char *path, const char *body, json_t **out)
{
    char token[512] = "";

    if (c->auth[0] != '\0') {
        char user[128];
        json_t *j = NULL;
        snprintf(user, sizeof(user), "%s", c->auth);
        char *colon = strchr(user, ':');
        assert_non_null(colon);
        *colon = '\0';
        json_t *req = json_pack("{s:s, s:s}", "name", user, "password", colon + 1);
        char *text = json_dumps(req, JSON_COMPACT);
        assert_non_null(text);
        if (post_raw(c, i, "/v3/auth/authenticate", text, NULL, &j) == 200) {
            const char *t = json_string_value(json_object_get(j, "token"));
            snprintf(token, sizeof(token), "%s", t != NULL ? t : "");
        }
        free(text);
        json_decref(req);
        json_decref(j);
    }
    return post_raw(c, i, path, body, token[0] ? token : NULL, out);
}

/* The member's own id and its leader's (0: none), from its status; 0 when it does not answer. */
static int status_of(struct tu_etcd *c, size_t i, unsigned long long *self,
                     unsigned long long *leader)
{
    json_t *j = NULL;
    long st = post_raw(c, i, "/v3/maintenance/status", "{}", NULL, &j);
    int ok = st == 200 && j != NULL;

    *self = 0;
    *leader = 0;
    if (ok) {
        const char *s = json_string_value(json_object_get(json_object_get(j, "header"), "member_id"));
        const char *l = json_string_value(json_object_get(j, "leader"));
        *self = s != NULL ? strtoull(s, NULL, 10) : 0;
        *leader = l != NULL ? strtoull(l, NULL, 10) : 0;
    }
    json_decref(j);
    return ok;
}

/* 1 when every running member answers and follows a running member. */
static int has_leader(struct tu_etcd *c)
{
    unsigned long long self[TU_ETCD_MAX_MEMBERS] = {0};
    unsigned long long leader[TU_ETCD_MAX_MEMBERS] = {0};

    for (size_t i = 0; i < c->count; i++) {
        if (c->m[i].pid > 0 && !status_of(c, i, &self[i], &leader[i]))
            return 0;
    }
    for (size_t i = 0; i < c->count; i++) {
        int found = 0;
        if (c->m[i].pid <= 0)
            continue;
        for (size_t k = 0; k < c->count; k++)
            found |= c->m[k].pid > 0 && leader[i] != 0 && leader[i] == self[k];
        if (!found)
            return 0;
    }
    return 1;
}

/* 1 when a member exited; its status goes to *status. */
static int member_died(struct tu_etcd *c, int *status)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->m[i].pid > 0 && waitpid(c->m[i].pid, status, WNOHANG) == c->m[i].pid) {
            c->m[i].pid = 0;
            return 1;
        }
    }
    return 0;
}

void tu_etcd_wait_leader(struct tu_etcd *c)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int status = 0;

    while (!has_leader(c)) {
        if (member_died(c, &status) || now_ms() > deadline) {
            print_logs(c);
            fail_msg("etcd cluster in %s: no leader within %d ms", c->dir, WAIT_MS);
        }
        nap_ms(50);
    }
}

void tu_etcd_wait_no_leader(struct tu_etcd *c, size_t i)
{
    int64_t deadline = now_ms() + WAIT_MS;
    unsigned long long self = 0;
    unsigned long long leader = 1;

    while (!status_of(c, i, &self, &leader) || leader != 0) {
        if (now_ms() > deadline) {
            print_logs(c);
            fail_msg("etcd member %zu still has a leader after %d ms", i, WAIT_MS);
        }
        nap_ms(50);
    }
}

/* ----------------------------------------------------------------- TLS */

static void make_tls_files(struct tu_etcd *c)
{
    char ca_key[128], skey[128], spem[128], log[128];

    snprintf(c->ca_file, sizeof(c->ca_file), "%s/ca.pem", c->dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", c->dir);
    snprintf(skey, sizeof(skey), "%s/server.key", c->dir);
    snprintf(spem, sizeof(spem), "%s/server.pem", c->dir);
    snprintf(c->key_file, sizeof(c->key_file), "%s/client.key", c->dir);
    snprintf(c->cert_file, sizeof(c->cert_file), "%s/client.pem", c->dir);
    snprintf(log, sizeof(log), "%s/openssl.log", c->dir);
    const char *const ca[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out",
                              c->ca_file, "-days", "2", "-subj", "/CN=aecs test CA", NULL};
    const char *const server[] = {
        "openssl", "req", "-x509", "-CA", c->ca_file, "-CAkey", ca_key, "-newkey", "ec",
        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", skey, "-out", spem, "-days",
        "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-addext",
        "extendedKeyUsage=serverAuth,clientAuth", NULL};
    const char *const client[] = {
        "openssl", "req", "-x509", "-CA", c->ca_file, "-CAkey", ca_key, "-newkey", "ec",
        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", c->key_file, "-out",
        c->cert_file, "-days", "2", "-subj", "/CN=aecs", "-addext",
        "extendedKeyUsage=clientAuth", NULL};
    if (run(ca, log) != 0 || run(server, log) != 0 || run(client, log) != 0) {
        size_t size = 0;
        uint8_t *text = tu_try_read_file(log, &size);
        fail_msg("openssl could not make the test certificates: %s", text ? (char *)text : "");
    }
}

/* ------------------------------------------------------------ lifecycle */

void tu_etcd_start(struct tu_etcd *c, size_t count, unsigned flags, const char *const *extra)
{
    size_t n_extra = 0;

    assert_true(count >= 1 && count <= TU_ETCD_MAX_MEMBERS);
    memset(c, 0, sizeof(*c));
    c->count = count;
    c->flags = flags;
    for (; extra != NULL && extra[n_extra] != NULL; n_extra++) {
        assert_true(n_extra < TU_ETCD_MAX_EXTRA);
        c->extra[n_extra] = extra[n_extra];
    }
    c->extra[n_extra] = NULL;
    tu_mkdtemp(c->dir, sizeof(c->dir));
    track(c, 1);
    if (flags & TU_ETCD_TLS)
        make_tls_files(c);

    for (int attempt = 1;; attempt++) {
        int ports[2 * TU_ETCD_MAX_MEMBERS];
        int status = 0;
        size_t len = 0;

        free_ports(ports, 2 * count);
        c->endpoints[0] = '\0';
        for (size_t i = 0; i < count; i++) {
            c->m[i].client_port = ports[2 * i];
            c->m[i].peer_port = ports[2 * i + 1];
            snprintf(c->m[i].client_url, sizeof(c->m[i].client_url), "%s://127.0.0.1:%d",
                     flags & TU_ETCD_TLS ? "https" : "http", c->m[i].client_port);
            len += (size_t)snprintf(c->endpoints + len, sizeof(c->endpoints) - len, "%s%s",
                                    i > 0 ? "," : "", c->m[i].client_url);
        }
        for (size_t i = 0; i < count; i++)
            spawn(c, i);
        int64_t deadline = now_ms() + WAIT_MS;
        int died = 0;
        while (!has_leader(c)) {
            died = member_died(c, &status);
            if (died || now_ms() > deadline)
                break;
            nap_ms(50);
        }
        if (!died && now_ms() <= deadline)
            return;
        /* A port taken meanwhile by someone else: start over on other ports and a clean slate. */
        if (died && attempt < START_ATTEMPTS) {
            for (size_t i = 0; i < count; i++) {
                if (c->m[i].pid > 0)
                    tu_etcd_kill(c, i);
                char data[160];
                snprintf(data, sizeof(data), "%s/m%zu", c->dir, i);
                tu_rmtree(data);
            }
            continue;
        }
        print_logs(c);
        fail_msg("etcd (%zu members in %s) did not come up: %s", count, c->dir,
                 died ? "a member exited" : "no leader in time");
    }
}

void tu_etcd_kill(struct tu_etcd *c, size_t i)
{
    assert_true(i < c->count);
    if (c->m[i].pid <= 0)
        return;
    kill(c->m[i].pid, SIGKILL);
    while (waitpid(c->m[i].pid, NULL, 0) < 0 && errno == EINTR)
        ;
    c->m[i].pid = 0;
}

void tu_etcd_restart(struct tu_etcd *c, size_t i)
{
    assert_true(i < c->count);
    assert_int_equal(c->m[i].pid, 0);
    spawn(c, i);
}

void tu_etcd_stop(struct tu_etcd *c)
{
    if (c->dir[0] == '\0')
        return;
    for (size_t i = 0; i < c->count; i++)
        tu_etcd_kill(c, i);
    track(c, 0);
    tu_rmtree(c->dir);
    memset(c, 0, sizeof(*c));
}

static size_t running_member(struct tu_etcd *c)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->m[i].pid > 0)
            return i;
    }
    fail_msg("no etcd member is running");
    return 0;
}

void tu_etcd_wipe(struct tu_etcd *c)
{
    /* key "\0" with range_end "\0": every key */
    long st = tu_etcd_post(c, running_member(c), "/v3/kv/deleterange",
                           "{\"key\":\"AA==\",\"range_end\":\"AA==\"}", NULL);
    assert_int_equal(st, 200);
}

void tu_etcd_put(struct tu_etcd *c, const char *key, const char *value)
{
    char *k = tu_b64(key);
    char *v = tu_b64(value);
    json_t *req = json_pack("{s:s, s:s}", "key", k, "value", v);
    char *body = json_dumps(req, JSON_COMPACT);

    assert_int_equal(tu_etcd_post(c, running_member(c), "/v3/kv/put", body, NULL), 200);
    free(body);
    json_decref(req);
    free(k);
    free(v);
}

/* Decodes standard base64 (with padding) into a fresh NUL-terminated string. */
static char *unb64(const char *s)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    char *out = malloc(n / 4 * 3 + 1);
    uint32_t v = 0;
    int bits = 0;

    assert_non_null(out);
    assert_int_equal(n % 4, 0);
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *p = strchr(a, s[i]);
        if (p == NULL)
            fail_msg("etcd answered a value that is not base64: %s", s);
        v = v << 6 | (uint32_t)(p - a);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(v >> bits & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

char *tu_etcd_get(struct tu_etcd *c, const char *key, long long *version)
{
    char *k = tu_b64(key);
    json_t *req = json_pack("{s:s}", "key", k);
    char *body = json_dumps(req, JSON_COMPACT);
    json_t *resp = NULL, *kv;
    char *value = NULL;

    assert_int_equal(tu_etcd_post(c, running_member(c), "/v3/kv/range", body, &resp), 200);
    kv = json_array_get(json_object_get(resp, "kvs"), 0);
    if (version != NULL)
        *version = 0;
    if (kv != NULL) {
        /* the gateway leaves out empty values, and writes 64-bit numbers as strings */
        const char *v = json_string_value(json_object_get(kv, "value"));
        const char *ver = json_string_value(json_object_get(kv, "version"));
        value = unb64(v != NULL ? v : "");
        if (version != NULL && ver != NULL)
            *version = strtoll(ver, NULL, 10);
    }
    json_decref(resp);
    json_decref(req);
    free(body);
    free(k);
    return value;
}

long long tu_etcd_count(struct tu_etcd *c, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end = malloc(n + 1);
    char *k, *e, *body;
    json_t *req, *resp = NULL;
    const char *count;
    long long result;

    assert_non_null(end);
    assert_true(n > 0 && (unsigned char)prefix[n - 1] < 0xff);
    memcpy(end, prefix, n + 1);
    end[n - 1] = (char)(prefix[n - 1] + 1); /* the first key past every key with the prefix */
    k = tu_b64(prefix);
    e = tu_b64(end);
    req = json_pack("{s:s, s:s, s:b}", "key", k, "range_end", e, "count_only", 1);
    body = json_dumps(req, JSON_COMPACT);
    assert_int_equal(tu_etcd_post(c, running_member(c), "/v3/kv/range", body, &resp), 200);
    count = json_string_value(json_object_get(resp, "count")); /* absent when 0 */
    result = count != NULL ? strtoll(count, NULL, 10) : 0;
    json_decref(resp);
    json_decref(req);
    free(body);
    free(k);
    free(e);
    free(end);
    return result;
}

void tu_etcdctl(struct tu_etcd *c, const char *const *args)
{
    const char *argv[40];
    char endpoint[96], cacert[160], cert[160], key[160], user[160], log[160];
    size_t n = 0;

    snprintf(endpoint, sizeof(endpoint), "--endpoints=%s", c->m[running_member(c)].client_url);
    snprintf(log, sizeof(log), "%s/etcdctl.log", c->dir);
    argv[n++] = "etcdctl";
    argv[n++] = endpoint;
    if (c->flags & TU_ETCD_TLS) {
        snprintf(cacert, sizeof(cacert), "--cacert=%s", c->ca_file);
        snprintf(cert, sizeof(cert), "--cert=%s", c->cert_file);
        snprintf(key, sizeof(key), "--key=%s", c->key_file);
        argv[n++] = cacert;
        argv[n++] = cert;
        argv[n++] = key;
    }
    if (c->auth[0] != '\0') {
        snprintf(user, sizeof(user), "--user=%s", c->auth);
        argv[n++] = user;
    }
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < sizeof(argv) / sizeof(argv[0]) - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    setenv("ETCDCTL_API", "3", 1);
    if (run(argv, log) != 0) {
        size_t size = 0;
        uint8_t *text = tu_try_read_file(log, &size);
        fail_msg("etcdctl %s failed: %s", args[0], text ? (char *)text : "");
    }
}

char *tu_b64(const char *s)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0;

    assert_non_null(out);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}
