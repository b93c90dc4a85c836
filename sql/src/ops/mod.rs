//! The queries behind every store operation, one module per noun.
//!
//! Each function takes a [`Conn`](crate::db::Conn), the one connection type for both
//! backends, and trusts its caller for the transaction: the `Store` methods in the noun's
//! file at the crate root open it (`Store::read` / `Store::write`) and call in here. Query
//! code is written once; where a backend needs its own SQL (`ON CONFLICT`, `FOR UPDATE
//! SKIP LOCKED`, advisory locks) the function matches on the connection and says why.
#![allow(clippy::too_many_arguments)]

/// The state of a device, volume or snapshot row whose job has not succeeded yet; such
/// rows are listed as pending changes, not as what the VM or pool has.
pub(crate) const ADDING: &str = "adding";
/// The state of a device, volume or snapshot row the hypervisor has.
pub(crate) const PRESENT: &str = "present";

pub(crate) mod audit;
pub(crate) mod consoles;
pub(crate) mod events;
pub(crate) mod inventory;
pub(crate) mod jobs;
pub(crate) mod modules;
pub(crate) mod nodes;
pub(crate) mod options;
pub(crate) mod schedules;
pub(crate) mod sessions;
pub(crate) mod snapshots;
pub(crate) mod stats;
pub(crate) mod storage;
pub(crate) mod triggers;
pub(crate) mod users;
pub(crate) mod vms;
