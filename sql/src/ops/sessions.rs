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

pub(crate) fn caller(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<Caller>, StoreError> {
    // Every authenticated call runs this: on the concrete connection.
    let query = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(users::disabled.eq(false))
        .select((users::id, users::username, users::role));
    let row: Option<(i32, String, String)> = on_backend!(conn, |c| query.first(c).optional())?;
    row.map(|(user_id, username, role)| {
        Ok(Caller {
            user_id,
            username,
            role: Role::parse(&role, "role")?,
        })
    })
    .transpose()
}
