#!/usr/bin/env bash
# cli_client_args.sh - the aecsd client commands (`aecs keygen`, `aecs admin
# ...`, `aecs secret ...`) as far as they run without aecsd: --help on every
# command and subcommand (stdout, exit 0), argument and credential file errors
# (stderr "aecs: ...", exit 2), a server that cannot be reached (exit 2),
# shares checked locally and never echoed, and `aecs keygen` fully: files,
# modes, refusal to overwrite, and the key id equal to what openssl computes.
# Then every command once against tests/unit/common/tls_server.py --api, an
# HTTPS stand-in with canned answers that checks signatures on its own: the
# plain and --json outputs, and exit 1 for its refusals.
# Exit codes: 0 done, 1 refused by aecsd, 2 usage / unreadable input / no answer.
. "$(dirname "$0")/lib.sh"
# The caller's own settings must not leak into the runs below.
unset AECS_CONFIG AECS_SERVER AECS_KEY AECS_CA AECS_FINGERPRINT

KEYS=$PWD/tests/data/keys
# openssl x509 -in tests/data/keys/tls_server.pem -noout -fingerprint -sha256
FP=13:F5:08:48:D8:A3:03:36:2D:77:64:07:F6:43:96:7C:31:41:73:4C:46:F3:13:50:81:C3:46:E1:C7:E6:D7:89
# A credential file for a server nobody listens on (port 1 of loopback).
cred() { printf '%s\n' "$@" >"$tmp/cred.yaml"; }
cred "server: https://127.0.0.1:1" "key: $KEYS/admin_p256.pem" "fingerprint: $FP"
C=$tmp/cred.yaml
# The same with a server_policy, which init and unseal need before they send anything.
MR=5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e
printf 'server: https://127.0.0.1:1\nkey: %s/admin_p256.pem\nfingerprint: %s\nserver_policy: {enclaveMatchAnyRules: [{mrenclave: %s}]}\n' \
  "$KEYS" "$FP" "$MR" >"$tmp/policy.yaml"
CP=$tmp/policy.yaml

# ---- help: every command and subcommand ----
expect_exit 0 "aecs --help" -- "$AECS" --help
for c in keygen admin secret; do expect_out "  $c " "aecs --help lists $c"; done
helps=(
  "keygen" "admin" "admin init" "admin unseal" "admin provision" "admin status"
  "admin service" "admin service register" "admin service list" "admin service unregister"
  "admin audit" "admin audit list" "admin audit verify"
  "secret" "secret create" "secret list" "secret destroy" "secret get-public"
)
for h in "${helps[@]}"; do
  # shellcheck disable=SC2086
  expect_exit 0 "$h --help" -- "$AECS" $h --help
  expect_out "usage: aecs $h" "$h --help prints its usage"
  [[ -s $tmp/err ]] && bad "$h --help wrote to stderr" || ok
  # shellcheck disable=SC2086
  expect_exit 0 "$h -h" -- "$AECS" $h -h
done
expect_exit 0 "admin --help" -- "$AECS" admin --help
for w in init unseal provision status service audit "fingerprint:" "ca:" "server_policy:" AECS_CONFIG AECS_SERVER \
  AECS_FINGERPRINT "Exit status"; do expect_out "$w" "admin --help mentions $w"; done
expect_exit 0 "admin unseal --help" -- "$AECS" admin unseal --help
expect_out "visible to other users" "unseal --help warns about arguments in ps"
expect_out "aecs admin unseal --config CRED -" "unseal --help shows reading stdin"
expect_out "aecs admin unseal --config CRED --reset SHARE|-" "unseal --help shows the reset with a share"
expect_exit 0 "admin init --help" -- "$AECS" admin init --help
for o in --config --shares --threshold --json --insecure-skip-server-attestation; do
  expect_out "$o" "init --help lists $o"
done
expect_exit 0 "admin unseal --help" -- "$AECS" admin unseal --help
expect_out "--insecure-skip-server-attestation" "unseal --help lists the insecure flag"
expect_out "server_policy" "unseal --help says the identity is checked"
expect_exit 0 "secret create --help" -- "$AECS" secret create --help
for o in --policy --update --insecure-allow-any-enclave; do expect_out "$o" "create --help lists $o"; done

