/*
 * tcb_eval_test.c - TCB level selection and status merging on synthetic TCB
 * Info, for the rules no real vector exercises: Intel's level order, QE
 * merging, TDX module status, the TEE_TCB_SVN skip rule, and TD relaunch
 * advice for TD 1.5 reports.
 *
 * Expected statuses follow the rules of Intel's QVL (TcbLevelCheck,
 * TdxModuleCheck, TDRelaunchCheck, convergeTcbStatusWith*), summarized in
 * docs/attestation.md, applied by hand to the levels below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attest/tcb_eval.h"

#define Z48 "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

static char *comps(const int v[16])
{
    static char buf[4][512];
    static int n;
    char *b = buf[n++ % 4];
    size_t o = 0;

    o += (size_t)snprintf(b + o, 512 - o, "[");
    for (int i = 0; i < 16; i++)
        o += (size_t)snprintf(b + o, 512 - o, "%s{\"svn\":%d}", i ? "," : "", v[i]);
    snprintf(b + o, 512 - o, "]");
    return b;
}

/*
 * A TDX TCB Info: in JSON order a LOW level first (so JSON order and Intel's
 * order differ), then HIGH. Module TDX_01 has levels isvsvn 5 UpToDate and 3
 * OutOfDate; TDX_03 has isvsvn 2 UpToDate.
 */
static struct aecs_tcb_info *tdx_info(const char *high_status, const char *module_low_status)
{
    static const int sgx_low[16] = {1, 1, 1, 1, 1, 1, 1, 1};
    static const int sgx_high[16] = {2, 2, 2, 2, 2, 2, 2, 2};
    static const int tdx_low[16] = {3, 0, 2};
    static const int tdx_high[16] = {5, 1, 3};
    char json[8192];
    struct aecs_tcb_info *info = NULL;

    snprintf(json, sizeof(json),
             "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2025-01-01T00:00:00Z\","
             "\"nextUpdate\":\"2025-02-01T00:00:00Z\",\"fmspc\":\"00aabbccddee\",\"pceId\":\"0000\","
             "\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
             "\"tdxModule\":{\"mrsigner\":\"" Z48 "\",\"attributes\":\"0000000000000000\","
             "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},"
             "\"tdxModuleIdentities\":["
             "{\"id\":\"TDX_01\",\"mrsigner\":\"" Z48 "\",\"attributes\":\"0000000000000000\","
             "\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":["
             "{\"tcb\":{\"isvsvn\":5},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
             "{\"tcb\":{\"isvsvn\":3},\"tcbDate\":\"2023-08-09T00:00:00Z\",\"tcbStatus\":\"%s\","
             "\"advisoryIDs\":[\"SA-MOD\"]}]},"
             "{\"id\":\"TDX_03\",\"mrsigner\":\"" Z48 "\",\"attributes\":\"0000000000000000\","
             "\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":["
             "{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}],"
             "\"tcbLevels\":["
             "{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":10,\"tdxtcbcomponents\":%s},"
             "\"tcbDate\":\"2023-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\","
             "\"advisoryIDs\":[\"SA-LOW\"]},"
             "{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":11,\"tdxtcbcomponents\":%s},"
             "\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"%s\"}]}",
             module_low_status, comps(sgx_low), comps(tdx_low), comps(sgx_high), comps(tdx_high),
             high_status);
    assert_int_equal(aecs_tcb_info_parse((const uint8_t *)json, strlen(json), &info), AECS_OK);
    return info;
}

/* The same levels as an SGX TCB Info (v3, id SGX). */
static struct aecs_tcb_info *sgx_info(const char *high_status)
{
    static const int sgx_low[16] = {1, 1, 1, 1, 1, 1, 1, 1};
    static const int sgx_high[16] = {2, 2, 2, 2, 2, 2, 2, 2};
    char json[4096];
    struct aecs_tcb_info *info = NULL;

    snprintf(json, sizeof(json),
             "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"2025-01-01T00:00:00Z\","
             "\"nextUpdate\":\"2025-02-01T00:00:00Z\",\"fmspc\":\"00aabbccddee\",\"pceId\":\"0000\","
             "\"tcbType\":0,\"tcbEvaluationDataNumber\":17,\"tcbLevels\":["
             "{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":10},\"tcbDate\":\"2023-01-01T00:00:00Z\","
             "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"SA-LOW\"]},"
             "{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":11},\"tcbDate\":\"2024-03-13T00:00:00Z\","
             "\"tcbStatus\":\"%s\",\"advisoryIDs\":[\"SA-HIGH\"]}]}",
             comps(sgx_low), comps(sgx_high), high_status);
    assert_int_equal(aecs_tcb_info_parse((const uint8_t *)json, strlen(json), &info), AECS_OK);
    return info;
}

