//! Statistics: the samples pollers push (see `docs/poller-protocol.md`), the rates computed
//! from their counters, the history kept (raw for the `stat_retention_days` option, 1-minute
//! roll-ups for 30 days, 1-hour roll-ups for 400), and the series the API answers from.
//!
//! A push is one transaction: duplicate check (a replayed `seq` is acknowledged and
//! ignored), raw rows, counters for the next rates, the node's last contact, the VMs'
//! states, and any threshold trigger the new values complete. A sample keeps its own time
//! — spooled samples replayed after an outage are old on purpose — and its receive time
//! and the node's clock skew are noted beside it.
//!
//! Rates: a counter that went down is a restart (or a domain id change): the sample only
//! sets a new baseline; a counter that fits 32 bits and went down from near 2^32 wrapped.
//! Gaps are fine: a rate is the change over the time between the two samples.

use crate::validate::shown;
use crate::{Caller, Permission, Store, StoreError, VmState, validate};

/// The VM metrics a series can be asked for.
pub const VM_METRICS: &[&str] = &[
    "cpu_pct",
    "mem_kb",
    "vcpus",
    "net_rx_bps",
    "net_tx_bps",
    "disk_rd_bps",
    "disk_wr_bps",
    "disk_rd_iops",
    "disk_wr_iops",
];

/// The node metrics a series can be asked for.
pub const NODE_METRICS: &[&str] = &["cpu_pct", "mem_free_kb", "mem_used_kb", "domains"];

/// How long 1-minute and 1-hour roll-ups are kept, in days.
pub const ROLLUP_RETENTION_DAYS: (i64, i64) = (30, 400);

/// A poller's sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Strictly increasing per node.
    pub seq: i64,
    /// The poller's clock (Unix seconds).
    pub time: i64,
    /// Seconds between samples.
    pub interval: i32,
    /// `xenstat`, `libvirt` or `synthetic`.
    pub source: String,
    /// The host.
    pub host: HostSample,
    /// The domains.
    pub domains: Vec<DomainSample>,
    /// Metrics of the poller's collector modules, `<collector>.<metric>` → value.
    pub extra: Vec<(String, f64)>,
}

/// The newest metrics of collector modules for a node ([`Store::latest_extras`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LatestExtras {
    /// The sample's time (Unix seconds).
    pub at: i64,
    /// Its metrics, by name.
    pub metrics: Vec<(String, f64)>,
}

/// The most metrics of collector modules one sample may carry.
pub const MAX_EXTRA_METRICS: usize = 256;

/// Whether `name` can name a collector module's metric: `<collector>.<metric>`, 3–96 of
/// `a-z 0-9 _ .`, starting with a letter, with at least one dot.
pub fn is_extra_metric(name: &str) -> bool {
    (3..=96).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.contains('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

/// The host part of a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSample {
    /// Physical CPUs.
    pub cpus: i32,
    /// CPU frequency, MHz.
    pub cpu_mhz: i32,
    /// Memory, KiB.
    pub mem_total_kb: i64,
    /// Free memory, KiB.
    pub mem_free_kb: i64,
    /// Hypervisor name and version.
    pub hypervisor: String,
    /// Seconds since boot.
    pub uptime_s: Option<i64>,
}

/// One domain of a sample; counters are cumulative.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainSample {
    /// The hypervisor's domain id.
    pub domid: i32,
    /// UUID, where the source has it.
    pub uuid: Option<String>,
    /// Name.
    pub name: String,
    /// State word.
    pub state: String,
    /// CPU time, ns.
    pub cpu_ns: i64,
    /// Online vCPUs.
    pub vcpus: i32,
    /// Memory, KiB.
    pub mem_kb: i64,
    /// Memory ceiling, KiB.
    pub max_mem_kb: i64,
    /// Network interfaces.
    pub vifs: Vec<VifCounters>,
    /// Block devices.
    pub vbds: Vec<VbdCounters>,
}

