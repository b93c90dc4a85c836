//! A hostile client's view: failed logins slow down (also inside `system.multicall`),
//! multicall is capped, `/RPC2` wants XML, slow or silent connections are closed, every
//! answer carries the security headers, sessions end by the options, and the server
//! speaks HTTPS where it must (self-signed on a non-loopback address, plain HTTP only with
//! `--insecure-http`).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use dxr::Value;

fn fault_of(result: Result<Value, dxr::Fault>) -> (i32, String) {
    let fault = result.expect_err("a fault");
    (fault.code(), fault.string().to_owned())
}

fn wrong_login(server: &Server, name: &str) -> (i32, String) {
    fault_of(server.call("session.login", vec![s(name), s("wrong")]))
}

/// The server's `host:port`.
fn address(server: &Server) -> String {
    server
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/RPC2")
        .to_owned()
}

#[test]
fn failed_logins_slow_down_per_name_and_the_right_password_waits_too() {
    let server = Server::sqlite();
    let admin = server.admin();
    user(&server, &admin, "alice", "user");
    let started = Instant::now();
    let mut refused_unchecked = 0;
    while started.elapsed() < Duration::from_secs(5) {
        let (code, message) = wrong_login(&server, "admin");
        assert_eq!(code, 1);
        if message.contains("too many failed logins for user 'admin'") {
            refused_unchecked += 1;
        }
    }
    assert!(refused_unchecked > 0, "no attempt was slowed down");
    // The right password now waits too, and says for how long.
    let (code, message) =
        fault_of(server.call("session.login", vec![s("admin"), s(ADMIN_PASSWORD)]));
    assert_eq!(code, 1);
    assert!(message.contains("try again in"), "{message}");
    // Another user is not affected.
    server.login("alice", "user-password");
}

#[test]
fn each_login_inside_a_multicall_counts_and_multicall_is_capped() {
    let server = Server::sqlite();
    let admin = server.admin();
    let login = |password: &str| {
        st(&[
            ("methodName", s("session.login")),
            ("params", arr(vec![s("admin"), s(password)])),
        ])
    };
    let mut calls: Vec<Value> = (0..300).map(|_| login("wrong")).collect();
    calls.push(login(ADMIN_PASSWORD));
    let answer = server
        .call("system.multicall", vec![arr(calls)])
        .expect("a multicall answer");
    let Value::Array(results) = answer else {
        panic!("not an array");
    };
    let last = results.last().unwrap().clone();
    let text = format!("{last:?}");
    assert!(
        text.contains("faultCode") && text.contains("too many failed logins"),
        "the right password inside the multicall was let through: {text}"
    );

    // More calls than the option allows: refused whole, nothing run.
    let many: Vec<Value> = (0..1001)
        .map(|_| st(&[("methodName", s("system.version")), ("params", arr(vec![]))]))
        .collect();
    let (code, message) = fault_of(server.call("system.multicall", vec![arr(many.clone())]));
    assert_eq!(code, -32600);
    assert!(message.contains("at most 1000 calls"), "{message}");
    server
        .call(
            "config.set",
            vec![s(&admin), st(&[("multicall_max_calls", i(2000))])],
        )
        .unwrap();
    server.call("system.multicall", vec![arr(many)]).unwrap();
}

#[test]
fn rpc2_wants_xml_and_answers_carry_the_security_headers() {
    let server = Server::sqlite();
    let body = "<?xml version=\"1.0\"?><methodCall><methodName>system.version</methodName><params/></methodCall>";
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for kind in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/json",
    ] {
        let response = agent
            .post(&server.url)
            .header("Content-Type", kind)
            .send(body)
            .unwrap();
        assert_eq!(response.status().as_u16(), 415, "{kind}");
    }
    for kind in ["text/xml", "text/xml; charset=utf-8", "application/xml"] {
        let response = agent
            .post(&server.url)
            .header("Content-Type", kind)
            .send(body)
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{kind}");
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(headers.get("server").is_none());
        assert!(headers.get("strict-transport-security").is_none());
    }
    let root = server.url.trim_end_matches("/RPC2");
    for path in ["/", "/ui/app.js", "/no/such/page"] {
        let response = agent.get(&format!("{root}{path}")).call().unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(headers.get("server").is_none(), "{path}");
    }
}

