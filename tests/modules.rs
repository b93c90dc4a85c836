//! Dynamic modules in a real server: the in-tree `validator1` module is loaded from a
//! modules directory, listed disabled, switched on and off at run time over XML-RPC, and
//! passes a validator1 client written from the spec (Python's `xmlrpc.client`); a file
//! that is not a module is refused with a reason while the server keeps answering. C
//! modules built at test time fail on purpose inside calls (a panic, malformed bytes, a
//! sleep past the call time limit) and are isolated the same way.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;
use dxr::Value;

/// The validator1 module, built if this test run has not built it yet.
fn validator1_library() -> PathBuf {
    built_module("zentific-module-validator1", "validator1")
}

/// A modules directory (mode 755) with validator1 and a garbage file named like a module.
fn modules_dir() -> tempfile::TempDir {
    let dir = modules_dir_with(&[validator1_library()]);
    let garbage = dir.path().join("libzentific_module_broken.so");
    std::fs::write(&garbage, b"\x7fELF but not really").unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o644)).unwrap();
    dir
}

fn names(server: &Server) -> Vec<String> {
    let Value::Array(names) = server.call("system.listMethods", vec![]).unwrap() else {
        panic!()
    };
    names
        .into_iter()
        .filter_map(|n| match n {
            Value::String(n) => Some(n),
            _ => None,
        })
        .collect()
}

fn module<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|m| member(m, "name") == &s(name))
        .unwrap_or_else(|| panic!("{name} not in {list:?}"))
}

fn easy(server: &Server) -> Result<Value, dxr::Fault> {
    let stooges = st(&[("moe", i(1)), ("larry", i(2)), ("curly", i(3))]);
    server.call("validator1.easyStructTest", vec![stooges])
}

#[test]
fn validator1_is_loaded_switched_on_and_off_and_passes_the_suite() {
    let dir = modules_dir();
    let modules_flag = dir.path().to_string_lossy().into_owned();
    let server = Server::start(&fresh_sqlite_database(), &["--modules-dir", &modules_flag]);
    let admin = server.admin();
    let (_, plain) = user(&server, &admin, "pat", "user");

    // Found, disabled, and not routed; the garbage file is listed with its reason.
    let Value::Array(list) = server.call("module.list", vec![s(&plain)]).unwrap() else {
        panic!()
    };
    let v1 = module(&list, "validator1");
    assert_eq!(member(v1, "enabled"), &Value::Boolean(false));
    assert_eq!(member(v1, "builtin"), &Value::Boolean(false));
    assert_eq!(member(v1, "layers"), &arr(vec![s("xmlrpc")]));
    assert_eq!(
        member(module(&list, "Base"), "builtin"),
        &Value::Boolean(true)
    );
    let broken = module(&list, "broken");
    assert!(
        matches!(member(broken, "error"), Value::String(e) if e.contains("cannot load")),
        "{broken:?}"
    );
    assert!(!names(&server).iter().any(|n| n.starts_with("validator1.")));
    assert_eq!(code(easy(&server)), -32601);

    // Only admins switch modules; Base stays on.
    assert_eq!(
        code(server.call("module.enable", vec![s(&plain), s("validator1")])),
        2
    );
    assert_eq!(
        code(server.call("module.disable", vec![s(&admin), s("Base")])),
        5
    );
    let refused = server
        .call("module.enable", vec![s(&admin), s("broken")])
        .unwrap_err();
    assert_eq!(refused.code(), 5);
    assert!(
        refused.string().contains("cannot load"),
        "{}",
        refused.string()
    );
    assert_eq!(
        code(server.call("module.enable", vec![s(&admin), s("nonesuch")])),
        3
    );
    let enabled = server
        .call("module.enable", vec![s(&admin), s("validator1")])
        .unwrap();
    assert_eq!(member(&enabled, "enabled"), &Value::Boolean(true));
    let listed = names(&server);
    assert_eq!(
        listed
            .iter()
            .filter(|n| n.starts_with("validator1."))
            .count(),
        8,
        "{listed:?}"
    );
    assert_eq!(easy(&server).unwrap(), i(6));
    let help = server
        .call("system.methodHelp", vec![s("validator1.manyTypesTest")])
        .unwrap();
    assert!(matches!(help, Value::String(h) if h.contains("No token needed")));
    // Declared types are checked like a built-in method's.
    assert_eq!(
        code(server.call("validator1.easyStructTest", vec![s("not a struct")])),
        -32602
    );

    // The suite, from Python.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/validator1.py");
    let output = std::process::Command::new("python3")
        .args([script, &server.url])
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // Its configuration is checked against its schema (validator1 has no options).
    assert_eq!(
        code(server.call(
            "module.configure",
            vec![s(&admin), s("validator1"), st(&[("colour", s("red"))])]
        )),
        4
    );
    // The switch is audited and on the event stream.
    let (cursor, _) = {
        let answer = server
            .call("event.next", vec![s(&plain), s(""), i(0)])
            .unwrap();
        (member(&answer, "cursor").clone(), ())
    };
    server
        .call("module.disable", vec![s(&admin), s("validator1")])
        .unwrap();
    assert_eq!(code(easy(&server)), -32601);
    let answer = server
        .call("event.next", vec![s(&plain), cursor, i(0)])
        .unwrap();
    let Value::Array(events) = member(&answer, "events") else {
        panic!()
    };
    assert!(
        events
            .iter()
            .any(|e| member(e, "kind") == &s("module.disable")),
        "{events:?}"
    );
    // And back on, without a restart.
    server
        .call("module.enable", vec![s(&admin), s("validator1")])
        .unwrap();
    assert_eq!(easy(&server).unwrap(), i(6));
}

