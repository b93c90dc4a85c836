//! What the scheduler asks of the store: claiming jobs, recording their outcome, keeping
//! the inventory in step with what the hypervisors report, and node reachability.
//!
//! Claiming is the one place the backends differ (see `claim.rs`): PostgreSQL workers in
//! several processes claim with `FOR UPDATE SKIP LOCKED`, SQLite serializes writers.

use crate::{Job, Node, Store, StoreError, Vm, VmState, VmType};

/// What a job acts on, as the engine needs it to dispatch.
#[derive(Clone, Debug)]
pub enum JobTarget {
    /// A VM and the node it lives on.
    Vm {
        /// The VM.
        vm: Vm,
        /// Its node.
        node: Node,
    },
    /// A node.
    Node(Node),
}

/// How a dispatch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Succeeded,
    /// Done, on the persistent definition only: the change takes effect at the VM's next
    /// boot (`applies: "next boot"`).
    SucceededAtNextBoot,
    /// Given up.
    Failed {
        /// The API fault code that fits the failure (see [`crate::Job::fault`]).
        fault: i32,
        /// Why, in the hypervisor's words where it gave some.
        error: String,
    },
    /// Failed for now; try again after `not_before` (Unix seconds) if attempts remain,
    /// else fail with `fault`.
    Retry {
        /// The fault code should no attempt be left.
        fault: i32,
        /// What went wrong this time.
        error: String,
        /// Earliest next attempt.
        not_before: i64,
    },
}

/// The record a device, volume or snapshot job is about, as the engine needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobSubject {
    /// The action names no record (power, resize, define, delete, sync).
    None,
    /// The interface being attached or detached.
    Vif(crate::Vif),
    /// The disk being attached or detached.
    Disk(crate::Disk),
    /// The volume being created or deleted, and its pool.
    Volume {
        /// The volume.
        volume: crate::Volume,
        /// Its pool.
        pool: crate::Pool,
    },
    /// The snapshot being taken, reverted to or deleted.
    Snapshot(crate::Snapshot),
}

/// A domain as a hypervisor reports it: what every transport's `domains()` answers and
/// [`Store::apply_inventory`] records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// The hypervisor's UUID.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: VmState,
    /// Current memory, KiB.
    pub memory_kb: i64,
    /// Memory ceiling, KiB.
    pub max_memory_kb: i64,
    /// vCPUs.
    pub vcpus: i32,
    /// PV or HVM, where known.
    pub vm_type: Option<VmType>,
}

/// A VM whose recorded state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The VM.
    pub vm_id: i32,
    /// Its node.
    pub node_id: i32,
    /// The state before.
    pub from: VmState,
    /// The state now.
    pub to: VmState,
}

impl Store {
    /// Pass a result through, waking this process's workers when it is a success.
    pub(crate) fn after_jobs<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.is_ok() {
            self.jobs_recorded();
        }
        result
    }

    /// Claim the oldest job that is due and whose target has no job running, for
    /// `worker`; `None` when there is none. The job is `running` when this returns.
    pub fn claim_job(&self, worker: &str) -> Result<Option<Job>, StoreError> {
        crate::claim::claim_job(self, worker, crate::now())
    }

    /// What a job acts on.
    pub fn job_target(&self, job: &Job) -> Result<JobTarget, StoreError> {
        self.read(|conn| crate::ops::inventory::job_target(conn, job))
    }

    /// A VM's interfaces and disks, for defining it on a hypervisor.
    pub fn vm_devices(
        &self,
        vm_id: i32,
    ) -> Result<(Vec<crate::Vif>, Vec<crate::Disk>), StoreError> {
        self.read(|conn| crate::ops::vms::devices(conn, vm_id))
    }

    /// Ask the scheduler to read a node's inventory now (admins and operators); returns
    /// the job id.
    pub fn request_sync(&self, actor: &crate::Caller, node_id: i32) -> Result<i32, StoreError> {
        actor.require_role(crate::Role::Operator, "synchronizing a node")?;
        self.after_jobs(
            self.write(|conn| crate::ops::inventory::request_sync(conn, actor, node_id)),
        )
    }

    /// Record how a claimed job ended. Ignored (with `Ok`) when the job is no longer
    /// running under this worker, e.g. because it was recovered as interrupted.
    pub fn finish_job(
        &self,
        job_id: i32,
        worker: &str,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        self.write(|conn| crate::ops::inventory::finish_job(conn, job_id, worker, outcome))
    }

    /// Mark this worker's running jobs as alive.
    pub fn heartbeat(&self, worker: &str) -> Result<(), StoreError> {
        self.write(|conn| crate::ops::inventory::heartbeat(conn, worker, crate::now()))
    }

    /// Put running jobs whose worker has not beaten since `stale_before` back to pending
    /// (attempts left) or fail them (none left). Returns (resumed, failed).
    pub fn recover_interrupted(&self, stale_before: i64) -> Result<(usize, usize), StoreError> {
        self.after_jobs(
            self.write(|conn| crate::ops::inventory::recover_interrupted(conn, stale_before)),
        )
    }

    /// Bring a node's recorded VMs in step with what its hypervisor reports: new domains
    /// are recorded, changed ones updated, missing ones marked (stopped when the transport
    /// lists only running domains, else vanished). Fires matching state triggers.
    pub fn apply_inventory(
        &self,
        node_id: i32,
        observed: &[Domain],
        lists_stopped: bool,
    ) -> Result<Vec<StateChange>, StoreError> {
        self.after_jobs(self.write(|conn| {
            crate::ops::inventory::apply(conn, node_id, observed, lists_stopped, crate::now())
        }))
    }

    /// The device, volume or snapshot record a job names; [`StoreError::NotFound`] when it
    /// is gone or belongs to another VM or node than the job's target.
    pub fn job_subject(&self, job: &Job) -> Result<JobSubject, StoreError> {
        self.read(|conn| crate::ops::inventory::subject(conn, job))
    }

    /// Record the UUID a hypervisor gave a VM it made (XenAPI chooses its own).
    pub fn record_vm_uuid(&self, vm: i32, uuid: &str) -> Result<(), StoreError> {
        crate::validate::uuid("uuid", uuid)?;
        self.write(|conn| crate::ops::inventory::record_uuid(conn, vm, uuid))
    }

    /// Follow pollers' silence: nodes whose poller stopped pushing go silent, and those
    /// pushing again are marked so (an event and an audit entry each, once per change);
    /// returns how many went silent.
    pub fn mark_silent_nodes(&self, now: i64) -> Result<usize, StoreError> {
        self.write(|conn| crate::ops::inventory::mark_silent(conn, now))
    }

    /// Record a state a hypervisor announced for one domain; fires matching triggers.
    pub fn apply_domain_state(
        &self,
        node_id: i32,
        uuid: &str,
        state: VmState,
    ) -> Result<Option<StateChange>, StoreError> {
        self.after_jobs(self.write(|conn| {
            crate::ops::inventory::apply_state(conn, node_id, uuid, state, crate::now())
        }))
    }

    /// Record whether a node answered, and why not.
    pub fn mark_node(&self, node_id: i32, reachable: bool, detail: &str) -> Result<(), StoreError> {
        self.write(|conn| {
            crate::ops::inventory::mark_node(conn, node_id, reachable, detail, crate::now())
        })
    }
}
