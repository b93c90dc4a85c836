//! VM queries.

use crate::JobAction;
use crate::db::{Conn, on_backend};
use diesel::prelude::*;

use crate::schema::{
    disks, jobs, nodes, notes, quotas, schedules, storage_pools, storage_volumes, vifs, vm_grants,
    vms,
};
use crate::validate::shown;
use crate::vms::{check_sizes, random_mac};
use crate::{
    Caller, Disk, GlobalOptions, JobState, NewDisk, NewVif, NewVm, Permission, PowerAction, Resize,
    Role, StoreError, Vif, Vm, VmDetail, VmFilter, VmState, VmType,
};

type VmRow = (
    i32,
    String,
    String,
    i32,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i32,
    Option<i64>,
    Option<i32>,
    i64,
);

macro_rules! vm_columns {
    () => {
        (
            vms::id,
            vms::uuid,
            vms::name,
            vms::node_id,
            nodes::name,
            vms::vm_type,
            vms::os,
            vms::state,
            vms::memory_kb,
            vms::max_memory_kb,
            vms::vcpus,
            vms::started_at,
            vms::owner_id,
            vms::created_at,
        )
    };
}

fn to_vm(row: VmRow) -> Result<Vm, StoreError> {
    let (
        id,
        uuid,
        name,
        node_id,
        node_name,
        vm_type,
        os,
        state,
        memory_kb,
        max_memory_kb,
        vcpus,
        started_at,
        owner_id,
        created_at,
    ) = row;
    Ok(Vm {
        id,
        uuid,
        name,
        node_id,
        node_name,
        vm_type: VmType::parse(&vm_type, "type")?,
        os,
        state: VmState::parse(&state, "state")?,
        memory_kb,
        max_memory_kb,
        vcpus,
        started_at,
        owner_id,
        created_at,
    })
}

pub(crate) fn load(conn: &mut Conn, id: i32) -> Result<Vm, StoreError> {
    let row: Option<VmRow> = vms::table
        .inner_join(nodes::table)
        .filter(vms::id.eq(id))
        .select(vm_columns!())
        .first(conn)
        .optional()?;
    to_vm(row.ok_or_else(|| StoreError::not_found("VM", id))?)
}

/// The permissions `caller` holds on `vm`: all for admins and the owner; all but `admin`
/// (granting) for operators; else the grants that have not lapsed (`admin` implies
/// every other). Empty means the caller may not know the VM exists.
fn permissions(conn: &mut Conn, caller: &Caller, vm: &Vm) -> Result<Vec<Permission>, StoreError> {
    if caller.has_role(Role::Admin) || vm.owner_id == Some(caller.user_id) {
        return Ok(Permission::ALL.to_vec());
    }
    let mut held: Vec<Permission> = if caller.sees_all_vms() {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| *p != Permission::Admin)
            .collect()
    } else {
        Vec::new()
    };
    let words: Vec<String> = vm_grants::table
        .filter(vm_grants::user_id.eq(caller.user_id))
        .filter(vm_grants::vm_id.eq(vm.id))
        .filter(grant_in_force(crate::now()))
        .select(vm_grants::permission)
        .load(conn)?;
    held.extend(
        words
            .iter()
            .filter_map(|w| Permission::parse(w, "permission").ok()),
    );
    if held.contains(&Permission::Admin) {
        held = Permission::ALL.to_vec();
    }
    held.sort();
    held.dedup();
    Ok(held)
}

/// A grant that has not lapsed at `now`.
pub(crate) fn grant_in_force(
    now: i64,
) -> diesel::dsl::Or<
    diesel::dsl::IsNull<vm_grants::expires_at>,
    diesel::dsl::Gt<vm_grants::expires_at, i64>,
> {
    vm_grants::expires_at
        .is_null()
        .or(vm_grants::expires_at.gt(now))
}

