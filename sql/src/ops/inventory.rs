//! Scheduler-side queries: job targets and outcomes, inventory, node status.

use crate::JobAction;
use crate::db::Conn;
use diesel::prelude::*;

use crate::schema::{jobs, nodes, vms};
use crate::{Domain, Job, JobState, JobTarget, Outcome, StateChange, StoreError, VmState};

pub(crate) fn job_target(conn: &mut Conn, job: &Job) -> Result<JobTarget, StoreError> {
    match job.target_kind.as_str() {
        "vm" => {
            let vm = super::vms::load(conn, job.target_id)?;
            let node = super::nodes::with_credentials(conn, vm.node_id)?;
            Ok(JobTarget::Vm { vm, node })
        }
        "node" => Ok(JobTarget::Node(super::nodes::with_credentials(
            conn,
            job.target_id,
        )?)),
        other => Err(StoreError::invalid(
            "target_kind",
            format!("unknown job target kind '{other}'"),
        )),
    }
}

/// Record a domain found on a node as a VM of it, and audit the find; `how` says more
/// (`" by its poller"`). Returns the new VM's id.
pub(crate) fn record_discovered(
    conn: &mut Conn,
    node_id: i32,
    domain: &Domain,
    how: &str,
    now: i64,
) -> Result<i32, StoreError> {
    let id: i32 = diesel::insert_into(vms::table)
        .values((
            vms::uuid.eq(domain.uuid.to_ascii_lowercase()),
            vms::name.eq(&domain.name),
            vms::node_id.eq(node_id),
            vms::vm_type.eq(domain.vm_type.unwrap_or(crate::VmType::Pv).as_str()),
            vms::os.eq(""),
            vms::state.eq(domain.state.as_str()),
            vms::memory_kb.eq(domain.memory_kb),
            vms::max_memory_kb.eq(domain.max_memory_kb.max(domain.memory_kb)),
            vms::vcpus.eq(domain.vcpus.max(1)),
            vms::started_at.eq(domain.state.is_active().then_some(now)),
            vms::created_at.eq(now),
        ))
        .returning(vms::id)
        .get_result(conn)?;
    super::audit::record(
        conn,
        None,
        "vm.discovered",
        "vm",
        Some(id),
        &format!(
            "found '{}' ({}) on node {node_id}{how}",
            domain.name, domain.state
        ),
    )?;
    Ok(id)
}

