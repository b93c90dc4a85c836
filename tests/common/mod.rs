//! Test harness: starts the real `zentific` binary on 127.0.0.1:0 against a throwaway
//! database and talks XML-RPC to it over HTTP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dxr::{Fault, FaultResponse, MethodCall, MethodResponse, Value};

pub use zentific_sql::testing::{fresh_postgres_database, fresh_sqlite_database};

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-password";

/// A running server; killed when dropped. It is a [`Client`] of itself (`server.call`).
pub struct Server {
    child: Child,
    client: Client,
    /// The database URL it runs on.
    pub database: String,
}

/// A client of a server's `/RPC2`, for threads that call while a test holds the server.
#[derive(Clone, Debug)]
pub struct Client {
    /// `http://127.0.0.1:PORT/RPC2`
    pub url: String,
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Server {
    /// A server on a fresh SQLite database.
    pub fn sqlite() -> Server {
        Server::start(&fresh_sqlite_database(), &[])
    }

    /// A server on a fresh database of a real PostgreSQL server.
    pub fn postgres() -> Server {
        Server::start(&fresh_postgres_database(), &[])
    }

    /// Start `zentific serve` on `database` with extra flags, without a scheduler (these
    /// tests are about the API; jobs stay as recorded); waits until it listens.
    pub fn start(database: &str, extra: &[&str]) -> Server {
        let mut args = vec!["--workers", "0"];
        args.extend_from_slice(extra);
        Server::start_with_scheduler(database, &args)
    }

    /// Start `zentific serve` with its in-process scheduler (flags may set `--workers`).
    pub fn start_with_scheduler(database: &str, extra: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", database, extra)
    }

    /// Start `zentific serve` listening on `listen`.
    pub fn start_on(listen: &str, database: &str, extra: &[&str]) -> Server {
        Server::start_with_env(listen, database, extra, &[])
    }

    /// Start `zentific serve` listening on `listen`, with more environment variables.
    pub fn start_with_env(
        listen: &str,
        database: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zentific"))
            .args(["serve", "--listen", listen, "--database", database])
            .args(extra)
            .env("ZENTIFIC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // No modules unless a test gives --modules-dir (never the tester's own).
            .env("ZENTIFIC_MODULES_DIR", "/nonexistent/zentific-test-modules")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start zentific");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(addr);
                }
                if std::env::var_os("ZENTIFIC_TEST_LOG").is_some() {
                    eprintln!("[server] {line}");
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not report its address");
        Server {
            child,
            client: Client {
                url: format!("http://{addr}/RPC2"),
            },
            database: database.to_string(),
        }
    }

    /// Stop it cleanly (SIGTERM) and wait: whether it exited successfully.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Client {
    /// Call a method; `Err` holds the fault.
    pub fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, Fault> {
        let body = MethodCall {
            name: method.into(),
            params,
        }
        .to_xml()
        .expect("serialize call");
        let text = self.post(body.as_bytes()).1;
        decode(&text)
    }

    /// POST raw bytes; returns (HTTP status, body).
    pub fn post(&self, body: &[u8]) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .post(&self.url)
            .header("Content-Type", "text/xml")
            .send(body)
            .expect("HTTP request");
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .expect("read body");
        (status, text)
    }

    /// GET `path` (from the server's root); returns (HTTP status, content type, body).
    pub fn get(&self, path: &str) -> (u16, String, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let root = self.url.trim_end_matches("/RPC2");
        let mut response = agent
            .get(&format!("{root}{path}"))
            .call()
            .expect("HTTP request");
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, kind, text)
    }

    /// Log in; returns the token.
    pub fn login(&self, username: &str, password: &str) -> String {
        match self.call("session.login", vec![s(username), s(password)]) {
            Ok(Value::String(token)) => token,
            other => panic!("login failed: {other:?}"),
        }
    }