struct ctx {
    struct aecs_tcb_info *info;
    const struct aecs_tcb_level *levels[8];
    struct aecs_quote q;
    struct aecs_sgx_ext pck;
    struct aecs_dcap_result r;
};

static void ctx_init(struct ctx *c, struct aecs_tcb_info *info, int tdx, int pck_level)
{
    memset(c, 0, sizeof(*c));
    c->info = info;
    for (size_t i = 0; i < info->level_count; i++)
        c->levels[i] = &info->levels[i];
    aecs_tcb_levels_sort(c->levels, info->level_count);
    c->q.body_type = tdx ? AECS_BODY_TD10 : AECS_BODY_SGX;
    for (int i = 0; i < 8; i++)
        c->pck.tcb_comp[i] = (uint8_t)pck_level;
    c->pck.pcesvn = pck_level == 2 ? 11 : pck_level == 1 ? 10 : 0;
}

static void set_svn(uint8_t svn[16], int a, int b, int c)
{
    memset(svn, 0, 16);
    svn[0] = (uint8_t)a;
    svn[1] = (uint8_t)b;
    svn[2] = (uint8_t)c;
}

static enum aecs_qvl_status eval(struct ctx *c, enum aecs_qe_tcb qe)
{
    memset(&c->r, 0, sizeof(c->r));
    return aecs_tcb_evaluate(c->info, c->levels, c->info->level_count, &c->q, &c->pck, NULL, qe,
                             &c->r);
}

static int has_advisory(const struct ctx *c, const char *id)
{
    for (size_t i = 0; i < c->r.advisories.count; i++) {
        if (strcmp(c->r.advisories.ids[i], id) == 0)
            return 1;
    }
    return 0;
}

/* Intel's order, not JSON order: the higher level wins although it is listed last. */
static void test_sgx_level_order(void **state)
{
    struct ctx c;

    (void)state;
    ctx_init(&c, sgx_info("UpToDate"), 0, 2);
    assert_int_equal(c.levels[0]->pcesvn, 11);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_OK);
    assert_true(has_advisory(&c, "SA-HIGH"));
    assert_false(has_advisory(&c, "SA-LOW"));
    /* one PCESVN short of the high level: the low one */
    c.pck.pcesvn = 10;
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE);
    assert_true(has_advisory(&c, "SA-LOW"));
    /* below every level */
    c.pck.tcb_comp[3] = 0;
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_NOT_SUPPORTED);
    aecs_tcb_info_free(c.info);
}

/* convergeTcbStatusWithQeTcbStatus */
static void test_qe_merging(void **state)
{
    struct ctx c;

    (void)state;
    ctx_init(&c, sgx_info("UpToDate"), 0, 2);
    assert_int_equal(eval(&c, AECS_QE_TCB_OUT_OF_DATE), QVL_TCB_OUT_OF_DATE);
    assert_int_equal(eval(&c, AECS_QE_TCB_REVOKED), QVL_TCB_REVOKED);
    assert_int_equal(eval(&c, AECS_QE_TCB_NOT_SUPPORTED), QVL_TCB_NOT_SUPPORTED);
    aecs_tcb_info_free(c.info);

    ctx_init(&c, sgx_info("SWHardeningNeeded"), 0, 2);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_SW_HARDENING_NEEDED);
    assert_int_equal(eval(&c, AECS_QE_TCB_OUT_OF_DATE), QVL_TCB_OUT_OF_DATE);
    aecs_tcb_info_free(c.info);

    ctx_init(&c, sgx_info("ConfigurationNeeded"), 0, 2);
    assert_int_equal(eval(&c, AECS_QE_TCB_OUT_OF_DATE), QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    aecs_tcb_info_free(c.info);

    ctx_init(&c, sgx_info("ConfigurationAndSWHardeningNeeded"), 0, 2);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE),
                     QVL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(eval(&c, AECS_QE_TCB_OUT_OF_DATE), QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    aecs_tcb_info_free(c.info);

    /* an out-of-date QE does not change statuses that are already worse */
    ctx_init(&c, sgx_info("Revoked"), 0, 2);
    assert_int_equal(eval(&c, AECS_QE_TCB_OUT_OF_DATE), QVL_TCB_REVOKED);
    aecs_tcb_info_free(c.info);
}

