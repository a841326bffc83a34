/*
 * amd.c - KDS extensions of VCEK/VLEK certificates and AMD's algorithm rules;
 * see amd.h.
 *
 * The certificate is decoded again from its DER with d2i_X509 (x509.c keeps its
 * X509 private); every extension value is decoded with d2i_ASN1_INTEGER or
 * d2i_ASN1_IA5STRING and must be consumed whole. The one exception is hwID,
 * which KDS stores as raw bytes in the extension's OCTET STRING (the extension
 * value itself, already decoded by OpenSSL), as go-sev-guest and virtee/sev
 * also read it.
 */
#include "crypto/amd.h"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "crypto/ossl.h"

const char *aecs_amd_product_name(enum aecs_amd_product p)
{
    switch (p) {
    case AECS_AMD_MILAN:
        return "Milan";
    case AECS_AMD_GENOA:
        return "Genoa";
    case AECS_AMD_TURIN:
        return "Turin";
    default:
        return "unknown";
    }
}

enum aecs_amd_product aecs_amd_product_from_name(const char *name)
{
    static const enum aecs_amd_product all[] = {AECS_AMD_MILAN, AECS_AMD_GENOA, AECS_AMD_TURIN};
    size_t len = strcspn(name, "-");

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *n = aecs_amd_product_name(all[i]);
        if (strlen(n) == len && strncmp(name, n, len) == 0)
            return all[i];
    }
    return AECS_AMD_PRODUCT_UNKNOWN;
}

int aecs_amd_product_turin_layout(enum aecs_amd_product p)
{
    return p == AECS_AMD_TURIN;
}

/* Decodes the certificate again so this file can use OpenSSL's X509 API. */
static int cert_x509(const struct aecs_cert *cert, X509 **out)
{
    size_t size = 0;
    const unsigned char *der = aecs_cert_der(cert, &size);
    const unsigned char *p = der;

    *out = d2i_X509(NULL, &p, (long)size);
    if (*out == NULL)
        return OSSL_FAIL(AECS_E_FORMAT, "d2i_X509");
    return AECS_OK;
}

static int ext_int(const ASN1_OCTET_STRING *v, const char *field, int64_t *out)
{
    const unsigned char *p = v->data;
    ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &p, v->length);
    int64_t x = -1;
    int ok = i != NULL && p == v->data + v->length && ASN1_INTEGER_get_int64(&x, i) == 1;

    ASN1_INTEGER_free(i);
    ERR_clear_error();
    ENSURE(ok, AECS_E_FORMAT, "VCEK/VLEK extension %s is not a DER INTEGER", field);
    *out = x;
    return AECS_OK;
}

static int ext_ia5(const ASN1_OCTET_STRING *v, const char *field, char *out, size_t cap)
{
    const unsigned char *p = v->data;
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, v->length);
    int rc = AECS_OK;

    ERR_clear_error();
    ENSURE_OUT(s != NULL && p == v->data + v->length, AECS_E_FORMAT,
               "VCEK/VLEK extension %s is not a DER IA5String", field);
    ENSURE_OUT(s->length > 0 && (size_t)s->length < cap, AECS_E_FORMAT,
               "VCEK/VLEK extension %s has a bad length (%d)", field, s->length);
    for (int k = 0; k < s->length; k++) {
        ENSURE_OUT(s->data[k] >= 0x20 && s->data[k] < 0x7f, AECS_E_FORMAT,
                   "VCEK/VLEK extension %s has a non-printable character", field);
    }
    memcpy(out, s->data, (size_t)s->length);
    out[s->length] = '\0';
out:
    ASN1_IA5STRING_free(s);
    return rc;
}

