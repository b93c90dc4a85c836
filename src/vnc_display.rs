//! A real graphical console without a VM: an Xvfb display painted one colour, served by
//! x11vnc on a loopback port. The demo gives each demo VM one (`demo.rs`); the console
//! tests start their own (`tests/console.rs` includes this file). Only the standard
//! library and libc, so both can.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running display and its VNC server; dropping it stops both.
pub struct VncDisplay {
    children: Vec<Child>,
    /// The X display, e.g. `:90`.
    pub display: String,
    /// The VNC server's port on 127.0.0.1.
    pub port: u16,
}

impl Drop for VncDisplay {
    fn drop(&mut self) {
        // SIGTERM, last started first, so that Xvfb removes its socket and lock file.
        for child in self.children.iter_mut().rev() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) on our own child, which has not been waited for yet.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let _ = child.wait();
        }
    }
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let started = Instant::now();
    while !ready() {
        if started.elapsed() > Duration::from_secs(10) {
            return Err(format!("{what} did not happen within 10 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Start `program`; it gets SIGTERM when the thread that started it ends, so a server
/// that is killed (not stopped) leaves no display behind.
fn spawn(program: &str, args: &[&str]) -> Result<Child, String> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl(2) only, between fork and exec; it touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().map_err(|e| format!("{program}: {e}"))
}

impl VncDisplay {
    /// Start a display of `size` (e.g. `1024x768`) on the first free display number from
    /// `first`, paint it `colour` and serve it. Xvfb runs with `-noreset`: it would
    /// otherwise repaint its root window when its last client (`xsetroot`) disconnects.
    pub fn start(first: u32, size: &str, colour: &str) -> Result<VncDisplay, String> {
        let number = (first..first + 200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .ok_or("no free X display number")?;
        let display = format!(":{number}");
        let mut started = VncDisplay {
            children: Vec::new(),
            display: display.clone(),
            port: 0,
        };
        let screen = format!("{size}x24");
        started.children.push(spawn(
            "Xvfb",
            &[
                &display,
                "-screen",
                "0",
                &screen,
                "-nolisten",
                "tcp",
                "-noreset",
            ],
        )?);
        let socket = format!("/tmp/.X11-unix/X{number}");
        wait_for(&format!("Xvfb {display} starting"), || {
            Path::new(&socket).exists()
        })?;
        let painted = Command::new("xsetroot")
            .args(["-display", &display, "-solid", colour])
            .status()
            .map_err(|e| format!("xsetroot: {e}"))?;
        if !painted.success() {
            return Err(format!("xsetroot could not paint {display}"));
        }
        started.port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let port = started.port.to_string();
        started.children.push(spawn(
            "x11vnc",
            &[
                "-display",
                &display,
                "-rfbport",
                &port,
                "-localhost",
                "-forever",
                "-shared",
                "-nopw",
                "-quiet",
                "-noxdamage",
            ],
        )?);
        wait_for(&format!("x11vnc listening on port {port}"), || {
            std::net::TcpStream::connect(("127.0.0.1", started.port)).is_ok()
        })?;
        Ok(started)
    }
}
