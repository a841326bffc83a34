#!/usr/bin/env bash
# cli_conn_limits.sh - aecsd's connection limits, with real TLS connections held
# open from several loopback source addresses (127.0.0.1, .2, .3):
#   --max-connections 3 --max-connections-per-address 2
#   - two connections from 127.0.0.1 complete their handshake, a third from it
#     is refused at the handshake;
#   - one from 127.0.0.2 still gets in (its own address is under the limit);
#   - one from 127.0.0.3 is refused: three are open in all;
#   - once one of 127.0.0.1's connections closes, 127.0.0.1 gets in again;
#   - three TCP connections that never send a ClientHello fill the server, and
#     aecsd closes them after 5 s, so the next client gets in;
#   - the defaults are in `aecsd --help`.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
data=$tmp/data
"$AECSD" --data "$data" --listen "127.0.0.1:$port" --threads 1 --max-connections 3 \
  --max-connections-per-address 2 --access-log none >"$tmp/aecsd.log" 2>&1 &
pid=$!
on_exit() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
wait_https "https://127.0.0.1:$port/v1/health" || { cat "$tmp/aecsd.log"; exit 1; }

# tlsconn.py: connect(src) opens a TLS connection from loopback address src and reads one
# answer (a refusal at the ClientHello can surface at the first read under TLS 1.3).
cat >"$tmp/tlsconn.py" <<'PY'
import socket, ssl, sys

port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False

def connect(src):
    """A TLS connection from src whose handshake completed, or None when refused."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(src, 0))
    try:
        t = ctx.wrap_socket(s)
        t.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        if not t.recv(64).startswith(b"HTTP/1.1 200"):
            raise ssl.SSLError("no answer")
        return t
    except (ssl.SSLError, ConnectionError, OSError):
        s.close()
        return None
PY

TLSCONN_DIR=$tmp python3 - "$port" "$data/tls/cert.pem" >"$tmp/conns" 2>&1 <<'PY'
import os, sys, time
sys.path.insert(0, os.environ["TLSCONN_DIR"])
from tlsconn import connect

def eventually(src):
    """Connects from src, trying for 3 s (the server frees closed connections as it sees them)."""
    for _ in range(30):
        c = connect(src)
        if c is not None:
            return c
        time.sleep(0.1)
    return None

a1 = connect("127.0.0.1")
a2 = connect("127.0.0.1")
print("a1", a1 is not None)
print("a2", a2 is not None)
print("a3", connect("127.0.0.1") is not None)
b1 = eventually("127.0.0.2")
print("b1", b1 is not None)
print("c1", connect("127.0.0.3") is not None)
a1.close()
a4 = eventually("127.0.0.1")
print("a4", a4 is not None)
PY
cat "$tmp/conns"
grep -qx "a1 True" "$tmp/conns" && ok || bad "a first connection from 127.0.0.1"
grep -qx "a2 True" "$tmp/conns" && ok || bad "a second connection from 127.0.0.1"
grep -qx "a3 False" "$tmp/conns" && ok || bad "a third from 127.0.0.1 is refused (2 per address)"
grep -qx "b1 True" "$tmp/conns" && ok || bad "127.0.0.2 gets in (its own count)"
grep -qx "c1 False" "$tmp/conns" && ok || bad "127.0.0.3 is refused (3 open in all)"
grep -qx "a4 True" "$tmp/conns" && ok || bad "127.0.0.1 gets in again once one of its connections closed"

TLSCONN_DIR=$tmp python3 - "$port" "$data/tls/cert.pem" >"$tmp/idle" 2>&1 <<'PY'
import os, socket, sys, time
sys.path.insert(0, os.environ["TLSCONN_DIR"])
from tlsconn import connect, port

time.sleep(0.5)  # the connections of the run before are closed by now
idle = [socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.5", 0))
        for _ in range(3)]
time.sleep(0.3)
print("while idle", connect("127.0.0.6") is not None)
start = time.time()
for s in idle:
    s.settimeout(10)
    try:
        closed = s.recv(1) == b""
    except (ConnectionError, OSError):
        closed = True
    print("idle closed", closed)
print("closed after 4..9 s", 4 <= time.time() - start <= 9)
ok = None
for _ in range(30):
    ok = connect("127.0.0.6")
    if ok is not None:
        break
    time.sleep(0.1)
print("after", ok is not None)
PY
cat "$tmp/idle"
grep -qx "while idle False" "$tmp/idle" && ok || bad "three idle connections fill the server"
[[ $(grep -cx "idle closed True" "$tmp/idle") -eq 3 ]] && ok || bad "aecsd closes connections that send no ClientHello"
grep -qx "closed after 4..9 s True" "$tmp/idle" && ok || bad "they are closed about 5 s after they opened"
grep -qx "after True" "$tmp/idle" && ok || bad "the next client gets in once they are closed"

expect_exit 0 "aecsd --help" -- "$AECSD" --help
expect_out "--max-connections-per-address N" "the option is in --help"
expect_out "(default 256)" "its default is in --help"
expect_exit 2 "a limit of 0" -- "$AECSD" --max-connections-per-address 0 --data "$tmp/x"
finish cli_conn_limits
