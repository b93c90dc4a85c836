#!/bin/bash
# Check the xl-local transport against a real Xen dom0 booted under QEMU by xenlab:
#   XENLAB=/path/to/xenlab modules/xl_local/xenlab/run.sh
# Builds the release server and module, copies them with the server's shared libraries
# (a minimal dom0 lacks libpq) into a share directory, and runs check.sh in dom0 with a
# PV guest domu1: the guest is found by the inventory, paused, unpaused and given 96 MiB,
# each checked in `xl list`. Prints "RESULT ok" and exits 0 when all held.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
XENLAB=${XENLAB:?set XENLAB to the xenlab directory (run-dom0.sh)}
(cd "$ROOT" && cargo build --release -q --bin zentific && cargo build --release -q -p zentific-module-xl-local)
SHARE=$(mktemp -d /tmp/zentific-xenlab.XXXXXX)
trap 'rm -rf "$SHARE"' EXIT
cp "$ROOT/target/release/zentific" "$ROOT/target/release/libzentific_module_xl_local.so" \
   "$HERE/check.sh" "$HERE/client.py" "$SHARE/"
mkdir "$SHARE/lib"
ldd "$ROOT/target/release/zentific" | awk '/=>/ {print $3}' \
    | grep -v -E 'libc\.so|libm\.so|ld-linux|libgcc_s' | xargs -I{} cp -L {} "$SHARE/lib/"
"$XENLAB/run-dom0.sh" --domu "$SHARE" 'sh /mnt/host/check.sh'
