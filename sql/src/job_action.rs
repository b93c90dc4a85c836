//! What a job does: one enum the store records and the scheduler matches exhaustively,
//! so no action travels between the crates as a bare string.
//!
//! In the database (and in `job.get`) an action is a name and `key=value` parameters,
//! e.g. `update` / `memory_kb=524288 vcpus=2`; [`JobAction::parse`] and
//! [`JobAction::name`] / [`JobAction::params`] convert between the two forms, and only
//! here.

use crate::{PowerAction, StoreError, validate::shown};

/// A change of a VM's sizes; `None` leaves that size alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resize {
    /// New current memory, KiB.
    pub memory_kb: Option<i64>,
    /// New memory ceiling, KiB.
    pub max_memory_kb: Option<i64>,
    /// New number of vCPUs.
    pub vcpus: Option<i32>,
}

/// The name of a module's job action, `<module>.<action>`: at most 64 bytes of
/// `a-z 0-9 _ . -`, kept inline so that [`JobAction`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ModuleAction {
    bytes: [u8; 64],
    len: u8,
}

impl ModuleAction {
    /// The name, if `name` is one: `<module>.<action>`, the module 1–32 of `a-z 0-9 _`
    /// from a letter, the action 1–31 of `a-z 0-9 -` from a letter.
    pub fn new(name: &str) -> Option<ModuleAction> {
        let (module, action) = name.split_once('.')?;
        let word = |text: &str, max: usize, extra: char| {
            (1..=max).contains(&text.len())
                && text.starts_with(|c: char| c.is_ascii_lowercase())
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == extra)
        };
        if !word(module, 32, '_') || !word(action, 31, '-') {
            return None;
        }
        let mut bytes = [0; 64];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Some(ModuleAction {
            bytes,
            len: name.len() as u8,
        })
    }

    /// `<module>.<action>`.
    pub fn as_str(&self) -> &str {
        // Built from a &str of ASCII in `new`.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The module.
    pub fn module(&self) -> &str {
        self.as_str().split_once('.').map_or("", |(m, _)| m)
    }

    /// The action, without the module.
    pub fn action(&self) -> &str {
        self.as_str().split_once('.').map_or("", |(_, a)| a)
    }
}

impl std::fmt::Debug for ModuleAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleAction({})", self.as_str())
    }
}

/// What a job asks of a hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobAction {
    /// A lifecycle action on a VM (`vm.start`, `vm.pause`, …).
    Power(PowerAction),
    /// Define a recorded VM on its node (`vm.create`), left stopped.
    Define,
    /// Change a VM's memory, memory ceiling or vCPUs (`vm.update`).
    Resize(Resize),
    /// Give a VM a recorded interface (`vm.addVif`).
    AttachVif {
        /// The interface's id.
        vif: i32,
    },
    /// Take an interface away from a VM (`vm.removeVif`).
    DetachVif {
        /// The interface's id.
        vif: i32,
    },
    /// Give a VM a recorded disk (`vm.addDisk`).
    AttachDisk {
        /// The disk's id.
        disk: i32,
    },
    /// Take a disk away from a VM (`vm.removeDisk`).
    DetachDisk {
        /// The disk's id.
        disk: i32,
    },
    /// Create a recorded volume in its pool on a node (`storage.createVolume`).
    CreateVolume {
        /// The volume's id.
        volume: i32,
    },
    /// Remove a stopped VM from its hypervisor, then its record (`vm.delete`).
    DeleteVm,
    /// Delete a volume on a node (`storage.deleteVolume`).
    DeleteVolume {
        /// The volume's id.
        volume: i32,
    },
    /// Take a recorded snapshot of a VM's disks (`vm.snapshot`).
    Snapshot {
        /// The snapshot's id.
        snapshot: i32,
    },
    /// Bring a VM back to a snapshot (`vm.revert`, or a schedule: the lab reset).
    Revert {
        /// The snapshot's id.
        snapshot: i32,
    },
    /// Delete a snapshot (`vm.deleteSnapshot`).
    DeleteSnapshot {
        /// The snapshot's id.
        snapshot: i32,
    },
    /// Read a node's inventory (`node.sync`, registration).
    Sync,
    /// A job action a module provides, run on a VM by the module (schedules and
    /// triggers name it as `<module>.<action>`).
    Module(ModuleAction),
}

/// What a job acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// A VM.
    Vm,
    /// A node.
    Node,
}

impl TargetKind {
    /// The word stored in `jobs.target_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Vm => "vm",
            TargetKind::Node => "node",
        }
    }
}

