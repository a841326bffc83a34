/*
 * sqlite.c - the SQLite store backend: one file, one table of
 * (key, value, version, modified), behind the ops table of backend.h.
 *
 * Settings, and why:
 *   - journal_mode=WAL: readers never block the writer or each other, and a
 *     commit is one append to the -wal file;
 *   - synchronous=FULL: the -wal file is fsync'ed at every commit, so a put
 *     that returned AECS_OK survives a crash of the process or of the
 *     machine (NORMAL would lose the last commits on power loss);
 *   - busy_timeout (BUSY_TIMEOUT_MS): a writer waits that long for another
 *     connection's write lock before failing with AECS_E_IO;
 *   - BEGIN IMMEDIATE for every write: the write lock is taken before the
 *     compares are read, so compare-then-write is atomic across connections
 *     and processes, and never fails half-way with SQLITE_BUSY_SNAPSHOT;
 *   - secure_delete=ON: deleted and overwritten values are zeroed in the
 *     file rather than left in free pages (they are ciphertexts, but old
 *     ones should not linger);
 *   - defensive mode and trusted_schema=OFF: the file cannot make this
 *     connection run functions or write the schema behind our back;
 *   - PRAGMA quick_check at open: a damaged file is refused with
 *     AECS_E_FORMAT instead of failing later on some read;
 *   - application_id 'aecs' and a `meta` table with the schema version: a
 *     file that is not an aecs store, or one written by a newer aecs, is
 *     refused at open.
 *
 * Files: the database is created with mode 0600 (O_EXCL, so never through
 * a symlink) before SQLite opens it; SQLite gives the -wal and -shm files
 * the database's mode. An existing database, -wal or -shm readable by group
 * or others is set to 0600 with a warning, once the file is known to be an
 * aecs store: a file that is not one is refused before anything in it or
 * about it is changed. A relative path is opened as "./PATH", so that SQLite
 * never reads it as ":memory:" or a "file:" URI.
 *
 * Threads: a handle has one connection for transactions and READERS more
 * for get and list, each guarded by a mutex held for the whole of a call; so
 * a handle may be shared by threads, transactions run one at a time, and
 * reads run beside them (WAL: a reader sees the last commit and is never
 * held up by a writer's fsync). A read that starts after a transaction
 * returned sees it. Prepared statements are made once per connection at
 * open and reused (reset and unbound after each use, so no statement keeps
 * a read transaction open or points at a caller's buffer).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "store/backend.h"

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x61656373 /* "aecs" */
#define BUSY_TIMEOUT_MS 5000
/* Read connections of a handle, besides the one for transactions. */
#define READERS 4

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_GET,
    ST_VERSION,
    ST_INSERT,
    ST_UPDATE,
    ST_DELETE,
    ST_LIST_KEYS,
    ST_LIST_VALUES,
    ST_COUNT
};

/* The range ?1 <= key < ?2 is the exact byte prefix (BINARY collation is memcmp). */
static const char *const k_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_GET] = "SELECT value, version FROM kv WHERE key = ?1",
    [ST_VERSION] = "SELECT version FROM kv WHERE key = ?1",
    [ST_INSERT] = "INSERT INTO kv (key, value, version, modified) VALUES (?1, ?2, 1, ?3)",
    [ST_UPDATE] = "UPDATE kv SET value = ?2, modified = ?3, version = ?4 WHERE key = ?1",
    [ST_DELETE] = "DELETE FROM kv WHERE key = ?1",
    [ST_LIST_KEYS] = "SELECT key, version FROM kv WHERE key >= ?1 AND key < ?2 AND key > ?3 "
                     "ORDER BY key LIMIT ?4",
    [ST_LIST_VALUES] = "SELECT key, version, value FROM kv WHERE key >= ?1 AND key < ?2 "
                       "AND key > ?3 ORDER BY key LIMIT ?4",
};

static const char k_schema[] =
    "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) STRICT;"
    "CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL,"
    " version INTEGER NOT NULL CHECK (version >= 1), modified INTEGER NOT NULL) STRICT;";

struct sqlite_store {
    struct aecs_store base; /* first: the handle callers hold */
    pthread_mutex_t lock;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    char *path;
    /* the read connections (each a sqlite_store of its own, with no readers) */
    struct sqlite_store *readers[READERS];
    unsigned next_reader;
};

