//! The poller against the real backend: `zentific-poller` with the libvirt test-driver
//! source pushes to `zentific serve`; the backend is killed mid-run and started again on
//! the same port, and every sample arrives exactly once.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use dxr::Value;

/// How many samples wait in a poller's spool directory (`<seq>.xml` files).
fn spooled_samples(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".xml"))
                .count()
        })
        .unwrap_or(0)
}

/// The poller binary, built beside `zentific` by `cargo test --workspace --all-features`.
fn poller_binary() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_zentific"))
        .parent()
        .unwrap()
        .to_path_buf();
    let binary = dir.join("zentific-poller");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace --all-features` (the poller's libvirt source is a feature)",
        binary.display()
    );
    binary
}

struct Poller(Child);

impl Poller {
    /// Start the poller pushing `source` every second to `url` with a node's token.
    fn start(url: &str, token: &str, source: &str, spool: &std::path::Path) -> Poller {
        Poller(
            Command::new(poller_binary())
                .args(["--server", url, "--token", token, "--source", source])
                .args(["--interval", "1"])
                .arg("--spool")
                .arg(spool)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn last_seq(server: &Server, token: &str, node: i32) -> Option<i64> {
    match server
        .call("stats.pushes", vec![s(token), i(node), i(1)])
        .ok()?
    {
        Value::Array(rows) => rows.first().map(|r| match member(r, "seq") {
            Value::Long(seq) => *seq,
            other => panic!("{other:?}"),
        }),
        _ => None,
    }
}

#[test]
fn every_sample_arrives_exactly_once_across_a_backend_restart() {
    let database = fresh_sqlite_database();
    let server = Server::start_with_scheduler(&database, &["--workers", "1"]);
    let admin = server.admin();
    let spec = st(&[
        ("name", s("lab")),
        ("hostname", s("127.0.0.1")),
        ("transport", s("libvirt")),
        ("uri", s("test:///default")),
    ]);
    let node = server.call("node.register", vec![s(&admin), spec]).unwrap();
    let (node, Value::String(token)) = (
        int(member(&node, "id")),
        member(&node, "poller_token").clone(),
    ) else {
        panic!()
    };
    let vm = vm_named(&server, &admin, "test");

    let spool = tempfile::tempdir().unwrap();
    let url = server.url.clone();
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/RPC2")
        .to_string();
    let poller = Poller::start(&url, &token, "libvirt:test:///default", spool.path());
    let before = wait_until(Duration::from_secs(30), "three stored samples", || {
        last_seq(&server, &admin, node).filter(|_| {
        matches!(server.call("stats.pushes", vec![s(&admin), i(node), i(10)]), Ok(Value::Array(rows)) if rows.len() >= 3)
    })
    });

    // The backend goes away for a few samples; the poller spools them.
    drop(server);
    wait_until(
        Duration::from_secs(30),
        "three samples in the spool",
        || (spooled_samples(spool.path()) >= 3).then_some(()),
    );
    let server = Server::start_on(&format!("127.0.0.1:{port}"), &database, &["--workers", "0"]);
    let admin = server.admin();
    wait_until(Duration::from_secs(30), "samples after the restart", || {
        last_seq(&server, &admin, node).filter(|seq| *seq >= before + 6)
    });
    let status = Command::new("kill")
        .args(["-TERM", &poller.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // It records its last seq before it exits.
    let mut poller = poller;
    wait_until(Duration::from_secs(30), "the poller to exit", || {
        poller.0.try_wait().unwrap().map(|_| ())
    });

    // The poller's own record of the last seq it took.
    let sent: i64 = std::fs::read_to_string(spool.path().join("last-seq"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let Value::Array(rows) = server
        .call("stats.pushes", vec![s(&admin), i(node), i(10_000)])
        .unwrap()
    else {
        panic!()
    };
    let mut seqs: Vec<i64> = rows
        .iter()
        .map(|r| {
            if let Value::Long(seq) = member(r, "seq") {
                *seq
            } else {
                panic!()
            }
        })
        .collect();
    seqs.sort();
    let first = seqs[0];
    assert_eq!(
        seqs,
        (first..=sent).collect::<Vec<_>>(),
        "every seq from the first to the last, once each"
    );
    // Some of them waited in the spool: received well after they were sampled.
    let replayed = rows.iter().filter(|r| {
        let (Value::DateTime(sampled), Value::DateTime(received)) =
            (member(r, "sampled"), member(r, "received"))
        else {
            panic!()
        };
        let t = |d: &dxr::DateTime| {
            time::PrimitiveDateTime::from(*d)
                .assume_utc()
                .unix_timestamp()
        };
        t(received) - t(sampled) >= 2
    });
    assert!(
        replayed.count() >= 2,
        "the samples taken while the backend was down were replayed"
    );
    // And they became statistics of the VM.
    let Value::Array(points) = server
        .call(
            "stats.vm",
            vec![
                s(&admin),
                i(vm),
                s("cpu_pct"),
                zentific_xmlrpc::params::datetime(zentific_sql::now() - 600),
                zentific_xmlrpc::params::datetime(zentific_sql::now() + 60),
                i(1),
            ],
        )
        .unwrap()
    else {
        panic!()
    };
    assert!(points.len() >= 5, "{points:?}");
}

/// A node whose only link is its poller: the scheduler cannot reach it, yet the domains
/// its poller reports become VMs, with statistics from the first samples on.
#[test]
fn domains_a_poller_reports_become_vms() {
    let server = Server::sqlite();
    let admin = server.admin();
    let spec = st(&[
        ("name", s("dark")),
        ("hostname", s("127.0.0.1")),
        ("transport", s("ssh")),
        ("uri", s("ssh://root@127.0.0.1:1")),
    ]);
    let node = server.call("node.register", vec![s(&admin), spec]).unwrap();
    let (node, Value::String(token)) = (
        int(member(&node, "id")),
        member(&node, "poller_token").clone(),
    ) else {
        panic!()
    };
    let spool = tempfile::tempdir().unwrap();
    let _poller = Poller::start(&server.url, &token, "synthetic:3", spool.path());
    let vms = wait_until(Duration::from_secs(30), "three discovered VMs", || {
        let Ok(Value::Array(vms)) =
            server.call("vm.list", vec![s(&admin), st(&[("node", i(node))])])
        else {
            return None;
        };
        (vms.len() == 3).then_some(vms)
    });
    let names: Vec<&Value> = vms.iter().map(|v| member(v, "name")).collect();
    assert!(names.contains(&&s("synthetic-001")), "{names:?}");
    assert_eq!(
        member(&vms[0], "uuid"),
        &s("5e7e71c0-0000-4000-8000-000000000001")
    );
    let first = int(member(&vms[0], "id"));
    let log = server
        .call("vm.log", vec![s(&admin), i(first), i(10)])
        .unwrap();
    assert!(format!("{log:?}").contains("by its poller"));
    // Rates from the second sample on.
    wait_until(
        Duration::from_secs(30),
        "CPU statistics of a discovered VM",
        || {
            let now = zentific_sql::now();
            let points = server
                .call(
                    "stats.vm",
                    vec![
                        s(&admin),
                        i(first),
                        s("cpu_pct"),
                        zentific_xmlrpc::params::datetime(now - 600),
                        zentific_xmlrpc::params::datetime(now + 60),
                        i(10),
                    ],
                )
                .ok()?;
            matches!(&points, Value::Array(p) if !p.is_empty()).then_some(())
        },
    );
}
