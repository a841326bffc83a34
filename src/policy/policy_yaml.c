/*
 * policy_yaml.c - YAML text to the policy document tree, with libyaml's
 * document API (the loader composes the node graph; nothing here scans YAML).
 *
 * The tree is copied out of libyaml's graph node by node, and stricter than
 * YAML itself: a node reached twice is an alias (*name) and refused, so is a
 * tag outside the core schema (!custom, !!binary), a second document, a
 * scalar holding a NUL and nesting deeper than PNODE_MAX_DEPTH. Lines and
 * columns come from libyaml's marks (0-based there, 1-based here).
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy/policy_internal.h"

#define CORE_TAG "tag:yaml.org,2002:"

struct yload {
    struct pctx *c;
    yaml_document_t *doc;
    unsigned char *seen;
    size_t node_count;
};

static int tag_allowed(const yaml_node_t *yn)
{
    static const char *const scalar_tags[] = {"str", "int", "bool", "null", "float"};
    const char *tag = (const char *)yn->tag;
    size_t core = strlen(CORE_TAG);

    if (tag == NULL)
        return 1;
    if (strncmp(tag, CORE_TAG, core) != 0)
        return 0;
    tag += core;
    switch (yn->type) {
    case YAML_SCALAR_NODE:
        for (size_t i = 0; i < sizeof(scalar_tags) / sizeof(scalar_tags[0]); i++) {
            if (strcmp(tag, scalar_tags[i]) == 0)
                return 1;
        }
        return 0;
    case YAML_SEQUENCE_NODE:
        return strcmp(tag, "seq") == 0;
    case YAML_MAPPING_NODE:
        return strcmp(tag, "map") == 0;
    case YAML_NO_NODE:
    default:
        return 0;
    }
}

static int load_node(struct yload *y, int id, int depth, struct pnode **out)
{
    struct pctx *c = y->c;
    struct pnode *n = NULL;
    int rc = AECS_OK;

    *out = NULL;
    yaml_node_t *yn = yaml_document_get_node(y->doc, id);
    if (yn == NULL || id < 1 || (size_t)id > y->node_count)
        return pctx_fail_at(c, 0, 0, AECS_E_FORMAT, "YAML: a node refers to nothing");
    int line = (int)yn->start_mark.line + 1;
    int column = (int)yn->start_mark.column + 1;
    if (depth > PNODE_MAX_DEPTH)
        return pctx_fail_at(c, line, column, AECS_E_FORMAT, "nested more than %d levels deep",
                            PNODE_MAX_DEPTH);
    if (y->seen[id - 1])
        return pctx_fail_at(
            c, line, column, AECS_E_FORMAT,
            "this value is used again through a YAML alias (*name); aliases are not "
            "supported: write the value out");
    y->seen[id - 1] = 1;
    if (!tag_allowed(yn))
        return pctx_fail_at(c, line, column, AECS_E_FORMAT, "unsupported YAML tag %.60s",
                            (const char *)yn->tag);

    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory");
    n->line = line;
    n->column = column;

    switch (yn->type) {
    case YAML_SCALAR_NODE: {
        size_t len = yn->data.scalar.length;
        n->kind = PNODE_SCALAR;
        n->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        if (len > 0 && memchr(yn->data.scalar.value, '\0', len) != NULL)
            GUARD_OUT(pctx_fail_at(c, line, column, AECS_E_FORMAT, "a value holds a NUL byte"));
        n->value = malloc(len + 1);
        ENSURE_OUT(n->value != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
        if (len > 0)
            memcpy(n->value, yn->data.scalar.value, len);
        n->value[len] = '\0';
        n->len = len;
        break;
    }
    case YAML_SEQUENCE_NODE: {
        yaml_node_item_t *start = yn->data.sequence.items.start;
        size_t count = (size_t)(yn->data.sequence.items.top - start);
        n->kind = PNODE_SEQ;
        if (count > 0) {
            n->kids = calloc(count, sizeof(*n->kids));
            ENSURE_OUT(n->kids != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
        }
        n->count = count;
        for (size_t i = 0; i < count; i++)
            GUARD_OUT(load_node(y, start[i], depth + 1, &n->kids[i]));
        break;
    }
    case YAML_MAPPING_NODE: {
        yaml_node_pair_t *start = yn->data.mapping.pairs.start;
        size_t count = (size_t)(yn->data.mapping.pairs.top - start);
        n->kind = PNODE_MAP;
        if (count > 0) {
            n->kids = calloc(2 * count, sizeof(*n->kids));
            ENSURE_OUT(n->kids != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
        }
        n->count = count;
        for (size_t i = 0; i < count; i++) {
            GUARD_OUT(load_node(y, start[i].key, depth + 1, &n->kids[2 * i]));
            GUARD_OUT(load_node(y, start[i].value, depth + 1, &n->kids[2 * i + 1]));
        }
        break;
    }
    case YAML_NO_NODE:
    default:
        BAIL_OUT(AECS_E_FORMAT, "policy: unexpected YAML node type %d", (int)yn->type);
    }
    *out = n;
    n = NULL;
out:
    pnode_free(n);
    return rc;
}

/* Turns libyaml's error state into a failure with the line it points at. */
static int yaml_failure(struct pctx *c, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return AECS_ERR(AECS_E_NO_MEMORY, "policy: out of memory in the YAML parser");
    if (p->error == YAML_READER_ERROR)
        return pctx_fail_at(c, 0, 0, AECS_E_FORMAT, "YAML: %s at byte %zu",
                            p->problem ? p->problem : "unreadable input", p->problem_offset);
    return pctx_fail_at(c, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
                        AECS_E_FORMAT, "YAML: %s%s%s", p->context ? p->context : "",
                        p->context ? ": " : "", p->problem ? p->problem : "syntax error");
}

int pnode_from_yaml(struct pctx *c, const char *text, size_t size, struct pnode **out)
{
    yaml_parser_t parser;
    yaml_document_t doc, next;
    int have_doc = 0;
    struct yload y = {.c = c};
    int rc = AECS_OK;

    *out = NULL;
    if (size > AECS_POLICY_MAX_SIZE)
        return pctx_fail_at(c, 0, 0, AECS_E_TOO_LARGE, "larger than %u bytes",
                            AECS_POLICY_MAX_SIZE);
    if (!yaml_parser_initialize(&parser))
        return AECS_ERR(AECS_E_NO_MEMORY, "policy: cannot initialize the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);

    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_failure(c, &parser);
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL)
        GUARD_OUT(pctx_fail_at(c, 0, 0, AECS_E_FORMAT,
                               "empty document: expected apiVersion, kind and secrets"));

    /* A second document is refused, and so is a syntax error after the first. */
    if (!yaml_parser_load(&parser, &next)) {
        rc = yaml_failure(c, &parser);
        goto out;
    }
    yaml_node_t *extra = yaml_document_get_root_node(&next);
    int extra_line = extra != NULL ? (int)extra->start_mark.line + 1 : 0;
    yaml_document_delete(&next);
    if (extra != NULL)
        GUARD_OUT(pctx_fail_at(c, extra_line, 0, AECS_E_FORMAT,
                               "more than one YAML document: put every secret under one "
                               "`secrets:` list"));

    y.doc = &doc;
    y.node_count = (size_t)(doc.nodes.top - doc.nodes.start);
    y.seen = calloc(y.node_count, 1);
    ENSURE_OUT(y.seen != NULL, AECS_E_NO_MEMORY, "policy: out of memory");
    /* The root is the first node the loader made. */
    GUARD_OUT(load_node(&y, 1, 0, out));
out:
    free(y.seen);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}
