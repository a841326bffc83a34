/*
 * pcs_loopback.h - runs tests/tools/pcs_server (a PCS stand-in on 127.0.0.1)
 * from a unit test: start it, steer it through /_control, read its request
 * counters from /_stats, stop it. Every call asserts on failure.
 */
#ifndef AECS_TEST_PCS_LOOPBACK_H
#define AECS_TEST_PCS_LOOPBACK_H

#include <sys/types.h>

struct pcs_loopback {
    pid_t pid;
    int port;
    char url[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts the server with the given vector sets (NULL-terminated) and extra flags (may be NULL). */
void pcs_loopback_start(struct pcs_loopback *s, const char *const *sets, const char *const *flags);
/* Stops it (SIGTERM, then waits). */
void pcs_loopback_stop(struct pcs_loopback *s);
/* GET /_control?<query>, e.g. "mode=404&only=tcb". */
void pcs_loopback_control(struct pcs_loopback *s, const char *query);
/* A counter from /_stats: "requests" (all collateral requests), "tcb", "qe", "pckcrl", "rootcacrl". */
long pcs_loopback_count(struct pcs_loopback *s, const char *name);

#endif
