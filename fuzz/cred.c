/*
 * cred.c - libFuzzer target for the credential file parser
 * (src/client/cred.c): YAML bytes in, no crash, no leak, and what is accepted
 * has the properties cred.h promises, checked here by code of its own:
 * at most AECS_CRED_MAX_SERVERS servers, each https:// or http:// with a host
 * and no path, user, query, blank or trailing '/'; paths joined to the base
 * folder; not both `ca` and a pin; a service name of the API's alphabet;
 * and, when server_policy or verifier is given (the client configuration's
 * parser reads them), 1 to AECS_POLICY_MAX_RULES rules that each name an
 * identity, verifier paths joined the same way, kds_url only with use_kds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client_config.h"
#include "client/cred.h"

#include "config_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aecs_cred *c = NULL;

    if (aecs_cred_parse((const char *)data, size, "fuzz.yaml", BASE, &c) != AECS_OK) {
        if (c != NULL)
            abort();
        return 0;
    }
    if (c == NULL || c->server_count > AECS_CRED_MAX_SERVERS)
        abort();
    for (size_t i = 0; i < c->server_count; i++)
        check_url(c->servers[i]);
    check_path(c->key);
    check_path(c->ca);
    if (c->ca != NULL && c->pinned)
        abort();
    if (c->pinned != c->pin.pinned)
        abort();
    if (c->service != NULL) {
        size_t n = strlen(c->service);
        if (n < 1 || n > 64 || c->service[0] == '.' ||
            strspn(c->service,
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
            abort();
    }
    if (c->trust != NULL) {
        const struct aecs_server_trust *t = c->trust;
        if (t->has_policy &&
            (t->server_rules.count < 1 || t->server_rules.count > AECS_POLICY_MAX_RULES))
            abort();
        if (!t->has_policy && t->server_rules.count != 0)
            abort();
        for (size_t i = 0; i < t->server_rules.count; i++) {
            if (!aecs_policy_rule_has_identity(&t->server_rules.items[i]) ||
                t->server_rules.items[i].insecure_allow_any_enclave)
                abort();
        }
        check_path(t->collateral_dir);
        check_path(t->collateral_cache_dir);
        check_path(t->intel_root);
        check_path(t->snp_collateral_dir);
        check_path(t->kds_cache_dir);
        check_path(t->insecure_trust_sim);
        if (t->kds_url != NULL && !t->use_kds)
            abort();
    }
    (void)aecs_cred_check(c, AECS_CRED_NEED_KEY);
    aecs_cred_free(c);
    return 0;
}
