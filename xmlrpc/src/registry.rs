//! The method registry: the one table that routes calls, checks tokens, roles and per-VM
//! permissions, and answers `system.listMethods`, `system.methodHelp`,
//! `system.methodSignature` — and from which `docs/api.md` is generated.

use std::collections::BTreeMap;

use dxr::{Fault, Value};
use zentific_sql::{Caller, Permission, Role, Store};

use crate::fault::{self, invalid_params};

/// XML-RPC types of parameters and results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `int` (`i4`).
    Int,
    /// `i8`; `int` is accepted on input.
    Long,
    /// `string`.
    String,
    /// `boolean`.
    Bool,
    /// `struct`.
    Struct,
    /// `array`.
    Array,
    /// `dateTime.iso8601`.
    DateTime,
    /// `double`.
    Double,
    /// `base64`.
    Base64,
    /// Any of the above (multicall results).
    Any,
}

impl Type {
    /// The name `system.methodSignature` uses.
    pub fn name(self) -> &'static str {
        match self {
            Type::Int => "int",
            Type::Long => "i8",
            Type::String => "string",
            Type::Bool => "boolean",
            Type::Struct => "struct",
            Type::Array => "array",
            Type::DateTime => "dateTime.iso8601",
            Type::Double => "double",
            Type::Base64 => "base64",
            Type::Any => "undef",
        }
    }

    /// Whether `value` is of this type.
    pub fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Type::Any, _)
                | (Type::Int, Value::Integer(_))
                | (Type::Long, Value::Integer(_) | Value::Long(_))
                | (Type::String, Value::String(_))
                | (Type::Bool, Value::Boolean(_))
                | (Type::Struct, Value::Struct(_))
                | (Type::Array, Value::Array(_))
                | (Type::DateTime, Value::DateTime(_))
                | (Type::Double, Value::Double(_))
                | (Type::Base64, Value::Base64(_))
        ) || matches!((self, value), (Type::Int, Value::Long(v)) if i32::try_from(*v).is_ok())
    }
}

/// The XML-RPC type name of a value, for messages.
pub fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "int",
        Value::Long(_) => "i8",
        Value::Boolean(_) => "boolean",
        Value::String(_) => "string",
        Value::Double(_) => "double",
        Value::DateTime(_) => "dateTime.iso8601",
        Value::Base64(_) => "base64",
        Value::Struct(_) => "struct",
        Value::Array(_) => "array",
        Value::Nil => "nil",
        _ => "unknown",
    }
}

/// One parameter of a method.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name, for help and messages.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
    /// Whether it may be left out (only trailing parameters are optional).
    pub optional: bool,
}

/// The session token every authenticated method takes first.
pub const TOKEN: Param = Param {
    name: "token",
    ty: Type::String,
    optional: false,
};

/// A required parameter.
pub const fn param(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        optional: false,
    }
}

/// An optional trailing parameter.
pub const fn optional(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        optional: true,
    }
}

/// Who may call a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: introspection and `session.login`.
    Public,
    /// A session token of a user with at least this role, as the first parameter.
    Session(Role),
    /// A node's poller token as the first parameter (`stats.push`).
    Poller,
}

/// What kind of work a method does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Work {
    /// Computation only (introspection): runs on the async worker.
    Cpu,
    /// Reads the database. On SQLite in WAL mode readers never wait for writers, so
    /// these run on the async worker too; on PostgreSQL they leave it (network waits).
    Read,
    /// Writes (or hashes passwords): always off the async worker, since a write may wait
    /// on another writer's lock.
    Write,
    /// A long poll (`event.next`): a read the endpoint repeats as events commit, waiting
    /// asynchronously in between (see `api/event.rs`).
    Wait,
    /// A module's method: runs off the async worker under the module call time limit,
    /// which the endpoint enforces (see `modules.rs`).
    Module,
}

/// What a handler gets besides its parameters.
pub struct Ctx<'a> {
    /// The database.
    pub store: &'a Store,
    /// The registry (for introspection and multicall).
    pub registry: &'a Registry,
    caller: Option<Caller>,
    poller_node: Option<i32>,
    method: &'static str,
    origin: Origin,
}

/// Where a call comes from, besides its parameters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Origin {
    /// The client's address, when the call came over the network.
    pub client: Option<std::net::IpAddr>,
    /// Whether the caller stops waiting at the module call time limit itself (see
    /// [`Ctx::timed_by_caller`]).
    pub timed_by_caller: bool,
}

