//! The XenAPI transport: XCP-ng and XenServer hosts, reached through xapi's XML-RPC API.
//!
//! A [`XenApiDispatcher`] holds one xapi session (`session.login_with_password`) and
//! makes blocking calls with it: `VM.get_all_records` for the inventory, `VM.get_by_uuid`
//! then one `VM.*` method per [`Action`], and `event.from` on a background thread for
//! [`Dispatcher::subscribe`]. The pieces:
//!
//! * `node_uri`: the node URI → endpoint and credentials;
//! * `rpc`: one HTTP exchange, dxr (de)serialization, xapi's `Status` envelope;
//! * `timestamps`: the `Z`-suffixed `dateTime.iso8601` values dxr refuses;
//! * `session`: login, and logging in again on `SESSION_INVALID`;
//! * `vm_record`: VM records → [`Domain`]s, power states → [`VmState`](zentific_sql::VmState);
//! * `events`: the `event.from` loop;
//! * `changes`: devices, snapshots, volumes, deleting and provisioning VMs;
//! * `console`: the VM's console records, opened by HTTP `CONNECT` on their location.
//!
//! xapi errors become [`DispatchError`]s as follows: `VM_BAD_POWER_STATE` →
//! [`DispatchError::WrongState`] (a sentence with xapi's expected and actual states);
//! `HANDLE_INVALID`, `UUID_INVALID` → [`DispatchError::NoSuchDomain`]; a connection that
//! fails, times out or answers other than `200 OK`, and a session xapi refuses even after
//! a fresh login → [`DispatchError::Unreachable`]; every other code →
//! [`DispatchError::Failed`] with `CODE: args`.
//!
//! Calls are synchronous on xapi's side too: `VM.clean_shutdown` returns when the guest
//! is down, which can take minutes, so actions may run for up to [`ACTION_TIMEOUT`].

mod changes;
mod console;
mod events;
mod node_uri;
mod rpc;
mod session;
mod timestamps;
mod vm_record;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use zentific_sql::PowerAction;

use dxr::Value;

use self::events::EventWatcher;
use self::rpc::{RpcTransport, XapiError, int64_arg};
use self::session::Session;
use crate::dispatch::{
    Action, Applied, ConsoleTarget, Device, DispatchError, Dispatcher, Domain, DomainRef,
    DomainSpec, EventSink,
};

/// Longest wait for a read (`VM.get_all_records`, `VM.get_by_uuid`).
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest wait for an action. xapi waits for the guest: a clean shutdown of a busy
/// Windows guest can take many minutes before xapi answers.
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Default `event.from` timeout: how long one poll blocks when nothing changes, and so
/// how long the event thread may outlive its dispatcher.
pub const DEFAULT_EVENT_POLL_TIMEOUT: Duration = Duration::from_secs(30);

/// A node running xapi (XCP-ng, XenServer, Citrix Hypervisor), driven over XenAPI.
///
/// Connect to the pool master: a pool member refuses logins with `HOST_IS_SLAVE`.
/// Dropping the dispatcher logs its session out (waiting at most 5 s for the host) and
/// stops its event thread (within one event poll timeout).
#[derive(Debug)]
pub struct XenApiDispatcher {
    session: Arc<Session>,
    stop_events: Arc<AtomicBool>,
    event_poll_timeout: Duration,
}

impl XenApiDispatcher {
    /// Log in to the xapi host named by `uri`.
    ///
    /// `uri` is `http://user:password@host:port/` or `https://user:password@host/`
    /// (port optional; 80 and 443 by default; IPv6 hosts in brackets). Percent-encode
    /// `@`, `:`, `/` and `%` in the user name and password. HTTPS certificates are
    /// checked against the Mozilla root store (webpki-roots), so a host with XCP-ng's
    /// self-signed certificate needs a trusted certificate or plain `http`.
    ///
    /// Errors: [`DispatchError::Unsupported`] for another kind of URI,
    /// [`DispatchError::Unreachable`] when the host does not answer,
    /// [`DispatchError::Failed`] when xapi refuses the login
    /// (`SESSION_AUTHENTICATION_FAILED`, `HOST_IS_SLAVE`).
    pub fn connect(uri: &str) -> Result<Self, DispatchError> {
        let node = node_uri::parse(uri).map_err(|error| {
            DispatchError::Unsupported(format!("{error}; use {}", node_uri::ACCEPTED_FORMS))
        })?;
        let transport = RpcTransport::new(node.endpoint);
        let session =
            Session::login(transport, node.username, node.password).map_err(login_error)?;
        Ok(XenApiDispatcher {
            session: Arc::new(session),
            stop_events: Arc::new(AtomicBool::new(false)),
            event_poll_timeout: DEFAULT_EVENT_POLL_TIMEOUT,
        })
    }

