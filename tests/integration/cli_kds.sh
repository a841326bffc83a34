#!/usr/bin/env bash
# cli_kds.sh - `aecs collateral fetch` for an SEV-SNP report, as a user runs
# it, against the loopback KDS (build/tests/tools/kds_server, which serves
# tests/data/snp the way AMD's KDS does): the Milan report's VCEK and
# cert_chain fetched with --kds and with AECS_KDS_URL, byte for byte the
# vector's, the folder verified by `aecs quote verify` at 2024-01-01, and every
# failure (404, 500, garbage, a rate limit beyond the bound, a slow service, a
# wrong product, usage errors) reported with what failed while the output
# folder stays exactly as it was.
. "$(dirname "$0")/lib.sh"
SERVER=$(dirname "$AECS")/tests/tools/kds_server
D=tests/data/snp
M=$D/snp_milan_virtee
AT=2024-01-01T00:00:00Z
server_pid=
on_exit() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
}
unset AECS_KDS_URL


control() { http_get "/_control?$1" >/dev/null; }
stat_of() { http_get /_stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

snapshot() { (cd "$1" && find . -type f | sort | xargs -r sha256sum); }
no_leftovers() {
  if compgen -G "$1.tmp-*" >/dev/null; then bad "$2: temporary folder left beside $1"; else ok; fi
}

"$SERVER" --data "$D" --lifetime 300 >"$tmp/port" &
server_pid=$!
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(head -n1 "$tmp/port")
[[ $port =~ ^[0-9]+$ ]] || { echo "FAIL: kds_server did not start"; exit 1; }
URL=http://127.0.0.1:$port

# --- help and usage ---
expect_exit 0 "collateral fetch --help" -- "$AECS" collateral fetch --help
for text in "--kds URL" "--product NAME" "AECS_KDS_URL" "https://kdsintf.amd.com" "SEV-SNP"; do
  grep -qF -- "$text" "$tmp/out" && ok || bad "fetch --help lacks '$text'"
done
expect_exit 0 "collateral --help" -- "$AECS" collateral --help
grep -q "KDS" "$tmp/out" && ok || bad "collateral --help mentions KDS"
# A version 2 report does not name its product.
expect_exit 2 "v2 report without --product" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/x" --kds "$URL"
expect_err "--product Milan|Genoa|Turin" "v2 report without --product"
expect_err "version 2" "v2 report without --product"
expect_exit 2 "unknown --product" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/x" --kds "$URL" --product Rome
expect_err "--product must be Milan, Genoa or Turin" "unknown --product"
expect_exit 2 "--pccs for an SNP report" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/x" --pccs "$URL" --product Milan
expect_err "AMD's KDS" "--pccs for an SNP report"
expect_exit 2 "--kds for a DCAP quote" -- "$AECS" collateral fetch \
  --quote tests/data/dcap/sgx_v3_dcapqvl/quote.bin --out "$tmp/x" --kds "$URL"
expect_exit 2 "--kds that is not http(s)" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/x" --kds "ftp://127.0.0.1/" --product Milan
[[ ! -e $tmp/x ]] && ok || bad "a usage error created the folder"
[[ $(stat_of requests) == 0 ]] && ok || bad "usage errors made requests"

# --- fetch, then verify ---
expect_exit 0 "fetch (--kds)" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/col" --kds "$URL" --product Milan
grep -q "fetched the Milan VCEK" "$tmp/out" && ok || bad "fetch says what it fetched"
grep -q "valid until 2030-04-03T19:23:43Z" "$tmp/out" && ok || bad "fetch prints the VCEK's notAfter"
cmp -s "$tmp/col/vcek.der" "$M/vcek.der" && ok || bad "vcek.der differs from the vector"
cmp -s "$tmp/col/cert_chain.pem" "$M/cert_chain.pem" && ok || bad "cert_chain.pem differs"
[[ $(ls -A "$tmp/col" | wc -l) == 2 ]] && ok || bad "the folder holds exactly two files"
no_leftovers "$tmp/col" "fetch"
[[ $(stat_of vcek) == 1 && $(stat_of chain) == 1 ]] && ok || bad "expected one request each"
chip=$(python3 -c "import json; print(json.load(open('$M/expected.json'))['report']['chip_id'])")
want="/vcek/v1/Milan/$chip?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115"
[[ $(stat_of last_vcek) == "$want" ]] && ok || bad "VCEK path: $(stat_of last_vcek)"
expect_exit 0 "verify the fetched folder" -- "$AECS" quote verify "$M/report.bin" \
  --collateral "$tmp/col" --at "$AT" --json
python3 -c "import json,sys; d=json.load(open('$tmp/out')); sys.exit(0 if d['verified'] is True and d['platform']=='snp' else 1)" \
  && ok || bad "verdict is not verified"

# AECS_KDS_URL instead of --kds; the product in any case; over the existing folder.
expect_exit 0 "fetch (AECS_KDS_URL)" -- env AECS_KDS_URL="$URL/" "$AECS" collateral fetch \
  --quote "$M/report.bin" --out "$tmp/col" --product milan
cmp -s "$tmp/col/vcek.der" "$M/vcek.der" && ok || bad "re-fetch: vcek.der differs"
no_leftovers "$tmp/col" "re-fetch"
expect_exit 0 "verify again" -- "$AECS" quote verify "$M/report.bin" --collateral "$tmp/col" --at "$AT"

# A 429 with a short Retry-After is waited out.
control "mode=429&only=vcek&count=1&retry_after=1&reset=1"
expect_exit 0 "one 429, then the VCEK" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/col" --kds "$URL" --product Milan
expect_err "HTTP 429" "one 429 is logged"
[[ $(stat_of vcek) == 2 ]] && ok || bad "429: expected 2 VCEK requests"

# --- failures: clear errors, the folder untouched, nothing left behind ---
dir=$tmp/col
before=$(snapshot "$dir")
# fail_case CONTROL DESCRIPTION [--product P] -- TEXT...: the fetch fails and stderr holds every TEXT
fail_case() {
  local ctl=$1 what=$2 product=Milan; shift 2
  if [[ $1 == --product ]]; then product=$2; shift 2; fi
  shift
  control "$ctl&delay_ms=3000&reset=1"
  expect_exit 1 "$what" -- "$AECS" collateral fetch --quote "$M/report.bin" --out "$dir" \
    --kds "$URL" --product "$product" --timeout 1
  for text in "$@"; do expect_err "$text" "$what"; done
  expect_err "is unchanged" "$what"
  [[ $(snapshot "$dir") == "$before" ]] && ok || bad "$what: the folder changed"
  no_leftovers "$dir" "$what"
  control "mode=ok&only=all&count=0"
}
fail_case "mode=404&only=vcek" "404 on the VCEK" -- "fetching the VCEK" "HTTP 404" "$URL/vcek/v1/Milan/$chip"
fail_case "mode=500&only=chain" "500 on the cert_chain" -- "fetching the cert_chain" "HTTP 500" \
  "$URL/vcek/v1/Milan/cert_chain"
fail_case "mode=garbage&only=vcek" "garbage VCEK" -- "VCEK from KDS: not a certificate"
fail_case "mode=garbage&only=chain" "garbage cert_chain" -- "cert_chain: not PEM certificates"
fail_case "mode=wrongchain&only=chain" "another product's chain" -- "not AMD's pinned ARK for Milan"
fail_case "mode=429&only=vcek&retry_after=3600" "rate limited for an hour" -- "HTTP 429" \
  "Retry-After asks for 3600 s, more than the 60 s aecs waits"
fail_case "mode=slow&only=vcek" "a slow KDS" -- "fetching the VCEK" "timed out"
fail_case "mode=anyvcek&only=vcek" "a VCEK for another product" --product Genoa -- \
  "$URL/vcek/v1/Genoa/$chip" "it is for Milan"
fail_case "mode=ok" "no Genoa VCEK for this chip" --product Genoa -- "HTTP 404" "/vcek/v1/Genoa/$chip"
expect_exit 0 "the folder still verifies" -- "$AECS" quote verify "$M/report.bin" \
  --collateral "$dir" --at "$AT"

# A failed fetch into a new folder creates nothing.
control "mode=404&only=vcek"
expect_exit 1 "404 into a new folder" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/new" --kds "$URL" --product Milan
[[ ! -e $tmp/new ]] && ok || bad "a failed fetch created the folder"
no_leftovers "$tmp/new" "404 into a new folder"
control "mode=ok&only=all"

# A folder with other files in it is never replaced.
mkdir -p "$tmp/mine" && echo keep >"$tmp/mine/notes.txt"
expect_exit 1 "folder with a user file" -- "$AECS" collateral fetch --quote "$M/report.bin" \
  --out "$tmp/mine" --kds "$URL" --product Milan
expect_err "notes.txt" "folder with a user file"
[[ $(cat "$tmp/mine/notes.txt") == keep && $(ls -A "$tmp/mine" | wc -l) == 1 ]] && ok \
  || bad "user folder changed"

finish cli_kds