/// The VM, if it exists and `caller` holds `permission` on it. A caller who holds no
/// permission at all on it gets the same [`StoreError::NotFound`] as for a VM that does not
/// exist, so ids do not reveal other users' VMs; one who may see it but not do this gets
/// [`StoreError::NotPermitted`].
pub(crate) fn require(
    conn: &mut Conn,
    caller: &Caller,
    id: i32,
    permission: Permission,
) -> Result<Vm, StoreError> {
    let vm = load(conn, id)?;
    let held = permissions(conn, caller, &vm)?;
    if held.is_empty() {
        Err(StoreError::not_found("VM", id))
    } else if held.contains(&permission) {
        Ok(vm)
    } else {
        Err(caller.lacks(id, permission))
    }
}

pub(crate) fn list(
    conn: &mut Conn,
    caller: &Caller,
    filter: &VmFilter,
) -> Result<Vec<Vm>, StoreError> {
    let now = crate::now();
    // The page and the API list VMs all the time: the query runs on the concrete
    // connection (a boxed query is built per backend), like a push.
    let rows: Vec<VmRow> = on_backend!(conn, |c| {
        let mut query = vms::table
            .inner_join(nodes::table)
            .select(vm_columns!())
            .order(vms::id)
            .into_boxed();
        if !caller.sees_all_vms() {
            let granted = vm_grants::table
                .filter(vm_grants::user_id.eq(caller.user_id))
                .filter(grant_in_force(now))
                .select(vm_grants::vm_id);
            query = query.filter(vms::owner_id.eq(caller.user_id).or(vms::id.eq_any(granted)));
        }
        if let Some(node) = filter.node {
            query = query.filter(vms::node_id.eq(node));
        }
        if let Some(state) = filter.state {
            query = query.filter(vms::state.eq(state.as_str()));
        }
        if let Some(owner) = filter.owner {
            query = query.filter(vms::owner_id.eq(owner));
        }
        query.load::<VmRow>(c)
    })?;
    rows.into_iter().map(to_vm).collect()
}

/// A VM's interfaces and disks, in the order they were added.
pub(crate) fn devices(conn: &mut Conn, id: i32) -> Result<(Vec<Vif>, Vec<Disk>), StoreError> {
    let vif_rows: Vec<(i32, String, String, String)> = vifs::table
        .filter(vifs::vm_id.eq(id))
        .filter(vifs::state.eq(super::PRESENT))
        .select((vifs::id, vifs::mac, vifs::bridge, vifs::model))
        .order(vifs::id)
        .load(conn)?;
    let disk_rows: Vec<(i32, String, String, i64, bool)> = disks::table
        .filter(disks::vm_id.eq(id))
        .filter(disks::state.eq(super::PRESENT))
        .select((
            disks::id,
            disks::target,
            disks::source,
            disks::size_kb,
            disks::readonly,
        ))
        .order(disks::id)
        .load(conn)?;
    Ok((
        vif_rows
            .into_iter()
            .map(|(id, mac, bridge, model)| Vif {
                id,
                mac,
                bridge,
                model,
            })
            .collect(),
        disk_rows
            .into_iter()
            .map(|(id, target, source, size_kb, readonly)| Disk {
                id,
                target,
                source,
                size_kb,
                readonly,
            })
            .collect(),
    ))
}

pub(crate) fn detail(conn: &mut Conn, caller: &Caller, id: i32) -> Result<VmDetail, StoreError> {
    let vm = require(conn, caller, id, Permission::View)?;
    let permissions = permissions(conn, caller, &vm)?;
    let (vifs, disks) = devices(conn, id)?;
    let pending = super::jobs::unfinished_on_vm(conn, id)?;
    Ok(VmDetail {
        vm,
        vifs,
        disks,
        permissions,
        pending,
    })
}

