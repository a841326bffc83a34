#!/usr/bin/env bash
# cli_collateral.sh - `aecs collateral fetch` as a user runs it, against the
# loopback PCS (build/tests/tools/pcs_server, which serves the vectors in the
# PCS response form): SGX and TDX quotes fetched from --pccs and from qcnl
# files of both forms, the folder verified by `aecs quote verify` at the set's
# time (expected status from expected.json), and every failure (404, 500,
# garbage, missing headers, a slow service) reported with URL, status and item
# while the output folder stays exactly as it was.
. "$(dirname "$0")/lib.sh"
SERVER=$(dirname "$AECS")/tests/tools/pcs_server
D=tests/data/dcap
server_pid=
on_exit() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
}


control() { http_get "/_control?$1" >/dev/null; }
requests() { http_get /_stats | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])"; }

# A fingerprint of a folder: names and contents.
snapshot() { (cd "$1" && find . -type f | sort | xargs -r sha256sum); }
# No temporary folder was left beside $1.
no_leftovers() {
  if compgen -G "$1.tmp-*" >/dev/null; then bad "$2: temporary folder left beside $1"; else ok; fi
}

"$SERVER" --data "$D" --set sgx_v3_dcapqvl --set tdx_v4_dcapqvl --lifetime 300 >"$tmp/port" &
server_pid=$!
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(head -n1 "$tmp/port")
[[ $port =~ ^[0-9]+$ ]] || { echo "FAIL: pcs_server did not start"; exit 1; }
URL=http://127.0.0.1:$port

# --- help and usage ---
expect_exit 0 "collateral --help" -- "$AECS" collateral --help
expect_exit 0 "collateral fetch --help" -- "$AECS" collateral fetch --help
grep -q -- "--qcnl FILE" "$tmp/out" && ok || bad "fetch --help lists --qcnl"
expect_exit 2 "collateral (no command)" -- "$AECS" collateral
expect_exit 2 "fetch without --out" -- "$AECS" collateral fetch --quote "$D/sgx_v3_dcapqvl/quote.bin"
expect_exit 2 "fetch, unreadable quote" -- "$AECS" collateral fetch --quote "$tmp/none" --out "$tmp/x" --pccs "$URL"
expect_exit 2 "quote without its PCK chain" -- "$AECS" collateral fetch \
  --quote "$D/sgx_v3_intel_qvl_sample_testroot/quote.bin" --out "$tmp/x" --pccs "$URL"
expect_err "certification data type 1" "quote without its PCK chain"
expect_exit 2 "--pccs that is not http(s)" -- "$AECS" collateral fetch \
  --quote "$D/sgx_v3_dcapqvl/quote.bin" --out "$tmp/x" --pccs "ftp://127.0.0.1/"

# --- fetch, then verify with `quote verify` at the set's time ---
# verify_set SET DIR: exit 0 and the status of expected.json
verify_set() {
  local set=$1 dir=$2
  "$AECS" quote verify "$D/$set/quote.bin" --collateral "$dir" --at "$(cat "$D/$set/verify_time")" \
    --json >"$tmp/v.json" 2>"$tmp/err"
  local rc=$?
  [[ $rc -eq 0 ]] && ok || { bad "$set: verify exit $rc"; cat "$tmp/err"; }
  want=$(json_field "$D/$set/expected.json" "d['expected']['tcb_status']")
  [[ $(json_field "$tmp/v.json" "d['status']") == "$want" ]] && ok || bad "$set: status"
}

for set in sgx_v3_dcapqvl tdx_v4_dcapqvl; do
  control "mode=ok&only=all&reset=1"
  expect_exit 0 "$set: fetch" -- "$AECS" collateral fetch --quote "$D/$set/quote.bin" \
    --out "$tmp/$set" --pccs "$URL"
  [[ $(requests) == 4 ]] && ok || bad "$set: expected 4 requests"
  for f in root_ca_crl.der pck_crl.der pck_crl_issuer_chain.pem tcb_info.json \
           tcb_info_issuer_chain.pem qe_identity.json qe_identity_issuer_chain.pem; do
    [[ -s $tmp/$set/$f ]] && ok || bad "$set: $f missing"
  done
  cmp -s "$tmp/$set/pck_crl.der" "$D/$set/pck_crl.der" && ok || bad "$set: pck_crl.der differs"
  verify_set "$set" "$tmp/$set"
  no_leftovers "$tmp/$set" "$set"
done
grep -q "valid until" "$tmp/out" && ok || bad "fetch prints the validity"

# Fetching again over an existing collateral folder replaces it.
expect_exit 0 "re-fetch over the folder" -- "$AECS" collateral fetch \
  --quote "$D/tdx_v4_dcapqvl/quote.bin" --out "$tmp/tdx_v4_dcapqvl" --pccs "$URL/"
verify_set tdx_v4_dcapqvl "$tmp/tdx_v4_dcapqvl"

# --- the qcnl file, both forms ---
cat >"$tmp/legacy.conf" <<EOF
# PCCS server address
PCCS_URL=$URL/sgx/certification/v4/
# To accept insecure HTTPS cert, set this option to FALSE
USE_SECURE_CERT=TRUE
EOF
expect_exit 0 "legacy qcnl" -- "$AECS" collateral fetch --quote "$D/sgx_v3_dcapqvl/quote.bin" \
  --out "$tmp/legacy" --qcnl "$tmp/legacy.conf"
verify_set sgx_v3_dcapqvl "$tmp/legacy"
if grep -q "insecure" "$tmp/err"; then bad "a secure config warned"; else ok; fi