    /// Use `timeout` for each `event.from` poll of [`Dispatcher::subscribe`] instead of
    /// [`DEFAULT_EVENT_POLL_TIMEOUT`]. Shorter polls end the event thread sooner after a
    /// drop, at the price of more requests while nothing happens.
    #[must_use]
    pub fn with_event_poll_timeout(mut self, timeout: Duration) -> Self {
        self.event_poll_timeout = timeout;
        self
    }

    /// The VM's opaque reference on this host.
    fn vm_reference(&self, domain: DomainRef<'_>) -> Result<String, XapiError> {
        let answer = self.session.call(
            "VM.get_by_uuid",
            &[Value::String(domain.uuid.to_owned())],
            READ_TIMEOUT,
        )?;
        rpc::as_text(&answer)
            .filter(|reference| !reference.is_empty())
            .ok_or_else(|| XapiError::Malformed("VM.get_by_uuid returned no reference".into()))
    }

    fn call_on_vm(
        &self,
        method: &str,
        vm: &str,
        args: impl IntoIterator<Item = Value>,
    ) -> Result<(), XapiError> {
        let mut params = vec![Value::String(vm.to_owned())];
        params.extend(args);
        self.session.call(method, &params, ACTION_TIMEOUT).map(drop)
    }

    /// Carry out `action` on the VM whose reference is `vm`.
    fn perform(&self, vm: &str, action: Action) -> Result<(), XapiError> {
        let no = || Value::Boolean(false);
        match action {
            // `VM.start(vm, start_paused, force)`. A suspended VM (reported as stopped)
            // cannot be started, only resumed: xapi's own answer tells us which it is.
            Action::Power(PowerAction::Start) => {
                match self.call_on_vm("VM.start", vm, [no(), no()]) {
                    Err(error)
                        if bad_power_state(&error).is_some_and(|s| s.actual == "suspended") =>
                    {
                        self.call_on_vm("VM.resume", vm, [no(), no()])
                    }
                    other => other,
                }
            }
            Action::Power(PowerAction::Pause) => self.call_on_vm("VM.pause", vm, []),
            Action::Power(PowerAction::Unpause) => self.call_on_vm("VM.unpause", vm, []),
            Action::Power(PowerAction::Shutdown) => self.call_on_vm("VM.clean_shutdown", vm, []),
            Action::Power(PowerAction::Reboot) => self.call_on_vm("VM.clean_reboot", vm, []),
            Action::Power(PowerAction::Destroy) => self.call_on_vm("VM.hard_shutdown", vm, []),
            // `VM.set_memory` rewrites static_max too and so needs a halted VM;
            // `VM.set_memory_dynamic_range` works on running VMs (it balloons the guest)
            // as well as halted ones. Setting min = max pins the target to the value.
            Action::SetMemory(kib) => {
                let bytes = int64_arg(kib_to_bytes(kib)?);
                self.call_on_vm("VM.set_memory_dynamic_range", vm, [bytes.clone(), bytes])
            }
            // Only while halted (xapi's `changing_static_range`), and never below the
            // dynamic maximum (MEMORY_CONSTRAINT_VIOLATION).
            Action::SetMaxMemory(kib) => self.call_on_vm(
                "VM.set_memory_static_max",
                vm,
                [int64_arg(kib_to_bytes(kib)?)],
            ),
            // Live on a running VM (up to VCPUs_max); a halted one boots with
            // VCPUs_at_startup, its ceiling raised first where needed.
            Action::SetVcpus(count) => {
                let count = int64_arg(i64::from(count));
                match self.call_on_vm("VM.set_VCPUs_number_live", vm, [count.clone()]) {
                    Err(error) if bad_power_state(&error).is_some_and(|s| s.actual == "halted") => {
                        let _ = self.call_on_vm("VM.set_VCPUs_max", vm, [count.clone()]);
                        self.call_on_vm("VM.set_VCPUs_at_startup", vm, [count])
                    }
                    other => other,
                }
            }
        }
    }
}

