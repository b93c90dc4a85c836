//! Helpers shared by the test suites of every Zentific crate (a dev-dependency only).
//!
//! Tests wait on the condition they need — a row stored, a process gone, a file
//! written — instead of sleeping a fixed time that is too long on a fast machine and too
//! short on a loaded one.

use std::time::{Duration, Instant};

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(20);

/// Check `check` every 20 ms until it returns `Some`, for at most `limit`; `None` when
/// the time ran out (for callers that want to say more on failure).
pub fn try_wait_until<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Like [`try_wait_until`], but panics naming `what` when the time runs out.
pub fn wait_until<T>(limit: Duration, what: &str, check: impl FnMut() -> Option<T>) -> T {
    try_wait_until(limit, check)
        .unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}

/// Build the C module fixture (`modules/loader/tests/fixtures/echo.c`) with `defines`
/// (see its header for the switches) into `dir` as the module file for `name`, mode 755.
pub fn build_c_module(dir: &std::path::Path, name: &str, defines: &[&str]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = dir.join(format!("libzentific_module_{name}.so"));
    let mut cc = std::process::Command::new("cc");
    cc.args(["-shared", "-fPIC", "-std=c99", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg("-I")
        .arg(root.join("modules/api"))
        .arg(root.join("modules/loader/tests/fixtures/echo.c"))
        .arg(format!("-DNAME=\"{name}\""));
    for define in defines {
        cc.arg(format!("-D{define}"));
    }
    let built = cc.output().expect("a C compiler (cc)");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_value_and_gives_up_in_time() {
        let mut calls = 0;
        let value = wait_until(Duration::from_secs(5), "the third call", || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(value, 3);
        let started = Instant::now();
        assert_eq!(
            try_wait_until(Duration::from_millis(100), || None::<()>),
            None
        );
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
}
