#!/usr/bin/env bash
# cli_sim.sh - `aecs sim init` and `aecs sim quote` as a user runs them, checked
# through `aecs quote verify --trusted-root DIR/root.der --json` and, for what
# the simulator writes, through the openssl command and Python (certificate
# chain, CRLs and their revoked serials, the SGX extension, the TCB Info and
# QE Identity signatures over their exact compact JSON bytes). Exit codes: 0
# verified, 1 not verified, 2 usage or unreadable input.
. "$(dirname "$0")/lib.sh"

MRE=$(hexrep 11 32); MRS=$(hexrep 22 32); RD=$(hexrep ab 64)
MRTD=$(hexrep 33 48); RTMR1=$(hexrep 44 48); MRCFG=$(hexrep 55 48); MROWN=$(hexrep 66 48)

# ---- help ----
expect_exit 0 "sim --help" -- "$AECS" sim --help
grep -q "init" "$tmp/out" && grep -q "quote" "$tmp/out" && ok || bad "sim --help lists init and quote"
expect_exit 0 "sim init --help" -- "$AECS" sim init --help
grep -q -- "--tcb-status" "$tmp/out" && grep -q -- "--revoke-pck" "$tmp/out" &&
  grep -q -- "--validity-days" "$tmp/out" && ok || bad "sim init --help lists its options"
expect_exit 0 "sim quote --help" -- "$AECS" sim quote --help
grep -q -- "--mrenclave" "$tmp/out" && grep -q -- "--mrtd" "$tmp/out" && ok || bad "sim quote --help lists its options"
expect_exit 2 "sim without a command" -- "$AECS" sim
expect_exit 2 "sim unknown command" -- "$AECS" sim frobnicate

# ---- init: files, modes, certificates, CRLs, signed documents ----
S=$tmp/s1
expect_exit 0 "sim init" -- "$AECS" sim init "$S"
grep -q "trusted-root $S/root.der" "$tmp/out" && ok || bad "init says how to verify"
[[ $(stat -c %a "$S") == 700 ]] && ok || bad "sim folder mode"
for k in root_ca pck_ca pck tcb_signing attestation; do
  [[ $(stat -c %a "$S/$k.key.pem") == 600 ]] && ok || bad "$k.key.pem mode is $(stat -c %a "$S/$k.key.pem")"
  openssl pkey -in "$S/$k.key.pem" -noout 2>/dev/null && ok || bad "$k.key.pem is not a key openssl reads"
done
for c in collateral collateral-tdx; do
  for f in root_ca_crl.der pck_crl.der pck_crl_issuer_chain.pem tcb_info.body.json tcb_info.sig.hex \
           tcb_info_issuer_chain.pem qe_identity.body.json qe_identity.sig.hex qe_identity_issuer_chain.pem; do
    [[ -s $S/$c/$f ]] && ok || bad "$c/$f missing"
  done
done
openssl x509 -inform der -in "$S/root.der" -out "$tmp/root.pem" && ok || bad "root.der is not DER"
openssl x509 -in "$tmp/root.pem" -noout -subject | grep -q "CN = aecs simulated SGX Root CA" && ok || bad "root CN"
awk -v d="$tmp" '/BEGIN CERT/{n++} {print > (d "/pck" n ".pem")}' "$S/pck_chain.pem"
openssl verify -CAfile "$tmp/root.pem" -untrusted "$tmp/pck2.pem" "$tmp/pck1.pem" >/dev/null 2>&1 && ok || bad "openssl verify of the PCK chain"
openssl x509 -in "$tmp/pck1.pem" -noout -subject | grep -q "SGX PCK Certificate" && ok || bad "PCK leaf CN"
openssl x509 -in "$tmp/pck2.pem" -noout -subject | grep -q "PCK Processor CA" && ok || bad "PCK CA CN"
openssl x509 -in "$tmp/pck1.pem" -noout -text | grep -q "1.2.840.113741.1.13.1" && ok || bad "SGX extension"
openssl x509 -in "$tmp/pck2.pem" -noout -text | grep -q "CA:TRUE, pathlen:0" && ok || bad "PCK CA basic constraints"
# the SGX extension's FMSPC (OID .4) is the documented sim FMSPC
openssl x509 -in "$tmp/pck1.pem" -outform der -out "$tmp/pck1.der"
off=$(openssl asn1parse -inform der -in "$tmp/pck1.der" | grep -A1 "113741.1.13.1$" | tail -1 | cut -d: -f1 | tr -d ' ')
openssl asn1parse -inform der -in "$tmp/pck1.der" -strparse "$off" | grep -A1 "113741.1.13.1.4$" | grep -q "AEC551000000" \
  && ok || bad "FMSPC in the SGX extension"
