//! Jobs: the record of every action that touches a hypervisor. The XML-RPC backend
//! records them as `pending`; the scheduler runs them and records the outcome.

use crate::backend::{query, transact};
use crate::{Caller, JobState, Store, StoreError};

/// One job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Row id.
    pub id: i32,
    /// What to do: `start`, `pause`, `create`, `update`, `attach-disk`, …
    pub action: String,
    /// `vm` or `node`.
    pub target_kind: String,
    /// The target's id.
    pub target_id: i32,
    /// Action parameters, `key=value` separated by spaces.
    pub params: String,
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

impl Store {
    /// One job; users see their own jobs and jobs on VMs they may view.
    pub fn get_job(&self, actor: &Caller, id: i32) -> Result<Job, StoreError> {
        query!(self, jobs::get_visible(actor, id))
    }

    /// Jobs the caller may see, newest first.
    pub fn list_jobs(&self, actor: &Caller, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        if let Some(limit) = filter.limit {
            crate::validate::range("limit", limit, 1, 1000)?;
        }
        query!(self, jobs::list(actor, filter))
    }

    /// Cancel a pending job. Users cancel their own; admins and operators any.
    pub fn cancel_job(&self, actor: &Caller, id: i32) -> Result<(), StoreError> {
        transact!(self, jobs::cancel(actor, id))
    }
}
