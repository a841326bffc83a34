#!/usr/bin/env python3
# admin_seal.py - the admin side of init and unseal written from
# docs/protocol-release.md section 7 and docs/api.md alone, with Python's
# cryptography package, so the integration tests check aecsd's bytes against
# another implementation than src/client/admin.c. It checks the identity
# answer's signature but not the evidence (a byte-format check, not a client
# to trust).
#
#   admin_seal.py unseal URL CA SHARE [--service-id ID] [--tamper]
#       seals SHARE to the identity key (for ID, default the status's id),
#       posts it, prints the answer's JSON; --tamper flips a ciphertext bit
#   admin_seal.py init URL CA KEY.pem N K
#       signs POST /v1/admin/init with KEY.pem, checks the answer's signature
#       with the identity key, opens every share, prints {"shares": [...]}
#
# Exit status: 0 when aecsd answered 200 (and, for init, everything checked),
# 1 when it refused (its error JSON printed), 2 for anything else.
import base64
import hashlib
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

POINT = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint


def die(msg):
    sys.stderr.write("admin_seal: %s\n" % msg)
    sys.exit(2)


def request(url, ca, method, target, body=None, headers=None):
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(url + target, data=body, method=method, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def identity(url, ca):
    """The identity key, after its answer's signature over a fresh nonce verifies."""
    nonce = os.urandom(32)
    status, body, headers = request(url, ca, "GET", "/v1/identity?nonce=" + nonce.hex())
    if status != 200:
        die("identity: HTTP %d: %s" % (status, body.decode()))
    pub = bytes.fromhex(json.loads(body)["pubkey"])
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub)
    signed = b"aecs-identity-answer-v1\0" + nonce + hashlib.sha256(body).digest()
    sig = base64.b64decode(headers["X-Aecs-Answer-Signature"])
    key.verify(sig, signed, ec.ECDSA(hashes.SHA256()))
    return pub, key


def context(client_pub, eph_pub, nonce, service, name, type_):
    out = b"aecs-envelope-v1\0" + client_pub + eph_pub + nonce
    for field in (service, name, type_):
        out += bytes([len(field)]) + field.encode()
    return out


def seal(to_pub, to_key, nonce, service, name, type_, plain):
    eph = ec.generate_private_key(ec.SECP256R1())
    eph_pub = eph.public_key().public_bytes(*POINT)
    z = eph.exchange(ec.ECDH(), to_key)
    ctx = context(to_pub, eph_pub, nonce, service, name, type_)
    k = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=ctx).derive(z)
    iv = os.urandom(12)
    sealed = AESGCM(k).encrypt(iv, plain, ctx)
    return {"epk": eph_pub.hex(), "iv": iv.hex(),
            "ciphertext": base64.b64encode(sealed[:-16]).decode(), "tag": sealed[-16:].hex()}


def open_env(priv, nonce, service, name, type_, env):
    my_pub = priv.public_key().public_bytes(*POINT)
    epk = bytes.fromhex(env["epk"])
    z = priv.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), epk))
    ctx = context(my_pub, epk, nonce, service, name, type_)
    k = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=ctx).derive(z)
    sealed = base64.b64decode(env["ciphertext"]) + bytes.fromhex(env["tag"])
    return AESGCM(k).decrypt(bytes.fromhex(env["iv"]), sealed, ctx)


def service_id(url, ca):
    status, body, _ = request(url, ca, "GET", "/v1/status")
    return json.loads(body)["id"]


def unseal(url, ca, share, sid, tamper):
    pub, key = identity(url, ca)
    sid = sid or service_id(url, ca)
    nonce = hashlib.sha256(b"aecs-admin-share-v1\0" + sid.encode()).digest()
    env = seal(pub, key, nonce, sid, "unseal", "AECS_ADMIN_SHARE_V1", share.encode())
    if tamper:
        ct = bytearray(base64.b64decode(env["ciphertext"]))
        ct[0] ^= 1
        env["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    body = json.dumps({"share_sealed": env}).encode()
    status, answer, _ = request(url, ca, "POST", "/v1/admin/unseal", body)
    print(answer.decode().strip())
    return 0 if status == 200 else 1


def init(url, ca, key_file, n, k):
    pub, key = identity(url, ca)
    sid = service_id(url, ca)  # "" before the init: the init makes the id (signed over "")
    admin = serialization.load_pem_private_key(open(key_file, "rb").read(), None)
    spki = admin.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = admin.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = hashlib.sha256(spki).hexdigest()
    share_key = ec.generate_private_key(ec.SECP256R1())
    share_pub = share_key.public_key().public_bytes(*POINT)
    nonce = os.urandom(32)
    body = json.dumps({"pubkey": pem.decode(), "shares": n, "threshold": k,
                       "share_key": share_pub.hex(), "nonce": nonce.hex()}).encode()
    ts, rnonce = str(int(time.time())), os.urandom(16).hex()
    signed = "aecs-request-v1\nPOST\n/v1/admin/init\n%s\n%s\n%s\n%s\n%s" % (
        sid, hashlib.sha256(body).hexdigest(), ts, rnonce, key_id)
    sig = admin.sign(signed.encode(), ec.ECDSA(hashes.SHA256()))
    headers = {"X-Aecs-Key": key_id, "X-Aecs-Timestamp": ts, "X-Aecs-Nonce": rnonce,
               "X-Aecs-Signature": base64.b64encode(sig).decode()}
    status, answer, headers = request(url, ca, "POST", "/v1/admin/init", body, headers)
    if status != 200:
        print(answer.decode().strip())
        return 1
    signed = b"aecs-init-answer-v1\0" + nonce + share_pub + hashlib.sha256(answer).digest()
    key.verify(base64.b64decode(headers["X-Aecs-Answer-Signature"]), signed,
               ec.ECDSA(hashes.SHA256()))
    a = json.loads(answer)
    if sid != "" or a["admin"] != key_id or a["threshold"] != k or len(a["shares"]) != n:
        die("init: the server had an id before its init, or the answer names another admin "
            "or split")
    sid = a["id"]  # the new service's id, derived from its root key; the shares are bound to it
    if len(sid) != 32 or any(c not in "0123456789abcdef" for c in sid):
        die("init: the answer's id is not 32 lowercase hex digits")
    shares = []
    for i, entry in enumerate(a["shares"], start=1):
        if entry["index"] != i:
            die("init: share %d out of order" % i)
        n_i = hashlib.sha256(b"aecs-init-share-v1\0" + sid.encode() + bytes([i]) + nonce).digest()
        shares.append(open_env(share_key, n_i, sid, "share-%d" % i, "AECS_INIT_SHARE_V1",
                               entry["envelope"]).decode())
    print(json.dumps({"shares": shares}))
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "unseal":
        sid = argv[argv.index("--service-id") + 1] if "--service-id" in argv else None
        return unseal(argv[2], argv[3], argv[4], sid, "--tamper" in argv)
    if len(argv) == 7 and argv[1] == "init":
        return init(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]))
    sys.stderr.write(__doc__ if __doc__ else "usage: see the file's header\n")
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # a signature that does not verify, an envelope that does not open
        die("%s: %s" % (type(e).__name__, e))
