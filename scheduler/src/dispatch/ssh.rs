//! The `ssh` transport: the Xen `xl` toolstack run on the node over SSH.
//!
//! [`SshDispatcher`] keeps one multiplexed SSH master connection to the node (see
//! [`master`]) and runs one `xl` command per call through it:
//!
//! | call | on the node |
//! |---|---|
//! | [`Dispatcher::domains`] | `xl list -v` (names, IDs, state, memory, vCPUs, UUIDs), then `xl list -l` (memory ceiling and guest type) |
//! | [`Action::Power(PowerAction::Start)`] | `xl create <config_dir>/<name>.cfg` |
//! | [`Action::Power(PowerAction::Pause)`] | `xl list -v <name>`, then `xl pause <name>` unless already paused |
//! | [`Action::Power(PowerAction::Unpause)`], `Shutdown`, `Reboot`, `Destroy` | `xl unpause\|shutdown\|reboot\|destroy <name>` |
//! | [`Action::SetMemory`] / [`Action::SetMaxMemory`] | `xl mem-set\|mem-max <name> <KiB>k` |
//! | [`Action::SetVcpus`] | `xl vcpu-set <name> <n>` |
//! | [`Dispatcher::define`] | writes `<config_dir>/<name>.cfg` through a remote `sh` reading stdin |
//! | [`Dispatcher::keep_definition`] | rewrites that file after a change, for the next boot (only a file Zentific wrote) |
//! | [`Dispatcher::attach`] / [`Dispatcher::detach`] | `xl network-attach <name> mac=… bridge=…`, `xl network-detach <name> <mac>`, `xl block-attach <name> 'format=raw, vdev=…, access=…, target=…'`, `xl block-detach <name> <vdev>` on a running domain; the configuration alone for a stopped one |
//! | [`Dispatcher::undefine`] | removes the configuration (and snapshots) of a stopped domain |
//! | snapshots, volumes | copies of a stopped domain's disk files; sparse files in `dir` pools (see [`node_files`]) |
//!
//! A size or device change to a domain xl does not list (a stopped one) is made in its
//! configuration only, and only if Zentific wrote that configuration.
//!
//! Domains are addressed by name (xl does not take UUIDs); names are checked before use
//! (see [`xl_config::validate_domain_name`]) and every argument is shell-quoted, so nothing
//! from Zentific's database is ever read as shell syntax or as an xl option.
//!
//! Xen nests pauses (a second `xl pause` succeeds and then needs two unpauses), so Pause
//! looks at the domain first and refuses with [`DispatchError::WrongState`] if it is already
//! paused. `xl shutdown` and `xl reboot` only ask the guest: they return once the request is
//! delivered and the domain leaves the list when the guest has finished.
//!
//! Errors: anything SSH-level is [`DispatchError::Unreachable`]; xl's failures are sorted by
//! [`xl_failure`] into [`DispatchError::WrongState`], [`DispatchError::NoSuchDomain`] or
//! [`DispatchError::Failed`], with xl's own message. `xl` only knows running domains, so
//! [`Dispatcher::lists_stopped_domains`] is false. There are no events.
//!
//! Calls block on the dispatcher's own current-thread tokio runtime: call them from plain
//! threads (the engine's workers), never from inside a tokio runtime.

mod master;
mod node_files;
mod xl_config;
mod xl_failure;
mod xl_list;

use std::path::PathBuf;
use std::time::Duration;
use zentific_sql::PowerAction;

use openssh::{KnownHosts, SessionBuilder};

use self::master::MasterConnection;
pub use self::master::{
    CommandOutput, CommandRunner, ConsoleReach, IfConnectionLost, MASTER_IDLE_LIMIT, RemoteCommand,
};
pub use self::xl_config::{XlConfigError, render_xl_config, validate_domain_name};
pub use self::xl_list::{
    XlDomainDetails, XlListEntry, XlListError, domains_from_xl_list, parse_xl_list,
    parse_xl_list_long,
};
use super::{Action, Applied, Device, DispatchError, Dispatcher, Domain, DomainRef, DomainSpec};
use zentific_sql::VmState;

