/*
 * doctor_test.c - `aecs doctor`'s checks against fake trees.
 *
 * Each case builds a root folder that looks like one kind of machine (none,
 * an SGX host, a TDX guest, an SNP guest, Gramine, Occlum) and runs
 * aecs_doctor_run() on it. Device nodes cannot be made without root, so the
 * fake /dev entries are symbolic links to /dev/null, a real character device
 * anyone may read and write (the checks follow links, as open() does); the
 * permission cases use regular files with test_accept_regular_files and judge
 * them for another user (as_user), so they hold whoever runs the tests. The
 * AESM socket is a real Unix socket, and the PCCS a loopback pcs_server.
 *
 * What the statuses must be comes from doctor.h's contract (OK / WARN / FAIL
 * / SKIP), from the kernel's names (cpuinfo flags, device paths, configfs-tsm
 * provider names tdx_guest and sev_guest) and from the qcnl files' own lines.
 */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "attest/sim.h"
#include "doctor/doctor.h"
#include "pcs_loopback.h"
#include "testutil.h"

#define LIBDIR "/usr/lib/x86_64-linux-gnu"

/* ---- fake trees ---- */

struct tree {
    char root[64];
    char *env[4];
    int sock; /* a listening AESM socket, or -1 */
};

static void tree_open(struct tree *t)
{
    memset(t, 0, sizeof(*t));
    tu_mkdtemp(t->root, sizeof(t->root));
    t->sock = -1;
}

static void tree_close(struct tree *t)
{
    if (t->sock >= 0)
        close(t->sock);
    tu_rmtree(t->root);
}

/* mkdir -p of root/rel's parent (rel_is_dir: of root/rel itself). */
static void mkparents(const struct tree *t, const char *rel, int rel_is_dir)
{
    char path[512];

    snprintf(path, sizeof(path), "%s%s", t->root, rel);
    if (!rel_is_dir)
        *strrchr(path, '/') = '\0';
    for (char *p = path + strlen(t->root) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
            *p = '/';
        }
    }
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void put(const struct tree *t, const char *rel, const char *text)
{
    char path[512];

    mkparents(t, rel, 0);
    snprintf(path, sizeof(path), "%s%s", t->root, rel);
    tu_write_file(path, text, strlen(text));
}

static void dir(const struct tree *t, const char *rel)
{
    mkparents(t, rel, 1);
}

static void link_to(const struct tree *t, const char *rel, const char *target)
{
    char path[512];

    mkparents(t, rel, 0);
    snprintf(path, sizeof(path), "%s%s", t->root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static void cpuinfo(const struct tree *t, const char *flags)
{
    char text[1024];

    /* the layout of the kernel's file: two processors, "flags\t\t: ..." */
    snprintf(text, sizeof(text),
             "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc %s\n"
             "bugs\t\t: spectre_v1\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\n"
             "flags\t\t: fpu vme de pse tsc %s\n\n",
             flags, flags);
    put(t, "/proc/cpuinfo", text);
}

/* A Unix socket at root/rel; listening when `listening`, else left behind by a closed server. */
static void aesm_socket(struct tree *t, const char *rel, int listening)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    mkparents(t, rel, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s%s", t->root, rel);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (listening) {
        assert_int_equal(listen(fd, 4), 0);
        t->sock = fd;
    } else {
        close(fd);
    }
}

static void opts_for(const struct tree *t, struct aecs_doctor_options *o)
{
    static char *const empty_env[] = {NULL};

    memset(o, 0, sizeof(*o));
    o->root = t->root;
    o->offline = 1;
    o->env = t->env[0] != NULL ? t->env : empty_env;
    /* a qcnl file of the tree's own, never the machine's */
}

static void run(const struct aecs_doctor_options *o, struct aecs_doctor_report *r)
{
    assert_int_equal(aecs_doctor_run(o, r), AECS_OK);
}

static const struct aecs_doctor_check *row(const struct aecs_doctor_report *r, const char *name)
{
    const struct aecs_doctor_check *c = aecs_doctor_find(r, name);

    if (c == NULL)
        fail_msg("no row '%s'", name);
    return c;
}

/* The row has the status, and its detail (and hint, when given) contain the texts. */
static void expect(const struct aecs_doctor_report *r, const char *name, enum aecs_doctor_status s,
                   const char *in_detail, const char *in_hint)
{
    const struct aecs_doctor_check *c = row(r, name);

    if (c->status != s)
        fail_msg("%s: %s, expected %s (%s | hint: %s)", name, aecs_doctor_status_name(c->status),
                 aecs_doctor_status_name(s), c->detail, c->hint);
    if (in_detail != NULL && strstr(c->detail, in_detail) == NULL)
        fail_msg("%s: detail '%s' lacks '%s'", name, c->detail, in_detail);
    if (in_hint != NULL && strstr(c->hint, in_hint) == NULL)
        fail_msg("%s: hint '%s' lacks '%s'", name, c->hint, in_hint);
}

static void expect_no_fail(const struct aecs_doctor_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        if (r->checks[i].status == AECS_DOCTOR_FAIL)
            fail_msg("%s FAILs: %s", r->checks[i].name, r->checks[i].detail);
    }
}

