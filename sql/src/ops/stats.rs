//! Statistics queries.

use crate::db::{Conn, on_backend};
use std::collections::HashMap;

use diesel::prelude::*;

use crate::schema::{
    node_extras, node_stats, nodes, stat_pushes, stat_rollups, stat_watermarks, vm_counters,
    vm_stats, vms,
};
use crate::stats::Point;
use crate::stats::{ROLLUP_RETENTION_DAYS, bucket, growth, vm_state};
use crate::{PushOutcome, Sample, StoreError, VmState};

type Counters = (i32, i32, i64, i64, i64, i64, i64, i64, i64, i64);
/// A raw VM row: id, time, and the metrics in `VM_METRICS` order.
type VmStatRow = (i32, i64, f64, i64, i32, f64, f64, f64, f64, f64, f64);
/// (kind, object id, metric, bucket) of a roll-up row.
type RollupKey = (&'static str, i32, &'static str, i64);

/// Record a domain the poller reports and the inventory has not seen (a node whose only
/// link is its poller): a VM of the node, by the source's UUID where it has one (the
/// inventory, when it reads the node, matches the record by name and takes the
/// hypervisor's UUID). Names that are not valid VM names, and UUIDs recorded on another
/// node, are left to the inventory. Returns the new VM's id.
fn discover(
    conn: &mut Conn,
    node_id: i32,
    domain: &crate::DomainSample,
    now: i64,
) -> Result<Option<i32>, StoreError> {
    if crate::validate::name("name", &domain.name).is_err() {
        return Ok(None);
    }
    let uuid = match &domain.uuid {
        Some(uuid) => uuid.to_ascii_lowercase(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let taken: i64 = vms::table
        .filter(vms::uuid.eq(&uuid))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Ok(None);
    }
    let found = crate::Domain {
        uuid,
        name: domain.name.clone(),
        state: vm_state(&domain.state),
        memory_kb: domain.mem_kb,
        max_memory_kb: domain.max_mem_kb,
        vcpus: domain.vcpus,
        vm_type: None,
    };
    let id = super::inventory::record_discovered(conn, node_id, &found, " by its poller", now)?;
    Ok(Some(id))
}

pub(crate) fn push(
    conn: &mut Conn,
    node_id: i32,
    sample: &Sample,
    now: i64,
) -> Result<PushOutcome, StoreError> {
    // The primary key (node, seq) answers "seen before?" in the same statement.
    let insert = diesel::insert_into(stat_pushes::table)
        .values((
            stat_pushes::node_id.eq(node_id),
            stat_pushes::seq.eq(sample.seq),
            stat_pushes::sampled_at.eq(sample.time),
            stat_pushes::received_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let inserted = on_backend!(conn, |c| insert.execute(c))?;
    if inserted == 0 {
        return Ok(PushOutcome {
            stored: false,
            seq: sample.seq,
        });
    }
    // Samples keep their own time (replays after an outage are old on purpose); the
    // receive time and the node's clock skew are noted beside them.
    let skew = now - sample.time;
    let at = sample.time;
    // The statements of a push run on the concrete connection (`on_backend!`): this is
    // the hot path of ingest, and the shared connection type re-renders SQL and boxes
    // binds per statement.
    let seen = diesel::update(nodes::table.find(node_id)).set((
        nodes::last_seen.eq(now),
        nodes::poll_interval.eq(sample.interval),
        nodes::last_seq.eq(sample.seq),
        nodes::clock_skew.eq(skew),
    ));
    on_backend!(conn, |c| seen.execute(c))?;
    // The node's VMs, matched by UUID, else by name.
    let recorded_query = vms::table.filter(vms::node_id.eq(node_id)).select((
        vms::id,
        vms::uuid,
        vms::name,
        vms::state,
    ));
    let recorded: Vec<(i32, String, String, String)> =
        on_backend!(conn, |c| recorded_query.load(c))?;
    let mut matched = Vec::new();
    for domain in sample.domains.iter().filter(|d| d.domid != 0) {
        let found = domain
            .uuid
            .as_ref()
            .and_then(|u| recorded.iter().find(|r| r.1.eq_ignore_ascii_case(u)))
            .or_else(|| recorded.iter().find(|r| r.2 == domain.name));
        if let Some((id, _, _, state)) = found {
            matched.push((*id, VmState::parse(state, "state")?, domain));
        } else if let Some(id) = discover(conn, node_id, domain, now)? {
            // Its counters are kept from this first sample; rates start with the next.
            matched.push((id, vm_state(&domain.state), domain));
        }
    }
    let ids: Vec<i32> = matched.iter().map(|m| m.0).collect();
    let previous_query = vm_counters::table
        .filter(vm_counters::vm_id.eq_any(&ids))
        .select((
            vm_counters::vm_id,
            vm_counters::domid,
            vm_counters::at,
            vm_counters::cpu_ns,
            vm_counters::rx_bytes,
            vm_counters::tx_bytes,
            vm_counters::rd_sectors,
            vm_counters::wr_sectors,
            vm_counters::rd_reqs,
            vm_counters::wr_reqs,
        ));
    let previous: HashMap<i32, Counters> = on_backend!(conn, |c| previous_query
        .load::<Counters>(c))?
    .into_iter()
    .map(|c| (c.0, c))
    .collect();

    let mut rows = Vec::with_capacity(matched.len());
    let mut counters = Vec::with_capacity(matched.len());
    let mut changes = Vec::new();
    let mut cpu_total = 0.0;
    for (vm_id, recorded_state, d) in &matched {
        let rx: i64 = d.vifs.iter().map(|v| v.rx_bytes).sum();
        let tx: i64 = d.vifs.iter().map(|v| v.tx_bytes).sum();
        let rd_sectors: i64 = d.vbds.iter().map(|b| b.rd_sectors).sum();
        let wr_sectors: i64 = d.vbds.iter().map(|b| b.wr_sectors).sum();
        let rd_reqs: i64 = d.vbds.iter().map(|b| b.rd_reqs).sum();
        let wr_reqs: i64 = d.vbds.iter().map(|b| b.wr_reqs).sum();
        let now_counters: Counters = (
            *vm_id, d.domid, at, d.cpu_ns, rx, tx, rd_sectors, wr_sectors, rd_reqs, wr_reqs,
        );
        if let Some(old) = previous
            .get(vm_id)
            .filter(|old| old.1 == d.domid && at > old.2)
        {
            let dt = (at - old.2) as f64;
            let grown = [
                growth(old.3, d.cpu_ns),
                growth(old.4, rx),
                growth(old.5, tx),
                growth(old.6, rd_sectors),
                growth(old.7, wr_sectors),
                growth(old.8, rd_reqs),
                growth(old.9, wr_reqs),
            ];
            if let [
                Some(cpu),
                Some(rx),
                Some(tx),
                Some(rs),
                Some(ws),
                Some(rq),
                Some(wq),
            ] = grown
            {
                let cpu_pct = cpu as f64 / dt / 1e7;
                cpu_total += cpu_pct;
                rows.push((
                    vm_stats::vm_id.eq(*vm_id),
                    vm_stats::at.eq(at),
                    vm_stats::cpu_pct.eq(cpu_pct),
                    vm_stats::mem_kb.eq(d.mem_kb),
                    vm_stats::vcpus.eq(d.vcpus),
                    vm_stats::net_rx_bps.eq(rx as f64 / dt),
                    vm_stats::net_tx_bps.eq(tx as f64 / dt),
                    vm_stats::disk_rd_bps.eq(rs as f64 * 512.0 / dt),
                    vm_stats::disk_wr_bps.eq(ws as f64 * 512.0 / dt),
                    vm_stats::disk_rd_iops.eq(rq as f64 / dt),
                    vm_stats::disk_wr_iops.eq(wq as f64 / dt),
                ));
            }
        }
        if previous.get(vm_id).is_none_or(|old| at > old.2) {
            counters.push(now_counters);
        }
        let observed = vm_state(&d.state);
        if observed != *recorded_state {
            changes.push((*vm_id, *recorded_state, observed));
        }
    }
    if !rows.is_empty() {
        let insert = diesel::insert_into(vm_stats::table)
            .values(&rows)
            .on_conflict_do_nothing();
        on_backend!(conn, |c| insert.execute(c))?;
    }
    if !counters.is_empty() {
        let renewed: Vec<i32> = counters.iter().map(|c| c.0).collect();
        let stale = diesel::delete(vm_counters::table.filter(vm_counters::vm_id.eq_any(&renewed)));
        on_backend!(conn, |c| stale.execute(c))?;
        let values: Vec<_> = counters
            .iter()
            .map(|c| {
                (
                    vm_counters::vm_id.eq(c.0),
                    vm_counters::domid.eq(c.1),
                    vm_counters::at.eq(c.2),
                    vm_counters::cpu_ns.eq(c.3),
                    vm_counters::rx_bytes.eq(c.4),
                    vm_counters::tx_bytes.eq(c.5),
                    vm_counters::rd_sectors.eq(c.6),
                    vm_counters::wr_sectors.eq(c.7),
                    vm_counters::rd_reqs.eq(c.8),
                    vm_counters::wr_reqs.eq(c.9),
                )
            })
            .collect();
        let insert = diesel::insert_into(vm_counters::table).values(&values);
        on_backend!(conn, |c| insert.execute(c))?;
    }
    let insert = diesel::insert_into(node_stats::table)
        .values((
            node_stats::node_id.eq(node_id),
            node_stats::at.eq(at),
            node_stats::cpus.eq(sample.host.cpus),
            node_stats::cpu_pct.eq(cpu_total / f64::from(sample.host.cpus)),
            node_stats::mem_total_kb.eq(sample.host.mem_total_kb),
            node_stats::mem_free_kb.eq(sample.host.mem_free_kb),
            node_stats::domains.eq(i32::try_from(sample.domains.len()).unwrap_or(i32::MAX)),
        ))
        .on_conflict_do_nothing();
    on_backend!(conn, |c| insert.execute(c))?;
    if !sample.extra.is_empty() {
        let values: Vec<_> = sample
            .extra
            .iter()
            .map(|(metric, value)| {
                (
                    node_extras::node_id.eq(node_id),
                    node_extras::metric.eq(metric),
                    node_extras::at.eq(at),
                    node_extras::value.eq(value),
                )
            })
            .collect();
        let insert = diesel::insert_into(node_extras::table)
            .values(&values)
            .on_conflict_do_nothing();
        on_backend!(conn, |c| insert.execute(c))?;
    }
    let mut state_changes = Vec::new();
    for (vm_id, from, to) in changes {
        diesel::update(vms::table.find(vm_id))
            .set(vms::state.eq(to.as_str()))
            .execute(conn)?;
        super::inventory::vm_state(
            conn,
            vm_id,
            to,
            &format!("{from} → {to} (reported by the poller)"),
        )?;
        state_changes.push(crate::StateChange {
            vm_id,
            node_id,
            from,
            to,
        });
    }
    super::triggers::fire_for_changes(conn, &state_changes)?;
    super::triggers::fire_thresholds(conn, &ids, at, i64::from(sample.interval))?;
    Ok(PushOutcome {
        stored: true,
        seq: sample.seq,
    })
}

/// A VM metric's raw (time, value) rows in a window, for threshold triggers.
pub(crate) fn window(
    conn: &mut Conn,
    vm: i32,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, f64)>, StoreError> {
    raw(conn, "vm", vm, metric, from, to)
}

/// The raw (time, value) rows of a VM or node metric in a window.
fn raw(
    conn: &mut Conn,
    kind: &str,
    id: i32,
    metric: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, f64)>, StoreError> {
    macro_rules! vm_column {
        ($column:expr) => {
            vm_stats::table
                .filter(vm_stats::vm_id.eq(id))
                .filter(vm_stats::at.ge(from))
                .filter(vm_stats::at.lt(to))
                .order(vm_stats::at)
                .select((vm_stats::at, $column))
                .load::<(i64, f64)>(conn)?
        };
    }
    let rows = match (kind, metric) {
        ("vm", "cpu_pct") => vm_column!(vm_stats::cpu_pct),
        ("vm", "net_rx_bps") => vm_column!(vm_stats::net_rx_bps),
        ("vm", "net_tx_bps") => vm_column!(vm_stats::net_tx_bps),
        ("vm", "disk_rd_bps") => vm_column!(vm_stats::disk_rd_bps),
        ("vm", "disk_wr_bps") => vm_column!(vm_stats::disk_wr_bps),
        ("vm", "disk_rd_iops") => vm_column!(vm_stats::disk_rd_iops),
        ("vm", "disk_wr_iops") => vm_column!(vm_stats::disk_wr_iops),
        ("vm", "mem_kb" | "vcpus") => {
            let rows: Vec<(i64, i64, i32)> = vm_stats::table
                .filter(vm_stats::vm_id.eq(id))
                .filter(vm_stats::at.ge(from))
                .filter(vm_stats::at.lt(to))
                .order(vm_stats::at)
                .select((vm_stats::at, vm_stats::mem_kb, vm_stats::vcpus))
                .load(conn)?;
            rows.into_iter()
                .map(|(at, mem, vcpus)| {
                    (
                        at,
                        if metric == "mem_kb" {
                            mem as f64
                        } else {
                            f64::from(vcpus)
                        },
                    )
                })
                .collect()
        }
        ("node", metric) if crate::stats::is_extra_metric(metric) => node_extras::table
            .filter(node_extras::node_id.eq(id))
            .filter(node_extras::metric.eq(metric))
            .filter(node_extras::at.ge(from))
            .filter(node_extras::at.lt(to))
            .order(node_extras::at)
            .select((node_extras::at, node_extras::value))
            .load::<(i64, f64)>(conn)?,
        ("node", _) => {
            let rows: Vec<(i64, f64, i64, i64, i32)> = node_stats::table
                .filter(node_stats::node_id.eq(id))
                .filter(node_stats::at.ge(from))
                .filter(node_stats::at.lt(to))
                .order(node_stats::at)
                .select((
                    node_stats::at,
                    node_stats::cpu_pct,
                    node_stats::mem_total_kb,
                    node_stats::mem_free_kb,
                    node_stats::domains,
                ))
                .load(conn)?;
            rows.into_iter()
                .map(|(at, cpu, total, free, domains)| {
                    let value = match metric {
                        "cpu_pct" => cpu,
                        "mem_free_kb" => free as f64,
                        "mem_used_kb" => (total - free) as f64,
                        _ => f64::from(domains),
                    };
                    (at, value)
                })
                .collect()
        }
        _ => {
            return Err(StoreError::invalid(
                "metric",
                format!("unknown metric {:?}", crate::validate::shown(metric)),
            ));
        }
    };
    Ok(rows)
}

pub(crate) fn series(
    conn: &mut Conn,
    kind: &str,
    id: i32,
    metric: &str,
    from: i64,
    to: i64,
    step: i64,
    retention_days: i64,
    now: i64,
) -> Result<Vec<Point>, StoreError> {
    let raw_from = now - retention_days * 86_400;
    let minute_from = now - ROLLUP_RETENTION_DAYS.0 * 86_400;
    // Collector modules' metrics are not rolled up: raw samples only.
    if from >= raw_from || step < 60 || crate::stats::is_extra_metric(metric) {
        return Ok(bucket(&raw(conn, kind, id, metric, from, to)?, step));
    }
    let series = if from >= minute_from || step < 3600 {
        "1m"
    } else {
        "1h"
    };
    let rows: Vec<(i64, i32, f64, f64)> = stat_rollups::table
        .filter(stat_rollups::series.eq(series))
        .filter(stat_rollups::kind.eq(kind))
        .filter(stat_rollups::object_id.eq(id))
        .filter(stat_rollups::metric.eq(metric))
        .filter(stat_rollups::bucket.ge(from))
        .filter(stat_rollups::bucket.lt(to))
        .order(stat_rollups::bucket)
        .select((
            stat_rollups::bucket,
            stat_rollups::samples,
            stat_rollups::avg_value,
            stat_rollups::max_value,
        ))
        .load(conn)?;
    // Weighted by the samples behind each roll-up row.
    let mut points: Vec<(Point, f64)> = Vec::new();
    for (at, samples, avg, max) in rows {
        let start = at - at.rem_euclid(step);
        let weight = f64::from(samples.max(1));
        match points.last_mut() {
            Some((p, w)) if p.at == start => {
                p.avg = (p.avg * *w + avg * weight) / (*w + weight);
                p.max = p.max.max(max);
                *w += weight;
            }
            _ => points.push((
                Point {
                    at: start,
                    avg,
                    max,
                },
                weight,
            )),
        }
    }
    Ok(points.into_iter().map(|(p, _)| p).collect())
}

/// Aggregate `[from, to)` of one source into `series` buckets of `width` seconds,
/// replacing what was there (late samples are folded in by recomputing).
fn roll_window(
    conn: &mut Conn,
    series: &str,
    width: i64,
    from: i64,
    to: i64,
) -> Result<(), StoreError> {
    if to <= from {
        return Ok(());
    }
    diesel::delete(
        stat_rollups::table
            .filter(stat_rollups::series.eq(series))
            .filter(stat_rollups::bucket.ge(from))
            .filter(stat_rollups::bucket.lt(to)),
    )
    .execute(conn)?;
    // (kind, id, metric, bucket) → (samples, sum, max)
    let mut sums: HashMap<RollupKey, (i32, f64, f64)> = HashMap::new();
    let mut add = |kind: &'static str,
                   id: i32,
                   metric: &'static str,
                   at: i64,
                   value: f64,
                   weight: i32,
                   max: f64| {
        let entry = sums
            .entry((kind, id, metric, at - at.rem_euclid(width)))
            .or_insert((0, 0.0, f64::MIN));
        entry.0 += weight;
        entry.1 += value * f64::from(weight);
        entry.2 = entry.2.max(max);
    };
    if series == "1m" {
        let rows: Vec<VmStatRow> = vm_stats::table
            .filter(vm_stats::at.ge(from))
            .filter(vm_stats::at.lt(to))
            .select((
                vm_stats::vm_id,
                vm_stats::at,
                vm_stats::cpu_pct,
                vm_stats::mem_kb,
                vm_stats::vcpus,
                vm_stats::net_rx_bps,
                vm_stats::net_tx_bps,
                vm_stats::disk_rd_bps,
                vm_stats::disk_wr_bps,
                vm_stats::disk_rd_iops,
                vm_stats::disk_wr_iops,
            ))
            .load(conn)?;
        for (id, at, cpu, mem, vcpus, rx, tx, rd, wr, rdq, wrq) in rows {
            for (metric, value) in [
                ("cpu_pct", cpu),
                ("mem_kb", mem as f64),
                ("vcpus", f64::from(vcpus)),
                ("net_rx_bps", rx),
                ("net_tx_bps", tx),
                ("disk_rd_bps", rd),
                ("disk_wr_bps", wr),
                ("disk_rd_iops", rdq),
                ("disk_wr_iops", wrq),
            ] {
                add("vm", id, metric, at, value, 1, value);
            }
        }
        let rows: Vec<(i32, i64, f64, i64, i64, i32)> = node_stats::table
            .filter(node_stats::at.ge(from))
            .filter(node_stats::at.lt(to))
            .select((
                node_stats::node_id,
                node_stats::at,
                node_stats::cpu_pct,
                node_stats::mem_total_kb,
                node_stats::mem_free_kb,
                node_stats::domains,
            ))
            .load(conn)?;
        for (id, at, cpu, total, free, domains) in rows {
            for (metric, value) in [
                ("cpu_pct", cpu),
                ("mem_free_kb", free as f64),
                ("mem_used_kb", (total - free) as f64),
                ("domains", f64::from(domains)),
            ] {
                add("node", id, metric, at, value, 1, value);
            }
        }
    } else {
        let rows: Vec<(String, i32, String, i64, i32, f64, f64)> = stat_rollups::table
            .filter(stat_rollups::series.eq("1m"))
            .filter(stat_rollups::bucket.ge(from))
            .filter(stat_rollups::bucket.lt(to))
            .select((
                stat_rollups::kind,
                stat_rollups::object_id,
                stat_rollups::metric,
                stat_rollups::bucket,
                stat_rollups::samples,
                stat_rollups::avg_value,
                stat_rollups::max_value,
            ))
            .load(conn)?;
        for (kind, id, metric, at, samples, avg, max) in rows {
            let kind: &'static str = if kind == "vm" { "vm" } else { "node" };
            let Some(metric) = crate::stats::VM_METRICS
                .iter()
                .chain(crate::stats::NODE_METRICS)
                .find(|m| **m == metric)
            else {
                continue;
            };
            add(kind, id, metric, at, avg, samples, max);
        }
    }
    let values: Vec<_> = sums
        .into_iter()
        .map(|((kind, id, metric, at), (samples, sum, max))| {
            (
                stat_rollups::series.eq(series),
                stat_rollups::kind.eq(kind),
                stat_rollups::object_id.eq(id),
                stat_rollups::metric.eq(metric),
                stat_rollups::bucket.eq(at),
                stat_rollups::samples.eq(samples),
                stat_rollups::avg_value.eq(sum / f64::from(samples.max(1))),
                stat_rollups::max_value.eq(max),
            )
        })
        .collect();
    for chunk in values.chunks(500) {
        let insert = diesel::insert_into(stat_rollups::table).values(chunk);
        on_backend!(conn, |c| insert.execute(c))?;
    }
    Ok(())
}

/// How far back a roll-up is recomputed, so samples replayed late are folded in.
const LATE_SECS: i64 = 600;

pub(crate) fn roll_up(conn: &mut Conn, now: i64, retention_days: i64) -> Result<(), StoreError> {
    for (series, width) in [("1m", 60), ("1h", 3600)] {
        let until: Option<i64> = stat_watermarks::table
            .find(series)
            .select(stat_watermarks::rolled_until)
            .first(conn)
            .optional()?;
        // Complete buckets only; start where the last run stopped, less the late margin.
        let to = now - now.rem_euclid(width);
        let from = match until {
            Some(until) => until - LATE_SECS.max(width),
            // The first run starts at the oldest data there is.
            None if series == "1m" => {
                let vm: Option<i64> = vm_stats::table
                    .select(diesel::dsl::min(vm_stats::at))
                    .first(conn)?;
                let node: Option<i64> = node_stats::table
                    .select(diesel::dsl::min(node_stats::at))
                    .first(conn)?;
                vm.into_iter().chain(node).min().unwrap_or(to)
            }
            None => {
                let first: Option<i64> = stat_rollups::table
                    .filter(stat_rollups::series.eq("1m"))
                    .select(diesel::dsl::min(stat_rollups::bucket))
                    .first(conn)?;
                first.unwrap_or(to)
            }
        };
        let from = from - from.rem_euclid(width);
        roll_window(conn, series, width, from, to)?;
        diesel::delete(stat_watermarks::table.find(series)).execute(conn)?;
        diesel::insert_into(stat_watermarks::table)
            .values((
                stat_watermarks::series.eq(series),
                stat_watermarks::rolled_until.eq(to),
            ))
            .execute(conn)?;
    }
    let raw_cut = now - retention_days * 86_400;
    diesel::delete(vm_stats::table.filter(vm_stats::at.lt(raw_cut))).execute(conn)?;
    diesel::delete(node_stats::table.filter(node_stats::at.lt(raw_cut))).execute(conn)?;
    diesel::delete(node_extras::table.filter(node_extras::at.lt(raw_cut))).execute(conn)?;
    diesel::delete(stat_pushes::table.filter(stat_pushes::received_at.lt(raw_cut)))
        .execute(conn)?;
    diesel::delete(
        stat_rollups::table
            .filter(stat_rollups::series.eq("1m"))
            .filter(stat_rollups::bucket.lt(now - ROLLUP_RETENTION_DAYS.0 * 86_400)),
    )
    .execute(conn)?;
    diesel::delete(
        stat_rollups::table
            .filter(stat_rollups::series.eq("1h"))
            .filter(stat_rollups::bucket.lt(now - ROLLUP_RETENTION_DAYS.1 * 86_400)),
    )
    .execute(conn)?;
    Ok(())
}

pub(crate) fn recent_pushes(
    conn: &mut Conn,
    node: i32,
    limit: i64,
) -> Result<Vec<(i64, i64, i64)>, StoreError> {
    Ok(stat_pushes::table
        .filter(stat_pushes::node_id.eq(node))
        .order(stat_pushes::seq.desc())
        .limit(limit)
        .select((
            stat_pushes::seq,
            stat_pushes::sampled_at,
            stat_pushes::received_at,
        ))
        .load(conn)?)
}

/// The newest collector metrics of a node (see [`crate::Store::latest_extras`]).
pub(crate) fn latest_extras(
    conn: &mut Conn,
    node: i32,
) -> Result<Option<crate::stats::LatestExtras>, StoreError> {
    let newest: Option<i64> = node_extras::table
        .filter(node_extras::node_id.eq(node))
        .select(diesel::dsl::max(node_extras::at))
        .first(conn)?;
    let Some(at) = newest else {
        return Ok(None);
    };
    let metrics = node_extras::table
        .filter(node_extras::node_id.eq(node))
        .filter(node_extras::at.eq(at))
        .order(node_extras::metric)
        .select((node_extras::metric, node_extras::value))
        .load(conn)?;
    Ok(Some(crate::stats::LatestExtras { at, metrics }))
}
