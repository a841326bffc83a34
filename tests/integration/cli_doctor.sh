#!/usr/bin/env bash
# cli_doctor.sh - `aecs doctor` as a user runs it: on this machine (no TEE on
# the test machines: it must exit 0, say so and say that the sim is
# available), as JSON (fields checked with Python), against broken qcnl files
# (FAIL naming the line, exit 1), against fake trees given with --root (an SGX
# host whose devices are links to /dev/null), with a sim folder, and against
# the loopback PCS (build/tests/tools/pcs_server) for the reachability check.
# Exit codes: 0 no check FAILed, 1 at least one FAILed, 2 usage error.
. "$(dirname "$0")/lib.sh"
SERVER=$(dirname "$AECS")/tests/tools/pcs_server
server_pid=
on_exit() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
}
# The machine's own settings must not leak into the runs below.
unset AECS_DOCTOR_ROOT AECS_SIM_DIR OCCLUM

# row NAME: the table line of check NAME in the last stdout
row() { grep -E "^$1 +(OK|WARN|FAIL|SKIP) " "$tmp/out"; }
# expect_row NAME STATUS [TEXT]
expect_row() {
  local line; line=$(row "$1")
  if [[ $line =~ ^$1\ +$2\  && ( -z ${3:-} || $line == *"$3"* ) ]]; then ok
  else bad "row $1: '$line', expected $2${3:+ with '$3'}"; fi
}

NAMES="cpu sgx_enclave sgx_provision sgx_dev_dir isgx aesm lib_dcap_ql lib_quoteprov lib_qcnl \
lib_quoteverify qcnl pccs collateral_service configfs_tsm tdx_guest sev_guest gramine occlum sim"

# ---- help and usage ----
expect_exit 0 "doctor --help" -- "$AECS" doctor --help
for o in --json --offline --qcnl --sim --root --user --timeout "Exit status"; do
  expect_out "$o" "doctor --help lists $o"
done
expect_exit 0 "doctor -h" -- "$AECS" doctor -h
expect_exit 2 "unknown option" -- "$AECS" doctor --frobnicate
expect_exit 2 "an argument" -- "$AECS" doctor extra
expect_err "no arguments" "an argument"
expect_exit 2 "--root that is not a folder" -- "$AECS" doctor --root "$tmp/none"
expect_err "is not a folder" "--root that is not a folder"
expect_exit 2 "--user unknown" -- "$AECS" doctor --user no-such-user-aecs
expect_err "no user" "--user unknown"
expect_exit 2 "--timeout 0" -- "$AECS" doctor --timeout 0
expect_exit 2 "--timeout x" -- "$AECS" doctor --timeout x

# ---- this machine ----
expect_exit 0 "doctor on this machine" -- "$AECS" doctor --offline
cp "$tmp/out" "$tmp/machine.txt"
expect_out "CHECK" "table header"
for n in $NAMES; do
  [[ -n $(row "$n") ]] && ok || bad "table lacks row $n"
done
grep -q $'\033' "$tmp/out" && bad "colour codes written into a pipe" || ok
"$AECS" doctor --offline --json >"$tmp/machine.json" 2>/dev/null
tee_kind=$(json_field "$tmp/machine.json" "d['tee']")
if [[ $tee_kind == none ]]; then
  # the test machines have no TEE: it must say so plainly, and point at the sim
  expect_out "No TEE found on this machine." "says there is no TEE"
  expect_out "The simulated TEE is available" "says the sim is available"
  expect_out "aecs sim init DIR" "says how to start the sim"
  expect_out "tee: none" "tee line"
  grep -qE '^(sgx_enclave|tdx_guest|sev_guest) +FAIL' "$tmp/out" && bad "a missing TEE FAILs" || ok
else
  echo "note: this machine has a TEE ($tee_kind); the no-TEE assertions are skipped"
  expect_out "TEE: " "names the TEE"