    /// Log in as the first admin.
    pub fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decode a methodResponse body.
pub fn decode(text: &str) -> Result<Value, Fault> {
    if let Ok(response) = MethodResponse::from_xml(text) {
        return Ok(response.value);
    }
    match FaultResponse::from_xml(text) {
        Ok(fault) => Err(fault.fault),
        Err(_) => panic!("not an XML-RPC response: {text}"),
    }
}

/// A string value.
pub fn s(text: &str) -> Value {
    Value::String(text.into())
}

/// An int value.
pub fn i(v: i32) -> Value {
    Value::Integer(v)
}

/// A struct value from pairs.
pub fn st(members: &[(&str, Value)]) -> Value {
    Value::Struct(
        members
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// An array value.
pub fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

/// A member of a struct value.
pub fn member<'a>(value: &'a Value, name: &str) -> &'a Value {
    match value {
        Value::Struct(members) => members
            .get(name)
            .unwrap_or_else(|| panic!("no member {name} in {value:?}")),
        other => panic!("not a struct: {other:?}"),
    }
}

/// An int out of a value.
pub fn int(value: &Value) -> i32 {
    match value {
        Value::Integer(v) => *v,
        other => panic!("not an int: {other:?}"),
    }
}

/// The fault code of a result that must be a fault.
pub fn code(result: Result<Value, Fault>) -> i32 {
    match result {
        Err(fault) => fault.code(),
        Ok(value) => panic!("expected a fault, got {value:?}"),
    }
}

/// Register a node and return its id.
pub fn node(server: &Server, token: &str, name: &str) -> i32 {
    let node = st(&[
        ("name", s(name)),
        ("hostname", s("127.0.0.1")),
        ("transport", s("libvirt")),
        ("uri", s("test:///default")),
    ]);
    let id = int(member(
        &server.call("node.register", vec![s(token), node]).unwrap(),
        "id",
    ));
    pool(server, token, id, "images", "/srv/xen");
    id
}

/// Define a storage pool on a node (admin token); disks of plain users come from pools.
pub fn pool(server: &Server, admin: &str, node: i32, name: &str, path: &str) -> i32 {
    let spec = st(&[
        ("node", i(node)),
        ("name", s(name)),
        ("kind", s("dir")),
        ("path", s(path)),
        ("capacity_kb", i(100 << 20)),
    ]);
    int(&server
        .call("storage.definePool", vec![s(admin), spec])
        .unwrap())
}

/// Create a VM and return its id (the target of the create job).
pub fn vm(server: &Server, token: &str, node: i32, name: &str) -> i32 {
    let spec = st(&[
        ("name", s(name)),
        ("type", s("PV")),
        ("node", i(node)),
        ("memory_kb", i(262_144)),
        ("vcpus", i(1)),
        (
            "disks",
            arr(vec![st(&[
                ("target", s("xvda")),
                ("source", s("/srv/xen/a.img")),
            ])]),
        ),
    ]);
    let job = int(&server.call("vm.create", vec![s(token), spec]).unwrap());
    int(member(
        &server.call("job.get", vec![s(token), i(job)]).unwrap(),
        "target",
    ))
}

/// Create a user with a role and return (id, token).
pub fn user(server: &Server, admin: &str, name: &str, role: &str) -> (i32, String) {
    let spec = st(&[
        ("username", s(name)),
        ("password", s("user-password")),
        ("role", s(role)),
    ]);
    let id = int(&server.call("user.create", vec![s(admin), spec]).unwrap());
    (id, server.login(name, "user-password"))
}

/// A `zentific scheduler` process; killed when dropped.
pub struct SchedulerProcess {
    child: Child,
}

impl SchedulerProcess {
    /// Start workers on `database` with extra flags; waits until they run.
    pub fn start(database: &str, extra: &[&str]) -> SchedulerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zentific"))
            .args(["scheduler", "--database", database])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start zentific scheduler");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("scheduler started") {
                    let _ = tx.send(());
                }
                if std::env::var_os("ZENTIFIC_TEST_LOG").is_some() {
                    eprintln!("[scheduler] {line}");
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the scheduler did not start");
        SchedulerProcess { child }
    }

