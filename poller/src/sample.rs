//! One sample of a node, as `docs/poller-protocol.md` defines it.
//!
//! A [`crate::source::Source`] produces a [`Reading`] (what the hypervisor says); the poller
//! stamps it with `seq`, `time`, `interval` and `source` into a [`Sample`].
//! [`Sample::encode`] is the one place that names the protocol's members: the XML-RPC
//! writer and the JSON writer both receive the sample through it, so `--once` shows
//! exactly what is pushed.

use crate::encode::Encoder;

/// What a source read from the hypervisor at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// The host (node) as a whole.
    pub host: Host,
    /// One entry per domain, dom0 included when the source reports it.
    pub domains: Vec<Domain>,
}

/// A reading stamped for the backend.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Strictly increasing per node; `None` for `--once`, which never pushes.
    pub seq: Option<u64>,
    /// The poller's clock when the sample was taken, in seconds since the Unix epoch (UTC).
    pub time: u64,
    /// Seconds between samples.
    pub interval: u32,
    /// `xenstat`, `libvirt` or `synthetic`.
    pub source: &'static str,
    /// The host.
    pub host: Host,
    /// The domains.
    pub domains: Vec<Domain>,
    /// Metrics of collector modules, `<collector>.<metric>` → value (finite).
    pub extra: Vec<(String, f64)>,
}

/// The host members of a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// Physical CPUs.
    pub cpus: u32,
    /// CPU frequency in MHz.
    pub cpu_mhz: u32,
    /// Total memory in KiB.
    pub mem_total_kb: u64,
    /// Free memory in KiB.
    pub mem_free_kb: u64,
    /// `xen-4.17.7`, `libvirt-9.0.0`, `synthetic`, ….
    pub hypervisor: String,
    /// Seconds since the host booted, when the source knows it.
    pub uptime_s: Option<u64>,
}

/// The run state of a domain, in the protocol's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    /// Running on a CPU.
    Running,
    /// Blocked, waiting for an event (Xen's `b`).
    Idle,
    /// Paused by the toolstack.
    Paused,
    /// Shut down (or shut off), not yet destroyed.
    Stopped,
    /// Crashed.
    Crashed,
    /// Being destroyed.
    Dying,
    /// None of the above.
    Unknown,
}

impl DomainState {
    /// The protocol's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainState::Running => "running",
            DomainState::Idle => "idle",
            DomainState::Paused => "paused",
            DomainState::Stopped => "stopped",
            DomainState::Crashed => "crashed",
            DomainState::Dying => "dying",
            DomainState::Unknown => "unknown",
        }
    }
}

/// One domain of a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// The hypervisor's domain id (0 for dom0).
    pub domid: u32,
    /// The domain's UUID, when the source has it.
    pub uuid: Option<String>,
    /// The domain's name.
    pub name: String,
    /// Its run state.
    pub state: DomainState,
    /// CPU time used since the domain started, in nanoseconds.
    pub cpu_ns: u64,
    /// Online vCPUs.
    pub vcpus: u32,
    /// Current memory in KiB.
    pub mem_kb: u64,
    /// Memory ceiling in KiB.
    pub max_mem_kb: u64,
    /// Virtual network interfaces.
    pub vifs: Vec<Vif>,
    /// Virtual block devices.
    pub vbds: Vec<Vbd>,
}

/// Cumulative counters of one virtual network interface, seen from the guest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the members are the protocol's, documented there
pub struct Vif {
    pub id: u32,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_drops: u64,
    pub tx_drops: u64,
}

/// Cumulative counters of one virtual block device (sectors are 512 bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the members are the protocol's, documented there
pub struct Vbd {
    pub id: u32,
    pub rd_reqs: u64,
    pub wr_reqs: u64,
    pub rd_sectors: u64,
    pub wr_sectors: u64,
    pub oo_reqs: u64,
}

impl Sample {
    /// Stamps a reading.
    pub fn new(
        reading: Reading,
        seq: Option<u64>,
        time: u64,
        interval: u32,
        source: &'static str,
    ) -> Sample {
        Sample {
            seq,
            time,
            interval,
            source,
            host: reading.host,
            domains: reading.domains,
            extra: Vec::new(),
        }
    }

