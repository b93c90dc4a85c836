//! Transports that modules provide. A node whose `transport` names one is reached through
//! the module that declares it (see `docs/modules.md`).
//!
//! The one kind of module transport is `xl`: the same `xl` toolstack logic as the `ssh`
//! transport ([`SshDispatcher`]), with its commands run by the module instead of over
//! SSH — `xl-local`, for one, runs them on the machine Zentific runs on. The node's URI
//! is `<transport>:` followed by the `ssh` transport's options, `?xl=PROGRAM` and
//! `?config_dir=DIR` (`xl-local:?config_dir=/etc/xen/zentific`).
//!
//! Modules also provide job actions (`<module>.<action>`), which schedules and triggers
//! name; the engine runs them through [`ModuleActions`] instead of a dispatcher.
//!
//! The server implements [`ModuleTransports`] and [`ModuleActions`] over its loaded
//! modules; the scheduler only sees command runners and action results.

use super::ssh::{CommandRunner, DEFAULT_CONFIG_DIR, DEFAULT_XL_COMMAND, SshDispatcher};
use super::{DispatchError, Dispatcher};

/// The transports of loaded modules, as the scheduler reaches them.
pub trait ModuleTransports: Send + Sync {
    /// The command runner of transport `name` for the node at `uri`. Fails with
    /// [`DispatchError::Unreachable`] when no enabled module provides it (the engine then
    /// retries with backoff: enabling the module brings the node back).
    fn runner(&self, name: &str, uri: &str) -> Result<Box<dyn CommandRunner>, DispatchError>;
}

/// What a module's job action is told about the VM it runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionTarget {
    /// The VM's id.
    pub vm: i32,
    /// Its UUID.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Its node's id.
    pub node: i32,
    /// Its node's name.
    pub node_name: String,
}

/// The job actions of loaded modules, as the scheduler runs them.
pub trait ModuleActions: Send + Sync {
    /// Run `<module>.<action>` on `target`; returns what the module says it did. Fails
    /// with [`DispatchError::Unreachable`] while no enabled module provides it (the
    /// engine retries), with [`DispatchError::Failed`] when the module refused.
    fn run_action(&self, action: &str, target: &ActionTarget) -> Result<String, DispatchError>;
}

/// The `xl` options of a module transport's node URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XlOptions {
    /// The `xl` program (a name looked up in `PATH`, or an absolute path).
    pub xl_command: String,
    /// Where domain configurations are written.
    pub config_dir: String,
}

/// Read `?xl=…&config_dir=…` after `<name>:` (and an optional `//` with nothing after).
pub fn xl_options(name: &str, uri: &str) -> Result<XlOptions, DispatchError> {
    let bad = |why: String| DispatchError::Failed(format!("node URI {uri:?}: {why}"));
    let rest = uri
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(|| bad(format!("does not start with {name}:")))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let query = match rest.split_once('?') {
        Some(("", query)) => query,
        None if rest.is_empty() => "",
        _ => {
            return Err(bad(
                "has a host or path; this transport takes only ?xl= and ?config_dir=".into(),
            ));
        }
    };
    let mut options = XlOptions {
        xl_command: DEFAULT_XL_COMMAND.to_owned(),
        config_dir: DEFAULT_CONFIG_DIR.to_owned(),
    };
    let mut seen = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if seen.contains(&key) {
            return Err(bad(format!("{key} is given more than once")));
        }
        seen.push(key);
        match key {
            // The program runs where the module runs (for xl-local, the server's own
            // machine): only a program named xl, so that a node's URI cannot make the
            // scheduler run anything else there.
            "xl" if !value.contains(char::is_whitespace)
                && (value == "xl" || (value.starts_with('/') && value.ends_with("/xl"))) =>
            {
                options.xl_command = value.to_owned();
            }
            "config_dir" if value.starts_with('/') => options.config_dir = value.to_owned(),
            "xl" => {
                return Err(bad(
                    "xl must be a program name or path without spaces".into()
                ));
            }
            "config_dir" => return Err(bad("config_dir must be an absolute directory".into())),
            _ => return Err(bad(format!("unknown option {key:?} (xl, config_dir)"))),
        }
    }
    Ok(options)
}

/// The dispatcher of a node on module transport `name`.
pub fn connect(
    modules: Option<&dyn ModuleTransports>,
    name: &str,
    uri: &str,
) -> Result<Box<dyn Dispatcher>, DispatchError> {
    let modules = modules.ok_or_else(|| {
        DispatchError::Unreachable(format!(
            "transport {name} is a module's, and this process loads no modules"
        ))
    })?;
    let options = xl_options(name, uri)?;
    let runner = modules.runner(name, uri)?;
    Ok(Box::new(SshDispatcher::over(
        runner,
        options.xl_command,
        &options.config_dir,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_uris_of_module_transports() {
        assert_eq!(
            xl_options("xl-local", "xl-local:").unwrap(),
            XlOptions {
                xl_command: "xl".into(),
                config_dir: "/etc/xen/zentific".into()
            }
        );
        let options = xl_options(
            "xl-local",
            "xl-local://?xl=/usr/sbin/xl&config_dir=/srv/cfg",
        )
        .unwrap();
        assert_eq!(options.xl_command, "/usr/sbin/xl");
        assert_eq!(options.config_dir, "/srv/cfg");
        for bad in [
            "xl-remote:",
            "xl-local://host",
            "xl-local:?config_dir=relative",
            "xl-local:?xl=/opt/a b/xl",
            "xl-local:?identity=/k",
            "xl-local:?xl=xl&xl=xl",
            "xl-local:?xl=/bin/sh",
            "xl-local:?xl=relative/xl",
        ] {
            assert!(xl_options("xl-local", bad).is_err(), "{bad}");
        }
    }
}
