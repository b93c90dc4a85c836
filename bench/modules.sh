#!/bin/bash
# modules.sh - what a module call costs beyond the same work done by built-in code.
#
# 1. At the boundary: builds the validator1 module and modules/loader's call_cost example
#    (release), then in one run calls validator1.easyStructTest N times on the module's
#    Rust type directly (what a built-in method of the same shape would run) and N times
#    through the loaded library (the parameters encoded as an XML-RPC <value>, the C ABI
#    crossed, decoded, the answer encoded and decoded again).
# 2. Over HTTP: starts the release server with validator1 enabled and loads it with wrk,
#    one after the other, with validator1.easyStructTest({moe, larry, curly}) -> int and
#    the built-in system.methodHelp("system.version") -> string: both public, one
#    parameter, a scalar answer, no database. It prints calls/s and the server's CPU time
#    per call (user + system, all threads, from /proc); the difference in CPU per call is
#    everything a module method costs beyond a built-in one on the whole path (routing,
#    the thread hand-off under the call time limit, the boundary).
#
# usage: bench/modules.sh [N]        (default 200000; DURATION=10s CONNECTIONS=16 for wrk)
set -euo pipefail
N=${1:-200000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/bench/lib.sh"
(cd "$ROOT" && cargo build --release -q -p zentific-module-validator1 \
    && cargo build --release -q -p zentific-modules --example call_cost \
    && cargo build --release -q --bin zentific)
DIR=$(mktemp -d /tmp/zentific-modules-bench.XXXXXX)
SERVER=
cleanup() {
    [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -m 755 "$DIR/modules"
chmod 755 "$DIR"
install -m 755 "$ROOT/target/release/libzentific_module_validator1.so" "$DIR/modules/"
"$ROOT/target/release/examples/call_cost" "$DIR/modules/libzentific_module_validator1.so" "$N"

command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.sh --bench); skipping the HTTP part" >&2; exit 0; }
port=$(free_port)
url="http://127.0.0.1:$port/RPC2"
ZENTIFIC_ADMIN_PASSWORD=benchpass "$ROOT/target/release/zentific" serve \
    --listen "127.0.0.1:$port" --database "sqlite://$DIR/bench.db" --modules-dir "$DIR/modules" \
    2>"$DIR/server.log" >&2 &
SERVER=$!
wait_for_xmlrpc "$url"
python3 - "$url" <<'PY'
import sys, xmlrpc.client
rpc = xmlrpc.client.ServerProxy(sys.argv[1])
token = rpc.session.login("admin", "benchpass")
rpc.module.enable(token, "validator1")
assert rpc.validator1.easyStructTest({"moe": 1, "larry": 2, "curly": 3}) == 6
PY
cat >"$DIR/module.xml" <<'XML'
<?xml version="1.0"?><methodCall><methodName>validator1.easyStructTest</methodName><params><param><value><struct><member><name>moe</name><value><i4>1</i4></value></member><member><name>larry</name><value><i4>2</i4></value></member><member><name>curly</name><value><i4>3</i4></value></member></struct></value></param></params></methodCall>
XML
cat >"$DIR/builtin.xml" <<'XML'
<?xml version="1.0"?><methodCall><methodName>system.methodHelp</methodName><params><param><value><string>system.version</string></value></param></params></methodCall>
XML
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
declare -A RATE CPU
for call in builtin module; do
    before=$(cpu_ticks "$SERVER")
    out=$(BODY_FILE="$DIR/$call.xml" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$ROOT/bench/wrk/post.lua" "$url")
    ticks=$(( $(cpu_ticks "$SERVER") - before ))
    grep -q "Non-2xx" <<<"$out" && { echo "$call: non-2xx answers" >&2; exit 1; }
    total=$(awk '/requests in/ { print $1 }' <<<"$out")
    RATE[$call]=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
    CPU[$call]=$(awk -v t="$ticks" -v hz="$hz" -v n="$total" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
done
echo "over HTTP ($DURATION, $CONNECTIONS connections):"
echo "  system.methodHelp (built-in):        ${RATE[builtin]} calls/s, ${CPU[builtin]} µs server CPU per call"
echo "  validator1.easyStructTest (module):  ${RATE[module]} calls/s, ${CPU[module]} µs server CPU per call"
awk -v a="${CPU[module]}" -v b="${CPU[builtin]}" 'BEGIN { printf "  module path cost: %.2f µs server CPU per call\n", a - b }'
python3 - "$url" <<'PY'
import sys, xmlrpc.client
rpc = xmlrpc.client.ServerProxy(sys.argv[1])
token = rpc.session.login("admin", "benchpass")
for m in rpc.module.list(token):
    if m["name"] == "validator1" and "warning" in m:
        print("  warning:", m["warning"])
PY
