#!/usr/bin/env bash
# demo.sh - what aecs does today, on this machine, with real evidence:
#   1. every real Intel quote in tests/data/dcap verified at its set's time,
#   2. the real AMD SEV-SNP report in tests/data/snp verified,
#   3. a simulated TEE: a test PKI, evidence over chosen report data, and its
#      verification (trusted only because its root is named explicitly).
# Each verify prints its verdict; a refusal does not stop the demo.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AECS=${AECS_BIN:-build/aecs}
if [[ ! -x $AECS ]]; then
  echo "demo: $AECS not found; run 'make' first" >&2
  exit 1
fi

step() { printf '\n=== %s\n' "$*"; }
run() {
  echo "\$ $*"
  "$@"
  echo "(exit $?)"
}

step "1. Intel DCAP quotes (SGX v3, TDX v4 and v5) against their collateral"
for d in tests/data/dcap/*/; do
  d=${d%/}
  args=(quote verify "$d/quote.bin" --collateral "$d" --at "$(cat "$d/verify_time")")
  [[ -f $d/use_test_root ]] && args+=(--trusted-root "$d/trusted_root.der")
  printf '\n--- %s\n' "$(basename "$d")"
  run "$AECS" "${args[@]}"
done

step "2. An AMD SEV-SNP report (Milan) against its VCEK"
run "$AECS" quote verify tests/data/snp/snp_milan_virtee/report.bin \
  --collateral tests/data/snp/snp_milan_virtee --at 2024-01-01T00:00:00Z

step "3. The simulated TEE (for machines without one; never trusted by default)"
sim=$(mktemp -d /tmp/aecs-demo-sim.XXXXXX)
trap 'rm -rf "$sim"' EXIT
rd=$(printf 'ab%.0s' $(seq 64))
run "$AECS" sim init "$sim/sim"
run "$AECS" quote generate --attester sim --sim "$sim/sim" --report-data "$rd" --out "$sim/quote.bin"
run "$AECS" quote verify "$sim/quote.bin" --collateral "$sim/sim/collateral" \
  --trusted-root "$sim/sim/root.der"
echo
echo "The same quote without --trusted-root is refused: the sim's root is not Intel's."
run "$AECS" quote verify "$sim/quote.bin" --collateral "$sim/sim/collateral"
