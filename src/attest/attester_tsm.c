/*
 * attester_tsm.c - the Linux configfs-tsm attester (TDX and SEV-SNP guests,
 * Linux 6.7+; Documentation/ABI/testing/configfs-tsm-report).
 *
 * One request:
 *   mkdir ROOT/sys/kernel/config/tsm/report/aecs-<pid>-<random>   (a private entry)
 *   read  provider      "tdx_guest" (a TDX quote) or "sev_guest" (an SNP report)
 *   read  generation    G0: the entry's count of writes so far
 *   write inblob        the 64 bytes of report data
 *   write privlevel     the VMPL, only when one is configured (SEV-SNP only)
 *   read  outblob       the evidence, made by the kernel on this read
 *   read  generation    must be G0 + the writes made here; anything else means
 *                       another writer used the entry meanwhile, and the
 *                       outblob may be for its inblob
 *   rmdir the entry, whatever happened once it was made
 * A request that raced is dropped and tried again with a fresh entry, at
 * most AECS_TSM_TRIES times.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/attester_backend.h"
#include "base/codec.h"
#include "base/log.h"
#include "crypto/crypto.h"

#define OUTBLOB_MAX (1u << 20)
#define PROVIDER_TDX "tdx_guest"
#define PROVIDER_SNP "sev_guest"

static int tsm_probe(const struct aecs_attester *a)
{
    char path[ATTESTER_PATH_MAX];
    int is_dir = 0;
    int err;

    GUARD(aecs_attester_path(a, path, sizeof(path), AECS_TSM_REPORT_DIR));
    err = a->ops->stat(a->ops->ctx, path, &is_dir);
    ENSURE(err != ENOENT && err != ENOTDIR, AECS_E_NOT_FOUND, "configfs-tsm: no %.200s", path);
    ENSURE(err == 0, AECS_E_IO, "configfs-tsm: cannot stat %.200s: %s", path, strerror(err));
    ENSURE(is_dir, AECS_E_NOT_FOUND, "configfs-tsm: %.200s is not a directory", path);
    return AECS_OK;
}

/* The paths of one report entry. */
struct tsm_entry {
    char dir[ATTESTER_PATH_MAX - 64];
    char attr[ATTESTER_PATH_MAX]; /* scratch: dir/<attribute> */
};

static const char *entry_attr(struct tsm_entry *e, const char *name)
{
    /* dir is shorter than ATTESTER_PATH_MAX - 64, names are short attribute names. */
    snprintf(e->attr, sizeof(e->attr), "%s/%.32s", e->dir, name);
    return e->attr;
}

static int make_entry(const struct aecs_attester *a, struct tsm_entry *e)
{
    char base[ATTESTER_PATH_MAX];
    uint8_t rnd[8];
    char rnd_hex[17];
    int err;

    GUARD(aecs_attester_path(a, base, sizeof(base), AECS_TSM_REPORT_DIR));
    GUARD(aecs_random_bytes(rnd, sizeof(rnd)));
    aecs_hex_encode(rnd, sizeof(rnd), rnd_hex);
    int n = snprintf(e->dir, sizeof(e->dir), "%s/aecs-%ld-%s", base, (long)getpid(), rnd_hex);
    ENSURE(n > 0 && (size_t)n < sizeof(e->dir), AECS_E_INVALID_ARGUMENT,
           "configfs-tsm: path too long: %.100s", base);
    err = a->ops->mkdir(a->ops->ctx, e->dir);
    ENSURE(err != ENOENT, AECS_E_NOT_FOUND, "configfs-tsm: cannot make the report entry %.200s: %s",
           e->dir, strerror(err));
    ENSURE(err == 0, AECS_E_IO, "configfs-tsm: cannot make the report entry %.200s: %s", e->dir,
           strerror(err));
    log_debug("configfs-tsm: report entry %.200s", e->dir);
    return AECS_OK;
}

static int read_generation(const struct aecs_attester *a, struct tsm_entry *e, unsigned *out)
{
    char text[32];
    char *end = NULL;
    const char *path = entry_attr(e, "generation");
    int err = aecs_attester_read_text(a, path, text, sizeof(text));

    ENSURE(err == 0, err == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
           "configfs-tsm: cannot read %.200s: %s", path,
           err == ENAMETOOLONG ? "too long" : strerror(err));
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    ENSURE(text[0] >= '0' && text[0] <= '9' && *end == '\0' && errno == 0 && v <= UINT32_MAX,
           AECS_E_FORMAT, "configfs-tsm: %.200s is not a number: '%.20s'", path, text);
    *out = (unsigned)v;
    return AECS_OK;
}

static int write_attr(const struct aecs_attester *a, struct tsm_entry *e, const char *name,
                      const uint8_t *data, size_t size)
{
    const char *path = entry_attr(e, name);
    int err = a->ops->write(a->ops->ctx, path, data, size);

    ENSURE(err == 0, err == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
           "configfs-tsm: cannot write %.200s: %s", path, strerror(err));
    return AECS_OK;
}

