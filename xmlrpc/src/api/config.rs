//! `config.*`: the global options of the Configuration page.

use dxr::Value;
use zentific_sql::{OPTION_DEFS, OptionDef, OptionValue, Role};

use crate::fault::{ApiFault, invalid_params};
use crate::params::{Record, array, done};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param, type_of};

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "config.get",
        help: "Every global option as {option: value}: stat_retention_days, node_user, default_language, vm_max_memory_kb, vm_max_vcpus, schedule_min_interval_secs, event_retention_hours, module_call_limit_secs, console_idle_secs, multicall_max_calls, session_lifetime_hours, session_idle_minutes (config.describe says what each means and allows).",
        params: &[TOKEN],
        returns: Type::Struct,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: get,
    },
    Method {
        name: "config.set",
        help: "Set global options from {option: value}. All values are checked before any is written: one bad value (fault 4, naming the option and its rule) changes nothing. Returns true.",
        params: &[TOKEN, param("options", Type::Struct)],
        returns: Type::Bool,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: set,
    },
    Method {
        name: "config.describe",
        help: "What each global option means: {name, help, default} structs.",
        params: &[TOKEN],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Cpu,
        handler: describe,
    },
];

fn to_value(value: &OptionValue) -> Value {
    match value {
        OptionValue::Int(v) => i32::try_from(*v).map_or(Value::Long(*v), Value::Integer),
        OptionValue::Text(v) => Value::String(v.clone()),
    }
}

fn get(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    let options = ctx.store.options(ctx.caller()?)?;
    Ok(options
        .iter()
        .fold(Record::new(), |r, (name, value)| {
            r.value(name, to_value(value))
        })
        .build())
}

fn set(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let Some(Value::Struct(members)) = params.get(1) else {
        return Err(invalid_params("'options' must be a struct").into());
    };
    let mut values = Vec::with_capacity(members.len());
    for (name, value) in members {
        OptionDef::find(name)?;
        let value = match value {
            Value::Integer(v) => OptionValue::Int(i64::from(*v)),
            Value::Long(v) => OptionValue::Int(*v),
            Value::String(v) => OptionValue::Text(v.clone()),
            other => {
                return Err(invalid_params(format!(
                    "option '{name}' must be an int or a string; got {}",
                    type_of(other)
                ))
                .into());
            }
        };
        values.push((name.clone(), value));
    }
    ctx.store.set_options(ctx.caller()?, &values)?;
    Ok(done())
}

fn describe(_ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    Ok(array(OPTION_DEFS.iter().map(|d| {
        Record::new()
            .string("name", d.name)
            .string("help", d.help)
            .string("default", d.default)
            .build()
    })))
}
