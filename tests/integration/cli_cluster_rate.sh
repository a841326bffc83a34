#!/usr/bin/env bash
# Rate limits shared by the replicas of a cluster: one etcd member on loopback
# and two aecsd replicas on it (A initialized, B joined by attestation), both
# with --rate-burst 4 --rate-per-second 1.
#
#   - challenges from one address (127.0.0.1) sent to A and B in turn are
#     refused by both (HTTP 429, code rate_limited) once 4 have been answered
#     in all, not 4 per replica; the bucket is one key under /rate/ in etcd;
#   - with etcd stopped, a replica refuses (HTTP 503, code busy: the limit
#     cannot be checked, so nothing goes through uncounted); with etcd back,
#     it answers again.
. "$(dirname "$0")/lib.sh"

SERVER_MR=$(hexrep 5e 32)

command -v etcd >/dev/null && command -v etcdctl >/dev/null || {
  echo "cli_cluster_rate: etcd and etcdctl are needed"
  exit 1
}

track_processes

# --- etcd: one member ------------------------------------------------------------
cport=$(free_port)
pport=$(free_port)
eps="http://127.0.0.1:$cport"
etcd_start() {
  etcd --name m1 --data-dir "$tmp/etcd" \
    --listen-client-urls "$eps" --advertise-client-urls "$eps" \
    --listen-peer-urls "http://127.0.0.1:$pport" \
    --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "m1=http://127.0.0.1:$pport" --initial-cluster-token aecs-cli-rate \
    --initial-cluster-state new --logger zap --log-level warn >>"$tmp/etcd.log" 2>&1 &
  procs[etcd]=$!
}
# etcd_healthy: waits (up to 20 s) until the member is healthy
etcd_healthy() {
  local n
  for n in $(seq 1 100); do
    etcdctl --endpoints="$eps" --dial-timeout=1s --command-timeout=2s endpoint health \
      >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "etcd is not healthy" >&2
  tail -5 "$tmp/etcd.log" >&2
  return 1
}
etcd_start
etcd_healthy && ok || { bad "etcd healthy"; finish cli_cluster_rate; exit 1; }

# --- replicas ---------------------------------------------------------------------
# replica NAME PORT ARGS...: an aecsd on the etcd store; B uses A's TLS certificate and key
replica() {
  local name=$1 port=$2 tls=()
  shift 2
  [[ $name != a ]] && tls=(--tls-cert "$tmp/a/tls/cert.pem" --tls-key "$tmp/a/tls/key.pem")
  "$AECSD" --data "$tmp/$name" --listen "127.0.0.1:$port" --threads 2 \
    --store "etcd:$eps?timeout=2000&connect-timeout=500" --access-log "$tmp/$name.access" \
    --attester sim --sim-dir "$tmp/sim" --sim-mrenclave "$SERVER_MR" \
    --insecure-trust-sim "$tmp/sim" --rate-burst 4 --rate-per-second 1 "${tls[@]}" "$@" \
    >>"$tmp/$name.log" 2>&1 &
  procs[$name]=$!
  wait_https "https://127.0.0.1:$port/v1/health" || { cat "$tmp/$name.log"; exit 1; }
}
# state CONFIG: the state a replica reports (status is not rate-limited)
state() {
  "$AECS" admin status --config "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null
}
# challenge URL N: POST URL/v1/challenge; the body in $tmp/c$N.json, prints the HTTP status
challenge() {
  curl -s --cacert "$tmp/a/tls/cert.pem" -X POST -d '{}' -o "$tmp/c$2.json" \
    -w '%{http_code}' "$1/v1/challenge"
}

expect_exit 0 "sim init" -- "$AECS" sim init "$tmp/sim"
expect_exit 0 "keygen admin" -- "$AECS" keygen --out "$tmp/admin"
port_a=$(free_port)
port_b=$(free_port)
url_a=https://127.0.0.1:$port_a
url_b=https://127.0.0.1:$port_b
replica a "$port_a"
for n in a b; do
  u=$url_a
  [[ $n == b ]] && u=$url_b
  # init checks the replica's identity first: the sim aecsd's enclave, the sim trusted
  printf 'server: [%s]\nkey: %s\nca: %s\nserver_policy: {enclaveMatchAnyRules: [{mrenclave: %s, allow_sim: true}]}\nverifier: {insecure_trust_sim: %s}\n' \
    "$u" "$tmp/admin.pem" "$tmp/a/tls/cert.pem" "$SERVER_MR" "$tmp/sim" >"$tmp/admin-$n.yaml"
