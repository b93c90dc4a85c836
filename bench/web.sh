#!/usr/bin/env bash
# bench/web.sh: the web page in Chromium with 1,000 VMs. A release `zentific serve` on a
# fresh SQLite database gets a node on libvirt's test driver holding 1,000 domains (the
# scheduler reads them in and runs their power actions for real); bench/web.mjs then
# measures, in headless Chromium on loopback:
#   - the dashboard's first load (navigation to its counts drawn),
#   - the VM list of 1,000 VMs drawn (route change to every row painted), beside the
#     same rows as a static HTML table (the browser's own floor: the peer),
#   - a state change made by another client: from the job's end reaching the page (its
#     event) and from the other client's call returning, to the row's new state painted,
#   - the page's own JavaScript (frontend/web, without the npm packages) as written, and
#     as the server sends it (minified by esbuild; gzip).
# Environment: VMS=1000 RUNS=7; ZENTIFIC_BIN runs another build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VMS="${VMS:-1000}" RUNS="${RUNS:-7}"
TMP="$(mktemp -d /tmp/zentific-web-bench-XXXXXX)"
SERVER_PID=
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
ZENTIFIC_BIN="${ZENTIFIC_BIN:-}"
if [[ -z "$ZENTIFIC_BIN" ]]; then
    cargo build --release -q --bin zentific
    ZENTIFIC_BIN=target/release/zentific
fi

# The node: VMS domains, one in eight paused and one in eight shut off.
{
    echo "<node><cpu><mhz>2000</mhz><model>i686</model><active>64</active><nodes>1</nodes><sockets>1</sockets><cores>64</cores><threads>1</threads></cpu><memory>1073741824</memory>"
    for i in $(seq 1 "$VMS"); do
        state=1
        (( i % 8 == 3 )) && state=3
        (( i % 8 == 5 )) && state=5
        printf "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>vm-%04d</name><memory unit='KiB'>%d</memory><currentMemory unit='KiB'>%d</currentMemory><vcpu>%d</vcpu><os><type>hvm</type></os><test:runstate>%d</test:runstate></domain>\n" \
            "$i" $(( (i % 16 + 1) * 131072 )) $(( (i % 16 + 1) * 131072 )) $(( i % 4 + 1 )) "$state"
    done
    echo "</node>"
} > "$TMP/node.xml"

ZENTIFIC_ADMIN_PASSWORD=bench-password "$ZENTIFIC_BIN" serve --listen 127.0.0.1:0 \
    --database "sqlite://$TMP/zentific.db" --modules-dir /nonexistent > "$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" "$TMP/server.log" && break
    sleep 0.2
done
ADDR="$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$TMP/server.log" | head -1)"
python3 - "$ADDR" "$TMP/node.xml" "$VMS" <<'PY'
import sys, time, xmlrpc.client
addr, path, vms = sys.argv[1], sys.argv[2], int(sys.argv[3])
zen = xmlrpc.client.ServerProxy(f"http://{addr}/RPC2")
token = zen.session.login("admin", "bench-password")
zen.node.register(token, {"name": "bench", "hostname": "localhost", "transport": "libvirt", "uri": f"test://{path}"})
for _ in range(600):
    if len(zen.vm.list(token)) >= vms:
        break
    time.sleep(0.2)
else:
    sys.exit("the node's VMs were not read in")
PY
echo "bench/web.sh: $VMS VMs on $ADDR, $RUNS runs each" >&2
cd frontend
ZENTIFIC_URL="http://$ADDR" ZENTIFIC_ADMIN_PASSWORD=bench-password RUNS="$RUNS" VMS="$VMS" node ../bench/web.mjs
