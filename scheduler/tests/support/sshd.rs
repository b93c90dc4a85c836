//! A throwaway OpenSSH server on 127.0.0.1 for the SSH transport's tests.
//!
//! [`TestSshd::start`] makes a temporary directory with a fresh host key and client key
//! (`ssh-keygen`), an `authorized_keys` for the client key and an `sshd_config` that accepts
//! only that key for the current user, then runs `/usr/sbin/sshd -D -e` on a free port,
//! logging to `sshd.log`. The config sets `XL_STANDIN_STATE` and `XL_STANDIN_LOG` for every
//! session (`SetEnv`), so the `xl` stand-in in `tests/fixtures/xl` keeps its state in the
//! same directory, puts the fixtures (`xl`, `xenstore-read`) first on `PATH`, and points
//! `HOME` there too: the login shell then skips the tester's own
//! startup files (a `~/.bashrc` that runs `pyenv init` costs 400 ms per command).
//!
//! Works as root (`PermitRootLogin`, `/run/sshd` created if missing) and as a normal user
//! (sshd then only lets that user in, which is all the tests need). Dropping the harness
//! kills sshd and every session process it started.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zentific_scheduler::dispatch::ssh::{HostKeyPolicy, SshSettings};

/// How long sshd may take to start answering.
const READY_LIMIT: Duration = Duration::from_secs(15);
/// Pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// A running test sshd and the files around it.
pub struct TestSshd {
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    server: Option<Child>,
}