#[test]
fn an_enable_in_one_server_reaches_another_on_the_same_postgresql_within_a_second() {
    let dir = modules_dir();
    let modules_flag = dir.path().to_string_lossy().into_owned();
    let database = fresh_postgres_database();
    let first = Server::start(&database, &["--modules-dir", &modules_flag]);
    let second = Server::start(&database, &["--modules-dir", &modules_flag]);
    let admin = first.admin();
    assert_eq!(code(easy(&second)), -32601);
    first
        .call("module.enable", vec![s(&admin), s("validator1")])
        .unwrap();
    let started = std::time::Instant::now();
    zentific_test_support::wait_until(
        std::time::Duration::from_secs(5),
        "the other server to route validator1",
        || easy(&second).ok(),
    );
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
    first
        .call("module.disable", vec![s(&admin), s("validator1")])
        .unwrap();
    zentific_test_support::wait_until(
        std::time::Duration::from_secs(5),
        "the other server to stop routing validator1",
        || matches!(easy(&second), Err(f) if f.code() == -32601).then_some(()),
    );
}

/// Enable each of `names` as admin.
fn enable(server: &Server, admin: &str, names: &[&str]) {
    for name in names {
        server
            .call("module.enable", vec![s(admin), s(name)])
            .unwrap_or_else(|f| panic!("enable {name}: {f:?}"));
    }
}

/// A server loading the C fixture built as module `name` with `defines`, enabled, with a
/// module call time limit of 1 s; returns its modules directory, the server and an admin
/// token.
fn server_with_c_module(
    name: &str,
    defines: &[&str],
) -> (tempfile::TempDir, std::sync::Arc<Server>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    zentific_test_support::build_c_module(dir.path(), name, defines);
    let modules_flag = dir.path().to_string_lossy().into_owned();
    let server = std::sync::Arc::new(Server::start(
        &fresh_sqlite_database(),
        &["--modules-dir", &modules_flag],
    ));
    let admin = server.admin();
    enable(&server, &admin, &[name]);
    server
        .call(
            "config.set",
            vec![s(&admin), st(&[("module_call_limit_secs", i(1))])],
        )
        .unwrap();
    (dir, server, admin)
}

fn fault_text(result: Result<Value, dxr::Fault>) -> (i32, String) {
    let fault = result.unwrap_err();
    (fault.code(), fault.string().to_owned())
}

#[test]
fn modules_that_fail_inside_are_isolated_and_the_server_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let build = zentific_test_support::build_c_module;
    build(dir.path(), "panicky", &["PANICS"]);
    build(dir.path(), "garbled", &["MALFORMED"]);
    build(dir.path(), "wellmade", &[]);
    let modules_flag = dir.path().to_string_lossy().into_owned();
    let server = Server::start(&fresh_sqlite_database(), &["--modules-dir", &modules_flag]);
    let admin = server.admin();
    enable(&server, &admin, &["panicky", "garbled", "wellmade"]);

    let (code, text) = fault_text(server.call("panicky.say", vec![s(&admin), s("hi")]));
    assert_eq!(code, -32603);
    assert!(
        text.contains("module panicky failed: index out of bounds"),
        "{text}"
    );
    let (code, text) = fault_text(server.call("garbled.say", vec![s(&admin), s("hi")]));
    assert_eq!(code, -32603);
    assert!(
        text.contains("module garbled answered malformed bytes"),
        "{text}"
    );
    // The same in a multicall, next to a call that works.
    let calls = arr(vec![
        st(&[
            ("methodName", s("panicky.say")),
            ("params", arr(vec![s(&admin), s("x")])),
        ]),
        st(&[
            ("methodName", s("wellmade.say")),
            ("params", arr(vec![s(&admin), s("x")])),
        ]),
    ]);
    let Value::Array(results) = server.call("system.multicall", vec![calls]).unwrap() else {
        panic!()
    };
    assert_eq!(int(member(&results[0], "faultCode")), -32603);
    assert_eq!(results[1], arr(vec![s("x")]));
    assert_eq!(
        server
            .call("wellmade.say", vec![s(&admin), s("ok")])
            .unwrap(),
        s("ok")
    );
}

