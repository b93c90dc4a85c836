//! `libvirt:URI`: any libvirt connection (KVM, Xen through libxl, the `test:///` driver).
//!
//! Node figures come from `virNodeGetInfo` and `virNodeGetFreeMemory` (where a driver has
//! no free-memory figure, the total less its running domains' memory); each running domain
//! gives `virDomainGetInfo`, and the interface and block counters of the devices its XML
//! lists, where the driver has them (a device whose counters the driver cannot give is
//! left out rather than reported as zeros). The connection is read-only: the poller never
//! changes anything.
//!
//! Device names are read from each domain's XML only when the domain is new (or restarted
//! with a new id) and every [`DEVICE_REFRESH`] readings after, so a steady reading costs
//! one `GetInfo` and one stats call per device. `vifs[].id` and `vbds[].id` are the device's
//! position in the domain's XML; libvirt has no Xen device numbers.

use std::collections::HashMap;

use virt::connect::Connect;
use virt::domain::{Domain as VirtDomain, DomainState as VirtState};
use virt::sys;

use super::{Source, SourceError};
use crate::sample::{Domain, DomainState, Host, Reading, Vbd, Vif, kib};

/// Readings between re-reads of a domain's device list (hot-plugged devices show up then).
const DEVICE_REFRESH: u64 = 60;

/// An open, read-only libvirt connection.
pub struct LibvirtSource {
    conn: Connect,
    hypervisor: String,
    readings: u64,
    /// Per domain UUID: (domain id, reading of the last XML read, interfaces, disks).
    devices: HashMap<String, DeviceList>,
}

struct DeviceList {
    domid: u32,
    read_at: u64,
    interfaces: Vec<String>,
    disks: Vec<String>,
}

fn unavailable(uri: Option<&str>, e: virt::error::Error) -> SourceError {
    SourceError::Unavailable(format!(
        "cannot connect to libvirt at {}: {}",
        uri.unwrap_or("its default URI"),
        e.message()
    ))
}

fn read_failed(what: &str, e: virt::error::Error) -> SourceError {
    SourceError::ReadFailed(format!("{what}: {}", e.message()))
}

/// `major.minor.release` of libvirt's version number.
fn dotted(version: u32) -> String {
    format!(
        "{}.{}.{}",
        version / 1_000_000,
        version / 1000 % 1000,
        version % 1000
    )
}

impl LibvirtSource {
    /// Connects read-only to `uri` (libvirt's default when `None`).
    pub fn open(uri: Option<&str>) -> Result<LibvirtSource, SourceError> {
        let conn = Connect::open_read_only(uri).map_err(|e| unavailable(uri, e))?;
        LibvirtSource::over(conn).map_err(|e| match e {
            SourceError::ReadFailed(why) => SourceError::Unavailable(why),
            other => other,
        })
    }

    /// Reads through a connection opened elsewhere (the server samples its own
    /// connection to a node on libvirt's test driver, whose domains live in that
    /// connection only).
    pub fn over(conn: Connect) -> Result<LibvirtSource, SourceError> {
        let version = conn
            .lib_version()
            .map_err(|e| read_failed("virConnectGetLibVersion", e))?;
        Ok(LibvirtSource {
            conn,
            hypervisor: format!("libvirt-{}", dotted(version)),
            readings: 0,
            devices: HashMap::new(),
        })
    }

    fn domain(&mut self, dom: &VirtDomain) -> Result<Option<Domain>, SourceError> {
        let Some(domid) = dom.id() else {
            return Ok(None); // not running any more
        };
        let info = dom.info().map_err(|e| read_failed("virDomainGetInfo", e))?;
        let name = dom.name().map_err(|e| read_failed("virDomainGetName", e))?;
        let uuid = dom.uuid_string().ok();
        let key = uuid.clone().unwrap_or_else(|| name.clone());
        let stale = self.devices.get(&key).is_none_or(|list| {
            list.domid != domid || self.readings - list.read_at >= DEVICE_REFRESH
        });
        if stale {
            let xml = dom
                .xml_desc(0)
                .map_err(|e| read_failed("virDomainGetXMLDesc", e))?;
            self.devices.insert(
                key.clone(),
                DeviceList {
                    domid,
                    read_at: self.readings,
                    interfaces: target_devs(&xml, "interface"),
                    disks: target_devs(&xml, "disk"),
                },
            );
        }
        let list = &self.devices[&key];
        let counter = |n: i64| u64::try_from(n).unwrap_or(0); // -1: not supported
        let vifs = list
            .interfaces
            .iter()
            .enumerate()
            .filter_map(|(i, dev)| {
                let s = dom.interface_stats(dev).ok()?;
                Some(Vif {
                    id: i as u32,
                    rx_bytes: counter(s.rx_bytes),
                    tx_bytes: counter(s.tx_bytes),
                    rx_packets: counter(s.rx_packets),
                    tx_packets: counter(s.tx_packets),
                    rx_errors: counter(s.rx_errs),
                    tx_errors: counter(s.tx_errs),
                    rx_drops: counter(s.rx_drop),
                    tx_drops: counter(s.tx_drop),
                })
            })
            .collect();
        let vbds = list
            .disks
            .iter()
            .enumerate()
            .filter_map(|(i, dev)| {
                let s = dom.block_stats(dev).ok()?;
                Some(Vbd {
                    id: i as u32,
                    rd_reqs: counter(s.rd_req),
                    wr_reqs: counter(s.wr_req),
                    rd_sectors: counter(s.rd_bytes) / 512,
                    wr_sectors: counter(s.wr_bytes) / 512,
                    oo_reqs: 0,
                })
            })
            .collect();
        let state = match info.state.known() {
            Some(VirtState::Running) => DomainState::Running,
            Some(VirtState::Blocked) => DomainState::Idle,
            Some(VirtState::Paused | VirtState::PMSuspended) => DomainState::Paused,
            Some(VirtState::Shutdown | VirtState::Shutoff) => DomainState::Stopped,
            Some(VirtState::Crashed) => DomainState::Crashed,
            Some(VirtState::NoState) | None => DomainState::Unknown,
        };
        Ok(Some(Domain {
            domid,
            uuid,
            name,
            state,
            cpu_ns: info.cpu_time,
            vcpus: info.nr_virt_cpu,
            mem_kb: info.memory,
            max_mem_kb: info.max_mem,
            vifs,
            vbds,
        }))
    }
}

