//! What a module provides beyond XML-RPC methods, read from its descriptor's `provides`
//! JSON and checked before the module is accepted: scheduler transports and job actions,
//! poller collectors and frontend pages. Unknown keys are ignored (a newer module may provide
//! what this host does not know); a known key with a bad entry refuses the module.

use serde::Deserialize;

/// Transport names Zentific itself uses, which no module may take.
pub const BUILTIN_TRANSPORTS: &[&str] = &["libvirt", "ssh", "xenapi"];

/// What a module provides to the scheduler, the poller and the frontend.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Provides {
    /// Transports a node's `transport` may name.
    pub transports: Vec<TransportDecl>,
    /// Poller collectors.
    pub collectors: Vec<CollectorDecl>,
    /// Pages of the web frontend.
    pub pages: Vec<PageDecl>,
    /// Job actions schedules and triggers may name (`<module>.<action>`).
    pub actions: Vec<ActionDecl>,
}

/// A job action the scheduler runs on a VM through the module (`action:<name>`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ActionDecl {
    /// Its name after the module's: 1–31 of `a-z 0-9 -`, from a letter.
    pub name: String,
    /// One sentence for schedule and trigger forms.
    #[serde(default)]
    pub help: String,
    /// What it acts on; `vm` is the one target today.
    #[serde(default = "vm_target")]
    pub target: String,
}

fn vm_target() -> String {
    "vm".to_owned()
}

/// A transport: how the scheduler reaches a node.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TransportDecl {
    /// Its name, as a node's `transport` gives it: 1–32 of `a-z 0-9 -`, from a letter.
    pub name: String,
    /// What the module does for it. The one kind today is `xl`: Zentific's `xl` toolstack
    /// logic runs, and the module runs its commands (`transport:run`).
    pub kind: String,
    /// One sentence for node forms.
    #[serde(default)]
    pub help: String,
}

/// A poller collector: metrics the poller adds to each node sample.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CollectorDecl {
    /// Its name: 1–32 of `a-z 0-9 _`, from a letter.
    pub name: String,
    /// One sentence.
    #[serde(default)]
    pub help: String,
    /// The metrics it reports.
    pub metrics: Vec<MetricDecl>,
}

/// One metric of a collector.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MetricDecl {
    /// Its name: 1–64 of `a-z 0-9 _ .`, from a letter.
    pub name: String,
    /// Its unit (`%`, `KiB`, `1`, …).
    #[serde(default)]
    pub unit: String,
    /// One sentence.
    #[serde(default)]
    pub help: String,
}

/// A page of the web frontend.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PageDecl {
    /// Its navigation label (1–40 characters).
    pub label: String,
    /// Its path under `#/modules/<module>/` (1–32 of `a-z 0-9 -`).
    pub path: String,
    /// Where it goes in the navigation (lower first).
    #[serde(default)]
    pub order: i32,
    /// The ES module that renders it, an asset path of the module (`page.js`).
    pub script: String,
}

