#!/usr/bin/env bash
# bench/poller_footprint.sh: what zentific-poller costs a dom0.
#
# Builds the poller with its size-first profile (`--profile poller`), runs it with
# `synthetic:100` (100 domains, each sample ~140 KB of XML-RPC) at `--interval 1` against a
# trivial local XML-RPC sink (a python3 http.server subclass answering every stats.push
# with the success envelope), then reports as a Markdown table:
#
#   - CPU % of one core: utime+stime from /proc/PID/stat over the run (clock ticks), and
#     the same from /proc/PID/schedstat (nanoseconds, for a figure finer than a tick);
#   - peak RSS: VmHWM from /proc/PID/status;
#   - the stripped binary's size;
#   - the libraries it links (ldd).
#
# Targets: < 0.1 % CPU, < 4 MiB RSS, < 2 MiB binary, libraries no wider than libc and
# Xen's own.
#
# Environment: DURATION=60 (seconds), DOMAINS=100, FEATURES= (extra cargo features, e.g.
# "libvirt"), NO_DEFAULT_FEATURES=1 (build without xenstat and modules, for machines
# without libxen-dev), MODULES="dom0health" (in-tree collector modules to load with
# --modules-dir; each sample then carries their figures).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-60}"
DOMAINS="${DOMAINS:-100}"
TMP="$(mktemp -d)"
SINK_PID=
POLLER_PID=
cleanup() {
    [[ -n "$POLLER_PID" ]] && kill "$POLLER_PID" 2>/dev/null && wait "$POLLER_PID" 2>/dev/null
    [[ -n "$SINK_PID" ]] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

build=(cargo build -q --profile poller -p zentific-poller)
[[ -n "${NO_DEFAULT_FEATURES:-}" ]] && build+=(--no-default-features)
[[ -n "${FEATURES:-}" ]] && build+=(--features "$FEATURES")
"${build[@]}"
BIN="$ROOT/target/poller/zentific-poller"
MODULE_ARGS=()
if [[ -n "${MODULES:-}" ]]; then
    mkdir -m 755 "$TMP/modules"
    chmod 755 "$TMP"
    for module in $MODULES; do
        cargo build -q --release -p "zentific-module-$module"
        install -m 755 "$ROOT/target/release/libzentific_module_$module.so" "$TMP/modules/"
    done
    MODULE_ARGS=(--modules-dir "$TMP/modules")
fi

# The sink: HTTP/1.1 with keep-alive, like the real backend; counts what it acknowledges.
cat >"$TMP/sink.py" <<'PY'
import http.server, re, sys

SEQ = re.compile(rb"<name>seq</name><value><i8>(\d+)</i8>")
count = 0

class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers["Content-Length"]))
        seq = SEQ.search(body).group(1).decode()
        count += 1
        with open(sys.argv[2], "w") as f:
            f.write(f"{count} {len(body)}\n")
        answer = (
            '<?xml version="1.0"?><methodResponse><params><param><value><struct>'
            '<member><name>stored</name><value><boolean>1</boolean></value></member>'
            f'<member><name>seq</name><value><i8>{seq}</i8></value></member>'
            "</struct></value></param></params></methodResponse>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Sink)
with open(sys.argv[1], "w") as f:
    f.write(f"{server.server_address[1]}\n")
server.serve_forever()
PY
python3 "$TMP/sink.py" "$TMP/port" "$TMP/count" &
SINK_PID=$!
for _ in $(seq 100); do [[ -s "$TMP/port" ]] && break; sleep 0.1; done
port="$(cat "$TMP/port")"

start_ns="$(date +%s%N)"
"$BIN" --server "http://127.0.0.1:$port/RPC2" --token bench --source "synthetic:$DOMAINS" \
    --interval 1 --spool "$TMP/spool" "${MODULE_ARGS[@]}" 2>"$TMP/poller.log" &
POLLER_PID=$!
sleep "$DURATION"

# Read the counters while the process is still alive.
read -r -a stat <"/proc/$POLLER_PID/stat"
# Fields 14 and 15 (utime, stime) counted from 1, after the "(comm)" field, which has no
# spaces here.
ticks=$((stat[13] + stat[14]))
read -r sched_ns _ <"/proc/$POLLER_PID/schedstat"
hwm_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$POLLER_PID/status")"
end_ns="$(date +%s%N)"
kill -TERM "$POLLER_PID"
wait "$POLLER_PID" && exit_code=0 || exit_code=$?
POLLER_PID=

hz="$(getconf CLK_TCK)"
wall_ns=$((end_ns - start_ns))
read -r pushed body_bytes <"$TMP/count"
size="$(stat -c %s "$BIN")"
cpu_ticks="$(python3 -c "print(f'{$ticks / $hz / ($wall_ns / 1e9) * 100:.3f}')")"
cpu_sched="$(python3 -c "print(f'{$sched_ns / $wall_ns * 100:.4f}')")"
per_sample_us="$(python3 -c "print(f'{$sched_ns / 1e3 / max($pushed, 1):.0f}')")"
hwm_mib="$(python3 -c "print(f'{$hwm_kb / 1024:.2f}')")"
size_mib="$(python3 -c "print(f'{$size / 1048576:.2f}')")"
verdict() { python3 -c "print('met' if $1 else 'MISSED')"; }

echo "## zentific-poller footprint: synthetic:$DOMAINS, --interval 1, ${DURATION} s${MODULES:+, modules: $MODULES}"
echo
echo "| measure | value | target | |"
echo "|---|---|---|---|"
echo "| CPU, % of one core (utime+stime, /proc/PID/stat, ${hz} Hz ticks) | $cpu_ticks % ($ticks ticks) | < 0.1 % | $(verdict "$cpu_ticks < 0.1") |"
echo "| CPU, % of one core (/proc/PID/schedstat, ns) | $cpu_sched % (${per_sample_us} µs per sample) | < 0.1 % | $(verdict "$cpu_sched < 0.1") |"
echo "| peak RSS (VmHWM) | $hwm_kb KiB ($hwm_mib MiB) | < 4 MiB | $(verdict "$hwm_kb < 4096") |"
echo "| stripped binary | $size bytes ($size_mib MiB) | < 2 MiB | $(verdict "$size < 2097152") |"
echo "| samples acknowledged by the sink | $pushed (last body $body_bytes bytes) | $DURATION | |"
echo "| exit code after SIGTERM | $exit_code | 0 | |"
echo
echo "ldd $(realpath --relative-to="$ROOT" "$BIN"):"
echo
echo '```'
ldd "$BIN" | sed 's/ (0x[0-9a-f]*)//'
echo '```'
if [[ -s "$TMP/poller.log" ]]; then
    echo
    echo "poller log:"
    echo
    echo '```'
    cat "$TMP/poller.log"
    echo '```'
fi
