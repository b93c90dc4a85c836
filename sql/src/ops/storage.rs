//! Storage pool and volume queries.

use crate::JobAction;
use crate::db::Conn;
use diesel::prelude::*;

use crate::schema::{nodes, storage_pools, storage_volumes};
use crate::{Caller, NewPool, NewVolume, Pool, StoreError, Volume};

type PoolRow = (i32, i32, String, String, String, i64, i64);
type VolumeRow = (i32, i32, String, String, i64, i64, String);

macro_rules! pool_columns {
    () => {
        (
            storage_pools::id,
            storage_pools::node_id,
            storage_pools::name,
            storage_pools::kind,
            storage_pools::path,
            storage_pools::capacity_kb,
            storage_pools::allocation_kb,
        )
    };
}

macro_rules! volume_columns {
    () => {
        (
            storage_volumes::id,
            storage_volumes::pool_id,
            storage_volumes::name,
            storage_volumes::path,
            storage_volumes::capacity_kb,
            storage_volumes::allocation_kb,
            storage_volumes::state,
        )
    };
}

fn to_pool((id, node_id, name, kind, path, capacity_kb, allocation_kb): PoolRow) -> Pool {
    Pool {
        id,
        node_id,
        name,
        kind,
        path,
        capacity_kb,
        allocation_kb,
    }
}

fn to_volume((id, pool_id, name, path, capacity_kb, allocation_kb, state): VolumeRow) -> Volume {
    Volume {
        id,
        pool_id,
        name,
        path,
        capacity_kb,
        allocation_kb,
        state,
    }
}

fn pool(conn: &mut Conn, id: i32) -> Result<Pool, StoreError> {
    let row: Option<PoolRow> = storage_pools::table
        .find(id)
        .select(pool_columns!())
        .first(conn)
        .optional()?;
    row.map(to_pool)
        .ok_or_else(|| StoreError::not_found("storage pool", id))
}

/// A volume (in any state) and its pool.
pub(crate) fn volume_and_pool(conn: &mut Conn, id: i32) -> Result<(Volume, Pool), StoreError> {
    let row: Option<VolumeRow> = storage_volumes::table
        .find(id)
        .select(volume_columns!())
        .first(conn)
        .optional()?;
    let volume = row
        .map(to_volume)
        .ok_or_else(|| StoreError::not_found("volume", id))?;
    let pool = pool(conn, volume.pool_id)?;
    Ok((volume, pool))
}

pub(crate) fn pools(conn: &mut Conn, node: Option<i32>) -> Result<Vec<Pool>, StoreError> {
    let mut query = storage_pools::table
        .select(pool_columns!())
        .order(storage_pools::id)
        .into_boxed();
    if let Some(node) = node {
        let exists: i64 = nodes::table
            .filter(nodes::id.eq(node))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(StoreError::not_found("node", node));
        }
        query = query.filter(storage_pools::node_id.eq(node));
    }
    Ok(query
        .load::<PoolRow>(conn)?
        .into_iter()
        .map(to_pool)
        .collect())
}

pub(crate) fn volumes(conn: &mut Conn, pool_id: i32) -> Result<Vec<Volume>, StoreError> {
    pool(conn, pool_id)?;
    let rows: Vec<VolumeRow> = storage_volumes::table
        .filter(storage_volumes::pool_id.eq(pool_id))
        .select(volume_columns!())
        .order(storage_volumes::id)
        .load(conn)?;
    Ok(rows.into_iter().map(to_volume).collect())
}

pub(crate) fn define_pool(
    conn: &mut Conn,
    actor: &Caller,
    new: &NewPool,
) -> Result<i32, StoreError> {
    let node_exists: i64 = nodes::table
        .filter(nodes::id.eq(new.node))
        .count()
        .get_result(conn)?;
    if node_exists == 0 {
        return Err(StoreError::not_found("node", new.node));
    }
    let taken: i64 = storage_pools::table
        .filter(storage_pools::node_id.eq(new.node))
        .filter(storage_pools::name.eq(&new.name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "node {} already has a pool named '{}'",
            new.node, new.name
        )));
    }
    let id = diesel::insert_into(storage_pools::table)
        .values((
            storage_pools::node_id.eq(new.node),
            storage_pools::name.eq(&new.name),
            storage_pools::kind.eq(&new.kind),
            storage_pools::path.eq(&new.path),
            storage_pools::capacity_kb.eq(new.capacity_kb),
            storage_pools::allocation_kb.eq(0i64),
        ))
        .returning(storage_pools::id)
        .get_result(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "storage.definePool",
        "pool",
        Some(id),
        &format!(
            "pool '{}' ({}) at {} on node {}",
            new.name, new.kind, new.path, new.node
        ),
    )?;
    Ok(id)
}

