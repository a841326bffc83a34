/*
 * policy_node.c - the document tree shared by the YAML and JSON forms, and the
 * error context that names file, line and field path; see policy_internal.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "policy/policy_internal.h"

void pnode_free(struct pnode *n)
{
    if (n == NULL)
        return;
    if (n->value != NULL) {
        aecs_cleanse(n->value, n->len);
        free(n->value);
    }
    size_t kids = n->kind == PNODE_MAP ? 2 * n->count : n->count;
    if (n->kids != NULL) {
        for (size_t i = 0; i < kids; i++)
            pnode_free(n->kids[i]);
        free(n->kids);
    }
    free(n);
}

void pctx_init(struct pctx *c, const char *source, unsigned flags, int json,
               struct aecs_policy_error *err)
{
    memset(c, 0, sizeof(*c));
    c->source = source;
    c->flags = flags;
    c->json = json;
    c->err = err;
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

static int AECS_PRINTF(5, 0)
    vfail(struct pctx *c, int line, int column, int code, const char *fmt, va_list ap)
{
    char reason[sizeof(((struct aecs_policy_error *)0)->reason)];
    const char *src = c->source != NULL ? c->source : (c->json ? "spec.json" : "policy");

    vsnprintf(reason, sizeof(reason), fmt, ap);
    if (c->err != NULL) {
        c->err->line = line;
        c->err->column = column;
        snprintf(c->err->path, sizeof(c->err->path), "%s", c->path);
        snprintf(c->err->reason, sizeof(c->err->reason), "%s", reason);
    }
    if (line > 0 && c->path_len > 0)
        return AECS_ERR(code, "%s:%d: %s: %s", src, line, c->path, reason);
    if (line > 0)
        return AECS_ERR(code, "%s:%d: %s", src, line, reason);
    if (c->path_len > 0)
        return AECS_ERR(code, "%s: %s: %s", src, c->path, reason);
    return AECS_ERR(code, "%s: %s", src, reason);
}

int pctx_fail(struct pctx *c, const struct pnode *n, int code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vfail(c, n != NULL ? n->line : 0, n != NULL ? n->column : 0, code, fmt, ap);
    va_end(ap);
    return rc;
}

int pctx_fail_at(struct pctx *c, int line, int column, int code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vfail(c, line, column, code, fmt, ap);
    va_end(ap);
    return rc;
}

size_t pctx_push(struct pctx *c, const char *fmt, ...)
{
    size_t mark = c->path_len;
    size_t room = sizeof(c->path) - c->path_len;
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->path_len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        c->path[c->path_len] = '\0';
    else if ((size_t)n >= room)
        c->path_len = sizeof(c->path) - 1;
    else
        c->path_len += (size_t)n;
    return mark;
}

void pctx_pop(struct pctx *c, size_t mark)
{
    if (mark < sizeof(c->path)) {
        c->path_len = mark;
        c->path[mark] = '\0';
    }
}
