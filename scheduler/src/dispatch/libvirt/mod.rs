//! The libvirt transport: any libvirt URI (`xen:///system`, `qemu+ssh://host/system`,
//! `test:///default` or a test-driver XML file).
//!
//! One connection per node, opened once and kept; a connection that broke is reopened on
//! the next call. Lifecycle events come from `virConnectDomainEventRegisterAny` (see
//! [`events`]), so state changes reach the inventory without waiting for reconciliation.

mod definition;
mod events;

use std::sync::Mutex;
use zentific_sql::PowerAction;

use virt::connect::Connect;
use virt::domain::{Domain as VirtDomain, DomainState};
use virt::error::ErrorNumber;
use zentific_sql::{VmState, VmType};

use super::{
    Action, Applied, ConsoleTarget, Device, DispatchError, Dispatcher, Domain, DomainRef,
    DomainSpec, EventSink,
};

/// A node reached through libvirt.
pub struct LibvirtDispatcher {
    uri: String,
    connection: Mutex<Option<Connect>>,
    subscriptions: Mutex<Vec<events::Subscription>>,
}

/// Phrases with which drivers that answer a generic error code (the test driver, some
/// older ones) say that the domain's state is wrong.
const STATE_PHRASES: &[&str] = &[
    "not running",
    "already running",
    "not paused",
    "already paused",
    "is not active",
    "already active",
];

/// Map a libvirt error to a dispatch error, keeping libvirt's words.
fn classify(error: &virt::error::Error) -> DispatchError {
    let message = error.message().trim().to_string();
    match error.code().known() {
        Some(ErrorNumber::OperationInvalid) => DispatchError::WrongState(message),
        Some(ErrorNumber::InternalError | ErrorNumber::OperationFailed)
            if STATE_PHRASES.iter().any(|p| message.contains(p)) =>
        {
            DispatchError::WrongState(message)
        }
        Some(ErrorNumber::NoDomain) | Some(ErrorNumber::InvalidDomain) => {
            DispatchError::NoSuchDomain(message)
        }
        Some(ErrorNumber::NoConnect | ErrorNumber::InvalidConn | ErrorNumber::SystemError) => {
            DispatchError::Unreachable(message)
        }
        _ if matches!(error.domain().known(), Some(virt::error::ErrorDomain::Rpc)) => {
            DispatchError::Unreachable(message)
        }
        _ => DispatchError::Failed(message),
    }
}

/// Zentific's word for a libvirt domain state.
fn state_of(state: DomainState) -> VmState {
    match state {
        DomainState::Running | DomainState::Shutdown => VmState::Running,
        DomainState::Blocked => VmState::Idle,
        DomainState::Paused | DomainState::PMSuspended => VmState::Paused,
        DomainState::Shutoff => VmState::Stopped,
        DomainState::Crashed => VmState::Crashed,
        DomainState::NoState => VmState::Unknown,
    }
}

impl LibvirtDispatcher {
    /// Open a connection to `uri`. Registers libvirt's event loop first (once per process),
    /// so the connection can deliver events.
    pub fn connect(uri: &str) -> Result<LibvirtDispatcher, DispatchError> {
        events::ensure_event_loop();
        let dispatcher = LibvirtDispatcher {
            uri: uri.to_owned(),
            connection: Mutex::new(None),
            subscriptions: Mutex::new(Vec::new()),
        };
        dispatcher.with_connection(|_| Ok(()))?;
        Ok(dispatcher)
    }

