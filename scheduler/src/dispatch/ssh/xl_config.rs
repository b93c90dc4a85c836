//! Rendering a [`DomainSpec`] as an `xl` domain configuration file (`xl.cfg(5)`).
//!
//! Every value that ends up in the file or on an `xl` command line is checked here first:
//! names may not start with `-` (xl would read them as options) or contain `/` (they name a
//! file), and strings written between quotes may not contain quotes, commas or newlines,
//! which would change the meaning of the configuration.
//!
//! PV guests get `bootloader = "pygrub"`: the spec carries no kernel, so the guest's own
//! kernel is loaded from its first disk.

use std::fmt::Write as _;

use zentific_sql::VmType;

use super::is_uuid;
use crate::dispatch::DomainSpec;

/// Why a value cannot go into an xl configuration or command line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XlConfigError {
    /// Domain names are 1–64 characters of `A-Z a-z 0-9 _ . + : @ -`, starting with a letter,
    /// digit or `_`.
    #[error(
        "domain name {0:?} is not usable with xl (1-64 of A-Z a-z 0-9 _ . + : @ -, not starting with - or .)"
    )]
    DomainName(String),
    /// The UUID is not in 8-4-4-4-12 hex form.
    #[error("{0:?} is not a UUID")]
    Uuid(String),
    /// Memory sizes are positive and the ceiling is at least the memory.
    #[error("memory {memory_kb} KiB with ceiling {max_memory_kb} KiB is not a valid size")]
    Memory {
        /// Requested memory, KiB.
        memory_kb: i64,
        /// Requested ceiling, KiB.
        max_memory_kb: i64,
    },
    /// A domain needs at least one vCPU.
    #[error("{0} vCPUs is not a valid count")]
    Vcpus(i32),
    /// A guest device name is letters and digits only, e.g. `xvda`.
    #[error("guest device {0:?} is not a device name like xvda")]
    GuestDevice(String),
    /// A disk path must be absolute and free of quotes, commas and control characters.
    #[error("disk path {0:?} must be absolute, without quotes, commas or control characters")]
    DiskPath(String),
    /// A MAC address is six colon-separated hex pairs.
    #[error("{0:?} is not a MAC address like 00:16:3e:12:34:56")]
    Mac(String),
    /// A bridge name is what Linux accepts: 1–15 of `A-Z a-z 0-9 _ . -`.
    #[error("{0:?} is not a bridge name")]
    Bridge(String),
    /// Another value passed to xl as `key=value`.
    #[error("{1:?} is not a usable {0} (1-32 of A-Z a-z 0-9 _ -)")]
    Word(&'static str, String),
}

/// Check that `name` can be passed to `xl` and used as a file name.
pub fn validate_domain_name(name: &str) -> Result<(), XlConfigError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.+:@-".contains(c);
    let starts_well = name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    if (1..=64).contains(&name.len()) && starts_well && name.chars().all(allowed) {
        Ok(())
    } else {
        Err(XlConfigError::DomainName(name.to_owned()))
    }
}

