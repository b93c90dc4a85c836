//! VM changes on XenAPI beyond power and sizes: devices, snapshots, volumes, deleting
//! and provisioning VMs.
//!
//! | change | xapi calls |
//! |---|---|
//! | attach interface | `network.get_all_records` (the network whose `bridge` is the interface's), `VIF.create`, `VIF.plug` on a running VM |
//! | detach interface | the VM's `VIFs` → `VIF.get_record` (by `MAC`), `VIF.unplug` if attached, `VIF.destroy` |
//! | attach disk | `VDI.get_by_name_label` (the last part of the disk's source: a volume made by `storage.createVolume`), `VBD.create`, `VBD.plug` on a running VM |
//! | detach disk | the VM's `VBDs` → `VBD.get_record` (by `userdevice`), `VBD.unplug` if attached, `VBD.destroy` |
//! | snapshot / revert / delete | `VM.snapshot`, `VM.revert`, `VM.destroy` of the snapshot (found by name among the VM's `snapshots`) |
//! | volume | `SR.get_by_name_label` (the pool's name), `VDI.create` / `VDI.destroy` |
//! | delete VM | `VM.destroy` (halted VMs; its disks stay, as with `xe vm-destroy`) |
//! | provision | `VM.get_by_name_label` (the template), `VM.clone`, `VM.provision`, `VM.set_is_a_template false`, `VM.set_memory_limits`, `VM.set_VCPUs_max` / `VM.set_VCPUs_at_startup`, then the devices as above; a failure destroys the half-made VM |
//!
//! Guest disk names map to xapi's `userdevice` numbers by their last letter
//! (`xvda`/`hda`/`sda` → 0, `xvdb` → 1, …).

use std::collections::BTreeMap;

use dxr::Value;

use super::rpc::{XapiError, as_bool, as_int64, as_text, int64_arg};
use super::{ACTION_TIMEOUT, READ_TIMEOUT, XenApiDispatcher, kib_to_bytes};
use crate::dispatch::{Applied, Device, DispatchError, DomainRef, DomainSpec};

type Record = BTreeMap<String, Value>;

fn text(record: &Record, field: &str) -> String {
    record.get(field).and_then(as_text).unwrap_or_default()
}

fn refs(record: &Record, field: &str) -> Vec<String> {
    match record.get(field) {
        Some(Value::Array(items)) => items.iter().filter_map(as_text).collect(),
        _ => Vec::new(),
    }
}

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn empty_map() -> Value {
    Value::Struct(BTreeMap::new())
}

