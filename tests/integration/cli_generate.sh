#!/usr/bin/env bash
# cli_generate.sh - `aecs quote generate` as a user runs it: evidence from the
# sim attester verified by `aecs quote verify --trusted-root` with the request's
# report data in the claims; the Gramine attester against a fake root of plain
# files; the bring-your-own-quote file; the auto order under a fake root (never
# the sim unless configured); and the errors with their exit codes: 0 written,
# 1 no evidence, 2 usage or configuration.
. "$(dirname "$0")/lib.sh"
unset AECS_SIM_DIR AECS_ATTEST_ROOT


RD=$(python3 -c "print(bytes(range(64)).hex())")
RD2=$(hexrep c3 64)
S=$tmp/sim
EMPTY=$tmp/empty-root
mkdir -p "$EMPTY"

# ---- help ----
expect_exit 0 "generate --help" -- "$AECS" quote generate --help
for o in --attester --report-data --out --root --sim --tdx --quote-file --privlevel; do
  grep -q -- "$o" "$tmp/out" && ok || bad "--help lists $o"
done
for n in tsm sev-guest gramine file sim auto; do
  grep -qE "^ +$n " "$tmp/out" && ok || bad "--help describes the $n attester"
done
expect_exit 0 "quote --help lists generate" -- "$AECS" quote --help
expect_out "generate" "quote --help"

expect_exit 0 "sim init" -- "$AECS" sim init "$S"

# ---- sim, SGX: verified, report data is the request ----
expect_exit 0 "generate --attester sim" -- "$AECS" quote generate --attester sim --sim "$S" \
  --report-data "$RD" --out "$tmp/sgx.bin"
expect_out "SGX quote v3 (dcap)" "generate names the evidence"
expect_out "from attester sim" "generate names the attester"
expect_err "SIMULATED TEE, insecure" "the sim is a warning"
[[ $(stat -c %a "$tmp/sgx.bin") == 644 ]] && ok || bad "evidence file mode"
expect_exit 0 "verify the sim SGX evidence" -- "$AECS" quote verify "$tmp/sgx.bin" \
  --collateral "$S/collateral" --trusted-root "$S/root.der" --json
cp "$tmp/out" "$tmp/v.json"
check "SGX verdict" "$tmp/v.json" "d['verified'], d['sim'], d['platform'], d['quote_version']" "True True sgx 3"
check "SGX report data" "$tmp/v.json" "d['claims']['report_data']" "$RD"
# the pinned Intel root does not take it
expect_exit 1 "sim evidence without --trusted-root" -- "$AECS" quote verify "$tmp/sgx.bin" --collateral "$S/collateral"

# ---- sim, TDX, from AECS_SIM_DIR with auto under an empty root ----
expect_exit 0 "auto picks a configured sim" -- env AECS_SIM_DIR="$S" "$AECS" quote generate \
  --root "$EMPTY" --tdx --report-data "$RD2" --out "$tmp/tdx.bin"
expect_out "TDX quote v4 (dcap)" "auto TDX evidence"
expect_out "from attester sim" "auto names the sim"
expect_exit 0 "verify the sim TDX evidence" -- "$AECS" quote verify "$tmp/tdx.bin" \
  --collateral "$S/collateral-tdx" --trusted-root "$S/root.der" --json
check "TDX verdict" "$tmp/out" "d['verified'], d['platform'], d['claims']['report_data']" "True tdx $RD2"
# overwriting an existing file is fine (atomic replace)
expect_exit 0 "generate over an existing file" -- "$AECS" quote generate --attester sim --sim "$S" \
  --report-data "$RD2" --out "$tmp/sgx.bin"
expect_exit 0 "verify the replaced file" -- "$AECS" quote verify "$tmp/sgx.bin" \
  --collateral "$S/collateral" --trusted-root "$S/root.der" --json
check "replaced report data" "$tmp/out" "d['claims']['report_data']" "$RD2"

# ---- auto never picks the sim unless configured ----
expect_exit 1 "auto, nothing available" -- "$AECS" quote generate --root "$EMPTY" \
  --report-data "$RD" --out "$tmp/none.bin"
