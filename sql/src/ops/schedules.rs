//! Schedule queries.

use crate::JobAction;
use crate::db::Conn;
use diesel::prelude::*;

use crate::schedules::{Calendar, MISSED_AFTER_SECS};
use crate::schema::schedules;
use crate::{
    Caller, JobKind, MissedRuns, NewSchedule, Permission, Schedule, ScheduleUpdate, StoreError,
};

type ScheduleRow = (
    i32,
    String,
    String,
    i32,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i32>,
    Option<i64>,
    Option<i64>,
    bool,
    Option<i32>,
);

macro_rules! schedule_columns {
    () => {
        (
            schedules::id,
            schedules::name,
            schedules::action,
            schedules::target_id,
            schedules::params,
            schedules::cron,
            schedules::timezone,
            schedules::missed,
            schedules::ends_at,
            schedules::remaining,
            schedules::next_run,
            schedules::last_run,
            schedules::enabled,
            schedules::created_by,
        )
    };
}

fn to_schedule(row: ScheduleRow) -> Result<Schedule, StoreError> {
    let (
        id,
        name,
        action,
        vm_id,
        params,
        cron,
        timezone,
        missed,
        ends_at,
        remaining,
        next_run,
        last_run,
        enabled,
        created_by,
    ) = row;
    Ok(Schedule {
        id,
        name,
        action,
        vm_id,
        params,
        cron,
        timezone,
        missed: MissedRuns::parse(&missed, "missed")?,
        ends_at,
        remaining,
        next_run,
        last_run,
        enabled,
        created_by,
    })
}

fn get(conn: &mut Conn, id: i32) -> Result<Schedule, StoreError> {
    let row: Option<ScheduleRow> = schedules::table
        .find(id)
        .select(schedule_columns!())
        .first(conn)
        .optional()?;
    to_schedule(row.ok_or_else(|| StoreError::not_found("schedule", id))?)
}

pub(crate) fn get_visible(
    conn: &mut Conn,
    actor: &Caller,
    id: i32,
) -> Result<Schedule, StoreError> {
    let schedule = get(conn, id)?;
    if actor.sees_all_vms() || schedule.created_by == Some(actor.user_id) {
        Ok(schedule)
    } else {
        // Another user's schedule is as absent as a missing one.
        Err(StoreError::not_found("schedule", id))
    }
}

pub(crate) fn create(
    conn: &mut Conn,
    actor: &Caller,
    new: &NewSchedule,
    first: Option<i64>,
    needs: Permission,
) -> Result<i32, StoreError> {
    super::vms::require(conn, actor, new.vm_id, needs)?;
    if let JobAction::Revert { snapshot } = JobAction::parse(&new.action, &new.params)? {
        super::snapshots::present(conn, new.vm_id, snapshot)?;
    }
    let taken: i64 = schedules::table
        .filter(schedules::name.eq(&new.name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "a schedule named '{}' exists",
            new.name
        )));
    }
    let id = diesel::insert_into(schedules::table)
        .values((
            schedules::name.eq(&new.name),
            schedules::action.eq(&new.action),
            schedules::target_kind.eq("vm"),
            schedules::target_id.eq(new.vm_id),
            schedules::params.eq(&new.params),
            schedules::cron.eq(&new.cron),
            schedules::timezone.eq(&new.timezone),
            schedules::missed.eq(new.missed.as_str()),
            schedules::ends_at.eq(new.ends_at),
            schedules::remaining.eq(new.count),
            schedules::next_run.eq(first),
            schedules::enabled.eq(true),
            schedules::created_by.eq(actor.user_id),
            schedules::created_at.eq(crate::now()),
        ))
        .returning(schedules::id)
        .get_result(conn)
        .map_err(|e| crate::error::conflict_on_unique(e, "the schedule name"))?;
    super::audit::record(
        conn,
        Some(actor),
        "schedule.create",
        "vm",
        Some(new.vm_id),
        &format!(
            "schedule '{}': {} at '{}' ({})",
            new.name, new.action, new.cron, new.timezone
        ),
    )?;
    Ok(id)
}

pub(crate) fn list(conn: &mut Conn, actor: &Caller) -> Result<Vec<Schedule>, StoreError> {
    let mut query = schedules::table
        .select(schedule_columns!())
        .order(schedules::id)
        .into_boxed();
    if !actor.sees_all_vms() {
        query = query.filter(schedules::created_by.eq(actor.user_id));
    }
    query
        .load::<ScheduleRow>(conn)?
        .into_iter()
        .map(to_schedule)
        .collect()
}