/* ---- no TEE ---- */

static void test_no_tee(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char summary[1024];

    tree_open(&t);
    cpuinfo(&t, "hypervisor avx2");
    opts_for(&t, &o);
    run(&o, &r);

    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);
    assert_string_equal(aecs_doctor_tee_name(r.tee), "none");
    expect_no_fail(&r);
    assert_int_equal(aecs_doctor_count(&r, AECS_DOCTOR_OK), 0);
    expect(&r, "cpu", AECS_DOCTOR_SKIP, "no TEE flags", "aecs sim init");
    /* inside a guest the host's flags are not visible: the detail says so */
    expect(&r, "cpu", AECS_DOCTOR_SKIP, "virtual machine", NULL);
    expect(&r, "sgx_enclave", AECS_DOCTOR_SKIP, "no SGX", NULL);
    expect(&r, "sgx_provision", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "sgx_dev_dir", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "isgx", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "aesm", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "lib_dcap_ql", AECS_DOCTOR_SKIP, "not installed", NULL);
    expect(&r, "lib_quoteverify", AECS_DOCTOR_SKIP, "does not need it", NULL);
    expect(&r, "qcnl", AECS_DOCTOR_SKIP, "not present", NULL);
    expect(&r, "pccs", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "configfs_tsm", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "tdx_guest", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "sev_guest", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "gramine", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "occlum", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "sim", AECS_DOCTOR_SKIP, "available", "aecs sim init DIR");
    aecs_doctor_summary(&r, summary, sizeof(summary));
    assert_non_null(strstr(summary, "No TEE found on this machine"));
    assert_non_null(strstr(summary, "simulated TEE is available"));
    assert_non_null(strstr(summary, "aecs sim init DIR"));
    tree_close(&t);
}

static void test_empty_tree_and_bad_root(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char missing[128];

    tree_open(&t);
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);
    expect(&r, "cpu", AECS_DOCTOR_SKIP, "cannot read /proc/cpuinfo", NULL);
    expect_no_fail(&r);
    /* every row is there, in the documented order */
    assert_int_equal(r.count, 19);
    assert_string_equal(r.checks[0].name, "cpu");
    assert_string_equal(r.checks[r.count - 1].name, "sim");

    snprintf(missing, sizeof(missing), "%s/nothing", t.root);
    o.root = missing;
    assert_int_equal(aecs_doctor_run(&o, &r), AECS_E_INVALID_ARGUMENT);
    put(&t, "/file", "x");
    snprintf(missing, sizeof(missing), "%s/file", t.root);
    o.root = missing;
    assert_int_equal(aecs_doctor_run(&o, &r), AECS_E_INVALID_ARGUMENT);
    tree_close(&t);
}

/* ---- SGX ---- */

