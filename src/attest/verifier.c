/*
 * verifier.c - see verifier.h.
 *
 * aecs_verifier_verify() detects the kind of evidence and takes one of two
 * paths:
 *
 *   DCAP  parse the quote; route it: which root its PCK chain ends in (Intel,
 *         the configured sim root, another sim root) and which collateral key
 *         it needs, remembered by the SHA-256 of its certification data so a
 *         known platform costs no certificate parsing; get prepared
 *         collateral (a folder entry, or a reference from the collateral
 *         cache); aecs_dcap_verify; claims from the verdict.
 *   SNP   parse the report; pick the VCEK folder read at start whose hwID
 *         and TCB are the report's, else ask the KDS cache; aecs_snp_verify;
 *         claims from the verdict.
 *
 * Folder entries (offline and sim collateral) live in a small table guarded
 * by v->lock, as the collateral cache keeps its own: an entry is put in the
 * table in the LOADING state before its folder is read, so other threads
 * asking for it wait on v->loaded instead of reading it again; the folder is
 * read and prepared without the lock. Entries are reference counted (the
 * table holds one reference, every verification in progress another), so an
 * entry replaced after expiry stays alive until its last user is done.
 */
/*
 * policy/claims.h (enum aecs_tee) and attest/collateral_fetch.h (enum
 * aecs_tee_kind) both name enumerators AECS_TEE_SGX and AECS_TEE_TDX, so no
 * file can include both as they are. This file needs claims.h only for
 * struct aecs_claims and its converters, so claims' two enumerators are
 * renamed while verifier.h (which includes claims.h) is read; AECS_TEE_SGX
 * and AECS_TEE_TDX below are collateral_fetch.h's.
 */
#define AECS_TEE_SGX AECS_CLAIMS_TEE_SGX
#define AECS_TEE_TDX AECS_CLAIMS_TEE_TDX
#include "attest/verifier.h"
#undef AECS_TEE_SGX
#undef AECS_TEE_TDX

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attest/collateral.h"
#include "attest/collateral_cache.h"
#include "attest/collateral_mem.h"
#include "attest/dcap.h"
#include "attest/kds.h"
#include "attest/quote.h"
#include "attest/sim.h"
#include "attest/snp.h"
#include "base/codec.h"
#include "base/file.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#define ROUTE_MEMO_SIZE 64
#define MAX_FOLDER_ENTRIES 64
#define MAX_SNP_ENTRIES 256
#define MAX_ROOT_FILE (64u << 10)
#define MAX_PATH 4096

/* ---- types ---- */

/* Which root a quote's PCK chain ends in, and so which collateral it is checked with. */
enum route {
    ROUTE_INTEL = 1,     /* anything that is not a sim root: checked against the Intel root */
    ROUTE_SIM,           /* the configured sim root */
    ROUTE_SIM_UNTRUSTED, /* an aecs sim root, and no sim root is configured */
    ROUTE_SIM_OTHER,     /* an aecs sim root other than the configured one */
};

struct route_memo {
    int used;
    uint8_t hash[32]; /* SHA-256 of the quote's certification data */
    enum route route;
    struct aecs_collateral_key key; /* tee is taken from each quote's body, not from here */
};

/* Where a folder entry's collateral is read from. */
enum source {
    SRC_OFFLINE = 1, /* collateral_dir (or its sub-folder for the key), Intel root */
    SRC_SIM,         /* sim_dir/collateral or collateral-tdx, sim root */
};

enum entry_state { ENTRY_LOADING = 0, ENTRY_READY, ENTRY_FAILED };

struct folder_entry {
    enum source source;
    struct aecs_collateral_key key; /* the table key: zero where the folder does not depend on it */
    char path[MAX_PATH];
    enum entry_state state; /* guarded by v->lock */
    int refs;               /* atomic */
    uint64_t last_use;      /* guarded by v->lock */
    int64_t loaded_at;
    /* when READY; immutable afterwards */
    struct aecs_dcap_prepared *prepared;
    int64_t next_update; /* the collateral's earliest nextUpdate (0: none parsed) */
    int has_info;        /* the TCB Info parsed: what it is for */
    enum aecs_tee_kind info_tee;
    uint8_t info_fmspc[6];
    /* when FAILED */
    int err;
    char message[512];
};

/* One VCEK (or VLEK) folder of the SNP collateral, read at start. */
struct snp_entry {
    struct aecs_snp_collateral *col;
    int has_vcek;
    struct aecs_amd_vek_ext vcek;
    int has_vlek;
    struct aecs_amd_vek_ext vlek;
};

/* Prepared collateral held by one verification. */
struct held {
    struct folder_entry *entry;
    struct aecs_collateral_ref *ref;
};

struct aecs_verifier {
    pthread_mutex_t lock;  /* the route memo, the folder table and the stats below */
    pthread_cond_t loaded; /* broadcast whenever a folder load finishes */

    struct aecs_cert *intel_root; /* NULL: the pinned production root */
    struct aecs_cert *sim_root;   /* NULL: sim quotes are refused */
    char *sim_root_file;
    char *sim_dir;

    char *collateral_dir;
    int collateral_single; /* collateral_dir is one platform's folder */
    struct aecs_collateral_cache *pccs;
    char pccs_url[AECS_QCNL_URL_MAX];

    struct snp_entry *snp;
    size_t snp_count;
    char *snp_dir;
    struct aecs_kds_cache *kds;
    char kds_url[AECS_KDS_URL_MAX];
    enum aecs_amd_product snp_product;

    int64_t (*now)(void *arg);
    void *now_arg;
    int64_t min_reload;

    struct route_memo memo[ROUTE_MEMO_SIZE];
    size_t memo_next;
    struct folder_entry *entries[MAX_FOLDER_ENTRIES];
    size_t entry_count;
    uint64_t clock;

    struct aecs_verifier_stats stats; /* guarded by lock, except the two counters below */
    uint64_t verified;                /* atomic */
    uint64_t refused;                 /* atomic */
};

