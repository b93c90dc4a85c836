//! The event stream end to end: `event.next` long polls against a server with its
//! scheduler on libvirt's test driver — a pause seen while waiting, visibility, cursors
//! across a restart, and two servers on one PostgreSQL database.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dxr::Value;

/// `event.next`; panics on a fault.
fn next(server: &Client, token: &str, cursor: &str, timeout: i32) -> (String, Vec<Value>) {
    let answer = server
        .call("event.next", vec![s(token), s(cursor), i(timeout)])
        .unwrap();
    let Value::String(cursor) = member(&answer, "cursor").clone() else {
        panic!("{answer:?}")
    };
    let Value::Array(events) = member(&answer, "events").clone() else {
        panic!("{answer:?}")
    };
    (cursor, events)
}

/// A member of an event, if it has it.
fn field<'a>(event: &'a Value, name: &str) -> Option<&'a Value> {
    match event {
        Value::Struct(members) => members.get(name),
        _ => None,
    }
}

/// Whether an event is the VM's state becoming `state`.
fn is_state(event: &Value, vm: i32, state: &str) -> bool {
    member(event, "kind") == &s("vm.state")
        && field(event, "target") == Some(&i(vm))
        && field(event, "state") == Some(&s(state))
}

/// Wait for an event matching `wanted`, following the cursor; returns when it came.
fn wait_for(
    server: &Client,
    token: &str,
    cursor: &str,
    limit: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> (String, Instant) {
    let give_up = Instant::now() + limit;
    let mut cursor = cursor.to_string();
    while Instant::now() < give_up {
        let (next_cursor, events) = next(server, token, &cursor, 5);
        if events.iter().any(&wanted) {
            return (next_cursor, Instant::now());
        }
        cursor = next_cursor;
    }
    panic!("no such event within {limit:?}")
}

#[test]
fn a_waiting_event_next_sees_a_pause_within_a_second() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web");
    let (cursor, _) = next(&server, &admin, "", 0);
    let waiter = {
        let watcher = Client::clone(&server);
        let admin = admin.clone();
        let cursor = cursor.clone();
        std::thread::spawn(move || {
            wait_for(&watcher, &admin, &cursor, Duration::from_secs(20), |e| {
                is_state(e, web, "paused")
            })
            .1
        })
    };
    // The waiter is inside its long poll before the pause is asked for.
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let job = int(&server.call("vm.pause", vec![s(&admin), i(web)]).unwrap());
    let seen = waiter.join().unwrap();
    let delay = seen.duration_since(asked);
    assert!(delay < Duration::from_secs(1), "seen after {delay:?}");
    // The job's states are on the stream too, in order (the VM's new state comes while
    // the job still runs: wait for its end).
    finished_job(&server, &admin, job);
    let (_, events) = next(&server, &admin, &cursor, 0);
    let job_states: Vec<&Value> = events
        .iter()
        .filter(|e| field(e, "job") == Some(&i(job)))
        .map(|e| member(e, "state"))
        .collect();
    assert_eq!(
        job_states,
        [&s("pending"), &s("running"), &s("succeeded")],
        "{events:?}"
    );
    // A timeout of 0 answers at once when nothing is new.
    let (latest, _) = next(&server, &admin, "", 0);
    let started = Instant::now();
    let (same, none) = next(&server, &admin, &latest, 0);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!((same, none.len()), (latest, 0));
}

#[test]
fn a_user_sees_events_of_the_vms_they_may_see_and_nothing_else() {
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web");
    let db = vm_named(&server, &admin, "db");
    let (carol_id, carol) = user(&server, &admin, "carol", "user");
    server
        .call(
            "user.grant",
            vec![s(&admin), i(carol_id), i(db), arr(vec![s("view")])],
        )
        .unwrap();
    let (cursor, _) = next(&server, &carol, "", 0);
    server.call("vm.pause", vec![s(&admin), i(web)]).unwrap();
    server.call("vm.pause", vec![s(&admin), i(db)]).unwrap();
    // The admin sees both pauses; then Carol reads the same stretch of the stream.
    wait_for(&server, &admin, &cursor, Duration::from_secs(20), |e| {
        is_state(e, web, "paused")
    });
    wait_for(&server, &admin, &cursor, Duration::from_secs(20), |e| {
        is_state(e, db, "paused")
    });
    let (_, carols) = next(&server, &carol, &cursor, 1);
    assert!(
        carols.iter().any(|e| is_state(e, db, "paused")),
        "{carols:?}"
    );
    assert!(
        carols
            .iter()
            .all(|e| field(e, "target") != Some(&i(web)) || member(e, "target_kind") != &s("vm")),
        "Carol saw events of a VM she has no grant on: {carols:?}"
    );
    // Other users' events stay hidden too.
    user(&server, &admin, "dave", "user");
    let (_, again) = next(&server, &carol, &cursor, 0);
    assert!(
        again
            .iter()
            .all(|e| member(e, "target_kind") != &s("user")
                || field(e, "target") == Some(&i(carol_id))),
        "{again:?}"
    );
    // Bad cursors and waits are refused.
    for bad in ["x", "-1", "1e3"] {
        assert_eq!(
            code(server.call("event.next", vec![s(&carol), s(bad), i(0)])),
            4
        );
    }
    assert_eq!(
        code(server.call("event.next", vec![s(&carol), s("99999999"), i(0)])),
        5
    );
    assert_eq!(
        code(server.call("event.next", vec![s(&carol), s(""), i(61)])),
        4
    );
    assert_eq!(
        code(server.call("event.next", vec![s("nope"), s(""), i(0)])),
        1
    );
}

#[test]
fn a_cursor_from_before_a_restart_yields_what_came_after() {
    let database = fresh_sqlite_database();
    let server = Server::start_with_scheduler(&database, &[]);
    let admin = server.admin();
    node_on(&server, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web");
    let (cursor, _) = next(&server, &admin, "", 0);
    server.call("vm.pause", vec![s(&admin), i(web)]).unwrap();
    wait_for(&server, &admin, &cursor, Duration::from_secs(20), |e| {
        is_state(e, web, "paused")
    });
    server
        .call(
            "vm.setNotes",
            vec![s(&admin), i(web), s("before the restart")],
        )
        .unwrap();
    drop(server);
    let server = Server::start(&database, &[]);
    let admin = server.admin();
    let (_, events) = next(&server, &admin, &cursor, 0);
    assert!(
        events.iter().any(|e| is_state(e, web, "paused")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| member(e, "kind") == &s("vm.setNotes") && field(e, "target") == Some(&i(web))),
        "{events:?}"
    );
}

#[test]
fn two_servers_on_one_postgresql_see_each_others_events() {
    let database = fresh_postgres_database();
    let acting = Server::start_with_scheduler(&database, &[]);
    let watching = Server::start(&database, &[]);
    let admin = acting.admin();
    node_on(&acting, &admin, "lab", "libvirt", &test_driver_uri());
    let web = vm_named(&acting, &admin, "web");
    let (cursor, _) = next(&watching, &admin, "", 0);
    let waiter = {
        let watcher = Client::clone(&watching);
        let admin = admin.clone();
        std::thread::spawn(move || {
            wait_for(&watcher, &admin, &cursor, Duration::from_secs(20), |e| {
                is_state(e, web, "paused")
            })
            .1
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    acting.call("vm.pause", vec![s(&admin), i(web)]).unwrap();
    let seen = waiter.join().unwrap();
    // Woken by NOTIFY, not by its own timeout (5 s per call in wait_for).
    let delay = seen.duration_since(asked);
    assert!(delay < Duration::from_secs(2), "seen after {delay:?}");
}
