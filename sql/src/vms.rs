//! Virtual machines: the inventory record, devices, notes, permissions, limits and quotas,
//! and the power actions that become jobs for the scheduler.

use crate::validate::shown;
use crate::{Caller, Permission, Resize, Store, StoreError, VmState, VmType, validate};

/// A VM as `vm.list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vm {
    /// Row id.
    pub id: i32,
    /// The hypervisor's UUID.
    pub uuid: String,
    /// Name, unique on its node.
    pub name: String,
    /// The node it lives on.
    pub node_id: i32,
    /// That node's name.
    pub node_name: String,
    /// PV or HVM.
    pub vm_type: VmType,
    /// Operating system label.
    pub os: String,
    /// State as last reported.
    pub state: VmState,
    /// Current memory, KiB.
    pub memory_kb: i64,
    /// Memory ceiling, KiB.
    pub max_memory_kb: i64,
    /// Virtual CPUs.
    pub vcpus: i32,
    /// When it last started (Unix seconds), while it runs.
    pub started_at: Option<i64>,
    /// Owning user, if any.
    pub owner_id: Option<i32>,
    /// When the record was created.
    pub created_at: i64,
}

/// A virtual network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vif {
    /// Row id.
    pub id: i32,
    /// MAC address, lowercase colon form.
    pub mac: String,
    /// Bridge on the node.
    pub bridge: String,
    /// Device model (empty for the default).
    pub model: String,
}

/// A virtual disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// Row id.
    pub id: i32,
    /// Guest device name (`xvda`, `hda`).
    pub target: String,
    /// Backing path or volume on the node.
    pub source: String,
    /// Size, KiB.
    pub size_kb: i64,
    /// Attached read-only.
    pub readonly: bool,
}

/// `vm.get`: the VM, its devices and what the caller may do with it.
#[derive(Clone, Debug)]
pub struct VmDetail {
    /// The VM.
    pub vm: Vm,
    /// Its interfaces.
    pub vifs: Vec<Vif>,
    /// Its disks.
    pub disks: Vec<Disk>,
    /// The caller's permissions on it.
    pub permissions: Vec<Permission>,
    /// Its jobs not yet finished (pending or running), oldest first: changes the VM's
    /// other fields do not show until the hypervisor reports them.
    pub pending: Vec<crate::Job>,
}

/// A new interface; the MAC is generated (Xen's 00:16:3e prefix) when not given.
#[derive(Clone, Debug, Default)]
pub struct NewVif {
    /// MAC address.
    pub mac: Option<String>,
    /// Bridge on the node.
    pub bridge: String,
    /// Device model.
    pub model: String,
}

/// A new disk, backed by a volume of a storage pool on the VM's node (`pool` + `volume`,
/// or a `source` path inside one of the node's pools); a path outside every pool is for
/// admins only.
#[derive(Clone, Debug, Default)]
pub struct NewDisk {
    /// Guest device name.
    pub target: String,
    /// Backing path (empty when `pool` and `volume` name it).
    pub source: String,
    /// The storage pool (id) of `volume`.
    pub pool: Option<i32>,
    /// A volume name in `pool`.
    pub volume: Option<String>,
    /// Size, KiB.
    pub size_kb: i64,
    /// Attach read-only.
    pub readonly: bool,
}

/// What `vm.create` takes (the Provision page).
#[derive(Clone, Debug)]
pub struct NewVm {
    /// Name, unique on the node.
    pub name: String,
    /// PV or HVM.
    pub vm_type: VmType,
    /// Node id.
    pub node: i32,
    /// Memory, KiB.
    pub memory_kb: i64,
    /// Memory ceiling, KiB (defaults to `memory_kb`).
    pub max_memory_kb: Option<i64>,
    /// Virtual CPUs.
    pub vcpus: i32,
    /// Operating system label.
    pub os: String,
    /// Interfaces.
    pub vifs: Vec<NewVif>,
    /// Disks.
    pub disks: Vec<NewDisk>,
}

/// Filters of `vm.list`; `None` matches all.
#[derive(Clone, Copy, Debug, Default)]
pub struct VmFilter {
    /// Only VMs on this node.
    pub node: Option<i32>,
    /// Only VMs in this state.
    pub state: Option<VmState>,
    /// Only VMs owned by this user.
    pub owner: Option<i32>,
}

/// The lifecycle actions a VM offers; each becomes a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerAction {
    /// Boot a stopped or crashed VM.
    Start,
    /// Pause a running VM.
    Pause,
    /// Resume a paused VM.
    Unpause,
    /// Ask the guest to shut down.
    Shutdown,
    /// Ask the guest to reboot.
    Reboot,
    /// Pull the plug.
    Destroy,
}

