//! Zentific's XML-RPC backend: the single front door for the web page, the poller and
//! external tools.
//!
//! - [`endpoint`] reads `POST /RPC2`, refuses hostile input, and answers XML-RPC;
//! - [`registry`] is the table of methods that routes, authenticates, authorizes and
//!   documents them;
//! - [`api`] holds the namespaces (`session`, `user`, `node`, `vm`, `storage`, `config`,
//!   `job`, `system`), each turning values into a typed request for the store and the
//!   answer back into values;
//! - [`console`] finds a VM's console through its node's transport;
//! - [`fault`] maps store errors to the fault codes of the public contract;
//! - [`throttle`] slows down failed logins;
//! - `wire` writes the XML of answers.

pub mod api;
pub mod console;
mod endpoint;
pub mod fault;
pub mod modules;
pub mod params;
pub mod registry;
mod request;
pub mod throttle;
mod wire;

use std::sync::Arc;

use zentific_sql::Store;

pub use registry::Registry;

/// Bounds on what one request may be.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest accepted request body, in bytes (8 MiB by default).
    pub max_body_bytes: usize,
    /// Deepest accepted element nesting (64 by default: about 20 nested arrays).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 << 20,
            max_depth: 64,
        }
    }
}

/// What the endpoint shares between requests.
pub struct App {
    store: Store,
    registry: Registry,
    limits: Limits,
    /// The XML answers of methods that take nothing and depend only on the registry
    /// (`system.listMethods`, `system.version`), written once.
    constants: std::collections::HashMap<&'static str, axum::body::Bytes>,
}

/// The full method registry.
pub fn registry() -> Registry {
    Registry::new(api::methods())
}

/// The axum router serving `POST /RPC2` (nest it beside other routes as you like).
/// With a module host, the methods of enabled modules are routed too, and the method
/// list is computed per call (it changes when a module is switched).
pub fn router(
    store: Store,
    limits: Limits,
    modules: Option<Arc<modules::ModuleHost>>,
    tls_fingerprint: Option<String>,
) -> axum::Router {
    let dynamic = modules.is_some();
    let mut registry = registry().with_tls_fingerprint(tls_fingerprint);
    if let Some(host) = modules {
        registry = registry.with_modules(host);
    }
    let constants = registry
        .builtin_methods()
        .filter(|m| {
            m.params.is_empty()
                && m.access == registry::Access::Public
                && m.work == registry::Work::Cpu
                && !(dynamic && m.name == "system.listMethods")
        })
        .filter_map(|m| {
            Some((
                m.name,
                axum::body::Bytes::from(wire::response(&registry.call(&store, m.name, &[]).ok()?)),
            ))
        })
        .collect();
    let app = Arc::new(App {
        store,
        registry,
        limits,
        constants,
    });
    axum::Router::new()
        .route("/RPC2", axum::routing::post(endpoint::rpc))
        .route(
            "/modules/{module}/{*path}",
            axum::routing::get(modules::serve_asset),
        )
        .with_state(app)
}
