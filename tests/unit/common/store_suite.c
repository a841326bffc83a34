/*
 * store_suite.c - see store_suite.h. The tests were written for the SQLite
 * backend first (store_test.c) and moved here unchanged but for the fixture,
 * so that every backend runs the same ones.
 */
#include "store_suite.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tu_assert_msg_has(const char *needle)
{
    if (strstr(TU_MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", TU_MSG(), needle);
}

void tu_store_reopen(struct tu_store_fixture *f)
{
    aecs_store_free(f->s);
    f->s = NULL;
    assert_int_equal(aecs_store_open(f->spec, &f->s), AECS_OK);
}

void tu_put_str(struct aecs_store *s, const char *key, const char *value, uint64_t expected,
                    uint64_t want_version)
{
    uint64_t v = 0;
    int rc = aecs_store_put(s, key, value, strlen(value), expected, &v);
    if (rc != AECS_OK)
        fail_msg("put %s: %s", key, TU_MSG());
    assert_int_equal(v, want_version);
}

/* Asserts key holds exactly `value` at `version`. */
void tu_assert_value(struct aecs_store *s, const char *key, const char *value, uint64_t version)
{
    struct aecs_store_value v;

    int rc = aecs_store_get(s, key, &v);
    if (rc != AECS_OK)
        fail_msg("get %s: %s", key, TU_MSG());
    assert_int_equal(v.version, version);
    assert_int_equal(v.size, strlen(value));
    assert_memory_equal(v.data, value, v.size);
    aecs_store_value_free(&v);
}

void tu_assert_absent(struct aecs_store *s, const char *key)
{
    struct aecs_store_value v;

    assert_int_equal(aecs_store_get(s, key, &v), AECS_E_NOT_FOUND);
    assert_null(v.data);
    assert_int_equal(v.version, 0);
}

/* A generator of value bytes independent of the store: size and bytes from i. */
size_t tu_make_value(uint32_t i, uint8_t *out, size_t cap)
{
    uint32_t x = i * 2654435761u + 12345u;
    size_t size = 1 + (x % (uint32_t)(cap - 1));

    for (size_t k = 0; k < size; k++) {
        x = x * 1103515245u + 12345u;
        out[k] = (uint8_t)(x >> 16);
    }
    return size;
}

static void test_calls_check_keys(void **state)
{
    struct tu_store_fixture *f = *state;
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
    tu_assert_msg_has("start_after");

    key[0] = '/';
    memset(key + 1, 'k', AECS_STORE_KEY_MAX - 1);
    key[AECS_STORE_KEY_MAX] = '\0';
    tu_put_str(f->s, key, "longest", 0, 1);
    tu_assert_value(f->s, key, "longest", 1);
    key[AECS_STORE_KEY_MAX] = 'k';
    key[AECS_STORE_KEY_MAX + 1] = '\0';
    assert_int_equal(aecs_store_put(f->s, key, "x", 1, 0, NULL), AECS_E_INVALID_ARGUMENT);

    /* no store */
    assert_int_equal(aecs_store_get(NULL, "/a", &v), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_put(NULL, "/a", "x", 1, 0, NULL), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_delete(NULL, "/a", AECS_STORE_ANY), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_list(NULL, "/", NULL, 0, 0, &l), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_txn(NULL, NULL, 0, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    assert_string_equal(aecs_store_backend_name(f->s), f->backend);
}

/* ======================================================== get, put, delete */

static void test_versions(void **state)
{
    struct tu_store_fixture *f = *state;
    uint64_t v = 99;

    tu_assert_absent(f->s, "/s/k");
    tu_put_str(f->s, "/s/k", "one", 0, 1); /* create */
    tu_assert_value(f->s, "/s/k", "one", 1);
    tu_put_str(f->s, "/s/k", "two", AECS_STORE_ANY, 2); /* unconditional */
    tu_put_str(f->s, "/s/k", "three", 2, 3);            /* at version 2 */
    tu_assert_value(f->s, "/s/k", "three", 3);
    assert_int_equal(aecs_store_put(f->s, "/s/k", "x", 1, AECS_STORE_ANY, NULL), AECS_OK);
    tu_assert_value(f->s, "/s/k", "x", 4);
    /* unconditional put of a new key creates it at 1 */
    tu_put_str(f->s, "/s/new", "n", AECS_STORE_ANY, 1);
    /* delete, then create again: the version starts over (etcd's rule) */
    assert_int_equal(aecs_store_delete(f->s, "/s/k", 4), AECS_OK);
    tu_assert_absent(f->s, "/s/k");
    assert_int_equal(aecs_store_put(f->s, "/s/k", "again", 5, 0, &v), AECS_OK);
    assert_int_equal(v, 1);
    /* other keys are independent */
    tu_assert_value(f->s, "/s/new", "n", 1);
}

static void test_put_mismatch(void **state)
{
    struct tu_store_fixture *f = *state;
    uint64_t v = 99;

    tu_put_str(f->s, "/m/k", "v1", 0, 1);
    tu_put_str(f->s, "/m/k", "v2", 1, 2);

    /* must not exist, but does */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, 0, &v), AECS_E_MISMATCH);
    assert_int_equal(v, 0);
    assert_string_equal(TU_MSG(), "store: /m/k: expected absent, found version 2");
    /* stale version */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, 1, &v), AECS_E_MISMATCH);
    assert_string_equal(TU_MSG(), "store: /m/k: expected version 1, found version 2");
    /* a version from the future */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, 3, &v), AECS_E_MISMATCH);
    assert_string_equal(TU_MSG(), "store: /m/k: expected version 3, found version 2");
    /* must be at a version, but is absent */
    assert_int_equal(aecs_store_put(f->s, "/m/absent", "x", 1, 1, &v), AECS_E_MISMATCH);
    assert_string_equal(TU_MSG(), "store: /m/absent: expected version 1, found absent");
    /* none of these changed anything */
    tu_assert_value(f->s, "/m/k", "v2", 2);
    tu_assert_absent(f->s, "/m/absent");

    /* versions past int64 are refused before reaching the store */
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, (uint64_t)INT64_MAX + 1, &v),
                     AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_put(f->s, "/m/k", "x", 1, AECS_STORE_ANY - 1, &v),
                     AECS_E_INVALID_ARGUMENT);
}