# ---- unknown commands and options ----
expect_exit 2 "admin without a command" -- "$AECS" admin
expect_exit 2 "admin frob" -- "$AECS" admin frob
expect_err "unknown command 'frob'" "admin frob"
expect_exit 2 "admin service frob" -- "$AECS" admin service frob
expect_exit 2 "secret frob" -- "$AECS" secret frob
expect_exit 2 "admin status --frob" -- "$AECS" admin status --config "$C" --frob
expect_exit 2 "admin status extra" -- "$AECS" admin status --config "$C" extra
expect_err "aecs: admin status takes no arguments besides options ('extra')" "status extra"

# ---- keygen ----
expect_exit 2 "keygen without --out" -- "$AECS" keygen
expect_err "aecs: keygen needs --out NAME" "keygen without --out"
expect_exit 2 "keygen extra" -- "$AECS" keygen --out "$tmp/k" extra
expect_exit 0 "keygen" -- "$AECS" keygen --out "$tmp/admin"
[[ $(stat -c %a "$tmp/admin.pem") == 600 ]] && ok || bad "private key mode $(stat -c %a "$tmp/admin.pem")"
[[ $(stat -c %a "$tmp/admin.pub.pem") == 644 ]] && ok || bad "public key mode"
id=$(openssl pkey -pubin -in "$tmp/admin.pub.pem" -outform DER | sha256sum | cut -c1-64)
expect_out "key id: $id" "keygen prints openssl's key id"
[[ $(openssl pkey -in "$tmp/admin.pem" -pubout -outform DER | sha256sum | cut -c1-64) == "$id" ]] \
  && ok || bad "the private key's public half"
openssl pkey -in "$tmp/admin.pem" -noout -text 2>/dev/null | grep -q "NIST CURVE: P-256" \
  && ok || bad "keygen makes a P-256 key"
head -1 "$tmp/admin.pem" | grep -qx -- "-----BEGIN PRIVATE KEY-----" && ok || bad "PKCS#8"
grep -q -- "-----BEGIN" "$tmp/out" "$tmp/err" && bad "keygen printed a key" || ok
sum=$(cat "$tmp/admin.pem" "$tmp/admin.pub.pem" | sha256sum)
expect_exit 2 "keygen over an existing key" -- "$AECS" keygen --out "$tmp/admin"
expect_err "aecs: $tmp/admin.pem already exists: keys are never replaced" "keygen refuses to overwrite"
[[ $(cat "$tmp/admin.pem" "$tmp/admin.pub.pem" | sha256sum) == "$sum" ]] && ok || bad "keygen changed the files"
rm "$tmp/admin.pem"
expect_exit 2 "keygen over an existing public key" -- "$AECS" keygen --out "$tmp/admin"
expect_err "$tmp/admin.pub.pem already exists" "keygen names the public file"
[[ ! -e $tmp/admin.pem ]] && ok || bad "keygen wrote a private key beside an old public key"
expect_exit 2 "keygen in a missing folder" -- "$AECS" keygen --out "$tmp/no/such/k"
expect_err "aecs: cannot create a temporary file beside $tmp/no/such/k.pem" "missing folder"

# ---- credentials ----
expect_exit 2 "no --config, no AECS_CONFIG" -- "$AECS" admin status
expect_err "aecs: no credential file: give --config FILE or set AECS_CONFIG" "no credentials"
expect_exit 2 "missing credential file" -- "$AECS" admin status --config "$tmp/none.yaml"
expect_err "aecs: credential file: cannot open $tmp/none.yaml" "missing credential file"
expect_exit 2 "AECS_CONFIG is the default" -- env AECS_CONFIG="$tmp/env.yaml" "$AECS" admin status
expect_err "cannot open $tmp/env.yaml" "AECS_CONFIG names the file"
printf 'server: https://127.0.0.1:1\nfingerprint: %s\nfoo: 1\n' "$FP" >"$tmp/bad.yaml"
expect_exit 2 "unknown key" -- "$AECS" admin status --config "$tmp/bad.yaml"
expect_err "aecs: $tmp/bad.yaml:3: foo: unknown key (known keys here: server, key, ca, fingerprint, service, server_policy, verifier, service_id, accept_insecure_server)" \
  "unknown key names file, line and the known keys"
