/*
 * cmd_doctor.c - `aecs doctor`: runs the checks of src/doctor/doctor.h and
 * shows them as an aligned table (or JSON with --json), then says which TEE
 * this machine has, or that it has none and the simulated TEE is available.
 *
 * Exit status: 0 when no check FAILs (SKIP and WARN included: a machine
 * without a TEE exits 0), 1 when at least one check FAILs, 2 on a usage
 * error (bad option, --root not a folder, unknown --user).
 *
 * On a terminal the statuses are coloured (unless NO_COLOR is set or TERM is
 * "dumb") and long lines are wrapped to the terminal's width; into a pipe or
 * a file every row is one line and its hint the next, for grep.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/err.h"
#include "cli/cli.h"
#include "doctor/doctor.h"

#define MAX_GROUPS 1024

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: aecs doctor [--json] [--offline] [--qcnl FILE] [--sim DIR] [--root DIR]\n"
        "                   [--user NAME] [--timeout SECONDS]\n\n"
        "Checks this machine's TEE setup and explains what is missing: CPU support for SGX,\n"
        "TDX and SEV-SNP; the SGX devices and their permissions; the AESM socket; Intel's\n"
        "DCAP libraries; /etc/sgx_default_qcnl.conf and whether its PCCS answers;\n"
        "configfs-tsm, /dev/tdx_guest and /dev/sev-guest; Gramine and Occlum; a sim folder.\n"
        "Each check is OK, WARN, FAIL or SKIP, with a hint saying what to do.\n\n"
        "  --json             print {\"tee\": \"none|sgx|tdx|snp\", \"checks\": [{\"name\",\n"
        "                     \"status\", \"detail\", \"hint\"}, ...], \"summary\", \"counts\"}\n"
        "  --offline          do not contact the PCCS (its checks SKIP)\n"
        "  --qcnl FILE        check this qcnl configuration instead of\n"
        "                     ROOT/etc/sgx_default_qcnl.conf (a missing FILE is a FAIL)\n"
        "  --sim DIR          check a sim folder made by 'aecs sim init DIR'\n"
        "                     (default: $AECS_SIM_DIR; none: the sim check SKIPs)\n"
        "  --root DIR         read every system path under DIR, e.g. a fake tree in tests\n"
        "                     (default: $AECS_DOCTOR_ROOT, else /)\n"
        "  --user NAME        judge device permissions for user NAME (e.g. the account a\n"
        "                     service runs as) from modes and groups, instead of asking\n"
        "                     the kernel for the current user's access\n"
        "  --timeout SECONDS  give up on the PCCS after this long (default %d)\n"
        "  -h, --help         this help\n\n"
        "Exit status: 0 no check FAILed (a machine without a TEE exits 0), 1 at least one\n"
        "check FAILed (e.g. a qcnl file that does not parse: the detail names the line),\n"
        "2 usage error.\n",
        AECS_DOCTOR_DEFAULT_TIMEOUT_MS / 1000);
}

/* ---- text output ---- */

struct style {
    int color;
    int width; /* wrap at this column; 0: do not wrap */
};

static const char *status_color(enum aecs_doctor_status s)
{
    switch (s) {
    case AECS_DOCTOR_OK:
        return "\033[32m";
    case AECS_DOCTOR_WARN:
        return "\033[33m";
    case AECS_DOCTOR_FAIL:
        return "\033[1;31m";
    case AECS_DOCTOR_SKIP:
        return "\033[2m";
    default:
        return "";
    }
}

/*
 * Prints text from column `col` (the cursor is there already), wrapping at
 * st->width with continuation lines indented to `indent`; ends the line.
 */
static void put_wrapped(const struct style *st, const char *text, int col, int indent)
{
    const char *p = text;

    if (st->width <= 0 || st->width - indent < 30) {
        printf("%s\n", text);
        return;
    }
    while (*p != '\0') {
        int room = st->width - col;
        size_t len = strlen(p);
        if ((int)len <= room) {
            printf("%s\n", p);
            return;
        }
        /* the last space that fits; none: cut the word */
        int cut = room;
        while (cut > 0 && p[cut] != ' ')
            cut--;
        if (cut == 0)
            cut = room;
        printf("%.*s\n%*s", cut, p, indent, "");
        p += cut;
        while (*p == ' ')
            p++;
        col = indent;
    }
}