pub(crate) fn update(
    conn: &mut Conn,
    actor: &Caller,
    id: i32,
    update: &ScheduleUpdate,
    cron: &str,
    timezone: &str,
    ends_at: Option<i64>,
    next_run: Option<i64>,
) -> Result<(), StoreError> {
    let schedule = get_visible(conn, actor, id)?;
    let remaining = match update.count {
        Some(c) if c > 0 => Some(c),
        Some(_) => None,
        None => schedule.remaining,
    };
    diesel::update(schedules::table.find(id))
        .set((
            schedules::cron.eq(cron),
            schedules::timezone.eq(timezone),
            schedules::missed.eq(update.missed.unwrap_or(schedule.missed).as_str()),
            schedules::enabled.eq(update.enabled.unwrap_or(schedule.enabled)),
            schedules::ends_at.eq(ends_at),
            schedules::remaining.eq(remaining),
            schedules::next_run.eq(next_run),
        ))
        .execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "schedule.update",
        "vm",
        Some(schedule.vm_id),
        &format!("schedule '{}' now '{cron}' ({timezone})", schedule.name),
    )
}

pub(crate) fn delete(conn: &mut Conn, actor: &Caller, id: i32) -> Result<(), StoreError> {
    let schedule = get_visible(conn, actor, id)?;
    diesel::delete(schedules::table.find(id)).execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "schedule.delete",
        "vm",
        Some(schedule.vm_id),
        &format!("schedule '{}' deleted", schedule.name),
    )
}

/// Fire one due schedule: record its job (unless the run was missed and the policy is to
/// skip), count it, and advance to the next occurrence. Returns whether a job was recorded.
/// Why the schedule's creator may no longer run it (gone, disabled, or without the
/// permission its action needs on the VM), or `None` when they still may.
fn creator_refuses(conn: &mut Conn, schedule: &Schedule) -> Result<Option<String>, StoreError> {
    let Some(creator) = schedule.created_by else {
        return Ok(None);
    };
    let Some(caller) = super::users::active_caller(conn, creator)? else {
        return Ok(Some(format!(
            "its creator (user {creator}) is deleted or disabled"
        )));
    };
    let needs = crate::schedules::permission_for(&schedule.action);
    match super::vms::require(conn, &caller, schedule.vm_id, needs) {
        Ok(_) => Ok(None),
        Err(StoreError::NotFound { .. } | StoreError::NotPermitted(_)) => Ok(Some(format!(
            "its creator '{}' no longer holds {needs} on VM {}",
            caller.username, schedule.vm_id
        ))),
        Err(other) => Err(other),
    }
}

pub(crate) fn fire(conn: &mut Conn, id: i32, now: i64) -> Result<bool, StoreError> {
    let schedule = get(conn, id)?;
    let Some(due) = schedule.next_run.filter(|t| *t <= now) else {
        return Ok(false);
    };
    // The creator's rights are checked again at every run: a schedule never does
    // more than its creator still may.
    if let Some(refusal) = creator_refuses(conn, &schedule)? {
        diesel::update(schedules::table.find(id))
            .set((
                schedules::enabled.eq(false),
                schedules::next_run.eq(None::<i64>),
            ))
            .execute(conn)?;
        super::audit::record(
            conn,
            None,
            "schedule.disabled",
            "vm",
            Some(schedule.vm_id),
            &format!("schedule '{}' disabled: {refusal}", schedule.name),
        )?;
        return Ok(false);
    }
    let missed = now - due > MISSED_AFTER_SECS;
    let run = !(missed && schedule.missed == MissedRuns::Skip);
    if run {
        super::jobs::record(
            conn,
            schedule.created_by,
            JobKind::Recurring,
            Some(id),
            &JobAction::parse(&schedule.action, &schedule.params)?,
            schedule.vm_id,
        )?;
    }
    let remaining = match schedule.remaining {
        Some(n) if run => Some(n - 1),
        other => other,
    };
    let next = match Calendar::parse(&schedule.cron, &schedule.timezone) {
        Ok(calendar) => calendar.next_after(due.max(now)),
        Err(_) => None,
    };
    let next = next
        .filter(|t| schedule.ends_at.is_none_or(|end| *t <= end))
        .filter(|_| remaining.is_none_or(|n| n > 0));
    diesel::update(schedules::table.find(id))
        .set((
            schedules::next_run.eq(next),
            schedules::remaining.eq(remaining),
        ))
        .execute(conn)?;
    if run {
        diesel::update(schedules::table.find(id))
            .set(schedules::last_run.eq(now))
            .execute(conn)?;
    }
    Ok(run)
}
