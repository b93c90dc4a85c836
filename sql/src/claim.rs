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
use diesel::{PgConnection, SqliteConnection};

use crate::backend::{Pools, postgres, sqlite};
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
    match &*store.pools {
        Pools::Sqlite(pool) => {
            let conn = &mut *pool.get()?;
            let _writer = store.sqlite_writer();
            conn.immediate_transaction(|conn| claim_sqlite(conn, worker, now))
        }
        Pools::Postgres(pool) => {
            let conn = &mut *pool.get()?;
            conn.transaction(|conn| claim_postgres(conn, worker, now))
        }
    }
}

fn claim_sqlite(
    conn: &mut SqliteConnection,
    worker: &str,
    now: i64,
) -> Result<Option<Job>, StoreError> {
    let candidates: Vec<(i32, String, i32)> = jobs::table
        .filter(jobs::state.eq(JobState::Pending.as_str()))
        .filter(jobs::not_before.le(now))
        .order(jobs::id)
        .limit(CANDIDATES)
        .select((jobs::id, jobs::target_kind, jobs::target_id))
        .load(conn)?;
    for (id, kind, target) in candidates {
        if sqlite::jobs::target_is_free(conn, id, &kind, target)? {
            return sqlite::jobs::take(conn, id, worker, now).map(Some);
        }
    }
    Ok(None)
}

fn claim_postgres(
    conn: &mut PgConnection,
    worker: &str,
    now: i64,
) -> Result<Option<Job>, StoreError> {
    let candidates: Vec<(i32, String, i32)> = jobs::table
        .filter(jobs::state.eq(JobState::Pending.as_str()))
        .filter(jobs::not_before.le(now))
        .order(jobs::id)
        .limit(CANDIDATES)
        .select((jobs::id, jobs::target_kind, jobs::target_id))
        .for_update()
        .skip_locked()
        .load(conn)?;
    for (id, kind, target) in candidates {
        let locked: bool = diesel::select(pg_try_advisory_xact_lock(target_key(&kind, target)))
            .get_result(conn)?;
        if locked && postgres::jobs::target_is_free(conn, id, &kind, target)? {
            return postgres::jobs::take(conn, id, worker, now).map(Some);
        }
    }
    Ok(None)
}

/// How many due schedules one round (one transaction) fires.
pub(crate) const SCHEDULES_PER_ROUND: usize = 1000;

/// Fire the schedules due at `now` (see `schedules.rs`); on PostgreSQL the due rows are
/// locked `SKIP LOCKED`, so concurrent schedulers split them and none fires twice.
/// Returns (schedules looked at, jobs recorded).
pub(crate) fn due_schedules(store: &Store, now: i64) -> Result<(usize, usize), StoreError> {
    match &*store.pools {
        Pools::Sqlite(pool) => {
            let conn = &mut *pool.get()?;
            let _writer = store.sqlite_writer();
            conn.immediate_transaction(|conn| {
                let ids = sqlite::schedules::due_ids(conn, now, SCHEDULES_PER_ROUND as i64)?;
                let mut fired = 0;
                for id in &ids {
                    fired += usize::from(sqlite::schedules::fire(conn, *id, now)?);
                }
                Ok((ids.len(), fired))
            })
        }
        Pools::Postgres(pool) => {
            let conn = &mut *pool.get()?;
            conn.transaction(|conn| {
                let ids: Vec<i32> = schema::schedules::table
                    .filter(schema::schedules::enabled.eq(true))
                    .filter(schema::schedules::next_run.le(now))
                    .order(schema::schedules::next_run)
                    .limit(SCHEDULES_PER_ROUND as i64)
                    .select(schema::schedules::id)
                    .for_update()
                    .skip_locked()
                    .load(conn)?;
                let mut fired = 0;
                for id in &ids {
                    fired += usize::from(postgres::schedules::fire(conn, *id, now)?);
                }
                Ok((ids.len(), fired))
            })
        }
    }
}
