//! `trigger.*`: VM actions fired by events — a VM entering a state, a node falling silent.

use dxr::Value;
use zentific_sql::{NewTrigger, Role, Trigger, TriggerEvent, VmState};

use super::schedule::{action_params_value, read_action_params};
use crate::fault::{ApiFault, from_store};
use crate::params::{Record, array, done, fields, int};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param};

fn trigger_record(t: &Trigger) -> Value {
    let mut record = Record::new()
        .int("id", t.id)
        .string("name", &t.name)
        .string("event", t.event.as_str())
        .opt_int("vm", t.vm_id)
        .opt_int("node", t.node_id)
        .opt_int("silent_secs", t.silent_secs)
        .string("action", &t.action)
        .int("target", t.target_vm)
        .value("params", action_params_value(&t.params))
        .bool("enabled", t.enabled)
        .opt_time("fired_at", t.fired_at)
        .opt_int("created_by", t.created_by);
    if let Some(state) = t.state {
        record = record.string("state", state.as_str());
    }
    if let (Some(metric), Some(threshold), Some(secs)) = (&t.metric, t.threshold, t.for_secs) {
        record = record
            .string("metric", metric)
            .double("threshold", threshold)
            .int("for_secs", secs);
    }
    record.build()
}

const ANY_USER: Access = Access::Session(Role::User);

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "trigger.create",
        help: "Run a VM action when something happens: {name, event, action (as for schedule.create, module job actions included), target (the VM acted on), params? {memory_kb?, max_memory_kb?, vcpus?}, and for event vm_state: vm or node (watch one VM, or every VM of a node — operators) and state? (fires on any change when absent); for event node_silent: node and silent_secs (at least 10); for event stat_threshold: vm, metric (see stats.vm), threshold (double) and for_secs (10-86400): fires when every sample of the last for_secs seconds is above the threshold, at most once per window}. A trigger rests 10 seconds after firing. Returns the id.",
        params: &[TOKEN, param("trigger", Type::Struct)],
        returns: Type::Int,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: create,
    },
    Method {
        name: "trigger.list",
        help: "Your triggers (every trigger for operators and admins): {id, name, event, vm?, node?, state?, silent_secs?, metric?, threshold?, for_secs?, action, target, params, enabled, fired_at?, created_by?}.",
        params: &[TOKEN],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "trigger.delete",
        help: "Delete a trigger. Returns true.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: delete,
    },
];

fn create(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "trigger")?;
    let new = NewTrigger {
        name: f.string("name")?,
        event: TriggerEvent::parse(&f.string("event")?, "event")?,
        vm_id: f.opt_int("vm")?,
        node_id: f.opt_int("node")?,
        state: f
            .opt_string("state")?
            .map(|s| VmState::parse(&s, "state").map_err(from_store))
            .transpose()?,
        silent_secs: f.opt_int("silent_secs")?,
        metric: f.opt_string("metric")?,
        threshold: f.opt_double("threshold")?,
        for_secs: f.opt_int("for_secs")?,
        action: crate::modules::checked_action(ctx, f.string("action")?)?,
        target_vm: f.int("target")?,
        params: read_action_params(&mut f)?,
    };
    f.finish()?;
    Ok(Value::Integer(
        ctx.store.create_trigger(ctx.caller()?, &new)?,
    ))
}

fn list(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    Ok(array(
        ctx.store
            .list_triggers(ctx.caller()?)?
            .iter()
            .map(trigger_record),
    ))
}

fn delete(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    ctx.store
        .delete_trigger(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(done())
}