/// Refuse when the owner's quota cannot take `extra` more VMs, memory and vCPUs.
fn check_quota(
    conn: &mut Conn,
    owner: i32,
    extra_vms: i64,
    extra_memory_kb: i64,
    extra_vcpus: i64,
    except_vm: Option<i32>,
) -> Result<(), StoreError> {
    let quota: Option<(Option<i32>, Option<i64>, Option<i32>)> = quotas::table
        .find(owner)
        .select((quotas::max_vms, quotas::max_memory_kb, quotas::max_vcpus))
        .first(conn)
        .optional()?;
    let Some((max_vms, max_memory_kb, max_vcpus)) = quota else {
        return Ok(());
    };
    let mut owned = vms::table.filter(vms::owner_id.eq(owner)).into_boxed();
    if let Some(id) = except_vm {
        owned = owned.filter(vms::id.ne(id));
    }
    let rows: Vec<(i64, i32)> = owned.select((vms::memory_kb, vms::vcpus)).load(conn)?;
    let count = rows.len() as i64 + extra_vms;
    let memory: i64 = rows.iter().map(|r| r.0).sum::<i64>() + extra_memory_kb;
    let vcpus: i64 = rows.iter().map(|r| i64::from(r.1)).sum::<i64>() + extra_vcpus;
    if let Some(max) = max_vms.filter(|&m| count > i64::from(m)) {
        return Err(StoreError::OverLimit(format!(
            "this would make {count} VMs; the owner's quota allows {max}"
        )));
    }
    if let Some(max) = max_memory_kb.filter(|&m| memory > m) {
        return Err(StoreError::OverLimit(format!(
            "this would make {memory} KiB of VM memory; the owner's quota allows {max} KiB"
        )));
    }
    if let Some(max) = max_vcpus.filter(|&m| vcpus > i64::from(m)) {
        return Err(StoreError::OverLimit(format!(
            "this would make {vcpus} vCPUs; the owner's quota allows {max}"
        )));
    }
    Ok(())
}

fn insert_vif(conn: &mut Conn, vm: i32, vif: &NewVif, state: &str) -> Result<i32, StoreError> {
    let mac = vif
        .mac
        .as_deref()
        .map_or_else(random_mac, str::to_ascii_lowercase);
    let taken: i64 = vifs::table
        .filter(vifs::vm_id.eq(vm))
        .filter(vifs::mac.eq(&mac))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "VM {vm} already has an interface with MAC {mac}"
        )));
    }
    Ok(diesel::insert_into(vifs::table)
        .values((
            vifs::vm_id.eq(vm),
            vifs::mac.eq(&mac),
            vifs::bridge.eq(&vif.bridge),
            vifs::model.eq(&vif.model),
            vifs::state.eq(state),
        ))
        .returning(vifs::id)
        .get_result(conn)?)
}

/// The path backing `disk` on `node`: the named pool volume, or a `source` path inside
/// one of the node's pools. Any other path (dom0's own files, raw devices) only an admin
/// may hand to a guest: [`StoreError::NotPermitted`] otherwise.
fn disk_source(
    conn: &mut Conn,
    caller: &Caller,
    node: i32,
    disk: &NewDisk,
) -> Result<String, StoreError> {
    if let (Some(pool), Some(volume)) = (disk.pool, &disk.volume) {
        let found: Option<String> = storage_volumes::table
            .inner_join(storage_pools::table)
            .filter(storage_pools::id.eq(pool))
            .filter(storage_pools::node_id.eq(node))
            .filter(storage_volumes::name.eq(volume))
            .filter(storage_volumes::state.eq(super::PRESENT))
            .select(storage_volumes::path)
            .first(conn)
            .optional()?;
        return found.ok_or_else(|| StoreError::NotFound {
            kind: "volume",
            key: format!("name {:?} in pool {pool} on node {node}", shown(volume)),
        });
    }
    let source = disk.source.as_str();
    let inside_a_pool = is_plain_absolute(source) && {
        let roots: Vec<String> = storage_pools::table
            .filter(storage_pools::node_id.eq(node))
            .select(storage_pools::path)
            .load(conn)?;
        roots.iter().any(|root| {
            let root = root.trim_end_matches('/');
            !root.is_empty()
                && source.len() > root.len() + 1
                && source.starts_with(root)
                && source.as_bytes()[root.len()] == b'/'
        })
    };
    if inside_a_pool || caller.has_role(Role::Admin) {
        Ok(source.to_owned())
    } else {
        Err(StoreError::NotPermitted(format!(
            "disk source {:?} is not inside a storage pool of node {node}; give pool and volume, or ask an admin",
            shown(source)
        )))
    }
}

