#!/usr/bin/env python3
"""
make_seeds.py - writes the seed corpora of the fuzz targets named on the
command line (all of those below when none is), from the formats the code
writes: fuzz/corpus/<target>/. Deterministic: fixed keys, nonces and
signatures (RFC 6979), so running it again gives the same files.

Needs python3-cryptography. Run from the repository root:
    python3 fuzz/make_seeds.py [target ...]
"""
import base64
import hashlib
import json
import os
import random
import sys
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNG = random.Random(0)


def rand(n):
    return bytes(RNG.getrandbits(8) for _ in range(n))


def p256_key(seed):
    """A fixed P-256 key pair (the private scalar from seed)."""
    scalar = int.from_bytes(hashlib.sha256(seed).digest(), "big") % (2**256 - 2**224) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def point(key):
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def compact(obj, sort=False):
    return json.dumps(obj, separators=(",", ":"), sort_keys=sort).encode()


def write(target, name, data):
    folder = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


# ---- codec: hex, base64, RFC 3339 times (src/base/) ----

def seeds_codec():
    t = "codec"
    write(t, "hex_lower", rand(12).hex())
    write(t, "hex_upper", rand(8).hex().upper())
    write(t, "hex_odd", "abc")
    for n in (1, 2, 3, 32):
        write(t, "base64_%d" % n, base64.b64encode(rand(n)))
    write(t, "base64_noncanonical", "YR==")
    write(t, "base64_pad_inside", "YQ==YQ==")
    # the times of collateral (tcbInfo issueDate, nextUpdate) and of the audit log
    write(t, "time_z", "2025-07-09T17:03:02Z")
    write(t, "time_fraction_offset", "2024-02-29T23:59:59.999+05:30")
    write(t, "time_negative_offset", "1999-12-31T23:00:00-01:00")
    write(t, "time_leap_second", "2016-12-31T23:59:60Z")
    write(t, "time_year_0", "0000-03-01T00:00:00Z")
    write(t, "time_not_leap", "2023-02-29T00:00:00Z")
    write(t, "time_lower_t_z", "2020-01-01t00:00:00z")


# ---- http_header: header lines and blocks, URL-encoded PEM (src/net/http.c) ----

NAMES = ["X-Aecs-Answer-Signature", "Retry-After", "Error-Message", "TCB-Info-Issuer-Chain",
         "SGX-PCK-CRL-Issuer-Chain", "SGX-Enclave-Identity-Issuer-Chain"]


def seeds_http_header():
    t = "http_header"
    key = p256_key(b"identity")
    sig = base64.b64encode(key.sign(b"answer", ec.ECDSA(hashes.SHA256(),
                                                        deterministic_signing=True)))
    write(t, "signature_line", b"\x00" + b"X-Aecs-Answer-Signature: " + sig + b"\r\n")
    write(t, "signature_lower_tab", b"\x00" + b"x-aecs-answer-signature:\t" + sig + b" \r\n")
    write(t, "status_line", b"\x00HTTP/1.1 100 Continue\r\n")
    write(t, "retry_after_block",
          b"\x01HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nRetry-After: 120\r\n\r\n")
    write(t, "error_message", b"\x02Error-Message: No cache data for this fmspc\r\n")
    # Intel's PCS percent-encodes the issuer chain PEM in its header
    chain = read("tests/data/dcap/tdx_v4_dcapqvl/tcb_info_issuer_chain.pem")
    enc = urllib.parse.quote(chain, safe="").encode()
    write(t, "tcb_info_issuer_chain",
          b"\x03HTTP/1.1 200 OK\r\nTCB-Info-Issuer-Chain: " + enc + b"\r\n\r\n")
    write(t, "bad_escape", b"\x04SGX-PCK-CRL-Issuer-Chain: -----BEGIN%2\r\n")
    write(t, "encoded_nul", b"\x05SGX-Enclave-Identity-Issuer-Chain: a%00b\r\n")


# ---- share_text: share texts and forwarded shares (keystore/shares.c, service/unseal.c) ----

def share_text(set_id, k, index, data):
    head = "aecs-share-v1:%s:%d:%d:%s" % (set_id, k, index, base64.b64encode(data).decode())
    return head + ":" + hashlib.sha256(head.encode()).digest()[:4].hex()


