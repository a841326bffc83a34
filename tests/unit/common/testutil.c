/*
 * testutil.c - see testutil.h. Plain libc, stdio and jansson only: nothing
 * here calls into aecs, so helpers can build expectations for it.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define TU_MAX_SETS 64

/* ---- files ---- */

void tu_src_path(char *buf, size_t size, const char *rel)
{
    const char *root = getenv("AECS_SRC");
    int n;

    if (root != NULL && root[0] != '\0' && rel[0] != '/')
        n = snprintf(buf, size, "%s/%s", root, rel);
    else
        n = snprintf(buf, size, "%s", rel);
    assert_true(n > 0 && (size_t)n < size);
}

uint8_t *tu_try_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t got = 0;

    *size = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (got + 1 >= cap) {
            size_t ncap = cap ? 2 * cap : 4096;
            uint8_t *n = realloc(buf, ncap);
            if (n == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = n;
            cap = ncap;
        }
        size_t r = fread(buf + got, 1, cap - got - 1, f);
        got += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[got] = '\0';
    *size = got;
    return buf;
}

uint8_t *tu_read_file(const char *path, size_t *size)
{
    uint8_t *data = tu_try_read_file(path, size);

    if (data == NULL)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    return data;
}

void tu_dcap_path(char *buf, size_t size, const char *set, const char *name)
{
    char rel[512];
    int n = snprintf(rel, sizeof(rel), TU_DCAP_DIR "/%s/%s", set, name);

    assert_true(n > 0 && (size_t)n < sizeof(rel));
    tu_src_path(buf, size, rel);
}

uint8_t *tu_read_dcap(const char *set, const char *name, size_t *size)
{
    char path[1024];

    tu_dcap_path(path, sizeof(path), set, name);
    return tu_read_file(path, size);
}

void tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    if (size > 0 && fwrite(data, 1, size, f) != size) {
        fclose(f);
        fail_msg("cannot write %s", path);
    }
    if (fclose(f) != 0)
        fail_msg("cannot close %s: %s", path, strerror(errno));
}

void tu_copy_file(const char *from, const char *to)
{
    size_t size = 0;
    uint8_t *data = tu_read_file(from, &size);

    tu_write_file(to, data, size);
    free(data);
}

void tu_mkdtemp(char *buf, size_t size)
{
    static const char tmpl[] = "/tmp/aecs-test-XXXXXX";

    assert_true(size >= sizeof(tmpl));
    memcpy(buf, tmpl, sizeof(tmpl));
    if (mkdtemp(buf) == NULL)
        fail_msg("mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *dir)
{
    /* Refuse anything that tu_mkdtemp did not make. */
    assert_true(strncmp(dir, "/tmp/aecs-test-", 15) == 0);
    assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* ---- DCAP sets ---- */

static char g_sets[TU_MAX_SETS][128];
static size_t g_set_count;
static int g_sets_listed;

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void list_sets(void)
{
    char root[1024];
    DIR *d;
    struct dirent *e;

    if (g_sets_listed)
        return;
    tu_src_path(root, sizeof(root), TU_DCAP_DIR);
    d = opendir(root);
    if (d == NULL)
        fail_msg("cannot open %s: %s", root, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char p1[1400];
        char p2[1400];
        struct stat st;
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(g_sets[0]))
            continue;
        snprintf(p1, sizeof(p1), "%s/%s/quote.bin", root, e->d_name);
        snprintf(p2, sizeof(p2), "%s/%s/expected.json", root, e->d_name);
        if (stat(p1, &st) != 0 || stat(p2, &st) != 0)
            continue;
        assert_true(g_set_count < TU_MAX_SETS);
        strcpy(g_sets[g_set_count++], e->d_name);
    }
    closedir(d);
    qsort(g_sets, g_set_count, sizeof(g_sets[0]), cmp_names);
    g_sets_listed = 1;
}

size_t tu_dcap_set_count(void)
{
    list_sets();
    return g_set_count;
}

const char *tu_dcap_set(size_t i)
{
    list_sets();
    assert_true(i < g_set_count);
    return g_sets[i];
}

/* ---- JSON ---- */

json_t *tu_load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);

    if (j == NULL)
        fail_msg("%s: not JSON (line %d: %s)", path, err.line, err.text);
    return j;
}

json_t *tu_dcap_expected(const char *set)
{
    char path[1024];

    tu_dcap_path(path, sizeof(path), set, "expected.json");
    return tu_load_json(path);
}

json_t *tu_json_path(const json_t *root, const char *path)
{
    char key[256];
    const json_t *cur = root;
    const char *p = path;

    while (cur != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        assert_true(n < sizeof(key));
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
        p += n + (dot ? 1 : 0);
    }
    return (json_t *)cur;
}

const char *tu_json_str(const json_t *root, const char *path)
{
    json_t *v = tu_json_path(root, path);

    if (!json_is_string(v))
        fail_msg("JSON: '%s' is not a string", path);
    return json_string_value(v);
}

long long tu_json_int(const json_t *root, const char *path)
{
    json_t *v = tu_json_path(root, path);

    if (!json_is_integer(v))
        fail_msg("JSON: '%s' is not an integer", path);
    return json_integer_value(v);
}

/* ---- hex ---- */

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long tu_try_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = strlen(hex);

    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = nibble(hex[i]);
        int lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

void tu_hex(const char *hex, uint8_t *out, size_t size)
{
    if (tu_try_hex_decode(hex, out, size) != (long)size)
        fail_msg("not %zu bytes of hex: '%.80s'", size, hex);
}

uint8_t *tu_hex_alloc(const char *hex, size_t *size)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *out = malloc(cap);
    long n;

    assert_non_null(out);
    n = tu_try_hex_decode(hex, out, cap);
    if (n < 0) {
        free(out);
        fail_msg("bad hex: '%.80s'", hex);
    }
    *size = (size_t)n;
    return out;
}

void tu_hex_encode(const uint8_t *data, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * size] = '\0';
}

/* ---- time ---- */

int64_t tu_utc(const char *text)
{
    struct tm tm;
    int n = 0;

    memset(&tm, 0, sizeof(tm));
    if (strlen(text) != 20 ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 20)
        fail_msg("tu_utc: not YYYY-MM-DDTHH:MM:SSZ: '%s'", text);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}
