//! Concise log lines on stderr: `LEVEL: message`, prefixed with the UTC time unless stderr
//! goes to the systemd journal (which stamps lines itself; `JOURNAL_STREAM` tells). Under
//! the journal the level is also given as a `<N>` syslog prefix so `journalctl -p` works.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::encode::civil_utc;

/// How serious a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something worth knowing happened.
    Info,
    /// Data was dropped or the backend misbehaves; the poller goes on.
    Warning,
    /// The poller cannot do its job as configured.
    Error,
}

fn under_journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some())
}

/// Writes one line.
pub fn line(level: Level, message: std::fmt::Arguments<'_>) {
    let (syslog, word) = match level {
        Level::Info => ("<6>", "info"),
        Level::Warning => ("<4>", "warning"),
        Level::Error => ("<3>", "error"),
    };
    let text = if under_journal() {
        format!("{syslog}{word}: {message}\n")
    } else {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (y, mo, d, h, mi, s) = civil_utc(secs);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z {word}: {message}\n")
    };
    // One write per line, so lines from a dying process are never interleaved halves.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Logs at [`Level::Info`].
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::line($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// Logs at [`Level::Warning`].
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::line($crate::log::Level::Warning, format_args!($($arg)*)) };
}

/// Logs at [`Level::Error`].
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::line($crate::log::Level::Error, format_args!($($arg)*)) };
}