fn word(text: &str, max: usize, extra: &[char]) -> bool {
    (1..=max).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

/// Whether `<collector>.<metric>` is a usable metric name: the collector as a
/// collector's name, the metric 1–64 of `a-z 0-9 _ .` from a letter (the server accepts
/// exactly these in a sample's `extra`).
pub fn is_metric_name(collector: &str, metric: &str) -> bool {
    word(collector, 32, &['_']) && word(metric, 64, &['_', '.']) && !metric.ends_with('.')
}

/// Whether `path` may name an asset of a module: relative, no `..`, no hidden files,
/// 1–128 of `A-Z a-z 0-9 . _ - /`.
pub fn is_asset_path(path: &str) -> bool {
    (1..=128).contains(&path.len())
        && path
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.'))
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
}

impl Provides {
    /// Read and check `provides` (empty text is nothing) for a module with these layers.
    pub fn read(text: &str, layers: u32) -> Result<Provides, String> {
        use zentific_module_api::layer;
        if text.trim().is_empty() {
            return Ok(Provides::default());
        }
        let provides: Provides = serde_json::from_str(text)
            .map_err(|e| format!("its descriptor's provides is not usable: {e}"))?;
        let needs = |bit: u32, what: &str, layer_name: &str| {
            if layers & bit == 0 {
                Err(format!(
                    "it provides {what} but does not declare the {layer_name} layer"
                ))
            } else {
                Ok(())
            }
        };
        if !provides.transports.is_empty() {
            needs(layer::SCHEDULER, "transports", "scheduler")?;
        }
        if !provides.collectors.is_empty() {
            needs(layer::POLLER, "collectors", "poller")?;
        }
        if !provides.pages.is_empty() {
            needs(layer::FRONTEND, "pages", "frontend")?;
        }
        if !provides.actions.is_empty() {
            needs(layer::SCHEDULER, "job actions", "scheduler")?;
        }
        for action in &provides.actions {
            if !word(&action.name, 31, &['-']) || action.target != "vm" {
                return Err(format!(
                    "job action {:?}: needs a name of 1-31 of a-z 0-9 - and target vm",
                    action.name
                ));
            }
        }
        for transport in &provides.transports {
            if !word(&transport.name, 32, &['-']) {
                return Err(format!(
                    "transport name {:?} is not 1-32 of a-z 0-9 - starting with a letter",
                    transport.name
                ));
            }
            if BUILTIN_TRANSPORTS.contains(&transport.name.as_str()) {
                return Err(format!("transport {} is Zentific's own", transport.name));
            }
            if transport.kind != "xl" {
                return Err(format!(
                    "transport {}: unknown kind {:?} (this server knows xl)",
                    transport.name, transport.kind
                ));
            }
        }
        for collector in &provides.collectors {
            if !word(&collector.name, 32, &['_']) {
                return Err(format!("collector name {:?} is not usable", collector.name));
            }
            for metric in &collector.metrics {
                if !word(&metric.name, 64, &['_', '.']) {
                    return Err(format!(
                        "collector {}: metric name {:?} is not usable",
                        collector.name, metric.name
                    ));
                }
            }
        }
        for page in &provides.pages {
            let label_ok = (1..=40).contains(&page.label.chars().count())
                && !page.label.chars().any(char::is_control);
            if !label_ok || !word(&page.path, 32, &['-']) || !is_asset_path(&page.script) {
                return Err(format!(
                    "page {:?}: needs a label of 1-40 characters, a path of a-z 0-9 - and a script asset path",
                    page.label
                ));
            }
        }
        Ok(provides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zentific_module_api::layer;

    #[test]
    fn reads_declarations_and_refuses_bad_ones() {
        let all = layer::ALL;
        assert_eq!(Provides::read("", all).unwrap(), Provides::default());
        let good = r#"{"transports": [{"name": "xl-local", "kind": "xl"}],
            "collectors": [{"name": "dom0", "metrics": [{"name": "load.1", "unit": "1"}]}],
            "pages": [{"label": "Dom0 health", "path": "health", "order": 5, "script": "page.js"}],
            "future": 1}"#;
        let provides = Provides::read(good, all).unwrap();
        assert_eq!(provides.transports[0].name, "xl-local");
        assert_eq!(provides.pages[0].order, 5);
        for (bad, layers) in [
            (r#"{"transports": [{"name": "ssh", "kind": "xl"}]}"#, all),
            (r#"{"transports": [{"name": "x", "kind": "proxmox"}]}"#, all),
            (
                r#"{"transports": [{"name": "Bad Name", "kind": "xl"}]}"#,
                all,
            ),
            (
                r#"{"transports": [{"name": "x", "kind": "xl"}]}"#,
                layer::XMLRPC,
            ),
            (
                r#"{"pages": [{"label": "x", "path": "p", "script": "../etc/passwd"}]}"#,
                all,
            ),
            (
                r#"{"pages": [{"label": "x", "path": "p", "script": ".hidden"}]}"#,
                all,
            ),
            (
                r#"{"collectors": [{"name": "c", "metrics": [{"name": "a b"}]}]}"#,
                all,
            ),
            ("[1]", all),
        ] {
            assert!(Provides::read(bad, layers).is_err(), "{bad}");
        }
    }
}
