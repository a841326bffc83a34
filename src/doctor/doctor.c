/*
 * doctor.c - the checks of `aecs doctor`; see doctor.h for what the statuses
 * mean.
 *
 * How it works: a first pass gathers facts (CPU flags, which device nodes
 * exist, whether we run inside Gramine or Occlum, the configfs-tsm
 * providers), because what a missing thing means depends on the rest of the
 * machine: no /dev/sgx_enclave is normal on a machine without SGX (SKIP) but
 * a problem when the CPU has SGX (WARN). Then the table k_checks is run in
 * order; each function fills one row from the facts and its own look at the
 * machine. Nothing is written anywhere.
 */
#include "doctor/doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attest/qcnl.h"
#include "attest/sim.h"
#include "base/timeutil.h"
#include "net/http.h"

extern char **environ;

#define PATH_SIZE 4096
#define MAX_ROOT_LEN 2048
#define MAX_CPUINFO (64u << 20)
#define MAX_SMALL_FILE 4096
#define MAX_TSM_PROVIDERS 4
#define MAX_DIR_ENTRIES 16

/* The file aecs_sim_init writes last (src/attest/sim.c): a folder with it is an initialised sim. */
#define SIM_MARKER_FILE "attestation.key.pem"

#define P_CPUINFO "/proc/cpuinfo"
#define P_SGX_ENCLAVE "/dev/sgx_enclave"
#define P_SGX_PROVISION "/dev/sgx_provision"
#define P_SGX_DIR "/dev/sgx"
#define P_ISGX "/dev/isgx"
#define P_AESM "/var/run/aesmd/aesm.socket"
#define P_TSM_REPORT "/sys/kernel/config/tsm/report"
#define P_TDX_GUEST "/dev/tdx_guest"
#define P_SEV_GUEST "/dev/sev-guest"
#define P_GRAMINE "/dev/attestation"
#define P_GRAMINE_TYPE "/dev/attestation/attestation_type"

enum {
    F_SGX = 1 << 0,
    F_SGX_LC = 1 << 1,
    F_TDX_GUEST = 1 << 2,
    F_SEV = 1 << 3,
    F_SEV_ES = 1 << 4,
    F_SEV_SNP = 1 << 5,
    F_HYPERVISOR = 1 << 6,
    F_TDX_HOST = 1 << 7,
};

static const struct {
    const char *name;
    unsigned bit;
} k_flags[] = {
    {"sgx", F_SGX},
    {"sgx_lc", F_SGX_LC},
    {"tdx_guest", F_TDX_GUEST},
    {"sev", F_SEV},
    {"sev_es", F_SEV_ES},
    {"sev_snp", F_SEV_SNP},
    {"hypervisor", F_HYPERVISOR},
    {"tdx_host_platform", F_TDX_HOST},
};

/* What a path turned out to be. */
enum dev_kind {
    DEV_MISSING = 0,
    DEV_CHAR,     /* a character device (or, for tests, an accepted regular file) */
    DEV_OTHER,    /* exists but is something else */
    DEV_DANGLING, /* a symbolic link to nothing */
    DEV_ERROR,    /* stat failed for another reason (err) */
};

struct dev {
    const char *rel; /* the system path, e.g. "/dev/sgx_enclave" */
    enum dev_kind kind;
    int err;
    struct stat st;
    int usable; /* readable and writable by the user the checks are for */
};

enum libos { LIBOS_NONE = 0, LIBOS_GRAMINE, LIBOS_OCCLUM };

struct ctx {
    const struct aecs_doctor_options *o;
    char root[MAX_ROOT_LEN + 1]; /* without a trailing '/'; "" for "/" */
    char *const *env;
    char user[128];
    int64_t now;

    /* facts */
    int cpu_read;
    int cpu_err;
    int cpu_has_flags;
    unsigned flags;
    enum libos libos;
    char gramine_type[32]; /* "" when unreadable */
    int gramine_type_err;
    struct dev sgx_enclave, sgx_provision, isgx, tdx_guest, sev_guest;
    int sgx_dir_is_dir;
    int sgx_dir_enclave; /* /dev/sgx/enclave is a character device */
    int tsm_present;     /* the report folder exists */
    char tsm_providers[MAX_TSM_PROVIDERS][32];
    size_t tsm_provider_count;

    struct aecs_doctor_report *rep; /* the report being filled */

    /* results other rows use */
    int qcnl_loaded;
    struct aecs_qcnl qcnl;
    char qcnl_file[PATH_SIZE];
};

/* ---- small helpers ---- */

static void vput(char *buf, size_t size, const char *fmt, va_list ap) AECS_PRINTF(3, 0);
static void vput(char *buf, size_t size, const char *fmt, va_list ap)
{
    if (vsnprintf(buf, size, fmt, ap) < 0)
        buf[0] = '\0';
}

/* Sets the status and the detail of a row. */
static void row(struct aecs_doctor_check *r, enum aecs_doctor_status s, const char *fmt, ...)
    AECS_PRINTF(3, 4);
static void row(struct aecs_doctor_check *r, enum aecs_doctor_status s, const char *fmt, ...)
{
    va_list ap;

    r->status = s;
    va_start(ap, fmt);
    vput(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
}

/* Appends to the detail of a row. */
static void more(struct aecs_doctor_check *r, const char *fmt, ...) AECS_PRINTF(2, 3);
static void more(struct aecs_doctor_check *r, const char *fmt, ...)
{
    size_t len = strlen(r->detail);
    va_list ap;

    va_start(ap, fmt);
    vput(r->detail + len, sizeof(r->detail) - len, fmt, ap);
    va_end(ap);
}

static void hint(struct aecs_doctor_check *r, const char *fmt, ...) AECS_PRINTF(2, 3);
static void hint(struct aecs_doctor_check *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vput(r->hint, sizeof(r->hint), fmt, ap);
    va_end(ap);
}

/* root + rel into buf; rel starts with '/'. */
static void at(const struct ctx *c, const char *rel, char *buf, size_t size)
{
    if (snprintf(buf, size, "%s%s", c->root, rel) >= (int)size)
        buf[0] = '\0'; /* cannot happen: root and rel are bounded */
}

static const char *env_get(const struct ctx *c, const char *name)
{
    size_t len = strlen(name);

    for (char *const *e = c->env; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    }
    return NULL;
}

static const char *kind_name(mode_t mode)
{
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISFIFO(mode))
        return "a FIFO";
    return "something else";
}

static void group_name(gid_t gid, char *buf, size_t size)
{
    struct group g;
    struct group *found = NULL;
    char tmp[2048];

    if (getgrgid_r(gid, &g, tmp, sizeof(tmp), &found) == 0 && found != NULL)
        snprintf(buf, size, "%.60s", found->gr_name);
    else
        snprintf(buf, size, "gid %u", (unsigned)gid);
}

static void owner_name(uid_t uid, char *buf, size_t size)
{
    struct passwd p;
    struct passwd *found = NULL;
    char tmp[2048];

    if (getpwuid_r(uid, &p, tmp, sizeof(tmp), &found) == 0 && found != NULL)
        snprintf(buf, size, "%.60s", found->pw_name);
    else
        snprintf(buf, size, "uid %u", (unsigned)uid);
}

/* 1 when the user the checks are for is in group gid. */
static int in_group(const struct ctx *c, gid_t gid)
{
    if (c->o->as_user) {
        if (c->o->gid == gid)
            return 1;
        for (size_t i = 0; i < c->o->group_count; i++) {
            if (c->o->groups[i] == gid)
                return 1;
        }
        return 0;
    }
    if (getegid() == gid)
        return 1;
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++) {
        if (groups[i] == gid)
            return 1;
    }
    return 0;
}

/*
 * 1 when the user may use path with `want` (R_OK, W_OK, X_OK bits). The
 * caller's own access is asked of the kernel (access(2) with the effective
 * ids, which also honours ACLs); another user's is worked out from st.
 */