/// An absolute path with no `.`/`..` components or empty segments, which could
/// otherwise climb out of a pool's folder.
fn is_plain_absolute(path: &str) -> bool {
    path.starts_with('/')
        && path[1..]
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

fn insert_disk(
    conn: &mut Conn,
    caller: &Caller,
    node: i32,
    vm: i32,
    disk: &NewDisk,
    state: &str,
) -> Result<i32, StoreError> {
    let source = disk_source(conn, caller, node, disk)?;
    let taken: i64 = disks::table
        .filter(disks::vm_id.eq(vm))
        .filter(disks::target.eq(&disk.target))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "VM {vm} already has a disk at {}",
            disk.target
        )));
    }
    Ok(diesel::insert_into(disks::table)
        .values((
            disks::vm_id.eq(vm),
            disks::target.eq(&disk.target),
            disks::source.eq(&source),
            disks::size_kb.eq(disk.size_kb),
            disks::readonly.eq(disk.readonly),
            disks::state.eq(state),
        ))
        .returning(disks::id)
        .get_result(conn)?)
}

pub(crate) fn create(
    conn: &mut Conn,
    caller: &Caller,
    new: &NewVm,
) -> Result<(i32, i32), StoreError> {
    let transport: Option<String> = nodes::table
        .find(new.node)
        .select(nodes::transport)
        .first(conn)
        .optional()?;
    let Some(transport) = transport else {
        return Err(StoreError::not_found("node", new.node));
    };
    if transport == crate::Transport::Xenapi.as_str() && new.os.trim().is_empty() {
        return Err(StoreError::invalid(
            "os",
            "on a XenAPI node names the template the VM is cloned from (e.g. \"Debian Bookworm 12\")",
        ));
    }
    let taken: i64 = vms::table
        .filter(vms::node_id.eq(new.node))
        .filter(vms::name.eq(&new.name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "node {} already has a VM named '{}'",
            new.node, new.name
        )));
    }
    check_quota(
        conn,
        caller.user_id,
        1,
        new.memory_kb,
        i64::from(new.vcpus),
        None,
    )?;
    let id: i32 = diesel::insert_into(vms::table)
        .values((
            vms::uuid.eq(uuid::Uuid::new_v4().to_string()),
            vms::name.eq(&new.name),
            vms::node_id.eq(new.node),
            vms::vm_type.eq(new.vm_type.as_str()),
            vms::os.eq(&new.os),
            vms::state.eq(VmState::Stopped.as_str()),
            vms::memory_kb.eq(new.memory_kb),
            vms::max_memory_kb.eq(new.max_memory_kb.unwrap_or(new.memory_kb)),
            vms::vcpus.eq(new.vcpus),
            vms::owner_id.eq(caller.user_id),
            vms::created_at.eq(crate::now()),
        ))
        .returning(vms::id)
        .get_result(conn)
        .map_err(|e| crate::error::conflict_on_unique(e, "the VM name"))?;
    for vif in &new.vifs {
        insert_vif(conn, id, vif, super::PRESENT)?;
    }
    for disk in &new.disks {
        insert_disk(conn, caller, new.node, id, disk, super::PRESENT)?;
    }
    let job = super::jobs::create(conn, caller, &JobAction::Define, id)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.create",
        "vm",
        Some(id),
        &format!(
            "created VM '{}' ({}, {} KiB, {} vCPUs) on node {}; job {job}",
            new.name, new.vm_type, new.memory_kb, new.vcpus, new.node
        ),
    )?;
    Ok((id, job))
}

