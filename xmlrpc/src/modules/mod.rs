//! Dynamic modules on the XML-RPC layer: the [`ModuleHost`] loads the modules directory
//! (see `zentific_modules`), records each module in the store, and routes calls to the
//! methods of enabled modules.
//!
//! A module's methods become ordinary registry [`Method`]s: their names, help and
//! parameters are leaked into `'static` strings once per load (a library is never
//! unloaded either, and the set is bounded by the files in the directory), so the same
//! token, role and type checks, introspection and multicall apply to them as to built-in
//! methods. Whether a module is enabled, and its configuration, come from the store; the
//! host reads them again whenever events commit (an enable in another `zentific serve` on
//! the same PostgreSQL database arrives as a NOTIFY), so a switch takes effect at once in
//! every process. Calls have a time limit (`limit.rs`).

mod limit;
mod pages;
mod transport;

pub use pages::Page;
pub(crate) use pages::serve_asset;

pub(crate) use limit::call_with_limit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use dxr::Value;
use zentific_module_api::CallerInfo;
use zentific_modules::{Layer, Module, Refused};
use zentific_sql::{Caller, ModuleRecord, Role, Store, StoreError};

use crate::fault::{self, ApiFault};
use crate::registry::{Access, Ctx, Method, Param, TOKEN, Type, Work};

/// One loaded module and what the host made of it.
struct Loaded {
    module: Module,
    /// Its instance with the current configuration; `None` when `create` refused.
    instance: Option<Arc<limit::Running>>,
    /// The configuration the instance was made with.
    config: String,
    /// Why it cannot run, when it cannot (create refused, bad method table).
    error: Option<String>,
    methods: Vec<Method>,
    /// The methods it declares `quick` (full names).
    quick: Vec<&'static str>,
}

/// A module that provides a transport or a job action, enabled and running.
pub struct Provider {
    /// Its name.
    pub module: String,
    running: Arc<limit::Running>,
}

/// What `module.list` shows of a dynamic module beyond its store record.
#[derive(Clone, Debug)]
pub struct ModuleStatus {
    /// The file it came from.
    pub path: PathBuf,
    /// Layers it extends.
    pub layers: Vec<&'static str>,
    /// Its configuration schema.
    pub schema: serde_json::Value,
    /// Why it is not usable, if it is not.
    pub error: Option<String>,
    /// Something an admin should know that does not stop it (a quick method was slow).
    pub warning: Option<String>,
    /// What it provides to the scheduler, the poller and the frontend.
    pub provides: zentific_modules::Provides,
}

#[derive(Default)]
struct HostState {
    loaded: Vec<Loaded>,
    refused: Vec<Refused>,
    /// The store's records, as last read.
    records: Vec<ModuleRecord>,
    /// The event-signal generation the records were read at.
    seen: Option<u64>,
    /// The module call time limit (option `module_call_limit_secs`), as last read.
    limit: Option<std::time::Duration>,
}

/// The modules of one server process.
pub struct ModuleHost {
    dir: PathBuf,
    store: Store,
    signal: tokio::sync::watch::Receiver<u64>,
    state: RwLock<HostState>,
}

impl ModuleHost {
    /// Load the modules in `dir` (refusals are kept with their reasons, the server goes
    /// on) and record them in the store.
    pub fn start(dir: &Path, store: Store) -> Arc<ModuleHost> {
        let host = Arc::new(ModuleHost {
            dir: dir.to_owned(),
            signal: store.event_signal(),
            store,
            state: RwLock::new(HostState::default()),
        });
        host.rescan();
        host
    }

