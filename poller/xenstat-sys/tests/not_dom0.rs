//! Outside a Xen dom0, opening libxenstat fails with `NotDom0` and a readable reason,
//! without a crash or a panic. This calls the real libxenstat (no mocks), so it also proves
//! that the crate links against it and that the failure path is clean.

use xenstat_sys::{Xenstat, XenstatError};

/// A dom0 lists `control_d` in its Xen capabilities; everything else (bare metal, a domU,
/// a container) cannot open libxenstat.
fn is_dom0() -> bool {
    std::fs::read_to_string("/proc/xen/capabilities").is_ok_and(|caps| caps.contains("control_d"))
}

#[test]
fn open_outside_dom0_is_a_not_dom0_error_with_a_reason() {
    if is_dom0() {
        eprintln!("this machine is a Xen dom0: nothing to check here (tests/dom0.rs covers it)");
        return;
    }
    let error = Xenstat::open().expect_err("xenstat_init succeeded outside a dom0");
    let XenstatError::NotDom0 { reason } = &error else {
        panic!("expected NotDom0, got {error:?}");
    };
    // The errno text, with its number.
    assert!(
        reason.contains("(os error "),
        "reason without an OS error: {reason:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("cannot open libxenstat (not a Xen dom0, or not privileged): "),
        "{message}"
    );
    assert!(message.ends_with(reason.as_str()), "{message}");
    // Usable as a boxed error by callers.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error.clone());
    assert_eq!(boxed.to_string(), message);
    eprintln!("as a user sees it: {message}");
}

#[test]
fn open_fails_the_same_way_every_time() {
    if is_dom0() {
        return;
    }
    // libxenstat frees everything it opened on the failure path: repeating it must not
    // crash or change the outcome.
    let first = Xenstat::open().expect_err("xenstat_init succeeded outside a dom0");
    for _ in 0..5 {
        assert_eq!(Xenstat::open().expect_err("xenstat_init succeeded"), first);
    }
}
