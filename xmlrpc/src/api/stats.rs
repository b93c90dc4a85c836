//! `stats.*`: samples pushed by the node pollers, and the series the pages draw.

use dxr::{Fault, Value};
use zentific_sql::{DomainSample, HostSample, Point, Role, Sample, VbdCounters, VifCounters};

use crate::fault::{ApiFault, INVALID_VALUE, fault};
use crate::params::{Fields, Record, array, fields, int, string};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param};

const POLLER_TOKEN: crate::registry::Param = param("poller_token", Type::String);

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "stats.push",
        help: "Store one poller sample (docs/poller-protocol.md): {seq, time, interval, source, host {cpus, cpu_mhz, mem_total_kb, mem_free_kb, hypervisor, uptime_s?}, domains [{domid, uuid?, name, state, cpu_ns, vcpus, mem_kb, max_mem_kb, vifs [...], vbds [...]}], extra?}; extra holds the metrics of the poller's collector modules, {<collector>.<metric>: number}. Authenticated by the node's poller token (fault 1 when unknown). A seq already stored is acknowledged and ignored. A malformed sample is fault 4 naming the member, and nothing of it is stored. A clock more than 5 minutes off is stored at the server's receive time. Returns {stored, seq}.",
        params: &[POLLER_TOKEN, param("sample", Type::Struct)],
        returns: Type::Struct,
        access: Access::Poller,
        vm_param: None,
        work: Work::Write,
        handler: push,
    },
    Method {
        name: "stats.pushes",
        help: "The newest samples a node's poller pushed, newest first: [{seq, sampled, received}] (the poller's clock and the server's), at most limit (1-10000). Shows gaps, replays from the poller's spool, and clock skew.",
        params: &[TOKEN, param("node", Type::Int), param("limit", Type::Int)],
        returns: Type::Array,
        access: Access::Session(Role::Operator),
        vm_param: None,
        work: Work::Read,
        handler: pushes,
    },
    Method {
        name: "stats.vm",
        help: "A VM's series: [{at, avg, max}] in step-second buckets between from and to (dateTime, UTC). Metrics: cpu_pct (percent of one CPU), mem_kb, vcpus, net_rx_bps, net_tx_bps, disk_rd_bps, disk_wr_bps (bytes/s), disk_rd_iops, disk_wr_iops. Answered from raw samples within the stat_retention_days option, else from 1-minute (30 days) or 1-hour (400 days) roll-ups. At most 10000 points. Needs view on the VM.",
        params: &[
            TOKEN,
            param("vm", Type::Int),
            param("metric", Type::String),
            param("from", Type::DateTime),
            param("to", Type::DateTime),
            param("step", Type::Int),
        ],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: Some((1, zentific_sql::Permission::View)),
        work: Work::Read,
        handler: vm,
    },
    Method {
        name: "stats.node",
        help: "A node's series like stats.vm; metrics: cpu_pct (the node's VMs' CPU, percent of all CPUs), mem_free_kb, mem_used_kb, domains, and the metrics of the poller's collector modules by name (<collector>.<metric>, such as dom0.load.1; kept raw for stat_retention_days, not rolled up).",
        params: &[
            TOKEN,
            param("node", Type::Int),
            param("metric", Type::String),
            param("from", Type::DateTime),
            param("to", Type::DateTime),
            param("step", Type::Int),
        ],
        returns: Type::Array,
        access: Access::Session(Role::Operator),
        vm_param: None,
        work: Work::Read,
        handler: node,
    },
];

fn vif(mut f: Fields<'_>) -> Result<VifCounters, Fault> {
    let v = VifCounters {
        id: f.int("id")?,
        rx_bytes: f.long("rx_bytes")?,
        tx_bytes: f.long("tx_bytes")?,
        rx_packets: f.long("rx_packets")?,
        tx_packets: f.long("tx_packets")?,
        rx_errors: f.long("rx_errors")?,
        tx_errors: f.long("tx_errors")?,
        rx_drops: f.long("rx_drops")?,
        tx_drops: f.long("tx_drops")?,
    };
    f.finish()?;
    Ok(v)
}

