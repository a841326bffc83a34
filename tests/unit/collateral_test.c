/*
 * collateral_test.c - unit tests for src/attest/collateral.c: TCB Info and QE
 * Identity parsing, PCS response splitting and loading a collateral folder.
 *
 * Expected values are read from the same JSON documents with jansson in the
 * test (an independent reader), from expected.json (window_bounds, the QE
 * fields of the quote) and from tests/data/MANIFEST.md (evaluation data
 * numbers); mutated documents are made by editing the parsed JSON and dumping
 * it again, so each failure case changes exactly one thing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "attest/collateral.h"
#include "base/err.h"
#include "crypto/x509.h"
#include "testutil.h"

#define MSG() (aecs_err_last()->message)

static void assert_msg_has(const char *needle)
{
    if (strstr(MSG(), needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", MSG(), needle);
}

static json_t *load_body_json(const char *set, const char *file)
{
    char path[1024];

    tu_dcap_path(path, sizeof(path), set, file);
    return tu_load_json(path);
}

static int64_t json_time(const json_t *obj, const char *key)
{
    return tu_utc(tu_json_str(obj, key));
}

/* window_bounds[name][i] of expected.json, as epoch seconds. */
static int64_t bound(const json_t *exp, const char *name, size_t i)
{
    json_t *b = json_object_get(json_object_get(exp, "window_bounds"), name);

    if (!json_is_array(b))
        fail_msg("expected.json has no window_bounds '%s'", name);
    return tu_utc(json_string_value(json_array_get(b, i)));
}

static void expect_hex(const uint8_t *got, size_t size, const char *hex, const char *what)
{
    uint8_t want[64];

    assert_true(size <= sizeof(want));
    tu_hex(hex, want, size);
    if (memcmp(got, want, size) != 0)
        fail_msg("%s differs from '%s'", what, hex);
}

static void check_advisories(const struct aecs_advisories *adv, const json_t *level)
{
    json_t *ids = json_object_get(level, "advisoryIDs");

    assert_int_equal(adv->count, ids ? json_array_size(ids) : 0);
    for (size_t k = 0; k < adv->count; k++)
        assert_string_equal(adv->ids[k], json_string_value(json_array_get(ids, k)));
}

static void check_isv_levels(const struct aecs_isv_level *levels, size_t count, const json_t *arr)
{
    assert_int_equal(count, json_array_size(arr));
    for (size_t i = 0; i < count; i++) {
        const json_t *lv = json_array_get(arr, i);
        assert_int_equal(levels[i].isvsvn, tu_json_int(lv, "tcb.isvsvn"));
        assert_true(levels[i].tcb_date == json_time(lv, "tcbDate"));
        assert_string_equal(aecs_tcb_status_name(levels[i].status), tu_json_str(lv, "tcbStatus"));
        check_advisories(&levels[i].advisories, lv);
    }
}

/* ==================================================================== statuses */

static void test_tcb_status_names(void **state)
{
    (void)state;
    /* Intel's TCB status strings (PCS API, TCB Info v3) */
    static const char *const names[] = {"UpToDate",
                                        "SWHardeningNeeded",
                                        "ConfigurationNeeded",
                                        "ConfigurationAndSWHardeningNeeded",
                                        "OutOfDate",
                                        "OutOfDateConfigurationNeeded",
                                        "Revoked"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int s = aecs_tcb_status_parse(names[i]);
        assert_true(s >= 0);
        assert_string_equal(aecs_tcb_status_name((enum aecs_tcb_status)s), names[i]);
    }
    assert_int_equal(aecs_tcb_status_parse("UpToDate"), AECS_TCB_UP_TO_DATE);
    assert_int_equal(aecs_tcb_status_parse("OutOfDate"), AECS_TCB_OUT_OF_DATE);
    assert_int_equal(aecs_tcb_status_parse("Revoked"), AECS_TCB_REVOKED);
    assert_int_equal(aecs_tcb_status_parse("uptodate"), -1);
    assert_int_equal(aecs_tcb_status_parse("UpToDate "), -1);
    assert_int_equal(aecs_tcb_status_parse(""), -1);
    assert_int_equal(aecs_tcb_status_parse("TCB_UP_TO_DATE"), -1);
}

/* ==================================================================== TCB Info */

static struct aecs_tcb_info *parse_tcb_file(const char *set)
{
    size_t size = 0;
    uint8_t *body = tu_read_dcap(set, "tcb_info.body.json", &size);
    struct aecs_tcb_info *info = NULL;
    int rc = aecs_tcb_info_parse(body, size, &info);

    free(body);
    if (rc != AECS_OK)
        fail_msg("%s: tcb_info_parse %d: %s", set, rc, MSG());
    return info;
}

static void check_tcb_level(const struct aecs_tcb_level *lv, const json_t *j, int version, int tdx)
{
    const json_t *tcb = json_object_get(j, "tcb");

    for (size_t k = 0; k < 16; k++) {
        long long want;
        if (version == 2) {
            char key[32];
            snprintf(key, sizeof(key), "sgxtcbcomp%02zusvn", k + 1);
            want = tu_json_int(tcb, key);
        } else {
            want = tu_json_int(json_array_get(json_object_get(tcb, "sgxtcbcomponents"), k), "svn");
        }
        assert_int_equal(lv->sgx_comp[k], want);
    }
    assert_int_equal(lv->pcesvn, tu_json_int(tcb, "pcesvn"));
    assert_int_equal(lv->has_tdx_comp, tdx);
    if (tdx) {
        for (size_t k = 0; k < 16; k++)
            assert_int_equal(
                lv->tdx_comp[k],
                tu_json_int(json_array_get(json_object_get(tcb, "tdxtcbcomponents"), k), "svn"));
    }
    assert_true(lv->tcb_date == json_time(j, "tcbDate"));
    assert_string_equal(aecs_tcb_status_name(lv->status), tu_json_str(j, "tcbStatus"));
    check_advisories(&lv->advisories, j);
}