    /// The modules directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Load the module files not loaded yet; returns the names loaded now.
    pub fn rescan(&self) -> Vec<String> {
        let known: Vec<PathBuf> = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            state.loaded.iter().map(|l| l.module.path.clone()).collect()
        };
        let (found, refused) = zentific_modules::scan(&self.dir, &known);
        let mut fresh = Vec::new();
        let mut refused = refused;
        for module in found {
            let layers: Vec<&str> = module.layers.iter().map(|l| l.as_str()).collect();
            match self.store.record_loaded_module(
                &module.name,
                &module.version,
                &module.description,
                &layers.join(","),
            ) {
                Ok(record) => {
                    tracing::info!(
                        module = module.name,
                        version = module.version,
                        "module loaded"
                    );
                    fresh.push(prepare(module, &record.config));
                }
                Err(e) => refused.push(Refused {
                    path: module.path.clone(),
                    name: module.name.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        let names = fresh.iter().map(|l| l.module.name.clone()).collect();
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.loaded.extend(fresh);
        // A file refused once and fixed since is looked at again on the next rescan.
        state.refused = refused;
        state.seen = None;
        names
    }

    /// Read the store's records again if events committed since the last read (and at
    /// the first use), re-instantiating modules whose configuration changed.
    fn refresh(&self) {
        // A shared borrow: every call passes here, and a lock would make the workers
        // take turns.
        let generation = *self.signal.borrow();
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if state.seen == Some(generation) {
                return;
            }
        }
        let Ok(records) = self.store.modules(&Caller::system()) else {
            return;
        };
        let limit = self.store.global_options().ok().map(|options| {
            std::time::Duration::from_secs(options.module_call_limit_secs.unsigned_abs())
        });
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.limit = limit.or(state.limit);
        for loaded in &mut state.loaded {
            if let Some(record) = records.iter().find(|r| r.name == loaded.module.name)
                && record.config != loaded.config
            {
                *loaded = prepare_again(loaded, &record.config);
            }
        }
        state.records = records;
        state.seen = Some(generation);
    }

    /// The methods of enabled modules.
    pub fn methods(&self) -> Vec<Method> {
        self.refresh();
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .loaded
            .iter()
            .filter(|l| l.instance.is_some() && is_enabled(&state.records, &l.module.name))
            .flat_map(|l| l.methods.iter().copied())
            .collect()
    }

    /// The method of an enabled module named `name`.
    pub fn method(&self, name: &str) -> Option<Method> {
        let (namespace, _) = name.split_once('.')?;
        self.refresh();
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let loaded = state.loaded.iter().find(|l| l.module.name == namespace)?;
        if loaded.instance.is_none() || !is_enabled(&state.records, namespace) {
            return None;
        }
        loaded.methods.iter().find(|m| m.name == name).copied()
    }

    /// The status of a dynamic module, loaded or refused.
    pub fn status(&self, name: &str) -> Option<ModuleStatus> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        if let Some(loaded) = state.loaded.iter().find(|l| l.module.name == name) {
            return Some(ModuleStatus {
                path: loaded.module.path.clone(),
                layers: loaded
                    .module
                    .layers
                    .iter()
                    .map(|l: &Layer| l.as_str())
                    .collect(),
                schema: loaded.module.config_schema.clone(),
                error: loaded.error.clone(),
                warning: loaded.instance.as_ref().and_then(|r| r.not_quick()),
                provides: loaded.module.provides.clone(),
            });
        }
        None
    }

    /// Module files refused at the last scan.
    pub fn refused(&self) -> Vec<Refused> {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .refused
            .clone()
    }

    /// The schema of a loaded module, to check a configuration against.
    pub fn schema(&self, name: &str) -> Option<serde_json::Value> {
        self.status(name).map(|s| s.schema)
    }

    /// The running module of `name`, when that method is declared quick, has kept the
    /// privilege, and its checks need no network wait on the async worker (it is public, or
    /// the database is SQLite, whose token reads run there anyway).
    fn quick(&self, name: &str) -> Option<Arc<limit::Running>> {
        let (namespace, _) = name.split_once('.')?;
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let loaded = state.loaded.iter().find(|l| l.module.name == namespace)?;
        let method = loaded.methods.iter().find(|m| m.name == name)?;
        let inline_checks = method.access == Access::Public
            || self.store.backend() == zentific_sql::Backend::Sqlite;
        let running = loaded.instance.clone()?;
        (loaded.quick.contains(&method.name) && inline_checks && running.not_quick().is_none())
            .then_some(running)
    }

    /// How long a module method may take (option `module_call_limit_secs`).
    pub fn call_limit(&self) -> std::time::Duration {
        // Read at the last refresh, which every routed call's method lookup makes.
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state.limit.unwrap_or(limit::DEFAULT_LIMIT)
    }

    /// The names of the collectors module `name` provides.
    pub fn collectors_of(&self, name: &str) -> Vec<String> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .loaded
            .iter()
            .filter(|l| l.module.name == name)
            .flat_map(|l| l.module.provides.collectors.iter().map(|c| c.name.clone()))
            .collect()
    }

