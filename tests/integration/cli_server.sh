#!/usr/bin/env bash
# The key service end to end on loopback, with the real aecsd and aecs: init,
# restart and unseal, admins and services, every secret type from policy files,
# signed-request replay, what the SQLite file holds, records swapped in the
# file, a tampered audit entry, and kill -9 during a loop of creates.
#
# aecsd's identity evidence comes from the sim (MRENCLAVE SERVER_MR), and the
# admin credentials name it in server_policy: init and unseal check it first,
# and shares cross the connection only sealed to the identity key. Checked
# here: a credential without server_policy sends nothing; one naming another
# enclave sends only GET /v1/identity (the access log); the insecure flag
# warns; a share in clear, sealed for another service id, or changed is
# refused with its code; tests/tools/admin_seal.py, written from
# docs/protocol-release.md alone, seals a share aecsd opens and opens the
# shares of an init it makes; no share is ever in a log or the store.
. "$(dirname "$0")/lib.sh"
SEAL="python3 tests/tools/admin_seal.py"

SERVER_MR=$(hexrep 5e 32)
OTHER_MR=$(hexrep 07 32)
data=$tmp/data
port=$(free_port)
url=https://127.0.0.1:$port
pid=

start() {
  "$AECSD" --data "$data" --listen "127.0.0.1:$port" --threads 2 \
    --attester sim --sim-dir "$tmp/sim" --sim-mrenclave "$SERVER_MR" \
    --access-log "$tmp/access.log" "$@" >>"$tmp/aecsd.log" 2>&1 &
  pid=$!
  wait_https "$url/v1/health" || { cat "$tmp/aecsd.log"; exit 1; }
}
stop() {
  [[ -n $pid ]] || return 0
  kill "${1:--TERM}" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
on_exit() { stop -KILL; }

# cred NAME KEY [SERVICE]: a credential file trusting the server's certificate and
# its enclave (${POLICY_MR:-SERVER_MR}, the sim trusted)
cred() {
  {
    echo "server: $url"
    echo "key: $2"
    echo "ca: $data/tls/cert.pem"
    [[ -n ${3-} ]] && echo "service: $3"
    echo "server_policy: {enclaveMatchAnyRules: [{mrenclave: ${POLICY_MR:-$SERVER_MR}, allow_sim: true}]}"
    echo "verifier: {insecure_trust_sim: $tmp/sim}"
  } >"$tmp/$1.yaml"
}

# requests NAME: how many requests to path NAME (without the query) the access log has
requests() {
  python3 -c "
import json
print(sum(1 for l in open('$tmp/access.log') if json.loads(l)['path'] == '$1'))"
}
lines() { wc -l <"$tmp/access.log"; }

# signed KEY METHOD TARGET [TIMESTAMP]: a signed request made by hand with
# openssl (docs/api.md), printed as curl arguments in $tmp/req.args
signed() {
  local key=$1 method=$2 target=$3 ts=${4:-$(date +%s)} id kid nonce sig
  id=$(curl -sk "$url/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  kid=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | sha256sum | cut -c1-64)
  nonce=$(openssl rand -hex 16)
  sig=$(printf 'aecs-request-v1\n%s\n%s\n%s\n%s\n%s\n%s\n%s' "$method" "$target" "$id" \
    "$(printf '' | sha256sum | cut -c1-64)" "$ts" "$nonce" "$kid" |
    openssl dgst -sha256 -sign "$key" | base64 -w0)
  printf '%s\n' -X "$method" -H "X-Aecs-Key: $kid" -H "X-Aecs-Timestamp: $ts" \
    -H "X-Aecs-Nonce: $nonce" -H "X-Aecs-Signature: $sig" "$url$target" >"$tmp/req.args"
}
send() { mapfile -t args <"$tmp/req.args"; curl -sk "${args[@]}"; }

# --- first start, init ---------------------------------------------------------
expect_exit 0 "sim init" -- "$AECS" sim init "$tmp/sim"
start
expect_exit 0 "keygen admin" -- "$AECS" keygen --out "$tmp/admin"
expect_exit 0 "keygen service1" -- "$AECS" keygen --out "$tmp/svc1"
expect_exit 0 "keygen service2" -- "$AECS" keygen --out "$tmp/svc2"
cred admin "$tmp/admin.pem"
cred svc1 "$tmp/svc1.pem" service1
cred svc2 "$tmp/svc2.pem" service2
POLICY_MR=$OTHER_MR cred other "$tmp/admin.pem"
printf 'server: %s\nkey: %s\nca: %s\n' "$url" "$tmp/admin.pem" "$data/tls/cert.pem" >"$tmp/nopolicy.yaml"
[[ -f $data/tls/cert.pem && $(stat -c %a "$data/tls/key.pem") == 600 ]] && ok ||
  bad "aecsd made DATA/tls/cert.pem and a 0600 key"

expect_exit 0 "status before init" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "state before init" "$tmp/out" "d['state']" uninitialized
expect_exit 1 "service list before init" -- "$AECS" admin service list --config "$tmp/admin.yaml"
expect_err "not initialized" "service list before init"

# init sends nothing to a server it cannot check: no server_policy, or another enclave
before=$(lines)
expect_exit 2 "init without server_policy" -- "$AECS" admin init --config "$tmp/nopolicy.yaml" --shares 3 --threshold 2
expect_err "nopolicy.yaml has no \`server_policy\`: admin init sends nothing" "init without server_policy"
expect_err "enclaveMatchAnyRules" "init without server_policy says how to add one"
[[ $(lines) -eq $before ]] && ok || bad "init without server_policy sent something"
expect_exit 1 "init, another enclave" -- "$AECS" admin init --config "$tmp/other.yaml" --shares 3 --threshold 2
expect_err "does not match server_policy" "init, another enclave"
expect_err "the server's identity did not pass (check: server-policy): nothing was sent" "init, another enclave"
[[ $(lines) -eq $((before + 1)) && $(requests /v1/identity) -eq 1 && $(requests /v1/admin/init) -eq 0 ]] &&
  ok || bad "init to another enclave sent more than GET /v1/identity"

expect_exit 0 "init" -- "$AECS" admin init --config "$tmp/admin.yaml" --shares 3 --threshold 2 --json
cp "$tmp/out" "$tmp/init.json"
check "init threshold" "$tmp/init.json" "d['threshold']" 2
check "init shares" "$tmp/init.json" "len(d['shares'])" 3
share() { json_field "$tmp/init.json" "d['shares'][$1]"; }
expect_exit 1 "second init" -- "$AECS" admin init --config "$tmp/admin.yaml" --shares 3 --threshold 2
expect_err "already initialized" "second init"
expect_err "(conflict)" "second init names the code"

# --- restart: sealed until 2 shares --------------------------------------------
stop
start
expect_exit 0 "status sealed" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "state after restart" "$tmp/out" "d['state']" sealed
expect_exit 1 "service list while sealed" -- "$AECS" admin service list --config "$tmp/admin.yaml"
expect_err "sealed" "service list while sealed"
# unseal: the same checks of the server first
before=$(lines)
expect_exit 2 "unseal without server_policy" -- "$AECS" admin unseal --config "$tmp/nopolicy.yaml" "$(share 0)"
expect_err "has no \`server_policy\`: admin unseal sends nothing" "unseal without server_policy"
expect_exit 1 "unseal, another enclave" -- "$AECS" admin unseal --config "$tmp/other.yaml" "$(share 0)"
expect_err "(check: server-policy): nothing was sent" "unseal, another enclave"
[[ $(lines) -eq $((before + 1)) && $(requests /v1/admin/unseal) -eq 0 ]] &&
  ok || bad "unseal to another enclave sent more than GET /v1/identity"
# a share in clear (an old client), sealed for another service id, or changed: refused
curl -sk -X POST "$url/v1/admin/unseal" -d "{\"share\": \"$(share 0)\"}" >"$tmp/clear.json"
check "a share in clear" "$tmp/clear.json" "d['error']['code']" share_not_sealed
grep -q "use a current \`aecs admin unseal\`" "$tmp/clear.json" && ok || bad "the refusal says to update aecs"
expect_exit 1 "sealed for another service id" -- $SEAL unseal "$url" "$data/tls/cert.pem" "$(share 0)" --service-id 0123456789abcdef0123456789abcdef
check "sealed for another service id" "$tmp/out" "d['error']['code']" bad_share
expect_exit 1 "a sealed share changed on the way" -- $SEAL unseal "$url" "$data/tls/cert.pem" "$(share 0)" --tamper
check "a sealed share changed on the way" "$tmp/out" "d['error']['code']" bad_share
expect_out "does not open with this aecsd's identity key" "changed on the way"
expect_exit 0 "status: nothing taken" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "nothing taken" "$tmp/out" "d['unseal']['received']" 0

expect_exit 0 "unseal 1" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 0)"
expect_exit 1 "the same share again" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 0)"
expect_err "already given" "the same share again"
# sealed by another implementation of the spec: it opens (and is the same share)
expect_exit 1 "the same share, sealed by admin_seal.py" -- $SEAL unseal "$url" "$data/tls/cert.pem" "$(share 0)"
check "admin_seal.py's envelope opens" "$tmp/out" "d['error']['message']" "share 1 was already given"
expect_exit 2 "a mistyped share (refused before it is sent)" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 1 | sed 's/:[0-9a-f]*$/:00000000/')"
expect_err "checksum" "a mistyped share (refused before it is sent)"
expect_exit 0 "status: one share kept" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "one share kept" "$tmp/out" "d['unseal']['received']" 1
# a reset proves a share: the bare one of older clients is refused and drops nothing
curl -sk -X POST "$url/v1/admin/unseal" -d '{"reset": true}' >"$tmp/reset.json"
check "a bare reset" "$tmp/reset.json" "d['error']['code']" bad_request
grep -q "a reset must carry a sealed share" "$tmp/reset.json" && ok || bad "the refusal says a reset needs a share"
expect_exit 2 "a reset without a share" -- "$AECS" admin unseal --config "$tmp/admin.yaml" --reset
expect_err "admin unseal --reset needs exactly one SHARE" "a reset without a share"
expect_exit 0 "status: a bare reset drops nothing" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "a bare reset drops nothing" "$tmp/out" "d['unseal']['received']" 1
expect_exit 0 "reset, proven with share 2" -- "$AECS" admin unseal --config "$tmp/admin.yaml" --reset - <<<"$(share 1)"
expect_out "unseal progress reset (proven with share 2; give it again to count it); 0 of 2 shares in; sealed" "reset"
grep -q "unseal: progress reset by 127.0.0.1, proven with share 2" "$tmp/aecsd.log" && ok || bad "aecsd logs the reset with the caller and the share's index"
expect_exit 0 "unseal 1 again, after the reset" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 0)"
expect_exit 0 "provision (the seeds' word) with share 3" -- "$AECS" admin provision --config "$tmp/admin.yaml" "$(share 2)"
expect_exit 0 "status working" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "working after unseal" "$tmp/out" "d['state']" working
expect_exit 1 "a reset on a working service" -- "$AECS" admin unseal --config "$tmp/admin.yaml" --reset "$(share 0)"
expect_err "send the reset to a sealed replica" "a reset on a working service"
expect_exit 0 "status: still working" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "still working after a refused reset" "$tmp/out" "d['state']" working

