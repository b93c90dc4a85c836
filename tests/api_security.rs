//! The holes a hostile or careless caller found, each closed: node credentials, dom0
//! files as disks, grants, existence through fault codes, repeated struct members, echoed
//! values, and schedules that hammer a VM. Over real HTTP against `zentific serve`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::*;
use dxr::{TryFromValue, Value};

/// Rows of an SQL query on the server's SQLite file, through Python's sqlite3 module.
fn sqlite_rows(database: &str, sql: &str) -> String {
    let path = database
        .strip_prefix("sqlite://")
        .expect("an SQLite server");
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall())",
            path,
            sql,
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn text_of(value: &Value) -> String {
    format!("{value:?}")
}

#[test]
fn node_credentials_stay_apart_and_are_never_shown() {
    let server = Server::sqlite();
    let admin = server.admin();
    let (_, alice) = user(&server, &admin, "alice", "user");
    let (_, olga) = user(&server, &admin, "olga", "operator");
    let spec = st(&[
        ("name", s("xen-01")),
        ("hostname", s("xen-01")),
        ("transport", s("xenapi")),
        ("uri", s("https://root:S3cret@xen-01/")),
    ]);
    let node = int(member(
        &server.call("node.register", vec![s(&admin), spec]).unwrap(),
        "id",
    ));

    let as_admin = server.call("node.get", vec![s(&admin), i(node)]).unwrap();
    assert_eq!(member(&as_admin, "uri"), &s("https://xen-01/"));
    let as_operator = server.call("node.list", vec![s(&olga)]).unwrap();
    assert!(text_of(&as_operator).contains("https://xen-01/"));
    // Plain users see the node, but not its URI or the poller's details.
    let as_user = server.call("node.list", vec![s(&alice)]).unwrap();
    let Value::Array(nodes) = &as_user else {
        panic!()
    };
    let Value::Struct(record) = &nodes[0] else {
        panic!()
    };
    assert_eq!(record.get("name"), Some(&s("xen-01")));
    for hidden in ["uri", "status", "last_seen", "poll_interval", "silent"] {
        assert!(!record.contains_key(hidden), "plain users see {hidden}");
    }
    for answer in [&as_admin, &as_operator, &as_user] {
        assert!(!text_of(answer).contains("S3cret"));
    }
    // Changing the URI keeps the new password apart as well.
    server
        .call(
            "node.update",
            vec![
                s(&admin),
                i(node),
                st(&[("uri", s("https://root:N3wer@xen-02/"))]),
            ],
        )
        .unwrap();

    let stored = sqlite_rows(&server.database, "SELECT uri FROM nodes");
    assert!(
        stored.contains("https://xen-02/") && !stored.contains("N3wer"),
        "{stored}"
    );
    let audit = sqlite_rows(&server.database, "SELECT detail FROM audit_log");
    assert!(
        !audit.contains("S3cret") && !audit.contains("N3wer"),
        "{audit}"
    );

    let path = server.database.strip_prefix("sqlite://").unwrap();
    for file in [
        path.to_string(),
        format!("{path}-wal"),
        format!("{path}-shm"),
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
    }
}

fn new_vm(name: &str, node: i32, disk: Value) -> Value {
    st(&[
        ("name", s(name)),
        ("type", s("PV")),
        ("node", i(node)),
        ("memory_kb", i(262_144)),
        ("vcpus", i(1)),
        ("disks", arr(vec![disk])),
    ])
}