static int write_privlevel(const struct aecs_attester *a, struct tsm_entry *e)
{
    char text[16];
    char floor[16];
    const char *path;
    int err;

    snprintf(text, sizeof(text), "%u\n", a->privlevel);
    path = entry_attr(e, "privlevel");
    err = a->ops->write(a->ops->ctx, path, (const uint8_t *)text, strlen(text));
    if (err == 0)
        return AECS_OK;
    char where[ATTESTER_PATH_MAX];
    snprintf(where, sizeof(where), "%s", path);
    /* The kernel refuses a level below privlevel_floor (the guest's own VMPL). */
    if (aecs_attester_read_text(a, entry_attr(e, "privlevel_floor"), floor, sizeof(floor)) != 0)
        snprintf(floor, sizeof(floor), "unknown");
    return AECS_ERR(err == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
                    "configfs-tsm: cannot write %u to %.200s: %s (privlevel_floor: %s)",
                    a->privlevel, where, strerror(err), floor);
}

/*
 * One request on a fresh entry. *raced is set (and nothing returned) when the
 * generation shows a write that was not ours.
 */
static int tsm_once(struct aecs_attester *a, const uint8_t report_data[64], uint8_t **evidence,
                    size_t *size, struct aecs_attester_expect *expect, int *raced, unsigned gens[3])
{
    struct tsm_entry *e = NULL;
    const char *path = NULL;
    char provider[64];
    unsigned before = 0;
    unsigned after = 0;
    unsigned writes = 0;
    uint8_t *out = NULL;
    size_t out_size = 0;
    int made = 0;
    int err;
    int rc = AECS_OK;

    *raced = 0;
    e = calloc(1, sizeof(*e));
    ENSURE(e != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(make_entry(a, e));
    made = 1;

    path = entry_attr(e, "provider");
    err = aecs_attester_read_text(a, path, provider, sizeof(provider));
    ENSURE_OUT(err == 0, err == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
               "configfs-tsm: cannot read %.200s: %s", path,
               err == ENAMETOOLONG ? "too long" : strerror(err));
    if (strcmp(provider, PROVIDER_TDX) == 0) {
        expect->platform = AECS_ATTESTER_TDX;
        ENSURE_OUT(!a->has_privlevel, AECS_E_INVALID_ARGUMENT,
                   "configfs-tsm: a privlevel (VMPL) applies to SEV-SNP; the provider is %s",
                   PROVIDER_TDX);
    } else if (strcmp(provider, PROVIDER_SNP) == 0) {
        expect->platform = AECS_ATTESTER_SNP;
        expect->vmpl = a->has_privlevel ? (int)a->privlevel : -1;
    } else {
        BAIL_OUT(AECS_E_UNSUPPORTED,
                 "configfs-tsm: unknown provider '%.40s' in %.200s (aecs reads %s and %s)",
                 provider, path, PROVIDER_TDX, PROVIDER_SNP);
    }

    GUARD_OUT(read_generation(a, e, &before));
    GUARD_OUT(write_attr(a, e, "inblob", report_data, 64));
    writes++;
    if (a->has_privlevel) {
        GUARD_OUT(write_privlevel(a, e));
        writes++;
    }
    path = entry_attr(e, "outblob");
    err = a->ops->read(a->ops->ctx, path, OUTBLOB_MAX, &out, &out_size);
    ENSURE_OUT(err == 0, err == ENOENT ? AECS_E_NOT_FOUND : AECS_E_IO,
               "configfs-tsm: cannot read %.200s (provider %s): %s", path, provider, strerror(err));
    snprintf(expect->source, sizeof(expect->source), "%.250s (provider %.40s)", path, provider);
    GUARD_OUT(read_generation(a, e, &after));
    gens[0] = before;
    gens[1] = after;
    gens[2] = before + writes;
    if (after != before + writes) {
        *raced = 1;
        goto out;
    }
    *evidence = out;
    *size = out_size;
    out = NULL;
out:
    free(out);
    if (made) {
        err = a->ops->rmdir(a->ops->ctx, e->dir);
        if (err != 0)
            log_warn("configfs-tsm: cannot remove the report entry %.200s: %s", e->dir,
                     strerror(err));
    }
    free(e);
    return rc;
}

static int tsm_evidence(struct aecs_attester *a, const uint8_t report_data[64], uint8_t **evidence,
                        size_t *size, struct aecs_attester_expect *expect)
{
    unsigned gens[3] = {0, 0, 0};
    int raced = 0;

    for (int i = 1; i <= AECS_TSM_TRIES; i++) {
        GUARD(tsm_once(a, report_data, evidence, size, expect, &raced, gens));
        if (!raced)
            return AECS_OK;
        log_warn("configfs-tsm: another writer used the report entry (generation %u before, %u "
                 "after, %u expected); try %d of %d",
                 gens[0], gens[1], gens[2], i, AECS_TSM_TRIES);
    }
    return AECS_ERR(AECS_E_IO,
                    "configfs-tsm: another writer changed the report entry during each of %d "
                    "tries (last: generation %u before, %u after the read of outblob, %u "
                    "expected); the evidence was dropped",
                    AECS_TSM_TRIES, gens[0], gens[1], gens[2]);
}

const struct aecs_attester_backend g_aecs_attester_tsm = {
    .name = "tsm",
    .hint = "it needs Linux 6.7 or later in a TDX or SEV-SNP guest, with configfs mounted on "
            "/sys/kernel/config",
    .probe = tsm_probe,
    .evidence = tsm_evidence,
};
