//! `dom0health`: how a node's dom0 is doing, on three layers.
//!
//! - **Poller**: the collector `dom0health` reports, at every sample, dom0's load
//!   average (`load.1`, `load.5`, `load.15`, from `/proc/loadavg`), memory in use
//!   (`mem.used_pct`: 100 × (1 − MemAvailable / MemTotal), from `/proc/meminfo`), memory
//!   pressure (`mem.pressure_some10`: the share of the last 10 s in which some task
//!   waited for memory, from `/proc/pressure/memory`, where the kernel has PSI) and, for
//!   each configured path, its filesystem's use (`fs.<path>.used_pct`, as `df` counts
//!   it; `/` is `root`, `/var/lib/xen` is `var_lib_xen`).
//! - **XML-RPC**: `dom0health.get(T, node)`, the newest figures of a node (the server
//!   provides it for every module with collectors, from what the poller pushed), and
//!   `stats.node` answers each metric's series by name.
//! - **Frontend**: a page, "Dom0 health", with every node's figures (`assets/page.js`).
//!
//! Configuration (the poller's `DIR/dom0health.json`): `{"paths": "/,/var/lib/xen"}`, up
//! to 16 absolute paths, comma-separated; `/` when not given.

use std::collections::BTreeMap;

use zentific_module_api::dxr::Value;
use zentific_module_api::{CallerInfo, Fault, Module, declare_module, layer};

/// The module: the paths whose filesystems it reports.
pub struct Dom0Health {
    paths: Vec<(String, String)>,
}

/// The page's script.
const PAGE_JS: &[u8] = include_bytes!("../assets/page.js");

/// The metric name of a path: lowercase, `/` and other characters as `_`, `/` itself
/// `root`.
pub fn path_slug(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return "root".to_owned();
    }
    trimmed
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn option_paths(config: &str) -> Result<Vec<String>, String> {
    // The host checked the configuration against the schema: {"paths"?: "<text>"}.
    let config: serde_json::Value =
        serde_json::from_str(config).map_err(|e| format!("configuration is not JSON: {e}"))?;
    let Some(text) = config.get("paths").and_then(|p| p.as_str()) else {
        return Ok(vec!["/".to_owned()]);
    };
    let paths: Vec<String> = text
        .split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if paths.len() > 16 {
        return Err("at most 16 paths".into());
    }
    if let Some(bad) = paths
        .iter()
        .find(|p| !p.starts_with('/') || p.contains('\\'))
    {
        return Err(format!("{bad:?} is not an absolute path"));
    }
    Ok(paths)
}

impl Module for Dom0Health {
    fn create(config: &str) -> Result<Self, String> {
        let paths = option_paths(config)?;
        Ok(Dom0Health {
            paths: paths
                .into_iter()
                .map(|p| {
                    let slug = path_slug(&p);
                    (p, slug)
                })
                .collect(),
        })
    }

    fn call(&self, _caller: CallerInfo, method: &str, params: Vec<Value>) -> Result<Value, Fault> {
        match (method, params.as_slice()) {
            ("collect:dom0health", []) => Ok(Value::Struct(self.collect())),
            ("asset:get", [Value::String(path)]) if path == "page.js" => {
                let mut answer = BTreeMap::new();
                answer.insert(
                    "content_type".to_owned(),
                    Value::String("text/javascript; charset=utf-8".into()),
                );
                answer.insert("body".to_owned(), Value::Base64(PAGE_JS.to_vec()));
                Ok(Value::Struct(answer))
            }
            ("asset:get", _) => Err(Fault::new(3, "dom0health has no such asset")),
            _ => Err(Fault::new(
                -32601,
                format!("dom0health has no entry {method}"),
            )),
        }
    }
}

impl Dom0Health {
    fn collect(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut put = |name: String, value: f64| {
            if value.is_finite() {
                out.insert(name, Value::Double(value));
            }
        };
        if let Ok(text) = std::fs::read_to_string("/proc/loadavg") {
            for (name, field) in ["load.1", "load.5", "load.15"]
                .iter()
                .zip(text.split_whitespace())
            {
                if let Ok(value) = field.parse() {
                    put((*name).to_owned(), value);
                }
            }
        }
        if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|n| n.parse::<f64>().ok())
            };
            if let (Some(total), Some(available)) = (field("MemTotal:"), field("MemAvailable:"))
                && total > 0.0
            {
                put("mem.used_pct".into(), 100.0 * (1.0 - available / total));
            }
        }
        if let Ok(text) = std::fs::read_to_string("/proc/pressure/memory") {
            let some10 = text
                .lines()
                .find(|l| l.starts_with("some "))
                .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("avg10=")))
                .and_then(|v| v.parse().ok());
            if let Some(value) = some10 {
                put("mem.pressure_some10".into(), value);
            }
        }
        for (path, slug) in &self.paths {
            if let Some(pct) = used_pct(path) {
                put(format!("fs.{slug}.used_pct"), pct);
            }
        }
        out
    }
}

/// The use of the filesystem holding `path`, as `df` shows it.
fn used_pct(path: &str) -> Option<f64> {
    let c_path = std::ffi::CString::new(path).ok()?;
    // SAFETY: statvfs fills the struct it is given; the path is a valid C string.
    let stat = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c_path.as_ptr(), &mut stat) != 0 {
            return None;
        }
        stat
    };
    let used = stat.f_blocks.saturating_sub(stat.f_bfree) as f64;
    let usable = used + stat.f_bavail as f64;
    (usable > 0.0).then(|| 100.0 * used / usable)
}

declare_module! {
    module: Dom0Health,
    name: "dom0health",
    version: env!("CARGO_PKG_VERSION"),
    description: "How each node's dom0 is doing: load, memory pressure, filesystem use",
    layers: layer::POLLER | layer::XMLRPC | layer::FRONTEND,
    config_schema: r#"{"paths": {"type": "string", "help": "comma-separated absolute paths whose filesystems' use is reported (default /)"}}"#,
    methods: "[]",
    provides: r#"{"collectors": [{"name": "dom0health", "help": "dom0 load, memory and filesystems", "metrics": [
        {"name": "load.1", "unit": "1", "help": "load average over 1 minute"},
        {"name": "load.5", "unit": "1", "help": "load average over 5 minutes"},
        {"name": "load.15", "unit": "1", "help": "load average over 15 minutes"},
        {"name": "mem.used_pct", "unit": "%", "help": "memory in use (not available)"},
        {"name": "mem.pressure_some10", "unit": "%", "help": "share of the last 10 s some task waited for memory"},
        {"name": "fs.root.used_pct", "unit": "%", "help": "use of each configured path's filesystem (fs.<path>.used_pct)"}]}],
      "pages": [{"label": "Dom0 health", "path": "health", "order": 50, "script": "page.js"}]}"#,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_this_machines_figures() {
        let module = Dom0Health::create(r#"{"paths": "/, /tmp"}"#).unwrap();
        let figures = module.collect();
        for name in [
            "load.1",
            "load.15",
            "mem.used_pct",
            "fs.root.used_pct",
            "fs.tmp.used_pct",
        ] {
            match figures.get(name) {
                Some(Value::Double(v)) => assert!(*v >= 0.0, "{name} = {v}"),
                other => panic!("{name}: {other:?} in {figures:?}"),
            }
        }
        let Some(Value::Double(used)) = figures.get("mem.used_pct") else {
            panic!()
        };
        assert!(*used > 0.0 && *used < 100.0);
        assert!(Dom0Health::create(r#"{"paths": "relative/path"}"#).is_err());
        assert_eq!(path_slug("/var/lib/Xen"), "var_lib_xen");
    }
}