    /// Run `f` on the open connection, opening it first if needed; a connection that
    /// turns out to be broken is dropped so the next call reopens it.
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&Connect) -> Result<T, DispatchError>,
    ) -> Result<T, DispatchError> {
        let mut slot = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        if slot
            .as_ref()
            .is_some_and(|c| !c.is_alive().unwrap_or(false))
        {
            *slot = None;
        }
        if slot.is_none() {
            let opened = Connect::open(Some(&self.uri)).map_err(|e| {
                DispatchError::Unreachable(format!(
                    "cannot open {}: {}",
                    zentific_sql::redact(&self.uri),
                    e.message().trim()
                ))
            })?;
            *slot = Some(opened);
        }
        let Some(connection) = slot.as_ref() else {
            return Err(DispatchError::Unreachable(format!(
                "no connection to {}",
                zentific_sql::redact(&self.uri)
            )));
        };
        let result = f(connection);
        if matches!(result, Err(DispatchError::Unreachable(_))) {
            *slot = None;
        }
        result
    }

    fn lookup(connection: &Connect, domain: DomainRef<'_>) -> Result<VirtDomain, DispatchError> {
        connection
            .lookup_domain_by_uuid_string(domain.uuid)
            .or_else(|_| connection.lookup_domain_by_name(domain.name))
            .map_err(|e| classify(&e))
    }

    /// Attach or detach a device: live and in the persistent definition where the driver
    /// can; where it has no hot-plug (the test driver) or the domain is stopped, by
    /// redefining the persistent definition with the device added or removed, which a
    /// running domain sees at its next boot. Checked afterwards in the definition.
    fn change_device(
        &self,
        domain: DomainRef<'_>,
        device: Device<'_>,
        attach: bool,
    ) -> Result<Applied, DispatchError> {
        self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            let driver = connection.driver_type().map_err(|e| classify(&e))?;
            let active = found.is_active().map_err(|e| classify(&e))?;
            let mut applied = Applied::Now;
            let live = if active {
                let xml = definition::device_xml(&driver, device);
                let flags = virt_sys::VIR_DOMAIN_AFFECT_LIVE | virt_sys::VIR_DOMAIN_AFFECT_CONFIG;
                if attach {
                    found.attach_device_flags(&xml, flags)
                } else {
                    found.detach_device_flags(&xml, flags)
                }
            } else {
                Ok(())
            };
            match live {
                Ok(()) if active => {}
                Err(e)
                    if !matches!(
                        e.code().known(),
                        Some(ErrorNumber::NoSupport | ErrorNumber::OperationUnsupported)
                    ) =>
                {
                    return Err(classify(&e));
                }
                _ => {
                    if active {
                        tracing::info!(
                            domain = domain.name,
                            "no hot-plug on this driver; the device changes at the next boot"
                        );
                        applied = Applied::NextBoot;
                    }
                    let defined = found
                        .xml_desc(virt_sys::VIR_DOMAIN_XML_INACTIVE)
                        .map_err(|e| classify(&e))?;
                    let edited = if attach {
                        definition::with_device(&defined, &driver, device)
                    } else {
                        definition::without_device(&defined, device)
                    }
                    .map_err(|why| DispatchError::Failed(format!("{}: {why}", domain.name)))?;
                    connection
                        .define_domain_xml(&edited)
                        .map_err(|e| classify(&e))?;
                }
            }
            let defined = found
                .xml_desc(virt_sys::VIR_DOMAIN_XML_INACTIVE)
                .map_err(|e| classify(&e))?;
            if definition::has_device(&defined, device) != attach {
                return Err(DispatchError::Failed(format!(
                    "libvirt accepted the change, but the definition of {} does not show it",
                    domain.name
                )));
            }
            Ok(applied)
        })
    }

    /// Run `f` on a domain's snapshot `name`.
    fn on_snapshot(
        &self,
        domain: DomainRef<'_>,
        name: &str,
        f: impl FnOnce(&virt::domain_snapshot::DomainSnapshot) -> Result<(), virt::error::Error>,
    ) -> Result<(), DispatchError> {
        self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            VirtDomain::lookup_snapshot_by_name(&found, name, 0)
                .and_then(|snapshot| f(&snapshot))
                .map_err(|e| classify(&e))
        })
    }

    fn describe(domain: &VirtDomain) -> Result<Domain, DispatchError> {
        let info = domain.info().map_err(|e| classify(&e))?;
        let vm_type = match domain.os_type().map_err(|e| classify(&e))?.as_str() {
            "hvm" => Some(VmType::Hvm),
            "xen" | "linux" | "xenpvh" => Some(VmType::Pv),
            _ => None,
        };
        Ok(Domain {
            uuid: domain.uuid_string().map_err(|e| classify(&e))?,
            name: domain.name().map_err(|e| classify(&e))?,
            state: info.state.known().map_or(VmState::Unknown, state_of),
            memory_kb: i64::try_from(info.memory).unwrap_or(i64::MAX),
            max_memory_kb: i64::try_from(info.max_mem).unwrap_or(i64::MAX),
            vcpus: i32::try_from(info.nr_virt_cpu).unwrap_or(i32::MAX),
            vm_type,
        })
    }
}