impl Dispatcher for XenApiDispatcher {
    fn domains(&self) -> Result<Vec<Domain>, DispatchError> {
        let answer = self
            .session
            .call("VM.get_all_records", &[], READ_TIMEOUT)
            .map_err(dispatch_error)?;
        let Value::Struct(records) = answer else {
            return Err(DispatchError::Failed(
                "VM.get_all_records did not answer a map of records".to_owned(),
            ));
        };
        let mut domains = Vec::with_capacity(records.len());
        for record in records.values() {
            match vm_record::domain_from_record(record) {
                Ok(Some(domain)) => domains.push(domain),
                Ok(None) => {}
                Err(message) => {
                    return Err(DispatchError::Failed(format!(
                        "VM.get_all_records: {message}"
                    )));
                }
            }
        }
        domains.sort_by(|a, b| (&a.name, &a.uuid).cmp(&(&b.name, &b.uuid)));
        Ok(domains)
    }

    fn act(&self, domain: DomainRef<'_>, action: Action) -> Result<Applied, DispatchError> {
        self.vm_reference(domain)
            .and_then(|vm| self.perform(&vm, action))
            .map(|()| Applied::Now)
            .map_err(|error| action_error(error, domain, action))
    }

    /// Clones the template the VM's `os` names (see [`changes`]).
    fn define(&self, spec: &DomainSpec) -> Result<Option<String>, DispatchError> {
        if spec.os.is_empty() {
            return Err(DispatchError::Refused(format!(
                "cannot create VM {}: on XenAPI nodes a VM is cloned from a template; name it in vm.create's os (e.g. \"Debian Bookworm 12\")",
                spec.name
            )));
        }
        self.provision(spec, &spec.os).map(Some)
    }

    fn undefine(&self, domain: DomainRef<'_>) -> Result<(), DispatchError> {
        self.destroy_vm(domain)
    }

    fn attach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError> {
        let vm = self.vm_ref(domain)?;
        self.attach_device(&vm, device)
    }

    fn detach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError> {
        let vm = self.vm_ref(domain)?;
        self.detach_device(&vm, device)
    }

    fn snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.take_snapshot(domain, name)
    }

    fn revert(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.revert_to(domain, name)
    }

    fn delete_snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.destroy_snapshot(domain, name)
    }

    fn snapshot_names(&self, domain: DomainRef<'_>) -> Result<Vec<String>, DispatchError> {
        self.snapshot_list(domain)
    }

    fn create_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        self.make_volume(pool, volume)
    }

    fn delete_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        self.remove_volume(pool, volume)
    }

    fn console(
        &self,
        domain: DomainRef<'_>,
        kind: zentific_sql::ConsoleKind,
    ) -> Result<ConsoleTarget, DispatchError> {
        self.console_target(domain, kind)
    }

    fn subscribe(&self, sink: EventSink) -> Result<bool, DispatchError> {
        EventWatcher {
            session: Arc::clone(&self.session),
            sink,
            stop: Arc::clone(&self.stop_events),
            poll_timeout: self.event_poll_timeout,
        }
        .spawn()
        .map_err(|error| {
            DispatchError::Failed(format!("cannot start the XenAPI event thread: {error}"))
        })?;
        Ok(true)
    }
}

impl Drop for XenApiDispatcher {
    fn drop(&mut self) {
        self.stop_events.store(true, Ordering::SeqCst);
        self.session.logout();
    }
}

/// KiB → bytes, refusing what does not fit xapi's int64.
fn kib_to_bytes(kib: i64) -> Result<i64, XapiError> {
    kib.checked_mul(1024).ok_or_else(|| XapiError::Failure {
        code: "INVALID_VALUE".to_owned(),
        args: vec!["memory".to_owned(), format!("{kib} KiB")],
    })
}

