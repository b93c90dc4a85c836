//! Session queries.

use crate::db::{Conn, on_backend};
use diesel::prelude::*;

use crate::schema::{sessions, users};
use crate::{Caller, Role, StoreError};

pub(crate) fn create(
    conn: &mut Conn,
    caller: &Caller,
    token_hash: &str,
    ttl: i64,
    idle_secs: i64,
) -> Result<(), StoreError> {
    let now = crate::now();
    // Expired sessions are swept here, where a write happens anyway.
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash),
            sessions::user_id.eq(caller.user_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now + ttl),
            sessions::last_used_at.eq(now),
            sessions::idle_secs.eq(idle_secs),
        ))
        .execute(conn)?;
    super::audit::record(
        conn,
        Some(caller),
        "session.login",
        "user",
        Some(caller.user_id),
        "logged in",
    )
}

pub(crate) fn delete(conn: &mut Conn, token_hash: &str) -> Result<(), StoreError> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)?;
    Ok(())
}

/// A live session's caller, and whether its last use should be noted now.
pub(crate) fn caller(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<(Caller, bool)>, StoreError> {
    // Every authenticated call runs this: on the concrete connection.
    let query = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(
            sessions::idle_secs
                .eq(0)
                .or((sessions::last_used_at + sessions::idle_secs).gt(now)),
        )
        .filter(users::disabled.eq(false))
        .select((
            users::id,
            users::username,
            users::role,
            sessions::last_used_at,
            sessions::idle_secs,
        ));
    let row: Option<(i32, String, String, i64, i64)> =
        on_backend!(conn, |c| query.first(c).optional())?;
    row.map(|(user_id, username, role, last_used, idle)| {
        // Noted at most once a minute (a fifth of a shorter idle limit): a write per call
        // would cost more than the check.
        let stale = idle > 0 && now - last_used >= (idle / 5).clamp(1, 60);
        Ok((
            Caller {
                user_id,
                username,
                role: Role::parse(&role, "role")?,
            },
            stale,
        ))
    })
    .transpose()
}

/// Note that the session was used at `now`.
pub(crate) fn touch(conn: &mut Conn, token_hash: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(sessions::table.filter(sessions::token_hash.eq(token_hash)))
        .set(sessions::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}
