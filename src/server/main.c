/*
 * main.c - aecsd: options and configuration file, process hardening, the TLS
 * certificate (given, or made at the first start), then the service and its
 * HTTP threads until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "crypto/secmem.h"
#include "crypto/tls.h"
#include "server/server.h"
#include "service/config.h"
#include "service/service.h"

#define AECSD_VERSION "0.1.0"
#define DEFAULT_LISTEN "127.0.0.1:19527"
#define DEFAULT_DATA "/var/lib/aecs"

struct settings {
    char *listen;
    char *data;
    char *store;
    char *tls_cert;
    char *tls_key;
    char *tls_names;
    char *init_admin_key;
    char *auto_unseal;
    char *attest_root;
    char *access_log;
    char *log_level;
    unsigned threads;
    unsigned max_connections;
    int insecure_sim_auto_unseal;
};

enum {
    OPT_LISTEN = 1000,
    OPT_DATA,
    OPT_STORE,
    OPT_CONFIG,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_NAMES,
    OPT_INIT_ADMIN_KEY,
    OPT_AUTO_UNSEAL,
    OPT_INSECURE_SIM_AUTO_UNSEAL,
    OPT_ATTEST_ROOT,
    OPT_THREADS,
    OPT_MAX_CONNECTIONS,
    OPT_ACCESS_LOG,
    OPT_LOG_LEVEL,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option k_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"data", required_argument, NULL, OPT_DATA},
    {"store", required_argument, NULL, OPT_STORE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-names", required_argument, NULL, OPT_TLS_NAMES},
    {"init-admin-key", required_argument, NULL, OPT_INIT_ADMIN_KEY},
    {"auto-unseal", required_argument, NULL, OPT_AUTO_UNSEAL},
    {"insecure-sim-auto-unseal", no_argument, NULL, OPT_INSECURE_SIM_AUTO_UNSEAL},
    {"attest-root", required_argument, NULL, OPT_ATTEST_ROOT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aecsd [options]\n"
            "\n"
            "The aecs key service: HTTPS + JSON (docs/api.md).\n"
            "\n"
            "  --listen HOST:PORT        where to listen (default " DEFAULT_LISTEN ")\n"
            "  --data DIR                local state: TLS certificate, sealed root key\n"
            "                            (default " DEFAULT_DATA ")\n"
            "  --store SPEC              sqlite:PATH or etcd:URLS (default sqlite:DIR/store.db)\n"
            "  --config FILE             options as YAML (option: value); flags win over it\n"
            "  --tls-cert FILE           the TLS certificate chain (PEM); default DIR/tls/cert.pem,\n"
            "  --tls-key FILE            and its key; both made at the first start when absent\n"
            "  --tls-names NAMES         more subjectAltNames for a made certificate,\n"
            "                            e.g. DNS:aecs.example,IP:10.0.0.5\n"
            "  --init-admin-key FILE     only this public key may run `aecs admin init`\n"
            "  --auto-unseal KIND        none (default) or gramine: unseal at start with the\n"
            "                            TEE's sealing key\n"
            "  --insecure-sim-auto-unseal\n"
            "                            INSECURE: unseal at start with a key file in DIR\n"
            "                            (the simulated TEE; anyone with DIR has the root key)\n"
            "  --attest-root DIR         prefix for device paths such as /dev/attestation\n"
            "  --threads N               HTTP threads (default 4)\n"
            "  --max-connections N       open connections at most (default 1024)\n"
            "  --access-log FILE         one JSON line per request ('-': stderr, the default;\n"
            "                            'none': off)\n"
            "  --log-level LEVEL         error, warn, info (default), debug\n"
            "  --help, --version\n");
}

static int set_string(char **slot, const char *value)
{
    char *copy = strdup(value);

    ENSURE(copy != NULL, AECS_E_NO_MEMORY, "out of memory");
    free(*slot);
    *slot = copy;
    return AECS_OK;
}

static int parse_uint(const char *name, const char *value, unsigned lo, unsigned hi,
                      unsigned *out)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(value, &end, 10);
    ENSURE(errno == 0 && end != value && *end == '\0' && value[0] != '-' && v >= lo && v <= hi,
           AECS_E_INVALID_ARGUMENT, "--%s: '%.40s' is not a number in %u..%u", name, value, lo,
           hi);
    *out = (unsigned)v;
    return AECS_OK;
}

/* Applies one option, from the command line or the configuration file. */
static int apply(struct settings *s, int opt, const char *value)
{
    switch (opt) {
    case OPT_LISTEN:
        return set_string(&s->listen, value);
    case OPT_DATA:
        return set_string(&s->data, value);
    case OPT_STORE:
        return set_string(&s->store, value);
    case OPT_TLS_CERT:
        return set_string(&s->tls_cert, value);
    case OPT_TLS_KEY:
        return set_string(&s->tls_key, value);
    case OPT_TLS_NAMES:
        return set_string(&s->tls_names, value);
    case OPT_INIT_ADMIN_KEY:
        return set_string(&s->init_admin_key, value);
    case OPT_AUTO_UNSEAL:
        return set_string(&s->auto_unseal, value);
    case OPT_ATTEST_ROOT:
        return set_string(&s->attest_root, value);
    case OPT_ACCESS_LOG:
        return set_string(&s->access_log, value);
    case OPT_LOG_LEVEL:
        return set_string(&s->log_level, value);
    case OPT_THREADS:
        return parse_uint("threads", value, 1, 256, &s->threads);
    case OPT_MAX_CONNECTIONS:
        return parse_uint("max-connections", value, 1, 1000000, &s->max_connections);
    case OPT_INSECURE_SIM_AUTO_UNSEAL:
        if (value == NULL || strcmp(value, "true") == 0) {
            s->insecure_sim_auto_unseal = 1;
            return AECS_OK;
        }
        ENSURE(strcmp(value, "false") == 0, AECS_E_INVALID_ARGUMENT,
               "insecure-sim-auto-unseal: true or false, not '%.20s'", value);
        s->insecure_sim_auto_unseal = 0;
        return AECS_OK;
    default:
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "unknown option");
    }
}