static void print_text(const struct aecs_doctor_report *r, const struct style *st, const char *root,
                       const char *user, int as_root)
{
    int name_w = 5; /* "CHECK" */
    char summary[1024];

    for (size_t i = 0; i < r->count; i++) {
        int n = (int)strlen(r->checks[i].name);
        if (n > name_w)
            name_w = n;
    }
    int detail_col = name_w + 2 + 6 + 2;
    printf("aecs doctor: checks as %s%s%s\n", user,
           strcmp(root, "/") ? ", system paths under " : "", strcmp(root, "/") ? root : "");
    if (as_root)
        printf("(root may open every device: to check for the account a service runs as, "
               "add --user NAME)\n");
    printf("\n");
    printf("%-*s  %-6s  %s\n", name_w, "CHECK", "STATUS", "DETAIL");
    for (size_t i = 0; i < r->count; i++) {
        const struct aecs_doctor_check *c = &r->checks[i];
        const char *s = aecs_doctor_status_name(c->status);
        if (st->color)
            printf("%-*s  %s%-6s\033[0m  ", name_w, c->name, status_color(c->status), s);
        else
            printf("%-*s  %-6s  ", name_w, c->name, s);
        put_wrapped(st, c->detail, detail_col, detail_col);
        if (c->hint[0] != '\0') {
            printf("%*shint: ", detail_col, "");
            put_wrapped(st, c->hint, detail_col + 6, detail_col + 6);
        }
    }
    aecs_doctor_summary(r, summary, sizeof(summary));
    printf("\ntee: %s\n", aecs_doctor_tee_name(r->tee));
    put_wrapped(st, summary, 0, 0);
    printf("%zu checks: %zu OK, %zu WARN, %zu FAIL, %zu SKIP.", r->count,
           aecs_doctor_count(r, AECS_DOCTOR_OK), aecs_doctor_count(r, AECS_DOCTOR_WARN),
           aecs_doctor_count(r, AECS_DOCTOR_FAIL), aecs_doctor_count(r, AECS_DOCTOR_SKIP));
    if (aecs_doctor_count(r, AECS_DOCTOR_FAIL) > 0)
        printf(" Fix what FAILs (see the hints); the exit status is 1.");
    printf("\n");
}

/* ---- JSON output ---- */

static int print_json(const struct aecs_doctor_report *r)
{
    char summary[1024];
    json_t *o = json_object();
    json_t *checks = json_array();
    json_t *counts = json_object();
    int rc = -1;

    if (o == NULL || checks == NULL || counts == NULL)
        goto out;
    for (size_t i = 0; i < r->count; i++) {
        const struct aecs_doctor_check *c = &r->checks[i];
        json_t *e =
            json_pack("{s:s, s:s, s:s, s:s}", "name", c->name, "status",
                      aecs_doctor_status_name(c->status), "detail", c->detail, "hint", c->hint);
        if (e == NULL || json_array_append_new(checks, e) != 0)
            goto out;
    }
    for (int s = AECS_DOCTOR_OK; s <= AECS_DOCTOR_SKIP; s++) {
        if (json_object_set_new(
                counts, aecs_doctor_status_name((enum aecs_doctor_status)s),
                json_integer((json_int_t)aecs_doctor_count(r, (enum aecs_doctor_status)s))) != 0)
            goto out;
    }
    aecs_doctor_summary(r, summary, sizeof(summary));
    if (json_object_set_new(o, "tee", json_string(aecs_doctor_tee_name(r->tee))) != 0 ||
        json_object_set(o, "checks", checks) != 0 ||
        json_object_set_new(o, "summary", json_string(summary)) != 0 ||
        json_object_set(o, "counts", counts) != 0)
        goto out;
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL)
        goto out;
    printf("%s\n", text);
    free(text);
    rc = 0;
out:
    json_decref(checks);
    json_decref(counts);
    json_decref(o);
    if (rc != 0)
        fprintf(stderr, "aecs: out of memory writing JSON\n");
    return rc;
}

/* ---- --user ---- */

struct user {
    char name[128];
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int group_count;
};