/* An SGX host as Intel's packages leave it: devices, udev links, AESM, DCAP libraries. */
static void sgx_host(struct tree *t)
{
    cpuinfo(t, "sgx sgx_lc");
    link_to(t, "/dev/sgx_enclave", "/dev/null");
    link_to(t, "/dev/sgx_provision", "/dev/null");
    link_to(t, "/dev/sgx/enclave", "../sgx_enclave");
    link_to(t, "/dev/sgx/provision", "../sgx_provision");
    aesm_socket(t, "/var/run/aesmd/aesm.socket", 1);
    put(t, LIBDIR "/libsgx_dcap_ql.so.1.13.100.4", "ELF");
    link_to(t, LIBDIR "/libsgx_dcap_ql.so.1", "libsgx_dcap_ql.so.1.13.100.4");
    put(t, "/usr/lib64/libdcap_quoteprov.so.1", "ELF");
    put(t, "/usr/local/lib/libsgx_default_qcnl_wrapper.so.1", "ELF");
    /* the seed's form: legacy, secure */
    put(t, "/etc/sgx_default_qcnl.conf",
        "# PCCS server address\n"
        "PCCS_URL=https://sgx-dcap-server.cn-beijing.aliyuncs.com/sgx/certification/v3/\n"
        "# To accept insecure HTTPS cert, set this option to FALSE\n"
        "USE_SECURE_CERT=TRUE\n");
}

static void test_sgx_host(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char summary[1024];

    tree_open(&t);
    sgx_host(&t);
    opts_for(&t, &o);
    run(&o, &r);

    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SGX);
    expect_no_fail(&r);
    expect(&r, "cpu", AECS_DOCTOR_OK, "sgx sgx_lc", NULL);
    expect(&r, "sgx_enclave", AECS_DOCTOR_OK, "character device", NULL);
    expect(&r, "sgx_provision", AECS_DOCTOR_OK, "provisioning key", NULL);
    expect(&r, "sgx_dev_dir", AECS_DOCTOR_OK, "enclave (usable), provision (usable)", NULL);
    expect(&r, "isgx", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "aesm", AECS_DOCTOR_OK, "aesmd answers", NULL);
    expect(&r, "lib_dcap_ql", AECS_DOCTOR_OK, LIBDIR "/libsgx_dcap_ql.so.1", NULL);
    expect(&r, "lib_quoteprov", AECS_DOCTOR_OK, "/usr/lib64/libdcap_quoteprov.so.1", NULL);
    expect(&r, "lib_qcnl", AECS_DOCTOR_OK, "/usr/local/lib/libsgx_default_qcnl_wrapper.so.1", NULL);
    expect(&r, "lib_quoteverify", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "qcnl", AECS_DOCTOR_OK,
           "PCCS https://sgx-dcap-server.cn-beijing.aliyuncs.com/sgx/certification/v3/", NULL);
    expect(&r, "qcnl", AECS_DOCTOR_OK, "legacy form", NULL);
    expect(&r, "pccs", AECS_DOCTOR_SKIP, "--offline", NULL);
    expect(&r, "collateral_service", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "tdx_guest", AECS_DOCTOR_SKIP, NULL, NULL);
    aecs_doctor_summary(&r, summary, sizeof(summary));
    assert_string_equal(summary, "TEE: Intel SGX.");
    tree_close(&t);
}

static void test_sgx_missing_pieces(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;

    /* the CPU has SGX but no driver is loaded */
    tree_open(&t);
    cpuinfo(&t, "sgx sgx_lc");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);
    expect(&r, "sgx_enclave", AECS_DOCTOR_WARN, "driver is not loaded", "CONFIG_X86_SGX");
    expect_no_fail(&r);
    tree_close(&t);

    /* the driver without provisioning device, AESM, libraries or qcnl file */
    tree_open(&t);
    cpuinfo(&t, "sgx sgx_lc hypervisor");
    link_to(&t, "/dev/sgx_enclave", "/dev/null");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SGX);
    expect(&r, "sgx_provision", AECS_DOCTOR_WARN, "provisioning key",
           "--device /dev/sgx_provision");
    expect(&r, "sgx_dev_dir", AECS_DOCTOR_SKIP, "out-of-tree DCAP driver", NULL);
    expect(&r, "aesm", AECS_DOCTOR_WARN, "aesmd is not running", "systemctl enable --now aesmd");
    expect(&r, "lib_dcap_ql", AECS_DOCTOR_WARN, "not installed", "libsgx-dcap-ql");
    expect(&r, "lib_quoteprov", AECS_DOCTOR_WARN, NULL, "libsgx-dcap-default-qpl");
    expect(&r, "lib_qcnl", AECS_DOCTOR_WARN, NULL, "libsgx-dcap-default-qpl");
    expect(&r, "lib_quoteverify", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "qcnl", AECS_DOCTOR_WARN, "not present", "PCCS_URL=");
    expect_no_fail(&r);
    tree_close(&t);

    /* SGX without Flexible Launch Control */
    tree_open(&t);
    cpuinfo(&t, "sgx");
    opts_for(&t, &o);
    run(&o, &r);
    expect(&r, "cpu", AECS_DOCTOR_WARN, "without Flexible Launch Control", "FLC");
    tree_close(&t);
}

