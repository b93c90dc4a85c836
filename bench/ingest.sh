#!/usr/bin/env bash
# bench/ingest.sh: statistics ingest. Simulated pollers (examples/ingest.rs) push 50-VM
# samples with stats.push to a release `zentific serve` (no scheduler workers), first on
# SQLite, then on a PostgreSQL 15 this script starts in a temp dir; reports VM samples
# stored per second and push latency.
#
# Environment: NODES=100 VMS=50 SECONDS=20 THREADS=4; ZENTIFIC_BIN and INGEST_BIN run
# other builds (an older commit's, to compare) instead of building this tree's.
# Durability: SQLite runs in WAL mode with synchronous=NORMAL (Zentific's setting);
# PostgreSQL with synchronous_commit=off, the comparable class (no corruption on a crash,
# the last commits may be lost on power failure).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source bench/lib.sh
NODES="${NODES:-100}" VMS="${VMS:-50}" SECONDS_="${SECONDS:-20}" THREADS="${THREADS:-4}"
PGBIN=/usr/lib/postgresql/15/bin
TMP="$(mktemp -d /tmp/zentific-ingest-XXXXXX)"
SERVER_PID=
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [[ -f "$TMP/pg/data/postmaster.pid" ]] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

ZENTIFIC_BIN="${ZENTIFIC_BIN:-}" INGEST_BIN="${INGEST_BIN:-}"
if [[ -z "$ZENTIFIC_BIN" || -z "$INGEST_BIN" ]]; then
    cargo build --release -q --bin zentific --example ingest
    ZENTIFIC_BIN="${ZENTIFIC_BIN:-target/release/zentific}" INGEST_BIN="${INGEST_BIN:-target/release/examples/ingest}"
fi

run() { # $1 label, $2 database URL
    local port
    port="$(free_port)"
    ZENTIFIC_ADMIN_PASSWORD=benchpass RUST_LOG=warn "$ZENTIFIC_BIN" serve --workers 0 \
        --listen "127.0.0.1:$port" --database "$2" 2>"$TMP/server.log" &
    SERVER_PID=$!
    wait_for_xmlrpc "http://127.0.0.1:$port/RPC2"
    read -r pushes per_s samples_per_s p50 p99 < <("$INGEST_BIN" "http://127.0.0.1:$port/RPC2" benchpass "$NODES" "$VMS" "$SECONDS_" "$THREADS" 2>/dev/null)
    echo "| $1 | $per_s | $samples_per_s | $p50 ms | $p99 ms |"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

echo "## Statistics ingest: $NODES nodes × $VMS VMs, $THREADS pushing threads, ${SECONDS_} s"
echo
echo "| backend | pushes/s | VM samples/s | p50 push | p99 push |"
echo "|---|---:|---:|---:|---:|"
run "SQLite (WAL)" "sqlite://$TMP/ingest.db"

chmod 755 "$TMP"
mkdir -p "$TMP/pg"
chown postgres "$TMP/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pg/data" -A trust -U postgres --no-sync >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg/data" -l "$TMP/pg/log" -w \
    -o "-c listen_addresses='' -k $TMP/pg -c synchronous_commit=off -c max_connections=100" start >/dev/null
runuser -u postgres -- "$PGBIN/psql" -h "$TMP/pg" -U postgres -q -c "CREATE DATABASE ingest" >/dev/null
run "PostgreSQL 15" "postgres://postgres@localhost/ingest?host=$TMP/pg"
