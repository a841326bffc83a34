/*
 * store_test.c - unit tests for src/store: the key-value interface and its
 * SQLite backend.
 *
 * Expected values come from outside the code: versions follow etcd's
 * documented per-key version rules (create = 1, +1 per put, 0 when absent),
 * key order comes from qsort with strcmp (byte order), values are made by a
 * generator in this file, and what is in the file (journal mode, header
 * bytes, file modes, rows) is read with SQLite's own API, the SQLite file
 * format specification (header offsets 18/19 = 2 for WAL, 68 = application
 * id) and stat().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "store/store.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

struct fixture {
    char dir[64];
    char path[128];
    char spec[160];
    struct aecs_store *s;
};

static int store_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
    snprintf(f->spec, sizeof(f->spec), "sqlite:%s", f->path);
    assert_int_equal(aecs_store_open(f->spec, &f->s), AECS_OK);
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    struct fixture *f = *state;

    aecs_store_free(f->s);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* Closes and opens the fixture's store again. */
static void reopen(struct fixture *f)
{
    aecs_store_free(f->s);
    f->s = NULL;
    assert_int_equal(aecs_store_open(f->spec, &f->s), AECS_OK);
}

static void put_str(struct aecs_store *s, const char *key, const char *value, uint64_t expected,
                    uint64_t want_version)
{
    uint64_t v = 0;
    int rc = aecs_store_put(s, key, value, strlen(value), expected, &v);
    if (rc != AECS_OK)
        fail_msg("put %s: %s", key, MSG());
    assert_int_equal(v, want_version);
}

/* Asserts key holds exactly `value` at `version`. */
static void assert_value(struct aecs_store *s, const char *key, const char *value, uint64_t version)
{
    struct aecs_store_value v;

    int rc = aecs_store_get(s, key, &v);
    if (rc != AECS_OK)
        fail_msg("get %s: %s", key, MSG());
    assert_int_equal(v.version, version);
    assert_int_equal(v.size, strlen(value));
    assert_memory_equal(v.data, value, v.size);
    aecs_store_value_free(&v);
}

static void assert_absent(struct aecs_store *s, const char *key)
{
    struct aecs_store_value v;

    assert_int_equal(aecs_store_get(s, key, &v), AECS_E_NOT_FOUND);
    assert_null(v.data);
    assert_int_equal(v.version, 0);
}

/* A generator of value bytes independent of the store: size and bytes from i. */
static size_t make_value(uint32_t i, uint8_t *out, size_t cap)
{
    uint32_t x = i * 2654435761u + 12345u;
    size_t size = 1 + (x % (uint32_t)(cap - 1));

    for (size_t k = 0; k < size; k++) {
        x = x * 1103515245u + 12345u;
        out[k] = (uint8_t)(x >> 16);
    }
    return size;
}

/* ================================================================== specs */