#[test]
fn disks_come_from_pools_unless_an_admin_says_otherwise() {
    let server = Server::sqlite();
    let admin = server.admin();
    let n = node(&server, &admin, "n1"); // with the pool "images" at /srv/xen
    let (_, alice) = user(&server, &admin, "alice", "user");
    for source in [
        "/etc/shadow",
        "/dev/sda",
        "/srv/xen/../../etc/shadow",
        "/srv/xenother/a.img",
        "/srv/xen",
    ] {
        let disk = st(&[("target", s("xvda")), ("source", s(source))]);
        assert_eq!(
            code(server.call("vm.create", vec![s(&alice), new_vm("web", n, disk)])),
            2,
            "a plain user's disk from {source}"
        );
    }
    let Value::Array(vms) = server.call("vm.list", vec![s(&admin), st(&[])]).unwrap() else {
        panic!()
    };
    assert!(vms.is_empty(), "a refused create recorded a VM");

    let inside = st(&[("target", s("xvda")), ("source", s("/srv/xen/web.img"))]);
    let job = int(&server
        .call("vm.create", vec![s(&alice), new_vm("web", n, inside)])
        .unwrap());
    let vm = int(member(
        &server.call("job.get", vec![s(&alice), i(job)]).unwrap(),
        "target",
    ));
    let shadow = st(&[("target", s("xvdb")), ("source", s("/etc/shadow"))]);
    assert_eq!(
        code(server.call("vm.addDisk", vec![s(&alice), i(vm), shadow])),
        2
    );
    let missing = st(&[("target", s("xvdb")), ("pool", i(1)), ("volume", s("nope"))]);
    assert_eq!(
        code(server.call("vm.addDisk", vec![s(&alice), i(vm), missing])),
        3
    );
    let detail = server.call("vm.get", vec![s(&alice), i(vm)]).unwrap();
    let Value::Array(disks) = member(&detail, "disks") else {
        panic!()
    };
    assert_eq!(disks.len(), 1, "a refused disk was recorded");

    // An admin may give a raw device: it passes the source check and is recorded.
    let raw = st(&[("target", s("xvdc")), ("source", s("/dev/sdb"))]);
    let added = server
        .call("vm.addDisk", vec![s(&admin), i(vm), raw])
        .unwrap();
    assert!(
        server
            .call("job.get", vec![s(&admin), member(&added, "job").clone()])
            .is_ok()
    );
    let raw = st(&[("target", s("xvdb")), ("source", s("/dev/sdb"))]);
    let disk = st(&[("target", s("xvda")), ("source", s("/dev/sdb"))]);
    let job = int(&server
        .call("vm.create", vec![s(&admin), new_vm("raw", n, disk)])
        .unwrap());
    assert!(server.call("job.get", vec![s(&admin), i(job)]).is_ok());
    assert_eq!(
        code(server.call("vm.addDisk", vec![s(&alice), i(vm), raw])),
        2
    );
}

fn grant(
    server: &Server,
    by: &str,
    user: i32,
    vm: i32,
    perms: &[&str],
) -> Result<Value, dxr::Fault> {
    let perms = arr(perms.iter().map(|p| s(p)).collect());
    server.call("user.grant", vec![s(by), i(user), i(vm), perms])
}

#[test]
fn only_admins_and_vm_admins_grant_and_grants_follow_the_granter() {
    let server = Server::sqlite();
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let (alice_id, alice) = user(&server, &admin, "alice", "user");
    let (olga_id, olga) = user(&server, &admin, "olga", "operator");
    let (adam_id, adam) = user(&server, &admin, "adam", "admin");
    let (bob_id, bob) = user(&server, &admin, "bob", "user");
    let (carol_id, carol) = user(&server, &admin, "carol", "user");
    let vm = vm(&server, &alice, n, "alices");

    // Operators act on every VM but grant on none; nobody grants to themselves.
    assert_eq!(code(grant(&server, &olga, olga_id, vm, &["admin"])), 2);
    assert_eq!(code(grant(&server, &olga, bob_id, vm, &["view"])), 2);
    assert_eq!(code(grant(&server, &adam, adam_id, vm, &["admin"])), 2);
    assert_eq!(code(grant(&server, &alice, alice_id, vm, &["admin"])), 2);
    let Value::Array(grants) = server
        .call("user.grants", vec![s(&admin), i(olga_id)])
        .unwrap()
    else {
        panic!()
    };
    assert!(grants.is_empty(), "a refused grant was recorded");

    // An admin's grant lasts while they are an admin; bob's admin grant lets him grant
    // carol, and both go when adam is demoted.
    grant(&server, &adam, bob_id, vm, &["admin"]).unwrap();
    grant(&server, &bob, carol_id, vm, &["power"]).unwrap();
    assert!(server.call("vm.get", vec![s(&carol), i(vm)]).is_err()); // power without view
    grant(&server, &bob, carol_id, vm, &["view"]).unwrap();
    assert!(server.call("vm.get", vec![s(&carol), i(vm)]).is_ok());
    // Who holds what on the VM: its owner and bob (admin on it) may ask, carol may not.
    let holders = |token: &str| {
        server.call("vm.grants", vec![s(token), i(vm)]).map(|v| {
            let Value::Array(rows) = v else { panic!() };
            rows.iter()
                .map(|r| {
                    let text = |name| String::try_from_value(member(r, name)).unwrap();
                    format!("{}:{}", text("username"), text("permission"))
                })
                .collect::<Vec<_>>()
        })
    };
    let expected = vec!["bob:admin", "carol:power", "carol:view"];
    assert_eq!(holders(&alice).unwrap(), expected);
    assert_eq!(holders(&bob).unwrap(), expected);
    assert_eq!(code(holders(&carol).map(|_| i(0))), 2);
    assert_eq!(code(server.call("vm.grants", vec![s(&admin), i(9999)])), 3);
    server
        .call(
            "user.update",
            vec![s(&admin), i(adam_id), st(&[("role", s("user"))])],
        )
        .unwrap();
    assert_eq!(code(server.call("vm.get", vec![s(&bob), i(vm)])), 3);
    assert_eq!(code(server.call("vm.get", vec![s(&carol), i(vm)])), 3);
    assert!(server.call("vm.get", vec![s(&alice), i(vm)]).is_ok());
}

