//! Console ticket queries.

use diesel::prelude::*;

use crate::db::Conn;
use crate::schema::console_tickets;
use crate::{Caller, ConsoleKind, Permission, StoreError, Vm};

fn refused(why: &str) -> StoreError {
    StoreError::NotAuthenticated(why.into())
}

/// The VM, if `caller` holds `console` on it and it runs or is paused.
fn console_vm(conn: &mut Conn, caller: &Caller, vm: i32) -> Result<Vm, StoreError> {
    let vm = super::vms::require(conn, caller, vm, Permission::Console)?;
    if !vm.state.is_active() {
        return Err(StoreError::WrongState(format!(
            "VM {} is {}: a console needs a running or paused VM",
            vm.id, vm.state
        )));
    }
    Ok(vm)
}

pub(crate) fn issue(
    conn: &mut Conn,
    caller: &Caller,
    session_hash: &str,
    ticket_hash: &str,
    vm: i32,
    kind: ConsoleKind,
    expires_at: i64,
) -> Result<(), StoreError> {
    console_vm(conn, caller, vm)?;
    // Tickets past their time are swept here, where a write happens anyway.
    diesel::delete(console_tickets::table.filter(console_tickets::expires_at.lt(crate::now())))
        .execute(conn)?;
    diesel::insert_into(console_tickets::table)
        .values((
            console_tickets::ticket_hash.eq(ticket_hash),
            console_tickets::session_hash.eq(session_hash),
            console_tickets::user_id.eq(caller.user_id),
            console_tickets::vm_id.eq(vm),
            console_tickets::kind.eq(kind.as_str()),
            console_tickets::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub(crate) fn redeem(
    conn: &mut Conn,
    ticket_hash: &str,
    now: i64,
) -> Result<(Caller, String, Vm, ConsoleKind), StoreError> {
    let row: Option<(String, i32, i32, String, i64, Option<i64>)> = console_tickets::table
        .filter(console_tickets::ticket_hash.eq(ticket_hash))
        .select((
            console_tickets::session_hash,
            console_tickets::user_id,
            console_tickets::vm_id,
            console_tickets::kind,
            console_tickets::expires_at,
            console_tickets::used_at,
        ))
        .first(conn)
        .optional()?;
    let Some((session_hash, user_id, vm, kind, expires_at, used_at)) = row else {
        return Err(refused("unknown console ticket"));
    };
    if used_at.is_some() {
        return Err(refused(
            "this console ticket was used already; ask vm.console for another",
        ));
    }
    if expires_at <= now {
        return Err(refused(
            "this console ticket expired; ask vm.console for another",
        ));
    }
    let marked = diesel::update(
        console_tickets::table
            .filter(console_tickets::ticket_hash.eq(ticket_hash))
            .filter(console_tickets::used_at.is_null()),
    )
    .set(console_tickets::used_at.eq(now))
    .execute(conn)?;
    if marked != 1 {
        return Err(refused(
            "this console ticket was used already; ask vm.console for another",
        ));
    }
    let (caller, vm) = still_allowed(conn, &session_hash, user_id, vm, now)?;
    Ok((caller, session_hash, vm, ConsoleKind::parse(&kind, "kind")?))
}

/// The session's caller and the VM, if the session (of user `user_id`) is still open and
/// its user may still use the VM's console.
pub(crate) fn still_allowed(
    conn: &mut Conn,
    session_hash: &str,
    user_id: i32,
    vm: i32,
    now: i64,
) -> Result<(Caller, Vm), StoreError> {
    let caller = super::sessions::caller(conn, session_hash, now)?
        .map(|(caller, _)| caller)
        .filter(|c| c.user_id == user_id)
        .ok_or_else(|| refused("the session this console belongs to has ended"))?;
    let vm = console_vm(conn, &caller, vm)?;
    Ok((caller, vm))
}
