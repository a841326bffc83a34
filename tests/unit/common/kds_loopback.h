/*
 * kds_loopback.h - the loopback AMD KDS (tests/tools/kds_server) for unit
 * tests; stop, steer and read it with the tu_loopback_* calls of loopback.h.
 * Counters: "requests", "vcek", "chain"; /_control queries like
 * "mode=429&only=vcek&count=1&retry_after=1".
 */
#ifndef AECS_TEST_KDS_LOOPBACK_H
#define AECS_TEST_KDS_LOOPBACK_H

#include <stddef.h>

#include "loopback.h"

/* Starts the server on tests/data/snp. */
void kds_loopback_start(struct tu_loopback *s);
/* A string from /_stats ("last_vcek", "last_chain") copied into buf. */
void kds_loopback_last(struct tu_loopback *s, const char *name, char *buf, size_t size);

#endif