    /// The transports of this host's modules, for the scheduler.
    pub fn transports(
        self: &Arc<Self>,
    ) -> Arc<dyn zentific_scheduler::dispatch::modules::ModuleTransports> {
        Arc::new(transport::HostTransports(self.clone()))
    }

    /// The job actions of this host's modules, for the scheduler.
    pub fn actions(
        self: &Arc<Self>,
    ) -> Arc<dyn zentific_scheduler::dispatch::modules::ModuleActions> {
        Arc::new(transport::HostTransports(self.clone()))
    }

    /// The enabled, running module that provides job action `name` (`<module>.<action>`),
    /// or why there is none.
    pub fn action_module(&self, name: &str) -> Result<Provider, String> {
        let (module, action) = name
            .split_once('.')
            .ok_or_else(|| format!("{name} is not a module action (<module>.<action>)"))?;
        self.provider(
            |m| m.name == module && m.provides.actions.iter().any(|a| a.name == action),
            &format!("the job action {name}"),
            &format!("job action {name}"),
        )
    }

    /// The enabled, running module that provides transport `name`, or why there is none.
    pub fn transport_module(&self, name: &str) -> Result<Provider, String> {
        self.provider(
            |m| m.provides.transports.iter().any(|t| t.name == name),
            &format!("transport {name}"),
            &format!("transport {name}"),
        )
    }

    /// The first loaded module `provides` matches, if it is enabled and running; else why
    /// not, naming `what` ("transport x") and `thing` (how the refusals call it).
    fn provider(
        &self,
        provides: impl Fn(&Module) -> bool,
        what: &str,
        thing: &str,
    ) -> Result<Provider, String> {
        self.refresh();
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let loaded = state
            .loaded
            .iter()
            .find(|l| provides(&l.module))
            .ok_or_else(|| {
                format!("no loaded module provides {what} (module.list shows what each provides)")
            })?;
        let module = &loaded.module.name;
        if !is_enabled(&state.records, module) {
            return Err(format!("{thing} is module {module}'s, which is disabled"));
        }
        let running = loaded
            .instance
            .clone()
            .ok_or_else(|| format!("module {module}, which provides {thing}, cannot run"))?;
        Ok(Provider {
            module: module.clone(),
            running,
        })
    }

    fn instance(&self, namespace: &str) -> Option<Arc<limit::Running>> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .loaded
            .iter()
            .find(|l| l.module.name == namespace)
            .and_then(|l| l.instance.clone())
    }
}

