/*
 * verifier.c - benchmark of the evidence verifier (src/attest/verifier.h):
 * warm verifications per second of one SGX quote of the simulated TEE, with
 * its collateral read from the sim folder (offline), on 1 and on 4 threads
 * sharing one verifier.
 *
 * A sim is made in a fresh temporary folder (issued now, valid 30 days), one
 * SGX quote is made on it, and the verifier trusts its root. One untimed
 * verification warms everything (the quote's route, the prepared collateral,
 * the platform cache), so each timed verification is the steady state of a
 * server: about one ECDSA P-256 verify plus hashing, parsing and the claims.
 * Each mode runs for AECS_BENCH_SECONDS of wall time (default 1.5 s); rates
 * are verifications per wall-clock second, summed over the threads. Every
 * verification must give claims, else the program aborts. On a machine with
 * fewer than 4 cores the 4-thread figure is bounded by the cores.
 *
 * The last line is `verify_rps_1=X verify_rps_4=Y`.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/err.h"

#define MAX_THREADS 4

struct run {
    struct aecs_verifier *v;
    const uint8_t *quote;
    size_t size;
    double deadline;
    pthread_barrier_t *start;
    uint64_t count;
    double cpu; /* the thread's CPU seconds while measuring */
    int failed;
};

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

static void *worker(void *arg)
{
    struct run *r = arg;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    double c0;

    pthread_barrier_wait(r->start);
    c0 = thread_cpu_s();
    while (now_s() < r->deadline) {
        /* a batch between clock reads, so reading the clock costs nothing noticeable */
        for (int i = 0; i < 16; i++) {
            if (aecs_verifier_verify(r->v, r->quote, r->size, AECS_VERIFIER_NOW, &claims,
                                     &why) != AECS_OK || !claims.sim) {
                fprintf(stderr, "verifier bench: refused at stage %s: %s\n", why.stage,
                        why.message);
                r->failed = 1;
                return NULL;
            }
            r->count++;
        }
    }
    r->cpu = thread_cpu_s() - c0;
    return NULL;
}

/*
 * Verifications per wall-clock second on `threads` threads for `seconds`;
 * *cpu_us gets the CPU time of one verification (thread CPU time over count).
 */
static double measure(struct aecs_verifier *v, const uint8_t *quote, size_t size, int threads,
                      double seconds, double *cpu_us)
{
    double cpu = 0;
    pthread_t th[MAX_THREADS];
    struct run runs[MAX_THREADS];
    pthread_barrier_t start;
    uint64_t total = 0;
    double t0;
    double t1;

    if (pthread_barrier_init(&start, NULL, (unsigned)threads + 1) != 0)
        abort();
    for (int i = 0; i < threads; i++) {
        memset(&runs[i], 0, sizeof(runs[i]));
        runs[i].v = v;
        runs[i].quote = quote;
        runs[i].size = size;
        runs[i].deadline = now_s() + 3600; /* set below, once every thread is ready */
        runs[i].start = &start;
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&th[i], NULL, worker, &runs[i]) != 0)
            abort();
    }
    t0 = now_s();
    for (int i = 0; i < threads; i++)
        runs[i].deadline = t0 + seconds;
    pthread_barrier_wait(&start); /* publishes the deadlines */
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (runs[i].failed)
            exit(1);
        total += runs[i].count;
        cpu += runs[i].cpu;
    }
    *cpu_us = total > 0 ? cpu * 1e6 / (double)total : 0;
    t1 = now_s();
    pthread_barrier_destroy(&start);
    return (double)total / (t1 - t0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    char tmp[] = "/tmp/aecs-bench-verifier-XXXXXX";
    char dir[128];
    char root[160];
    double seconds = 1.5;
    const char *env = getenv("AECS_BENCH_SECONDS");
    struct aecs_sim_quote_params p;
    struct aecs_verifier_config cfg;
    struct aecs_verifier *v = NULL;
    struct aecs_claims claims;
    struct aecs_verify_failure why;
    uint8_t *quote = NULL;
    size_t size = 0;

    if (env != NULL) {
        seconds = atof(env);
        if (!(seconds > 0 && seconds <= 600)) {
            fprintf(stderr, "verifier bench: AECS_BENCH_SECONDS must be in (0, 600]\n");
            return 2;
        }
    }
    if (mkdtemp(tmp) == NULL) {
        perror("verifier bench: mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/sim", tmp);
    snprintf(root, sizeof(root), "%s/" AECS_SIM_ROOT_FILE, dir);

    memset(&p, 0, sizeof(p));
    p.tee = AECS_SIM_SGX;
    memset(p.mrenclave, 0xa5, sizeof(p.mrenclave));
    memset(p.mrsigner, 0x5a, sizeof(p.mrsigner));
    memset(p.report_data, 0x42, sizeof(p.report_data));
    memset(&cfg, 0, sizeof(cfg));
    cfg.sim_root_file = root;
    if (aecs_sim_init(dir, NULL) != AECS_OK || aecs_sim_quote(dir, &p, &quote, &size) != AECS_OK ||
        aecs_verifier_new(&cfg, &v) != AECS_OK) {
        fprintf(stderr, "verifier bench: %s\n", aecs_err_last()->message);
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    /* warm up: route, prepared collateral, platform cache */
    if (aecs_verifier_verify(v, quote, size, AECS_VERIFIER_NOW, &claims, &why) != AECS_OK) {
        fprintf(stderr, "verifier bench: refused at stage %s: %s\n", why.stage, why.message);
        return 1;
    }

    double cpu1 = 0;
    double cpu4 = 0;
    double rps1 = measure(v, quote, size, 1, seconds, &cpu1);
    double rps4 = measure(v, quote, size, 4, seconds, &cpu4);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double load[1] = {0};

    if (getloadavg(load, 1) != 1)
        load[0] = -1;
    printf("sim SGX quote v3 (%zu bytes), collateral from the sim folder, warm; %.1f s per mode;\n"
           "%ld cores online, load average %.2f (other load lowers the wall-clock rates)\n",
           size, seconds, cores, load[0]);
    printf("  threads   verifications/s (wall)   CPU us per verification\n");
    printf("  1         %14.0f           %10.1f\n", rps1, cpu1);
    printf("  4         %14.0f           %10.1f   (%.2fx one thread)\n", rps4, cpu4,
           rps4 / rps1);
    printf("verify_rps_1=%.0f verify_rps_4=%.0f\n", rps1, rps4);

    aecs_verifier_free(v);
    free(quote);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
