//! `module.*`: the module list of the Configuration page. Any user may list modules;
//! admins switch them on and off, configure them and rescan the modules directory.

use dxr::Value;
use zentific_sql::{Caller, ModuleRecord, Role, StoreError};

use crate::fault::ApiFault;
use crate::params::{Record, array, string};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param};

const NAME: crate::registry::Param = param("name", Type::String);

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "module.list",
        help: "Every module as {name, description, version, layers, enabled, builtin, config?, error?, warning?, provides?, file?}: the built-in ones (Base, Vms, Nodes, Users, Configuration) and those found in the server's modules directory, which start disabled. error says why a module found there cannot run (its file refused: permissions, ABI version, descriptor; or its create refused); warning, what an admin should know that does not stop it (a method declared quick was slow); provides, what it adds beyond methods: {transports, actions (job actions schedules and triggers may name, as <module>.<action>), collectors, pages}. config (a struct of the module's settings) is shown to admins. A module file replaced on disk needs a server restart: a library is never loaded twice.",
        params: &[TOKEN],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "module.pages",
        help: "The pages of enabled modules, for the web page's navigation, in their order: [{module, label, path, order, script}]. script is the URL of the page's ES module (served at /modules/<module>/<asset> while the module is enabled); path is where it goes under #/modules/<module>/.",
        params: &[TOKEN],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: pages,
    },
    Method {
        name: "module.get",
        help: "One module, as module.list shows it, plus its configuration schema (schema, for admins: {option: {type, required?, enum?, min?, max?, help?}}). Fault 3 when there is no such module.",
        params: &[TOKEN, NAME],
        returns: Type::Struct,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: get,
    },
    Method {
        name: "module.enable",
        help: "Switch a module on: its methods appear (system.listMethods) in every server on the database within a second. Fault 5 when it cannot run (its file was refused, or its create failed: the fault says why). Admins only. Returns the module.",
        params: &[TOKEN, NAME],
        returns: Type::Struct,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: enable,
    },
    Method {
        name: "module.disable",
        help: "Switch a module off: its methods answer -32601 from then on (the library stays loaded). Base cannot be disabled (fault 5). Admins only. Returns the module.",
        params: &[TOKEN, NAME],
        returns: Type::Struct,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: disable,
    },
    Method {
        name: "module.configure",
        help: "Set a module's configuration {option: value}, checked against its schema (types, required options, allowed values, ranges; an unknown option is fault 4), then made its running configuration. Admins only. Returns the module.",
        params: &[TOKEN, NAME, param("config", Type::Struct)],
        returns: Type::Struct,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: configure,
    },
    Method {
        name: "module.rescan",
        help: "Look at the modules directory again: module files not loaded yet are loaded (disabled) or refused with a reason. Returns the names loaded now. Fault 5 when the server has no modules directory. Admins only.",
        params: &[TOKEN],
        returns: Type::Array,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: rescan,
    },
];

fn record(ctx: &Ctx<'_>, caller: &Caller, module: &ModuleRecord, with_schema: bool) -> Value {
    let admin = caller.has_role(Role::Admin);
    let mut out = Record::new()
        .string("name", &module.name)
        .string("description", &module.description)
        .string("version", &module.version)
        .value(
            "layers",
            array(
                module
                    .layers
                    .split(',')
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_owned())),
            ),
        )
        .bool("enabled", module.enabled)
        .bool("builtin", module.builtin);
    if admin && !module.builtin {
        let config = serde_json::from_str(&module.config).unwrap_or(serde_json::Value::Null);
        out = out.value("config", json_value(&config));
    }
    let status = ctx.registry.modules().and_then(|h| h.status(&module.name));
    match &status {
        Some(status) => {
            if let Some(error) = &status.error {
                out = out.string("error", error);
            }
            if let Some(warning) = &status.warning {
                out = out.string("warning", warning);
            }
            let p = &status.provides;
            if *p != zentific_modules::Provides::default() {
                let names = |items: Vec<String>| array(items.into_iter().map(Value::String));
                out = out.value(
                    "provides",
                    Record::new()
                        .value(
                            "transports",
                            names(p.transports.iter().map(|t| t.name.clone()).collect()),
                        )
                        .value(
                            "actions",
                            names(
                                p.actions
                                    .iter()
                                    .map(|a| format!("{}.{}", module.name, a.name))
                                    .collect(),
                            ),
                        )
                        .value(
                            "collectors",
                            names(p.collectors.iter().map(|c| c.name.clone()).collect()),
                        )
                        .value(
                            "pages",
                            names(p.pages.iter().map(|pg| pg.label.clone()).collect()),
                        )
                        .build(),
                );
            }
            if admin {
                out = out.string("file", status.path.display().to_string());
            }
            if admin && with_schema {
                out = out.value("schema", json_value(&status.schema));
            }
        }
        None if !module.builtin => {
            out = out.string(
                "error",
                "not loaded by this server (its file is gone, refused, or in another server's modules directory)",
            );
        }
        None => {}
    }
    out.build()
}