printf 'server: https://127.0.0.1:1\nfingerprint: %s\nserver_policy: {enclaveMatchAnyRules: [{allow_sim: true}]}\n' "$FP" >"$tmp/anyserver.yaml"
expect_exit 2 "a server_policy that names no identity" -- "$AECS" admin status --config "$tmp/anyserver.yaml"
expect_err "this rule names no enclave identity, so any server would be trusted" "server_policy naming no identity"
printf 'server: https://127.0.0.1:1\nca: %s/tls_ca.pem\nfingerprint: %s\n' "$KEYS" "$FP" >"$tmp/both.yaml"
expect_exit 2 "ca and fingerprint" -- "$AECS" admin status --config "$tmp/both.yaml"
expect_err "$tmp/both.yaml:3: \`ca\` and \`fingerprint\` are both given" "both"
printf 'server: http://127.0.0.1:1\nfingerprint: %s\n' "$FP" >"$tmp/http.yaml"
expect_exit 2 "plain http" -- "$AECS" admin status --config "$tmp/http.yaml"
expect_err "aecs: http://127.0.0.1:1: plain http:// is refused" "plain http"
printf 'server: https://127.0.0.1:1\nca: missing-ca.pem\n' >"$tmp/noca.yaml"
expect_exit 2 "missing ca" -- "$AECS" admin status --config "$tmp/noca.yaml"
expect_err "aecs: ca: cannot open $tmp/missing-ca.pem" "ca relative to the credential file"
printf 'server: https://127.0.0.1:1\nfingerprint: %s\n' "$FP" >"$tmp/nokey.yaml"
expect_exit 2 "signed command without a key" -- "$AECS" admin service list --config "$tmp/nokey.yaml"
expect_err "$tmp/nokey.yaml: no \`key\`" "no key"
# the environment overrides the file
expect_exit 2 "AECS_SERVER overrides" -- env AECS_SERVER=https://127.0.0.1:2 "$AECS" admin status --config "$C"
expect_err "cannot reach https://127.0.0.1:2" "AECS_SERVER overrides the file"
expect_exit 2 "environment alone" -- env AECS_SERVER=https://127.0.0.1:1 AECS_FINGERPRINT="$FP" "$AECS" admin status
expect_err "cannot reach https://127.0.0.1:1" "environment alone"
expect_exit 2 "AECS_FINGERPRINT malformed" -- env AECS_FINGERPRINT=abc "$AECS" admin status --config "$C"
expect_err "aecs: AECS_FINGERPRINT: a fingerprint is the SHA-256" "bad AECS_FINGERPRINT"

# ---- nobody listening: no answer is exit 2 ----
expect_exit 2 "status, nothing listening" -- "$AECS" admin status --config "$C"
expect_err "aecs: cannot reach https://127.0.0.1:1: " "status, nothing listening"
expect_exit 2 "service list, nothing listening" -- "$AECS" admin service list --config "$C"
expect_err "cannot reach" "signed request, nothing listening"

# ---- admin init ----
expect_exit 2 "init without --shares" -- "$AECS" admin init --config "$C" --threshold 2
expect_err "aecs: admin init needs --shares N and --threshold K" "init without --shares"
expect_exit 2 "init --shares 1" -- "$AECS" admin init --config "$C" --shares 1 --threshold 1
expect_err "aecs: --shares must be a number from 2 to 16" "init --shares 1"
expect_exit 2 "init --shares 17" -- "$AECS" admin init --config "$C" --shares 17 --threshold 2
expect_exit 2 "init --shares x" -- "$AECS" admin init --config "$C" --shares x --threshold 2
expect_exit 2 "init --threshold above --shares" -- "$AECS" admin init --config "$C" --shares 3 --threshold 4
expect_err "aecs: --threshold must be a number from 2 to --shares (3)" "threshold above shares"
expect_exit 2 "init --threshold 1" -- "$AECS" admin init --config "$C" --shares 3 --threshold 1
expect_exit 2 "init without server_policy" -- "$AECS" admin init --config "$C" --shares 3 --threshold 2
expect_err "aecs: $C has no \`server_policy\`: admin init sends nothing to a server whose identity it cannot check" \
  "init without server_policy"
