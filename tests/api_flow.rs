//! A day in the life of an installation, over real HTTP, on both backends: the same
//! scenario against SQLite and against a real PostgreSQL server.

mod common;

use common::*;
use dxr::Value;

fn scenario(server: &Server) {
    let admin = server.admin();
    let me = server.call("session.whoami", vec![s(&admin)]).unwrap();
    assert_eq!(member(&me, "role"), &s("admin"));

    // Nodes.
    let n = node(server, &admin, "xen-01");
    assert_eq!(
        code(server.call(
            "node.register",
            vec![
                s(&admin),
                st(&[
                    ("name", s("xen-01")),
                    ("hostname", s("h")),
                    ("transport", s("ssh")),
                    ("uri", s("ssh://h"))
                ])
            ]
        )),
        8
    );
    let rotated = server
        .call(
            "node.update",
            vec![
                s(&admin),
                i(n),
                st(&[
                    ("hostname", s("xen-01.lab")),
                    ("rotate_token", Value::Boolean(true)),
                ]),
            ],
        )
        .unwrap();
    assert!(matches!(&rotated, Value::String(t) if t.len() == 64));
    assert_eq!(
        member(
            &server.call("node.get", vec![s(&admin), i(n)]).unwrap(),
            "hostname"
        ),
        &s("xen-01.lab")
    );

    // VMs: provision, inspect, resize, devices, notes, power, jobs.
    let web = vm(server, &admin, n, "web");
    let detail = server.call("vm.get", vec![s(&admin), i(web)]).unwrap();
    assert_eq!(member(&detail, "state"), &s("stopped"));
    assert_eq!(member(&detail, "memory_kb"), &Value::Long(262_144));
    // Device changes are checked (a taken target is 8, a missing device 3) and recorded
    // as jobs (no scheduler runs here): vm.get lists them as pending, not as devices.
    let added = server
        .call(
            "vm.addVif",
            vec![s(&admin), i(web), st(&[("bridge", s("xenbr1"))])],
        )
        .unwrap();
    let vif_job = member(&added, "job").clone();
    server
        .call(
            "vm.addDisk",
            vec![
                s(&admin),
                i(web),
                st(&[("target", s("xvdb")), ("source", s("/srv/b.img"))]),
            ],
        )
        .unwrap();
    assert_eq!(
        code(server.call(
            "vm.addDisk",
            vec![
                s(&admin),
                i(web),
                st(&[("target", s("xvda")), ("source", s("/srv/c.img"))])
            ]
        )),
        8
    );
    let detail = server.call("vm.get", vec![s(&admin), i(web)]).unwrap();
    let (Value::Array(vifs), Value::Array(disks), Value::Array(pending)) = (
        member(&detail, "vifs"),
        member(&detail, "disks"),
        member(&detail, "pending"),
    ) else {
        panic!()
    };
    assert_eq!(
        (vifs.len(), disks.len()),
        (0, 1),
        "a device its job has not made is listed"
    );
    assert!(
        pending.iter().any(|p| member(p, "job") == &vif_job),
        "{pending:?}"
    );
    let disk = disks[0].clone();
    server
        .call(
            "vm.removeDisk",
            vec![s(&admin), i(web), member(&disk, "id").clone()],
        )
        .unwrap();
    assert_eq!(
        code(server.call(
            "vm.removeDisk",
            vec![s(&admin), i(web), member(&disk, "id").clone()]
        )),
        8
    );
    assert_eq!(
        code(server.call("vm.removeDisk", vec![s(&admin), i(web), i(99_999)])),
        3
    );
    server
        .call(
            "vm.update",
            vec![
                s(&admin),
                i(web),
                st(&[
                    ("memory_kb", i(524_288)),
                    ("max_memory_kb", i(524_288)),
                    ("vcpus", i(2)),
                ]),
            ],
        )
        .unwrap();
    // Memory above the VM's ceiling needs the ceiling raised with it.
    assert_eq!(
        code(server.call(
            "vm.update",
            vec![s(&admin), i(web), st(&[("memory_kb", i(600_000))])]
        )),
        4
    );
    assert_eq!(
        code(server.call(
            "vm.update",
            vec![s(&admin), i(web), st(&[("vcpus", i(64))])]
        )),
        6
    );
    assert_eq!(
        code(server.call(
            "vm.update",
            vec![
                s(&admin),
                i(web),
                st(&[("memory_kb", i(2_000_000)), ("max_memory_kb", i(1_000_000))])
            ]
        )),
        4
    );
    server
        .call("vm.setNotes", vec![s(&admin), i(web), s("owner: ops team")])
        .unwrap();
    assert_eq!(
        server.call("vm.notes", vec![s(&admin), i(web)]).unwrap(),
        s("owner: ops team")
    );
    assert_eq!(code(server.call("vm.pause", vec![s(&admin), i(web)])), 5);
    let start = int(&server.call("vm.start", vec![s(&admin), i(web)]).unwrap());
    let job = server.call("job.get", vec![s(&admin), i(start)]).unwrap();
    assert_eq!(
        (member(&job, "action"), member(&job, "state")),
        (&s("start"), &s("pending"))
    );
    let Value::Array(pending) = server
        .call(
            "job.list",
            vec![s(&admin), st(&[("state", s("pending")), ("vm", i(web))])],
        )
        .unwrap()
    else {
        panic!()
    };
    let actions: Vec<&Value> = pending.iter().map(|j| member(j, "action")).collect();
    // Newest first; the refused disk at a taken target left no job.
    let expected = [
        "start",
        "update",
        "detach-disk",
        "attach-disk",
        "attach-vif",
        "create",
    ];
    assert_eq!(
        actions,
        expected
            .iter()
            .map(|a| s(a))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    server
        .call("job.cancel", vec![s(&admin), i(start)])
        .unwrap();
    assert_eq!(
        code(server.call("job.cancel", vec![s(&admin), i(start)])),
        5
    );
    let Value::Array(log) = server
        .call("vm.log", vec![s(&admin), i(web), i(3)])
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(log.len(), 3);
    assert_eq!(member(&log[0], "action"), &s("job.cancel"));

    // Users: roles, quotas, self-service, disabling.
    let (alice_id, alice) = user(server, &admin, "alice", "user");
    server
        .call(
            "user.setQuota",
            vec![s(&admin), i(alice_id), st(&[("vms", i(1))])],
        )
        .unwrap();
    vm(server, &alice, n, "alice-1");
    let second = st(&[
        ("name", s("alice-2")),
        ("type", s("PV")),
        ("node", i(n)),
        ("memory_kb", i(262_144)),
        ("vcpus", i(1)),
    ]);
    assert_eq!(code(server.call("vm.create", vec![s(&alice), second])), 6);
    assert_eq!(
        member(
            &server
                .call("user.getQuota", vec![s(&alice), i(alice_id)])
                .unwrap(),
            "vms"
        ),
        &i(1)
    );
    server
        .call(
            "user.update",
            vec![
                s(&alice),
                i(alice_id),
                st(&[("language", s("de")), ("email", s("alice@example.org"))]),
            ],
        )
        .unwrap();
    assert_eq!(
        code(server.call(
            "user.update",
            vec![s(&alice), i(alice_id), st(&[("role", s("admin"))])]
        )),
        2
    );
    let Value::Array(seen) = server.call("user.list", vec![s(&alice)]).unwrap() else {
        panic!()
    };
    assert_eq!(seen.len(), 1);
    let Value::String(fresh) = server
        .call("user.resetPassword", vec![s(&admin), i(alice_id)])
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        code(server.call("session.whoami", vec![s(&alice)])),
        1,
        "a reset ends sessions"
    );
    let alice = server.login("alice", &fresh);
    server
        .call(
            "user.setPassword",
            vec![s(&alice), i(alice_id), s("alice-new-pass")],
        )
        .unwrap();
    let alice = server.login("alice", "alice-new-pass");
    server
        .call(
            "user.update",
            vec![
                s(&admin),
                i(alice_id),
                st(&[("disabled", Value::Boolean(true))]),
            ],
        )
        .unwrap();
    assert_eq!(code(server.call("session.whoami", vec![s(&alice)])), 1);
    assert_eq!(
        code(server.call("session.login", vec![s("alice"), s("alice-new-pass")])),
        1
    );
    let admin_id = int(member(&me, "id"));
    assert_eq!(
        code(server.call(
            "user.update",
            vec![s(&admin), i(admin_id), st(&[("role", s("user"))])]
        )),
        8
    );

    // Storage.
    let pool = int(&server
        .call(
            "storage.definePool",
            vec![
                s(&admin),
                st(&[
                    ("node", i(n)),
                    ("name", s("default")),
                    ("kind", s("dir")),
                    ("path", s("/srv/xen")),
                    ("capacity_kb", i(1_000_000)),
                ]),
            ],
        )
        .unwrap());
    assert_eq!(
        code(server.call(
            "storage.createVolume",
            vec![
                s(&admin),
                i(pool),
                st(&[("name", s("b.img")), ("capacity_kb", i(6_000_000))])
            ]
        )),
        6
    );
    server
        .call(
            "storage.createVolume",
            vec![
                s(&admin),
                i(pool),
                st(&[("name", s("a.img")), ("capacity_kb", i(600_000))]),
            ],
        )
        .unwrap();
    // The volume being made holds its room: 500,000 more KiB do not fit.
    assert_eq!(
        code(server.call(
            "storage.createVolume",
            vec![
                s(&admin),
                i(pool),
                st(&[("name", s("c.img")), ("capacity_kb", i(500_000))]),
            ],
        )),
        6
    );
    let Value::Array(volumes) = server
        .call("storage.volumes", vec![s(&admin), i(pool)])
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(volumes.len(), 1);
    assert_eq!(member(&volumes[0], "state"), &s("adding"));

    // Multicall: each call on its own, faults in place.
    let batch = arr(vec![
        st(&[
            ("methodName", s("vm.get")),
            ("params", arr(vec![s(&admin), i(web)])),
        ]),
        st(&[
            ("methodName", s("vm.get")),
            ("params", arr(vec![s(&admin), i(9999)])),
        ]),
        st(&[
            ("methodName", s("system.multicall")),
            ("params", arr(vec![arr(vec![])])),
        ]),
    ]);
    let Value::Array(results) = server.call("system.multicall", vec![batch]).unwrap() else {
        panic!()
    };
    assert!(matches!(&results[0], Value::Array(v) if v.len() == 1));
    assert_eq!(member(&results[1], "faultCode"), &i(3));
    assert_eq!(member(&results[2], "faultCode"), &i(-32601));

    // Nodes with VMs stay.
    assert_eq!(code(server.call("node.remove", vec![s(&admin), i(n)])), 8);
    server.call("session.logout", vec![s(&admin)]).unwrap();
    assert_eq!(code(server.call("session.whoami", vec![s(&admin)])), 1);
}