pub(crate) fn finish_job(
    conn: &mut Conn,
    job_id: i32,
    worker: &str,
    outcome: &Outcome,
) -> Result<(), StoreError> {
    let now = crate::now();
    let mine = jobs::table
        .filter(jobs::id.eq(job_id))
        .filter(jobs::state.eq(JobState::Running.as_str()))
        .filter(jobs::worker.eq(worker));
    let job = super::jobs::get(conn, job_id)?;
    // Hypervisor messages may quote the URI they failed on, credentials and all.
    let credentials = match job.target_kind.as_str() {
        "vm" => match super::vms::load(conn, job.target_id) {
            Ok(vm) => super::nodes::credentials(conn, vm.node_id)?,
            Err(_) => Default::default(),
        },
        _ => super::nodes::credentials(conn, job.target_id)?,
    };
    let scrubbed;
    let outcome = match outcome {
        Outcome::Succeeded | Outcome::SucceededAtNextBoot => outcome,
        Outcome::Failed { fault, error } => {
            scrubbed = Outcome::Failed {
                fault: *fault,
                error: crate::nodes::scrub(error, &credentials),
            };
            &scrubbed
        }
        Outcome::Retry {
            fault,
            error,
            not_before,
        } => {
            scrubbed = Outcome::Retry {
                fault: *fault,
                error: crate::nodes::scrub(error, &credentials),
                not_before: *not_before,
            };
            &scrubbed
        }
    };
    let retries_left = job.attempts < job_max_attempts(conn, job_id)?;
    let changed = match outcome {
        Outcome::Succeeded | Outcome::SucceededAtNextBoot => diesel::update(mine)
            .set((
                jobs::state.eq(JobState::Succeeded.as_str()),
                jobs::finished_at.eq(now),
                jobs::error.eq(""),
                jobs::applies.eq(match outcome {
                    Outcome::SucceededAtNextBoot => "next boot",
                    _ => "now",
                }),
            ))
            .execute(conn)?,
        Outcome::Failed { fault, error } => diesel::update(mine)
            .set((
                jobs::state.eq(JobState::Failed.as_str()),
                jobs::finished_at.eq(now),
                jobs::error.eq(error),
                jobs::fault.eq(fault),
            ))
            .execute(conn)?,
        Outcome::Retry {
            error, not_before, ..
        } if retries_left => diesel::update(mine)
            .set((
                jobs::state.eq(JobState::Pending.as_str()),
                jobs::not_before.eq(*not_before),
                jobs::error.eq(error),
                jobs::worker.eq(""),
            ))
            .execute(conn)?,
        Outcome::Retry { fault, error, .. } => diesel::update(mine)
            .set((
                jobs::state.eq(JobState::Failed.as_str()),
                jobs::fault.eq(fault),
                jobs::finished_at.eq(now),
                jobs::error.eq(format!("{error} (gave up after {} attempts)", job.attempts)),
            ))
            .execute(conn)?,
    };
    if changed == 0 {
        return Ok(());
    }
    let word = match outcome {
        Outcome::Succeeded => "succeeded".to_string(),
        Outcome::SucceededAtNextBoot => "succeeded; applies at the next boot".to_string(),
        Outcome::Failed { error, .. } => format!("failed: {error}"),
        Outcome::Retry { error, .. } if retries_left => {
            format!("attempt {} failed, will retry: {error}", job.attempts)
        }
        Outcome::Retry { error, .. } => {
            format!("failed: {error} (gave up after {} attempts)", job.attempts)
        }
    };
    let kind = job.target_kind.as_str();
    let state = match outcome {
        Outcome::Succeeded | Outcome::SucceededAtNextBoot => JobState::Succeeded,
        Outcome::Failed { .. } => JobState::Failed,
        Outcome::Retry { .. } if retries_left => JobState::Pending,
        Outcome::Retry { .. } => JobState::Failed,
    };
    super::audit::record_with(
        conn,
        None,
        &format!("job.{}", job.action),
        kind,
        Some(job.target_id),
        &format!("job {job_id} {word}"),
        super::events::Extra {
            state: Some(state.as_str()),
            job: Some(job_id),
        },
    )?;
    settle(conn, &job, state)
}

pub(crate) fn record_uuid(conn: &mut Conn, vm: i32, uuid: &str) -> Result<(), StoreError> {
    let uuid = uuid.to_ascii_lowercase();
    let old: String = vms::table.find(vm).select(vms::uuid).first(conn)?;
    diesel::update(vms::table.find(vm))
        .set(vms::uuid.eq(&uuid))
        .execute(conn)?;
    super::audit::record(
        conn,
        None,
        "vm.uuid",
        "vm",
        Some(vm),
        &format!("the hypervisor made it with UUID {uuid} (was {old})"),
    )
}

