#!/usr/bin/env python3
# tls_server.py - a stand-in for aecsd on 127.0.0.1 over HTTPS, for conn_test.c
# (started by tls_loopback.c). It prints its port as the first line of stdout,
# serves HTTP/1.1 with keep-alive, and appends one JSON line per request to
# --log: method, target, the X-Aecs-* headers, the body, the connection's
# number (to see connections reused) and, for signed requests, whether the
# signature verifies.
#
# The signature check is an independent reading of docs/api.md ("Signed admin
# requests"): the signed string is built here with hashlib, and the DER
# ECDSA-SHA256 signature is checked by `openssl dgst -sha256 -verify` with
# --pubkey. The key id is checked against --key-id. A bad signature gets the
# 401 answer aecsd would give.
#
# Routes (anything else: 404 not_found):
#   GET  /v1/status            {"state": "working", "id": --service-id, ...}
#   GET  /v1/health            {"status": "ok"}
#   any  /v1/echo...           200 {"ok": true, "method", "target", "body"}
#   GET  /v1/error/CODE/STATUS that error answer; message "the CODE message"
#   GET  /v1/error-ctl         400 with control characters in the message
#   GET  /v1/error-plain       502 text/plain
#   GET  /v1/notjson           200 text
#   GET  /v1/array             200 [1, 2]
#   GET  /v1/big               200, 9 MiB of JSON
#   GET  /v1/slow              answers after 3 s
#   GET  /v1/redirect          302 to /v1/health
# With --api it also answers the admin routes of docs/api.md with canned,
# stateful answers (for tests/integration/cli_client_args.sh): services, audit
# (5 entries, pages of --page), audit verify (broken after POST /_break),
# secrets. Those routes need a signature that verifies, as aecsd's do. It has
# no identity (GET /v1/identity is not found), so init and unseal, which check
# it first, never get further (they are run against aecsd in cli_server.sh).
# It exits after --lifetime seconds (default 120) so a forgotten server ends.
import argparse
import base64
import hashlib
import http.server
import itertools
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HEX = re.compile(r"^[0-9a-f]+$")
conn_counter = itertools.count(1)
log_lock = threading.Lock()