impl PowerAction {
    /// The action's name, as in `vm.<name>` and the job's `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::Start => "start",
            PowerAction::Pause => "pause",
            PowerAction::Unpause => "unpause",
            PowerAction::Shutdown => "shutdown",
            PowerAction::Reboot => "reboot",
            PowerAction::Destroy => "destroy",
        }
    }

    /// The states the action can be taken from.
    pub fn valid_from(self) -> &'static [VmState] {
        use VmState::*;
        match self {
            PowerAction::Start => &[Stopped, Crashed],
            PowerAction::Pause => &[Running, Idle],
            PowerAction::Unpause => &[Paused],
            PowerAction::Shutdown | PowerAction::Reboot => &[Running, Idle],
            PowerAction::Destroy => &[Running, Idle, Paused, Crashed, Unknown],
        }
    }
}

/// Check sizes against each other and against the global per-VM limits.
pub(crate) fn check_sizes(
    memory_kb: i64,
    max_memory_kb: i64,
    vcpus: i32,
    limits: &crate::GlobalOptions,
) -> Result<(), StoreError> {
    validate::range("memory_kb", memory_kb, 1024, i64::MAX)?;
    validate::range("vcpus", vcpus, 1, i32::MAX)?;
    if max_memory_kb < memory_kb {
        return Err(StoreError::invalid(
            "max_memory_kb",
            format!("must be at least memory_kb ({memory_kb}); got {max_memory_kb}"),
        ));
    }
    if max_memory_kb > limits.vm_max_memory_kb {
        return Err(StoreError::OverLimit(format!(
            "{max_memory_kb} KiB of memory is over the per-VM limit of {} KiB (global option vm_max_memory_kb)",
            limits.vm_max_memory_kb
        )));
    }
    if i64::from(vcpus) > limits.vm_max_vcpus {
        return Err(StoreError::OverLimit(format!(
            "{vcpus} vCPUs is over the per-VM limit of {} (global option vm_max_vcpus)",
            limits.vm_max_vcpus
        )));
    }
    Ok(())
}

fn check_vif(vif: &NewVif) -> Result<(), StoreError> {
    if let Some(mac) = &vif.mac {
        let parts: Vec<&str> = mac.split(':').collect();
        let ok = parts.len() == 6
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
        if !ok {
            return Err(StoreError::invalid(
                "mac",
                format!("must look like 00:16:3e:12:34:56; got {:?}", shown(mac)),
            ));
        }
    }
    validate::name("bridge", &vif.bridge)?;
    if !vif.model.is_empty() {
        validate::name("model", &vif.model)?;
    }
    Ok(())
}

fn check_disk(disk: &NewDisk) -> Result<(), StoreError> {
    validate::name("target", &disk.target)?;
    match (&disk.pool, &disk.volume) {
        (Some(_), Some(volume)) if disk.source.is_empty() => validate::name("volume", volume)?,
        (None, None) => validate::token("source", &disk.source, 1024)?,
        _ => {
            return Err(StoreError::invalid(
                "disk",
                "give either pool and volume, or source",
            ));
        }
    }
    validate::range("size_kb", disk.size_kb, 0, i64::MAX)?;
    Ok(())
}

/// A MAC address with Xen's prefix and a random tail.
pub(crate) fn random_mac() -> String {
    let tail: [u8; 3] = rand::random();
    format!(
        "00:16:3e:{:02x}:{:02x}:{:02x}",
        tail[0] & 0x7f,
        tail[1],
        tail[2]
    )
}

impl Store {
    /// The VMs the caller may see, filtered.
    pub fn list_vms(&self, actor: &Caller, filter: &VmFilter) -> Result<Vec<Vm>, StoreError> {
        self.read(|conn| crate::ops::vms::list(conn, actor, filter))
    }

    /// One VM with devices and the caller's permissions (needs `view`).
    pub fn get_vm(&self, actor: &Caller, id: i32) -> Result<VmDetail, StoreError> {
        self.read(|conn| crate::ops::vms::detail(conn, actor, id))
    }

    /// Check that the VM exists and the caller holds `permission` on it.
    pub fn require_vm_permission(
        &self,
        actor: &Caller,
        id: i32,
        permission: Permission,
    ) -> Result<(), StoreError> {
        self.read(|conn| crate::ops::vms::require(conn, actor, id, permission))
            .map(|_| ())
    }

    /// Record a new VM owned by the caller and a `create` job for the scheduler.
    /// Returns (VM id, job id).
    pub fn create_vm(&self, actor: &Caller, new: &NewVm) -> Result<(i32, i32), StoreError> {
        validate::name("name", &new.name)?;
        validate::text("os", &new.os, 64)?;
        let limits = self.global_options()?;
        check_sizes(
            new.memory_kb,
            new.max_memory_kb.unwrap_or(new.memory_kb),
            new.vcpus,
            &limits,
        )?;
        new.vifs.iter().try_for_each(check_vif)?;
        new.disks.iter().try_for_each(check_disk)?;
        self.after_jobs(self.write(|conn| crate::ops::vms::create(conn, actor, new)))
    }

