#!/usr/bin/env python3
"""bench/seed.py: fill a fresh zentific server with the benchmark payload.

Logs in as admin (password from ZENTIFIC_ADMIN_PASSWORD, default "benchpass"),
registers one node and creates 100 VMs (the same records the benchmark peers
serve), then prints the session token on stdout for the wrk request bodies.

Usage: seed.py URL      e.g. seed.py http://127.0.0.1:8080/RPC2
"""

import os
import sys
import xmlrpc.client

VM_COUNT = 100


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seed.py URL")
    server = xmlrpc.client.ServerProxy(sys.argv[1])
    password = os.environ.get("ZENTIFIC_ADMIN_PASSWORD", "benchpass")

    token = server.session.login("admin", password)
    node = server.node.register(token, {
        "name": "bench-node",
        "hostname": "127.0.0.1",
        "transport": "libvirt",
        "uri": "test:///default",
    })
    node_id = node["id"]

    # One system.multicall round trip for all 100 creates.
    batch = xmlrpc.client.MultiCall(server)
    for i in range(1, VM_COUNT + 1):
        batch.vm.create(token, {
            "name": "vm-%03d" % i,
            "type": "PV" if i % 2 == 0 else "HVM",
            "node": node_id,
            "memory_kb": 524288,
            "max_memory_kb": 1048576,
            "vcpus": 1 + (i % 4),
            "os": "linux",
            "vifs": [],
            "disks": [],
        })
    # Iterating the result raises xmlrpc.client.Fault for the first failed call.
    created = list(batch())
    print("seed: node %d, %d VMs created" % (node_id, len(created)), file=sys.stderr)

    print(token)


if __name__ == "__main__":
    main()
