/*
 * pcs_loopback.h - the loopback PCS (tests/tools/pcs_server) for unit tests;
 * stop, steer and read it with the tu_loopback_* calls of loopback.h.
 * Counters: "requests" (all collateral requests), "tcb", "qe", "pckcrl",
 * "rootcacrl"; /_control queries like "mode=404&only=tcb".
 */
#ifndef AECS_TEST_PCS_LOOPBACK_H
#define AECS_TEST_PCS_LOOPBACK_H

#include "loopback.h"

/* Starts the server with the given vector sets (NULL-terminated) and extra flags (may be NULL). */
void pcs_loopback_start(struct tu_loopback *s, const char *const *sets, const char *const *flags);

#endif