/* ---- refusals ---- */

/*
 * Fills `why` with a refusal of the verifier's own (status and code name the
 * same, code 0), records it as the thread's error and returns err.
 */
static int refuse(struct aecs_verify_failure *why, int err, const char *stage, const char *status,
                  const char *fmt, ...) AECS_PRINTF(5, 6);
static int refuse(struct aecs_verify_failure *why, int err, const char *stage, const char *status,
                  const char *fmt, ...)
{
    va_list ap;

    why->err = err;
    why->stage = stage;
    why->status = status;
    why->code = 0;
    why->code_name = status;
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
    return aecs_err_set(err, __FILE__, __LINE__, "%s", why->message);
}

/* The aecs_err code of a DCAP refusal. */
static int dcap_err_of(const char *stage, enum aecs_qvl_status s)
{
    if (strcmp(stage, "parse") == 0)
        return AECS_E_FORMAT;
    if (strcmp(stage, "expiry") == 0)
        return AECS_E_EXPIRED;
    switch (s) {
    case QVL_TCB_REVOKED:
    case QVL_SGX_PCK_REVOKED:
    case QVL_SGX_INTERMEDIATE_CA_REVOKED:
    case QVL_SGX_TCB_SIGNING_CERT_REVOKED:
        return AECS_E_REVOKED;
    default:
        return AECS_E_UNTRUSTED;
    }
}

/* A DCAP refusal by QVL status, found before aecs_dcap_verify ran. */
static int refuse_qvl(struct aecs_verify_failure *why, enum aecs_qvl_status s, const char *stage,
                      const char *fmt, ...) AECS_PRINTF(4, 5);
static int refuse_qvl(struct aecs_verify_failure *why, enum aecs_qvl_status s, const char *stage,
                      const char *fmt, ...)
{
    va_list ap;

    why->err = dcap_err_of(stage, s);
    why->stage = stage;
    why->status = aecs_qvl_status_name(s);
    why->code = aecs_qvl_quote3_error(s);
    why->code_name = aecs_qvl_quote3_error_name(s);
    why->qv_result = aecs_qvl_qv_result(s);
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
    return aecs_err_set(why->err, __FILE__, __LINE__, "%s", why->message);
}

/* A DCAP verdict that did not verify. */
static int refuse_dcap(struct aecs_verify_failure *why, const struct aecs_dcap_result *r)
{
    const char *stage = r->stage != NULL ? r->stage : "internal";

    why->err = dcap_err_of(stage, r->error);
    why->stage = stage;
    why->status = aecs_qvl_status_name(r->error);
    why->code = aecs_qvl_quote3_error(r->error);
    why->code_name = aecs_qvl_quote3_error_name(r->error);
    why->qv_result = r->qv_result;
    why->tcb_status = r->has_tcb_status ? r->tcb_status : NULL;
    why->collateral_expired = r->collateral_expired;
    snprintf(why->message, sizeof(why->message), "%s", r->message);
    return aecs_err_set(why->err, __FILE__, __LINE__, "%s", why->message);
}

/* An SEV-SNP verdict that did not verify. */
static int refuse_snp(struct aecs_verify_failure *why, const struct aecs_snp_result *r)
{
    const char *stage = r->stage != NULL ? r->stage : "internal";

    if (strcmp(stage, "parse") == 0)
        why->err = AECS_E_FORMAT;
    else if (strcmp(stage, "expiry") == 0)
        why->err = AECS_E_EXPIRED;
    else
        why->err = AECS_E_UNTRUSTED;
    why->stage = stage;
    why->status = aecs_snp_error_name(r->error);
    why->code = (uint32_t)r->error;
    why->code_name = why->status;
    why->collateral_expired = r->collateral_expired;
    snprintf(why->message, sizeof(why->message), "%s", r->message);
    return aecs_err_set(why->err, __FILE__, __LINE__, "%s", why->message);
}

