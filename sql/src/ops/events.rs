//! Event stream queries: recording events inside a write transaction, reading them after
//! a cursor, pruning old ones.
//!
//! Events are collected while a transaction runs and inserted just before it commits
//! ([`flush`], called by `Store::write`), so that sequence numbers follow commit order: on
//! PostgreSQL the flush takes a transaction-scoped advisory lock, held only from the insert
//! to the commit, and a reader that has seen event N can never later find an N−1 committed
//! behind it. Taking the lock last means its holder never waits for a row lock, so it
//! cannot deadlock with other writers. On SQLite writers are serial anyway.

use std::cell::RefCell;

use diesel::prelude::*;

use crate::db::Conn;
use crate::schema::{event_horizon, events, vms};
use crate::{Caller, Event, Role, StoreError};

/// Lock id serializing event inserts with commits on PostgreSQL.
const EVENT_LOCK_ID: i64 = 0x7a65_6e74_6576_7473; // "zentevts"

/// The PostgreSQL channel `NOTIFY`'d when events commit.
pub(crate) const CHANNEL: &str = "zentific_events";

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEvent {
    at: i64,
    kind: String,
    target_kind: String,
    target_id: Option<i32>,
    owner_id: Option<i32>,
    state: Option<String>,
    job_id: Option<i32>,
    actor: String,
    detail: String,
}

thread_local! {
    /// Events of the write transaction running on this thread, not yet inserted.
    static PENDING: RefCell<Vec<NewEvent>> = const { RefCell::new(Vec::new()) };
}

/// What an event says besides its kind, target and words.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Extra<'a> {
    /// A state word: a VM's or job's new state, a node's status.
    pub state: Option<&'a str>,
    /// The job it is about.
    pub job: Option<i32>,
}

