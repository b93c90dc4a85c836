//! The [`Dispatcher`] trait: one interface over the ways Zentific reaches a hypervisor.
//!
//! A dispatcher belongs to one node and keeps its connection (a libvirt connection, an SSH
//! master, a XenAPI session) open between calls. Calls block; the engine runs them on its
//! worker threads. Each transport lives in its own module:
//! `libvirt` (any libvirt URI), `ssh` (the `xl` toolstack over SSH), `xenapi` (XCP-ng,
//! XenServer), and `modules`: transports that modules provide.

use zentific_sql::{ConsoleKind, PowerAction, VmState, VmType};

pub use zentific_sql::Domain;

/// Which domain an action is for: transports address domains by UUID or name.
#[derive(Clone, Copy, Debug)]
pub struct DomainRef<'a> {
    /// The UUID recorded for the VM.
    pub uuid: &'a str,
    /// The VM's name.
    pub name: &'a str,
}

/// What a job asks a hypervisor to do to a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A lifecycle action (`vm.start`, `vm.pause`, …): the store's own [`PowerAction`].
    Power(PowerAction),
    /// Set its current memory, KiB.
    SetMemory(i64),
    /// Set its memory ceiling, KiB.
    SetMaxMemory(i64),
    /// Set its number of vCPUs.
    SetVcpus(i32),
}

/// Where a change took effect: on the running domain (or a stopped one's whole
/// definition), or only on the persistent definition, for the next boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// In effect now.
    Now,
    /// Written to the persistent definition; the running domain has it after its next boot.
    NextBoot,
}

impl Applied {
    /// The later of two: a change made of several steps applies when its last one does.
    pub fn and(self, other: Applied) -> Applied {
        if self == Applied::NextBoot || other == Applied::NextBoot {
            Applied::NextBoot
        } else {
            Applied::Now
        }
    }
}

/// A device to attach or detach.
#[derive(Clone, Copy, Debug)]
pub enum Device<'a> {
    /// A network interface.
    Vif(&'a zentific_sql::Vif),
    /// A disk.
    Disk(&'a zentific_sql::Disk),
}

/// What `vm.create` asks a hypervisor to define (and leave stopped).
#[derive(Clone, Debug)]
pub struct DomainSpec {
    /// UUID Zentific chose.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// PV or HVM.
    pub vm_type: VmType,
    /// The operating system label; on XenAPI nodes, the template the VM is cloned from.
    pub os: String,
    /// Memory, KiB.
    pub memory_kb: i64,
    /// Memory ceiling, KiB.
    pub max_memory_kb: i64,
    /// vCPUs.
    pub vcpus: i32,
    /// Disks: (guest device, source path, read-only).
    pub disks: Vec<(String, String, bool)>,
    /// Interfaces: (MAC, bridge).
    pub vifs: Vec<(String, String)>,
}

/// A state change the hypervisor announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainEvent {
    /// The domain's UUID.
    pub uuid: String,
    /// Its new state.
    pub state: VmState,
}

/// Where a VM's console is, as its transport found it; the console proxy opens it (and
/// keeps the dispatcher that found it open meanwhile: an SSH program runs on its master,
/// a XenAPI console needs its session).
#[derive(Clone, PartialEq, Eq)]
pub enum ConsoleTarget {
    /// A TCP endpoint the server connects to (a VNC server on the node).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A program the server runs whose standard input and output are the console: `ssh -W`
    /// to a port on the node, or `xl console` on a terminal through SSH.
    Program {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// An HTTP server that becomes the console after `CONNECT target` answers `200`:
    /// xapi's console `location`, authorized by the session.
    HttpConnect {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// Whether to speak TLS first (an `https` location).
        tls: bool,
        /// The request target: the location's path and query, with the session.
        target: String,
        /// The session, sent as the `session_id` cookie too.
        session: String,
    },
}

/// Without the session (a secret) in log lines.
impl std::fmt::Debug for ConsoleTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleTarget::Tcp { host, port } => f
                .debug_struct("Tcp")
                .field("host", host)
                .field("port", port)
                .finish(),
            ConsoleTarget::Program { program, args } => f
                .debug_struct("Program")
                .field("program", program)
                .field("args", args)
                .finish(),
            ConsoleTarget::HttpConnect {
                host, port, tls, ..
            } => f
                .debug_struct("HttpConnect")
                .field("host", host)
                .field("port", port)
                .field("tls", tls)
                .finish_non_exhaustive(),
        }
    }
}

/// Where a dispatcher sends the events it receives; called from the transport's thread.
pub type EventSink = std::sync::Arc<dyn Fn(DomainEvent) + Send + Sync>;

/// Why a dispatch failed. The engine retries [`DispatchError::Unreachable`] with backoff
/// and fails the job at once on the others, keeping the hypervisor's own words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DispatchError {
    /// The node or its hypervisor did not answer (connection refused, timeout, lost session).
    #[error("node unreachable: {0}")]
    Unreachable(String),
    /// The hypervisor refused because of the domain's state.
    #[error("wrong state: {0}")]
    WrongState(String),
    /// The hypervisor does not know the domain.
    #[error("no such domain: {0}")]
    NoSuchDomain(String),
    /// The hypervisor refused the value asked for (over a ceiling, more vCPUs than the
    /// host has, a disk kind the transport cannot snapshot): fault 4.
    #[error("refused: {0}")]
    Refused(String),
    /// The hypervisor refused for another reason.
    #[error("hypervisor error: {0}")]
    Failed(String),
    /// The transport cannot do this.
    #[error("not supported by this transport: {0}")]
    Unsupported(String),
}

