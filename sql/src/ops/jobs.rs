//! Job queries.

use crate::db::Conn;
use diesel::prelude::*;

use crate::jobs::{JobRow, job_columns, to_job};
use crate::schema::{jobs, vm_grants, vms};
use crate::{Caller, Job, JobAction, JobFilter, JobKind, JobState, Permission, StoreError};

/// Record a pending job a user asked for, inside the caller's transaction.
pub(crate) fn create(
    conn: &mut Conn,
    caller: &Caller,
    action: &JobAction,
    target_id: i32,
) -> Result<i32, StoreError> {
    record(
        conn,
        caller.author_id(),
        JobKind::User,
        None,
        action,
        target_id,
    )
}

/// Record a pending job of any kind, inside the caller's transaction.
pub(crate) fn record(
    conn: &mut Conn,
    created_by: Option<i32>,
    kind: JobKind,
    origin_id: Option<i32>,
    action: &JobAction,
    target_id: i32,
) -> Result<i32, StoreError> {
    let id: i32 = diesel::insert_into(jobs::table)
        .values((
            jobs::action.eq(action.name()),
            jobs::target_kind.eq(action.target_kind().as_str()),
            jobs::target_id.eq(target_id),
            jobs::params.eq(action.params()),
            jobs::state.eq(JobState::Pending.as_str()),
            jobs::created_by.eq(created_by),
            jobs::created_at.eq(crate::now()),
            jobs::kind.eq(kind.as_str()),
            jobs::origin_id.eq(origin_id),
        ))
        .returning(jobs::id)
        .get_result(conn)?;
    job_event(conn, id, action, target_id, JobState::Pending, "")?;
    Ok(id)
}

/// Refuse an action already waiting or running on the same target (a second detach of
/// one disk, a second revert): [`StoreError::Conflict`] naming the job.
pub(crate) fn refuse_repeat(
    conn: &mut Conn,
    target_id: i32,
    action: &JobAction,
) -> Result<(), StoreError> {
    let waiting: Option<i32> = jobs::table
        .filter(jobs::target_kind.eq(action.target_kind().as_str()))
        .filter(jobs::target_id.eq(target_id))
        .filter(jobs::action.eq(action.name()))
        .filter(jobs::params.eq(action.params()))
        .filter(jobs::state.eq_any([JobState::Pending.as_str(), JobState::Running.as_str()]))
        .select(jobs::id)
        .first(conn)
        .optional()?;
    match waiting {
        Some(job) => Err(StoreError::Conflict(format!(
            "job {job} already does this ({action} {})",
            action.params()
        ))),
        None => Ok(()),
    }
}

/// Send a job's new state on the event stream (its outcomes are audited as well).
pub(crate) fn job_event(
    conn: &mut Conn,
    id: i32,
    action: &JobAction,
    target_id: i32,
    state: JobState,
    detail: &str,
) -> Result<(), StoreError> {
    super::events::record(
        conn,
        None,
        &format!("job.{action}"),
        action.target_kind().as_str(),
        Some(target_id),
        detail,
        super::events::Extra {
            state: Some(state.as_str()),
            job: Some(id),
        },
    )
}

/// A VM's pending and running jobs, oldest first.
pub(crate) fn unfinished_on_vm(conn: &mut Conn, vm: i32) -> Result<Vec<Job>, StoreError> {
    let rows: Vec<JobRow> = jobs::table
        .filter(jobs::target_kind.eq("vm"))
        .filter(jobs::target_id.eq(vm))
        .filter(jobs::state.eq_any([JobState::Pending.as_str(), JobState::Running.as_str()]))
        .order(jobs::id)
        .select(job_columns!())
        .load(conn)?;
    rows.into_iter().map(to_job).collect()
}

pub(crate) fn get(conn: &mut Conn, id: i32) -> Result<Job, StoreError> {
    let row: Option<JobRow> = jobs::table
        .find(id)
        .select(job_columns!())
        .first(conn)
        .optional()?;
    to_job(row.ok_or_else(|| StoreError::not_found("job", id))?)
}

