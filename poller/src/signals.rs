//! SIGTERM and SIGINT as a stop request the main loop can wait on.
//!
//! The handler only stores a flag and writes one byte to a pipe (both async-signal-safe);
//! [`StopSignal::wait`] sleeps in `poll(2)` on that pipe, so a signal ends the wait at once
//! and a signal that arrives just before the wait is not missed (the byte is still there).
//! A push in progress is not interrupted: the loop finishes or spools the current sample,
//! then returns.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local of one byte.
        // A full pipe (EAGAIN) is fine: a byte is already waiting.
        unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }
}

/// The installed handlers; one per process.
pub struct StopSignal {
    read_fd: libc::c_int,
}

impl StopSignal {
    /// Installs handlers for SIGTERM and SIGINT.
    pub fn install() -> io::Result<StopSignal> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        WAKE_FD.store(fds[1], Ordering::SeqCst);
        for signal in [libc::SIGTERM, libc::SIGINT] {
            // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; we set the
            // handler to a function with the signature sigaction expects for sa_handler.
            let installed = unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut())
            };
            if installed != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(StopSignal { read_fd: fds[0] })
    }

    /// Whether SIGTERM or SIGINT has arrived.
    pub fn requested(&self) -> bool {
        STOP.load(Ordering::SeqCst)
    }

    /// Sleeps until `deadline` or a stop request; returns true when asked to stop.
    pub fn wait(&self, deadline: Instant) -> bool {
        while !self.requested() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
            // Round up so the loop does not spin through the last partial millisecond.
            let ms = if Duration::from_millis(ms as u64) < left {
                ms + 1
            } else {
                ms
            };
            let mut pfd = libc::pollfd {
                fd: self.read_fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { libc::poll(&mut pfd, 1, ms) };
        }
        self.requested()
    }
}