impl DispatchError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, DispatchError::Unreachable(_))
    }
}

/// One node's hypervisor, reached through one transport.
pub trait Dispatcher: Send + Sync {
    /// Every domain on the node (the inventory).
    fn domains(&self) -> Result<Vec<Domain>, DispatchError>;

    /// Carry out a lifecycle or resource action on a domain; says where it took effect.
    fn act(&self, domain: DomainRef<'_>, action: Action) -> Result<Applied, DispatchError>;

    /// Define a new domain, left stopped. Returns the UUID the hypervisor gave it where it
    /// chooses its own (XenAPI); the store then records that one.
    fn define(&self, spec: &DomainSpec) -> Result<Option<String>, DispatchError>;

    /// Remove a stopped domain's definition from the node.
    fn undefine(&self, domain: DomainRef<'_>) -> Result<(), DispatchError>;

    /// Attach a device to a domain (live where the hypervisor can, else to its persistent
    /// definition); says where it took effect.
    fn attach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError>;

    /// Detach a device from a domain (live where the hypervisor can, else from its
    /// persistent definition).
    fn detach(&self, domain: DomainRef<'_>, device: Device<'_>) -> Result<Applied, DispatchError>;

    /// Take a snapshot of a domain named `name`.
    fn snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError>;

    /// Bring a domain back to its snapshot `name`.
    fn revert(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError>;

    /// Delete a domain's snapshot `name`.
    fn delete_snapshot(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError>;

    /// The names of a domain's snapshots.
    fn snapshot_names(&self, domain: DomainRef<'_>) -> Result<Vec<String>, DispatchError>;

    /// Create a volume in a pool of the node.
    fn create_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError>;

    /// Delete a volume from a pool of the node.
    fn delete_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError>;

    /// Whether the engine must hand [`Dispatcher::keep_definition`] the definition for the
    /// next boot after a change. Hypervisors that keep definitions themselves (libvirt,
    /// XenAPI) do not need it.
    fn keeps_definitions_itself(&self) -> bool {
        true
    }

    /// Make `spec` the domain's definition for its next boot, after a change that was made
    /// live (or refused live because the domain is stopped). Called only on transports
    /// that do not keep definitions themselves.
    fn keep_definition(&self, spec: &DomainSpec) -> Result<(), DispatchError> {
        let _ = spec;
        Ok(())
    }

    /// Whether [`Dispatcher::domains`] lists stopped domains too. `xl` knows only running
    /// domains: on such a node a recorded VM missing from the list is stopped, not gone.
    fn lists_stopped_domains(&self) -> bool {
        true
    }

    /// The node's statistics, read through the transport's own connection: for nodes no
    /// poller can sample (libvirt's test driver keeps its domains inside the connection
    /// that opened it). `None` where the transport does not read statistics itself.
    fn statistics(&self) -> Result<Option<zentific_poller::sample::Reading>, DispatchError> {
        Ok(None)
    }

    /// Where the domain's console of `kind` is. By default a transport has none.
    fn console(
        &self,
        domain: DomainRef<'_>,
        kind: ConsoleKind,
    ) -> Result<ConsoleTarget, DispatchError> {
        let _ = domain;
        Err(DispatchError::Unsupported(format!(
            "this transport has no {kind} console"
        )))
    }

    /// Start sending state changes to `sink`, where the transport has events; returns
    /// whether it does (without events the engine relies on reconciliation).
    fn subscribe(&self, sink: EventSink) -> Result<bool, DispatchError> {
        let _ = sink;
        Ok(false)
    }
}
pub mod libvirt;
pub mod modules;
pub mod ssh;
pub mod xenapi;

/// Open the dispatcher for a node's transport; `node_user` is the global "node user"
/// option (the SSH login); `modules` provides the transports of modules.
pub fn connect(
    node: &zentific_sql::Node,
    node_user: &str,
    modules: Option<&dyn modules::ModuleTransports>,
) -> Result<Box<dyn Dispatcher>, DispatchError> {
    use zentific_sql::Transport;
    let uri = node.connect_uri();
    match &node.transport {
        Transport::Module(name) => modules::connect(modules, name, &uri),
        Transport::Libvirt => Ok(Box::new(libvirt::LibvirtDispatcher::connect(&uri)?)),
        Transport::Xenapi => Ok(Box::new(xenapi::XenApiDispatcher::connect(&uri)?)),
        Transport::Ssh => {
            let settings = ssh::SshSettings::from_uri(&uri, node_user)
                .map_err(|e| DispatchError::Failed(format!("bad SSH node URI: {e}")))?;
            Ok(Box::new(ssh::SshDispatcher::connect(settings)?))
        }
    }
}