expect_err "no attester available: configfs-tsm: no $EMPTY/sys/kernel/config/tsm/report" "auto lists configfs-tsm"
expect_err "sev-guest: no $EMPTY/dev/sev-guest" "auto lists sev-guest"
expect_err "gramine: no $EMPTY/dev/attestation/quote" "auto lists gramine"
expect_err "sim: not configured (--sim DIR or AECS_SIM_DIR)" "auto lists the sim"
[[ ! -e $tmp/none.bin ]] && ok || bad "a failed generate wrote a file"
expect_exit 1 "auto from AECS_ATTEST_ROOT" -- env AECS_ATTEST_ROOT="$EMPTY" "$AECS" quote generate \
  --report-data "$RD" --out "$tmp/none.bin"
expect_err "no $EMPTY/dev/sev-guest" "AECS_ATTEST_ROOT is the root"

# ---- Gramine, against a fake root of plain files ----
G=$tmp/gramine-root
mkdir -p "$G/dev/attestation"
expect_exit 0 "sim quote for the fake Gramine" -- "$AECS" sim quote --sim "$S" --mrenclave "$(hexrep 11 32)" \
  --mrsigner "$(hexrep 22 32)" --report-data "$RD" --out "$G/dev/attestation/quote"
printf 'dcap' >"$G/dev/attestation/attestation_type"
: >"$G/dev/attestation/user_report_data"
expect_exit 0 "generate --attester gramine" -- "$AECS" quote generate --attester gramine --root "$G" \
  --report-data "$RD" --out "$tmp/g.bin"
expect_out "SGX quote v3 (dcap)" "gramine evidence"
expect_out "from attester gramine" "gramine names itself"
cmp -s "$tmp/g.bin" "$G/dev/attestation/quote" && ok || bad "gramine evidence is the quote"
[[ $(python3 -c "import sys; print(open(sys.argv[1], 'rb').read().hex())" "$G/dev/attestation/user_report_data") == "$RD" ]] && ok || bad "user_report_data written"
expect_exit 0 "auto picks Gramine before a configured sim" -- "$AECS" quote generate --root "$G" --sim "$S" \
  --report-data "$RD" --out "$tmp/g2.bin"
expect_out "from attester gramine" "auto order: gramine before sim"
# the quote there is for RD: another request is refused
expect_exit 1 "gramine, stale quote" -- "$AECS" quote generate --attester gramine --root "$G" \
  --report-data "$RD2" --out "$tmp/g3.bin"
expect_err "its report data is not the requested report data" "stale quote refused"
printf 'none' >"$G/dev/attestation/attestation_type"
expect_exit 1 "gramine, attestation off" -- "$AECS" quote generate --attester gramine --root "$G" \
  --report-data "$RD" --out "$tmp/g3.bin"
expect_err "says 'none': aecs needs DCAP attestation" "attestation_type none"
expect_exit 1 "auto stops at a broken Gramine (no sim fallback)" -- "$AECS" quote generate --root "$G" --sim "$S" \
  --report-data "$RD" --out "$tmp/g3.bin"
expect_err "auto: gramine:" "auto does not fall back to the sim"
[[ ! -e $tmp/g3.bin ]] && ok || bad "a refused quote wrote a file"

# ---- sev-guest and tsm against a fake root: what the real calls say ----
mkdir -p "$tmp/sev-root/dev"
: >"$tmp/sev-root/dev/sev-guest"
expect_exit 1 "sev-guest on a regular file" -- "$AECS" quote generate --attester sev-guest --root "$tmp/sev-root" \
  --report-data "$RD" --out "$tmp/s.bin"
expect_err "SNP_GET_REPORT on $tmp/sev-root/dev/sev-guest failed: Inappropriate ioctl for device" "ioctl error"
expect_exit 1 "sev-guest missing" -- "$AECS" quote generate --attester sev-guest --root "$EMPTY" \
  --report-data "$RD" --out "$tmp/s.bin"
expect_err "sev-guest: no $EMPTY/dev/sev-guest (not an SEV-SNP guest" "missing device names the path"
expect_exit 1 "tsm missing" -- "$AECS" quote generate --attester tsm --root "$EMPTY" \
  --report-data "$RD" --out "$tmp/s.bin"
expect_err "configfs-tsm: no $EMPTY/sys/kernel/config/tsm/report" "missing configfs-tsm names the path"

# ---- bring your own quote ----
expect_exit 0 "--quote-file" -- "$AECS" quote generate --quote-file "$tmp/tdx.bin" \
  --report-data "$RD2" --out "$tmp/f.bin"
expect_out "from attester file" "--quote-file implies the file attester"
cmp -s "$tmp/f.bin" "$tmp/tdx.bin" && ok || bad "file evidence is the file"
expect_exit 0 "--attester file, SNP report" -- "$AECS" quote generate --attester file \
  --quote-file tests/data/snp/snp_milan_virtee/report.bin \
  --report-data "$(json_field tests/data/snp/snp_milan_virtee/expected.json "d['report']['report_data']")" --out "$tmp/snp.bin"
