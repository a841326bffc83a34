/*
 * quote.c - DCAP quote parsing; see quote.h.
 *
 * Layout (all integers little-endian):
 *   header (48): version u16, att_key_type u16, tee_type u32 (v3: reserved,
 *     qe_svn u16 and pce_svn u16 in its place and the next 4 bytes),
 *     reserved u16 u16 (v4/v5), qe_vendor_id[16], user_data[20]
 *   v3: SGX report body (384)   v4: TD report 1.0 (584)
 *   v5: body_type u16, body_size u32, body (SGX 384, TD10 584, TD15 648)
 *   signature data size u32, then signature data:
 *     ECDSA signature[64], attestation key[64],
 *     v3: QE report[384], QE report signature[64], QE auth size u16 + data,
 *         certification type u16, size u32, data
 *     v4/v5: certification type u16 (= 6), size u32, then inside it the same
 *         QE report ... certification data (type 5) as v3.
 */
#include "attest/quote.h"

#include <string.h>

#include "base/reader.h"

const uint8_t g_aecs_intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

void aecs_sgx_report_decode(const uint8_t raw[AECS_SGX_REPORT_SIZE], struct aecs_sgx_report *out)
{
    memcpy(out->cpusvn, raw, 16);
    out->miscselect = aecs_le32(raw + 16);
    memcpy(out->isv_ext_prod_id, raw + 32, 16);
    memcpy(out->attributes, raw + 48, 16);
    memcpy(out->mrenclave, raw + 64, 32);
    memcpy(out->mrsigner, raw + 128, 32);
    memcpy(out->config_id, raw + 192, 64);
    out->isvprodid = aecs_le16(raw + 256);
    out->isvsvn = aecs_le16(raw + 258);
    out->config_svn = aecs_le16(raw + 260);
    memcpy(out->isv_family_id, raw + 304, 16);
    memcpy(out->report_data, raw + 320, 64);
}

static void td_report_decode(const uint8_t *raw, int td15, struct aecs_td_report *out)
{
    memcpy(out->tee_tcb_svn, raw, 16);
    memcpy(out->mrseam, raw + 16, 48);
    memcpy(out->mrsignerseam, raw + 64, 48);
    memcpy(out->seam_attributes, raw + 112, 8);
    memcpy(out->td_attributes, raw + 120, 8);
    memcpy(out->xfam, raw + 128, 8);
    memcpy(out->mrtd, raw + 136, 48);
    memcpy(out->mrconfigid, raw + 184, 48);
    memcpy(out->mrowner, raw + 232, 48);
    memcpy(out->mrownerconfig, raw + 280, 48);
    for (int i = 0; i < 4; i++)
        memcpy(out->rtmr[i], raw + 328 + 48 * i, 48);
    memcpy(out->report_data, raw + 520, 64);
    out->is_td15 = td15;
    if (td15) {
        memcpy(out->tee_tcb_svn2, raw + 584, 16);
        memcpy(out->mrservicetd, raw + 600, 48);
    }
}

static int parse_header(struct aecs_reader *r, struct aecs_quote *q)
{
    uint32_t word = 0;

    GUARD(aecs_read_u16le(r, "header.version", &q->version));
    ENSURE(q->version >= 3 && q->version <= 5, AECS_E_UNSUPPORTED,
           "quote: header.version %u is not supported (3, 4 or 5)", q->version);
    GUARD(aecs_read_u16le(r, "header.att_key_type", &q->att_key_type));
    ENSURE(q->att_key_type == AECS_ATT_KEY_ECDSA_P256, AECS_E_UNSUPPORTED,
           "quote: header.att_key_type %u is not supported (2: ECDSA P-256)", q->att_key_type);
    GUARD(aecs_read_u32le(r, "header.tee_type", &word));
    if (q->version == 3) {
        /* v3: 4 reserved bytes (zero for SGX), then QE and PCE SVNs */
        ENSURE(word == 0, AECS_E_UNSUPPORTED, "quote: header.reserved of a v3 quote is not zero");
        q->tee_type = AECS_TEE_TYPE_SGX;
        GUARD(aecs_read_u16le(r, "header.qe_svn", &q->qe_svn));
        GUARD(aecs_read_u16le(r, "header.pce_svn", &q->pce_svn));
    } else {
        ENSURE(word == AECS_TEE_TYPE_SGX || word == AECS_TEE_TYPE_TDX, AECS_E_UNSUPPORTED,
               "quote: header.tee_type 0x%x is not supported (0x0 SGX, 0x81 TDX)", word);
        q->tee_type = word;
        GUARD(aecs_read_skip(r, "header.reserved", 4));
    }
    GUARD(aecs_read_copy(r, "header.qe_vendor_id", q->qe_vendor_id, 16));
    GUARD(aecs_read_copy(r, "header.user_data", q->user_data, 20));
    return AECS_OK;
}

