//! Audit log queries.

use crate::db::Conn;
use diesel::prelude::*;

use super::events::Extra;
use crate::schema::audit_log;
use crate::{AuditEntry, AuditFilter, Caller, StoreError};

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewEntry<'a> {
    at: i64,
    user_id: Option<i32>,
    username: &'a str,
    action: &'a str,
    target_kind: &'a str,
    target_id: Option<i32>,
    detail: &'a str,
}

/// Append to the audit log, inside the caller's transaction, and send it on the event
/// stream. `actor` `None` is the system.
pub(crate) fn record(
    conn: &mut Conn,
    actor: Option<&Caller>,
    action: &str,
    target_kind: &str,
    target_id: Option<i32>,
    detail: &str,
) -> Result<(), StoreError> {
    record_with(
        conn,
        actor,
        action,
        target_kind,
        target_id,
        detail,
        Extra::default(),
    )
}

/// [`record`], with the state word or job the event carries.
pub(crate) fn record_with(
    conn: &mut Conn,
    actor: Option<&Caller>,
    action: &str,
    target_kind: &str,
    target_id: Option<i32>,
    detail: &str,
    extra: Extra<'_>,
) -> Result<(), StoreError> {
    super::events::record(conn, actor, action, target_kind, target_id, detail, extra)?;
    diesel::insert_into(audit_log::table)
        .values(NewEntry {
            at: crate::now(),
            user_id: actor.and_then(Caller::author_id),
            username: actor.map_or("system", |a| a.username.as_str()),
            action,
            target_kind,
            target_id,
            detail,
        })
        .execute(conn)?;
    Ok(())
}

pub(crate) fn for_target(
    conn: &mut Conn,
    target_kind: &str,
    target_id: i32,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::target_kind.eq(target_kind))
        .filter(audit_log::target_id.eq(target_id))
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// Audit entries matching `filter`, newest first.
pub(crate) fn list(conn: &mut Conn, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let mut query = audit_log::table
        .order(audit_log::id.desc())
        .limit(filter.limit)
        .select(AuditEntry::as_select())
        .into_boxed();
    if let Some(user) = filter.user {
        query = query.filter(audit_log::user_id.eq(user));
    }
    if let Some(kind) = &filter.target_kind {
        query = query.filter(audit_log::target_kind.eq(kind));
    }
    if let Some(target) = filter.target {
        query = query.filter(audit_log::target_id.eq(target));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_log::at.ge(since));
    }
    Ok(query.load(conn)?)
}