pub(crate) fn update(
    conn: &mut Conn,
    caller: &Caller,
    id: i32,
    update: &Resize,
    limits: &GlobalOptions,
) -> Result<i32, StoreError> {
    let vm = require(conn, caller, id, Permission::Modify)?;
    let memory_kb = update.memory_kb.unwrap_or(vm.memory_kb);
    let max_memory_kb = update.max_memory_kb.unwrap_or(vm.max_memory_kb);
    let vcpus = update.vcpus.unwrap_or(vm.vcpus);
    check_sizes(memory_kb, max_memory_kb, vcpus, limits)?;
    if let Some(owner) = vm.owner_id {
        check_quota(conn, owner, 1, memory_kb, i64::from(vcpus), Some(id))?;
    }
    // Only the change is recorded, as the job's parameters: the VM's sizes stay what the
    // hypervisor reported until it reports the new ones (a failed job changes nothing),
    // and a memory-only change does not touch the ceiling.
    let action = JobAction::Resize(*update);
    let params = action.params();
    let job = super::jobs::create(conn, caller, &action, id)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.update",
        "vm",
        Some(id),
        &format!("{params}; job {job}"),
    )?;
    Ok(job)
}

/// Delete a stopped VM (needs `admin` on it). A VM its hypervisor never got — its create
/// job failed or was cancelled — goes at once, with a job recorded as succeeded; any
/// other is undefined on its node by a job, and its record goes when that succeeds.
pub(crate) fn delete(conn: &mut Conn, caller: &Caller, id: i32) -> Result<i32, StoreError> {
    let vm = require(conn, caller, id, Permission::Admin)?;
    if vm.state != VmState::Stopped {
        return Err(StoreError::WrongState(format!(
            "VM '{}' is {}; only a stopped VM can be deleted (shut it down or destroy it first)",
            vm.name, vm.state
        )));
    }
    let create: Option<(i32, String)> = jobs::table
        .filter(jobs::target_kind.eq("vm"))
        .filter(jobs::target_id.eq(id))
        .filter(jobs::action.eq(JobAction::Define.name()))
        .order(jobs::id.desc())
        .select((jobs::id, jobs::state))
        .first(conn)
        .optional()?;
    let never_defined = match create {
        Some((job, state)) => match JobState::parse(&state, "state")? {
            JobState::Pending | JobState::Running => {
                return Err(StoreError::WrongState(format!(
                    "VM '{}' is still being created by job {job}; cancel that job or wait for it",
                    vm.name
                )));
            }
            JobState::Failed | JobState::Cancelled => true,
            JobState::Succeeded => false,
        },
        None => false,
    };
    let job = super::jobs::create(conn, caller, &JobAction::DeleteVm, id)?;
    if never_defined {
        diesel::update(jobs::table.find(job))
            .set((
                jobs::state.eq(JobState::Succeeded.as_str()),
                jobs::finished_at.eq(crate::now()),
            ))
            .execute(conn)?;
        forget(conn, id)?;
    }
    super::audit::record(
        conn,
        Some(caller),
        "vm.delete",
        "vm",
        Some(id),
        &if never_defined {
            format!(
                "deleted VM '{}' (never created on its node); job {job}",
                vm.name
            )
        } else {
            format!(
                "deleting VM '{}' from node {}; job {job}",
                vm.name, vm.node_id
            )
        },
    )?;
    Ok(job)
}