static void test_delete(void **state)
{
    struct tu_store_fixture *f = *state;

    tu_put_str(f->s, "/d/a", "a", 0, 1);
    tu_put_str(f->s, "/d/a", "a2", 1, 2);
    tu_put_str(f->s, "/d/b", "b", 0, 1);

    assert_int_equal(aecs_store_delete(f->s, "/d/a", 1), AECS_E_MISMATCH);
    assert_string_equal(TU_MSG(), "store: /d/a: expected version 1, found version 2");
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 3), AECS_E_MISMATCH);
    tu_assert_value(f->s, "/d/a", "a2", 2);
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 0), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("expected version 0");
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 2), AECS_OK);
    tu_assert_absent(f->s, "/d/a");
    /* absent: NOT_FOUND unconditionally, MISMATCH with a version */
    assert_int_equal(aecs_store_delete(f->s, "/d/a", AECS_STORE_ANY), AECS_E_NOT_FOUND);
    assert_string_equal(TU_MSG(), "store: delete /d/a: no such key");
    assert_int_equal(aecs_store_delete(f->s, "/d/a", 2), AECS_E_MISMATCH);
    assert_string_equal(TU_MSG(), "store: /d/a: expected version 2, found absent");
    assert_int_equal(aecs_store_delete(f->s, "/d/b", AECS_STORE_ANY), AECS_OK);
    tu_assert_absent(f->s, "/d/b");
}

static void test_get_missing(void **state)
{
    struct tu_store_fixture *f = *state;
    struct aecs_store_value v;

    assert_int_equal(aecs_store_get(f->s, "/nothing/here", &v), AECS_E_NOT_FOUND);
    assert_string_equal(TU_MSG(), "store: /nothing/here: no such key");
    /* a key that is a prefix of a stored key is not that key */
    tu_put_str(f->s, "/p/abc", "x", 0, 1);
    tu_assert_absent(f->s, "/p/ab");
    tu_assert_absent(f->s, "/p/abcd");
    aecs_store_value_free(&v);
    aecs_store_value_free(NULL);
}

