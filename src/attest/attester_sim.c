/*
 * attester_sim.c - the simulated TEE as an attester (sim.h): SGX quotes v3,
 * or TDX quotes v4 when asked, from the sim folder given in the
 * configuration or $AECS_SIM_DIR. Insecure by design (the keys are files),
 * so it is used only when named or configured, and attester.c logs a warning
 * whenever it is opened.
 */
#include <stdio.h>
#include <string.h>

#include "attest/attester_backend.h"
#include "attest/sim.h"
#include "base/file.h"

static int sim_probe(const struct aecs_attester *a)
{
    char path[ATTESTER_PATH_MAX];

    ENSURE(a->sim_dir != NULL, AECS_E_INVALID_ARGUMENT,
           "sim: no sim folder configured (--sim DIR or %s)", AECS_SIM_DIR_ENV);
    int n = snprintf(path, sizeof(path), "%s/%s", a->sim_dir, AECS_SIM_ROOT_FILE);
    ENSURE(n > 0 && (size_t)n < sizeof(path), AECS_E_INVALID_ARGUMENT, "sim: path too long: %.100s",
           a->sim_dir);
    ENSURE(aecs_file_exists(path), AECS_E_NOT_FOUND,
           "sim: %.150s is not an initialised sim (no %s): run 'aecs sim init %.150s' first",
           a->sim_dir, AECS_SIM_ROOT_FILE, a->sim_dir);
    return AECS_OK;
}

static int sim_evidence(struct aecs_attester *a, const uint8_t report_data[64], uint8_t **evidence,
                        size_t *size, struct aecs_attester_expect *expect)
{
    struct aecs_sim_quote_params p;

    if (a->has_sim_identity)
        p = a->sim_identity;
    else
        memset(&p, 0, sizeof(p));
    p.tee = a->sim_tdx ? AECS_SIM_TDX : AECS_SIM_SGX;
    memcpy(p.report_data, report_data, sizeof(p.report_data));
    int rc = aecs_sim_quote(a->sim_dir, &p, evidence, size);
    if (rc != AECS_OK) {
        aecs_err_prefix("sim: ");
        return rc;
    }
    expect->platform = a->sim_tdx ? AECS_ATTESTER_TDX : AECS_ATTESTER_SGX;
    snprintf(expect->source, sizeof(expect->source), "the quote of the sim in %.250s", a->sim_dir);
    return AECS_OK;
}

const struct aecs_attester_backend g_aecs_attester_sim = {
    .name = "sim",
    .hint = NULL,
    .probe = sim_probe,
    .evidence = sim_evidence,
};