static void test_tcb_info_parse_every_set(void **state)
{
    (void)state;
    size_t tdx_sets = 0;
    size_t with_modules = 0;

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        json_t *j = load_body_json(set, "tcb_info.body.json");
        json_t *exp = tu_dcap_expected(set);
        struct aecs_tcb_info *info = parse_tcb_file(set);
        uint8_t b[6];
        json_t *id = json_object_get(j, "id");
        int tdx = id != NULL && strcmp(json_string_value(id), "TDX") == 0;

        assert_int_equal(info->version, tu_json_int(j, "version"));
        assert_int_equal(info->id, tdx ? AECS_ID_TDX : AECS_ID_SGX);
        if (info->version == 2)
            assert_null(id); /* v2 has no id and is SGX */
        assert_true(info->issue_date == json_time(j, "issueDate"));
        assert_true(info->next_update == json_time(j, "nextUpdate"));
        assert_true(info->issue_date == bound(exp, "tcbInfo issueDate..nextUpdate", 0));
        assert_true(info->next_update == bound(exp, "tcbInfo issueDate..nextUpdate", 1));
        tu_hex(tu_json_str(j, "fmspc"), b, 6);
        assert_memory_equal(info->fmspc, b, 6);
        tu_hex(tu_json_str(j, "pceId"), b, 2);
        assert_memory_equal(info->pceid, b, 2);
        /* the platform's FMSPC and PCE-ID, from its PCK certificate */
        tu_hex(tu_json_str(exp, "pck_ext.fmspc"), b, 6);
        assert_memory_equal(info->fmspc, b, 6);
        tu_hex(tu_json_str(exp, "pck_ext.pceid"), b, 2);
        assert_memory_equal(info->pceid, b, 2);
        assert_int_equal(info->tcb_type, tu_json_int(j, "tcbType"));
        assert_int_equal(info->eval_number, tu_json_int(j, "tcbEvaluationDataNumber"));

        json_t *levels = json_object_get(j, "tcbLevels");
        assert_int_equal(info->level_count, json_array_size(levels));
        assert_true(info->level_count >= 1);
        assert_string_equal(aecs_tcb_status_name(info->levels[0].status),
                            tu_json_str(json_array_get(levels, 0), "tcbStatus"));
        for (size_t k = 0; k < info->level_count; k++)
            check_tcb_level(&info->levels[k], json_array_get(levels, k), info->version, tdx);

        json_t *mod = json_object_get(j, "tdxModule");
        assert_int_equal(info->has_tdx_module, mod != NULL);
        if (mod != NULL) {
            expect_hex(info->tdx_module_mrsigner, 48, tu_json_str(mod, "mrsigner"), "mrsigner");
            expect_hex(info->tdx_module_attributes, 8, tu_json_str(mod, "attributes"),
                       "attributes");
            expect_hex(info->tdx_module_attributes_mask, 8, tu_json_str(mod, "attributesMask"),
                       "attributesMask");
        }
        json_t *mods = json_object_get(j, "tdxModuleIdentities");
        assert_int_equal(info->module_count, mods ? json_array_size(mods) : 0);
        for (size_t k = 0; k < info->module_count; k++) {
            const json_t *m = json_array_get(mods, k);
            const struct aecs_tdx_module_identity *mi = &info->modules[k];
            assert_string_equal(mi->id, tu_json_str(m, "id"));
            expect_hex(mi->mrsigner, 48, tu_json_str(m, "mrsigner"), "module mrsigner");
            expect_hex(mi->attributes, 8, tu_json_str(m, "attributes"), "module attributes");
            expect_hex(mi->attributes_mask, 8, tu_json_str(m, "attributesMask"),
                       "module attributesMask");
            check_isv_levels(mi->levels, mi->level_count, json_object_get(m, "tcbLevels"));
        }
        tdx_sets += tdx;
        with_modules += info->module_count > 0;
        aecs_tcb_info_free(info);
        json_decref(exp);
        json_decref(j);
    }
    assert_int_equal(tdx_sets, 7);
    assert_true(with_modules >= 4);
    aecs_tcb_info_free(NULL);
}

/* Numbers stated in tests/data/MANIFEST.md. */
static void test_tcb_info_manifest_facts(void **state)
{
    (void)state;
    static const struct {
        const char *set;
        int eval;
        int version;
        const char *module0; /* the TDX module the quote matches */
    } k[] = {
        {"sgx_v3_dcapqvl", 17, 3, NULL},
        {"tdx_v4_dcapqvl", 17, 3, "TDX_01"},
        {"neg_tdx_v5_dcapqvl_tcb_not_supported", 18, 3, "TDX_01"},
        {"neg_tdx_v5_gotdx_mixed_epoch", 18, 3, "TDX_01"},
        {"sgx_v3_intel_qvl_sample_testroot", -1, 2, NULL},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        struct aecs_tcb_info *info = parse_tcb_file(k[i].set);
        if (k[i].eval >= 0)
            assert_int_equal(info->eval_number, k[i].eval);
        assert_int_equal(info->version, k[i].version);
        if (k[i].module0 != NULL) {
            size_t found = 0;
            for (size_t m = 0; m < info->module_count; m++)
                found += strcmp(info->modules[m].id, k[i].module0) == 0;
            assert_int_equal(found, 1);
        }
        aecs_tcb_info_free(info);
    }
    /* sgx_v3_dcapqvl: TCB Info issueDate 2025-06-19T10:56:11Z, nextUpdate 2025-07-19T10:56:11Z */
    struct aecs_tcb_info *info = parse_tcb_file("sgx_v3_dcapqvl");
    assert_true(info->issue_date == tu_utc("2025-06-19T10:56:11Z"));
    assert_true(info->next_update == tu_utc("2025-07-19T10:56:11Z"));
    aecs_tcb_info_free(info);
}