static int may(const struct ctx *c, const char *path, const struct stat *st, int want)
{
    if (!c->o->as_user)
        return faccessat(AT_FDCWD, path, want, AT_EACCESS) == 0;
    if (c->o->uid == 0)
        return 1; /* root is not held back by mode bits for reading and writing */
    unsigned bits;
    if (st->st_uid == c->o->uid)
        bits = (st->st_mode >> 6) & 7;
    else if (in_group(c, st->st_gid))
        bits = (st->st_mode >> 3) & 7;
    else
        bits = st->st_mode & 7;
    unsigned need =
        ((want & R_OK) ? 4u : 0u) | ((want & W_OK) ? 2u : 0u) | ((want & X_OK) ? 1u : 0u);
    return (bits & need) == need;
}

/* Looks at a device path, following links as open() does. */
static void probe(const struct ctx *c, const char *rel, struct dev *d)
{
    char path[PATH_SIZE];
    struct stat lst;

    memset(d, 0, sizeof(*d));
    d->rel = rel;
    at(c, rel, path, sizeof(path));
    if (stat(path, &d->st) != 0) {
        d->err = errno;
        if (d->err == ENOENT || d->err == ENOTDIR)
            d->kind = lstat(path, &lst) == 0 ? DEV_DANGLING : DEV_MISSING;
        else
            d->kind = DEV_ERROR;
        return;
    }
    if (S_ISCHR(d->st.st_mode) || (c->o->test_accept_regular_files && S_ISREG(d->st.st_mode)))
        d->kind = DEV_CHAR;
    else
        d->kind = DEV_OTHER;
    d->usable = d->kind == DEV_CHAR && may(c, path, &d->st, R_OK | W_OK);
}

/* ---- facts ---- */

/*
 * Reads a whole file until EOF, at most max bytes, into a fresh NUL-terminated
 * buffer (the caller frees it). Unlike aecs_file_read it does not trust the
 * size stat gives: files under /proc, /sys and configfs say 0 or 4096.
 * Returns 0, or an errno value (EFBIG above max).
 */