/// Counters of one interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VifCounters {
    /// Interface number.
    pub id: i32,
    /// Bytes received.
    pub rx_bytes: i64,
    /// Bytes sent.
    pub tx_bytes: i64,
    /// Packets received.
    pub rx_packets: i64,
    /// Packets sent.
    pub tx_packets: i64,
    /// Receive errors.
    pub rx_errors: i64,
    /// Send errors.
    pub tx_errors: i64,
    /// Dropped on receive.
    pub rx_drops: i64,
    /// Dropped on send.
    pub tx_drops: i64,
}

/// Counters of one block device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VbdCounters {
    /// Device number.
    pub id: i32,
    /// Read requests.
    pub rd_reqs: i64,
    /// Write requests.
    pub wr_reqs: i64,
    /// Sectors read (512 bytes).
    pub rd_sectors: i64,
    /// Sectors written.
    pub wr_sectors: i64,
    /// Requests that had to wait (out of requests).
    pub oo_reqs: i64,
}

/// The answer to a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushOutcome {
    /// False when the sample was a duplicate and was ignored.
    pub stored: bool,
    /// The sample's sequence number.
    pub seq: i64,
}

/// One point of a series: the bucket's start, the average and the peak in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Bucket start (Unix seconds).
    pub at: i64,
    /// Average over the bucket.
    pub avg: f64,
    /// Largest value in the bucket.
    pub max: f64,
}

const DOMAIN_STATES: &[&str] = &[
    "running", "idle", "paused", "stopped", "crashed", "dying", "unknown",
];

impl Sample {
    /// Check every member; the error names it as `sample.domains[2].cpu_ns`.
    pub fn validate(&self) -> Result<(), StoreError> {
        validate::range("sample.seq", self.seq, 1, i64::MAX)?;
        validate::range("sample.interval", self.interval, 1, 3600)?;
        if !matches!(self.source.as_str(), "xenstat" | "libvirt" | "synthetic") {
            return Err(StoreError::invalid(
                "sample.source",
                "must be xenstat, libvirt or synthetic",
            ));
        }
        validate::range("sample.host.cpus", self.host.cpus, 1, 65_536)?;
        validate::range("sample.host.cpu_mhz", self.host.cpu_mhz, 0, 1_000_000)?;
        validate::range(
            "sample.host.mem_total_kb",
            self.host.mem_total_kb,
            0,
            i64::MAX,
        )?;
        validate::range(
            "sample.host.mem_free_kb",
            self.host.mem_free_kb,
            0,
            self.host.mem_total_kb,
        )?;
        validate::text("sample.host.hypervisor", &self.host.hypervisor, 128)?;
        if let Some(uptime) = self.host.uptime_s {
            validate::range("sample.host.uptime_s", uptime, 0, i64::MAX)?;
        }
        if self.extra.len() > MAX_EXTRA_METRICS {
            return Err(StoreError::invalid(
                "sample.extra",
                format!("at most {MAX_EXTRA_METRICS} metrics per sample"),
            ));
        }
        for (name, value) in &self.extra {
            if !is_extra_metric(name) {
                return Err(StoreError::invalid(
                    "sample.extra",
                    format!(
                        "{:?} is not a metric name: <collector>.<metric> with a-z 0-9 _ . (3-96 characters)",
                        shown(name)
                    ),
                ));
            }
            if !value.is_finite() {
                return Err(StoreError::invalid(
                    format!("sample.extra.{name}"),
                    "must be a finite number",
                ));
            }
        }
        if self.domains.len() > 10_000 {
            return Err(StoreError::invalid(
                "sample.domains",
                "at most 10000 domains per sample",
            ));
        }
        // Paths are formatted only for the member that fails: a sample has thousands.
        let counter = |value: i64, path: &dyn Fn() -> String| {
            if value < 0 {
                Err(StoreError::invalid(
                    path(),
                    format!("must not be negative; got {value}"),
                ))
            } else {
                Ok(())
            }
        };
        for (i, d) in self.domains.iter().enumerate() {
            let at = |member: &str| format!("sample.domains[{i}].{member}");
            if d.domid < 0 {
                return Err(StoreError::invalid(at("domid"), "must not be negative"));
            }
            if d.name.is_empty() || d.name.len() > 128 {
                return Err(StoreError::invalid(at("name"), "must be 1-128 bytes"));
            }
            if let Some(uuid) = &d.uuid {
                validate::token(&at("uuid"), uuid, 64)?;
            }
            if !DOMAIN_STATES.contains(&d.state.as_str()) {
                return Err(StoreError::invalid(
                    at("state"),
                    format!("must be one of {}", DOMAIN_STATES.join(", ")),
                ));
            }
            for (name, value) in [
                ("cpu_ns", d.cpu_ns),
                ("mem_kb", d.mem_kb),
                ("max_mem_kb", d.max_mem_kb),
            ] {
                counter(value, &|| at(name))?;
            }
            if !(0..=4096).contains(&d.vcpus) {
                return Err(StoreError::invalid(
                    at("vcpus"),
                    "must be between 0 and 4096",
                ));
            }
            for (j, v) in d.vifs.iter().enumerate() {
                let counters = [
                    ("rx_bytes", v.rx_bytes),
                    ("tx_bytes", v.tx_bytes),
                    ("rx_packets", v.rx_packets),
                    ("tx_packets", v.tx_packets),
                    ("rx_errors", v.rx_errors),
                    ("tx_errors", v.tx_errors),
                    ("rx_drops", v.rx_drops),
                    ("tx_drops", v.tx_drops),
                ];
                for (name, value) in counters {
                    counter(value, &|| format!("sample.domains[{i}].vifs[{j}].{name}"))?;
                }
            }
            for (j, b) in d.vbds.iter().enumerate() {
                let counters = [
                    ("rd_reqs", b.rd_reqs),
                    ("wr_reqs", b.wr_reqs),
                    ("rd_sectors", b.rd_sectors),
                    ("wr_sectors", b.wr_sectors),
                    ("oo_reqs", b.oo_reqs),
                ];
                for (name, value) in counters {
                    counter(value, &|| format!("sample.domains[{i}].vbds[{j}].{name}"))?;
                }
            }
        }
        Ok(())
    }
}

