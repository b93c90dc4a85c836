//! The real `zentific-poller` binary against a small XML-RPC sink written here: pushes,
//! an outage (the sink is killed, then comes back on the same port), HTTP errors and
//! fault 4, and a restart. Every seq must reach the backend exactly once, in order.
//!
//! No fixed ports (the sink binds 127.0.0.1:0 and is restarted on the port it got), no
//! sleeps (bounded polling), and the poller process is killed on drop if a test fails.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const POLLER: &str = env!("CARGO_BIN_EXE_zentific-poller");
const TOKEN: &str = "poller-token-<&>";

/// How the sink answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `{stored, seq}` (stored false for a seq it already has).
    Ack,
    /// Fault 4, as for a malformed sample.
    Fault4,
    /// HTTP 503.
    Unavailable,
}

#[derive(Default)]
struct Record {
    killed: bool,
    /// Seqs acknowledged, in arrival order (duplicates included).
    acked: Vec<u64>,
    /// Seqs answered with fault 4.
    rejected: Vec<u64>,
    /// Seqs answered with HTTP 503.
    refused: Vec<u64>,
    /// Every body received.
    bodies: Vec<String>,
    conns: Vec<TcpStream>,
}

struct SinkState {
    mode: Mutex<Mode>,
    record: Mutex<Record>,
}

/// A tiny HTTP/1.1 XML-RPC server on 127.0.0.1: one thread accepting, one per connection.
struct Sink {
    port: u16,
    state: Arc<SinkState>,
    acceptor: Option<JoinHandle<()>>,
}

impl Sink {
    fn start(port: u16, mode: Mode) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the sink");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(SinkState {
            mode: Mutex::new(mode),
            record: Mutex::new(Record::default()),
        });
        let shared = state.clone();
        let acceptor = thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut record = shared.record.lock().unwrap();
                if record.killed {
                    return; // drops the listener: the port is closed
                }
                record.conns.push(stream.try_clone().unwrap());
                drop(record);
                let shared = shared.clone();
                thread::spawn(move || serve_connection(stream, &shared));
            }
        });
        Sink {
            port,
            state,
            acceptor: Some(acceptor),
        }
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    fn with<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        f(&self.state.record.lock().unwrap())
    }

    /// Stops answering at once: open connections are shut, the port is closed.
    fn kill(&mut self) {
        {
            let mut record = self.state.record.lock().unwrap();
            record.killed = true;
            for conn in record.conns.drain(..) {
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
        // Wake the acceptor so it sees `killed` and drops the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().unwrap();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if self.acceptor.is_some() {
            self.kill();
        }
    }
}

/// The text between `<name>seq</name><value><i8>` and `</i8>`.
fn seq_of(body: &str) -> u64 {
    let start = body
        .find("<name>seq</name><value><i8>")
        .expect("a seq member")
        + 27;
    let end = start + body[start..].find("</i8>").unwrap();
    body[start..end].parse().unwrap()
}

fn serve_connection(stream: TcpStream, state: &SinkState) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut length = 0;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8(body).unwrap();
        // Record and answer under the lock, so `kill` never falls between the two: a
        // request is either answered and recorded, or neither.
        let mut record = state.record.lock().unwrap();
        if record.killed {
            return;
        }
        let seq = seq_of(&body);
        let mode = *state.mode.lock().unwrap();
        let (status, xml) = match mode {
            Mode::Ack => {
                let stored = !record.acked.contains(&seq);
                record.acked.push(seq);
                (
                    "200 OK",
                    format!(
                        "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
                         <member><name>stored</name><value><boolean>{}</boolean></value></member>\
                         <member><name>seq</name><value><i8>{seq}</i8></value></member>\
                         </struct></value></param></params></methodResponse>",
                        u8::from(stored)
                    ),
                )
            }
            Mode::Fault4 => {
                record.rejected.push(seq);
                (
                    "200 OK",
                    "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>\
                     <member><name>faultCode</name><value><int>4</int></value></member>\
                     <member><name>faultString</name><value><string>sample.domains[0].cpu_ns \
                     must not be negative</string></value></member></struct></value></fault>\
                     </methodResponse>"
                        .to_owned(),
                )
            }
            Mode::Unavailable => {
                record.refused.push(seq);
                ("503 Service Unavailable", String::new())
            }
        };
        record.bodies.push(body);
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
            xml.len()
        );
        if (&stream).write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The poller process, killed on drop; its stderr goes to a file shown when a wait fails.