static int read_all(const char *path, size_t max, char **out, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 4096;
    size_t got = 0;
    char *buf;
    int err = 0;

    *out = NULL;
    *size = 0;
    if (fd < 0)
        return errno;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return ENOMEM;
    }
    for (;;) {
        if (got == cap) {
            if (cap >= max) {
                err = EFBIG;
                break;
            }
            size_t ncap = cap * 2 > max ? max : cap * 2;
            char *nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL) {
                err = ENOMEM;
                break;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = errno;
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (err != 0) {
        free(buf);
        return err;
    }
    buf[got] = '\0';
    *out = buf;
    *size = got;
    return 0;
}

static void read_cpu_flags(struct ctx *c)
{
    char path[PATH_SIZE];
    char *data = NULL;
    size_t size = 0;

    at(c, P_CPUINFO, path, sizeof(path));
    c->cpu_err = read_all(path, MAX_CPUINFO, &data, &size);
    if (c->cpu_err != 0)
        return;
    c->cpu_read = 1;
    /* The first "flags : ..." line (every processor has the same one). */
    for (char *line = data; line != NULL && *line != '\0';) {
        char *eol = strchr(line, '\n');
        if (eol != NULL)
            *eol = '\0';
        if (strncmp(line, "flags", 5) == 0 && strchr(line, ':') != NULL &&
            strspn(line + 5, " \t") == (size_t)(strchr(line, ':') - line - 5)) {
            c->cpu_has_flags = 1;
            char *save = NULL;
            for (char *tok = strtok_r(strchr(line, ':') + 1, " \t", &save); tok != NULL;
                 tok = strtok_r(NULL, " \t", &save)) {
                for (size_t i = 0; i < sizeof(k_flags) / sizeof(k_flags[0]); i++) {
                    if (strcmp(tok, k_flags[i].name) == 0)
                        c->flags |= k_flags[i].bit;
                }
            }
            break;
        }
        line = eol != NULL ? eol + 1 : NULL;
    }
    free(data);
}

/* Reads a small text file into buf without surrounding blanks. 0 or an errno value. */
static int read_small(const char *path, char *buf, size_t size)
{
    char *data = NULL;
    size_t n = 0;

    buf[0] = '\0';
    int err = read_all(path, MAX_SMALL_FILE, &data, &n);
    if (err != 0)
        return err;
    char *s = data;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t len = strlen(s);
    while (len > 0 &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (len >= size)
        len = size - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    free(data);
    return 0;
}

static void read_libos(struct ctx *c)
{
    char path[PATH_SIZE];
    struct stat st;
    const char *occlum = env_get(c, "OCCLUM");

    at(c, P_GRAMINE, path, sizeof(path));
    if (stat(path, &st) == 0) {
        c->libos = LIBOS_GRAMINE;
        at(c, P_GRAMINE_TYPE, path, sizeof(path));
        c->gramine_type_err = read_small(path, c->gramine_type, sizeof(c->gramine_type));
        return;
    }
    if (occlum != NULL && strcmp(occlum, "yes") == 0)
        c->libos = LIBOS_OCCLUM;
}

static void add_provider(struct ctx *c, const char *name)
{
    for (size_t i = 0; i < c->tsm_provider_count; i++) {
        if (strcmp(c->tsm_providers[i], name) == 0)
            return;
    }
    if (c->tsm_provider_count < MAX_TSM_PROVIDERS)
        snprintf(c->tsm_providers[c->tsm_provider_count++], sizeof(c->tsm_providers[0]), "%.30s",
                 name);
}

/* The providers named by existing report entries (report/NAME/provider); nothing is created. */
static void read_tsm(struct ctx *c)
{
    char path[PATH_SIZE];
    char file[PATH_SIZE + 300];
    struct stat st;
    DIR *dir;
    struct dirent *e;

    at(c, P_TSM_REPORT, path, sizeof(path));
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    c->tsm_present = 1;
    dir = opendir(path);
    if (dir == NULL)
        return;
    for (size_t seen = 0; (e = readdir(dir)) != NULL && seen < 64; seen++) {
        char provider[32];
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(file, sizeof(file), "%s/%.255s/provider", path, e->d_name) >=
            (int)sizeof(file))
            continue;
        if (read_small(file, provider, sizeof(provider)) == 0 && provider[0] != '\0')
            add_provider(c, provider);
    }
    closedir(dir);
}

static int tsm_has(const struct ctx *c, const char *provider)
{
    for (size_t i = 0; i < c->tsm_provider_count; i++) {
        if (strcmp(c->tsm_providers[i], provider) == 0)
            return 1;
    }
    return 0;
}

static void read_sgx_dir(struct ctx *c)
{
    char path[PATH_SIZE];
    struct stat st;
    struct dev d;

    at(c, P_SGX_DIR, path, sizeof(path));
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    c->sgx_dir_is_dir = 1;
    probe(c, P_SGX_DIR "/enclave", &d);
    c->sgx_dir_enclave = d.kind == DEV_CHAR;
}

static void gather(struct ctx *c)
{
    read_cpu_flags(c);
    read_libos(c);
    probe(c, P_SGX_ENCLAVE, &c->sgx_enclave);
    probe(c, P_SGX_PROVISION, &c->sgx_provision);
    probe(c, P_ISGX, &c->isgx);
    probe(c, P_TDX_GUEST, &c->tdx_guest);
    probe(c, P_SEV_GUEST, &c->sev_guest);
    read_sgx_dir(c);
    read_tsm(c);
}

/* SGX device nodes on this (host or VM) system, outside any library OS. */
static int sgx_host(const struct ctx *c)
{
    return c->sgx_enclave.kind == DEV_CHAR || c->isgx.kind == DEV_CHAR || c->sgx_dir_enclave;
}

static int is_tdx(const struct ctx *c)
{
    return c->tdx_guest.kind == DEV_CHAR || tsm_has(c, "tdx_guest");
}

static int is_snp(const struct ctx *c)
{
    return c->sev_guest.kind == DEV_CHAR || tsm_has(c, "sev_guest");
}

static int is_sgx(const struct ctx *c)
{
    if (c->libos == LIBOS_GRAMINE)
        return strcmp(c->gramine_type, "dcap") == 0 || strcmp(c->gramine_type, "epid") == 0;
    return c->libos == LIBOS_OCCLUM || sgx_host(c);
}

static const char *libos_name(const struct ctx *c)
{
    return c->libos == LIBOS_GRAMINE ? "Gramine" : "Occlum";
}

/* ---- rows shared by the device checks ---- */

struct devspec {
    const char *kernel_name; /* for a udev rule: KERNEL=="..." */
    const char *group;       /* the group it usually belongs to; NULL: none usual */
    const char *gives;       /* what it is for, after "so " */
};

static void perm_hint(const struct ctx *c, struct aecs_doctor_check *r, const struct devspec *s,
                      const struct dev *d)
{
    char grp[80];
    const char *g = s->group != NULL ? s->group : "GROUP";

    group_name(d->st.st_gid, grp, sizeof(grp));
    if (d->st.st_gid != 0 && (d->st.st_mode & 0060) == 0060) {
        if (in_group(c, d->st.st_gid))
            hint(r,
                 "%s is in group %s, but this session started before that: log in again (or run "
                 "'newgrp %s'); if it still fails, an ACL or a security module denies it",
                 c->user, grp, grp);
        else
            hint(r, "add %s to group %s, then log in again: sudo usermod -aG %s %s", c->user, grp,
                 grp, c->user);
        return;
    }
    hint(r,
         "no group may read and write it (group %s, mode %04o): add a udev rule, e.g. in "
         "/etc/udev/rules.d/90-sgx.rules: KERNEL==\"%s\", GROUP=\"%s\", MODE=\"0660\"; then add "
         "%s to that group (sudo usermod -aG %s %s) and log in again; or run as root",
         grp, (unsigned)(d->st.st_mode & 07777), s->kernel_name, g, c->user, g, c->user);
}

/* The row for a device path that exists (any kind but DEV_MISSING). */
static void present_row(const struct ctx *c, struct aecs_doctor_check *r, const struct devspec *s,
                        const struct dev *d)
{
    char owner[80];
    char grp[80];

    switch (d->kind) {
    case DEV_CHAR:
        if (d->usable) {
            row(r, AECS_DOCTOR_OK, "%s: %s, readable and writable by %s, so %s", d->rel,
                S_ISCHR(d->st.st_mode) ? "a character device" : "a regular file accepted for tests",
                c->user, s->gives);
            return;
        }
        owner_name(d->st.st_uid, owner, sizeof(owner));
        group_name(d->st.st_gid, grp, sizeof(grp));
        row(r, AECS_DOCTOR_WARN,
            "%s: a character device (%s:%s, mode %04o), but %s cannot open it "
            "for reading and writing",
            d->rel, owner, grp, (unsigned)(d->st.st_mode & 07777), c->user);
        perm_hint(c, r, s, d);
        return;
    case DEV_OTHER:
        row(r, AECS_DOCTOR_FAIL,
            "%s exists but is %s, not a character device: no driver is behind it", d->rel,
            kind_name(d->st.st_mode));
        hint(r,
             "remove %s: the driver makes the device node when it loads (reload the driver or "
             "reboot); in a container, pass the host's device (--device %s)",
             d->rel, d->rel);
        return;
    case DEV_DANGLING:
        row(r, AECS_DOCTOR_FAIL, "%s is a symbolic link to nothing", d->rel);
        hint(r, "remove the link or point it at the device node");
        return;
    case DEV_ERROR:
        row(r, AECS_DOCTOR_WARN, "%s cannot be looked at: %s", d->rel, strerror(d->err));
        hint(r, "run aecs doctor as a user who may look into the folders above it");
        return;
    case DEV_MISSING:
    default:
        row(r, AECS_DOCTOR_FAIL, "%s: internal error (unexpected state)", d->rel);
        return;
    }
}

/* ---- the checks ---- */

struct check_def;
typedef void (*check_fn)(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r);

struct check_def {
    const char *name;
    check_fn run;
    /* for the library checks: */
    const char *file;    /* the library's file name */
    const char *package; /* the package it comes in */
    const char *purpose; /* what it is for */
};

static void check_cpu(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    char found[160] = "";
    unsigned f = c->flags;

    (void)d;
    if (!c->cpu_read) {
        row(r, AECS_DOCTOR_SKIP, "cannot read %s: %s", P_CPUINFO, strerror(c->cpu_err));
        return;
    }
    if (!c->cpu_has_flags) {
        row(r, AECS_DOCTOR_SKIP,
            "%s has no flags line (not an x86 CPU?): SGX, TDX and SEV-SNP are "
            "x86 features",
            P_CPUINFO);
        return;
    }
    for (size_t i = 0; i < sizeof(k_flags) / sizeof(k_flags[0]); i++) {
        if ((f & k_flags[i].bit) && k_flags[i].bit != F_HYPERVISOR) {
            size_t len = strlen(found);
            snprintf(found + len, sizeof(found) - len, "%s%s", len ? " " : "", k_flags[i].name);
        }
    }

    if ((f & F_SGX) && (f & F_SGX_LC)) {
        row(r, AECS_DOCTOR_OK, "SGX with Flexible Launch Control (flags: %s)", found);
    } else if (f & F_TDX_GUEST) {
        row(r, AECS_DOCTOR_OK, "a TDX guest (flags: %s)", found);
    } else if (f & F_SEV_SNP) {
        row(r, AECS_DOCTOR_OK, "SEV-SNP (flags: %s)%s", found,
            (f & F_HYPERVISOR) ? "" : "; on a host, aecs attests from inside an SNP guest");
    } else if (f & F_SGX) {
        row(r, AECS_DOCTOR_WARN, "SGX without Flexible Launch Control (flags: %s, no sgx_lc)",
            found);
        hint(r, "the in-kernel SGX driver and DCAP quotes need FLC: enable SGX launch control "
                "(often 'unlocked') in the firmware, or use a CPU or instance type that has it");
    } else if (f & (F_SEV | F_SEV_ES)) {
        row(r, AECS_DOCTOR_WARN, "SEV or SEV-ES without SEV-SNP (flags: %s)", found);
        hint(r, "SEV and SEV-ES make no attestation report that aecs verifies: use an SEV-SNP "
                "guest");
    } else if (is_tdx(c) || is_snp(c)) {
        row(r, AECS_DOCTOR_OK,
            "no TEE flags, but %s says this is %s guest: a guest kernel need "
            "not show its TEE in %s",
            is_tdx(c) ? "the TDX guest interface" : "the SEV-SNP guest interface",
            is_tdx(c) ? "a TDX" : "an SEV-SNP", P_CPUINFO);
    } else {
        row(r, AECS_DOCTOR_SKIP,
            "no TEE flags (looked for sgx, sgx_lc, tdx_guest, sev, sev_es, "
            "sev_snp)%s%s",
            found[0] ? "; found: " : "", found);
        hint(r, "SGX needs a CPU with SGX and FLC, enabled in the firmware; TDX and SEV-SNP are "
                "used from inside a TD or an SNP guest. Without a TEE, use the simulated one: "
                "aecs sim init DIR");
    }
    if (f & F_TDX_HOST)
        more(r, "; tdx_host_platform: this is a TDX host, and aecs attests from inside a TD");
    if (f & F_HYPERVISOR)
        more(r, ". This is a virtual machine (hypervisor flag): a guest sees only the CPU "
                "features its hypervisor passes through, never the host's flags, so the host's "
                "SGX, TDX or SEV-SNP support does not show here");
    if (c->libos != LIBOS_NONE)
        more(r, ". Inside %s, %s is made up by the library OS", libos_name(c), P_CPUINFO);
}

static int libos_skip(const struct ctx *c, struct aecs_doctor_check *r, const char *what)
{
    if (c->libos == LIBOS_NONE)
        return 0;
    row(r, AECS_DOCTOR_SKIP,
        "%s: not visible inside %s, which uses the host's; run aecs doctor on "
        "the host to check it",
        what, libos_name(c));
    return 1;
}

static void check_sgx_enclave(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    static const struct devspec spec = {"sgx_enclave", "sgx", "enclaves can be started"};

    (void)d;
    if (c->sgx_enclave.kind != DEV_MISSING) {
        present_row(c, r, &spec, &c->sgx_enclave);
        return;
    }
    if (libos_skip(c, r, P_SGX_ENCLAVE))
        return;
    if (c->sgx_dir_enclave) {
        row(r, AECS_DOCTOR_SKIP,
            "%s: not present; %s/enclave of Intel's out-of-tree DCAP driver is "
            "there instead",
            P_SGX_ENCLAVE, P_SGX_DIR);
    } else if (c->isgx.kind == DEV_CHAR) {
        row(r, AECS_DOCTOR_SKIP, "%s: not present; the legacy driver's %s is there instead",
            P_SGX_ENCLAVE, P_ISGX);
    } else if (c->flags & F_SGX) {
        row(r, AECS_DOCTOR_WARN,
            "%s: not present, though the CPU has SGX: the SGX driver is not "
            "loaded",
            P_SGX_ENCLAVE);
        hint(r,
             "Linux 5.11 or later built with CONFIG_X86_SGX makes it ('dmesg | grep -i sgx' "
             "says why not); in a container, pass it: --device %s",
             P_SGX_ENCLAVE);
    } else {
        row(r, AECS_DOCTOR_SKIP, "%s: not present: no SGX on this machine", P_SGX_ENCLAVE);
    }
}

static void check_sgx_provision(struct ctx *c, const struct check_def *d,
                                struct aecs_doctor_check *r)
{
    static const struct devspec spec = {
        "sgx_provision", "sgx_prv",
        "a quoting enclave started by this user can get the provisioning key (DCAP quotes)"};

    (void)d;
    if (c->sgx_provision.kind != DEV_MISSING) {
        present_row(c, r, &spec, &c->sgx_provision);
        if (r->status == AECS_DOCTOR_WARN && r->hint[0] != '\0') {
            size_t len = strlen(r->hint);
            snprintf(r->hint + len, sizeof(r->hint) - len,
                     ". Only the process that runs the quoting enclave needs it: aesmd when quotes "
                     "come from AESM, the application itself for in-process quoting");
        }
        return;
    }
    if (libos_skip(c, r, P_SGX_PROVISION))
        return;
    if (c->sgx_enclave.kind == DEV_CHAR) {
        row(r, AECS_DOCTOR_WARN,
            "%s: not present, though %s is: DCAP quoting enclaves need it to "
            "get the provisioning key",
            P_SGX_PROVISION, P_SGX_ENCLAVE);
        hint(r, "the in-kernel driver makes both; in a container, pass it too: --device %s",
             P_SGX_PROVISION);
    } else {
        row(r, AECS_DOCTOR_SKIP, "%s: not present: no SGX driver on this machine", P_SGX_PROVISION);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_sgx_dir(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    char path[PATH_SIZE];
    struct stat st;
    char *names[MAX_DIR_ENTRIES];
    size_t count = 0;
    DIR *dir = NULL;
    struct dirent *e;
    int worst = AECS_DOCTOR_OK;
    char list[AECS_DOCTOR_TEXT_MAX] = "";

    (void)d;
    if (c->libos == LIBOS_OCCLUM) {
        row(r, AECS_DOCTOR_SKIP, "inside Occlum, %s is Occlum's own device (see the occlum check)",
            P_SGX_DIR);
        return;
    }
    at(c, P_SGX_DIR, path, sizeof(path));
    if (stat(path, &st) != 0) {
        if (libos_skip(c, r, P_SGX_DIR "/*"))
            return;
        if (c->sgx_enclave.kind == DEV_CHAR) {
            row(r, AECS_DOCTOR_SKIP,
                "%s/: not present; only software written for Intel's "
                "out-of-tree DCAP driver opens %s/enclave and %s/provision",
                P_SGX_DIR, P_SGX_DIR, P_SGX_DIR);
            hint(r,
                 "if such software needs them: Intel's udev rules make them as links "
                 "(SYMLINK+=\"sgx/enclave\", SYMLINK+=\"sgx/provision\"); in a container, "
                 "mount them: -v %s:%s",
                 P_SGX_DIR, P_SGX_DIR);
        } else {
            row(r, AECS_DOCTOR_SKIP, "%s/: not present: no SGX on this machine", P_SGX_DIR);
        }
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        row(r, AECS_DOCTOR_FAIL, "%s exists but is %s, not a folder", P_SGX_DIR,
            kind_name(st.st_mode));
        hint(r,
             "outside Occlum, %s is a folder of links (enclave, provision) that udev makes: "
             "remove what is there",
             P_SGX_DIR);
        return;
    }
    dir = opendir(path);
    if (dir == NULL) {
        row(r, AECS_DOCTOR_WARN, "%s/ cannot be listed: %s", P_SGX_DIR, strerror(errno));
        return;
    }
    while ((e = readdir(dir)) != NULL && count < MAX_DIR_ENTRIES) {
        if (e->d_name[0] == '.')
            continue;
        names[count] = strdup(e->d_name);
        if (names[count] != NULL)
            count++;
    }
    closedir(dir);
    if (count == 0) {
        row(r, AECS_DOCTOR_WARN, "%s/ is empty: the links udev makes in it are missing", P_SGX_DIR);
        hint(r, "reload the udev rules of Intel's SGX packages (udevadm trigger), or remove the "
                "empty folder");
        return;
    }
    qsort(names, count, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < count; i++) {
        char rel[300];
        struct dev dv;
        const char *what;
        int st_i = AECS_DOCTOR_OK;

        snprintf(rel, sizeof(rel), "%s/%.255s", P_SGX_DIR, names[i]);
        probe(c, rel, &dv);
        switch (dv.kind) {
        case DEV_CHAR:
            what = dv.usable ? "usable" : "not readable and writable by this user";
            st_i = dv.usable ? AECS_DOCTOR_OK : AECS_DOCTOR_WARN;
            if (!dv.usable && worst < AECS_DOCTOR_FAIL) {
                static const struct devspec enc = {"sgx_enclave", "sgx", ""};
                static const struct devspec prv = {"sgx_provision", "sgx_prv", ""};
                perm_hint(c, r, strcmp(names[i], "provision") == 0 ? &prv : &enc, &dv);
            }
            break;
        case DEV_DANGLING:
            what = "a link to nothing";
            st_i = AECS_DOCTOR_FAIL;
            hint(r, "remove %s or point it at the device node (../sgx_enclave, ../sgx_provision)",
                 rel);
            break;
        case DEV_OTHER:
            what = kind_name(dv.st.st_mode);
            st_i = AECS_DOCTOR_FAIL;
            hint(r, "%s should be a character device or a link to one: remove it", rel);
            break;
        case DEV_ERROR:
        case DEV_MISSING:
        default:
            what = "cannot be looked at";
            st_i = AECS_DOCTOR_WARN;
            break;
        }
        if (st_i > worst)
            worst = st_i;
        size_t len = strlen(list);
        snprintf(list + len, sizeof(list) - len, "%s%.60s (%s)", len ? ", " : "", names[i], what);
        free(names[i]);
    }
    row(r, (enum aecs_doctor_status)worst, "%s/: %s", P_SGX_DIR, list);
}

static void check_isgx(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    static const struct devspec spec = {"isgx", NULL, "enclaves can be started"};

    (void)d;
    if (c->isgx.kind == DEV_MISSING) {
        row(r, AECS_DOCTOR_SKIP,
            "%s: not present (it is the legacy out-of-tree driver's device; "
            "the in-kernel driver makes %s)",
            P_ISGX, P_SGX_ENCLAVE);
        return;
    }
    present_row(c, r, &spec, &c->isgx);
    if (r->status != AECS_DOCTOR_OK)
        return;
    row(r, AECS_DOCTOR_WARN,
        "%s: the legacy out-of-tree SGX driver (for CPUs without Flexible "
        "Launch Control) is loaded, and usable by %s",
        P_ISGX, c->user);
    hint(r,
         "on a CPU with FLC, use the in-kernel driver (Linux 5.11+, %s): DCAP quoting and "
         "current Intel software expect it",
         P_SGX_ENCLAVE);
}

static void check_aesm(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    char path[PATH_SIZE];
    struct stat st;
    struct sockaddr_un sa;

    (void)d;
    if (libos_skip(c, r, P_AESM))
        return;
    at(c, P_AESM, path, sizeof(path));
    if (stat(path, &st) != 0) {
        if (sgx_host(c)) {
            row(r, AECS_DOCTOR_WARN,
                "%s: not present: aesmd is not running. Gramine, Occlum and "
                "out-of-process DCAP quoting (SGX_AESM_ADDR=1) get their quotes through it",
                P_AESM);
            hint(r, "install sgx-aesm-service and its plugins (libsgx-aesm-ecdsa-plugin, "
                    "libsgx-aesm-quote-ex-plugin, ...) and start it: systemctl enable --now aesmd; "
                    "in a container, mount it: -v /var/run/aesmd:/var/run/aesmd");
        } else {
            row(r, AECS_DOCTOR_SKIP, "%s: not present: no SGX on this machine", P_AESM);
        }
        return;
    }
    if (!S_ISSOCK(st.st_mode)) {
        row(r, AECS_DOCTOR_FAIL, "%s exists but is %s, not a socket", P_AESM,
            kind_name(st.st_mode));
        hint(r, "remove it and restart aesmd (systemctl restart aesmd), which makes the socket");
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        row(r, AECS_DOCTOR_WARN,
            "%s: a socket, but its path under the root is too long to connect "
            "to (%zu characters)",
            P_AESM, strlen(path));
        return;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        row(r, AECS_DOCTOR_WARN, "%s: a socket, but no socket could be made to try it: %s", P_AESM,
            strerror(errno));
        return;
    }
    int rc = connect(fd, (const struct sockaddr *)&sa, sizeof(sa));
    int err = errno;
    close(fd);
    if (rc == 0 || err == EAGAIN) {
        row(r, AECS_DOCTOR_OK, "%s: aesmd answers on it", P_AESM);
    } else if (err == ECONNREFUSED) {
        row(r, AECS_DOCTOR_FAIL,
            "%s: a socket nobody answers: aesmd is not running (the socket "
            "was left behind)",
            P_AESM);
        hint(r, "restart it: systemctl restart aesmd ('journalctl -u aesmd' says why it stopped)");
    } else if (err == EACCES || err == EPERM) {
        row(r, AECS_DOCTOR_WARN, "%s: %s may not connect to it: %s", P_AESM, c->user,
            strerror(err));
        hint(r, "aesmd makes the socket mode 0666: check the modes of /var/run/aesmd and of the "
                "socket");
    } else {
        row(r, AECS_DOCTOR_WARN, "%s: cannot connect: %s", P_AESM, strerror(err));
    }
}

static void check_lib(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    static const char *const dirs[] = {AECS_DOCTOR_LIB_DIRS};
    const char *dangling = NULL;
    char path[PATH_SIZE];
    char rel[512];
    struct stat st;

    if (libos_skip(c, r, d->file))
        return;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(rel, sizeof(rel), "%s/%s", dirs[i], d->file);
        at(c, rel, path, sizeof(path));
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            row(r, AECS_DOCTOR_OK, "%s: %s", rel, d->purpose);
            return;
        }
        if (dangling == NULL && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            dangling = dirs[i];
    }
    if (dangling != NULL) {
        row(r, AECS_DOCTOR_FAIL, "%s/%s is a link to a file that is not there", dangling, d->file);
        hint(r, "reinstall %s", d->package);
        return;
    }
    if (strcmp(d->file, "libsgx_dcap_quoteverify.so.1") == 0) {
        row(r, AECS_DOCTOR_SKIP,
            "%s: not installed; aecs does not need it (it verifies quotes "
            "itself), only Intel's own tools do",
            d->file);
        return;
    }
    if (sgx_host(c)) {
        row(r, AECS_DOCTOR_WARN,
            "%s: not installed (looked in the usual library folders); it is %s", d->file,
            d->purpose);
        hint(r,
             "install %s from Intel's SGX software repository (apt-get install %s, or yum "
             "install %s)",
             d->package, d->package, d->package);
    } else {
        row(r, AECS_DOCTOR_SKIP,
            "%s: not installed; only SGX machines that make quotes with "
            "Intel's libraries need it",
            d->file);
    }
}

static void check_qcnl(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    const char *given = c->o->qcnl_path;
    char sys[PATH_SIZE];
    struct aecs_qcnl *q = &c->qcnl;

    (void)d;
    at(c, AECS_QCNL_DEFAULT_PATH, sys, sizeof(sys));
    snprintf(c->qcnl_file, sizeof(c->qcnl_file), "%s", given != NULL ? given : sys);
    aecs_err_clear();
    int rc = aecs_qcnl_load(c->qcnl_file, q);
    if (rc == AECS_E_NOT_FOUND && given == NULL) {
        if (sgx_host(c)) {
            row(r, AECS_DOCTOR_WARN,
                "%s: not present: Intel's quote provider library reads it to "
                "find the PCCS that serves this platform's PCK certificate",
                AECS_QCNL_DEFAULT_PATH);
            hint(r, "write it, e.g. PCCS_URL=https://your-pccs:8081/sgx/certification/v4/ and "
                    "USE_SECURE_CERT=TRUE (see docs/attestation.md, Collateral)");
        } else {
            row(r, AECS_DOCTOR_SKIP,
                "%s: not present; 'aecs collateral fetch' then needs --pccs "
                "URL",
                AECS_QCNL_DEFAULT_PATH);
        }
        return;
    }
    if (rc != AECS_OK) {
        row(r, AECS_DOCTOR_FAIL, "%s", aecs_err_last()->message);
        if (q->error_line > 0)
            hint(r, "fix line %d of %s (or remove the file to use Intel's defaults)", q->error_line,
                 c->qcnl_file);
        else if (rc == AECS_E_NOT_FOUND)
            hint(r, "check the path given with --qcnl");
        else
            hint(r, "make %s readable by %s", c->qcnl_file, c->user);
        return;
    }
    c->qcnl_loaded = 1;
    int default_url = strcmp(q->pccs_url, AECS_QCNL_DEFAULT_PCCS_URL) == 0;
    row(r, AECS_DOCTOR_OK, "%s (%s form): PCCS %s%s", c->qcnl_file,
        q->format == AECS_QCNL_JSON ? "JSON" : "legacy", q->pccs_url,
        default_url ? " (Intel's default: the file names none)" : "");
    if (q->has_collateral_service)
        more(r, "; collateral from %s", q->collateral_url);
    if (q->use_secure_cert) {
        more(r, "; TLS certificates are checked");
        return;
    }
    r->status = AECS_DOCTOR_WARN;
    more(r,
         "; use_secure_cert is false (line %d): TLS certificates of the PCCS are NOT checked, "
         "so anyone on the network path can answer as the PCCS",
         q->use_secure_cert_line);
    hint(r, "set USE_SECURE_CERT=TRUE (legacy form) or \"use_secure_cert\": true (JSON form), and "
            "make this machine trust the PCCS's certificate (install its CA)");
}

/* One GET of <base>qe/identity, which a PCCS and Intel's PCS both serve. */
static void probe_pccs(struct ctx *c, struct aecs_doctor_check *r, const char *what,
                       const char *base)
{
    char url[AECS_QCNL_URL_MAX + 32];
    struct aecs_http_options o;
    struct aecs_http_response resp;
    struct timespec t0, t1;
    size_t len = strlen(base);

    snprintf(url, sizeof(url), "%s%sqe/identity", base, len > 0 && base[len - 1] == '/' ? "" : "/");
    aecs_http_options_init(&o);
    o.connect_timeout_ms = c->o->timeout_ms > 0 ? c->o->timeout_ms : AECS_DOCTOR_DEFAULT_TIMEOUT_MS;
    o.total_timeout_ms = o.connect_timeout_ms;
    o.max_response_size = 1u << 20;
    o.tls_verify_disabled_insecure = !c->qcnl.use_secure_cert; /* as Intel's library would */
    memset(&resp, 0, sizeof(resp));
    aecs_err_clear();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = aecs_http_get(url, &o, &resp);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (rc == AECS_E_TOO_LARGE) {
        row(r, AECS_DOCTOR_WARN, "%s %s is reachable, but GET %.300s answered with more than 1 MiB",
            what, base, url);
        return;
    }
    if (rc != AECS_OK) {
        row(r, AECS_DOCTOR_FAIL, "%s %s cannot be reached: %s", what, base,
            aecs_err_last()->message);
        hint(r, "is the service running, and reachable from here (address, port, firewall, proxy "
                "settings, DNS, its TLS certificate)? On a machine with no network, use --offline");
        return;
    }
    if (resp.status == 200) {
        row(r, AECS_DOCTOR_OK, "%s %s answers: GET %.300s gave HTTP 200 in %ld ms%s", what, base,
            url, ms, o.tls_verify_disabled_insecure ? " (TLS certificate NOT checked)" : "");
    } else {
        row(r, AECS_DOCTOR_WARN, "%s %s is reachable, but GET %.300s gave HTTP %ld", what, base,
            url, resp.status);
        hint(r, "check the URL's path: a PCCS or Intel's PCS serves .../sgx/certification/v4/ (or "
                "v3/), ending in '/'");
    }
    aecs_http_response_free(&resp);
}

static void check_pccs(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    (void)d;
    if (!c->qcnl_loaded) {
        row(r, AECS_DOCTOR_SKIP, "no usable qcnl configuration, so no PCCS to try");
        return;
    }
    if (c->o->offline) {
        row(r, AECS_DOCTOR_SKIP, "PCCS %s not contacted (--offline)", c->qcnl.pccs_url);
        return;
    }
    probe_pccs(c, r, "PCCS", c->qcnl.pccs_url);
}

static void check_collateral_service(struct ctx *c, const struct check_def *d,
                                     struct aecs_doctor_check *r)
{
    (void)d;
    if (!c->qcnl_loaded) {
        row(r, AECS_DOCTOR_SKIP, "no usable qcnl configuration");
        return;
    }
    if (!c->qcnl.has_collateral_service || strcmp(c->qcnl.collateral_url, c->qcnl.pccs_url) == 0) {
        row(r, AECS_DOCTOR_SKIP, "collateral_service is not set: collateral comes from the PCCS");
        return;
    }
    if (c->o->offline) {
        row(r, AECS_DOCTOR_SKIP, "collateral service %s not contacted (--offline)",
            c->qcnl.collateral_url);
        return;
    }
    probe_pccs(c, r, "collateral service", c->qcnl.collateral_url);
}

static void check_tsm(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    char path[PATH_SIZE];
    char list[160] = "";
    struct stat st;
    const char *source = "read from the report entries";

    (void)d;
    at(c, P_TSM_REPORT, path, sizeof(path));
    if (stat(path, &st) != 0) {
        if (c->tdx_guest.kind == DEV_CHAR || c->sev_guest.kind == DEV_CHAR) {
            row(r, AECS_DOCTOR_SKIP, "%s: not present; %s is there for quotes instead",
                P_TSM_REPORT, c->tdx_guest.kind == DEV_CHAR ? P_TDX_GUEST : P_SEV_GUEST);
            hint(r, "configfs-tsm needs Linux 6.7+ and configfs mounted: "
                    "mount -t configfs none /sys/kernel/config");
        } else {
            row(r, AECS_DOCTOR_SKIP,
                "%s: not present: not a TDX or SEV-SNP guest (or Linux older "
                "than 6.7, or configfs not mounted)",
                P_TSM_REPORT);
        }
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        row(r, AECS_DOCTOR_FAIL, "%s exists but is %s, not a folder", P_TSM_REPORT,
            kind_name(st.st_mode));
        return;
    }
    for (size_t i = 0; i < c->tsm_provider_count; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", c->tsm_providers[i]);
    }
    if (list[0] == '\0') {
        /* No entry to read a provider from: the guest device says which driver is loaded. */
        source = "inferred from the guest device; no report entry exists to read it from";
        if (c->tdx_guest.kind == DEV_CHAR)
            snprintf(list, sizeof(list), "tdx_guest");
        else if (c->sev_guest.kind == DEV_CHAR)
            snprintf(list, sizeof(list), "sev_guest");
    }
    if (list[0] == '\0') {
        row(r, AECS_DOCTOR_WARN,
            "%s: present, but no provider is known (no report entry exists, "
            "and neither %s nor %s)",
            P_TSM_REPORT, P_TDX_GUEST, P_SEV_GUEST);
        hint(r, "load the guest driver: modprobe tdx_guest (TDX) or modprobe sev-guest (SEV-SNP)");
        return;
    }
    if (!may(c, path, &st, W_OK | X_OK)) {
        row(r, AECS_DOCTOR_WARN,
            "%s: present (provider %s, %s), but %s cannot make a report: that "
            "takes a mkdir in it",
            P_TSM_REPORT, list, source, c->user);
        hint(r, "run the attesting process as root");
        return;
    }
    row(r, AECS_DOCTOR_OK, "%s: present, provider %s (%s)", P_TSM_REPORT, list, source);
}

static void check_tdx_guest(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    static const struct devspec spec = {"tdx_guest", NULL,
                                        "TD reports and quotes can be asked for through it"};

    (void)d;
    if (c->tdx_guest.kind != DEV_MISSING) {
        present_row(c, r, &spec, &c->tdx_guest);
        return;
    }
    if (tsm_has(c, "tdx_guest")) {
        row(r, AECS_DOCTOR_SKIP, "%s: not present; configfs-tsm (provider tdx_guest) gives quotes",
            P_TDX_GUEST);
    } else if (c->flags & F_TDX_GUEST) {
        row(r, AECS_DOCTOR_WARN, "%s: not present, though this is a TDX guest (tdx_guest flag)",
            P_TDX_GUEST);
        hint(r, "load the driver: modprobe tdx_guest (Linux 6.2+); Linux 6.7+ also offers "
                "configfs-tsm");
    } else {
        row(r, AECS_DOCTOR_SKIP, "%s: not present: not a TDX guest", P_TDX_GUEST);
    }
}

static void check_sev_guest(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    static const struct devspec spec = {"sev-guest", NULL,
                                        "SEV-SNP attestation reports can be asked for through it"};

    (void)d;
    if (c->sev_guest.kind != DEV_MISSING) {
        present_row(c, r, &spec, &c->sev_guest);
        return;
    }
    if (tsm_has(c, "sev_guest")) {
        row(r, AECS_DOCTOR_SKIP, "%s: not present; configfs-tsm (provider sev_guest) gives reports",
            P_SEV_GUEST);
    } else if ((c->flags & F_SEV_SNP) && (c->flags & F_HYPERVISOR)) {
        row(r, AECS_DOCTOR_WARN, "%s: not present, though this virtual machine shows sev_snp",
            P_SEV_GUEST);
        hint(r, "load the driver: modprobe sev-guest (Linux 5.19+)");
    } else {
        row(r, AECS_DOCTOR_SKIP, "%s: not present: not an SEV-SNP guest", P_SEV_GUEST);
    }
}

static void check_gramine(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    const char *t = c->gramine_type;

    (void)d;
    if (c->libos != LIBOS_GRAMINE) {
        row(r, AECS_DOCTOR_SKIP, "not running under Gramine (no %s)", P_GRAMINE);
        return;
    }
    if (strcmp(t, "dcap") == 0) {
        row(r, AECS_DOCTOR_OK,
            "running under Gramine, remote attestation dcap: quotes come from "
            "%s/quote",
            P_GRAMINE);
        return;
    }
    if (t[0] == '\0') {
        row(r, AECS_DOCTOR_WARN, "running under Gramine (%s), but %s cannot be read: %s", P_GRAMINE,
            P_GRAMINE_TYPE, c->gramine_type_err ? strerror(c->gramine_type_err) : "it is empty");
        hint(r, "Gramine 1.0 and later have it; use a current Gramine");
        return;
    }
    if (strcmp(t, "epid") == 0)
        row(r, AECS_DOCTOR_WARN,
            "running under Gramine with EPID attestation: aecs verifies DCAP "
            "quotes only");
    else if (strcmp(t, "none") == 0)
        row(r, AECS_DOCTOR_WARN,
            "running under Gramine without remote attestation (gramine-direct, "
            "or the manifest does not ask for it)");
    else
        row(r, AECS_DOCTOR_WARN, "running under Gramine, unknown attestation type '%.30s'", t);
    hint(r, "set sgx.remote_attestation = \"dcap\" in the manifest and run with gramine-sgx");
}

static void check_occlum(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    char path[PATH_SIZE];
    struct stat st;

    (void)d;
    if (c->libos != LIBOS_OCCLUM) {
        row(r, AECS_DOCTOR_SKIP, "not running under Occlum (OCCLUM=yes is not in the environment)");
        return;
    }
    at(c, P_SGX_DIR, path, sizeof(path));
    if (stat(path, &st) == 0) {
        row(r, AECS_DOCTOR_OK,
            "running under Occlum (OCCLUM=yes): quotes come from the ioctls of "
            "Occlum's %s device",
            P_SGX_DIR);
        return;
    }
    row(r, AECS_DOCTOR_WARN,
        "running under Occlum (OCCLUM=yes), but %s, its device for DCAP "
        "quotes, is missing",
        P_SGX_DIR);
    hint(r, "run the Occlum instance in hardware mode (SGX_MODE=HW) with a DCAP-enabled Occlum");
}

/* The earliest nextUpdate of a sim collateral folder's TCB Info and QE Identity. */
static int sim_next_update(const char *dir, int64_t *next)
{
    static const char *const files[] = {"tcb_info.body.json", "qe_identity.body.json"};
    char path[PATH_SIZE];

    *next = INT64_MAX;
    for (size_t i = 0; i < 2; i++) {
        json_error_t jerr;
        int64_t t = 0;
        if (snprintf(path, sizeof(path), "%s/%s", dir, files[i]) >= (int)sizeof(path))
            return AECS_ERR(AECS_E_INVALID_ARGUMENT, "path too long");
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        ENSURE(j != NULL, AECS_E_FORMAT, "%.300s: %.100s", path, jerr.text);
        const char *s = json_string_value(json_object_get(j, "nextUpdate"));
        int rc = s != NULL ? aecs_time_parse(s, &t) : AECS_E_FORMAT;
        json_decref(j);
        ENSURE(rc == AECS_OK, AECS_E_FORMAT, "%.300s: no valid nextUpdate", path);
        if (t < *next)
            *next = t;
    }
    return AECS_OK;
}

static void check_sim(struct ctx *c, const struct check_def *d, struct aecs_doctor_check *r)
{
    static const struct {
        const char *name;
        int dir;
    } parts[] = {
        {AECS_SIM_ROOT_FILE, 0},
        {AECS_SIM_SGX_COLLATERAL, 1},
        {AECS_SIM_TDX_COLLATERAL, 1},
        {SIM_MARKER_FILE, 0},
    };
    const char *dir = c->o->sim_dir;
    struct aecs_doctor_report *rep = c->rep;
    char path[PATH_SIZE];
    char missing[300] = "";
    struct stat st;
    int64_t next = 0;
    char until[32];

    (void)d;
    if (dir == NULL || dir[0] == '\0') {
        row(r, AECS_DOCTOR_SKIP,
            "the simulated TEE is built in and available; no sim folder was "
            "given to check");
        hint(r, "make one with 'aecs sim init DIR'; check it with 'aecs doctor --sim DIR' (or "
                "AECS_SIM_DIR=DIR)");
        return;
    }
    snprintf(rep->sim_dir, sizeof(rep->sim_dir), "%.500s", dir);
    if (stat(dir, &st) != 0) {
        row(r, AECS_DOCTOR_FAIL, "sim folder %.300s: %s", dir, strerror(errno));
        hint(r, "make it: aecs sim init %.300s", dir);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        row(r, AECS_DOCTOR_FAIL, "sim folder %.300s is %s, not a folder", dir,
            kind_name(st.st_mode));
        hint(r, "give the folder made by 'aecs sim init DIR'");
        return;
    }
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (snprintf(path, sizeof(path), "%s/%s", dir, parts[i].name) >= (int)sizeof(path))
            continue;
        if (stat(path, &st) == 0 && (parts[i].dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
            continue;
        size_t len = strlen(missing);
        snprintf(missing + len, sizeof(missing) - len, "%s%s%s", len ? ", " : "", parts[i].name,
                 parts[i].dir ? "/" : "");
    }
    if (missing[0] != '\0') {
        row(r, AECS_DOCTOR_FAIL, "%.300s is not a sim folder that is set up: no %s", dir, missing);
        hint(r, "make one: aecs sim init %.300s (add --force to replace what is there)", dir);
        return;
    }
    for (int tdx = 0; tdx < 2; tdx++) {
        int64_t t = 0;
        snprintf(path, sizeof(path), "%s/%s", dir,
                 tdx ? AECS_SIM_TDX_COLLATERAL : AECS_SIM_SGX_COLLATERAL);
        aecs_err_clear();
        if (sim_next_update(path, &t) != AECS_OK) {
            row(r, AECS_DOCTOR_FAIL, "sim folder %.300s: its collateral cannot be read: %s", dir,
                aecs_err_last()->message);
            hint(r, "make it again: aecs sim init --force %.300s", dir);
            return;
        }
        if (tdx == 0 || t < next)
            next = t;
    }
    aecs_time_format(next, until);
    if (c->now >= next) {
        row(r, AECS_DOCTOR_WARN,
            "sim folder %.300s is set up, but its collateral expired at %s: "
            "sim quotes no longer verify",
            dir, until);
        hint(r, "make it again: aecs sim init --force %.300s (new keys: a new platform)", dir);
        return;
    }
    row(r, AECS_DOCTOR_OK,
        "sim folder %.300s is set up (root.der, collateral/, collateral-tdx/), "
        "collateral valid until %s; verify its quotes with --trusted-root %.300s/root.der",
        dir, until, dir);
    rep->sim_ready = 1;
}

static const struct check_def k_checks[] = {
    {"cpu", check_cpu, NULL, NULL, NULL},
    {"sgx_enclave", check_sgx_enclave, NULL, NULL, NULL},
    {"sgx_provision", check_sgx_provision, NULL, NULL, NULL},
    {"sgx_dev_dir", check_sgx_dir, NULL, NULL, NULL},
    {"isgx", check_isgx, NULL, NULL, NULL},
    {"aesm", check_aesm, NULL, NULL, NULL},
    {"lib_dcap_ql", check_lib, "libsgx_dcap_ql.so.1", "libsgx-dcap-ql",
     "Intel's quote library, which makes SGX DCAP quotes"},
    {"lib_quoteprov", check_lib, "libdcap_quoteprov.so.1", "libsgx-dcap-default-qpl",
     "Intel's quote provider, which gets the platform's PCK certificate from the PCCS"},
    {"lib_qcnl", check_lib, "libsgx_default_qcnl_wrapper.so.1", "libsgx-dcap-default-qpl",
     "the QCNL library, through which the quote provider talks to the PCCS"},
    {"lib_quoteverify", check_lib, "libsgx_dcap_quoteverify.so.1", "libsgx-dcap-quote-verify",
     "Intel's quote verification library (aecs does not need it)"},
    {"qcnl", check_qcnl, NULL, NULL, NULL},
    {"pccs", check_pccs, NULL, NULL, NULL},
    {"collateral_service", check_collateral_service, NULL, NULL, NULL},
    {"configfs_tsm", check_tsm, NULL, NULL, NULL},
    {"tdx_guest", check_tdx_guest, NULL, NULL, NULL},
    {"sev_guest", check_sev_guest, NULL, NULL, NULL},
    {"gramine", check_gramine, NULL, NULL, NULL},
    {"occlum", check_occlum, NULL, NULL, NULL},
    {"sim", check_sim, NULL, NULL, NULL},
};

/* ---- the run ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0))
        return 0;
    return n;
}

/*
 * Rows quote what they found (a qcnl file's bad value, file names), which may
 * hold anything: control characters (a terminal escape sequence) and bytes
 * that are not UTF-8 become '?', so the table is safe to print and the JSON
 * valid.
 */
static void sanitize(char *text)
{
    unsigned char *s = (unsigned char *)text;

    while (*s != '\0') {
        size_t n = utf8_len(s);
        if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7F))) {
            *s++ = '?';
            continue;
        }
        s += n;
    }
}