static void test_spec_parse(void **state)
{
    (void)state;
    struct aecs_store_spec sp;

    assert_int_equal(aecs_store_spec_parse("sqlite:/var/lib/aecs/store.db", &sp), AECS_OK);
    assert_int_equal(sp.kind, AECS_STORE_BACKEND_SQLITE);
    assert_string_equal(sp.location, "/var/lib/aecs/store.db");
    assert_int_equal(aecs_store_spec_parse("sqlite:rel/x.db", &sp), AECS_OK);
    assert_string_equal(sp.location, "rel/x.db");
    assert_int_equal(aecs_store_spec_parse("etcd:http://127.0.0.1:2379", &sp), AECS_OK);
    assert_int_equal(sp.kind, AECS_STORE_BACKEND_ETCD);
    assert_string_equal(sp.location, "http://127.0.0.1:2379");

    assert_int_equal(aecs_store_spec_parse(NULL, &sp), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_spec_parse("", &sp), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("sqlite:PATH");
    assert_int_equal(aecs_store_spec_parse("/var/lib/aecs/store.db", &sp), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("expected sqlite:PATH or etcd:ENDPOINTS");
    assert_int_equal(aecs_store_spec_parse("SQLITE:/x", &sp), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_spec_parse("redis:x", &sp), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_spec_parse("sqlite:", &sp), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("names no file");
    assert_int_equal(aecs_store_spec_parse("etcd:", &sp), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("names no endpoints");
    assert_int_equal(aecs_store_spec_parse("sqlite:/a\nb", &sp), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("control character");
    assert_int_equal(aecs_store_spec_parse("sqlite:/a\x7f", &sp), AECS_E_INVALID_ARGUMENT);

    char *big = malloc(5000);
    assert_non_null(big);
    memcpy(big, "sqlite:", 7);
    memset(big + 7, 'a', 4096);
    big[7 + 4096] = '\0';
    assert_int_equal(aecs_store_spec_parse(big, &sp), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("longer than");
    big[7 + 4095] = '\0';
    assert_int_equal(aecs_store_spec_parse(big, &sp), AECS_OK);
    free(big);
}

static void test_open_failures(void **state)
{
    (void)state;
    struct aecs_store *s = (struct aecs_store *)1;
    char dir[64];
    char spec[160];

    assert_int_equal(aecs_store_open("etcd:http://127.0.0.1:2379", &s), AECS_E_UNSUPPORTED);
    assert_null(s);
    assert_msg_has("etcd backend is not available");
    assert_msg_has("sqlite:PATH");
    assert_int_equal(aecs_store_open("nope:x", &s), AECS_E_INVALID_ARGUMENT);
    assert_null(s);

    tu_mkdtemp(dir, sizeof(dir));
    /* a folder that does not exist */
    snprintf(spec, sizeof(spec), "sqlite:%s/missing/store.db", dir);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    assert_null(s);
    assert_msg_has("cannot create");
    /* a folder, not a file */
    snprintf(spec, sizeof(spec), "sqlite:%s", dir);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    assert_msg_has("not a regular file");
    tu_rmtree(dir);
    aecs_store_free(NULL);
}

/* =================================================================== keys */

static void test_key_check(void **state)
{
    (void)state;
    static const char *const good[] = {
        "/",
        "/secrets/service1/data_key_1",
        "/a b/c",
        "/100%_*?[]{}\\\"'",
        "/\xc3\xa9t\xc3\xa9", /* U+00E9 */
        "/\xc2\xa0",          /* U+00A0, first after the C1 controls */
        "/\xe2\x82\xac",      /* U+20AC */
        "/\xed\x9f\xbf",      /* U+D7FF, last before the surrogates */
        "/\xf0\x9f\x94\x91",  /* U+1F511 */
        "/\xf4\x8f\xbf\xbf",  /* U+10FFFF */
    };
    static const char *const bad[] = {
        "",
        "a/b",
        " /a",
        "/a\nb",
        "/a\tb",
        "/a\x1f",
        "/a\x7f",
        "/\x80",             /* lone continuation byte */
        "/\xc2\x85",         /* U+0085 NEL, a C1 control */
        "/\xc2\x9f",         /* U+009F */
        "/\xc0\xaf",         /* overlong '/' */
        "/\xc1\xbf",         /* overlong */
        "/\xe0\x80\xaf",     /* overlong */
        "/\xed\xa0\x80",     /* U+D800, a surrogate */
        "/\xf0\x80\x80\xaf", /* overlong */
        "/\xf4\x90\x80\x80", /* above U+10FFFF */
        "/\xf5\x80\x80\x80",
        "/\xff",
        "/\xc3",     /* truncated */
        "/\xe2\x82", /* truncated */
    };
    char key[AECS_STORE_KEY_MAX + 2];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (aecs_store_key_check(good[i]) != AECS_OK)
            fail_msg("good key %zu refused: %s", i, MSG());
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (aecs_store_key_check(bad[i]) != AECS_E_INVALID_ARGUMENT)
            fail_msg("bad key %zu accepted", i);
    }
    assert_int_equal(aecs_store_key_check(NULL), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_key_check("/a\nb"), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("byte 0x0a at offset 2");
    /* the rejected key itself is never echoed */
    assert_int_equal(aecs_store_key_check("/secret\x01value"), AECS_E_INVALID_ARGUMENT);
    assert_null(strstr(MSG(), "secret"));
    assert_int_equal(aecs_store_key_check("a/b"), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("does not start with '/'");

    /* length limit: exactly AECS_STORE_KEY_MAX bytes is fine, one more is not */
    key[0] = '/';
    memset(key + 1, 'k', AECS_STORE_KEY_MAX - 1);
    key[AECS_STORE_KEY_MAX] = '\0';
    assert_int_equal(aecs_store_key_check(key), AECS_OK);
    key[AECS_STORE_KEY_MAX] = 'k';
    key[AECS_STORE_KEY_MAX + 1] = '\0';
    assert_int_equal(aecs_store_key_check(key), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("longer than 512 bytes");
}

static void test_calls_check_keys(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_value v;
    struct aecs_store_list l;
    char key[AECS_STORE_KEY_MAX + 2];

    assert_int_equal(aecs_store_put(f->s, "no-slash", "x", 1, AECS_STORE_ANY, NULL),
                     AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_put(f->s, NULL, "x", 1, AECS_STORE_ANY, NULL),
                     AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_get(f->s, "/a\x01", &v), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_delete(f->s, "", AECS_STORE_ANY), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_list(f->s, "a", NULL, 0, 0, &l), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_list(f->s, "/a", "b", 0, 0, &l), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("start_after");

    key[0] = '/';
    memset(key + 1, 'k', AECS_STORE_KEY_MAX - 1);
    key[AECS_STORE_KEY_MAX] = '\0';
    put_str(f->s, key, "longest", 0, 1);
    assert_value(f->s, key, "longest", 1);
    key[AECS_STORE_KEY_MAX] = 'k';
    key[AECS_STORE_KEY_MAX + 1] = '\0';
    assert_int_equal(aecs_store_put(f->s, key, "x", 1, 0, NULL), AECS_E_INVALID_ARGUMENT);

    /* no store */
    assert_int_equal(aecs_store_get(NULL, "/a", &v), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_put(NULL, "/a", "x", 1, 0, NULL), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_delete(NULL, "/a", AECS_STORE_ANY), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_list(NULL, "/", NULL, 0, 0, &l), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_txn(NULL, NULL, 0, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    assert_string_equal(aecs_store_backend_name(f->s), "sqlite");
}

/* ======================================================== get, put, delete */

static void test_versions(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 99;

    assert_absent(f->s, "/s/k");
    put_str(f->s, "/s/k", "one", 0, 1); /* create */
    assert_value(f->s, "/s/k", "one", 1);
    put_str(f->s, "/s/k", "two", AECS_STORE_ANY, 2); /* unconditional */
    put_str(f->s, "/s/k", "three", 2, 3);            /* at version 2 */
    assert_value(f->s, "/s/k", "three", 3);
    assert_int_equal(aecs_store_put(f->s, "/s/k", "x", 1, AECS_STORE_ANY, NULL), AECS_OK);
    assert_value(f->s, "/s/k", "x", 4);
    /* unconditional put of a new key creates it at 1 */
    put_str(f->s, "/s/new", "n", AECS_STORE_ANY, 1);
    /* delete, then create again: the version starts over (etcd's rule) */
    assert_int_equal(aecs_store_delete(f->s, "/s/k", 4), AECS_OK);
    assert_absent(f->s, "/s/k");
    assert_int_equal(aecs_store_put(f->s, "/s/k", "again", 5, 0, &v), AECS_OK);
    assert_int_equal(v, 1);
    /* other keys are independent */
    assert_value(f->s, "/s/new", "n", 1);
}

static void test_put_mismatch(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 99;

    put_str(f->s, "/m/k", "v1", 0, 1);
    put_str(f->s, "/m/k", "v2", 1, 2);

    /* must not exist, but does */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, 0, &v), AECS_E_MISMATCH);
    assert_int_equal(v, 0);
    assert_string_equal(MSG(), "store: /m/k: expected absent, found version 2");
    /* stale version */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, 1, &v), AECS_E_MISMATCH);
    assert_string_equal(MSG(), "store: /m/k: expected version 1, found version 2");
    /* a version from the future */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, 3, &v), AECS_E_MISMATCH);
    assert_string_equal(MSG(), "store: /m/k: expected version 3, found version 2");
    /* must be at a version, but is absent */
    assert_int_equal(aecs_store_put(f->s, "/m/absent", "x", 1, 1, &v), AECS_E_MISMATCH);
    assert_string_equal(MSG(), "store: /m/absent: expected version 1, found absent");
    /* none of these changed anything */
    assert_value(f->s, "/m/k", "v2", 2);
    assert_absent(f->s, "/m/absent");

    /* versions past int64 are refused before reaching the store */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, (uint64_t)INT64_MAX + 1, &v),
                     AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, AECS_STORE_ANY - 1, &v),
                     AECS_E_INVALID_ARGUMENT);
}

static void test_delete(void **state)
{
    struct fixture *f = *state;

    put_str(f->s, "/d/a", "a", 0, 1);
    put_str(f->s, "/d/a", "a2", 1, 2);
    put_str(f->s, "/d/b", "b", 0, 1);

    assert_int_equal(aecs_store_delete(f->s, "/d/a", 1), AECS_E_MISMATCH);
    assert_string_equal(MSG(), "store: /d/a: expected version 1, found version 2");
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 3), AECS_E_MISMATCH);
    assert_value(f->s, "/d/a", "a2", 2);
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 0), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("expected version 0");
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 2), AECS_OK);
    assert_absent(f->s, "/d/a");
    /* absent: NOT_FOUND unconditionally, MISMATCH with a version */
    assert_int_equal(aecs_store_delete(f->s, "/d/a", AECS_STORE_ANY), AECS_E_NOT_FOUND);
    assert_string_equal(MSG(), "store: delete /d/a: no such key");
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 2), AECS_E_MISMATCH);
    assert_string_equal(MSG(), "store: /d/a: expected version 2, found absent");
    assert_int_equal(aecs_store_delete(f->s, "/d/b", AECS_STORE_ANY), AECS_OK);
    assert_absent(f->s, "/d/b");
}

