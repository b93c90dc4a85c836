#!/usr/bin/env bash
# bench/scheduler.sh: the scheduler's benchmarks, each beside its baseline in one run.
#
#  1. Dispatch latency on libvirt's test driver: vm.pause/vm.unpause over XML-RPC until
#     the job has succeeded (bench/dispatch.py against `zentific serve --demo`), beside the
#     bare libvirt call through the same transport (scheduler/examples/libvirt_call.rs).
#  2. Fire-time drift of 10,000 schedules firing every second
#     (scheduler/examples/schedule_drift.rs, SQLite).
#  3. 100 sequential SSH actions: one multiplexed master vs a fresh ssh per action
#     (bench/ssh_mux.sh).
#
# Environment: N=500 (dispatch iterations), SCHEDULES=10000, SKIP_SSH=1 to skip part 3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source bench/lib.sh
N="${N:-500}"
TMP="$(mktemp -d)"
SERVER_PID=
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

cargo build --release -q -p zentific --bin zentific
cargo build --release -q -p zentific-scheduler --example libvirt_call --example schedule_drift

port="$(free_port)"
ZENTIFIC_ADMIN_PASSWORD=benchpass RUST_LOG=warn target/release/zentific serve --demo \
    --listen "127.0.0.1:$port" --database "sqlite://$TMP/bench.db" --reconcile-secs 3600 2>"$TMP/server.log" &
SERVER_PID=$!
wait_for_xmlrpc "http://127.0.0.1:$port/RPC2"

read -r _ full_p50 full_p99 < <(python3 bench/dispatch.py "http://127.0.0.1:$port/RPC2" benchpass "$N")
read -r _ raw_p50 raw_p99 < <(target/release/examples/libvirt_call "$N")

echo "## Dispatch latency, libvirt test driver ($N actions, alternating pause and unpause)"
echo
echo "| path | p50 | p99 |"
echo "|---|---:|---:|"
echo "| XML-RPC call → job → scheduler → libvirt → job succeeded (client-side) | ${full_p50} µs | ${full_p99} µs |"
echo "| the libvirt call alone (same transport, no API, no job) | ${raw_p50} µs | ${raw_p99} µs |"
python3 -c "print(f'\nOverhead of the API and the job path: p50 {float(\"$full_p50\") - float(\"$raw_p50\"):.0f} µs, p99 {float(\"$full_p99\") - float(\"$raw_p99\"):.0f} µs.')"
echo
echo "## Fire-time drift, ${SCHEDULES:-10000} schedules every second (SQLite)"
echo
SCHEDULES="${SCHEDULES:-10000}" target/release/examples/schedule_drift 2>/dev/null
if [[ "${SKIP_SSH:-0}" != 1 && -x bench/ssh_mux.sh ]]; then
    echo
    echo "## 100 sequential SSH actions"
    echo
    bench/ssh_mux.sh
fi
