//! Zentific's SQL store.
//!
//! One schema (`schema.rs`) over two backends: SQLite, embedded and the default, and
//! PostgreSQL for deployments that outgrow one machine. Each backend has its own migration
//! flavour under `migrations/`, applied automatically by [`Store::open`].
//!
//! Every public operation is a complete unit of work: it validates its input, checks what
//! the schema alone cannot (limits, quotas, states), and changes the database in **one
//! transaction**, audit record included — a failure leaves nothing half-written. Errors are
//! [`StoreError`] variants whose message is a sentence the caller can act on; the XML-RPC
//! edge turns them into faults.
//!
//! Layout: each noun has a file with its public types and `Store` methods (`users.rs`,
//! `vms.rs`, `jobs.rs`, `stats.rs`, …) and a module of queries in `ops/` with the same
//! name. Queries are written once against [`db::Conn`], one connection type for both
//! backends; `Store::read` and `Store::write` (in `db.rs`) hand it out, the latter inside
//! one transaction. The queries whose SQL must differ match on the connection: claiming
//! jobs and due schedules with `SKIP LOCKED` (`claim.rs`) and the statistics inserts that
//! skip duplicates (`ops/stats.rs`).

mod audit;
mod claim;
mod consoles;
pub(crate) mod db;
mod error;
mod events;
mod files;
mod job_action;
mod jobs;
mod modules;
mod nodes;
mod ops;
mod options;
mod schedules;
mod scheduling;
pub mod schema;
mod sessions;
mod snapshots;
mod stats;
mod storage;
mod triggers;
mod types;
mod users;
mod validate;
mod vms;

#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{AuditEntry, AuditFilter};
pub use consoles::{CONSOLE_TICKET_SECS, ConsoleAccess, ConsoleTicket};
pub use db::{Backend, Store, redact};
pub use error::{StoreError, fault_code};
pub use events::{EVENT_BATCH, Event, EventBatch};
pub use job_action::{JobAction, ModuleAction, Resize, TargetKind};
pub use jobs::{Job, JobFilter};
pub use modules::{BASE_MODULE, ModuleRecord};
pub use nodes::{NewNode, Node, NodeUpdate, RegisteredNode};
pub use options::{GlobalOptions, OPTION_DEFS, OptionDef, OptionValue};
pub use schedules::{Calendar, NewSchedule, Schedule, ScheduleUpdate};
pub use scheduling::{Domain, JobSubject, JobTarget, Outcome, StateChange};
pub use sessions::{Caller, SESSION_TTL_SECS};
pub use snapshots::Snapshot;
pub use stats::{
    DomainSample, HostSample, LatestExtras, NODE_METRICS, Point, PushOutcome, Sample, VM_METRICS,
    VbdCounters, VifCounters,
};
pub use storage::{NewPool, NewVolume, Pool, Volume};
pub use triggers::{NewTrigger, Trigger};
pub use types::{
    ConsoleKind, JobKind, JobState, MissedRuns, Permission, Role, Transport, TriggerEvent, VmState,
    VmType,
};
pub use users::{NewUser, Quota, User, UserUpdate, VmGrant};
pub use vms::{Disk, NewDisk, NewVif, NewVm, PowerAction, Vif, Vm, VmDetail, VmFilter};

/// The current time as Unix seconds (UTC): the unit of every timestamp in the schema.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
