//! Snapshot queries.

use diesel::prelude::*;

use crate::db::Conn;
use crate::schema::snapshots;
use crate::{Caller, JobAction, Permission, Snapshot, StoreError};

type SnapshotRow = (i32, i32, String, i64, String);

fn to_snapshot((id, vm_id, name, created_at, vm_state): SnapshotRow) -> Snapshot {
    Snapshot {
        id,
        vm_id,
        name,
        created_at,
        vm_state,
    }
}

macro_rules! snapshot_columns {
    () => {
        (
            snapshots::id,
            snapshots::vm_id,
            snapshots::name,
            snapshots::created_at,
            snapshots::vm_state,
        )
    };
}

pub(crate) fn list(conn: &mut Conn, caller: &Caller, vm: i32) -> Result<Vec<Snapshot>, StoreError> {
    super::vms::require(conn, caller, vm, Permission::View)?;
    let rows: Vec<SnapshotRow> = snapshots::table
        .filter(snapshots::vm_id.eq(vm))
        .filter(snapshots::state.eq(super::PRESENT))
        .order(snapshots::id)
        .select(snapshot_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(to_snapshot).collect())
}

/// Which snapshot of a VM to find.
enum Key<'a> {
    /// By id, in any state (a job's own snapshot).
    Id(i32),
    /// By id, only one the hypervisor has.
    PresentId(i32),
    /// By name, only one the hypervisor has.
    PresentName(&'a str),
}

fn find(conn: &mut Conn, vm: i32, key: Key<'_>) -> Result<Snapshot, StoreError> {
    let mut query = snapshots::table
        .filter(snapshots::vm_id.eq(vm))
        .select(snapshot_columns!())
        .into_boxed();
    query = match key {
        Key::Id(id) => query.filter(snapshots::id.eq(id)),
        Key::PresentId(id) => query
            .filter(snapshots::id.eq(id))
            .filter(snapshots::state.eq(super::PRESENT)),
        Key::PresentName(name) => query
            .filter(snapshots::name.eq(name))
            .filter(snapshots::state.eq(super::PRESENT)),
    };
    let row: Option<SnapshotRow> = query.first(conn).optional()?;
    row.map(to_snapshot).ok_or_else(|| StoreError::NotFound {
        kind: "snapshot",
        key: match key {
            Key::Id(id) | Key::PresentId(id) => format!("id {id} of VM {vm}"),
            Key::PresentName(name) => format!(
                "name {:?} of VM {vm} (vm.snapshots lists them)",
                crate::validate::shown(name)
            ),
        },
    })
}

/// The snapshot with this id, if it is the VM's and the hypervisor has it.
pub(crate) fn present(conn: &mut Conn, vm: i32, id: i32) -> Result<Snapshot, StoreError> {
    find(conn, vm, Key::PresentId(id))
}

/// The snapshot (in any state) a job names, checked to be of the job's VM.
pub(crate) fn of_job(conn: &mut Conn, vm: i32, id: i32) -> Result<Snapshot, StoreError> {
    find(conn, vm, Key::Id(id))
}

fn by_name(conn: &mut Conn, vm: i32, name: &str) -> Result<Snapshot, StoreError> {
    find(conn, vm, Key::PresentName(name))
}

pub(crate) fn create(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    name: &str,
) -> Result<i32, StoreError> {
    let found = super::vms::require(conn, caller, vm, Permission::Modify)?;
    let taken: i64 = snapshots::table
        .filter(snapshots::vm_id.eq(vm))
        .filter(snapshots::name.eq(name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "VM '{}' already has a snapshot named '{name}' (or one is being made)",
            found.name
        )));
    }
    let id: i32 = diesel::insert_into(snapshots::table)
        .values((
            snapshots::vm_id.eq(vm),
            snapshots::name.eq(name),
            snapshots::created_at.eq(crate::now()),
            snapshots::vm_state.eq(found.state.as_str()),
            snapshots::state.eq(super::ADDING),
        ))
        .returning(snapshots::id)
        .get_result(conn)?;
    let job = super::jobs::create(conn, caller, &JobAction::Snapshot { snapshot: id }, vm)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.snapshot",
        "vm",
        Some(vm),
        &format!("snapshot '{name}' of a {} VM; job {job}", found.state),
    )?;
    Ok(job)
}

pub(crate) fn revert(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    name: &str,
) -> Result<i32, StoreError> {
    on_existing(
        conn,
        caller,
        vm,
        name,
        |snapshot| JobAction::Revert { snapshot },
        "vm.revert",
    )
}

pub(crate) fn delete(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    name: &str,
) -> Result<i32, StoreError> {
    on_existing(
        conn,
        caller,
        vm,
        name,
        |snapshot| JobAction::DeleteSnapshot { snapshot },
        "vm.deleteSnapshot",
    )
}

/// Record a job on an existing snapshot (`modify` on the VM; one such job at a time).
fn on_existing(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    name: &str,
    action: impl FnOnce(i32) -> JobAction,
    method: &str,
) -> Result<i32, StoreError> {
    super::vms::require(conn, caller, vm, Permission::Modify)?;
    let action = action(by_name(conn, vm, name)?.id);
    super::jobs::refuse_repeat(conn, vm, &action)?;
    let job = super::jobs::create(conn, caller, &action, vm)?;
    super::audit::record(
        conn,
        Some(caller),
        method,
        "vm",
        Some(vm),
        &format!("snapshot '{name}'; job {job}"),
    )?;
    Ok(job)
}
