//! Checks that the page's third-party ES modules are installed (`scripts/deps.sh` runs
//! `npm ci` in `frontend/`) before they are embedded, and says how to get them if not.

/// The files of `node_modules/` the page loads; `src/lib.rs` embeds them.
const VENDOR: &[&str] = &[
    "preact/dist/preact.mjs",
    "preact/hooks/dist/hooks.mjs",
    "htm/dist/htm.module.js",
    "uplot/dist/uPlot.esm.js",
    "uplot/dist/uPlot.min.css",
];

fn main() {
    println!("cargo:rerun-if-changed=web");
    println!("cargo:rerun-if-changed=node_modules/.package-lock.json");
    println!("cargo:rerun-if-changed=package-lock.json");
    let missing: Vec<&str> = VENDOR
        .iter()
        .copied()
        .filter(|file| !std::path::Path::new("node_modules").join(file).is_file())
        .collect();
    if !missing.is_empty() {
        panic!(
            "\n\nThe web page's npm packages are not installed (missing frontend/node_modules/{}).\n\
             Run scripts/deps.sh (it runs `npm ci` in frontend/), then build again.\n\n",
            missing.join(", frontend/node_modules/")
        );
    }
}