# --- services ---------------------------------------------------------------------
expect_exit 0 "register service1" -- "$AECS" admin service register --config "$tmp/admin.yaml" --name service1 --pubkey "$tmp/svc1.pub.pem"
expect_exit 0 "register service2" -- "$AECS" admin service register --config "$tmp/admin.yaml" --name service2 --pubkey "$tmp/svc2.pub.pem"
expect_exit 1 "register service1 twice" -- "$AECS" admin service register --config "$tmp/admin.yaml" --name service1 --pubkey "$tmp/svc2.pub.pem"
expect_err "already registered" "register service1 twice"
expect_exit 1 "service admin registers" -- "$AECS" admin service register --config "$tmp/svc1.yaml" --name service3 --pubkey "$tmp/admin.pub.pem"
expect_err "only a cluster admin" "service admin registers"
expect_exit 0 "service list" -- "$AECS" admin service list --config "$tmp/admin.yaml" --json
check "two services" "$tmp/out" "sorted(s['name'] for s in d['services'])" "['service1', 'service2']"

# --- secrets ----------------------------------------------------------------------
expect_exit 1 "the seeds' sample" -- "$AECS" secret create --config "$tmp/svc1.yaml" --policy tests/data/policy/seeds_sample.yaml
expect_err "names no enclave identity" "the seeds' sample"
expect_err "--insecure-allow-any-enclave" "the seeds' sample says how to fix it"
expect_exit 0 "the seeds' sample, insecure" -- "$AECS" secret create --config "$tmp/svc1.yaml" --policy tests/data/policy/seeds_sample.yaml --insecure-allow-any-enclave
expect_exit 0 "every type" -- "$AECS" secret create --config "$tmp/svc1.yaml" --policy tests/data/service/all_types.yaml
expect_exit 1 "every type again" -- "$AECS" secret create --config "$tmp/svc1.yaml" --policy tests/data/service/all_types.yaml
expect_err "already exists" "every type again"
expect_exit 0 "secret list" -- "$AECS" secret list --config "$tmp/svc1.yaml" --json
check "12 secrets listed" "$tmp/out" "len(d['secrets'])" 12
check "every type listed" "$tmp/out" "len(set(s['type'] for s in d['secrets']))" 9
if grep -q "never-in-clear" "$tmp/out"; then bad "the listing holds secret values"; else ok; fi