static void test_get_missing(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_value v;

    assert_int_equal(aecs_store_get(f->s, "/nothing/here", &v), AECS_E_NOT_FOUND);
    assert_string_equal(MSG(), "store: /nothing/here: no such key");
    /* a key that is a prefix of a stored key is not that key */
    put_str(f->s, "/p/abc", "x", 0, 1);
    assert_absent(f->s, "/p/ab");
    assert_absent(f->s, "/p/abcd");
    aecs_store_value_free(&v);
    aecs_store_value_free(NULL);
}

static void test_values_are_opaque_bytes(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_value v;
    uint8_t all[256];

    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    assert_int_equal(aecs_store_put(f->s, "/bytes", all, sizeof(all), 0, NULL), AECS_OK);
    assert_int_equal(aecs_store_get(f->s, "/bytes", &v), AECS_OK);
    assert_int_equal(v.size, 256);
    assert_memory_equal(v.data, all, 256);
    aecs_store_value_free(&v);
    assert_null(v.data);
    assert_int_equal(v.size, 0);

    /* an empty value is a value (data still points somewhere) */
    assert_int_equal(aecs_store_put(f->s, "/empty", NULL, 0, 0, NULL), AECS_OK);
    assert_int_equal(aecs_store_get(f->s, "/empty", &v), AECS_OK);
    assert_non_null(v.data);
    assert_int_equal(v.size, 0);
    assert_int_equal(v.version, 1);
    aecs_store_value_free(&v);
    /* bytes with no pointer are refused */
    assert_int_equal(aecs_store_put(f->s, "/nul", NULL, 3, 0, NULL), AECS_E_INVALID_ARGUMENT);
}

static void test_value_size_limit(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_value v;
    uint8_t *big = malloc(AECS_STORE_VALUE_MAX + 1);

    assert_non_null(big);
    assert_int_equal(AECS_STORE_VALUE_MAX, 1024 * 1024);
    for (size_t i = 0; i < AECS_STORE_VALUE_MAX + 1; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(aecs_store_put(f->s, "/big", big, AECS_STORE_VALUE_MAX + 1, 0, NULL),
                     AECS_E_TOO_LARGE);
    assert_msg_has("1048577 bytes");
    assert_absent(f->s, "/big");
    assert_int_equal(aecs_store_put(f->s, "/big", big, AECS_STORE_VALUE_MAX, 0, NULL), AECS_OK);
    assert_int_equal(aecs_store_get(f->s, "/big", &v), AECS_OK);
    assert_int_equal(v.size, AECS_STORE_VALUE_MAX);
    assert_memory_equal(v.data, big, AECS_STORE_VALUE_MAX);
    aecs_store_value_free(&v);
    free(big);
}

/* ==================================================================== txn */

static void test_txn_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    uint64_t versions[3] = {7, 7, 7};

    put_str(f->s, "/t/a", "a1", 0, 1);
    put_str(f->s, "/t/b", "b1", 0, 1);
    put_str(f->s, "/t/b", "b2", 1, 2);

    /* the second compare fails: nothing of the ops happens */
    const struct aecs_store_compare bad[] = {
        {.key = "/t/a", .version = 1},
        {.key = "/t/b", .version = 1},
    };
    const struct aecs_store_op ops[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/t/c", .value = "c1", .value_size = 2},
        {.kind = AECS_STORE_OP_DELETE, .key = "/t/a"},
        {.kind = AECS_STORE_OP_PUT, .key = "/t/b", .value = "b3", .value_size = 2},
    };
    assert_int_equal(aecs_store_txn(f->s, bad, 2, ops, 3, versions), AECS_E_MISMATCH);
    assert_string_equal(MSG(), "store: /t/b: expected version 1, found version 2");
    assert_int_equal(versions[0], 0);
    assert_int_equal(versions[1], 0);
    assert_int_equal(versions[2], 0);
    assert_absent(f->s, "/t/c");
    assert_value(f->s, "/t/a", "a1", 1);
    assert_value(f->s, "/t/b", "b2", 2);

    /* a compare that the key is absent */
    const struct aecs_store_compare absent[] = {{.key = "/t/a", .version = 0}};
    assert_int_equal(aecs_store_txn(f->s, absent, 1, ops, 3, NULL), AECS_E_MISMATCH);
    assert_string_equal(MSG(), "store: /t/a: expected absent, found version 1");
    assert_absent(f->s, "/t/c");

    /* every compare holds: every op happens, in one go */
    const struct aecs_store_compare good[] = {
        {.key = "/t/a", .version = 1},
        {.key = "/t/b", .version = 2},
        {.key = "/t/c", .version = 0},
        {.key = "/t/a", .version = 1}, /* a key may be compared twice */
    };
    assert_int_equal(aecs_store_txn(f->s, good, 4, ops, 3, versions), AECS_OK);
    assert_int_equal(versions[0], 1); /* /t/c created */
    assert_int_equal(versions[1], 1); /* /t/a deleted at version 1 */
    assert_int_equal(versions[2], 3); /* /t/b put */
    assert_value(f->s, "/t/c", "c1", 1);
    assert_absent(f->s, "/t/a");
    assert_value(f->s, "/t/b", "b3", 3);

    /* compares on keys no op touches, and ops with no compare */
    const struct aecs_store_compare other[] = {{.key = "/t/c", .version = 1}};
    const struct aecs_store_op more[] = {
        {.kind = AECS_STORE_OP_DELETE, .key = "/t/never"}, /* absent: fine, version 0 */
        {.kind = AECS_STORE_OP_PUT, .key = "/t/d", .value = "", .value_size = 0},
    };
    assert_int_equal(aecs_store_txn(f->s, other, 1, more, 2, versions), AECS_OK);
    assert_int_equal(versions[0], 0);
    assert_int_equal(versions[1], 1);
    assert_value(f->s, "/t/d", "", 1);
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, more, 2, NULL), AECS_OK);
    assert_value(f->s, "/t/d", "", 2);

    /* no ops: a pure check */
    assert_int_equal(aecs_store_txn(f->s, other, 1, NULL, 0, NULL), AECS_OK);
    assert_int_equal(aecs_store_txn(f->s, good, 1, NULL, 0, NULL), AECS_E_MISMATCH);
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, NULL, 0, NULL), AECS_OK);
}

