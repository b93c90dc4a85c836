//! Claiming the next job: the one query whose SQL differs between the backends.
//!
//! A job is due when it is pending and its `not_before` has passed. It may be claimed
//! only when no job on the same target is running and no older job on the same target is
//! still pending, so actions on one VM run one at a time and in order.
//!
//! - SQLite: the claim runs in an `IMMEDIATE` transaction, which already serializes all
//!   writers.
//! - PostgreSQL: candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent workers in
//!   any number of processes never take the same row, and a transaction-scoped advisory
//!   lock on the target closes the window in which two workers could each take a
//!   different job of the same VM.

use diesel::prelude::*;

use crate::db::Conn;
use crate::ops;
use crate::schema::{self, jobs};
use crate::{Job, JobState, Store, StoreError};

/// How many due jobs one claim looks at before giving up until the next round.
const CANDIDATES: i64 = 32;

diesel::define_sql_function! {
    /// PostgreSQL's `pg_try_advisory_xact_lock(bigint)`.
    fn pg_try_advisory_xact_lock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}

/// A number naming a job target for advisory locks.
fn target_key(kind: &str, id: i32) -> i64 {
    let class: i64 = if kind == "vm" { 1 } else { 2 };
    (class << 32) | i64::from(id as u32)
}

pub(crate) fn claim_job(store: &Store, worker: &str, now: i64) -> Result<Option<Job>, StoreError> {
    store.write(|conn| {
        let due = jobs::table
            .filter(jobs::state.eq(JobState::Pending.as_str()))
            .filter(jobs::not_before.le(now))
            .order(jobs::id)
            .limit(CANDIDATES)
            .select((jobs::id, jobs::target_kind, jobs::target_id));
        let candidates: Vec<(i32, String, i32)> = match conn {
            // The IMMEDIATE transaction already serializes every writer.
            Conn::Sqlite(c) => due.load(c)?,
            Conn::Postgres(c) => due.for_update().skip_locked().load(c)?,
        };
        for (id, kind, target) in candidates {
            let locked = match conn {
                Conn::Sqlite(_) => true,
                Conn::Postgres(c) => {
                    diesel::select(pg_try_advisory_xact_lock(target_key(&kind, target)))
                        .get_result(c)?
                }
            };
            if locked && ops::jobs::target_is_free(conn, id, &kind, target)? {
                return ops::jobs::take(conn, id, worker, now).map(Some);
            }
        }
        Ok(None)
    })
}

/// How many due schedules one round (one transaction) fires.
pub(crate) const SCHEDULES_PER_ROUND: usize = 1000;

/// Fire the schedules due at `now` (see `schedules.rs`); on PostgreSQL the due rows are
/// locked `SKIP LOCKED`, so concurrent schedulers split them and none fires twice.
/// Returns (schedules looked at, jobs recorded).
pub(crate) fn due_schedules(store: &Store, now: i64) -> Result<(usize, usize), StoreError> {
    store.write(|conn| {
        let due = schema::schedules::table
            .filter(schema::schedules::enabled.eq(true))
            .filter(schema::schedules::next_run.le(now))
            .order(schema::schedules::next_run)
            .limit(SCHEDULES_PER_ROUND as i64)
            .select(schema::schedules::id);
        let ids: Vec<i32> = match conn {
            Conn::Sqlite(c) => due.load(c)?,
            Conn::Postgres(c) => due.for_update().skip_locked().load(c)?,
        };
        let mut fired = 0;
        for id in &ids {
            fired += usize::from(ops::schedules::fire(conn, *id, now)?);
        }
        Ok((ids.len(), fired))
    })
}
