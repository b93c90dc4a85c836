#!/usr/bin/env bash
# Regenerate docs/screenshots/: start a fresh demo server (scripts/web-dev.sh), let the
# demo node gather a minute of statistics, and take a picture of every page in Chromium.
#   scripts/screenshots.sh [PORT]     (default 8199)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8199}"
scripts/web-dev.sh "$port" > /tmp/zentific-screenshots.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q "listening on" /tmp/zentific-screenshots.log 2>/dev/null && break
    sleep 0.5
done
sleep "${ZENTIFIC_SCREENSHOT_WAIT:-60}" # statistics every 5 s: a minute of graph
cd frontend
ZENTIFIC_URL="http://127.0.0.1:$port" ZENTIFIC_ADMIN_PASSWORD=admin-password node tests/screenshots.mjs
