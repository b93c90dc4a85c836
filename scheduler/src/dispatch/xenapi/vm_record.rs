//! Reading xapi VM records (from `VM.get_all_records` and event snapshots) into
//! [`Domain`]s.
//!
//! Field by field:
//! * `is_a_template`, `is_a_snapshot`, `is_control_domain`: such records are not guests
//!   Zentific manages and are skipped (snapshots are templates to xapi as well).
//! * `power_state`: `Running` → running, `Paused` → paused, `Halted` → stopped,
//!   `Suspended` → stopped. A suspended VM holds no memory or CPU on the host (its
//!   memory image sits on a VDI), Zentific has no suspended state, and stopped is the one
//!   whose consequences match; starting such a VM resumes it (see `PowerAction::Start` in the parent
//!   module).
//! * `memory_dynamic_max` → current memory and `memory_static_max` → ceiling, both int64
//!   byte counts sent as strings, converted to KiB.
//! * `VCPUs_at_startup` → vCPUs: the number the VM boots with, which
//!   `VM.set_VCPUs_number_live` also updates; `VCPUs_max` (the hot-plug ceiling) when
//!   the former is missing.
//! * `HVM_boot_policy`: non-empty (`BIOS order`) → HVM, empty → PV.

use std::collections::BTreeMap;

use dxr::Value;
use zentific_sql::{VmState, VmType};

use super::rpc::{as_bool, as_int64, as_text};
use crate::dispatch::Domain;

/// The fields of a VM record Zentific reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct VmRecord {
    /// The VM's UUID.
    pub uuid: String,
    /// Whether the record is a guest Zentific manages (not a template, snapshot or dom0).
    pub is_guest: bool,
    /// Its mapped power state.
    pub state: VmState,
}

/// The VM record's members, or a message saying what is wrong.
fn members(record: &Value) -> Result<&BTreeMap<String, Value>, String> {
    match record {
        Value::Struct(members) => Ok(members),
        other => Err(format!("a VM record is not a struct: {other:?}")),
    }
}

fn text(members: &BTreeMap<String, Value>, field: &str) -> Result<String, String> {
    members
        .get(field)
        .and_then(as_text)
        .ok_or_else(|| format!("VM record without a readable {field}"))
}

fn int64(members: &BTreeMap<String, Value>, field: &str) -> Option<i64> {
    members.get(field).and_then(as_int64)
}

fn flag(members: &BTreeMap<String, Value>, field: &str) -> bool {
    members.get(field).and_then(as_bool).unwrap_or(false)
}

/// xapi's `vm_power_state` in Zentific's words (see the module documentation).
pub(super) fn map_power_state(power_state: &str) -> VmState {
    match power_state {
        "Running" => VmState::Running,
        "Paused" => VmState::Paused,
        "Halted" | "Suspended" => VmState::Stopped,
        _ => VmState::Unknown,
    }
}

/// The identity and power state of a VM record.
pub(super) fn read_vm_record(record: &Value) -> Result<VmRecord, String> {
    let members = members(record)?;
    let is_guest = !(flag(members, "is_a_template")
        || flag(members, "is_a_snapshot")
        || flag(members, "is_control_domain"));
    Ok(VmRecord {
        uuid: text(members, "uuid")?.to_ascii_lowercase(),
        is_guest,
        state: map_power_state(&text(members, "power_state")?),
    })
}

/// A VM record as a [`Domain`]; `None` for templates, snapshots and control domains.
pub(super) fn domain_from_record(record: &Value) -> Result<Option<Domain>, String> {
    let identity = read_vm_record(record)?;
    if !identity.is_guest {
        return Ok(None);
    }
    let members = members(record)?;
    let kib = |field: &str| {
        int64(members, field)
            .map(|bytes| bytes / 1024)
            .ok_or_else(|| format!("VM {} has no readable {field}", identity.uuid))
    };
    let max_memory_kb = kib("memory_static_max")?;
    let memory_kb = kib("memory_dynamic_max")?;
    let vcpus = int64(members, "VCPUs_at_startup")
        .filter(|count| *count > 0)
        .or_else(|| int64(members, "VCPUs_max"))
        .and_then(|count| i32::try_from(count).ok())
        .ok_or_else(|| format!("VM {} has no readable VCPU count", identity.uuid))?;
    let vm_type = match members.get("HVM_boot_policy").and_then(as_text) {
        Some(policy) if !policy.trim().is_empty() => VmType::Hvm,
        _ => VmType::Pv,
    };
    Ok(Some(Domain {
        uuid: identity.uuid,
        name: text(members, "name_label")?,
        state: identity.state,
        memory_kb,
        max_memory_kb,
        vcpus,
        vm_type: Some(vm_type),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[(&str, Value)]) -> Value {
        let mut members: BTreeMap<String, Value> = [
            ("uuid", Value::String("AAAA-1".into())),
            ("name_label", Value::String("web-1".into())),
            ("power_state", Value::String("Running".into())),
            ("is_a_template", Value::Boolean(false)),
            ("is_control_domain", Value::Boolean(false)),
            ("memory_dynamic_max", Value::String("1073741824".into())),
            ("memory_static_max", Value::String("2147483648".into())),
            ("VCPUs_max", Value::String("4".into())),
            ("VCPUs_at_startup", Value::String("2".into())),
            ("HVM_boot_policy", Value::String(String::new())),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        for (name, value) in fields {
            members.insert((*name).to_owned(), value.clone());
        }
        Value::Struct(members)
    }

    #[test]
    fn a_running_pv_guest() {
        let domain = domain_from_record(&record(&[]))
            .expect("valid")
            .expect("guest");
        assert_eq!(
            domain,
            Domain {
                uuid: "aaaa-1".into(),
                name: "web-1".into(),
                state: VmState::Running,
                memory_kb: 1_048_576,
                max_memory_kb: 2_097_152,
                vcpus: 2,
                vm_type: Some(VmType::Pv),
            }
        );
    }

    #[test]
    fn hvm_suspended_and_vcpus_max_fallback() {
        let domain = domain_from_record(&record(&[
            ("HVM_boot_policy", Value::String("BIOS order".into())),
            ("power_state", Value::String("Suspended".into())),
            ("VCPUs_at_startup", Value::String("0".into())),
        ]))
        .expect("valid")
        .expect("guest");
        assert_eq!(domain.vm_type, Some(VmType::Hvm));
        assert_eq!(domain.state, VmState::Stopped);
        assert_eq!(domain.vcpus, 4);
    }

    #[test]
    fn templates_snapshots_and_dom0_are_skipped() {
        for field in ["is_a_template", "is_a_snapshot", "is_control_domain"] {
            let skipped = domain_from_record(&record(&[(field, Value::Boolean(true))]));
            assert_eq!(skipped, Ok(None), "{field}");
        }
    }

    #[test]
    fn power_states() {
        assert_eq!(map_power_state("Halted"), VmState::Stopped);
        assert_eq!(map_power_state("Paused"), VmState::Paused);
        assert_eq!(map_power_state("Sleeping"), VmState::Unknown);
    }

    #[test]
    fn unreadable_memory_is_an_error() {
        let broken = record(&[("memory_static_max", Value::String("lots".into()))]);
        assert!(domain_from_record(&broken).is_err());
    }
}
