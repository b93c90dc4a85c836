#!/usr/bin/env bash
# bench/run.sh: XML-RPC throughput benchmark, zentific against two reference servers.
#
# Starts three servers on 127.0.0.1, all serving the same payload:
#   zentific                    target/release/zentific serve (SQLite), seeded by bench/seed.py
#   Python SimpleXMLRPCServer   bench/peers/simple_server.py
#   xmlrpc-c (Abyss)            bench/peers/xmlrpc_c_server.c, compiled here into a temp dir
# then loads each with wrk for two calls, one after the other:
#   vm.list(token, {})      -> array of 100 VM structs
#   system.listMethods()    -> each server's own method list
# and prints a Markdown table of calls/s and p99 latency.
#
# Environment:
#   DURATION=10s THREADS=2 CONNECTIONS=32   wrk parameters
#   SKIP_ZENTIFIC=1                         benchmark only the two peers (no cargo build)
#   ZENTIFIC_BIN=path                       benchmark that build (e.g. an older commit's)
#   OUT_DIR=bench/out                       raw wrk output and the table are saved here
#
# Usage: bench/run.sh   (from any directory)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
SKIP_ZENTIFIC="${SKIP_ZENTIFIC:-0}"
OUT_DIR="${OUT_DIR:-$ROOT/bench/out}"
READY_TIMEOUT=30 # seconds to wait for each server to answer system.listMethods

