#!/usr/bin/env bash
# The text console of a real Xen guest through Zentific: in the real Xen 4.17 dom0 of
# ../shared/xenlab (with its PV guest domu1), `zentific serve` with the xl-local module
# registers dom0 as a node, and a websocket client (scripts/xenlab/console_client.py)
# asks vm.console for domu1's text console, opens it through the server's proxy, presses
# Enter and prints what the guest's console answers. Needs xenlab set up
# (../shared/xenlab/setup.sh), so it is not part of the test suite.
#   scripts/xenlab-console.sh        (prints the transcript; exits non-zero on failure)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
XENLAB="${XENLAB:-$ROOT/../shared/xenlab}"
cd "$ROOT"
cargo build --release -q -p zentific -p zentific-module-xl-local
SHARE="$(mktemp -d /tmp/zentific-xenlab-XXXXXX)"
trap 'rm -rf "$SHARE"' EXIT
cp target/release/zentific target/release/libzentific_module_xl_local.so scripts/xenlab/console_client.py "$SHARE/"
# dom0 is bookworm like this machine but lacks some of the libraries the server links
# (libpq and its own): bring this machine's copies along.
mkdir "$SHARE/lib"
ldd target/release/zentific | awk '/=> \// {print $3}' | grep -Ev '/(libc|libm|libdl|libpthread|librt|libgcc_s|ld-linux[^/]*)\.so' |
    xargs -I{} cp -L {} "$SHARE/lib/"
cat > "$SHARE/run.sh" <<'INNER'
set -e
cd /mnt/host
mkdir -m 755 /tmp/zmod
install -m 755 libzentific_module_xl_local.so /tmp/zmod/
echo "== xl list in dom0"
xl list
LD_LIBRARY_PATH=/mnt/host/lib ZENTIFIC_ADMIN_PASSWORD=xenlab-admin ./zentific serve --workers 1 \
    --listen 127.0.0.1:8080 --database sqlite:///tmp/zentific.db --modules-dir /tmp/zmod > /tmp/serve.log 2>&1 &
python3 console_client.py http://127.0.0.1:8080 xenlab-admin domu1 || { echo "== server log"; cat /tmp/serve.log; exit 1; }
echo "== the server's log of the console session"
grep -i console /tmp/serve.log || true
INNER
"$XENLAB/run-dom0.sh" --domu --timeout 900 "$SHARE" 'sh run.sh'
