"""Drive a running Zentific server with Python's stdlib xmlrpc.client, a client written
elsewhere: usage `client_test.py URL ADMIN_PASSWORD`. Exits non-zero on the first failure."""

import datetime
import sys
import xmlrpc.client

url, admin_password = sys.argv[1], sys.argv[2]
server = xmlrpc.client.ServerProxy(url)


def expect_fault(code, call, *args):
    try:
        call(*args)
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == code, (fault.faultCode, fault.faultString)
        assert fault.faultString, "empty faultString"
        return fault
    raise AssertionError(f"expected fault {code}")


methods = server.system.listMethods()
assert "vm.list" in methods and "system.multicall" in methods, methods
assert "vm.pause(token, id)" in server.system.methodHelp("vm.pause")
assert server.system.methodSignature("vm.get") == [["struct", "string", "int"]]

expect_fault(1, server.session.login, "admin", "wrong password")
token = server.session.login("admin", admin_password)
me = server.session.whoami(token)
assert me["username"] == "admin" and me["role"] == "admin", me
assert isinstance(me["created"], xmlrpc.client.DateTime), me

node = server.node.register(token, {"name": "py-node", "hostname": "127.0.0.1",
                                    "transport": "libvirt", "uri": "test:///default"})
assert len(node["poller_token"]) == 64

# Memory sizes come back as i8 (xmlrpc.client reads them; it can only send int).
server.config.set(token, {"vm_max_memory_kb": 64 * 2**20})
multi = xmlrpc.client.MultiCall(server)
for n in range(5):
    multi.vm.create(token, {"name": f"py-{n}", "type": "HVM", "node": node["id"],
                            "memory_kb": 1048576, "vcpus": 2,
                            "vifs": [{"bridge": "xenbr0"}], "disks": []})
multi.vm.get(token, 424242)
results = multi()
jobs = [results[n] for n in range(5)]
assert all(isinstance(j, int) for j in jobs), jobs
try:
    results[5]
    raise AssertionError("the bad call of the batch did not fault")
except xmlrpc.client.Fault as fault:
    assert fault.faultCode == 3, fault

vms = server.vm.list(token, {"node": node["id"]})
assert sorted(v["name"] for v in vms) == [f"py-{n}" for n in range(5)], vms
first = vms[0]
job = server.vm.update(token, first["id"], {"memory_kb": 2 * 2**20, "max_memory_kb": 3 * 2**20})
assert server.job.get(token, job)["state"] == "pending"
detail = server.vm.get(token, first["id"])
# Sizes are what the hypervisor reported; the change waits under "pending".
assert detail["max_memory_kb"] == first["max_memory_kb"], detail
assert {"job": job, "action": "update", "params": "memory_kb=2097152 max_memory_kb=3145728",
        "state": "pending"} in detail["pending"], detail
assert detail["vifs"][0]["mac"].startswith("00:16:3e:"), detail
assert server.vm.list(token, {"state": "stopped"})
expect_fault(5, server.vm.pause, token, first["id"])
expect_fault(6, server.vm.update, token, first["id"], {"vcpus": 64})
expect_fault(-32602, server.vm.get, token)
expect_fault(-32601, server.vm.teleport, token, first["id"])

server.vm.setNotes(token, first["id"], "backup nightly ✓")
assert server.vm.notes(token, first["id"]) == "backup nightly ✓"
log = server.vm.log(token, first["id"])
assert [e["action"] for e in log][:2] == ["vm.setNotes", "vm.update"], log
assert isinstance(log[0]["at"], xmlrpc.client.DateTime)
stamp = datetime.datetime.strptime(log[0]["at"].value, "%Y%m%dT%H:%M:%S")
assert abs((datetime.datetime.utcnow() - stamp).total_seconds()) < 300, stamp

uid = server.user.create(token, {"username": "py-user", "password": "py-password",
                                 "email": "py@example.org"})
user_token = server.session.login("py-user", "py-password")
assert server.vm.list(user_token) == []
expect_fault(3, server.vm.get, user_token, first["id"])  # not theirs: as absent as a missing VM
server.user.grant(token, uid, first["id"], ["view"])
assert [v["id"] for v in server.vm.list(user_token)] == [first["id"]]
server.session.logout(token)
expect_fault(1, server.vm.list, token)
print("python xmlrpc.client: ok")
