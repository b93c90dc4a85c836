#!/usr/bin/env bash
# Fail when a tracked .rs file is not reached by `cargo fmt` (a file pulled in with
# `include!` or otherwise outside the module tree escapes `cargo fmt --check`).
# The one exception is generated code that must stay byte-for-byte what its generator
# writes: poller/xenstat-sys/src/bindings.rs (bindgen's own formatting, checked by
# `cargo test -p xenstat-sys --features bindgen`).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)/"
generated=(poller/xenstat-sys/src/bindings.rs)

seen="$(cargo fmt --all -- --check -v 2>/dev/null | sed -n "s|^Formatting ${root}||p" | sort -u)" || true
tracked="$(git ls-files '*.rs' | sort -u)"
missing="$(comm -13 <(echo "$seen") <(echo "$tracked") | grep -vxF -f <(printf '%s\n' "${generated[@]}") || true)"
if [[ -n "$missing" ]]; then
    echo "fmt-coverage: cargo fmt does not reach these files:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "fmt-coverage: cargo fmt reaches all $(echo "$tracked" | wc -l) tracked .rs files (generated: ${generated[*]})"
