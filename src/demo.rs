//! `serve --demo`: the demo node (libvirt's test driver with the domains of
//! `demo-node.xml`), and a real graphical console for each of its domains when Xvfb and
//! x11vnc are installed — one X display per domain, its root window painted the domain's
//! colour, served by x11vnc on a loopback port that the domain's `<graphics>` names.
//! The displays start with the server and stop with it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use zentific_sql::{Caller, Store};

use crate::vnc_display::VncDisplay;

/// The demo node's definition; `<graphics>` elements are added when consoles run.
const DEMO_NODE: &str = include_str!("demo-node.xml");

/// The colour each demo domain's screen is painted, by name (others get grey).
const COLOURS: &[(&str, &str)] = &[
    ("web", "#2a6fdb"),
    ("db", "#2e9e5b"),
    ("backup", "#d9822b"),
    ("frozen", "#b34fbf"),
];

/// The programs the demo consoles need, with the Debian package of each.
const PROGRAMS: &[(&str, &str)] = &[
    ("Xvfb", "xvfb"),
    ("x11vnc", "x11vnc"),
    ("xsetroot", "x11-xserver-utils"),
];

/// The running displays of the demo consoles; dropping it stops them.
pub struct DemoConsoles {
    _displays: Vec<VncDisplay>,
}

/// Register the demo node unless a node named `demo` exists (its file is written next
/// to the database), then (re)write its file with a console for each domain where the
/// programs for them are installed. Returns the consoles, or why there are none.
pub fn start(store: &Store, database: &str) -> anyhow::Result<Result<DemoConsoles, String>> {
    let file = register(store, database)?;
    let consoles = match missing_programs() {
        Some(missing) => Err(missing),
        None => start_displays(&file),
    };
    if let Err(why) = &consoles {
        std::fs::write(&file, DEMO_NODE)
            .with_context(|| format!("cannot write {}", file.display()))?;
        tracing::warn!("the demo VMs have no graphical console: {why}");
    }
    Ok(consoles)
}

/// The demo node's file: registered now if missing.
fn register(store: &Store, database: &str) -> anyhow::Result<PathBuf> {
    let actor = Caller::system();
    let registered = store
        .list_nodes(&actor)?
        .into_iter()
        .find(|n| n.name == "demo")
        .and_then(|node| node.uri)
        .and_then(|uri| uri.strip_prefix("test://").map(PathBuf::from));
    if let Some(file) = registered {
        return Ok(file);
    }
    let dir = match database.strip_prefix("sqlite://") {
        Some(path) => PathBuf::from(path)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
        None => std::env::temp_dir(),
    };
    let file = std::fs::canonicalize(&dir)
        .unwrap_or(dir)
        .join("demo-node.xml");
    std::fs::write(&file, DEMO_NODE).with_context(|| format!("cannot write {}", file.display()))?;
    if store.list_nodes(&actor)?.iter().any(|n| n.name == "demo") {
        return Ok(file);
    }
    let node = zentific_sql::NewNode {
        name: "demo".into(),
        hostname: "localhost".into(),
        transport: zentific_sql::Transport::Libvirt,
        uri: format!("test://{}", file.display()),
    };
    store.register_node(&actor, &node)?;
    tracing::info!("registered the demo node on {}", node.uri);
    Ok(file)
}

/// Which of the programs are missing, as the sentence the Console tab shows.
fn missing_programs() -> Option<String> {
    let missing: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(program, _)| !on_path(program))
        .map(|(_, package)| *package)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the demo consoles need the Debian package{} {} (scripts/deps.sh installs them)",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(" and ")
        )
    })
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The names of the domains of the demo definition, in order.
fn domain_names(xml: &str) -> Vec<&str> {
    xml.split("<name>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</name>").map(|(name, _)| name))
        .collect()
}

/// Start one display per demo domain and write the definition with their ports.
fn start_displays(file: &Path) -> Result<DemoConsoles, String> {
    let mut displays = Vec::new();
    let mut xml = DEMO_NODE.to_owned();
    for name in domain_names(DEMO_NODE) {
        let colour = COLOURS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("#808080", |(_, c)| c);
        let screen = VncDisplay::start(90, "1024x768", colour)
            .map_err(|e| format!("the console of demo VM {name} did not start: {e}"))?;
        let port = screen.port;
        tracing::info!(vm = name, display = %screen.display, port, "demo console");
        displays.push(screen);
        let graphics = format!(
            "    <devices><graphics type='vnc' port='{port}' autoport='no' listen='127.0.0.1'/></devices>\n  </domain>"
        );
        let at = xml
            .find(&format!("<name>{name}</name>"))
            .and_then(|start| xml[start..].find("</domain>").map(|end| start + end))
            .ok_or("the demo definition is malformed")?;
        xml.replace_range(at..at + "</domain>".len(), graphics.trim_start());
    }
    std::fs::write(file, xml).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(DemoConsoles {
        _displays: displays,
    })
}