static void describe_user(struct ctx *c)
{
    const struct aecs_doctor_options *o = c->o;

    if (o->as_user) {
        if (o->user_name != NULL)
            snprintf(c->user, sizeof(c->user), "%.100s", o->user_name);
        else
            snprintf(c->user, sizeof(c->user), "uid %u", (unsigned)o->uid);
        return;
    }
    owner_name(geteuid(), c->user, sizeof(c->user));
}

int aecs_doctor_run(const struct aecs_doctor_options *opts, struct aecs_doctor_report *out)
{
    static const struct aecs_doctor_options defaults = {0};
    const struct aecs_doctor_options *o = opts != NULL ? opts : &defaults;
    const char *root = o->root != NULL && o->root[0] != '\0' ? o->root : "/";
    struct ctx *c;
    struct stat st;
    size_t len = strlen(root);

    memset(out, 0, sizeof(*out));
    ENSURE(len <= MAX_ROOT_LEN, AECS_E_INVALID_ARGUMENT, "root folder name too long (%zu bytes)",
           len);
    ENSURE(stat(root, &st) == 0 && S_ISDIR(st.st_mode), AECS_E_INVALID_ARGUMENT,
           "root %.300s is not a folder", root);
    ENSURE(sizeof(k_checks) / sizeof(k_checks[0]) <= AECS_DOCTOR_MAX_CHECKS, AECS_E_INTERNAL,
           "too many checks");
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    c->o = o;
    c->rep = out;
    memcpy(c->root, root, len + 1);
    while (len > 0 && c->root[len - 1] == '/')
        c->root[--len] = '\0';
    c->env = o->env != NULL ? o->env : environ;
    c->now = o->now != 0 ? o->now : aecs_time_now();
    describe_user(c);

    gather(c);
    for (size_t i = 0; i < sizeof(k_checks) / sizeof(k_checks[0]); i++) {
        struct aecs_doctor_check *r = &out->checks[out->count++];
        snprintf(r->name, sizeof(r->name), "%s", k_checks[i].name);
        k_checks[i].run(c, &k_checks[i], r);
        sanitize(r->detail);
        sanitize(r->hint);
    }

    if (is_tdx(c))
        out->tee = AECS_DOCTOR_TEE_TDX;
    else if (is_snp(c))
        out->tee = AECS_DOCTOR_TEE_SNP;
    else if (is_sgx(c))
        out->tee = AECS_DOCTOR_TEE_SGX;
    else
        out->tee = AECS_DOCTOR_TEE_NONE;
    if (out->tee == AECS_DOCTOR_TEE_SGX && c->libos != LIBOS_NONE)
        snprintf(out->libos, sizeof(out->libos), "%s", libos_name(c));
    free(c);
    aecs_err_clear();
    return AECS_OK;
}

