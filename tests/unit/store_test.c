/*
 * store_test.c - unit tests for src/store: spec parsing, the key rules and
 * the SQLite backend. The behaviours every backend shares (versions, CAS,
 * txn, listing, limits, concurrency) are the conformance suite of
 * tests/unit/common/store_suite.c, run here against SQLite.
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
#include "store_suite.h"
#include "testutil.h"

static int store_setup(void **state)
{
    struct tu_store_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
    snprintf(f->spec, sizeof(f->spec), "sqlite:%s", f->path);
    f->backend = "sqlite";
    assert_int_equal(aecs_store_open(f->spec, &f->s), AECS_OK);
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    struct tu_store_fixture *f = *state;

    aecs_store_free(f->s);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* Closes and opens the fixture's store again. */

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
    tu_assert_msg_has("sqlite:PATH");
    assert_int_equal(aecs_store_spec_parse("/var/lib/aecs/store.db", &sp), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("expected sqlite:PATH or etcd:ENDPOINTS");
    assert_int_equal(aecs_store_spec_parse("SQLITE:/x", &sp), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_spec_parse("redis:x", &sp), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_spec_parse("sqlite:", &sp), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("names no file");
    assert_int_equal(aecs_store_spec_parse("etcd:", &sp), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("names no endpoints");
    assert_int_equal(aecs_store_spec_parse("sqlite:/a\nb", &sp), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("control character");
    assert_int_equal(aecs_store_spec_parse("sqlite:/a\x7f", &sp), AECS_E_INVALID_ARGUMENT);

    char *big = malloc(5000);
    assert_non_null(big);
    memcpy(big, "sqlite:", 7);
    memset(big + 7, 'a', 4096);
    big[7 + 4096] = '\0';
    assert_int_equal(aecs_store_spec_parse(big, &sp), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("longer than");
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

    /* an etcd spec that does not parse is refused before any I/O (store_etcd_test does etcd) */
    assert_int_equal(aecs_store_open("etcd:127.0.0.1:2379", &s), AECS_E_INVALID_ARGUMENT);
    assert_null(s);
    tu_assert_msg_has("does not start with http:// or https://");
    assert_int_equal(aecs_store_open("nope:x", &s), AECS_E_INVALID_ARGUMENT);
    assert_null(s);

    tu_mkdtemp(dir, sizeof(dir));
    /* a folder that does not exist */
    snprintf(spec, sizeof(spec), "sqlite:%s/missing/store.db", dir);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    assert_null(s);
    tu_assert_msg_has("cannot create");
    /* a folder, not a file */
    snprintf(spec, sizeof(spec), "sqlite:%s", dir);
    assert_int_equal(aecs_store_open(spec, &s), AECS_E_IO);
    tu_assert_msg_has("not a regular file");
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
            fail_msg("good key %zu refused: %s", i, TU_MSG());
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (aecs_store_key_check(bad[i]) != AECS_E_INVALID_ARGUMENT)
            fail_msg("bad key %zu accepted", i);
    }
    assert_int_equal(aecs_store_key_check(NULL), AECS_E_INVALID_ARGUMENT);
    assert_int_equal(aecs_store_key_check("/a\nb"), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("byte 0x0a at offset 2");
    /* the rejected key itself is never echoed */
    assert_int_equal(aecs_store_key_check("/secret\x01value"), AECS_E_INVALID_ARGUMENT);
    assert_null(strstr(TU_MSG(), "secret"));
    assert_int_equal(aecs_store_key_check("a/b"), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("does not start with '/'");

    /* length limit: exactly AECS_STORE_KEY_MAX bytes is fine, one more is not */
    key[0] = '/';
    memset(key + 1, 'k', AECS_STORE_KEY_MAX - 1);
    key[AECS_STORE_KEY_MAX] = '\0';
    assert_int_equal(aecs_store_key_check(key), AECS_OK);
    key[AECS_STORE_KEY_MAX] = 'k';
    key[AECS_STORE_KEY_MAX + 1] = '\0';
    assert_int_equal(aecs_store_key_check(key), AECS_E_INVALID_ARGUMENT);
    tu_assert_msg_has("longer than 512 bytes");
}

static void test_txn_rolls_back_on_write_failure(void **state)
{
    struct tu_store_fixture *f = *state;
    sqlite3 *db = NULL;

    tu_put_str(f->s, "/w/keep", "k1", 0, 1);
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
    tu_assert_msg_has("injected");
    assert_int_equal(versions[0], 0);
    assert_int_equal(versions[1], 0);
    tu_assert_absent(f->s, "/w/new");
    tu_assert_absent(f->s, "/w/fail");
    tu_assert_value(f->s, "/w/keep", "k1", 1);
    /* the connection is usable afterwards */
    tu_put_str(f->s, "/w/keep", "k3", 1, 2);
    assert_int_equal(aecs_store_put(f->s, "/w/fail", "f", 1, 0, NULL), AECS_E_INTERNAL);
    tu_put_str(f->s, "/w/new", "n", 0, 1);
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
    struct tu_store_fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint8_t *file = NULL;
    size_t size = 0;

    tu_put_str(f->s, "/opaque", "\x01\x02 ciphertext", 0, 1);
    tu_put_str(f->s, "/opaque", "ciphertext 2", 1, 2);

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
    tu_store_reopen(f);
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
    struct tu_store_fixture *f = *state;
    struct aecs_store *s = (struct aecs_store *)1;

    tu_put_str(f->s, "/x", "x", 0, 1);
    aecs_store_free(f->s);
    f->s = NULL;

    set_schema_version(f->path, 2);
    assert_int_equal(aecs_store_open(f->spec, &s), AECS_E_UNSUPPORTED);
    assert_null(s);
    tu_assert_msg_has("schema version 2, written by a newer aecs");
    set_schema_version(f->path, 0);
    assert_int_equal(aecs_store_open(f->spec, &s), AECS_E_FORMAT);
    tu_assert_msg_has("schema version 0");
    set_schema_version(f->path, 1);
    tu_store_reopen(f);
    tu_assert_value(f->s, "/x", "x", 1);
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
    tu_assert_msg_has("not an aecs store");
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
    tu_assert_msg_has("not an SQLite database");
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
        tu_assert_value(s, "/k", names[i], 1);
        aecs_store_free(s);
    }
    assert_int_equal(chdir(cwd), 0);
    tu_rmtree(dir);
}

static void test_corrupt_file_refused(void **state)
{
    struct tu_store_fixture *f = *state;
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
    tu_assert_msg_has("corrupt");
    /* teardown frees f->s: leave a fresh store there */
    assert_int_equal(unlink(f->path), 0);
    tu_store_reopen(f);
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

/* The child: creates /crash/N with tu_make_value(N) in a loop, writing N to fd after each put. */
static void crash_child(const char *spec, int fd)
{
    struct aecs_store *s = NULL;
    uint8_t v[CRASH_VALUE_CAP];
    char key[32];

    if (aecs_store_open(spec, &s) != AECS_OK)
        _exit(2);
    for (uint32_t i = 0;; i++) {
        size_t n = tu_make_value(i, v, sizeof(v));
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
    struct tu_store_fixture *f = *state;
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

    tu_store_reopen(f);
    for (uint32_t i = 0; i < acked; i++) {
        struct aecs_store_value got;
        char key[32];
        size_t n = tu_make_value(i, v, sizeof(v));
        snprintf(key, sizeof(key), "/crash/%08u", i);
        int rc = aecs_store_get(f->s, key, &got);
        if (rc != AECS_OK)
            fail_msg("acknowledged %s lost after kill -9 (%u acknowledged): %s", key, acked, TU_MSG());
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

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, store_setup, store_teardown)
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_spec_parse),
        cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_key_check),
        T(test_txn_rolls_back_on_write_failure),
        cmocka_unit_test(test_file_modes),
        T(test_sqlite_settings),
        T(test_schema_version_checked),
        cmocka_unit_test(test_foreign_files_refused),
        cmocka_unit_test(test_relative_paths_are_files),
        T(test_corrupt_file_refused),
        T(test_kill9_loses_no_acknowledged_put),
    };
#undef T
    struct CMUnitTest tests[64];
    size_t n = sizeof(own) / sizeof(own[0]);

    memcpy(tests, own, sizeof(own));
    n += tu_store_suite(tests + n, sizeof(tests) / sizeof(tests[0]) - n, store_setup,
                        store_teardown);
    return _cmocka_run_group_tests("store_test", tests, n, NULL, NULL);
}
