/*
 * collateral_mem.c - see collateral_mem.h. Mirrors aecs_collateral_load_dir
 * item by item, with bytes instead of files; the parsers are collateral.c's.
 */
#include "attest/collateral_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records the first content problem; later ones are not interesting. */
static void note_problem(struct aecs_collateral *c, enum aecs_collateral_problem what,
                         const char *item)
{
    if (c->problem != AECS_COL_OK)
        return;
    c->problem = what;
    snprintf(c->problem_message, sizeof(c->problem_message), "collateral: %.60s: %.300s", item,
             aecs_err_last()->message);
}

static int need(const uint8_t *p, size_t size, const char *item)
{
    ENSURE(p != NULL && size > 0, AECS_E_INVALID_ARGUMENT, "collateral: %s is missing", item);
    return AECS_OK;
}

static void mem_crl(struct aecs_collateral *c, const uint8_t *p, size_t size, const char *item,
                    struct aecs_crl **out)
{
    if (aecs_crl_parse(p, size, out) != AECS_OK)
        note_problem(c, AECS_COL_BAD_CRL, item);
}

static void mem_chain(struct aecs_collateral *c, const uint8_t *p, size_t size, const char *item,
                      enum aecs_collateral_problem what, struct aecs_certs **out)
{
    if (aecs_certs_parse(p, size, out) != AECS_OK || aecs_certs_order_chain(*out) != AECS_OK)
        note_problem(c, what, item);
}

/* A PCS response and its chain into a signed document that owns a copy of the text. */
static int mem_signed(struct aecs_collateral *c, const uint8_t *p, size_t size,
                      const uint8_t *chain, size_t chain_size, const char *item,
                      const char *member, enum aecs_collateral_problem what,
                      struct aecs_signed_doc *doc)
{
    char chain_item[80];

    doc->text = malloc(size + 1);
    ENSURE(doc->text != NULL, AECS_E_NO_MEMORY, "out of memory");
    memcpy(doc->text, p, size);
    doc->text[size] = '\0';
    if (aecs_pcs_split(doc->text, size, member, &doc->body, &doc->body_size, doc->sig) !=
        AECS_OK) {
        note_problem(c, what, item);
        doc->body = NULL;
        doc->body_size = 0;
    }
    snprintf(chain_item, sizeof(chain_item), "%s issuer chain", item);
    mem_chain(c, chain, chain_size, chain_item, AECS_COL_BAD_SIGNING_CHAIN, &doc->issuer_chain);
    return AECS_OK;
}

int aecs_collateral_from_memory(const struct aecs_collateral_blobs *b,
                                struct aecs_collateral **out)
{
    int rc = AECS_OK;
    struct aecs_collateral *c = NULL;

    *out = NULL;
    GUARD(need(b->root_ca_crl, b->root_ca_crl_size, "the root CA CRL"));
    GUARD(need(b->pck_crl, b->pck_crl_size, "the PCK CRL"));
    GUARD(need(b->tcb_info, b->tcb_info_size, "the TCB Info"));
    GUARD(need(b->tcb_info_issuer_chain, b->tcb_info_issuer_chain_size,
               "the TCB Info issuer chain"));
    GUARD(need(b->qe_identity, b->qe_identity_size, "the QE Identity"));
    GUARD(need(b->qe_identity_issuer_chain, b->qe_identity_issuer_chain_size,
               "the QE Identity issuer chain"));
    c = calloc(1, sizeof(*c));
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");

    mem_crl(c, b->root_ca_crl, b->root_ca_crl_size, "root CA CRL", &c->root_ca_crl);
    mem_crl(c, b->pck_crl, b->pck_crl_size, "PCK CRL", &c->pck_crl);
    GUARD_OUT(mem_signed(c, b->tcb_info, b->tcb_info_size, b->tcb_info_issuer_chain,
                         b->tcb_info_issuer_chain_size, "TCB Info", "tcbInfo",
                         AECS_COL_BAD_TCB_INFO, &c->tcb_info_doc));
    if (c->tcb_info_doc.body != NULL &&
        aecs_tcb_info_parse(c->tcb_info_doc.body, c->tcb_info_doc.body_size, &c->tcb_info) !=
            AECS_OK)
        note_problem(c, AECS_COL_BAD_TCB_INFO, "TCB Info");
    GUARD_OUT(mem_signed(c, b->qe_identity, b->qe_identity_size, b->qe_identity_issuer_chain,
                         b->qe_identity_issuer_chain_size, "QE Identity", "enclaveIdentity",
                         AECS_COL_BAD_QE_IDENTITY, &c->qe_identity_doc));
    if (c->qe_identity_doc.body != NULL &&
        aecs_qe_identity_parse(c->qe_identity_doc.body, c->qe_identity_doc.body_size,
                               &c->qe_identity) != AECS_OK)
        note_problem(c, AECS_COL_BAD_QE_IDENTITY, "QE Identity");
    if (b->pck_chain != NULL && b->pck_chain_size > 0)
        mem_chain(c, b->pck_chain, b->pck_chain_size, "PCK chain", AECS_COL_BAD_PCK_CHAIN,
                  &c->pck_chain);
    if (b->pck_crl_issuer_chain != NULL && b->pck_crl_issuer_chain_size > 0)
        mem_chain(c, b->pck_crl_issuer_chain, b->pck_crl_issuer_chain_size,
                  "PCK CRL issuer chain", AECS_COL_BAD_PCK_CHAIN, &c->pck_crl_chain);
    *out = c;
    c = NULL;
out:
    aecs_collateral_free(c);
    return rc;
}

static void earliest(int64_t *t, int64_t candidate)
{
    if (candidate > 0 && (*t == 0 || candidate < *t))
        *t = candidate;
}

int64_t aecs_collateral_next_update(const struct aecs_collateral *c)
{
    int64_t t = 0;

    if (c->tcb_info != NULL)
        earliest(&t, c->tcb_info->next_update);
    if (c->qe_identity != NULL)
        earliest(&t, c->qe_identity->next_update);
    if (c->root_ca_crl != NULL)
        earliest(&t, aecs_crl_next_update(c->root_ca_crl));
    if (c->pck_crl != NULL)
        earliest(&t, aecs_crl_next_update(c->pck_crl));
    return t;
}