#[test]
fn scenario_on_sqlite() {
    scenario(&Server::sqlite());
}

#[test]
fn scenario_on_postgres() {
    scenario(&Server::postgres());
}

#[test]
fn data_survives_a_restart() {
    let database = fresh_sqlite_database();
    let vm_id = {
        let server = Server::start(&database, &[]);
        let admin = server.admin();
        let n = node(&server, &admin, "n1");
        vm(&server, &admin, n, "keeper")
    };
    let server = Server::start(&database, &[]);
    let admin = server.admin();
    let detail = server.call("vm.get", vec![s(&admin), i(vm_id)]).unwrap();
    assert_eq!(member(&detail, "name"), &s("keeper"));
}

#[test]
fn admins_read_the_whole_audit_log_filtered() {
    let server = Server::sqlite();
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let (alice_id, alice) = user(&server, &admin, "alice", "user");
    let vm = vm(&server, &alice, n, "audited");
    server.call("vm.start", vec![s(&alice), i(vm)]).unwrap();

    let entries = |filter: Value| {
        let Value::Array(rows) = server.call("audit.list", vec![s(&admin), filter]).unwrap() else {
            panic!()
        };
        rows
    };
    let all = entries(st(&[]));
    let actions: Vec<&Value> = all.iter().map(|e| member(e, "action")).collect();
    for expected in ["node.register", "user.create", "vm.create", "vm.start"] {
        assert!(
            actions.contains(&&s(expected)),
            "{expected} missing from {actions:?}"
        );
    }
    let ids: Vec<i32> = all.iter().map(|e| int(member(e, "id"))).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "not newest first");

    let alices = entries(st(&[("user", i(alice_id))]));
    assert!(!alices.is_empty());
    assert!(alices.iter().all(|e| member(e, "user") == &s("alice")));
    let on_vm = entries(st(&[("target_kind", s("vm")), ("target", i(vm))]));
    assert!(on_vm.iter().all(|e| member(e, "target") == &i(vm)));
    assert_eq!(entries(st(&[("limit", i(2))])).len(), 2);
    let future = zentific_xmlrpc::params::datetime(zentific_sql::now() + 3600);
    assert!(entries(st(&[("since", future)])).is_empty());

    assert_eq!(code(server.call("audit.list", vec![s(&alice), st(&[])])), 2);
    assert_eq!(
        code(server.call("audit.list", vec![s(&admin), st(&[("limit", i(0))])])),
        4
    );
    assert_eq!(
        code(server.call("audit.list", vec![s(&admin), st(&[("colour", s("red"))])])),
        4
    );
}
