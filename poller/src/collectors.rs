//! Collector modules: with `--modules-dir DIR`, the poller loads the Zentific modules in
//! DIR that extend the poller layer (the same loader and checks as the server's: file and
//! directory ownership and modes, ABI version, descriptor), and at every sample calls each
//! collector they declare (`collect:<collector>`, no parameters). A collector answers a
//! struct of numbers; each becomes `<collector>.<metric>` in the sample's `extra` member.
//!
//! A module's configuration is `DIR/<name>.json` when that file exists (the same rules as
//! the module files: not writable by group or others), else `{}`. A module that is
//! refused, or whose create fails, is logged and left out; a collector that fails or
//! answers something else than numbers is logged and its figures are left out of that
//! sample. Collectors run in the poller's own thread, between samples: they must be quick.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use zentific_modules::zentific_module_api::CallerInfo;
use zentific_modules::zentific_module_api::dxr::Value;
use zentific_modules::{Instance, Layer};

use crate::{info, warn};

/// The loaded collectors.
#[derive(Default)]
pub struct Collectors {
    running: Vec<Running>,
}

struct Running {
    module: String,
    collectors: Vec<String>,
    instance: Instance,
}

impl Collectors {
    /// Load the collector modules of `dir`.
    pub fn load(dir: &Path) -> Collectors {
        let (found, refused) = zentific_modules::scan(dir, &[]);
        for refused in refused {
            warn!("module {} refused: {}", refused.name, refused.reason);
        }
        let mut running = Vec::new();
        for module in found {
            if !module.layers.contains(&Layer::Poller) || module.provides.collectors.is_empty() {
                continue;
            }
            let config = match config_of(dir, &module.name) {
                Ok(config) => config,
                Err(why) => {
                    warn!("module {} not started: {why}", module.name);
                    continue;
                }
            };
            match module.instantiate(&config) {
                Ok(instance) => {
                    let collectors: Vec<String> = module
                        .provides
                        .collectors
                        .iter()
                        .map(|c| c.name.clone())
                        .collect();
                    info!(
                        "module {} {} collects {}",
                        module.name,
                        module.version,
                        collectors.join(", ")
                    );
                    running.push(Running {
                        module: module.name.clone(),
                        collectors,
                        instance,
                    });
                }
                Err(why) => warn!("module {} not started: {why}", module.name),
            }
        }
        Collectors { running }
    }

    /// Whether no collector is loaded.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Every collector's figures now, as `(<collector>.<metric>, value)`.
    pub fn collect(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let system = CallerInfo {
            user_id: 0,
            role: 0,
        };
        for running in &self.running {
            for collector in &running.collectors {
                let entry = format!("collect:{collector}");
                match running.instance.call(system, &entry, &[]) {
                    Ok(Value::Struct(metrics)) => {
                        for (metric, value) in metrics {
                            let number = match value {
                                Value::Integer(n) => f64::from(n),
                                Value::Long(n) => n as f64,
                                Value::Double(n) if n.is_finite() => n,
                                _ => continue,
                            };
                            if zentific_modules::is_metric_name(collector, &metric) {
                                out.push((format!("{collector}.{metric}"), number));
                            }
                        }
                    }
                    Ok(_) => warn!(
                        "module {} collector {collector} answered something other than a struct",
                        running.module
                    ),
                    Err(e) => warn!("module {} collector {collector}: {e}", running.module),
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

/// `dir/<name>.json`, or `{}` when there is none.
fn config_of(dir: &Path, name: &str) -> Result<String, String> {
    let path = dir.join(format!("{name}.json"));
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok("{}".into()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others; chmod go-w it",
            path.display()
        ));
    }
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
