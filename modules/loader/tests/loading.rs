//! The loader against real shared libraries built at test time with the C compiler from
//! `fixtures/echo.c`: one good module and one wrong on purpose for each refusal.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use zentific_module_api::CallerInfo;
use zentific_module_api::dxr::Value;
use zentific_modules::{CallError, Layer, scan};

/// Build `fixtures/echo.c` with `defines` into `dir` as the module file for `name`.
fn build(dir: &Path, name: &str, defines: &[&str]) -> PathBuf {
    zentific_test_support::build_c_module(dir, name, defines)
}

fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn user() -> CallerInfo {
    CallerInfo {
        user_id: 7,
        role: 1,
    }
}

#[test]
fn a_good_module_loads_and_answers_calls() {
    let dir = private_dir();
    build(dir.path(), "echo", &[]);
    let (loaded, refused) = scan(dir.path(), &[]);
    assert!(refused.is_empty(), "{refused:?}");
    let module = &loaded[0];
    assert_eq!(module.name, "echo");
    assert_eq!(module.version, "1.0");
    assert_eq!(module.layers, [Layer::Xmlrpc]);
    assert_eq!(module.methods[0]["name"], "say");
    let instance = module.instantiate("{}").unwrap();
    let answer = instance
        .call(user(), "say", &[Value::String("hello <&> world".into())])
        .unwrap();
    assert_eq!(answer, Value::String("hello <&> world".into()));
    let double = instance.call(user(), "say", &[Value::Double(2.5)]).unwrap();
    assert_eq!(double, Value::Double(2.5));
    // Every type crosses the boundary as it is, nil included.
    for value in [
        Value::Nil,
        Value::Base64(vec![0, 255, 10]),
        Value::Long(1 << 40),
        Value::DateTime("20261201T12:30:00".parse().unwrap()),
    ] {
        assert_eq!(
            instance
                .call(user(), "say", std::slice::from_ref(&value))
                .unwrap(),
            value
        );
    }
    assert_eq!(
        instance.call(user(), "shout", &[]),
        Err(CallError::Fault {
            code: -32601,
            message: "no such method".into()
        })
    );
    // Scanning again does not open a file already loaded.
    let (again, refused) = scan(dir.path(), std::slice::from_ref(&module.path));
    assert!(again.is_empty() && refused.is_empty());
}

#[test]
fn modules_wrong_on_purpose_are_refused_with_a_reason() {
    let dir = private_dir();
    build(dir.path(), "oldabi", &["ABI=7"]);
    build(dir.path(), "nosymbol", &["NO_VERSION_SYMBOL"]);
    build(dir.path(), "short", &["SHORT_DESCRIPTOR"]);
    build(dir.path(), "layers", &["UNKNOWN_LAYER"]);
    build(
        dir.path(),
        "takessh",
        &[r#"PROVIDES="{\"transports\": [{\"name\": \"ssh\", \"kind\": \"xl\"}]}""#],
    );
    let renamed = build(dir.path(), "impostor", &[]);
    // Its descriptor says "impostor", but a copy named otherwise is refused.
    std::fs::copy(&renamed, dir.path().join("libzentific_module_other.so")).unwrap();
    std::fs::remove_file(&renamed).unwrap();
    std::fs::write(
        dir.path().join("libzentific_module_garbage.so"),
        b"not an ELF file",
    )
    .unwrap();
    std::fs::set_permissions(
        dir.path().join("libzentific_module_garbage.so"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let writable = build(dir.path(), "writable", &[]);
    std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o775)).unwrap();
    std::fs::write(dir.path().join("README.txt"), b"not a module name").unwrap();

    let (loaded, refused) = scan(dir.path(), &[]);
    assert!(loaded.is_empty(), "{loaded:?}");
    let reason = |name: &str| {
        refused
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.reason.clone())
            .unwrap_or_else(|| panic!("{name} not refused: {refused:?}"))
    };
    assert!(
        reason("oldabi").contains("ABI version 7"),
        "{}",
        reason("oldabi")
    );
    assert!(reason("nosymbol").contains("zentific_module_abi_version"));
    assert!(reason("short").contains("descriptor is 16 bytes"));
    assert!(reason("layers").contains("layers"));
    assert!(
        reason("other").contains("calls itself \"impostor\", but its file says \"other\""),
        "{}",
        reason("other")
    );
    assert!(reason("garbage").contains("cannot load"));
    assert!(reason("writable").contains("writable by group or others"));
    // Transports need the scheduler layer (the fixture declares XML-RPC only).
    assert!(
        reason("takessh").contains("provides transports but does not declare the scheduler layer"),
        "{}",
        reason("takessh")
    );
    assert_eq!(refused.len(), 8, "{refused:?}");
}

#[test]
fn a_module_built_before_the_last_appended_field_loads_and_its_declarations_are_read() {
    let dir = private_dir();
    build(dir.path(), "older", &["MIN_DESCRIPTOR"]);
    build(
        dir.path(),
        "newer",
        &[r#"PROVIDES="{\"collectors\": [], \"pages\": [], \"later\": {}}""#],
    );
    let (loaded, refused) = scan(dir.path(), &[]);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(loaded.len(), 2);
    for module in &loaded {
        assert_eq!(module.provides, zentific_modules::Provides::default());
        let instance = module.instantiate("{}").unwrap();
        assert_eq!(
            instance.call(user(), "say", &[Value::Integer(3)]).unwrap(),
            Value::Integer(3)
        );
    }
}

#[test]
fn a_group_writable_directory_refuses_every_module_in_it() {
    let dir = private_dir();
    build(dir.path(), "echo", &[]);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let (loaded, refused) = scan(dir.path(), &[]);
    assert!(loaded.is_empty());
    assert!(
        refused[0].reason.contains("the modules directory"),
        "{refused:?}"
    );
}

#[test]
fn failures_inside_a_module_come_back_as_errors() {
    let dir = private_dir();
    build(dir.path(), "nocreate", &["CREATE_FAILS"]);
    build(dir.path(), "malformed", &["MALFORMED"]);
    build(dir.path(), "panics", &["PANICS"]);
    let (loaded, refused) = scan(dir.path(), &[]);
    assert!(refused.is_empty(), "{refused:?}");
    let module = |name: &str| loaded.iter().find(|m| m.name == name).unwrap();
    let refusal = module("nocreate").instantiate("{}").unwrap_err();
    assert!(refusal.contains("no database to talk to"), "{refusal}");
    let malformed = module("malformed").instantiate("{}").unwrap();
    assert!(matches!(
        malformed.call(user(), "say", &[]),
        Err(CallError::Malformed { .. })
    ));
    let panics = module("panics").instantiate("{}").unwrap();
    assert_eq!(
        panics.call(user(), "say", &[]),
        Err(CallError::Panicked {
            module: "panics".into(),
            message: "index out of bounds".into()
        })
    );
}
