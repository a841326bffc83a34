/*
 * policy_internal.h - what the policy sources share and nobody else uses: a
 * small document tree (mappings, sequences, scalars with their line) that both
 * the YAML loader (libyaml) and the JSON reader (jansson) produce, so one
 * validator (policy.c) checks both forms the same way; and the error context
 * that turns a failure into "SOURCE:LINE: PATH: REASON".
 */
#ifndef AECS_POLICY_POLICY_INTERNAL_H
#define AECS_POLICY_POLICY_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "policy/policy.h"

#define PNODE_MAX_DEPTH 32

enum pnode_kind { PNODE_SCALAR = 1, PNODE_SEQ, PNODE_MAP };

struct pnode {
    enum pnode_kind kind;
    int quoted;  /* a YAML scalar in quotes or a block scalar, or a JSON string */
    char *value; /* scalars: NUL-terminated (NULs inside are refused) */
    size_t len;  /* scalars: strlen(value) */
    int line;    /* 1-based; 0 when unknown (JSON) */
    int column;
    size_t count;        /* sequence items, or mapping pairs */
    struct pnode **kids; /* SEQ: count items; MAP: 2*count, key then value */
};

/* Frees a tree, wiping every scalar (they may hold secrets). NULL is fine. */
void pnode_free(struct pnode *n);

/* Parse and validation context: the source name, the path being checked, the flags. */
struct pctx {
    const char *source; /* file name for messages, may be NULL */
    unsigned flags;     /* AECS_POLICY_* */
    int json;           /* checking the JSON form of a spec */
    struct aecs_policy_error *err;
    char path[256];
    size_t path_len;
};

void pctx_init(struct pctx *c, const char *source, unsigned flags, int json,
               struct aecs_policy_error *err);

/*
 * Records a failure at node n (its line, the current path) with `code`, fills
 * c->err, and returns code.
 */
int pctx_fail(struct pctx *c, const struct pnode *n, int code, const char *fmt, ...)
    AECS_PRINTF(4, 5);
/* The same for a failure with no node (line given, possibly 0). */
int pctx_fail_at(struct pctx *c, int line, int column, int code, const char *fmt, ...)
    AECS_PRINTF(5, 6);

/* Appends to the path ("secrets[2]", ".spec"); returns the length to restore. */
size_t pctx_push(struct pctx *c, const char *fmt, ...) AECS_PRINTF(2, 3);
void pctx_pop(struct pctx *c, size_t mark);

/*
 * The YAML loader: text[0..size) to a tree. Rejects aliases, custom tags,
 * more than one document, nesting deeper than PNODE_MAX_DEPTH and NUL bytes.
 */
AECS_MUST_CHECK int pnode_from_yaml(struct pctx *c, const char *text, size_t size,
                                    struct pnode **out);

/* The JSON reader: strings become quoted scalars, numbers, booleans and null plain ones. */
AECS_MUST_CHECK int pnode_from_json(struct pctx *c, const json_t *json, struct pnode **out);

/* The validator: a whole SecretPolicy document, or one spec's mapping. */
AECS_MUST_CHECK int policy_from_tree(struct pctx *c, const struct pnode *root,
                                     struct aecs_policy **out);
AECS_MUST_CHECK int spec_from_tree(struct pctx *c, const struct pnode *spec,
                                   const struct pnode *data, struct aecs_secret_spec *out);

/* Frees what a spec owns (wiping params and data) and zeroes it. */
void spec_clear(struct aecs_secret_spec *s);

#endif