done
expect_exit 0 "init through A" -- "$AECS" admin init --config "$tmp/admin-a.yaml" --shares 2 \
  --threshold 2 --json
# init took two tokens of 127.0.0.1's bucket on A (identity, init) and the join takes three
# (identity, challenge, join): let the bucket fill again first (4 tokens at 1 a second)
sleep 4
replica b "$port_b" --join "$url_a"
for n in $(seq 1 75); do [[ $(state "$tmp/admin-b.yaml") == working ]] && break; sleep 0.2; done
[[ $(state "$tmp/admin-b.yaml") == working ]] && ok || { bad "B joins A"; tail -20 "$tmp/b.log"; }

# --- one bucket for both replicas --------------------------------------------------------
sleep 5 # full again
# eight challenges in turn to A and B in one curl run (fast: under a second, normally)
args=()
for i in 1 2 3 4 5 6 7 8; do
  u=$url_a
  [[ $((i % 2)) -eq 0 ]] && u=$url_b
  args+=(-o "$tmp/r$i.json" "$u/v1/challenge")
done
t0=$(date +%s%N)
curl -s --cacert "$tmp/a/tls/cert.pem" -X POST -d '{}' -w '%{http_code}\n' "${args[@]}" \
  >"$tmp/codes"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
mapfile -t codes <"$tmp/codes"
echo "eight challenges, A and B in turn, in $elapsed_ms ms: ${codes[*]}"
answered=0
for c in "${codes[@]}"; do [[ $c == 200 ]] && answered=$((answered + 1)); done
# 4 in all (each replica alone would answer 4), and one more per second the run took
[[ ${#codes[@]} -eq 8 && $answered -ge 4 && $answered -le $((4 + elapsed_ms / 1000)) ]] && ok ||
  bad "4 challenges answered in all, not 4 per replica: ${codes[*]} in $elapsed_ms ms"
[[ ${codes[0]} == 200 && ${codes[1]} == 200 && ${codes[2]} == 200 && ${codes[3]} == 200 ]] && ok ||
  bad "the first four (A, B, A, B) answered: ${codes[*]}"
check "an answer holds a nonce" "$tmp/r2.json" "len(d['nonce'])" 64
# the refusals, on both replicas
for i in 7 8; do
  [[ ${codes[$((i - 1))]} == 429 ]] && ok || bad "challenge $i refused with 429: ${codes[*]}"
  check "challenge $i: the code" "$tmp/r$i.json" "d['error']['code']" rate_limited
  check "challenge $i: the message" "$tmp/r$i.json" "d['error']['message']" \
    "too many requests from 127.0.0.1: slow down"
done
# the bucket of 127.0.0.1 (::ffff:127.0.0.1) in etcd, in clear
keys=$(ETCDCTL_API=3 etcdctl --endpoints="$eps" get --prefix /rate/ --keys-only 2>/dev/null | grep .)
[[ $keys == /rate/00000000000000000000ffff7f000001 ]] && ok || bad "one bucket in etcd: '$keys'"

# --- etcd down: refused, never let through -----------------------------------------------
sleep 2 # a token back, so the take needs a write
halt etcd -KILL
code=$(challenge "$url_b" 1)
[[ $code == 503 ]] && ok || bad "etcd down: B answers 503 (HTTP $code)"
check "etcd down: the code" "$tmp/c1.json" "d['error']['code']" busy
check "etcd down: the message" "$tmp/c1.json" "'rate limit cannot be checked' in d['error']['message']" True
grep -q "rate limit of 127.0.0.1: store: etcd" "$tmp/b.log" && ok || { bad "B logs why"; tail -5 "$tmp/b.log"; }
code=$(challenge "$url_a" 2)
[[ $code == 503 ]] && ok || bad "etcd down: A answers 503 (HTTP $code)"
etcd_start
etcd_healthy && ok || bad "etcd back"
code=$(challenge "$url_a" 3)
[[ $code == 200 ]] && ok || bad "etcd back: A answers a challenge (HTTP $code) $(cat "$tmp/c3.json")"

halt b
halt a
halt etcd
finish cli_cluster_rate