def seeds_share_text():
    t = "share_text"
    set_id = rand(4).hex()
    write(t, "share_2_of_3", share_text(set_id, 2, 1, rand(32)) + "\n")
    write(t, "share_16_of_16", share_text(set_id, 16, 16, rand(32)))
    text = share_text(set_id, 3, 2, rand(32))
    write(t, "share_upper_check", "  " + text[:-8] + text[-8:].upper() + " \r\n")
    write(t, "share_bad_check", text[:-1] + ("0" if text[-1] != "0" else "1"))
    write(t, "share_four_fields", "aecs-share-v1:%s:2:1:%s" % (set_id, "A" * 44))
    write(t, "share_other_version", "aecs-share-v2:" + text[len("aecs-share-v1:"):])
    # a forwarded share's plaintext: index, threshold, set id, data (unseal.c)
    write(t, "forwarded_share", bytes([2, 3]) + set_id.encode() + rand(32))
    write(t, "forwarded_share_bad_index", bytes([17, 3]) + set_id.encode() + rand(32))
    # an upper-case set id with a checksum over it: refused (the splitter writes lower case)
    write(t, "regress_upper_set", share_text(set_id.upper(), 2, 1, rand(32)))
    write(t, "box_index_16", "16")
    write(t, "box_index_leading_zero", "01")


# ---- service_store: what the service reads back from the store (src/service/) ----

def seeds_service_store():
    t = "service_store"
    write(t, "0_nonce_expiry", b"\x00" + b"1767225900")
    write(t, "0_nonce_expiry_max", b"\x00" + b"9223372036854775807")
    write(t, "0_nonce_expiry_overflow", b"\x00" + b"9223372036854775808")
    write(t, "0_nonce_expiry_space", b"\x00" + b" 1767225900")
    write(t, "0_nonce_expiry_nul_inside", b"\x00" + b"1767225900\x007")
    write(t, "1_epoch", b"\x01" + b"3")
    write(t, "1_epoch_zero", b"\x01" + b"0")
    write(t, "1_epoch_leading_zero", b"\x01" + b"07")
    # /meta/init as init writes it (service.c), and as stores before share sets had it
    commitments = [rand(32).hex() for _ in range(3)]
    meta = {"format": 1, "check": rand(32).hex(), "threshold": 2, "shares": 3,
            "set": rand(4).hex(), "created": "2026-01-01T00:00:00Z",
            "commitments": commitments}
    write(t, "2_meta_init", b"\x02" + compact(meta, sort=True))
    old = {"format": 1, "check": rand(32).hex(), "threshold": 3, "shares": 5,
           "created": "2025-01-01T00:00:00Z"}
    write(t, "2_meta_init_old", b"\x02" + compact(old, sort=True))
    # the index as a commit writes it (index.c)
    index = {"generation": 7, "audit_seq": 12,
             "records": {"/k/keys/" + rand(32).hex(): 1, "/k/services/svc1": 4,
                         "/k/secrets/svc1/data_key_1": 7}}
    write(t, "3_index", b"\x03" + compact(index))
    # the audit head and an entry (audit.c: compact JSON, sorted keys)
    prev = hashlib.sha256(b"entry 11").hexdigest()
    entry = {"seq": 12, "time": "2026-01-01T00:00:00Z", "generation": 7,
             "actor": rand(32).hex(), "role": "cluster-admin", "remote": "127.0.0.1",
             "action": "secrets.create", "target": "svc1/data_key_1", "result": "ok",
             "detail": None, "prev": prev}
    entry_text = compact(entry, sort=True)
    write(t, "4_audit_head",
          b"\x04" + compact({"seq": 12, "hash": hashlib.sha256(entry_text).hexdigest()},
                            sort=True))
    write(t, "5_audit_entry", b"\x05" + entry_text)
    first = dict(entry, seq=1, prev="0" * 64, action="init", target=None,
                 data={"claims": {"platform": "sim"}})
    write(t, "5_audit_entry_first", b"\x05" + compact(first, sort=True))


# ---- record: sealed records (keystore/record.c) under the target's fixed KEK ----

KEK = bytes(range(32))