#[test]
fn grants_lapse_by_themselves_and_the_lapse_is_audited() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let (_, alice) = user(&server, &admin, "alice", "user");
    let (bob_id, bob) = user(&server, &admin, "bob", "user");
    let vm = vm(&server, &alice, n, "lab-seat");
    let past = zentific_xmlrpc::params::datetime(zentific_sql::now() - 10);
    let perms = arr(vec![s("view")]);
    assert_eq!(
        code(server.call(
            "user.grant",
            vec![s(&alice), i(bob_id), i(vm), perms.clone(), past]
        )),
        4
    );
    let soon = zentific_xmlrpc::params::datetime(zentific_sql::now() + 3);
    server
        .call(
            "user.grant",
            vec![s(&alice), i(bob_id), i(vm), perms, soon.clone()],
        )
        .unwrap();
    let Value::Array(grants) = server
        .call("user.grants", vec![s(&bob), i(bob_id)])
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(member(&grants[0], "until"), &soon);
    assert!(server.call("vm.get", vec![s(&bob), i(vm)]).is_ok());
    wait_until(Duration::from_secs(20), "the grant to lapse", || {
        let answer = server.call("vm.get", vec![s(&bob), i(vm)]);
        (answer.err().map(|f| f.code()) == Some(3)).then_some(())
    });
    wait_until(Duration::from_secs(20), "the lapse in the VM's log", || {
        let log = server
            .call("vm.log", vec![s(&alice), i(vm), i(50)])
            .unwrap();
        text_of(&log).contains("user.grantLapsed").then_some(())
    });
}

#[test]
fn what_a_caller_may_not_see_is_as_absent_as_what_does_not_exist() {
    let server = Server::sqlite();
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let (_, alice) = user(&server, &admin, "alice", "user");
    let (bob_id, bob) = user(&server, &admin, "bob", "user");
    let vm = vm(&server, &alice, n, "alices");
    let job = int(&server.call("vm.start", vec![s(&alice), i(vm)]).unwrap());
    let schedule = int(&server
        .call(
            "schedule.create",
            vec![
                s(&alice),
                st(&[
                    ("name", s("nightly")),
                    ("vm", i(vm)),
                    ("action", s("reboot")),
                    ("cron", s("0 3 * * *")),
                ]),
            ],
        )
        .unwrap());
    let missing = 99_999;
    for (method, theirs) in [
        ("vm.get", vec![i(vm)]),
        ("vm.notes", vec![i(vm)]),
        ("vm.log", vec![i(vm), i(10)]),
        ("vm.pause", vec![i(vm)]),
        ("job.get", vec![i(job)]),
        ("job.cancel", vec![i(job)]),
        ("schedule.delete", vec![i(schedule)]),
        ("user.grant", vec![i(bob_id), i(vm), arr(vec![s("view")])]),
    ] {
        let mut params = vec![s(&bob)];
        params.extend(theirs.clone());
        let hidden = server.call(method, params).unwrap_err();
        let mut params = vec![s(&bob)];
        params.extend(theirs.into_iter().map(|v| {
            if v == i(vm) || v == i(job) || v == i(schedule) {
                i(missing)
            } else {
                v
            }
        }));
        let absent = server.call(method, params).unwrap_err();
        assert_eq!(hidden.code(), 3, "{method} on another user's object");
        assert_eq!(absent.code(), 3, "{method} on a missing object");
    }
    // What he can see but may not do stays fault 2.
    grant(&server, &alice, bob_id, vm, &["view"]).unwrap();
    assert_eq!(code(server.call("vm.pause", vec![s(&bob), i(vm)])), 2);
}