/*
 * A read connection, locked: the first free one from a rotating start, else
 * the one at the start (waiting for it); the handle itself while it has none.
 */
static struct sqlite_store *reader_lock(struct sqlite_store *ss)
{
    unsigned start;

    if (ss->readers[0] == NULL) {
        pthread_mutex_lock(&ss->lock);
        return ss;
    }
    start = __atomic_fetch_add(&ss->next_reader, 1, __ATOMIC_RELAXED) % READERS;
    for (unsigned i = 0; i < READERS; i++) {
        struct sqlite_store *r = ss->readers[(start + i) % READERS];
        if (pthread_mutex_trylock(&r->lock) == 0)
            return r;
    }
    pthread_mutex_lock(&ss->readers[start]->lock);
    return ss->readers[start];
}

/*
 * Serializes creating the file and opening connections in this process:
 * closing any descriptor of a database file drops every POSIX lock the
 * process holds on it, so no connection may be open on a file while
 * another thread still has the descriptor of its creation.
 */
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------- errors */

static int db_fail(const struct sqlite_store *ss, int src, const char *file, int line,
                   const char *what)
{
    const char *msg = ss->db != NULL ? sqlite3_errmsg(ss->db) : sqlite3_errstr(src);
    int code;

    switch (src & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return aecs_err_set(AECS_E_IO, file, line,
                            "store: %.200s: %s: busy, another writer held the database for more "
                            "than %d ms (%s)",
                            ss->path, what, BUSY_TIMEOUT_MS, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return aecs_err_set(AECS_E_FORMAT, file, line,
                            "store: %.200s: %s: the file is corrupt or not an SQLite database "
                            "(%s)",
                            ss->path, what, msg);
    case SQLITE_NOMEM:
        code = AECS_E_NO_MEMORY;
        break;
    case SQLITE_TOOBIG:
        code = AECS_E_TOO_LARGE;
        break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
        code = AECS_E_IO;
        break;
    default:
        code = AECS_E_INTERNAL;
        break;
    }
    return aecs_err_set(code, file, line, "store: %.200s: %s: %s (sqlite code %d)", ss->path, what,
                        msg, src);
}

#define DB_FAIL(ss, src, what) db_fail((ss), (src), __FILE__, __LINE__, (what))

/* --------------------------------------------------------- statements */

static void stmt_done(sqlite3_stmt *st)
{
    (void)sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows (BEGIN, COMMIT, a write). */
static int run(struct sqlite_store *ss, sqlite3_stmt *st, const char *what)
{
    int src = sqlite3_step(st);
    int rc = src == SQLITE_DONE ? AECS_OK : DB_FAIL(ss, src, what);

    stmt_done(st);
    return rc;
}

static int bind_text(struct sqlite_store *ss, sqlite3_stmt *st, int idx, const char *text)
{
    int src = sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC);

    return src == SQLITE_OK ? AECS_OK : DB_FAIL(ss, src, "bind");
}

static int bind_int(struct sqlite_store *ss, sqlite3_stmt *st, int idx, int64_t v)
{
    int src = sqlite3_bind_int64(st, idx, v);

    return src == SQLITE_OK ? AECS_OK : DB_FAIL(ss, src, "bind");
}

/* Values are BLOBs, empty ones too (a NULL pointer would bind SQL NULL). */
static int bind_value(struct sqlite_store *ss, sqlite3_stmt *st, int idx, const void *value,
                      size_t size)
{
    int src = size == 0 ? sqlite3_bind_zeroblob(st, idx, 0)
                        : sqlite3_bind_blob(st, idx, value, (int)size, SQLITE_STATIC);

    return src == SQLITE_OK ? AECS_OK : DB_FAIL(ss, src, "bind");
}

/* A version column: an integer >= 1, or the file was changed outside aecs. */
static int column_version(struct sqlite_store *ss, sqlite3_stmt *st, int col, uint64_t *out)
{
    ENSURE(sqlite3_column_type(st, col) == SQLITE_INTEGER, AECS_E_FORMAT,
           "store: %.200s: a version is not an integer", ss->path);
    sqlite3_int64 v = sqlite3_column_int64(st, col);
    ENSURE(v >= 1, AECS_E_FORMAT, "store: %.200s: a version is %lld", ss->path, (long long)v);
    *out = (uint64_t)v;
    return AECS_OK;
}

/* A copy of a value column in a fresh buffer (at least one byte, so never NULL). */
static int column_value(struct sqlite_store *ss, sqlite3_stmt *st, int col, uint8_t **data,
                        size_t *size)
{
    *data = NULL;
    *size = 0;
    ENSURE(sqlite3_column_type(st, col) == SQLITE_BLOB, AECS_E_FORMAT,
           "store: %.200s: a value is not a blob", ss->path);
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    ENSURE(n >= 0 && (size_t)n <= AECS_STORE_VALUE_MAX, AECS_E_FORMAT,
           "store: %.200s: a value of %d bytes is above the limit", ss->path, n);
    ENSURE(p != NULL || n == 0, AECS_E_NO_MEMORY, "store: %.200s: out of memory reading a value",
           ss->path);
    *data = malloc(n > 0 ? (size_t)n : 1);
    ENSURE(*data != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    if (n > 0)
        memcpy(*data, p, (size_t)n);
    *size = (size_t)n;
    return AECS_OK;
}

/* The key's version, 0 when absent. */
static int read_version(struct sqlite_store *ss, const char *key, uint64_t *out)
{
    sqlite3_stmt *st = ss->st[ST_VERSION];
    int rc = AECS_OK;

    *out = 0;
    GUARD_OUT(bind_text(ss, st, 1, key));
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = column_version(ss, st, 0, out);
    else if (src != SQLITE_DONE)
        rc = DB_FAIL(ss, src, "read");
out:
    stmt_done(st);
    return rc;
}

/* -------------------------------------------------------------- calls */

static int get_locked(struct sqlite_store *ss, const char *key, struct aecs_store_value *out)
{
    sqlite3_stmt *st = ss->st[ST_GET];
    int rc = AECS_OK;

    GUARD_OUT(bind_text(ss, st, 1, key));
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        BAIL_OUT(AECS_E_NOT_FOUND, "store: %.200s: no such key", key);
    if (src != SQLITE_ROW) {
        rc = DB_FAIL(ss, src, "get");
        goto out;
    }
    GUARD_OUT(column_version(ss, st, 1, &out->version));
    GUARD_OUT(column_value(ss, st, 0, &out->data, &out->size));
out:
    stmt_done(st);
    if (rc != AECS_OK)
        aecs_store_value_free(out);
    return rc;
}

static int sqlite_get(struct aecs_store *s, const char *key, struct aecs_store_value *out)
{
    struct sqlite_store *r = reader_lock((struct sqlite_store *)s);
    int rc = get_locked(r, key, out);

    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int list_locked(struct sqlite_store *ss, const char *prefix, const char *prefix_end,
                       const char *start_after, size_t limit, unsigned flags,
                       struct aecs_store_list *out)
{
    int values = (flags & AECS_STORE_LIST_VALUES) != 0;
    sqlite3_stmt *st = ss->st[values ? ST_LIST_VALUES : ST_LIST_KEYS];
    size_t bytes = 0;
    int rc = AECS_OK;

    out->items = calloc(limit, sizeof(*out->items));
    ENSURE(out->items != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    GUARD_OUT(bind_text(ss, st, 1, prefix));
    GUARD_OUT(bind_text(ss, st, 2, prefix_end));
    /* Every key is longer than "", so "" puts no bound. */
    GUARD_OUT(bind_text(ss, st, 3, start_after != NULL ? start_after : ""));
    /* One more than asked, to learn whether there are more. */
    GUARD_OUT(bind_int(ss, st, 4, (int64_t)limit + 1));
    for (;;) {
        int src = sqlite3_step(st);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = DB_FAIL(ss, src, "list");
            goto out;
        }
        if (out->count == limit) {
            out->more = 1;
            break;
        }
        if (values) {
            size_t n = (size_t)sqlite3_column_bytes(st, 2);
            if (out->count > 0 && bytes + n > AECS_STORE_LIST_MAX_SIZE) {
                out->more = 1;
                break;
            }
            bytes += n;
        }
        struct aecs_store_item *it = &out->items[out->count];
        const char *key = (const char *)sqlite3_column_text(st, 0);
        int klen = sqlite3_column_bytes(st, 0);
        ENSURE_OUT(key != NULL && klen >= 0 && strlen(key) == (size_t)klen &&
                       aecs_store_key_check(key) == AECS_OK,
                   AECS_E_FORMAT, "store: %.200s: the file holds a key that is not valid",
                   ss->path);
        it->key = strdup(key);
        ENSURE_OUT(it->key != NULL, AECS_E_NO_MEMORY, "store: out of memory");
        out->count++;
        GUARD_OUT(column_version(ss, st, 1, &it->version));
        if (values)
            GUARD_OUT(column_value(ss, st, 2, &it->value, &it->value_size));
    }
out:
    stmt_done(st);
    if (rc != AECS_OK)
        aecs_store_list_free(out);
    return rc;
}

static int sqlite_list(struct aecs_store *s, const char *prefix, const char *prefix_end,
                       const char *start_after, size_t limit, unsigned flags,
                       struct aecs_store_list *out)
{
    struct sqlite_store *r = reader_lock((struct sqlite_store *)s);
    int rc = list_locked(r, prefix, prefix_end, start_after, limit, flags, out);

    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int write_put(struct sqlite_store *ss, const struct aecs_store_op *op, uint64_t cur,
                     int64_t now)
{
    sqlite3_stmt *st = ss->st[cur == 0 ? ST_INSERT : ST_UPDATE];
    int rc = AECS_OK;

    ENSURE(cur < (uint64_t)INT64_MAX, AECS_E_INTERNAL, "store: %.200s: version overflow", op->key);
    GUARD_OUT(bind_text(ss, st, 1, op->key));
    GUARD_OUT(bind_value(ss, st, 2, op->value, op->value_size));
    GUARD_OUT(bind_int(ss, st, 3, now));
    if (cur != 0)
        GUARD_OUT(bind_int(ss, st, 4, (int64_t)cur + 1));
    return run(ss, st, "put");
out:
    stmt_done(st);
    return rc;
}

static int write_delete(struct sqlite_store *ss, const char *key)
{
    sqlite3_stmt *st = ss->st[ST_DELETE];
    int rc = bind_text(ss, st, 1, key);

    if (rc != AECS_OK) {
        stmt_done(st);
        return rc;
    }
    return run(ss, st, "delete");
}

static int txn_locked(struct sqlite_store *ss, const struct aecs_store_compare *cmps,
                      size_t cmp_count, const struct aecs_store_op *ops, size_t op_count,
                      uint64_t *versions)
{
    int64_t now = aecs_time_now();
    uint64_t cur = 0;
    int rc = AECS_OK;

    GUARD(run(ss, ss->st[ST_BEGIN], "begin"));
    for (size_t i = 0; i < cmp_count; i++) {
        GUARD_OUT(read_version(ss, cmps[i].key, &cur));
        if (cur != cmps[i].version) {
            rc = AECS_STORE_MISMATCH(cmps[i].key, cmps[i].version, cur);
            goto out;
        }
    }
    /* No two ops share a key (store.c), so each op sees the state before the txn. */
    for (size_t i = 0; i < op_count; i++) {
        GUARD_OUT(read_version(ss, ops[i].key, &cur));
        if (ops[i].kind == AECS_STORE_OP_PUT) {
            GUARD_OUT(write_put(ss, &ops[i], cur, now));
            versions[i] = cur + 1;
        } else {
            if (cur != 0)
                GUARD_OUT(write_delete(ss, ops[i].key));
            versions[i] = cur;
        }
    }
    GUARD_OUT(run(ss, ss->st[ST_COMMIT], "commit"));
    return AECS_OK;
out:
    /* Undo whatever was written; the error already recorded is the one to report. */
    if (!sqlite3_get_autocommit(ss->db)) {
        (void)sqlite3_step(ss->st[ST_ROLLBACK]);
        stmt_done(ss->st[ST_ROLLBACK]);
    }
    memset(versions, 0, op_count * sizeof(*versions));
    return rc;
}

static int sqlite_txn(struct aecs_store *s, const struct aecs_store_compare *cmps, size_t cmp_count,
                      const struct aecs_store_op *ops, size_t op_count, uint64_t *versions)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;

    pthread_mutex_lock(&ss->lock);
    int rc = txn_locked(ss, cmps, cmp_count, ops, op_count, versions);
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

static void sqlite_free(struct aecs_store *s)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;

    for (int i = 0; i < READERS; i++) {
        if (ss->readers[i] != NULL)
            sqlite_free(&ss->readers[i]->base);
    }
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(ss->st[i]);
    if (ss->db != NULL)
        (void)sqlite3_close_v2(ss->db);
    pthread_mutex_destroy(&ss->lock);
    free(ss->path);
    free(ss);
}

static const struct aecs_store_ops k_sqlite_ops = {
    .name = "sqlite",
    .get = sqlite_get,
    .list = sqlite_list,
    .txn = sqlite_txn,
    .free = sqlite_free,
};

/* --------------------------------------------------------------- open */

/* Sets a file that group or others may read to 0600; a missing file is fine. */
static int tighten_mode(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        ENSURE(errno == ENOENT, AECS_E_IO, "store: cannot stat %.200s: %s", path, strerror(errno));
        return AECS_OK;
    }
    ENSURE(S_ISREG(st.st_mode), AECS_E_IO, "store: %.200s is not a regular file", path);
    if ((st.st_mode & 0077) == 0)
        return AECS_OK;
    log_warn("store: %.200s had mode %04o; setting it to 0600", path,
             (unsigned)(st.st_mode & 07777));
    ENSURE(chmod(path, 0600) == 0, AECS_E_IO, "store: cannot chmod %.200s: %s", path,
           strerror(errno));
    return AECS_OK;
}

/* Creates the database file with mode 0600, or checks that the one there is a file. */
static int prepare_file(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0) {
        ENSURE(errno == EEXIST, AECS_E_IO, "store: cannot create %.200s: %s", path,
               strerror(errno));
        ENSURE(stat(path, &st) == 0, AECS_E_IO, "store: cannot stat %.200s: %s", path,
               strerror(errno));
        ENSURE(S_ISREG(st.st_mode), AECS_E_IO, "store: %.200s is not a regular file", path);
        return AECS_OK;
    }
    int ok = fchmod(fd, 0600) == 0; /* whatever the umask */
    int err = errno;
    close(fd);
    ENSURE(ok, AECS_E_IO, "store: cannot chmod %.200s: %s", path, strerror(err));
    /* Make the new name durable (best effort, as aecs_file_write_atomic). */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        slash[slash == dir ? 1 : 0] = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return AECS_OK;
}

/* Runs a statement of `sql` that returns one row with one value, into *text or *num. */
static int query_one(struct sqlite_store *ss, const char *sql, char *text, size_t text_size,
                     int64_t *num)
{
    sqlite3_stmt *st = NULL;
    int rc = AECS_OK;
    int src = sqlite3_prepare_v2(ss->db, sql, -1, &st, NULL);

    if (src != SQLITE_OK) {
        rc = DB_FAIL(ss, src, sql);
        goto out;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        BAIL_OUT(AECS_E_FORMAT, "store: %.200s: %s: no answer", ss->path, sql);
    if (src != SQLITE_ROW) {
        rc = DB_FAIL(ss, src, sql);
        goto out;
    }
    if (text != NULL) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        snprintf(text, text_size, "%s", t != NULL ? t : "");
    }
    if (num != NULL)
        *num = sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

static int exec(struct sqlite_store *ss, const char *sql)
{
    int src = sqlite3_exec(ss->db, sql, NULL, NULL, NULL);

    return src == SQLITE_OK ? AECS_OK : DB_FAIL(ss, src, "setup");
}

/* PRAGMA quick_check answers one row "ok", or rows that describe the damage. */
static int integrity_check(struct sqlite_store *ss)
{
    char first[256];

    GUARD(query_one(ss, "PRAGMA quick_check", first, sizeof(first), NULL));
    ENSURE(strcmp(first, "ok") == 0, AECS_E_FORMAT,
           "store: %.200s: the file is corrupt (integrity check: %.200s)", ss->path, first);
    return AECS_OK;
}

/*
 * Checks the tables of an existing store; sets *empty (and checks nothing
 * more) when the file has no tables yet.
 */
static int schema_check(struct sqlite_store *ss, int *empty)
{
    int64_t tables = 0;
    int64_t app_id = 0;
    int64_t version = 0;

    *empty = 0;
    GUARD(query_one(ss, "SELECT count(*) FROM sqlite_schema", NULL, 0, &tables));
    GUARD(query_one(ss, "PRAGMA application_id", NULL, 0, &app_id));
    if (tables == 0 && app_id == 0) {
        *empty = 1;
        return AECS_OK;
    }
    ENSURE(app_id == APPLICATION_ID, AECS_E_FORMAT,
           "store: %.200s is an SQLite database but not an aecs store (application_id 0x%08llx)",
           ss->path, (unsigned long long)(uint32_t)app_id);
    if (query_one(ss, "SELECT value FROM meta WHERE name = 'schema_version'", NULL, 0, &version) !=
        AECS_OK) {
        char why[256]; /* the recorded message is overwritten below */
        snprintf(why, sizeof(why), "%.200s", aecs_err_last()->message);
        return AECS_ERR(AECS_E_FORMAT, "store: %.200s: no schema version (%s)", ss->path, why);
    }
    ENSURE(version <= SCHEMA_VERSION, AECS_E_UNSUPPORTED,
           "store: %.200s has schema version %lld, written by a newer aecs; this one knows "
           "version %d",
           ss->path, (long long)version, SCHEMA_VERSION);
    ENSURE(version == SCHEMA_VERSION, AECS_E_FORMAT,
           "store: %.200s has schema version %lld, which no aecs wrote", ss->path,
           (long long)version);
    return AECS_OK;
}

static int schema_create(struct sqlite_store *ss)
{
    char sql[160];

    GUARD(exec(ss, k_schema));
    snprintf(sql, sizeof(sql),
             "INSERT INTO meta (name, value) VALUES ('schema_version', %d);"
             "PRAGMA application_id = %d;",
             SCHEMA_VERSION, APPLICATION_ID);
    GUARD(exec(ss, sql));
    log_info("store: created %.200s (schema %d)", ss->path, SCHEMA_VERSION);
    return AECS_OK;
}

/* Ends the transaction that `rc` ran in: COMMIT on success, else ROLLBACK. */
static int end_txn(struct sqlite_store *ss, int rc)
{
    if (rc == AECS_OK)
        rc = exec(ss, "COMMIT");
    if (rc != AECS_OK && !sqlite3_get_autocommit(ss->db))
        (void)sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Checks the tables of an existing store, or makes those of a new file. */
static int schema(struct sqlite_store *ss)
{
    int empty = 0;
    int rc;

    /* A read transaction: opening an existing store takes no write lock. */
    GUARD(exec(ss, "BEGIN"));
    GUARD(end_txn(ss, schema_check(ss, &empty)));
    if (!empty)
        return AECS_OK;
    /* IMMEDIATE: of two connections creating one new file, only one makes the tables. */
    GUARD(exec(ss, "BEGIN IMMEDIATE"));
    rc = schema_check(ss, &empty);
    if (rc == AECS_OK && empty)
        rc = schema_create(ss);
    return end_txn(ss, rc);
}

/*
 * Order matters: nothing is written to a file before it is known to be an
 * aecs store (or a new, empty file), so opening some other database by
 * mistake leaves it as it was.
 */
/* The settings of every connection (none is stored in the file). */
static int settings(struct sqlite_store *ss)
{
    ENSURE(sqlite3_busy_timeout(ss->db, BUSY_TIMEOUT_MS) == SQLITE_OK, AECS_E_INTERNAL,
           "store: cannot set the busy timeout");
    ENSURE(sqlite3_db_config(ss->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) == SQLITE_OK,
           AECS_E_INTERNAL, "store: cannot turn on defensive mode");
    ENSURE(sqlite3_db_config(ss->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) == SQLITE_OK,
           AECS_E_INTERNAL, "store: cannot turn off trusted_schema");
    return exec(ss, "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;");
}

static int prepare_statements(struct sqlite_store *ss)
{
    for (int i = 0; i < ST_COUNT; i++) {
        int src =
            sqlite3_prepare_v3(ss->db, k_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ss->st[i], NULL);
        ENSURE(src == SQLITE_OK, src == SQLITE_NOMEM ? AECS_E_NO_MEMORY : AECS_E_FORMAT,
               "store: %.200s: the tables are not the ones this aecs expects (%s)", ss->path,
               sqlite3_errmsg(ss->db));
    }
    return AECS_OK;
}

/*
 * Order matters: nothing is written to a file before it is known to be an
 * aecs store (or a new, empty file), so opening some other database by
 * mistake leaves it as it was.
 */
static int configure(struct sqlite_store *ss)
{
    char mode[32];
    char side[4200];

    GUARD(settings(ss));
    /* The first read of the file: one that is not SQLite fails here. */
    GUARD(schema(ss));
    GUARD(integrity_check(ss));
    /* Stored in the file: once set, every later connection uses WAL too. */
    GUARD(query_one(ss, "PRAGMA journal_mode = WAL", mode, sizeof(mode), NULL));
    ENSURE(strcmp(mode, "wal") == 0, AECS_E_IO,
           "store: %.200s: cannot use WAL mode (journal mode stays '%s')", ss->path, mode);
    /* SQLite gives -wal and -shm the database's mode; all three may predate us. */
    GUARD(tighten_mode(ss->path));
    snprintf(side, sizeof(side), "%s-wal", ss->path);
    GUARD(tighten_mode(side));
    snprintf(side, sizeof(side), "%s-shm", ss->path);
    GUARD(tighten_mode(side));
    return prepare_statements(ss);
}

/* A connection handle on path (already "./"-prefixed when relative); the file must exist. */
static int conn_open(const char *path, struct sqlite_store **out)
{
    struct sqlite_store *ss = calloc(1, sizeof(*ss));
    int src;

    *out = NULL;
    ENSURE(ss != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    ss->base.ops = &k_sqlite_ops;
    pthread_mutex_init(&ss->lock, NULL);
    ss->path = strdup(path);
    if (ss->path == NULL) {
        sqlite_free(&ss->base);
        return AECS_ERR(AECS_E_NO_MEMORY, "store: out of memory");
    }
    src = sqlite3_open_v2(path, &ss->db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
    if (src != SQLITE_OK) {
        int rc = DB_FAIL(ss, src, "open");
        sqlite_free(&ss->base);
        return rc;
    }
    *out = ss;
    return AECS_OK;
}

int aecs_store_sqlite_open(const char *path, struct aecs_store **out)
{
    struct sqlite_store *ss = NULL;
    char *full = NULL;
    int rc = AECS_OK;

    *out = NULL;
    ENSURE(strlen(path) < 4096, AECS_E_INVALID_ARGUMENT, "store: path too long");
    /*
     * SQLite reads ":memory:" and, as Debian builds it (SQLITE_USE_URI),
     * "file:..." as something else than a file name; "./" keeps a relative
     * path a plain file name.
     */
    size_t n = strlen(path) + 3;
    full = malloc(n);
    ENSURE(full != NULL, AECS_E_NO_MEMORY, "store: out of memory");
    snprintf(full, n, "%s%s", path[0] == '/' ? "" : "./", path);

    pthread_mutex_lock(&g_open_lock);
    rc = prepare_file(full);
    if (rc == AECS_OK)
        rc = conn_open(full, &ss);
    pthread_mutex_unlock(&g_open_lock);
    GUARD_OUT(rc);
    GUARD_OUT(configure(ss));
    /* The readers, once the file is known good and in WAL mode. */
    for (int i = 0; i < READERS; i++) {
        pthread_mutex_lock(&g_open_lock);
        rc = conn_open(full, &ss->readers[i]);
        pthread_mutex_unlock(&g_open_lock);
        GUARD_OUT(rc);
        GUARD_OUT(settings(ss->readers[i]));
        GUARD_OUT(prepare_statements(ss->readers[i]));
    }
    *out = &ss->base;
    ss = NULL;
out:
    free(full);
    if (ss != NULL)
        sqlite_free(&ss->base);
    return rc;
}
