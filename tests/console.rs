//! VM consoles through the server, against a real VNC server: x11vnc on Xvfb, its root
//! window painted a known colour, named by the `<graphics>` of a domain on libvirt's test
//! driver. `vm.console`'s refusals; the proxy's refusals before the upgrade (HTTP 403);
//! the RFB handshake through it; and in Chromium (`frontend/tests/console.e2e.mjs`) the
//! noVNC canvas showing the colour while Ctrl-Alt-Del and pasted text arrive at the X
//! display as key events, which `xev` on its root window reports. Over the SSH transport
//! (a real sshd with the `xl` stand-in, whose `console` echoes what it reads): the text
//! console on a terminal, in xterm.js too, and VNC forwarded through the SSH master.

mod common;
#[path = "../scheduler/tests/support/sshd.rs"]
#[allow(dead_code)]
mod sshd;
#[path = "../src/vnc_display.rs"]
mod vnc_display;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use vnc_display::VncDisplay;

/// The colour the test display is painted, and the RGB the canvas must show.
const COLOUR: &str = "#3a7a2b";

/// A real X display with a VNC server on it (the demo's own, `src/vnc_display.rs`) and
/// `xev` watching its keyboard.
struct Display {
    _vnc: VncDisplay,
    xev: Child,
    port: u16,
    xev_log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.xev.kill();
        let _ = self.xev.wait();
    }
}

impl Display {
    fn start() -> Display {
        for program in ["Xvfb", "x11vnc", "xsetroot", "xev"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(
                found.success(),
                "{program} is not installed: run scripts/deps.sh"
            );
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let first = 300 + (std::process::id() % 50) * 4 + NEXT.fetch_add(1, Ordering::SeqCst);
        let vnc = VncDisplay::start(first, "800x600", COLOUR).expect("a VNC display");
        let dir = tempfile::tempdir().unwrap();
        let xev_log = dir.path().join("xev.log");
        let xev = Command::new("xev")
            .args(["-root", "-display", &vnc.display, "-event", "keyboard"])
            .stdout(std::fs::File::create(&xev_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Display {
            port: vnc.port,
            _vnc: vnc,
            xev,
            xev_log,
            _dir: dir,
        }
    }
}

/// A test-driver node file: `screen` runs with VNC on `port`, `headless` runs without
/// graphics, `off` is stopped.
fn node_file(dir: &Path, port: u16) -> String {
    let domain = |name: &str, uuid: &str, state: u8, devices: &str| {
        format!(
            "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>{name}</name><uuid>{uuid}</uuid>\
             <memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os>{devices}<test:runstate>{state}</test:runstate></domain>"
        )
    };
    let xml = format!(
        "<node><cpu><mhz>2000</mhz><model>i686</model><active>2</active><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads></cpu><memory>4194304</memory>{}{}{}</node>",
        domain(
            "screen",
            "aaaaaaaa-0000-4000-8000-000000000001",
            1,
            &format!(
                "<devices><graphics type='vnc' port='{port}' autoport='no' listen='127.0.0.1'/></devices>"
            )
        ),
        domain("headless", "aaaaaaaa-0000-4000-8000-000000000002", 1, ""),
        domain("off", "aaaaaaaa-0000-4000-8000-000000000003", 5, ""),
    );
    let file = dir.join("console-node.xml");
    std::fs::write(&file, xml).unwrap();
    format!("test://{}", file.display())
}

/// Open a websocket at `path` with `origin`: the stream once upgraded, or the HTTP status
/// of the refusal.
fn websocket(server: &Server, path: &str, origin: Option<&str>) -> Result<TcpStream, u16> {
    let host = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/RPC2")
        .to_string();
    let mut stream = TcpStream::connect(&host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
    );
    if let Some(origin) = origin {
        request.push_str(&format!("Origin: {origin}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the answer ended early");
        received.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&received);
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    if status != 101 {
        return Err(status);
    }
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-protocol: binary"),
        "{head}"
    );
    Ok(stream)
}

/// The next binary message's payload.
fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 0x82, "a final binary frame");
    let length = match header[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            stream.read_exact(&mut n).unwrap();
            usize::from(u16::from_be_bytes(n))
        }
        127 => panic!("an unexpectedly large message"),
        n => usize::from(n),
    };
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).unwrap();
    payload
}