fn record_value(fields: &[(&str, Value)]) -> Value {
    Value::Struct(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

/// xapi's `userdevice` for a guest disk name: its last letter's place in the alphabet.
pub(super) fn userdevice(target: &str) -> Result<String, DispatchError> {
    match target.chars().last() {
        Some(letter @ 'a'..='z') if target.len() >= 2 => {
            Ok((u32::from(letter) - u32::from('a')).to_string())
        }
        _ => Err(DispatchError::Refused(format!(
            "guest disk {target:?} has no place on XenAPI (give names like xvda, xvdb)"
        ))),
    }
}

/// A failed xapi call about `what`, as a dispatch error.
fn failed(what: &str) -> impl FnOnce(XapiError) -> DispatchError + '_ {
    move |error| match &error {
        XapiError::Failure { code, .. } if code == "VM_BAD_POWER_STATE" => {
            DispatchError::WrongState(format!("cannot {what}: {error}"))
        }
        XapiError::Failure { code, .. }
            if matches!(
                code.as_str(),
                "SR_FULL"
                    | "DEVICE_ALREADY_EXISTS"
                    | "MAC_INVALID"
                    | "INVALID_DEVICE"
                    | "MEMORY_CONSTRAINT_VIOLATION_ORDER"
                    | "INVALID_VALUE"
                    | "VM_MISSING_PV_DRIVERS"
            ) =>
        {
            DispatchError::Refused(format!("cannot {what}: {error}"))
        }
        XapiError::Failure { .. } | XapiError::Malformed(_) => {
            DispatchError::Failed(format!("cannot {what}: {error}"))
        }
        _ => super::dispatch_error(error),
    }
}

impl XenApiDispatcher {
    fn xapi(&self, method: &str, params: &[Value]) -> Result<Value, XapiError> {
        self.session.call(method, params, ACTION_TIMEOUT)
    }

    fn get_record(&self, class: &str, reference: &str) -> Result<Record, XapiError> {
        match self.session.call(
            &format!("{class}.get_record"),
            &[s(reference)],
            READ_TIMEOUT,
        )? {
            Value::Struct(record) => Ok(record),
            _ => Err(XapiError::Malformed(format!(
                "{class}.get_record answered no record"
            ))),
        }
    }

    fn by_name(&self, class: &str, name: &str) -> Result<Vec<String>, XapiError> {
        match self.session.call(
            &format!("{class}.get_by_name_label"),
            &[s(name)],
            READ_TIMEOUT,
        )? {
            Value::Array(items) => Ok(items.iter().filter_map(as_text).collect()),
            _ => Err(XapiError::Malformed(format!(
                "{class}.get_by_name_label answered no list"
            ))),
        }
    }

    /// Exactly one object of `class` named `name`.
    fn one_named(&self, class: &str, name: &str, hint: &str) -> Result<String, DispatchError> {
        let found = self
            .by_name(class, name)
            .map_err(failed(&format!("look up {class} {name:?}")))?;
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(DispatchError::Refused(format!(
                "the host has no {class} named {name:?}{hint}"
            ))),
            _ => Err(DispatchError::Refused(format!(
                "the host has {} objects of class {class} named {name:?}; give a unique name",
                found.len()
            ))),
        }
    }

    pub(super) fn vm_ref(&self, domain: DomainRef<'_>) -> Result<String, DispatchError> {
        self.vm_reference(domain)
            .map_err(failed(&format!("find VM {}", domain.name)))
    }

    fn is_running(&self, vm: &str) -> Result<bool, XapiError> {
        let state = self
            .session
            .call("VM.get_power_state", &[s(vm)], READ_TIMEOUT)?;
        Ok(as_text(&state).is_some_and(|state| state == "Running"))
    }

    fn network_for_bridge(&self, bridge: &str) -> Result<String, DispatchError> {
        let answer = self
            .session
            .call("network.get_all_records", &[], READ_TIMEOUT)
            .map_err(failed("list networks"))?;
        let Value::Struct(networks) = answer else {
            return Err(DispatchError::Failed(
                "network.get_all_records answered no map".into(),
            ));
        };
        networks
            .iter()
            .find(|(_, record)| matches!(record, Value::Struct(r) if text(r, "bridge") == bridge))
            .map(|(reference, _)| reference.clone())
            .ok_or_else(|| {
                DispatchError::Refused(format!("the host has no network on bridge {bridge:?}"))
            })
    }

    /// The VM's device of `class` (`VIF` or `VBD`) whose `field` is `value`.
    fn device_of(
        &self,
        vm: &str,
        class: &str,
        field: &str,
        value: &str,
    ) -> Result<Option<(String, Record)>, DispatchError> {
        let record = self
            .get_record("VM", vm)
            .map_err(failed("read the VM's devices"))?;
        for reference in refs(&record, &format!("{class}s")) {
            let device = self
                .get_record(class, &reference)
                .map_err(failed("read a device"))?;
            if text(&device, field).eq_ignore_ascii_case(value) {
                return Ok(Some((reference, device)));
            }
        }
        Ok(None)
    }

    /// Attach a device to the VM `vm` (a reference); plugged at once on a running VM.
    pub(super) fn attach_device(
        &self,
        vm: &str,
        device: Device<'_>,
    ) -> Result<Applied, DispatchError> {
        let running = self.is_running(vm).map_err(failed("read the VM's state"))?;
        let (class, created) = match device {
            Device::Vif(vif) => {
                let network = self.network_for_bridge(&vif.bridge)?;
                let record = self
                    .get_record("VM", vm)
                    .map_err(failed("read the VM's interfaces"))?;
                let mut taken = Vec::new();
                for reference in refs(&record, "VIFs") {
                    let existing = self
                        .get_record("VIF", &reference)
                        .map_err(failed("read an interface"))?;
                    taken.push(text(&existing, "device"));
                }
                let device = (0..64)
                    .map(|n| n.to_string())
                    .find(|n| !taken.contains(n))
                    .unwrap_or_else(|| "64".into());
                let fields = record_value(&[
                    ("device", s(&device)),
                    ("network", s(&network)),
                    ("VM", s(vm)),
                    ("MAC", s(&vif.mac.to_ascii_lowercase())),
                    ("MTU", int64_arg(1500)),
                    ("other_config", empty_map()),
                    ("qos_algorithm_type", s("")),
                    ("qos_algorithm_params", empty_map()),
                ]);
                (
                    "VIF",
                    self.xapi("VIF.create", &[fields])
                        .map_err(failed("create the interface"))?,
                )
            }
            Device::Disk(disk) => {
                let name = disk.source.rsplit('/').next().unwrap_or(&disk.source);
                let vdi = self.one_named(
                    "VDI",
                    name,
                    " (disks on XenAPI nodes are volumes made with storage.createVolume)",
                )?;
                let fields = record_value(&[
                    ("VM", s(vm)),
                    ("VDI", s(&vdi)),
                    ("userdevice", s(&userdevice(&disk.target)?)),
                    ("bootable", Value::Boolean(false)),
                    ("mode", s(if disk.readonly { "RO" } else { "RW" })),
                    ("type", s("Disk")),
                    ("empty", Value::Boolean(false)),
                    ("other_config", empty_map()),
                    ("qos_algorithm_type", s("")),
                    ("qos_algorithm_params", empty_map()),
                ]);
                (
                    "VBD",
                    self.xapi("VBD.create", &[fields])
                        .map_err(failed("create the disk"))?,
                )
            }
        };
        if running {
            let reference = as_text(&created).unwrap_or_default();
            if let Err(error) = self.xapi(&format!("{class}.plug"), &[s(&reference)]) {
                // Not half-made: the device record goes again.
                let _ = self.xapi(&format!("{class}.destroy"), &[s(&reference)]);
                return Err(failed("plug the device into the running VM")(error));
            }
        }
        Ok(Applied::Now)
    }

    /// Detach a device from the VM `vm`: unplugged first where it is attached.
    pub(super) fn detach_device(
        &self,
        vm: &str,
        device: Device<'_>,
    ) -> Result<Applied, DispatchError> {
        let (class, field, value) = match device {
            Device::Vif(vif) => ("VIF", "MAC", vif.mac.clone()),
            Device::Disk(disk) => ("VBD", "userdevice", userdevice(&disk.target)?),
        };
        let Some((reference, record)) = self.device_of(vm, class, field, &value)? else {
            return Err(DispatchError::Failed(format!(
                "the VM has no {class} with {field} {value}"
            )));
        };
        if record.get("currently_attached").and_then(as_bool) == Some(true) {
            self.xapi(&format!("{class}.unplug"), &[s(&reference)])
                .map_err(failed("unplug the device"))?;
        }
        self.xapi(&format!("{class}.destroy"), &[s(&reference)])
            .map_err(failed("remove the device"))?;
        Ok(Applied::Now)
    }

    /// The VM's snapshots: (reference, name).
    fn snapshots_of(&self, domain: DomainRef<'_>) -> Result<Vec<(String, String)>, DispatchError> {
        let vm = self.vm_ref(domain)?;
        let record = self
            .get_record("VM", &vm)
            .map_err(failed("read the VM's snapshots"))?;
        refs(&record, "snapshots")
            .into_iter()
            .map(|reference| {
                let snapshot = self
                    .get_record("VM", &reference)
                    .map_err(failed("read a snapshot"))?;
                Ok((reference, text(&snapshot, "name_label")))
            })
            .collect()
    }

    fn snapshot_named(&self, domain: DomainRef<'_>, name: &str) -> Result<String, DispatchError> {
        self.snapshots_of(domain)?
            .into_iter()
            .find(|(_, n)| n == name)
            .map(|(reference, _)| reference)
            .ok_or_else(|| {
                DispatchError::Failed(format!("{} has no snapshot named {name:?}", domain.name))
            })
    }

    pub(super) fn take_snapshot(
        &self,
        domain: DomainRef<'_>,
        name: &str,
    ) -> Result<(), DispatchError> {
        let vm = self.vm_ref(domain)?;
        self.xapi("VM.snapshot", &[s(&vm), s(name)])
            .map(drop)
            .map_err(failed("take the snapshot"))
    }

    pub(super) fn revert_to(&self, domain: DomainRef<'_>, name: &str) -> Result<(), DispatchError> {
        let snapshot = self.snapshot_named(domain, name)?;
        self.xapi("VM.revert", &[s(&snapshot)])
            .map(drop)
            .map_err(failed("revert to the snapshot"))
    }

    pub(super) fn destroy_snapshot(
        &self,
        domain: DomainRef<'_>,
        name: &str,
    ) -> Result<(), DispatchError> {
        let snapshot = self.snapshot_named(domain, name)?;
        self.xapi("VM.destroy", &[s(&snapshot)])
            .map(drop)
            .map_err(failed("delete the snapshot"))
    }

    pub(super) fn snapshot_list(
        &self,
        domain: DomainRef<'_>,
    ) -> Result<Vec<String>, DispatchError> {
        Ok(self
            .snapshots_of(domain)?
            .into_iter()
            .map(|(_, name)| name)
            .collect())
    }

    pub(super) fn destroy_vm(&self, domain: DomainRef<'_>) -> Result<(), DispatchError> {
        let vm = self.vm_ref(domain)?;
        self.xapi("VM.destroy", &[s(&vm)])
            .map(drop)
            .map_err(failed(&format!("delete VM {}", domain.name)))
    }

    pub(super) fn make_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        let sr = self.one_named(
            "SR",
            &pool.name,
            " (a pool on a XenAPI node is an SR of that name)",
        )?;
        let bytes = kib_to_bytes(volume.capacity_kb).map_err(failed("size the volume"))?;
        let fields = record_value(&[
            ("name_label", s(&volume.name)),
            ("SR", s(&sr)),
            ("virtual_size", int64_arg(bytes)),
            ("type", s("user")),
            ("sharable", Value::Boolean(false)),
            ("read_only", Value::Boolean(false)),
            ("other_config", empty_map()),
        ]);
        self.xapi("VDI.create", &[fields])
            .map(drop)
            .map_err(failed("create the volume"))
    }

    pub(super) fn remove_volume(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        let sr = self.one_named("SR", &pool.name, "")?;
        let mut found = Vec::new();
        for vdi in self
            .by_name("VDI", &volume.name)
            .map_err(failed("look the volume up"))?
        {
            let record = self.get_record("VDI", &vdi).map_err(failed("read a VDI"))?;
            if text(&record, "SR") == sr {
                found.push(vdi);
            }
        }
        let [vdi] = found.as_slice() else {
            return Err(DispatchError::Failed(format!(
                "SR {} has {} VDIs named {:?}; expected one",
                pool.name,
                found.len(),
                volume.name
            )));
        };
        self.xapi("VDI.destroy", &[s(vdi)])
            .map(drop)
            .map_err(failed("delete the volume"))
    }

    /// Make the VM of `spec` from `template`: clone, provision, sizes, devices. Returns
    /// the UUID xapi gave it. A failure on the way destroys what was made.
    pub(super) fn provision(
        &self,
        spec: &DomainSpec,
        template: &str,
    ) -> Result<String, DispatchError> {
        let source = self.one_named(
            "VM",
            template,
            " (name a template with vm.create's template)",
        )?;
        let source_record = self
            .get_record("VM", &source)
            .map_err(failed("read the template"))?;
        if source_record.get("is_a_template").and_then(as_bool) != Some(true) {
            return Err(DispatchError::Refused(format!(
                "{template:?} is not a template"
            )));
        }
        let vm = as_text(
            &self
                .xapi("VM.clone", &[s(&source), s(&spec.name)])
                .map_err(failed("clone the template"))?,
        )
        .unwrap_or_default();
        match self.finish_provision(&vm, spec, &source_record) {
            Ok(uuid) => Ok(uuid),
            Err(error) => {
                let _ = self.xapi("VM.destroy", &[s(&vm)]);
                Err(error)
            }
        }
    }

    fn finish_provision(
        &self,
        vm: &str,
        spec: &DomainSpec,
        template: &Record,
    ) -> Result<String, DispatchError> {
        self.xapi("VM.provision", &[s(vm)])
            .map_err(failed("provision the VM"))?;
        self.xapi("VM.set_is_a_template", &[s(vm), Value::Boolean(false)])
            .map_err(failed("turn the clone into a VM"))?;
        let memory = kib_to_bytes(spec.memory_kb).map_err(failed("size the memory"))?;
        let ceiling = kib_to_bytes(spec.max_memory_kb).map_err(failed("size the memory"))?;
        let floor = template
            .get("memory_static_min")
            .and_then(as_int64)
            .unwrap_or(memory)
            .min(memory);
        self.xapi(
            "VM.set_memory_limits",
            &[
                s(vm),
                int64_arg(floor),
                int64_arg(ceiling),
                int64_arg(memory),
                int64_arg(memory),
            ],
        )
        .map_err(failed("set the memory"))?;
        let vcpus = int64_arg(i64::from(spec.vcpus));
        let current_max = template.get("VCPUs_max").and_then(as_int64).unwrap_or(1);
        // VCPUs_at_startup ≤ VCPUs_max at every step.
        let order: [&str; 2] = if i64::from(spec.vcpus) >= current_max {
            ["VM.set_VCPUs_max", "VM.set_VCPUs_at_startup"]
        } else {
            ["VM.set_VCPUs_at_startup", "VM.set_VCPUs_max"]
        };
        for method in order {
            self.xapi(method, &[s(vm), vcpus.clone()])
                .map_err(failed("set the vCPUs"))?;
        }
        for (mac, bridge) in &spec.vifs {
            let vif = zentific_sql::Vif {
                id: 0,
                mac: mac.clone(),
                bridge: bridge.clone(),
                model: String::new(),
            };
            self.attach_device(vm, Device::Vif(&vif))?;
        }
        for (target, source, readonly) in &spec.disks {
            let disk = zentific_sql::Disk {
                id: 0,
                target: target.clone(),
                source: source.clone(),
                size_kb: 0,
                readonly: *readonly,
            };
            self.attach_device(vm, Device::Disk(&disk))?;
        }
        let uuid = self
            .session
            .call("VM.get_uuid", &[s(vm)], READ_TIMEOUT)
            .map_err(failed("read the new VM's UUID"))?;
        as_text(&uuid)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| DispatchError::Failed("VM.get_uuid answered no UUID".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_disk_names_map_to_userdevices() {
        assert_eq!(userdevice("xvda").unwrap(), "0");
        assert_eq!(userdevice("xvdc").unwrap(), "2");
        assert_eq!(userdevice("hdb").unwrap(), "1");
        assert!(userdevice("x").is_err());
        assert!(userdevice("xvd1").is_err());
    }
}