static void test_sgx_broken_pieces(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;

    /* a regular file where the device should be, a dangling udev link, a stale AESM socket,
     * a library link to nothing */
    tree_open(&t);
    cpuinfo(&t, "sgx sgx_lc");
    put(&t, "/dev/sgx_enclave", "not a device");
    link_to(&t, "/dev/sgx_provision", "/dev/null");
    link_to(&t, "/dev/sgx/enclave", "../sgx_enclave");
    link_to(&t, "/dev/sgx/provision", "../sgx_provision_gone");
    aesm_socket(&t, "/var/run/aesmd/aesm.socket", 0);
    link_to(&t, "/usr/lib64/libsgx_dcap_ql.so.1", "libsgx_dcap_ql.so.1.0.0");
    opts_for(&t, &o);
    run(&o, &r);
    expect(&r, "sgx_enclave", AECS_DOCTOR_FAIL, "a regular file, not a character device",
           "remove /dev/sgx_enclave");
    expect(&r, "sgx_dev_dir", AECS_DOCTOR_FAIL, "provision (a link to nothing)", NULL);
    expect(&r, "aesm", AECS_DOCTOR_FAIL, "nobody answers", "systemctl restart aesmd");
    expect(&r, "lib_dcap_ql", AECS_DOCTOR_FAIL, "/usr/lib64/libsgx_dcap_ql.so.1 is a link",
           "reinstall libsgx-dcap-ql");
    /* a regular file is no device: no SGX here, whatever the CPU says */
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);
    tree_close(&t);

    /* the AESM socket path holding a plain file */
    tree_open(&t);
    cpuinfo(&t, "sgx sgx_lc");
    link_to(&t, "/dev/sgx_enclave", "/dev/null");
    put(&t, "/var/run/aesmd/aesm.socket", "");
    opts_for(&t, &o);
    run(&o, &r);
    expect(&r, "aesm", AECS_DOCTOR_FAIL, "a regular file, not a socket", "restart aesmd");
    tree_close(&t);
}

static void test_sgx_legacy_driver(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;

    tree_open(&t);
    cpuinfo(&t, "sgx");
    link_to(&t, "/dev/isgx", "/dev/null");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SGX);
    expect(&r, "isgx", AECS_DOCTOR_WARN, "legacy out-of-tree SGX driver", "in-kernel driver");
    expect(&r, "sgx_enclave", AECS_DOCTOR_SKIP, "/dev/isgx is there instead", NULL);
    tree_close(&t);
}