pub(crate) fn subject(conn: &mut Conn, job: &Job) -> Result<crate::JobSubject, StoreError> {
    use crate::JobSubject;
    use crate::schema::{disks, vifs};
    let gone = |kind: &'static str, id: i32| StoreError::NotFound {
        kind,
        key: format!("id {id} named by job {}", job.id),
    };
    Ok(match job.action {
        JobAction::AttachVif { vif } | JobAction::DetachVif { vif } => {
            let row: Option<(i32, String, String, String)> = vifs::table
                .filter(vifs::id.eq(vif))
                .filter(vifs::vm_id.eq(job.target_id))
                .select((vifs::id, vifs::mac, vifs::bridge, vifs::model))
                .first(conn)
                .optional()?;
            let (id, mac, bridge, model) = row.ok_or_else(|| gone("interface", vif))?;
            JobSubject::Vif(crate::Vif {
                id,
                mac,
                bridge,
                model,
            })
        }
        JobAction::AttachDisk { disk } | JobAction::DetachDisk { disk } => {
            let row: Option<(i32, String, String, i64, bool)> = disks::table
                .filter(disks::id.eq(disk))
                .filter(disks::vm_id.eq(job.target_id))
                .select((
                    disks::id,
                    disks::target,
                    disks::source,
                    disks::size_kb,
                    disks::readonly,
                ))
                .first(conn)
                .optional()?;
            let (id, target, source, size_kb, readonly) = row.ok_or_else(|| gone("disk", disk))?;
            JobSubject::Disk(crate::Disk {
                id,
                target,
                source,
                size_kb,
                readonly,
            })
        }
        JobAction::CreateVolume { volume } | JobAction::DeleteVolume { volume } => {
            let (volume, pool) = super::storage::volume_and_pool(conn, volume)?;
            if pool.node_id != job.target_id {
                return Err(gone("volume", volume.id));
            }
            JobSubject::Volume { volume, pool }
        }
        JobAction::Snapshot { snapshot }
        | JobAction::Revert { snapshot }
        | JobAction::DeleteSnapshot { snapshot } => {
            JobSubject::Snapshot(super::snapshots::of_job(conn, job.target_id, snapshot)?)
        }
        JobAction::Power(_)
        | JobAction::Define
        | JobAction::Resize(_)
        | JobAction::DeleteVm
        | JobAction::Sync
        | JobAction::Module(_) => JobSubject::None,
    })
}

/// What a finished job means for the records it was about: a device, volume or snapshot
/// being made becomes present when its job succeeds and goes when it fails; one being
/// removed goes when its job succeeds. A VM deleted on its hypervisor loses its record.
fn settle(conn: &mut Conn, job: &Job, state: JobState) -> Result<(), StoreError> {
    use super::PRESENT;
    use crate::schema::{disks, snapshots, storage_pools, storage_volumes, vifs};
    let succeeded = match state {
        JobState::Succeeded => true,
        JobState::Failed | JobState::Cancelled => false,
        JobState::Pending | JobState::Running => return Ok(()),
    };
    match (job.action, succeeded) {
        (JobAction::AttachVif { vif }, true) => {
            diesel::update(vifs::table.find(vif))
                .set(vifs::state.eq(PRESENT))
                .execute(conn)?;
        }
        (JobAction::AttachVif { vif }, false) | (JobAction::DetachVif { vif }, true) => {
            diesel::delete(vifs::table.find(vif)).execute(conn)?;
        }
        (JobAction::AttachDisk { disk }, true) => {
            diesel::update(disks::table.find(disk))
                .set(disks::state.eq(PRESENT))
                .execute(conn)?;
        }
        (JobAction::AttachDisk { disk }, false) | (JobAction::DetachDisk { disk }, true) => {
            diesel::delete(disks::table.find(disk)).execute(conn)?;
        }
        (JobAction::Snapshot { snapshot }, true) => {
            diesel::update(snapshots::table.find(snapshot))
                .set(snapshots::state.eq(PRESENT))
                .execute(conn)?;
        }
        (JobAction::Snapshot { snapshot }, false)
        | (JobAction::DeleteSnapshot { snapshot }, true) => {
            diesel::delete(snapshots::table.find(snapshot)).execute(conn)?;
        }
        (JobAction::CreateVolume { volume }, true) => {
            let (pool, size): (i32, i64) = storage_volumes::table
                .find(volume)
                .select((storage_volumes::pool_id, storage_volumes::capacity_kb))
                .first(conn)?;
            diesel::update(storage_volumes::table.find(volume))
                .set((
                    storage_volumes::state.eq(PRESENT),
                    storage_volumes::allocation_kb.eq(size),
                ))
                .execute(conn)?;
            diesel::update(storage_pools::table.find(pool))
                .set(storage_pools::allocation_kb.eq(storage_pools::allocation_kb + size))
                .execute(conn)?;
        }
        (JobAction::CreateVolume { volume }, false) => {
            diesel::delete(storage_volumes::table.find(volume)).execute(conn)?;
        }
        (JobAction::DeleteVolume { volume }, true) => {
            let found: Option<(i32, i64, String)> = storage_volumes::table
                .find(volume)
                .select((
                    storage_volumes::pool_id,
                    storage_volumes::allocation_kb,
                    storage_volumes::state,
                ))
                .first(conn)
                .optional()?;
            if let Some((pool, size, _)) = found {
                diesel::delete(storage_volumes::table.find(volume)).execute(conn)?;
                diesel::update(storage_pools::table.find(pool))
                    .set(storage_pools::allocation_kb.eq(storage_pools::allocation_kb - size))
                    .execute(conn)?;
            }
        }
        (JobAction::DeleteVm, true) => super::vms::forget(conn, job.target_id)?,
        (
            JobAction::DetachVif { .. }
            | JobAction::DetachDisk { .. }
            | JobAction::DeleteSnapshot { .. }
            | JobAction::DeleteVolume { .. }
            | JobAction::DeleteVm
            | JobAction::Power(_)
            | JobAction::Define
            | JobAction::Resize(_)
            | JobAction::Revert { .. }
            | JobAction::Sync
            | JobAction::Module(_),
            _,
        ) => {}
    }
    Ok(())
}

