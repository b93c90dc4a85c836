//! Dynamic modules in a real server: the in-tree `validator1` module is loaded from a
//! modules directory, listed disabled, switched on and off at run time over XML-RPC, and
//! passes a validator1 client written from the spec (Python's `xmlrpc.client`); a file
//! that is not a module is refused with a reason while the server keeps answering.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use dxr::Value;

/// The validator1 module, built if this test run has not built it yet.
fn validator1_library() -> PathBuf {
    let target = Path::new(env!("CARGO_BIN_EXE_zentific"))
        .parent()
        .unwrap()
        .to_path_buf();
    let library = target.join("libzentific_module_validator1.so");
    if !library.exists() {
        let built = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "zentific-module-validator1"])
            .status()
            .expect("cargo");
        assert!(built.success());
    }
    library
}

/// A modules directory (mode 755) with validator1 and a garbage file named like a module.
fn modules_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("libzentific_module_validator1.so");
    std::fs::copy(validator1_library(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
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
