//! Checks that the page's npm packages are installed (`scripts/deps.sh` runs `npm ci` in
//! `frontend/`) and says how to get them if not; then minifies the page's own modules
//! with esbuild, file by file (no bundling: they stay the same ES modules, imports and
//! all), into `$OUT_DIR/web`, which `src/lib.rs` embeds beside the readable sources.

use std::path::{Path, PathBuf};

/// The files of `node_modules/` the page loads; `src/lib.rs` embeds them.
const VENDOR: &[&str] = &[
    "preact/dist/preact.mjs",
    "preact/hooks/dist/hooks.mjs",
    "htm/dist/htm.module.js",
    "uplot/dist/uPlot.esm.js",
    "uplot/dist/uPlot.min.css",
    "@novnc/novnc/core/rfb.js",
    "@novnc/novnc/vendor/pako/lib/zlib/inflate.js",
    "@xterm/xterm/lib/xterm.mjs",
    "@xterm/xterm/css/xterm.css",
];

/// The minifier, from `package.json`'s devDependencies.
const ESBUILD: &str = "node_modules/.bin/esbuild";

fn main() {
    println!("cargo:rerun-if-changed=web");
    println!("cargo:rerun-if-changed=node_modules/.package-lock.json");
    println!("cargo:rerun-if-changed=package-lock.json");
    let missing: Vec<&str> = VENDOR
        .iter()
        .copied()
        .chain(std::iter::once(ESBUILD.trim_start_matches("node_modules/")))
        .filter(|file| !Path::new("node_modules").join(file).is_file())
        .collect();
    if !missing.is_empty() {
        panic!(
            "\n\nThe web page's npm packages are not installed (missing frontend/node_modules/{}).\n\
             Run scripts/deps.sh (it runs `npm ci` in frontend/), then build again.\n\n",
            missing.join(", frontend/node_modules/")
        );
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("web");
    let _ = std::fs::remove_dir_all(&out);
    let mut modules = Vec::new();
    collect_modules(Path::new("web"), &mut modules);
    let status = std::process::Command::new(ESBUILD)
        .args([
            "--minify",
            "--format=esm",
            "--target=es2022",
            "--log-level=warning",
            "--outbase=web",
            // Keep `with { type: "json" }` on the catalogue's imports: browsers need it.
            "--supported:import-attributes=true",
        ])
        .arg(format!("--outdir={}", out.display()))
        .args(&modules)
        .status()
        .expect("run esbuild (frontend/node_modules/.bin/esbuild): run scripts/deps.sh");
    assert!(
        status.success(),
        "esbuild could not minify the page's modules (its messages are above)"
    );
}

/// Every `.js` file under `dir`.
fn collect_modules(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("frontend/web") {
        let path = entry.expect("frontend/web entry").path();
        if path.is_dir() {
            collect_modules(&path, found);
        } else if path.extension().is_some_and(|e| e == "js") {
            found.push(path);
        }
    }
}
