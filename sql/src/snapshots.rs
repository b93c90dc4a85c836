//! Snapshots of a VM's disks (`vm.snapshot`, `vm.snapshots`, `vm.revert`,
//! `vm.deleteSnapshot`): recorded when asked for, listed once the hypervisor made them
//! (see `ops/snapshots.rs`).

use crate::{Caller, Store, StoreError, validate};

/// One snapshot of a VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Row id; a schedule reverts to it by id (`snapshot=ID`).
    pub id: i32,
    /// The VM.
    pub vm_id: i32,
    /// Its name, unique per VM.
    pub name: String,
    /// When it was asked for (Unix seconds).
    pub created_at: i64,
    /// The VM's state when it was taken (`running`, `stopped`, …).
    pub vm_state: String,
}

impl Store {
    /// The VM's snapshots the hypervisor has, oldest first (`view` on the VM).
    pub fn snapshots(&self, caller: &Caller, vm: i32) -> Result<Vec<Snapshot>, StoreError> {
        self.read(|conn| crate::ops::snapshots::list(conn, caller, vm))
    }

    /// Ask for a snapshot named `name` (`modify` on the VM); returns the job. A name the
    /// VM already has, or one being made, is a conflict.
    pub fn snapshot_vm(&self, caller: &Caller, vm: i32, name: &str) -> Result<i32, StoreError> {
        validate::name("name", name)?;
        self.write(|conn| crate::ops::snapshots::create(conn, caller, vm, name))
    }

    /// Bring the VM back to its snapshot `name` (`modify`); returns the job.
    pub fn revert_vm(&self, caller: &Caller, vm: i32, name: &str) -> Result<i32, StoreError> {
        self.write(|conn| crate::ops::snapshots::revert(conn, caller, vm, name))
    }

    /// Delete the VM's snapshot `name` (`modify`); returns the job.
    pub fn delete_snapshot(&self, caller: &Caller, vm: i32, name: &str) -> Result<i32, StoreError> {
        self.write(|conn| crate::ops::snapshots::delete(conn, caller, vm, name))
    }
}
