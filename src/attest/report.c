/*
 * report.c - JSON views of quotes and verdicts; see report.h.
 */
#include "attest/report.h"

#include <stdio.h>

#include "base/codec.h"
#include "base/timeutil.h"

static json_t *hex(const uint8_t *data, size_t size)
{
    char buf[2 * 1024 + 1];

    if (size > 1024)
        size = 1024;
    aecs_hex_encode(data, size, buf);
    return json_string(buf);
}

static void put_hex(json_t *o, const char *key, const uint8_t *data, size_t size)
{
    json_object_set_new(o, key, hex(data, size));
}

static json_t *sgx_report_json(const struct aecs_sgx_report *r)
{
    json_t *o = json_object();

    put_hex(o, "cpusvn", r->cpusvn, 16);
    json_object_set_new(o, "miscselect", json_integer(r->miscselect));
    put_hex(o, "attributes", r->attributes, 16);
    put_hex(o, "mrenclave", r->mrenclave, 32);
    put_hex(o, "mrsigner", r->mrsigner, 32);
    json_object_set_new(o, "isvprodid", json_integer(r->isvprodid));
    json_object_set_new(o, "isvsvn", json_integer(r->isvsvn));
    json_object_set_new(o, "config_svn", json_integer(r->config_svn));
    put_hex(o, "config_id", r->config_id, 64);
    put_hex(o, "isv_ext_prod_id", r->isv_ext_prod_id, 16);
    put_hex(o, "isv_family_id", r->isv_family_id, 16);
    put_hex(o, "report_data", r->report_data, 64);
    return o;
}

static json_t *td_report_json(const struct aecs_td_report *t)
{
    json_t *o = json_object();
    char key[16];

    put_hex(o, "tee_tcb_svn", t->tee_tcb_svn, 16);
    put_hex(o, "mrseam", t->mrseam, 48);
    put_hex(o, "mrsignerseam", t->mrsignerseam, 48);
    put_hex(o, "seam_attributes", t->seam_attributes, 8);
    put_hex(o, "td_attributes", t->td_attributes, 8);
    put_hex(o, "xfam", t->xfam, 8);
    put_hex(o, "mrtd", t->mrtd, 48);
    put_hex(o, "mrconfigid", t->mrconfigid, 48);
    put_hex(o, "mrowner", t->mrowner, 48);
    put_hex(o, "mrownerconfig", t->mrownerconfig, 48);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "rtmr%d", i);
        put_hex(o, key, t->rtmr[i], 48);
    }
    put_hex(o, "report_data", t->report_data, 64);
    if (t->is_td15) {
        put_hex(o, "tee_tcb_svn2", t->tee_tcb_svn2, 16);
        put_hex(o, "mrservicetd", t->mrservicetd, 48);
    }
    return o;
}

json_t *aecs_quote_to_json(const struct aecs_quote *q)
{
    json_t *o = json_object();
    json_t *h = json_object();
    json_t *s = json_object();
    char tee[16];

    json_object_set_new(h, "version", json_integer(q->version));
    json_object_set_new(h, "att_key_type", json_integer(q->att_key_type));
    snprintf(tee, sizeof(tee), "0x%x", q->tee_type);
    json_object_set_new(h, "tee_type", json_string(tee));
    if (q->version == 3) {
        json_object_set_new(h, "qe_svn", json_integer(q->qe_svn));
        json_object_set_new(h, "pce_svn", json_integer(q->pce_svn));
    }
    put_hex(h, "qe_vendor_id", q->qe_vendor_id, 16);
    put_hex(h, "user_data", q->user_data, 20);
    json_object_set_new(o, "platform",
                        json_string(q->body_type == AECS_BODY_SGX ? "sgx" : "tdx"));
    json_object_set_new(o, "header", h);
    json_object_set_new(o, "body_type", json_string(q->body_type == AECS_BODY_SGX    ? "sgx"
                                                    : q->body_type == AECS_BODY_TD10 ? "td1.0"
                                                                                     : "td1.5"));
    json_object_set_new(o, "body", q->body_type == AECS_BODY_SGX ? sgx_report_json(&q->sgx)
                                                                  : td_report_json(&q->td));
    json_object_set_new(s, "size", json_integer(q->sig_data_size));
    put_hex(s, "signature", q->signature, 64);
    put_hex(s, "attestation_key", q->attest_key, 64);
    json_object_set_new(s, "qe_report", sgx_report_json(&q->qe_report));
    put_hex(s, "qe_report_signature", q->qe_report_sig, 64);
    put_hex(s, "qe_auth_data", q->qe_auth_data, q->qe_auth_size);
    json_object_set_new(s, "certification_data_type", json_integer(q->cert_type));
    json_object_set_new(s, "certification_data_size", json_integer(q->cert_size));
    json_object_set_new(o, "signature_data", s);
    json_object_set_new(o, "trailing_bytes", json_integer((json_int_t)q->trailing_size));
    return o;
}