/// The node's libvirt storage pool for a Zentific pool (same name); a `dir` pool the
/// node lacks is defined and started at the pool's path.
fn storage_pool(
    connection: &Connect,
    pool: &zentific_sql::Pool,
) -> Result<virt::storage_pool::StoragePool, DispatchError> {
    if let Ok(found) = connection.lookup_storage_pool_by_name(&pool.name) {
        if !found.is_active().map_err(|e| classify(&e))? {
            found.create(0).map_err(|e| classify(&e))?;
        }
        return Ok(found);
    }
    if pool.kind != "dir" {
        return Err(DispatchError::Failed(format!(
            "the node has no libvirt storage pool named '{}'; define it there (virsh pool-define-as) first",
            pool.name
        )));
    }
    let xml = format!(
        "<pool type='dir'><name>{}</name><target><path>{}</path></target></pool>",
        definition::escape_xml(&pool.name),
        definition::escape_xml(&pool.path)
    );
    let defined = connection
        .define_storage_pool_xml(&xml, 0)
        .map_err(|e| classify(&e))?;
    defined.create(0).map_err(|e| classify(&e))?;
    Ok(defined)
}

/// Where a size change goes, in order: the running domain, then its persistent definition
/// (so the change survives a reboot); a stopped domain's definition alone. One call per
/// place, since some drivers (the test driver) refuse both flags at once.
fn resize_scopes(domain: &VirtDomain) -> Result<Vec<u32>, DispatchError> {
    let active = domain.is_active().map_err(|e| classify(&e))?;
    let persistent = domain.is_persistent().map_err(|e| classify(&e))?;
    let mut scopes = Vec::new();
    if active {
        scopes.push(virt_sys::VIR_DOMAIN_AFFECT_LIVE);
    }
    if persistent || !active {
        scopes.push(virt_sys::VIR_DOMAIN_AFFECT_CONFIG);
    }
    Ok(scopes)
}

/// Raise a stopped domain's vCPU ceiling to `n` when it is lower. A running domain cannot
/// go above the ceiling it booted with: that change fails in libvirt's words, and nothing
/// is changed on the way.
fn raise_vcpu_ceiling(domain: &VirtDomain, n: u32) -> Result<(), DispatchError> {
    if domain.is_active().map_err(|e| classify(&e))? {
        return Ok(());
    }
    let ceiling = domain
        .vcpus_flags(virt_sys::VIR_DOMAIN_VCPU_MAXIMUM | virt_sys::VIR_DOMAIN_VCPU_CONFIG)
        .map_err(|e| classify(&e))?;
    if ceiling < n {
        domain
            .set_vcpus_flags(
                n,
                virt_sys::VIR_DOMAIN_VCPU_MAXIMUM | virt_sys::VIR_DOMAIN_VCPU_CONFIG,
            )
            .map_err(|e| classify(&e))?;
    }
    Ok(())
}

/// Where a VNC server listening on `listen` of the node behind `uri` is reached from
/// here: its own address, or the node's host name when it listens on all addresses (or
/// only on the node's loopback); through `ssh -W` for `…+ssh://` URIs.
fn vnc_target(uri: &str, listen: Option<&str>, port: u16) -> ConsoleTarget {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let node_host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let node_host = if node_host.is_empty() {
        "127.0.0.1"
    } else {
        node_host
    };
    let wildcard = |a: &str| matches!(a, "0.0.0.0" | "::" | "[::]");
    let via_ssh = scheme.ends_with("+ssh") || scheme.ends_with("+libssh2");
    match listen {
        // A loopback address of an SSH-reached node is the node's own: forwarded below.
        Some(address) if !(wildcard(address) || via_ssh && address.starts_with("127.")) => {
            ConsoleTarget::Tcp {
                host: address.to_owned(),
                port,
            }
        }
        _ if via_ssh => {
            let destination = match user {
                Some(user) => format!("{}@{node_host}", user.split(':').next().unwrap_or(user)),
                None => node_host.to_owned(),
            };
            ConsoleTarget::Program {
                program: "ssh".into(),
                args: vec![
                    "-o".into(),
                    "BatchMode=yes".into(),
                    "-W".into(),
                    format!(
                        "{}:{port}",
                        listen.filter(|a| !wildcard(a)).unwrap_or("127.0.0.1")
                    ),
                    destination,
                ],
            }
        }
        _ => ConsoleTarget::Tcp {
            host: node_host.to_owned(),
            port,
        },
    }
}

