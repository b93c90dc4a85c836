#!/bin/bash
# modules.sh - what a module call costs beyond the same work done by built-in code.
#
# Builds the validator1 module and modules/loader's call_cost example (release), then in
# one run calls validator1.easyStructTest N times on the module's Rust type directly (what
# a built-in method of the same shape would run) and N times through the loaded library
# (the parameters encoded as an XML-RPC <value>, the C ABI crossed, decoded, the answer
# encoded and decoded again). The HTTP, parsing and registry checks around a call are the
# same code for built-in and module methods, so the difference is the module's cost.
#
# usage: bench/modules.sh [N]        (default 200000)
set -euo pipefail
N=${1:-200000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
(cd "$ROOT" && cargo build --release -q -p zentific-module-validator1 \
    && cargo build --release -q -p zentific-modules --example call_cost)
DIR=$(mktemp -d /tmp/zentific-modules-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
chmod 755 "$DIR"
install -m 755 "$ROOT/target/release/libzentific_module_validator1.so" "$DIR/"
"$ROOT/target/release/examples/call_cost" "$DIR/libzentific_module_validator1.so" "$N"