/// The configuration file for `spec`, after checking every value in it.
pub fn render_xl_config(spec: &DomainSpec) -> Result<String, XlConfigError> {
    validate_domain_name(&spec.name)?;
    if !is_uuid(&spec.uuid) {
        return Err(XlConfigError::Uuid(spec.uuid.clone()));
    }
    if spec.memory_kb <= 0 || spec.max_memory_kb < spec.memory_kb {
        return Err(XlConfigError::Memory {
            memory_kb: spec.memory_kb,
            max_memory_kb: spec.max_memory_kb,
        });
    }
    if spec.vcpus < 1 {
        return Err(XlConfigError::Vcpus(spec.vcpus));
    }
    let disks = spec
        .disks
        .iter()
        .map(|(device, path, read_only)| disk_spec(device, path, *read_only))
        .collect::<Result<Vec<_>, _>>()?;
    let vifs = spec
        .vifs
        .iter()
        .map(|(mac, bridge)| vif_spec(mac, bridge))
        .collect::<Result<Vec<_>, _>>()?;

    let mut config = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        config,
        "# Written by Zentific; edits are overwritten when the VM is redefined."
    );
    let _ = writeln!(config, "name = \"{}\"", spec.name);
    let _ = writeln!(config, "uuid = \"{}\"", spec.uuid.to_ascii_lowercase());
    match spec.vm_type {
        VmType::Pv => {
            let _ = writeln!(config, "type = \"pv\"");
            let _ = writeln!(config, "bootloader = \"pygrub\"");
        }
        VmType::Hvm => {
            let _ = writeln!(config, "type = \"hvm\"");
        }
    }
    // xl.cfg sizes are MiB; round up so the guest never gets less than asked.
    let _ = writeln!(
        config,
        "memory = {}",
        kib_to_mib_rounding_up(spec.memory_kb)
    );
    let _ = writeln!(
        config,
        "maxmem = {}",
        kib_to_mib_rounding_up(spec.max_memory_kb)
    );
    let _ = writeln!(config, "vcpus = {}", spec.vcpus);
    let _ = writeln!(config, "disk = [ {} ]", disks.join(", "));
    let _ = writeln!(config, "vif = [ {} ]", vifs.join(", "));
    Ok(config)
}

/// One `disk = [...]` entry, e.g. `'format=raw, vdev=xvda, access=rw, target=/dev/vg/web'`.
pub(super) fn disk_spec(
    device: &str,
    path: &str,
    read_only: bool,
) -> Result<String, XlConfigError> {
    let device_ok = !device.is_empty()
        && device.len() <= 16
        && device.chars().all(|c| c.is_ascii_alphanumeric());
    if !device_ok {
        return Err(XlConfigError::GuestDevice(device.to_owned()));
    }
    let path_ok =
        path.starts_with('/') && !path.chars().any(|c| c.is_control() || "'\",\\".contains(c));
    if !path_ok {
        return Err(XlConfigError::DiskPath(path.to_owned()));
    }
    let access = if read_only { "ro" } else { "rw" };
    Ok(format!(
        "'format=raw, vdev={device}, access={access}, target={path}'"
    ))
}

/// One `vif = [...]` entry, e.g. `'mac=00:16:3e:12:34:56,bridge=xenbr0'`.
pub(super) fn vif_spec(mac: &str, bridge: &str) -> Result<String, XlConfigError> {
    let pairs: Vec<&str> = mac.split(':').collect();
    let mac_ok = pairs.len() == 6
        && pairs
            .iter()
            .all(|pair| pair.len() == 2 && pair.chars().all(|c| c.is_ascii_hexdigit()));
    if !mac_ok {
        return Err(XlConfigError::Mac(mac.to_owned()));
    }
    let bridge_ok = (1..=15).contains(&bridge.len())
        && bridge
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && !bridge.starts_with('-');
    if !bridge_ok {
        return Err(XlConfigError::Bridge(bridge.to_owned()));
    }
    Ok(format!(
        "'mac={},bridge={bridge}'",
        mac.to_ascii_lowercase()
    ))
}

/// A plain word for an xl `key=value` argument (a NIC model): 1–32 of `A-Z a-z 0-9 _ -`.
pub(super) fn check_word(key: &'static str, value: &str) -> Result<(), XlConfigError> {
    let ok = (1..=32).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(XlConfigError::Word(key, value.to_owned()))
    }
}