/* An FMSPC as Intel writes it in messages: 12 upper-case hex digits. */
static void fmspc_text(const uint8_t fmspc[6], char out[13])
{
    aecs_hex_encode(fmspc, 6, out);
    for (char *p = out; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* "FMSPC 00A067110000 (SGX, processor CA)": how messages name a collateral key. */
static void key_text(const struct aecs_collateral_key *key, char out[64])
{
    char hex[13];

    fmspc_text(key->fmspc, hex);
    snprintf(out, 64, "FMSPC %s (%s, %s CA)", hex, key->tee == AECS_TEE_TDX ? "TDX" : "SGX",
             key->ca == AECS_PCK_CA_PLATFORM ? "platform" : "processor");
}

/* ---- configuration ---- */

/*
 * dir/name into out. A path that does not fit is cut to "" (which names no
 * file), so a lookup fails rather than reading a shorter path.
 */
static void path_join(char out[MAX_PATH], const char *dir, const char *name)
{
    int n = name != NULL ? snprintf(out, MAX_PATH, "%s/%s", dir, name)
                         : snprintf(out, MAX_PATH, "%s", dir);

    if (n < 0 || n >= MAX_PATH)
        out[0] = '\0';
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_in(const char *dir, const char *name)
{
    char path[MAX_PATH];

    path_join(path, dir, name);
    return path[0] != '\0' && aecs_file_exists(path);
}

static int starts_with_sim_prefix(const struct aecs_cert *c)
{
    char cn[128];

    aecs_cert_subject_cn(c, cn, sizeof(cn));
    return strncmp(cn, AECS_SIM_ROOT_CN_PREFIX, strlen(AECS_SIM_ROOT_CN_PREFIX)) == 0;
}

/* Reads a root certificate file (DER or PEM); the caller frees *out. */
static int load_root(const char *path, const char *what, struct aecs_cert **out)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc;

    *out = NULL;
    rc = aecs_file_read(path, MAX_ROOT_FILE, &data, &size);
    if (rc == AECS_OK)
        rc = aecs_cert_parse(data, size, out);
    free(data);
    if (rc != AECS_OK)
        aecs_err_prefix("verifier: %s %.300s: ", what, path);
    return rc;
}

static char *dup_or_null(const char *s, int *failed)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

/*
 * Loads one SNP collateral folder into e and decodes its certificates' KDS
 * extensions. On failure e holds nothing.
 */
static int snp_load_one(const char *dir, struct snp_entry *e)
{
    int rc = AECS_OK;

    memset(e, 0, sizeof(*e));
    GUARD(aecs_snp_collateral_load_dir(dir, &e->col));
    if (e->col->vcek != NULL) {
        rc = aecs_amd_vek_ext_parse(e->col->vcek, &e->vcek);
        if (rc != AECS_OK) {
            aecs_err_prefix("verifier: %.300s/vcek.der: ", dir);
            goto out;
        }
        e->has_vcek = 1;
    }
    if (e->col->vlek != NULL) {
        rc = aecs_amd_vek_ext_parse(e->col->vlek, &e->vlek);
        if (rc != AECS_OK) {
            aecs_err_prefix("verifier: %.300s/vlek.der: ", dir);
            goto out;
        }
        e->has_vlek = 1;
    }
out:
    if (rc != AECS_OK) {
        aecs_snp_collateral_free(e->col);
        memset(e, 0, sizeof(*e));
    }
    return rc;
}

static int snp_has_vek(const char *dir)
{
    return file_in(dir, "vcek.der") || file_in(dir, "vlek.der");
}

/* Reads the SNP folder: itself when it holds a VEK, else each sub-folder that does. */
static int snp_load(struct aecs_verifier *v, const char *dir)
{
    DIR *d = NULL;
    struct dirent *de;
    char path[MAX_PATH];
    int rc = AECS_OK;

    v->snp = calloc(MAX_SNP_ENTRIES, sizeof(*v->snp));
    ENSURE(v->snp != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (snp_has_vek(dir)) {
        GUARD(snp_load_one(dir, &v->snp[0]));
        v->snp_count = 1;
        return AECS_OK;
    }
    d = opendir(dir);
    ENSURE(d != NULL, errno == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
           "verifier: SEV-SNP collateral folder %.300s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        path_join(path, dir, de->d_name);
        if (!is_dir(path) || !snp_has_vek(path))
            continue;
        ENSURE_OUT(v->snp_count < MAX_SNP_ENTRIES, AECS_E_TOO_LARGE,
                   "verifier: %.300s holds more than %d VCEK folders", dir, MAX_SNP_ENTRIES);
        GUARD_OUT(snp_load_one(path, &v->snp[v->snp_count]));
        v->snp_count++;
    }
    ENSURE_OUT(v->snp_count > 0, AECS_E_NOT_FOUND,
               "verifier: SEV-SNP collateral folder %.300s holds no vcek.der or vlek.der, "
               "neither itself nor in a sub-folder (write one with 'aecs collateral fetch "
               "--quote REPORT --out DIR')",
               dir);
out:
    closedir(d);
    return rc;
}

static int setup_dcap(struct aecs_verifier *v, const struct aecs_verifier_config *cfg)
{
    if (cfg->intel_root_file != NULL) {
        GUARD(load_root(cfg->intel_root_file, "Intel root", &v->intel_root));
        ENSURE(!starts_with_sim_prefix(v->intel_root), AECS_E_INVALID_ARGUMENT,
               "verifier: %.300s is an aecs simulator root, not an Intel root: give it as the "
               "sim root (--sim-root)",
               cfg->intel_root_file);
    }
    if (cfg->collateral_dir != NULL) {
        ENSURE(is_dir(cfg->collateral_dir), AECS_E_NOT_FOUND,
               "verifier: the offline collateral folder %.300s does not exist",
               cfg->collateral_dir);
        v->collateral_single = file_in(cfg->collateral_dir, "root_ca_crl.der") ||
                               file_in(cfg->collateral_dir, "tcb_info.json") ||
                               file_in(cfg->collateral_dir, "tcb_info.body.json");
    }
    ENSURE(cfg->pccs_url == NULL || cfg->pcs_source == NULL, AECS_E_USAGE,
           "verifier: give either a PCCS URL or a PCS source, not both");
    if (cfg->pccs_url != NULL || cfg->pcs_source != NULL) {
        struct aecs_collateral_cache_config cc;

        memset(&cc, 0, sizeof(cc));
        if (cfg->pcs_source != NULL)
            cc.source = *cfg->pcs_source;
        else
            GUARD(aecs_pcs_source_from_url(cfg->pccs_url, &cc.source));
        cc.disk_dir = cfg->collateral_cache_dir;
        cc.trusted_root = v->intel_root;
        snprintf(v->pccs_url, sizeof(v->pccs_url), "%s", cc.source.base_url);
        GUARD(aecs_collateral_cache_new(&cc, &v->pccs));
    } else {
        ENSURE(cfg->collateral_cache_dir == NULL, AECS_E_USAGE,
               "verifier: a collateral cache folder needs a PCCS URL to fetch from");
    }
    return AECS_OK;
}

static int setup_sim(struct aecs_verifier *v, const struct aecs_verifier_config *cfg)
{
    if (cfg->sim_root_file == NULL) {
        ENSURE(cfg->sim_dir == NULL, AECS_E_USAGE,
               "verifier: a sim folder is trusted only with its root (--sim-root DIR/root.der)");
        return AECS_OK;
    }
    GUARD(load_root(cfg->sim_root_file, "sim root", &v->sim_root));
    ENSURE(starts_with_sim_prefix(v->sim_root), AECS_E_INVALID_ARGUMENT,
           "verifier: %.300s is not an aecs simulator root (its CN does not start with '"
           AECS_SIM_ROOT_CN_PREFIX "')",
           cfg->sim_root_file);
    if (cfg->sim_dir != NULL) {
        v->sim_dir = strdup(cfg->sim_dir);
    } else {
        const char *slash = strrchr(cfg->sim_root_file, '/');
        v->sim_dir = slash == NULL ? strdup(".")
                     : slash == cfg->sim_root_file
                         ? strdup("/")
                         : strndup(cfg->sim_root_file, (size_t)(slash - cfg->sim_root_file));
    }
    ENSURE(v->sim_dir != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE(is_dir(v->sim_dir), AECS_E_NOT_FOUND, "verifier: the sim folder %.300s does not exist",
           v->sim_dir);
    return AECS_OK;
}

static int setup_snp(struct aecs_verifier *v, const struct aecs_verifier_config *cfg)
{
    v->snp_product = cfg->snp_product;
    if (cfg->snp_collateral_dir != NULL)
        GUARD(snp_load(v, cfg->snp_collateral_dir));
    ENSURE(cfg->use_kds || (cfg->kds_url == NULL && cfg->kds_cache_dir == NULL), AECS_E_USAGE,
           "verifier: a KDS URL or KDS cache folder is set but KDS is not enabled (use_kds)");
    if (cfg->use_kds) {
        struct aecs_kds_cache_config kc;

        memset(&kc, 0, sizeof(kc));
        GUARD(aecs_kds_source_init(&kc.source, cfg->kds_url));
        kc.disk_dir = cfg->kds_cache_dir;
        snprintf(v->kds_url, sizeof(v->kds_url), "%s", kc.source.base_url);
        GUARD(aecs_kds_cache_new(&kc, &v->kds));
    }
    return AECS_OK;
}

int aecs_verifier_new(const struct aecs_verifier_config *cfg, struct aecs_verifier **out)
{
    struct aecs_verifier *v;
    int failed = 0;
    int rc;

    *out = NULL;
    ENSURE(cfg != NULL, AECS_E_INVALID_ARGUMENT, "verifier: no configuration");
    ENSURE(cfg->min_reload_interval >= 0, AECS_E_INVALID_ARGUMENT,
           "verifier: a negative reload interval");
    v = calloc(1, sizeof(*v));
    ENSURE(v != NULL, AECS_E_NO_MEMORY, "out of memory");
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        return AECS_ERR(AECS_E_INTERNAL, "verifier: cannot create a lock");
    }
    if (pthread_cond_init(&v->loaded, NULL) != 0) {
        pthread_mutex_destroy(&v->lock);
        free(v);
        return AECS_ERR(AECS_E_INTERNAL, "verifier: cannot create a condition variable");
    }
    v->now = cfg->now;
    v->now_arg = cfg->now_arg;
    v->min_reload =
        cfg->min_reload_interval > 0 ? cfg->min_reload_interval : AECS_VERIFIER_DEFAULT_RELOAD;
    v->collateral_dir = dup_or_null(cfg->collateral_dir, &failed);
    v->sim_root_file = dup_or_null(cfg->sim_root_file, &failed);
    v->snp_dir = dup_or_null(cfg->snp_collateral_dir, &failed);
    ENSURE_OUT(!failed, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(setup_dcap(v, cfg));
    GUARD_OUT(setup_sim(v, cfg));
    GUARD_OUT(setup_snp(v, cfg));
    *out = v;
    v = NULL;
out:
    aecs_verifier_free(v);
    return rc;
}

static void entry_release(struct folder_entry *e)
{
    if (e == NULL)
        return;
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    aecs_dcap_prepared_free(e->prepared);
    free(e);
}

void aecs_verifier_free(struct aecs_verifier *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->entry_count; i++)
        entry_release(v->entries[i]);
    for (size_t i = 0; i < v->snp_count; i++)
        aecs_snp_collateral_free(v->snp[i].col);
    free(v->snp);
    aecs_collateral_cache_free(v->pccs);
    aecs_kds_cache_free(v->kds);
    aecs_cert_free(v->intel_root);
    aecs_cert_free(v->sim_root);
    free(v->sim_root_file);
    free(v->sim_dir);
    free(v->collateral_dir);
    free(v->snp_dir);
    pthread_cond_destroy(&v->loaded);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

void aecs_verifier_get_stats(struct aecs_verifier *v, struct aecs_verifier_stats *out)
{
    pthread_mutex_lock(&v->lock);
    *out = v->stats;
    pthread_mutex_unlock(&v->lock);
    out->verified = __atomic_load_n(&v->verified, __ATOMIC_RELAXED);
    out->refused = __atomic_load_n(&v->refused, __ATOMIC_RELAXED);
}

/* ---- folder entries ---- */

static int entry_key_equal(const struct folder_entry *e, enum source src,
                           const struct aecs_collateral_key *k)
{
    return e->source == src && e->key.tee == k->tee && e->key.ca == k->ca &&
           memcmp(e->key.fmspc, k->fmspc, 6) == 0;
}

/* The table key and folder of the collateral for a quote's key (NULL: not known). */
static void entry_place(const struct aecs_verifier *v, enum source src,
                        const struct aecs_collateral_key *quote_key,
                        struct aecs_collateral_key *table_key, char path[MAX_PATH])
{
    char name[40];

    memset(table_key, 0, sizeof(*table_key));
    if (src == SRC_SIM) {
        table_key->tee = quote_key->tee;
        path_join(path, v->sim_dir,
                  quote_key->tee == AECS_TEE_TDX ? AECS_SIM_TDX_COLLATERAL
                                                 : AECS_SIM_SGX_COLLATERAL);
    } else if (v->collateral_single || quote_key == NULL) {
        path_join(path, v->collateral_dir, NULL);
    } else {
        *table_key = *quote_key;
        aecs_collateral_key_format(quote_key, name);
        path_join(path, v->collateral_dir, name);
    }
}

/* Reads and prepares an entry's folder (no lock held). */
static int entry_load(const struct aecs_verifier *v, struct folder_entry *e)
{
    struct aecs_collateral *col = NULL;
    const struct aecs_cert *root = e->source == SRC_SIM ? v->sim_root : v->intel_root;

    ENSURE(is_dir(e->path), AECS_E_NOT_FOUND, "%.300s does not exist", e->path);
    GUARD(aecs_collateral_load_dir(e->path, &col));
    if (col->tcb_info != NULL) {
        e->has_info = 1;
        e->info_tee = col->tcb_info->id == AECS_ID_TDX ? AECS_TEE_TDX : AECS_TEE_SGX;
        memcpy(e->info_fmspc, col->tcb_info->fmspc, 6);
    }
    e->next_update = aecs_collateral_next_update(col);
    return aecs_dcap_prepare(col, root, &e->prepared); /* takes col */
}

/* Takes entry i out of the table (lock held) and returns the table's reference. */
static struct folder_entry *entry_detach(struct aecs_verifier *v, size_t i)
{
    struct folder_entry *e = v->entries[i];

    v->entries[i] = v->entries[--v->entry_count];
    v->entries[v->entry_count] = NULL;
    return e;
}

/*
 * Puts e in the table (lock held), taking a reference for it. A full table
 * gives up its least recently used READY entry (returned in *evicted, to be
 * released without the lock); when every entry is loading, e is not kept.
 */
static void entry_insert(struct aecs_verifier *v, struct folder_entry *e,
                         struct folder_entry **evicted)
{
    *evicted = NULL;
    if (v->entry_count == MAX_FOLDER_ENTRIES) {
        size_t victim = SIZE_MAX;
        for (size_t i = 0; i < v->entry_count; i++) {
            if (v->entries[i]->state == ENTRY_READY &&
                (victim == SIZE_MAX || v->entries[i]->last_use < v->entries[victim]->last_use))
                victim = i;
        }
        if (victim == SIZE_MAX)
            return;
        *evicted = entry_detach(v, victim);
    }
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    v->entries[v->entry_count++] = e;
}

/*
 * Prepared collateral from a folder for a quote's key (NULL: the quote names
 * none) at time `now`: from the table while it is valid, else read again (an
 * expired entry at most once per min_reload). On success the caller releases
 * *out with entry_release. On failure the recorded message says what is
 * wrong with the folder (without naming the key: the caller does).
 */
static int folder_get(struct aecs_verifier *v, enum source src,
                      const struct aecs_collateral_key *quote_key, int64_t now,
                      struct folder_entry **out)
{
    struct aecs_collateral_key table_key;
    struct folder_entry *stale = NULL;
    struct folder_entry *evicted = NULL;
    struct folder_entry *table_ref = NULL;
    struct folder_entry *e;
    char path[MAX_PATH];
    int rc;

    *out = NULL;
    entry_place(v, src, quote_key, &table_key, path);
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->entry_count; i++) {
        e = v->entries[i];
        if (!entry_key_equal(e, src, &table_key))
            continue;
        if (e->state == ENTRY_LOADING) {
            /* Another thread reads this folder: wait for it rather than reading it twice. */
            __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
            while (e->state == ENTRY_LOADING)
                pthread_cond_wait(&v->loaded, &v->lock);
            v->stats.folder_waits++;
            if (e->state == ENTRY_READY) {
                e->last_use = ++v->clock;
                pthread_mutex_unlock(&v->lock);
                *out = e;
                return AECS_OK;
            }
            rc = e->err;
            pthread_mutex_unlock(&v->lock);
            aecs_err_set(rc, __FILE__, __LINE__, "%s", e->message);
            entry_release(e);
            return rc;
        }
        if (e->state == ENTRY_READY &&
            (now < e->next_update || now - e->loaded_at < v->min_reload)) {
            e->last_use = ++v->clock;
            __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&v->lock);
            *out = e;
            return AECS_OK;
        }
        /* expired and due for a new read: holders of references keep the old one */
        stale = entry_detach(v, i);
        break;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        pthread_mutex_unlock(&v->lock);
        entry_release(stale);
        return AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
    e->source = src;
    e->key = table_key;
    memcpy(e->path, path, sizeof(e->path));
    e->state = ENTRY_LOADING;
    e->refs = 1; /* ours */
    e->last_use = ++v->clock;
    entry_insert(v, e, &evicted);
    pthread_mutex_unlock(&v->lock);
    entry_release(stale);
    entry_release(evicted);

    rc = entry_load(v, e);
    e->loaded_at = now;

    pthread_mutex_lock(&v->lock);
    if (rc == AECS_OK) {
        e->state = ENTRY_READY;
        v->stats.folder_loads++;
    } else {
        e->state = ENTRY_FAILED;
        e->err = rc;
        snprintf(e->message, sizeof(e->message), "%s", aecs_err_last()->message);
        for (size_t i = 0; i < v->entry_count; i++) {
            if (v->entries[i] == e) {
                table_ref = entry_detach(v, i);
                break;
            }
        }
    }
    pthread_cond_broadcast(&v->loaded);
    pthread_mutex_unlock(&v->lock);
    entry_release(table_ref);
    if (rc != AECS_OK) {
        entry_release(e);
        return rc;
    }
    *out = e;
    return AECS_OK;
}

static struct aecs_dcap_prepared *held_prepared(const struct held *h)
{
    return h->entry != NULL ? h->entry->prepared : aecs_collateral_ref_prepared(h->ref);
}

static void held_release(struct held *h)
{
    entry_release(h->entry);
    aecs_collateral_ref_release(h->ref);
    h->entry = NULL;
    h->ref = NULL;
}

/* 1 when an entry's TCB Info is for another platform than the quote's key. */
static int entry_mismatch(const struct folder_entry *e, const struct aecs_collateral_key *key)
{
    return key != NULL && e->has_info &&
           (e->info_tee != key->tee || memcmp(e->info_fmspc, key->fmspc, 6) != 0);
}

/* "FMSPC 00906ED50000 (TDX)": what an entry's TCB Info is for. */
static void entry_holds_text(const struct folder_entry *e, char *buf, size_t size)
{
    char hex[13];

    fmspc_text(e->info_fmspc, hex);
    snprintf(buf, size, "FMSPC %s (%s)", hex, e->info_tee == AECS_TEE_TDX ? "TDX" : "SGX");
}

/* ---- DCAP: collateral ---- */

/* Collateral of a sim quote: only the sim folder's. */
static int sim_collateral(struct aecs_verifier *v, const struct aecs_collateral_key *key,
                          int64_t now, struct held *h, struct aecs_verify_failure *why)
{
    struct folder_entry *e = NULL;
    char want[64];
    char holds[64];

    key_text(key, want);
    if (folder_get(v, SRC_SIM, key, now, &e) != AECS_OK)
        return refuse(why, aecs_err_last()->code == AECS_E_NO_MEMORY ? AECS_E_NO_MEMORY
                                                                     : AECS_E_NOT_FOUND,
                      "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                      "the sim collateral for the quote's %s cannot be read: %.300s (make the sim "
                      "again with 'aecs sim init --force %.200s')",
                      want, aecs_err_last()->message, v->sim_dir);
    if (entry_mismatch(e, key)) {
        entry_holds_text(e, holds, sizeof(holds));
        entry_release(e);
        return refuse(why, AECS_E_NOT_FOUND, "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                      "the sim folder %.300s has collateral for %s, not for the quote's %s",
                      v->sim_dir, holds, want);
    }
    h->entry = e;
    return AECS_OK;
}

/* Copies a collateral cache message without its "collateral for <key>: " prefix. */
static const char *cache_reason(const char *msg)
{
    static const char prefix[] = "collateral for ";
    const char *colon;

    if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0)
        return msg;
    colon = strstr(msg, ": ");
    return colon != NULL ? colon + 2 : msg;
}

/*
 * Collateral of an Intel quote for `key` (NULL when the quote does not name
 * it): the offline folder while it has valid collateral for the key, else
 * the PCCS when one is configured, else the offline folder as it is (its
 * expiry is then reported by verification).
 */
static int intel_collateral(struct aecs_verifier *v, const struct aecs_collateral_key *key,
                            int64_t now, struct held *h, struct aecs_verify_failure *why)
{
    struct folder_entry *e = NULL;
    char want[64] = "the quote's platform";
    char offline[600] = "";
    char holds[64];
    char path[MAX_PATH] = "";
    struct aecs_collateral_key unused;
    int offline_rc = AECS_E_NOT_FOUND;

    if (key != NULL)
        key_text(key, want);
    if (v->collateral_dir != NULL) {
        entry_place(v, SRC_OFFLINE, key, &unused, path);
        offline_rc = folder_get(v, SRC_OFFLINE, key, now, &e);
        if (offline_rc == AECS_E_NO_MEMORY)
            return refuse(why, AECS_E_NO_MEMORY, "internal", "AECS_INTERNAL_ERROR",
                          "out of memory");
        if (offline_rc != AECS_OK) {
            snprintf(offline, sizeof(offline), "%.400s", aecs_err_last()->message);
        } else if (entry_mismatch(e, key)) {
            entry_holds_text(e, holds, sizeof(holds));
            snprintf(offline, sizeof(offline), "it holds collateral for %s only", holds);
            entry_release(e);
            e = NULL;
            offline_rc = AECS_E_NOT_FOUND;
        } else if (v->pccs == NULL || key == NULL || now < e->next_update) {
            h->entry = e;
            return AECS_OK;
        } else {
            /* expired offline collateral, and a PCCS to ask */
            entry_release(e);
            e = NULL;
        }
    }
    if (v->pccs != NULL && key != NULL) {
        if (aecs_collateral_cache_get_key(v->pccs, key, now, &h->ref) == AECS_OK)
            return AECS_OK;
        return refuse(why,
                      aecs_err_last()->code == AECS_E_NO_MEMORY ? AECS_E_NO_MEMORY : AECS_E_IO,
                      "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                      "collateral for %s could not be fetched from %.300s: %.300s", want,
                      v->pccs_url, cache_reason(aecs_err_last()->message));
    }
    if (v->collateral_dir == NULL)
        return refuse(why, AECS_E_NOT_FOUND, "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                      "no collateral source for Intel quotes is configured, so a quote for %s "
                      "cannot be verified (configure an offline collateral folder or a PCCS URL)",
                      want);
    if (key != NULL && !v->collateral_single && offline_rc == AECS_E_NOT_FOUND &&
        !is_dir(path))
        return refuse(why, AECS_E_NOT_FOUND, "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                      "no collateral for %s in the offline folder %.300s: %.300s does not exist "
                      "(fetch it with 'aecs collateral fetch --quote QUOTE --out %.300s', or "
                      "configure a PCCS URL)",
                      want, v->collateral_dir, path, path);
    return refuse(why, offline_rc == AECS_E_NOT_FOUND ? AECS_E_NOT_FOUND : AECS_E_IO,
                  "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                  "no collateral for %s in the offline folder %.300s: %.400s", want,
                  v->collateral_dir, offline);
}

/* ---- DCAP: routing ---- */

/*
 * Which root the quote's PCK chain ends in and which collateral key it needs,
 * from the memo or by parsing the chain (untrusted: certificates are looked up
 * in the certificate cache, never added). Routing decides only which
 * collateral and root the quote is checked against; aecs_dcap_verify checks
 * the chain itself.
 */
static int route_quote(struct aecs_verifier *v, const struct aecs_quote *q, const uint8_t *data,
                       size_t size, enum route *route, struct aecs_collateral_key *key,
                       struct aecs_verify_failure *why)
{
    uint8_t hash[32];
    struct aecs_certs *chain = NULL;
    enum aecs_tee_kind tee = q->body_type == AECS_BODY_SGX ? AECS_TEE_SGX : AECS_TEE_TDX;
    int rc;

    aecs_sha256(q->cert_data, q->cert_size, hash);
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < ROUTE_MEMO_SIZE; i++) {
        if (v->memo[i].used && memcmp(v->memo[i].hash, hash, 32) == 0) {
            *route = v->memo[i].route;
            *key = v->memo[i].key;
            pthread_mutex_unlock(&v->lock);
            key->tee = tee;
            return AECS_OK;
        }
    }
    pthread_mutex_unlock(&v->lock);

    rc = aecs_collateral_key_from_quote(data, size, key);
    if (rc == AECS_OK)
        rc = aecs_certs_parse_cached(q->cert_data, q->cert_size, AECS_CERTS_CACHE_LOOKUP, &chain);
    if (rc == AECS_OK)
        rc = aecs_certs_order_chain(chain);
    if (rc != AECS_OK) {
        aecs_certs_free(chain);
        return refuse_qvl(why, QVL_INVALID_PCK_CERT, "chain", "%s", aecs_err_last()->message);
    }
    const struct aecs_cert *top = aecs_certs_get(chain, aecs_certs_count(chain) - 1);
    if (v->sim_root != NULL && aecs_cert_same_key_and_subject(top, v->sim_root))
        *route = ROUTE_SIM;
    else if (starts_with_sim_prefix(top))
        *route = v->sim_root != NULL ? ROUTE_SIM_OTHER : ROUTE_SIM_UNTRUSTED;
    else
        *route = ROUTE_INTEL;
    aecs_certs_free(chain);

    pthread_mutex_lock(&v->lock);
    struct route_memo *m = &v->memo[v->memo_next++ % ROUTE_MEMO_SIZE];
    m->used = 1;
    memcpy(m->hash, hash, 32);
    m->route = *route;
    m->key = *key;
    v->stats.routes++;
    pthread_mutex_unlock(&v->lock);
    return AECS_OK;
}

static int verify_dcap(struct aecs_verifier *v, const uint8_t *data, size_t size, int64_t now,
                       struct aecs_claims *claims, struct aecs_verify_failure *why)
{
    struct aecs_quote q;
    struct aecs_collateral_key key;
    enum route route = ROUTE_INTEL;
    int have_key = 0;
    struct held h = {NULL, NULL};
    struct aecs_dcap_result *res;
    int rc;

    memset(&key, 0, sizeof(key));
    if (aecs_quote_parse(data, size, &q) != AECS_OK)
        return refuse_qvl(why, QVL_UNSUPPORTED_QUOTE_FORMAT, "parse", "%s",
                          aecs_err_last()->message);
    if (q.cert_type == 5) {
        GUARD(route_quote(v, &q, data, size, &route, &key, why));
        have_key = 1;
    } else if (!v->collateral_single) {
        /* Without its chain the quote names neither its root nor its collateral. */
        return refuse_qvl(why, QVL_UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE, "parse",
                          "the quote carries certification data type %u, not its PCK "
                          "certificate chain (type 5); only an offline collateral folder for "
                          "one platform, with its pck_chain.pem, can verify it",
                          q.cert_type);
    }

    switch (route) {
    case ROUTE_SIM_UNTRUSTED:
        return refuse(why, AECS_E_UNTRUSTED, "chain", "AECS_SIM_ROOT_UNTRUSTED",
                      "the quote chains to an aecs simulator root, which this verifier does not "
                      "trust (configure --sim-root DIR/root.der to accept sim quotes: for tests "
                      "and demos only)");
    case ROUTE_SIM_OTHER:
        return refuse(why, AECS_E_UNTRUSTED, "chain", "AECS_SIM_ROOT_UNTRUSTED",
                      "the quote chains to an aecs simulator root other than the configured "
                      "one (%.300s): it was made by another sim folder",
                      v->sim_root_file);
    case ROUTE_SIM:
        GUARD(sim_collateral(v, &key, now, &h, why));
        break;
    case ROUTE_INTEL:
        GUARD(intel_collateral(v, have_key ? &key : NULL, now, &h, why));
        break;
    default:
        return refuse(why, AECS_E_INTERNAL, "internal", "AECS_INTERNAL_ERROR",
                      "verifier: unknown route %d", (int)route);
    }

    res = calloc(1, sizeof(*res));
    if (res == NULL) {
        held_release(&h);
        return refuse(why, AECS_E_NO_MEMORY, "internal", "AECS_INTERNAL_ERROR", "out of memory");
    }
    aecs_dcap_verify(held_prepared(&h), data, size, now, res);
    /* res holds everything by value (its quote borrows `data`, not the collateral) */
    held_release(&h);
    if (!res->verified)
        rc = refuse_dcap(why, res);
    else if (aecs_claims_from_dcap(res, claims) != AECS_OK)
        rc = refuse(why, AECS_E_INTERNAL, "internal", "AECS_INTERNAL_ERROR", "%s",
                    aecs_err_last()->message);
    else
        rc = AECS_OK;
    free(res);
    return rc;
}

/* ---- SEV-SNP ---- */

static int snp_entry_matches(const struct snp_entry *e, const struct aecs_snp_report *r)
{
    if (r->signing_key == AECS_SNP_KEY_VLEK)
        return e->has_vlek;
    if (!e->has_vcek || memcmp(e->vcek.tcb, r->reported_tcb_raw, 8) != 0)
        return 0;
    return r->mask_chip_id || memcmp(e->vcek.hwid, r->chip_id, e->vcek.hwid_size) == 0;
}

/*
 * The folder collateral for a report: the VEK for its chip and TCB; or, when
 * the folder has one VEK and no KDS is configured, that one (verification
 * then says exactly what does not match). NULL when there is none.
 */
static const struct aecs_snp_collateral *snp_pick(const struct aecs_verifier *v,
                                                  const struct aecs_snp_report *r)
{
    for (size_t i = 0; i < v->snp_count; i++) {
        if (snp_entry_matches(&v->snp[i], r))
            return v->snp[i].col;
    }
    if (v->snp_count == 1 && v->kds == NULL)
        return v->snp[0].col;
    return NULL;
}

static int verify_snp(struct aecs_verifier *v, const uint8_t *data, size_t size, int64_t now,
                      struct aecs_claims *claims, struct aecs_verify_failure *why)
{
    static const struct aecs_snp_collateral k_none = {NULL, NULL, NULL, NULL};
    struct aecs_snp_report *r = calloc(1, sizeof(*r));
    struct aecs_snp_result *res = calloc(1, sizeof(*res));
    struct aecs_kds_vcek *vcek = NULL;
    const struct aecs_snp_collateral *col;
    struct aecs_kds_key kkey;
    char name[AECS_KDS_KEY_NAME_MAX];
    int rc;

    if (r == NULL || res == NULL) {
        rc = refuse(why, AECS_E_NO_MEMORY, "internal", "AECS_INTERNAL_ERROR", "out of memory");
        goto out;
    }
    if (aecs_snp_report_parse(data, size, r) != AECS_OK) {
        /* the verifier reports what is wrong with it, at the parse stage */
        aecs_snp_verify(data, size, &k_none, now, res);
        rc = refuse_snp(why, res);
        goto out;
    }
    col = snp_pick(v, r);
    if (col == NULL && v->kds != NULL) {
        if (aecs_kds_key_from_report(r, v->snp_product, &kkey) != AECS_OK) {
            rc = refuse(why, AECS_E_NOT_FOUND, "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                        "no VCEK for this SEV-SNP report%s and none can be fetched from KDS: "
                        "%.300s",
                        v->snp_count > 0 ? " in the SNP collateral folder" : "",
                        aecs_err_last()->message);
            goto out;
        }
        if (aecs_kds_cache_get(v->kds, &kkey, now, &vcek) != AECS_OK) {
            aecs_kds_key_format(&kkey, name);
            rc = refuse(why,
                        aecs_err_last()->code == AECS_E_NO_MEMORY ? AECS_E_NO_MEMORY : AECS_E_IO,
                        "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                        "the VCEK %.40s... could not be fetched from %.200s: %.300s", name,
                        v->kds_url, aecs_err_last()->message);
            goto out;
        }
        col = aecs_kds_vcek_collateral(vcek);
    }
    if (col == NULL && v->snp_count == 0) {
        rc = refuse(why, AECS_E_NOT_FOUND, "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                    "no SEV-SNP collateral is configured (an SNP collateral folder or KDS), so "
                    "no SEV-SNP report can be verified");
        goto out;
    }
    if (col == NULL) {
        char chip[17];
        aecs_hex_encode(r->chip_id, 8, chip);
        rc = refuse(why, AECS_E_NOT_FOUND, "collateral", "AECS_COLLATERAL_UNAVAILABLE",
                    "the SNP collateral folder %.300s has no %s for chip %s... at the report's "
                    "TCB (fetch it with 'aecs collateral fetch --quote REPORT --out DIR', or "
                    "enable KDS)",
                    v->snp_dir, r->signing_key == AECS_SNP_KEY_VLEK ? "VLEK" : "VCEK", chip);
        goto out;
    }
    aecs_snp_verify(data, size, col, now, res);
    if (!res->verified)
        rc = refuse_snp(why, res);
    else if (aecs_claims_from_snp(res, claims) != AECS_OK)
        rc = refuse(why, AECS_E_INTERNAL, "internal", "AECS_INTERNAL_ERROR", "%s",
                    aecs_err_last()->message);
    else
        rc = AECS_OK;
out:
    aecs_kds_vcek_release(vcek);
    free(res);
    free(r);
    return rc;
}

/* ---- verify ---- */

int aecs_verifier_verify(struct aecs_verifier *v, const uint8_t *evidence, size_t size,
                         int64_t now, struct aecs_claims *claims, struct aecs_verify_failure *why)
{
    struct aecs_verify_failure local;
    struct aecs_verify_failure *w = why != NULL ? why : &local;
    char head[17];
    int rc;

    memset(claims, 0, sizeof(*claims));
    memset(w, 0, sizeof(*w));
    if (now == AECS_VERIFIER_NOW)
        now = v->now != NULL ? v->now(v->now_arg) : aecs_time_now();
    w->kind = evidence != NULL ? aecs_evidence_detect(evidence, size) : AECS_EVIDENCE_UNKNOWN;
    if (size > AECS_VERIFIER_MAX_EVIDENCE) {
        rc = refuse(w, AECS_E_TOO_LARGE, "parse", "AECS_EVIDENCE_TOO_LARGE",
                    "the evidence is %zu bytes, more than the %u bytes any quote or report "
                    "needs",
                    size, AECS_VERIFIER_MAX_EVIDENCE);
        goto out;
    }
    switch (w->kind) {
    case AECS_EVIDENCE_DCAP:
        rc = verify_dcap(v, evidence, size, now, claims, w);
        break;
    case AECS_EVIDENCE_SNP:
        rc = verify_snp(v, evidence, size, now, claims, w);
        break;
    case AECS_EVIDENCE_UNKNOWN:
    default:
        aecs_hex_encode(evidence, evidence != NULL && size >= 8 ? 8 : 0, head);
        rc = refuse(w, AECS_E_FORMAT, "parse", "AECS_EVIDENCE_UNKNOWN",
                    "the evidence (%zu bytes%s%s) is neither an Intel DCAP quote (version 3-5, "
                    "attestation key type 2) nor an AMD SEV-SNP report (version 2, 3 or 5)",
                    size, head[0] ? ", starting " : "", head);
        break;
    }
out:
    if (rc != AECS_OK) {
        memset(claims, 0, sizeof(*claims));
        __atomic_add_fetch(&v->refused, 1, __ATOMIC_RELAXED);
        log_debug("verifier: refused %s evidence at stage %s: %s",
                  aecs_evidence_kind_name(w->kind), w->stage, w->message);
        return rc;
    }
    __atomic_add_fetch(&v->verified, 1, __ATOMIC_RELAXED);
    return AECS_OK;
}
