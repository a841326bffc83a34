#!/usr/bin/env bash
# A cluster end to end: three real etcd members on loopback, and aecsd replicas
# sharing that store, with the simulated TEE on every side (identity evidence
# a sim quote of SERVER_MR; the application's a sim quote of APP_MR).
#
#   - replica A is initialized; replica B starts sealed with --join A and gets
#     the root key by attestation: it answers status, lists and releases
#     secrets made through A;
#   - replica C runs another enclave (OTHER_MR): its join is refused (by its
#     own check of A's identity) and it stays sealed; a join request made by
#     hand with OTHER_MR evidence is refused by A and audited (cluster.join);
#   - client failover: credentials listing A then B keep working once A dies;
#   - etcd: one member down, creates still work; two down, a create fails
#     with a clear message, and once they are back nothing half-written is
#     listed and the retried create succeeds;
#   - everything restarted: A unsealed with shares, B (started while A was
#     sealed) joins at a later round, and again after a restart; every secret
#     is still there;
#   - unseal progress shared: A and B restarted sealed without --join, share 1
#     given to A and share 2 to B: both work (B at once, A once it collects
#     share 2), etcd never holds a share, nothing is left under /meta/unseal,
#     and the secrets made before are listed and released through both;
#   - A killed (-9) during a loop of creates through credentials listing A
#     then B: every acknowledged create is listed, the loop goes on through B.
. "$(dirname "$0")/lib.sh"

SERVER_MR=$(hexrep 5e 32)
OTHER_MR=$(hexrep 07 32)
APP_MR=$(hexrep a1 32)

command -v etcd >/dev/null && command -v etcdctl >/dev/null || {
  echo "cli_cluster: etcd and etcdctl are needed"
  exit 1
}

track_processes

# --- etcd: three members --------------------------------------------------------
declare -a cport pport
cluster=""
for i in 1 2 3; do
  cport[$i]=$(free_port)
  pport[$i]=$(free_port)
  cluster+="${cluster:+,}m$i=http://127.0.0.1:${pport[$i]}"
done
eps="http://127.0.0.1:${cport[1]},http://127.0.0.1:${cport[2]},http://127.0.0.1:${cport[3]}"

etcd_start() { # I
  local i=$1
  etcd --name "m$i" --data-dir "$tmp/etcd$i" \
    --listen-client-urls "http://127.0.0.1:${cport[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${cport[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${pport[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${pport[$i]}" \
    --initial-cluster "$cluster" --initial-cluster-token aecs-cli-cluster \
    --initial-cluster-state new --heartbeat-interval 50 --election-timeout 500 \
    --logger zap --log-level warn >>"$tmp/etcd$i.log" 2>&1 &
  procs[etcd$i]=$!
}
# etcd_healthy ENDPOINTS: waits (up to 20 s) until every endpoint is healthy
etcd_healthy() {
  local n
  for n in $(seq 1 100); do
    etcdctl --endpoints="$1" --dial-timeout=1s --command-timeout=2s endpoint health \
      >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "etcd $1 is not healthy" >&2
  tail -5 "$tmp"/etcd*.log >&2
  return 1
}
for i in 1 2 3; do etcd_start "$i"; done
etcd_healthy "$eps" && ok || { bad "three etcd members healthy"; finish cli_cluster; exit 1; }