fi
# without --offline: only a configured PCCS would be contacted
if [[ ! -e /etc/sgx_default_qcnl.conf ]]; then
  expect_exit 0 "doctor on this machine, online" -- "$AECS" doctor
fi

# ---- JSON ----
python3 - "$tmp/machine.json" $NAMES <<'EOF' && ok || bad "JSON shape"
import json, sys
d = json.load(open(sys.argv[1]))
names = sys.argv[2:]
assert d["tee"] in ("none", "sgx", "tdx", "snp"), d["tee"]
checks = d["checks"]
assert [c["name"] for c in checks] == names, [c["name"] for c in checks]
for c in checks:
    assert set(c) == {"name", "status", "detail", "hint"}, c
    assert c["status"] in ("OK", "WARN", "FAIL", "SKIP"), c
    assert isinstance(c["detail"], str) and c["detail"], c
    assert isinstance(c["hint"], str), c
counts = d["counts"]
for s in ("OK", "WARN", "FAIL", "SKIP"):
    assert counts[s] == sum(1 for c in checks if c["status"] == s), (s, counts)
assert isinstance(d["summary"], str) and d["summary"]
if d["tee"] == "none":
    assert d["summary"].startswith("No TEE found on this machine."), d["summary"]
    assert counts["FAIL"] == 0, checks
EOF

# ---- qcnl files ----
printf '# PCCS server address\nPCCS_URL=https://pccs.example:8081/sgx/certification/v4/\nUSE_SECURE_CERT=MAYBE\n' >"$tmp/broken.conf"
expect_exit 1 "--qcnl broken (legacy)" -- "$AECS" doctor --offline --qcnl "$tmp/broken.conf"
expect_row qcnl FAIL "broken.conf:3:"
expect_out "hint: fix line 3 of $tmp/broken.conf" "hint names the line"
expect_out "Fix what FAILs" "summary says what FAILed"
expect_exit 1 "--qcnl broken, JSON output" -- "$AECS" doctor --offline --json --qcnl "$tmp/broken.conf"
check "qcnl FAIL in JSON" "$tmp/out" "[c for c in d['checks'] if c['name']=='qcnl'][0]['status']" FAIL
check "qcnl line in JSON" "$tmp/out" "':3:' in [c for c in d['checks'] if c['name']=='qcnl'][0]['detail']" True
check "counts FAIL" "$tmp/out" "d['counts']['FAIL']" 1
printf '{\n  "pccs_url": "https://pccs.example:8081/sgx/certification/v4/",\n  "use_secure_cert": false,,\n}\n' >"$tmp/broken.json"
expect_exit 1 "--qcnl broken (JSON form)" -- "$AECS" doctor --offline --qcnl "$tmp/broken.json"
expect_row qcnl FAIL "broken.json:3:"
expect_exit 1 "--qcnl missing" -- "$AECS" doctor --offline --qcnl "$tmp/absent.conf"
expect_row qcnl FAIL "absent.conf"
printf 'PCCS_URL=https://pccs.example:8081/sgx/certification/v4/\nUSE_SECURE_CERT=FALSE\n' >"$tmp/insecure.conf"
expect_exit 0 "--qcnl insecure" -- "$AECS" doctor --offline --qcnl "$tmp/insecure.conf"
expect_row qcnl WARN "use_secure_cert is false (line 2)"
expect_row pccs SKIP "--offline"

# ---- the PCCS: loopback server, then a closed port ----
"$SERVER" --data tests/data/dcap --set sgx_v3_dcapqvl --lifetime 300 >"$tmp/port" &
server_pid=$!
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
port=$(head -n1 "$tmp/port")
if [[ $port =~ ^[0-9]+$ ]]; then
  printf 'PCCS_URL=http://127.0.0.1:%s/sgx/certification/v4/\n' "$port" >"$tmp/loop.conf"
  expect_exit 0 "PCCS reachable" -- "$AECS" doctor --qcnl "$tmp/loop.conf"
  expect_row pccs OK "HTTP 200"
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=
  expect_exit 1 "PCCS gone" -- "$AECS" doctor --qcnl "$tmp/loop.conf" --timeout 3
  expect_row pccs FAIL "cannot be reached"
  expect_out "127.0.0.1:$port" "the error names the address"