/* Permissions, judged for another user (as_user) on regular files standing in for devices. */
static void test_device_permissions(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char path[256];
    gid_t grp;
    char grp_text[64];

    tree_open(&t);
    cpuinfo(&t, "sgx sgx_lc");
    put(&t, "/dev/sgx_enclave", "");
    put(&t, "/dev/sgx_provision", "");
    snprintf(path, sizeof(path), "%s/dev/sgx_enclave", t.root);
    assert_int_equal(chmod(path, 0666), 0);
    snprintf(path, sizeof(path), "%s/dev/sgx_provision", t.root);
    assert_int_equal(chmod(path, 0600), 0);
    opts_for(&t, &o);
    o.test_accept_regular_files = 1;
    o.as_user = 1;
    o.uid = 65534;
    o.gid = 65534;
    o.user_name = "nobody";
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SGX);
    expect(&r, "sgx_enclave", AECS_DOCTOR_OK, "readable and writable by nobody", NULL);
    /* mode 0600: no group may use it, so the hint is a udev rule and the sgx_prv group */
    expect(&r, "sgx_provision", AECS_DOCTOR_WARN, "nobody cannot open it", "GROUP=\"sgx_prv\"");
    expect(&r, "sgx_provision", AECS_DOCTOR_WARN, "mode 0600", "usermod -aG sgx_prv nobody");
    expect_no_fail(&r);

    /* mode 0660 with a group: the hint is to join that group */
    if (geteuid() == 0) {
        grp = 54321;
        assert_int_equal(chown(path, 0, grp), 0);
        snprintf(grp_text, sizeof(grp_text), "gid %u", (unsigned)grp);
    } else {
        grp = getegid();
        struct group *g = getgrgid(grp);
        snprintf(grp_text, sizeof(grp_text), "%s", g != NULL ? g->gr_name : "?");
        if (g == NULL)
            snprintf(grp_text, sizeof(grp_text), "gid %u", (unsigned)grp);
    }
    assert_int_equal(chmod(path, 0660), 0);
    run(&o, &r);
    expect(&r, "sgx_provision", AECS_DOCTOR_WARN, NULL, "add nobody to group");
    expect(&r, "sgx_provision", AECS_DOCTOR_WARN, NULL, grp_text);
    /* ...and a member of it may use it */
    o.groups = &grp;
    o.group_count = 1;
    run(&o, &r);
    expect(&r, "sgx_provision", AECS_DOCTOR_OK, NULL, NULL);
    /* without the test switch, a regular file is no device */
    o.test_accept_regular_files = 0;
    run(&o, &r);
    expect(&r, "sgx_provision", AECS_DOCTOR_FAIL, "not a character device", NULL);
    tree_close(&t);
}

/* ---- TDX and SEV-SNP guests ---- */

static void test_tdx_guest(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char summary[256];

    /* a TDX guest with both interfaces; a report entry names its provider */
    tree_open(&t);
    cpuinfo(&t, "hypervisor tdx_guest");
    link_to(&t, "/dev/tdx_guest", "/dev/null");
    put(&t, "/sys/kernel/config/tsm/report/aecs0/provider", "tdx_guest\n");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_TDX);
    assert_string_equal(aecs_doctor_tee_name(r.tee), "tdx");
    expect_no_fail(&r);
    expect(&r, "cpu", AECS_DOCTOR_OK, "a TDX guest (flags: tdx_guest)", NULL);
    expect(&r, "tdx_guest", AECS_DOCTOR_OK, "/dev/tdx_guest: a character device", NULL);
    expect(&r, "configfs_tsm", AECS_DOCTOR_OK, "provider tdx_guest (read from the report entries)",
           NULL);
    expect(&r, "sgx_enclave", AECS_DOCTOR_SKIP, NULL, NULL);
    expect(&r, "sev_guest", AECS_DOCTOR_SKIP, NULL, NULL);
    aecs_doctor_summary(&r, summary, sizeof(summary));
    assert_non_null(strstr(summary, "TDX guest"));
    tree_close(&t);

    /* configfs-tsm only: still a TDX guest */
    tree_open(&t);
    cpuinfo(&t, "hypervisor tdx_guest");
    put(&t, "/sys/kernel/config/tsm/report/q/provider", "tdx_guest\n");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_TDX);
    expect(&r, "tdx_guest", AECS_DOCTOR_SKIP, "configfs-tsm", NULL);
    tree_close(&t);

    /* the flag but neither interface: the driver is missing */
    tree_open(&t);
    cpuinfo(&t, "hypervisor tdx_guest");
    opts_for(&t, &o);
    run(&o, &r);
    expect(&r, "tdx_guest", AECS_DOCTOR_WARN, "not present", "modprobe tdx_guest");
    tree_close(&t);
}