/// Send a binary message (masked, as clients must).
fn send_message(stream: &mut TcpStream, payload: &[u8]) {
    assert!(payload.len() < 126);
    let mask = [0x1f, 0x2e, 0x3d, 0x4c];
    let mut frame = vec![0x82, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).unwrap();
}

/// Read until the server closes the websocket: its close code and reason.
fn until_closed(stream: &mut TcpStream) -> (u16, String) {
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).unwrap();
        let length = match header[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                stream.read_exact(&mut n).unwrap();
                usize::from(u16::from_be_bytes(n))
            }
            n => usize::from(n),
        };
        let mut payload = vec![0u8; length];
        stream.read_exact(&mut payload).unwrap();
        if header[0] & 0x0f == 8 {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
        }
    }
}

/// The status of a websocket opening (101 when upgraded).
fn opening(server: &Server, path: &str, origin: Option<&str>) -> u16 {
    websocket(server, path, origin).map_or_else(|status| status, |_| 101)
}

fn ticket(server: &Server, token: &str, vm: i32) -> (String, String) {
    ticket_of(server, token, vm, "vnc")
}

fn ticket_of(server: &Server, token: &str, vm: i32, kind: &str) -> (String, String) {
    let answer = server
        .call("vm.console", vec![s(token), i(vm), s(kind)])
        .unwrap();
    let text = |name| match member(&answer, name) {
        dxr::Value::String(v) => v.clone(),
        other => panic!("{name} is {other:?}"),
    };
    assert_eq!(text("kind"), kind);
    (text("path"), text("ticket"))
}

/// The server's own origin, as its pages send it.
fn own_origin(server: &Server) -> String {
    server.url.trim_end_matches("/RPC2").to_string()
}

fn with_ticket(path: &str, ticket: &str) -> String {
    format!("{path}?ticket={ticket}")
}

/// A server with a node on libvirt's test driver whose domain `screen` has the VNC
/// server of a real display.
struct Lab {
    server: Server,
    admin: String,
    display: Display,
    _dir: tempfile::TempDir,
}

impl Lab {
    fn start() -> Lab {
        let display = Display::start();
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
        let admin = server.admin();
        let uri = node_file(dir.path(), display.port);
        node_on(&server, &admin, "lab", "libvirt", &uri);
        Lab {
            server,
            admin,
            display,
            _dir: dir,
        }
    }
}

