//! The libvirt transport: any libvirt URI (`xen:///system`, `qemu+ssh://host/system`,
//! `test:///default` or a test-driver XML file).
//!
//! One connection per node, opened once and kept; a connection that broke is reopened on
//! the next call. Lifecycle events come from `virConnectDomainEventRegisterAny` (see
//! [`events`]), so state changes reach the inventory without waiting for reconciliation.

mod events;

use std::sync::Mutex;
use zentific_sql::PowerAction;

use virt::connect::Connect;
use virt::domain::{Domain as VirtDomain, DomainState};
use virt::error::ErrorNumber;
use zentific_sql::{VmState, VmType};

use super::{Action, DispatchError, Dispatcher, Domain, DomainRef, DomainSpec, EventSink};

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

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
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

    /// The domain XML for a new domain, in the dialect of the connection's driver.
    fn domain_xml(driver: &str, spec: &DomainSpec) -> String {
        let (domain_type, os_type, bus) = match driver.to_ascii_lowercase().as_str() {
            "xen" => (
                "xen",
                if spec.vm_type == VmType::Hvm {
                    "hvm"
                } else {
                    "linux"
                },
                "xen",
            ),
            "test" => ("test", "hvm", "virtio"),
            _ => ("kvm", "hvm", "virtio"),
        };
        let mut devices = String::new();
        for (target, source, readonly) in &spec.disks {
            devices.push_str(&format!(
                "<disk type='file' device='disk'><source file='{}'/><target dev='{}' bus='{bus}'/>{}</disk>",
                escape_xml(source),
                escape_xml(target),
                if *readonly { "<readonly/>" } else { "" }
            ));
        }
        for (mac, bridge) in &spec.vifs {
            devices.push_str(&format!(
                "<interface type='bridge'><mac address='{}'/><source bridge='{}'/></interface>",
                escape_xml(mac),
                escape_xml(bridge)
            ));
        }
        format!(
            "<domain type='{domain_type}'><name>{}</name><uuid>{}</uuid><memory unit='KiB'>{}</memory>\
             <currentMemory unit='KiB'>{}</currentMemory><vcpu>{}</vcpu><os><type>{os_type}</type></os>\
             <devices>{devices}</devices></domain>",
            escape_xml(&spec.name),
            escape_xml(&spec.uuid),
            spec.max_memory_kb,
            spec.memory_kb,
            spec.vcpus
        )
    }
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

impl Dispatcher for LibvirtDispatcher {
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

    fn act(&self, domain: DomainRef<'_>, action: Action) -> Result<(), DispatchError> {
        self.with_connection(|connection| {
            let found = Self::lookup(connection, domain)?;
            let kib = |v: i64| {
                u64::try_from(v).map_err(|_| DispatchError::Failed(format!("negative size {v}")))
            };
            let done = match action {
                Action::Power(PowerAction::Start) => found.create(),
                Action::Power(PowerAction::Pause) => found.suspend(),
                Action::Power(PowerAction::Unpause) => found.resume(),
                Action::Power(PowerAction::Shutdown) => found.shutdown(),
                Action::Power(PowerAction::Reboot) => found.reboot(0),
                Action::Power(PowerAction::Destroy) => found.destroy(),
                Action::SetMemory(kb) => {
                    let kb = kib(kb)?;
                    resize_scopes(&found)?
                        .into_iter()
                        .try_for_each(|scope| found.set_memory_flags(kb, scope))
                }
                // The ceiling of a running domain cannot change: it is set in the
                // persistent definition and applies at the next boot.
                Action::SetMaxMemory(kb) => found.set_memory_flags(
                    kib(kb)?,
                    virt_sys::VIR_DOMAIN_MEM_MAXIMUM | virt_sys::VIR_DOMAIN_MEM_CONFIG,
                ),
                Action::SetVcpus(n) => {
                    let n = u32::try_from(n)
                        .map_err(|_| DispatchError::Failed(format!("bad vCPU count {n}")))?;
                    raise_vcpu_ceiling(&found, n)?;
                    resize_scopes(&found)?
                        .into_iter()
                        .try_for_each(|scope| found.set_vcpus_flags(n, scope))
                }
            };
            done.map(|_| ()).map_err(|e| classify(&e))
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

    fn define(&self, spec: &DomainSpec) -> Result<(), DispatchError> {
        self.with_connection(|connection| {
            let driver = connection.driver_type().map_err(|e| classify(&e))?;
            connection
                .define_domain_xml(&Self::domain_xml(&driver, spec))
                .map(|_| ())
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
mod tests {
    use super::*;

    #[test]
    fn domain_xml_escapes_and_picks_the_dialect() {
        let spec = DomainSpec {
            uuid: "6f1d3c58-9a7e-4b34-9f0e-3f6a4c1b2d7e".into(),
            name: "web<1>".into(),
            vm_type: VmType::Pv,
            memory_kb: 262_144,
            max_memory_kb: 524_288,
            vcpus: 2,
            disks: vec![("xvda".into(), "/srv/a'b.img".into(), true)],
            vifs: vec![("00:16:3e:00:00:01".into(), "xenbr0".into())],
        };
        let xml = LibvirtDispatcher::domain_xml("Xen", &spec);
        assert!(
            xml.contains("<domain type='xen'>") && xml.contains("<type>linux</type>"),
            "{xml}"
        );
        assert!(
            xml.contains("web&lt;1&gt;")
                && xml.contains("/srv/a&apos;b.img")
                && xml.contains("<readonly/>"),
            "{xml}"
        );
        assert!(LibvirtDispatcher::domain_xml("QEMU", &spec).contains("<domain type='kvm'>"));
    }
}
