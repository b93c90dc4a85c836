# Drives zentific inside the dom0 (see run.sh): enables xl_local, registers dom0 as an
# xl-local node, and checks each change of the guest domu1 in `xl list`.
import subprocess, sys, time, xmlrpc.client
rpc = xmlrpc.client.ServerProxy("http://127.0.0.1:8080/RPC2", allow_none=True)
t = rpc.session.login("admin", "xenlab-pass")
rpc.module.enable(t, "xl_local")
node = rpc.node.register(t, {"name": "dom0", "hostname": "localhost", "transport": "xl-local", "uri": "xl-local:"})["id"]
def wait_job(job, what):
    for _ in range(240):
        j = rpc.job.get(t, job)
        if j["state"] in ("succeeded", "failed", "cancelled"):
            print(what, "->", j["state"], j.get("error", ""), "applies:", j.get("applies", ""))
            return j
        time.sleep(0.5)
    print(what, "-> still", j["state"], j.get("error", "")); sys.exit(1)
def vm(name):
    for _ in range(120):
        for v in rpc.vm.list(t, {}):
            if v["name"] == name:
                return v
        time.sleep(0.5)
    print("no", name, "in", rpc.vm.list(t, {}), rpc.node.get(t, node)); sys.exit(1)
def xl_state(name):
    out = subprocess.run(["xl", "list", name], capture_output=True, text=True).stdout.splitlines()[-1].split()
    return out[2], out[4]   # MiB, state
d = vm("domu1")
print("inventory:", d["name"], d["state"], d["memory_kb"], "KiB", d["vcpus"], "vCPU; xl:", xl_state("domu1"))
ok = True
j = wait_job(rpc.vm.pause(t, d["id"]), "vm.pause"); ok &= j["state"] == "succeeded"
mib, state = xl_state("domu1"); print("xl after pause:", state); ok &= "p" in state
j = wait_job(rpc.vm.unpause(t, d["id"]), "vm.unpause"); ok &= j["state"] == "succeeded"
mib, state = xl_state("domu1"); print("xl after unpause:", state); ok &= "p" not in state
j = wait_job(rpc.vm.update(t, d["id"], {"memory_kb": 98304}), "vm.update memory 96 MiB"); ok &= j["state"] == "succeeded"
time.sleep(2)
mib, state = xl_state("domu1"); print("xl memory after update:", mib, "MiB"); ok &= mib == "96"
j = wait_job(rpc.node.sync(t, node), "node.sync")
print("after sync:", rpc.vm.get(t, d["id"])["memory_kb"], "KiB")
print("RESULT", "ok" if ok else "FAILED")
sys.exit(0 if ok else 1)