impl Ctx<'_> {
    /// Whether whoever made this call stops waiting for it at the module call time limit
    /// itself (the endpoint does, for a module method called directly); inside
    /// `system.multicall` it does not.
    pub fn timed_by_caller(&self) -> bool {
        self.origin.timed_by_caller
    }

    /// Where the call came from (calls inside `system.multicall` come from there too).
    pub fn origin(&self) -> Origin {
        Origin {
            timed_by_caller: false,
            ..self.origin
        }
    }

    /// The node whose poller token authenticated the call ([`Access::Poller`]).
    pub fn poller_node(&self) -> Result<i32, Fault> {
        self.poller_node.ok_or_else(|| {
            fault::fault(
                fault::NOT_AUTHENTICATED,
                "this method needs a node's poller token",
            )
        })
    }

    /// The method being called (`namespace.method`).
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The caller, if the method takes a session token.
    pub fn caller_if_any(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// The authenticated caller; every method with [`Access::Session`] has one.
    pub fn caller(&self) -> Result<&Caller, Fault> {
        self.caller.as_ref().ok_or_else(|| {
            fault::fault(
                fault::NOT_AUTHENTICATED,
                "this method needs a session token",
            )
        })
    }
}

/// A handler: typed-checked parameters in, a value or a fault out. Handlers block on the
/// database; the endpoint runs them on a blocking thread.
pub type HandlerFn = fn(&Ctx<'_>, &[Value]) -> Result<Value, fault::ApiFault>;

/// One API method.
#[derive(Clone, Copy)]
pub struct Method {
    /// `namespace.method`.
    pub name: &'static str,
    /// What it does, what it returns, which faults to expect: `system.methodHelp`.
    pub help: &'static str,
    /// Parameters, the token included.
    pub params: &'static [Param],
    /// Result type.
    pub returns: Type,
    /// Who may call it.
    pub access: Access,
    /// A parameter that names a VM, and the permission the caller needs on it; checked
    /// before the handler runs.
    pub vm_param: Option<(usize, Permission)>,
    /// What kind of work it does, which decides the thread it runs on.
    pub work: Work,
    /// The code.
    pub handler: HandlerFn,
}

impl Method {
    fn required(&self) -> usize {
        self.params.iter().filter(|p| !p.optional).count()
    }

    /// `system.methodSignature`: one signature per accepted arity, result type first.
    pub fn signatures(&self) -> Vec<Vec<&'static str>> {
        (self.required()..=self.params.len())
            .map(|n| {
                std::iter::once(self.returns.name())
                    .chain(self.params[..n].iter().map(|p| p.ty.name()))
                    .collect()
            })
            .collect()
    }

    /// The call's shape for messages, e.g. `vm.get(token, id)`.
    pub fn synopsis(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                if p.optional {
                    format!("[{}]", p.name)
                } else {
                    p.name.to_string()
                }
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }
}

/// Every method, by name: the built-in ones, and those of enabled modules.
pub struct Registry {
    methods: BTreeMap<&'static str, Method>,
    modules: Option<std::sync::Arc<crate::modules::ModuleHost>>,
    logins: crate::throttle::LoginThrottle,
    tls_fingerprint: Option<String>,
}

impl Registry {
    /// Build the registry from method tables; a duplicate name is a programming error.
    pub fn new(tables: impl IntoIterator<Item = Method>) -> Registry {
        let mut methods = BTreeMap::new();
        for method in tables {
            assert!(
                methods.insert(method.name, method).is_none(),
                "method {} registered twice",
                method.name
            );
        }
        Registry {
            methods,
            modules: None,
            logins: Default::default(),
            tls_fingerprint: None,
        }
    }

    /// Tell `node.register` the fingerprint of the server's certificate (for pollers).
    pub fn with_tls_fingerprint(mut self, fingerprint: Option<String>) -> Registry {
        self.tls_fingerprint = fingerprint;
        self
    }