struct Poller {
    child: Option<Child>,
    log: PathBuf,
}

impl Poller {
    fn start(port: u16, spool: &Path, log: PathBuf) -> Poller {
        let child = Command::new(POLLER)
            .args(["--server", &format!("http://127.0.0.1:{port}/RPC2")])
            .args([
                "--token",
                TOKEN,
                "--source",
                "synthetic:3",
                "--interval",
                "1",
            ])
            .arg("--spool")
            .arg(spool)
            .args(["--spool-max", "1000", "--timeout", "5"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("start zentific-poller");
        Poller {
            child: Some(child),
            log,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = child.id() as libc::pid_t;
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let exited = zentific_test_support::try_wait_until(Duration::from_secs(20), || {
            child.try_wait().unwrap()
        });
        exited.unwrap_or_else(|| panic!("no exit after SIGTERM:\n{}", self.log()))
    }

    fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let reached =
            zentific_test_support::try_wait_until(Duration::from_secs(30), || done().then_some(()));
        assert!(
            reached.is_some(),
            "timed out waiting until {what}; poller log:\n{}",
            self.log()
        );
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Seqs of the samples waiting in the spool, oldest first.
fn spooled(spool: &Path) -> Vec<u64> {
    let mut seqs: Vec<u64> = fs::read_dir(spool)
        .map(|dir| {
            dir.filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".xml")?.parse().ok()
            })
            .collect()
        })
        .unwrap_or_default();
    seqs.sort_unstable();
    seqs
}

fn last_seq(spool: &Path) -> u64 {
    fs::read_to_string(spool.join("last-seq"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn assert_consecutive(seqs: &[u64]) {
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "seqs not consecutive: {seqs:?}");
    }
}

#[test]
fn outage_spools_and_replays_every_sample_exactly_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mut first = Sink::start(0, Mode::Ack);
    let port = first.port;
    let started_ms = now_ms();
    let mut poller = Poller::start(port, &spool, dir.path().join("poller.log"));

    poller.wait_until("3 samples are acknowledged", || {
        first.with(|r| r.acked.len() >= 3)
    });
    first.kill();
    poller.wait_until("3 samples wait in the spool", || spooled(&spool).len() >= 3);
    let waiting = spooled(&spool);

    let second = Sink::start(port, Mode::Ack);
    poller.wait_until("the spool is drained and 3 live samples follow", || {
        let newest_waiting = *waiting.last().unwrap();
        spooled(&spool).is_empty()
            && second.with(|r| r.acked.iter().filter(|s| **s > newest_waiting).count() >= 3)
    });
    let status = poller.terminate();
    assert!(status.success(), "{status:?}\n{}", poller.log());

    let mut all = first.with(|r| r.acked.clone());
    let before_outage = all.len();
    all.extend(second.with(|r| r.acked.clone()));
    // Exactly once, in order, nothing lost: consecutive seqs, each seen once.
    assert_consecutive(&all);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
    // The spooled samples arrived first at the second sink, oldest first.
    let replayed = second.with(|r| r.acked[..waiting.len()].to_vec());
    assert_eq!(replayed, waiting);
    assert_eq!(all[before_outage], waiting[0]);
    // A fresh spool starts from the clock in milliseconds × 1000.
    assert!(
        all[0] >= started_ms * 1000 && all[0] <= now_ms() * 1000,
        "{}",
        all[0]
    );
    // Nothing waits; last-seq holds the last sample taken.
    assert!(spooled(&spool).is_empty());
    assert_eq!(last_seq(&spool), *all.last().unwrap());
    // The call carries the token and a sample of the three synthetic domains.
    let body = second.with(|r| r.bodies[0].clone());
    assert!(body.contains(
        "<methodName>stats.push</methodName><params><param><value><string>\
         poller-token-&lt;&amp;&gt;</string></value></param>"
    ));
    assert!(body.contains("<name>source</name><value><string>synthetic</string></value>"));
    assert_eq!(body.matches("<name>domid</name>").count(), 3);
    let log = poller.log();
    assert!(log.contains("spooling samples until it answers"), "{log}");
    assert!(log.contains("replayed"), "{log}");

    // A restart continues from last-seq.
    let last = *all.last().unwrap();
    let mut again = Poller::start(port, &spool, dir.path().join("again.log"));
    again.wait_until("the restarted poller pushes", || {
        second.with(|r| r.acked.iter().any(|s| *s > last))
    });
    assert!(again.terminate().success());
    let after: Vec<u64> = second.with(|r| r.acked.iter().copied().filter(|s| *s > last).collect());
    assert_eq!(after[0], last + 1, "{after:?}");
}

#[test]
fn malformed_samples_are_dropped_and_http_errors_spool() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let sink = Sink::start(0, Mode::Fault4);
    let mut poller = Poller::start(sink.port, &spool, dir.path().join("poller.log"));

