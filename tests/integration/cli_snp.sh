#!/usr/bin/env bash
# cli_snp.sh - `aecs quote show|verify` on the SEV-SNP Milan set as a user runs
# them: text and --json output, exit codes (0 verified, 1 not verified, 2 usage
# or unreadable input) and error messages. Expected values come from the set's
# expected.json and tests/data/MANIFEST.md (virtee/sev's assertions, the VCEK's
# validity dates and the documented flips).
. "$(dirname "$0")/lib.sh"
D=tests/data/snp/snp_milan_virtee
AT=2024-01-01T00:00:00Z            # inside the VCEK's validity
AFTER=2030-04-03T19:23:44Z         # the VCEK's notAfter + 1 s

# load_json NAME FILE: fills the associative array NAME with every leaf of the
# JSON in FILE, keyed by its dotted path (claims.measurement, error.code,
# vcek_validity.1); strings as they are, other values as JSON (true, null, []).
# One python3 per file: starting it is the slow part of this script.
load_json() {
  local -n arr=$1
  arr=()
  local k v
  while IFS=$'\t' read -r k v; do arr[$k]=$v; done < <(python3 -c '
import json, sys
def walk(path, x):
    if isinstance(x, dict) and x:
        for k, v in x.items(): walk(path + [k], v)
    elif isinstance(x, list) and x:
        for i, v in enumerate(x): walk(path + [str(i)], v)
    else:
        print(".".join(path) + "\t" + (x if isinstance(x, str) else json.dumps(x)))
walk([], json.load(open(sys.argv[1])))' "$2")
}
declare -A E J
load_json E "$D/expected.json"

# check KEY WANT: J[KEY] (the last aecs JSON output) equals WANT
check() { [[ ${J[$1]-<missing>} == "$2" ]] && ok || bad "$1: '${J[$1]-<missing>}', expected '$2'"; }

# flip FILE OFFSET MASK OUT
flip() { python3 -c "
b=bytearray(open('$1','rb').read()); b[$2]^=$3; open('$4','wb').write(b)"; }

# ---- verify: the set verifies, as virtee/sev asserts ----
[[ ${E[expected.result]} == ok ]] && ok || bad "expected.json does not say ok"
expect_exit 0 "verify --json" -- "$AECS" quote verify "$D/report.bin" --collateral "$D" --at "$AT" --json
load_json J "$tmp/out"
check verified true
check platform snp
check status null
check qv_result null
check advisory_ids "[]"
check collateral_expired false
check error.code "<missing>"
check collateral_valid_from "${E[report.vcek_validity.0]}"
check collateral_valid_until "${E[report.vcek_validity.1]}"
for f in measurement report_data host_data chip_id policy vmpl guest_svn; do
  check "claims.$f" "${E[report.$f]}"
done
check claims.reported_tcb.raw "${E[report.reported_tcb_raw]}"
for c in bootloader tee snp microcode; do
  check "claims.reported_tcb.$c" "${E[report.reported_tcb.$c]}"
done
check claims.debug false
check claims.signing_key vcek
check vek.product_name "${E[report.vcek_ext.1.3.6.1.4.1.3704.1.2]}"
check vek.hwid "${E[report.vcek_ext.1.3.6.1.4.1.3704.1.4]}"

expect_exit 0 "verify (text)" -- "$AECS" quote verify "$D/report.bin" --collateral "$D" --at "$AT"
grep -q "^verified: *yes" "$tmp/out" && ok || bad "text says verified"
grep -q "Milan-B0, VCEK" "$tmp/out" && ok || bad "text names product and key"
grep -q "${E[report.measurement]}" "$tmp/out" && ok || bad "text shows the measurement"

# Only the VCEK in the folder: AMD's ASK and the pinned ARK complete the chain.
mkdir "$tmp/vcek_only"
cp "$D/vcek.der" "$tmp/vcek_only/"
expect_exit 0 "verify with vcek.der only" -- "$AECS" quote verify "$D/report.bin" --collateral "$tmp/vcek_only" --at "$AT"

# ---- negatives: the documented flips, expiry, a foreign ARK ----
flip "$D/report.bin" 21 0x80 "$tmp/r21.bin"
expect_exit 1 "report[21] flipped" -- "$AECS" quote verify "$tmp/r21.bin" --collateral "$D" --at "$AT" --json
load_json J "$tmp/out"
check verified false
check error.stage signature
check error.code SNP_REPORT_INVALID_SIGNATURE
expect_exit 1 "report[21] flipped (text)" -- "$AECS" quote verify "$tmp/r21.bin" --collateral "$D" --at "$AT"
grep -q "^error: .*\[signature\] SNP_REPORT_INVALID_SIGNATURE" "$tmp/out" && ok || bad "text names stage and code"

mkdir "$tmp/badvcek"
cp "$D/cert_chain.pem" "$tmp/badvcek/"
flip "$D/vcek.der" 40 0xff "$tmp/badvcek/vcek.der"
expect_exit 1 "vcek[40] flipped" -- "$AECS" quote verify "$D/report.bin" --collateral "$tmp/badvcek" --at "$AT" --json
load_json J "$tmp/out"
check error.stage chain
check error.code SNP_CERT_CHAIN_ERROR

expect_exit 1 "expired" -- "$AECS" quote verify "$D/report.bin" --collateral "$D" --at "$AFTER" --json
load_json J "$tmp/out"
check collateral_expired true
check error.stage expiry
check error.code SNP_COLLATERAL_EXPIRED
check claims.measurement "${E[report.measurement]}"
expect_exit 1 "expired (text)" -- "$AECS" quote verify "$D/report.bin" --collateral "$D" --at "$AFTER"
grep -q "EXPIRED" "$tmp/out" && ok || bad "text names the expiry"

mkdir "$tmp/genoa_ark"
cp "$D/vcek.der" "$D/ask.pem" "$tmp/genoa_ark/"
cp tests/data/snp/amd_roots/genoa_ark.pem "$tmp/genoa_ark/ark.pem"
expect_exit 1 "a Genoa ARK is not trusted" -- "$AECS" quote verify "$D/report.bin" --collateral "$tmp/genoa_ark" --at "$AT" --json
grep -q "pinned ARK for Milan" "$tmp/out" && ok || bad "foreign ARK: message"
load_json J "$tmp/out"
check error.stage chain
check error.code SNP_CERT_CHAIN_ERROR

# ---- show ----
expect_exit 0 "show" -- "$AECS" quote show "$D/report.bin"
grep -q "SEV-SNP attestation report, version 2" "$tmp/out" && ok || bad "show names the report"
grep -q "${E[report.reported_tcb_raw]} (bootloader 3, tee 0, snp 8, microcode 115)" "$tmp/out" \
  && ok || bad "show decodes the TCB"
expect_exit 0 "show --json" -- "$AECS" quote show "$D/report.bin" --json
load_json J "$tmp/out"
check version "${E[report.version]}"
check current_version "${E[report.current_fw]}"
check measurement "${E[report.measurement]}"
check signing_key vcek
check reported_tcb.snp "${E[report.reported_tcb.snp]}"

# ---- usage errors and unreadable input: exit 2 ----
mkdir "$tmp/empty"
expect_exit 2 "collateral without a VCEK" -- "$AECS" quote verify "$D/report.bin" --collateral "$tmp/empty" --at "$AT"
grep -q "vcek.der" "$tmp/err" && ok || bad "missing VCEK named"
expect_exit 2 "--trusted-root with an SNP report" -- "$AECS" quote verify "$D/report.bin" --collateral "$D" --trusted-root "$D/ark.pem"
expect_exit 2 "verify without collateral" -- "$AECS" quote verify "$D/report.bin"
mkdir "$tmp/garbage"
echo "not a certificate" >"$tmp/garbage/vcek.der"
expect_exit 2 "unreadable vcek.der" -- "$AECS" quote verify "$D/report.bin" --collateral "$tmp/garbage" --at "$AT"
grep -q "vcek.der" "$tmp/err" && ok || bad "bad VCEK file named"
# A wrong version in an otherwise SNP-sized report: not taken for SNP (evidence.c
# knows versions 2, 3 and 5), and refused by the DCAP parser.
flip "$D/report.bin" 0 0x06 "$tmp/v4.bin"   # version 2 -> 4
expect_exit 2 "show wrong version" -- "$AECS" quote show "$tmp/v4.bin"
# A reserved field set: shown as malformed (exit 2), refused by verify (exit 1, stage parse).
flip "$D/report.bin" 0x4C 0x01 "$tmp/res.bin"
expect_exit 2 "show malformed" -- "$AECS" quote show "$tmp/res.bin"
grep -q "reserved0" "$tmp/err" && ok || bad "malformed field named"
expect_exit 1 "verify malformed" -- "$AECS" quote verify "$tmp/res.bin" --collateral "$D" --at "$AT" --json
load_json J "$tmp/out"
check error.stage parse
check error.code SNP_REPORT_MALFORMED

finish cli_snp
