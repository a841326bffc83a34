/*
 * kds_loopback.h - runs tests/tools/kds_server (an AMD KDS stand-in on
 * 127.0.0.1) from a unit test: start it, steer it through /_control, read its
 * counters and the last request URIs from /_stats, stop it. Every call
 * asserts on failure.
 */
#ifndef AECS_TEST_KDS_LOOPBACK_H
#define AECS_TEST_KDS_LOOPBACK_H

#include <stddef.h>
#include <sys/types.h>

struct kds_loopback {
    pid_t pid;
    int port;
    char url[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts the server on tests/data/snp. */
void kds_loopback_start(struct kds_loopback *s);
/* Stops it (SIGTERM, then waits). */
void kds_loopback_stop(struct kds_loopback *s);
/* GET /_control?<query>, e.g. "mode=429&only=vcek&count=1&retry_after=1". */
void kds_loopback_control(struct kds_loopback *s, const char *query);
/* A counter from /_stats: "requests", "vcek" or "chain". */
long kds_loopback_count(struct kds_loopback *s, const char *name);
/* A string from /_stats ("last_vcek", "last_chain") copied into buf. */
void kds_loopback_last(struct kds_loopback *s, const char *name, char *buf, size_t size);

#endif