static void test_values_are_opaque_bytes(void **state)
{
    struct tu_store_fixture *f = *state;
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
    struct tu_store_fixture *f = *state;
    struct aecs_store_value v;
    uint8_t *big = malloc(AECS_STORE_VALUE_MAX + 1);

    assert_non_null(big);
    assert_int_equal(AECS_STORE_VALUE_MAX, 1024 * 1024);
    for (size_t i = 0; i < AECS_STORE_VALUE_MAX + 1; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(aecs_store_put(f->s, "/big", big, AECS_STORE_VALUE_MAX + 1, 0, NULL),
                     AECS_E_TOO_LARGE);
    tu_assert_msg_has("1048577 bytes");
    tu_assert_absent(f->s, "/big");
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
    struct tu_store_fixture *f = *state;
    uint64_t versions[3] = {7, 7, 7};

    tu_put_str(f->s, "/t/a", "a1", 0, 1);
    tu_put_str(f->s, "/t/b", "b1", 0, 1);
    tu_put_str(f->s, "/t/b", "b2", 1, 2);

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
    assert_string_equal(TU_MSG(), "store: /t/b: expected version 1, found version 2");
    assert_int_equal(versions[0], 0);
    assert_int_equal(versions[1], 0);
    assert_int_equal(versions[2], 0);
    tu_assert_absent(f->s, "/t/c");
    tu_assert_value(f->s, "/t/a", "a1", 1);
    tu_assert_value(f->s, "/t/b", "b2", 2);

    /* a compare that the key is absent */
    const struct aecs_store_compare absent[] = {{.key = "/t/a", .version = 0}};
    assert_int_equal(aecs_store_txn(f->s, absent, 1, ops, 3, NULL), AECS_E_MISMATCH);
    assert_string_equal(TU_MSG(), "store: /t/a: expected absent, found version 1");
    tu_assert_absent(f->s, "/t/c");

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
    tu_assert_value(f->s, "/t/c", "c1", 1);
    tu_assert_absent(f->s, "/t/a");
    tu_assert_value(f->s, "/t/b", "b3", 3);

    /* compares on keys no op touches, and ops with no compare */
    const struct aecs_store_compare other[] = {{.key = "/t/c", .version = 1}};
    const struct aecs_store_op more[] = {
        {.kind = AECS_STORE_OP_DELETE, .key = "/t/never"}, /* absent: fine, version 0 */
        {.kind = AECS_STORE_OP_PUT, .key = "/t/d", .value = "", .value_size = 0},
    };
    assert_int_equal(aecs_store_txn(f->s, other, 1, more, 2, versions), AECS_OK);
    assert_int_equal(versions[0], 0);
    assert_int_equal(versions[1], 1);
    tu_assert_value(f->s, "/t/d", "", 1);
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, more, 2, NULL), AECS_OK);
    tu_assert_value(f->s, "/t/d", "", 2);

    /* no ops: a pure check */
    assert_int_equal(aecs_store_txn(f->s, other, 1, NULL, 0, NULL), AECS_OK);
    assert_int_equal(aecs_store_txn(f->s, good, 1, NULL, 0, NULL), AECS_E_MISMATCH);
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, NULL, 0, NULL), AECS_OK);
}

static void test_txn_rejects(void **state)
{
    struct tu_store_fixture *f = *state;
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
    tu_assert_msg_has("129 compares");
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, ops, AECS_STORE_TXN_MAX_OPS + 1, NULL),
                     AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("129 ops");
    tu_assert_absent(f->s, keys[AECS_STORE_TXN_MAX_OPS]);

    /* two ops on one key */
    struct aecs_store_op dup[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/r/x", .value = "1", .value_size = 1},
        {.kind = AECS_STORE_OP_PUT, .key = "/r/y", .value = "1", .value_size = 1},
        {.kind = AECS_STORE_OP_DELETE, .key = "/r/x"},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, dup, 3, NULL), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("ops 0 and 2 both write /r/x");
    tu_assert_absent(f->s, "/r/x");
    tu_assert_absent(f->s, "/r/y");

    /* a bad op after good ones: nothing happens */
    struct aecs_store_op bad_key[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/r/x", .value = "1", .value_size = 1},
        {.kind = AECS_STORE_OP_PUT, .key = "r/y", .value = "1", .value_size = 1},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, bad_key, 2, NULL), AECS_E_INVALID_ARGUMENT);
    tu_assert_absent(f->s, "/r/x");
    struct aecs_store_op bad_kind[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/r/x", .value = "1", .value_size = 1},
        {.kind = (enum aecs_store_op_kind)3, .key = "/r/y"},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, bad_kind, 2, NULL), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("unknown kind 3");
    struct aecs_store_op del_value[] = {
        {.kind = AECS_STORE_OP_DELETE, .key = "/r/x", .value = "1", .value_size = 1},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, del_value, 1, NULL), AECS_E_INVALID_ARGUMENT);
    /* a compare needs a version */
    struct aecs_store_compare any = {.key = "/r/000", .version = AECS_STORE_ANY};
    assert_int_equal(aecs_store_txn(f->s, &any, 1, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("AECS_STORE_ANY");
    struct aecs_store_compare badc = {.key = "nope", .version = 0};
    assert_int_equal(aecs_store_txn(f->s, &badc, 1, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    /* counts with no array */
    assert_int_equal(aecs_store_txn(f->s, NULL, 1, NULL, 0, NULL), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, NULL, 1, NULL), AECS_E_INVALID_ARGUMENT);
}

static void test_txn_size_limit(void **state)
{
    struct tu_store_fixture *f = *state;
    uint8_t *v = calloc(1, AECS_STORE_VALUE_MAX);

    assert_non_null(v);
    /* one full value fits, with room for keys; a second value does not */
    struct aecs_store_op ops[] = {
        {.kind = AECS_STORE_OP_PUT, .key = "/z/1", .value = v, .value_size = AECS_STORE_VALUE_MAX},
        {.kind = AECS_STORE_OP_PUT, .key = "/z/2", .value = v, .value_size = 300 * 1024},
    };
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, ops, 2, NULL), AECS_E_TOO_LARGE);
    tu_assert_msg_has("txn larger than");
    tu_assert_absent(f->s, "/z/1");
    ops[1].value_size = 200 * 1024;
    assert_int_equal(aecs_store_txn(f->s, NULL, 0, ops, 2, NULL), AECS_OK);
    free(v);
}

