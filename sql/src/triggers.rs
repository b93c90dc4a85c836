//! Event triggers: when a VM enters a state, or a node falls silent, run a VM action.
//!
//! State triggers fire inside the transaction that records the state change (see
//! `ops/inventory.rs`), so an event is never lost between the change and its job. A
//! trigger rests [`COOLDOWN_SECS`] after firing, so one that reacts to its own effect
//! cannot spin; a silence trigger fires once per silence.

use crate::schedules::{check_action, permission_for};
use crate::{Caller, Role, Store, StoreError, TriggerEvent, VmState, validate};

/// How long a trigger rests after firing, in seconds.
pub const COOLDOWN_SECS: i64 = 10;

/// A trigger as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    /// Row id.
    pub id: i32,
    /// Unique name.
    pub name: String,
    /// What it listens for.
    pub event: TriggerEvent,
    /// The VM it watches (`vm_state`).
    pub vm_id: Option<i32>,
    /// The node it watches (`vm_state` on any of its VMs, or `node_silent`).
    pub node_id: Option<i32>,
    /// The state that fires it (`vm_state`; any state when absent).
    pub state: Option<VmState>,
    /// Seconds of silence that fire it (`node_silent`).
    pub silent_secs: Option<i32>,
    /// The VM metric it watches (`stat_threshold`).
    pub metric: Option<String>,
    /// The value the metric must stay above (`stat_threshold`).
    pub threshold: Option<f64>,
    /// For how many seconds (`stat_threshold`).
    pub for_secs: Option<i32>,
    /// The VM action it runs.
    pub action: String,
    /// The VM the action is for.
    pub target_vm: i32,
    /// Action parameters.
    pub params: String,
    /// Whether it fires.
    pub enabled: bool,
    /// When it last fired.
    pub fired_at: Option<i64>,
    /// Who created it.
    pub created_by: Option<i32>,
}

/// What `trigger.create` takes.
#[derive(Clone, Debug)]
pub struct NewTrigger {
    /// Unique name.
    pub name: String,
    /// What it listens for.
    pub event: TriggerEvent,
    /// The VM it watches.
    pub vm_id: Option<i32>,
    /// The node it watches.
    pub node_id: Option<i32>,
    /// The state that fires it.
    pub state: Option<VmState>,
    /// Seconds of silence that fire it.
    pub silent_secs: Option<i32>,
    /// The VM metric it watches.
    pub metric: Option<String>,
    /// The value the metric must stay above.
    pub threshold: Option<f64>,
    /// For how many seconds.
    pub for_secs: Option<i32>,
    /// The VM action it runs.
    pub action: String,
    /// The VM the action is for.
    pub target_vm: i32,
    /// Action parameters.
    pub params: String,
}

impl Store {
    /// Create a trigger; the caller needs the action's permission on the target VM, view
    /// on a watched VM, and the operator role to watch a whole node.
    pub fn create_trigger(&self, actor: &Caller, new: &NewTrigger) -> Result<i32, StoreError> {
        validate::name("name", &new.name)?;
        let params = check_action(&new.action, &new.params)?;
        let threshold_fields =
            new.metric.is_some() || new.threshold.is_some() || new.for_secs.is_some();
        if threshold_fields && new.event != TriggerEvent::StatThreshold {
            return Err(StoreError::invalid(
                "metric",
                "metric, threshold and for_secs belong to stat_threshold triggers",
            ));
        }
        match new.event {
            TriggerEvent::StatThreshold => {
                if new.vm_id.is_none()
                    || new.node_id.is_some()
                    || new.state.is_some()
                    || new.silent_secs.is_some()
                {
                    return Err(StoreError::invalid(
                        "vm",
                        "a stat_threshold trigger watches exactly one vm (no node, state or silent_secs)",
                    ));
                }
                let metric = new.metric.as_deref().unwrap_or("");
                if !crate::VM_METRICS.contains(&metric) {
                    return Err(StoreError::invalid(
                        "metric",
                        format!("must be one of {}", crate::VM_METRICS.join(", ")),
                    ));
                }
                if !new.threshold.is_some_and(f64::is_finite) {
                    return Err(StoreError::invalid("threshold", "must be a number"));
                }
                validate::range("for_secs", new.for_secs.unwrap_or(0), 10, 86_400)?;
            }
            TriggerEvent::VmState => {
                if new.vm_id.is_none() && new.node_id.is_none() {
                    return Err(StoreError::invalid(
                        "vm",
                        "a vm_state trigger watches a vm or a node; give one",
                    ));
                }
                if new.silent_secs.is_some() {
                    return Err(StoreError::invalid(
                        "silent_secs",
                        "belongs to node_silent triggers",
                    ));
                }
            }
            TriggerEvent::NodeSilent => {
                if new.node_id.is_none() || new.vm_id.is_some() || new.state.is_some() {
                    return Err(StoreError::invalid(
                        "node",
                        "a node_silent trigger watches exactly one node (no vm, no state)",
                    ));
                }
                validate::range("silent_secs", new.silent_secs.unwrap_or(0), 10, 86_400 * 7)?;
            }
        }
        if new.node_id.is_some() {
            actor.require_role(Role::Operator, "watching a whole node")?;
        }
        let new = NewTrigger {
            params,
            ..new.clone()
        };
        self.write(|conn| {
            crate::ops::triggers::create(conn, actor, &new, permission_for(&new.action))
        })
    }

    /// The triggers the caller may see (their own; all for operators and admins).
    pub fn list_triggers(&self, actor: &Caller) -> Result<Vec<Trigger>, StoreError> {
        self.read(|conn| crate::ops::triggers::list(conn, actor))
    }

    /// Delete a trigger.
    pub fn delete_trigger(&self, actor: &Caller, id: i32) -> Result<(), StoreError> {
        self.write(|conn| crate::ops::triggers::delete(conn, actor, id))
    }

    /// Fire the silence triggers of nodes not heard from for their number of seconds;
    /// returns how many jobs were recorded.
    pub fn fire_silence_triggers(&self, now: i64) -> Result<usize, StoreError> {
        self.after_jobs(self.write(|conn| crate::ops::triggers::fire_silent(conn, now)))
    }
}
