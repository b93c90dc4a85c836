//! `schedule.*`: recurring VM actions on a calendar (cron syntax in a time zone).

use dxr::{Fault, Value};
use zentific_sql::{MissedRuns, NewSchedule, Role, Schedule, ScheduleUpdate};

use crate::fault::{ApiFault, from_store};
use crate::params::{Fields, Record, array, done, fields, int};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param};

/// Action parameters as a struct `{memory_kb?, max_memory_kb?, vcpus?}` (update) or
/// `{snapshot}` (revert) ↔ `k=v` text.
pub(crate) fn read_action_params(f: &mut Fields<'_>) -> Result<String, Fault> {
    let Some(mut p) = f.opt_fields("params")? else {
        return Ok(String::new());
    };
    let pairs = [
        ("memory_kb", p.opt_long("memory_kb")?),
        ("max_memory_kb", p.opt_long("max_memory_kb")?),
        ("vcpus", p.opt_long("vcpus")?),
        ("snapshot", p.opt_long("snapshot")?),
    ];
    p.finish()?;
    Ok(pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" "))
}

/// `k=v` action parameters as a struct value.
pub(crate) fn action_params_value(params: &str) -> Value {
    params
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .fold(Record::new(), |r, (k, v)| r.long(k, v.parse().unwrap_or(0)))
        .build()
}

fn missed(f: &mut Fields<'_>) -> Result<Option<MissedRuns>, Fault> {
    f.opt_string("missed")?
        .map(|m| MissedRuns::parse(&m, "missed").map_err(from_store))
        .transpose()
}

fn schedule_record(s: &Schedule) -> Value {
    let mut record = Record::new()
        .int("id", s.id)
        .string("name", &s.name)
        .int("vm", s.vm_id)
        .string("action", &s.action)
        .value("params", action_params_value(&s.params))
        .string("cron", &s.cron)
        .string("timezone", &s.timezone)
        .string("missed", s.missed.as_str())
        .opt_time("ends", s.ends_at)
        .opt_int("remaining", s.remaining)
        .opt_time("next_run", s.next_run)
        .opt_time("last_run", s.last_run)
        .bool("enabled", s.enabled);
    if let Some(by) = s.created_by {
        record = record.int("created_by", by);
    }
    record.build()
}

const ANY_USER: Access = Access::Session(Role::User);

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "schedule.create",
        help: "Run a VM action on a calendar: {name, vm, action (start, pause, unpause, shutdown, reboot, destroy, update, revert, or an enabled module's job action <module>.<action>, which needs modify), cron, timezone? (default UTC), missed? (skip | run_once, default skip), ends? (dateTime), count? (number of runs), params? {memory_kb?, max_memory_kb?, vcpus?} for the update action, {snapshot} (an id from vm.snapshots) for revert}. cron has 5 fields (minute hour day month weekday) or 6 with seconds first. action is start, pause, unpause, shutdown, reboot, destroy, update or revert (a lab reset: revert every night to a clean snapshot); you need power (modify for update and revert) on the VM. Returns the id. Fault 4 names a malformed field.",
        params: &[TOKEN, param("schedule", Type::Struct)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: create,
    },
    Method {
        name: "schedule.list",
        help: "Your schedules (every schedule for operators and admins): {id, name, vm, action, params, cron, timezone, missed, ends?, remaining?, next_run?, last_run?, enabled, created_by?}.",
        params: &[TOKEN],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "schedule.update",
        help: "Change {cron?, timezone?, missed?, enabled?, ends? (dateTime; the epoch removes it), count? (0 removes the limit)} of a schedule; the next run is computed anew. Returns true.",
        params: &[
            TOKEN,
            param("id", Type::Int),
            param("changes", Type::Struct),
        ],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: update,
    },
    Method {
        name: "schedule.delete",
        help: "Delete a schedule; jobs it already fired stay. Returns true.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: delete,
    },
];

fn create(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "schedule")?;
    let new = NewSchedule {
        name: f.string("name")?,
        vm_id: f.int("vm")?,
        action: crate::modules::checked_action(ctx, f.string("action")?)?,
        params: read_action_params(&mut f)?,
        cron: f.string("cron")?,
        timezone: f.opt_string("timezone")?.unwrap_or_else(|| "UTC".into()),
        missed: missed(&mut f)?.unwrap_or(MissedRuns::Skip),
        ends_at: f.opt_time("ends")?,
        count: f.opt_int("count")?,
    };
    f.finish()?;
    Ok(Value::Integer(
        ctx.store.create_schedule(ctx.caller()?, &new)?,
    ))
}

fn list(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    Ok(array(
        ctx.store
            .list_schedules(ctx.caller()?)?
            .iter()
            .map(schedule_record),
    ))
}

fn update(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let id = int(params, 1, "id")?;
    let mut f = fields(params, 2, "changes")?;
    let changes = ScheduleUpdate {
        cron: f.opt_string("cron")?,
        timezone: f.opt_string("timezone")?,
        missed: missed(&mut f)?,
        enabled: f.opt_bool("enabled")?,
        ends_at: f.opt_time("ends")?,
        count: f.opt_int("count")?,
    };
    f.finish()?;
    ctx.store.update_schedule(ctx.caller()?, id, &changes)?;
    Ok(done())
}

fn delete(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    ctx.store
        .delete_schedule(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(done())
}
