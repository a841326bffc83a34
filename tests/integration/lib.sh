# lib.sh - the harness every integration test sources: it moves to the
# repository root, names the aecs binary (AECS_BIN, from ctest, or
# build/aecs), makes a scratch folder removed at exit, and counts checks.
#
#   . "$(dirname "$0")/lib.sh"
#   expect_exit 0 "what it checks" -- "$AECS" quote verify ...
#   finish my_test            # prints "my_test: N passed, M failed"; fails if M > 0
#
# A script that starts processes defines on_exit() to stop them.
set -uo pipefail
cd "${AECS_SRC:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 2
AECS=${AECS_BIN:-build/aecs}
AECSD=${AECSD_BIN:-build/aecsd}
pass=0
failed=0
tmp=$(mktemp -d)
on_exit() { :; }
trap 'on_exit; rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect_exit CODE DESCRIPTION -- COMMAND...: stdout in $tmp/out, stderr in $tmp/err
expect_exit() {
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -eq $want ]]; then ok; else bad "$what: exit $got, expected $want"; cat "$tmp/err"; fi
}

# expect_err TEXT DESCRIPTION: the last command's stderr contains TEXT
expect_err() {
  if grep -qF -- "$1" "$tmp/err"; then ok; else bad "$2: stderr lacks '$1'"; cat "$tmp/err"; fi
}

# expect_out TEXT DESCRIPTION: the last command's stdout contains TEXT
expect_out() {
  if grep -qF -- "$1" "$tmp/out"; then ok; else bad "$2: stdout lacks '$1'"; cat "$tmp/out"; fi
}

# json_field FILE PYTHON-EXPRESSION: prints the expression, with d the parsed JSON of FILE
json_field() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

# check DESCRIPTION FILE EXPRESSION EXPECTED: json_field FILE EXPRESSION equals EXPECTED
check() {
  local got
  got=$(json_field "$2" "$3")
  [[ $got == "$4" ]] && ok || bad "$1: $3 = '$got', expected '$4'"
}

# hexrep HEX N: HEX repeated N times (for measurements and report data)
hexrep() { python3 -c "print('$1' * $2)"; }

# http_get PATH: an HTTP/1.0 GET to 127.0.0.1:$port with bash's /dev/tcp (no client
# needed); prints the body. For the loopback test servers.
http_get() {
  local path=$1 line body=0
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
  while IFS= read -r line <&3; do
    if [[ $body -eq 1 ]]; then printf '%s\n' "$line"; elif [[ $line == $'\r' || -z $line ]]; then body=1; fi
  done
  [[ $body -eq 1 && -n $line ]] && printf '%s' "$line"
  exec 3<&-
}

# finish NAME: the closing line ctest logs show, and the exit status
finish() {
  echo "$1: $pass passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# free_port: a TCP port nobody listens on now (the kernel's pick for port 0)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_https URL: waits (up to 20 s) until URL answers over TLS
wait_https() {
  local i
  for i in $(seq 1 200); do
    curl -sk -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

# track_processes: for a script that starts several named processes. It records
# each in procs[NAME]=PID, and they are killed at exit; `halt NAME [SIGNAL]` stops
# one (SIGTERM by default) and waits for it.
track_processes() {
  declare -gA procs=()
  on_exit() {
    local n
    for n in "${!procs[@]}"; do
      kill -KILL "${procs[$n]}" 2>/dev/null
      wait "${procs[$n]}" 2>/dev/null
    done
  }
  halt() {
    local p=${procs[$1]-}
    [[ -n $p ]] || return 0
    kill "${2:--TERM}" "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    unset "procs[$1]"
  }
}
