/*
 * config.c - aecsd's flat YAML configuration file (see config.h), read with
 * libyaml's document loader.
 */
#include "service/config.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static int scalar_ok(const yaml_node_t *n)
{
    static const char *const tags[] = {YAML_STR_TAG, YAML_INT_TAG, YAML_BOOL_TAG, YAML_NULL_TAG};

    if (n == NULL || n->type != YAML_SCALAR_NODE)
        return 0;
    if (n->tag == NULL)
        return 1;
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        if (strcmp((const char *)n->tag, tags[i]) == 0)
            return 1;
    }
    return 0;
}

static int add_item(struct aecs_config *cfg, const yaml_node_t *k, const yaml_node_t *v,
                    const char *source)
{
    struct aecs_config_item *it;
    int line = (int)k->start_mark.line + 1;

    ENSURE(cfg->count < AECS_CONFIG_MAX_KEYS, AECS_E_TOO_LARGE, "%.200s:%d: more than %d keys",
           source, line, AECS_CONFIG_MAX_KEYS);
    ENSURE(scalar_ok(k) && k->data.scalar.length > 0, AECS_E_FORMAT,
           "%.200s:%d: a key must be a plain name", source, line);
    ENSURE(scalar_ok(v), AECS_E_FORMAT, "%.200s:%d: %.64s: the value must be a single scalar",
           source, line, (const char *)k->data.scalar.value);
    ENSURE(strlen((const char *)k->data.scalar.value) == k->data.scalar.length &&
               strlen((const char *)v->data.scalar.value) == v->data.scalar.length,
           AECS_E_FORMAT, "%.200s:%d: NUL byte in a key or value", source, line);
    for (size_t i = 0; i < cfg->count; i++) {
        ENSURE(strcmp(cfg->items[i].key, (const char *)k->data.scalar.value) != 0,
               AECS_E_FORMAT, "%.200s:%d: %.64s is repeated (first on line %d)", source, line,
               cfg->items[i].key, cfg->items[i].line);
    }
    it = &cfg->items[cfg->count];
    it->key = strdup((const char *)k->data.scalar.value);
    it->value = strdup((const char *)v->data.scalar.value);
    it->line = line;
    cfg->count++;
    ENSURE(it->key != NULL && it->value != NULL, AECS_E_NO_MEMORY, "out of memory");
    return AECS_OK;
}

int aecs_config_parse(const char *text, size_t size, const char *source, struct aecs_config *out)
{
    int rc = AECS_OK;
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int have_doc = 0, have_extra = 0;
    yaml_node_t *root;
    unsigned char *used = NULL;

    memset(out, 0, sizeof(*out));
    ENSURE(size <= AECS_CONFIG_MAX_SIZE, AECS_E_TOO_LARGE, "%.200s: larger than %u bytes",
           source, AECS_CONFIG_MAX_SIZE);
    out->items = calloc(AECS_CONFIG_MAX_KEYS, sizeof(*out->items));
    ENSURE(out->items != NULL, AECS_E_NO_MEMORY, "out of memory");
    ENSURE(yaml_parser_initialize(&parser) == 1, AECS_E_NO_MEMORY, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    if (yaml_parser_load(&parser, &doc) != 1) {
        rc = AECS_ERR(AECS_E_FORMAT, "%.200s:%d: %.200s", source,
                      (int)parser.problem_mark.line + 1,
                      parser.problem != NULL ? parser.problem : "not YAML");
        goto out;
    }
    have_doc = 1;
    root = yaml_document_get_root_node(&doc);
    if (root == NULL)
        goto out; /* an empty file: no options */
    ENSURE_OUT(root->type == YAML_MAPPING_NODE, AECS_E_FORMAT,
               "%.200s:%d: the file must be a mapping of option: value", source,
               (int)root->start_mark.line + 1);
    /* A node used twice is an alias: refused. */
    used = calloc((size_t)(doc.nodes.top - doc.nodes.start) + 1, 1);
    ENSURE_OUT(used != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&doc, p->value);
        ENSURE_OUT(k != NULL && v != NULL && !used[p->key] && !used[p->value], AECS_E_FORMAT,
                   "%.200s: aliases are not allowed", source);
        used[p->key] = used[p->value] = 1;
        GUARD_OUT(add_item(out, k, v, source));
    }
    if (yaml_parser_load(&parser, &extra) != 1) {
        rc = AECS_ERR(AECS_E_FORMAT, "%.200s: %.200s", source,
                      parser.problem != NULL ? parser.problem : "not YAML");
        goto out;
    }
    have_extra = 1;
    ENSURE_OUT(yaml_document_get_root_node(&extra) == NULL, AECS_E_FORMAT,
               "%.200s: more than one YAML document", source);
out:
    free(used);
    if (have_extra)
        yaml_document_delete(&extra);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

void aecs_config_free(struct aecs_config *cfg)
{
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->items[i].key);
        free(cfg->items[i].value);
    }
    free(cfg->items);
    memset(cfg, 0, sizeof(*cfg));
}