#[test]
fn a_module_that_sleeps_past_its_limit_costs_its_callers_a_fault_not_a_thread() {
    use std::time::{Duration, Instant};
    let (_dir, server, admin) = server_with_c_module("sleepy", &["SLEEPS=4"]);

    // Four callers at once: each gets its fault at the limit, not when the module wakes.
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (server, admin) = (server.clone(), admin.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let result = server.call("sleepy.say", vec![s(&admin), s("zzz")]);
                (started.elapsed(), fault_text(result))
            })
        })
        .collect();
    // Meanwhile the server answers others at once.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    server.call("system.listMethods", vec![]).unwrap();
    server.call("module.list", vec![s(&admin)]).unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    for caller in callers {
        let (took, (code, text)) = caller.join().unwrap();
        assert_eq!(code, -32603, "{text}");
        assert!(
            text.contains("sleepy.say did not answer within the module call limit of 1 s"),
            "{text}"
        );
        assert!(took < Duration::from_millis(2500), "took {took:?}");
    }
    // Four calls still running past the limit: the module is not called again for now.
    let started = Instant::now();
    let (code, text) = fault_text(server.call("sleepy.say", vec![s(&admin), s("zzz")]));
    assert_eq!(code, -32603);
    assert!(
        text.contains("module sleepy is not answering: 4 of its calls"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    // Once they return, it is called again; inside a multicall the limit holds too.
    zentific_test_support::wait_until(
        Duration::from_secs(10),
        "the sleeping calls to return",
        || {
            let calls = arr(vec![
                st(&[
                    ("methodName", s("sleepy.say")),
                    ("params", arr(vec![s(&admin), s("zzz")])),
                ]),
                st(&[("methodName", s("system.version")), ("params", arr(vec![]))]),
            ]);
            let Value::Array(results) = server.call("system.multicall", vec![calls]).unwrap()
            else {
                panic!()
            };
            let Value::String(text) = member(&results[0], "faultString") else {
                panic!()
            };
            text.contains("did not answer within").then_some(results)
        },
    );
    assert!(server.call("system.version", vec![]).is_ok());
}

#[test]
fn a_quick_method_that_is_slow_loses_the_privilege_and_its_callers_still_get_their_fault() {
    use std::time::{Duration, Instant};
    let (_dir, server, admin) = server_with_c_module("dozy", &["SLEEPS=2", "QUICK"]);
    let warning = |server: &Server| {
        let Value::Array(list) = server.call("module.list", vec![s(&admin)]).unwrap() else {
            panic!()
        };
        match module(&list, "dozy") {
            Value::Struct(m) => m.get("warning").cloned(),
            _ => None,
        }
    };
    assert_eq!(warning(&server), None);

    // On the async worker, yet the caller gets the fault at the limit.
    let started = Instant::now();
    let (fault_code, text) = fault_text(server.call("dozy.say", vec![s(&admin), s("zzz")]));
    assert_eq!(fault_code, -32603);
    assert!(text.contains("did not answer within"), "{text}");
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
    let Value::String(warning) = zentific_test_support::wait_until(
        Duration::from_secs(5),
        "the slow quick call to be noticed",
        || warning(&server),
    ) else {
        panic!()
    };
    assert!(
        warning.contains("dozy.say is declared quick but took"),
        "{warning}"
    );

    // From now on its calls leave the worker: two at once do not stall the server.
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (server, admin) = (server.clone(), admin.clone());
            std::thread::spawn(move || code(server.call("dozy.say", vec![s(&admin), s("zzz")])))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    server.call("system.listMethods", vec![]).unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    for caller in callers {
        assert_eq!(caller.join().unwrap(), -32603);
    }
}

#[test]
fn a_modules_job_action_runs_when_a_trigger_names_it() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("marks.log");
    zentific_test_support::build_c_module(
        dir.path(),
        "marker",
        &[
            "LAYERS=6",
            &format!("ACTION_LOG=\"{}\"", log.display()),
            r#"PROVIDES="{\"actions\": [{\"name\": \"mark\", \"help\": \"Note the VM\"}]}""#,
        ],
    );
    let modules_flag = dir.path().to_string_lossy().into_owned();
    let server =
        Server::start_with_scheduler(&fresh_sqlite_database(), &["--modules-dir", &modules_flag]);
    let admin = server.admin();
    node_on(&server, &admin, "demo", "libvirt", &test_driver_uri());
    let web = vm_named(&server, &admin, "web");
    let trigger = || {
        st(&[
            ("name", s("note-pauses")),
            ("event", s("vm_state")),
            ("vm", i(web)),
            ("state", s("paused")),
            ("action", s("marker.mark")),
            ("target", i(web)),
        ])
    };
    // Not while the module is off, and never a made-up one.
    let refused = server
        .call("trigger.create", vec![s(&admin), trigger()])
        .unwrap_err();
    assert_eq!(refused.code(), 4);
    assert!(
        refused
            .string()
            .contains("module marker's, which is disabled"),
        "{}",
        refused.string()
    );
    enable(&server, &admin, &["marker"]);
    let mut made_up = trigger();
    if let Value::Struct(m) = &mut made_up {
        m.insert("action".into(), s("marker.erase"));
    }
    assert_eq!(
        code(server.call("trigger.create", vec![s(&admin), made_up])),
        4
    );
    server
        .call("trigger.create", vec![s(&admin), trigger()])
        .unwrap();
    // Schedules may name it too; module.list says what the module provides.
    let schedule = st(&[
        ("name", s("yearly-mark")),
        ("vm", i(web)),
        ("action", s("marker.mark")),
        ("cron", s("0 0 1 1 *")),
    ]);
    server
        .call("schedule.create", vec![s(&admin), schedule])
        .unwrap();
    let Value::Array(list) = server.call("module.list", vec![s(&admin)]).unwrap() else {
        panic!()
    };
    assert_eq!(
        member(member(module(&list, "marker"), "provides"), "actions"),
        &arr(vec![s("marker.mark")])
    );

    let pause = int(&server.call("vm.pause", vec![s(&admin), i(web)]).unwrap());
    finished_job(&server, &admin, pause);
    let job =
        zentific_test_support::wait_until(Duration::from_secs(20), "the module's job", || {
            let Value::Array(jobs) = server
                .call("job.list", vec![s(&admin), st(&[("vm", i(web))])])
                .ok()?
            else {
                return None;
            };
            jobs.into_iter().find(|j| {
                member(j, "action") == &s("marker.mark") && member(j, "state") == &s("succeeded")
            })
        });
    assert_eq!(member(&job, "kind"), &s("event"));
    let marks = std::fs::read_to_string(&log).unwrap();
    assert!(
        marks.contains("<name>name</name><value><string>web</string></value>"),
        "{marks}"
    );
}

