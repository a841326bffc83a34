#!/usr/bin/env bash
# `aecs fetch` and the client library against the real aecsd on loopback, with
# the simulated TEE on both sides: aecsd's identity evidence is a sim quote of
# SERVER_MR, the application's a sim quote of APP_MR (attester sim).
#
#   - released: a file of mode 0600 with the imported bytes, stdout (base64
#     and --raw), several secrets in one round, $AECS_CONFIG;
#   - refused by a secret's policy, one field at a time (mrenclave, mrsigner,
#     prodID, minIsvSvn, debug, sim), and for a TCB status it does not accept
#     (a second aecsd trusts a sim made with --tcb-status OutOfDate);
#   - hand-made requests (build/tests/tools/release_probe): a replayed nonce,
#     an expired one, one never issued, evidence bound to another key,
#     tampered evidence;
#   - the server's identity checked before anything is sent: a server policy
#     that names another enclave, or refuses the sim, or a verifier that does
#     not trust the sim, or a pinned service_id that is not aecsd's: only GET
#     /v1/identity reaches aecsd (its access log);
#   - failover from a dead first server to a live second one;
#   - usage: files, symbolic links, options.
# Expected values: the secrets' bytes are this script's inputs; the policy's
# reasons are docs/policy.md's.
. "$(dirname "$0")/lib.sh"
PROBE=$(dirname "$AECS")/tests/tools/release_probe

SERVER_MR=$(hexrep 5e 32)
OTHER_MR=$(hexrep 07 32)
APP_MR=$(hexrep a1 32)
APP_SIGNER=$(hexrep b2 32)
SECRET_TEXT="db_password=correct horse battery staple"

pids=()
on_exit() {
  local p
  for p in "${pids[@]}"; do
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}

# start NAME PORT ARGS...: an aecsd whose identity evidence comes from the sim
# ($tmp/sim, MRENCLAVE SERVER_MR), unsealed at start by the sim key file.
start() {
  local name=$1 port=$2
  shift 2
  "$AECSD" --data "$tmp/$name" --listen "127.0.0.1:$port" --threads 2 \
    --access-log "$tmp/$name.access" --attester sim --sim-dir "$tmp/sim" \
    --sim-mrenclave "$SERVER_MR" --insecure-sim-auto-unseal --rate-burst 1000 \
    --rate-per-second 1000 "$@" >>"$tmp/$name.log" 2>&1 &
  pids+=($!)
  wait_https "https://127.0.0.1:$port/v1/health" || { cat "$tmp/$name.log"; exit 1; }
}

# provision NAME PORT: init, a service `svc` and the secrets of $tmp/policy.yaml.
provision() {
  local name=$1 port=$2
  printf 'server: https://127.0.0.1:%s\nkey: %s\nca: %s\n' "$port" "$tmp/admin.pem" \
    "$tmp/$name/tls/cert.pem" >"$tmp/$name-admin.yaml"
  # init checks the server's identity first, as a client does (the sim of $tmp/sim)
  printf 'server_policy: {enclaveMatchAnyRules: [{mrenclave: %s, allow_sim: true}]}\n' \
    "$SERVER_MR" >>"$tmp/$name-admin.yaml"
  printf 'verifier: {insecure_trust_sim: %s}\n' "$tmp/sim" >>"$tmp/$name-admin.yaml"
  printf 'server: https://127.0.0.1:%s\nkey: %s\nca: %s\nservice: svc\n' "$port" \
    "$tmp/svc.pem" "$tmp/$name/tls/cert.pem" >"$tmp/$name-svc.yaml"
  expect_exit 0 "$name: init" -- "$AECS" admin init --config "$tmp/$name-admin.yaml" \
    --shares 2 --threshold 2 --json
  expect_exit 0 "$name: register svc" -- "$AECS" admin service register \
    --config "$tmp/$name-admin.yaml" --name svc --pubkey "$tmp/svc.pub.pem"
  expect_exit 0 "$name: secrets" -- "$AECS" secret create --config "$tmp/$name-svc.yaml" \
    --policy "$tmp/policy.yaml"
}

