//! Turning what `xl` printed on a failure into a [`DispatchError`], keeping xl's own words.
//!
//! The phrases matched here were taken from Xen 4.17's `xl` in a real dom0:
//!
//! | xl prints | meaning | error |
//! |---|---|---|
//! | `web1 is an invalid domain identifier (rc=-6)` | no running domain of that name | [`DispatchError::NoSuchDomain`] |
//! | `Failed to read config file: /etc/xen/zentific/web1.cfg: No such file or directory` | `xl create` of a domain never defined on this node | [`DispatchError::NoSuchDomain`] |
//! | `libxl: error: …: Domain 2:Domain with name "web1" already exists.` | `xl create` of a running domain | [`DispatchError::WrongState`] |
//! | `libxl: error: …: Domain 1:Unpausing domain: Invalid argument` | `xl unpause` of a domain that is not paused | [`DispatchError::WrongState`] |
//! | anything else | e.g. `memory_dynamic_max must be less than or equal to memory_static_max` | [`DispatchError::Failed`] |
//!
//! `xl pause` and `xl unpause` exit 0 even when libxl fails (they ignore its result), so for
//! those two a `libxl: error:` line on stderr is the failure signal; see
//! [`reports_libxl_error`].

use crate::dispatch::DispatchError;

/// Lines xl prints on stderr on success too; they are left out of error messages.
const PROGRESS_PREFIXES: [&str; 3] = [
    "Parsing config from ",
    "Shutting down domain ",
    "Rebooting domain ",
];

/// Whether xl's stderr carries a libxl error report.
pub fn reports_libxl_error(stderr: &str) -> bool {
    stderr.lines().any(|line| line.starts_with("libxl: error:"))
}

/// The error for an xl command that failed with `stderr`.
pub fn classify_xl_failure(stderr: &str) -> DispatchError {
    let line_containing = |needle: &str| {
        stderr
            .lines()
            .find(|line| line.contains(needle))
            .map(|line| line.trim().to_owned())
    };
    if let Some(line) = line_containing("is an invalid domain identifier") {
        return DispatchError::NoSuchDomain(line);
    }
    if let Some(line) = line_containing("Failed to read config file")
        .filter(|line| line.ends_with("No such file or directory"))
    {
        return DispatchError::NoSuchDomain(line);
    }
    if let Some(line) = line_containing("already exists.") {
        return DispatchError::WrongState(line);
    }
    if let Some(line) = line_containing("Unpausing domain: Invalid argument") {
        return DispatchError::WrongState(line);
    }
    // Values Xen refuses: memory over the ceiling (or a ceiling under the memory), more
    // vCPUs than the domain booted with or the host has, a bridge or disk file the node
    // lacks, a guest device name already taken.
    for needle in [
        "must be less than or equal to memory_static_max",
        "memory_static_max must be greater than",
        "You are overcommmitting",
        "Requested 0 VCPUs",
        "max_vcpus",
        "Could not find bridge device",
        "failed to stat",
        "device already exists",
    ] {
        if line_containing(needle).is_some() {
            return DispatchError::Refused(error_text(stderr));
        }
    }
    DispatchError::Failed(error_text(stderr))
}

/// xl's stderr without progress lines and blank lines, one line per entry, trimmed.
fn error_text(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| {
            !PROGRESS_PREFIXES
                .iter()
                .any(|prefix| line.starts_with(prefix))
        })
        .collect();
    if lines.is_empty() {
        "xl failed without printing a reason".to_owned()
    } else {
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_domain_is_no_such_domain() {
        assert_eq!(
            classify_xl_failure("nosuch is an invalid domain identifier (rc=-6)\n"),
            DispatchError::NoSuchDomain("nosuch is an invalid domain identifier (rc=-6)".into())
        );
    }

    #[test]
    fn missing_config_is_no_such_domain() {
        assert_eq!(
            classify_xl_failure(
                "Failed to read config file: /etc/xen/zentific/web1.cfg: No such file or directory\n"
            ),
            DispatchError::NoSuchDomain(
                "Failed to read config file: /etc/xen/zentific/web1.cfg: No such file or directory"
                    .into()
            )
        );
    }

    #[test]
    fn creating_a_running_domain_is_wrong_state() {
        let stderr = "\
Parsing config from /etc/xen/domu1.cfg
libxl: error: libxl_domain.c:81:libxl__domain_rename: Domain 2:Domain with name \"domu1\" already exists.
libxl: error: libxl_create.c:1296:initiate_domain_create: Domain 2:cannot make domain: -6
libxl: error: libxl_domain.c:1183:libxl__destroy_domid: Domain 2:Non-existant domain
";
        assert_eq!(
            classify_xl_failure(stderr),
            DispatchError::WrongState(
                "libxl: error: libxl_domain.c:81:libxl__domain_rename: Domain 2:Domain with name \"domu1\" already exists."
                    .into()
            )
        );
    }

    #[test]
    fn unpausing_a_running_domain_is_wrong_state() {
        let stderr = "libxl: error: libxl_domain.c:688:domain_unpause_done: Domain 1:Unpausing domain: Invalid argument\n";
        assert!(reports_libxl_error(stderr));
        assert!(
            matches!(classify_xl_failure(stderr), DispatchError::WrongState(message) if message.ends_with("Unpausing domain: Invalid argument"))
        );
    }

    #[test]
    fn other_failures_keep_xls_words_without_progress_lines() {
        let stderr = "\
Shutting down domain 1
libxl: error: libxl_domain.c:854:pvcontrol_cb: guest didn't acknowledge control request: -9
shutdown failed (rc=-9)
";
        assert_eq!(
            classify_xl_failure(stderr),
            DispatchError::Failed(
                "libxl: error: libxl_domain.c:854:pvcontrol_cb: guest didn't acknowledge control request: -9\nshutdown failed (rc=-9)"
                    .into()
            )
        );
        assert_eq!(
            classify_xl_failure("  \n"),
            DispatchError::Failed("xl failed without printing a reason".into())
        );
    }

    #[test]
    fn progress_lines_are_not_libxl_errors() {
        assert!(!reports_libxl_error("Shutting down domain 3\n"));
    }
}