static void test_snp_guest(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char summary[256];

    /* an SNP guest whose kernel shows no sev flags; an empty configfs-tsm report folder */
    tree_open(&t);
    cpuinfo(&t, "hypervisor");
    link_to(&t, "/dev/sev-guest", "/dev/null");
    dir(&t, "/sys/kernel/config/tsm/report");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SNP);
    assert_string_equal(aecs_doctor_tee_name(r.tee), "snp");
    expect_no_fail(&r);
    expect(&r, "sev_guest", AECS_DOCTOR_OK, "/dev/sev-guest: a character device", NULL);
    expect(&r, "configfs_tsm", AECS_DOCTOR_OK, "provider sev_guest (inferred", NULL);
    expect(&r, "cpu", AECS_DOCTOR_OK, "SEV-SNP guest", NULL);
    aecs_doctor_summary(&r, summary, sizeof(summary));
    assert_non_null(strstr(summary, "SEV-SNP guest"));
    tree_close(&t);

    /* SEV-ES only */
    tree_open(&t);
    cpuinfo(&t, "sev sev_es");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);
    expect(&r, "cpu", AECS_DOCTOR_WARN, "without SEV-SNP", "SEV-SNP");
    tree_close(&t);

    /* configfs-tsm with a report entry from sev_guest and no device */
    tree_open(&t);
    cpuinfo(&t, "hypervisor sev sev_es sev_snp");
    put(&t, "/sys/kernel/config/tsm/report/x/provider", "sev_guest\n");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SNP);
    expect(&r, "sev_guest", AECS_DOCTOR_SKIP, "configfs-tsm", NULL);
    expect(&r, "cpu", AECS_DOCTOR_OK, "sev_snp", NULL);
    tree_close(&t);
}

/* ---- library OSes ---- */

static void test_gramine(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char summary[256];

    tree_open(&t);
    cpuinfo(&t, "avx2");
    put(&t, "/dev/attestation/attestation_type", "dcap");
    put(&t, "/dev/attestation/quote", "");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SGX);
    expect_no_fail(&r);
    expect(&r, "gramine", AECS_DOCTOR_OK, "dcap", NULL);
    expect(&r, "sgx_enclave", AECS_DOCTOR_SKIP, "inside Gramine", NULL);
    expect(&r, "aesm", AECS_DOCTOR_SKIP, "inside Gramine", NULL);
    expect(&r, "lib_dcap_ql", AECS_DOCTOR_SKIP, "inside Gramine", NULL);
    expect(&r, "cpu", AECS_DOCTOR_SKIP, "made up by the library OS", NULL);
    aecs_doctor_summary(&r, summary, sizeof(summary));
    assert_string_equal(summary, "TEE: Intel SGX (inside Gramine).");
    tree_close(&t);

    /* gramine-direct, or a manifest without remote attestation */
    tree_open(&t);
    put(&t, "/dev/attestation/attestation_type", "none\n");
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);
    expect(&r, "gramine", AECS_DOCTOR_WARN, "without remote attestation",
           "sgx.remote_attestation = \"dcap\"");
    tree_close(&t);
}

static void test_occlum(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;

    tree_open(&t);
    put(&t, "/dev/sgx", ""); /* Occlum's own device */
    t.env[0] = "PATH=/bin";
    t.env[1] = "OCCLUM=yes";
    opts_for(&t, &o);
    run(&o, &r);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_SGX);
    expect_no_fail(&r);
    expect(&r, "occlum", AECS_DOCTOR_OK, "OCCLUM=yes", NULL);
    expect(&r, "sgx_dev_dir", AECS_DOCTOR_SKIP, "Occlum's own device", NULL);
    expect(&r, "gramine", AECS_DOCTOR_SKIP, NULL, NULL);

    /* not Occlum: OCCLUM must be exactly "yes" */
    t.env[1] = "OCCLUM=no";
    run(&o, &r);
    expect(&r, "occlum", AECS_DOCTOR_SKIP, NULL, NULL);
    /* ...and outside Occlum, /dev/sgx must be a folder */
    expect(&r, "sgx_dev_dir", AECS_DOCTOR_FAIL, "not a folder", NULL);
    tree_close(&t);
}

/* ---- qcnl ---- */