/* ---- mutations of a TCB Info ---- */

/* Dumps a JSON value compactly and parses it as a TCB Info; returns the code. */
static int tcb_info_of(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    struct aecs_tcb_info *info = NULL;
    int rc;

    assert_non_null(text);
    rc = aecs_tcb_info_parse((const uint8_t *)text, strlen(text), &info);
    if (rc == AECS_OK)
        assert_non_null(info);
    else
        assert_null(info);
    aecs_tcb_info_free(info);
    free(text);
    return rc;
}

static int tcb_info_text(const char *text)
{
    struct aecs_tcb_info *info = NULL;
    int rc = aecs_tcb_info_parse((const uint8_t *)text, strlen(text), &info);

    aecs_tcb_info_free(info);
    return rc;
}

static void test_tcb_info_rejects(void **state)
{
    (void)state;
    json_t *base = load_body_json("tdx_v4_dcapqvl", "tcb_info.body.json");
    json_t *j;

    /* the unchanged document round-trips through jansson and parses */
    assert_int_equal(tcb_info_of(base), AECS_OK);

    j = json_deep_copy(base);
    json_object_set_new(j, "version", json_integer(4));
    assert_int_equal(tcb_info_of(j), AECS_E_UNSUPPORTED);
    assert_msg_has("version");
    json_object_set_new(j, "version", json_integer(1));
    assert_int_equal(tcb_info_of(j), AECS_E_UNSUPPORTED);
    json_object_set_new(j, "version", json_string("3"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("version");
    json_object_del(j, "version");
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("version");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_del(j, "fmspc");
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("'fmspc'");
    json_object_set_new(j, "fmspc", json_string("b0c06f0000")); /* 5 bytes */
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("fmspc");
    json_object_set_new(j, "fmspc", json_string("b0c06f00000000")); /* 7 bytes */
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("fmspc");
    json_object_set_new(j, "fmspc", json_string("b0c06f00000g"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("fmspc");
    json_object_set_new(j, "fmspc", json_integer(0));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("fmspc");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "pceId", json_string("000"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("pceId");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(json_array_get(json_object_get(j, "tcbLevels"), 0), "tcbStatus",
                        json_string("SuperSecure"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("SuperSecure");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "id", json_string("SEV"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("SEV");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "issueDate", json_string("2025-06-19 10:16:03"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("issueDate");
    json_object_set_new(j, "issueDate", json_string("2025-06-19T10:16:03Z"));
    json_object_del(j, "nextUpdate");
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("nextUpdate");
    json_decref(j);

    j = json_deep_copy(base);
    json_array_clear(json_object_get(j, "tcbLevels"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("tcbLevels");
    json_object_set_new(j, "tcbLevels", json_object());
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    json_decref(j);

    /* a level with 15 SGX components, a negative SVN, a PCESVN above 16 bits */
    j = json_deep_copy(base);
    json_t *tcb0 = json_object_get(json_array_get(json_object_get(j, "tcbLevels"), 0), "tcb");
    json_array_remove(json_object_get(tcb0, "sgxtcbcomponents"), 15);
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("sgxtcbcomponents");
    json_decref(j);
    j = json_deep_copy(base);
    tcb0 = json_object_get(json_array_get(json_object_get(j, "tcbLevels"), 0), "tcb");
    json_object_set_new(json_array_get(json_object_get(tcb0, "sgxtcbcomponents"), 3), "svn",
                        json_integer(-1));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    json_object_set_new(json_array_get(json_object_get(tcb0, "sgxtcbcomponents"), 3), "svn",
                        json_integer(2));
    json_object_set_new(tcb0, "pcesvn", json_integer(65536));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("pcesvn");
    json_object_set_new(tcb0, "pcesvn", json_integer(11));
    /* a TDX level without its TDX components */
    json_object_del(tcb0, "tdxtcbcomponents");
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("tdxtcbcomponents");
    json_decref(j);

    /* advisories that are not strings */
    j = json_deep_copy(base);
    json_t *lv0 = json_array_get(json_object_get(j, "tcbLevels"), 0);
    json_object_set_new(lv0, "advisoryIDs", json_pack("[i]", 5));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    json_object_set_new(lv0, "advisoryIDs", json_string("INTEL-SA-00001"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    json_decref(j);

    /* a TDX module identity without mrsigner, and with an unknown status in a level */
    j = json_deep_copy(base);
    json_t *m0 = json_array_get(json_object_get(j, "tdxModuleIdentities"), 0);
    assert_non_null(m0);
    json_object_del(m0, "mrsigner");
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("mrsigner");
    json_decref(j);
    j = json_deep_copy(base);
    m0 = json_array_get(json_object_get(j, "tdxModuleIdentities"), 0);
    json_object_set_new(json_array_get(json_object_get(m0, "tcbLevels"), 0), "tcbStatus",
                        json_string("Fine"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("Fine");
    json_decref(j);
    j = json_deep_copy(base);
    json_object_set_new(json_object_get(j, "tdxModule"), "attributes", json_string("00"));
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("attributes");
    json_decref(j);

    json_decref(base);
}

static void test_tcb_info_rejects_bad_text(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *body = tu_read_dcap("sgx_v3_dcapqvl", "tcb_info.body.json", &size);
    struct aecs_tcb_info *info = NULL;

    /* not JSON */
    assert_int_equal(tcb_info_text("tcbInfo"), AECS_E_FORMAT);
    assert_int_equal(tcb_info_text(""), AECS_E_FORMAT);
    assert_int_equal(tcb_info_text("[]"), AECS_E_FORMAT);
    assert_int_equal(tcb_info_text("\"version\""), AECS_E_FORMAT);
    /* cut in half */
    assert_int_equal(aecs_tcb_info_parse(body, size / 2, &info), AECS_E_FORMAT);
    assert_null(info);
    /* trailing garbage after the object */
    char *more = malloc(size + 3);
    assert_non_null(more);
    memcpy(more, body, size);
    memcpy(more + size, "{}", 3);
    assert_int_equal(aecs_tcb_info_parse((const uint8_t *)more, size + 2, &info), AECS_E_FORMAT);
    free(more);

    /* a duplicate key: a second "fmspc" in front of the real one */
    static const char dup_prefix[] = "{\"fmspc\":\"000000000000\",";
    assert_int_equal(body[0], '{');
    char *dup = malloc(size + sizeof(dup_prefix));
    assert_non_null(dup);
    memcpy(dup, dup_prefix, sizeof(dup_prefix) - 1);
    memcpy(dup + sizeof(dup_prefix) - 1, body + 1, size - 1);
    size_t dup_size = sizeof(dup_prefix) - 1 + size - 1;
    assert_int_equal(aecs_tcb_info_parse((const uint8_t *)dup, dup_size, &info), AECS_E_FORMAT);
    assert_null(info);
    /* the same text without the duplicate parses (the test changed one thing only) */
    assert_int_equal(aecs_tcb_info_parse(body, size, &info), AECS_OK);
    aecs_tcb_info_free(info);
    free(dup);
    free(body);
}

/* TCB Info v2 (sgxtcbcompNNsvn members) */
static void test_tcb_info_v2_rejects(void **state)
{
    (void)state;
    json_t *base = load_body_json("sgx_v3_intel_qvl_sample_testroot", "tcb_info.body.json");
    json_t *j = json_deep_copy(base);

    assert_int_equal(tcb_info_of(base), AECS_OK);
    json_t *tcb0 = json_object_get(json_array_get(json_object_get(j, "tcbLevels"), 0), "tcb");
    json_object_del(tcb0, "sgxtcbcomp07svn");
    assert_int_equal(tcb_info_of(j), AECS_E_FORMAT);
    assert_msg_has("sgxtcbcomp07svn");
    json_decref(j);
    json_decref(base);
}

/* ================================================================= QE Identity */

static struct aecs_qe_identity *parse_qe_file(const char *set)
{
    size_t size = 0;
    uint8_t *body = tu_read_dcap(set, "qe_identity.body.json", &size);
    struct aecs_qe_identity *qe = NULL;
    int rc = aecs_qe_identity_parse(body, size, &qe);

    free(body);
    if (rc != AECS_OK)
        fail_msg("%s: qe_identity_parse %d: %s", set, rc, MSG());
    return qe;
}

/* MISCSELECT hex is the report's bytes; the report field is little-endian. */
static uint32_t le32_of_hex(const char *hex)
{
    uint8_t b[4];

    tu_hex(hex, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void test_qe_identity_parse_every_set(void **state)
{
    (void)state;
    size_t matched_quote = 0;

    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        json_t *j = load_body_json(set, "qe_identity.body.json");
        json_t *exp = tu_dcap_expected(set);
        struct aecs_qe_identity *qe = parse_qe_file(set);
        const char *id = tu_json_str(j, "id");

        if (strcmp(id, "QE") == 0)
            assert_int_equal(qe->id, AECS_ID_QE);
        else if (strcmp(id, "TD_QE") == 0)
            assert_int_equal(qe->id, AECS_ID_TD_QE);
        else
            fail_msg("%s: unexpected id %s in the test data", set, id);
        /* SGX quotes come with the SGX QE's identity, TDX quotes with the TD QE's */
        assert_int_equal(qe->id,
                         tu_json_int(exp, "header.version") == 3 ? AECS_ID_QE : AECS_ID_TD_QE);
        assert_int_equal(qe->version, tu_json_int(j, "version"));
        assert_true(qe->issue_date == json_time(j, "issueDate"));
        assert_true(qe->next_update == json_time(j, "nextUpdate"));
        assert_true(qe->issue_date == bound(exp, "enclaveIdentity issueDate..nextUpdate", 0));
        assert_true(qe->next_update == bound(exp, "enclaveIdentity issueDate..nextUpdate", 1));
        assert_int_equal(qe->eval_number, tu_json_int(j, "tcbEvaluationDataNumber"));
        assert_int_equal(qe->miscselect, le32_of_hex(tu_json_str(j, "miscselect")));
        assert_int_equal(qe->miscselect_mask, le32_of_hex(tu_json_str(j, "miscselectMask")));
        expect_hex(qe->attributes, 16, tu_json_str(j, "attributes"), "attributes");
        expect_hex(qe->attributes_mask, 16, tu_json_str(j, "attributesMask"), "attributesMask");
        expect_hex(qe->mrsigner, 32, tu_json_str(j, "mrsigner"), "mrsigner");
        assert_int_equal(qe->isvprodid, tu_json_int(j, "isvprodid"));
        check_isv_levels(qe->levels, qe->level_count, json_object_get(j, "tcbLevels"));

        /* the identity describes the QE in the quote (expected.json "qe") */
        if (tu_json_path(exp, "qe") != NULL) {
            expect_hex(qe->mrsigner, 32, tu_json_str(exp, "qe.mrsigner"), "qe.mrsigner");
            assert_int_equal(qe->isvprodid, tu_json_int(exp, "qe.isvprodid"));
            assert_int_equal(qe->miscselect & qe->miscselect_mask,
                             (uint32_t)tu_json_int(exp, "qe.miscselect") & qe->miscselect_mask);
            matched_quote++;
        }
        aecs_qe_identity_free(qe);
        json_decref(exp);
        json_decref(j);
    }
    assert_int_equal(matched_quote, 8);
    aecs_qe_identity_free(NULL);
}

/* Intel's sample: MISCSELECT "D182B18C" and the quote's QE miscselect 2360443601 = 0x8CB182D1. */
static void test_qe_identity_miscselect_byte_order(void **state)
{
    (void)state;
    struct aecs_qe_identity *qe = parse_qe_file("sgx_v3_intel_qvl_sample_testroot");

    assert_int_equal(qe->miscselect, 0x8cb182d1u);
    aecs_qe_identity_free(qe);
}

static int qe_identity_of(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    struct aecs_qe_identity *qe = NULL;
    int rc;

    assert_non_null(text);
    rc = aecs_qe_identity_parse((const uint8_t *)text, strlen(text), &qe);
    if (rc == AECS_OK)
        assert_non_null(qe);
    else
        assert_null(qe);
    aecs_qe_identity_free(qe);
    free(text);
    return rc;
}

static void test_qe_identity_rejects(void **state)
{
    (void)state;
    json_t *base = load_body_json("sgx_v3_dcapqvl", "qe_identity.body.json");
    json_t *j;
    struct aecs_qe_identity *qe = NULL;

    assert_int_equal(qe_identity_of(base), AECS_OK);

    j = json_deep_copy(base);
    json_object_set_new(j, "version", json_integer(3));
    assert_int_equal(qe_identity_of(j), AECS_E_UNSUPPORTED);
    assert_msg_has("version");
    json_object_set_new(j, "version", json_integer(1));
    assert_int_equal(qe_identity_of(j), AECS_E_UNSUPPORTED);
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "id", json_string("PCE"));
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("PCE");
    json_object_del(j, "id");
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("'id'");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(
        j, "mrsigner",
        json_string("8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57B"));
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("mrsigner");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_del(j, "isvprodid");
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("isvprodid");
    json_object_set_new(j, "isvprodid", json_integer(65536));
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("isvprodid");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "miscselect", json_string("000000"));
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("miscselect");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_set_new(j, "attributesMask", json_string("FBFFFFFFFFFFFFFF"));
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("attributesMask");
    json_decref(j);

    j = json_deep_copy(base);
    json_t *lv0 = json_array_get(json_object_get(j, "tcbLevels"), 0);
    json_object_set_new(lv0, "tcbStatus", json_string("Mostly"));
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("Mostly");
    json_object_set_new(lv0, "tcbStatus", json_string("UpToDate"));
    json_object_del(json_object_get(lv0, "tcb"), "isvsvn");
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("isvsvn");
    json_decref(j);

    j = json_deep_copy(base);
    json_object_del(j, "tcbLevels");
    assert_int_equal(qe_identity_of(j), AECS_E_FORMAT);
    assert_msg_has("tcbLevels");
    json_decref(j);

    /* not JSON, a duplicate key */
    assert_int_equal(aecs_qe_identity_parse((const uint8_t *)"{", 1, &qe), AECS_E_FORMAT);
    assert_null(qe);
    static const char dup[] = "{\"id\":\"QE\",\"id\":\"QE\",\"version\":2}";
    assert_int_equal(aecs_qe_identity_parse((const uint8_t *)dup, sizeof(dup) - 1, &qe),
                     AECS_E_FORMAT);
    assert_null(qe);
    json_decref(base);
}

/* ====================================================================== PCS split */

static const struct {
    const char *set;
    const char *tcb_response;
    const char *qe_response;
} k_pcs[] = {
    {"neg_tdx_v4_gotdx_tcb_not_supported", "source/sample_tcbInfo_response",
     "source/sample_qeIdentity_response"},
    {"neg_tdx_v5_gotdx_mixed_epoch", "source/sample_tcbinfo_response_v5",
     "source/sample_qeIdentity_response"},
    {"neg_tdx_v4_intel_qvl_sample_testroot", "source/tcbInfo.json", "source/qeIdentity.json"},
    {"sgx_v3_intel_qvl_sample_testroot", "source/tcbInfo.json", "source/qeIdentity.json"},
    {"tdx_v4_automata_jun2025", "source/tcbinfov3_00806f050000.json", "source/qe_td.json"},
    {"tdx_v4_automata_jul2025", "source/tcb_info_v3_with_tdx_module.json",
     "source/qe_identity.json"},
};

static void check_split(const char *set, const char *response, const char *member, const char *stem)
{
    char name[64];
    size_t size = 0;
    size_t want_size = 0;
    size_t sig_size = 0;
    uint8_t *json = tu_read_dcap(set, response, &size);
    const uint8_t *body = NULL;
    size_t body_size = 0;
    uint8_t sig[64];
    uint8_t want_sig[64];

    snprintf(name, sizeof(name), "%s.body.json", stem);
    uint8_t *want = tu_read_dcap(set, name, &want_size);
    snprintf(name, sizeof(name), "%s.sig.hex", stem);
    uint8_t *sig_hex = tu_read_dcap(set, name, &sig_size);
    sig_hex[128] = '\0';
    tu_hex((const char *)sig_hex, want_sig, 64);

    int rc = aecs_pcs_split(json, size, member, &body, &body_size, sig);
    if (rc != AECS_OK)
        fail_msg("%s/%s: pcs_split %d: %s", set, response, rc, MSG());
    assert_true(body >= json && body + body_size <= json + size);
    assert_int_equal(body_size, want_size);
    assert_memory_equal(body, want, want_size);
    assert_memory_equal(sig, want_sig, 64);

    /* the wrong member name */
    const char *other = strcmp(member, "tcbInfo") == 0 ? "enclaveIdentity" : "tcbInfo";
    assert_int_equal(aecs_pcs_split(json, size, other, &body, &body_size, sig), AECS_E_FORMAT);
    free(sig_hex);
    free(want);
    free(json);
}

static void test_pcs_split_source_responses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(k_pcs) / sizeof(k_pcs[0]); i++) {
        check_split(k_pcs[i].set, k_pcs[i].tcb_response, "tcbInfo", "tcb_info");
        check_split(k_pcs[i].set, k_pcs[i].qe_response, "enclaveIdentity", "qe_identity");
    }
}

static int split_text(const char *text, const char *member)
{
    const uint8_t *body = NULL;
    size_t body_size = 0;
    uint8_t sig[64];

    return aecs_pcs_split((const uint8_t *)text, strlen(text), member, &body, &body_size, sig);
}

static void test_pcs_split_rejects(void **state)
{
    (void)state;
    char sig128[129];
    char text[512];

    memset(sig128, 'a', 128);
    sig128[128] = '\0';
    /* a well-formed minimal response works */
    snprintf(text, sizeof(text), "{\"tcbInfo\":{\"a\":1},\"signature\":\"%s\"}", sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_OK);

    /* an extra member */
    snprintf(text, sizeof(text), "{\"tcbInfo\":{\"a\":1},\"extra\":1,\"signature\":\"%s\"}",
             sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    snprintf(text, sizeof(text), "{\"tcbInfo\":{\"a\":1},\"signature\":\"%s\",\"x\":\"y\"}",
             sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    /* the member missing or not an object */
    snprintf(text, sizeof(text), "{\"signature\":\"%s\"}", sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    snprintf(text, sizeof(text), "{\"tcbInfo\":[1],\"signature\":\"%s\"}", sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    /* bad signature hex: a non-hex digit, one digit short, one byte long, not a string */
    sig128[5] = 'x';
    snprintf(text, sizeof(text), "{\"tcbInfo\":{\"a\":1},\"signature\":\"%s\"}", sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    assert_msg_has("signature");
    sig128[5] = 'a';
    snprintf(text, sizeof(text), "{\"tcbInfo\":{\"a\":1},\"signature\":\"%.127s\"}", sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    snprintf(text, sizeof(text), "{\"tcbInfo\":{\"a\":1},\"signature\":\"%s00\"}", sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    assert_int_equal(split_text("{\"tcbInfo\":{\"a\":1},\"signature\":5}", "tcbInfo"),
                     AECS_E_FORMAT);
    /* a duplicate member, and text that is not JSON */
    snprintf(text, sizeof(text),
             "{\"tcbInfo\":{\"a\":1},\"tcbInfo\":{\"a\":2},\"signature\":\"%s\"}", sig128);
    assert_int_equal(split_text(text, "tcbInfo"), AECS_E_FORMAT);
    assert_int_equal(split_text("{\"tcbInfo\":{", "tcbInfo"), AECS_E_FORMAT);
    assert_int_equal(split_text("", "tcbInfo"), AECS_E_FORMAT);

    /* the real response with its signature member cut */
    size_t size = 0;
    uint8_t *json = tu_read_dcap("tdx_v4_automata_jun2025", "source/qe_td.json", &size);
    const uint8_t *body = NULL;
    size_t body_size = 0;
    uint8_t sig[64];
    assert_int_equal(aecs_pcs_split(json, size - 2, "enclaveIdentity", &body, &body_size, sig),
                     AECS_E_FORMAT);
    free(json);
}

/* ============================================================ loading a folder */

static const char *const k_files[] = {
    "root_ca_crl.der",
    "pck_crl.der",
    "tcb_info.body.json",
    "tcb_info.sig.hex",
    "tcb_info_issuer_chain.pem",
    "qe_identity.body.json",
    "qe_identity.sig.hex",
    "qe_identity_issuer_chain.pem",
    "pck_chain.pem",
    "pck_crl_issuer_chain.pem",
};

/* Copies a set's collateral files into dir, except those listed in `skip` (NULL-ended). */
static void copy_set(const char *set, const char *dir, const char *const *skip)
{
    for (size_t i = 0; i < sizeof(k_files) / sizeof(k_files[0]); i++) {
        char from[1024];
        char to[1024];
        int skipped = 0;
        for (const char *const *s = skip; s != NULL && *s != NULL; s++)
            skipped |= strcmp(*s, k_files[i]) == 0;
        struct stat st;
        tu_dcap_path(from, sizeof(from), set, k_files[i]);
        if (skipped || stat(from, &st) != 0)
            continue;
        snprintf(to, sizeof(to), "%s/%s", dir, k_files[i]);
        tu_copy_file(from, to);
    }
}

static void check_signed_doc(const struct aecs_signed_doc *doc, const char *set, const char *stem)
{
    char name[64];
    size_t size = 0;
    size_t sig_size = 0;
    uint8_t want_sig[64];

    snprintf(name, sizeof(name), "%s.body.json", stem);
    uint8_t *body = tu_read_dcap(set, name, &size);
    snprintf(name, sizeof(name), "%s.sig.hex", stem);
    uint8_t *sig = tu_read_dcap(set, name, &sig_size);
    sig[128] = '\0';
    tu_hex((const char *)sig, want_sig, 64);

    assert_non_null(doc->body);
    assert_int_equal(doc->body_size, size);
    assert_memory_equal(doc->body, body, size);
    assert_memory_equal(doc->sig, want_sig, 64);
    assert_non_null(doc->issuer_chain);
    assert_int_equal(aecs_certs_count(doc->issuer_chain), 2);
    /* leaf-first: the signing certificate, then the self-issued root */
    assert_int_equal(aecs_cert_self_issued(aecs_certs_get(doc->issuer_chain, 0)), 0);
    assert_int_equal(aecs_cert_self_issued(aecs_certs_get(doc->issuer_chain, 1)), 1);
    free(body);
    free(sig);
}

static void test_load_dir_every_set(void **state)
{
    (void)state;
    for (size_t i = 0; i < tu_dcap_set_count(); i++) {
        const char *set = tu_dcap_set(i);
        char dir[1024];
        char probe[1024];
        size_t n = 0;
        struct aecs_collateral *c = NULL;

        tu_dcap_path(dir, sizeof(dir), set, "");
        dir[strlen(dir) - 1] = '\0'; /* no trailing slash */
        int rc = aecs_collateral_load_dir(dir, &c);
        if (rc != AECS_OK)
            fail_msg("%s: load_dir %d: %s", set, rc, MSG());
        if (c->problem != AECS_COL_OK)
            fail_msg("%s: load_dir recorded problem %d: %s", set, (int)c->problem,
                     c->problem_message);
        assert_non_null(c->root_ca_crl);
        assert_non_null(c->pck_crl);
        assert_non_null(c->tcb_info);
        assert_non_null(c->qe_identity);
        assert_non_null(c->pck_chain);
        assert_int_equal(aecs_certs_count(c->pck_chain), 3);
        tu_dcap_path(probe, sizeof(probe), set, "pck_crl_issuer_chain.pem");
        uint8_t *has = tu_try_read_file(probe, &n);
        assert_int_equal(c->pck_crl_chain != NULL, has != NULL);
        free(has);
        check_signed_doc(&c->tcb_info_doc, set, "tcb_info");
        check_signed_doc(&c->qe_identity_doc, set, "qe_identity");

        json_t *j = load_body_json(set, "tcb_info.body.json");
        assert_int_equal(c->tcb_info->eval_number, tu_json_int(j, "tcbEvaluationDataNumber"));
        json_decref(j);
        j = load_body_json(set, "qe_identity.body.json");
        assert_int_equal(c->qe_identity->isvprodid, tu_json_int(j, "isvprodid"));
        json_decref(j);
        aecs_collateral_free(c);
    }
    aecs_collateral_free(NULL);
}

struct tmp {
    char dir[64];
};

static int tmp_setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -1;
    tu_mkdtemp(t->dir, sizeof(t->dir));
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    struct tmp *t = *state;

    tu_rmtree(t->dir);
    free(t);
    return 0;
}

static void expect_missing(const char *dir, const char *name)
{
    struct aecs_collateral *c = (struct aecs_collateral *)0x1;
    int rc = aecs_collateral_load_dir(dir, &c);

    if (rc != AECS_E_NOT_FOUND)
        fail_msg("without %s: got %d (%s), want AECS_E_NOT_FOUND", name, rc, MSG());
    assert_null(c);
    assert_msg_has(name);
}

static void test_load_dir_missing_issuer_chain(void **state)
{
    struct tmp *t = *state;
    static const char *const skip[] = {"tcb_info_issuer_chain.pem", NULL};

    copy_set("sgx_v3_dcapqvl", t->dir, skip);
    expect_missing(t->dir, "tcb_info_issuer_chain.pem");
}

static void test_load_dir_missing_each_required_file(void **state)
{
    struct tmp *t = *state;
    static const char *const required[] = {
        "root_ca_crl.der",  "pck_crl.der",         "tcb_info_issuer_chain.pem",
        "tcb_info.sig.hex", "qe_identity.sig.hex", "qe_identity_issuer_chain.pem",
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        char sub[128];
        const char *skip[] = {required[i], NULL};
        snprintf(sub, sizeof(sub), "%s/%zu", t->dir, i);
        assert_int_equal(mkdir(sub, 0700), 0);
        copy_set("tdx_v4_dcapqvl", sub, skip);
        expect_missing(sub, required[i]);
    }
    /* neither tcb_info.body.json nor tcb_info.json */
    char sub[128];
    static const char *const no_body[] = {"tcb_info.body.json", NULL};
    snprintf(sub, sizeof(sub), "%s/nobody", t->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    copy_set("tdx_v4_dcapqvl", sub, no_body);
    expect_missing(sub, "tcb_info");

    /* a folder that does not exist */
    snprintf(sub, sizeof(sub), "%s/does-not-exist", t->dir);
    struct aecs_collateral *c = NULL;
    assert_int_equal(aecs_collateral_load_dir(sub, &c), AECS_E_NOT_FOUND);
    assert_null(c);
}

static void test_load_dir_optional_files(void **state)
{
    struct tmp *t = *state;
    static const char *const skip[] = {"pck_chain.pem", "pck_crl_issuer_chain.pem", NULL};
    struct aecs_collateral *c = NULL;

    copy_set("tdx_v4_automata_jul2025", t->dir, skip);
    int rc = aecs_collateral_load_dir(t->dir, &c);
    if (rc != AECS_OK)
        fail_msg("load_dir without the optional chains: %d %s", rc, MSG());
    assert_null(c->pck_chain);
    assert_null(c->pck_crl_chain);
    assert_non_null(c->tcb_info);
    assert_non_null(c->qe_identity);
    aecs_collateral_free(c);
}

/* tcb_info.json / qe_identity.json as PCS responses instead of body + signature files. */
static void test_load_dir_pcs_responses(void **state)
{
    struct tmp *t = *state;

    for (size_t i = 0; i < sizeof(k_pcs) / sizeof(k_pcs[0]); i++) {
        const char *set = k_pcs[i].set;
        char sub[128];
        char from[1024];
        char to[256];
        static const char *const skip[] = {"tcb_info.body.json", "tcb_info.sig.hex",
                                           "qe_identity.body.json", "qe_identity.sig.hex", NULL};
        struct aecs_collateral *c = NULL;

        snprintf(sub, sizeof(sub), "%s/%zu", t->dir, i);
        assert_int_equal(mkdir(sub, 0700), 0);
        copy_set(set, sub, skip);
        tu_dcap_path(from, sizeof(from), set, k_pcs[i].tcb_response);
        snprintf(to, sizeof(to), "%s/tcb_info.json", sub);
        tu_copy_file(from, to);
        tu_dcap_path(from, sizeof(from), set, k_pcs[i].qe_response);
        snprintf(to, sizeof(to), "%s/qe_identity.json", sub);
        tu_copy_file(from, to);

        int rc = aecs_collateral_load_dir(sub, &c);
        if (rc != AECS_OK)
            fail_msg("%s: load_dir with PCS responses: %d %s", set, rc, MSG());
        assert_int_equal(c->problem, AECS_COL_OK);
        assert_non_null(c->tcb_info);
        assert_non_null(c->qe_identity);
        check_signed_doc(&c->tcb_info_doc, set, "tcb_info");
        check_signed_doc(&c->qe_identity_doc, set, "qe_identity");
        aecs_collateral_free(c);
    }
}

/*
 * Files that were read but do not parse are not load errors: the first one is
 * recorded in `problem` with a message naming it (collateral.h).
 */
static void expect_problem(const char *root, int i, const char *set, const char *const *skip,
                           const char *file, const char *content, enum aecs_collateral_problem want,
                           const char *name)
{
    char sub[128];
    char path[256];
    struct aecs_collateral *c = NULL;

    snprintf(sub, sizeof(sub), "%s/p%d", root, i);
    assert_int_equal(mkdir(sub, 0700), 0);
    copy_set(set, sub, skip);
    snprintf(path, sizeof(path), "%s/%s", sub, file);
    tu_write_file(path, content, strlen(content));
    int rc = aecs_collateral_load_dir(sub, &c);
    if (rc != AECS_OK)
        fail_msg("bad %s: load_dir returned %d (%s), want AECS_OK with a problem", file, rc, MSG());
    if (c->problem != want)
        fail_msg("bad %s: problem %d, want %d (%s)", file, (int)c->problem, (int)want,
                 c->problem_message);
    if (strstr(c->problem_message, name) == NULL)
        fail_msg("bad %s: problem message '%s' does not name '%s'", file, c->problem_message, name);
    aecs_collateral_free(c);
}

static void test_load_dir_records_content_problems(void **state)
{
    struct tmp *t = *state;
    const char *set = "tdx_v4_dcapqvl";
    static const char *const pcs_skip[] = {"tcb_info.body.json", "tcb_info.sig.hex", NULL};
    char sig[140];

    memset(sig, 'A', 128);
    sig[5] = 'Z';
    sig[128] = '\n';
    sig[129] = '\0';

    expect_problem(t->dir, 0, set, NULL, "root_ca_crl.der", "not a CRL", AECS_COL_BAD_CRL,
                   "root_ca_crl.der");
    expect_problem(t->dir, 1, set, NULL, "pck_crl.der", "0a1b", AECS_COL_BAD_CRL, "pck_crl.der");
    expect_problem(t->dir, 2, set, NULL, "tcb_info.sig.hex", sig, AECS_COL_BAD_TCB_INFO,
                   "tcb_info.sig.hex");
    expect_problem(t->dir, 3, set, NULL, "tcb_info.body.json", "{\"version\":3",
                   AECS_COL_BAD_TCB_INFO, "tcb_info");
    expect_problem(t->dir, 4, set, NULL, "qe_identity.body.json",
                   "{\"id\":\"TD_QE\",\"version\":3}", AECS_COL_BAD_QE_IDENTITY, "qe_identity");
    expect_problem(t->dir, 5, set, NULL, "qe_identity.sig.hex", "00", AECS_COL_BAD_QE_IDENTITY,
                   "qe_identity.sig.hex");
    expect_problem(t->dir, 6, set, NULL, "tcb_info_issuer_chain.pem", "no certificates here",
                   AECS_COL_BAD_SIGNING_CHAIN, "tcb_info_issuer_chain.pem");
    expect_problem(t->dir, 7, set, NULL, "pck_chain.pem", "-----BEGIN CERTIFICATE-----\n",
                   AECS_COL_BAD_PCK_CHAIN, "pck_chain.pem");
    /* a PCS response with an extra member */
    expect_problem(t->dir, 8, set, pcs_skip, "tcb_info.json",
                   "{\"tcbInfo\":{},\"x\":1,\"signature\":\"00\"}", AECS_COL_BAD_TCB_INFO,
                   "tcb_info.json");
    /* the first problem wins: a bad root CRL and a bad PCK chain */
    char sub[128];
    char path[256];
    struct aecs_collateral *c = NULL;
    snprintf(sub, sizeof(sub), "%s/two", t->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    copy_set(set, sub, NULL);
    snprintf(path, sizeof(path), "%s/root_ca_crl.der", sub);
    tu_write_file(path, "x", 1);
    snprintf(path, sizeof(path), "%s/pck_chain.pem", sub);
    tu_write_file(path, "y", 1);
    assert_int_equal(aecs_collateral_load_dir(sub, &c), AECS_OK);
    assert_int_equal(c->problem, AECS_COL_BAD_CRL);
    assert_non_null(strstr(c->problem_message, "root_ca_crl.der"));
    aecs_collateral_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcb_status_names),
        cmocka_unit_test(test_tcb_info_parse_every_set),
        cmocka_unit_test(test_tcb_info_manifest_facts),
        cmocka_unit_test(test_tcb_info_rejects),
        cmocka_unit_test(test_tcb_info_rejects_bad_text),
        cmocka_unit_test(test_tcb_info_v2_rejects),
        cmocka_unit_test(test_qe_identity_parse_every_set),
        cmocka_unit_test(test_qe_identity_miscselect_byte_order),
        cmocka_unit_test(test_qe_identity_rejects),
        cmocka_unit_test(test_pcs_split_source_responses),
        cmocka_unit_test(test_pcs_split_rejects),
        cmocka_unit_test(test_load_dir_every_set),
        cmocka_unit_test_setup_teardown(test_load_dir_missing_issuer_chain, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_load_dir_missing_each_required_file, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_load_dir_optional_files, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_load_dir_pcs_responses, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_load_dir_records_content_problems, tmp_setup,
                                        tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