#[test]
fn consoles_are_refused_unless_asked_for_rightly_and_relay_a_real_vnc_server() {
    // Bound by name, not `..`: the node's file must outlive the test.
    let Lab {
        server,
        admin,
        display: _display,
        _dir,
    } = Lab::start();
    let database = server.database.clone();
    let screen = vm_named(&server, &admin, "screen");
    let headless = vm_named(&server, &admin, "headless");
    let off = vm_named(&server, &admin, "off");
    let origin = own_origin(&server);

    // vm.console: the permission, the state, a console the transport can reach.
    let (viewer_id, viewer) = user(&server, &admin, "viewer", "user");
    server
        .call(
            "user.grant",
            vec![s(&admin), i(viewer_id), i(screen), arr(vec![s("view")])],
        )
        .unwrap();
    let (_, stranger) = user(&server, &admin, "stranger", "user");
    assert_eq!(
        code(server.call("vm.console", vec![s(&viewer), i(screen)])),
        2,
        "view only"
    );
    assert_eq!(
        code(server.call("vm.console", vec![s(&stranger), i(screen)])),
        3,
        "another user's VM"
    );
    assert_eq!(
        code(server.call("vm.console", vec![s(&admin), i(off)])),
        5,
        "a stopped VM"
    );
    let no_graphics = server
        .call("vm.console", vec![s(&admin), i(headless)])
        .unwrap_err();
    assert_eq!(no_graphics.code(), 7);
    assert!(
        no_graphics.string().contains("no VNC graphics"),
        "{}",
        no_graphics.string()
    );
    assert_eq!(
        code(server.call("vm.console", vec![s(&admin), i(screen), s("serial")])),
        4,
        "an unknown kind"
    );

    // Through the proxy: the RFB handshake of the real x11vnc, once per ticket.
    let (path, live) = ticket(&server, &admin, screen);
    assert_eq!(path, format!("/console/{screen}/vnc"));
    let mut console = websocket(&server, &with_ticket(&path, &live), Some(&origin)).unwrap();
    assert_eq!(
        read_message(&mut console),
        b"RFB 003.008\n",
        "the VNC server's version message, relayed"
    );
    drop(console);
    assert_eq!(
        opening(&server, &with_ticket(&path, &live), Some(&origin)),
        403,
        "a used ticket"
    );

    // Refused before the upgrade.
    assert_eq!(opening(&server, &path, Some(&origin)), 403, "no ticket");
    assert_eq!(
        opening(
            &server,
            &with_ticket(&path, &"ab".repeat(32)),
            Some(&origin)
        ),
        403,
        "a forged ticket"
    );
    assert_eq!(
        opening(&server, &with_ticket(&path, "not-hex"), Some(&origin)),
        403,
        "a malformed ticket"
    );
    let (_, foreign) = ticket(&server, &admin, screen);
    assert_eq!(
        opening(
            &server,
            &with_ticket(&path, &foreign),
            Some("http://evil.example")
        ),
        403,
        "a foreign Origin"
    );
    assert_eq!(
        opening(&server, &with_ticket(&path, &foreign), None),
        403,
        "no Origin"
    );
    assert_eq!(
        opening(
            &server,
            &with_ticket(&format!("/console/{headless}/vnc"), &foreign),
            Some(&origin)
        ),
        403,
        "a ticket for another VM"
    );
    // An expired ticket: its time moved into the past in the database itself.
    let (_, expired) = ticket(&server, &admin, screen);
    let file = database.trim_start_matches("sqlite://");
    let moved = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE console_tickets SET expires_at = 0 WHERE used_at IS NULL'); c.commit()", file])
        .status()
        .unwrap();
    assert!(moved.success());
    assert_eq!(
        opening(&server, &with_ticket(&path, &expired), Some(&origin)),
        403,
        "an expired ticket"
    );
    // A ticket of a session that ended.
    let (_, operator_session) = user(&server, &admin, "oper", "operator");
    let (_, orphan) = ticket(&server, &operator_session, screen);
    server
        .call("session.logout", vec![s(&operator_session)])
        .unwrap();
    assert_eq!(
        opening(&server, &with_ticket(&path, &orphan), Some(&origin)),
        403,
        "a session that ended"
    );

    // Each console session is audited, with its bytes (the close line follows the close).
    wait_until(
        Duration::from_secs(10),
        "the console session in the VM's log",
        || {
            let text = format!(
                "{:?}",
                server.call("vm.log", vec![s(&admin), i(screen)]).unwrap()
            );
            ["console.open", "console.close", "bytes to the VM"]
                .iter()
                .all(|word| text.contains(word))
                .then_some(())
        },
    );
}