/* A failure in the middle of the writes (injected with a trigger) rolls back the earlier ones. */

/* =================================================================== list */

static void put_keys(struct aecs_store *s, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tu_put_str(s, keys[i], keys[i], 0, 1);
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
    struct tu_store_fixture *f = *state;
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
    tu_assert_msg_has("prefix");
}

static void test_list_values_and_flags(void **state)
{
    struct tu_store_fixture *f = *state;
    struct aecs_store_list l;

    tu_put_str(f->s, "/v/1", "one", 0, 1);
    tu_put_str(f->s, "/v/2", "two", 0, 1);
    tu_put_str(f->s, "/v/2", "two!", 1, 2);
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
    tu_assert_msg_has("unknown list flags");
    assert_int_equal(aecs_store_list(f->s, "/v/", NULL, AECS_STORE_LIST_MAX + 1, 0, &l),
                     AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("limit 1001");
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
    struct tu_store_fixture *f = *state;
    struct aecs_store_list l;
    char keys[25][32];
    const char *want[25];
    char cursor[64] = "";
    size_t seen = 0;
    int pages = 0;

    for (int i = 0; i < 25; i++) {
        /* inserted out of order; the listing is sorted */
        snprintf(keys[i], sizeof(keys[i]), "/page/k%02d", (i * 7) % 25);
        tu_put_str(f->s, keys[i], "x", 0, 1);
        want[i] = keys[i];
    }
    tu_put_str(f->s, "/pagf", "after the prefix", 0, 1);
    tu_put_str(f->s, "/page", "the prefix without '/'", 0, 1);
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
    struct tu_store_fixture *f = *state;
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


static void test_reopen_persists(void **state)
{
    struct tu_store_fixture *f = *state;
    struct aecs_store *second = NULL;

    tu_put_str(f->s, "/keep/a", "alpha", 0, 1);
    tu_put_str(f->s, "/keep/a", "alpha2", 1, 2);
    tu_put_str(f->s, "/keep/b", "beta", 0, 1);
    tu_put_str(f->s, "/keep/c", "gamma", 0, 1);
    assert_int_equal(aecs_store_delete(f->s, "/keep/c", 1), AECS_OK);

    /* a second handle on the same file sees every committed write at once */
    assert_int_equal(aecs_store_open(f->spec, &second), AECS_OK);
    tu_assert_value(second, "/keep/a", "alpha2", 2);
    tu_put_str(second, "/keep/d", "delta", 0, 1);
    tu_assert_value(f->s, "/keep/d", "delta", 1);
    aecs_store_free(second);

    tu_store_reopen(f);
    tu_assert_value(f->s, "/keep/a", "alpha2", 2);
    tu_assert_value(f->s, "/keep/b", "beta", 1);
    tu_assert_value(f->s, "/keep/d", "delta", 1);
    tu_assert_absent(f->s, "/keep/c");
    tu_put_str(f->s, "/keep/a", "alpha3", 2, 3);
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
                snprintf(w->first_error, sizeof(w->first_error), "%s", TU_MSG());
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
                     (unsigned long long)nv, TU_MSG());
        }
    }
    return NULL;
}

static void run_cas(struct tu_store_fixture *f, int shared)
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


size_t tu_store_suite(struct CMUnitTest *out, size_t cap, CMFixtureFunction setup,
                      CMFixtureFunction teardown)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
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
        T(test_list_exact_prefix),
        T(test_list_values_and_flags),
        T(test_list_paging),
        T(test_list_value_budget),
        T(test_reopen_persists),
        T(test_concurrent_cas_separate_handles),
        T(test_concurrent_cas_shared_handle),
    };
#undef T
    size_t n = sizeof(tests) / sizeof(tests[0]);

    if (n > cap)
        fail_msg("tu_store_suite: room for %zu tests, the suite has %zu", cap, n);
    memcpy(out, tests, sizeof(tests));
    return n;
}