/// Remove a VM's record; its devices, grants, notes, statistics and triggers go with it
/// (foreign keys), its schedules here.
pub(crate) fn forget(conn: &mut Conn, id: i32) -> Result<(), StoreError> {
    diesel::delete(
        schedules::table
            .filter(schedules::target_kind.eq("vm"))
            .filter(schedules::target_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(vms::table.find(id)).execute(conn)?;
    Ok(())
}

pub(crate) fn power(
    conn: &mut Conn,
    caller: &Caller,
    id: i32,
    action: PowerAction,
) -> Result<i32, StoreError> {
    let vm = require(conn, caller, id, Permission::Power)?;
    let allowed = action.valid_from();
    if !allowed.contains(&vm.state) {
        let words: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        return Err(StoreError::WrongState(format!(
            "VM '{}' is {}; {} needs it {}",
            vm.name,
            vm.state,
            action.as_str(),
            words.join(" or ")
        )));
    }
    let job = super::jobs::create(conn, caller, &JobAction::Power(action), id)?;
    super::audit::record(
        conn,
        Some(caller),
        &format!("vm.{}", action.as_str()),
        "vm",
        Some(id),
        &format!("job {job}"),
    )?;
    Ok(job)
}

pub(crate) fn add_vif(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    vif: &NewVif,
) -> Result<(i32, i32), StoreError> {
    require(conn, caller, vm, Permission::Modify)?;
    let vif_id = insert_vif(conn, vm, vif, super::ADDING)?;
    let job = super::jobs::create(conn, caller, &JobAction::AttachVif { vif: vif_id }, vm)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.addVif",
        "vm",
        Some(vm),
        &format!("interface {vif_id} on bridge {}; job {job}", vif.bridge),
    )?;
    Ok((vif_id, job))
}

pub(crate) fn remove_vif(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    vif: i32,
) -> Result<i32, StoreError> {
    require(conn, caller, vm, Permission::Modify)?;
    let present: i64 = vifs::table
        .filter(vifs::id.eq(vif))
        .filter(vifs::vm_id.eq(vm))
        .filter(vifs::state.eq(super::PRESENT))
        .count()
        .get_result(conn)?;
    if present == 0 {
        return Err(StoreError::NotFound {
            kind: "interface",
            key: format!("id {vif} on VM {vm}"),
        });
    }
    let action = JobAction::DetachVif { vif };
    super::jobs::refuse_repeat(conn, vm, &action)?;
    let job = super::jobs::create(conn, caller, &action, vm)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.removeVif",
        "vm",
        Some(vm),
        &format!("interface {vif}; job {job}"),
    )?;
    Ok(job)
}

pub(crate) fn add_disk(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    disk: &NewDisk,
) -> Result<(i32, i32), StoreError> {
    let found = require(conn, caller, vm, Permission::Modify)?;
    let disk_id = insert_disk(conn, caller, found.node_id, vm, disk, super::ADDING)?;
    let job = super::jobs::create(conn, caller, &JobAction::AttachDisk { disk: disk_id }, vm)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.addDisk",
        "vm",
        Some(vm),
        &format!("disk {disk_id} at {}; job {job}", disk.target),
    )?;
    Ok((disk_id, job))
}

pub(crate) fn remove_disk(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    disk: i32,
) -> Result<i32, StoreError> {
    require(conn, caller, vm, Permission::Modify)?;
    let present: i64 = disks::table
        .filter(disks::id.eq(disk))
        .filter(disks::vm_id.eq(vm))
        .filter(disks::state.eq(super::PRESENT))
        .count()
        .get_result(conn)?;
    if present == 0 {
        return Err(StoreError::NotFound {
            kind: "disk",
            key: format!("id {disk} on VM {vm}"),
        });
    }
    let action = JobAction::DetachDisk { disk };
    super::jobs::refuse_repeat(conn, vm, &action)?;
    let job = super::jobs::create(conn, caller, &action, vm)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.removeDisk",
        "vm",
        Some(vm),
        &format!("disk {disk}; job {job}"),
    )?;
    Ok(job)
}

pub(crate) fn notes(conn: &mut Conn, caller: &Caller, vm: i32) -> Result<String, StoreError> {
    require(conn, caller, vm, Permission::View)?;
    Ok(notes::table
        .find(vm)
        .select(notes::body)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_default())
}

pub(crate) fn set_notes(
    conn: &mut Conn,
    caller: &Caller,
    vm: i32,
    body: &str,
) -> Result<(), StoreError> {
    require(conn, caller, vm, Permission::Modify)?;
    diesel::delete(notes::table.find(vm)).execute(conn)?;
    diesel::insert_into(notes::table)
        .values((
            notes::vm_id.eq(vm),
            notes::body.eq(body),
            notes::updated_by.eq(caller.user_id),
            notes::updated_at.eq(crate::now()),
        ))
        .execute(conn)?;
    super::audit::record(
        conn,
        Some(caller),
        "vm.setNotes",
        "vm",
        Some(vm),
        &format!("notes set ({} bytes)", body.len()),
    )
}