/* hwID: raw bytes of the expected size, or (should KDS ever tag it) a DER OCTET STRING. */
static int ext_hwid(const ASN1_OCTET_STRING *v, size_t want, struct aecs_amd_vek_ext *out)
{
    if ((size_t)v->length == want) {
        memcpy(out->hwid, v->data, want);
        out->hwid_size = want;
        return AECS_OK;
    }
    const unsigned char *p = v->data;
    ASN1_OCTET_STRING *o = d2i_ASN1_OCTET_STRING(NULL, &p, v->length);
    int ok = o != NULL && p == v->data + v->length && (size_t)o->length == want;

    ERR_clear_error();
    if (ok) {
        memcpy(out->hwid, o->data, want);
        out->hwid_size = want;
    }
    ASN1_OCTET_STRING_free(o);
    ENSURE(ok, AECS_E_FORMAT, "VCEK extension hwID is %d bytes, expected %zu for structVersion %d",
           v->length, want, out->struct_version);
    return AECS_OK;
}

enum {
    X_STRUCT = 1 << 0,
    X_PRODUCT = 1 << 1,
    X_HWID = 1 << 2,
    X_CSP = 1 << 3,
};

/* The SPLs each structure version must carry (bit N for .3.N). */
#define SPLS_V0                                                                                    \
    ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8))
#define SPLS_V1                                                                                    \
    ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 9))

static void make_tcb(struct aecs_amd_vek_ext *e)
{
    const uint8_t *s = e->spl;

    e->bl_spl = s[1];
    e->tee_spl = s[2];
    e->snp_spl = s[3];
    e->ucode_spl = s[8];
    if (e->struct_version == 0) {
        /* Milan/Genoa TCB_VERSION: BOOT_LOADER, TEE, 4 reserved, SNP, MICROCODE */
        const uint8_t b[8] = {s[1], s[2], s[4], s[5], s[6], s[7], s[3], s[8]};
        memcpy(e->tcb, b, 8);
    } else {
        /* Turin TCB_VERSION: FMC, BOOT_LOADER, TEE, SNP, 3 reserved, MICROCODE */
        const uint8_t b[8] = {s[9], s[1], s[2], s[3], s[5], s[6], s[7], s[8]};
        memcpy(e->tcb, b, 8);
        e->fmc_spl = s[9];
        e->has_fmc_spl = 1;
    }
    e->tcb_raw = 0;
    for (int i = 7; i >= 0; i--)
        e->tcb_raw = (e->tcb_raw << 8) | e->tcb[i];
}

/* One extension: which KDS field it is, checked and stored. `seen` tracks duplicates. */
static int parse_one(const char *oid, const ASN1_OCTET_STRING *v, struct aecs_amd_vek_ext *out,
                     uint32_t *seen, const ASN1_OCTET_STRING **hwid)
{
    static const char spl_arc[] = AECS_AMD_KDS_OID ".3.";
    int64_t x = 0;

    if (strcmp(oid, AECS_AMD_KDS_OID ".1") == 0) {
        ENSURE(!(*seen & X_STRUCT), AECS_E_FORMAT, "VCEK/VLEK: structVersion appears twice");
        *seen |= X_STRUCT;
        GUARD(ext_int(v, "structVersion", &x));
        ENSURE(x == 0 || x == 1, AECS_E_FORMAT,
               "VCEK/VLEK: structVersion %lld is not supported (0 or 1)", (long long)x);
        out->struct_version = (int)x;
        return AECS_OK;
    }
    if (strcmp(oid, AECS_AMD_KDS_OID ".2") == 0) {
        ENSURE(!(*seen & X_PRODUCT), AECS_E_FORMAT, "VCEK/VLEK: productName appears twice");
        *seen |= X_PRODUCT;
        return ext_ia5(v, "productName", out->product_name, sizeof(out->product_name));
    }
    if (strcmp(oid, AECS_AMD_KDS_OID ".4") == 0) {
        ENSURE(!(*seen & X_HWID), AECS_E_FORMAT, "VCEK: hwID appears twice");
        *seen |= X_HWID;
        *hwid = v; /* decoded once structVersion is known */
        return AECS_OK;
    }
    if (strcmp(oid, AECS_AMD_KDS_OID ".5") == 0) {
        ENSURE(!(*seen & X_CSP), AECS_E_FORMAT, "VLEK: csp_id appears twice");
        *seen |= X_CSP;
        return ext_ia5(v, "csp_id", out->csp_id, sizeof(out->csp_id));
    }
    if (strncmp(oid, spl_arc, sizeof(spl_arc) - 1) == 0) {
        const char *tail = oid + sizeof(spl_arc) - 1;
        int n = (tail[0] >= '1' && tail[0] <= '9' && tail[1] == '\0') ? tail[0] - '0' : 0;
        char field[24];
        if (n == 0)
            return AECS_OK; /* a TCB component this code does not know: ignored */
        ENSURE(!(out->spl_present & (1u << n)), AECS_E_FORMAT, "VCEK/VLEK: SPL .3.%d appears twice",
               n);
        snprintf(field, sizeof(field), "SPL .3.%d", n);
        GUARD(ext_int(v, field, &x));
        ENSURE(x >= 0 && x <= 255, AECS_E_FORMAT, "VCEK/VLEK: %s is %lld, not 0..255", field,
               (long long)x);
        out->spl[n] = (uint8_t)x;
        out->spl_present |= (uint16_t)(1u << n);
    }
    return AECS_OK;
}

