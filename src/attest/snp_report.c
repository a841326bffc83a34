/*
 * snp_report.c - JSON views of SEV-SNP reports and verdicts; see snp_report.h.
 */
#include "attest/snp_report.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/codec.h"
#include "base/timeutil.h"

static void put_hex(json_t *o, const char *key, const uint8_t *data, size_t size)
{
    char buf[2 * 72 + 1];

    if (size > 72)
        size = 72;
    aecs_hex_encode(data, size, buf);
    json_object_set_new(o, key, json_string(buf));
}

static void put_u64_hex(json_t *o, const char *key, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
    json_object_set_new(o, key, json_string(buf));
}

static void put_int(json_t *o, const char *key, json_int_t v)
{
    json_object_set_new(o, key, json_integer(v));
}

static void put_version(json_t *o, const char *key, uint8_t major, uint8_t minor, uint8_t build)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "%u.%u.%u", major, minor, build);
    json_object_set_new(o, key, json_string(buf));
}

json_t *aecs_snp_tcb_json(const struct aecs_snp_tcb *t)
{
    json_t *o = json_object();

    put_hex(o, "raw", t->bytes, 8);
    if (t->turin_layout)
        put_int(o, "fmc", t->fmc);
    put_int(o, "bootloader", t->bootloader);
    put_int(o, "tee", t->tee);
    put_int(o, "snp", t->snp);
    put_int(o, "microcode", t->microcode);
    return o;
}

static json_t *policy_json(uint64_t p)
{
    json_t *o = json_object();

    put_int(o, "abi_minor", (json_int_t)(p & 0xff));
    put_int(o, "abi_major", (json_int_t)((p >> 8) & 0xff));
    json_object_set_new(o, "smt", json_boolean(p & (1ull << 16)));
    json_object_set_new(o, "migrate_ma", json_boolean(p & (1ull << 18)));
    json_object_set_new(o, "debug", json_boolean(p & AECS_SNP_POLICY_DEBUG));
    json_object_set_new(o, "single_socket", json_boolean(p & (1ull << 20)));
    return o;
}

json_t *aecs_snp_report_to_json(const struct aecs_snp_report *r)
{
    json_t *o = json_object();
    json_t *sig = json_object();

    json_object_set_new(o, "platform", json_string("snp"));
    put_int(o, "version", r->version);
    put_int(o, "guest_svn", r->guest_svn);
    put_u64_hex(o, "policy", r->policy);
    json_object_set_new(o, "policy_bits", policy_json(r->policy));
    put_hex(o, "family_id", r->family_id, 16);
    put_hex(o, "image_id", r->image_id, 16);
    put_int(o, "vmpl", r->vmpl);
    put_int(o, "signature_algo", r->signature_algo);
    json_object_set_new(o, "current_tcb", aecs_snp_tcb_json(&r->current_tcb));
    put_u64_hex(o, "platform_info", r->platform_info);
    json_object_set_new(o, "author_key_en", json_boolean(r->author_key_en));
    json_object_set_new(o, "mask_chip_id", json_boolean(r->mask_chip_id));
    json_object_set_new(o, "signing_key", json_string(aecs_snp_signing_key_name(r->signing_key)));
    put_hex(o, "report_data", r->report_data, 64);
    put_hex(o, "measurement", r->measurement, 48);
    put_hex(o, "host_data", r->host_data, 32);
    put_hex(o, "id_key_digest", r->id_key_digest, 48);
    put_hex(o, "author_key_digest", r->author_key_digest, 48);
    put_hex(o, "report_id", r->report_id, 32);
    put_hex(o, "report_id_ma", r->report_id_ma, 32);
    json_object_set_new(o, "reported_tcb", aecs_snp_tcb_json(&r->reported_tcb));
    if (r->has_cpuid) {
        json_t *c = json_object();
        put_int(c, "family", r->cpuid_fam_id);
        put_int(c, "model", r->cpuid_mod_id);
        put_int(c, "stepping", r->cpuid_step);
        json_object_set_new(o, "cpuid", c);
    }
    json_object_set_new(o, "product",
                        r->product == AECS_AMD_PRODUCT_UNKNOWN
                            ? json_null()
                            : json_string(aecs_amd_product_name(r->product)));
    json_object_set_new(o, "tcb_layout",
                        json_string(r->reported_tcb.turin_layout ? "turin" : "milan_genoa"));
    put_hex(o, "chip_id", r->chip_id, 64);
    json_object_set_new(o, "committed_tcb", aecs_snp_tcb_json(&r->committed_tcb));
    put_version(o, "current_version", r->current_major, r->current_minor, r->current_build);
    put_version(o, "committed_version", r->committed_major, r->committed_minor, r->committed_build);
    json_object_set_new(o, "launch_tcb", aecs_snp_tcb_json(&r->launch_tcb));
    if (r->has_mit_vectors) {
        put_u64_hex(o, "launch_mit_vector", r->launch_mit_vector);
        put_u64_hex(o, "current_mit_vector", r->current_mit_vector);
    }
    put_hex(sig, "r", r->sig_r, 72);
    put_hex(sig, "s", r->sig_s, 72);
    json_object_set_new(sig, "encoding", json_string("little-endian"));
    json_object_set_new(o, "signature", sig);
    return o;
}

