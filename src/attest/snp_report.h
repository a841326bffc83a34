/*
 * snp_report.h - JSON renderings of SEV-SNP reports and verdicts (the SNP
 * counterpart of report.h). The caller owns the returned json_t.
 */
#ifndef AECS_ATTEST_SNP_REPORT_H
#define AECS_ATTEST_SNP_REPORT_H

#include <jansson.h>

#include "attest/snp.h"

/* Every field of the report (byte strings as lowercase hex, TCBs decoded). */
json_t *aecs_snp_report_to_json(const struct aecs_snp_report *r);
/* The normalized claims of a report (what policies match on). */
json_t *aecs_snp_claims_json(const struct aecs_snp_report *r);
/* A TCB_VERSION: raw hex (report byte order) and its components. */
json_t *aecs_snp_tcb_json(const struct aecs_snp_tcb *t);
/*
 * The verdict, with the same top-level fields as the DCAP one: verified,
 * platform "snp", status null, qv_result null, advisory_ids [],
 * collateral_expired, claims, and `error` {stage, code, message} when not
 * verified.
 */
json_t *aecs_snp_result_to_json(const struct aecs_snp_result *r);

#endif