expect_err "enclaveMatchAnyRules:" "init without server_policy says how to add one"
expect_exit 2 "init, nothing listening" -- "$AECS" admin init --config "$CP" --shares 3 --threshold 2
expect_err "cannot reach" "init, nothing listening"
expect_exit 2 "init --insecure-skip-server-attestation, nothing listening" -- "$AECS" admin init \
  --config "$C" --shares 3 --threshold 2 --insecure-skip-server-attestation
expect_err "WARNING: --insecure-skip-server-attestation: the identity of https://127.0.0.1:1 is NOT checked" \
  "the insecure flag warns"
expect_err "cannot reach" "init, insecure, nothing listening"

# ---- admin unseal ----
# A well-formed share, made by hand from docs/design-keystore.md's format: set, k, index,
# base64 of 32 bytes, and the first 4 bytes of SHA-256 over everything before the last ':'.
data=$(head -c 32 /dev/zero | tr '\0' '\7' | base64)
body="aecs-share-v1:0a1b2c3d:2:1:$data"
share="$body:$(printf '%s' "$body" | sha256sum | cut -c1-8)"
expect_exit 2 "unseal without a share" -- "$AECS" admin unseal --config "$C"
expect_err "aecs: admin unseal needs exactly one SHARE" "unseal without a share"
expect_exit 2 "reset without a share" -- "$AECS" admin unseal --config "$C" --reset
expect_err "aecs: admin unseal --reset needs exactly one SHARE" "reset without a share"
expect_exit 2 "unseal with two" -- "$AECS" admin unseal --config "$C" "$share" "$share"
expect_exit 2 "unseal, malformed share" -- "$AECS" admin unseal --config "$C" "aecs-share-v1:0a1b2c3d:2:1:xx:00000000"
expect_err "aecs: not a valid share: share 1: " "malformed share"
expect_exit 2 "unseal, mistyped share" -- "$AECS" admin unseal --config "$C" "${share%?}0"
expect_err "aecs: not a valid share" "checksum"
grep -qF -- "$data" "$tmp/err" "$tmp/out" && bad "a refused share was echoed" || ok
expect_exit 2 "unseal without server_policy" -- "$AECS" admin unseal --config "$C" "$share"
expect_err "has no \`server_policy\`: admin unseal sends nothing" "unseal without server_policy"
grep -qF -- "$data" "$tmp/err" "$tmp/out" && bad "the share was echoed" || ok
expect_exit 2 "unseal, share argument, nothing listening" -- "$AECS" admin unseal --config "$CP" "$share"
expect_err "cannot reach" "a good share is sent"
grep -qF -- "$data" "$tmp/err" "$tmp/out" && bad "the share was echoed" || ok
"$AECS" admin unseal --config "$CP" - <<<"  $share  " >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 2 ]] && ok || bad "unseal - : exit"
expect_err "cannot reach" "a share from standard input is sent"
grep -qF -- "$data" "$tmp/err" "$tmp/out" && bad "the share from stdin was echoed" || ok
"$AECS" admin provision --config "$CP" - <<<"$share" >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 2 ]] && grep -q "cannot reach" "$tmp/err" && ok || bad "provision is unseal"
"$AECS" admin unseal --config "$C" - </dev/null >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 2 ]] && ok || bad "unseal - with nothing on stdin"
expect_err "aecs: no share on standard input" "empty stdin"

