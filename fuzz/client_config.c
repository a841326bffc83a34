/*
 * client_config.c - libFuzzer target for the client configuration parser
 * (src/client/client_config.c, with the server policy read by
 * aecs_policy_rules_parse): YAML bytes in, no crash, no leak, and what is
 * accepted has the properties client_config.h promises, checked here by code
 * of its own: 1 to AECS_CRED_MAX_SERVERS servers, each http(s):// with a host
 * and no path, user, query, blank or trailing '/'; exactly one of `ca` and a
 * pin; 1 to AECS_POLICY_MAX_RULES server rules, each naming an identity;
 * paths joined to the base folder; an attester type from the list, with what
 * that type needs; timeouts in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client_config.h"

#include "config_checks.h"

static int one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"auto",         "sim",       "gramine", "tsm",
                                        "configfs-tsm", "sev-guest", "file",    NULL};
    struct aecs_client_config *c = NULL;

    if (aecs_client_config_parse((const char *)data, size, "fuzz.yaml", BASE, &c) != AECS_OK) {
        if (c != NULL)
            abort();
        return 0;
    }
    if (c == NULL || c->server_count < 1 || c->server_count > AECS_CRED_MAX_SERVERS)
        abort();
    for (size_t i = 0; i < c->server_count; i++)
        check_url(c->servers[i]);
    if ((c->ca != NULL) == (c->pinned != 0) || c->pinned != c->pin.pinned)
        abort();
    check_path(c->ca);
    if (!c->trust.has_policy || c->trust.server_rules.count < 1 ||
        c->trust.server_rules.count > AECS_POLICY_MAX_RULES)
        abort();
    if (c->key != NULL || c->service != NULL) /* credential files' keys only */
        abort();
    for (size_t i = 0; i < c->trust.server_rules.count; i++) {
        if (!aecs_policy_rule_has_identity(&c->trust.server_rules.items[i]) ||
            c->trust.server_rules.items[i].insecure_allow_any_enclave)
            abort();
    }
    check_path(c->trust.collateral_dir);
    check_path(c->trust.collateral_cache_dir);
    check_path(c->trust.intel_root);
    check_path(c->trust.snp_collateral_dir);
    check_path(c->trust.kds_cache_dir);
    check_path(c->trust.insecure_trust_sim);
    /* service_id: unset, or 32 lowercase hex digits as the server writes it */
    if (c->trust.service_id[0] != '\0') {
        if (strnlen(c->trust.service_id, sizeof(c->trust.service_id)) != 32)
            abort();
        for (size_t i = 0; i < 32; i++) {
            char ch = c->trust.service_id[i];
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
                abort();
        }
    }
    if (c->trust.accept_insecure_server != 0 && c->trust.accept_insecure_server != 1)
        abort();
    check_path(c->attest_root);
    check_path(c->sim_dir);
    check_path(c->quote_file);
    if (c->attester == NULL || !one_of(c->attester, types))
        abort();
    if (strcmp(c->attester, "sim") == 0 && c->sim_dir == NULL)
        abort();
    if ((strcmp(c->attester, "file") == 0) != (c->quote_file != NULL))
        abort();
    if (c->trust.kds_url != NULL && !c->trust.use_kds)
        abort();
    if (c->has_privlevel && c->privlevel > 3)
        abort();
    if (c->connect_timeout < 1 || c->connect_timeout > AECS_CLIENT_CONFIG_MAX_TIMEOUT ||
        c->timeout < 1 || c->timeout > AECS_CLIENT_CONFIG_MAX_TIMEOUT)
        abort();
    aecs_client_config_free(c);
    return 0;
}