/// Zentific's word for a sampled state.
pub(crate) fn vm_state(word: &str) -> VmState {
    match word {
        "running" => VmState::Running,
        "idle" => VmState::Idle,
        "paused" => VmState::Paused,
        "stopped" | "dying" => VmState::Stopped,
        "crashed" => VmState::Crashed,
        _ => VmState::Unknown,
    }
}

/// The growth of a counter, or `None` when it restarted. A counter that fits 32 bits and
/// fell from the top half of its range wrapped around.
pub(crate) fn growth(old: i64, new: i64) -> Option<i64> {
    if new >= old {
        return Some(new - old);
    }
    const WRAP: i64 = 1 << 32;
    ((WRAP / 2..WRAP).contains(&old) && new < WRAP / 2).then(|| WRAP - old + new)
}

/// Group (time, value) rows into `step`-second buckets.
pub(crate) fn bucket(rows: &[(i64, f64)], step: i64) -> Vec<Point> {
    let mut points: Vec<Point> = Vec::new();
    let mut count = 0.0;
    for &(at, value) in rows {
        let start = at - at.rem_euclid(step);
        match points.last_mut() {
            Some(p) if p.at == start => {
                count += 1.0;
                p.avg += (value - p.avg) / count;
                p.max = p.max.max(value);
            }
            _ => {
                count = 1.0;
                points.push(Point {
                    at: start,
                    avg: value,
                    max: value,
                });
            }
        }
    }
    points
}

/// Check a series request; returns the step.
fn check_window(
    metric: &str,
    allowed: &[&str],
    from: i64,
    to: i64,
    step: i32,
) -> Result<i64, StoreError> {
    if !allowed.contains(&metric) {
        return Err(StoreError::invalid(
            "metric",
            format!(
                "must be one of {}; got {:?}",
                allowed.join(", "),
                shown(metric)
            ),
        ));
    }
    if to <= from {
        return Err(StoreError::invalid("to", "must be after from"));
    }
    validate::range("step", step, 1, 86_400 * 31)?;
    let points = (to - from) / i64::from(step);
    if points > 10_000 {
        return Err(StoreError::invalid(
            "step",
            format!("the window would have {points} points; at most 10000 (use a larger step)"),
        ));
    }
    Ok(i64::from(step))
}