# ---- admin service ----
expect_exit 2 "register without --name" -- "$AECS" admin service register --config "$C" --pubkey "$KEYS/admin_p256.pub.pem"
expect_err "aecs: admin service register needs --name NAME" "register without --name"
expect_exit 2 "register --name .x" -- "$AECS" admin service register --config "$C" --name .x --pubkey "$KEYS/admin_p256.pub.pem"
expect_err "aecs: --name must not start with '.'" "register --name .x"
expect_exit 2 "register --name a/b" -- "$AECS" admin service register --config "$C" --name a/b --pubkey "$KEYS/admin_p256.pub.pem"
expect_err "aecs: --name may only hold A-Z a-z 0-9 . _ - (character 2 is not one)" "register --name a/b"
expect_exit 2 "register without --pubkey" -- "$AECS" admin service register --config "$C" --name s1
expect_err "needs --pubkey FILE" "register without --pubkey"
expect_exit 2 "register, missing pubkey" -- "$AECS" admin service register --config "$C" --name s1 --pubkey "$tmp/none.pem"
expect_err "aecs: --pubkey: cannot open $tmp/none.pem" "missing pubkey"
expect_exit 2 "register an RSA key" -- "$AECS" admin service register --config "$C" --name s1 --pubkey "$KEYS/rsa2048.pub.pem"
expect_err "aecs: $KEYS/rsa2048.pub.pem: the public key is an RSA key; aecs admin keys are ECDSA P-256 (make one with \`aecs keygen\`)" "RSA refused"
expect_exit 2 "register a private key" -- "$AECS" admin service register --config "$C" --name s1 --pubkey "$KEYS/admin_p256.pem"
expect_err "not \"PUBLIC KEY\"" "private key as --pubkey"
expect_exit 2 "register, nothing listening" -- "$AECS" admin service register --config "$C" --name s1 --pubkey "$tmp/admin.pub.pem"
expect_err "cannot reach" "register sends"
expect_exit 2 "unregister without --name" -- "$AECS" admin service unregister --config "$C" --force
expect_err "needs --name NAME" "unregister without --name"
expect_exit 2 "list extra" -- "$AECS" admin service list --config "$C" extra

# ---- admin audit ----
expect_exit 2 "audit list --limit 0" -- "$AECS" admin audit list --config "$C" --limit 0
expect_err "aecs: --limit must be a number from 1 to 100000" "--limit 0"
expect_exit 2 "audit list --from x" -- "$AECS" admin audit list --config "$C" --from x
expect_err "aecs: --from must be an entry number" "--from x"
expect_exit 2 "audit verify, nothing listening" -- "$AECS" admin audit verify --config "$C"
expect_err "cannot reach" "audit verify sends"

# ---- secret ----
expect_exit 2 "create without --policy" -- "$AECS" secret create --config "$C"
expect_err "aecs: secret create needs --policy FILE" "create without --policy"
expect_exit 2 "create, missing policy" -- "$AECS" secret create --config "$C" --policy "$tmp/none.yaml"
expect_err "aecs: --policy: cannot open $tmp/none.yaml" "missing policy"
printf '\xff\xfe' >"$tmp/binary.yaml"
expect_exit 2 "create, not UTF-8" -- "$AECS" secret create --config "$C" --policy "$tmp/binary.yaml"
expect_err "is not UTF-8 text" "binary policy"
expect_exit 2 "create --insecure-allow-any-enclave warns" -- "$AECS" secret create --config "$C" \
  --policy tests/data/policy/seeds_sample.yaml --insecure-allow-any-enclave
expect_err "warning: --insecure-allow-any-enclave" "the insecure switch warns"
expect_exit 2 "list without a service" -- "$AECS" secret list --config "$C"
expect_err "aecs: secret list needs --service SERVICE (or \`service:\` in the credential file)" "list without a service"
expect_exit 2 "list --service ''" -- "$AECS" secret list --config "$C" --service ""
expect_err "--service must be 1 to 64 characters (got 0)" "empty --service"
expect_exit 2 "destroy without --name" -- "$AECS" secret destroy --config "$C" --service s1
expect_err "aecs: secret destroy needs --name NAME" "destroy without --name"
expect_exit 2 "destroy without a service" -- "$AECS" secret destroy --config "$C" --name k
expect_err "needs --service SERVICE" "destroy without a service"
expect_exit 2 "destroy --service ../x" -- "$AECS" secret destroy --config "$C" --name k --service ../x
expect_err "--service must not start with '.'" "destroy --service ../x"
expect_exit 2 "get-public without --name" -- "$AECS" secret get-public --config "$C" --service s1
expect_exit 2 "get-public --name 'a b'" -- "$AECS" secret get-public --config "$C" --service s1 --name "a b"
expect_err "--name may only hold" "get-public bad name"
# the credential file's service is the default
cred "server: https://127.0.0.1:1" "key: $KEYS/admin_p256.pem" "fingerprint: $FP" "service: payments"
expect_exit 2 "list with the file's service" -- "$AECS" secret list --config "$C"
expect_err "cannot reach" "the file's service is used"
expect_exit 2 "destroy with the file's service" -- "$AECS" secret destroy --config "$C" --name k
expect_err "cannot reach" "destroy uses the file's service"
expect_exit 2 "get-public with the file's service" -- "$AECS" secret get-public --config "$C" --name k
expect_err "cannot reach" "get-public uses the file's service"