    /// Change memory, memory ceiling or vCPUs (needs `modify`); returns the job applying it.
    pub fn update_vm(&self, actor: &Caller, id: i32, update: &Resize) -> Result<i32, StoreError> {
        if update.memory_kb.is_none() && update.max_memory_kb.is_none() && update.vcpus.is_none() {
            return Err(StoreError::invalid(
                "changes",
                "give at least one of memory_kb, max_memory_kb, vcpus",
            ));
        }
        let limits = self.global_options()?;
        self.after_jobs(
            self.write(|conn| crate::ops::vms::update(conn, actor, id, update, &limits)),
        )
    }

    /// Record a power action as a pending job (needs `power`); refused with
    /// [`StoreError::WrongState`] when the VM's state does not allow it.
    pub fn power_vm(
        &self,
        actor: &Caller,
        id: i32,
        action: PowerAction,
    ) -> Result<i32, StoreError> {
        self.after_jobs(self.write(|conn| crate::ops::vms::power(conn, actor, id, action)))
    }

    /// Delete a stopped VM (needs `admin` on it); returns the job. A VM its hypervisor
    /// never got (its create job failed or was cancelled) is deleted at once and the job
    /// is already succeeded; otherwise the job undefines it and the record goes then.
    pub fn delete_vm(&self, actor: &Caller, id: i32) -> Result<i32, StoreError> {
        self.after_jobs(self.write(|conn| crate::ops::vms::delete(conn, actor, id)))
    }

    /// Add an interface (needs `modify`); returns (interface id, job id).
    pub fn add_vif(&self, actor: &Caller, vm: i32, vif: &NewVif) -> Result<(i32, i32), StoreError> {
        check_vif(vif)?;
        self.after_jobs(self.write(|conn| crate::ops::vms::add_vif(conn, actor, vm, vif)))
    }

    /// Remove an interface (needs `modify`); returns the job id.
    pub fn remove_vif(&self, actor: &Caller, vm: i32, vif: i32) -> Result<i32, StoreError> {
        self.after_jobs(self.write(|conn| crate::ops::vms::remove_vif(conn, actor, vm, vif)))
    }

    /// Add a disk (needs `modify`); returns (disk id, job id).
    pub fn add_disk(
        &self,
        actor: &Caller,
        vm: i32,
        disk: &NewDisk,
    ) -> Result<(i32, i32), StoreError> {
        check_disk(disk)?;
        self.after_jobs(self.write(|conn| crate::ops::vms::add_disk(conn, actor, vm, disk)))
    }

    /// Remove a disk (needs `modify`); returns the job id.
    pub fn remove_disk(&self, actor: &Caller, vm: i32, disk: i32) -> Result<i32, StoreError> {
        self.after_jobs(self.write(|conn| crate::ops::vms::remove_disk(conn, actor, vm, disk)))
    }

    /// A VM's notes (needs `view`); empty when none were written.
    pub fn vm_notes(&self, actor: &Caller, vm: i32) -> Result<String, StoreError> {
        self.read(|conn| crate::ops::vms::notes(conn, actor, vm))
    }

    /// Replace a VM's notes (needs `modify`); at most 64 KiB.
    pub fn set_vm_notes(&self, actor: &Caller, vm: i32, body: &str) -> Result<(), StoreError> {
        validate::text("text", body, 65_536)?;
        self.write(|conn| crate::ops::vms::set_notes(conn, actor, vm, body))
    }

    /// What happened to a VM (needs `view`), newest first.
    pub fn vm_log(
        &self,
        actor: &Caller,
        vm: i32,
        limit: i64,
    ) -> Result<Vec<crate::AuditEntry>, StoreError> {
        self.require_vm_permission(actor, vm, Permission::View)?;
        self.audit_for("vm", vm, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_macs_are_valid_and_local() {
        let mac = random_mac();
        assert!(
            check_vif(&NewVif {
                mac: Some(mac.clone()),
                bridge: "xenbr0".into(),
                model: String::new()
            })
            .is_ok()
        );
        assert!(mac.starts_with("00:16:3e:"));
    }

    #[test]
    fn power_actions_know_their_states() {
        assert!(PowerAction::Pause.valid_from().contains(&VmState::Running));
        assert!(!PowerAction::Pause.valid_from().contains(&VmState::Paused));
        assert!(PowerAction::Unpause.valid_from().contains(&VmState::Paused));
    }
}