/// Where [`SshDispatcher::define`] writes domain configurations unless told otherwise.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/xen/zentific";
/// The `xl` program run unless told otherwise (found through the login shell's `PATH`).
pub const DEFAULT_XL_COMMAND: &str = "xl";
/// How long connecting may take unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the node's host key is checked against the known-hosts file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Record the key of a host seen for the first time; refuse a changed key afterwards
    /// (`StrictHostKeyChecking=accept-new`).
    AcceptNew,
    /// Connect only to hosts whose key is already recorded (`StrictHostKeyChecking=yes`).
    Strict,
}

/// How to reach one node and run `xl` there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshSettings {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// SSH port; `None` for ssh's default (22 or the ssh configuration's).
    pub port: Option<u16>,
    /// Login user, normally the global "node user" option. xl needs root on the node.
    pub user: String,
    /// Private key to log in with (and only that one); `None` for ssh's defaults and agent.
    pub identity_file: Option<PathBuf>,
    /// Host key checking.
    pub known_hosts: HostKeyPolicy,
    /// Known-hosts file to use instead of `~/.ssh/known_hosts`.
    pub known_hosts_file: Option<PathBuf>,
    /// The `xl` program on the node: a name looked up in `PATH` or an absolute path. One
    /// program, no arguments.
    pub xl_command: String,
    /// Absolute directory on the node where [`Dispatcher::define`] writes `<name>.cfg`.
    pub config_dir: String,
    /// Limit for establishing the TCP connection and reading the server's greeting (whole
    /// seconds, at least one).
    pub connect_timeout: Duration,
}

/// Why a node URI cannot be used for the `ssh` transport.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NodeUriError {
    /// The URI does not start with `ssh://`.
    #[error("node URI {0:?} does not start with ssh://")]
    Scheme(String),
    /// The URI names no host, or a host ssh could mistake for an option.
    #[error("node URI {0:?} has no usable host")]
    Host(String),
    /// The user part is empty or could be mistaken for an option.
    #[error("user {user:?} in node URI {uri:?} is not a usable login name")]
    User {
        /// The URI.
        uri: String,
        /// The user part.
        user: String,
    },
    /// The port is not a number from 1 to 65535.
    #[error("port {port:?} in node URI {uri:?} is not a number from 1 to 65535")]
    Port {
        /// The URI.
        uri: String,
        /// The port as written.
        port: String,
    },
    /// The URI has a path; an ssh node is only a host.
    #[error("node URI {0:?} has a path; the form is ssh://[user@]host[:port][?key=value&...]")]
    Path(String),
    /// A query key this transport does not know.
    #[error(
        "unknown key {key:?} in node URI {uri:?} (known: xl, config_dir, identity, known_hosts, known_hosts_file)"
    )]
    UnknownKey {
        /// The URI.
        uri: String,
        /// The key.
        key: String,
    },
    /// A query value that does not fit its key.
    #[error("{key}={value:?} in node URI {uri:?}: {expected}")]
    BadValue {
        /// The URI.
        uri: String,
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// No user in the URI and the "node user" option is empty.
    #[error("node URI {0:?} has no user and the \"node user\" option is empty")]
    NoUser(String),
}