expect_exit 1 "service2 creates for service1" -- "$AECS" secret create --config "$tmp/svc2.yaml" --policy tests/data/service/for_service1.yaml
expect_err "administers service 'service2'" "service2 creates for service1"
expect_exit 1 "service2 destroys service1's" -- "$AECS" secret destroy --config "$tmp/svc2.yaml" --service service1 --name aes
expect_err "not 'service1'" "service2 destroys service1's"
expect_exit 1 "service2 lists service1's" -- "$AECS" secret list --config "$tmp/svc2.yaml" --service service1
expect_exit 1 "cluster admin destroys" -- "$AECS" secret destroy --config "$tmp/admin.yaml" --service service1 --name aes
expect_exit 1 "destroy by prefix" -- "$AECS" secret destroy --config "$tmp/svc1.yaml" --name data_key
expect_err "no secret 'data_key'" "destroy by prefix"
expect_exit 0 "destroy image_key" -- "$AECS" secret destroy --config "$tmp/svc1.yaml" --name image_key

expect_exit 0 "get-public rsa" -- "$AECS" secret get-public --config "$tmp/svc1.yaml" --service service1 --name rsa --out "$tmp/rsa.pub.pem"
openssl pkey -pubin -in "$tmp/rsa.pub.pem" -noout 2>/dev/null || openssl rsa -RSAPublicKey_in -in "$tmp/rsa.pub.pem" -noout 2>/dev/null && ok || bad "get-public gives a key openssl reads"
expect_exit 1 "get-public of a private secret" -- "$AECS" secret get-public --config "$tmp/svc1.yaml" --service service1 --name aes
expect_exit 1 "unregister with secrets" -- "$AECS" admin service unregister --config "$tmp/admin.yaml" --name service1
expect_err "--force" "unregister with secrets"
expect_exit 0 "unregister service2" -- "$AECS" admin service unregister --config "$tmp/admin.yaml" --name service2