/// KiB to MiB, rounding up.
fn kib_to_mib_rounding_up(kib: i64) -> i64 {
    (kib + 1023) / 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_spec() -> DomainSpec {
        DomainSpec {
            uuid: "6B1D8E8C-0F4A-4C1E-9A6B-1F2E3D4C5B6A".into(),
            name: "web1".into(),
            vm_type: VmType::Pv,
            os: String::new(),
            memory_kb: 512 * 1024,
            max_memory_kb: 1024 * 1024,
            vcpus: 2,
            disks: vec![
                ("xvda".into(), "/dev/vg0/web1".into(), false),
                ("xvdb".into(), "/srv/iso/tools.img".into(), true),
            ],
            vifs: vec![("00:16:3E:12:34:56".into(), "xenbr0".into())],
        }
    }

    #[test]
    fn renders_a_pv_domain() {
        let config = render_xl_config(&web_spec()).expect("valid spec");
        assert_eq!(
            config,
            "\
# Written by Zentific; edits are overwritten when the VM is redefined.
name = \"web1\"
uuid = \"6b1d8e8c-0f4a-4c1e-9a6b-1f2e3d4c5b6a\"
type = \"pv\"
bootloader = \"pygrub\"
memory = 512
maxmem = 1024
vcpus = 2
disk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/vg0/web1', 'format=raw, vdev=xvdb, access=ro, target=/srv/iso/tools.img' ]
vif = [ 'mac=00:16:3e:12:34:56,bridge=xenbr0' ]
"
        );
    }

    #[test]
    fn renders_an_hvm_domain_without_bootloader() {
        let spec = DomainSpec {
            vm_type: VmType::Hvm,
            os: String::new(),
            memory_kb: 1000,
            max_memory_kb: 1000,
            ..web_spec()
        };
        let config = render_xl_config(&spec).expect("valid spec");
        assert!(config.contains("type = \"hvm\"\n"));
        assert!(!config.contains("bootloader"));
        assert!(config.contains("memory = 1\nmaxmem = 1\n"));
    }

    #[test]
    fn refuses_names_xl_or_the_shell_would_misread() {
        for name in [
            "",
            "-h",
            ".hidden",
            "a/b",
            "a b",
            "x;rm",
            "q\"uote",
            &"n".repeat(65),
        ] {
            assert_eq!(
                validate_domain_name(name),
                Err(XlConfigError::DomainName(name.to_owned())),
                "{name:?}"
            );
        }
        for name in ["web1", "db_2", "mail.example.org", "_tmp", "a+b:c@d-e"] {
            assert_eq!(validate_domain_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn refuses_values_that_would_change_the_config() {
        let mut spec = web_spec();
        spec.disks[0].1 = "/tmp/a', 'target=/etc/shadow".into();
        assert!(matches!(
            render_xl_config(&spec),
            Err(XlConfigError::DiskPath(_))
        ));

        let mut spec = web_spec();
        spec.disks[0].1 = "relative.img".into();
        assert!(matches!(
            render_xl_config(&spec),
            Err(XlConfigError::DiskPath(_))
        ));

        let mut spec = web_spec();
        spec.disks[0].0 = "xvda,script=/bin/sh".into();
        assert!(matches!(
            render_xl_config(&spec),
            Err(XlConfigError::GuestDevice(_))
        ));

        let mut spec = web_spec();
        spec.vifs[0].0 = "00:16:3e:12:34".into();
        assert!(matches!(
            render_xl_config(&spec),
            Err(XlConfigError::Mac(_))
        ));

        let mut spec = web_spec();
        spec.vifs[0].1 = "xenbr0,script=x".into();
        assert!(matches!(
            render_xl_config(&spec),
            Err(XlConfigError::Bridge(_))
        ));

        let spec = DomainSpec {
            uuid: "not-a-uuid".into(),
            ..web_spec()
        };
        assert!(matches!(
            render_xl_config(&spec),
            Err(XlConfigError::Uuid(_))
        ));

        let spec = DomainSpec {
            max_memory_kb: 1,
            ..web_spec()
        };
        assert!(matches!(
            render_xl_config(&spec),
            Err(XlConfigError::Memory { .. })
        ));

        let spec = DomainSpec {
            vcpus: 0,
            ..web_spec()
        };
        assert_eq!(render_xl_config(&spec), Err(XlConfigError::Vcpus(0)));
    }
}