fn job_max_attempts(conn: &mut Conn, job_id: i32) -> Result<i32, StoreError> {
    Ok(jobs::table
        .find(job_id)
        .select(jobs::max_attempts)
        .first(conn)?)
}

pub(crate) fn heartbeat(conn: &mut Conn, worker: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(
        jobs::table
            .filter(jobs::state.eq(JobState::Running.as_str()))
            .filter(jobs::worker.eq(worker)),
    )
    .set(jobs::heartbeat.eq(now))
    .execute(conn)?;
    Ok(())
}

pub(crate) fn recover_interrupted(
    conn: &mut Conn,
    stale_before: i64,
) -> Result<(usize, usize), StoreError> {
    let stale = jobs::table
        .filter(jobs::state.eq(JobState::Running.as_str()))
        .filter(
            jobs::heartbeat
                .lt(stale_before)
                .or(jobs::heartbeat.is_null()),
        );
    let rows: Vec<(i32, i32, i32, String, String, i32)> = stale
        .select((
            jobs::id,
            jobs::attempts,
            jobs::max_attempts,
            jobs::action,
            jobs::target_kind,
            jobs::target_id,
        ))
        .load(conn)?;
    let (mut resumed, mut failed) = (0, 0);
    for (id, attempts, max_attempts, action, kind, target) in rows {
        let (state, detail) = if attempts < max_attempts {
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::state.eq(JobState::Pending.as_str()),
                    jobs::worker.eq(""),
                    jobs::error.eq("interrupted: its scheduler stopped while running it; resumed"),
                ))
                .execute(conn)?;
            resumed += 1;
            (
                JobState::Pending,
                format!("job {id} interrupted by a scheduler stop; resumed"),
            )
        } else {
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::state.eq(JobState::Failed.as_str()),
                    jobs::finished_at.eq(crate::now()),
                    jobs::error.eq("interrupted: its scheduler stopped while running it, and no attempts are left"),
                    jobs::fault.eq(crate::fault_code::INTERNAL),
                ))
                .execute(conn)?;
            failed += 1;
            (
                JobState::Failed,
                format!("job {id} interrupted by a scheduler stop; failed (no attempts left)"),
            )
        };
        super::audit::record_with(
            conn,
            None,
            &format!("job.{action}"),
            &kind,
            Some(target),
            &detail,
            super::events::Extra {
                state: Some(state.as_str()),
                job: Some(id),
            },
        )?;
    }
    Ok((resumed, failed))
}