impl Dispatcher for LibvirtDispatcher {
    fn console(
        &self,
        domain: DomainRef<'_>,
        kind: zentific_sql::ConsoleKind,
    ) -> Result<ConsoleTarget, DispatchError> {
        if kind == zentific_sql::ConsoleKind::Text {
            return Err(DispatchError::Unsupported(
                "the text console of libvirt nodes is not available yet: use the graphical one"
                    .into(),
            ));
        }
        let xml = self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            found.xml_desc(0).map_err(|e| classify(&e))
        })?;
        let (listen, port) = definition::vnc_graphics(&xml).ok_or_else(|| {
            DispatchError::Unsupported("the domain has no VNC graphics in its definition".into())
        })?;
        let port = u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| {
            DispatchError::WrongState(
                "the domain's VNC server has no port yet (is it running?)".into(),
            )
        })?;
        Ok(vnc_target(&self.uri, listen.as_deref(), port))
    }

    fn statistics(&self) -> Result<Option<zentific_poller::sample::Reading>, DispatchError> {
        use zentific_poller::source::{Source, libvirt::LibvirtSource};
        self.with_connection(|connection| {
            LibvirtSource::over(connection.clone())
                .and_then(|mut source| source.read())
                .map(Some)
                .map_err(|e| DispatchError::Failed(e.to_string()))
        })
    }

    fn domains(&self) -> Result<Vec<Domain>, DispatchError> {
        self.with_connection(|connection| {
            let domains = connection.list_all_domains(0).map_err(|e| classify(&e))?;
            domains
                .iter()
                .map(Self::describe)
                .filter(|d| !matches!(d, Ok(d) if d.name == "Domain-0"))
                .collect()
        })
    }

    fn act(&self, domain: DomainRef<'_>, action: Action) -> Result<Applied, DispatchError> {
        self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            let kib = |v: i64| {
                u64::try_from(v).map_err(|_| DispatchError::Failed(format!("negative size {v}")))
            };
            let active = found.is_active().map_err(|e| classify(&e))?;
            let (done, applied) = match action {
                Action::Power(power) => (
                    match power {
                        PowerAction::Start => found.create().map(drop),
                        PowerAction::Pause => found.suspend(),
                        PowerAction::Unpause => found.resume(),
                        PowerAction::Shutdown => found.shutdown(),
                        PowerAction::Reboot => found.reboot(0),
                        PowerAction::Destroy => found.destroy(),
                    },
                    Applied::Now,
                ),
                Action::SetMemory(kb) => {
                    let kb = kib(kb)?;
                    (
                        resize_scopes(&found)?
                            .into_iter()
                            .try_for_each(|scope| found.set_memory_flags(kb, scope)),
                        Applied::Now,
                    )
                }
                // The ceiling of a running domain cannot change: it is set in the
                // persistent definition and applies at the next boot.
                Action::SetMaxMemory(kb) => (
                    found.set_memory_flags(
                        kib(kb)?,
                        virt_sys::VIR_DOMAIN_MEM_MAXIMUM | virt_sys::VIR_DOMAIN_MEM_CONFIG,
                    ),
                    if active {
                        Applied::NextBoot
                    } else {
                        Applied::Now
                    },
                ),
                Action::SetVcpus(n) => {
                    let n = u32::try_from(n)
                        .map_err(|_| DispatchError::Failed(format!("bad vCPU count {n}")))?;
                    raise_vcpu_ceiling(&found, n)?;
                    (
                        resize_scopes(&found)?
                            .into_iter()
                            .try_for_each(|scope| found.set_vcpus_flags(n, scope)),
                        Applied::Now,
                    )
                }
            };
            done.map(|_| applied).map_err(|e| classify(&e))
        })
    }

    fn attach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError> {
        self.change_device(domain, device, true)
    }

    fn detach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError> {
        self.change_device(domain, device, false)
    }

    fn snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            let xml = format!(
                "<domainsnapshot><name>{}</name><description>taken by Zentific</description></domainsnapshot>",
                definition::escape_xml(name)
            );
            found
                .create_snapshot_xml(&xml, 0)
                .map(drop)
                .map_err(|e| classify(&e))
        })
    }

    fn revert(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.on_snapshot(domain, name, |snapshot| snapshot.revert(0))
    }

    fn delete_snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        self.on_snapshot(domain, name, |snapshot| snapshot.delete(0))
    }

    fn snapshot_names(&self, domain: DomainRef<'_>) -> Result<Vec<String>, DispatchError> {
        self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            let snapshots = found.list_all_snapshots(0).map_err(|e| classify(&e))?;
            snapshots
                .iter()
                .map(|s| s.name().map_err(|e| classify(&e)))
                .collect()
        })
    }

    fn create_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        self.with_connection(|connection| {
            let found = storage_pool(connection, pool)?;
            let xml = format!(
                "<volume><name>{}</name><capacity unit='KiB'>{}</capacity><target><format type='raw'/></target></volume>",
                definition::escape_xml(&volume.name),
                volume.capacity_kb
            );
            virt::storage_vol::StorageVol::create_xml(&found, &xml, 0)
                .map(drop)
                .map_err(|e| classify(&e))
        })
    }

    fn delete_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        self.with_connection(|connection| {
            let found = storage_pool(connection, pool)?;
            found
                .lookup_storage_vol_by_name(&volume.name)
                .and_then(|v| v.delete(0))
                .map_err(|e| classify(&e))
        })
    }

    fn undefine(&self, domain: DomainRef<'_>) -> Result<(), DispatchError> {
        self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            if found.is_active().map_err(|e| classify(&e))? {
                return Err(DispatchError::WrongState(format!(
                    "{} is running; stop it before deleting it",
                    domain.name
                )));
            }
            found.undefine().map_err(|e| classify(&e))
        })
    }

    fn define(&self, spec: &DomainSpec) -> Result<Option<String>, DispatchError> {
        self.with_connection(|connection| {
            let driver = connection.driver_type().map_err(|e| classify(&e))?;
            connection
                .define_domain_xml(&definition::domain_xml(&driver, spec))
                .map(|_| None)
                .map_err(|e| classify(&e))
        })
    }

    fn subscribe(&self, sink: EventSink) -> Result<bool, DispatchError> {
        let subscription =
            self.with_connection(|connection| events::Subscription::register(connection, sink))?;
        self.subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscription);
        Ok(true)
    }
}

#[cfg(test)]
mod console_tests {
    use super::*;

    #[test]
    fn vnc_is_reached_at_its_address_or_the_node_host_or_through_ssh() {
        let tcp = |host: &str, port| ConsoleTarget::Tcp {
            host: host.into(),
            port,
        };
        assert_eq!(
            vnc_target("test:///default", None, 5901),
            tcp("127.0.0.1", 5901)
        );
        assert_eq!(
            vnc_target("xen://node1/", Some("0.0.0.0"), 5901),
            tcp("node1", 5901)
        );
        assert_eq!(
            vnc_target("xen://node1:1234/", Some("10.1.2.3"), 5902),
            tcp("10.1.2.3", 5902)
        );
        assert_eq!(
            vnc_target("xen://[fd00::7]/", Some("::"), 5903),
            tcp("fd00::7", 5903)
        );
        let ConsoleTarget::Program { program, args } =
            vnc_target("xen+ssh://root@node2/system", Some("127.0.0.1"), 5904)
        else {
            panic!("expected ssh -W");
        };
        assert_eq!(program, "ssh");
        assert_eq!(
            args[2..],
            [
                "-W".to_string(),
                "127.0.0.1:5904".into(),
                "root@node2".into()
            ]
        );
    }
}