# --- signed requests: replay and stale timestamps ---------------------------------
signed "$tmp/admin.pem" GET /v1/admin/services
send >"$tmp/r1"
send >"$tmp/r2"
cp "$tmp/req.args" "$tmp/replay.args" # sent again after two restarts, below
check "a signed request" "$tmp/r1" "len(d['services'])" 1
check "the same request again" "$tmp/r2" "d['error']['code']" replayed_request
signed "$tmp/admin.pem" GET /v1/admin/services $(($(date +%s) - 400))
send >"$tmp/r3"
check "a stale request" "$tmp/r3" "d['error']['code']" stale_request
signed "$tmp/svc1.pem" GET /v1/admin/services
send >"$tmp/r4"
check "a service admin lists services" "$tmp/r4" "d['error']['code']" forbidden

# --- the SQLite file holds no plaintext --------------------------------------------
grep -c "BEGIN" "$tmp/rsa.pub.pem" >/dev/null
publine=$(sed -n 2p "$tmp/rsa.pub.pem")
for needle in "imported-value-7f3a9c1e" "config-value-5d1b2e" "$publine" "48-f1-87-6c-da-13"; do
  if cat "$data"/store.db* | grep -aqF -- "$needle"; then bad "store.db holds '$needle'"; else ok; fi