/* ---- reading the report ---- */

const char *aecs_doctor_status_name(enum aecs_doctor_status s)
{
    switch (s) {
    case AECS_DOCTOR_OK:
        return "OK";
    case AECS_DOCTOR_WARN:
        return "WARN";
    case AECS_DOCTOR_FAIL:
        return "FAIL";
    case AECS_DOCTOR_SKIP:
        return "SKIP";
    default:
        return "FAIL";
    }
}

const char *aecs_doctor_tee_name(enum aecs_doctor_tee t)
{
    switch (t) {
    case AECS_DOCTOR_TEE_NONE:
        return "none";
    case AECS_DOCTOR_TEE_SGX:
        return "sgx";
    case AECS_DOCTOR_TEE_TDX:
        return "tdx";
    case AECS_DOCTOR_TEE_SNP:
        return "snp";
    default:
        return "none";
    }
}

const struct aecs_doctor_check *aecs_doctor_find(const struct aecs_doctor_report *r,
                                                 const char *name)
{
    for (size_t i = 0; i < r->count; i++) {
        if (strcmp(r->checks[i].name, name) == 0)
            return &r->checks[i];
    }
    return NULL;
}

size_t aecs_doctor_count(const struct aecs_doctor_report *r, enum aecs_doctor_status s)
{
    size_t n = 0;

    for (size_t i = 0; i < r->count; i++)
        n += r->checks[i].status == s;
    return n;
}