static void test_qcnl_broken(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char path[256];

    /* legacy form, line 3 is not KEY=VALUE */
    tree_open(&t);
    put(&t, "/etc/sgx_default_qcnl.conf",
        "# PCCS server address\n"
        "PCCS_URL=https://pccs.example:8081/sgx/certification/v4/\n"
        "USE_SECURE_CERT\n");
    opts_for(&t, &o);
    run(&o, &r);
    expect(&r, "qcnl", AECS_DOCTOR_FAIL, "sgx_default_qcnl.conf:3:", "fix line 3 of");
    expect(&r, "pccs", AECS_DOCTOR_SKIP, NULL, NULL);
    assert_int_equal(aecs_doctor_count(&r, AECS_DOCTOR_FAIL), 1);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);

    /* JSON form given with qcnl_path: a missing comma before line 4 */
    put(&t, "/my.conf",
        "{\n"
        "  // PCCS server address\n"
        "  \"pccs_url\": \"https://pccs.example:8081/sgx/certification/v4/\"\n"
        "  \"use_secure_cert\": true\n"
        "}\n");
    snprintf(path, sizeof(path), "%s/my.conf", t.root);
    o.qcnl_path = path;
    run(&o, &r);
    expect(&r, "qcnl", AECS_DOCTOR_FAIL, "my.conf:4:", "fix line 4 of");

    /* what a row quotes from the file is made safe to print: no control bytes, valid UTF-8 */
    put(&t, "/my.conf",
        "PCCS_URL=https://pccs.example/\nUSE_SECURE_CERT=\033]0;x\007\xff\xc3\xa9\n");
    run(&o, &r);
    expect(&r, "qcnl", AECS_DOCTOR_FAIL, "my.conf:2:", NULL);
    expect(&r, "qcnl", AECS_DOCTOR_FAIL, "'?]0;x??\xc3\xa9'", NULL);

    /* a file given that does not exist is a FAIL too (the default one missing is not) */
    snprintf(path, sizeof(path), "%s/absent.conf", t.root);
    run(&o, &r);
    expect(&r, "qcnl", AECS_DOCTOR_FAIL, "absent.conf", "--qcnl");
    tree_close(&t);
}

static void test_qcnl_insecure(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;

    tree_open(&t);
    put(&t, "/etc/sgx_default_qcnl.conf",
        "{\n"
        "  \"pccs_url\": \"https://pccs.example:8081/sgx/certification/v4/\",\n"
        "  \"use_secure_cert\": false,\n"
        "  \"collateral_service\": "
        "\"https://api.trustedservices.intel.com/sgx/certification/v4/\"\n"
        "}\n");
    opts_for(&t, &o);
    run(&o, &r);
    expect(&r, "qcnl", AECS_DOCTOR_WARN, "use_secure_cert is false (line 3)", "use_secure_cert");
    expect(&r, "qcnl", AECS_DOCTOR_WARN, "JSON form", NULL);
    expect(&r, "qcnl", AECS_DOCTOR_WARN,
           "collateral from https://api.trustedservices.intel.com/sgx/certification/v4/", NULL);
    expect(&r, "collateral_service", AECS_DOCTOR_SKIP, "--offline", NULL);
    expect_no_fail(&r);
    tree_close(&t);
}