static void test_txn_rejects(void **state)
{
    struct fixture *f = *state;
    static struct aecs_store_compare cmps[AECS_STORE_TXN_MAX_OPS + 1];
    static struct aecs_store_op ops[AECS_STORE_TXN_MAX_OPS + 1];
    static char keys[AECS_STORE_TXN_MAX_OPS + 1][16];
    uint64_t versions[AECS_STORE_TXN_MAX_OPS + 1];

    for (size_t i = 0; i < AECS_STORE_TXN_MAX_OPS + 1; i++) {
        snprintf(keys[i], sizeof(keys[i]), "/r/%03zu", i);
        cmps[i] = (struct aecs_store_compare){.key = keys[i], .version = 0};
        ops[i] = (struct aecs_store_op){
            .kind = AECS_STORE_OP_PUT, .key = keys[i], .value = "v", .value_size = 1};
    }
    /* the limits themselves are fine */
    assert_int_equal(
        aecs_store_txn(f->s, cmps, AECS_STORE_TXN_MAX_OPS, ops, AECS_STORE_TXN_MAX_OPS, versions),
        AECS_OK);
    for (size_t i = 0; i < AECS_STORE_TXN_MAX_OPS; i++)
        assert_int_equal(versions[i], 1);
    /* one more is not */
    assert_int_equal(aecs_store_txn(f->s, cmps, AECS_STORE_TXN_MAX_OPS + 1, ops, 1, NULL),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_has("129 compares");
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, ops, AECS_STORE_TXN_MAX_OPS + 1, NULL),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_has("129 ops");
    assert_absent(f->s, keys[AECS_STORE_TXN_MAX_OPS]);

    /* two ops on one key */
    struct aecs_store_op dup[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/r/x", .value = "1", .value_size = 1},
        {.kind = AECS_STORE_OP_PUT, .key = "/r/y", .value = "1", .value_size = 1},
        {.kind = AECS_STORE_OP_DELETE, .key = "/r/x"},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, dup, 3, NULL), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("ops 0 and 2 both write /r/x");
    assert_absent(f->s, "/r/x");
    assert_absent(f->s, "/r/y");

    /* a bad op after good ones: nothing happens */
    struct aecs_store_op bad_key[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/r/x", .value = "1", .value_size = 1},
        {.kind = AECS_STORE_OP_PUT, .key = "r/y", .value = "1", .value_size = 1},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, bad_key, 2, NULL), AECS_E_INVALID_ARGUMENT);
    assert_absent(f->s, "/r/x");
    struct aecs_store_op bad_kind[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/r/x", .value = "1", .value_size = 1},
        {.kind = (enum aecs_store_op_kind)3, .key = "/r/y"},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, bad_kind, 2, NULL), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("unknown kind 3");
    struct aecs_store_op del_value[] = {
        {.kind = AECS_STORE_OP_DELETE, .key = "/r/x", .value = "1", .value_size = 1},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, del_value, 1, NULL), AECS_E_INVALID_ARGUMENT);
    /* a compare needs a version */
    struct aecs_store_compare any = {.key = "/r/000", .version = AECS_STORE_ANY};
    assert_int_equal(aecs_store_txn(f->s, &any, 1, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("AECS_STORE_ANY");
    struct aecs_store_compare badc = {.key = "nope", .version = 0};
    assert_int_equal(aecs_store_txn(f->s, &badc, 1, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    /* counts with no array */
    assert_int_equal(aecs_store_txn(f->s, NULL, 1, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, NULL, 1, NULL), AECS_E_INVALID_ARGUMENT);
}

static void test_txn_size_limit(void **state)
{
    struct fixture *f = *state;
    uint8_t *v = calloc(1, AECS_STORE_VALUE_MAX);

    assert_non_null(v);
    /* one full value fits, with room for keys; a second value does not */
    struct aecs_store_op ops[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/z/1", .value = v, .value_size = AECS_STORE_VALUE_MAX},
        {.kind = AECS_STORE_OP_PUT, .key = "/z/2", .value = v, .value_size = 300 * 1024},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, ops, 2, NULL), AECS_E_TOO_LARGE);
    assert_msg_has("txn larger than");
    assert_absent(f->s, "/z/1");
    ops[1].value_size = 200 * 1024;
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, ops, 2, NULL), AECS_OK);
    free(v);
}

/* A failure in the middle of the writes (injected with a trigger) rolls back the earlier ones. */
static void test_txn_rolls_back_on_write_failure(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;

    put_str(f->s, "/w/keep", "k1", 0, 1);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER fail_w BEFORE INSERT ON kv "
                                  "WHEN NEW.key = '/w/fail' BEGIN SELECT RAISE(ABORT, 'injected'); "
                                  "END;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    const struct aecs_store_op ops[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/w/new", .value = "n", .value_size = 1},
        {.kind = AECS_STORE_OP_PUT, .key = "/w/keep", .value = "k2", .value_size = 2},
        {.kind = AECS_STORE_OP_DELETE, .key = "/w/other"},
        {.kind = AECS_STORE_OP_PUT, .key = "/w/fail", .value = "f", .value_size = 1},
    };
    uint64_t versions[4] = {9, 9, 9, 9};
    int rc = aecs_store_txn(f->s, NULL, 0, ops, 4, versions);
    assert_int_equal(rc, AECS_E_INTERNAL);
    assert_msg_has("injected");
    assert_int_equal(versions[0], 0);
    assert_int_equal(versions[1], 0);
    assert_absent(f->s, "/w/new");
    assert_absent(f->s, "/w/fail");
    assert_value(f->s, "/w/keep", "k1", 1);
    /* the connection is usable afterwards */
    put_str(f->s, "/w/keep", "k3", 1, 2);
    assert_int_equal(aecs_store_put(f->s, "/w/fail", "f", 1, 0, NULL), AECS_E_INTERNAL);
    put_str(f->s, "/w/new", "n", 0, 1);
}

/* =================================================================== list */

static void put_keys(struct aecs_store *s, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_str(s, keys[i], keys[i], 0, 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys that start with prefix, sorted with strcmp: the expectation, built without the store. */
static size_t expected_keys(const char *const *keys, size_t n, const char *prefix, const char **out)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        if (strncmp(keys[i], prefix, strlen(prefix)) == 0)
            out[m++] = keys[i];
    }
    qsort(out, m, sizeof(*out), cmp_str);
    return m;
}

static const char *const k_list_keys[] = {
    "/a/b",  "/a/b/c",      "/a/bc", "/a/c",  "/a/b/d/e", "/a%/x", "/a_/y", "/ab/z", "/a%b", "/aXb",
    "/a/b!", "/a/\xc3\xa9", "/a/~",  "/a/b0", "/b",       "/a",    "/a/B",  "/a/b/", "/%",   "/_",
};