openssl verify -CAfile "$tmp/root.pem" "$S/collateral/tcb_info_issuer_chain.pem" >/dev/null 2>&1 && ok || bad "TCB signing cert"
openssl crl -inform der -in "$S/collateral/root_ca_crl.der" -CAfile "$tmp/root.pem" -noout 2>/dev/null && ok || bad "root CA CRL signature"
cat "$tmp/pck2.pem" "$tmp/root.pem" >"$tmp/cas.pem"
openssl crl -inform der -in "$S/collateral/pck_crl.der" -CAfile "$tmp/cas.pem" -noout 2>/dev/null && ok || bad "PCK CRL signature"
openssl crl -inform der -in "$S/collateral/pck_crl.der" -noout -text | grep -q "No Revoked Certificates" && ok || bad "PCK CRL empty"

# TCB Info / QE Identity: compact JSON, signed over the exact bytes (r||s hex) by the TCB signing key
openssl x509 -in "$S/collateral/tcb_info_issuer_chain.pem" -noout -pubkey >"$tmp/tcb.pub"
verify_doc() { # verify_doc DIR STEM
  python3 - "$1/$2.body.json" "$1/$2.sig.hex" "$tmp/sig.der" <<'EOF' || return 1
import json, sys
body = open(sys.argv[1], 'rb').read()
assert json.dumps(json.loads(body), separators=(',', ':')).encode() == body, "not compact JSON"
rs = bytes.fromhex(open(sys.argv[2]).read().strip())
assert len(rs) == 64
def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80: b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
seq = der_int(rs[:32]) + der_int(rs[32:])
open(sys.argv[3], 'wb').write(b'\x30' + bytes([len(seq)]) + seq)
EOF
  openssl dgst -sha256 -verify "$tmp/tcb.pub" -signature "$tmp/sig.der" "$1/$2.body.json" >/dev/null
}
for c in collateral collateral-tdx; do
  verify_doc "$S/$c" tcb_info && ok || bad "$c TCB Info signature"
  verify_doc "$S/$c" qe_identity && ok || bad "$c QE Identity signature"
done
check "SGX TCB Info" "$S/collateral/tcb_info.body.json" "d['id'], d['version'], d['fmspc'], d['tcbLevels'][0]['tcbStatus']" "SGX 3 AEC551000000 UpToDate"
check "TDX TCB Info" "$S/collateral-tdx/tcb_info.body.json" "d['id'], d['tdxModuleIdentities'][0]['id'], len(d['tcbLevels'][0]['tcb']['tdxtcbcomponents'])" "TDX TDX_01 16"
check "lower level" "$S/collateral/tcb_info.body.json" "d['tcbLevels'][1]['tcbStatus'], d['tcbLevels'][1]['advisoryIDs']" "OutOfDate ['AECS-SIM-SA-00001']"
check "QE Identity" "$S/collateral/qe_identity.body.json" "d['id'], d['isvprodid']" "QE 1"
check "TD QE Identity" "$S/collateral-tdx/qe_identity.body.json" "d['id'], d['isvprodid']" "TD_QE 2"