impl SshSettings {
    /// Settings for `host` with the defaults: port 22, accept-new host keys, `xl` from
    /// `PATH`, configurations in [`DEFAULT_CONFIG_DIR`].
    pub fn new(host: impl Into<String>, user: impl Into<String>) -> Self {
        SshSettings {
            host: host.into(),
            port: None,
            user: user.into(),
            identity_file: None,
            known_hosts: HostKeyPolicy::AcceptNew,
            known_hosts_file: None,
            xl_command: DEFAULT_XL_COMMAND.to_owned(),
            config_dir: DEFAULT_CONFIG_DIR.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Settings from a node URI; `node_user` (the global "node user" option) applies when
    /// the URI names no user. Accepted forms:
    ///
    /// - `ssh://host`, `ssh://user@host`, `ssh://host:2222`, `ssh://user@host:2222`
    /// - `ssh://[2001:db8::1]:2222` (IPv6 in brackets), optionally with a trailing `/`
    /// - a query of `key=value` pairs joined by `&`, values taken literally (no
    ///   percent-decoding):
    ///   `xl=/usr/sbin/xl` (the xl program), `config_dir=/etc/xen/zentific` (absolute),
    ///   `identity=/root/.ssh/id_ed25519` (absolute), `known_hosts=strict|accept-new`,
    ///   `known_hosts_file=/etc/zentific/known_hosts` (absolute; instead of `~/.ssh/known_hosts`).
    ///
    /// Unknown keys, repeated keys and paths are errors.
    pub fn from_uri(uri: &str, node_user: &str) -> Result<Self, NodeUriError> {
        let rest = uri
            .strip_prefix("ssh://")
            .ok_or_else(|| NodeUriError::Scheme(uri.to_owned()))?;
        let (authority_and_path, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let authority = match authority_and_path.split_once('/') {
            Some((authority, "")) => authority,
            Some(_) => return Err(NodeUriError::Path(uri.to_owned())),
            None => authority_and_path,
        };
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (Some(user), host_port),
            None => (None, authority),
        };
        let (host, port) = split_host_port(uri, host_port)?;
        if !is_usable_host(host) {
            return Err(NodeUriError::Host(uri.to_owned()));
        }
        let user = match user {
            Some(user) if is_usable_user(user) => user,
            Some(user) => {
                return Err(NodeUriError::User {
                    uri: uri.to_owned(),
                    user: user.to_owned(),
                });
            }
            None if node_user.is_empty() => return Err(NodeUriError::NoUser(uri.to_owned())),
            None => node_user,
        };
        let mut settings = SshSettings::new(host, user);
        settings.port = port;
        let mut seen_keys = Vec::new();
        for pair in query
            .into_iter()
            .flat_map(|query| query.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let bad_value = |expected| NodeUriError::BadValue {
                uri: uri.to_owned(),
                key: key.to_owned(),
                value: value.to_owned(),
                expected,
            };
            if seen_keys.contains(&key) {
                return Err(bad_value("the key is given more than once"));
            }
            seen_keys.push(key);
            match key {
                "xl" if !value.is_empty() && !value.contains(char::is_whitespace) => {
                    settings.xl_command = value.to_owned();
                }
                "xl" => return Err(bad_value("a program name or path without spaces")),
                "config_dir" if value.starts_with('/') => settings.config_dir = value.to_owned(),
                "config_dir" => return Err(bad_value("an absolute directory on the node")),
                "identity" if value.starts_with('/') => {
                    settings.identity_file = Some(PathBuf::from(value));
                }
                "identity" => return Err(bad_value("an absolute path to a private key")),
                "known_hosts_file" if value.starts_with('/') => {
                    settings.known_hosts_file = Some(PathBuf::from(value));
                }
                "known_hosts_file" => {
                    return Err(bad_value("an absolute path to a known-hosts file"));
                }
                "known_hosts" => {
                    settings.known_hosts = match value {
                        "strict" => HostKeyPolicy::Strict,
                        "accept-new" => HostKeyPolicy::AcceptNew,
                        _ => return Err(bad_value("strict or accept-new")),
                    };
                }
                _ => {
                    return Err(NodeUriError::UnknownKey {
                        uri: uri.to_owned(),
                        key: key.to_owned(),
                    });
                }
            }
        }
        Ok(settings)
    }
}

/// Split `host[:port]` or `[v6]:port`.
fn split_host_port<'a>(
    uri: &str,
    host_port: &'a str,
) -> Result<(&'a str, Option<u16>), NodeUriError> {
    let bad_port = |port: &str| NodeUriError::Port {
        uri: uri.to_owned(),
        port: port.to_owned(),
    };
    let parse_port = |port: &str| match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad_port(port)),
        Ok(number) => Ok(number),
    };
    if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| NodeUriError::Host(uri.to_owned()))?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(parse_port(port)?))),
                None => Err(NodeUriError::Host(uri.to_owned())),
            },
        };
    }
    match host_port.split_once(':') {
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
        None => Ok((host_port, None)),
    }
}