    /// The server certificate's `sha256:` fingerprint, when it serves HTTPS.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls_fingerprint.as_deref()
    }

    /// The failed-login counts of `session.login`.
    pub fn logins(&self) -> &crate::throttle::LoginThrottle {
        &self.logins
    }

    /// Route the methods of the host's enabled modules too.
    pub fn with_modules(mut self, host: std::sync::Arc<crate::modules::ModuleHost>) -> Registry {
        self.modules = Some(host);
        self
    }

    /// The module host, when the server loads modules.
    pub fn modules(&self) -> Option<&crate::modules::ModuleHost> {
        self.modules.as_deref()
    }

    /// The module host as shared, for what outlives a call (a console's transport).
    pub fn module_host(&self) -> Option<&std::sync::Arc<crate::modules::ModuleHost>> {
        self.modules.as_ref()
    }

    /// A method by name: a built-in one, or one of an enabled module.
    pub fn get(&self, name: &str) -> Option<Method> {
        match self.methods.get(name) {
            Some(method) => Some(*method),
            None => self.modules.as_ref()?.method(name),
        }
    }

    /// The built-in methods, sorted by name (what `docs/api.md` lists).
    pub fn builtin_methods(&self) -> impl Iterator<Item = &Method> {
        self.methods.values()
    }

    /// All methods, built-in and of enabled modules, sorted by name.
    pub fn methods(&self) -> Vec<Method> {
        let mut all: Vec<Method> = self.methods.values().copied().collect();
        if let Some(host) = &self.modules {
            all.extend(host.methods());
            all.sort_by_key(|m| m.name);
        }
        all
    }

    /// The method or fault -32601.
    pub fn lookup(&self, name: &str) -> Result<Method, Fault> {
        self.get(name).ok_or_else(|| {
            fault::fault(
                fault::NO_SUCH_METHOD,
                format!(
                    "there is no method '{}'; system.listMethods lists them all",
                    truncate(name, 80)
                ),
            )
        })
    }

    /// Run one call through every check the registry knows, then the handler:
    /// token (fault 1), role (fault 2), parameter count and types (-32602), the VM
    /// parameter's existence and permission (faults 3 and 2).
    pub fn call(&self, store: &Store, name: &str, params: &[Value]) -> Result<Value, Fault> {
        self.call_from(store, name, params, Origin::default())
    }

    /// [`Registry::call`] for a call from `origin`.
    pub fn call_from(
        &self,
        store: &Store,
        name: &str,
        params: &[Value],
        origin: Origin,
    ) -> Result<Value, Fault> {
        let method = self.lookup(name)?;
        let mut poller_node = None;
        let caller = match method.access {
            Access::Public => None,
            Access::Poller => {
                let Some(Value::String(token)) = params.first() else {
                    return Err(fault::fault(
                        fault::NOT_AUTHENTICATED,
                        format!(
                            "{} needs the node's poller token as its first parameter",
                            method.name
                        ),
                    ));
                };
                poller_node = Some(
                    store
                        .node_for_poller_token(token)
                        .map_err(fault::from_store)?,
                );
                None
            }
            Access::Session(role) => {
                let Some(Value::String(token)) = params.first() else {
                    return Err(fault::fault(
                        fault::NOT_AUTHENTICATED,
                        format!(
                            "{} needs a session token as its first parameter; call session.login to get one",
                            method.name
                        ),
                    ));
                };
                let caller = store.caller_for_token(token).map_err(fault::from_store)?;
                caller
                    .require_role(role, method.name)
                    .map_err(fault::from_store)?;
                Some(caller)
            }
        };
        check_params(&method, params)?;
        if let (Some((index, permission)), Some(caller)) = (method.vm_param, &caller) {
            let id = crate::params::int(params, index, method.params[index].name)?;
            store
                .require_vm_permission(caller, id, permission)
                .map_err(fault::from_store)?;
        }
        let ctx = Ctx {
            store,
            registry: self,
            caller,
            poller_node,
            method: method.name,
            origin,
        };
        (method.handler)(&ctx, params).map_err(|e| e.0)
    }

    /// `docs/api.md`: the API reference, generated from the registry.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "# Zentific XML-RPC API reference\n\n\
             Generated from the method registry by `zentific api-doc`; a test fails when this \
             file is stale. Conventions and fault codes: see the README.\n",
        );
        let mut namespace = "";
        for method in self.builtin_methods() {
            let ns = method.name.split('.').next().unwrap_or("");
            if ns != namespace {
                namespace = ns;
                out.push_str(&format!("\n## {ns}\n"));
            }
            let access = match method.access {
                Access::Public => "no token".to_string(),
                Access::Poller => "a node's poller token".to_string(),
                Access::Session(role) => format!("role {role} or above"),
            };
            let vm = method
                .vm_param
                .map(|(i, p)| format!("; needs `{p}` on the VM in `{}`", method.params[i].name))
                .unwrap_or_default();
            let params: Vec<String> = method
                .params
                .iter()
                .map(|p| {
                    format!(
                        "{}{}: {}",
                        p.name,
                        if p.optional { "?" } else { "" },
                        p.ty.name()
                    )
                })
                .collect();
            out.push_str(&format!(
                "\n### `{}`\n\n`{}({}) → {}` — {access}{vm}\n\n{}\n",
                method.name,
                method.name,
                params.join(", "),
                method.returns.name(),
                method.help
            ));
        }
        out
    }
}

fn check_params(method: &Method, params: &[Value]) -> Result<(), Fault> {
    let (min, max) = (method.required(), method.params.len());
    if params.len() < min || params.len() > max {
        let count = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(invalid_params(format!(
            "{} takes {count} parameter(s): {}; got {}",
            method.name,
            method.synopsis(),
            params.len()
        )));
    }
    for (i, (value, param)) in params.iter().zip(method.params).enumerate() {
        if !param.ty.accepts(value) {
            return Err(invalid_params(format!(
                "parameter {} ({}) of {} must be {}; got {}",
                i + 1,
                param.name,
                method.name,
                param.ty.name(),
                type_of(value)
            )));
        }
    }
    Ok(())
}

/// At most `max` characters of `text`, for echoing caller input in messages.
pub use zentific_value::truncate;
