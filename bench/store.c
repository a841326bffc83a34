/*
 * store.c - benchmark of the store backends: CAS creates (put at version 0),
 * gets, CAS updates and one listing, per second, single-threaded on one
 * handle, for SQLite (a file in a temp folder) and etcd.
 *
 * etcd: $AECS_BENCH_ETCD (an etcd: spec) when set, else a single member
 * started here on a free loopback port in a temp folder (and killed at the
 * end) when etcd is installed, else skipped. Figures are wall-clock: both
 * backends wait for fsync (SQLite's WAL, etcd's raft log), so the disk
 * sets the write rates; etcd adds a loopback HTTP round trip per call.
 * AECS_BENCH_OPS sets the number of keys (default 500); they go under
 * /bench/, which must be empty in an etcd given by $AECS_BENCH_ETCD.
 */
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench store: %s: %s\n", what, aecs_err_last()->message);
    exit(1);
}

static void report(const char *backend, const char *what, size_t n, double t)
{
    printf("%-7s %-22s %7zu ops %8.3f s %10.0f ops/s\n", backend, what, n, t, (double)n / t);
}

/* Creates, reads, updates and lists n keys of 200 bytes under /bench/. */
static void run(const char *backend, const char *spec, size_t n)
{
    struct aecs_store *s = NULL;
    uint8_t value[200];
    char key[64];
    double t;

    if (aecs_store_open(spec, &s) != AECS_OK)
        die(spec);
    memset(value, 0x5a, sizeof(value));

    t = now_s();
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "/bench/%08zu", i);
        if (aecs_store_put(s, key, value, sizeof(value), 0, NULL) != AECS_OK)
            die("put");
    }
    report(backend, "put (create, CAS 0)", n, now_s() - t);

    t = now_s();
    for (size_t i = 0; i < n; i++) {
        struct aecs_store_value v;
        snprintf(key, sizeof(key), "/bench/%08zu", i);
        if (aecs_store_get(s, key, &v) != AECS_OK)
            die("get");
        aecs_store_value_free(&v);
    }
    report(backend, "get", n, now_s() - t);

    t = now_s();
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "/bench/%08zu", i);
        if (aecs_store_put(s, key, value, sizeof(value), 1, NULL) != AECS_OK)
            die("update");
    }
    report(backend, "put (update, CAS 1)", n, now_s() - t);

    t = now_s();
    size_t listed = 0;
    struct aecs_store_list l;
    char cursor[64] = "";
    do {
        if (aecs_store_list(s, "/bench/", listed ? cursor : NULL, 0, AECS_STORE_LIST_VALUES,
                            &l) != AECS_OK)
            die("list");
        listed += l.count;
        if (l.count > 0)
            snprintf(cursor, sizeof(cursor), "%s", l.items[l.count - 1].key);
        int more = l.more;
        aecs_store_list_free(&l);
        if (!more)
            break;
    } while (1);
    report(backend, "list with values", listed, now_s() - t);
    aecs_store_free(s);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Starts a single etcd member in dir; returns its pid (0 when it cannot) and its spec. */
static pid_t start_etcd(const char *dir, char *spec, size_t size)
{
    char client[64], peer[64], data[160], cluster[96], log[160];
    int cp = free_port();
    int pp = free_port();

    if (cp < 0 || pp < 0)
        return 0;
    snprintf(client, sizeof(client), "http://127.0.0.1:%d", cp);
    snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", pp);
    snprintf(cluster, sizeof(cluster), "b=%s", peer);
    snprintf(data, sizeof(data), "%s/etcd", dir);
    snprintf(log, sizeof(log), "%s/etcd.log", dir);
    const char *const argv[] = {"etcd", "--name", "b", "--data-dir", data,
                                "--listen-client-urls", client, "--advertise-client-urls",
                                client, "--listen-peer-urls", peer,
                                "--initial-advertise-peer-urls", peer, "--initial-cluster",
                                cluster, "--logger", "zap", "--log-level", "error", NULL};
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (freopen(log, "a", stdout) == NULL || freopen(log, "a", stderr) == NULL)
            _exit(126);
        execvp("etcd", (char *const *)argv);
        _exit(127);
    }
    snprintf(spec, size, "etcd:%s", client);
    /* wait (at most 20 s) until it answers */
    int saved = g_aecs_log_level;
    aecs_log_set_level(-1);
    for (int i = 0; i < 200; i++) {
        struct aecs_store *s = NULL;
        if (aecs_store_open(spec, &s) == AECS_OK) {
            aecs_store_free(s);
            aecs_log_set_level(saved);
            return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    aecs_log_set_level(saved);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/aecs-bench-store-XXXXXX";
    char spec[256];
    const char *env = getenv("AECS_BENCH_OPS");
    size_t n = env != NULL && atoi(env) > 0 ? (size_t)atoi(env) : 500;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(spec, sizeof(spec), "sqlite:%s/store.db", dir);
    run("sqlite", spec, n);

    const char *etcd = getenv("AECS_BENCH_ETCD");
    pid_t pid = 0;
    if (etcd != NULL && etcd[0] != '\0') {
        run("etcd", etcd, n);
    } else if ((pid = start_etcd(dir, spec, sizeof(spec))) > 0) {
        run("etcd", spec, n);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    } else {
        printf("etcd    skipped (etcd not installed or did not start; set AECS_BENCH_ETCD)\n");
    }
    if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench store: could not remove %s: %s\n", dir, strerror(errno));
    return 0;
}