/* Applies the configuration file's pairs, except those the command line gives. */
static int apply_config(struct settings *s, const char *path, const unsigned char *given)
{
    int rc = AECS_OK;
    uint8_t *text = NULL;
    size_t size = 0;
    struct aecs_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    GUARD(aecs_file_read(path, AECS_CONFIG_MAX_SIZE, &text, &size));
    GUARD_OUT(aecs_config_parse((const char *)text, size, path, &cfg));
    for (size_t i = 0; i < cfg.count; i++) {
        const struct option *o = NULL;
        for (const struct option *k = k_options; k->name != NULL; k++) {
            if (strcmp(k->name, cfg.items[i].key) == 0)
                o = k;
        }
        if (o == NULL || o->val == OPT_CONFIG || o->val == OPT_HELP || o->val == OPT_VERSION)
            BAIL_OUT(AECS_E_INVALID_ARGUMENT, "%.200s:%d: '%.64s' is not an aecsd option", path,
                     cfg.items[i].line, cfg.items[i].key);
        if (given[o->val - OPT_LISTEN])
            continue;
        rc = apply(s, o->val, cfg.items[i].value);
        if (rc != AECS_OK) {
            aecs_err_prefix("%.200s:%d: ", path, cfg.items[i].line);
            goto out;
        }
    }
out:
    aecs_config_free(&cfg);
    free(text);
    return rc;
}

static void settings_free(struct settings *s)
{
    free(s->listen);
    free(s->data);
    free(s->store);
    free(s->tls_cert);
    free(s->tls_key);
    free(s->tls_names);
    free(s->init_admin_key);
    free(s->auto_unseal);
    free(s->attest_root);
    free(s->access_log);
    free(s->log_level);
}

static int mkdir_private(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return AECS_OK;
    return AECS_ERR(AECS_E_IO, "cannot make folder %.200s: %s", path, strerror(errno));
}

/* The hardening of a process that holds keys. */
static void harden(void)
{
    struct rlimit no_core = {0, 0};

    umask(077);
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
}