/// Read until the server closes the connection; how long that took.
fn until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) => panic!("the connection stayed open {:?}: {e}", started.elapsed()),
        }
    }
}

#[test]
fn slow_and_silent_connections_are_closed() {
    let server = Server::start(&fresh_sqlite_database(), &["--idle-timeout-secs", "2"]);
    let address = address(&server);

    // Nothing sent at all: closed at the idle limit.
    let mut silent = TcpStream::connect(&address).unwrap();
    let waited = until_closed(&mut silent, Duration::from_secs(20));
    assert!(waited < Duration::from_secs(12), "{waited:?}");

    // Headers trickling in, a byte a second: closed at the header limit (10 s).
    let mut slow = TcpStream::connect(&address).unwrap();
    let started = Instant::now();
    let request = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for byte in request {
        if slow.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        slow.set_read_timeout(Some(Duration::from_millis(1)))
            .unwrap();
        let mut probe = [0u8; 256];
        // An answer (hyper's 408) or the end of the stream: the server gave up on it.
        if slow.read(&mut probe).is_ok() {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a trickling request was kept for {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(16),
        "{:?}",
        started.elapsed()
    );

    // A kept-alive connection that goes quiet after a request: closed at the idle limit.
    let mut kept = TcpStream::connect(&address).unwrap();
    let body = "<?xml version=\"1.0\"?><methodCall><methodName>system.version</methodName><params/></methodCall>";
    write!(
        kept,
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let waited = until_closed(&mut kept, Duration::from_secs(20));
    assert!(waited < Duration::from_secs(12), "{waited:?}");

    // A long poll is not idle: event.next waiting 4 s answers (past the 2 s idle limit).
    let admin = server.admin();
    let started = Instant::now();
    let answer = server
        .call("event.next", vec![s(&admin), s(""), i(4)])
        .expect("event.next answers");
    assert!(started.elapsed() >= Duration::from_secs(3), "{answer:?}");
}

#[test]
fn sessions_end_after_their_lifetime_and_idle_time() {
    let database = fresh_sqlite_database();
    let server = Server::start(&database, &[]);
    let admin = server.admin();
    server
        .call(
            "config.set",
            vec![
                s(&admin),
                st(&[
                    ("session_idle_minutes", i(30)),
                    ("session_lifetime_hours", i(1)),
                ]),
            ],
        )
        .unwrap();
    let token = server.admin();
    server.call("session.whoami", vec![s(&token)]).unwrap();
    let file = database.trim_start_matches("sqlite://");
    let sql = |statement: &str| {
        let done = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r)",
                file,
                statement,
            ])
            .output()
            .unwrap();
        assert!(done.status.success());
        String::from_utf8(done.stdout).unwrap()
    };
    // The lifetime option set the session's end one hour after login.
    let ends =
        sql("SELECT expires_at - created_at, idle_secs FROM sessions ORDER BY id DESC LIMIT 1");
    assert_eq!(ends.trim(), "[(3600, 1800)]");
    // 31 minutes without a call: the session has ended.
    sql("UPDATE sessions SET last_used_at = last_used_at - 31 * 60 WHERE idle_secs > 0");
    let (code, message) = fault_of(server.call("session.whoami", vec![s(&token)]));
    assert_eq!(code, 1);
    assert!(message.contains("idle too long"), "{message}");
    // The first admin token (made before the option) has no idle limit.
    server.call("session.whoami", vec![s(&admin)]).unwrap();
    // A session in use is noted as used: 20 minutes back, one call, and it lives on.
    let fresh = server.admin();
    sql("UPDATE sessions SET last_used_at = last_used_at - 20 * 60 WHERE idle_secs > 0");
    server.call("session.whoami", vec![s(&fresh)]).unwrap();
    sql("UPDATE sessions SET last_used_at = last_used_at - 20 * 60 WHERE idle_secs > 0");
    server.call("session.whoami", vec![s(&fresh)]).unwrap();
}