#[test]
fn an_open_console_closes_when_its_session_ends_and_when_it_is_idle() {
    let Lab {
        server,
        admin,
        display: _display,
        _dir,
    } = Lab::start();
    let screen = vm_named(&server, &admin, "screen");
    let origin = own_origin(&server);
    server
        .call(
            "config.set",
            vec![s(&admin), st(&[("console_idle_secs", i(10))])],
        )
        .unwrap();
    let (_, operator) = user(&server, &admin, "oper", "operator");
    let (path, first) = ticket(&server, &operator, screen);
    let mut theirs = websocket(&server, &with_ticket(&path, &first), Some(&origin)).unwrap();
    let (path, second) = ticket(&server, &admin, screen);
    let mut idle = websocket(&server, &with_ticket(&path, &second), Some(&origin)).unwrap();
    let opened = std::time::Instant::now();
    assert_eq!(read_message(&mut theirs), b"RFB 003.008\n");
    assert_eq!(read_message(&mut idle), b"RFB 003.008\n");

    // The operator's session ends: their console closes at the next check.
    server.call("session.logout", vec![s(&operator)]).unwrap();
    let (code, reason) = until_closed(&mut theirs);
    assert_eq!(code, 4000);
    assert!(reason.contains("session"), "{reason}");
    // The admin's console, silent after the VNC server's greeting, closes once idle.
    let (code, reason) = until_closed(&mut idle);
    assert_eq!(code, 4000);
    assert!(reason.contains("idle for 10 s"), "{reason}");
    assert!(opened.elapsed() >= Duration::from_secs(10));
    // The close line is written just after the close frame is sent.
    wait_until(
        Duration::from_secs(10),
        "the idle console's close in the VM's log",
        || {
            let log = format!(
                "{:?}",
                server.call("vm.log", vec![s(&admin), i(screen)]).unwrap()
            );
            log.contains("idle for 10 s (option console_idle_secs)")
                .then_some(())
        },
    );
}

#[test]
fn a_server_that_stops_closes_its_consoles_and_audits_them() {
    let Lab {
        server,
        admin,
        display: _display,
        _dir,
    } = Lab::start();
    let screen = vm_named(&server, &admin, "screen");
    let (path, live) = ticket(&server, &admin, screen);
    let mut console = websocket(
        &server,
        &with_ticket(&path, &live),
        Some(&own_origin(&server)),
    )
    .unwrap();
    assert_eq!(read_message(&mut console), b"RFB 003.008\n");
    let database = server.database.clone();
    let stopping = std::thread::spawn(move || server.stop());
    let (code, reason) = until_closed(&mut console);
    assert_eq!((code, reason.as_str()), (4000, "the server is stopping"));
    assert!(stopping.join().unwrap(), "the server stopped cleanly");
    // Started again on the same database: the console's close is in the VM's log.
    let again = Server::start(&database, &[]);
    let admin = again.admin();
    let log = format!(
        "{:?}",
        again.call("vm.log", vec![s(&admin), i(screen)]).unwrap()
    );
    assert!(log.contains("(the server is stopping)"), "{log}");
}

#[test]
fn without_xvfb_or_x11vnc_the_demo_says_which_package_is_missing() {
    let empty = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        "127.0.0.1:0",
        &fresh_sqlite_database(),
        &["--demo"],
        &[("PATH", &empty.path().to_string_lossy())],
    );
    let admin = server.admin();
    let web = vm_named(&server, &admin, "web");
    let missing = server
        .call("vm.console", vec![s(&admin), i(web)])
        .unwrap_err();
    assert_eq!(missing.code(), 7);
    assert!(
        missing
            .string()
            .contains("xvfb and x11vnc and x11-xserver-utils"),
        "{}",
        missing.string()
    );
}