#[test]
fn a_module_method_may_need_a_permission_on_the_vm_it_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    zentific_test_support::build_c_module(dir.path(), "granted", &[r#"VM_ACCESS="vm:view""#]);
    let modules_flag = dir.path().to_string_lossy().into_owned();
    let server = Server::start(&fresh_sqlite_database(), &["--modules-dir", &modules_flag]);
    let admin = server.admin();
    enable(&server, &admin, &["granted"]);
    let n = node(&server, &admin, "n1");
    let (_, alice) = user(&server, &admin, "alice", "user");
    let (bob_id, bob) = user(&server, &admin, "bob", "user");
    let shared = vm(&server, &alice, n, "shared");
    // The owner may; another user sees no such VM, as with vm.get; a grant opens it.
    assert_eq!(
        server
            .call("granted.say", vec![s(&alice), i(shared)])
            .unwrap(),
        i(shared)
    );
    assert_eq!(
        code(server.call("granted.say", vec![s(&bob), i(shared)])),
        3
    );
    assert_eq!(code(server.call("granted.say", vec![s(&bob), i(9999)])), 3);
    server
        .call(
            "user.grant",
            vec![s(&alice), i(bob_id), i(shared), arr(vec![s("view")])],
        )
        .unwrap();
    assert_eq!(
        server
            .call("granted.say", vec![s(&bob), i(shared)])
            .unwrap(),
        i(shared)
    );
    let Value::Array(signature) = server
        .call("system.methodSignature", vec![s("granted.say")])
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(signature[0], arr(vec![s("int"), s("string"), s("int")]));
}