# --- replicas ---------------------------------------------------------------------
# replica NAME PORT MRENCLAVE ARGS...: an aecsd on the etcd store; B and C use A's TLS
# certificate and key (the replicas of a cluster share one).
replica() {
  local name=$1 port=$2 mr=$3 tls=()
  shift 3
  [[ $name != a ]] && tls=(--tls-cert "$tmp/a/tls/cert.pem" --tls-key "$tmp/a/tls/key.pem")
  "$AECSD" --data "$tmp/$name" --listen "127.0.0.1:$port" --threads 2 \
    --store "etcd:$eps" --access-log "$tmp/$name.access" --attester sim \
    --sim-dir "$tmp/sim" --sim-mrenclave "$mr" --insecure-trust-sim "$tmp/sim" \
    --rate-burst 1000 --rate-per-second 1000 "${tls[@]}" "$@" >>"$tmp/$name.log" 2>&1 &
  procs[$name]=$!
  wait_https "https://127.0.0.1:$port/v1/health" || { cat "$tmp/$name.log"; exit 1; }
}
# state CONFIG: the state a replica reports
state() {
  "$AECS" admin status --config "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null
}
# wait_state CONFIG STATE: up to 15 s
wait_state() {
  local n
  for n in $(seq 1 75); do
    [[ $(state "$1") == "$2" ]] && return 0
    sleep 0.2
  done
  return 1
}
# creds NAME SERVERS: admin and service credentials for these servers; the admin's trusts
# SERVER_MR, which init and unseal check first
creds() {
  printf 'server: [%s]\nkey: %s\nca: %s\n' "$2" "$tmp/admin.pem" "$tmp/a/tls/cert.pem" \
    >"$tmp/admin-$1.yaml"
  printf 'server_policy: {enclaveMatchAnyRules: [{mrenclave: %s, allow_sim: true}]}\n' \
    "$SERVER_MR" >>"$tmp/admin-$1.yaml"
  printf 'verifier: {insecure_trust_sim: %s}\n' "$tmp/sim" >>"$tmp/admin-$1.yaml"
  printf 'server: [%s]\nkey: %s\nca: %s\nservice: svc\n' "$2" "$tmp/svc.pem" \
    "$tmp/a/tls/cert.pem" >"$tmp/svc-$1.yaml"
}
# client FILE SERVERS: a release client (the sim as APP_MR) trusting SERVER_MR
client() {
  cat >"$1" <<EOF
server: [$2]
ca: $tmp/a/tls/cert.pem
server_policy:
  enclaveMatchAnyRules:
  - {mrenclave: $SERVER_MR, allow_sim: true}
verifier: {insecure_trust_sim: $tmp/sim}
attester:
  type: sim
  sim_dir: $tmp/sim
  sim_identity: {mrenclave: $APP_MR}
timeouts: {connect: 5, request: 30}
EOF
}
# policy FILE NAME...: AES-256 secrets releasable to APP_MR
policy() {
  local f=$1 n
  shift
  {
    printf 'apiVersion: v1\nkind: SecretPolicy\nsecrets:\n'
    for n in "$@"; do
      printf -- '- spec:\n    name: %s\n    type: SECRET_TYPE_AES256_KEY\n    service: svc\n' "$n"
      printf '    policy:\n      enclaveMatchAnyRules:\n      - {mrenclave: %s, allow_sim: true}\n' \
        "$APP_MR"
    done
  } >"$f"
}
names() { # CONFIG: the secret names listed through it, sorted, on one line
  "$AECS" secret list --config "$1" --json 2>"$tmp/list.err" |
    python3 -c 'import json,sys; print(" ".join(sorted(s["name"] for s in json.load(sys.stdin)["secrets"])))'
}

expect_exit 0 "sim init" -- "$AECS" sim init "$tmp/sim"
expect_exit 0 "keygen admin" -- "$AECS" keygen --out "$tmp/admin"
expect_exit 0 "keygen svc" -- "$AECS" keygen --out "$tmp/svc"
port_a=$(free_port)
port_b=$(free_port)
port_c=$(free_port)
url_a=https://127.0.0.1:$port_a
url_b=https://127.0.0.1:$port_b
url_c=https://127.0.0.1:$port_c

replica a "$port_a" "$SERVER_MR"
creds a "$url_a"
creds b "$url_b"
creds c "$url_c"
creds ab "$url_a, $url_b"
expect_exit 0 "init through A" -- "$AECS" admin init --config "$tmp/admin-a.yaml" --shares 3 \
  --threshold 2 --json
cp "$tmp/out" "$tmp/init.json"
share() { json_field "$tmp/init.json" "d['shares'][$1]"; }
expect_exit 0 "register svc through A" -- "$AECS" admin service register \
  --config "$tmp/admin-a.yaml" --name svc --pubkey "$tmp/svc.pub.pem"
policy "$tmp/p1.yaml" s1 s2
expect_exit 0 "secrets through A" -- "$AECS" secret create --config "$tmp/svc-a.yaml" \
  --policy "$tmp/p1.yaml"

# --- B joins ----------------------------------------------------------------------
replica b "$port_b" "$SERVER_MR" --join "$url_a"
wait_state "$tmp/admin-b.yaml" working && ok || { bad "B is working after --join A"; cat "$tmp/b.log"; }
grep -q "join: joined the cluster through $url_a" "$tmp/b.log" && ok || bad "B logs the join"
policy "$tmp/p2.yaml" s3
expect_exit 0 "a secret through A after the join" -- "$AECS" secret create \
  --config "$tmp/svc-a.yaml" --policy "$tmp/p2.yaml"