fn vbd(mut f: Fields<'_>) -> Result<VbdCounters, Fault> {
    let b = VbdCounters {
        id: f.int("id")?,
        rd_reqs: f.long("rd_reqs")?,
        wr_reqs: f.long("wr_reqs")?,
        rd_sectors: f.long("rd_sectors")?,
        wr_sectors: f.long("wr_sectors")?,
        oo_reqs: f.long("oo_reqs")?,
    };
    f.finish()?;
    Ok(b)
}

fn domain(mut f: Fields<'_>) -> Result<DomainSample, Fault> {
    let d = DomainSample {
        domid: f.int("domid")?,
        uuid: f.opt_string("uuid")?,
        name: f.string("name")?,
        state: f.string("state")?,
        cpu_ns: f.long("cpu_ns")?,
        vcpus: f.int("vcpus")?,
        mem_kb: f.long("mem_kb")?,
        max_mem_kb: f.long("max_mem_kb")?,
        vifs: f.opt_array("vifs", vif)?,
        vbds: f.opt_array("vbds", vbd)?,
    };
    f.finish()?;
    Ok(d)
}

/// Read a sample; any shape error is a malformed sample (fault 4), naming the member.
fn read_sample(params: &[Value]) -> Result<Sample, Fault> {
    let mut f = fields(params, 1, "sample")?;
    let host = {
        let mut h = f
            .opt_fields("host")?
            .ok_or_else(|| fault(INVALID_VALUE, "invalid value for 'sample.host': is missing"))?;
        let host = HostSample {
            cpus: h.int("cpus")?,
            cpu_mhz: h.int("cpu_mhz")?,
            mem_total_kb: h.long("mem_total_kb")?,
            mem_free_kb: h.long("mem_free_kb")?,
            hypervisor: h.string("hypervisor")?,
            uptime_s: h.opt_long("uptime_s")?,
        };
        h.finish()?;
        host
    };
    let sample = Sample {
        seq: f.long("seq")?,
        time: f.time("time")?,
        interval: f.int("interval")?,
        source: f.string("source")?,
        host,
        domains: f.opt_array("domains", domain)?,
        extra: f.opt_numbers("extra")?,
    };
    f.finish()?;
    Ok(sample)
}

fn push(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let node = ctx.poller_node()?;
    let sample = read_sample(params).map_err(|f| {
        if f.code() == INVALID_VALUE {
            f
        } else {
            fault(INVALID_VALUE, format!("malformed sample: {}", f.string()))
        }
    })?;
    let outcome = ctx.store.push_sample(node, &sample)?;
    Ok(Record::new()
        .bool("stored", outcome.stored)
        .long("seq", outcome.seq)
        .build())
}

fn pushes(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let (node, limit) = (int(params, 1, "node")?, int(params, 2, "limit")?);
    let rows = ctx
        .store
        .recent_pushes(ctx.caller()?, node, i64::from(limit))?;
    Ok(array(rows.into_iter().map(|(seq, sampled, received)| {
        Record::new()
            .long("seq", seq)
            .time("sampled", sampled)
            .time("received", received)
            .build()
    })))
}

fn points(points: Vec<Point>) -> Value {
    array(points.into_iter().map(|p| {
        Record::new()
            .time("at", p.at)
            .double("avg", p.avg)
            .double("max", p.max)
            .build()
    }))
}

fn window(params: &[Value]) -> Result<(String, i64, i64, i32), Fault> {
    let time = |index: usize| match params.get(index) {
        Some(Value::DateTime(t)) => Ok(time::PrimitiveDateTime::from(*t)
            .assume_utc()
            .unix_timestamp()),
        _ => Err(crate::fault::invalid_params(
            "from and to must be dateTime.iso8601",
        )),
    };
    Ok((
        string(params, 2, "metric")?.to_owned(),
        time(3)?,
        time(4)?,
        int(params, 5, "step")?,
    ))
}

fn vm(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let (metric, from, to, step) = window(params)?;
    let series = ctx.store.vm_series(
        ctx.caller()?,
        int(params, 1, "vm")?,
        &metric,
        from,
        to,
        step,
    )?;
    Ok(points(series))
}

fn node(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let (metric, from, to, step) = window(params)?;
    Ok(points(ctx.store.node_series(
        ctx.caller()?,
        int(params, 1, "node")?,
        &metric,
        from,
        to,
        step,
    )?))
}
