//! Storage pools and volumes per node. Admins record the pools a node has; volumes are
//! created and deleted through jobs, like every change on a hypervisor.

use crate::{Caller, Role, Store, StoreError, validate};

/// A storage pool on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Row id.
    pub id: i32,
    /// The node it belongs to.
    pub node_id: i32,
    /// Name, unique on the node.
    pub name: String,
    /// `dir`, `lvm`, `nfs`, …
    pub kind: String,
    /// Where it lives on the node.
    pub path: String,
    /// Capacity, KiB.
    pub capacity_kb: i64,
    /// Allocated, KiB.
    pub allocation_kb: i64,
}

/// A volume in a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// Row id.
    pub id: i32,
    /// The pool it belongs to.
    pub pool_id: i32,
    /// Name, unique in the pool.
    pub name: String,
    /// Path on the node.
    pub path: String,
    /// Capacity, KiB.
    pub capacity_kb: i64,
    /// Allocated, KiB.
    pub allocation_kb: i64,
    /// `present`, or `adding` while the job that creates it runs.
    pub state: String,
}

/// What `storage.definePool` takes.
#[derive(Clone, Debug)]
pub struct NewPool {
    /// Node id.
    pub node: i32,
    /// Name.
    pub name: String,
    /// Kind (`dir`, `lvm`, …).
    pub kind: String,
    /// Path on the node.
    pub path: String,
    /// Capacity, KiB.
    pub capacity_kb: i64,
}

/// What `storage.createVolume` takes.
#[derive(Clone, Debug)]
pub struct NewVolume {
    /// Name.
    pub name: String,
    /// Capacity, KiB.
    pub capacity_kb: i64,
}

impl Store {
    /// Pools, optionally of one node: every user sees them, to provision disks from.
    pub fn list_pools(&self, _actor: &Caller, node: Option<i32>) -> Result<Vec<Pool>, StoreError> {
        self.read(|conn| crate::ops::storage::pools(conn, node))
    }

    /// The volumes of a pool; every user sees them, to provision disks from.
    pub fn list_volumes(&self, _actor: &Caller, pool: i32) -> Result<Vec<Volume>, StoreError> {
        self.read(|conn| crate::ops::storage::volumes(conn, pool))
    }

    /// Record a pool that exists on a node (admins only).
    pub fn define_pool(&self, actor: &Caller, new: &NewPool) -> Result<i32, StoreError> {
        actor.require_role(Role::Admin, "defining storage pools")?;
        validate::name("name", &new.name)?;
        validate::name("kind", &new.kind)?;
        validate::token("path", &new.path, 1024)?;
        validate::range("capacity_kb", new.capacity_kb, 0, i64::MAX)?;
        self.write(|conn| crate::ops::storage::define_pool(conn, actor, new))
    }

    /// Forget a pool and its volumes (admins only).
    pub fn remove_pool(&self, actor: &Caller, pool: i32) -> Result<(), StoreError> {
        actor.require_role(Role::Admin, "removing storage pools")?;
        self.write(|conn| crate::ops::storage::remove_pool(conn, actor, pool))
    }

    /// Record a volume and the job that creates it (admins and operators); returns
    /// (volume id, job id). Refused when the pool has no room left.
    pub fn create_volume(
        &self,
        actor: &Caller,
        pool: i32,
        new: &NewVolume,
    ) -> Result<(i32, i32), StoreError> {
        actor.require_role(Role::Operator, "creating volumes")?;
        validate::name("name", &new.name)?;
        validate::range("capacity_kb", new.capacity_kb, 1, i64::MAX)?;
        self.after_jobs(
            self.write(|conn| crate::ops::storage::create_volume(conn, actor, pool, new)),
        )
    }

    /// Record the job that deletes a volume (admins and operators); returns the job id.
    pub fn delete_volume(&self, actor: &Caller, volume: i32) -> Result<i32, StoreError> {
        actor.require_role(Role::Operator, "deleting volumes")?;
        self.after_jobs(self.write(|conn| crate::ops::storage::delete_volume(conn, actor, volume)))
    }
}