#[test]
fn a_repeated_struct_member_is_refused_and_changes_nothing() {
    let server = Server::sqlite();
    let admin = server.admin();
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>user.create</methodName><params>\
         <param><value><string>{admin}</string></value></param>\
         <param><value><struct>\
         <member><name>username</name><value><string>mallory</string></value></member>\
         <member><name>password</name><value><string>pass-word-1</string></value></member>\
         <member><name>role</name><value><string>user</string></value></member>\
         <member><name>role</name><value><string>admin</string></value></member>\
         </struct></value></param></params></methodCall>"
    );
    let fault = decode(&server.post(body.as_bytes()).1).unwrap_err();
    assert_eq!(fault.code(), 4);
    assert!(fault.string().contains("role"), "{}", fault.string());
    assert_eq!(
        code(server.call("session.login", vec![s("mallory"), s("pass-word-1")])),
        1
    );
}

#[test]
fn faults_never_echo_a_huge_value() {
    let server = Server::sqlite();
    let admin = server.admin();
    let huge = "u".repeat(1 << 20);
    let spec = st(&[
        ("username", s(&huge)),
        ("password", s("pass-word-1")),
        ("role", s("user")),
    ]);
    let fault = server
        .call("user.create", vec![s(&admin), spec])
        .unwrap_err();
    assert_eq!(fault.code(), 4);
    assert!(
        fault.string().len() < 400,
        "{} characters",
        fault.string().len()
    );
    let fault = server.call(&format!("no.{huge}"), vec![]).unwrap_err();
    assert!(fault.string().len() < 400);
}

fn schedule(name: &str, cron: &str, vm: i32) -> Value {
    st(&[
        ("name", s(name)),
        ("vm", i(vm)),
        ("action", s("reboot")),
        ("cron", s(cron)),
    ])
}

#[test]
fn schedules_have_a_floor_and_do_no_more_than_their_creator_still_may() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    let n = node(&server, &admin, "n1");
    let (_, alice) = user(&server, &admin, "alice", "user");
    let (bob_id, bob) = user(&server, &admin, "bob", "user");
    let vm = vm(&server, &alice, n, "target");
    assert_eq!(
        code(server.call(
            "schedule.create",
            vec![s(&alice), schedule("s1", "* * * * * *", vm)]
        )),
        4
    );
    assert_eq!(
        code(server.call(
            "schedule.create",
            vec![s(&alice), schedule("s2", "*/10 * * * * *", vm)]
        )),
        4
    );
    assert!(
        server
            .call(
                "schedule.create",
                vec![s(&alice), schedule("s3", "*/5 * * * *", vm)]
            )
            .is_ok()
    );
    assert!(
        server
            .call(
                "schedule.create",
                vec![s(&admin), schedule("s4", "* * * * * *", vm)]
            )
            .is_ok()
    );

    // With the floor lowered, bob's schedule runs while he holds power on the VM, and
    // stops (disabled, audited) once it is revoked.
    server
        .call(
            "config.set",
            vec![s(&admin), st(&[("schedule_min_interval_secs", i(1))])],
        )
        .unwrap();
    grant(&server, &alice, bob_id, vm, &["view", "power"]).unwrap();
    let id = int(&server
        .call(
            "schedule.create",
            vec![s(&bob), schedule("s5", "*/1 * * * * *", vm)],
        )
        .unwrap());
    let runs = |token: &str| {
        let Value::Array(jobs) = server
            .call("job.list", vec![s(token), st(&[("vm", i(vm))])])
            .unwrap()
        else {
            panic!()
        };
        jobs.iter()
            .filter(|j| member(j, "created_by") == &i(bob_id))
            .count()
    };
    wait_until(Duration::from_secs(20), "bob's schedule to run", || {
        (runs(&admin) > 0).then_some(())
    });
    server
        .call(
            "user.revoke",
            vec![s(&alice), i(bob_id), i(vm), arr(vec![s("power")])],
        )
        .unwrap();
    wait_until(
        Duration::from_secs(20),
        "bob's schedule to be disabled",
        || {
            let Value::Array(all) = server.call("schedule.list", vec![s(&admin)]).unwrap() else {
                panic!()
            };
            all.iter()
                .any(|sch| {
                    member(sch, "id") == &i(id) && member(sch, "enabled") == &Value::Boolean(false)
                })
                .then_some(())
        },
    );
    let after = runs(&admin);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        runs(&admin),
        after,
        "the schedule ran after its creator lost power"
    );
}