/* A loopback port nothing listens on. */
static int closed_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void test_pccs_reachability(void **state)
{
    (void)state;
    static const char *const sets[] = {"sgx_v3_dcapqvl", NULL};
    struct tu_loopback srv;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    char conf[512];
    char want[128];

    pcs_loopback_start(&srv, sets, NULL);
    tree_open(&t);

    /* the PCCS answers; the collateral service answers 404 (a wrong path) */
    snprintf(conf, sizeof(conf),
             "PCCS_URL=%s/sgx/certification/v4/\nCOLLATERAL_SERVICE=%s/wrong/path/\n", srv.url,
             srv.url);
    put(&t, "/etc/sgx_default_qcnl.conf", conf);
    opts_for(&t, &o);
    o.offline = 0;
    run(&o, &r);
    snprintf(want, sizeof(want), "PCCS %s/sgx/certification/v4/ answers", srv.url);
    expect(&r, "pccs", AECS_DOCTOR_OK, want, NULL);
    expect(&r, "pccs", AECS_DOCTOR_OK, "HTTP 200", NULL);
    expect(&r, "collateral_service", AECS_DOCTOR_WARN, "HTTP 404", "path");
    assert_true(tu_loopback_count(&srv, "qe") >= 1);
    expect_no_fail(&r);

    /* --offline: not contacted */
    long before = tu_loopback_count(&srv, "requests");
    o.offline = 1;
    run(&o, &r);
    expect(&r, "pccs", AECS_DOCTOR_SKIP, "--offline", NULL);
    assert_int_equal(tu_loopback_count(&srv, "requests"), before);
    tu_loopback_stop(&srv);

    /* a closed port: FAIL with curl's reason */
    int port = closed_port();
    snprintf(conf, sizeof(conf), "PCCS_URL=http://127.0.0.1:%d/sgx/certification/v4/\n", port);
    put(&t, "/etc/sgx_default_qcnl.conf", conf);
    o.offline = 0;
    o.timeout_ms = 3000;
    run(&o, &r);
    snprintf(want, sizeof(want), "127.0.0.1:%d", port);
    expect(&r, "pccs", AECS_DOCTOR_FAIL, "cannot be reached", "--offline");
    expect(&r, "pccs", AECS_DOCTOR_FAIL, want, NULL);
    const struct aecs_doctor_check *c = row(&r, "pccs");
    assert_true(strstr(c->detail, "onnect") != NULL || strstr(c->detail, "refused") != NULL);
    tree_close(&t);
}

/* ---- the sim ---- */

static void test_sim_folder(void **state)
{
    (void)state;
    struct tree t;
    struct aecs_doctor_options o;
    struct aecs_doctor_report r;
    struct aecs_sim_options so;
    char sim[128];
    char summary[1024];
    const int64_t t0 = 1751328000; /* 2025-07-01T00:00:00Z */

    tree_open(&t);
    snprintf(sim, sizeof(sim), "%s/sim", t.root);
    opts_for(&t, &o);
    o.sim_dir = sim;
    o.now = t0 + 86400;

    /* not there yet */
    run(&o, &r);
    expect(&r, "sim", AECS_DOCTOR_FAIL, "No such file", "aecs sim init");
    /* a folder that is not a sim */
    dir(&t, "/sim");
    run(&o, &r);
    expect(&r, "sim", AECS_DOCTOR_FAIL, "no root.der, collateral/, collateral-tdx/",
           "aecs sim init");

    /* a sim made at t0, valid 30 days */
    memset(&so, 0, sizeof(so));
    so.now = t0;
    so.validity_days = 30;
    so.force = 1;
    assert_int_equal(aecs_sim_init(sim, &so), AECS_OK);
    run(&o, &r);
    expect(&r, "sim", AECS_DOCTOR_OK, "is set up", NULL);
    expect(&r, "sim", AECS_DOCTOR_OK, "valid until 2025-07-31T00:00:00Z", NULL);
    assert_true(r.sim_ready);
    assert_int_equal(r.tee, AECS_DOCTOR_TEE_NONE);
    aecs_doctor_summary(&r, summary, sizeof(summary));
    assert_non_null(strstr(summary, "No TEE found on this machine"));
    assert_non_null(strstr(summary, "set up in"));
    assert_non_null(strstr(summary, sim));

    /* 31 days on, its collateral has expired */
    o.now = t0 + 31 * 86400;
    run(&o, &r);
    expect(&r, "sim", AECS_DOCTOR_WARN, "expired at 2025-07-31T00:00:00Z", "--force");
    assert_false(r.sim_ready);
    tree_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_tee),
        cmocka_unit_test(test_empty_tree_and_bad_root),
        cmocka_unit_test(test_sgx_host),
        cmocka_unit_test(test_sgx_missing_pieces),
        cmocka_unit_test(test_sgx_broken_pieces),
        cmocka_unit_test(test_sgx_legacy_driver),
        cmocka_unit_test(test_device_permissions),
        cmocka_unit_test(test_tdx_guest),
        cmocka_unit_test(test_snp_guest),
        cmocka_unit_test(test_gramine),
        cmocka_unit_test(test_occlum),
        cmocka_unit_test(test_qcnl_broken),
        cmocka_unit_test(test_qcnl_insecure),
        cmocka_unit_test(test_pccs_reachability),
        cmocka_unit_test(test_sim_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