impl Store {
    /// Store a sample pushed by the poller of `node_id`.
    pub fn push_sample(&self, node_id: i32, sample: &Sample) -> Result<PushOutcome, StoreError> {
        sample.validate()?;
        self.write(|conn| crate::ops::stats::push(conn, node_id, sample, crate::now()))
    }

    /// A VM's series of `metric` between `from` and `to` in `step`-second buckets, from
    /// the finest history that still covers `from`. Needs view on the VM.
    pub fn vm_series(
        &self,
        actor: &Caller,
        vm: i32,
        metric: &str,
        from: i64,
        to: i64,
        step: i32,
    ) -> Result<Vec<Point>, StoreError> {
        let step = check_window(metric, VM_METRICS, from, to, step)?;
        self.require_vm_permission(actor, vm, Permission::View)?;
        let retention = self.global_options()?.stat_retention_days;
        self.read(|conn| {
            crate::ops::stats::series(
                conn,
                "vm",
                vm,
                metric,
                from,
                to,
                step,
                retention,
                crate::now(),
            )
        })
    }

    /// A node's series, like [`Store::vm_series`]; every user sees the nodes' load.
    pub fn node_series(
        &self,
        actor: &Caller,
        node: i32,
        metric: &str,
        from: i64,
        to: i64,
        step: i32,
    ) -> Result<Vec<Point>, StoreError> {
        // A collector module's metric (it has a dot) is answered from its raw samples.
        let step = if is_extra_metric(metric) {
            check_window(metric, &[metric], from, to, step)?
        } else {
            check_window(metric, NODE_METRICS, from, to, step)?
        };
        self.get_node(actor, node)?;
        let retention = self.global_options()?.stat_retention_days;
        self.read(|conn| {
            crate::ops::stats::series(
                conn,
                "node",
                node,
                metric,
                from,
                to,
                step,
                retention,
                crate::now(),
            )
        })
    }

    /// The newest metrics of collector modules for a node: the time of the newest sample
    /// that had any, and its metrics, by name. `None` before any sample carried them.
    pub fn latest_extras(
        &self,
        actor: &Caller,
        node: i32,
    ) -> Result<Option<LatestExtras>, StoreError> {
        self.get_node(actor, node)?;
        self.read(|conn| crate::ops::stats::latest_extras(conn, node))
    }

    /// The newest pushes of a node's poller, newest first: (seq, poller's time, receive
    /// time) — for finding gaps, replays and clock skew. Operators and admins only.
    pub fn recent_pushes(
        &self,
        actor: &Caller,
        node: i32,
        limit: i64,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        actor.require_role(crate::Role::Operator, "reading a node's poller pushes")?;
        validate::range("limit", limit, 1, 10_000)?;
        self.get_node(actor, node)?;
        self.read(|conn| crate::ops::stats::recent_pushes(conn, node, limit))
    }

    /// Roll complete minutes and hours up, and drop history past its retention. Run once a
    /// minute by the scheduler's housekeeping; safe to run from several processes.
    pub fn roll_up_stats(&self, now: i64) -> Result<(), StoreError> {
        let retention = self.global_options()?.stat_retention_days;
        self.write(|conn| crate::ops::stats::roll_up(conn, now, retention))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_wrap_or_restart() {
        assert_eq!(growth(10, 25), Some(15));
        assert_eq!(
            growth((1 << 32) - 10, 5),
            Some(15),
            "a 32-bit counter wrapped"
        );
        assert_eq!(growth(1_000, 10), None, "a restart");
        assert_eq!(
            growth(1 << 40, 10),
            None,
            "64-bit counters do not wrap in practice"
        );
    }

    #[test]
    fn buckets_average_and_peak() {
        let points = bucket(&[(60, 1.0), (70, 3.0), (119, 5.0), (120, 7.0)], 60);
        assert_eq!(
            points,
            [
                Point {
                    at: 60,
                    avg: 3.0,
                    max: 5.0
                },
                Point {
                    at: 120,
                    avg: 7.0,
                    max: 7.0
                }
            ]
        );
    }
}
