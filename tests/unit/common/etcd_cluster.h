/*
 * etcd_cluster.h - real etcd servers on loopback for the store tests: start a
 * cluster of 1 to 3 members (fresh temp folder, free ports), wait until it
 * has a leader, kill and restart members, talk to a member directly over its
 * JSON gateway (independently of the store code), run etcdctl, and stop it
 * all at the end.
 *
 * Members are children of the test process that die with it (prctl
 * PR_SET_PDEATHSIG) and are killed at exit too, so a failed or crashed test
 * leaves no etcd behind. When etcd is not installed, tu_etcd_start fails the
 * test with a message that says how to install it. Every call asserts.
 */
#ifndef AECS_TEST_ETCD_CLUSTER_H
#define AECS_TEST_ETCD_CLUSTER_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define TU_ETCD_MAX_MEMBERS 3
#define TU_ETCD_MAX_EXTRA 16

/* tu_etcd_start flags */
#define TU_ETCD_TLS 1u /* https client URLs, client certificates required (the files below) */

struct tu_etcd_member {
    pid_t pid; /* 0 while not running */
    int client_port;
    int peer_port;
    char client_url[64];
};

struct tu_etcd {
    char dir[64]; /* temp folder: data dirs m0/, m1/, ..., logs m0.log, ..., TLS files */
    size_t count;
    struct tu_etcd_member m[TU_ETCD_MAX_MEMBERS];
    char endpoints[256]; /* every client URL, comma-separated, in member order */
    unsigned flags;
    const char *extra[TU_ETCD_MAX_EXTRA + 1]; /* more etcd flags for every member */
    /* with TU_ETCD_TLS: the CA, and a client certificate and key it signed */
    char ca_file[128];
    char cert_file[128];
    char key_file[128];
    char auth[128]; /* "user:password" for tu_etcd_post and tu_etcdctl once auth is on */
};

/*
 * Starts `count` members (etcd flags in `extra`, NULL-terminated, may be
 * NULL) and waits at most 20 s for a leader. Fails the test, with the end of
 * the members' logs, when they do not come up.
 */
void tu_etcd_start(struct tu_etcd *c, size_t count, unsigned flags, const char *const *extra);
/* Kills every member still running and removes the folder. Fine on a zeroed struct. */
void tu_etcd_stop(struct tu_etcd *c);
/* SIGKILL to member i, and waits for it. */
void tu_etcd_kill(struct tu_etcd *c, size_t i);
/* Starts member i again on its data dir and ports (does not wait). */
void tu_etcd_restart(struct tu_etcd *c, size_t i);
/* Waits (at most 20 s) until every running member follows a running leader. */
void tu_etcd_wait_leader(struct tu_etcd *c);
/* Waits (at most 20 s) until member i says it has no leader. */
void tu_etcd_wait_no_leader(struct tu_etcd *c, size_t i);

/*
 * POSTs a JSON body to path on member i (with the cluster's TLS files and,
 * when c->auth is set, a token for it). Returns the HTTP status, or 0 when no
 * answer came; *out (if not NULL) gets the answer's JSON, or NULL.
 */
long tu_etcd_post(struct tu_etcd *c, size_t i, const char *path, const char *body, json_t **out);
/* Deletes every key (through a running member). */
void tu_etcd_wipe(struct tu_etcd *c);
/* Writes a string under a key as it is (through a running member, over the gateway). */
void tu_etcd_put(struct tu_etcd *c, const char *key, const char *value);
/*
 * The value etcd holds under key, NUL-terminated (the caller frees it), or
 * NULL when the key is absent; *version (may be NULL) gets etcd's version of
 * the key, 0 when absent. Read through a running member, over the gateway.
 */
char *tu_etcd_get(struct tu_etcd *c, const char *key, long long *version);
/* How many keys start with prefix (a non-empty string). */
long long tu_etcd_count(struct tu_etcd *c, const char *prefix);
/* Runs etcdctl (v3 API) against a running member with args (NULL-terminated); asserts exit 0. */
void tu_etcdctl(struct tu_etcd *c, const char *const *args);

/* The base64 of a string, for JSON bodies; the caller frees it. */
char *tu_b64(const char *s);

#endif