def check_signature(args, method, target, body, headers):
    """None when the signature verifies, else why not."""
    key_id = headers.get("X-Aecs-Key", "")
    ts = headers.get("X-Aecs-Timestamp", "")
    nonce = headers.get("X-Aecs-Nonce", "")
    sig_b64 = headers.get("X-Aecs-Signature", "")
    if len(key_id) != 64 or not HEX.match(key_id):
        return "bad key id header"
    if key_id != args.key_id:
        return "unknown key"
    if not ts.isdigit() or abs(int(ts) - time.time()) > 300:
        return "stale timestamp"
    if len(nonce) != 32 or not HEX.match(nonce):
        return "bad nonce"
    try:
        sig = base64.b64decode(sig_b64, validate=True)
    except ValueError:
        return "signature is not base64"
    lines = ["aecs-request-v1", method, target, args.service_id,
             hashlib.sha256(body).hexdigest(), ts, nonce]
    signed = ("".join(line + "\n" for line in lines) + key_id).encode("ascii")
    with tempfile.TemporaryDirectory() as d:
        msg_path = os.path.join(d, "msg")
        sig_path = os.path.join(d, "sig")
        with open(msg_path, "wb") as f:
            f.write(signed)
        with open(sig_path, "wb") as f:
            f.write(sig)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", args.pubkey,
                            "-signature", sig_path, msg_path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return None if r.returncode == 0 else "signature does not verify"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.conn_id = next(conn_counter)

    def log_message(self, fmt, *a):  # quiet
        pass

    def send(self, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.send(status, {"error": {"code": code, "message": message}})

    def handle_any(self):
        args = self.server.args
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        target = self.path
        signed = "X-Aecs-Signature" in self.headers
        why = check_signature(args, self.command, target, body, self.headers) if signed else None
        entry = {
            "conn": self.conn_id, "method": self.command, "target": target,
            "body": body.decode("utf-8", "replace"),
            "content_type": self.headers.get("Content-Type"),
            "headers": {k: v for k, v in self.headers.items() if k.lower().startswith("x-aecs-")},
            "signed": signed, "verified": signed and why is None, "why": why,
        }
        with log_lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        if signed and why is not None:
            return self.error(401, "unauthenticated", "bad signature: " + why)
        path = target.split("?", 1)[0]
        if args.api:
            done = api(self, args, path, target, body, signed)
            if done:
                return None
        if path == "/v1/status" and self.command == "GET":
            return self.send(200, {"state": "working", "version": "0.1.0", "id": args.service_id,
                                   "store": "sqlite", "insecure": []})
        if path == "/v1/health":
            return self.send(200, {"status": "ok"})
        if path.startswith("/v1/echo"):
            return self.send(200, {"ok": True, "method": self.command, "target": target,
                                   "body": body.decode("utf-8", "replace")})
        m = re.match(r"^/v1/error/([a-z_]+)/([0-9]{3})$", path)
        if m:
            return self.error(int(m.group(2)), m.group(1), "the %s message" % m.group(1))
        if path == "/v1/error-ctl":
            return self.error(400, "bad_request", "line one\nline two\x1b[31m red")
        if path == "/v1/error-plain":
            return self.send(502, b"Bad Gateway", "text/plain")
        if path == "/v1/notjson":
            return self.send(200, b"hello", "text/plain")
        if path == "/v1/array":
            return self.send(200, [1, 2])
        if path == "/v1/big":
            return self.send(200, b'{"x": "' + b"a" * (9 << 20) + b'"}')
        if path == "/v1/slow":
            time.sleep(3)
            return self.send(200, {"slow": True})
        if path == "/v1/redirect":
            self.send_response(302)
            self.send_header("Location", "/v1/health")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self.error(404, "not_found", "no such route")

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except OSError:  # a client that went away (timeouts, refused certificates)
            self.close_connection = True

    do_GET = handle_any
    do_POST = handle_any
    do_DELETE = handle_any


API_STATE = {"broken": False, "services": {"payments": {"secrets": 2}}}


def key_id_of(pem):
    r = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return hashlib.sha256(r.stdout).hexdigest() if r.returncode == 0 else None


def api(h, args, path, target, body, signed):
    """Answers an admin route of docs/api.md; False when path is not one."""
    st = API_STATE
    query = target.split("?", 1)[1] if "?" in target else ""
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    try:
        req = json.loads(body) if body else {}
    except ValueError:
        h.error(400, "bad_request", "malformed JSON")
        return True
    if path == "/_break" and h.command == "POST":
        st["broken"] = True
        h.send(200, {})
        return True
    routes = ("/v1/admin/", "/v1/secrets", "/v1/services/")
    if not path.startswith(routes) or path.endswith("/public"):
        if path.endswith("/public") and h.command == "GET":
            parts = path.split("/")
            h.send(200, {"service": parts[3], "name": parts[5], "type": "SECRET_TYPE_EC_KEY_PAIR",
                         "content_type": "application/x-pem-file",
                         "public": open(args.pubkey).read()})
            return True
        return False
    if not signed:
        h.error(401, "unauthenticated", "this route needs a signed request")
        return True
    if path == "/v1/admin/services" and h.command == "GET":
        h.send(200, {"services": [{"name": n, "key_id": args.key_id, "secrets": v["secrets"],
                                   "created": "2026-11-22T10:00:00Z"}
                                  for n, v in sorted(st["services"].items())]})
        return True
    if path == "/v1/admin/services" and h.command == "POST":
        name = req.get("name")
        if name in st["services"]:
            h.error(409, "conflict", "service %s already exists" % name)
            return True
        st["services"][name] = {"secrets": 0}
        h.send(200, {"name": name, "key_id": key_id_of(req.get("pubkey", ""))})
        return True
    m = re.match(r"^/v1/admin/services/([A-Za-z0-9._-]+)$", path)
    if m and h.command == "DELETE":
        svc = st["services"].get(m.group(1))
        if svc is None:
            h.error(404, "not_found", "no service %s" % m.group(1))
        elif svc["secrets"] and params.get("force") != "1":
            h.error(409, "conflict", "service %s has %d secrets: add force" %
                    (m.group(1), svc["secrets"]))
        else:
            del st["services"][m.group(1)]
            h.send(200, {"name": m.group(1), "secrets_destroyed": svc["secrets"]})
        return True
    if path == "/v1/admin/audit" and h.command == "GET":
        start = int(params.get("from", "1"))
        limit = int(params.get("limit", str(args.page)))
        seqs = [s for s in range(start, 6)][:limit]
        nxt = seqs[-1] + 1 if seqs and seqs[-1] < 5 else None
        h.send(200, {"entries": [{"seq": s, "ts": "2026-11-22T10:00:0%dZ" % s,
                                  "action": "test", "key": args.key_id[:8]} for s in seqs],
                     "next": nxt})
        return True
    if path == "/v1/admin/audit/verify" and h.command == "POST":
        if st["broken"]:
            h.send(200, {"ok": False, "entries": 5, "first_broken": 3,
                         "reason": "hash mismatch"})
        else:
            h.send(200, {"ok": True, "entries": 5, "head": "ab" * 32})
        return True
    if path == "/v1/secrets" and h.command == "POST":
        if "secrets:" not in req.get("policy", ""):
            h.error(400, "invalid_policy", "line 1: no secrets")
            return True
        names = ["data_key_1", "tls_cert"]
        h.send(200, {"created": [] if req.get("update") else names,
                     "updated": names if req.get("update") else []})
        return True
    m = re.match(r"^/v1/services/([A-Za-z0-9._-]+)/secrets$", path)
    if m and h.command == "GET":
        h.send(200, {"secrets": [{"name": "data_key_1", "service": m.group(1),
                                  "type": "SECRET_TYPE_AES256_KEY", "share": "private"}]})
        return True
    m = re.match(r"^/v1/services/([A-Za-z0-9._-]+)/secrets/([A-Za-z0-9._-]+)$", path)
    if m and h.command == "DELETE":
        if m.group(2) != "data_key_1":
            h.error(404, "not_found", "no secret %s in service %s" % (m.group(2), m.group(1)))
        else:
            h.send(200, {"service": m.group(1), "name": m.group(2)})
        return True
    h.error(404, "not_found", "no such route")
    return True


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # quiet: refused handshakes are expected
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--pubkey", required=True)
    p.add_argument("--key-id", required=True)
    p.add_argument("--service-id", default="0123456789abcdef0123456789abcdef")
    p.add_argument("--lifetime", type=float, default=120)
    p.add_argument("--api", action="store_true")
    p.add_argument("--page", type=int, default=2)
    args = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.args = args
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print(httpd.server_address[1], flush=True)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
