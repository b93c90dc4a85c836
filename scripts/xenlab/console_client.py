#!/usr/bin/env python3
"""A websocket client of a VM's text console through Zentific, for scripts/xenlab-console.sh.

    console_client.py BASE_URL ADMIN_PASSWORD VM_NAME

Logs in over XML-RPC, enables the xl_local module, registers this machine as a node on
the xl-local transport, waits until VM_NAME is in the inventory, asks vm.console for its
text console, opens the websocket at the ticket's path (Origin: the server's own), sends
Enter, and prints every byte the console sends for a few seconds. Plain sockets: nothing
outside Python's standard library.
"""
import base64
import os
import socket
import struct
import sys
import time
import xmlrpc.client

base, password, name = sys.argv[1:4]
api = xmlrpc.client.ServerProxy(base + "/RPC2")
for _ in range(100):
    try:
        token = api.session.login("admin", password)
        break
    except (ConnectionError, OSError):
        time.sleep(0.2)
else:
    sys.exit("the server did not start")
api.module.enable(token, "xl_local")
api.node.register(token, {"name": "dom0", "hostname": "localhost", "transport": "xl-local", "uri": "xl-local:"})
deadline = time.time() + 60
vm = None
while vm is None and time.time() < deadline:
    vm = next((v for v in api.vm.list(token) if v["name"] == name), None)
    time.sleep(0.5)
if vm is None:
    sys.exit(f"{name} did not appear in the inventory")
print(f"== {name}: VM {vm['id']}, {vm['state']}")
console = api.vm.console(token, vm["id"], "text")
print(f"== vm.console: kind {console['kind']}, path {console['path']}, ticket of {len(console['ticket'])} hex digits")

host = base.split("://", 1)[1]
address, port = host.rsplit(":", 1)
sock = socket.create_connection((address, int(port)))
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall(
    (f"GET {console['path']}?ticket={console['ticket']} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
     f"Sec-WebSocket-Protocol: binary\r\nOrigin: {base}\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += sock.recv(1)
print("== websocket:", head.split(b"\r\n")[0].decode())
if b" 101 " not in head.split(b"\r\n")[0]:
    sys.exit("the console was refused")


def send(payload):
    mask = os.urandom(4)
    sock.sendall(bytes([0x82, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def messages(seconds):
    """Binary messages arriving within `seconds`."""
    sock.settimeout(0.5)
    buffer = b""
    end = time.time() + seconds
    while time.time() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= 2:
            length, at = buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, at = struct.unpack(">H", buffer[2:4])[0], 4
            if len(buffer) < at + length:
                break
            opcode, payload, buffer = buffer[0] & 0x0F, buffer[at:at + length], buffer[at + length:]
            if opcode == 8:
                print("== closed:", payload[2:].decode(errors="replace"))
                return
            yield payload


received = b""
send(b"\r")
for payload in messages(8):
    received += payload
send(b"uname -a\r")
for payload in messages(8):
    received += payload
print("== what the guest's console sent:")
print(received.decode(errors="replace"))
send(b"\x1d")
sock.close()
if not received:
    sys.exit("nothing came from the console")