/// The parameters of `VM_BAD_POWER_STATE [vm, expected, actual]`.
#[derive(Debug, PartialEq, Eq)]
struct BadPowerState<'a> {
    /// The allowed states, as xapi lists them: `halted` or `paused, suspended, running`.
    expected: &'a str,
    /// The VM's state, lowercase.
    actual: &'a str,
}

fn bad_power_state(error: &XapiError) -> Option<BadPowerState<'_>> {
    match error {
        XapiError::Failure { code, args } if code == "VM_BAD_POWER_STATE" => Some(BadPowerState {
            expected: args.get(1).map_or("", String::as_str),
            actual: args.get(2).map_or("", String::as_str),
        }),
        _ => None,
    }
}

/// xapi's list of states as prose: `paused, suspended, running` → `paused, suspended or running`.
fn states_in_prose(states: &str) -> String {
    match states.rsplit_once(", ") {
        Some((head, last)) => format!("{head} or {last}"),
        None => states.to_owned(),
    }
}

/// What an action does, for messages: "cannot {verb} VM web-1".
fn verb(action: Action) -> &'static str {
    match action {
        Action::Power(PowerAction::Start) => "start",
        Action::Power(PowerAction::Pause) => "pause",
        Action::Power(PowerAction::Unpause) => "unpause",
        Action::Power(PowerAction::Shutdown) => "shut down",
        Action::Power(PowerAction::Reboot) => "reboot",
        Action::Power(PowerAction::Destroy) => "force off",
        Action::SetMemory(_) => "set the memory of",
        Action::SetMaxMemory(_) => "set the memory ceiling of",
        Action::SetVcpus(_) => "set the vCPUs of",
    }
}

/// An error of [`Dispatcher::act`], worded with the domain and the action.
fn action_error(error: XapiError, domain: DomainRef<'_>, action: Action) -> DispatchError {
    let name = if domain.name.is_empty() {
        domain.uuid
    } else {
        domain.name
    };
    if let Some(state) = bad_power_state(&error) {
        let hint = match action {
            Action::SetMaxMemory(_) => {
                "; xapi changes the memory ceiling (memory_static_max) only while the VM is halted"
            }
            _ => "",
        };
        return DispatchError::WrongState(format!(
            "cannot {} VM {name}: it is {}, and xapi allows this only when it is {} \
             (VM_BAD_POWER_STATE){hint}",
            verb(action),
            state.actual,
            states_in_prose(state.expected),
        ));
    }
    match &error {
        XapiError::Failure { code, .. } if is_unknown_object(code) => {
            DispatchError::NoSuchDomain(format!(
                "xapi knows no VM with UUID {} ({name}): {error}",
                domain.uuid
            ))
        }
        XapiError::Failure { .. } => {
            DispatchError::Failed(format!("cannot {} VM {name}: {error}", verb(action)))
        }
        _ => dispatch_error(error),
    }
}

fn is_unknown_object(code: &str) -> bool {
    matches!(code, "HANDLE_INVALID" | "UUID_INVALID")
}

/// The general mapping of xapi errors (see the module documentation).
fn dispatch_error(error: XapiError) -> DispatchError {
    if let Some(state) = bad_power_state(&error) {
        return DispatchError::WrongState(format!(
            "the VM is {}, and xapi allows this only when it is {} (VM_BAD_POWER_STATE)",
            state.actual,
            states_in_prose(state.expected),
        ));
    }
    match error {
        XapiError::Transport(message) => DispatchError::Unreachable(message),
        XapiError::SessionLost => DispatchError::Unreachable(error.to_string()),
        XapiError::Failure { ref code, .. } if is_unknown_object(code) => {
            DispatchError::NoSuchDomain(error.to_string())
        }
        XapiError::Failure { .. } | XapiError::Malformed(_) => {
            DispatchError::Failed(error.to_string())
        }
    }
}

