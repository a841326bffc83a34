/*
 * qcnl.h - /etc/sgx_default_qcnl.conf, the file Intel's DCAP libraries (QCNL,
 * the quote provider library) read to find the PCCS, in both its forms:
 *
 *   legacy   KEY=VALUE lines, '#' comments:   PCCS_URL=https://host:8081/sgx/certification/v3/
 *                                             USE_SECURE_CERT=FALSE
 *   JSON     an object, with // and / * * / comments allowed:
 *            { "pccs_url": "https://host:8081/sgx/certification/v4/", "use_secure_cert": false }
 *
 * The keys mean what they mean to Intel's library:
 *   pccs_url (PCCS_URL; PCS_URL in the oldest files): the PCCS; default
 *       https://localhost:8081/sgx/certification/v4/
 *   collateral_service (COLLATERAL_SERVICE): where verification collateral
 *       (TCB Info, QE Identity, CRLs) is fetched; pccs_url when absent
 *   use_secure_cert (USE_SECURE_CERT): false turns TLS peer verification off
 *       (INSECURE; a warning is logged when a file asks for it)
 *   retry_times (RETRY_TIMES): extra attempts after a transient failure
 *   retry_delay (RETRY_DELAY): seconds between attempts; 0 means 1 s, 2 s, 4 s, ...
 *   pccs_api_version, local_pck_url, pck_cache_expire_hours,
 *   verify_collateral_cache_expire_hours, local_cache_only,
 *   custom_request_options: read and kept (or, for the last, accepted) for
 *       the tools that report on them; aecs's fetcher does not use them.
 *
 * The form is told apart as Intel's library does: a file whose first
 * character outside JSON comments is '{' is JSON, anything else is legacy.
 * aecs is stricter than Intel's library, which silently skips what it cannot
 * read: a JSON syntax error, a known key with the wrong type, a legacy line
 * without '=', a number that is not one, a boolean that is not true/false,
 * or a URL that is not http(s) is an error naming the file and line. Unknown
 * keys are ignored with a warning (a typo would otherwise go unnoticed).
 *
 * JSON comments are removed by replacing their characters with spaces and
 * keeping every newline, so jansson's error line is the line in the file.
 */
#ifndef AECS_ATTEST_QCNL_H
#define AECS_ATTEST_QCNL_H

#include <stddef.h>

#include "base/err.h"

#define AECS_QCNL_DEFAULT_PATH "/etc/sgx_default_qcnl.conf"
#define AECS_QCNL_DEFAULT_PCCS_URL "https://localhost:8081/sgx/certification/v4/"
#define AECS_QCNL_URL_MAX 1024
#define AECS_QCNL_MAX_FILE (1u << 20)
#define AECS_QCNL_MAX_RETRY_TIMES 100
#define AECS_QCNL_MAX_RETRY_DELAY 3600

enum aecs_qcnl_format { AECS_QCNL_LEGACY = 1, AECS_QCNL_JSON = 2 };

struct aecs_qcnl {
    enum aecs_qcnl_format format;
    char pccs_url[AECS_QCNL_URL_MAX];
    /* the URL collateral comes from: collateral_service when set, else pccs_url */
    char collateral_url[AECS_QCNL_URL_MAX];
    int has_collateral_service;
    int use_secure_cert;     /* 1 unless the file says false */
    int use_secure_cert_line; /* the line that turned it off (0: not set in the file) */
    unsigned retry_times;
    unsigned retry_delay;    /* seconds */
    char pccs_api_version[16];
    char local_pck_url[AECS_QCNL_URL_MAX];
    double pck_cache_expire_hours;
    double verify_collateral_cache_expire_hours;
    int local_cache_only;

    /* On failure: the line at fault (0 when the problem has no line, e.g. a missing file). */
    int error_line;
};

/* Fills out with Intel's defaults, as if the file were empty. */
void aecs_qcnl_defaults(struct aecs_qcnl *out);

/*
 * Reads and parses the file at path (AECS_QCNL_DEFAULT_PATH when NULL). On
 * failure the recorded error names the file and line ("FILE:LINE: ...") and
 * out->error_line holds the line; a missing file is AECS_E_NOT_FOUND.
 */
AECS_MUST_CHECK int aecs_qcnl_load(const char *path, struct aecs_qcnl *out);

/* The same over text already in memory; `name` is used in messages. */
AECS_MUST_CHECK int aecs_qcnl_parse(const char *text, size_t size, const char *name,
                                    struct aecs_qcnl *out);

/*
 * Replaces the characters of // and / * * / comments outside JSON strings
 * with spaces, keeping newlines, in place. AECS_E_FORMAT for a comment that
 * is not closed; *bad_line gets its first line.
 */
AECS_MUST_CHECK int aecs_qcnl_strip_json_comments(char *text, size_t size, int *bad_line);

#endif