/// A host ssh takes as a host: letters, digits, `.`, `-`, `_`, `:` (IPv6), `%` (zone), not
/// starting with `-`.
fn is_usable_host(host: &str) -> bool {
    !host.is_empty()
        && !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:%".contains(c))
}

/// A login name: letters, digits, `.`, `-`, `_`, not starting with `-`.
fn is_usable_user(user: &str) -> bool {
    !user.is_empty()
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Whether `text` has the 8-4-4-4-12 hex form.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.chars().all(|c| c.is_ascii_hexdigit())
        })
}

/// A [`Dispatcher`] running `xl` on one node over a multiplexed SSH connection.
///
/// Its calls block (on the dispatcher's own runtime): use it from plain threads, not from
/// async code, where calls fail with [`DispatchError::Failed`]. Calls from several threads
/// share the one connection. Dropping it closes the master connection.
pub struct SshDispatcher {
    connection: Box<dyn CommandRunner>,
    xl_command: String,
    config_dir: String,
}

impl SshDispatcher {
    /// Connect to the node (starting the SSH master connection) with `settings`.
    ///
    /// Fails with [`DispatchError::Unreachable`] if the node cannot be reached or refuses
    /// the login, and with [`DispatchError::Failed`] for settings that cannot work.
    /// Must not be called from inside a tokio runtime (see the module docs).
    pub fn connect(settings: SshSettings) -> Result<Self, DispatchError> {
        if !is_usable_host(&settings.host) {
            return Err(DispatchError::Failed(format!(
                "{:?} is not a usable host",
                settings.host
            )));
        }
        if !is_usable_user(&settings.user) {
            return Err(DispatchError::Failed(format!(
                "{:?} is not a usable login name",
                settings.user
            )));
        }
        if settings.xl_command.is_empty() {
            return Err(DispatchError::Failed("the xl command is empty".to_owned()));
        }
        if !settings.config_dir.starts_with('/') {
            return Err(DispatchError::Failed(format!(
                "config directory {:?} is not absolute",
                settings.config_dir
            )));
        }
        let mut builder = SessionBuilder::default();
        builder
            .user(settings.user.clone())
            .known_hosts_check(match settings.known_hosts {
                HostKeyPolicy::AcceptNew => KnownHosts::Add,
                HostKeyPolicy::Strict => KnownHosts::Strict,
            })
            .connect_timeout(settings.connect_timeout.max(Duration::from_secs(1)))
            // Three unanswered keep-alives end a master whose node vanished silently.
            .server_alive_interval(settings.connect_timeout.max(Duration::from_secs(1)));
        if let Some(port) = settings.port {
            builder.port(port);
        }
        if let Some(identity_file) = &settings.identity_file {
            builder.keyfile(identity_file);
        }
        if let Some(known_hosts_file) = &settings.known_hosts_file {
            builder.user_known_hosts_file(known_hosts_file);
        }
        let connection = MasterConnection::open(builder, settings.host.clone())?;
        Ok(SshDispatcher::over(
            Box::new(connection),
            settings.xl_command,
            &settings.config_dir,
        ))
    }

    /// The same `xl` logic over another command runner (a module's transport, see
    /// [`super::modules`]): `xl_command` and `config_dir` as in [`SshSettings`].
    pub fn over(connection: Box<dyn CommandRunner>, xl_command: String, config_dir: &str) -> Self {
        SshDispatcher {
            connection,
            xl_command,
            config_dir: config_dir.trim_end_matches('/').to_owned(),
        }
    }

    /// Run `xl <args>`; a non-zero exit becomes the classified error.
    fn xl(
        &self,
        args: &[&str],
        if_connection_lost: IfConnectionLost,
    ) -> Result<CommandOutput, DispatchError> {
        let output = self.connection.run(&RemoteCommand {
            program: &self.xl_command,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            stdin: None,
            if_connection_lost,
        })?;
        if output.exit_code != 0 {
            return Err(xl_failure::classify_xl_failure(&output.stderr));
        }
        Ok(output)
    }