int aecs_amd_vek_ext_parse(const struct aecs_cert *cert, struct aecs_amd_vek_ext *out)
{
    int rc = AECS_OK;
    X509 *x = NULL;
    uint32_t seen = 0;
    const ASN1_OCTET_STRING *hwid = NULL;

    memset(out, 0, sizeof(*out));
    GUARD(cert_x509(cert, &x));
    for (int i = 0; i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        char oid[80];
        if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
            continue;
        if (strncmp(oid, AECS_AMD_KDS_OID ".", sizeof(AECS_AMD_KDS_OID)) != 0)
            continue;
        GUARD_OUT(parse_one(oid, X509_EXTENSION_get_data(ext), out, &seen, &hwid));
    }
    ENSURE_OUT(seen & X_STRUCT, AECS_E_FORMAT, "VCEK/VLEK: no structVersion extension (%s.1)",
               AECS_AMD_KDS_OID);
    ENSURE_OUT(seen & X_PRODUCT, AECS_E_FORMAT, "VCEK/VLEK: no productName extension (%s.2)",
               AECS_AMD_KDS_OID);
    out->product = aecs_amd_product_from_name(out->product_name);
    ENSURE_OUT(out->product != AECS_AMD_PRODUCT_UNKNOWN, AECS_E_FORMAT,
               "VCEK/VLEK: productName '%.40s' is not a known product (Milan, Genoa, Turin)",
               out->product_name);
    int want_version = aecs_amd_product_turin_layout(out->product) ? 1 : 0;
    ENSURE_OUT(out->struct_version == want_version, AECS_E_FORMAT,
               "VCEK/VLEK: structVersion %d does not match product %s (expected %d)",
               out->struct_version, aecs_amd_product_name(out->product), want_version);
    uint16_t need = out->struct_version == 0 ? SPLS_V0 : SPLS_V1;
    uint16_t known = SPLS_V0 | SPLS_V1;
    for (int n = 1; n <= 9; n++) {
        ENSURE_OUT(!(need & (1u << n)) || (out->spl_present & (1u << n)), AECS_E_FORMAT,
                   "VCEK/VLEK: SPL extension %s.3.%d is missing", AECS_AMD_KDS_OID, n);
        ENSURE_OUT((need & (1u << n)) || !(known & (1u << n) & out->spl_present), AECS_E_FORMAT,
                   "VCEK/VLEK: SPL extension %s.3.%d is not allowed with structVersion %d",
                   AECS_AMD_KDS_OID, n, out->struct_version);
    }
    ENSURE_OUT(!(seen & X_HWID) != !(seen & X_CSP), AECS_E_FORMAT,
               (seen & X_HWID) ? "VCEK/VLEK: both hwID and csp_id are present"
                               : "VCEK/VLEK: neither hwID (VCEK) nor csp_id (VLEK) is present");
    if (hwid != NULL)
        GUARD_OUT(ext_hwid(hwid, out->struct_version == 0 ? 64 : 8, out));
    out->is_vlek = (seen & X_CSP) != 0;
    make_tcb(out);
out:
    X509_free(x);
    return rc;
}

