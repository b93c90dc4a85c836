#!/bin/sh
# Runs inside a Xen dom0 with SHARE mounted at /mnt/host (see run.sh): zentific serve with
# the xl_local module drives dom0's own xl through a node on the xl-local transport.
cd /mnt/host
export LD_LIBRARY_PATH=/mnt/host/lib
export ZENTIFIC_ADMIN_PASSWORD=xenlab-pass HOME=/root ZENTIFIC_DATA_DIR=/tmp/z
mkdir -p /tmp/z/modules && cp libzentific_module_xl_local.so /tmp/z/modules/
chmod 755 /tmp/z /tmp/z/modules /tmp/z/modules/*.so
./zentific serve --listen 127.0.0.1:8080 --database sqlite:///tmp/z/z.db --modules-dir /tmp/z/modules --reconcile-secs 5 > /tmp/z/log 2>&1 &
for i in $(seq 240); do grep -q "listening on" /tmp/z/log && break; sleep 1; done
LD_LIBRARY_PATH= python3 /mnt/host/client.py; rc=$?
echo "--- xl list"; xl list
echo "--- server log"; tail -15 /tmp/z/log
exit $rc
