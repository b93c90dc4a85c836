//! `system.*`: introspection from the registry, multicall, version. No token needed.

use dxr::{Fault, Value};

use crate::fault::{ApiFault, NO_SUCH_METHOD, fault, invalid_params};
use crate::params::{Record, array, string};
use crate::registry::{Access, Ctx, Method, Type, Work, param};

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "system.listMethods",
        help: "The names of every method, sorted.",
        params: &[],
        returns: Type::Array,
        access: Access::Public,
        vm_param: None,
        work: Work::Cpu,
        handler: list_methods,
    },
    Method {
        name: "system.methodHelp",
        help: "What a method does, its parameters, and who may call it.",
        params: &[param("method", Type::String)],
        returns: Type::String,
        access: Access::Public,
        vm_param: None,
        work: Work::Cpu,
        handler: method_help,
    },
    Method {
        name: "system.methodSignature",
        help: "A method's signatures: arrays of type names, result type first; one per accepted number of parameters.",
        params: &[param("method", Type::String)],
        returns: Type::Array,
        access: Access::Public,
        vm_param: None,
        work: Work::Cpu,
        handler: method_signature,
    },
    Method {
        name: "system.multicall",
        help: "Run an array of {methodName, params} calls in order; returns an array holding, for each call, a one-element array with its result or a {faultCode, faultString} struct. Each call is checked and authorized on its own; system.multicall cannot be nested.",
        params: &[param("calls", Type::Array)],
        returns: Type::Array,
        access: Access::Public,
        vm_param: None,
        work: Work::Write,
        handler: multicall,
    },
    Method {
        name: "system.version",
        help: "The server's name and version: {name, version, api}.",
        params: &[],
        returns: Type::Struct,
        access: Access::Public,
        vm_param: None,
        work: Work::Cpu,
        handler: version,
    },
];

fn list_methods(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    Ok(array(
        ctx.registry
            .methods()
            .into_iter()
            .map(|m| Value::String(m.name.into())),
    ))
}

fn method_help(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let method = ctx.registry.lookup(string(params, 0, "method")?)?;
    let access = match method.access {
        Access::Public => "No token needed.".to_string(),
        Access::Poller => "Needs the node's poller token (from node.register).".to_string(),
        Access::Session(role) => {
            format!("Needs a session token of a user with role {role} or above.")
        }
    };
    Ok(Value::String(format!(
        "{}\n\n{}\n\n{access}",
        method.synopsis(),
        method.help
    )))
}

fn method_signature(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let method = ctx.registry.lookup(string(params, 0, "method")?)?;
    Ok(array(method.signatures().into_iter().map(|sig| {
        array(sig.into_iter().map(|t| Value::String(t.into())))
    })))
}

fn fault_record(fault: &Fault) -> Value {
    Record::new()
        .int("faultCode", fault.code())
        .string("faultString", fault.string())
        .build()
}

fn multicall(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let Some(Value::Array(calls)) = params.first() else {
        return Err(invalid_params(
            "system.multicall takes an array of {methodName, params} structs",
        )
        .into());
    };
    let most = ctx.store.global_options()?.multicall_max_calls;
    if calls.len() as i64 > most {
        return Err(fault(
            crate::fault::INVALID_REQUEST,
            format!(
                "system.multicall takes at most {most} calls (option multicall_max_calls); this one has {}",
                calls.len()
            ),
        )
        .into());
    }
    let results = calls.iter().enumerate().map(|(i, call)| {
        let outcome = (|| {
            let Value::Struct(members) = call else {
                return Err(invalid_params(format!(
                    "call {i} of system.multicall must be a {{methodName, params}} struct"
                )));
            };
            let Some(Value::String(name)) = members.get("methodName") else {
                return Err(invalid_params(format!(
                    "call {i} of system.multicall needs a string methodName"
                )));
            };
            let params = match members.get("params") {
                Some(Value::Array(params)) => params.as_slice(),
                None => &[],
                Some(_) => {
                    return Err(invalid_params(format!(
                        "the params of call {i} of system.multicall must be an array"
                    )));
                }
            };
            if name == "system.multicall" {
                return Err(fault(
                    NO_SUCH_METHOD,
                    "system.multicall cannot be called from within system.multicall",
                ));
            }
            ctx.registry
                .call_from(ctx.store, name, params, ctx.origin())
        })();
        match outcome {
            Ok(value) => array([value]),
            Err(fault) => fault_record(&fault),
        }
    });
    Ok(array(results))
}

fn version(_ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    Ok(Record::new()
        .string("name", "zentific")
        .string("version", env!("CARGO_PKG_VERSION"))
        .int("api", 1)
        .build())
}
