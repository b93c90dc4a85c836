//! The module table: built-in modules (Base, Vms, Nodes, Users, Configuration) and the
//! dynamic ones the server loaded, with whether each is enabled and its configuration.
//! What a dynamic module is (its layers, methods, schema) lives in the loaded library;
//! the table keeps what an admin decided (see `ops/modules.rs`).

use crate::{Caller, Role, Store, StoreError};

/// One module as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleRecord {
    /// Its name (built-ins are capitalized, dynamic modules lowercase).
    pub name: String,
    /// One sentence.
    pub description: String,
    /// The version last loaded (empty for built-ins).
    pub version: String,
    /// Layers it extends, comma-separated (`frontend,xmlrpc`).
    pub layers: String,
    /// Whether it is switched on.
    pub enabled: bool,
    /// Whether it is part of Zentific itself.
    pub builtin: bool,
    /// Its configuration, a JSON object.
    pub config: String,
}

/// The module that cannot be disabled.
pub const BASE_MODULE: &str = "Base";

impl Store {
    /// Every recorded module, built-ins first; any user may list them.
    pub fn modules(&self, _caller: &Caller) -> Result<Vec<ModuleRecord>, StoreError> {
        self.read(crate::ops::modules::all)
    }

    /// Record a module the server loaded: a new one starts disabled with an empty
    /// configuration; a known one keeps both. Refuses a name a built-in has.
    pub fn record_loaded_module(
        &self,
        name: &str,
        version: &str,
        description: &str,
        layers: &str,
    ) -> Result<ModuleRecord, StoreError> {
        self.write(|conn| {
            crate::ops::modules::record_loaded(conn, name, version, description, layers)
        })
    }

    /// Switch a module on or off (admins). Base cannot be disabled (fault 5).
    pub fn set_module_enabled(
        &self,
        caller: &Caller,
        name: &str,
        enabled: bool,
    ) -> Result<ModuleRecord, StoreError> {
        caller.require_role(Role::Admin, "switching modules on and off")?;
        self.write(|conn| crate::ops::modules::set_enabled(conn, caller, name, enabled))
    }

    /// Store a module's configuration (admins), already checked against its schema.
    pub fn configure_module(
        &self,
        caller: &Caller,
        name: &str,
        config: &str,
    ) -> Result<ModuleRecord, StoreError> {
        caller.require_role(Role::Admin, "configuring modules")?;
        self.write(|conn| crate::ops::modules::configure(conn, caller, name, config))
    }
}
