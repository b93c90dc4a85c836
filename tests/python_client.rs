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