/* Makes DATA/tls/{cert,key}.pem at the first start. */
static int ensure_tls_files(struct settings *s, const char *listen_host)
{
    char dir[PATH_MAX], names[1024];
    int made_cert = s->tls_cert == NULL, made_key = s->tls_key == NULL;

    if (!made_cert && !made_key)
        return AECS_OK;
    ENSURE(made_cert && made_key, AECS_E_INVALID_ARGUMENT,
           "--tls-cert and --tls-key go together");
    snprintf(dir, sizeof(dir), "%s/tls", s->data);
    GUARD(mkdir_private(dir));
    GUARD(set_string(&s->tls_cert, dir));
    GUARD(set_string(&s->tls_key, dir));
    {
        char cert[PATH_MAX + 16], key[PATH_MAX + 16];
        snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
        snprintf(key, sizeof(key), "%s/key.pem", dir);
        GUARD(set_string(&s->tls_cert, cert));
        GUARD(set_string(&s->tls_key, key));
    }
    if (aecs_file_exists(s->tls_cert) && aecs_file_exists(s->tls_key))
        return AECS_OK;
    snprintf(names, sizeof(names), "DNS:localhost,IP:127.0.0.1,IP:::1%s%s%s%s",
             listen_host[0] != '\0' ? "," : "",
             listen_host[0] != '\0' ? (strspn(listen_host, "0123456789.") == strlen(listen_host)
                                           ? "IP:"
                                           : "DNS:")
                                    : "",
             listen_host, s->tls_names != NULL ? "," : "");
    if (s->tls_names != NULL)
        strncat(names, s->tls_names, sizeof(names) - strlen(names) - 1);
    GUARD(aecs_tls_make_self_signed(s->tls_cert, s->tls_key, "aecsd", names, 3650));
    log_info("made a TLS certificate for %s: %s", names, s->tls_cert);
    return AECS_OK;
}

static void fail(const char *what)
{
    fprintf(stderr, "aecsd: %s%s\n", what, aecs_err_last()->message);
}