static int algor_nid(const X509_ALGOR *a)
{
    return a == NULL ? NID_undef : OBJ_obj2nid(a->algorithm);
}

/* The hash of an MGF1 AlgorithmIdentifier's parameter. */
static int mgf1_hash_nid(const X509_ALGOR *mgf)
{
    X509_ALGOR *hash = NULL;
    int nid = NID_undef;

    if (algor_nid(mgf) != NID_mgf1 || mgf->parameter == NULL)
        return NID_undef;
    hash = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), mgf->parameter);
    nid = algor_nid(hash);
    X509_ALGOR_free(hash);
    ERR_clear_error();
    return nid;
}

int aecs_amd_check_pss_sha384(const struct aecs_cert *cert)
{
    int rc = AECS_OK;
    X509 *x = NULL;
    const X509_ALGOR *alg = NULL;
    RSA_PSS_PARAMS *pss = NULL;
    char subject[256];
    int64_t salt = -1;
    int64_t trailer = 1;

    GUARD(cert_x509(cert, &x));
    aecs_cert_subject_line(cert, subject, sizeof(subject));
    X509_get0_signature(NULL, &alg, x);
    ENSURE_OUT(X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(x)) == 0, AECS_E_MISMATCH,
               "'%s': the signed and outer signature algorithms differ", subject);
    ENSURE_OUT(algor_nid(alg) == NID_rsassaPss, AECS_E_MISMATCH,
               "'%s' is not signed with RSASSA-PSS (AMD signs with RSASSA-PSS SHA-384)", subject);
    ENSURE_OUT(alg->parameter != NULL && alg->parameter->type == V_ASN1_SEQUENCE, AECS_E_MISMATCH,
               "'%s': RSASSA-PSS without parameters", subject);
    pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter);
    ERR_clear_error();
    ENSURE_OUT(pss != NULL, AECS_E_MISMATCH, "'%s': RSASSA-PSS parameters do not decode", subject);
    ENSURE_OUT(algor_nid(pss->hashAlgorithm) == NID_sha384, AECS_E_MISMATCH,
               "'%s': RSASSA-PSS hash is not SHA-384", subject);
    ENSURE_OUT(mgf1_hash_nid(pss->maskGenAlgorithm) == NID_sha384, AECS_E_MISMATCH,
               "'%s': RSASSA-PSS mask generation is not MGF1 with SHA-384", subject);
    if (pss->saltLength != NULL && ASN1_INTEGER_get_int64(&salt, pss->saltLength) != 1)
        salt = -1;
    if (pss->trailerField != NULL && ASN1_INTEGER_get_int64(&trailer, pss->trailerField) != 1)
        trailer = -1;
    ERR_clear_error();
    ENSURE_OUT(salt == 48, AECS_E_MISMATCH, "'%s': RSASSA-PSS salt length is not 48", subject);
    ENSURE_OUT(trailer == 1, AECS_E_MISMATCH, "'%s': RSASSA-PSS trailer field is not 1", subject);
out:
    RSA_PSS_PARAMS_free(pss);
    X509_free(x);
    return rc;
}

int aecs_amd_check_p384_key(const struct aecs_cert *cert)
{
    int rc = AECS_OK;
    X509 *x = NULL;
    char curve[64] = "";
    size_t len = 0;

    GUARD(cert_x509(cert, &x));
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    ENSURE_OUT(pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC, AECS_E_MISMATCH,
               "VCEK/VLEK key is not an ECDSA key");
    if (EVP_PKEY_get_utf8_string_param(pkey, "group", curve, sizeof(curve), &len) != 1)
        curve[0] = '\0';
    ERR_clear_error();
    ENSURE_OUT(OBJ_sn2nid(curve) == NID_secp384r1 || OBJ_txt2nid(curve) == NID_secp384r1,
               AECS_E_MISMATCH, "VCEK/VLEK key is not on curve P-384 (%.40s)", curve);
out:
    X509_free(x);
    return rc;
}