void aecs_doctor_summary(const struct aecs_doctor_report *r, char *buf, size_t size)
{
    int n;

    switch (r->tee) {
    case AECS_DOCTOR_TEE_SGX:
        n = snprintf(buf, size, "TEE: Intel SGX%s%s%s.", r->libos[0] ? " (inside " : "", r->libos,
                     r->libos[0] ? ")" : "");
        break;
    case AECS_DOCTOR_TEE_TDX:
        n = snprintf(buf, size, "TEE: this is an Intel TDX guest.");
        break;
    case AECS_DOCTOR_TEE_SNP:
        n = snprintf(buf, size, "TEE: this is an AMD SEV-SNP guest.");
        break;
    case AECS_DOCTOR_TEE_NONE:
    default:
        if (r->sim_ready)
            n = snprintf(buf, size,
                         "No TEE found on this machine. The simulated TEE is set up in %s: "
                         "`aecs sim quote --sim %s ...` makes quotes that verify with "
                         "`--trusted-root %s/root.der`.",
                         r->sim_dir, r->sim_dir, r->sim_dir);
        else
            n = snprintf(buf, size,
                         "No TEE found on this machine. The simulated TEE is available: run "
                         "`aecs sim init DIR`, then `aecs sim quote --sim DIR ...` makes quotes "
                         "that verify with `--trusted-root DIR/root.der` (tests and demos only).");
        break;
    }
    if (n < 0 && size > 0)
        buf[0] = '\0';
}
