/*
 * collateral.c - parsing of Intel DCAP collateral with jansson; see collateral.h.
 *
 * Parsers are strict: every field the verifier relies on must be present with
 * the right JSON type and size, unknown status strings are errors, and every
 * message names the field. Fields that only describe (category, type, tcbDate
 * of components) are ignored.
 */
#include "attest/collateral.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/file.h"
#include "base/reader.h"
#include "base/timeutil.h"

#define MAX_COLLATERAL_FILE (4u << 20)
#define MAX_LEVELS 256

static const char *const k_status_names[] = {
    "UpToDate",   "SWHardeningNeeded",           "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded",
    "Revoked",
};

const char *aecs_tcb_status_name(enum aecs_tcb_status s)
{
    if ((unsigned)s < sizeof(k_status_names) / sizeof(k_status_names[0]))
        return k_status_names[s];
    return "Unknown";
}

int aecs_tcb_status_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(k_status_names) / sizeof(k_status_names[0]); i++) {
        if (strcmp(name, k_status_names[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- small typed getters: each names the field on failure ---- */

static int get_member(const json_t *obj, const char *where, const char *key, json_t **out)
{
    *out = json_object_get(obj, key);
    ENSURE(*out != NULL, AECS_E_FORMAT, "%s: missing field '%s'", where, key);
    return AECS_OK;
}

static int get_int(const json_t *obj, const char *where, const char *key, long long min,
                   long long max, long long *out)
{
    json_t *v;

    GUARD(get_member(obj, where, key, &v));
    ENSURE(json_is_integer(v), AECS_E_FORMAT, "%s: field '%s' is not an integer", where, key);
    *out = json_integer_value(v);
    ENSURE(*out >= min && *out <= max, AECS_E_FORMAT, "%s: field '%s' = %lld is out of range",
           where, key, *out);
    return AECS_OK;
}

static int get_str(const json_t *obj, const char *where, const char *key, const char **out)
{
    json_t *v;

    GUARD(get_member(obj, where, key, &v));
    ENSURE(json_is_string(v), AECS_E_FORMAT, "%s: field '%s' is not a string", where, key);
    *out = json_string_value(v);
    return AECS_OK;
}

static int get_hex(const json_t *obj, const char *where, const char *key, uint8_t *out,
                   size_t size)
{
    const char *s;

    GUARD(get_str(obj, where, key, &s));
    if (aecs_hex_decode_exact(s, strlen(s), out, size) != AECS_OK)
        return AECS_ERR(AECS_E_FORMAT, "%s: field '%s' must be %zu bytes of hex", where, key, size);
    return AECS_OK;
}

static int get_time(const json_t *obj, const char *where, const char *key, int64_t *out)
{
    const char *s;

    GUARD(get_str(obj, where, key, &s));
    if (aecs_time_parse(s, out) != AECS_OK)
        return AECS_ERR(AECS_E_FORMAT, "%s: field '%s' is not an RFC 3339 time", where, key);
    return AECS_OK;
}

static int get_status(const json_t *obj, const char *where, enum aecs_tcb_status *out)
{
    const char *s;
    int st;

    GUARD(get_str(obj, where, "tcbStatus", &s));
    st = aecs_tcb_status_parse(s);
    ENSURE(st >= 0, AECS_E_FORMAT, "%s: unknown tcbStatus '%.40s'", where, s);
    *out = (enum aecs_tcb_status)st;
    return AECS_OK;
}

static int get_advisories(const json_t *obj, const char *where, struct aecs_advisories *out)
{
    json_t *arr = json_object_get(obj, "advisoryIDs");
    size_t i;
    json_t *v;

    out->count = 0;
    if (arr == NULL)
        return AECS_OK;
    ENSURE(json_is_array(arr), AECS_E_FORMAT, "%s: advisoryIDs is not an array", where);
    ENSURE(json_array_size(arr) <= AECS_MAX_ADVISORIES, AECS_E_FORMAT,
           "%s: more than %d advisoryIDs", where, AECS_MAX_ADVISORIES);
    json_array_foreach(arr, i, v)
    {
        ENSURE(json_is_string(v), AECS_E_FORMAT, "%s: advisoryIDs[%zu] is not a string", where, i);
        out->ids[out->count++] = json_string_value(v);
    }
    return AECS_OK;
}

static int get_array(const json_t *obj, const char *where, const char *key, size_t min,
                     size_t max, json_t **out)
{
    GUARD(get_member(obj, where, key, out));
    ENSURE(json_is_array(*out), AECS_E_FORMAT, "%s: field '%s' is not an array", where, key);
    ENSURE(json_array_size(*out) >= min && json_array_size(*out) <= max, AECS_E_FORMAT,
           "%s: field '%s' has %zu elements (expected %zu..%zu)", where, key,
           json_array_size(*out), min, max);
    return AECS_OK;
}

static int load_doc(const uint8_t *body, size_t size, const char *what, json_t **out)
{
    json_error_t jerr;

    *out = json_loadb((const char *)body, size, JSON_REJECT_DUPLICATES, &jerr);
    ENSURE(*out != NULL, AECS_E_FORMAT, "%s: not valid JSON (line %d: %.80s)", what, jerr.line,
           jerr.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return AECS_ERR(AECS_E_FORMAT, "%s: not a JSON object", what);
    }
    return AECS_OK;
}

/* Levels selected by ISV SVN: {"tcb":{"isvsvn":N},"tcbDate":..,"tcbStatus":..}. */
static int parse_isv_levels(const json_t *arr, const char *where, struct aecs_isv_level **out,
                            size_t *count)
{
    size_t i;
    json_t *lv;
    struct aecs_isv_level *levels = calloc(json_array_size(arr) + 1, sizeof(*levels));
    char w[96];

    ENSURE(levels != NULL, AECS_E_NO_MEMORY, "out of memory");
    json_array_foreach(arr, i, lv)
    {
        json_t *tcb = NULL;
        long long svn = 0;
        int rc;
        snprintf(w, sizeof(w), "%s.tcbLevels[%zu]", where, i);
        if ((rc = json_is_object(lv) ? AECS_OK : AECS_ERR(AECS_E_FORMAT, "%s: not an object", w)) ||
            (rc = get_member(lv, w, "tcb", &tcb)) ||
            (rc = get_int(tcb, w, "isvsvn", 0, 65535, &svn)) ||
            (rc = get_time(lv, w, "tcbDate", &levels[i].tcb_date)) ||
            (rc = get_status(lv, w, &levels[i].status)) ||
            (rc = get_advisories(lv, w, &levels[i].advisories))) {
            free(levels);
            return rc;
        }
        levels[i].isvsvn = (uint16_t)svn;
    }
    *out = levels;
    *count = json_array_size(arr);
    return AECS_OK;
}

static int parse_components(const json_t *tcb, const char *w, const char *key, uint16_t comp[16])
{
    json_t *arr;
    size_t i;
    json_t *c;

    GUARD(get_array(tcb, w, key, 16, 16, &arr));
    json_array_foreach(arr, i, c)
    {
        long long svn = 0;
        ENSURE(json_is_object(c), AECS_E_FORMAT, "%s: %s[%zu] is not an object", w, key, i);
        GUARD(get_int(c, w, "svn", 0, 65535, &svn));
        comp[i] = (uint16_t)svn;
    }
    return AECS_OK;
}

static int parse_tcb_level(const json_t *lv, const char *w, int version, int tdx,
                           struct aecs_tcb_level *out)
{
    json_t *tcb;
    long long v = 0;

    ENSURE(json_is_object(lv), AECS_E_FORMAT, "%s: not an object", w);
    GUARD(get_member(lv, w, "tcb", &tcb));
    ENSURE(json_is_object(tcb), AECS_E_FORMAT, "%s: tcb is not an object", w);
    if (version == 2) {
        for (int i = 0; i < 16; i++) {
            char key[32];
            snprintf(key, sizeof(key), "sgxtcbcomp%02dsvn", i + 1);
            GUARD(get_int(tcb, w, key, 0, 65535, &v));
            out->sgx_comp[i] = (uint16_t)v;
        }
    } else {
        GUARD(parse_components(tcb, w, "sgxtcbcomponents", out->sgx_comp));
        if (tdx) {
            GUARD(parse_components(tcb, w, "tdxtcbcomponents", out->tdx_comp));
            out->has_tdx_comp = 1;
        }
    }
    GUARD(get_int(tcb, w, "pcesvn", 0, 65535, &v));
    out->pcesvn = (uint16_t)v;
    GUARD(get_time(lv, w, "tcbDate", &out->tcb_date));
    GUARD(get_status(lv, w, &out->status));
    GUARD(get_advisories(lv, w, &out->advisories));
    return AECS_OK;
}

static int parse_module_identity(const json_t *m, const char *w,
                                 struct aecs_tdx_module_identity *out)
{
    const char *id;
    json_t *levels;

    ENSURE(json_is_object(m), AECS_E_FORMAT, "%s: not an object", w);
    GUARD(get_str(m, w, "id", &id));
    ENSURE(strlen(id) < sizeof(out->id), AECS_E_FORMAT, "%s: id too long", w);
    strcpy(out->id, id);
    GUARD(get_hex(m, w, "mrsigner", out->mrsigner, 48));
    GUARD(get_hex(m, w, "attributes", out->attributes, 8));
    GUARD(get_hex(m, w, "attributesMask", out->attributes_mask, 8));
    GUARD(get_array(m, w, "tcbLevels", 1, MAX_LEVELS, &levels));
    return parse_isv_levels(levels, w, &out->levels, &out->level_count);
}

void aecs_tcb_info_free(struct aecs_tcb_info *info)
{
    if (info == NULL)
        return;
    for (size_t i = 0; i < info->module_count; i++)
        free(info->modules[i].levels);
    free(info->modules);
    free(info->levels);
    json_decref(info->doc);
    free(info);
}

int aecs_tcb_info_parse(const uint8_t *body, size_t size, struct aecs_tcb_info **out)
{
    int rc = AECS_OK;
    static const char W[] = "TCB Info";
    struct aecs_tcb_info *info = calloc(1, sizeof(*info));
    json_t *doc = NULL;
    json_t *arr;
    long long v = 0;
    char w[96];

    *out = NULL;
    ENSURE(info != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(load_doc(body, size, W, &doc));
    info->doc = doc;
    GUARD_OUT(get_int(doc, W, "version", 0, 1000, &v));
    ENSURE_OUT(v == 2 || v == 3, AECS_E_UNSUPPORTED, "TCB Info: version %lld is not supported "
               "(2 or 3)", v);
    info->version = (int)v;
    info->id = AECS_ID_SGX;
    if (info->version == 3) {
        const char *id;
        GUARD_OUT(get_str(doc, W, "id", &id));
        if (strcmp(id, "TDX") == 0)
            info->id = AECS_ID_TDX;
        else
            ENSURE_OUT(strcmp(id, "SGX") == 0, AECS_E_FORMAT,
                       "TCB Info: id '%.20s' is not SGX or TDX", id);
    }
    GUARD_OUT(get_time(doc, W, "issueDate", &info->issue_date));
    GUARD_OUT(get_time(doc, W, "nextUpdate", &info->next_update));
    GUARD_OUT(get_hex(doc, W, "fmspc", info->fmspc, 6));
    GUARD_OUT(get_hex(doc, W, "pceId", info->pceid, 2));
    GUARD_OUT(get_int(doc, W, "tcbType", 0, 0, &v));
    info->tcb_type = (int)v;
    GUARD_OUT(get_int(doc, W, "tcbEvaluationDataNumber", 0, 1 << 30, &v));
    info->eval_number = (int)v;

    if (info->id == AECS_ID_TDX) {
        json_t *mod = json_object_get(doc, "tdxModule");
        json_t *mods = json_object_get(doc, "tdxModuleIdentities");
        if (mod != NULL) {
            ENSURE_OUT(json_is_object(mod), AECS_E_FORMAT, "TCB Info: tdxModule is not an object");
            GUARD_OUT(get_hex(mod, "TCB Info.tdxModule", "mrsigner", info->tdx_module_mrsigner, 48));
            GUARD_OUT(get_hex(mod, "TCB Info.tdxModule", "attributes",
                              info->tdx_module_attributes, 8));
            GUARD_OUT(get_hex(mod, "TCB Info.tdxModule", "attributesMask",
                              info->tdx_module_attributes_mask, 8));
            info->has_tdx_module = 1;
        }
        if (mods != NULL) {
            size_t i;
            json_t *m;
            GUARD_OUT(get_array(doc, W, "tdxModuleIdentities", 0, 64, &mods));
            info->modules = calloc(json_array_size(mods) + 1, sizeof(*info->modules));
            ENSURE_OUT(info->modules != NULL, AECS_E_NO_MEMORY, "out of memory");
            json_array_foreach(mods, i, m)
            {
                snprintf(w, sizeof(w), "TCB Info.tdxModuleIdentities[%zu]", i);
                GUARD_OUT(parse_module_identity(m, w, &info->modules[i]));
                info->module_count++;
            }
        }
    }

    GUARD_OUT(get_array(doc, W, "tcbLevels", 1, MAX_LEVELS, &arr));
    info->levels = calloc(json_array_size(arr), sizeof(*info->levels));
    ENSURE_OUT(info->levels != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(w, sizeof(w), "TCB Info.tcbLevels[%zu]", i);
        GUARD_OUT(parse_tcb_level(json_array_get(arr, i), w, info->version,
                                  info->id == AECS_ID_TDX, &info->levels[i]));
        info->level_count++;
    }
    *out = info;
    info = NULL;
out:
    aecs_tcb_info_free(info);
    return rc;
}

void aecs_qe_identity_free(struct aecs_qe_identity *id)
{
    if (id == NULL)
        return;
    free(id->levels);
    json_decref(id->doc);
    free(id);
}

int aecs_qe_identity_parse(const uint8_t *body, size_t size, struct aecs_qe_identity **out)
{
    int rc = AECS_OK;
    static const char W[] = "QE Identity";
    struct aecs_qe_identity *qe = calloc(1, sizeof(*qe));
    json_t *doc = NULL;
    json_t *arr;
    const char *id;
    long long v = 0;
    uint8_t word[4];

    *out = NULL;
    ENSURE(qe != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(load_doc(body, size, W, &doc));
    qe->doc = doc;
    GUARD_OUT(get_int(doc, W, "version", 0, 1000, &v));
    ENSURE_OUT(v == 2, AECS_E_UNSUPPORTED, "QE Identity: version %lld is not supported (2)", v);
    qe->version = (int)v;
    GUARD_OUT(get_str(doc, W, "id", &id));
    if (strcmp(id, "QE") == 0)
        qe->id = AECS_ID_QE;
    else if (strcmp(id, "TD_QE") == 0)
        qe->id = AECS_ID_TD_QE;
    else if (strcmp(id, "QVE") == 0)
        qe->id = AECS_ID_QVE;
    else
        BAIL_OUT(AECS_E_FORMAT, "QE Identity: id '%.20s' is not QE, TD_QE or QVE", id);
    GUARD_OUT(get_time(doc, W, "issueDate", &qe->issue_date));
    GUARD_OUT(get_time(doc, W, "nextUpdate", &qe->next_update));
    GUARD_OUT(get_int(doc, W, "tcbEvaluationDataNumber", 0, 1 << 30, &v));
    qe->eval_number = (int)v;
    /*
     * MISCSELECT and its mask are hex strings of the bytes as they sit in the report,
     * whose field is little-endian: "D182B18C" is the report bytes d1 82 b1 8c, the
     * number 0x8cb182d1. Reading them little-endian makes the comparison bytewise.
     */
    GUARD_OUT(get_hex(doc, W, "miscselect", word, 4));
    qe->miscselect = aecs_le32(word);
    GUARD_OUT(get_hex(doc, W, "miscselectMask", word, 4));
    qe->miscselect_mask = aecs_le32(word);
    GUARD_OUT(get_hex(doc, W, "attributes", qe->attributes, 16));
    GUARD_OUT(get_hex(doc, W, "attributesMask", qe->attributes_mask, 16));
    GUARD_OUT(get_hex(doc, W, "mrsigner", qe->mrsigner, 32));
    GUARD_OUT(get_int(doc, W, "isvprodid", 0, 65535, &v));
    qe->isvprodid = (uint16_t)v;
    GUARD_OUT(get_array(doc, W, "tcbLevels", 1, MAX_LEVELS, &arr));
    GUARD_OUT(parse_isv_levels(arr, W, &qe->levels, &qe->level_count));
    *out = qe;
    qe = NULL;
out:
    aecs_qe_identity_free(qe);
    return rc;
}

int aecs_pcs_split(const uint8_t *json, size_t size, const char *member, const uint8_t **body,
                   size_t *body_size, uint8_t sig[64])
{
    json_t *doc = NULL;
    json_error_t jerr;
    char prefix[64];
    const char *sig_hex;
    int rc = AECS_OK;

    /* Validate the whole response first; only then locate the member's exact bytes. */
    doc = json_loadb((const char *)json, size, JSON_REJECT_DUPLICATES, &jerr);
    ENSURE(doc != NULL, AECS_E_FORMAT, "PCS response: not valid JSON (line %d: %.80s)", jerr.line,
           jerr.text);
    ENSURE_OUT(json_is_object(doc) && json_object_size(doc) == 2 &&
                   json_is_object(json_object_get(doc, member)) &&
                   json_is_string(json_object_get(doc, "signature")),
               AECS_E_FORMAT, "PCS response: expected exactly {\"%s\":{...},\"signature\":\"...\"}",
               member);
    sig_hex = json_string_value(json_object_get(doc, "signature"));
    ENSURE_OUT(aecs_hex_decode_exact(sig_hex, strlen(sig_hex), sig, 64) == AECS_OK, AECS_E_FORMAT,
               "PCS response: signature must be 64 bytes of hex");
    /*
     * Intel's services emit the body first and compactly: {"member":BODY,"signature":"HEX"}.
     * The signature covers BODY byte for byte, so it is cut out of the text at those bounds.
     */
    snprintf(prefix, sizeof(prefix), "{\"%s\":", member);
    size_t plen = strlen(prefix);
    size_t end = size;
    while (end > 0 && (json[end - 1] == '\n' || json[end - 1] == '\r' || json[end - 1] == ' '))
        end--;
    size_t tail = strlen(",\"signature\":\"\"}") + strlen(sig_hex);
    ENSURE_OUT(end > plen + tail && memcmp(json, prefix, plen) == 0 &&
                   memcmp(json + end - tail, ",\"signature\":\"", 14) == 0,
               AECS_E_FORMAT,
               "PCS response: not in the compact form {\"%s\":{...},\"signature\":\"...\"}",
               member);
    *body = json + plen;
    *body_size = end - tail - plen;
out:
    json_decref(doc);
    return rc;
}

/* ---- loading a folder ---- */

static int read_in(const char *dir, const char *name, uint8_t **data, size_t *size)
{
    char path[4096];
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    rc = aecs_file_read(path, MAX_COLLATERAL_FILE, data, size);
    if (rc != AECS_OK)
        aecs_err_prefix("collateral: ");
    return rc;
}

static int exists_in(const char *dir, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return aecs_file_exists(path);
}

/* Records the first content problem; later ones are not interesting. */
static void problem(struct aecs_collateral *c, enum aecs_collateral_problem what,
                    const char *name)
{
    if (c->problem != AECS_COL_OK)
        return;
    c->problem = what;
    snprintf(c->problem_message, sizeof(c->problem_message), "collateral: %.60s: %.300s", name,
             aecs_err_last()->message);
}

/* Reads a chain file; content that does not parse becomes a recorded problem. */
static int load_chain(struct aecs_collateral *c, const char *dir, const char *name,
                      enum aecs_collateral_problem what, struct aecs_certs **out)
{
    uint8_t *data = NULL;
    size_t size = 0;

    GUARD(read_in(dir, name, &data, &size));
    if (aecs_certs_parse_cached(data, size, AECS_CERTS_CACHE_INSERT, out) != AECS_OK ||
        aecs_certs_order_chain(*out) != AECS_OK)
        problem(c, what, name);
    free(data);
    return AECS_OK;
}

static int load_crl(struct aecs_collateral *c, const char *dir, const char *name,
                    struct aecs_crl **out)
{
    uint8_t *data = NULL;
    size_t size = 0;

    GUARD(read_in(dir, name, &data, &size));
    if (aecs_crl_parse(data, size, out) != AECS_OK)
        problem(c, AECS_COL_BAD_CRL, name);
    free(data);
    return AECS_OK;
}

/* Reads <stem>.body.json + <stem>.sig.hex, or <stem>.json as a PCS response, and the chain. */
static int load_signed(struct aecs_collateral *c, const char *dir, const char *stem,
                       const char *member, enum aecs_collateral_problem what,
                       struct aecs_signed_doc *doc)
{
    char name[128];
    uint8_t *sig = NULL;
    size_t sig_size = 0;

    snprintf(name, sizeof(name), "%s.body.json", stem);
    if (exists_in(dir, name)) {
        GUARD(read_in(dir, name, &doc->text, &doc->body_size));
        doc->body = doc->text;
        snprintf(name, sizeof(name), "%s.sig.hex", stem);
        GUARD(read_in(dir, name, &sig, &sig_size));
        while (sig_size > 0 && (sig[sig_size - 1] == '\n' || sig[sig_size - 1] == '\r' ||
                                sig[sig_size - 1] == ' '))
            sig_size--;
        if (aecs_hex_decode_exact((const char *)sig, sig_size, doc->sig, 64) != AECS_OK)
            problem(c, what, name);
        free(sig);
    } else {
        size_t size = 0;
        snprintf(name, sizeof(name), "%s.json", stem);
        GUARD(read_in(dir, name, &doc->text, &size));
        if (aecs_pcs_split(doc->text, size, member, &doc->body, &doc->body_size, doc->sig) !=
            AECS_OK) {
            problem(c, what, name);
            doc->body = NULL;
            doc->body_size = 0;
        }
    }
    snprintf(name, sizeof(name), "%s_issuer_chain.pem", stem);
    return load_chain(c, dir, name, AECS_COL_BAD_SIGNING_CHAIN, &doc->issuer_chain);
}

void aecs_collateral_free(struct aecs_collateral *c)
{
    if (c == NULL)
        return;
    aecs_certs_free(c->pck_chain);
    aecs_crl_free(c->root_ca_crl);
    aecs_crl_free(c->pck_crl);
    aecs_certs_free(c->pck_crl_chain);
    free(c->tcb_info_doc.text);
    aecs_certs_free(c->tcb_info_doc.issuer_chain);
    aecs_tcb_info_free(c->tcb_info);
    free(c->qe_identity_doc.text);
    aecs_certs_free(c->qe_identity_doc.issuer_chain);
    aecs_qe_identity_free(c->qe_identity);
    free(c);
}

int aecs_collateral_load_dir(const char *dir, struct aecs_collateral **out)
{
    int rc = AECS_OK;
    struct aecs_collateral *c = calloc(1, sizeof(*c));

    *out = NULL;
    ENSURE(c != NULL, AECS_E_NO_MEMORY, "out of memory");
    GUARD_OUT(load_crl(c, dir, "root_ca_crl.der", &c->root_ca_crl));
    GUARD_OUT(load_crl(c, dir, "pck_crl.der", &c->pck_crl));
    GUARD_OUT(load_signed(c, dir, "tcb_info", "tcbInfo", AECS_COL_BAD_TCB_INFO, &c->tcb_info_doc));
    if (c->tcb_info_doc.body != NULL &&
        aecs_tcb_info_parse(c->tcb_info_doc.body, c->tcb_info_doc.body_size, &c->tcb_info) !=
            AECS_OK)
        problem(c, AECS_COL_BAD_TCB_INFO, "tcb_info");
    GUARD_OUT(load_signed(c, dir, "qe_identity", "enclaveIdentity", AECS_COL_BAD_QE_IDENTITY,
                          &c->qe_identity_doc));
    if (c->qe_identity_doc.body != NULL &&
        aecs_qe_identity_parse(c->qe_identity_doc.body, c->qe_identity_doc.body_size,
                               &c->qe_identity) != AECS_OK)
        problem(c, AECS_COL_BAD_QE_IDENTITY, "qe_identity");
    if (exists_in(dir, "pck_chain.pem"))
        GUARD_OUT(load_chain(c, dir, "pck_chain.pem", AECS_COL_BAD_PCK_CHAIN, &c->pck_chain));
    if (exists_in(dir, "pck_crl_issuer_chain.pem"))
        GUARD_OUT(load_chain(c, dir, "pck_crl_issuer_chain.pem", AECS_COL_BAD_PCK_CHAIN,
                             &c->pck_crl_chain));
    *out = c;
    c = NULL;
out:
    aecs_collateral_free(c);
    return rc;
}
