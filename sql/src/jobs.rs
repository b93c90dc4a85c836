//! Jobs: the record of every action that touches a hypervisor. The XML-RPC backend
//! records them as `pending`; the scheduler runs them and records the outcome.

use crate::{Caller, JobKind, JobState, Store, StoreError};

/// One job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Row id.
    pub id: i32,
    /// What to do (its name and parameters are what `job.get` shows).
    pub action: crate::JobAction,
    /// `vm` or `node`.
    pub target_kind: String,
    /// The target's id.
    pub target_id: i32,
    /// Where it is in its life.
    pub state: JobState,
    /// Dispatch attempts so far.
    pub attempts: i32,
    /// Why it failed, in the hypervisor's words where it gave some.
    pub error: String,
    /// Who asked for it, if a user did.
    pub created_by: Option<i32>,
    /// When it was recorded.
    pub created_at: i64,
    /// When it started running.
    pub started_at: Option<i64>,
    /// When it finished.
    pub finished_at: Option<i64>,
    /// Where it came from.
    pub kind: crate::JobKind,
    /// The schedule or trigger that fired it.
    pub origin_id: Option<i32>,
    /// Not to be dispatched before this time (retry backoff).
    pub not_before: i64,
    /// For a failed job, the API fault code of the failure (one of [`crate::fault_code`]:
    /// `UNREACHABLE`, `WRONG_STATE`, `NOT_FOUND` for an unknown domain, `INTERNAL`
    /// otherwise); 0 otherwise.
    pub fault: i32,
    /// The scheduler (`host:pid`) that ran it last; empty before that.
    pub worker: String,
    /// For a succeeded change, where it took effect: `now`, or `next boot` when only the
    /// persistent definition could change; empty when not said.
    pub applies: String,
}

/// Filters of `job.list`; `None` matches all.
#[derive(Clone, Copy, Debug, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs on this VM.
    pub vm: Option<i32>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// A job row as [`job_columns!`] selects it.
pub(crate) type JobRow = (
    (
        i32,
        String,
        String,
        i32,
        String,
        String,
        i32,
        String,
        Option<i32>,
        i64,
        Option<i64>,
        Option<i64>,
    ),
    (String, Option<i32>, i64, i32, String, String),
);

/// The columns [`JobRow`] reads, in order.
macro_rules! job_columns {
    () => {
        (
            (
                crate::schema::jobs::id,
                crate::schema::jobs::action,
                crate::schema::jobs::target_kind,
                crate::schema::jobs::target_id,
                crate::schema::jobs::params,
                crate::schema::jobs::state,
                crate::schema::jobs::attempts,
                crate::schema::jobs::error,
                crate::schema::jobs::created_by,
                crate::schema::jobs::created_at,
                crate::schema::jobs::started_at,
                crate::schema::jobs::finished_at,
            ),
            (
                crate::schema::jobs::kind,
                crate::schema::jobs::origin_id,
                crate::schema::jobs::not_before,
                crate::schema::jobs::fault,
                crate::schema::jobs::worker,
                crate::schema::jobs::applies,
            ),
        )
    };
}
pub(crate) use job_columns;

/// Turn a selected row into a [`Job`].
pub(crate) fn to_job(row: JobRow) -> Result<Job, StoreError> {
    let (
        (
            id,
            action,
            target_kind,
            target_id,
            params,
            state,
            attempts,
            error,
            created_by,
            created_at,
            started_at,
            finished_at,
        ),
        (kind, origin_id, not_before, fault, worker, applies),
    ) = row;
    Ok(Job {
        id,
        action: crate::JobAction::parse(&action, &params)?,
        target_kind,
        target_id,
        state: JobState::parse(&state, "state")?,
        attempts,
        error,
        created_by,
        created_at,
        started_at,
        finished_at,
        kind: JobKind::parse(&kind, "kind")?,
        origin_id,
        not_before,
        fault,
        worker,
        applies,
    })
}

impl Store {
    /// One job; users see their own jobs and jobs on VMs they may view.
    pub fn get_job(&self, actor: &Caller, id: i32) -> Result<Job, StoreError> {
        self.read(|conn| crate::ops::jobs::get_visible(conn, actor, id))
    }

    /// Jobs the caller may see, newest first.
    pub fn list_jobs(&self, actor: &Caller, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        if let Some(limit) = filter.limit {
            crate::validate::range("limit", limit, 1, 1000)?;
        }
        self.read(|conn| crate::ops::jobs::list(conn, actor, filter))
    }

    /// Cancel a pending job. Users cancel their own; admins and operators any.
    pub fn cancel_job(&self, actor: &Caller, id: i32) -> Result<(), StoreError> {
        self.write(|conn| crate::ops::jobs::cancel(conn, actor, id))
    }
}
