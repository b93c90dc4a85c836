//! The scheduler end to end: XML-RPC call → job → hypervisor (libvirt's test driver) →
//! inventory, with `zentific serve`'s in-process scheduler and separate `zentific
//! scheduler` processes — including one killed in the middle of a job.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::*;
use dxr::Value;

#[test]
fn vm_pause_over_xmlrpc_reaches_libvirt() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web");
    assert_eq!(vm_state(&server, &admin, web), "running");
    let job = int(&server.call("vm.pause", vec![s(&admin), i(web)]).unwrap());
    let done = finished_job(&server, &admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    assert_eq!(vm_state(&server, &admin, web), "paused");
    // The API now refuses a second pause before any job exists.
    assert_eq!(code(server.call("vm.pause", vec![s(&admin), i(web)])), 5);
    let Value::Array(log) = server.call("vm.log", vec![s(&admin), i(web)]).unwrap() else {
        panic!()
    };
    assert!(
        log.iter()
            .any(|e| member(e, "detail") == &s("running → paused")),
        "{log:?}"
    );
}

#[test]
fn a_wrong_state_at_the_hypervisor_fails_the_job_with_its_words() {
    let database = fresh_sqlite_database();
    let server = Server::start(&database, &[]);
    let admin = server.admin();
    node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let first = SchedulerProcess::start(&database, &["--workers", "1"]);
    let web = vm_named(&server, &admin, "web");
    assert!(first.stop(), "the scheduler did not stop cleanly");
    // Both are accepted: the inventory says web runs. At the hypervisor the destroy
    // comes first, so the pause meets a stopped domain.
    let destroy = int(&server.call("vm.destroy", vec![s(&admin), i(web)]).unwrap());
    let pause = int(&server.call("vm.pause", vec![s(&admin), i(web)]).unwrap());
    let _second = SchedulerProcess::start(&database, &["--workers", "2"]);
    assert_eq!(
        member(&finished_job(&server, &admin, destroy), "state"),
        &s("succeeded")
    );
    let failed = finished_job(&server, &admin, pause);
    assert_eq!(
        (member(&failed, "state"), member(&failed, "fault")),
        (&s("failed"), &i(5)),
        "{failed:?}"
    );
    let Value::String(error) = member(&failed, "error") else {
        panic!()
    };
    assert!(
        error.contains("not running"),
        "the job should keep libvirt's words: {error}"
    );
    assert_eq!(vm_state(&server, &admin, web), "stopped");
}

#[test]
fn an_unreachable_node_fails_its_job_with_fault_7_after_bounded_retries() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start_with_scheduler(
        &fresh_sqlite_database(),
        &["--retry-secs", "1", "--retry-max-secs", "1"],
    );
    let admin = server.admin();
    let node = node_on(
        &server,
        &admin,
        "gone",
        "libvirt",
        &format!("qemu+tcp://127.0.0.1:{closed}/system"),
    );
    let vm = int(&server
        .call(
            "vm.create",
            vec![
                s(&admin),
                st(&[
                    ("name", s("orphan")),
                    ("type", s("HVM")),
                    ("node", i(node)),
                    ("memory_kb", i(65_536)),
                    ("vcpus", i(1)),
                ]),
            ],
        )
        .unwrap());
    let failed = finished_job(&server, &admin, vm);
    assert_eq!(
        (
            member(&failed, "state"),
            member(&failed, "fault"),
            member(&failed, "attempts")
        ),
        (&s("failed"), &i(7), &i(5)),
        "{failed:?}"
    );
    let Value::String(error) = member(&failed, "error") else {
        panic!()
    };
    assert!(
        error.contains("unreachable") && error.contains("gave up after 5 attempts"),
        "{error}"
    );
    let record = server.call("node.get", vec![s(&admin), i(node)]).unwrap();
    assert_eq!(member(&record, "reachable"), &Value::Boolean(false));
    let Value::String(status) = member(&record, "status") else {
        panic!()
    };
    assert!(
        !status.is_empty(),
        "the node should say why it is unreachable"
    );
}