log() { echo "run.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in wrk gcc python3 xmlrpc-c-config; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
# Resolve the interpreter once (skips the pyenv shim on every call).
PY="$(python3 -c 'import sys; print(sys.executable)')"

TMP="$(mktemp -d)"
PIDS=()    # servers started by this script
WRK_PID=   # the wrk run in progress, if any
cleanup() {
    local pid
    if [[ -n "$WRK_PID" ]]; then
        kill "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
    fi
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

source bench/lib.sh # free_port

# wait_ready NAME PID URL: poll system.listMethods until it answers, the process
# dies, or READY_TIMEOUT passes.
wait_ready() {
    local name="$1" pid="$2" url="$3" deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$TMP/$name.log" >&2 || true
            die "$name exited before it was ready"
        fi
        if "$PY" -c 'import sys, xmlrpc.client; xmlrpc.client.ServerProxy(sys.argv[1]).system.listMethods()' \
            "$url" 2>/dev/null; then
            log "$name ready at $url"
            return 0
        fi
        sleep 0.2
    done
    tail -n 20 "$TMP/$name.log" >&2 || true
    die "$name did not answer system.listMethods within ${READY_TIMEOUT}s"
}

# write_body FILE METHOD [TOKEN]: the XML-RPC request for one call, via xmlrpc.client.dumps.
write_body() {
    "$PY" - "$@" <<'EOF'
import sys, xmlrpc.client
path, method = sys.argv[1], sys.argv[2]
params = (sys.argv[3], {}) if method == "vm.list" else ()
with open(path, "w") as f:
    f.write(xmlrpc.client.dumps(params, method))
EOF
}

# check_call NAME URL BODY_FILE METHOD: send the body once and check the answer, so
# that a fault (which is still HTTP 200) never gets benchmarked by mistake.
check_call() {
    "$PY" - "$@" <<'EOF'
import sys, urllib.request, xmlrpc.client
name, url, body_file, method = sys.argv[1:]
with open(body_file, "rb") as f:
    body = f.read()
req = urllib.request.Request(url, data=body, headers={"Content-Type": "text/xml"})
with urllib.request.urlopen(req, timeout=10) as resp:
    data = resp.read()
try:
    (result,), _ = xmlrpc.client.loads(data)
except xmlrpc.client.Fault as fault:
    sys.exit(f"{name} {method}: fault {fault.faultCode}: {fault.faultString}")
if method == "vm.list":
    want = {"id", "uuid", "name", "node", "node_name", "type", "os", "state",
            "memory_kb", "max_memory_kb", "vcpus", "owner"}
    if not isinstance(result, list) or len(result) != 100:
        sys.exit(f"{name} vm.list: expected 100 structs, got {type(result).__name__} "
                 f"of length {len(result) if hasattr(result, '__len__') else '?'}")
    for vm in result:
        if not isinstance(vm, dict) or set(vm) != want:
            sys.exit(f"{name} vm.list: unexpected record {vm!r}")
    summary = "100 structs"
else:
    if not isinstance(result, list) or "system.listMethods" not in result:
        sys.exit(f"{name} system.listMethods: unexpected answer {result!r}")
    summary = f"{len(result)} methods"
print(f"run.sh: {name} {method}: ok ({summary}, {len(data)} bytes)", file=sys.stderr)
EOF
}

# ---- build -----------------------------------------------------------------

log "compiling the xmlrpc-c peer"
# shellcheck disable=SC2046 # xmlrpc-c-config prints several flags on purpose
gcc -O2 -Wall -o "$TMP/xmlrpc_c_server" bench/peers/xmlrpc_c_server.c \
    $(xmlrpc-c-config abyss-server --cflags --libs)

if [[ "$SKIP_ZENTIFIC" != 1 && -z "${ZENTIFIC_BIN:-}" ]]; then
    log "building zentific (cargo build --release)"
    cargo build --release >&2
    ZENTIFIC_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/zentific"
    [[ -x "$ZENTIFIC_BIN" ]] || die "$ZENTIFIC_BIN was not built"
fi

# ---- start the servers -----------------------------------------------------

SERVERS=() # short names, in table order
declare -A LABEL URL TOKEN SPID

if [[ "$SKIP_ZENTIFIC" != 1 ]]; then
    port="$(free_port)"
    ZENTIFIC_ADMIN_PASSWORD=benchpass "$ZENTIFIC_BIN" serve --workers 0 \
        --listen "127.0.0.1:$port" --database "sqlite://$TMP/bench.db" \
        2>"$TMP/zentific.log" >&2 &
    PIDS+=($!)
    SPID[zentific]=$!
    SERVERS+=(zentific)
    LABEL[zentific]="zentific"
    URL[zentific]="http://127.0.0.1:$port/RPC2"
    wait_ready zentific "$!" "${URL[zentific]}"
    grep -q "listening on 127.0.0.1:$port" "$TMP/zentific.log" ||
        log "warning: zentific did not log 'listening on 127.0.0.1:$port'"
    log "seeding zentific"
    TOKEN[zentific]="$(ZENTIFIC_ADMIN_PASSWORD=benchpass "$PY" bench/seed.py "${URL[zentific]}")"
    [[ -n "${TOKEN[zentific]}" ]] || die "bench/seed.py printed no token"
fi

port="$(free_port)"
"$PY" bench/peers/simple_server.py "$port" 2>"$TMP/python.log" >&2 &
PIDS+=($!)
SPID[python]=$!
SERVERS+=(python)
LABEL[python]="Python SimpleXMLRPCServer"
URL[python]="http://127.0.0.1:$port/RPC2"
TOKEN[python]="bench-token"
wait_ready python "$!" "${URL[python]}"

port="$(free_port)"
"$TMP/xmlrpc_c_server" "$port" 2>"$TMP/xmlrpc-c.log" >&2 &
PIDS+=($!)
SPID[xmlrpc-c]=$!
SERVERS+=(xmlrpc-c)
LABEL[xmlrpc-c]="xmlrpc-c (Abyss)"
URL[xmlrpc-c]="http://127.0.0.1:$port/RPC2"
TOKEN[xmlrpc-c]="bench-token"
wait_ready xmlrpc-c "$!" "${URL[xmlrpc-c]}"

# ---- request bodies and a correctness check per (server, call) -------------

CALLS=(vm.list system.listMethods)
for server in "${SERVERS[@]}"; do
    for call in "${CALLS[@]}"; do
        body="$TMP/body-$server-$call.xml"
        write_body "$body" "$call" "${TOKEN[$server]}"
        check_call "$server" "${URL[$server]}" "$body" "$call"
    done
done

# ---- load ------------------------------------------------------------------

mkdir -p "$OUT_DIR"
WRK_ARGS=(--latency -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/wrk/post.lua)
RESULTS="$TMP/results.tsv" # call, server, calls/s, p99 in ms, error note, server CPU µs per call

# CPU time (user + system, all threads) a process has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICKS_PER_SECOND="$(getconf CLK_TCK)"
: >"$RESULTS"

for call in "${CALLS[@]}"; do
    for server in "${SERVERS[@]}"; do
        out="$OUT_DIR/wrk-$server-$call.txt"
        log "wrk: $call on ${LABEL[$server]} ($DURATION)"
        # In the background plus wait, so INT/TERM reach the trap without waiting for wrk.
        ticks_before="$(cpu_ticks "${SPID[$server]}")"
        BODY_FILE="$TMP/body-$server-$call.xml" wrk "${WRK_ARGS[@]}" "${URL[$server]}" >"$out" &
        WRK_PID=$!
        wait "$WRK_PID"
        WRK_PID=
        ticks="$(( $(cpu_ticks "${SPID[$server]}") - ticks_before ))"
        # Requests/sec, the 99% line (converted to ms) and any error counts.
        awk -v call="$call" -v server="$server" -v ticks="$ticks" -v hz="$TICKS_PER_SECOND" '
            function ms(v) {
                if (v ~ /us$/) return v / 1000
                if (v ~ /ms$/) return v + 0
                if (v ~ /m$/)  return v * 60000
                if (v ~ /s$/)  return v * 1000
                return v + 0
            }
            /^Requests\/sec:/        { rps = $2 }
            / requests in /          { requests = $1 }
            $1 == "99%"              { p99 = ms($2) }
            /Socket errors:/         { sub(/^ *Socket errors: */, ""); err = err "socket errors: " $0 "; " }
            /Non-2xx or 3xx/         { err = err "non-2xx responses: " $NF "; " }
            END {
                if (rps == "" || p99 == "") { print "cannot parse wrk output" > "/dev/stderr"; exit 1 }
                cpu_us = (requests > 0) ? ticks / hz * 1e6 / requests : 0
                printf "%s\t%s\t%s\t%s\t%s\t%s\n", call, server, rps, p99, err, cpu_us
            }' "$out" >>"$RESULTS" || die "see $out"
    done
done

# ---- report ----------------------------------------------------------------

# label lookup for awk: "short<TAB>label" lines
LABELS="$TMP/labels.tsv"
for server in "${SERVERS[@]}"; do
    printf '%s\t%s\n' "$server" "${LABEL[$server]}"
done >"$LABELS"

{
    echo "wrk command (per server and call):"
    echo
    echo '```'
    echo "BODY_FILE=<request.xml> wrk ${WRK_ARGS[*]} http://127.0.0.1:<port>/RPC2"
    echo '```'
    echo
    echo "| call | server | calls/s | p99 latency | ratio vs xmlrpc-c | server CPU per call | calls per CPU-second, ratio vs xmlrpc-c |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    awk -F'\t' '
        FNR == NR { label[$1] = $2; next }
        { n++; call[n] = $1; srv[n] = $2; rps[n] = $3; p99[n] = $4; err[n] = $5; cpu[n] = $6
          if ($2 == "xmlrpc-c") { base[$1] = $3; base_cpu[$1] = $6 } }
        END {
            for (i = 1; i <= n; i++) {
                ratio = (base[call[i]] > 0) ? sprintf("%.2f×", rps[i] / base[call[i]]) : "n/a"
                mark = (err[i] != "") ? " *" : ""
                cpu_ratio = (cpu[i] > 0 && base_cpu[call[i]] > 0) ? sprintf("%.2f×", base_cpu[call[i]] / cpu[i]) : "n/a"
                printf "| `%s` | %s%s | %.0f | %.2f ms | %s | %.1f µs | %s |\n", call[i], label[srv[i]], mark, rps[i], p99[i], ratio, cpu[i], cpu_ratio
            }
            for (i = 1; i <= n; i++)
                if (err[i] != "") { if (!notes++) print ""; printf "\\* %s, `%s`: %s\n", label[srv[i]], call[i], err[i] }
        }' "$LABELS" "$RESULTS"
    echo
    echo "threads=$THREADS connections=$CONNECTIONS duration=$DURATION; $(nproc) CPUs; servers and wrk share the machine."
    echo "Server CPU per call: user+system time of the server process (all threads) during the run, over the requests wrk completed."
} | tee "$OUT_DIR/results.md"
log "raw wrk output and results.md are in $OUT_DIR"