impl Source for LibvirtSource {
    fn read(&mut self) -> Result<Reading, SourceError> {
        let node = self
            .conn
            .node_info()
            .map_err(|e| read_failed("virNodeGetInfo", e))?;
        // Drivers without free-memory figures (the test driver) have their domains'
        // memory subtracted from the total instead, below.
        let free = self.conn.free_memory().ok();
        let host = Host {
            cpus: node.cpus,
            cpu_mhz: node.mhz,
            mem_total_kb: node.memory,
            mem_free_kb: free.map(kib).unwrap_or(0),
            hypervisor: self.hypervisor.clone(),
            uptime_s: None, // the connection may be remote: this machine's uptime would lie
        };
        let listed = self
            .conn
            .list_all_domains(sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)
            .map_err(|e| read_failed("virConnectListAllDomains", e))?;
        let mut domains = Vec::with_capacity(listed.len());
        for dom in &listed {
            if let Some(domain) = self.domain(dom)? {
                domains.push(domain);
            }
        }
        domains.sort_by_key(|d| d.domid);
        let mut host = host;
        if free.is_none() {
            let used: u64 = domains.iter().map(|d| d.mem_kb).sum();
            host.mem_free_kb = host.mem_total_kb.saturating_sub(used);
        }
        self.readings += 1;
        let live: Vec<String> = listed.iter().filter_map(|d| d.uuid_string().ok()).collect();
        self.devices.retain(|key, _| live.contains(key));
        Ok(Reading { host, domains })
    }
}

/// The `dev` attribute of each `<target>` inside each `<element>` of a domain's XML, in
/// document order (e.g. `vnet0` for `interface`, `vda` for `disk`).
fn target_devs(xml: &str, element: &str) -> Vec<String> {
    let open = format!("<{element}");
    let close = format!("</{element}>");
    let mut devs = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        if !after.starts_with([' ', '>', '\n', '\t', '\r']) {
            rest = after; // e.g. <interfaces>
            continue;
        }
        let end = after.find(&close).unwrap_or(after.len());
        let body = &after[..end];
        if let Some(dev) = body
            .split("<target")
            .skip(1)
            .find_map(|tag| attribute(tag.split('>').next().unwrap_or_default(), "dev"))
        {
            devs.push(dev);
        }
        rest = &after[end..];
    }
    devs
}

/// The value of `name="…"` or `name='…'` in a tag's attribute text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before_ok = at == 0 || rest.as_bytes()[at - 1].is_ascii_whitespace();
        let after = rest[at + name.len()..].trim_start();
        if let (true, Some(after)) = (before_ok, after.strip_prefix('=')) {
            let after = after.trim_start();
            let quote = after.chars().next()?;
            if quote == '"' || quote == '\'' {
                let value = &after[1..];
                return value.find(quote).map(|end| value[..end].to_owned());
            }
        }
        rest = &rest[at + name.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_device_targets() {
        let xml = r#"<domain><devices>
            <disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>
            <disk type="file"><target bus="ide" dev="hdb"/></disk>
            <interface type='network'><mac address='aa'/><target dev='vnet0'/></interface>
            <interface type='user'><model type='virtio'/></interface>
            </devices></domain>"#;
        assert_eq!(target_devs(xml, "disk"), ["vda", "hdb"]);
        assert_eq!(target_devs(xml, "interface"), ["vnet0"]);
        assert_eq!(dotted(9_000_000), "9.0.0");
    }

    #[test]
    fn reads_the_test_driver() {
        let mut source = LibvirtSource::open(Some("test:///default")).unwrap();
        let reading = source.read().unwrap();
        assert!(reading.host.hypervisor.starts_with("libvirt-"));
        assert!(reading.host.cpus > 0 && reading.host.mem_total_kb > 0);
        let test = reading.domains.iter().find(|d| d.name == "test").unwrap();
        assert_eq!(test.state, DomainState::Running);
        assert!(test.uuid.is_some() && test.mem_kb > 0 && test.vcpus > 0);
        assert!(source.read().is_ok());
    }
}