    /// The `xl list -v` line for `name`.
    fn list_one(&self, name: &str) -> Result<XlListEntry, DispatchError> {
        let output = self.xl(&["list", "-v", name], IfConnectionLost::RunAgain)?;
        let entries = parse_xl_list(&output.stdout)
            .map_err(|error| DispatchError::Failed(error.to_string()))?;
        entries
            .into_iter()
            .find(|entry| entry.name == name)
            .ok_or_else(|| DispatchError::Failed(format!("xl list -v {name} did not list {name}")))
    }
}

impl SshDispatcher {
    /// Whether xl lists the domain (it knows only running and paused ones).
    fn running(&self, name: &str) -> Result<bool, DispatchError> {
        match self.list_one(name) {
            Ok(_) => Ok(true),
            Err(DispatchError::NoSuchDomain(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// For a change to a domain xl does not list: its configuration must be Zentific's,
    /// so that [`Dispatcher::keep_definition`] can make the change there.
    fn stopped_with_config(&self, name: &str) -> Result<Applied, DispatchError> {
        if self.has_config(name)? {
            Ok(Applied::Now)
        } else {
            Err(DispatchError::NoSuchDomain(format!(
                "{name} is not running and has no configuration in {}; nothing to change",
                self.config_dir
            )))
        }
    }

    /// Snapshots copy disk files: only of a stopped domain.
    fn require_stopped(&self, domain: DomainRef<'_>, what: &str) -> Result<(), DispatchError> {
        validate_domain_name(domain.name)
            .map_err(|error| DispatchError::Failed(error.to_string()))?;
        if self.running(domain.name)? {
            return Err(DispatchError::WrongState(format!(
                "{} is running; on xl nodes a {what} copies its disk files, so shut it down first",
                domain.name
            )));
        }
        Ok(())
    }

    /// `xl network-attach|network-detach|block-attach|block-detach` on a running domain;
    /// a stopped one changes in its configuration only (written by the engine through
    /// [`Dispatcher::keep_definition`]).
    fn change_device(
        &self,
        domain: DomainRef<'_>,
        device: Device<'_>,
        attach: bool,
    ) -> Result<Applied, DispatchError> {
        let name = domain.name;
        validate_domain_name(name).map_err(|error| DispatchError::Failed(error.to_string()))?;
        if !self.running(name)? {
            return self.stopped_with_config(name);
        }
        let args: Vec<String> = match (device, attach) {
            (Device::Vif(vif), true) => {
                // Checked as for a configuration file, then passed as xl's own arguments.
                xl_config::vif_spec(&vif.mac, &vif.bridge)
                    .map_err(|error| DispatchError::Refused(error.to_string()))?;
                let mut args = vec![
                    "network-attach".to_owned(),
                    name.to_owned(),
                    format!("mac={}", vif.mac.to_ascii_lowercase()),
                    format!("bridge={}", vif.bridge),
                ];
                if !vif.model.is_empty() {
                    xl_config::check_word("model", &vif.model)
                        .map_err(|error| DispatchError::Refused(error.to_string()))?;
                    args.push(format!("model={}", vif.model));
                }
                args
            }
            (Device::Vif(vif), false) => vec![
                "network-detach".to_owned(),
                name.to_owned(),
                vif.mac.to_ascii_lowercase(),
            ],
            (Device::Disk(disk), true) => {
                let spec = xl_config::disk_spec(&disk.target, &disk.source, disk.readonly)
                    .map_err(|error| DispatchError::Refused(error.to_string()))?;
                vec![
                    "block-attach".to_owned(),
                    name.to_owned(),
                    spec.trim_matches('\'').to_owned(),
                ]
            }
            (Device::Disk(disk), false) => {
                xl_config::disk_spec(&disk.target, "/", false)
                    .map_err(|error| DispatchError::Refused(error.to_string()))?;
                vec![
                    "block-detach".to_owned(),
                    name.to_owned(),
                    disk.target.clone(),
                ]
            }
        };
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        if let Err(error) = self.xl(&words, IfConnectionLost::Fail) {
            // An attach whose hotplug script failed (a vif on a missing bridge, a vbd the
            // backend could not open) leaves the half-added device on the guest: take it
            // away again. Other failures (a taken vdev, a missing file) add nothing, and
            // cleaning up then would remove a device that was there before.
            let hotplug_failed = ["exited with error status", "because of timeout"]
                .iter()
                .any(|marker| error.to_string().contains(marker));
            let mac = match device {
                Device::Vif(vif) => vif.mac.to_ascii_lowercase(),
                Device::Disk(_) => String::new(),
            };
            let cleanup: Option<Vec<&str>> = match (device, attach) {
                (Device::Vif(_), true) => Some(vec!["network-detach", name, &mac]),
                (Device::Disk(disk), true) => Some(vec!["block-detach", "-f", name, &disk.target]),
                _ => None,
            };
            if let Some(cleanup) = cleanup.filter(|_| hotplug_failed) {
                let _ = self.xl(&cleanup, IfConnectionLost::Fail);
            }
            return Err(error);
        }
        Ok(Applied::Now)
    }
}

/// The node's program that reads xenstore, where an HVM guest's VNC port is.
const XENSTORE_READ: &str = "xenstore-read";

impl Dispatcher for SshDispatcher {
    /// The text console is `xl console <domain>` on a terminal on the node; the graphical
    /// one is QEMU's VNC server, whose port xenstore has under
    /// `/local/domain/<domid>/console/vnc-port`, reached on the node's loopback.
    fn console(
        &self,
        domain: DomainRef<'_>,
        kind: zentific_sql::ConsoleKind,
    ) -> Result<super::ConsoleTarget, DispatchError> {
        validate_domain_name(domain.name).map_err(|e| DispatchError::Failed(e.to_string()))?;
        let entry = self.list_one(domain.name)?;
        match kind {
            zentific_sql::ConsoleKind::Text => self.connection.console(ConsoleReach::Terminal {
                program: &self.xl_command,
                args: &["console", domain.name],
            }),
            zentific_sql::ConsoleKind::Vnc => {
                let key = format!("/local/domain/{}/console/vnc-port", entry.domid);
                let output = self.connection.run(&RemoteCommand {
                    program: XENSTORE_READ,
                    args: vec![key.clone()],
                    stdin: None,
                    if_connection_lost: IfConnectionLost::RunAgain,
                })?;
                let port = output
                    .stdout
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|_| output.exit_code == 0);
                let port = port.ok_or_else(|| {
                    DispatchError::Unsupported(format!(
                        "the domain has no VNC server: xenstore has no {key} (is vnc=1 in its configuration?)"
                    ))
                })?;
                self.connection.console(ConsoleReach::Port {
                    host: "127.0.0.1",
                    port,
                })
            }
        }
    }

    fn domains(&self) -> Result<Vec<Domain>, DispatchError> {
        let listing = self.xl(&["list", "-v"], IfConnectionLost::RunAgain)?;
        let details = match self.xl(&["list", "-l"], IfConnectionLost::RunAgain) {
            Ok(long) => parse_xl_list_long(&long.stdout).unwrap_or_else(|error| {
                tracing::warn!(%error, "xl list -l is not JSON; reporting current memory as the ceiling");
                Default::default()
            }),
            Err(DispatchError::Unreachable(reason)) => return Err(DispatchError::Unreachable(reason)),
            Err(error) => {
                tracing::warn!(%error, "xl list -l failed; reporting current memory as the ceiling");
                Default::default()
            }
        };
        domains_from_xl_list(&listing.stdout, &details)
            .map_err(|error| DispatchError::Failed(error.to_string()))
    }

    fn act(&self, domain: DomainRef<'_>, action: Action) -> Result<Applied, DispatchError> {
        let name = domain.name;
        validate_domain_name(name).map_err(|error| DispatchError::Failed(error.to_string()))?;
        // A stopped domain's sizes live in its configuration only.
        if matches!(
            action,
            Action::SetMemory(_) | Action::SetMaxMemory(_) | Action::SetVcpus(_)
        ) && !self.running(name)?
        {
            return self.stopped_with_config(name);
        }
        let size_argument = |kib: i64| {
            if kib > 0 {
                Ok(format!("{kib}k"))
            } else {
                Err(DispatchError::Failed(format!(
                    "{kib} KiB is not a memory size"
                )))
            }
        };
        let config_path;
        let number;
        let args: [&str; 2] = match action {
            Action::Power(PowerAction::Start) => {
                config_path = format!("{}/{name}.cfg", self.config_dir);
                ["create", &config_path]
            }
            Action::Power(PowerAction::Pause) => {
                let entry = self.list_one(name)?;
                if entry.state() == VmState::Paused {
                    return Err(DispatchError::WrongState(format!(
                        "{name} is already paused (xl list state {}); Xen would nest the pause",
                        entry.flags
                    )));
                }
                ["pause", name]
            }
            Action::Power(PowerAction::Unpause) => ["unpause", name],
            Action::Power(PowerAction::Shutdown) => ["shutdown", name],
            Action::Power(PowerAction::Reboot) => ["reboot", name],
            Action::Power(PowerAction::Destroy) => ["destroy", name],
            Action::SetMemory(kib) => {
                number = size_argument(kib)?;
                return self
                    .xl(&["mem-set", name, &number], IfConnectionLost::Fail)
                    .map(|_| Applied::Now);
            }
            Action::SetMaxMemory(kib) => {
                number = size_argument(kib)?;
                return self
                    .xl(&["mem-max", name, &number], IfConnectionLost::Fail)
                    .map(|_| Applied::Now);
            }
            Action::SetVcpus(count) => {
                if count < 1 {
                    return Err(DispatchError::Failed(format!(
                        "{count} is not a vCPU count"
                    )));
                }
                number = count.to_string();
                return self
                    .xl(&["vcpu-set", name, &number], IfConnectionLost::Fail)
                    .map(|_| Applied::Now);
            }
        };
        let output = self.xl(&args, IfConnectionLost::Fail)?;
        // xl pause and unpause ignore libxl's result and exit 0; its error line is the signal.
        if matches!(
            action,
            Action::Power(PowerAction::Pause) | Action::Power(PowerAction::Unpause)
        ) && xl_failure::reports_libxl_error(&output.stderr)
        {
            return Err(xl_failure::classify_xl_failure(&output.stderr));
        }
        Ok(Applied::Now)
    }

    fn define(&self, spec: &DomainSpec) -> Result<Option<String>, DispatchError> {
        self.write_config(spec, false).map(|_| None)
    }

    fn keeps_definitions_itself(&self) -> bool {
        false
    }

    fn keep_definition(&self, spec: &DomainSpec) -> Result<(), DispatchError> {
        if !self.write_config(spec, true)? {
            tracing::info!(
                domain = spec.name,
                "no Zentific configuration on the node: the change is live only"
            );
        }
        Ok(())
    }

    fn undefine(&self, domain: DomainRef<'_>) -> Result<(), DispatchError> {
        if self.running(domain.name)? {
            return Err(DispatchError::WrongState(format!(
                "{} is running; stop it before deleting it",
                domain.name
            )));
        }
        self.remove_config(domain.name, domain.uuid)
    }

    fn attach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError> {
        self.change_device(domain, device, true)
    }

    fn detach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError> {
        self.change_device(domain, device, false)
    }

    fn snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.require_stopped(domain, "snapshot")?;
        self.copy_snapshot(domain.name, name)
    }

    fn revert(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.require_stopped(domain, "revert")?;
        self.restore_snapshot(domain.name, name)
    }

    fn delete_snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.remove_snapshot(domain.name, name)
    }

    fn snapshot_names(&self, domain: DomainRef<'_>) -> Result<Vec<String>, DispatchError> {
        self.list_snapshots(domain.name)
    }

    fn create_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        self.create_volume_file(pool, volume)
    }

