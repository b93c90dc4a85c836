//! Trigger queries.

use crate::JobAction;
use crate::db::{Conn, on_backend};
use diesel::prelude::*;

use crate::schema::{nodes, triggers};
use crate::triggers::COOLDOWN_SECS;
use crate::{
    Caller, JobKind, NewTrigger, Permission, StateChange, StoreError, Trigger, TriggerEvent,
    VmState,
};

type TriggerRow = (
    (
        i32,
        String,
        String,
        Option<i32>,
        Option<i32>,
        Option<String>,
        Option<i32>,
        String,
        i32,
        String,
        bool,
        Option<i64>,
        Option<i32>,
    ),
    (Option<String>, Option<f64>, Option<i32>),
);

macro_rules! trigger_columns {
    () => {
        (
            (
                triggers::id,
                triggers::name,
                triggers::event,
                triggers::vm_id,
                triggers::node_id,
                triggers::state,
                triggers::silent_secs,
                triggers::action,
                triggers::target_id,
                triggers::params,
                triggers::enabled,
                triggers::fired_at,
                triggers::created_by,
            ),
            (triggers::metric, triggers::threshold, triggers::for_secs),
        )
    };
}

fn to_trigger(row: TriggerRow) -> Result<Trigger, StoreError> {
    let (
        (
            id,
            name,
            event,
            vm_id,
            node_id,
            state,
            silent_secs,
            action,
            target_vm,
            params,
            enabled,
            fired_at,
            created_by,
        ),
        (metric, threshold, for_secs),
    ) = row;
    Ok(Trigger {
        id,
        name,
        event: TriggerEvent::parse(&event, "event")?,
        vm_id,
        node_id,
        state: state.map(|s| VmState::parse(&s, "state")).transpose()?,
        silent_secs,
        metric,
        threshold,
        for_secs,
        action,
        target_vm,
        params,
        enabled,
        fired_at,
        created_by,
    })
}

pub(crate) fn create(
    conn: &mut Conn,
    actor: &Caller,
    new: &NewTrigger,
    needs: Permission,
) -> Result<i32, StoreError> {
    super::vms::require(conn, actor, new.target_vm, needs)?;
    if let Some(vm) = new.vm_id {
        super::vms::require(conn, actor, vm, Permission::View)?;
    }
    if let Some(node) = new.node_id {
        super::nodes::get(conn, node)?;
    }
    let taken: i64 = triggers::table
        .filter(triggers::name.eq(&new.name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "a trigger named '{}' exists",
            new.name
        )));
    }
    let id = diesel::insert_into(triggers::table)
        .values((
            triggers::name.eq(&new.name),
            triggers::event.eq(new.event.as_str()),
            triggers::vm_id.eq(new.vm_id),
            triggers::node_id.eq(new.node_id),
            triggers::state.eq(new.state.map(|s| s.as_str())),
            triggers::silent_secs.eq(new.silent_secs),
            triggers::metric.eq(&new.metric),
            triggers::threshold.eq(new.threshold),
            triggers::for_secs.eq(new.for_secs),
            triggers::action.eq(&new.action),
            triggers::target_kind.eq("vm"),
            triggers::target_id.eq(new.target_vm),
            triggers::params.eq(&new.params),
            triggers::enabled.eq(true),
            triggers::created_by.eq(actor.user_id),
            triggers::created_at.eq(crate::now()),
        ))
        .returning(triggers::id)
        .get_result(conn)
        .map_err(|e| crate::error::conflict_on_unique(e, "the trigger name"))?;
    super::audit::record(
        conn,
        Some(actor),
        "trigger.create",
        "vm",
        Some(new.target_vm),
        &format!(
            "trigger '{}' on {} runs {}",
            new.name, new.event, new.action
        ),
    )?;
    Ok(id)
}

pub(crate) fn list(conn: &mut Conn, actor: &Caller) -> Result<Vec<Trigger>, StoreError> {
    let mut query = triggers::table
        .select(trigger_columns!())
        .order(triggers::id)
        .into_boxed();
    if !actor.sees_all_vms() {
        query = query.filter(triggers::created_by.eq(actor.user_id));
    }
    query
        .load::<TriggerRow>(conn)?
        .into_iter()
        .map(to_trigger)
        .collect()
}

pub(crate) fn delete(conn: &mut Conn, actor: &Caller, id: i32) -> Result<(), StoreError> {
    let row: Option<TriggerRow> = triggers::table
        .find(id)
        .select(trigger_columns!())
        .first(conn)
        .optional()?;
    let trigger = to_trigger(row.ok_or_else(|| StoreError::not_found("trigger", id))?)?;
    if !actor.sees_all_vms() && trigger.created_by != Some(actor.user_id) {
        // Another user's trigger is as absent as a missing one.
        return Err(StoreError::not_found("trigger", id));
    }
    diesel::delete(triggers::table.find(id)).execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "trigger.delete",
        "vm",
        Some(trigger.target_vm),
        &format!("trigger '{}' deleted", trigger.name),
    )
}

