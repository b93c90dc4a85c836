//! Domain XML that Zentific writes: new domains, device elements, and edits of a
//! domain's persistent definition where a driver cannot attach or detach a device itself
//! (the test driver has no hot-plug).
//!
//! Edits work on the XML libvirt itself formatted (`virDomainGetXMLDesc`), whose device
//! elements never nest and quote attributes with `'`; written by hand because no
//! maintained Rust crate edits XML in place while leaving the rest byte-for-byte alone.

use zentific_sql::{Disk, Vif, VmType};

use super::super::{Device, DomainSpec};

pub(super) fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// The domain type, OS type and disk bus of a driver's dialect.
fn dialect(driver: &str, vm_type: VmType) -> (&'static str, &'static str, &'static str) {
    match driver.to_ascii_lowercase().as_str() {
        "xen" => (
            "xen",
            if vm_type == VmType::Hvm {
                "hvm"
            } else {
                "linux"
            },
            "xen",
        ),
        "test" => ("test", "hvm", "virtio"),
        _ => ("kvm", "hvm", "virtio"),
    }
}

fn disk_xml(bus: &str, target: &str, source: &str, readonly: bool) -> String {
    format!(
        "<disk type='file' device='disk'><source file='{}'/><target dev='{}' bus='{bus}'/>{}</disk>",
        escape_xml(source),
        escape_xml(target),
        if readonly { "<readonly/>" } else { "" }
    )
}

fn interface_xml(mac: &str, bridge: &str, model: &str) -> String {
    let model = if model.is_empty() {
        String::new()
    } else {
        format!("<model type='{}'/>", escape_xml(model))
    };
    format!(
        "<interface type='bridge'><mac address='{}'/><source bridge='{}'/>{model}</interface>",
        escape_xml(mac),
        escape_xml(bridge)
    )
}

/// The XML of one device, for `virDomainAttachDeviceFlags` or a definition.
pub(super) fn device_xml(driver: &str, device: Device<'_>) -> String {
    let (_, _, bus) = dialect(driver, VmType::Pv);
    match device {
        Device::Vif(Vif {
            mac, bridge, model, ..
        }) => interface_xml(mac, bridge, model),
        Device::Disk(Disk {
            target,
            source,
            readonly,
            ..
        }) => disk_xml(bus, target, source, *readonly),
    }
}

/// The domain XML for a new domain, in the dialect of the connection's driver.
pub(super) fn domain_xml(driver: &str, spec: &DomainSpec) -> String {
    let (domain_type, os_type, bus) = dialect(driver, spec.vm_type);
    let mut devices = String::new();
    for (target, source, readonly) in &spec.disks {
        devices.push_str(&disk_xml(bus, target, source, *readonly));
    }
    for (mac, bridge) in &spec.vifs {
        devices.push_str(&interface_xml(mac, bridge, ""));
    }
    format!(
        "<domain type='{domain_type}'><name>{}</name><uuid>{}</uuid><memory unit='KiB'>{}</memory>\
         <currentMemory unit='KiB'>{}</currentMemory><vcpu>{}</vcpu><os><type>{os_type}</type></os>\
         <devices>{devices}</devices></domain>",
        escape_xml(&spec.name),
        escape_xml(&spec.uuid),
        spec.max_memory_kb,
        spec.memory_kb,
        spec.vcpus
    )
}

/// The byte ranges of every `<tag …>…</tag>` (or `<tag …/>`) element in `xml`.
fn elements(xml: &str, tag: &str) -> Vec<std::ops::Range<usize>> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = xml[from..].find(&open).map(|i| i + from) {
        let after = xml.as_bytes().get(at + open.len()).copied();
        if !matches!(after, Some(b' ' | b'>' | b'/' | b'\n' | b'\t')) {
            from = at + open.len();
            continue;
        }
        let head_end = match xml[at..].find('>') {
            Some(i) => at + i,
            None => break,
        };
        let end = if xml.as_bytes()[head_end - 1] == b'/' {
            head_end + 1
        } else {
            match xml[head_end..].find(&close) {
                Some(i) => head_end + i + close.len(),
                None => break,
            }
        };
        found.push(at..end);
        from = end;
    }
    found
}

/// Whether an element is the given device: an interface by its MAC, a disk by its target.
fn is_device(element: &str, device: Device<'_>) -> bool {
    match device {
        Device::Vif(vif) => element.contains(&format!(
            "<mac address='{}'",
            escape_xml(&vif.mac.to_ascii_lowercase())
        )),
        Device::Disk(disk) => {
            element.contains(&format!("<target dev='{}'", escape_xml(&disk.target)))
        }
    }
}

fn tag_of(device: Device<'_>) -> &'static str {
    match device {
        Device::Vif(_) => "interface",
        Device::Disk(_) => "disk",
    }
}

/// Whether a definition has the device.
pub(super) fn has_device(xml: &str, device: Device<'_>) -> bool {
    elements(xml, tag_of(device))
        .into_iter()
        .any(|range| is_device(&xml[range], device))
}

/// The definition with the device added at the end of `<devices>`.
pub(super) fn with_device(xml: &str, driver: &str, device: Device<'_>) -> Result<String, String> {
    if has_device(xml, device) {
        return Err("the domain already has this device".into());
    }
    let end = xml
        .rfind("</devices>")
        .ok_or("the domain definition has no <devices> element")?;
    let mut edited = String::with_capacity(xml.len() + 200);
    edited.push_str(&xml[..end]);
    edited.push_str(&device_xml(driver, device));
    edited.push_str(&xml[end..]);
    Ok(edited)
}

/// The definition without the device.
pub(super) fn without_device(xml: &str, device: Device<'_>) -> Result<String, String> {
    let range = elements(xml, tag_of(device))
        .into_iter()
        .find(|range| is_device(&xml[range.clone()], device))
        .ok_or("the domain does not have this device")?;
    Ok(format!("{}{}", &xml[..range.start], &xml[range.end..]))
}

/// The value of attribute `name` in the start tag of `element` (libvirt writes single
/// quotes; double ones are read too).
fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let head = &element[..element.find('>').unwrap_or(element.len())];
    for quote in ['\'', '"'] {
        let key = format!(" {name}={quote}");
        if let Some(at) = head.find(&key) {
            let rest = &head[at + key.len()..];
            return rest.find(quote).map(|end| &rest[..end]);
        }
    }
    None
}