/* QE Identity levels: the highest ISVSVN not above the QE's, and what each status means. */
static void test_qe_levels(void **state)
{
    struct aecs_isv_level levels[3] = {
        {.isvsvn = 4, .status = AECS_TCB_OUT_OF_DATE},
        {.isvsvn = 8, .status = AECS_TCB_UP_TO_DATE},
        {.isvsvn = 2, .status = AECS_TCB_REVOKED},
    };

    (void)state;
    assert_ptr_equal(aecs_isv_level_for(levels, 3, 9), &levels[1]);
    assert_ptr_equal(aecs_isv_level_for(levels, 3, 8), &levels[1]);
    assert_ptr_equal(aecs_isv_level_for(levels, 3, 7), &levels[0]);
    assert_ptr_equal(aecs_isv_level_for(levels, 3, 3), &levels[2]);
    assert_null(aecs_isv_level_for(levels, 3, 1));
    assert_int_equal(aecs_qe_tcb_of_level(&levels[1]), AECS_QE_TCB_UP_TO_DATE);
    assert_int_equal(aecs_qe_tcb_of_level(&levels[0]), AECS_QE_TCB_OUT_OF_DATE);
    assert_int_equal(aecs_qe_tcb_of_level(&levels[2]), AECS_QE_TCB_REVOKED);
    assert_int_equal(aecs_qe_tcb_of_level(NULL), AECS_QE_TCB_NOT_SUPPORTED);
}

/* TEE_TCB_SVN[1] > 0: the first two TDX components belong to the module and are skipped. */
static void test_tdx_skip_rule_and_module(void **state)
{
    struct ctx c;

    (void)state;
    ctx_init(&c, tdx_info("UpToDate", "OutOfDate"), 1, 2);
    /* no module major version: all 16 components count; [5,0,3] misses HIGH's [5,1,3] */
    set_svn(c.q.td.tee_tcb_svn, 5, 0, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE);
    assert_true(has_advisory(&c, "SA-LOW"));
    assert_false(c.r.has_module);
    /* module TDX_01 SVN 5: HIGH matches (bytes 0-1 skipped), module UpToDate */
    set_svn(c.q.td.tee_tcb_svn, 5, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_OK);
    assert_true(c.r.has_module);
    assert_int_equal(c.r.module_isvsvn, 5);
    assert_string_equal(c.r.module_tcb_status, "UpToDate");
    /* module SVN 3: module OutOfDate lowers the platform's UpToDate, its advisory is added */
    set_svn(c.q.td.tee_tcb_svn, 3, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE);
    assert_true(has_advisory(&c, "SA-MOD"));
    /* module SVN below every level of TDX_01 */
    set_svn(c.q.td.tee_tcb_svn, 1, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_NOT_SUPPORTED);
    /* no identity TDX_02 */
    set_svn(c.q.td.tee_tcb_svn, 5, 2, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TDX_MODULE_MISMATCH);
    assert_non_null(strstr(c.r.message, "TDX_02"));
    /* TDX components below HIGH and LOW */
    set_svn(c.q.td.tee_tcb_svn, 5, 1, 1);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_NOT_SUPPORTED);
    aecs_tcb_info_free(c.info);

    /* a Revoked module level revokes */
    ctx_init(&c, tdx_info("UpToDate", "Revoked"), 1, 2);
    set_svn(c.q.td.tee_tcb_svn, 3, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_REVOKED);
    aecs_tcb_info_free(c.info);

    /* ConfigurationNeeded platform with an out-of-date module */
    ctx_init(&c, tdx_info("ConfigurationNeeded", "OutOfDate"), 1, 2);
    set_svn(c.q.td.tee_tcb_svn, 3, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    aecs_tcb_info_free(c.info);
}