[[ $(names "$tmp/svc-b.yaml") == "s1 s2 s3" ]] && ok || bad "B lists what A made: $(names "$tmp/svc-b.yaml")"
client "$tmp/client-b.yaml" "$url_b"
expect_exit 0 "fetch s3 through B" -- "$AECS" fetch --config "$tmp/client-b.yaml" --service svc \
  --name s3 --out "$tmp/s3.key"
[[ $(stat -c %s "$tmp/s3.key" 2>/dev/null) == 32 ]] && ok || bad "s3 released through B (32 bytes)"
# no key material in B's log: the shares never were there, the key is never printed
for s in 0 1 2; do
  grep -qF -- "$(share $s | cut -d: -f5)" "$tmp/b.log" && bad "share $s in B's log" || ok
done

# --- C runs another enclave: refused --------------------------------------------
replica c "$port_c" "$OTHER_MR" --join "$url_a"
for n in $(seq 1 50); do grep -q "staying sealed" "$tmp/c.log" && break; sleep 0.2; done
[[ $(state "$tmp/admin-c.yaml") == sealed ]] && ok || bad "C (OTHER_MR) stays sealed"
grep -q "another MRENCLAVE" "$tmp/c.log" && ok || { bad "C logs why: another MRENCLAVE"; cat "$tmp/c.log"; }
# the same join made by hand with OTHER_MR evidence reaches A, which refuses and audits it
nonce=$(curl -s --cacert "$tmp/a/tls/cert.pem" -X POST -d '{}' "$url_a/v1/challenge" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["nonce"])')
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/j.pem" 2>/dev/null
pub=$(openssl ec -in "$tmp/j.pem" -pubout -outform DER 2>/dev/null |
  python3 -c 'import sys; print(sys.stdin.buffer.read()[-65:].hex())')
rd=$(python3 -c "import hashlib; print(hashlib.sha512(b'aecs-release-v1\0' + bytes.fromhex('$nonce') + bytes.fromhex('$pub')).hexdigest())")
expect_exit 0 "sim evidence of OTHER_MR" -- "$AECS" sim quote --sim "$tmp/sim" \
  --report-data "$rd" --mrenclave "$OTHER_MR" --mrsigner "$(hexrep 00 32)" --out "$tmp/other.quote"
printf '{"evidence": "%s", "pubkey": "%s", "nonce": "%s"}' "$(base64 -w0 "$tmp/other.quote")" \
  "$pub" "$nonce" >"$tmp/join.json"
curl -s --cacert "$tmp/a/tls/cert.pem" -X POST --data-binary "@$tmp/join.json" \
  -H 'Content-Type: application/json' -o "$tmp/join.out" -w '%{http_code}' \
  "$url_a/v1/cluster/join" >"$tmp/join.code"
[[ $(cat "$tmp/join.code") == 403 ]] && ok || bad "A refuses an OTHER_MR join: HTTP $(cat "$tmp/join.code")"
check "the refusal's code" "$tmp/join.out" "d['error']['code']" forbidden
expect_exit 0 "audit list through A" -- "$AECS" admin audit list --config "$tmp/admin-a.yaml" --json
check "A audited the refused join" "$tmp/out" \
  "any(e['action'] == 'cluster.join' and e['result'] == 'refused' and 'MRENCLAVE' in (e.get('detail') or '') for e in d['entries'])" True
check "A audited B's join" "$tmp/out" \
  "any(e['action'] == 'cluster.join' and e['result'] == 'ok' for e in d['entries'])" True
check "B audited cluster.joined" "$tmp/out" \
  "any(e['action'] == 'cluster.joined' and e['result'] == 'ok' for e in d['entries'])" True
halt c

# --- client failover: A dies ----------------------------------------------------------
client "$tmp/client-ab.yaml" "$url_a, $url_b"
halt a -KILL
expect_exit 0 "status with A dead (A, B)" -- "$AECS" admin status --config "$tmp/admin-ab.yaml" --json
check "B answers" "$tmp/out" "d['state']" working
[[ $(names "$tmp/svc-ab.yaml") == "s1 s2 s3" ]] && ok || bad "list with A dead: $(cat "$tmp/list.err")"
expect_exit 0 "fetch with A dead" -- "$AECS" fetch --config "$tmp/client-ab.yaml" --service svc \
  --name s1 --out "$tmp/s1.key"

# --- etcd members down ------------------------------------------------------------------
halt etcd1 -KILL
policy "$tmp/p4.yaml" s4
expect_exit 0 "create with one etcd member down" -- "$AECS" secret create \
  --config "$tmp/svc-ab.yaml" --policy "$tmp/p4.yaml"