# client FILE SERVERS CA [KEY: VALUE lines...]: a client configuration trusting
# SERVER_MR (allow_sim) and the sim, whose attester is the sim as APP_MR; extra
# lines replace the defaults of the same section (see the calls).
client() {
  local file=$1 servers=$2 ca=$3
  local policy=${POLICY:-"{mrenclave: $SERVER_MR, allow_sim: true}"}
  local verifier=${VERIFIER:-"{insecure_trust_sim: $tmp/sim}"}
  local sim=${APP_SIM:-$tmp/sim}
  local debug=${APP_DEBUG:-false}
  cat >"$file" <<EOF
server: [$servers]
ca: $ca
server_policy:
  enclaveMatchAnyRules:
  - $policy
verifier: $verifier
attester:
  type: sim
  sim_dir: $sim
  sim_identity:
    mrenclave: $APP_MR
    mrsigner: $APP_SIGNER
    isvprodid: 1
    isvsvn: 2
    debug: $debug
timeouts: {connect: 5, request: 30}
EOF
}

# count NAME PATH: how many requests to PATH (without the query) aecsd NAME logged
count() {
  python3 -c "
import json, sys
n = 0
for line in open('$tmp/$1.access'):
    if json.loads(line).get('path', '').split('?')[0] == '$2':
        n += 1
print(n)"
}

# --- the two servers --------------------------------------------------------------
expect_exit 0 "sim init" -- "$AECS" sim init "$tmp/sim"
expect_exit 0 "sim init OutOfDate" -- "$AECS" sim init "$tmp/sim-ood" --tcb-status OutOfDate
expect_exit 0 "keygen admin" -- "$AECS" keygen --out "$tmp/admin"
expect_exit 0 "keygen svc" -- "$AECS" keygen --out "$tmp/svc"

rule() { echo "      - {mrenclave: $APP_MR, allow_sim: true${1:+, $1}}"; }
secret() { # NAME TYPE RULE [DATA]
  printf -- '- spec:\n    name: %s\n    type: %s\n    service: svc\n    policy:\n' "$1" "$2"
  printf '      enclaveMatchAnyRules:\n%s\n' "$3"
  [[ -n ${4-} ]] && printf '  data: "%s"\n' "$4"
  return 0
}
{
  printf 'apiVersion: v1\nkind: SecretPolicy\nsecrets:\n'
  secret key1 SECRET_TYPE_AES256_KEY "$(rule)"
  secret conf SECRET_TYPE_IMPORT_DATA "$(rule)" "$SECRET_TEXT"
  secret tls SECRET_TYPE_EC_KEY_PAIR "$(rule)"
  secret by_signer SECRET_TYPE_AES256_KEY \
    "      - {mrsigner: $APP_SIGNER, prodID: 1, minIsvSvn: 2, allow_sim: true}"
  secret other_mrenclave SECRET_TYPE_AES256_KEY "      - {mrenclave: $OTHER_MR, allow_sim: true}"
  secret other_mrsigner SECRET_TYPE_AES256_KEY "$(rule "mrsigner: $OTHER_MR")"
  secret other_prodid SECRET_TYPE_AES256_KEY "$(rule "prodID: 9")"
  secret higher_svn SECRET_TYPE_AES256_KEY "$(rule "minIsvSvn: 5")"
  secret no_sim SECRET_TYPE_AES256_KEY "      - {mrenclave: $APP_MR}"
  secret ood_ok SECRET_TYPE_AES256_KEY \
    "$(rule "accepted_tcb_statuses: [UpToDate, OutOfDate], accepted_advisories: [AECS-SIM-SA-00001]")"
} >"$tmp/policy.yaml"

port_a=$(free_port)
start a "$port_a" --insecure-trust-sim "$tmp/sim"
port_b=$(free_port)
start b "$port_b" --insecure-trust-sim "$tmp/sim-ood"
provision a "$port_a"
provision b "$port_b"
url_a=https://127.0.0.1:$port_a
url_b=https://127.0.0.1:$port_b

# A challenge now, to be used once it has expired (60 s), near the end.
probe() { "$PROBE" --server "$url_a" --ca "$tmp/a/tls/cert.pem" --sim "$tmp/sim" \
  --mrenclave "$APP_MR" --service svc --name key1 "$@"; }
expect_exit 0 "probe: a challenge for later" -- probe --case challenge --nonce-file "$tmp/stale.nonce"
stale_since=$SECONDS

