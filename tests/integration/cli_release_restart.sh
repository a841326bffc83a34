#!/usr/bin/env bash
# Attested releases across a restart, with the real aecsd and aecs and the
# simulated TEE: secrets released before a restart are released again, byte
# for byte, once the service is unsealed; a sealed service releases nothing;
# every release decision is in the audit log, with the claims it was made
# on, and the chain verifies; the store holds none of the released values.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
url=https://127.0.0.1:$port
data=$tmp/data
server_mr=$(hexrep 5e 32)
app_mr=$(hexrep a1 32)
other_mr=$(hexrep b2 32)
pid=

start() {
  "$AECSD" --data "$data" --listen "127.0.0.1:$port" --threads 2 --attester sim \
    --sim-dir "$tmp/sim" --sim-mrenclave "$server_mr" --insecure-trust-sim "$tmp/sim" \
    --access-log none >>"$tmp/aecsd.log" 2>&1 &
  pid=$!
  wait_https "$url/v1/health" || { cat "$tmp/aecsd.log"; exit 1; }
}
stop() {
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
on_exit() { stop; }

# client FILE MRENCLAVE: an application's configuration (sim enclave MRENCLAVE)
client() {
  cat >"$1" <<EOF
server: $url
ca: $data/tls/cert.pem
server_policy:
  enclaveMatchAnyRules:
  - mrenclave: "$server_mr"
    allow_sim: true
verifier:
  insecure_trust_sim: $tmp/sim
attester:
  type: sim
  sim_dir: $tmp/sim
  sim_identity: {mrenclave: "$2"}
EOF
}

expect_exit 0 "sim init" -- "$AECS" sim init "$tmp/sim"
start
expect_exit 0 "keygen admin" -- "$AECS" keygen --out "$tmp/admin"
expect_exit 0 "keygen svc" -- "$AECS" keygen --out "$tmp/svc"
# the admin's credential trusts the sim aecsd's enclave: init and unseal check it first
printf 'server: %s\nkey: %s\nca: %s\nserver_policy: {enclaveMatchAnyRules: [{mrenclave: "%s", allow_sim: true}]}\nverifier: {insecure_trust_sim: %s}\n' \
  "$url" "$tmp/admin.pem" "$data/tls/cert.pem" "$server_mr" "$tmp/sim" >"$tmp/admin.yaml"
printf 'server: %s\nkey: %s\nca: %s\nservice: svc\n' "$url" "$tmp/svc.pem" "$data/tls/cert.pem" >"$tmp/svc.yaml"
expect_exit 0 "init" -- "$AECS" admin init --config "$tmp/admin.yaml" --shares 3 --threshold 2 --json
cp "$tmp/out" "$tmp/init.json"
share() { json_field "$tmp/init.json" "d['shares'][$1]"; }
expect_exit 0 "register svc" -- "$AECS" admin service register --config "$tmp/admin.yaml" --name svc --pubkey "$tmp/svc.pub.pem"
cat >"$tmp/policy.yaml" <<EOF
apiVersion: v1
kind: SecretPolicy
secrets:
- spec:
    name: aes
    type: SECRET_TYPE_AES256_KEY
    service: svc
    policy:
      enclaveMatchAnyRules:
      - mrenclave: "$app_mr"
        allow_sim: true
- spec:
    name: blob
    type: SECRET_TYPE_IMPORT_DATA
    service: svc
    policy:
      enclaveMatchAnyRules:
      - mrenclave: "$app_mr"
        allow_sim: true
  data: "release-restart-9c2f4b-imported"
EOF
expect_exit 0 "create" -- "$AECS" secret create --config "$tmp/svc.yaml" --policy "$tmp/policy.yaml"
client "$tmp/app.yaml" "$app_mr"
client "$tmp/other.yaml" "$other_mr"

expect_exit 0 "release aes" -- "$AECS" fetch --config "$tmp/app.yaml" --service svc --name aes --out "$tmp/aes.1"
expect_exit 0 "release blob" -- "$AECS" fetch --config "$tmp/app.yaml" --service svc --name blob --out "$tmp/blob.1"
[[ $(cat "$tmp/blob.1") == "release-restart-9c2f4b-imported" ]] && ok || bad "the imported bytes came back"
[[ $(stat -c %s "$tmp/aes.1") == 32 ]] && ok || bad "an AES-256 key is 32 bytes"
expect_exit 1 "another enclave is refused" -- "$AECS" fetch --config "$tmp/other.yaml" --service svc --name aes --out "$tmp/aes.other"
expect_err "mrenclave does not match" "the refusal says why"

# The generated key is nowhere in the store, in any form.
aes_hex=$(od -An -tx1 -v "$tmp/aes.1" | tr -d ' \n')
aes_b64=$(base64 -w0 "$tmp/aes.1")
if cat "$data"/store.db* | od -An -tx1 -v | tr -d ' \n' | grep -q "$aes_hex"; then
  bad "store.db holds the released AES key"
else ok; fi
if cat "$data"/store.db* | grep -aqF -- "$aes_b64"; then bad "store.db holds the AES key in base64"; else ok; fi
if cat "$data"/store.db* | grep -aqF -- "release-restart-9c2f4b"; then bad "store.db holds the imported data"; else ok; fi

# --- restart: sealed, nothing released; unsealed, the same values --------------------
stop
start
expect_exit 0 "status after restart" -- "$AECS" admin status --config "$tmp/admin.yaml" --json
check "sealed after restart" "$tmp/out" "d['state']" sealed
expect_exit 2 "a sealed service releases nothing" -- "$AECS" fetch --config "$tmp/app.yaml" --service svc --name aes --out "$tmp/aes.sealed"
[[ ! -e $tmp/aes.sealed ]] && ok || bad "nothing is written while sealed"
expect_exit 0 "unseal 1" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 1)"
expect_exit 0 "unseal 2" -- "$AECS" admin unseal --config "$tmp/admin.yaml" "$(share 2)"
expect_exit 0 "release aes again" -- "$AECS" fetch --config "$tmp/app.yaml" --service svc --name aes --out "$tmp/aes.2"
expect_exit 0 "release blob again" -- "$AECS" fetch --config "$tmp/app.yaml" --service svc --name blob --out "$tmp/blob.2"
cmp -s "$tmp/aes.1" "$tmp/aes.2" && ok || bad "the AES key is the same after the restart"
cmp -s "$tmp/blob.1" "$tmp/blob.2" && ok || bad "the imported data is the same after the restart"