#[test]
fn a_scheduler_killed_mid_job_loses_nothing() {
    // A listener that never answers: libvirt's client waits on it forever.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let database = fresh_sqlite_database();
    let server = Server::start(&database, &[]);
    let admin = server.admin();
    let node = node_on(
        &server,
        &admin,
        "hangs",
        "libvirt",
        &format!("qemu+tcp://127.0.0.1:{port}/system"),
    );
    let Value::Array(jobs) = server
        .call("job.list", vec![s(&admin), st(&[("state", s("pending"))])])
        .unwrap()
    else {
        panic!()
    };
    let sync = int(member(&jobs[0], "id"));
    let stuck = SchedulerProcess::start(&database, &["--workers", "1", "--orphan-secs", "2"]);
    wait_until(
        Duration::from_secs(30),
        "the sync job to be running",
        || {
            (member(
                &server.call("job.get", vec![s(&admin), i(sync)]).unwrap(),
                "state",
            ) == &s("running"))
                .then_some(())
        },
    );
    stuck.crash();
    // The node comes back (as the test driver); a new scheduler resumes the job.
    server
        .call(
            "node.update",
            vec![s(&admin), i(node), st(&[("uri", s(&test_driver_uri()))])],
        )
        .unwrap();
    let _fresh = SchedulerProcess::start(&database, &["--workers", "1", "--orphan-secs", "2"]);
    let done = finished_job(&server, &admin, sync);
    assert_eq!(
        (member(&done, "state"), member(&done, "attempts")),
        (&s("succeeded"), &i(2)),
        "{done:?}"
    );
    vm_named(&server, &admin, "web");
    drop(silent);
}

#[test]
fn schedules_and_triggers_run_actions() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web");
    let db = vm_named(&server, &admin, "db");
    // Malformed schedules name the field.
    let spec = |cron: &str, timezone: &str, action: &str| {
        st(&[
            ("name", s("bad")),
            ("vm", i(web)),
            ("action", s(action)),
            ("cron", s(cron)),
            ("timezone", s(timezone)),
        ])
    };
    for (field, bad) in [
        ("cron", spec("61 * * * *", "UTC", "reboot")),
        ("timezone", spec("* * * * *", "Mars/Base", "reboot")),
        ("action", spec("* * * * *", "UTC", "explode")),
    ] {
        let fault = server
            .call("schedule.create", vec![s(&admin), bad])
            .unwrap_err();
        assert_eq!(fault.code(), 4);
        assert!(fault.string().contains(field), "{}", fault.string());
    }
    // Every second, twice: two recurring reboot jobs, then the schedule is spent.
    let schedule = st(&[
        ("name", s("twice")),
        ("vm", i(web)),
        ("action", s("reboot")),
        ("cron", s("* * * * * *")),
        ("count", i(2)),
    ]);
    let id = int(&server
        .call("schedule.create", vec![s(&admin), schedule])
        .unwrap());
    let jobs = wait_until(Duration::from_secs(20), "two recurring jobs", || {
        let Value::Array(jobs) = server
            .call("job.list", vec![s(&admin), st(&[("vm", i(web))])])
            .unwrap()
        else {
            return None;
        };
        let recurring: Vec<Value> = jobs
            .into_iter()
            .filter(|j| member(j, "kind") == &s("recurring"))
            .collect();
        (recurring.len() == 2
            && recurring
                .iter()
                .all(|j| member(j, "state") == &s("succeeded")))
        .then_some(recurring)
    });
    assert!(
        jobs.iter()
            .all(|j| member(j, "origin") == &i(id) && member(j, "action") == &s("reboot"))
    );
    let Value::Array(schedules) = server.call("schedule.list", vec![s(&admin)]).unwrap() else {
        panic!()
    };
    assert_eq!(member(&schedules[0], "remaining"), &i(0));
    assert!(matches!(&schedules[0], Value::Struct(m) if !m.contains_key("next_run")));
    // When web is paused, pause db too.
    let trigger = st(&[
        ("name", s("follow")),
        ("event", s("vm_state")),
        ("vm", i(web)),
        ("state", s("paused")),
        ("action", s("pause")),
        ("target", i(db)),
    ]);
    server
        .call("trigger.create", vec![s(&admin), trigger])
        .unwrap();
    let pause = int(&server.call("vm.pause", vec![s(&admin), i(web)]).unwrap());
    finished_job(&server, &admin, pause);
    wait_until(
        Duration::from_secs(20),
        "db to follow web into paused",
        || (vm_state(&server, &admin, db) == "paused").then_some(()),
    );
}