expect_out "SEV-SNP report v2 (snp)" "SNP report from a file"
expect_exit 1 "file, report data mismatch" -- "$AECS" quote generate --quote-file "$tmp/tdx.bin" \
  --report-data "$RD" --out "$tmp/f2.bin"
expect_err "file: $tmp/tdx.bin: its report data is not the requested report data" "mismatch refused"
expect_exit 1 "file, not evidence" -- "$AECS" quote generate --quote-file "$S/root.der" \
  --report-data "$RD" --out "$tmp/f2.bin"
expect_err "neither an Intel DCAP quote nor an SEV-SNP report" "not evidence"
expect_exit 1 "file missing" -- "$AECS" quote generate --quote-file "$tmp/nope.bin" \
  --report-data "$RD" --out "$tmp/f2.bin"
expect_err "file: no $tmp/nope.bin" "missing quote file"
[[ ! -e $tmp/f2.bin ]] && ok || bad "a refused file wrote evidence"

# ---- usage errors: exit 2 ----
expect_exit 2 "short report data" -- "$AECS" quote generate --attester sim --sim "$S" --report-data abcd --out "$tmp/x.bin"
expect_err "--report-data must be exactly 64 bytes: 128 hex digits (got 4 characters)" "short report data"
expect_exit 2 "long report data" -- "$AECS" quote generate --attester sim --sim "$S" --report-data "${RD}00" --out "$tmp/x.bin"
expect_err "(got 130 characters)" "long report data"
expect_exit 2 "bad hex" -- "$AECS" quote generate --attester sim --sim "$S" --report-data "zz${RD:2}" --out "$tmp/x.bin"
expect_err "not all hex digits" "bad hex"
expect_exit 2 "missing --report-data" -- "$AECS" quote generate --attester sim --sim "$S" --out "$tmp/x.bin"
expect_err "needs --report-data HEX" "missing report data"
expect_exit 2 "missing --out" -- "$AECS" quote generate --attester sim --sim "$S" --report-data "$RD"
expect_err "needs --out FILE" "missing out"
expect_exit 2 "unknown attester" -- "$AECS" quote generate --attester tpm --report-data "$RD" --out "$tmp/x.bin"
expect_err "unknown attester 'tpm'" "unknown attester"
expect_exit 2 "sim without a folder" -- "$AECS" quote generate --attester sim --report-data "$RD" --out "$tmp/x.bin"
expect_err "no sim folder configured (--sim DIR or AECS_SIM_DIR)" "sim not configured"
expect_exit 2 "--quote-file with another attester" -- "$AECS" quote generate --attester sim --sim "$S" \
  --quote-file "$tmp/tdx.bin" --report-data "$RD" --out "$tmp/x.bin"
expect_err "--quote-file is for --attester file" "quote-file with sim"
expect_exit 2 "--tdx with gramine" -- "$AECS" quote generate --attester gramine --tdx --report-data "$RD" --out "$tmp/x.bin"
expect_err "--tdx is for the sim attester" "tdx with gramine"
expect_exit 2 "--privlevel out of range" -- "$AECS" quote generate --attester sev-guest --privlevel 4 --report-data "$RD" --out "$tmp/x.bin"
expect_err "--privlevel must be a VMPL from 0 to 3" "privlevel range"
expect_exit 2 "--privlevel with the sim" -- "$AECS" quote generate --attester sim --sim "$S" --privlevel 1 --report-data "$RD" --out "$tmp/x.bin"
expect_err "applies to SEV-SNP guests" "privlevel with sim"
expect_exit 2 "stray argument" -- "$AECS" quote generate --attester sim --sim "$S" --report-data "$RD" --out "$tmp/x.bin" extra
expect_exit 1 "sim folder not initialised" -- "$AECS" quote generate --attester sim --sim "$EMPTY" --report-data "$RD" --out "$tmp/x.bin"
expect_err "run 'aecs sim init" "uninitialised sim"
expect_exit 1 "unwritable --out" -- "$AECS" quote generate --attester sim --sim "$S" --report-data "$RD" --out "$tmp/no/such/dir/x.bin"
expect_err "--out:" "unwritable out"
[[ ! -e $tmp/x.bin ]] && ok || bad "a failed generate wrote a file"

finish cli_generate