def seal(path, rtype, version, plain, nonce):
    info = b"aecs-record-v1\x00" + path.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(KEK)
    aad = (b"aecs-record" + b"\x01" + version.to_bytes(8, "big") + bytes([len(rtype)]) +
           rtype.encode() + len(path).to_bytes(2, "big") + path.encode())
    ct = AESGCM(key).encrypt(nonce, plain, aad)  # ciphertext || tag
    return b"\x01" + version.to_bytes(8, "big") + nonce + ct


def seeds_record():
    t = "record"
    path, rtype = "/k/services/fuzz", "service"
    rec = seal(path, rtype, 3, compact({"name": "fuzz", "created": "2026-01-01T00:00:00Z"}),
               rand(12))
    write(t, "service_v3", rec)
    write(t, "empty_v1", seal(path, rtype, 1, b"", rand(12)))
    write(t, "other_path", seal("/k/services/other", rtype, 3, b"{}", rand(12)))
    write(t, "truncated", rec[:36])
    write(t, "format_2", b"\x02" + rec[1:])
    flipped = bytearray(rec)
    flipped[-1] ^= 1
    write(t, "tag_changed", bytes(flipped))


# ---- etcd_answer: etcd's v3 JSON gateway answers (store/etcd.c) ----

def b64s(data):
    return base64.b64encode(data).decode()


def seeds_etcd_answer():
    t = "etcd_answer"
    header = {"cluster_id": "14841639068965178418", "member_id": "10276657743932975437",
              "revision": "42", "raft_term": "3"}
    kv = {"key": b64s(b"/k/index"), "create_revision": "5", "mod_revision": "41",
          "version": "3", "value": b64s(rand(48))}
    write(t, "0_kv", b"\x00" + compact(kv))
    write(t, "0_kv_number_version",
          b"\x00" + compact({"key": b64s(b"/meta/unseal/epoch"), "version": 1,
                             "value": b64s(b"2")}))
    write(t, "0_kv_no_value", b"\x00" + compact({"key": b64s(b"/nonce/r/" + rand(16).hex().encode()),
                                                  "version": "1"}))
    write(t, "0_kv_bad_key", b"\x00" + compact({"key": b64s(b"k/index"), "version": "1"}))
    ok = {"header": header, "succeeded": True, "responses": [
        {"response_put": {"header": header}},
        {"response_delete_range": {"header": header, "deleted": "1",
                                   "prev_kvs": [dict(kv, version="3")]}}]}
    write(t, "1_txn_succeeded", b"\x01" + compact(ok))
    put_prev = {"header": header, "succeeded": True, "responses": [
        {"response_put": {"header": header, "prev_kv": dict(kv, version="1")}},
        {"response_delete_range": {"header": header}}]}
    write(t, "1_txn_put_over", b"\x01" + compact(put_prev))
    # proto3 JSON leaves out "succeeded": false; the failure branch's ranges answer
    failed = {"header": header, "responses": [
        {"response_range": {"header": header, "kvs": [
            {"key": b64s(b"/audit/00000000000000000001"), "version": "1"}], "count": "1"}},
        {"response_range": {"header": header, "kvs": [dict(kv, version="3")], "count": "1"}}]}
    write(t, "1_txn_mismatch", b"\x01" + compact(failed))
    write(t, "3_txn_no_compares", b"\x03" + compact(ok))


# ---- tls_pin: fingerprints (crypto/tls_pin.c) ----

def seeds_tls_pin():
    t = "tls_pin"
    pem = read("tests/data/dcap/tdx_v4_dcapqvl/pck_chain.pem")
    first = pem[:pem.index(b"-----END CERTIFICATE-----") + len(b"-----END CERTIFICATE-----\n")]
    der = base64.b64decode(b"".join(first.splitlines()[1:-1]))
    fp = hashlib.sha256(der).digest()
    write(t, "hex", fp.hex())
    write(t, "openssl_pairs", ":".join("%02X" % b for b in fp) + "\n")
    write(t, "blanks_mixed_case", " \t" + fp.hex()[:32].upper() + fp.hex()[32:] + "\r\n")
    write(t, "short", fp.hex()[:62])
    write(t, "pairs_bad_separator", ":".join("%02x" % b for b in fp[:16]) + "-" +
          ":".join("%02x" % b for b in fp[16:]))
    write(t, "cert.pem", first)
    write(t, "chain.pem", pem)


# ---- names: names, secret types, subjects ----

