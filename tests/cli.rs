//! The `zentific` command line: first start, user management, migrations, config files,
//! environment overrides and a clean stop on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

fn zentific() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zentific"));
    command
        .env_remove("ZENTIFIC_ADMIN_PASSWORD")
        .env_remove("ZENTIFIC_PASSWORD");
    command
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("run zentific");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn users_are_managed_from_the_command_line() {
    let database = fresh_sqlite_database();
    let (ok, text) = run(zentific().args(["migrate", "--database", &database]));
    assert!(ok, "{text}");
    let (ok, text) = run(zentific()
        .args([
            "user",
            "add",
            "ops",
            "--role",
            "operator",
            "--email",
            "ops@example.org",
            "--database",
            &database,
        ])
        .env("ZENTIFIC_PASSWORD", "ops-password"));
    assert!(ok && text.contains("created user 'ops'"), "{text}");
    let (ok, text) = run(zentific()
        .args(["user", "add", "ops", "--database", &database])
        .env("ZENTIFIC_PASSWORD", "ops-password"));
    assert!(!ok && text.contains("already taken"), "{text}");
    let (ok, text) = run(zentific()
        .args([
            "user",
            "add",
            "x",
            "--role",
            "root",
            "--database",
            &database,
        ])
        .env("ZENTIFIC_PASSWORD", "x-password"));
    assert!(!ok && text.contains("admin, operator, user"), "{text}");

    // The password can come on stdin too.
    let mut child = zentific()
        .args(["user", "passwd", "ops", "--database", &database])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"new-ops-password\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The server's first start sees users exist and creates no admin; ops logs in.
    let server = Server::start(&database, &[]);
    assert_eq!(
        code(server.call("session.login", vec![s("admin"), s(ADMIN_PASSWORD)])),
        1
    );
    let token = server.login("ops", "new-ops-password");
    assert_eq!(
        member(
            &server.call("session.whoami", vec![s(&token)]).unwrap(),
            "role"
        ),
        &s("operator")
    );
}

#[test]
fn first_start_prints_a_random_admin_password_once() {
    let database = fresh_sqlite_database();
    let mut child = zentific()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut password = None;
    let mut url = None;
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if let Some(rest) = line.strip_prefix("Created user 'admin' with password: ") {
            password = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = Some(format!(
                "http://{}/RPC2",
                rest.split_whitespace().next().unwrap()
            ));
            break;
        }
    }
    let (password, url) = (
        password.expect("no password printed"),
        url.expect("no address"),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(password.len() >= 16, "{password}");
    // A second start uses the same database and prints nothing.
    let server = Server::start(&database, &[]);
    assert!(!url.is_empty());
    assert!(
        server
            .call("session.login", vec![s("admin"), s(&password)])
            .is_ok()
    );
}

#[test]
fn config_file_and_environment_are_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_sqlite_database();
    let config = dir.path().join("zentific.toml");
    std::fs::write(
        &config,
        format!("database = \"{database}\"\nmax_body_bytes = 2048\n"),
    )
    .unwrap();
    // The database comes from the file; the env var wins over nothing.
    let server = {
        let mut child = zentific()
            .args(["serve", "--config", config.to_str().unwrap()])
            .env("ZENTIFIC_LISTEN", "127.0.0.1:0")
            .env("ZENTIFIC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let line = BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("listening on"))
            .unwrap();
        (child, line)
    };
    let (mut child, line) = server;
    let addr = line
        .split("listening on ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    // The limit from the file applies.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let big = format!(
        "<methodCall><methodName>{}</methodName></methodCall>",
        "x".repeat(4096)
    );
    let text = agent
        .post(&format!("http://{addr}/RPC2"))
        .header("Content-Type", "text/xml")
        .send(big.as_bytes())
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(text.contains("2048"), "{text}");

    // SIGTERM stops it cleanly.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "the server did not exit cleanly on SIGTERM: {exit:?}"
    );

    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nlisten_addr = \"oops\"\n",
    )
    .unwrap();
    let (ok, text) = run(zentific().args(["migrate", "--config", config.to_str().unwrap()]));
    assert!(
        !ok && text.contains("invalid config file") && text.contains("listen_addr"),
        "{text}"
    );
    let (ok, text) = run(zentific().args(["migrate", "--database", "mysql://nope"]));
    assert!(
        !ok && text.contains("sqlite://") && text.contains("postgres://"),
        "{text}"
    );
}