# ---- against the HTTPS stand-in (tests/unit/common/tls_server.py --api) ----
ADMIN_ID=0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a29
pids=()
on_exit() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; }
# start_api NAME: a stand-in with tls_server.pem; its URL in $url
start_api() {
  python3 tests/unit/common/tls_server.py --api --cert "$KEYS/tls_server.pem" \
    --key "$KEYS/tls_server.key.pem" --pubkey "$KEYS/admin_p256.pub.pem" --key-id "$ADMIN_ID" \
    --log "$tmp/$1.log" --lifetime 300 >"$tmp/$1.port" 2>"$tmp/$1.err" &
  pids+=($!)
  for _ in $(seq 100); do [[ -s $tmp/$1.port ]] && break; sleep 0.1; done
  url=https://127.0.0.1:$(head -1 "$tmp/$1.port")
}
if ! command -v python3 >/dev/null; then
  echo "cli_client_args: no python3: the stand-in tests are skipped"
  finish cli_client_args
  exit $?
fi
start_api api
api_url=$url
A=$tmp/api.yaml
printf 'server: %s\nkey: %s/admin_p256.pem\nca: %s/tls_ca.pem\n' "$url" "$KEYS" "$KEYS" >"$A"

expect_exit 0 "status" -- "$AECS" admin status --config "$A"
expect_out "state:       working" "status state"
expect_out "service id:  0123456789abcdef0123456789abcdef" "status id"
expect_out "certificate: SHA-256 $FP" "status shows the server's fingerprint"
expect_out "trust:       CA $KEYS/tls_ca.pem" "status shows the trust"
expect_exit 0 "status --json" -- "$AECS" admin status --config "$A" --json
check "status --json" "$tmp/out" "d['id'], d['state']" "0123456789abcdef0123456789abcdef working"
printf 'server: %s\nfingerprint: %s\n' "$url" "$FP" >"$tmp/pinned.yaml"
expect_exit 0 "status, pinned" -- "$AECS" admin status --config "$tmp/pinned.yaml"
expect_out "trust:       pinned by \`fingerprint\`" "status, pinned"
printf 'server: %s\nfingerprint: %s\n' "$url" "6B:AB:E1:30:A5:B8:EC:91:BA:5B:DF:79:75:88:E8:81:FA:81:A8:1F:39:60:96:66:CD:86:94:83:E8:B9:B4:B7" >"$tmp/wrongpin.yaml"
expect_exit 2 "status, another pin" -- "$AECS" admin status --config "$tmp/wrongpin.yaml"
expect_err "TLS: the server's certificate (SHA-256 $FP) is not the one pinned" "wrong pin"

# init and unseal first check the server's identity: a stand-in has none to show. Without
# a server_policy nothing is sent; with one, or with the insecure flag, only GET /v1/identity.
# (tests/integration/cli_server.sh runs them against aecsd.)
sent() { wc -l <"$tmp/api.log"; }
before=$(sent)
expect_exit 2 "init, no server_policy" -- "$AECS" admin init --config "$A" --shares 3 --threshold 2
expect_err "has no \`server_policy\`" "init, no server_policy"
expect_exit 2 "unseal, no server_policy" -- "$AECS" admin unseal --config "$A" "$share"
[[ $(sent) -eq $before ]] && ok || bad "init or unseal without server_policy sent something"
printf 'server_policy: {enclaveMatchAnyRules: [{mrenclave: %s}]}\n' "$MR" | cat "$A" - >"$tmp/api-policy.yaml"
expect_exit 1 "init, a server without identity" -- "$AECS" admin init --config "$tmp/api-policy.yaml" --shares 3 --threshold 2
expect_err "(not_found)" "init, a server without identity"
expect_exit 1 "unseal, --insecure-skip-server-attestation, a server without identity" -- "$AECS" admin unseal \
  --config "$A" --insecure-skip-server-attestation "$share"
