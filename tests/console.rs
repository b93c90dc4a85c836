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

#[test]
fn consoles_are_refused_unless_asked_for_rightly_and_relay_a_real_vnc_server() {
    let display = Display::start();
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_sqlite_database();
    let server = Server::start_with_scheduler(&database, &[]);
    let admin = server.admin();
    node_on(
        &server,
        &admin,
        "lab",
        "libvirt",
        &node_file(dir.path(), display.port),
    );
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

    // Each console session is audited, with its bytes.
    let log = server.call("vm.log", vec![s(&admin), i(screen)]).unwrap();
    let text = format!("{log:?}");
    assert!(text.contains("console.open"), "{text}");
    assert!(text.contains("console.close"), "{text}");
    assert!(text.contains("bytes to the VM"), "{text}");
    drop(display);
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
fn in_chromium_the_console_shows_the_screen_and_types_what_is_sent() {
    let frontend = Path::new(env!("CARGO_MANIFEST_DIR")).join("frontend");
    let display = Display::start();
    let dir = tempfile::tempdir().unwrap();
    let node_host = sshd::TestSshd::start();
    node_host.seed_domains(&[("pv1", 7, "bbbbbbbb-0000-4000-8000-000000000001", 256, 1)]);
    let server = Server::start_with_scheduler(&fresh_sqlite_database(), &[]);
    let admin = server.admin();
    node_on(
        &server,
        &admin,
        "lab",
        "libvirt",
        &node_file(dir.path(), display.port),
    );
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