    /// Kill it without warning (SIGKILL), as a crash would.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop it cleanly (SIGTERM) and wait.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for SchedulerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use zentific_test_support::wait_until;

/// Wait until a job has ended; returns its record.
pub fn finished_job(server: &Server, token: &str, job: i32) -> Value {
    wait_until(
        Duration::from_secs(60),
        &format!("job {job} to end"),
        || {
            let record = server.call("job.get", vec![s(token), i(job)]).unwrap();
            let state = member(&record, "state").clone();
            (state == s("succeeded") || state == s("failed") || state == s("cancelled"))
                .then_some(record)
        },
    )
}

/// Run a job to its end, then read its node again (so that `vm.get` shows what the
/// hypervisor reports); returns the finished job.
pub fn finish_and_sync(server: &Server, token: &str, node: i32, job: i32) -> Value {
    let done = finished_job(server, token, job);
    let sync = int(&server.call("node.sync", vec![s(token), i(node)]).unwrap());
    assert_eq!(
        member(&finished_job(server, token, sync), "state"),
        &s("succeeded")
    );
    done
}

/// The libvirt test-driver node file with four domains (web, db, backup, frozen).
pub fn test_driver_uri() -> String {
    format!(
        "test://{}/scheduler/tests/fixtures/libvirt-node.xml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Register a node on a URI and return its id.
pub fn node_on(server: &Server, token: &str, name: &str, transport: &str, uri: &str) -> i32 {
    let spec = st(&[
        ("name", s(name)),
        ("hostname", s("127.0.0.1")),
        ("transport", s(transport)),
        ("uri", s(uri)),
    ]);
    int(member(
        &server.call("node.register", vec![s(token), spec]).unwrap(),
        "id",
    ))
}

/// The id of the VM named `name` once the inventory shows it.
pub fn vm_named(server: &Server, token: &str, name: &str) -> i32 {
    wait_until(
        Duration::from_secs(30),
        &format!("VM {name} in the inventory"),
        || {
            let Value::Array(vms) = server.call("vm.list", vec![s(token)]).unwrap() else {
                return None;
            };
            vms.iter()
                .find(|v| member(v, "name") == &s(name))
                .map(|v| int(member(v, "id")))
        },
    )
}

/// The state of a VM.
pub fn vm_state(server: &Server, token: &str, vm: i32) -> String {
    match member(
        &server.call("vm.get", vec![s(token), i(vm)]).unwrap(),
        "state",
    ) {
        Value::String(state) => state.clone(),
        other => panic!("state is {other:?}"),
    }
}

/// The XenAPI simulator (`scheduler/tests/fixtures/xapi_sim.py`), with `extra_vms` more
/// running guests; killed on drop.
pub struct XapiSimulator {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
}

impl XapiSimulator {
    /// Start it and wait for its port.
    pub fn start(extra_vms: usize) -> XapiSimulator {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scheduler/tests/fixtures/xapi_sim.py"
        );
        let child = Command::new("python3")
            .args([script, port_file.to_str().unwrap()])
            .env("XAPI_SIM_EXTRA_VMS", extra_vms.to_string())
            .spawn()
            .expect("python3");
        let port = wait_until(Duration::from_secs(30), "the simulator's port", || {
            std::fs::read_to_string(&port_file)
                .ok()
                .filter(|p| p.trim().parse::<u16>().is_ok())
        });
        XapiSimulator {
            child,
            url: format!("http://127.0.0.1:{}/", port.trim()),
        }
    }

    /// Its node URI with the simulator's account.
    pub fn node_uri(&self) -> String {
        self.url.replace("http://", "http://root:xapi-sim@")
    }

    /// Call one of its hidden `sim.*` hooks; returns the bare answer.
    pub fn hook(&self, method: &str, params: Vec<Value>) -> Value {
        let body = MethodCall {
            name: method.into(),
            params,
        }
        .to_xml()
        .expect("serialize call");
        let mut response = ureq::post(&self.url)
            .header("Content-Type", "text/xml")
            .send(body.as_bytes())
            .expect("reach the simulator");
        let text = response.body_mut().read_to_string().unwrap();
        let answer = decode(&text).expect("a hook answer");
        member(&answer, "Value").clone()
    }
}

impl Drop for XapiSimulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The in-tree module `name` of cargo package `package`, built (debug) if this test run
/// has not built it yet.
pub fn built_module(package: &str, name: &str) -> std::path::PathBuf {
    let target = std::path::Path::new(env!("CARGO_BIN_EXE_zentific"))
        .parent()
        .unwrap()
        .to_path_buf();
    let library = target.join(format!("libzentific_module_{name}.so"));
    if !library.exists() {
        let built = Command::new(env!("CARGO"))
            .args(["build", "-p", package])
            .status()
            .expect("cargo");
        assert!(built.success());
    }
    library
}

/// A modules directory (mode 755) holding copies of `libraries` (mode 755).
pub fn modules_dir_with(libraries: &[std::path::PathBuf]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for library in libraries {
        let copy = dir.path().join(library.file_name().unwrap());
        std::fs::copy(library, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}