def seeds_names():
    t = "names"
    write(t, "name", "data_key-1.v2")
    write(t, "name_64", "n" * 64)
    write(t, "name_dot", ".hidden")
    write(t, "type", "SECRET_TYPE_CERTIFICATE")
    write(t, "subject", "CN=aecs test,O=Example Org")
    write(t, "subject_blanks_order", " O = Example , CN = svc1.example ")
    write(t, "subject_long_names", "commonName=x,organizationName=y")
    write(t, "subject_no_cn", "O=only")
    write(t, "subject_twice", "CN=a,CN=b")
    write(t, "subject_other_attr", "CN=a,C=DE")


# ---- admin_request: signed admin requests and the init body (service/service.c) ----

SERVICE_ID = "0123456789abcdef0123456789abcdef"


def signed(method, target, body, key, ts, nonce):
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = hashlib.sha256(spki).hexdigest()
    canonical = "\n".join(["aecs-request-v1", method, target, SERVICE_ID,
                           hashlib.sha256(body).hexdigest(), str(ts), nonce, key_id])
    sig = key.sign(canonical.encode(), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return "\n".join([key_id, str(ts), nonce, base64.b64encode(sig).decode(),
                      method + " " + target]).encode() + b"\n" + body


def seeds_admin_request():
    t = "admin_request"
    admin = p256_key(b"admin")
    pem = admin.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    share_key = point(p256_key(b"share key")).hex()
    body = compact({"pubkey": pem.decode(), "shares": 3, "threshold": 2,
                    "share_key": share_key, "nonce": rand(32).hex()})
    write(t, "init", signed("POST", "/v1/admin/init", body, admin, 1767225600, rand(16).hex()))
    policy = "join_policy:\n  - mrenclave: " + rand(32).hex() + "\n"
    body = compact({"pubkey": pem.decode(), "shares": 16, "threshold": 16,
                    "share_key": share_key, "nonce": rand(32).hex(), "join_policy": policy})
    write(t, "init_join_policy",
          signed("POST", "/v1/admin/init", body, admin, 1767225601, rand(16).hex()))
    body = compact({"pubkey": pem.decode(), "shares": 3, "threshold": 2,
                    "nonce": rand(32).hex()})
    write(t, "init_no_share_key",
          signed("POST", "/v1/admin/init", body, admin, 1767225602, rand(16).hex()))
    write(t, "list_services",
          signed("GET", "/v1/admin/services", b"", admin, 1767225603, rand(16).hex()))
    write(t, "pubkey.pem", b"\n\n\n\n\n" + pem)
    ec_params = b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    write(t, "pubkey_after_params.pem", b"\n\n\n\n\n" + ec_params + pem)


# ---- release_msg: a cluster join's request and answer (proto/release.c) ----

def seeds_release_msg():
    t = "release_msg"
    write(t, "join_request.json",
          compact({"evidence": b64s(b"fake evidence"), "pubkey": point(p256_key(b"joiner")).hex(),
                   "nonce": rand(32).hex()}))
    envelope = {"epk": point(p256_key(b"ephemeral")).hex(), "iv": rand(12).hex(),
                "ciphertext": b64s(rand(48)), "tag": rand(16).hex()}
    write(t, "join_answer.json", compact({"id": rand(16).hex(), "envelope": envelope}))
    # an empty ciphertext, which the serializer does not write: refused
    write(t, "regress_join_answer_empty_ciphertext.json",
          compact({"id": rand(16).hex(), "envelope": dict(envelope, ciphertext="")}))


TARGETS = {
    "codec": seeds_codec,
    "http_header": seeds_http_header,
    "share_text": seeds_share_text,
    "service_store": seeds_service_store,
    "record": seeds_record,
    "etcd_answer": seeds_etcd_answer,
    "tls_pin": seeds_tls_pin,
    "names": seeds_names,
    "admin_request": seeds_admin_request,
    "release_msg": seeds_release_msg,
}


def main():
    names = sys.argv[1:] or list(TARGETS)
    for name in names:
        if name not in TARGETS:
            sys.exit("make_seeds.py: no seeds for %s (one of %s)" % (name, ", ".join(TARGETS)))
    global RNG
    for name in names:
        RNG = random.Random(name)  # each target's bytes depend on its name only
        TARGETS[name]()


if __name__ == "__main__":
    main()