static int parse_body(struct aecs_reader *r, struct aecs_quote *q)
{
    size_t size = 0;

    if (q->version == 3) {
        q->body_type = AECS_BODY_SGX;
    } else if (q->version == 4) {
        q->body_type = q->tee_type == AECS_TEE_TYPE_TDX ? AECS_BODY_TD10 : AECS_BODY_SGX;
    } else {
        uint16_t type = 0;
        uint32_t declared = 0;
        GUARD(aecs_read_u16le(r, "body_type", &type));
        GUARD(aecs_read_u32le(r, "body_size", &declared));
        ENSURE(type >= AECS_BODY_SGX && type <= AECS_BODY_TD15, AECS_E_UNSUPPORTED,
               "quote: body_type %u is not supported (1 SGX, 2 TD 1.0, 3 TD 1.5)", type);
        q->body_type = (enum aecs_body_type)type;
        size_t expect = type == AECS_BODY_SGX    ? AECS_SGX_REPORT_SIZE
                        : type == AECS_BODY_TD10 ? AECS_TD10_REPORT_SIZE
                                                 : AECS_TD15_REPORT_SIZE;
        ENSURE(declared == expect, AECS_E_FORMAT,
               "quote: body_size %u does not match body_type %u (expected %zu)", declared, type,
               expect);
    }
    ENSURE((q->body_type == AECS_BODY_SGX) == (q->tee_type == AECS_TEE_TYPE_SGX),
           AECS_E_FORMAT, "quote: body_type %d does not match header.tee_type 0x%x",
           (int)q->body_type, q->tee_type);
    size = q->body_type == AECS_BODY_SGX    ? AECS_SGX_REPORT_SIZE
           : q->body_type == AECS_BODY_TD10 ? AECS_TD10_REPORT_SIZE
                                            : AECS_TD15_REPORT_SIZE;
    GUARD(aecs_read_bytes(r, "report_body", size, &q->body));
    q->body_size = size;
    if (q->body_type == AECS_BODY_SGX)
        aecs_sgx_report_decode(q->body, &q->sgx);
    else
        td_report_decode(q->body, q->body_type == AECS_BODY_TD15, &q->td);
    return AECS_OK;
}

/* QE report, its signature, QE auth data and the certification data. */
static int parse_qe_part(struct aecs_reader *r, struct aecs_quote *q)
{
    struct aecs_reader cert;

    GUARD(aecs_read_bytes(r, "qe_report", AECS_SGX_REPORT_SIZE, &q->qe_report_raw));
    aecs_sgx_report_decode(q->qe_report_raw, &q->qe_report);
    GUARD(aecs_read_bytes(r, "qe_report_signature", 64, &q->qe_report_sig));
    GUARD(aecs_read_u16le(r, "qe_auth_data.size", &q->qe_auth_size));
    GUARD(aecs_read_bytes(r, "qe_auth_data", q->qe_auth_size, &q->qe_auth_data));
    GUARD(aecs_read_u16le(r, "certification_data.type", &q->cert_type));
    ENSURE(q->cert_type >= 1 && q->cert_type <= 5, AECS_E_UNSUPPORTED,
           "quote: certification_data.type %u is not supported here (1-5)", q->cert_type);
    GUARD(aecs_read_u32le(r, "certification_data.size", &q->cert_size));
    GUARD(aecs_read_sub(r, "certification_data", q->cert_size, "certification data", &cert));
    q->cert_data = cert.data;
    return aecs_read_end(r);
}

int aecs_quote_parse(const uint8_t *data, size_t size, struct aecs_quote *q)
{
    struct aecs_reader r;
    struct aecs_reader sig;

    memset(q, 0, sizeof(*q));
    aecs_reader_init(&r, data, size, "quote");
    GUARD(parse_header(&r, q));
    GUARD(parse_body(&r, q));
    q->signed_data = data;
    q->signed_size = r.pos;
    GUARD(aecs_read_u32le(&r, "signature_data.size", &q->sig_data_size));
    GUARD(aecs_read_sub(&r, "signature_data", q->sig_data_size, "quote signature data", &sig));
    q->trailing_size = aecs_reader_remaining(&r);

    GUARD(aecs_read_bytes(&sig, "signature", 64, &q->signature));
    GUARD(aecs_read_bytes(&sig, "attestation_key", 64, &q->attest_key));
    if (q->version == 3)
        return parse_qe_part(&sig, q);

    struct aecs_reader inner;
    uint32_t inner_size = 0;
    GUARD(aecs_read_u16le(&sig, "certification_data.type", &q->outer_cert_type));
    ENSURE(q->outer_cert_type == 6, AECS_E_UNSUPPORTED,
           "quote: outer certification_data.type %u is not supported (6: QE report "
           "certification data)",
           q->outer_cert_type);
    GUARD(aecs_read_u32le(&sig, "certification_data.size", &inner_size));
    GUARD(aecs_read_sub(&sig, "certification_data", inner_size, "QE report certification data",
                        &inner));
    GUARD(aecs_read_end(&sig));
    return parse_qe_part(&inner, q);
}