/// A failed login: like [`dispatch_error`], with advice for the usual refusals.
fn login_error(error: XapiError) -> DispatchError {
    match &error {
        XapiError::Failure { code, args } if code == "HOST_IS_SLAVE" => {
            DispatchError::Failed(format!(
                "{error}: this host is a pool member; connect to the pool master{}",
                args.first()
                    .map(|master| format!(" at {master}"))
                    .unwrap_or_default()
            ))
        }
        XapiError::Failure { code, .. } if code == "SESSION_AUTHENTICATION_FAILED" => {
            DispatchError::Failed(format!(
                "{error}: xapi refused the user name or password in the node URI"
            ))
        }
        _ => dispatch_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, args: &[&str]) -> XapiError {
        XapiError::Failure {
            code: code.to_owned(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    const WEB: DomainRef<'static> = DomainRef {
        uuid: "11111111-2222-4333-8444-555555555501",
        name: "web-1",
    };

    #[test]
    fn bad_power_state_keeps_xapi_words() {
        let error = failure("VM_BAD_POWER_STATE", &["OpaqueRef:1", "halted", "running"]);
        let DispatchError::WrongState(message) =
            action_error(error, WEB, Action::Power(PowerAction::Start))
        else {
            panic!("not WrongState");
        };
        assert_eq!(
            message,
            "cannot start VM web-1: it is running, and xapi allows this only when it is \
             halted (VM_BAD_POWER_STATE)"
        );
        let error = failure(
            "VM_BAD_POWER_STATE",
            &["OpaqueRef:1", "paused, suspended, running", "halted"],
        );
        let DispatchError::WrongState(message) =
            action_error(error, WEB, Action::Power(PowerAction::Destroy))
        else {
            panic!("not WrongState");
        };
        assert!(
            message.contains("paused, suspended or running"),
            "{message}"
        );
    }

    #[test]
    fn the_memory_ceiling_says_halted() {
        let error = failure("VM_BAD_POWER_STATE", &["OpaqueRef:1", "halted", "running"]);
        let mapped = action_error(error, WEB, Action::SetMaxMemory(1024));
        assert!(
            matches!(&mapped, DispatchError::WrongState(m) if m.contains("only while the VM is halted")),
            "{mapped:?}"
        );
    }

    #[test]
    fn unknown_handles_and_uuids() {
        for code in ["UUID_INVALID", "HANDLE_INVALID"] {
            let mapped = action_error(
                failure(code, &["VM", "x"]),
                WEB,
                Action::Power(PowerAction::Pause),
            );
            assert!(matches!(mapped, DispatchError::NoSuchDomain(_)), "{code}");
        }
    }

    #[test]
    fn transport_and_session_loss_are_unreachable() {
        let mapped = dispatch_error(XapiError::Transport("connection refused".into()));
        assert!(mapped.is_transient());
        assert!(dispatch_error(XapiError::SessionLost).is_transient());
    }

    #[test]
    fn other_codes_keep_code_and_args() {
        let error = failure(
            "MEMORY_CONSTRAINT_VIOLATION",
            &["Memory limits must satisfy: static_min <= dynamic_min"],
        );
        assert_eq!(
            dispatch_error(error),
            DispatchError::Failed(
                "MEMORY_CONSTRAINT_VIOLATION: Memory limits must satisfy: static_min <= dynamic_min"
                    .into()
            )
        );
    }

    #[test]
    fn login_refusals_are_explained() {
        let mapped = login_error(failure("HOST_IS_SLAVE", &["192.0.2.10"]));
        assert!(
            matches!(&mapped, DispatchError::Failed(m) if m.contains("pool master at 192.0.2.10")),
            "{mapped:?}"
        );
    }

    #[test]
    fn oversized_memory_is_refused_before_the_call() {
        assert!(kib_to_bytes(i64::MAX).is_err());
        assert_eq!(kib_to_bytes(2), Ok(2048));
    }

    #[test]
    fn bad_uris_are_unsupported() {
        let Err(error) = XenApiDispatcher::connect("qemu:///system") else {
            panic!("accepted a libvirt URI");
        };
        assert!(
            matches!(&error, DispatchError::Unsupported(m) if m.contains("http://user:password@host:port/")),
            "{error:?}"
        );
    }
}