expect_err "WARNING: --insecure-skip-server-attestation" "unseal, insecure, warns"
[[ $(sent) -eq $((before + 2)) ]] && ok || bad "init and unseal sent more than GET /v1/identity"
python3 -c "
import json, sys
got = [json.loads(l)['target'].split('?')[0] for l in open('$tmp/api.log')][$before:]
sys.exit(0 if got == ['/v1/identity', '/v1/identity'] else 1)" && ok || bad "only GET /v1/identity reached the stand-in"
grep -qF -- "$data" "$tmp/api.log" "$tmp/err" "$tmp/out" && bad "a share reached the stand-in or was echoed" || ok
# the key in the body must be the signer's (the stand-in checks it): another key is refused
printf 'server: %s\nkey: %s/admin_p256_sec1.pem\nca: %s/tls_ca.pem\n' "$url" "$KEYS" "$KEYS" >"$tmp/other.yaml"
expect_exit 1 "a key the server does not know" -- "$AECS" admin service list --config "$tmp/other.yaml"
expect_err "aecs: bad signature: unknown key (unauthenticated)" "unknown key"


# services
expect_exit 0 "register" -- "$AECS" admin service register --config "$A" --name s2 --pubkey "$tmp/admin.pub.pem"
expect_out "registered service s2 with admin key $id" "register prints openssl's key id"
expect_exit 1 "register twice" -- "$AECS" admin service register --config "$A" --name s2 --pubkey "$tmp/admin.pub.pem"
expect_err "aecs: service s2 already exists (conflict)" "register twice"
expect_exit 0 "service list" -- "$AECS" admin service list --config "$A"
grep -qE "^payments +2  2026-11-22T10:00:00Z  $ADMIN_ID$" "$tmp/out" && ok || bad "service list row: $(cat "$tmp/out")"
expect_out "s2 " "service list has s2"
expect_exit 0 "service list --json" -- "$AECS" admin service list --config "$A" --json
check "service list --json" "$tmp/out" "[s['name'] for s in d['services']]" "['payments', 's2']"
expect_exit 1 "unregister with secrets" -- "$AECS" admin service unregister --config "$A" --name payments
expect_err "aecs: service payments has 2 secrets: add force (conflict)" "unregister without --force"
expect_exit 0 "unregister --force" -- "$AECS" admin service unregister --config "$A" --name payments --force
expect_out "unregistered service payments (2 secrets destroyed)" "unregister --force"
expect_exit 1 "unregister a missing service" -- "$AECS" admin service unregister --config "$A" --name nope
expect_err "(not_found)" "unregister nope"

# audit
expect_exit 0 "audit list" -- "$AECS" admin audit list --config "$A"
[[ $(grep -c '^seq=' "$tmp/out") -eq 5 ]] && ok || bad "audit list follows the pages: $(cat "$tmp/out")"
expect_out "seq=3  ts=2026-11-22T10:00:03Z  action=test  key=0af213ca" "audit entry line"
expect_exit 0 "audit list --limit 2" -- "$AECS" admin audit list --config "$A" --from 2 --limit 2
[[ $(grep -c '^seq=' "$tmp/out") -eq 2 ]] && ok || bad "audit list --limit 2"
expect_out "more: aecs admin audit list --from 4 --limit 2" "audit list names the next page"
expect_exit 0 "audit list --json" -- "$AECS" admin audit list --config "$A" --json
check "audit list --json" "$tmp/out" "[e['seq'] for e in d['entries']], d['next']" "[1, 2, 3, 4, 5] None"
expect_exit 0 "audit verify" -- "$AECS" admin audit verify --config "$A"
expect_out "audit chain holds: 5 entries, head abab" "audit verify ok"
curl -s --cacert "$KEYS/tls_ca.pem" -X POST "$url/_break" >/dev/null
expect_exit 1 "audit verify, broken" -- "$AECS" admin audit verify --config "$A"
expect_out "audit chain BROKEN at entry 3: hash mismatch (5 entries)" "audit verify broken"
expect_exit 1 "audit verify --json, broken" -- "$AECS" admin audit verify --config "$A" --json
check "audit verify --json" "$tmp/out" "d['ok'], d['first_broken']" "False 3"