pub(crate) fn get_visible(conn: &mut Conn, caller: &Caller, id: i32) -> Result<Job, StoreError> {
    let job = get(conn, id)?;
    if caller.sees_all_vms() || job.created_by == Some(caller.user_id) {
        return Ok(job);
    }
    if job.target_kind == "vm"
        && super::vms::require(conn, caller, job.target_id, Permission::View).is_ok()
    {
        return Ok(job);
    }
    // Another user's job is as absent as a missing one.
    Err(StoreError::not_found("job", id))
}

pub(crate) fn list(
    conn: &mut Conn,
    caller: &Caller,
    filter: &JobFilter,
) -> Result<Vec<Job>, StoreError> {
    let mut query = jobs::table
        .select(job_columns!())
        .order(jobs::id.desc())
        .limit(filter.limit.unwrap_or(100))
        .into_boxed();
    if !caller.sees_all_vms() {
        let owned = vms::table
            .filter(vms::owner_id.eq(caller.user_id))
            .select(vms::id);
        let granted = vm_grants::table
            .filter(vm_grants::user_id.eq(caller.user_id))
            .filter(super::vms::grant_in_force(crate::now()))
            .select(vm_grants::vm_id);
        query = query.filter(
            jobs::created_by
                .eq(caller.user_id)
                .or(jobs::target_kind.eq("vm").and(
                    jobs::target_id
                        .eq_any(owned)
                        .or(jobs::target_id.eq_any(granted)),
                )),
        );
    }
    if let Some(state) = filter.state {
        query = query.filter(jobs::state.eq(state.as_str()));
    }
    if let Some(vm) = filter.vm {
        query = query
            .filter(jobs::target_kind.eq("vm"))
            .filter(jobs::target_id.eq(vm));
    }
    query
        .load::<JobRow>(conn)?
        .into_iter()
        .map(to_job)
        .collect()
}

pub(crate) fn cancel(conn: &mut Conn, caller: &Caller, id: i32) -> Result<(), StoreError> {
    let job = get_visible(conn, caller, id)?;
    if !caller.sees_all_vms() && job.created_by != Some(caller.user_id) {
        return Err(StoreError::NotPermitted(format!(
            "only the user who asked for job {id}, an operator or an admin may cancel it"
        )));
    }
    if job.state != JobState::Pending {
        return Err(StoreError::WrongState(format!(
            "job {id} is {}; only pending jobs can be cancelled",
            job.state
        )));
    }
    let changed = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::state.eq(JobState::Pending.as_str())),
    )
    .set((
        jobs::state.eq(JobState::Cancelled.as_str()),
        jobs::finished_at.eq(crate::now()),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::Conflict(format!(
            "job {id} started before it could be cancelled"
        )));
    }
    let (kind, target) = (job.target_kind.clone(), job.target_id);
    super::audit::record_with(
        conn,
        Some(caller),
        "job.cancel",
        &kind,
        Some(target),
        &format!("cancelled job {id} ({})", job.action),
        super::events::Extra {
            state: Some(JobState::Cancelled.as_str()),
            job: Some(id),
        },
    )
}

/// No job on the target is running, and no older one is still waiting.
pub(crate) fn target_is_free(
    conn: &mut Conn,
    id: i32,
    kind: &str,
    target: i32,
) -> Result<bool, StoreError> {
    let blocking: i64 = jobs::table
        .filter(jobs::target_kind.eq(kind))
        .filter(jobs::target_id.eq(target))
        .filter(
            jobs::state.eq(JobState::Running.as_str()).or(jobs::state
                .eq(JobState::Pending.as_str())
                .and(jobs::id.lt(id))),
        )
        .count()
        .get_result(conn)?;
    Ok(blocking == 0)
}

/// Mark a job running under `worker`, one more attempt; returns it.
pub(crate) fn take(conn: &mut Conn, id: i32, worker: &str, now: i64) -> Result<Job, StoreError> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::state.eq(JobState::Running.as_str()),
            jobs::worker.eq(worker),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::started_at.eq(now),
            jobs::heartbeat.eq(now),
        ))
        .execute(conn)?;
    let job = get(conn, id)?;
    job_event(
        conn,
        id,
        &job.action,
        job.target_id,
        JobState::Running,
        &format!("attempt {}", job.attempts),
    )?;
    Ok(job)
}