fn sizes(server: &Server, token: &str, vm: i32) -> (Value, Value, Value) {
    let got = server.call("vm.get", vec![s(token), i(vm)]).unwrap();
    (
        member(&got, "memory_kb").clone(),
        member(&got, "max_memory_kb").clone(),
        member(&got, "vcpus").clone(),
    )
}

/// Run a job to its end and read the node again, so that `vm.get` shows what the
/// hypervisor reports.
fn run_and_reread(server: &Server, token: &str, job: i32) -> Value {
    let done = finished_job(server, token, job);
    let vm = int(member(
        &server.call("job.get", vec![s(token), i(job)]).unwrap(),
        "target",
    ));
    let vm = server.call("vm.get", vec![s(token), i(vm)]).unwrap();
    let sync = int(&server
        .call("node.sync", vec![s(token), member(&vm, "node").clone()])
        .unwrap());
    assert_eq!(
        member(&finished_job(server, token, sync), "state"),
        &s("succeeded")
    );
    done
}

#[test]
fn resizes_happen_at_the_hypervisor_and_a_failed_one_changes_nothing() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web"); // running, 256 of 512 MiB, 2 vCPUs
    let backup = vm_named(&server, &admin, "backup"); // stopped, 128 MiB, 1 vCPU
    let update = |vm: i32, changes: Value| {
        int(&server
            .call("vm.update", vec![s(&admin), i(vm), changes])
            .unwrap())
    };

    // Balloon a running VM; its ceiling stays.
    let job = update(web, st(&[("memory_kb", i(393_216))]));
    let done = run_and_reread(&server, &admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    assert_eq!(member(&done, "applies"), &s("now"), "{done:?}");
    assert_eq!(
        sizes(&server, &admin, web),
        (Value::Long(393_216), Value::Long(524_288), i(2))
    );
    // A running VM's ceiling changes in its definition: for the next boot.
    let job = update(web, st(&[("max_memory_kb", i(655_360))]));
    let done = run_and_reread(&server, &admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    assert_eq!(member(&done, "applies"), &s("next boot"), "{done:?}");
    // vCPUs of a running VM, down.
    let job = update(web, st(&[("vcpus", i(1))]));
    assert_eq!(
        member(&run_and_reread(&server, &admin, job), "state"),
        &s("succeeded")
    );
    assert_eq!(sizes(&server, &admin, web).2, i(1));
    // A stopped VM's definition: more vCPUs than it had (the ceiling rises), less memory.
    let job = update(backup, st(&[("memory_kb", i(65_536)), ("vcpus", i(2))]));
    let done = run_and_reread(&server, &admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    assert_eq!(sizes(&server, &admin, backup).0, Value::Long(65_536));
    assert_eq!(sizes(&server, &admin, backup).2, i(2));

    // More vCPUs than the running VM booted with: libvirt refuses, and vm.get stays.
    let before = sizes(&server, &admin, web);
    let job = update(web, st(&[("vcpus", i(4))]));
    let failed = run_and_reread(&server, &admin, job);
    assert_eq!(member(&failed, "state"), &s("failed"), "{failed:?}");
    assert_eq!(sizes(&server, &admin, web), before);
    // Memory above the ceiling is refused at the call, and nothing is recorded.
    assert_eq!(
        code(server.call(
            "vm.update",
            vec![s(&admin), i(web), st(&[("memory_kb", i(1_048_576))])]
        )),
        4
    );
}

#[test]
fn a_change_shows_as_pending_until_its_job_ran() {
    let server = Server::start(&fresh_sqlite_database(), &[]); // no scheduler
    let admin = server.admin();
    let n = node(&server, &admin, "lab");
    let vm = vm(&server, &admin, n, "waiting");
    let before = sizes(&server, &admin, vm);
    let job = int(&server
        .call(
            "vm.update",
            vec![s(&admin), i(vm), st(&[("memory_kb", i(131_072))])],
        )
        .unwrap());
    let got = server.call("vm.get", vec![s(&admin), i(vm)]).unwrap();
    assert_eq!(
        sizes(&server, &admin, vm),
        before,
        "the record changed before the job ran"
    );
    let Value::Array(pending) = member(&got, "pending") else {
        panic!()
    };
    let update = pending
        .iter()
        .find(|p| member(p, "job") == &i(job))
        .expect("the update job is pending");
    assert_eq!(member(update, "action"), &s("update"));
    assert_eq!(member(update, "params"), &s("memory_kb=131072"));
}

#[test]
fn stopped_vms_are_deleted_from_the_hypervisor_and_never_created_ones_at_once() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    let lab = node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web"); // running
    let backup = vm_named(&server, &admin, "backup"); // stopped
    assert_eq!(code(server.call("vm.delete", vec![s(&admin), i(web)])), 5);

    let job = int(&server
        .call("vm.delete", vec![s(&admin), i(backup)])
        .unwrap());
    let done = finished_job(&server, &admin, job);
    assert_eq!(member(&done, "state"), &s("succeeded"), "{done:?}");
    let sync = int(&server.call("node.sync", vec![s(&admin), i(lab)]).unwrap());
    assert_eq!(
        member(&finished_job(&server, &admin, sync), "state"),
        &s("succeeded")
    );
    assert_eq!(code(server.call("vm.get", vec![s(&admin), i(backup)])), 3);
    let Value::Array(left) = server
        .call("vm.list", vec![s(&admin), st(&[("node", i(lab))])])
        .unwrap()
    else {
        panic!()
    };
    assert!(
        left.iter().all(|v| member(v, "name") != &s("backup")),
        "the inventory brought it back: {left:?}"
    );
}

#[test]
fn a_vm_whose_create_never_ran_can_be_deleted_and_frees_its_node() {
    let server = Server::start(&fresh_sqlite_database(), &[]); // no scheduler
    let admin = server.admin();
    let n = node(&server, &admin, "lab");
    let (_, alice) = user(&server, &admin, "alice", "user");
    let (_, bob) = user(&server, &admin, "bob", "user");
    let vm = vm(&server, &alice, n, "never");
    // Still being created: refused until the create job is cancelled.
    assert_eq!(code(server.call("vm.delete", vec![s(&alice), i(vm)])), 5);
    assert_eq!(code(server.call("vm.delete", vec![s(&bob), i(vm)])), 3);
    let Value::Array(pending) = member(
        &server.call("vm.get", vec![s(&alice), i(vm)]).unwrap(),
        "pending",
    )
    .clone() else {
        panic!()
    };
    let create = member(&pending[0], "job").clone();
    server.call("job.cancel", vec![s(&alice), create]).unwrap();
    let job = int(&server.call("vm.delete", vec![s(&alice), i(vm)]).unwrap());
    assert_eq!(
        member(
            &server.call("job.get", vec![s(&alice), i(job)]).unwrap(),
            "state"
        ),
        &s("succeeded")
    );
    assert_eq!(code(server.call("vm.get", vec![s(&alice), i(vm)])), 3);
    // Its pool is in the way of node.remove, not the VM.
    let Value::Array(pools) = server
        .call("storage.list", vec![s(&admin), st(&[("node", i(n))])])
        .unwrap()
    else {
        panic!()
    };
    for pool in pools {
        server
            .call(
                "storage.removePool",
                vec![s(&admin), member(&pool, "id").clone()],
            )
            .unwrap();
    }
    assert!(server.call("node.remove", vec![s(&admin), i(n)]).is_ok());
}
