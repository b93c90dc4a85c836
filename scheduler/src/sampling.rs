//! Statistics the scheduler reads itself, for nodes no poller can sample. A node on
//! libvirt's test driver (the demo node of `zentific serve --demo`) keeps its domains in
//! the connection that opened it, the scheduler's own: another process would see another
//! copy. With [`EngineSettings::sample_test_driver`](crate::EngineSettings) on, such
//! nodes are read through that connection every [`INTERVAL`] by the poller's own libvirt
//! reader, and stored as a poller's push of the same reading would be.

use std::time::Duration;

use zentific_poller::sample::Reading;
use zentific_sql::{DomainSample, HostSample, Node, Sample, Transport, VbdCounters, VifCounters};

/// How often such nodes are sampled.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// Whether the scheduler samples `node` itself: libvirt's test driver.
pub fn samples_itself(node: &Node) -> bool {
    node.transport == Transport::Libvirt
        && node
            .uri
            .as_deref()
            .is_some_and(|uri| uri.starts_with("test:"))
}

/// The sample of a reading taken at `time_ms` (Unix milliseconds, also its sequence
/// number: increasing across restarts).
pub fn sample_of(reading: Reading, time_ms: i64) -> Sample {
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let long = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Sample {
        seq: time_ms,
        time: time_ms / 1000,
        interval: INTERVAL.as_secs() as i32,
        source: "libvirt".into(),
        host: HostSample {
            cpus: int(reading.host.cpus),
            cpu_mhz: int(reading.host.cpu_mhz),
            mem_total_kb: long(reading.host.mem_total_kb),
            mem_free_kb: long(reading.host.mem_free_kb),
            hypervisor: reading.host.hypervisor,
            uptime_s: reading.host.uptime_s.map(long),
        },
        domains: reading
            .domains
            .into_iter()
            .map(|d| DomainSample {
                domid: int(d.domid),
                uuid: d.uuid,
                name: d.name,
                state: d.state.as_str().into(),
                cpu_ns: long(d.cpu_ns),
                vcpus: int(d.vcpus),
                mem_kb: long(d.mem_kb),
                max_mem_kb: long(d.max_mem_kb),
                vifs: d
                    .vifs
                    .iter()
                    .map(|v| VifCounters {
                        id: int(v.id),
                        rx_bytes: long(v.rx_bytes),
                        tx_bytes: long(v.tx_bytes),
                        rx_packets: long(v.rx_packets),
                        tx_packets: long(v.tx_packets),
                        rx_errors: long(v.rx_errors),
                        tx_errors: long(v.tx_errors),
                        rx_drops: long(v.rx_drops),
                        tx_drops: long(v.tx_drops),
                    })
                    .collect(),
                vbds: d
                    .vbds
                    .iter()
                    .map(|b| VbdCounters {
                        id: int(b.id),
                        rd_reqs: long(b.rd_reqs),
                        wr_reqs: long(b.wr_reqs),
                        rd_sectors: long(b.rd_sectors),
                        wr_sectors: long(b.wr_sectors),
                        oo_reqs: long(b.oo_reqs),
                    })
                    .collect(),
            })
            .collect(),
        extra: Vec::new(),
    }
}