else
  bad "pcs_server did not start"
fi

# ---- a fake SGX host under --root ----
R=$tmp/root
mkdir -p "$R/proc" "$R/dev/sgx" "$R/etc" "$R/usr/lib/x86_64-linux-gnu"
printf 'processor\t: 0\nflags\t\t: fpu sgx sgx_lc\n' >"$R/proc/cpuinfo"
ln -s /dev/null "$R/dev/sgx_enclave"
ln -s /dev/null "$R/dev/sgx_provision"
ln -s ../sgx_enclave "$R/dev/sgx/enclave"
ln -s ../sgx_provision "$R/dev/sgx/provision"
for l in libsgx_dcap_ql.so.1 libdcap_quoteprov.so.1 libsgx_default_qcnl_wrapper.so.1; do
  : >"$R/usr/lib/x86_64-linux-gnu/$l"
done
printf 'PCCS_URL=https://pccs.example:8081/sgx/certification/v3/\nUSE_SECURE_CERT=TRUE\n' >"$R/etc/sgx_default_qcnl.conf"
expect_exit 0 "fake SGX host" -- "$AECS" doctor --offline --root "$R"
expect_out "system paths under $R" "header names the root"
expect_out "tee: sgx" "fake SGX host: tee"
expect_out "TEE: Intel SGX." "fake SGX host: summary"
expect_row cpu OK "sgx sgx_lc"
expect_row sgx_enclave OK "character device"
expect_row sgx_provision OK
expect_row sgx_dev_dir OK "enclave (usable), provision (usable)"
expect_row aesm WARN "aesmd is not running"
expect_row lib_dcap_ql OK "/usr/lib/x86_64-linux-gnu/libsgx_dcap_ql.so.1"
expect_row qcnl OK "https://pccs.example:8081/sgx/certification/v3/"
AECS_DOCTOR_ROOT=$R expect_exit 0 "AECS_DOCTOR_ROOT" -- "$AECS" doctor --offline --json
check "AECS_DOCTOR_ROOT tee" "$tmp/out" "d['tee']" sgx
# a stray regular file where the device should be
rm "$R/dev/sgx_enclave" && : >"$R/dev/sgx_enclave"
expect_exit 1 "a regular file for /dev/sgx_enclave" -- "$AECS" doctor --offline --root "$R"
expect_row sgx_enclave FAIL "not a character device"
# judged for another user: /dev/null is 0666, so nobody may use the provisioning device too
if getent passwd nobody >/dev/null; then
  expect_exit 1 "--user nobody" -- "$AECS" doctor --offline --root "$R" --user nobody
  expect_out "checks as nobody" "--user in the header"
  expect_row sgx_provision OK "readable and writable by nobody"
fi

# ---- a sim folder ----
"$AECS" sim init "$tmp/sim" >/dev/null 2>&1 || bad "sim init"
expect_exit 0 "--sim" -- "$AECS" doctor --offline --sim "$tmp/sim"
expect_row sim OK "is set up"
if [[ $tee_kind == none ]]; then expect_out "The simulated TEE is set up in $tmp/sim" "summary names the sim"; fi
AECS_SIM_DIR=$tmp/sim expect_exit 0 "AECS_SIM_DIR" -- "$AECS" doctor --offline --json
check "AECS_SIM_DIR sim row" "$tmp/out" "[c for c in d['checks'] if c['name']=='sim'][0]['status']" OK
mkdir "$tmp/notsim"
expect_exit 1 "--sim on a folder that is not one" -- "$AECS" doctor --offline --sim "$tmp/notsim"
expect_row sim FAIL "no root.der"

finish cli_doctor