#[test]
fn over_ssh_the_text_console_is_xl_console_on_a_terminal_and_vnc_is_forwarded() {
    let display = Display::start();
    let node_host = sshd::TestSshd::start();
    node_host.seed_domains(&[("pv1", 7, "bbbbbbbb-0000-4000-8000-000000000001", 256, 1)]);
    node_host.set_vnc_port("pv1", display.port);
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(&server, &admin, "xen-01", "ssh", &node_host.node_uri());
    let vm = vm_named(&server, &admin, "pv1");
    let origin = own_origin(&server);

    // The text console: what is typed comes back from the guest (the stand-in echoes).
    let (path, text) = ticket_of(&server, &admin, vm, "text");
    assert_eq!(path, format!("/console/{vm}/text"));
    let mut console = websocket(&server, &with_ticket(&path, &text), Some(&origin)).unwrap();
    send_message(&mut console, b"hello from zentific\r");
    let mut echoed = Vec::new();
    while !echoed.ends_with(b"zentific\r") {
        echoed.extend(read_message(&mut console));
    }
    assert!(
        String::from_utf8_lossy(&echoed).contains("hello from zentific"),
        "{echoed:?}"
    );
    assert!(
        node_host
            .xl_calls()
            .contains(&vec!["console".to_string(), "pv1".to_string()])
    );
    drop(console);

    // The graphical console: xenstore's VNC port, forwarded through the node's SSH master.
    let (path, vnc) = ticket_of(&server, &admin, vm, "vnc");
    let mut console = websocket(&server, &with_ticket(&path, &vnc), Some(&origin)).unwrap();
    assert_eq!(read_message(&mut console), b"RFB 003.008\n");
    drop(console);

    // Without kind: the graphical console where there is one.
    let answer = server.call("vm.console", vec![s(&admin), i(vm)]).unwrap();
    assert_eq!(member(&answer, "kind"), &s("vnc"));
}

#[test]
fn on_xl_local_the_consoles_are_reached_on_this_machine() {
    let display = Display::start();
    let modules = modules_dir_with(&[built_module("zentific-module-xl-local", "xl_local")]);
    let work = tempfile::tempdir().unwrap();
    let (state, log) = (
        work.path().join("xl-state.json"),
        work.path().join("xl-calls.log"),
    );
    let domain = serde_json::json!({
        "domid": 9, "uuid": "cccccccc-0000-4000-8000-000000000001", "type": "pv",
        "memory_kb": 262_144, "max_memory_kb": 524_288, "vcpus": 1, "max_vcpus": 1,
        "pause_count": 0, "cpu_time": 1.5, "vnc_port": display.port,
    });
    let seeded = serde_json::json!({ "next_domid": 10, "domains": { "pv2": domain } });
    std::fs::write(&state, seeded.to_string()).unwrap();
    let fixtures = sshd::xl_stand_in().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        fixtures.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let server = Server::start_with_env(
        "127.0.0.1:0",
        &fresh_sqlite_database(),
        &["--modules-dir", &modules.path().to_string_lossy()],
        &[
            ("XL_STANDIN_STATE", &state.to_string_lossy()),
            ("XL_STANDIN_LOG", &log.to_string_lossy()),
            ("PATH", &path),
        ],
    );
    let admin = server.admin();
    server
        .call("module.enable", vec![s(&admin), s("xl_local")])
        .unwrap();
    let uri = format!(
        "xl-local:?xl={}&config_dir={}",
        sshd::xl_stand_in().display(),
        work.path().join("configs").display()
    );
    node_on(&server, &admin, "dom0", "xl-local", &uri);
    let vm = vm_named(&server, &admin, "pv2");
    let origin = own_origin(&server);

    // `xl console` on a terminal of this machine (script(1)): what is typed comes back.
    let (path, text) = ticket_of(&server, &admin, vm, "text");
    let mut console = websocket(&server, &with_ticket(&path, &text), Some(&origin)).unwrap();
    send_message(&mut console, b"typed on dom0\r");
    let mut echoed = Vec::new();
    while !String::from_utf8_lossy(&echoed).contains("typed on dom0") {
        echoed.extend(read_message(&mut console));
    }
    drop(console);
    // QEMU's VNC port from xenstore, connected to directly.
    let (path, vnc) = ticket_of(&server, &admin, vm, "vnc");
    let mut console = websocket(&server, &with_ticket(&path, &vnc), Some(&origin)).unwrap();
    assert_eq!(read_message(&mut console), b"RFB 003.008\n");
}

