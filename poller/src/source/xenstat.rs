//! `xenstat`: this Xen dom0, through libxenstat (the library behind `xentop`).
//!
//! `xenstat-sys` already normalises units (bytes, nanoseconds, Hz) and turns network
//! counters into the guest's view; this module only converts to the protocol's units (KiB,
//! MHz) and names. libxenstat has no domain UUIDs, so `uuid` is left out and the backend
//! matches domains by name.

use xenstat_sys::{DomainSample, Xenstat, XenstatError};

use super::{Source, SourceError, local_uptime};
use crate::sample::{Domain, DomainState, Host, Reading, Vbd, Vif, kib};

/// An open libxenstat handle.
pub struct XenstatSource {
    xenstat: Xenstat,
}

impl XenstatSource {
    /// Opens libxenstat; fails with [`SourceError::Unavailable`] outside a dom0.
    pub fn open() -> Result<XenstatSource, SourceError> {
        let xenstat = Xenstat::open().map_err(|e| SourceError::Unavailable(e.to_string()))?;
        Ok(XenstatSource { xenstat })
    }
}

/// The protocol's state for Xen's domain flags; the most telling flag wins.
fn state(d: &DomainSample) -> DomainState {
    if d.dying {
        DomainState::Dying
    } else if d.crashed {
        DomainState::Crashed
    } else if d.shutdown {
        DomainState::Stopped
    } else if d.paused {
        DomainState::Paused
    } else if d.running {
        DomainState::Running
    } else if d.blocked {
        DomainState::Idle
    } else {
        DomainState::Unknown
    }
}

impl Source for XenstatSource {
    fn read(&mut self) -> Result<Reading, SourceError> {
        let node = self.xenstat.sample().map_err(|e| match e {
            XenstatError::NotDom0 { .. } => SourceError::Unavailable(e.to_string()),
            XenstatError::SampleFailed { .. } => SourceError::ReadFailed(e.to_string()),
        })?;
        let mem_total_kb = kib(node.tot_mem_bytes);
        let host = Host {
            cpus: node.cpus,
            // Xen reports kHz (2599998 kHz is `xl info`'s 2599.998): round to the nearest MHz.
            cpu_mhz: u32::try_from((node.cpu_hz + 500_000) / 1_000_000).unwrap_or(u32::MAX),
            mem_total_kb,
            mem_free_kb: kib(node.free_mem_bytes),
            hypervisor: format!("xen-{}", node.xen_version),
            // dom0 boots with the hypervisor, so its uptime is the host's (to a second or so).
            uptime_s: local_uptime(),
        };
        let domains = node
            .domains
            .into_iter()
            .map(|d| Domain {
                domid: d.id,
                uuid: None,
                state: state(&d),
                name: d.name,
                cpu_ns: d.cpu_ns,
                vcpus: d.vcpus_online,
                mem_kb: kib(d.cur_mem_bytes),
                // "No limit" (dom0's default) is reported as the host's memory: the real
                // ceiling, and a number the backend can chart.
                max_mem_kb: if d.max_mem_bytes == u64::MAX {
                    mem_total_kb
                } else {
                    kib(d.max_mem_bytes)
                },
                vifs: d
                    .networks
                    .iter()
                    .map(|n| Vif {
                        id: n.id,
                        rx_bytes: n.rx_bytes,
                        tx_bytes: n.tx_bytes,
                        rx_packets: n.rx_packets,
                        tx_packets: n.tx_packets,
                        rx_errors: n.rx_errors,
                        tx_errors: n.tx_errors,
                        rx_drops: n.rx_drops,
                        tx_drops: n.tx_drops,
                    })
                    .collect(),
                vbds: d
                    .vbds
                    .iter()
                    .map(|v| Vbd {
                        id: v.dev,
                        rd_reqs: v.rd_reqs,
                        wr_reqs: v.wr_reqs,
                        rd_sectors: v.rd_sectors,
                        wr_sectors: v.wr_sectors,
                        oo_reqs: v.oo_reqs,
                    })
                    .collect(),
            })
            .collect();
        Ok(Reading { host, domains })
    }
}