const POWER: [PowerAction; 6] = [
    PowerAction::Start,
    PowerAction::Pause,
    PowerAction::Unpause,
    PowerAction::Shutdown,
    PowerAction::Reboot,
    PowerAction::Destroy,
];

impl JobAction {
    /// The actions schedules and triggers may run on a VM, by name.
    pub const SCHEDULABLE: &'static [&'static str] = &[
        "start", "pause", "unpause", "shutdown", "reboot", "destroy", "update", "revert",
    ];

    /// The action's name, as stored and as `job.get` shows it.
    pub fn name(&self) -> &str {
        match self {
            JobAction::Module(action) => action.as_str(),
            JobAction::Power(power) => power.as_str(),
            JobAction::Define => "create",
            JobAction::Resize(_) => "update",
            JobAction::DeleteVm => "delete",
            JobAction::AttachVif { .. } => "attach-vif",
            JobAction::DetachVif { .. } => "detach-vif",
            JobAction::AttachDisk { .. } => "attach-disk",
            JobAction::DetachDisk { .. } => "detach-disk",
            JobAction::CreateVolume { .. } => "create-volume",
            JobAction::DeleteVolume { .. } => "delete-volume",
            JobAction::Snapshot { .. } => "snapshot",
            JobAction::Revert { .. } => "revert",
            JobAction::DeleteSnapshot { .. } => "delete-snapshot",
            JobAction::Sync => "sync",
        }
    }

    /// Its parameters as stored: `key=value` pairs separated by spaces.
    pub fn params(&self) -> String {
        match self {
            JobAction::Power(_)
            | JobAction::Define
            | JobAction::DeleteVm
            | JobAction::Sync
            | JobAction::Module(_) => String::new(),
            JobAction::Resize(resize) => {
                let mut pairs = Vec::new();
                if let Some(v) = resize.memory_kb {
                    pairs.push(format!("memory_kb={v}"));
                }
                if let Some(v) = resize.max_memory_kb {
                    pairs.push(format!("max_memory_kb={v}"));
                }
                if let Some(v) = resize.vcpus {
                    pairs.push(format!("vcpus={v}"));
                }
                pairs.join(" ")
            }
            JobAction::AttachVif { vif } | JobAction::DetachVif { vif } => format!("vif={vif}"),
            JobAction::AttachDisk { disk } | JobAction::DetachDisk { disk } => {
                format!("disk={disk}")
            }
            JobAction::CreateVolume { volume } | JobAction::DeleteVolume { volume } => {
                format!("volume={volume}")
            }
            JobAction::Snapshot { snapshot }
            | JobAction::Revert { snapshot }
            | JobAction::DeleteSnapshot { snapshot } => format!("snapshot={snapshot}"),
        }
    }

    /// What the action acts on.
    pub fn target_kind(&self) -> TargetKind {
        match self {
            JobAction::Sync | JobAction::CreateVolume { .. } | JobAction::DeleteVolume { .. } => {
                TargetKind::Node
            }
            _ => TargetKind::Vm,
        }
    }

    /// Read an action from its name and parameters (the stored form, or what a schedule
    /// or trigger was given).
    pub fn parse(name: &str, params: &str) -> Result<JobAction, StoreError> {
        let pairs = parse_pairs(params)?;
        let only = |key: &str| -> Result<i32, StoreError> {
            match pairs.as_slice() {
                [(k, v)] if k == key => i32::try_from(*v).map_err(|_| {
                    StoreError::invalid("params", format!("{key} is out of range; got {v}"))
                }),
                _ => Err(StoreError::invalid(
                    "params",
                    format!("{name} takes exactly {key}=N; got {:?}", shown(params)),
                )),
            }
        };
        let none = || {
            if pairs.is_empty() {
                Ok(())
            } else {
                Err(StoreError::invalid(
                    "params",
                    format!("{name} takes no parameters; got {:?}", shown(params)),
                ))
            }
        };
        let action = match name {
            "create" => none().map(|_| JobAction::Define)?,
            "sync" => none().map(|_| JobAction::Sync)?,
            "delete" => none().map(|_| JobAction::DeleteVm)?,
            "update" => JobAction::Resize(resize(&pairs)?),
            "attach-vif" => JobAction::AttachVif { vif: only("vif")? },
            "detach-vif" => JobAction::DetachVif { vif: only("vif")? },
            "attach-disk" => JobAction::AttachDisk {
                disk: only("disk")?,
            },
            "detach-disk" => JobAction::DetachDisk {
                disk: only("disk")?,
            },
            "create-volume" => JobAction::CreateVolume {
                volume: only("volume")?,
            },
            "delete-volume" => JobAction::DeleteVolume {
                volume: only("volume")?,
            },
            "snapshot" => JobAction::Snapshot {
                snapshot: only("snapshot")?,
            },
            "revert" => JobAction::Revert {
                snapshot: only("snapshot")?,
            },
            "delete-snapshot" => JobAction::DeleteSnapshot {
                snapshot: only("snapshot")?,
            },
            other => match POWER.iter().find(|p| p.as_str() == other) {
                Some(power) => none().map(|_| JobAction::Power(*power))?,
                None if other.contains('.') => match ModuleAction::new(other) {
                    Some(action) => none().map(|_| JobAction::Module(action))?,
                    None => {
                        return Err(StoreError::invalid(
                            "action",
                            format!(
                                "{:?} is not a module action name (<module>.<action>)",
                                shown(other)
                            ),
                        ));
                    }
                },
                None => {
                    return Err(StoreError::invalid(
                        "action",
                        format!("unknown action {:?}", shown(other)),
                    ));
                }
            },
        };
        Ok(action)
    }
}