halt etcd2 -KILL
policy "$tmp/p5.yaml" s5
t0=$SECONDS
"$AECS" secret create --config "$tmp/svc-ab.yaml" --policy "$tmp/p5.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "create with two members down: exit $rc after $((SECONDS - t0)) s: $(head -c 300 "$tmp/err")"
[[ $rc -ne 0 ]] && ok || bad "a create with two of three etcd members down fails"
grep -qiE "etcd|leader|store|quorum" "$tmp/err" && ok || { bad "the failure names the store"; cat "$tmp/err"; }
etcd_start 1
etcd_start 2
etcd_healthy "$eps" && ok || bad "etcd back"
listed=$(names "$tmp/svc-ab.yaml")
[[ $listed == "s1 s2 s3 s4" || $listed == "s1 s2 s3 s4 s5" ]] && ok || bad "list after etcd is back: '$listed' $(cat "$tmp/list.err")"
if [[ $listed == *s5* ]]; then
  # the store committed it after all: then it is whole (it is released)
  expect_exit 0 "s5 committed late is whole" -- "$AECS" fetch --config "$tmp/client-ab.yaml" \
    --service svc --name s5 --out "$tmp/s5.key"
else
  expect_exit 0 "the create retried" -- "$AECS" secret create --config "$tmp/svc-ab.yaml" \
    --policy "$tmp/p5.yaml"
fi
[[ $(names "$tmp/svc-ab.yaml") == "s1 s2 s3 s4 s5" ]] && ok || bad "s5 listed once"
expect_exit 0 "audit verify" -- "$AECS" admin audit verify --config "$tmp/admin-ab.yaml"

# --- everything restarted -----------------------------------------------------------------
halt b
for i in 1 2 3; do halt "etcd$i"; done
for i in 1 2 3; do etcd_start "$i"; done
etcd_healthy "$eps" && ok || bad "etcd restarted"
replica a "$port_a" "$SERVER_MR"
[[ $(state "$tmp/admin-a.yaml") == sealed ]] && ok || bad "A restarts sealed"
replica b "$port_b" "$SERVER_MR" --join "$url_a"
expect_exit 0 "unseal A (1)" -- "$AECS" admin unseal --config "$tmp/admin-a.yaml" "$(share 0)"
expect_exit 0 "unseal A (2)" -- "$AECS" admin unseal --config "$tmp/admin-a.yaml" "$(share 2)"
[[ $(state "$tmp/admin-a.yaml") == working ]] && ok || bad "A unsealed with two shares"
# B started while A was sealed: its first rounds failed, and it joins at a later one
grep -q "staying sealed" "$tmp/b.log" && ok || bad "B's join to a sealed A failed"
wait_state "$tmp/admin-b.yaml" working && ok || { bad "B joins A at a later round"; tail -20 "$tmp/b.log"; }
grep -q "join: round 1 got no root key" "$tmp/b.log" && ok || bad "B logs its rounds"
# restarted with another enclave's replica listed first: C refuses, A gives the key
halt b
replica b "$port_b" "$SERVER_MR" --join "$url_c,$url_a"
wait_state "$tmp/admin-b.yaml" working && ok || { bad "B joins after the restart"; tail -20 "$tmp/b.log"; }
[[ $(names "$tmp/svc-b.yaml") == "s1 s2 s3 s4 s5" ]] && ok || bad "every secret after the restart"
expect_exit 0 "fetch s5 through B after the restart" -- "$AECS" fetch \
  --config "$tmp/client-b.yaml" --service svc --name s5 --out "$tmp/s5b.key"

# --- unseal progress shared by replicas: share 1 to A, share 2 to B -------------------------
halt a
halt b
replica a "$port_a" "$SERVER_MR"
replica b "$port_b" "$SERVER_MR"
[[ $(state "$tmp/admin-a.yaml") == sealed && $(state "$tmp/admin-b.yaml") == sealed ]] && ok ||
  bad "A and B restart sealed (no --join)"
