//! The dom0health module on every layer it extends, in a real server and a real poller:
//! the poller loads it from its modules directory and pushes its collector's figures in
//! each sample's `extra`; the server stores them, answers `dom0health.get` and
//! `stats.node` by metric name, lists its page and serves the page's script while the
//! module is enabled.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use dxr::Value;

struct Poller(Child);

impl Drop for Poller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn poller_binary() -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_zentific"))
        .parent()
        .unwrap()
        .join("zentific-poller");
    assert!(
        binary.exists(),
        "run with cargo test --workspace: {} is missing",
        binary.display()
    );
    binary
}

#[test]
fn dom0health_figures_travel_from_the_poller_to_its_method_its_series_and_its_page() {
    let modules = modules_dir_with(&[built_module("zentific-module-dom0health", "dom0health")]);
    let config = modules.path().join("dom0health.json");
    std::fs::write(&config, r#"{"paths": "/, /tmp"}"#).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = modules.path().to_string_lossy().into_owned();
    let server = Server::start(&fresh_sqlite_database(), &["--modules-dir", &dir]);
    let admin = server.admin();
    let spec = st(&[
        ("name", s("dom0-a")),
        ("hostname", s("127.0.0.1")),
        ("transport", s("ssh")),
        ("uri", s("ssh://root@127.0.0.1:1")),
    ]);
    let registered = server.call("node.register", vec![s(&admin), spec]).unwrap();
    let (node, Value::String(token)) = (
        int(member(&registered, "id")),
        member(&registered, "poller_token").clone(),
    ) else {
        panic!()
    };
    assert_eq!(
        code(server.call("dom0health.get", vec![s(&admin), i(node)])),
        -32601
    );
    assert_eq!(server.get("/modules/dom0health/page.js").0, 404);
    server
        .call("module.enable", vec![s(&admin), s("dom0health")])
        .unwrap();
    let empty = server
        .call("dom0health.get", vec![s(&admin), i(node)])
        .unwrap();
    assert_eq!(member(&empty, "metrics"), &st(&[]));

    let spool = tempfile::tempdir().unwrap();
    let _poller = Poller(
        Command::new(poller_binary())
            .args([
                "--server",
                &server.url,
                "--token",
                &token,
                "--source",
                "synthetic:2",
            ])
            .args(["--interval", "1", "--modules-dir", &dir])
            .arg("--spool")
            .arg(spool.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (_, plain) = user(&server, &admin, "pat", "user");
    let (_, operator) = user(&server, &admin, "olga", "operator");
    // Node statistics are for operators, as stats.node.
    assert_eq!(
        code(server.call("dom0health.get", vec![s(&plain), i(node)])),
        2
    );
    let figures = zentific_test_support::wait_until(
        Duration::from_secs(30),
        "dom0health figures from the poller",
        || {
            let got = server
                .call("dom0health.get", vec![s(&operator), i(node)])
                .ok()?;
            match member(&got, "metrics") {
                Value::Struct(m) if m.contains_key("dom0health.fs.tmp.used_pct") => Some(m.clone()),
                _ => None,
            }
        },
    );
    for name in [
        "dom0health.load.1",
        "dom0health.load.15",
        "dom0health.mem.used_pct",
        "dom0health.fs.root.used_pct",
    ] {
        assert!(
            matches!(figures.get(name), Some(Value::Double(v)) if *v >= 0.0),
            "{name}: {figures:?}"
        );
    }
    let Some(Value::Double(used)) = figures.get("dom0health.mem.used_pct") else {
        panic!()
    };
    assert!(*used > 0.0 && *used < 100.0, "{used}");

    // The series, by name, like the built-in metrics.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let series = server
        .call(
            "stats.node",
            vec![
                s(&operator),
                i(node),
                s("dom0health.mem.used_pct"),
                datetime(now - 300),
                datetime(now + 60),
                i(1),
            ],
        )
        .unwrap();
    let Value::Array(points) = series else {
        panic!()
    };
    assert!(!points.is_empty());
    assert_eq!(
        code(server.call(
            "stats.node",
            vec![
                s(&operator),
                i(node),
                s("Not A Metric"),
                datetime(now - 300),
                datetime(now),
                i(1)
            ],
        )),
        4
    );

    // Its page, listed and served while it is enabled.
    let Value::Array(pages) = server.call("module.pages", vec![s(&plain)]).unwrap() else {
        panic!()
    };
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(member(&pages[0], "label"), &s("Dom0 health"));
    assert_eq!(
        member(&pages[0], "script"),
        &s("/modules/dom0health/page.js")
    );
    let (status, kind, body) = server.get("/modules/dom0health/page.js");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/javascript"), "{kind}");
    assert!(body.contains("dom0health.get"), "{body}");
    for path in [
        "/modules/dom0health/other.js",
        "/modules/dom0health/.hidden",
        "/modules/nonesuch/page.js",
    ] {
        assert_eq!(server.get(path).0, 404, "{path}");
    }
    server
        .call("module.disable", vec![s(&admin), s("dom0health")])
        .unwrap();
    assert_eq!(server.get("/modules/dom0health/page.js").0, 404);
    assert_eq!(
        server.call("module.pages", vec![s(&plain)]).unwrap(),
        arr(vec![])
    );
    assert_eq!(
        code(server.call("dom0health.get", vec![s(&admin), i(node)])),
        -32601
    );
}

/// A `dateTime.iso8601` value of Unix seconds.
fn datetime(unix: i64) -> Value {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    Value::DateTime(dxr::DateTime::from(time::PrimitiveDateTime::new(
        at.date(),
        at.time(),
    )))
}