impl std::fmt::Display for JobAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `key=value` pairs with positive integer values.
fn parse_pairs(params: &str) -> Result<Vec<(String, i64)>, StoreError> {
    params
        .split_whitespace()
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                StoreError::invalid(
                    "params",
                    format!("expected key=value pairs; got {:?}", shown(pair)),
                )
            })?;
            let number: i64 = value.parse().map_err(|_| {
                StoreError::invalid(
                    "params",
                    format!("{:?} must be a number; got {:?}", shown(key), shown(value)),
                )
            })?;
            crate::validate::range(key, number, 1, i64::MAX)?;
            Ok((key.to_owned(), number))
        })
        .collect()
}

/// The sizes of an `update`: any of memory_kb, max_memory_kb, vcpus, at least one.
fn resize(pairs: &[(String, i64)]) -> Result<Resize, StoreError> {
    let mut resize = Resize::default();
    for (key, value) in pairs {
        match key.as_str() {
            "memory_kb" => resize.memory_kb = Some(*value),
            "max_memory_kb" => resize.max_memory_kb = Some(*value),
            "vcpus" => {
                resize.vcpus = Some(i32::try_from(*value).map_err(|_| {
                    StoreError::invalid("vcpus", format!("is out of range; got {value}"))
                })?)
            }
            other => {
                return Err(StoreError::invalid(
                    "params",
                    format!(
                        "update takes memory_kb, max_memory_kb and vcpus; got {:?}",
                        shown(other)
                    ),
                ));
            }
        }
    }
    if resize == Resize::default() {
        return Err(StoreError::invalid(
            "params",
            "update needs at least one of memory_kb, max_memory_kb, vcpus",
        ));
    }
    Ok(resize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_survives_its_stored_form() {
        let actions = [
            JobAction::Power(PowerAction::Reboot),
            JobAction::Define,
            JobAction::DeleteVm,
            JobAction::Resize(Resize {
                memory_kb: Some(524_288),
                max_memory_kb: None,
                vcpus: Some(2),
            }),
            JobAction::AttachVif { vif: 3 },
            JobAction::DetachVif { vif: 3 },
            JobAction::AttachDisk { disk: 4 },
            JobAction::DetachDisk { disk: 4 },
            JobAction::CreateVolume { volume: 5 },
            JobAction::DeleteVolume { volume: 5 },
            JobAction::Snapshot { snapshot: 6 },
            JobAction::Revert { snapshot: 6 },
            JobAction::DeleteSnapshot { snapshot: 6 },
            JobAction::Sync,
        ];
        for action in actions {
            assert_eq!(
                JobAction::parse(action.name(), &action.params()).unwrap(),
                action
            );
        }
        assert_eq!(
            JobAction::parse("update", "vcpus=2").unwrap().params(),
            "vcpus=2"
        );
    }

    #[test]
    fn malformed_actions_are_refused() {
        for (name, params) in [
            ("teleport", ""),
            ("start", "now=1"),
            ("update", ""),
            ("update", "colour=3"),
            ("update", "vcpus=x"),
            ("update", "vcpus=0"),
            ("attach-vif", ""),
            ("attach-vif", "vif=1 vif=2"),
            ("attach-disk", "vif=1"),
        ] {
            assert!(JobAction::parse(name, params).is_err(), "{name} {params}");
        }
    }
}