# --- the audit log: every decision, with its claims, and the chain holds --------------
expect_exit 0 "audit verify" -- "$AECS" admin audit verify --config "$tmp/admin.yaml"
expect_exit 0 "audit list" -- "$AECS" admin audit list --config "$tmp/admin.yaml" --json
cp "$tmp/out" "$tmp/audit.json"
check "five release decisions" "$tmp/audit.json" "len([e for e in d['entries'] if e['action'] == 'release'])" 5
check "four released" "$tmp/audit.json" "len([e for e in d['entries'] if e['action'] == 'release' and e['result'] == 'ok'])" 4
check "the refusal names the enclave" "$tmp/audit.json" \
  "[e for e in d['entries'] if e['action'] == 'release' and e['result'] == 'refused'][0]['data']['claims']['mrenclave']" "$other_mr"
check "the refusal's reason" "$tmp/audit.json" \
  "'mrenclave does not match' in [e for e in d['entries'] if e['action'] == 'release' and e['result'] == 'refused'][0]['data']['decisions'][0]['reason']" True
check "releases carry the claims" "$tmp/audit.json" \
  "all(e['data']['claims']['sim'] for e in d['entries'] if e['action'] == 'release')" True
if grep -qF "$aes_b64" "$tmp/audit.json" || grep -qF "release-restart-9c2f4b" "$tmp/audit.json"; then
  bad "the audit log holds a secret value"
else ok; fi

stop
finish cli_release_restart