/// A module's JSON (its configuration, its schema) as XML-RPC: objects are structs, and
/// a JSON null leaves its member out (XML-RPC has no null that every client reads).
fn json_value(json: &serde_json::Value) -> Value {
    use serde_json::Value as Json;
    match json {
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i32::try_from(i).map_or(Value::Long(i), Value::Integer),
            None => Value::Double(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(text) => Value::String(text.clone()),
        Json::Array(items) => array(items.iter().filter(|v| !v.is_null()).map(json_value)),
        Json::Object(members) => Value::Struct(
            members
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
        ),
        Json::Null => Value::Struct(Default::default()),
    }
}

fn pages(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    ctx.caller()?;
    let pages = ctx
        .registry
        .modules()
        .map(|host| host.pages())
        .unwrap_or_default();
    Ok(array(pages.into_iter().map(|p| {
        Record::new()
            .string("module", &p.module)
            .string("label", &p.page.label)
            .string("path", &p.page.path)
            .int("order", p.page.order)
            .string("script", format!("/modules/{}/{}", p.module, p.page.script))
            .build()
    })))
}

fn list(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    let caller = ctx.caller()?;
    let mut items: Vec<Value> = ctx
        .store
        .modules(caller)?
        .iter()
        .map(|m| record(ctx, caller, m, false))
        .collect();
    // Files refused before they could be recorded.
    if let Some(host) = ctx.registry.modules() {
        for refused in host.refused() {
            let mut item = Record::new()
                .string("name", &refused.name)
                .string("description", "")
                .string("version", "")
                .value("layers", array([]))
                .bool("enabled", false)
                .bool("builtin", false)
                .string("error", &refused.reason);
            if caller.has_role(Role::Admin) {
                item = item.string("file", refused.path.display().to_string());
            }
            items.push(item.build());
        }
    }
    Ok(Value::Array(items))
}

fn find(ctx: &Ctx<'_>, name: &str) -> Result<ModuleRecord, StoreError> {
    ctx.store
        .modules(&Caller::system())?
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| StoreError::NotFound {
            kind: "module",
            key: format!("name {name:?} (module.list lists them)"),
        })
}

fn get(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let caller = ctx.caller()?;
    let module = find(ctx, string(params, 1, "name")?)?;
    Ok(record(ctx, caller, &module, true))
}

fn switch(ctx: &Ctx<'_>, params: &[Value], enabled: bool) -> Result<Value, ApiFault> {
    let caller = ctx.caller()?;
    let name = string(params, 1, "name")?;
    // A file refused at the scan is no module yet: say why it cannot be switched.
    if let Some(refused) = ctx
        .registry
        .modules()
        .and_then(|h| h.refused().into_iter().find(|r| r.name == name))
    {
        caller.require_role(Role::Admin, "switching modules on and off")?;
        return Err(StoreError::WrongState(format!(
            "module {name} was refused: {}",
            refused.reason
        ))
        .into());
    }
    let module = find(ctx, name)?;
    if enabled && !module.builtin {
        let usable = ctx
            .registry
            .modules()
            .and_then(|h| h.status(name))
            .map(|s| s.error);
        match usable {
            Some(None) => {}
            Some(Some(error)) => {
                return Err(
                    StoreError::WrongState(format!("module {name} cannot run: {error}")).into(),
                );
            }
            None => {
                return Err(StoreError::WrongState(format!(
                    "module {name} is not loaded by this server"
                ))
                .into());
            }
        }
    }
    let module = ctx.store.set_module_enabled(caller, name, enabled)?;
    Ok(record(ctx, caller, &module, false))
}

fn enable(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    switch(ctx, params, true)
}

fn disable(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    switch(ctx, params, false)
}

fn configure(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let caller = ctx.caller()?;
    caller.require_role(Role::Admin, "configuring modules")?;
    let name = string(params, 1, "name")?;
    let Some(Value::Struct(given)) = params.get(2) else {
        return Err(crate::fault::invalid_params("module.configure takes a config struct").into());
    };
    let schema = ctx
        .registry
        .modules()
        .and_then(|h| h.schema(name))
        .ok_or_else(|| {
            StoreError::WrongState(format!("module {name} is not loaded by this server"))
        })?;
    let config = crate::modules::check_config(&schema, given)?;
    let module = ctx.store.configure_module(caller, name, &config)?;
    Ok(record(ctx, caller, &module, false))
}

fn rescan(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    ctx.caller()?
        .require_role(Role::Admin, "rescanning modules")?;
    let host = ctx.registry.modules().ok_or_else(|| {
        StoreError::WrongState("this server was started without a modules directory".into())
    })?;
    Ok(array(host.rescan().into_iter().map(Value::String)))
}