/// A Python client of an HTTPS server: prints the served certificate's fingerprint, then
/// the answers of system.version and node.register (verified against `ca`).
const HTTPS_CLIENT: &str = r#"
import hashlib, ssl, sys, xmlrpc.client, socket
port, ca = int(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        print("sha256:" + hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest())
proxy = xmlrpc.client.ServerProxy("https://localhost:%d/RPC2" % port, context=context)
print(proxy.system.version()["name"])
token = proxy.session.login("admin", "admin-password")
answer = proxy.node.register(token, {"name": "n1", "hostname": "n1", "transport": "libvirt", "uri": "test:///default"})
print(answer.get("tls_fingerprint", "none"))
"#;

#[test]
fn a_non_loopback_address_speaks_https_with_a_self_signed_certificate() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_string_lossy().into_owned();
    let server = Server::start_with_env(
        "0.0.0.0:0",
        &fresh_sqlite_database(),
        &["--workers", "0"],
        &[("ZENTIFIC_DATA_DIR", &data_dir)],
    );
    let port = address(&server).rsplit(':').next().unwrap().to_owned();
    let cert = data.path().join("tls/cert.pem");
    assert!(cert.exists(), "no certificate was made");
    let out = Command::new("python3")
        .args(["-c", HTTPS_CLIENT, &port, &cert.to_string_lossy()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("sha256:") && lines[0].len() == 71,
        "{stdout}"
    );
    assert_eq!(lines[1], "zentific");
    assert_eq!(
        lines[2], lines[0],
        "node.register's fingerprint is the served one"
    );

    // Plain HTTP on the HTTPS port: told to use https://.
    let mut plain = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    plain
        .write_all(
            b"POST /RPC2 HTTP/1.1\r\nHost: zentific.example:8443\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    plain.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("use https://zentific.example:8443/RPC2"),
        "{answer}"
    );
    let mut browser = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    browser
        .write_all(b"GET /vms HTTP/1.1\r\nHost: zentific.example:8443\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    browser.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 301"), "{answer}");
    assert!(
        answer.contains("Location: https://zentific.example:8443/vms"),
        "{answer}"
    );

    // HSTS on HTTPS answers; the same certificate after a restart.
    let hsts = Command::new("python3")
        .args([
            "-c",
            "import ssl,sys,urllib.request; c=ssl.create_default_context(cafile=sys.argv[2]); r=urllib.request.urlopen('https://localhost:%s/' % sys.argv[1], context=c); print(r.headers['Strict-Transport-Security'])",
            &port,
            &cert.to_string_lossy(),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&hsts.stdout).contains("max-age="));
    let first = std::fs::read(&cert).unwrap();
    drop(server);
    let _again = Server::start_with_env(
        "0.0.0.0:0",
        &fresh_sqlite_database(),
        &["--workers", "0"],
        &[("ZENTIFIC_DATA_DIR", &data_dir)],
    );
    assert_eq!(std::fs::read(&cert).unwrap(), first);
}

#[test]
fn a_given_certificate_serves_https_on_loopback_and_insecure_http_is_explicit() {
    let data = tempfile::tempdir().unwrap();
    let (cert, key) = (data.path().join("c.pem"), data.path().join("k.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = Server::start_with_env(
        "127.0.0.1:0",
        &fresh_sqlite_database(),
        &[
            "--workers",
            "0",
            "--tls-cert",
            &cert.to_string_lossy(),
            "--tls-key",
            &key.to_string_lossy(),
        ],
        &[],
    );
    let port = address(&server).rsplit(':').next().unwrap().to_owned();
    let out = Command::new("python3")
        .args(["-c", HTTPS_CLIENT, &port, &cert.to_string_lossy()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --insecure-http on a non-loopback address: plain HTTP, no certificate made.
    let empty = tempfile::tempdir().unwrap();
    let plain = Server::start_with_env(
        "0.0.0.0:0",
        &fresh_sqlite_database(),
        &["--workers", "0", "--insecure-http"],
        &[("ZENTIFIC_DATA_DIR", &empty.path().to_string_lossy())],
    );
    plain.call("system.version", vec![]).unwrap();
    assert!(!empty.path().join("tls").exists());
}