fn fire(conn: &mut Conn, trigger: &Trigger, now: i64, why: &str) -> Result<(), StoreError> {
    let job = super::jobs::record(
        conn,
        trigger.created_by,
        JobKind::Event,
        Some(trigger.id),
        &JobAction::parse(&trigger.action, &trigger.params)?,
        trigger.target_vm,
    )?;
    diesel::update(triggers::table.find(trigger.id))
        .set(triggers::fired_at.eq(now))
        .execute(conn)?;
    super::audit::record(
        conn,
        None,
        "trigger.fired",
        "vm",
        Some(trigger.target_vm),
        &format!("trigger '{}' fired ({why}); job {job}", trigger.name),
    )
}

/// Fire the state triggers matching recorded state changes, inside their transaction.
pub(crate) fn fire_for_changes(conn: &mut Conn, changes: &[StateChange]) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = crate::now();
    let rows: Vec<TriggerRow> = triggers::table
        .filter(triggers::enabled.eq(true))
        .filter(triggers::event.eq(TriggerEvent::VmState.as_str()))
        .select(trigger_columns!())
        .load(conn)?;
    for trigger in rows.into_iter().map(to_trigger) {
        let trigger = trigger?;
        if trigger.fired_at.is_some_and(|t| now - t < COOLDOWN_SECS) {
            continue;
        }
        let hit = changes.iter().find(|c| {
            (trigger.vm_id == Some(c.vm_id)
                || (trigger.vm_id.is_none() && trigger.node_id == Some(c.node_id)))
                && trigger.state.is_none_or(|s| s == c.to)
        });
        if let Some(change) = hit {
            fire(
                conn,
                &trigger,
                now,
                &format!("VM {} {} → {}", change.vm_id, change.from, change.to),
            )?;
        }
    }
    Ok(())
}

pub(crate) fn fire_silent(conn: &mut Conn, now: i64) -> Result<usize, StoreError> {
    let rows: Vec<TriggerRow> = triggers::table
        .filter(triggers::enabled.eq(true))
        .filter(triggers::event.eq(TriggerEvent::NodeSilent.as_str()))
        .select(trigger_columns!())
        .load(conn)?;
    let mut fired = 0;
    for trigger in rows.into_iter().map(to_trigger) {
        let trigger = trigger?;
        let (Some(node), Some(secs)) = (trigger.node_id, trigger.silent_secs) else {
            continue;
        };
        let heard: Option<(Option<i64>, Option<i64>, i64)> = nodes::table
            .find(node)
            .select((nodes::last_seen, nodes::synced_at, nodes::created_at))
            .first(conn)
            .optional()?;
        let Some((last_seen, synced_at, created_at)) = heard else {
            continue;
        };
        let contact = last_seen.max(synced_at).unwrap_or(created_at);
        let silent = now - contact >= i64::from(secs);
        let already = trigger.fired_at.is_some_and(|t| t >= contact);
        if silent && !already {
            fire(
                conn,
                &trigger,
                now,
                &format!("node {node} silent for {}s", now - contact),
            )?;
            fired += 1;
        }
    }
    Ok(fired)
}

/// Fire the threshold triggers of the VMs in a new sample whose metric stayed above its
/// threshold for the whole window ending at `at` — every sample in it, and one at or just
/// before its start, so the window is covered; once per window.
pub(crate) fn fire_thresholds(
    conn: &mut Conn,
    vm_ids: &[i32],
    at: i64,
    interval: i64,
) -> Result<(), StoreError> {
    if vm_ids.is_empty() {
        return Ok(());
    }
    // Run on every push: on the concrete connection, like the push itself.
    let armed = triggers::table
        .filter(triggers::enabled.eq(true))
        .filter(triggers::event.eq(TriggerEvent::StatThreshold.as_str()))
        .filter(triggers::vm_id.eq_any(vm_ids))
        .select(trigger_columns!());
    let rows: Vec<TriggerRow> = on_backend!(conn, |c| armed.load(c))?;
    for trigger in rows.into_iter().map(to_trigger) {
        let trigger = trigger?;
        let (Some(vm), Some(metric), Some(threshold), Some(secs)) = (
            trigger.vm_id,
            trigger.metric.as_deref(),
            trigger.threshold,
            trigger.for_secs,
        ) else {
            continue;
        };
        let start = at - i64::from(secs);
        if trigger.fired_at.is_some_and(|t| t > start) {
            continue;
        }
        let points = super::stats::window(conn, vm, metric, start - interval, at + 1)?;
        let covered = points.first().is_some_and(|(t, _)| *t <= start);
        if covered && points.iter().all(|(_, value)| *value > threshold) {
            fire(
                conn,
                &trigger,
                at,
                &format!("{metric} above {threshold} on VM {vm} for {secs}s"),
            )?;
        }
    }
    Ok(())
}