json_t *aecs_quote_claims_json(const struct aecs_quote *q)
{
    json_t *c = json_object();
    char key[16];

    if (q->body_type == AECS_BODY_SGX) {
        const struct aecs_sgx_report *r = &q->sgx;
        put_hex(c, "mrenclave", r->mrenclave, 32);
        put_hex(c, "mrsigner", r->mrsigner, 32);
        json_object_set_new(c, "isvprodid", json_integer(r->isvprodid));
        json_object_set_new(c, "isvsvn", json_integer(r->isvsvn));
        put_hex(c, "attributes", r->attributes, 16);
        /* ATTRIBUTES.DEBUG is bit 1 of the flags (first byte). */
        json_object_set_new(c, "debug", json_boolean(r->attributes[0] & 0x02));
        put_hex(c, "report_data", r->report_data, 64);
        put_hex(c, "cpusvn", r->cpusvn, 16);
        return c;
    }
    const struct aecs_td_report *t = &q->td;
    put_hex(c, "mrtd", t->mrtd, 48);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "rtmr%d", i);
        put_hex(c, key, t->rtmr[i], 48);
    }
    put_hex(c, "mrconfigid", t->mrconfigid, 48);
    put_hex(c, "mrowner", t->mrowner, 48);
    put_hex(c, "mrownerconfig", t->mrownerconfig, 48);
    put_hex(c, "mrseam", t->mrseam, 48);
    put_hex(c, "mrsignerseam", t->mrsignerseam, 48);
    put_hex(c, "td_attributes", t->td_attributes, 8);
    /* TDATTRIBUTES.DEBUG is bit 0. */
    json_object_set_new(c, "debug", json_boolean(t->td_attributes[0] & 0x01));
    put_hex(c, "xfam", t->xfam, 8);
    put_hex(c, "tee_tcb_svn", t->tee_tcb_svn, 16);
    if (t->is_td15)
        put_hex(c, "mrservicetd", t->mrservicetd, 48);
    put_hex(c, "report_data", t->report_data, 64);
    return c;
}

json_t *aecs_dcap_result_to_json(const struct aecs_dcap_result *r)
{
    json_t *o = json_object();
    json_t *adv = json_array();
    char buf[32];

    json_object_set_new(o, "verified", json_boolean(r->verified));
    json_object_set_new(o, "platform", r->platform == AECS_PLATFORM_SGX   ? json_string("sgx")
                                       : r->platform == AECS_PLATFORM_TDX ? json_string("tdx")
                                                                          : json_null());
    json_object_set_new(o, "status", r->has_tcb_status ? json_string(r->tcb_status) : json_null());
    snprintf(buf, sizeof(buf), "0x%04X", r->qv_result);
    json_object_set_new(o, "qv_result", json_string(buf));
    json_object_set_new(o, "qv_result_name", json_string(aecs_qv_result_name(r->qv_result)));
    json_object_set_new(o, "qvl_status", json_string(aecs_qvl_status_name(r->status)));
    for (size_t i = 0; i < r->advisories.count; i++)
        json_array_append_new(adv, json_string(r->advisories.ids[i]));
    json_object_set_new(o, "advisory_ids", adv);
    json_object_set_new(o, "collateral_expired", json_boolean(r->collateral_expired));
    if (r->valid_from > INT64_MIN && r->valid_until < INT64_MAX && r->valid_until > 0) {
        aecs_time_format(r->valid_from, buf);
        json_object_set_new(o, "collateral_valid_from", json_string(buf));
        aecs_time_format(r->valid_until, buf);
        json_object_set_new(o, "collateral_valid_until", json_string(buf));
    }
    if (r->quote_parsed) {
        json_object_set_new(o, "quote_version", json_integer(r->quote.version));
        json_object_set_new(o, "claims", aecs_quote_claims_json(&r->quote));
    }
    if (r->pck_parsed) {
        json_t *pck = json_object();
        put_hex(pck, "fmspc", r->pck.fmspc, 6);
        put_hex(pck, "pceid", r->pck.pceid, 2);
        json_object_set_new(pck, "pcesvn", json_integer(r->pck.pcesvn));
        put_hex(pck, "cpusvn", r->pck.cpusvn, 16);
        json_object_set_new(pck, "ca", json_string(r->pck_ca));
        json_object_set_new(pck, "sgx_type", json_integer(r->pck.sgx_type));
        json_object_set_new(o, "pck", pck);
        json_object_set_new(o, "tcb_evaluation_data_number", json_integer(r->tcb_eval_number));
    }
    if (r->qe_tcb_status != NULL)
        json_object_set_new(o, "qe_tcb_status", json_string(r->qe_tcb_status));
    if (r->has_module) {
        json_t *m = json_object();
        json_object_set_new(m, "isvsvn", json_integer(r->module_isvsvn));
        json_object_set_new(m, "status", json_string(r->module_tcb_status));
        json_object_set_new(o, "tdx_module", m);
    }
    if (r->sim)
        json_object_set_new(o, "sim", json_true());
    if (!r->verified) {
        json_t *e = json_object();
        json_object_set_new(e, "stage", json_string(r->stage ? r->stage : "internal"));
        json_object_set_new(e, "code", json_string(aecs_qvl_quote3_error_name(r->error)));
        snprintf(buf, sizeof(buf), "0x%04X", aecs_qvl_quote3_error(r->error));
        json_object_set_new(e, "code_value", json_string(buf));
        json_object_set_new(e, "qvl_status", json_string(aecs_qvl_status_name(r->error)));
        json_object_set_new(e, "message", json_string(r->message));
        json_object_set_new(o, "error", e);
    }
    return o;
}