# ---- SGX quote: verified UpToDate, sim, claims as asked ----
expect_exit 0 "sim quote (SGX)" -- "$AECS" sim quote --sim "$S" --mrenclave "$MRE" --mrsigner "$MRS" \
  --isvprodid 3 --isvsvn 7 --report-data "$RD" --out "$tmp/sgx.bin"
[[ $(stat -c %a "$tmp/sgx.bin") == 644 ]] && ok || bad "quote file mode"
expect_exit 0 "verify SGX" -- "$AECS" quote verify "$tmp/sgx.bin" --collateral "$S/collateral" --trusted-root "$S/root.der" --json
cp "$tmp/out" "$tmp/v.json"
check "SGX verdict" "$tmp/v.json" "d['verified'], d['status'], d['qv_result'], d['sim'], d['platform'], d['quote_version']" "True UpToDate 0x0000 True sgx 3"
check "SGX claims" "$tmp/v.json" "d['claims']['mrenclave'], d['claims']['mrsigner'], d['claims']['isvprodid'], d['claims']['isvsvn'], d['claims']['debug']" "$MRE $MRS 3 7 False"
check "SGX report data" "$tmp/v.json" "d['claims']['report_data']" "$RD"
check "SGX PCK" "$tmp/v.json" "d['pck']['fmspc'], d['pck']['ca']" "aec551000000 aecs simulated SGX PCK Processor CA"
expect_exit 0 "quote show (sim SGX)" -- "$AECS" quote show "$tmp/sgx.bin"
grep -q "SGX quote, version 3" "$tmp/out" && ok || bad "quote show names the quote"
# text verdict
expect_exit 0 "verify SGX (text)" -- "$AECS" quote verify "$tmp/sgx.bin" --collateral "$S/collateral" --trusted-root "$S/root.der"
grep -q "status:     UpToDate" "$tmp/out" && ok || bad "text verdict"

# without --trusted-root the pinned Intel root is used: not verified
expect_exit 1 "verify without --trusted-root" -- "$AECS" quote verify "$tmp/sgx.bin" --collateral "$S/collateral" --json
check "untrusted sim" "$tmp/out" "d['verified'], 'sim' in d, d['error']['stage']" "False False collateral"
# the SGX quote against the TDX collateral
expect_exit 1 "SGX quote, TDX collateral" -- "$AECS" quote verify "$tmp/sgx.bin" --collateral "$S/collateral-tdx" --trusted-root "$S/root.der" --json
check "TCB Info mismatch" "$tmp/out" "d['error']['code']" "SGX_QL_TCBINFO_MISMATCH"

# ---- TDX quote ----
expect_exit 0 "sim quote (TDX)" -- "$AECS" sim quote --sim "$S" --tdx --mrtd "$MRTD" --rtmr1 "$RTMR1" \
  --mrconfigid "$MRCFG" --mrowner "$MROWN" --debug --report-data "$RD" --out "$tmp/tdx.bin"
expect_exit 0 "verify TDX" -- "$AECS" quote verify "$tmp/tdx.bin" --collateral "$S/collateral-tdx" --trusted-root "$S/root.der" --json
cp "$tmp/out" "$tmp/t.json"
check "TDX verdict" "$tmp/t.json" "d['verified'], d['status'], d['sim'], d['platform'], d['quote_version'], d['tdx_module']['status']" "True UpToDate True tdx 4 UpToDate"
check "TDX claims" "$tmp/t.json" "d['claims']['mrtd'], d['claims']['rtmr1'], d['claims']['mrconfigid'], d['claims']['mrowner']" "$MRTD $RTMR1 $MRCFG $MROWN"
check "TDX debug and rtmr0" "$tmp/t.json" "d['claims']['debug'], d['claims']['rtmr0'] == '00' * 48" "True True"

