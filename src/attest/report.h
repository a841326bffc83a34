/*
 * report.h - JSON renderings of parsed quotes and verification results, for
 * the CLI and (later) the server. The caller owns the returned json_t.
 */
#ifndef AECS_ATTEST_REPORT_H
#define AECS_ATTEST_REPORT_H

#include <jansson.h>

#include "attest/dcap.h"
#include "attest/quote.h"

/* Every field of the quote: header, body, signature data (hex strings). */
json_t *aecs_quote_to_json(const struct aecs_quote *q);
/* The normalized claims of a quote body (what policies match on). */
json_t *aecs_quote_claims_json(const struct aecs_quote *q);
/* The verification verdict with claims and, when not verified, the error. */
json_t *aecs_dcap_result_to_json(const struct aecs_dcap_result *r);

#endif
