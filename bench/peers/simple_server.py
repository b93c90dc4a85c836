#!/usr/bin/env python3
"""bench/peers/simple_server.py: benchmark peer on Python's stdlib SimpleXMLRPCServer.

Serves the same payload as the zentific benchmark seed:
  vm.list(token, filter)  -> array of 100 VM structs (parameters accepted and ignored)
  system.listMethods()    -> this server's own method list (stdlib introspection)

Usage: simple_server.py PORT   (listens on 127.0.0.1:PORT, path / or /RPC2)
"""

import sys
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer


def build_vms():
    """The 100 VM records, built once at start."""
    vms = []
    for i in range(1, 101):
        vms.append({
            "id": i,
            "uuid": "00000000-0000-4000-8000-%012d" % i,
            "name": "vm-%03d" % i,
            "node": 1,
            "node_name": "bench-node",
            "type": "PV" if i % 2 == 0 else "HVM",
            "os": "linux",
            "state": "stopped",
            # The stdlib marshaller has no i8: Python ints are always emitted as
            # <int> (i4), so these two go out as <int>, unlike zentific and xmlrpc-c.
            "memory_kb": 524288,
            "max_memory_kb": 1048576,
            "vcpus": 1 + (i % 4),
            "owner": 1,
        })
    return vms


VMS = build_vms()


def vm_list(token, filter):
    """Accept (string token, struct filter) and ignore both."""
    return VMS


class Server(SimpleXMLRPCServer):
    # The default listen backlog of 5 makes the kernel drop SYNs when wrk opens
    # dozens of connections at once (the server closes each after one response).
    request_queue_size = 1024
    allow_reuse_address = True


def main():
    port = int(sys.argv[1])
    server = Server(("127.0.0.1", port), requestHandler=SimpleXMLRPCRequestHandler,
                    logRequests=False)
    server.register_introspection_functions()
    server.register_multicall_functions()
    server.register_function(vm_list, "vm.list")
    server.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