json_t *aecs_snp_claims_json(const struct aecs_snp_report *r)
{
    json_t *c = json_object();

    put_hex(c, "measurement", r->measurement, 48);
    put_hex(c, "host_data", r->host_data, 32);
    put_hex(c, "report_data", r->report_data, 64);
    put_u64_hex(c, "policy", r->policy);
    /* POLICY.DEBUG is bit 19. */
    json_object_set_new(c, "debug", json_boolean(r->policy & AECS_SNP_POLICY_DEBUG));
    put_int(c, "vmpl", r->vmpl);
    put_int(c, "guest_svn", r->guest_svn);
    put_hex(c, "family_id", r->family_id, 16);
    put_hex(c, "image_id", r->image_id, 16);
    put_hex(c, "id_key_digest", r->id_key_digest, 48);
    put_hex(c, "author_key_digest", r->author_key_digest, 48);
    json_object_set_new(c, "reported_tcb", aecs_snp_tcb_json(&r->reported_tcb));
    put_hex(c, "chip_id", r->chip_id, 64);
    json_object_set_new(c, "chip_id_masked", json_boolean(r->mask_chip_id));
    json_object_set_new(c, "signing_key", json_string(aecs_snp_signing_key_name(r->signing_key)));
    return c;
}

static json_t *vek_json(const struct aecs_snp_result *r)
{
    json_t *v = json_object();
    struct aecs_snp_tcb t;

    json_object_set_new(v, "kind", json_string(r->vek.is_vlek ? "vlek" : "vcek"));
    json_object_set_new(v, "product_name", json_string(r->vek.product_name));
    put_int(v, "struct_version", r->vek.struct_version);
    aecs_snp_tcb_decode(r->vek.tcb, r->vek.struct_version == 1, &t);
    json_object_set_new(v, "tcb", aecs_snp_tcb_json(&t));
    if (r->vek.is_vlek)
        json_object_set_new(v, "csp_id", json_string(r->vek.csp_id));
    else
        put_hex(v, "hwid", r->vek.hwid, r->vek.hwid_size);
    if (r->ask_cn[0] != '\0')
        json_object_set_new(v, "ask", json_string(r->ask_cn));
    if (r->ark_cn[0] != '\0')
        json_object_set_new(v, "ark", json_string(r->ark_cn));
    return v;
}

json_t *aecs_snp_result_to_json(const struct aecs_snp_result *r)
{
    json_t *o = json_object();
    char buf[32];

    json_object_set_new(o, "verified", json_boolean(r->verified));
    json_object_set_new(o, "platform", json_string("snp"));
    /* No Intel-style TCB status or QvE result for SNP: the TCB is matched exactly. */
    json_object_set_new(o, "status", json_null());
    json_object_set_new(o, "qv_result", json_null());
    json_object_set_new(o, "advisory_ids", json_array());
    json_object_set_new(o, "collateral_expired", json_boolean(r->collateral_expired));
    if (r->valid_until != 0) {
        aecs_time_format(r->valid_from, buf);
        json_object_set_new(o, "collateral_valid_from", json_string(buf));
        aecs_time_format(r->valid_until, buf);
        json_object_set_new(o, "collateral_valid_until", json_string(buf));
    }
    if (r->vek_parsed)
        json_object_set_new(o, "product", json_string(aecs_amd_product_name(r->product)));
    if (r->report_parsed) {
        put_int(o, "report_version", r->report.version);
        json_object_set_new(o, "claims", aecs_snp_claims_json(&r->report));
    }
    if (r->vek_parsed)
        json_object_set_new(o, "vek", vek_json(r));
    if (!r->verified) {
        json_t *e = json_object();
        json_object_set_new(e, "stage", json_string(r->stage ? r->stage : "internal"));
        json_object_set_new(e, "code", json_string(aecs_snp_error_name(r->error)));
        json_object_set_new(e, "message", json_string(r->message));
        json_object_set_new(o, "error", e);
    }
    return o;
}