# ---- OutOfDate, by --tcb-status ----
S2=$tmp/s2
expect_exit 0 "sim init OutOfDate" -- "$AECS" sim init "$S2" --tcb-status OutOfDate
expect_exit 0 "quote (OutOfDate)" -- "$AECS" sim quote --sim "$S2" --mrenclave "$MRE" --mrsigner "$MRS" --report-data "$RD" --out "$tmp/ood.bin"
expect_exit 0 "verify OutOfDate (verified, whatever the status)" -- "$AECS" quote verify "$tmp/ood.bin" --collateral "$S2/collateral" --trusted-root "$S2/root.der" --json
check "OutOfDate verdict" "$tmp/out" "d['status'], d['qv_result'], d['advisory_ids']" "OutOfDate 0xA002 ['AECS-SIM-SA-00001']"
# another sim's root: not trusted
expect_exit 1 "wrong root" -- "$AECS" quote verify "$tmp/ood.bin" --collateral "$S2/collateral" --trusted-root "$S/root.der" --json
check "wrong root" "$tmp/out" "d['verified'], d['error']['stage']" "False collateral"
expect_exit 1 "other sim's collateral" -- "$AECS" quote verify "$tmp/ood.bin" --collateral "$S/collateral" --trusted-root "$S/root.der" --json
check "other sim's chain" "$tmp/out" "d['error']['stage'], d['error']['code']" "chain SGX_QL_PCK_CERT_CHAIN_ERROR"

# ---- revoked PCK ----
S3=$tmp/s3
expect_exit 0 "sim init --revoke-pck" -- "$AECS" sim init "$S3" --revoke-pck
serial=$(openssl x509 -in <(awk '/BEGIN CERT/{n++} n==1' "$S3/pck_chain.pem") -noout -serial | cut -d= -f2)
openssl crl -inform der -in "$S3/collateral/pck_crl.der" -noout -text | grep -q "Serial Number: $serial" && ok || bad "PCK CRL lists the PCK serial"
expect_exit 0 "quote (revoked)" -- "$AECS" sim quote --sim "$S3" --tdx --mrtd "$MRTD" --report-data "$RD" --out "$tmp/rev.bin"
expect_exit 1 "verify revoked" -- "$AECS" quote verify "$tmp/rev.bin" --collateral "$S3/collateral-tdx" --trusted-root "$S3/root.der" --json
check "revoked verdict" "$tmp/out" "d['verified'], d['error']['stage'], d['error']['code']" "False chain SGX_QL_PCK_REVOKED"

# ---- expired collateral: --validity-days, verified until nextUpdate, not one second after ----
S4=$tmp/s4
expect_exit 0 "sim init --validity-days 2" -- "$AECS" sim init "$S4" --validity-days 2
expect_exit 0 "quote (expiry)" -- "$AECS" sim quote --sim "$S4" --mrenclave "$MRE" --mrsigner "$MRS" --report-data "$RD" --out "$tmp/exp.bin"
issue=$(json_field "$S4/collateral/tcb_info.body.json" "d['issueDate']")
next=$(json_field "$S4/collateral/tcb_info.body.json" "d['nextUpdate']")
shift_time() { python3 -c "import datetime as t; print((t.datetime.strptime('$1','%Y-%m-%dT%H:%M:%SZ')+t.timedelta(seconds=$2)).strftime('%Y-%m-%dT%H:%M:%SZ'))"; }
[[ $(shift_time "$issue" $((2 * 86400))) == "$next" ]] && ok || bad "nextUpdate is issueDate + 2 days"
expect_exit 0 "verify before nextUpdate" -- "$AECS" quote verify "$tmp/exp.bin" --collateral "$S4/collateral" --trusted-root "$S4/root.der" --at "$(shift_time "$next" -1)"
expect_exit 1 "verify after nextUpdate" -- "$AECS" quote verify "$tmp/exp.bin" --collateral "$S4/collateral" --trusted-root "$S4/root.der" --at "$(shift_time "$next" 1)" --json
check "expired verdict" "$tmp/out" "d['verified'], d['collateral_expired'], d['error']['stage'], d['status']" "False True expiry UpToDate"