    /// Writes the sample as the protocol's `sample` struct (members in the protocol's
    /// order).
    pub fn encode(&self, e: &mut impl Encoder) {
        e.struct_start();
        if let Some(seq) = self.seq {
            member(e, "seq", |e| e.counter(seq));
        }
        member(e, "time", |e| e.time(self.time));
        member(e, "interval", |e| e.count(self.interval));
        member(e, "source", |e| e.string(self.source));
        member(e, "host", |e| self.host.encode(e));
        member(e, "domains", |e| {
            e.array_start();
            for domain in &self.domains {
                domain.encode(e);
            }
            e.array_end();
        });
        if !self.extra.is_empty() {
            member(e, "extra", |e| {
                e.struct_start();
                for (name, value) in &self.extra {
                    member(e, name, |e| e.double(*value));
                }
                e.struct_end();
            });
        }
        e.struct_end();
    }
}

/// One struct member.
fn member<E: Encoder>(e: &mut E, name: &str, value: impl FnOnce(&mut E)) {
    e.member_start(name);
    value(e);
    e.member_end();
}

impl Host {
    fn encode(&self, e: &mut impl Encoder) {
        e.struct_start();
        member(e, "cpus", |e| e.count(self.cpus));
        member(e, "cpu_mhz", |e| e.count(self.cpu_mhz));
        member(e, "mem_total_kb", |e| e.counter(self.mem_total_kb));
        member(e, "mem_free_kb", |e| e.counter(self.mem_free_kb));
        member(e, "hypervisor", |e| e.string(&self.hypervisor));
        if let Some(uptime) = self.uptime_s {
            member(e, "uptime_s", |e| e.counter(uptime));
        }
        e.struct_end();
    }
}

impl Domain {
    fn encode(&self, e: &mut impl Encoder) {
        e.struct_start();
        member(e, "domid", |e| e.count(self.domid));
        if let Some(uuid) = &self.uuid {
            member(e, "uuid", |e| e.string(uuid));
        }
        member(e, "name", |e| e.string(&self.name));
        member(e, "state", |e| e.string(self.state.as_str()));
        member(e, "cpu_ns", |e| e.counter(self.cpu_ns));
        member(e, "vcpus", |e| e.count(self.vcpus));
        member(e, "mem_kb", |e| e.counter(self.mem_kb));
        member(e, "max_mem_kb", |e| e.counter(self.max_mem_kb));
        member(e, "vifs", |e| {
            e.array_start();
            for vif in &self.vifs {
                vif.encode(e);
            }
            e.array_end();
        });
        member(e, "vbds", |e| {
            e.array_start();
            for vbd in &self.vbds {
                vbd.encode(e);
            }
            e.array_end();
        });
        e.struct_end();
    }
}

impl Vif {
    fn encode(&self, e: &mut impl Encoder) {
        e.struct_start();
        member(e, "id", |e| e.count(self.id));
        member(e, "rx_bytes", |e| e.counter(self.rx_bytes));
        member(e, "tx_bytes", |e| e.counter(self.tx_bytes));
        member(e, "rx_packets", |e| e.counter(self.rx_packets));
        member(e, "tx_packets", |e| e.counter(self.tx_packets));
        member(e, "rx_errors", |e| e.counter(self.rx_errors));
        member(e, "tx_errors", |e| e.counter(self.tx_errors));
        member(e, "rx_drops", |e| e.counter(self.rx_drops));
        member(e, "tx_drops", |e| e.counter(self.tx_drops));
        e.struct_end();
    }
}

impl Vbd {
    fn encode(&self, e: &mut impl Encoder) {
        e.struct_start();
        member(e, "id", |e| e.count(self.id));
        member(e, "rd_reqs", |e| e.counter(self.rd_reqs));
        member(e, "wr_reqs", |e| e.counter(self.wr_reqs));
        member(e, "rd_sectors", |e| e.counter(self.rd_sectors));
        member(e, "wr_sectors", |e| e.counter(self.wr_sectors));
        member(e, "oo_reqs", |e| e.counter(self.oo_reqs));
        e.struct_end();
    }
}

/// Bytes to KiB, rounding down.
pub fn kib(bytes: u64) -> u64 {
    bytes / 1024
}