int main(int argc, char **argv)
{
    struct settings s;
    unsigned char given[OPT_VERSION - OPT_LISTEN + 1];
    const char *config_path = NULL;
    struct aecs_service *svc = NULL;
    struct aecs_tls_server *tls = NULL;
    struct aecsd *d = NULL;
    struct aecs_service_config cfg;
    struct aecsd_options hopts;
    char store_spec[PATH_MAX + 16], host[256] = "", fp[65];
    sigset_t sigs;
    int c, sig = 0, exit_code = 1, level;
    FILE *access = stderr;

    memset(&s, 0, sizeof(s));
    memset(given, 0, sizeof(given));
    s.threads = 4;
    s.max_connections = 1024;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", k_options, NULL)) != -1) {
        if (c == OPT_HELP) {
            usage(stdout);
            settings_free(&s);
            return 0;
        }
        if (c == OPT_VERSION) {
            printf("aecsd %s\n", AECSD_VERSION);
            settings_free(&s);
            return 0;
        }
        if (c == OPT_CONFIG) {
            config_path = optarg;
            continue;
        }
        if (c < OPT_LISTEN || c > OPT_VERSION) {
            fprintf(stderr, "aecsd: unknown or incomplete option '%s' (see aecsd --help)\n",
                    argv[optind - 1]);
            settings_free(&s);
            return 2;
        }
        given[c - OPT_LISTEN] = 1;
        if (apply(&s, c, optarg) != AECS_OK) {
            fail("");
            settings_free(&s);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "aecsd: unexpected argument '%s' (see aecsd --help)\n", argv[optind]);
        settings_free(&s);
        return 2;
    }
    if (config_path != NULL && apply_config(&s, config_path, given) != AECS_OK) {
        fail("");
        settings_free(&s);
        return 2;
    }
    if (s.log_level != NULL) {
        level = aecs_log_level_parse(s.log_level);
        if (level < 0) {
            fprintf(stderr, "aecsd: --log-level: error, warn, info or debug\n");
            settings_free(&s);
            return 2;
        }
        aecs_log_set_level(level);
    } else {
        aecs_log_set_level(AECS_LOG_INFO);
    }
    if (s.listen == NULL && set_string(&s.listen, DEFAULT_LISTEN) != AECS_OK)
        goto out;
    if (s.data == NULL && set_string(&s.data, DEFAULT_DATA) != AECS_OK)
        goto out;
    cfg.auto_unseal = AECS_AUTO_UNSEAL_NONE;
    if (s.auto_unseal != NULL && strcmp(s.auto_unseal, "gramine") == 0) {
        cfg.auto_unseal = AECS_AUTO_UNSEAL_GRAMINE;
    } else if (s.auto_unseal != NULL && strcmp(s.auto_unseal, "none") != 0) {
        fprintf(stderr, "aecsd: --auto-unseal: none or gramine (the simulated TEE's is "
                        "--insecure-sim-auto-unseal)\n");
        exit_code = 2;
        goto out;
    }
    if (s.insecure_sim_auto_unseal) {
        if (cfg.auto_unseal != AECS_AUTO_UNSEAL_NONE) {
            fprintf(stderr, "aecsd: --auto-unseal and --insecure-sim-auto-unseal exclude each "
                            "other\n");
            exit_code = 2;
            goto out;
        }
        cfg.auto_unseal = AECS_AUTO_UNSEAL_SIM_INSECURE;
    }
    if (s.access_log != NULL && strcmp(s.access_log, "none") == 0) {
        access = NULL;
    } else if (s.access_log != NULL && strcmp(s.access_log, "-") != 0) {
        access = fopen(s.access_log, "a");
        if (access == NULL) {
            fprintf(stderr, "aecsd: --access-log %s: %s\n", s.access_log, strerror(errno));
            exit_code = 2;
            goto out;
        }
    }

    harden();
    if (aecs_secure_heap_init(0) != AECS_OK)
        log_warn("secure heap: %s; keys live on the ordinary heap (still wiped)",
                 aecs_err_last()->message);
    if (mkdir_private(s.data) != AECS_OK) {
        fail("");
        goto out;
    }
    {
        const char *colon = strrchr(s.listen, ':');
        size_t n = colon != NULL ? (size_t)(colon - s.listen) : 0;
        if (n < sizeof(host)) {
            memcpy(host, s.listen, n);
            host[n] = '\0';
        }
        if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0 || host[0] == '[' ||
            strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0)
            host[0] = '\0';
    }
    if (ensure_tls_files(&s, host) != AECS_OK) {
        fail("TLS certificate: ");
        goto out;
    }
    if (s.store == NULL) {
        snprintf(store_spec, sizeof(store_spec), "sqlite:%s/store.db", s.data);
        if (set_string(&s.store, store_spec) != AECS_OK)
            goto out;
    }

    if (cfg.auto_unseal == AECS_AUTO_UNSEAL_SIM_INSECURE)
        log_warn("INSECURE: --insecure-sim-auto-unseal: the root key is sealed with a plain key "
                 "file in %s; anyone who can read that folder has every secret", s.data);
    cfg.store_spec = s.store;
    cfg.data_dir = s.data;
    cfg.init_admin_key_file = s.init_admin_key;
    cfg.attest_root = s.attest_root;
    cfg.version = AECSD_VERSION;
    if (aecs_service_open(&cfg, &svc) != AECS_OK) {
        fail("");
        goto out;
    }
    if (aecs_tls_server_new(s.tls_cert, s.tls_key, s.max_connections, &tls) != AECS_OK) {
        fail("");
        goto out;
    }
    /* Only the main thread takes the stop signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    hopts.listen = s.listen;
    hopts.threads = s.threads;
    hopts.max_connections = s.max_connections;
    hopts.access_log = access;
    if (aecsd_start(&hopts, svc, tls, &d) != AECS_OK) {
        fail("");
        goto out;
    }
    if (aecs_tls_cert_file_fingerprint(s.tls_cert, fp) != AECS_OK)
        fp[0] = '\0';
    log_info("aecsd %s listening on %s (port %d), %u threads, store %.*s, state %s, service "
             "id %s",
             AECSD_VERSION, s.listen, aecsd_port(d), s.threads, (int)strcspn(s.store, ":"),
             s.store, aecs_service_state_name(aecs_service_state(svc)), aecs_service_id(svc));
    log_info("TLS certificate %s, SHA-256 fingerprint %s", s.tls_cert, fp);
    sigwait(&sigs, &sig);
    log_info("signal %d: stopping", sig);
    exit_code = 0;
out:
    aecsd_stop(d);
    aecs_tls_server_free(tls);
    aecs_service_free(svc);
    if (access != NULL && access != stderr)
        fclose(access);
    settings_free(&s);
    return exit_code;
}