static int lookup_user(const char *name, struct user *u)
{
    struct passwd pw;
    struct passwd *found = NULL;
    char buf[4096];
    int n = MAX_GROUPS;

    memset(u, 0, sizeof(*u));
    if (getpwnam_r(name, &pw, buf, sizeof(buf), &found) != 0 || found == NULL) {
        fprintf(stderr, "aecs: --user: no user '%.60s' on this machine\n", name);
        return -1;
    }
    snprintf(u->name, sizeof(u->name), "%.100s", pw.pw_name);
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    u->groups = calloc(MAX_GROUPS, sizeof(gid_t));
    if (u->groups == NULL) {
        fprintf(stderr, "aecs: out of memory\n");
        return -1;
    }
    if (getgrouplist(pw.pw_name, pw.pw_gid, u->groups, &n) < 0)
        n = MAX_GROUPS; /* more groups than we keep: the first MAX_GROUPS are judged */
    u->group_count = n;
    return 0;
}

/* ---- the command ---- */

enum { OPT_JSON = 1000, OPT_OFFLINE, OPT_QCNL, OPT_SIM, OPT_ROOT, OPT_USER, OPT_TIMEOUT };

int cmd_doctor(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"offline", no_argument, NULL, OPT_OFFLINE},
        {"qcnl", required_argument, NULL, OPT_QCNL},
        {"sim", required_argument, NULL, OPT_SIM},
        {"root", required_argument, NULL, OPT_ROOT},
        {"user", required_argument, NULL, OPT_USER},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct aecs_doctor_options o;
    struct aecs_doctor_report *r = NULL;
    struct user u;
    const char *user_name = NULL;
    int json = 0;
    int c;
    int rc = EXIT_USAGE;

    memset(&o, 0, sizeof(o));
    memset(&u, 0, sizeof(u));
    o.root = getenv("AECS_DOCTOR_ROOT");
    o.sim_dir = getenv("AECS_SIM_DIR");
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
            json = 1;
            break;
        case OPT_OFFLINE:
            o.offline = 1;
            break;
        case OPT_QCNL:
            o.qcnl_path = optarg;
            break;
        case OPT_SIM:
            o.sim_dir = optarg;
            break;
        case OPT_ROOT:
            o.root = optarg;
            break;
        case OPT_USER:
            user_name = optarg;
            break;
        case OPT_TIMEOUT: {
            char *end = NULL;
            long s = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || s < 1 || s > 600) {
                fprintf(stderr, "aecs: --timeout must be a number of seconds from 1 to 600\n");
                return EXIT_USAGE;
            }
            o.timeout_ms = s * 1000;
            break;
        }
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "aecs: doctor takes no arguments besides options ('%.60s')\n",
                argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (user_name != NULL) {
        if (lookup_user(user_name, &u) != 0)
            goto out;
        o.as_user = 1;
        o.uid = u.uid;
        o.gid = u.gid;
        o.groups = u.groups;
        o.group_count = (size_t)u.group_count;
        o.user_name = u.name;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        fprintf(stderr, "aecs: out of memory\n");
        goto out;
    }
    if (aecs_doctor_run(&o, r) != AECS_OK) {
        cli_report_error(o.root != NULL ? "--root" : NULL);
        goto out;
    }
    if (json) {
        if (print_json(r) != 0)
            goto out;
    } else {
        struct style st = {0, 0};
        struct passwd pw;
        struct passwd *found = NULL;
        char buf[4096];
        char me[128];
        if (isatty(STDOUT_FILENO)) {
            struct winsize ws;
            const char *term = getenv("TERM");
            st.color = getenv("NO_COLOR") == NULL && (term == NULL || strcmp(term, "dumb") != 0);
            st.width =
                ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 100;
        }
        if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) == 0 && found != NULL)
            snprintf(me, sizeof(me), "%.100s", pw.pw_name);
        else
            snprintf(me, sizeof(me), "uid %u", (unsigned)geteuid());
        print_text(r, &st, o.root != NULL && o.root[0] ? o.root : "/", user_name ? u.name : me,
                   user_name == NULL && geteuid() == 0);
    }
    rc = aecs_doctor_count(r, AECS_DOCTOR_FAIL) > 0 ? EXIT_REFUSED : EXIT_OK;
out:
    free(u.groups);
    free(r);
    return rc;
}
