//! Python's `xmlrpc.client` — a client nobody here wrote — drives the real server.

mod common;

use common::*;

#[test]
fn python_xmlrpc_client_drives_the_server() {
    let server = Server::sqlite();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_test.py");
    let output = std::process::Command::new("python3")
        .args([script, &server.url, ADMIN_PASSWORD])
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("python xmlrpc.client: ok"), "{stdout}");
}

/// The README's quick start, as written, against `serve --demo` (the URL and password
/// swapped for this server's).
#[test]
fn the_readme_quick_start_runs_against_the_demo_server() {
    let data = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/zentific.db", data.path().display());
    let server = Server::start_with_scheduler(&database, &["--demo"]);
    let readme = include_str!("../README.md");
    let script = readme
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a python block")
        .replace("http://127.0.0.1:8080/RPC2", &server.url)
        .replace("\"change-me\"", &format!("{ADMIN_PASSWORD:?}"));
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the quick start failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("'applies': 'now'"), "{stdout}");
    assert!(stdout.contains("'name': 'clean'"), "{stdout}");
    assert!(stdout.contains("vm.state paused"), "{stdout}");
    assert!(stdout.contains("5 "), "the wrong-state fault: {stdout}");
}
