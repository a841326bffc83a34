#!/usr/bin/env bash
# demo.sh - aecs end to end on this machine, with the simulated TEE:
#   aecsd on loopback (embedded store), init with 3 shares (threshold 2) after
#   checking aecsd's identity, a restart and an unseal, a service, secrets from a policy in the seeds'
#   format, then a sim enclave application that attests, gets data_key_1 and
#   decrypts a file it could not read before, and an application with another
#   MRENCLAVE that is refused, with the reason. Everything it starts is stopped
#   at the end, and its files are removed (keep them with AECS_DEMO_KEEP=1).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AECS=${AECS_BIN:-$PWD/build/aecs}
AECSD=${AECSD_BIN:-$PWD/build/aecsd}
for b in "$AECS" "$AECSD"; do
  [[ -x $b ]] || { echo "demo: $b not found; run 'make' first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/aecs-demo.XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if [[ ${AECS_DEMO_KEEP:-0} == 1 ]]; then echo "demo: files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

n=0
step() { n=$((n + 1)); printf '\n=== %d. %s\n' "$n" "$*"; }
show() { echo "\$ $*"; "$@"; }
die() { echo "demo: FAILED: $*" >&2; [[ -f $work/aecsd.log ]] && tail -20 "$work/aecsd.log" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=https://127.0.0.1:$port
# The measurements of the simulated enclaves: a real enclave's come from its build (sgx_sign).
server_mr=$(printf 'aecsd' | sha256sum | cut -c1-64)
app_mr=$(printf 'demo application v1' | sha256sum | cut -c1-64)
other_mr=$(printf 'some other application' | sha256sum | cut -c1-64)

start_aecsd() {
  "$AECSD" --data "$work/data" --listen "127.0.0.1:$port" --attester sim --sim-dir "$work/sim" \
    --sim-mrenclave "$server_mr" --insecure-trust-sim "$work/sim" \
    --access-log "$work/access.log" >>"$work/aecsd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null --max-time 1 "$url/v1/health" && return 0
    sleep 0.1
  done
  die "aecsd did not start"
}
stop_aecsd() { kill "$pid"; wait "$pid" 2>/dev/null; pid=; }

step "A simulated TEE (no SGX/TDX here): a test PKI and collateral, trusted only on request"
show "$AECS" sim init "$work/sim" >/dev/null || die "sim init"
echo "made $work/sim (root CA: $work/sim/root.der)"

step "Start aecsd on $url (SQLite store, identity evidence from the sim)"
start_aecsd
grep -E "listening|fingerprint|INSECURE" "$work/aecsd.log" | sed 's/^/  aecsd: /'

step "The cluster admin makes a key and initializes the service: 3 shares, any 2 unseal it"
show "$AECS" keygen --out "$work/admin" || die "keygen"
# server_policy: init and unseal first check that they talk to this aecsd in its (here
# simulated) TEE, and the shares travel sealed to its identity key, never in clear.
cat >"$work/admin.yaml" <<EOF
server: $url
key: $work/admin.pem
ca: $work/data/tls/cert.pem
server_policy:
  enclaveMatchAnyRules:
  - mrenclave: "$server_mr"
    allow_sim: true            # the demo's aecsd is simulated
verifier:
  insecure_trust_sim: $work/sim
EOF
echo "\$ $AECS admin init --config $work/admin.yaml --shares 3 --threshold 2 --json"
"$AECS" admin init --config "$work/admin.yaml" --shares 3 --threshold 2 --json >"$work/init.json" ||
  die "admin init"
share() { python3 -c "import json; print(json.load(open('$work/init.json'))['shares'][$1])"; }
echo "3 shares made (each goes to a different person; printed once, kept here in $work/init.json)"

step "Restart aecsd: it comes back sealed"
stop_aecsd
start_aecsd
show "$AECS" admin status --config "$work/admin.yaml"

step "Unseal with shares 1 and 3 (from standard input, so they are not in 'ps')"
share 0 | show "$AECS" admin unseal --config "$work/admin.yaml" - || die "unseal 1"
share 2 | show "$AECS" admin unseal --config "$work/admin.yaml" - || die "unseal 2"

step "Register service1 with its own admin key"
show "$AECS" keygen --out "$work/service1-admin" >/dev/null || die "keygen"
show "$AECS" admin service register --config "$work/admin.yaml" --name service1 \
  --pubkey "$work/service1-admin.pub.pem" || die "register"
cat >"$work/service1.yaml" <<EOF
server: $url
key: $work/service1-admin.pem
ca: $work/data/tls/cert.pem
service: service1
EOF

step "service1's admin creates secrets from a policy in the seeds' format"
cat >"$work/policy.yaml" <<EOF
apiVersion: v1
kind: SecretPolicy
secrets:
- spec:
    name: data_key_1
    type: SECRET_TYPE_RSA_KEY_PAIR
    service: service1
    readonly: "true"
    share: "public"
    policy:
      enclaveMatchAnyRules:
      - mrenclave: "$app_mr"
        minIsvSvn: "1"
        allow_sim: true          # the demo's enclaves are simulated
    params:
    - key: "pkcs_type"
      value: "pkcs8"
    - key: "bit_length"
      value: 2048
- spec:
    name: image_key
    type: SECRET_TYPE_IMPORT_DATA
    service: service1
    readonly: "true"
    policy:
      enclaveMatchAnyRules:
      - mrenclave: "$app_mr"
        allow_sim: true
  data: "48-f1-87-6c-da-13-be-ae-2f-14-f6-78-9e5-15-1d-e1"
EOF
sed -n '/^- spec/,/params/p' "$work/policy.yaml" | head -12 | sed 's/^/  /'
show "$AECS" secret create --config "$work/service1.yaml" --policy "$work/policy.yaml" ||
  die "secret create"
show "$AECS" secret list --config "$work/service1.yaml"

step "Someone outside the enclave encrypts a file to data_key_1's public key"
show "$AECS" secret get-public --config "$work/service1.yaml" --service service1 \
  --name data_key_1 --out "$work/data_key_1.pub.pem" || die "get-public"
echo "the quarterly numbers: 42, 17, 99" >"$work/report.txt"
openssl pkeyutl -encrypt -pubin -inkey "$work/data_key_1.pub.pem" \
  -pkeyopt rsa_padding_mode:oaep -in "$work/report.txt" -out "$work/report.enc" || die "encrypt"
rm "$work/report.txt"
echo "report.enc: $(wc -c <"$work/report.enc") bytes; the application has no key to read it"

# app_config FILE MRENCLAVE: the configuration of a sim enclave application
app_config() {
  cat >"$1" <<EOF
server: $url
ca: $work/data/tls/cert.pem
server_policy:               # the only aecsd this application trusts
  enclaveMatchAnyRules:
  - mrenclave: "$server_mr"
    allow_sim: true
verifier:
  insecure_trust_sim: $work/sim
attester:
  type: sim
  sim_dir: $work/sim
  sim_identity: {mrenclave: "$2", isvprodid: 1, isvsvn: 1}
EOF
}

step "The application starts in its (simulated) enclave: it attests and fetches data_key_1"
mkdir -p "$work/app"
app_config "$work/app/aecs.yaml" "$app_mr"
echo "(it checks aecsd's own evidence first, then proves its MRENCLAVE $app_mr)"
show "$AECS" fetch --config "$work/app/aecs.yaml" --service service1 --name data_key_1 \
  --out "$work/app/data_key_1.pem" || die "fetch"
ls -l "$work/app/data_key_1.pem" | awk '{print "  " $1, $NF}'
echo "and decrypts the file:"
openssl pkeyutl -decrypt -inkey "$work/app/data_key_1.pem" -pkeyopt rsa_padding_mode:oaep \
  -in "$work/report.enc" | sed 's/^/  /' || die "decrypt"

step "An application with another MRENCLAVE asks for the same key, and is refused"
mkdir -p "$work/other"
app_config "$work/other/aecs.yaml" "$other_mr"
show "$AECS" fetch --config "$work/other/aecs.yaml" --service service1 --name data_key_1 \
  --out "$work/other/data_key_1.pem"
rc=$?
[[ $rc -eq 1 && ! -e $work/other/data_key_1.pem ]] || die "the other application was not refused"
echo "(exit $rc: refused, nothing written)"

step "Every decision is in the hash-chained audit log"
show "$AECS" admin audit verify --config "$work/admin.yaml" || die "audit verify"
"$AECS" admin audit list --config "$work/admin.yaml" --json |
  python3 -c 'import json,sys
for e in json.load(sys.stdin)["entries"]:
    print("  %3d %-18s %-8s %s" % (e["seq"], e["action"][:18], e["result"], (e.get("target") or "")))'

step "Stop aecsd"
stop_aecsd
echo "done: everything the demo started is stopped"