/// Set a VM's state, `started_at` following whether it is active; returns the change.
fn set_state(
    conn: &mut Conn,
    vm_id: i32,
    node_id: i32,
    from: VmState,
    to: VmState,
    now: i64,
) -> Result<Option<StateChange>, StoreError> {
    if from == to {
        return Ok(None);
    }
    let started_at = match (from.is_active(), to.is_active()) {
        (false, true) => Some(Some(now)),
        (_, false) => Some(None),
        (true, true) => None,
    };
    diesel::update(vms::table.find(vm_id))
        .set(vms::state.eq(to.as_str()))
        .execute(conn)?;
    if let Some(started_at) = started_at {
        diesel::update(vms::table.find(vm_id))
            .set(vms::started_at.eq(started_at))
            .execute(conn)?;
    }
    vm_state(conn, vm_id, to, &format!("{from} → {to}"))?;
    Ok(Some(StateChange {
        vm_id,
        node_id,
        from,
        to,
    }))
}

pub(crate) fn apply(
    conn: &mut Conn,
    node_id: i32,
    observed: &[Domain],
    lists_stopped: bool,
    now: i64,
) -> Result<Vec<StateChange>, StoreError> {
    let recorded: Vec<(i32, String, String, String)> = vms::table
        .filter(vms::node_id.eq(node_id))
        .select((vms::id, vms::uuid, vms::name, vms::state))
        .load(conn)?;
    let mut changes = Vec::new();
    let mut seen = Vec::with_capacity(observed.len());
    for domain in observed {
        let found = recorded
            .iter()
            .find(|r| r.1.eq_ignore_ascii_case(&domain.uuid))
            .or_else(|| {
                recorded.iter().find(|r| {
                    r.2 == domain.name
                        && !observed.iter().any(|o| o.uuid.eq_ignore_ascii_case(&r.1))
                })
            });
        match found {
            Some((id, _, _, state)) => {
                seen.push(*id);
                diesel::update(vms::table.find(*id))
                    .set((
                        vms::uuid.eq(domain.uuid.to_ascii_lowercase()),
                        vms::memory_kb.eq(domain.memory_kb),
                        vms::max_memory_kb.eq(domain.max_memory_kb.max(domain.memory_kb)),
                        vms::vcpus.eq(domain.vcpus.max(1)),
                        vms::vanished_at.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                let from = VmState::parse(state, "state")?;
                changes.extend(set_state(conn, *id, node_id, from, domain.state, now)?);
            }
            None => seen.push(record_discovered(conn, node_id, domain, "", now)?),
        }
    }
    for (id, _, _, state) in recorded.iter().filter(|r| !seen.contains(&r.0)) {
        let from = VmState::parse(state, "state")?;
        let to = if lists_stopped {
            VmState::Unknown
        } else {
            VmState::Stopped
        };
        if lists_stopped {
            diesel::update(vms::table.find(*id).filter(vms::vanished_at.is_null()))
                .set(vms::vanished_at.eq(now))
                .execute(conn)?;
        }
        changes.extend(set_state(conn, *id, node_id, from, to, now)?);
    }
    mark_node(conn, node_id, true, "", now)?;
    diesel::update(nodes::table.find(node_id))
        .set(nodes::synced_at.eq(now))
        .execute(conn)?;
    super::triggers::fire_for_changes(conn, &changes)?;
    Ok(changes)
}

pub(crate) fn apply_state(
    conn: &mut Conn,
    node_id: i32,
    uuid: &str,
    state: VmState,
    now: i64,
) -> Result<Option<StateChange>, StoreError> {
    let row: Option<(i32, String)> = vms::table
        .filter(vms::node_id.eq(node_id))
        .filter(vms::uuid.eq(uuid.to_ascii_lowercase()))
        .select((vms::id, vms::state))
        .first(conn)
        .optional()?;
    let Some((id, from)) = row else {
        return Ok(None);
    };
    let change = set_state(
        conn,
        id,
        node_id,
        VmState::parse(&from, "state")?,
        state,
        now,
    )?;
    super::triggers::fire_for_changes(conn, change.as_slice())?;
    Ok(change)
}

pub(crate) fn mark_node(
    conn: &mut Conn,
    node_id: i32,
    reachable: bool,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    let was: Option<bool> = nodes::table
        .find(node_id)
        .select(nodes::reachable)
        .first(conn)
        .optional()?;
    let Some(was) = was else {
        return Err(StoreError::not_found("node", node_id));
    };
    let detail = crate::nodes::scrub(detail, &super::nodes::credentials(conn, node_id)?);
    let detail = detail.as_str();
    diesel::update(nodes::table.find(node_id))
        .set((
            nodes::reachable.eq(reachable),
            nodes::status_detail.eq(detail),
        ))
        .execute(conn)?;
    if reachable {
        diesel::update(nodes::table.find(node_id))
            .set(nodes::synced_at.eq(now))
            .execute(conn)?;
    }
    if was != reachable {
        let word = if reachable {
            "reachable again".to_string()
        } else {
            format!("unreachable: {detail}")
        };
        super::audit::record_with(
            conn,
            None,
            "node.status",
            "node",
            Some(node_id),
            &word,
            super::events::Extra {
                state: Some(if reachable {
                    "reachable"
                } else {
                    "unreachable"
                }),
                job: None,
            },
        )?;
    }
    Ok(())
}

/// Audit a node's new status (`reachable`, `unreachable`, `silent`, `pushing`) and send
/// it on the event stream.
pub(crate) fn node_status(
    conn: &mut Conn,
    node_id: i32,
    state: &str,
    detail: &str,
) -> Result<(), StoreError> {
    super::audit::record_with(
        conn,
        None,
        "node.status",
        "node",
        Some(node_id),
        detail,
        super::events::Extra::state(state),
    )
}

/// Audit a VM's new state and send it on the event stream.
pub(crate) fn vm_state(
    conn: &mut Conn,
    vm_id: i32,
    state: VmState,
    detail: &str,
) -> Result<(), StoreError> {
    super::audit::record_with(
        conn,
        None,
        "vm.state",
        "vm",
        Some(vm_id),
        detail,
        super::events::Extra::state(state.as_str()),
    )
}

/// Follow each poller's silence: a node whose poller has not pushed for three of its
/// intervals (at least 30 s) goes silent, once per silence, and one that pushed since it
/// went silent is pushing again. Returns how many went silent now. Done here rather than
/// in every push, which stays one statement shorter.
pub(crate) fn mark_silent(conn: &mut Conn, now: i64) -> Result<usize, StoreError> {
    let polled: Vec<(i32, i64, Option<i32>, Option<i64>)> = nodes::table
        .filter(nodes::last_seen.is_not_null())
        .select((
            nodes::id,
            nodes::last_seen.assume_not_null(),
            nodes::poll_interval,
            nodes::silent_since,
        ))
        .load(conn)?;
    let mut marked = 0;
    for (node_id, last_seen, interval, silent_since) in polled {
        let allowed = (3 * i64::from(interval.unwrap_or(10))).max(30);
        let silent = now - last_seen > allowed;
        match (silent, silent_since) {
            (true, None) => {
                diesel::update(nodes::table.find(node_id))
                    .set(nodes::silent_since.eq(now))
                    .execute(conn)?;
                node_status(
                    conn,
                    node_id,
                    "silent",
                    &format!(
                        "silent: no statistics from its poller for {}s",
                        now - last_seen
                    ),
                )?;
                marked += 1;
            }
            (false, Some(_)) => {
                diesel::update(nodes::table.find(node_id))
                    .set(nodes::silent_since.eq(None::<i64>))
                    .execute(conn)?;
                node_status(
                    conn,
                    node_id,
                    "pushing",
                    "its poller pushes statistics again",
                )?;
            }
            _ => {}
        }
    }
    Ok(marked)
}

pub(crate) fn request_sync(
    conn: &mut Conn,
    actor: &crate::Caller,
    node_id: i32,
) -> Result<i32, StoreError> {
    super::nodes::get(conn, node_id)?;
    let job = super::jobs::create(conn, actor, &JobAction::Sync, node_id)?;
    super::audit::record(
        conn,
        Some(actor),
        "node.sync",
        "node",
        Some(node_id),
        &format!("inventory sync requested; job {job}"),
    )?;
    Ok(job)
}