cat >"$tmp/json.conf" <<EOF
{
  // PCCS server address (a // inside the URL is not a comment)
  "pccs_url": "https://localhost:8081/sgx/certification/v4/"
  /* collateral comes from here,
     not from pccs_url */
  ,"collateral_service": "$URL/sgx/certification/v4/"
  ,"use_secure_cert": false
  ,"retry_times": 1
  ,"retry_delay": 1
}
EOF
expect_exit 0 "JSON qcnl" -- "$AECS" collateral fetch --quote "$D/tdx_v4_dcapqvl/quote.bin" \
  --out "$tmp/json" --qcnl "$tmp/json.conf"
verify_set tdx_v4_dcapqvl "$tmp/json"
expect_exit 0 "JSON qcnl (again, for its stderr)" -- "$AECS" collateral fetch \
  --quote "$D/tdx_v4_dcapqvl/quote.bin" --out "$tmp/json" --qcnl "$tmp/json.conf"
expect_err "$tmp/json.conf:7: use_secure_cert is false" "use_secure_cert=false warning"
expect_err "insecure" "use_secure_cert=false warning"

# retry_times=1, retry_delay=1: one 503 is ridden over
control "reset=1&fail_first=1"
expect_exit 0 "retry after a 503" -- "$AECS" collateral fetch --quote "$D/tdx_v4_dcapqvl/quote.bin" \
  --out "$tmp/json" --qcnl "$tmp/json.conf"
[[ $(requests) == 5 ]] && ok || bad "retry: expected 5 requests"

printf '{\n  "pccs_url": "%s/"\n  "use_secure_cert": true\n}\n' "$URL" >"$tmp/bad.conf"
expect_exit 2 "JSON qcnl with a syntax error" -- "$AECS" collateral fetch \
  --quote "$D/sgx_v3_dcapqvl/quote.bin" --out "$tmp/bad" --qcnl "$tmp/bad.conf"
expect_err "$tmp/bad.conf:3:" "JSON error names the line"
printf '# c\nPCCS_URL=%s/\nRETRY_TIMES=lots\n' "$URL" >"$tmp/bad2.conf"
expect_exit 2 "legacy qcnl with a bad value" -- "$AECS" collateral fetch \
  --quote "$D/sgx_v3_dcapqvl/quote.bin" --out "$tmp/bad" --qcnl "$tmp/bad2.conf"
expect_err "$tmp/bad2.conf:3: RETRY_TIMES" "legacy error names the line"
expect_exit 2 "missing qcnl file" -- "$AECS" collateral fetch \
  --quote "$D/sgx_v3_dcapqvl/quote.bin" --out "$tmp/bad" --qcnl "$tmp/none.conf"
[[ ! -e $tmp/bad ]] && ok || bad "a config error created the folder"

# --- failures: clear errors, the folder untouched, nothing left behind ---
dir=$tmp/sgx_v3_dcapqvl
before=$(snapshot "$dir")
# fail MODE ONLY DESCRIPTION TEXT...: the fetch fails and stderr holds every TEXT
fail_case() {
  local mode=$1 only=$2 what=$3; shift 3
  control "mode=$mode&only=$only&delay_ms=3000"
  expect_exit 1 "$what" -- "$AECS" collateral fetch --quote "$D/sgx_v3_dcapqvl/quote.bin" \
    --out "$dir" --pccs "$URL" --timeout 1
  for text in "$@"; do expect_err "$text" "$what"; done
  expect_err "is unchanged" "$what"
  [[ $(snapshot "$dir") == "$before" ]] && ok || bad "$what: the folder changed"
  no_leftovers "$dir" "$what"
  control "mode=ok&only=all"
}
fail_case 404 tcb "404 on the TCB Info" "TCB Info" "HTTP 404" "$URL/sgx/certification/v4/tcb?fmspc=00A067110000"
fail_case 500 qe "500 on the QE Identity" "QE Identity" "HTTP 500" "$URL/sgx/certification/v4/qe/identity"
fail_case 500 rootcacrl "500 on the root CA CRL" "root CA CRL" "HTTP 500" "$URL/sgx/certification/v4/rootcacrl"
fail_case garbage pckcrl "garbage PCK CRL" "PCK CRL" "not a CRL" "pckcrl?ca=processor"
fail_case garbage tcb "garbage TCB Info" "TCB Info" "PCS response"
fail_case noheaders tcb "TCB Info without its chain" "TCB Info" "TCB-Info-Issuer-Chain"
fail_case noheaders qe "QE Identity without its chain" "SGX-Enclave-Identity-Issuer-Chain"
fail_case slow qe "a slow service" "QE Identity" "timed out"
verify_set sgx_v3_dcapqvl "$dir"

# A failed fetch into a new folder creates nothing.
control "mode=404&only=qe"
expect_exit 1 "404 into a new folder" -- "$AECS" collateral fetch --quote "$D/sgx_v3_dcapqvl/quote.bin" \
  --out "$tmp/new" --pccs "$URL"
[[ ! -e $tmp/new ]] && ok || bad "a failed fetch created the folder"
no_leftovers "$tmp/new" "404 into a new folder"
control "mode=ok&only=all"

# A folder with other files in it is never replaced.
mkdir -p "$tmp/mine" && echo keep >"$tmp/mine/notes.txt"
expect_exit 1 "folder with a user file" -- "$AECS" collateral fetch --quote "$D/sgx_v3_dcapqvl/quote.bin" \
  --out "$tmp/mine" --pccs "$URL"
expect_err "notes.txt" "folder with a user file"
[[ $(cat "$tmp/mine/notes.txt") == keep ]] && ok || bad "user file changed"

finish cli_collateral