client "$tmp/client.yaml" "$url_a" "$tmp/a/tls/cert.pem"

# --- released ---------------------------------------------------------------------
mkdir -p "$tmp/files"
expect_exit 0 "fetch conf to a file" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name conf --out "$tmp/files/conf"
expect_err "wrote svc/conf (SECRET_TYPE_IMPORT_DATA, ${#SECRET_TEXT} bytes)" "fetch conf to a file"
[[ $(stat -c %a "$tmp/files/conf") == 600 ]] && ok || bad "the secret's file has mode 0600"
[[ $(cat "$tmp/files/conf") == "$SECRET_TEXT" ]] && ok || bad "the file holds the imported bytes"
ls "$tmp/files" | grep -q tmp && bad "a temporary file was left behind" || ok

expect_exit 0 "fetch key1" -- "$AECS" fetch --config "$tmp/client.yaml" --service svc \
  --name key1 --out "$tmp/files/key1"
[[ $(stat -c %s "$tmp/files/key1") == 32 ]] && ok || bad "an AES-256 key is 32 bytes"
cp "$tmp/files/key1" "$tmp/key1.first"
echo "old" >"$tmp/files/key1"
chmod 644 "$tmp/files/key1"
expect_exit 0 "fetch key1 again over the old file" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name key1 --out "$tmp/files/key1"
cmp -s "$tmp/key1.first" "$tmp/files/key1" && ok || bad "the same key both times"
[[ $(stat -c %a "$tmp/files/key1") == 600 ]] && ok || bad "a replaced file gets mode 0600"

expect_exit 0 "print conf (base64: application/octet-stream)" -- "$AECS" fetch \
  --config "$tmp/client.yaml" --service svc --name conf
[[ $(base64 -d "$tmp/out") == "$SECRET_TEXT" ]] && ok || bad "stdout is the base64 of the secret"
expect_exit 0 "print conf --raw" -- "$AECS" fetch --config "$tmp/client.yaml" --service svc \
  --name conf --raw
[[ $(cat "$tmp/out") == "$SECRET_TEXT" ]] && ok || bad "--raw prints the bytes"
expect_exit 0 "print an EC key (PEM: text)" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name tls
openssl pkey -in "$tmp/out" -noout 2>/dev/null && ok || bad "the EC key pair is a PEM key openssl reads"

mkdir "$tmp/dir"
expect_exit 0 "three in one round, from \$AECS_CONFIG" -- env AECS_CONFIG="$tmp/client.yaml" "$AECS" \
  fetch --service svc --name key1 --name conf --name by_signer --out-dir "$tmp/dir"
[[ $(stat -c %a "$tmp/dir/key1") == 600 && $(stat -c %a "$tmp/dir/by_signer") == 600 ]] && ok ||
  bad "--out-dir files have mode 0600"
cmp -s "$tmp/key1.first" "$tmp/dir/key1" && ok || bad "--out-dir key1 is the key"
[[ $(cat "$tmp/dir/conf") == "$SECRET_TEXT" ]] && ok || bad "--out-dir conf is the secret"
expect_exit 0 "two printed" -- "$AECS" fetch --config "$tmp/client.yaml" --service svc \
  --name conf --name by_signer
expect_out "== svc/conf ==" "two printed"
expect_out "== svc/by_signer ==" "two printed"

# --- refused by the secrets' policies -----------------------------------------------
refused() { # NAME REASON [CONFIG]
  local f=$tmp/files/refused-$1
  rm -f "$f"
  expect_exit 1 "$1 refused" -- "$AECS" fetch --config "${3:-$tmp/client.yaml}" --service svc \
    --name "$1" --out "$f"
  expect_err "svc/$1 refused: forbidden" "$1 refused"
  expect_err "$2" "$1 refused: why"
  [[ -e $f ]] && bad "$1: a file was written" || ok
}
refused other_mrenclave "mrenclave does not match: expected 0707070707070707.., got a1a1a1a1a1a1a1a1.."
refused other_mrsigner "mrsigner does not match: expected 0707070707070707.., got b2b2b2b2b2b2b2b2.."
refused other_prodid "prodID does not match: expected 9, got 1"
refused higher_svn "isvsvn 2 is below the minimum 5"
refused no_sim "simulated TEE refused"
APP_DEBUG=true client "$tmp/client-debug.yaml" "$url_a" "$tmp/a/tls/cert.pem"
refused key1 "debug enclave refused" "$tmp/client-debug.yaml"