/// The VNC server of a domain definition: (listen address if one is set, port), from
/// `<graphics type='vnc' port='…' listen='…'>` or its `<listen address='…'/>`. `None`
/// without VNC graphics; port -1 (autoport, not started) is given as is.
pub(super) fn vnc_graphics(xml: &str) -> Option<(Option<String>, i32)> {
    let range = elements(xml, "graphics")
        .into_iter()
        .find(|r| attribute(&xml[r.clone()], "type") == Some("vnc"))?;
    let element = &xml[range];
    let port = attribute(element, "port")?.parse().ok()?;
    let listen = attribute(element, "listen")
        .or_else(|| {
            elements(element, "listen")
                .into_iter()
                .find_map(|r| attribute(&element[r], "address"))
        })
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    Some((listen, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnc_graphics_are_read_from_the_definition() {
        let xml = "<domain><devices><graphics type='spice' port='5900'/>\n<graphics type='vnc' port='5901' autoport='no' listen='10.0.0.5'>\n<listen type='address' address='10.0.0.5'/></graphics></devices></domain>";
        assert_eq!(vnc_graphics(xml), Some((Some("10.0.0.5".into()), 5901)));
        let nested = "<graphics type=\"vnc\" port=\"5902\"><listen type='address' address='0.0.0.0'/></graphics>";
        assert_eq!(vnc_graphics(nested), Some((Some("0.0.0.0".into()), 5902)));
        assert_eq!(
            vnc_graphics("<graphics type='vnc' port='-1' autoport='yes'/>"),
            Some((None, -1))
        );
        assert_eq!(vnc_graphics("<domain><devices/></domain>"), None);
    }

    const DEFINED: &str = "<domain type='test'>\n  <name>web</name>\n  <devices>\n    <disk type='file' device='disk'>\n      <source file='/srv/web.img'/>\n      <target dev='xvda' bus='virtio'/>\n    </disk>\n    <interface type='bridge'>\n      <mac address='00:16:3e:00:00:01'/>\n      <source bridge='xenbr0'/>\n    </interface>\n    <interfaces-note/>\n  </devices>\n</domain>";

    fn vif(mac: &str) -> Vif {
        Vif {
            id: 1,
            mac: mac.into(),
            bridge: "xenbr1".into(),
            model: String::new(),
        }
    }

    fn disk(target: &str) -> Disk {
        Disk {
            id: 2,
            target: target.into(),
            source: "/srv/data's.img".into(),
            size_kb: 0,
            readonly: true,
        }
    }

    #[test]
    fn devices_are_added_and_removed_by_mac_and_target() {
        let extra = vif("00:16:3e:00:00:02");
        let added = with_device(DEFINED, "test", Device::Vif(&extra)).unwrap();
        assert!(has_device(&added, Device::Vif(&extra)), "{added}");
        assert!(added.ends_with("</devices>\n</domain>"), "{added}");
        assert!(with_device(&added, "test", Device::Vif(&extra)).is_err());
        let back = without_device(&added, Device::Vif(&extra)).unwrap();
        assert_eq!(back, DEFINED);

        let first = vif("00:16:3E:00:00:01");
        let removed = without_device(DEFINED, Device::Vif(&first)).unwrap();
        assert!(!removed.contains("00:16:3e:00:00:01") && removed.contains("<interfaces-note/>"));

        let data = disk("xvdb");
        let added = with_device(DEFINED, "xen", Device::Disk(&data)).unwrap();
        assert!(
            added.contains(
                "<source file='/srv/data&apos;s.img'/><target dev='xvdb' bus='xen'/><readonly/>"
            ),
            "{added}"
        );
        let system = disk("xvda");
        let removed = without_device(DEFINED, Device::Disk(&system)).unwrap();
        assert!(!removed.contains("/srv/web.img") && removed.contains("00:16:3e:00:00:01"));
        assert!(without_device(DEFINED, Device::Disk(&data)).is_err());
    }

    #[test]
    fn domain_xml_escapes_and_picks_the_dialect() {
        let spec = DomainSpec {
            uuid: "6f1d3c58-9a7e-4b34-9f0e-3f6a4c1b2d7e".into(),
            name: "web<1>".into(),
            vm_type: VmType::Pv,
            os: String::new(),
            memory_kb: 262_144,
            max_memory_kb: 524_288,
            vcpus: 2,
            disks: vec![("xvda".into(), "/srv/a'b.img".into(), true)],
            vifs: vec![("00:16:3e:00:00:01".into(), "xenbr0".into())],
        };
        let xml = domain_xml("Xen", &spec);
        assert!(
            xml.contains("<domain type='xen'>") && xml.contains("<type>linux</type>"),
            "{xml}"
        );
        assert!(
            xml.contains("web&lt;1&gt;")
                && xml.contains("/srv/a&apos;b.img")
                && xml.contains("<readonly/>"),
            "{xml}"
        );
        assert!(domain_xml("QEMU", &spec).contains("<domain type='kvm'>"));
    }
}