impl<'a> Extra<'a> {
    /// An event that carries a state word.
    pub(crate) fn state(word: &'a str) -> Extra<'a> {
        Extra {
            state: Some(word),
            job: None,
        }
    }
}

/// Record an event in the running write transaction. The VM's owner is looked up now,
/// so its owner still sees the event after the VM is deleted.
pub(crate) fn record(
    conn: &mut Conn,
    actor: Option<&Caller>,
    kind: &str,
    target_kind: &str,
    target_id: Option<i32>,
    detail: &str,
    extra: Extra<'_>,
) -> Result<(), StoreError> {
    let owner_id = match (target_kind, target_id) {
        ("vm", Some(id)) => vms::table
            .find(id)
            .select(vms::owner_id)
            .first::<Option<i32>>(conn)
            .optional()?
            .flatten(),
        ("user", Some(id)) => Some(id),
        _ => None,
    };
    let event = NewEvent {
        at: crate::now(),
        kind: kind.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id,
        owner_id,
        state: extra.state.map(str::to_owned),
        job_id: extra.job,
        actor: actor.map_or("system", Caller::username).to_owned(),
        detail: detail.to_owned(),
    };
    PENDING.with(|p| p.borrow_mut().push(event));
    Ok(())
}

/// Drop events collected on this thread (a transaction that rolled back, or a new one
/// starting).
pub(crate) fn discard() {
    PENDING.with(|p| p.borrow_mut().clear());
}

/// Insert the transaction's collected events, just before it commits; returns whether
/// there were any (so the caller wakes the waiters after the commit).
pub(crate) fn flush(conn: &mut Conn) -> Result<bool, StoreError> {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if pending.is_empty() {
        return Ok(false);
    }
    match conn {
        Conn::Postgres(c) => {
            diesel::sql_query(format!(
                "SELECT pg_advisory_xact_lock({EVENT_LOCK_ID}), pg_notify('{CHANNEL}', '')"
            ))
            .execute(c)?;
            diesel::insert_into(events::table)
                .values(&pending)
                .execute(c)?;
        }
        Conn::Sqlite(c) => {
            for event in &pending {
                diesel::insert_into(events::table)
                    .values(event)
                    .execute(c)?;
            }
        }
    }
    Ok(true)
}

type EventRow = (
    i64,
    i64,
    String,
    String,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<i32>,
    String,
    String,
);

/// The newest sequence number (or the pruned horizon, when every event is gone).
pub(crate) fn latest(conn: &mut Conn) -> Result<i64, StoreError> {
    let newest: Option<i64> = events::table
        .select(diesel::dsl::max(events::seq))
        .first(conn)?;
    Ok(newest.unwrap_or(0).max(horizon(conn)?))
}

/// The highest sequence number pruned.
pub(crate) fn horizon(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(event_horizon::table
        .find(1)
        .select(event_horizon::pruned_through)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// Up to `limit` events after `cursor` that `caller` may see, and the cursor to continue
/// from (past the events scanned, seen or not).
pub(crate) fn after(
    conn: &mut Conn,
    caller: &Caller,
    cursor: i64,
    limit: i64,
) -> Result<(i64, Vec<Event>), StoreError> {
    let rows: Vec<EventRow> = events::table
        .filter(events::seq.gt(cursor))
        .order(events::seq)
        .limit(limit)
        .select((
            events::seq,
            events::at,
            events::kind,
            events::target_kind,
            events::target_id,
            events::owner_id,
            events::state,
            events::job_id,
            events::actor,
            events::detail,
        ))
        .load(conn)?;
    let next = rows.last().map_or(cursor, |r| r.0);
    let mut visible_vms = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (seq, at, kind, target_kind, target_id, owner_id, state, job, actor, detail) in rows {
        if !may_see(
            conn,
            caller,
            &target_kind,
            target_id,
            owner_id,
            &mut visible_vms,
        )? {
            continue;
        }
        out.push(Event {
            seq,
            at,
            kind,
            target_kind,
            target_id,
            state,
            job,
            actor,
            detail,
        });
    }
    Ok((next, out))
}

/// Whether `caller` may see an event: admins see all; a VM's events go to its owner (then
/// or now) and whoever may view it now; a user's to that user; node, pool and
/// configuration events to every user (they see those objects); anything else to admins.
fn may_see(
    conn: &mut Conn,
    caller: &Caller,
    target_kind: &str,
    target_id: Option<i32>,
    owner_id: Option<i32>,
    visible_vms: &mut std::collections::HashMap<i32, bool>,
) -> Result<bool, StoreError> {
    if caller.has_role(Role::Admin) {
        return Ok(true);
    }
    let me = Some(caller.user_id());
    Ok(match (target_kind, target_id) {
        ("vm", Some(vm)) => {
            if owner_id == me {
                true
            } else if let Some(known) = visible_vms.get(&vm) {
                *known
            } else {
                let sees = match super::vms::require(conn, caller, vm, crate::Permission::View) {
                    Ok(_) => true,
                    Err(StoreError::NotFound { .. } | StoreError::NotPermitted(_)) => false,
                    Err(other) => return Err(other),
                };
                visible_vms.insert(vm, sees);
                sees
            }
        }
        ("user", _) => owner_id == me,
        ("node" | "pool" | "config" | "module", _) => true,
        _ => false,
    })
}

/// Delete events recorded before `before`; returns how many went. The horizon moves to
/// the highest sequence number deleted.
pub(crate) fn prune(conn: &mut Conn, before: i64) -> Result<usize, StoreError> {
    let through: Option<i64> = events::table
        .filter(events::at.lt(before))
        .select(diesel::dsl::max(events::seq))
        .first(conn)?;
    let Some(through) = through else {
        return Ok(0);
    };
    let gone = diesel::delete(events::table.filter(events::seq.le(through))).execute(conn)?;
    let old = horizon(conn)?;
    diesel::update(event_horizon::table.find(1))
        .set(event_horizon::pruned_through.eq(through.max(old)))
        .execute(conn)?;
    Ok(gone)
}
