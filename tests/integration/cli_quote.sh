#!/usr/bin/env bash
# cli_quote.sh - the aecs binary as a user runs it: `aecs quote show|verify` on
# the real vectors, their JSON, exit codes (0 verified, 1 not verified, 2 usage
# or unreadable input) and error messages. Expected verdicts come from each
# set's expected.json.
. "$(dirname "$0")/lib.sh"
D=tests/data/dcap


root_args() { [[ -f $1/use_test_root ]] && echo "--trusted-root $1/trusted_root.der"; }

# Every set: exit code, status, qv_result, advisories and error code as expected.json says.
for dir in "$D"/*/; do
  dir=${dir%/}; set=$(basename "$dir")
  at=$(cat "$dir/verify_time")
  # shellcheck disable=SC2046
  "$AECS" quote verify "$dir/quote.bin" --collateral "$dir" --at "$at" $(root_args "$dir") --json \
    >"$tmp/v.json" 2>"$tmp/err"
  rc=$?
  result=$(json_field "$dir/expected.json" "d['expected']['result']")
  expired=$(json_field "$dir/expected.json" "d['expected'].get('collateral_expired_at_verify_time', False)")
  if [[ $result == ok && $expired == False ]]; then
    [[ $rc -eq 0 ]] && ok || bad "$set: exit $rc, expected 0"
    [[ $(json_field "$tmp/v.json" "d['verified']") == True ]] && ok || bad "$set: not verified"
  else
    [[ $rc -eq 1 ]] && ok || bad "$set: exit $rc, expected 1"
    [[ $(json_field "$tmp/v.json" "d['verified']") == False ]] && ok || bad "$set: verified"
  fi
  if [[ $result == ok ]]; then
    want=$(json_field "$dir/expected.json" "d['expected']['tcb_status']")
    [[ $(json_field "$tmp/v.json" "d['status']") == "$want" ]] && ok || bad "$set: status"
    want=$(json_field "$dir/expected.json" "d['expected']['sgx_ql_qv_result'].split()[0].upper().replace('0X','0x')")
    [[ $(json_field "$tmp/v.json" "d['qv_result']") == "$want" ]] && ok || bad "$set: qv_result"
    want=$(json_field "$dir/expected.json" "','.join(d['expected']['advisory_ids'])")
    [[ $(json_field "$tmp/v.json" "','.join(d['advisory_ids'])") == "$want" ]] && ok || bad "$set: advisories"
    [[ $(json_field "$tmp/v.json" "d['collateral_expired']") == "$expired" ]] && ok || bad "$set: expiry flag"
  else
    want=$(json_field "$dir/expected.json" "d['expected']['qve_quote3_error'].split()[0]")
    [[ $(json_field "$tmp/v.json" "d['error']['code']") == "$want" ]] && ok || bad "$set: error code"
  fi
  # the claims are there with the platform's fields
  platform=$(json_field "$tmp/v.json" "d['platform']")
  if [[ $platform == sgx ]]; then
    [[ $(json_field "$tmp/v.json" "len(d['claims']['mrenclave'])") == 64 ]] && ok || bad "$set: mrenclave claim"
  else
    [[ $(json_field "$tmp/v.json" "len(d['claims']['mrtd'])") == 96 ]] && ok || bad "$set: mrtd claim"
  fi
done

# One second after the window: reported as expired, exit 1, status still reported.
dir=$D/sgx_v3_dcapqvl
end=$(json_field "$dir/expected.json" "d['collateral_validity_window'][1]")
after=$(python3 -c "import datetime as t; print((t.datetime.strptime('$end','%Y-%m-%dT%H:%M:%SZ')+t.timedelta(seconds=1)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
expect_exit 1 "expired collateral" -- "$AECS" quote verify "$dir/quote.bin" --collateral "$dir" --at "$after" --json
cp "$tmp/out" "$tmp/exp.json"
[[ $(json_field "$tmp/exp.json" "d['collateral_expired']") == True ]] && ok || bad "expired flag"
[[ $(json_field "$tmp/exp.json" "d['status']") == ConfigurationAndSWHardeningNeeded ]] && ok || bad "expired status"
[[ $(json_field "$tmp/exp.json" "d['error']['stage']") == expiry ]] && ok || bad "expired stage"
expect_exit 1 "expired collateral (text)" -- "$AECS" quote verify "$dir/quote.bin" --collateral "$dir" --at "$after"
grep -q "EXPIRED" "$tmp/out" && ok || bad "text output names the expiry"

# A test-root quote without --trusted-root is untrusted (the pinned root is Intel's).
dir=$D/sgx_v3_intel_qvl_sample_testroot
expect_exit 1 "test root not trusted by default" -- "$AECS" quote verify "$dir/quote.bin" --collateral "$dir" --at "$(cat "$dir/verify_time")"

# quote show
expect_exit 0 "show" -- "$AECS" quote show "$D/tdx_v4_dcapqvl/quote.bin"
grep -q "TDX quote, version 4" "$tmp/out" && ok || bad "show names the quote"
expect_exit 0 "show --json" -- "$AECS" quote show "$D/neg_tdx_v5_gotdx_mixed_epoch/quote.bin" --json
cp "$tmp/out" "$tmp/show.json"
[[ $(json_field "$tmp/show.json" "d['header']['version']") == 5 ]] && ok || bad "show version"
[[ $(json_field "$tmp/show.json" "d['body_type']") == td1.5 ]] && ok || bad "show body type"

# Usage errors and unreadable input: exit 2 with a message that says what is wrong.
expect_exit 2 "no arguments" -- "$AECS"
expect_exit 2 "unknown command" -- "$AECS" frobnicate
grep -q "unknown command 'frobnicate'" "$tmp/err" && ok || bad "unknown command message"
expect_exit 2 "verify without collateral" -- "$AECS" quote verify "$D/tdx_v4_dcapqvl/quote.bin"
grep -q -- "--collateral" "$tmp/err" && ok || bad "missing --collateral message"
expect_exit 2 "bad --at" -- "$AECS" quote verify "$D/tdx_v4_dcapqvl/quote.bin" --collateral "$D/tdx_v4_dcapqvl" --at yesterday
grep -q "RFC 3339" "$tmp/err" && ok || bad "bad time message"
expect_exit 2 "missing quote file" -- "$AECS" quote verify "$tmp/nope.bin" --collateral "$D/tdx_v4_dcapqvl"
grep -q "nope.bin" "$tmp/err" && ok || bad "missing file named"
mkdir "$tmp/empty"
expect_exit 2 "empty collateral folder" -- "$AECS" quote verify "$D/tdx_v4_dcapqvl/quote.bin" --collateral "$tmp/empty"
grep -q "root_ca_crl.der" "$tmp/err" && ok || bad "missing collateral file named"
head -c 100 "$D/tdx_v4_dcapqvl/quote.bin" >"$tmp/short.bin"
expect_exit 2 "show truncated quote" -- "$AECS" quote show "$tmp/short.bin"
grep -q "truncated" "$tmp/err" && ok || bad "truncation message"
expect_exit 1 "verify truncated quote" -- "$AECS" quote verify "$tmp/short.bin" --collateral "$D/tdx_v4_dcapqvl" --at 2025-07-19T10:00:34Z --json
[[ $(json_field "$tmp/out" "d['error']['code']") == SGX_QL_QUOTE_FORMAT_UNSUPPORTED ]] && ok || bad "truncated quote code"
expect_exit 2 "bad trusted root" -- "$AECS" quote verify "$D/tdx_v4_dcapqvl/quote.bin" --collateral "$D/tdx_v4_dcapqvl" --trusted-root "$D/tdx_v4_dcapqvl/tcb_info.body.json"
grep -q "trusted-root" "$tmp/err" && ok || bad "bad root message"

# --help everywhere, exit 0, on stdout.
for cmd in "" "quote" "quote show" "quote verify"; do
  # shellcheck disable=SC2086
  expect_exit 0 "aecs $cmd --help" -- "$AECS" $cmd --help
  grep -q "usage: aecs" "$tmp/out" && ok || bad "aecs $cmd --help prints usage"
done

finish cli_quote
