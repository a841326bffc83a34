#!/usr/bin/env bash
# Install (as root) or check (as non-root) the Debian packages aecs needs.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

# Needed to build and test.
REQUIRED=(
  build-essential cmake pkg-config clang
  libclang-rt-dev   # ASan/UBSan/libFuzzer runtimes; only "Recommended" by clang
  libssl-dev libjansson-dev libcurl4-openssl-dev libevent-dev libyaml-dev
  libsqlite3-dev libcmocka-dev
  libgfshare-dev    # Shamir secret sharing of the key store's root key (GF(2^8))
  etcd-server etcd-client  # store_etcd_test runs real etcd members (and etcdctl) on loopback
  python3 curl openssl sqlite3  # the integration tests: JSON checks, hand-made requests, file edits
)
# Nice to have: skipped with a warning when the archive lacks them.
OPTIONAL=(clang-format)

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

in_archive() {
  local cand
  cand=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1)
  [[ -n "$cand" && "$cand" != "(none)" ]]
}

missing=()
for p in "${REQUIRED[@]}" "${OPTIONAL[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#REQUIRED[@]} required and ${#OPTIONAL[@]} optional packages installed"
  exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
  echo "deps: missing packages (run scripts/deps.sh as root to install): ${missing[*]}" >&2
  exit 1
fi

echo "deps: missing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "deps: WARNING: apt-get update failed; trying with existing lists" >&2

to_install=()
for p in "${missing[@]}"; do
  if in_archive "$p"; then
    to_install+=("$p")
  else
    echo "deps: WARNING: package '$p' is not in the apt archive; skipping" >&2
  fi
done

if [[ ${#to_install[@]} -gt 0 ]]; then
  echo "deps: installing: ${to_install[*]}"
  apt-get install -y -qq --no-install-recommends "${to_install[@]}"
fi

still=()
for p in "${REQUIRED[@]}"; do
  is_installed "$p" || still+=("$p")
done
if [[ ${#still[@]} -gt 0 ]]; then
  echo "deps: ERROR: required packages still missing: ${still[*]}" >&2
  exit 1
fi
for p in "${OPTIONAL[@]}"; do
  is_installed "$p" || echo "deps: WARNING: optional package '$p' not installed" >&2
done
echo "deps: ok"
