//! `zentific_module.h` says what the Rust definitions say: a C program built with the
//! header prints its constants, sizes and offsets, and they must equal Rust's.

use std::mem::{offset_of, size_of};
use std::process::Command;

use zentific_module_api::{Buffer, Bytes, CallerInfo, Descriptor, Status, layer};

const PROBE: &str = r#"
#include <stdio.h>
#include "zentific_module.h"
#define SHOW(x) printf(#x " %zu\n", (size_t)(x))
int main(void) {
    SHOW(ZENTIFIC_MODULE_ABI_VERSION);
    SHOW(ZENTIFIC_LAYER_FRONTEND); SHOW(ZENTIFIC_LAYER_XMLRPC);
    SHOW(ZENTIFIC_LAYER_SCHEDULER); SHOW(ZENTIFIC_LAYER_POLLER);
    SHOW(ZENTIFIC_OK); SHOW(ZENTIFIC_FAULT); SHOW(ZENTIFIC_PANICKED); SHOW(ZENTIFIC_BAD_INPUT);
    SHOW(sizeof(zentific_bytes)); SHOW(sizeof(zentific_buffer)); SHOW(sizeof(zentific_caller));
    SHOW(sizeof(zentific_descriptor));
    SHOW(offsetof(zentific_buffer, cap)); SHOW(offsetof(zentific_caller, role));
    SHOW(offsetof(zentific_descriptor, name)); SHOW(offsetof(zentific_descriptor, version));
    SHOW(offsetof(zentific_descriptor, description)); SHOW(offsetof(zentific_descriptor, layers));
    SHOW(offsetof(zentific_descriptor, config_schema)); SHOW(offsetof(zentific_descriptor, methods));
    SHOW(offsetof(zentific_descriptor, create)); SHOW(offsetof(zentific_descriptor, call));
    SHOW(offsetof(zentific_descriptor, free)); SHOW(offsetof(zentific_descriptor, destroy));
    SHOW(offsetof(zentific_descriptor, provides)); SHOW(ZENTIFIC_DESCRIPTOR_MIN_SIZE);
    return 0;
}
"#;

#[test]
fn the_c_header_matches_the_rust_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("probe.c");
    let binary = dir.path().join("probe");
    std::fs::write(&source, PROBE).unwrap();
    let built = Command::new("cc")
        .arg("-std=c99")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .expect("a C compiler (cc)");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let out = Command::new(&binary).output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let expected = [
        (
            "ZENTIFIC_MODULE_ABI_VERSION",
            zentific_module_api::ABI_VERSION as usize,
        ),
        ("ZENTIFIC_LAYER_FRONTEND", layer::FRONTEND as usize),
        ("ZENTIFIC_LAYER_XMLRPC", layer::XMLRPC as usize),
        ("ZENTIFIC_LAYER_SCHEDULER", layer::SCHEDULER as usize),
        ("ZENTIFIC_LAYER_POLLER", layer::POLLER as usize),
        ("ZENTIFIC_OK", Status::Ok as usize),
        ("ZENTIFIC_FAULT", Status::Fault as usize),
        ("ZENTIFIC_PANICKED", Status::Panicked as usize),
        ("ZENTIFIC_BAD_INPUT", Status::BadInput as usize),
        ("sizeof(zentific_bytes)", size_of::<Bytes>()),
        ("sizeof(zentific_buffer)", size_of::<Buffer>()),
        ("sizeof(zentific_caller)", size_of::<CallerInfo>()),
        ("sizeof(zentific_descriptor)", size_of::<Descriptor>()),
        ("offsetof(zentific_buffer, cap)", offset_of!(Buffer, cap)),
        (
            "offsetof(zentific_caller, role)",
            offset_of!(CallerInfo, role),
        ),
        (
            "offsetof(zentific_descriptor, name)",
            offset_of!(Descriptor, name),
        ),
        (
            "offsetof(zentific_descriptor, version)",
            offset_of!(Descriptor, version),
        ),
        (
            "offsetof(zentific_descriptor, description)",
            offset_of!(Descriptor, description),
        ),
        (
            "offsetof(zentific_descriptor, layers)",
            offset_of!(Descriptor, layers),
        ),
        (
            "offsetof(zentific_descriptor, config_schema)",
            offset_of!(Descriptor, config_schema),
        ),
        (
            "offsetof(zentific_descriptor, methods)",
            offset_of!(Descriptor, methods),
        ),
        (
            "offsetof(zentific_descriptor, create)",
            offset_of!(Descriptor, create),
        ),
        (
            "offsetof(zentific_descriptor, call)",
            offset_of!(Descriptor, call),
        ),
        (
            "offsetof(zentific_descriptor, free)",
            offset_of!(Descriptor, free),
        ),
        (
            "offsetof(zentific_descriptor, destroy)",
            offset_of!(Descriptor, destroy),
        ),
        (
            "offsetof(zentific_descriptor, provides)",
            offset_of!(Descriptor, provides),
        ),
        (
            "ZENTIFIC_DESCRIPTOR_MIN_SIZE",
            zentific_module_api::DESCRIPTOR_MIN_SIZE,
        ),
    ];
    for (what, rust) in expected {
        let c: usize = printed
            .lines()
            .find_map(|line| line.strip_prefix(what)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{what} missing from:\n{printed}"));
        assert_eq!(c, rust, "{what}: C says {c}, Rust says {rust}");
    }
}