expect_exit 1 "a secret that does not exist" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name nope
expect_err "svc/nope refused: not_found" "a secret that does not exist"
expect_exit 1 "one refused of two: nothing written" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name key1 --name other_mrenclave --out-dir "$tmp/files"
expect_err "nothing written" "one refused of two"
[[ -e $tmp/files/other_mrenclave ]] && bad "one refused of two: a file was written" || ok

# TCB: aecsd b trusts a sim whose platform is OutOfDate (advisory AECS-SIM-SA-00001)
APP_SIM=$tmp/sim-ood client "$tmp/client-ood.yaml" "$url_b" "$tmp/b/tls/cert.pem"
refused key1 "TCB status OutOfDate is not accepted (accepted: UpToDate, SWHardeningNeeded)" \
  "$tmp/client-ood.yaml"
expect_exit 0 "OutOfDate accepted where the rule says so" -- "$AECS" fetch \
  --config "$tmp/client-ood.yaml" --service svc --name ood_ok --out "$tmp/files/ood_ok"

# --- hand-made requests -------------------------------------------------------------
expect_exit 0 "probe: a correct request (control)" -- probe --case ok
expect_out "status=200 code=-" "probe: a correct request (control)"
expect_out "entry=svc/key1:sealed" "probe: a correct request (control)"
expect_exit 0 "probe: the same request twice" -- probe --case replay
expect_out "status=401 code=invalid_nonce" "probe: a replayed nonce"
expect_exit 0 "probe: a nonce never issued" -- probe --case unknown
expect_out "status=401 code=invalid_nonce" "probe: a nonce never issued"
expect_exit 0 "probe: evidence bound to another key" -- probe --case other-key
expect_out "status=401 code=binding_mismatch" "probe: evidence bound to another key"
expect_exit 0 "probe: tampered evidence" -- probe --case tampered
expect_out "status=401 code=attestation_failed" "probe: tampered evidence"

# --- the server's identity, checked before anything is sent ----------------------------
identity_refused() { # WHAT CONFIG CHECK TEXT
  local before_c before_r before_i
  before_i=$(count a /v1/identity)
  before_c=$(count a /v1/challenge)
  before_r=$(count a /v1/release)
  expect_exit 1 "$1" -- "$AECS" fetch --config "$2" --service svc --name key1 --out "$tmp/files/id"
  expect_err "check: $3" "$1"
  expect_err "$4" "$1"
  [[ $(count a /v1/identity) == $((before_i + 1)) ]] && ok || bad "$1: one identity request"
  [[ $(count a /v1/challenge) == "$before_c" && $(count a /v1/release) == "$before_r" ]] && ok ||
    bad "$1: a challenge or release was sent after the identity failed"
  [[ -e $tmp/files/id ]] && bad "$1: a file was written" || ok
}
POLICY="{mrenclave: $OTHER_MR, allow_sim: true}" client "$tmp/client-other.yaml" "$url_a" \
  "$tmp/a/tls/cert.pem"
identity_refused "a server that is another enclave" "$tmp/client-other.yaml" server-policy \
  "mrenclave does not match: expected 0707070707070707.., got 5e5e5e5e5e5e5e5e.."
POLICY="{mrenclave: $SERVER_MR}" client "$tmp/client-nosim.yaml" "$url_a" "$tmp/a/tls/cert.pem"
identity_refused "a server in the simulated TEE, not allowed" "$tmp/client-nosim.yaml" \
  server-policy "simulated TEE refused"
VERIFIER="{}" client "$tmp/client-untrusted.yaml" "$url_a" "$tmp/a/tls/cert.pem"
identity_refused "a verifier that does not trust the sim" "$tmp/client-untrusted.yaml" \
  identity-evidence "aecs simulator root"
# service_id pinned: the id in aecsd's signed identity answer must be this one; another
# (its store wiped and initialized again, or the wrong server) is refused before a challenge
expect_exit 0 "status of a" -- "$AECS" admin status --config "$tmp/a-admin.yaml" --json
sid_a=$(json_field "$tmp/out" "d['id']")
client "$tmp/client-sid.yaml" "$url_a" "$tmp/a/tls/cert.pem"
echo "service_id: $sid_a" >>"$tmp/client-sid.yaml"
expect_exit 0 "the pinned service id is a's" -- "$AECS" fetch --config "$tmp/client-sid.yaml" \
  --service svc --name conf --out "$tmp/files/sid"