# ---- errors: clear messages, exit 2 ----
expect_exit 2 "unknown status" -- "$AECS" sim init "$tmp/s5" --tcb-status Great
expect_err "unknown TCB status 'Great'" "unknown status"
[[ ! -e $tmp/s5/attestation.key.pem ]] && ok || bad "failed init left a sim"
expect_exit 2 "bad validity" -- "$AECS" sim init "$tmp/s5" --validity-days 0
expect_err "--validity-days must be" "bad validity"
expect_exit 2 "init twice" -- "$AECS" sim init "$S"
expect_err "already holds a sim" "init twice"
expect_exit 0 "init --force" -- "$AECS" sim init "$S4" --force
expect_exit 1 "old quote, replaced sim" -- "$AECS" quote verify "$tmp/exp.bin" --collateral "$S4/collateral" --trusted-root "$S4/root.der"
expect_exit 2 "init without DIR" -- "$AECS" sim init
expect_exit 2 "missing --sim" -- "$AECS" sim quote --mrenclave "$MRE" --mrsigner "$MRS" --report-data "$RD" --out "$tmp/x.bin"
expect_err "needs --sim DIR" "missing --sim"
mkdir -p "$tmp/empty"
expect_exit 2 "not initialised" -- "$AECS" sim quote --sim "$tmp/empty" --mrenclave "$MRE" --mrsigner "$MRS" --report-data "$RD" --out "$tmp/x.bin"
expect_err "not an initialised sim" "not initialised"
expect_err "aecs sim init" "not initialised names the fix"
expect_exit 2 "short mrenclave" -- "$AECS" sim quote --sim "$S" --mrenclave abcd --mrsigner "$MRS" --report-data "$RD" --out "$tmp/x.bin"
expect_err "--mrenclave must be 32 bytes: 64 hex digits (got 4 characters)" "short mrenclave"
expect_exit 2 "short report data" -- "$AECS" sim quote --sim "$S" --mrenclave "$MRE" --mrsigner "$MRS" --report-data "$MRE" --out "$tmp/x.bin"
expect_err "--report-data must be 64 bytes" "short report data"
expect_exit 2 "bad hex digit" -- "$AECS" sim quote --sim "$S" --tdx --mrtd "zz${MRTD:2}" --report-data "$RD" --out "$tmp/x.bin"
expect_err "--mrtd must be 48 bytes" "bad hex digit"
expect_exit 2 "missing report data" -- "$AECS" sim quote --sim "$S" --mrenclave "$MRE" --mrsigner "$MRS" --out "$tmp/x.bin"
expect_err "--report-data" "missing report data"
expect_exit 2 "missing mrsigner" -- "$AECS" sim quote --sim "$S" --mrenclave "$MRE" --report-data "$RD" --out "$tmp/x.bin"
expect_err "needs --mrenclave HEX and --mrsigner HEX" "missing mrsigner"
expect_exit 2 "TDX without mrtd" -- "$AECS" sim quote --sim "$S" --tdx --report-data "$RD" --out "$tmp/x.bin"
expect_err "needs --mrtd" "TDX without mrtd"
expect_exit 2 "SGX option with --tdx" -- "$AECS" sim quote --sim "$S" --tdx --mrtd "$MRTD" --mrenclave "$MRE" --report-data "$RD" --out "$tmp/x.bin"
expect_err "--mrenclave is for SGX quotes" "SGX option with --tdx"
expect_exit 2 "TDX option without --tdx" -- "$AECS" sim quote --sim "$S" --mrenclave "$MRE" --mrsigner "$MRS" --rtmr0 "$MRTD" --report-data "$RD" --out "$tmp/x.bin"
expect_err "add --tdx" "TDX option without --tdx"
expect_exit 2 "isvsvn out of range" -- "$AECS" sim quote --sim "$S" --mrenclave "$MRE" --mrsigner "$MRS" --isvsvn 65536 --report-data "$RD" --out "$tmp/x.bin"
expect_err "--isvsvn must be a number from 0 to 65535" "isvsvn out of range"
[[ ! -e $tmp/x.bin ]] && ok || bad "a failed quote wrote a file"

finish cli_sim