    fn delete_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        self.delete_volume_file(pool, volume)
    }

    fn lists_stopped_domains(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_with_only_a_host_takes_the_node_user_and_defaults() {
        let settings = SshSettings::from_uri("ssh://xen1.example.org", "root").expect("valid");
        assert_eq!(settings, SshSettings::new("xen1.example.org", "root"));
        assert_eq!(settings.xl_command, "xl");
        assert_eq!(settings.config_dir, "/etc/xen/zentific");
        assert_eq!(settings.known_hosts, HostKeyPolicy::AcceptNew);
    }

    #[test]
    fn uri_user_port_and_query_override_defaults() {
        let settings = SshSettings::from_uri(
            "ssh://admin@10.0.0.5:2222/?xl=/usr/sbin/xl&config_dir=/srv/xen&known_hosts=strict&identity=/etc/zentific/id_ed25519",
            "root",
        )
        .expect("valid");
        assert_eq!(settings.host, "10.0.0.5");
        assert_eq!(settings.port, Some(2222));
        assert_eq!(settings.user, "admin");
        assert_eq!(settings.xl_command, "/usr/sbin/xl");
        assert_eq!(settings.config_dir, "/srv/xen");
        assert_eq!(settings.known_hosts, HostKeyPolicy::Strict);
        assert_eq!(
            settings.identity_file,
            Some(PathBuf::from("/etc/zentific/id_ed25519"))
        );
    }

    #[test]
    fn uri_may_name_a_known_hosts_file() {
        let settings = SshSettings::from_uri(
            "ssh://host?known_hosts_file=/etc/zentific/known_hosts",
            "root",
        )
        .expect("valid");
        assert_eq!(
            settings.known_hosts_file,
            Some(PathBuf::from("/etc/zentific/known_hosts"))
        );
        assert!(matches!(
            SshSettings::from_uri("ssh://host?known_hosts_file=relative", "root"),
            Err(NodeUriError::BadValue { .. })
        ));
    }

    #[test]
    fn uri_with_ipv6_host() {
        let settings = SshSettings::from_uri("ssh://[2001:db8::1]:2200", "root").expect("valid");
        assert_eq!(settings.host, "2001:db8::1");
        assert_eq!(settings.port, Some(2200));
        let settings = SshSettings::from_uri("ssh://root@[::1]", "").expect("valid");
        assert_eq!((settings.host.as_str(), settings.port), ("::1", None));
    }

    #[test]
    fn bad_uris_say_what_is_wrong() {
        let uri_error = |uri: &str| SshSettings::from_uri(uri, "root").expect_err(uri);
        assert!(matches!(
            uri_error("xen+ssh://host"),
            NodeUriError::Scheme(_)
        ));
        assert!(matches!(uri_error("ssh://"), NodeUriError::Host(_)));
        assert!(matches!(
            uri_error("ssh://-oProxyCommand=x"),
            NodeUriError::Host(_)
        ));
        assert!(matches!(
            uri_error("ssh://-l@host"),
            NodeUriError::User { .. }
        ));
        assert!(matches!(
            uri_error("ssh://host:0"),
            NodeUriError::Port { .. }
        ));
        assert!(matches!(
            uri_error("ssh://host:ssh"),
            NodeUriError::Port { .. }
        ));
        assert!(matches!(
            uri_error("ssh://host/system"),
            NodeUriError::Path(_)
        ));
        assert_eq!(
            uri_error("ssh://host?xl=/usr/sbin/xl&socket=/x"),
            NodeUriError::UnknownKey {
                uri: "ssh://host?xl=/usr/sbin/xl&socket=/x".into(),
                key: "socket".into()
            }
        );
        assert!(matches!(
            uri_error("ssh://host?config_dir=relative"),
            NodeUriError::BadValue { .. }
        ));
        assert!(matches!(
            uri_error("ssh://host?known_hosts=no"),
            NodeUriError::BadValue { .. }
        ));
        assert!(matches!(
            uri_error("ssh://host?xl=a&xl=b"),
            NodeUriError::BadValue { .. }
        ));
        assert_eq!(
            SshSettings::from_uri("ssh://host", ""),
            Err(NodeUriError::NoUser("ssh://host".into()))
        );
    }
}
