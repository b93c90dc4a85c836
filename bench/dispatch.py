"""Dispatch latency through the whole stack: vm.pause / vm.unpause over XML-RPC, the job
recorded, the in-process scheduler woken, libvirt called, the outcome recorded. Measured
from the client: from sending the call until job.get reports the job succeeded (polled
every 0.2 ms). Usage: dispatch.py URL ADMIN_PASSWORD N; prints "N p50_us p99_us"."""

import sys
import time
import xmlrpc.client

url, password, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
server = xmlrpc.client.ServerProxy(url)
token = server.session.login("admin", password)
web = None
for _ in range(500):
    web = next((v for v in server.vm.list(token) if v["name"] == "web"), None)
    if web:
        break
    time.sleep(0.02)
assert web, "the demo node's VM 'web' never appeared"

micros = []
for i in range(n):
    method = server.vm.pause if i % 2 == 0 else server.vm.unpause
    started = time.perf_counter()
    job = method(token, web["id"])
    while True:
        state = server.job.get(token, job)["state"]
        if state == "succeeded":
            break
        if state in ("failed", "cancelled"):
            raise SystemExit(f"job {job} {state}")
        time.sleep(0.0002)
    micros.append((time.perf_counter() - started) * 1e6)
micros.sort()
pick = lambda q: micros[round((len(micros) - 1) * q)]
print(n, f"{pick(0.5):.1f}", f"{pick(0.99):.1f}")
