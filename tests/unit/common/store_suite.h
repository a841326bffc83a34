/*
 * store_suite.h - the store conformance suite: the behaviours store.h
 * promises (versions, CAS and its messages, NOT_FOUND, txn all-or-nothing,
 * limits, exact-prefix listing, paging, the value budget, persistence across
 * handles, concurrent CAS), written once and run against every backend
 * (store_test.c: SQLite, store_etcd_test.c: etcd).
 *
 * A backend's test program provides a setup that opens an empty store into a
 * struct tu_store_fixture (and a teardown that closes it), and gets the
 * suite's tests with tu_store_suite. Expected values come from outside the
 * code under test: etcd's documented version rules, strcmp order, a value
 * generator of this file.
 */
#ifndef AECS_TEST_STORE_SUITE_H
#define AECS_TEST_STORE_SUITE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "store/store.h"

#define TU_MSG() (aecs_err_last()->message)

struct tu_store_fixture {
    char dir[64];        /* a private temp folder (tu_mkdtemp) */
    char path[128];      /* sqlite: the file */
    char spec[1024];     /* what aecs_store_open was given */
    struct aecs_store *s;
    const char *backend; /* aecs_store_backend_name's answer */
    void *ctx;           /* the backend test's own state */
};

/* Fails the test unless the last error message contains needle. */
void tu_assert_msg_has(const char *needle);
/* Closes and opens the fixture's store again. */
void tu_store_reopen(struct tu_store_fixture *f);
/* Puts a string value at `expected`; asserts success and the new version. */
void tu_put_str(struct aecs_store *s, const char *key, const char *value, uint64_t expected,
                uint64_t want_version);
/* Asserts key holds exactly `value` at `version`. */
void tu_assert_value(struct aecs_store *s, const char *key, const char *value, uint64_t version);
/* Asserts a get of key is AECS_E_NOT_FOUND and leaves the value empty. */
void tu_assert_absent(struct aecs_store *s, const char *key);
/* A generator of value bytes independent of the store: size (1..cap-1) and bytes from i. */
size_t tu_make_value(uint32_t i, uint8_t *out, size_t cap);

/*
 * Writes the suite's tests into out (room for cap), each with the given
 * setup and teardown; returns how many (fails the test run if cap is short).
 */
size_t tu_store_suite(struct CMUnitTest *out, size_t cap, CMFixtureFunction setup,
                      CMFixtureFunction teardown);

#endif