#[test]
fn on_xenapi_the_consoles_are_xapis_console_records_opened_with_connect() {
    let display = Display::start();
    let simulator = XapiSimulator::start(0);
    simulator.hook("sim.set_vnc_backend", vec![i(i32::from(display.port))]);
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(&server, &admin, "xcp", "xenapi", &simulator.node_uri());
    let (web, db) = (
        vm_named(&server, &admin, "web-1"),
        vm_named(&server, &admin, "db-1"),
    );
    let origin = own_origin(&server);
    let connects = || match member(&simulator.hook("sim.stats", vec![]), "console_connects") {
        dxr::Value::Integer(n) => *n,
        other => panic!("console_connects is {other:?}"),
    };

    // The PV guest's vt100 console: xapi's CONNECT with the session, then the guest.
    let (path, text) = ticket_of(&server, &admin, web, "text");
    let mut console = websocket(&server, &with_ticket(&path, &text), Some(&origin)).unwrap();
    let mut seen = Vec::new();
    while !seen.ends_with(b"web-1 login: ") {
        seen.extend(read_message(&mut console));
    }
    send_message(&mut console, b"root\r");
    let mut echoed = Vec::new();
    while !echoed.ends_with(b"root\r") {
        echoed.extend(read_message(&mut console));
    }
    drop(console);
    assert_eq!(connects(), 1);

    // Its rfb console, relayed by the simulator to a real VNC server.
    let (path, vnc) = ticket_of(&server, &admin, web, "vnc");
    let mut console = websocket(&server, &with_ticket(&path, &vnc), Some(&origin)).unwrap();
    assert_eq!(read_message(&mut console), b"RFB 003.008\n");
    drop(console);

    // A halted VM has no console records: fault 5 before anything reaches xapi.
    let refused = server
        .call("vm.console", vec![s(&admin), i(db), s("vnc")])
        .unwrap_err();
    assert_eq!(refused.code(), 5, "{}", refused.string());

    // A console xapi refuses at CONNECT (here: no VNC server behind it) closes with
    // xapi's answer as the reason.
    simulator.hook("sim.set_vnc_backend", vec![i(0)]);
    let (path, vnc) = ticket_of(&server, &admin, web, "vnc");
    let mut console = websocket(&server, &with_ticket(&path, &vnc), Some(&origin)).unwrap();
    let (code, reason) = until_closed(&mut console);
    assert_eq!(code, 4001, "{reason}");
    assert!(
        reason.contains("refused the console: HTTP/1.1 503"),
        "{reason}"
    );
    assert_eq!(connects(), 3);
}

#[test]
fn in_chromium_the_console_shows_the_screen_and_types_what_is_sent() {
    let frontend = Path::new(env!("CARGO_MANIFEST_DIR")).join("frontend");
    let Lab {
        server,
        admin,
        display,
        _dir,
    } = Lab::start();
    let node_host = sshd::TestSshd::start();
    node_host.seed_domains(&[("pv1", 7, "bbbbbbbb-0000-4000-8000-000000000001", 256, 1)]);
    node_on(&server, &admin, "xen-01", "ssh", &node_host.node_uri());
    let screen = vm_named(&server, &admin, "screen");
    let text_vm = vm_named(&server, &admin, "pv1");
    let status = Command::new("node")
        .current_dir(&frontend)
        .args(["--test", "tests/console.e2e.mjs"])
        .env("ZENTIFIC_URL", own_origin(&server))
        .env("ZENTIFIC_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CONSOLE_VM", screen.to_string())
        .env("CONSOLE_TEXT_VM", text_vm.to_string())
        .env("CONSOLE_COLOUR", COLOUR)
        .env("CONSOLE_XEV_LOG", &display.xev_log)
        .status()
        .expect("node: run scripts/deps.sh");
    assert!(
        status.success(),
        "the console's browser test failed (its output is above)"
    );
}