impl TestSshd {
    /// Create keys and config and start sshd; panics with sshd's log if it does not come up.
    pub fn start() -> TestSshd {
        let dir = tempfile::Builder::new()
            .prefix("zentific-sshd")
            .tempdir()
            .expect("temp dir");
        let user = current_user();
        if is_root() {
            // sshd refuses to start as root without its privilege separation directory.
            fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        }
        for key in ["host_key", "client_key"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "zentific-test", "-f"])
                .arg(dir.path().join(key))
                .stdin(Stdio::null())
                .status()
                .expect("run ssh-keygen");
            assert!(status.success(), "ssh-keygen failed for {key}");
        }
        fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        fs::create_dir_all(dir.path().join("configs")).expect("configs dir");

        let port = free_port();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let config = format!(
            "Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile none
AuthorizedKeysFile {authorized_keys}
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
LogLevel INFO
SetEnv HOME={home} XL_STANDIN_STATE={state} XL_STANDIN_LOG={log} PATH={fixtures}:/usr/local/bin:/usr/bin:/bin
",
            fixtures = xl_stand_in().parent().expect("fixtures dir").display(),
            home = dir.path().display(),
            host_key = path("host_key"),
            authorized_keys = path("authorized_keys"),
            state = path("xl-state.json"),
            log = path("xl-calls.log"),
        );
        fs::write(dir.path().join("sshd_config"), config).expect("sshd_config");
        let mut sshd = TestSshd {
            dir,
            port,
            user,
            server: None,
        };
        sshd.resume();
        sshd
    }

    /// Start sshd again (after [`TestSshd::stop`]) on the same port with the same keys.
    pub fn resume(&mut self) {
        assert!(self.server.is_none(), "sshd is already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("sshd.log");
        let server = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start /usr/sbin/sshd (package openssh-server)");
        self.server = Some(server);
        self.wait_until_ready();
    }

    /// Kill sshd and every process it started (the per-connection sessions too), so
    /// established connections break as they would when a node goes down.
    pub fn stop(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let mut doomed = descendants(server.id());
        doomed.push(server.id());
        for pid in doomed {
            // Processes may be gone already; a failed kill is fine.
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
        let _ = server.wait();
    }

    /// Port sshd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Settings for an `SshDispatcher` talking to this sshd with the `xl` stand-in.
    pub fn settings(&self) -> SshSettings {
        let mut settings = SshSettings::new("127.0.0.1", self.user.clone());
        settings.port = Some(self.port);
        settings.identity_file = Some(self.dir.path().join("client_key"));
        settings.known_hosts = HostKeyPolicy::AcceptNew;
        settings.known_hosts_file = Some(self.dir.path().join("known_hosts"));
        settings.xl_command = xl_stand_in().display().to_string();
        settings.config_dir = self.config_dir().display().to_string();
        settings.connect_timeout = Duration::from_secs(5);
        settings
    }

    /// A node URI with the same settings as [`TestSshd::settings`], for `node.register`.
    pub fn node_uri(&self) -> String {
        let settings = self.settings();
        format!(
            "ssh://{}@127.0.0.1:{}?xl={}&config_dir={}&identity={}&known_hosts_file={}",
            settings.user,
            self.port,
            settings.xl_command,
            settings.config_dir,
            self.dir.path().join("client_key").display(),
            self.dir.path().join("known_hosts").display()
        )
    }

    /// Where `define` writes configurations in these tests.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("configs")
    }

    /// sshd's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// How many logins sshd accepted so far (one per SSH connection).
    pub fn accepted_logins(&self) -> usize {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        log.lines()
            .filter(|line| line.contains("Accepted publickey"))
            .count()
    }

    /// Seed the stand-in's state with running domains: (name, domid, uuid, MiB, vCPUs).
    pub fn seed_domains(&self, domains: &[(&str, u32, &str, i64, i32)]) {
        let mut entries = serde_json::Map::new();
        let mut next_domid = 1;
        for &(name, domid, uuid, mib, vcpus) in domains {
            next_domid = next_domid.max(domid + 1);
            entries.insert(
                name.to_owned(),
                serde_json::json!({
                    "domid": domid, "uuid": uuid, "type": "pv",
                    "memory_kb": mib * 1024, "max_memory_kb": mib * 2 * 1024,
                    "vcpus": vcpus, "max_vcpus": vcpus, "pause_count": 0, "cpu_time": 1.5,
                }),
            );
        }
        let state = serde_json::json!({ "next_domid": next_domid, "domains": entries });
        fs::write(self.state_path(), state.to_string()).expect("write stand-in state");
    }

    /// Give the stand-in's domain `name` a VNC server on `port` (xenstore's
    /// `console/vnc-port`, which the `xenstore-read` stand-in answers).
    pub fn set_vnc_port(&self, name: &str, port: u16) {
        let text = fs::read_to_string(self.state_path()).expect("seeded state");
        let mut state: serde_json::Value = serde_json::from_str(&text).expect("state is JSON");
        state["domains"][name]["vnc_port"] = serde_json::json!(port);
        fs::write(self.state_path(), state.to_string()).expect("write stand-in state");
    }

    /// The stand-in's state for `name`, if it has such a domain.
    pub fn domain_state(&self, name: &str) -> Option<serde_json::Value> {
        // No state file yet: xl has not run, so only Domain-0 exists.
        let text = fs::read_to_string(self.state_path()).ok()?;
        let state: serde_json::Value = serde_json::from_str(&text).expect("state is JSON");
        state["domains"].get(name).cloned()
    }

    /// Every stand-in invocation so far, as argument lists.
    pub fn xl_calls(&self) -> Vec<Vec<String>> {
        let Ok(file) = File::open(self.dir.path().join("xl-calls.log")) else {
            return vec![];
        };
        BufReader::new(file)
            .lines()
            .map(|line| serde_json::from_str(&line.expect("log line")).expect("log line is JSON"))
            .collect()
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("xl-state.json")
    }

    /// Poll until sshd sends its SSH banner; panic with its log if it exits or stays silent.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if let Some(Ok(Some(status))) = self.server.as_mut().map(Child::try_wait) {
                panic!("sshd exited with {status}:\n{}", self.log());
            }
            if banner_answers(self.port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not answer within {READY_LIMIT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `xl` stand-in shipped with the scheduler's tests (this harness is also used by
/// the workspace's end-to-end tests, whose manifest directory is the workspace root).
pub fn xl_stand_in() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = manifest.join("tests/fixtures/xl");
    if here.exists() {
        here
    } else {
        manifest.join("scheduler/tests/fixtures/xl")
    }
}

/// Whether 127.0.0.1:`port` greets with an SSH banner.
fn banner_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut greeting = [0u8; 4];
    stream.read_exact(&mut greeting).is_ok() && &greeting == b"SSH-"
}

/// A port nobody listens on right now (the kernel's pick for 127.0.0.1:0).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn current_user() -> String {
    let output = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(output.stdout)
        .expect("user name is UTF-8")
        .trim()
        .to_owned()
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// All processes below `root` in the process tree, read from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: the parent PID is the
        // second field after the last ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|field| field.parse::<u32>().ok());
        if let Some(parent) = parent {
            parents.push((pid, parent));
        }
    }
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let current = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, parent)| *parent == current)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found.remove(0);
    found
}