expect_exit 0 "aecs admin status of a sealed B" -- "$AECS" admin status --config "$tmp/admin-b.yaml"
expect_out "(progress shared with the other replicas)" "status says progress is shared"
expect_exit 0 "share 1 to A" -- "$AECS" admin unseal --config "$tmp/admin-a.yaml" "$(share 0)"
expect_out "1 of 2 shares in; sealed" "A has one share"
grep -q "unseal: share 1 forwarded to replica" "$tmp/a.log" && ok || { bad "A forwards share 1"; tail -5 "$tmp/a.log"; }
# B collects it (its timer runs every second): progress counts what was forwarded
received() { # CONFIG: unseal.received of a sealed replica
  "$AECS" admin status --config "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("unseal", {}).get("received"))' 2>/dev/null
}
for n in $(seq 1 50); do [[ $(received "$tmp/admin-b.yaml") == 1 ]] && break; sleep 0.2; done
[[ $(received "$tmp/admin-b.yaml") == 1 ]] && ok || { bad "B collects share 1"; tail -5 "$tmp/b.log"; }
# etcd holds no share, in clear, base64 or hex (its envelopes are sealed to mailbox keys)
no_share_in_etcd() {
  etcdctl --endpoints="$eps" get "" --prefix >"$tmp/etcd.dump" 2>/dev/null || return 1
  [[ -s $tmp/etcd.dump ]] || return 1
  python3 - "$tmp/etcd.dump" "$(share 0)" "$(share 1)" "$(share 2)" <<'PY'
import base64, sys
dump = open(sys.argv[1], 'rb').read()
for text in sys.argv[2:]:
    data = base64.b64decode(text.split(':')[4])
    for form in (text.encode(), text.split(':')[4].encode(), data.hex().encode(),
                 data.hex().upper().encode(), data):
        if form in dump:
            sys.exit('a share is in etcd')
PY
}
no_share_in_etcd && ok || bad "no share in etcd while A and B are sealed"
expect_exit 0 "share 2 to B" -- "$AECS" admin unseal --config "$tmp/admin-b.yaml" "$(share 1)"
expect_out "2 of 2 shares in; working" "B works at once with share 1 forwarded by A"
wait_state "$tmp/admin-a.yaml" working && ok || { bad "A works once it collects share 2"; tail -20 "$tmp/a.log"; }
grep -q "unsealed with 2 shares (1 forwarded by other replicas)" "$tmp/a.log" && ok || bad "A's log says how it unsealed"
[[ $(names "$tmp/svc-a.yaml") == "s1 s2 s3 s4 s5" ]] && ok || bad "A lists every secret after a shared unseal"
[[ $(names "$tmp/svc-b.yaml") == "s1 s2 s3 s4 s5" ]] && ok || bad "B lists every secret after a shared unseal"
client "$tmp/client-a.yaml" "$url_a"
expect_exit 0 "fetch s2 through A after a shared unseal" -- "$AECS" fetch \
  --config "$tmp/client-a.yaml" --service svc --name s2 --out "$tmp/s2a.key"
expect_exit 0 "fetch s2 through B after a shared unseal" -- "$AECS" fetch \
  --config "$tmp/client-b.yaml" --service svc --name s2 --out "$tmp/s2b.key"
cmp -s "$tmp/s2a.key" "$tmp/s2b.key" && ok || bad "A and B release the same s2"
[[ -z $(etcdctl --endpoints="$eps" get /meta/unseal/r/ --prefix --keys-only 2>/dev/null) &&
  -z $(etcdctl --endpoints="$eps" get /meta/unseal/s/ --prefix --keys-only 2>/dev/null) ]] && ok ||
  bad "no mailbox or forwarded share is left in etcd"
no_share_in_etcd && ok || bad "no share in etcd once working"
for s in 0 1 2; do
  grep -qF -- "$(share $s | cut -d: -f5)" "$tmp/a.log" "$tmp/b.log" && bad "share $s in a log" || ok
done

# --- a replica killed mid-load: nothing acknowledged is lost, clients fail over --------------
: >"$tmp/acked"
(
  for i in $(seq 1 25); do
    policy "$tmp/l$i.yaml" "l$i"
    "$AECS" secret create --config "$tmp/svc-ab.yaml" --policy "$tmp/l$i.yaml" >/dev/null 2>&1 &&
      echo "l$i" >>"$tmp/acked"
  done
) &
load=$!
sleep 2
halt a -KILL
wait "$load"
acked=$(wc -l <"$tmp/acked")
echo "killed mid-load: $acked of 25 creates acknowledged (A first, then B)"
[[ $acked -ge 20 ]] && ok || bad "creates fail over to B once A is dead ($acked acknowledged)"
listed=$(names "$tmp/svc-b.yaml")
lost=0
while read -r n; do [[ " $listed " == *" $n "* ]] || lost=$((lost + 1)); done <"$tmp/acked"
[[ $lost -eq 0 ]] && ok || bad "$lost acknowledged secrets lost when A was killed"
expect_exit 0 "audit verify after the kill" -- "$AECS" admin audit verify --config "$tmp/admin-b.yaml"

halt b
halt a
for i in 1 2 3; do halt "etcd$i"; done
finish cli_cluster
