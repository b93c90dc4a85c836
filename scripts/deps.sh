#!/usr/bin/env bash
# Install what building, running and testing Zentific needs on Debian bookworm and is not
# on a fresh machine: libpq (the PostgreSQL client library diesel links), libvirt (the
# libvirt transport links it; its test driver serves the demo node), libxenstat (the poller
# links it on Xen dom0s), PostgreSQL 15 (the tests start their own throwaway server),
# OpenSSH's server and client (the SSH transport's tests start a real sshd), pkg-config and
# Python 3 (an outside XML-RPC client and the XenAPI simulator in the tests), and libclang
# (the test suite regenerates the libxenstat bindings to check the checked-in copy is
# current), Chromium (the web page's browser tests), Xvfb, x11vnc, xsetroot and xev
# (the demo VMs' graphical consoles and the console tests' real VNC server) and, when the
# machine has no Node.js, Debian's nodejs and npm. Then `npm ci` in frontend/ installs the
# web page's npm packages (Preact, htm, uPlot, noVNC, xterm.js; esbuild, which minifies
# the page's modules at build time, and playwright-core for the browser tests) from package-lock.json
# when they are missing or older than the lock. Installs only what is missing; a no-op
# otherwise.
# Pass --bench to add what bench/run.sh needs (wrk, xmlrpc-c).
set -euo pipefail

packages=(libpq-dev libvirt-dev libxen-dev postgresql-15 openssh-server openssh-client pkg-config python3 ca-certificates openssl libclang1-14 libclang-common-14-dev chromium xvfb x11vnc x11-xserver-utils x11-utils)
command -v npm >/dev/null || packages+=(nodejs npm)
if [[ "${1:-}" == "--bench" ]]; then
    packages+=(wrk libxmlrpc-core-c3-dev gcc)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "deps.sh: installing ${missing[*]}" >&2
    sudo=()
    [[ "$(id -u)" -ne 0 ]] && sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The web page's npm packages; npm keeps its own copy of the lock in node_modules/.
frontend="$(dirname "$0")/../frontend"
if ! cmp -s "$frontend/package-lock.json" "$frontend/node_modules/.package-lock.json" 2>/dev/null &&
    ! [[ -f "$frontend/node_modules/.package-lock.json" && "$frontend/node_modules/.package-lock.json" -nt "$frontend/package-lock.json" ]]; then
    echo "deps.sh: npm ci in frontend/" >&2
    (cd "$frontend" && npm ci --no-audit --no-fund --loglevel=error)
fi
