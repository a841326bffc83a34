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

#include "attest/attester.h"
#include "attest/sim.h"
#include "attest/verifier.h"
#include "base/codec.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/secmem.h"
#include "crypto/tls.h"
#include "server/server.h"
#include "service/config.h"
#include "service/join_client.h"
#include "service/service.h"

#define AECSD_VERSION "0.1.0"
#define DEFAULT_LISTEN "127.0.0.1:19527"
#define DEFAULT_DATA "/var/lib/aecs"
/* SHA-256("aecsd"): the sim identity's MRENCLAVE unless told otherwise. */
#define DEFAULT_SIM_MRENCLAVE "43e7897d3abfbc6fec6293ed8d0f96ee28d13e0b62824e2e24c12f4d4686fd30"

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
    char *attester;
    char *sim_dir;
    char *sim_mrenclave;
    char *sim_mrsigner;
    char *insecure_trust_sim;
    char *intel_root;
    char *collateral;
    char *pccs;
    char *collateral_cache;
    char *snp_collateral;
    char **join; /* peers' URLs, in order */
    size_t join_count;
    char *join_ca;
    unsigned threads;
    unsigned max_connections;
    unsigned max_per_address;
    unsigned max_secrets;
    unsigned rate_burst;
    unsigned rate_per_second;
    int insecure_sim_auto_unseal;
    int kds;
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
    OPT_MAX_PER_ADDRESS,
    OPT_MAX_SECRETS,
    OPT_ACCESS_LOG,
    OPT_LOG_LEVEL,
    OPT_ATTESTER,
    OPT_SIM_DIR,
    OPT_SIM_MRENCLAVE,
    OPT_SIM_MRSIGNER,
    OPT_INSECURE_TRUST_SIM,
    OPT_INTEL_ROOT,
    OPT_COLLATERAL,
    OPT_PCCS,
    OPT_COLLATERAL_CACHE,
    OPT_SNP_COLLATERAL,
    OPT_KDS,
    OPT_RATE_BURST,
    OPT_RATE_PER_SECOND,
    OPT_JOIN,
    OPT_JOIN_CA,
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
    {"insecure-attest-root", required_argument, NULL, OPT_ATTEST_ROOT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-connections-per-address", required_argument, NULL, OPT_MAX_PER_ADDRESS},
    {"max-secrets-per-service", required_argument, NULL, OPT_MAX_SECRETS},
    {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"attester", required_argument, NULL, OPT_ATTESTER},
    {"sim-dir", required_argument, NULL, OPT_SIM_DIR},
    {"sim-mrenclave", required_argument, NULL, OPT_SIM_MRENCLAVE},
    {"sim-mrsigner", required_argument, NULL, OPT_SIM_MRSIGNER},
    {"insecure-trust-sim", required_argument, NULL, OPT_INSECURE_TRUST_SIM},
    {"insecure-intel-root", required_argument, NULL, OPT_INTEL_ROOT},
    {"collateral", required_argument, NULL, OPT_COLLATERAL},
    {"pccs", required_argument, NULL, OPT_PCCS},
    {"collateral-cache", required_argument, NULL, OPT_COLLATERAL_CACHE},
    {"snp-collateral", required_argument, NULL, OPT_SNP_COLLATERAL},
    {"kds", no_argument, NULL, OPT_KDS},
    {"rate-burst", required_argument, NULL, OPT_RATE_BURST},
    {"rate-per-second", required_argument, NULL, OPT_RATE_PER_SECOND},
    {"join", required_argument, NULL, OPT_JOIN},
    {"join-ca", required_argument, NULL, OPT_JOIN_CA},
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
            "  --insecure-attest-root DIR\n"
            "                            INSECURE: look for /dev/attestation (the Gramine sealing\n"
            "                            key) under DIR, a fake tree for tests\n"
            "  --threads N               HTTP threads (default 4)\n"
            "  --max-connections N       open connections at most (default 1024)\n"
            "  --max-connections-per-address N\n"
            "                            open connections from one client address (an IPv6\n"
            "                            /64) at most (default 256)\n"
            "  --max-secrets-per-service N\n"
            "                            secrets one service may hold (default 1000)\n"
            "  --access-log FILE         one JSON line per request ('-': stderr, the default;\n"
            "                            'none': off)\n"
            "  --log-level LEVEL         error, warn, info (default), debug\n"
            "\n"
            "The service's own identity (docs/protocol-release.md):\n"
            "  --attester NAME           what makes the identity evidence: auto (default: the\n"
            "                            TEE found, else none), tsm, sev-guest, gramine, sim,\n"
            "                            or none (clients then refuse this server)\n"
            "  --sim-dir DIR             sim: the folder of `aecs sim init`\n"
            "  --sim-mrenclave HEX       sim: the identity's MRENCLAVE (default SHA-256 of\n"
            "                            \"aecsd\": " DEFAULT_SIM_MRENCLAVE ")\n"
            "  --sim-mrsigner HEX        sim: the identity's MRSIGNER (default all zero)\n"
            "\n"
            "Verifying applications' evidence:\n"
            "  --collateral DIR          offline Intel collateral (aecs collateral fetch)\n"
            "  --pccs URL                fetch Intel collateral from this PCCS or the PCS\n"
            "  --collateral-cache DIR    keep fetched collateral here (default DIR/collateral)\n"
            "  --insecure-intel-root FILE\n"
            "                            INSECURE: trust this root instead of Intel's (test PKIs)\n"
            "  --snp-collateral DIR      AMD VCEKs and chains (aecs collateral fetch)\n"
            "  --kds                     fetch missing VCEKs from AMD's KDS\n"
            "  --insecure-trust-sim DIR  INSECURE: accept quotes of the simulated TEE in DIR\n"
            "                            (anyone with its keys can make them)\n"
            "  --rate-burst N            unauthenticated requests per client address: burst\n"
            "  --rate-per-second N       and sustained rate (defaults 20 and 5); with an etcd\n"
            "                            store, for every replica together (give all the same)\n"
            "\n"
            "A cluster (replicas sharing an etcd store):\n"
            "  --join URL                when sealed at start, get the root key from the working\n"
            "                            replica at URL by attestation (same enclave required on\n"
            "                            both sides); repeat, or separate with commas, to try\n"
            "                            several in turn. While none answers, tries again\n"
            "                            (after 1 s, doubling up to 60 s) until it joins or is\n"
            "                            unsealed with shares.\n"
            "  --join-ca FILE            the CA (PEM) the peers' TLS certificates must chain to\n"
            "                            (default: this replica's own --tls-cert)\n"
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

/* Adds each comma-separated URL of value to the join list. */
static int add_join(struct settings *s, const char *value)
{
    const char *p = value;

    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            char **list = realloc(s->join, (s->join_count + 1) * sizeof(*list));
            ENSURE(list != NULL, AECS_E_NO_MEMORY, "out of memory");
            s->join = list;
            ENSURE(n < 2048 && strncmp(p, "https://", 8) == 0, AECS_E_INVALID_ARGUMENT,
                   "--join: '%.*s' is not an https:// URL", (int)(n < 200 ? n : 200), p);
            s->join[s->join_count] = strndup(p, n);
            ENSURE(s->join[s->join_count] != NULL, AECS_E_NO_MEMORY, "out of memory");
            s->join_count++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
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
    case OPT_ATTESTER:
        return set_string(&s->attester, value);
    case OPT_SIM_DIR:
        return set_string(&s->sim_dir, value);
    case OPT_SIM_MRENCLAVE:
        return set_string(&s->sim_mrenclave, value);
    case OPT_SIM_MRSIGNER:
        return set_string(&s->sim_mrsigner, value);
    case OPT_INSECURE_TRUST_SIM:
        return set_string(&s->insecure_trust_sim, value);
    case OPT_INTEL_ROOT:
        return set_string(&s->intel_root, value);
    case OPT_COLLATERAL:
        return set_string(&s->collateral, value);
    case OPT_PCCS:
        return set_string(&s->pccs, value);
    case OPT_COLLATERAL_CACHE:
        return set_string(&s->collateral_cache, value);
    case OPT_SNP_COLLATERAL:
        return set_string(&s->snp_collateral, value);
    case OPT_JOIN:
        return add_join(s, value);
    case OPT_JOIN_CA:
        return set_string(&s->join_ca, value);
    case OPT_KDS:
        if (value == NULL || strcmp(value, "true") == 0) {
            s->kds = 1;
            return AECS_OK;
        }
        ENSURE(strcmp(value, "false") == 0, AECS_E_INVALID_ARGUMENT,
               "kds: true or false, not '%.20s'", value);
        s->kds = 0;
        return AECS_OK;
    case OPT_RATE_BURST:
        return parse_uint("rate-burst", value, 1, 1000000, &s->rate_burst);
    case OPT_RATE_PER_SECOND:
        return parse_uint("rate-per-second", value, 1, 1000000, &s->rate_per_second);
    case OPT_THREADS:
        return parse_uint("threads", value, 1, 256, &s->threads);
    case OPT_MAX_CONNECTIONS:
        return parse_uint("max-connections", value, 1, 1000000, &s->max_connections);
    case OPT_MAX_PER_ADDRESS:
        return parse_uint("max-connections-per-address", value, 1, 1000000, &s->max_per_address);
    case OPT_MAX_SECRETS:
        return parse_uint("max-secrets-per-service", value, 1, AECS_SERVICE_MAX_SECRETS_LIMIT,
                          &s->max_secrets);
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
    free(s->attester);
    free(s->sim_dir);
    free(s->sim_mrenclave);
    free(s->sim_mrsigner);
    free(s->insecure_trust_sim);
    free(s->intel_root);
    free(s->collateral);
    free(s->pccs);
    free(s->collateral_cache);
    free(s->snp_collateral);
    for (size_t i = 0; i < s->join_count; i++)
        free(s->join[i]);
    free(s->join);
    free(s->join_ca);
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

static int hex_option(const char *name, const char *hex, uint8_t *out, size_t size)
{
    if (aecs_hex_decode_exact(hex, strlen(hex), out, size) != AECS_OK)
        return AECS_ERR(AECS_E_INVALID_ARGUMENT, "--%s: %zu bytes as hex (%zu digits)", name,
                        size, 2 * size);
    return AECS_OK;
}

/*
 * The verifier of applications' evidence and the service identity. The
 * attester configuration (ac, with ident for the sim) stays the caller's, for
 * the joins that follow.
 */
static int release_setup(struct settings *s, struct aecs_service *svc,
                         struct aecs_attester_config *acp, struct aecs_sim_quote_params *identp)
{
    struct aecs_verifier_config vc;
    struct aecs_verifier *v = NULL;
    struct aecs_release_config rc;
    char sim_root[PATH_MAX + 16], cache[PATH_MAX + 16];
    const char *attester = s->attester != NULL ? s->attester : "auto";

    memset(&vc, 0, sizeof(vc));
    vc.intel_root_file = s->intel_root;
    vc.collateral_dir = s->collateral;
    vc.pccs_url = s->pccs;
    if (s->pccs != NULL) {
        snprintf(cache, sizeof(cache), "%s/collateral", s->data);
        vc.collateral_cache_dir = s->collateral_cache != NULL ? s->collateral_cache : cache;
    }
    if (s->insecure_trust_sim != NULL) {
        snprintf(sim_root, sizeof(sim_root), "%s/root.der", s->insecure_trust_sim);
        vc.sim_root_file = sim_root;
        vc.sim_dir = s->insecure_trust_sim;
        log_warn("INSECURE: --insecure-trust-sim %s: quotes of the simulated TEE are accepted; "
                 "anyone with that folder's keys can pass as any enclave",
                 s->insecure_trust_sim);
    }
    if (s->intel_root != NULL)
        log_warn("INSECURE: --insecure-intel-root %s: quotes are checked against this root, "
                 "not Intel's", s->intel_root);
    vc.snp_collateral_dir = s->snp_collateral;
    vc.use_kds = s->kds;
    GUARD(aecs_verifier_new(&vc, &v));

    memset(acp, 0, sizeof(*acp));
    memset(identp, 0, sizeof(*identp));
    acp->sim_dir = s->sim_dir;
    if (strcmp(attester, "sim") == 0) {
        GUARD(hex_option("sim-mrenclave",
                         s->sim_mrenclave != NULL ? s->sim_mrenclave : DEFAULT_SIM_MRENCLAVE,
                         identp->mrenclave, sizeof(identp->mrenclave)));
        if (s->sim_mrsigner != NULL)
            GUARD(hex_option("sim-mrsigner", s->sim_mrsigner, identp->mrsigner,
                             sizeof(identp->mrsigner)));
        acp->sim_identity = identp;
        log_warn("INSECURE: --attester sim: this service's identity evidence comes from the "
                 "simulated TEE");
    }
    memset(&rc, 0, sizeof(rc));
    rc.verifier = v;
    rc.attester = attester;
    rc.attester_cfg = acp;
    rc.rate_burst = s->rate_burst;
    rc.rate_per_second = s->rate_per_second;
    rc.insecure_trust_sim = s->insecure_trust_sim != NULL;
    rc.insecure_intel_root = s->intel_root != NULL;
    if (aecs_service_release_setup(svc, &rc) == AECS_OK)
        return AECS_OK;
    if (strcmp(attester, "auto") != 0)
        return aecs_err_last()->code;
    /* auto found no TEE: run without identity evidence, and say so */
    log_warn("identity: %s", aecs_err_last()->message);
    rc.verifier = NULL; /* already taken over by the service */
    rc.attester = "none";
    return aecs_service_release_setup(svc, &rc);
}

static void fail(const char *what)
{
    fprintf(stderr, "aecsd: %s%s\n", what, aecs_err_last()->message);
}

/* --join: the rounds run beside the HTTP threads until working or stopped. */
struct joiner {
    struct aecs_service *svc;
    const struct aecs_attester_config *attester;
    struct aecs_join_transport transport;
    const char *const *urls;
    size_t count;
    int stop;
};

#define JOIN_FIRST_PAUSE_MS 1000
#define JOIN_MAX_PAUSE_MS 60000

static void *join_main(void *arg)
{
    struct joiner *j = arg;

    if (aecs_service_join_keep_trying(j->svc, j->attester, &j->transport, j->urls, j->count,
                                      &j->stop, JOIN_FIRST_PAUSE_MS, JOIN_MAX_PAUSE_MS) != AECS_OK)
        log_warn("join: %s; state %s", aecs_err_last()->message,
                 aecs_service_state_name(aecs_service_state(j->svc)));
    return NULL;
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
    struct aecs_attester_config att_cfg;
    struct aecs_sim_quote_params att_ident;
    struct aecsd_options hopts;
    char store_spec[PATH_MAX + 16], host[256] = "", fp[65], service_id[40];
    sigset_t sigs;
    int c, sig = 0, exit_code = 1, level, joining = 0;
    FILE *access = stderr;
    struct joiner joiner;
    pthread_t join_thread;

    memset(&s, 0, sizeof(s));
    memset(&joiner, 0, sizeof(joiner));
    memset(&cfg, 0, sizeof(cfg));
    memset(given, 0, sizeof(given));
    s.threads = 4;
    s.max_connections = 1024;
    s.max_per_address = 256;
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
    harden(); /* before any file is made (umask) */
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
    if (s.attest_root != NULL)
        log_warn("INSECURE: --insecure-attest-root %s: device paths are read under it",
                 s.attest_root);
    cfg.version = AECSD_VERSION;
    cfg.max_secrets_per_service = s.max_secrets;
    if (aecs_service_open(&cfg, &svc) != AECS_OK) {
        fail("");
        goto out;
    }
    if (release_setup(&s, svc, &att_cfg, &att_ident) != AECS_OK) {
        fail("");
        goto out;
    }
    /* Before serving: a sealed replica's mailbox is there before it takes a share. */
    if (aecs_service_unseal_setup(svc, &att_cfg) != AECS_OK)
        log_warn("unseal: progress is not shared with the other replicas: %s",
                 aecs_err_last()->message);
    if (aecs_tls_server_new(s.tls_cert, s.tls_key, s.max_connections, &tls) != AECS_OK) {
        fail("");
        goto out;
    }
    aecs_tls_server_set_max_per_address(tls, s.max_per_address);
    /* Only the main thread takes the stop signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    hopts.listen = s.listen;
    hopts.threads = s.threads;
    hopts.max_connections = s.max_connections;
    hopts.access_log = access;
    /* Before serving: an init sets it (an uninitialized service has none). */
    snprintf(service_id, sizeof(service_id), "%s",
             aecs_service_id(svc)[0] != '\0' ? aecs_service_id(svc) : "none (not initialized)");
    if (aecsd_start(&hopts, svc, tls, &d) != AECS_OK) {
        fail("");
        goto out;
    }
    if (aecs_tls_cert_file_fingerprint(s.tls_cert, fp) != AECS_OK)
        fp[0] = '\0';
    log_info("aecsd %s listening on %s (port %d), %u threads, store %.*s, state %s, service "
             "id %s",
             AECSD_VERSION, s.listen, aecsd_port(d), s.threads, (int)strcspn(s.store, ":"),
             s.store, aecs_service_state_name(aecs_service_state(svc)), service_id);
    log_info("TLS certificate %s, SHA-256 fingerprint %s", s.tls_cert, fp);
    if (s.join_count > 0) {
        /* Serving (sealed) meanwhile; the join takes the state lock to become working. */
        aecsd_join_transport(s.join_ca != NULL ? s.join_ca : s.tls_cert, &joiner.transport);
        joiner.svc = svc;
        joiner.attester = &att_cfg;
        joiner.urls = (const char *const *)s.join;
        joiner.count = s.join_count;
        joining = pthread_create(&join_thread, NULL, join_main, &joiner) == 0;
        if (!joining)
            log_error("join: cannot start the joining thread; unseal with shares");
    }
    /* Until a stop signal: every second, the unseal progress shared with the other replicas. */
    for (;;) {
        struct timespec second = {1, 0};
        sig = sigtimedwait(&sigs, NULL, &second);
        if (sig > 0)
            break;
        aecs_service_unseal_poll(svc);
    }
    log_info("signal %d: stopping", sig);
    if (joining) {
        __atomic_store_n(&joiner.stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(join_thread, NULL);
    }
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
