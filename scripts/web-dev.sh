#!/usr/bin/env bash
# Work on the web page: start the debug build of `zentific serve --demo` on a fresh
# SQLite database in a temp dir, with the dom0health module in its modules directory and
# the admin password admin-password. Debug builds read frontend/web/ from disk and
# ZENTIFIC_WEB_SOURCES sends its modules as written (not minified), so an edited view
# shows on the next reload without a rebuild.
#   scripts/web-dev.sh [PORT]        (default 8080; builds first when the binary is missing)
# Then run browser tests against it:
#   cd frontend && ZENTIFIC_URL=http://127.0.0.1:PORT ZENTIFIC_ADMIN_PASSWORD=admin-password node --test tests/vms.test.mjs
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8080}"
[[ -x target/debug/zentific && -f target/debug/libzentific_module_dom0health.so ]] ||
    cargo build --all-features -p zentific -p zentific-module-dom0health
dir="$(mktemp -d /tmp/zentific-web-dev.XXXXXX)"
mkdir -m 755 "$dir/modules"
install -m 755 target/debug/libzentific_module_dom0health.so "$dir/modules/"
echo "web-dev: http://127.0.0.1:$port/ (admin / admin-password), data in $dir" >&2
ZENTIFIC_WEB_SOURCES=1 ZENTIFIC_ADMIN_PASSWORD=admin-password exec target/debug/zentific serve --demo \
    --listen "127.0.0.1:$port" --database "sqlite://$dir/zentific.db" --modules-dir "$dir/modules"
