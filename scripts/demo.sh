#!/usr/bin/env bash
# Demo: verify every DCAP fixture under tests/data/dcap/<case>/ with the CLI and
# print the verdict (exit code) of each. A failing verify does not stop the demo.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

shopt -s nullglob
cases=(tests/data/dcap/*/)
if [[ ${#cases[@]} -eq 0 ]]; then
  echo "demo: no fixtures under tests/data/dcap/ yet"
  exit 0
fi

AECS_BIN=${AECS_BIN:-build/aecs}
if [[ ! -x "$AECS_BIN" ]]; then
  echo "demo: $AECS_BIN not found; run 'make' first" >&2
  exit 1
fi

for d in "${cases[@]}"; do
  d=${d%/}
  echo "== $d"
  if [[ ! -f "$d/quote.bin" || ! -f "$d/verify_time" ]]; then
    echo "demo: skipping $d (needs quote.bin and verify_time)"
    continue
  fi
  args=(quote verify "$d/quote.bin" --collateral "$d" --at "$(cat "$d/verify_time")")
  if [[ -f "$d/use_test_root" ]]; then
    args+=(--trusted-root "$d/trusted_root.der")
  fi
  echo "\$ $AECS_BIN ${args[*]}"
  rc=0
  "$AECS_BIN" "${args[@]}" || rc=$?
  echo "verdict: $rc"
done