pub(crate) fn remove_pool(conn: &mut Conn, actor: &Caller, id: i32) -> Result<(), StoreError> {
    let found = pool(conn, id)?;
    diesel::delete(storage_pools::table.find(id)).execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "storage.removePool",
        "pool",
        Some(id),
        &format!("removed pool '{}'", found.name),
    )
}

pub(crate) fn create_volume(
    conn: &mut Conn,
    actor: &Caller,
    pool_id: i32,
    new: &NewVolume,
) -> Result<(i32, i32), StoreError> {
    let found = pool(conn, pool_id)?;
    let taken: i64 = storage_volumes::table
        .filter(storage_volumes::pool_id.eq(pool_id))
        .filter(storage_volumes::name.eq(&new.name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "pool '{}' already has a volume named '{}'",
            found.name, new.name
        )));
    }
    // Volumes still being made hold their space already.
    let reserved: Vec<i64> = storage_volumes::table
        .filter(storage_volumes::pool_id.eq(pool_id))
        .filter(storage_volumes::state.eq(super::ADDING))
        .select(storage_volumes::capacity_kb)
        .load(conn)?;
    let free = found.capacity_kb - found.allocation_kb - reserved.iter().sum::<i64>();
    if new.capacity_kb > free {
        return Err(StoreError::OverLimit(format!(
            "pool '{}' has {free} KiB free; the volume needs {} KiB",
            found.name, new.capacity_kb
        )));
    }
    let path = format!("{}/{}", found.path.trim_end_matches('/'), new.name);
    let id: i32 = diesel::insert_into(storage_volumes::table)
        .values((
            storage_volumes::pool_id.eq(pool_id),
            storage_volumes::name.eq(&new.name),
            storage_volumes::path.eq(&path),
            storage_volumes::capacity_kb.eq(new.capacity_kb),
            storage_volumes::allocation_kb.eq(0i64),
            storage_volumes::state.eq(super::ADDING),
        ))
        .returning(storage_volumes::id)
        .get_result(conn)?;
    let job = super::jobs::create(
        conn,
        actor,
        &JobAction::CreateVolume { volume: id },
        found.node_id,
    )?;
    super::audit::record(
        conn,
        Some(actor),
        "storage.createVolume",
        "pool",
        Some(pool_id),
        &format!("volume '{}' ({} KiB); job {job}", new.name, new.capacity_kb),
    )?;
    Ok((id, job))
}

pub(crate) fn delete_volume(
    conn: &mut Conn,
    actor: &Caller,
    volume: i32,
) -> Result<i32, StoreError> {
    let row: Option<VolumeRow> = storage_volumes::table
        .find(volume)
        .select(volume_columns!())
        .first(conn)
        .optional()?;
    let found = row
        .map(to_volume)
        .filter(|v| v.state == super::PRESENT)
        .ok_or_else(|| StoreError::not_found("volume", volume))?;
    let owner = pool(conn, found.pool_id)?;
    let user: Option<i32> = crate::schema::disks::table
        .inner_join(crate::schema::vms::table)
        .filter(crate::schema::vms::node_id.eq(owner.node_id))
        .filter(crate::schema::disks::source.eq(&found.path))
        .select(crate::schema::disks::vm_id)
        .first(conn)
        .optional()?;
    if let Some(vm) = user {
        return Err(StoreError::WrongState(format!(
            "volume '{}' is a disk of VM {vm}; remove the disk first",
            found.name
        )));
    }
    let action = JobAction::DeleteVolume { volume };
    super::jobs::refuse_repeat(conn, owner.node_id, &action)?;
    let job = super::jobs::create(conn, actor, &action, owner.node_id)?;
    super::audit::record(
        conn,
        Some(actor),
        "storage.deleteVolume",
        "pool",
        Some(found.pool_id),
        &format!("volume '{}'; job {job}", found.name),
    )?;
    Ok(job)
}