# secrets
printf 'server: %s\nkey: %s/admin_p256.pem\nca: %s/tls_ca.pem\nservice: payments\n' "$url" "$KEYS" "$KEYS" >"$tmp/svc.yaml"
expect_exit 0 "secret create" -- "$AECS" secret create --config "$tmp/svc.yaml" --policy tests/data/policy/seeds_sample.yaml
expect_out "created: data_key_1, tls_cert" "secret create"
python3 - "$tmp/api.log" <<'PY' && ok || bad "the policy was sent as is"
import json, sys
last = [json.loads(l) for l in open(sys.argv[1])][-1]
body = json.loads(last["body"])
assert last["verified"] and last["target"] == "/v1/secrets"
assert body["policy"] == open("tests/data/policy/seeds_sample.yaml").read()
assert body["update"] is False and body["insecure_allow_any_enclave"] is False
PY
expect_exit 0 "secret create --update" -- "$AECS" secret create --config "$tmp/svc.yaml" --policy tests/data/policy/seeds_sample.yaml --update
expect_out "updated: data_key_1, tls_cert" "secret create --update"
printf 'kind: nothing\n' >"$tmp/empty-policy.yaml"
expect_exit 1 "secret create, invalid policy" -- "$AECS" secret create --config "$tmp/svc.yaml" --policy "$tmp/empty-policy.yaml"
expect_err "aecs: line 1: no secrets (invalid_policy)" "invalid policy"
expect_exit 0 "secret list" -- "$AECS" secret list --config "$tmp/svc.yaml"
grep -qE "^data_key_1 +SECRET_TYPE_AES256_KEY +private$" "$tmp/out" && ok || bad "secret list row: $(cat "$tmp/out")"
grep -q '"target": "/v1/services/payments/secrets"' "$tmp/api.log" && ok || bad "secret list target"
expect_exit 0 "secret list --json --service other" -- "$AECS" secret list --config "$tmp/svc.yaml" --service other --json
check "secret list --json" "$tmp/out" "d['secrets'][0]['service']" "other"
expect_exit 0 "secret destroy" -- "$AECS" secret destroy --config "$tmp/svc.yaml" --name data_key_1
expect_out "destroyed secret data_key_1 of service payments" "secret destroy"
expect_exit 1 "secret destroy, missing" -- "$AECS" secret destroy --config "$tmp/svc.yaml" --name nope
expect_err "aecs: no secret nope in service payments (not_found)" "destroy nope"
expect_exit 0 "get-public" -- "$AECS" secret get-public --config "$tmp/svc.yaml" --name pub_key
cmp -s "$tmp/out" "$KEYS/admin_p256.pub.pem" && ok || bad "get-public prints the PEM"
expect_exit 0 "get-public --out" -- "$AECS" secret get-public --config "$tmp/svc.yaml" --service s9 --name pub_key --out "$tmp/pub.pem"
cmp -s "$tmp/pub.pem" "$KEYS/admin_p256.pub.pem" && ok || bad "get-public --out writes the PEM"
expect_out "wrote $tmp/pub.pem: the public part of s9/pub_key (SECRET_TYPE_EC_KEY_PAIR)" "get-public --out"
# every signed request verified at the stand-in
python3 - "$tmp/api.log" <<'PY' && ok || bad "a signed request did not verify"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
# (all but the one made on purpose with a key the stand-in does not know)
failed = [r for r in reqs if r["signed"] and not r["verified"] and r["why"] != "unknown key"]
assert not failed, failed
assert sum(r["signed"] for r in reqs) >= 15
PY

finish cli_client_args