client "$tmp/client-sid-other.yaml" "$url_a" "$tmp/a/tls/cert.pem"
echo "service_id: 0123456789abcdef0123456789abcdef" >>"$tmp/client-sid-other.yaml"
identity_refused "another service id pinned" "$tmp/client-sid-other.yaml" server-service-id \
  "the server serves service id $sid_a, but $tmp/client-sid-other.yaml pins service_id 0123456789abcdef0123456789abcdef: its store was initialized again"

# --- failover -------------------------------------------------------------------------
dead=$(free_port)
client "$tmp/client-failover.yaml" "https://127.0.0.1:$dead, $url_a" "$tmp/a/tls/cert.pem"
expect_exit 0 "a dead first server, a live second one" -- "$AECS" --log-level info fetch \
  --config "$tmp/client-failover.yaml" --service svc --name conf --out "$tmp/files/failover"
expect_err "127.0.0.1:$dead" "the dead server is named in the log"
[[ $(cat "$tmp/files/failover") == "$SECRET_TEXT" ]] && ok || bad "failover: the secret"
client "$tmp/client-dead.yaml" "https://127.0.0.1:$dead" "$tmp/a/tls/cert.pem"
expect_exit 2 "only a dead server" -- "$AECS" fetch --config "$tmp/client-dead.yaml" \
  --service svc --name conf
expect_err "no server gave a usable answer" "only a dead server"
client "$tmp/client-wrongca.yaml" "$url_a" "$tmp/b/tls/cert.pem"
expect_exit 2 "a server whose TLS certificate is not the configured CA's" -- "$AECS" fetch \
  --config "$tmp/client-wrongca.yaml" --service svc --name conf
expect_err "TLS" "a wrong CA"

# --- usage ----------------------------------------------------------------------------
expect_exit 2 "no --service" -- "$AECS" fetch --config "$tmp/client.yaml" --name conf
expect_err "has no --service" "no --service"
expect_exit 2 "a --service without --name" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name conf --service other
expect_err "--service other has no --name after it" "a --service without --name"
expect_exit 2 "--out with two secrets" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name conf --name key1 --out "$tmp/x"
expect_exit 2 "a bad name" -- "$AECS" fetch --config "$tmp/client.yaml" --service svc \
  --name ../etc
expect_exit 2 "no configuration" -- env -u AECS_CONFIG "$AECS" fetch --service svc --name conf
expect_err "give --config FILE or set AECS_CONFIG" "no configuration"
printf 'server: %s\nca: x\nserver_policy: {enclaveMatchAnyRules: [{mrenclave: %s}]}\nattester: {type: tpm}\n' \
  "$url_a" "$SERVER_MR" >"$tmp/client-bad.yaml"
expect_exit 2 "a bad configuration" -- "$AECS" fetch --config "$tmp/client-bad.yaml" \
  --service svc --name conf
expect_err "client-bad.yaml:4: attester.type: must be auto, sim, gramine, tsm, sev-guest or file" \
  "a bad configuration"
echo "keep" >"$tmp/target"
ln -s "$tmp/target" "$tmp/link"
expect_exit 2 "--out to a symbolic link" -- "$AECS" fetch --config "$tmp/client.yaml" \
  --service svc --name conf --out "$tmp/link"
expect_err "is a symbolic link" "--out to a symbolic link"
[[ $(cat "$tmp/target") == keep && -L $tmp/link ]] && ok || bad "the link and its target are untouched"
expect_exit 0 "fetch --help" -- "$AECS" fetch --help
expect_out "--out-dir DIR" "fetch --help"

# --- the expired challenge (taken at the start; the table keeps nonces 60 s) -----------
wait_for=$((stale_since + 62 - SECONDS))
[[ $wait_for -gt 0 ]] && sleep "$wait_for"
expect_exit 0 "probe: an expired nonce" -- probe --case stale --nonce-file "$tmp/stale.nonce"
expect_out "status=401 code=expired_nonce" "probe: an expired nonce"

finish cli_fetch