done
for s in 0 1 2; do
  if grep -aqF -- "$(share $s | cut -d: -f5)" "$tmp/aecsd.log" "$tmp/access.log" "$data"/store.db*; then
    bad "share $s appears in a log or the store"
  else ok; fi
done

# --- two records swapped in the file are detected -----------------------------------
stop
db=$data/store.db
sqlite3 "$db" "CREATE TEMP TABLE t AS SELECT key, value FROM kv WHERE key IN ('/k/secrets/service1/aes','/k/secrets/service1/hmac');
  UPDATE kv SET value = (SELECT value FROM t WHERE key = '/k/secrets/service1/hmac') WHERE key = '/k/secrets/service1/aes';
  UPDATE kv SET value = (SELECT value FROM t WHERE key = '/k/secrets/service1/aes') WHERE key = '/k/secrets/service1/hmac';"
start
expect_exit 0 "unseal after the swap, --insecure-skip-server-attestation" -- "$AECS" admin unseal \
  --config "$tmp/nopolicy.yaml" --insecure-skip-server-attestation "$(share 0)"
expect_err "WARNING: --insecure-skip-server-attestation: the identity of $url is NOT checked" \
  "the insecure flag warns"
expect_exit 0 "unseal after the swap (2)" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 1)"
expect_exit 1 "list with swapped records" -- "$AECS" secret list --config "$tmp/svc1.yaml"
expect_err "/k/secrets/service1/aes" "the damaged record is named"
grep -q "does not open" "$tmp/aecsd.log" && ok || bad "aecsd logs the damaged record"

# put them back: everything reads again
stop
sqlite3 "$db" "CREATE TEMP TABLE t AS SELECT key, value FROM kv WHERE key IN ('/k/secrets/service1/aes','/k/secrets/service1/hmac');
  UPDATE kv SET value = (SELECT value FROM t WHERE key = '/k/secrets/service1/hmac') WHERE key = '/k/secrets/service1/aes';
  UPDATE kv SET value = (SELECT value FROM t WHERE key = '/k/secrets/service1/aes') WHERE key = '/k/secrets/service1/hmac';"

# --- a tampered audit entry is found -------------------------------------------------
start --insecure-sim-auto-unseal
expect_exit 0 "status" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "still sealed (no sealed copy yet)" "$tmp/out" "d['state']" sealed
check "insecure options listed" "$tmp/out" "d['insecure']" "['sim-auto-unseal', 'sim-attester']"
grep -q "INSECURE" "$tmp/aecsd.log" && ok || bad "aecsd warns about the insecure option at start"
expect_exit 0 "unseal" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 0)"
expect_exit 0 "unseal (2)" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 2)"
expect_exit 0 "secret list after putting them back" -- "$AECS" secret list --config "$tmp/svc1.yaml"
cp "$tmp/replay.args" "$tmp/req.args"
send >"$tmp/r5"
check "a signed request replayed after two restarts" "$tmp/r5" "d['error']['code']" replayed_request
expect_exit 0 "audit verify" -- "$AECS" admin audit verify --config "$tmp/admin.yaml"
expect_exit 0 "audit list" -- "$AECS" admin audit list --config "$tmp/admin.yaml" --json
check "init is the first entry" "$tmp/out" "d['entries'][0]['action']" init
check "refusals are audited" "$tmp/out" "any(e['result'] == 'refused' for e in d['entries'])" True
check "destroy and unregister entries name the client's address" "$tmp/out" \
  "sorted({e['action'] for e in d['entries'] if e['action'] in ('secret.destroy', 'service.unregister') and e.get('remote') == '127.0.0.1'})" \
  "['secret.destroy', 'service.unregister']"