fn is_enabled(records: &[ModuleRecord], name: &str) -> bool {
    records.iter().any(|r| r.name == name && r.enabled)
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// A type name of the module method table.
fn type_named(name: &str) -> Option<Type> {
    Some(match name {
        "int" | "i4" => Type::Int,
        "i8" => Type::Long,
        "string" => Type::String,
        "boolean" => Type::Bool,
        "struct" => Type::Struct,
        "array" => Type::Array,
        "dateTime.iso8601" => Type::DateTime,
        "double" => Type::Double,
        "base64" => Type::Base64,
        "any" => Type::Any,
        _ => return None,
    })
}

/// The registry methods of a module's method table, and the names of those it declares
/// quick.
fn methods_of(module: &Module) -> Result<(Vec<Method>, Vec<&'static str>), String> {
    let serde_json::Value::Array(entries) = &module.methods else {
        return Err("its method table is not a list".into());
    };
    let mut methods = Vec::new();
    let mut quick = Vec::new();
    for entry in entries {
        let text = |field: &str| entry.get(field).and_then(|v| v.as_str()).unwrap_or("");
        let short = text("name");
        let valid = !short.is_empty()
            && short.len() <= 64
            && short.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("method name {short:?} is not usable"));
        }
        // `vm:<permission>`: any user, with that permission on the VM its `vm` parameter
        // names (checked by the registry before the module is called).
        let mut vm_permission = None;
        let access = match text("access") {
            "public" => Access::Public,
            "user" => Access::Session(Role::User),
            "operator" => Access::Session(Role::Operator),
            "admin" => Access::Session(Role::Admin),
            other => match other.strip_prefix("vm:") {
                Some(permission) => {
                    vm_permission = Some(
                        zentific_sql::Permission::parse(permission, "access")
                            .map_err(|e| format!("method {short}: {e}"))?,
                    );
                    Access::Session(Role::User)
                }
                None => return Err(format!("method {short}: unknown access {other:?}")),
            },
        };
        let mut params: Vec<Param> = Vec::new();
        if access != Access::Public {
            params.push(TOKEN);
        }
        for param in entry
            .get("params")
            .and_then(|p| p.as_array())
            .cloned()
            .unwrap_or_default()
        {
            let name = param
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("value");
            let kind = param.get("type").and_then(|v| v.as_str()).unwrap_or("");
            let ty = type_named(kind)
                .ok_or_else(|| format!("method {short}: unknown parameter type {kind:?}"))?;
            let optional = param
                .get("optional")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            params.push(Param {
                name: leak(name.to_owned()),
                ty,
                optional,
            });
        }
        let returns = type_named(text("returns"))
            .ok_or_else(|| format!("method {short}: unknown result type {:?}", text("returns")))?;
        let vm_param = match vm_permission {
            None => None,
            Some(permission) => {
                let index = params
                    .iter()
                    .position(|p| p.name == "vm" && p.ty == Type::Int && !p.optional)
                    .ok_or_else(|| {
                        format!(
                            "method {short}: access vm:… needs a required int parameter named vm"
                        )
                    })?;
                Some((index, permission))
            }
        };
        let name = leak(format!("{}.{short}", module.name));
        if entry.get("quick").and_then(|q| q.as_bool()) == Some(true) {
            quick.push(name);
        }
        methods.push(Method {
            name,
            help: leak(text("help").to_owned()),
            params: Box::leak(params.into_boxed_slice()),
            returns,
            access,
            vm_param,
            // A module may block: never on the async worker, and under a time limit.
            work: Work::Module,
            handler: call_module,
        });
    }
    if !module.provides.collectors.is_empty() {
        if methods.iter().any(|m| m.name.ends_with(".get")) {
            return Err(
                "it declares a method get, which the server provides for modules with collectors"
                    .into(),
            );
        }
        methods.push(Method {
            name: leak(format!("{}.get", module.name)),
            help: "The newest figures this module's poller collectors reported for a node: {node, time?, metrics: {<collector>.<metric>: number}} (no time and no metrics before the node's poller sent any). stats.node answers each metric's series by name. Operators and admins, as stats.node. Provided by the server for every module with collectors.",
            params: FIGURES_PARAMS,
            returns: Type::Struct,
            // As stats.node: a node's statistics are for operators and admins.
            access: Access::Session(Role::Operator),
            vm_param: None,
            work: Work::Read,
            handler: collector_figures,
        });
    }
    Ok((methods, quick))
}

const FIGURES_PARAMS: &[Param] = &[TOKEN, crate::registry::param("node", Type::Int)];

/// `<module>.get(T, node)`: the newest figures of the module's collectors for a node.
fn collector_figures(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let node = crate::params::int(params, 1, "node")?;
    let namespace = ctx.method().split_once('.').map_or("", |(n, _)| n);
    let prefixes: Vec<String> = ctx
        .registry
        .modules()
        .map(|host| host.collectors_of(namespace))
        .unwrap_or_default()
        .into_iter()
        .map(|c| format!("{c}."))
        .collect();
    let latest = ctx.store.latest_extras(ctx.caller()?, node)?;
    let mut out = crate::params::Record::new().int("node", node);
    let mut metrics = BTreeMap::new();
    if let Some(latest) = latest {
        out = out.value("time", crate::params::datetime(latest.at));
        for (name, value) in latest.metrics {
            if prefixes.iter().any(|p| name.starts_with(p)) {
                metrics.insert(name, Value::Double(value));
            }
        }
    }
    Ok(out.value("metrics", Value::Struct(metrics)).build())
}

fn prepare(module: Module, config: &str) -> Loaded {
    let (methods, quick) = match methods_of(&module) {
        Ok(tables) => tables,
        Err(error) => {
            return Loaded {
                module,
                instance: None,
                config: config.to_owned(),
                error: Some(error),
                methods: Vec::new(),
                quick: Vec::new(),
            };
        }
    };
    let (instance, error) = instantiate(&module, config);
    Loaded {
        module,
        instance,
        config: config.to_owned(),
        error,
        methods,
        quick,
    }
}

fn prepare_again(loaded: &Loaded, config: &str) -> Loaded {
    let (instance, error) = instantiate(&loaded.module, config);
    Loaded {
        module: loaded.module.clone(),
        instance,
        config: config.to_owned(),
        error,
        methods: loaded.methods.clone(),
        quick: loaded.quick.clone(),
    }
}