/* TD 1.5: a current module already loaded (TEE_TCB_SVN2) turns OutOfDate into relaunch advice. */
static void test_td_relaunch(void **state)
{
    struct ctx c;

    (void)state;
    ctx_init(&c, tdx_info("UpToDate", "OutOfDate"), 1, 2);
    c.q.body_type = AECS_BODY_TD15;
    c.q.td.is_td15 = 1;
    set_svn(c.q.td.tee_tcb_svn, 3, 1, 3);  /* launched with module SVN 3: OutOfDate */
    set_svn(c.q.td.tee_tcb_svn2, 5, 1, 3); /* module SVN 5 now: the latest TDX_01 level */
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_TD_RELAUNCH_ADVISED);
    assert_int_equal(aecs_qvl_qv_result(QVL_TCB_TD_RELAUNCH_ADVISED), 0xA009);

    /* the loaded module is not the latest: no advice */
    set_svn(c.q.td.tee_tcb_svn2, 4, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE);
    /* TEE_TCB_SVN2[2] below the latest platform level's third TDX component: no advice */
    set_svn(c.q.td.tee_tcb_svn2, 5, 1, 2);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE);
    /* module major 0 in SVN2: compare SVN2[0] and [2] with the latest level's TDX components */
    set_svn(c.q.td.tee_tcb_svn2, 5, 0, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_TD_RELAUNCH_ADVISED);
    set_svn(c.q.td.tee_tcb_svn2, 4, 0, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE);
    /* SVN2 names a module the TCB Info does not know */
    set_svn(c.q.td.tee_tcb_svn2, 5, 7, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TDX_MODULE_MISMATCH);
    /* an out-of-date QE: no advice, plain OutOfDate */
    set_svn(c.q.td.tee_tcb_svn2, 5, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_OUT_OF_DATE), QVL_TCB_OUT_OF_DATE);
    /* a TD 1.0 report never gets the advice */
    c.q.body_type = AECS_BODY_TD10;
    c.q.td.is_td15 = 0;
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_OUT_OF_DATE);
    /* the module itself up to date: nothing to advise */
    c.q.body_type = AECS_BODY_TD15;
    c.q.td.is_td15 = 1;
    set_svn(c.q.td.tee_tcb_svn, 5, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_OK);
    aecs_tcb_info_free(c.info);

    /* with a configuration-needed platform the advice says so (0xA00A) */
    ctx_init(&c, tdx_info("ConfigurationNeeded", "OutOfDate"), 1, 2);
    c.q.body_type = AECS_BODY_TD15;
    c.q.td.is_td15 = 1;
    set_svn(c.q.td.tee_tcb_svn, 3, 1, 3);
    set_svn(c.q.td.tee_tcb_svn2, 5, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE),
                     QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED);
    assert_int_equal(aecs_qvl_qv_result(QVL_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED), 0xA00A);
    aecs_tcb_info_free(c.info);

    /* a revoked module is never softened into advice */
    ctx_init(&c, tdx_info("UpToDate", "Revoked"), 1, 2);
    c.q.body_type = AECS_BODY_TD15;
    c.q.td.is_td15 = 1;
    set_svn(c.q.td.tee_tcb_svn, 3, 1, 3);
    set_svn(c.q.td.tee_tcb_svn2, 5, 1, 3);
    assert_int_equal(eval(&c, AECS_QE_TCB_UP_TO_DATE), QVL_TCB_REVOKED);
    aecs_tcb_info_free(c.info);
}

/* The module identity check (signer and SEAM attributes). */
static void test_module_identity(void **state)
{
    struct aecs_tcb_info *info = tdx_info("UpToDate", "OutOfDate");
    struct aecs_td_report td;
    char msg[256];

    (void)state;
    memset(&td, 0, sizeof(td));
    set_svn(td.tee_tcb_svn, 5, 1, 3);
    assert_int_equal(aecs_tdx_module_check(info, &td, msg, sizeof(msg)), QVL_OK);
    td.mrsignerseam[7] = 1;
    assert_int_equal(aecs_tdx_module_check(info, &td, msg, sizeof(msg)), QVL_TDX_MODULE_MISMATCH);
    assert_non_null(strstr(msg, "MRSIGNERSEAM"));
    td.mrsignerseam[7] = 0;
    td.seam_attributes[0] = 1;
    assert_int_equal(aecs_tdx_module_check(info, &td, msg, sizeof(msg)), QVL_TDX_MODULE_MISMATCH);
    td.seam_attributes[0] = 0;
    set_svn(td.tee_tcb_svn, 5, 9, 3);
    assert_int_equal(aecs_tdx_module_check(info, &td, msg, sizeof(msg)), QVL_TDX_MODULE_MISMATCH);
    assert_non_null(strstr(msg, "TDX_09"));
    set_svn(td.tee_tcb_svn, 5, 0, 3);
    assert_int_equal(aecs_tdx_module_check(info, &td, msg, sizeof(msg)), QVL_OK);
    info->has_tdx_module = 0;
    assert_int_equal(aecs_tdx_module_check(info, &td, msg, sizeof(msg)), QVL_TCB_INFO_MISMATCH);
    aecs_tcb_info_free(info);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_level_order),
        cmocka_unit_test(test_qe_merging),
        cmocka_unit_test(test_qe_levels),
        cmocka_unit_test(test_tdx_skip_rule_and_module),
        cmocka_unit_test(test_td_relaunch),
        cmocka_unit_test(test_module_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
