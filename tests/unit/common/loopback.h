/*
 * loopback.h - runs one of the test servers of tests/tools (a PCS or an AMD
 * KDS stand-in on 127.0.0.1) from a unit test: start it, steer it through
 * /_control, read /_stats, stop it. Every call asserts on failure.
 */
#ifndef AECS_TEST_LOOPBACK_H
#define AECS_TEST_LOOPBACK_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct tu_loopback {
    pid_t pid;
    int port;
    char url[64]; /* "http://127.0.0.1:PORT" */
};

/*
 * Starts tests/tools/<tool> (found beside AECS_BIN, or beside this test
 * program) with `args` (NULL-terminated) after its own name, and waits at most
 * 10 s for the port it prints first.
 */
void tu_loopback_start(struct tu_loopback *s, const char *tool, const char *const *args);
/* Stops it (SIGTERM, then waits). */
void tu_loopback_stop(struct tu_loopback *s);
/* GET /_control?<query>, e.g. "mode=404&only=tcb". */
void tu_loopback_control(struct tu_loopback *s, const char *query);
/* The parsed /_stats (the caller frees it with json_decref). */
json_t *tu_loopback_stats(struct tu_loopback *s);
/* An integer counter from /_stats. */
long tu_loopback_count(struct tu_loopback *s, const char *name);

#endif