    poller.wait_until("2 samples are rejected", || {
        sink.with(|r| r.rejected.len() >= 2)
    });
    assert!(spooled(&spool).is_empty(), "a fault 4 must not spool");

    sink.set_mode(Mode::Unavailable);
    poller.wait_until("2 samples wait after HTTP 503", || {
        spooled(&spool).len() >= 2
    });

    sink.set_mode(Mode::Ack);
    poller.wait_until("the spool is drained", || {
        spooled(&spool).is_empty() && sink.with(|r| !r.acked.is_empty())
    });
    let status = poller.terminate();
    assert!(status.success(), "{status:?}");

    let (rejected, refused, acked) =
        sink.with(|r| (r.rejected.clone(), r.refused.clone(), r.acked.clone()));
    // Every seq was either rejected once or acknowledged once: no gap, no repeat.
    let mut all = rejected.clone();
    all.extend(&acked);
    assert_consecutive(&all);
    // What met a 503 was spooled and acknowledged later.
    for seq in &refused {
        assert!(acked.contains(seq), "{seq} refused but never acknowledged");
    }
    let log = poller.log();
    assert!(log.contains("rejected sample seq"), "{log}");
    assert!(log.contains("HTTP 503"), "{log}");
}

fn run_poller(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(POLLER)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn once_prints_json_without_a_server() {
    let (code, out, err) = run_poller(&["--once", "--source", "synthetic:2", "--interval", "7"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("{\n  \"time\": \"2"), "{out}");
    assert!(out.contains("\n  \"interval\": 7,\n  \"source\": \"synthetic\",\n"));
    assert!(out.contains("\"name\": \"synthetic-002\""));
    assert!(!out.contains("\"seq\""), "--once does not use a seq");
    assert!(out.ends_with("}\n"));
}

#[test]
fn xenstat_outside_dom0_fails_with_one_clear_line() {
    if Path::new("/dev/xen/privcmd").exists() || Path::new("/proc/xen/privcmd").exists() {
        return; // a real dom0: the source opens
    }
    let (code, out, err) = run_poller(&["--once", "--source", "xenstat"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("zentific-poller: cannot open source xenstat: "),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run_poller(&["--interval", "0", "--once"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "zentific-poller: interval must be a whole number from 1 to 86400, not `0`\n"
    );
    let (code, _, err) = run_poller(&["--source", "synthetic:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("no server given"), "{err}");
    let (code, out, _) = run_poller(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage:") && out.contains("stunnel"));
}

#[test]
fn config_file_settings_and_command_line_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("poller.conf");
    fs::write(&conf, "# test\nsource = synthetic:1\ninterval = 3\n").unwrap();
    let conf = conf.to_str().unwrap();
    let (code, out, err) = run_poller(&["--config", conf, "--once"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"interval\": 3,") && out.contains("synthetic-001"));
    let (code, out, _) = run_poller(&["--config", conf, "--once", "--interval", "4"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"interval\": 4,"));
    fs::write(dir.path().join("bad.conf"), "interval = 3\nsever = x\n").unwrap();
    let bad = dir.path().join("bad.conf");
    let (code, _, err) = run_poller(&["--config", bad.to_str().unwrap(), "--once"]);
    assert_eq!(code, 2);
    assert!(err.contains("line 2: unknown setting `sever`"), "{err}");
}

#[cfg(feature = "libvirt")]
#[test]
fn libvirt_test_driver_once() {
    let (code, out, err) = run_poller(&["--once", "--source", "libvirt:test:///default"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"source\": \"libvirt\""), "{out}");
    assert!(out.contains("\"name\": \"test\""), "{out}");
    assert!(out.contains("\"hypervisor\": \"libvirt-"), "{out}");
}