static void check_listing(struct aecs_store *s, const char *prefix)
{
    const char *want[64];
    struct aecs_store_list l;
    size_t n =
        expected_keys(k_list_keys, sizeof(k_list_keys) / sizeof(k_list_keys[0]), prefix, want);

    assert_int_equal(aecs_store_list(s, prefix, NULL, 0, 0, &l), AECS_OK);
    if (l.count != n)
        fail_msg("prefix %s: %zu keys, expected %zu", prefix, l.count, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l.items[i].key, want[i]);
        assert_int_equal(l.items[i].version, 1);
        assert_null(l.items[i].value);
    }
    assert_int_equal(l.more, 0);
    aecs_store_list_free(&l);
}

static void test_list_exact_prefix(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_list l;
    static const char *const prefixes[] = {
        "/",  "/a", "/a/",         "/a/b",     "/a/b/",   "/a%", "/a_",       "/a/b/d/",
        "/%", "/_", "/a/\xc3\xa9", "/nothing", "/a/b/c/", "/b",  "/a/b/d/e/", "/a/b/d/e",
    };

    put_keys(f->s, k_list_keys, sizeof(k_list_keys) / sizeof(k_list_keys[0]));
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        check_listing(f->s, prefixes[i]);

    /* spelled out: what the store.h contract promises */
    assert_int_equal(aecs_store_list(f->s, "/a/b", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 7);
    assert_string_equal(l.items[0].key, "/a/b");
    assert_string_equal(l.items[1].key, "/a/b!");
    assert_string_equal(l.items[2].key, "/a/b/");
    assert_string_equal(l.items[3].key, "/a/b/c");
    assert_string_equal(l.items[4].key, "/a/b/d/e");
    assert_string_equal(l.items[5].key, "/a/b0");
    assert_string_equal(l.items[6].key, "/a/bc");
    aecs_store_list_free(&l);
    assert_int_equal(aecs_store_list(f->s, "/a/b/", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 3);
    assert_string_equal(l.items[0].key, "/a/b/");
    assert_string_equal(l.items[1].key, "/a/b/c");
    assert_string_equal(l.items[2].key, "/a/b/d/e");
    aecs_store_list_free(&l);
    /* '%' and '_' are not wildcards */
    assert_int_equal(aecs_store_list(f->s, "/a_", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].key, "/a_/y");
    aecs_store_list_free(&l);
    assert_int_equal(aecs_store_list(f->s, "/a%", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0].key, "/a%/x");
    assert_string_equal(l.items[1].key, "/a%b");
    aecs_store_list_free(&l);
    /* byte order: UTF-8 after ASCII, uppercase before lowercase */
    assert_int_equal(aecs_store_list(f->s, "/a/", NULL, 0, 0, &l), AECS_OK);
    assert_string_equal(l.items[0].key, "/a/B");
    assert_string_equal(l.items[l.count - 1].key, "/a/\xc3\xa9");
    assert_string_equal(l.items[l.count - 2].key, "/a/~");
    aecs_store_list_free(&l);
    aecs_store_list_free(NULL);
    /* a prefix is a key: half a UTF-8 character is not one */
    assert_int_equal(aecs_store_list(f->s, "/a/\xc3", NULL, 0, 0, &l), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("prefix");
}

static void test_list_values_and_flags(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_list l;

    put_str(f->s, "/v/1", "one", 0, 1);
    put_str(f->s, "/v/2", "two", 0, 1);
    put_str(f->s, "/v/2", "two!", 1, 2);
    assert_int_equal(aecs_store_put(f->s, "/v/3", NULL, 0, 0, NULL), AECS_OK);
    assert_int_equal(aecs_store_list(f->s, "/v/", NULL, 0, AECS_STORE_LIST_VALUES, &l), AECS_OK);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.more, 0);
    assert_string_equal(l.items[0].key, "/v/1");
    assert_int_equal(l.items[0].version, 1);
    assert_int_equal(l.items[0].value_size, 3);
    assert_memory_equal(l.items[0].value, "one", 3);
    assert_string_equal(l.items[1].key, "/v/2");
    assert_int_equal(l.items[1].version, 2);
    assert_int_equal(l.items[1].value_size, 4);
    assert_memory_equal(l.items[1].value, "two!", 4);
    assert_non_null(l.items[2].value);
    assert_int_equal(l.items[2].value_size, 0);
    aecs_store_list_free(&l);
    assert_null(l.items);
    assert_int_equal(l.count, 0);

    assert_int_equal(aecs_store_list(f->s, "/v/", NULL, 0, 2, &l), AECS_E_INVALID_ARGUMENT);
    assert_msg_has("unknown list flags");
    assert_int_equal(aecs_store_list(f->s, "/v/", NULL, AECS_STORE_LIST_MAX + 1, 0, &l),
                     AECS_E_INVALID_ARGUMENT);
    assert_msg_has("limit 1001");
    assert_int_equal(aecs_store_list(f->s, "/v/", NULL, AECS_STORE_LIST_MAX, 0, &l), AECS_OK);
    assert_int_equal(l.count, 3);
    aecs_store_list_free(&l);
    /* nothing matches */
    assert_int_equal(aecs_store_list(f->s, "/w/", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 0);
    assert_int_equal(l.more, 0);
    aecs_store_list_free(&l);
}

static void test_list_paging(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_list l;
    char keys[25][32];
    const char *want[25];
    char cursor[64] = "";
    size_t seen = 0;
    int pages = 0;

    for (int i = 0; i < 25; i++) {
        /* inserted out of order; the listing is sorted */
        snprintf(keys[i], sizeof(keys[i]), "/page/k%02d", (i * 7) % 25);
        put_str(f->s, keys[i], "x", 0, 1);
        want[i] = keys[i];
    }
    put_str(f->s, "/pagf", "after the prefix", 0, 1);
    put_str(f->s, "/page", "the prefix without '/'", 0, 1);
    qsort(want, 25, sizeof(want[0]), cmp_str);

    for (;;) {
        int rc = aecs_store_list(f->s, "/page/", seen == 0 ? NULL : cursor, 10, 0, &l);
        assert_int_equal(rc, AECS_OK);
        pages++;
        for (size_t i = 0; i < l.count; i++)
            assert_string_equal(l.items[i].key, want[seen + i]);
        seen += l.count;
        int more = l.more;
        if (l.count > 0)
            snprintf(cursor, sizeof(cursor), "%s", l.items[l.count - 1].key);
        assert_int_equal(l.count, pages < 3 ? 10 : 5);
        aecs_store_list_free(&l);
        if (!more)
            break;
        assert_true(pages < 10);
    }
    assert_int_equal(pages, 3);
    assert_int_equal(seen, 25);

    /* a page that ends exactly at the last key says there is no more */
    assert_int_equal(aecs_store_list(f->s, "/page/", want[14], 10, 0, &l), AECS_OK);
    assert_int_equal(l.count, 10);
    assert_int_equal(l.more, 0);
    aecs_store_list_free(&l);
    /* limit 1 */
    assert_int_equal(aecs_store_list(f->s, "/page/", NULL, 1, 0, &l), AECS_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.more, 1);
    assert_string_equal(l.items[0].key, "/page/k00");
    aecs_store_list_free(&l);
    /* a cursor that is not a stored key, inside the range */
    assert_int_equal(aecs_store_list(f->s, "/page/", "/page/k05x", 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 19);
    assert_string_equal(l.items[0].key, "/page/k06");
    aecs_store_list_free(&l);
    /* cursors before and after the range */
    assert_int_equal(aecs_store_list(f->s, "/page/", "/a", 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 25);
    aecs_store_list_free(&l);
    assert_int_equal(aecs_store_list(f->s, "/page/", "/z", 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, 0);
    assert_int_equal(l.more, 0);
    aecs_store_list_free(&l);
}

static void test_list_value_budget(void **state)
{
    struct fixture *f = *state;
    struct aecs_store_list l;
    uint8_t *v = malloc(AECS_STORE_VALUE_MAX);
    char key[32];
    size_t n = AECS_STORE_LIST_MAX_SIZE / AECS_STORE_VALUE_MAX; /* values that fit: 16 */

    assert_non_null(v);
    memset(v, 0x5a, AECS_STORE_VALUE_MAX);
    for (size_t i = 0; i < n + 1; i++) {
        snprintf(key, sizeof(key), "/big/%02zu", i);
        assert_int_equal(aecs_store_put(f->s, key, v, AECS_STORE_VALUE_MAX, 0, NULL), AECS_OK);
    }
    assert_int_equal(aecs_store_list(f->s, "/big/", NULL, 0, AECS_STORE_LIST_VALUES, &l), AECS_OK);
    assert_int_equal(l.count, n);
    assert_int_equal(l.more, 1);
    snprintf(key, sizeof(key), "%s", l.items[l.count - 1].key);
    aecs_store_list_free(&l);
    assert_int_equal(aecs_store_list(f->s, "/big/", key, 0, AECS_STORE_LIST_VALUES, &l), AECS_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.more, 0);
    assert_memory_equal(l.items[0].value, v, AECS_STORE_VALUE_MAX);
    aecs_store_list_free(&l);
    /* without values there is no byte budget */
    assert_int_equal(aecs_store_list(f->s, "/big/", NULL, 0, 0, &l), AECS_OK);
    assert_int_equal(l.count, n + 1);
    aecs_store_list_free(&l);
    free(v);
}

/* ========================================================= file and SQLite */

static mode_t file_mode(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

static void test_file_modes(void **state)
{
    (void)state;
    char dir[64];
    char path[128];
    char side[160];
    char spec[160];
    struct aecs_store *s = NULL;
    mode_t old = umask(022);

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/new.db", dir);
    snprintf(spec, sizeof(spec), "sqlite:%s", path);
    assert_int_equal(aecs_store_open(spec, &s), AECS_OK);
    assert_int_equal(aecs_store_put(s, "/k", "v", 1, 0, NULL), AECS_OK);
    assert_int_equal(file_mode(path), 0600);
    snprintf(side, sizeof(side), "%s-wal", path);
    assert_int_equal(file_mode(side), 0600);
    snprintf(side, sizeof(side), "%s-shm", path);
    assert_int_equal(file_mode(side), 0600);
    aecs_store_free(s);

    /* an existing file that others may read is tightened */
    assert_int_equal(chmod(path, 0644), 0);
    int saved = g_aecs_log_level;
    aecs_log_set_level(AECS_LOG_ERROR);
    assert_int_equal(aecs_store_open(spec, &s), AECS_OK);
    aecs_log_set_level(saved);
    assert_int_equal(file_mode(path), 0600);
    aecs_store_free(s);
    umask(old);
    tu_rmtree(dir);
}

static void test_sqlite_settings(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint8_t *file = NULL;
    size_t size = 0;

    put_str(f->s, "/opaque", "\x01\x02 ciphertext", 0, 1);
    put_str(f->s, "/opaque", "ciphertext 2", 1, 2);

    /* what another SQLite connection sees */
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT value, version, modified FROM kv WHERE key = '/opaque'", -1,
                           &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), 12);
    assert_memory_equal(sqlite3_column_blob(st, 0), "ciphertext 2", 12);
    assert_int_equal(sqlite3_column_int64(st, 1), 2);
    int64_t modified = sqlite3_column_int64(st, 2);
    assert_true(modified > 1700000000 && modified <= (int64_t)time(NULL));
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = 'schema_version'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 1);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    /* the file header (SQLite file format, section 1.3) */
    aecs_store_free(f->s);
    f->s = NULL;
    file = tu_read_file(f->path, &size);
    assert_true(size >= 100);
    assert_memory_equal(file, "SQLite format 3\0", 16);
    assert_int_equal(file[18], 2);             /* write version: WAL */
    assert_int_equal(file[19], 2);             /* read version: WAL */
    assert_memory_equal(file + 68, "aecs", 4); /* application id, big-endian */
    free(file);
    reopen(f);
}

static void test_reopen_persists(void **state)
{
    struct fixture *f = *state;
    struct aecs_store *second = NULL;

    put_str(f->s, "/keep/a", "alpha", 0, 1);
    put_str(f->s, "/keep/a", "alpha2", 1, 2);
    put_str(f->s, "/keep/b", "beta", 0, 1);
    put_str(f->s, "/keep/c", "gamma", 0, 1);
    assert_int_equal(aecs_store_delete(f->s, "/keep/c", 1), AECS_OK);

    /* a second handle on the same file sees every committed write at once */
    assert_int_equal(aecs_store_open(f->spec, &second), AECS_OK);
    assert_value(second, "/keep/a", "alpha2", 2);
    put_str(second, "/keep/d", "delta", 0, 1);
    assert_value(f->s, "/keep/d", "delta", 1);
    aecs_store_free(second);

    reopen(f);
    assert_value(f->s, "/keep/a", "alpha2", 2);
    assert_value(f->s, "/keep/b", "beta", 1);
    assert_value(f->s, "/keep/d", "delta", 1);
    assert_absent(f->s, "/keep/c");
    put_str(f->s, "/keep/a", "alpha3", 2, 3);
}

static void set_schema_version(const char *path, int v)
{
    sqlite3 *db = NULL;
    char sql[128];

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "UPDATE meta SET value = %d WHERE name = 'schema_version'", v);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_schema_version_checked(void **state)
{
    struct fixture *f = *state;
    struct aecs_store *s = (struct aecs_store *)1;

    put_str(f->s, "/x", "x", 0, 1);
    aecs_store_free(f->s);
    f->s = NULL;

    set_schema_version(f->path, 2);
    assert_int_equal(aecs_store_open(f->spec, &s), AECS_E_UNSUPPORTED);
    assert_null(s);
    assert_msg_has("schema version 2, written by a newer aecs");
    set_schema_version(f->path, 0);
    assert_int_equal(aecs_store_open(f->spec, &s), AECS_E_FORMAT);
    assert_msg_has("schema version 0");
    set_schema_version(f->path, 1);
    reopen(f);
    assert_value(f->s, "/x", "x", 1);
}

static void test_foreign_files_refused(void **state)
{
    (void)state;
    char dir[64];
    char path[128];
    char spec[160];
    struct aecs_store *s = NULL;
    sqlite3 *db = NULL;
    uint8_t junk[8192];
    size_t size = 0;

    tu_mkdtemp(dir, sizeof(dir));
    /* some other application's SQLite database */
    snprintf(path, sizeof(path), "%s/other.db", dir);
    snprintf(spec, sizeof(spec), "sqlite:%s", path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE kv (key TEXT, value BLOB)", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_FORMAT);
    assert_null(s);
    assert_msg_has("not an aecs store");
    /* and left as it was: mode, rollback journal (header bytes 18/19 = 1) */
    assert_int_equal(file_mode(path), 0644);
    uint8_t *hdr = tu_read_file(path, &size);
    assert_true(size >= 100);
    assert_int_equal(hdr[18], 1);
    assert_int_equal(hdr[19], 1);
    free(hdr);

    /* not SQLite at all */
    snprintf(path, sizeof(path), "%s/junk.db", dir);
    snprintf(spec, sizeof(spec), "sqlite:%s", path);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 31 + 7);
    tu_write_file(path, junk, sizeof(junk));
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_FORMAT);
    assert_null(s);
    assert_msg_has("not an SQLite database");
    uint8_t *back = tu_read_file(path, &size);
    assert_int_equal(size, sizeof(junk));
    assert_memory_equal(back, junk, sizeof(junk));
    free(back);

    /* an empty file is a new store */
    snprintf(path, sizeof(path), "%s/empty.db", dir);
    snprintf(spec, sizeof(spec), "sqlite:%s", path);
    tu_write_file(path, "", 0);
    int saved = g_aecs_log_level;
    aecs_log_set_level(AECS_LOG_ERROR); /* it is 0644: a warning */
    assert_int_equal(aecs_store_open(spec, &s), AECS_OK);
    aecs_log_set_level(saved);
    assert_int_equal(file_mode(path), 0600);
    aecs_store_free(s);
    tu_rmtree(dir);
}

/* Relative paths are plain file names, even those SQLite would read otherwise. */
static void test_relative_paths_are_files(void **state)
{
    (void)state;
    char dir[64];
    char cwd[4096];
    char path[160];
    struct aecs_store *s = NULL;
    static const char *const names[] = {":memory:", "file:x.db?mode=memory", "plain.db"};

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    tu_mkdtemp(dir, sizeof(dir));
    assert_int_equal(chdir(dir), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char spec[96];
        snprintf(spec, sizeof(spec), "sqlite:%s", names[i]);
        assert_int_equal(aecs_store_open(spec, &s), AECS_OK);
        assert_int_equal(aecs_store_put(s, "/k", names[i], strlen(names[i]), 0, NULL), AECS_OK);
        aecs_store_free(s);
        /* the data is in that file, and stays there */
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        assert_int_equal(file_mode(path), 0600);
        assert_int_equal(aecs_store_open(spec, &s), AECS_OK);
        assert_value(s, "/k", names[i], 1);
        aecs_store_free(s);
    }
    assert_int_equal(chdir(cwd), 0);
    tu_rmtree(dir);
}

static void test_corrupt_file_refused(void **state)
{
    struct fixture *f = *state;
    struct aecs_store *s = (struct aecs_store *)1;
    uint8_t v[1000];
    uint8_t *file = NULL;
    size_t size = 0;

    static char keys[100][32];
    struct aecs_store_op ops[100];

    memset(v, 0x33, sizeof(v));
    for (int batch = 0; batch < 3; batch++) {
        for (int i = 0; i < 100; i++) {
            snprintf(keys[i], sizeof(keys[i]), "/c/%d%02d", batch, i);
            ops[i] = (struct aecs_store_op){
                .kind = AECS_STORE_OP_PUT, .key = keys[i], .value = v, .value_size = sizeof(v)};
        }
        assert_int_equal(aecs_store_txn(f->s, NULL, 0, ops, 100, NULL), AECS_OK);
    }
    aecs_store_free(f->s);
    f->s = NULL;
    /* zero one page in the middle of the table's pages (4096-byte pages) */
    file = tu_read_file(f->path, &size);
    assert_true(size > 40 * 4096);
    size_t page = (size / 4096) / 2;
    memset(file + page * 4096, 0, 4096);
    tu_write_file(f->path, file, size);
    free(file);
    assert_int_equal(aecs_store_open(f->spec, &s), AECS_E_FORMAT);
    assert_null(s);
    assert_msg_has("corrupt");
    /* teardown frees f->s: leave a fresh store there */
    assert_int_equal(unlink(f->path), 0);
    reopen(f);
}

/* ================================================================== crash */

#define CRASH_RUN_MS 1500
#define CRASH_VALUE_CAP 3000

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child: creates /crash/N with make_value(N) in a loop, writing N to fd after each put. */
static void crash_child(const char *spec, int fd)
{
    struct aecs_store *s = NULL;
    uint8_t v[CRASH_VALUE_CAP];
    char key[32];

    if (aecs_store_open(spec, &s) != AECS_OK)
        _exit(2);
    for (uint32_t i = 0;; i++) {
        size_t n = make_value(i, v, sizeof(v));
        snprintf(key, sizeof(key), "/crash/%08u", i);
        if (aecs_store_put(s, key, v, n, 0, NULL) != AECS_OK)
            _exit(3);
        /* 4 bytes to a pipe: one atomic write */
        if (write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
            _exit(4);
    }
}

static void test_kill9_loses_no_acknowledged_put(void **state)
{
    struct fixture *f = *state;
    int fds[2];
    uint32_t acked = 0; /* acknowledgements come in order 0, 1, 2, ... */
    uint8_t buf[4096];
    size_t have = 0;
    int status = 0;
    uint8_t v[CRASH_VALUE_CAP];

    /* the child opens its own connection; ours stays closed meanwhile */
    aecs_store_free(f->s);
    f->s = NULL;
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(f->spec, fds[1]);
    }
    close(fds[1]);
    int64_t deadline = now_ms() + CRASH_RUN_MS;
    int killed = 0;
    for (;;) {
        if (!killed && now_ms() >= deadline) {
            /* kill -9 in the middle of the loop, then drain what it acknowledged before */
            assert_int_equal(kill(pid, SIGKILL), 0);
            killed = 1;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int r = poll(&p, 1, 50);
        if (r == 0)
            continue;
        ssize_t n = read(fds[0], buf + have, sizeof(buf) - have);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n >= 0);
        if (n == 0)
            break; /* the child is gone and the pipe is drained */
        have += (size_t)n;
        size_t whole = have / 4 * 4;
        for (size_t i = 0; i < whole; i += 4) {
            uint32_t id;
            memcpy(&id, buf + i, 4);
            assert_int_equal(id, acked);
            acked++;
        }
        memmove(buf, buf + whole, have - whole);
        have -= whole;
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(acked >= 10); /* the loop really ran */

    reopen(f);
    for (uint32_t i = 0; i < acked; i++) {
        struct aecs_store_value got;
        char key[32];
        size_t n = make_value(i, v, sizeof(v));
        snprintf(key, sizeof(key), "/crash/%08u", i);
        int rc = aecs_store_get(f->s, key, &got);
        if (rc != AECS_OK)
            fail_msg("acknowledged %s lost after kill -9 (%u acknowledged): %s", key, acked, MSG());
        assert_int_equal(got.version, 1);
        assert_int_equal(got.size, n);
        assert_memory_equal(got.data, v, n);
        aecs_store_value_free(&got);
    }
    /* at most the one put in flight went through without an acknowledgement */
    struct aecs_store_list l;
    assert_int_equal(aecs_store_list(f->s, "/crash/", NULL, 0, 0, &l), AECS_OK);
    assert_true(l.count == acked || l.count == acked + 1 || l.more);
    aecs_store_list_free(&l);
    print_message("kill -9 after %u acknowledged puts: all present\n", acked);
}

/* ============================================================ concurrency */

#define CAS_THREADS 8
#define CAS_ATTEMPTS 40

struct cas_worker {
    struct aecs_store *s;
    pthread_barrier_t *start;
    int successes;
    int mismatches;
    int errors;
    char first_error[600];
};

/* Read, increment the counter in the value, write back if nobody wrote first. */
static void *cas_run(void *arg)
{
    struct cas_worker *w = arg;
    struct aecs_store *s = w->s;

    pthread_barrier_wait(w->start);
    for (int i = 0; i < CAS_ATTEMPTS; i++) {
        struct aecs_store_value v;
        uint64_t version = 0;
        uint64_t counter = 0;
        uint64_t nv = 0;
        int rc = aecs_store_get(s, "/cas/counter", &v);
        if (rc == AECS_OK) {
            version = v.version;
            if (v.size == sizeof(counter))
                memcpy(&counter, v.data, sizeof(counter));
            aecs_store_value_free(&v);
        } else if (rc != AECS_E_NOT_FOUND) {
            if (w->errors++ == 0)
                snprintf(w->first_error, sizeof(w->first_error), "%s", MSG());
            continue;
        }
        counter++;
        sched_yield(); /* let others read the same version: more races */
        rc = aecs_store_put(s, "/cas/counter", &counter, sizeof(counter), version, &nv);
        if (rc == AECS_OK && nv == version + 1) {
            w->successes++;
        } else if (rc == AECS_E_MISMATCH) {
            w->mismatches++;
        } else if (w->errors++ == 0) {
            snprintf(w->first_error, sizeof(w->first_error), "rc %d nv %llu: %s", rc,
                     (unsigned long long)nv, MSG());
        }
    }
    return NULL;
}

static void run_cas(struct fixture *f, int shared)
{
    pthread_t t[CAS_THREADS];
    struct cas_worker w[CAS_THREADS];
    struct aecs_store_value v;
    int successes = 0;
    int mismatches = 0;
    uint64_t counter = 0;

    pthread_barrier_t start;

    memset(w, 0, sizeof(w));
    /* handles first, then every thread starts at once */
    assert_int_equal(pthread_barrier_init(&start, NULL, CAS_THREADS), 0);
    for (int i = 0; i < CAS_THREADS; i++) {
        w[i].start = &start;
        w[i].s = f->s;
        if (!shared)
            assert_int_equal(aecs_store_open(f->spec, &w[i].s), AECS_OK);
    }
    for (int i = 0; i < CAS_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, cas_run, &w[i]), 0);
    for (int i = 0; i < CAS_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        if (!shared)
            aecs_store_free(w[i].s);
        if (w[i].errors != 0)
            fail_msg("worker %d: %d errors, first: %s", i, w[i].errors, w[i].first_error);
        successes += w[i].successes;
        mismatches += w[i].mismatches;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(successes + mismatches, CAS_THREADS * CAS_ATTEMPTS);
    assert_int_equal(aecs_store_get(f->s, "/cas/counter", &v), AECS_OK);
    /* no lost update: the version and the counter both count the successful CASes */
    assert_int_equal(v.version, (uint64_t)successes);
    assert_int_equal(v.size, sizeof(counter));
    memcpy(&counter, v.data, sizeof(counter));
    assert_int_equal(counter, (uint64_t)successes);
    aecs_store_value_free(&v);
    print_message("%s: %d CAS won, %d lost the race\n",
                  shared ? "one shared handle" : "separate handles", successes, mismatches);
}

static void test_concurrent_cas_separate_handles(void **state)
{
    run_cas(*state, 0);
}

static void test_concurrent_cas_shared_handle(void **state)
{
    run_cas(*state, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, store_setup, store_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parse),
        cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_key_check),
        T(test_calls_check_keys),
        T(test_versions),
        T(test_put_mismatch),
        T(test_delete),
        T(test_get_missing),
        T(test_values_are_opaque_bytes),
        T(test_value_size_limit),
        T(test_txn_all_or_nothing),
        T(test_txn_rejects),
        T(test_txn_size_limit),
        T(test_txn_rolls_back_on_write_failure),
        T(test_list_exact_prefix),
        T(test_list_values_and_flags),
        T(test_list_paging),
        T(test_list_value_budget),
        cmocka_unit_test(test_file_modes),
        T(test_sqlite_settings),
        T(test_reopen_persists),
        T(test_schema_version_checked),
        cmocka_unit_test(test_foreign_files_refused),
        cmocka_unit_test(test_relative_paths_are_files),
        T(test_corrupt_file_refused),
        T(test_kill9_loses_no_acknowledged_put),
        T(test_concurrent_cas_separate_handles),
        T(test_concurrent_cas_shared_handle),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