stop
python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
key = "/audit/00000000000000000005"
(value,) = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
value = bytearray(value)
value[30] ^= 0x01  # one bit of the ciphertext
db.execute("UPDATE kv SET value = ? WHERE key = ?", (bytes(value), key))
db.commit()
PY
start --insecure-sim-auto-unseal
expect_exit 0 "auto-unsealed" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "auto-unseal with the sim key" "$tmp/out" "d['state']" working
expect_exit 1 "audit verify after tampering" -- "$AECS" admin audit verify --config "$tmp/admin.yaml"
expect_out "5" "the first broken entry is named"
grep -qi "entry 5" "$tmp/out" "$tmp/err" && ok || bad "audit verify names entry 5"

# --- kill -9 during a loop of creates loses no acknowledged secret ------------------
: >"$tmp/acked"
(
  for i in $(seq 1 40); do
    sed "s/name: stolen/name: k$i/" tests/data/service/for_service1.yaml >"$tmp/k$i.yaml"
    "$AECS" secret create --config "$tmp/svc1.yaml" --policy "$tmp/k$i.yaml" >/dev/null 2>&1 && echo "k$i" >>"$tmp/acked"
  done
) &
loop=$!
sleep 1.5
kill -KILL "$pid"
wait "$pid" 2>/dev/null
pid=
wait "$loop"
start --insecure-sim-auto-unseal
expect_exit 0 "list after kill -9" -- "$AECS" secret list --config "$tmp/svc1.yaml" --json
acked=$(wc -l <"$tmp/acked")
[[ $acked -ge 1 ]] && ok || bad "some creates were acknowledged before the kill"
missing=0
while read -r name; do
  json_field "$tmp/out" "'$name' in [s['name'] for s in d['secrets']]" | grep -q True || missing=$((missing + 1))
done <"$tmp/acked"
[[ $missing -eq 0 ]] && ok || bad "$missing acknowledged secrets lost after kill -9"
expect_exit 1 "audit still names the tampered entry" -- "$AECS" admin audit verify --config "$tmp/admin.yaml"
echo "kill -9: $acked creates acknowledged, all kept"
stop
first_data=$data

# --- init as printed for people; an init made by another implementation ----------
data=$tmp/data2
port=$(free_port)
url=https://127.0.0.1:$port
start
cred admin2 "$tmp/admin.pem"
expect_exit 0 "init, printed" -- "$AECS" admin init --config "$tmp/admin2.yaml" --shares 2 --threshold 2
expect_out "is initialized (service id " "init names the service"
expect_out "share 1: aecs-share-v1:" "init prints share 1"
expect_out "share 2: aecs-share-v1:" "init prints share 2"
expect_out "Store each share separately" "init says how to keep the shares"
stop

data=$tmp/data3
port=$(free_port)
url=https://127.0.0.1:$port
start
expect_exit 0 "init by admin_seal.py (signature checked, shares opened)" -- \
  $SEAL init "$url" "$data/tls/cert.pem" "$tmp/admin.pem" 3 2
cp "$tmp/out" "$tmp/init3.json"
check "admin_seal.py opened 3 shares" "$tmp/init3.json" "len(d['shares'])" 3
stop
start
cred admin3 "$tmp/admin.pem"
expect_exit 0 "unseal with admin_seal.py's share 1" -- "$AECS" admin unseal --config "$tmp/admin3.yaml" \
  "$(json_field "$tmp/init3.json" "d['shares'][0]")"
expect_exit 0 "unseal with admin_seal.py's share 3" -- "$AECS" admin unseal --config "$tmp/admin3.yaml" \
  "$(json_field "$tmp/init3.json" "d['shares'][2]")"
expect_out "working (unsealed)" "the shares admin_seal.py opened unseal"
stop

# --- no share, of any init, in a log or a store ---------------------------------
for s in 0 1 2; do
  for f in "$tmp/init.json" "$tmp/init3.json"; do
    if grep -aqF -- "$(json_field "$f" "d['shares'][$s]" | cut -d: -f5)" "$tmp/aecsd.log" \
      "$tmp/access.log" "$first_data"/store.db* "$tmp/data2"/store.db* "$tmp/data3"/store.db*; then
      bad "share $s of $f appears in a log or a store"
    else ok; fi
  done
done
finish cli_server