fn instantiate(module: &Module, config: &str) -> (Option<Arc<limit::Running>>, Option<String>) {
    match module.instantiate(config) {
        Ok(instance) => (
            Some(Arc::new(limit::Running::new(&module.name, instance))),
            None,
        ),
        Err(error) => (None, Some(error)),
    }
}

/// The handler of every module method: the registry did the checks; the module gets the
/// caller's id and role, never the token.
fn call_module(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let method = ctx.method();
    let (namespace, short) = method.split_once('.').unwrap_or((method, ""));
    let host = ctx.registry.modules().ok_or_else(|| {
        fault::fault(
            fault::NO_SUCH_METHOD,
            format!("there is no method '{method}'"),
        )
    })?;
    let instance = host.instance(namespace).ok_or_else(|| {
        fault::fault(
            fault::NO_SUCH_METHOD,
            format!("module {namespace} is not running"),
        )
    })?;
    let (caller, params) = match ctx.caller_if_any() {
        Some(caller) => (
            CallerInfo {
                user_id: caller.user_id(),
                role: match caller.role() {
                    Role::User => 1,
                    Role::Operator => 2,
                    Role::Admin => 3,
                },
            },
            &params[1..],
        ),
        None => (
            CallerInfo {
                user_id: 0,
                role: 0,
            },
            params,
        ),
    };
    let limit = host.call_limit();
    instance.admit(limit)?;
    if ctx.timed_by_caller() {
        instance
            .call(caller, short, params, limit)
            .map_err(|e| limit::call_fault(namespace, e).into())
    } else {
        Ok(instance.call_waiting(caller, short, params, limit)?)
    }
}

/// A schedule's or trigger's action: built-in names pass to the store, which checks them;
/// a module's (`<module>.<action>`) must be provided by an enabled module (fault 4).
pub(crate) fn checked_action(ctx: &Ctx<'_>, action: String) -> Result<String, ApiFault> {
    if !action.contains('.') {
        return Ok(action);
    }
    let host = ctx.registry.modules().ok_or_else(|| {
        fault::invalid_value(
            "action",
            "this server loads no modules, so no module actions",
        )
    })?;
    host.action_module(&action)
        .map_err(|why| fault::invalid_value("action", why))?;
    Ok(action)
}

/// Check a configuration an admin gives against a module's schema
/// (`{"option": {"type", "required"?, "enum"?, "min"?, "max"?}}`); returns it as JSON.
pub fn check_config(
    schema: &serde_json::Value,
    given: &BTreeMap<String, Value>,
) -> Result<String, StoreError> {
    let options = schema.as_object().cloned().unwrap_or_default();
    let mut out = serde_json::Map::new();
    for (name, value) in given {
        let Some(rule) = options.get(name) else {
            let known: Vec<&String> = options.keys().collect();
            return Err(StoreError::invalid(
                name.clone(),
                format!("is not an option of this module; its options are {known:?}"),
            ));
        };
        let kind = rule
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("string");
        let json = match (kind, value) {
            ("string", Value::String(s)) => serde_json::Value::String(s.clone()),
            ("integer", Value::Integer(n)) => serde_json::Value::from(*n),
            ("integer", Value::Long(n)) => serde_json::Value::from(*n),
            ("boolean", Value::Boolean(b)) => serde_json::Value::Bool(*b),
            _ => {
                return Err(StoreError::invalid(
                    name.clone(),
                    format!("must be a {kind}"),
                ));
            }
        };
        if let Some(allowed) = rule.get("enum").and_then(|e| e.as_array())
            && !allowed.contains(&json)
        {
            return Err(StoreError::invalid(
                name.clone(),
                format!(
                    "must be one of {}",
                    serde_json::Value::Array(allowed.clone())
                ),
            ));
        }
        if let Some(n) = json.as_i64() {
            let min = rule.get("min").and_then(|m| m.as_i64());
            let max = rule.get("max").and_then(|m| m.as_i64());
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(StoreError::invalid(
                    name.clone(),
                    format!("must be between {min:?} and {max:?}"),
                ));
            }
        }
        out.insert(name.clone(), json);
    }
    for (name, rule) in &options {
        let required = rule.get("required").and_then(|r| r.as_bool()) == Some(true);
        if required && !out.contains_key(name) {
            return Err(StoreError::invalid(name.clone(), "is required"));
        }
    }
    Ok(serde_json::Value::Object(out).to_string())
}
