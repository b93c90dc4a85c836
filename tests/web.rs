//! The web page in a real browser: Debian's Chromium, driven by playwright-core, against a
//! real server with the demo node (libvirt's test driver, power actions really happen) and
//! the dom0health module in its modules directory. The scenarios are the node test files
//! in `frontend/tests/` (`*.test.mjs`); this test starts the server, runs them one file at
//! a time with Node's test runner, and fails when any of them fails.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn the_web_page_in_chromium() {
    let frontend = Path::new(env!("CARGO_MANIFEST_DIR")).join("frontend");
    assert!(
        frontend.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run scripts/deps.sh"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is not installed at {chromium}: run scripts/deps.sh"
    );
    let modules = modules_dir_with(&[built_module("zentific-module-dom0health", "dom0health")]);
    let server = Server::start_with_scheduler(
        &fresh_sqlite_database(),
        &["--demo", "--modules-dir", modules.path().to_str().unwrap()],
    );
    let base = server.url.trim_end_matches("/RPC2").to_string();
    let mut files: Vec<String> = std::fs::read_dir(frontend.join("tests"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("tests/{name}"))
        .collect();
    files.sort();
    // ZENTIFIC_WEB_TESTS=vms,shell runs only the files whose names start with those words.
    if let Ok(only) = std::env::var("ZENTIFIC_WEB_TESTS") {
        let wanted: Vec<&str> = only.split(',').collect();
        files.retain(|f| wanted.iter().any(|w| f.starts_with(&format!("tests/{w}"))));
    }
    assert!(!files.is_empty(), "no browser tests found");
    let status = Command::new("node")
        .current_dir(&frontend)
        .args(["--test", "--test-concurrency=1"])
        .args(&files)
        .env("ZENTIFIC_URL", &base)
        .env("ZENTIFIC_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CHROMIUM", &chromium)
        .status()
        .expect("node: run scripts/deps.sh");
    assert!(
        status.success(),
        "browser tests failed (their output is above)"
    );
}
