//! Global option and built-in module rows.

use crate::db::Conn;
use diesel::prelude::*;

use crate::schema::{modules, options};
use crate::{Caller, OPTION_DEFS, OptionValue, StoreError};

/// The modules every installation has; `Base` cannot be disabled.
const BUILTIN_MODULES: &[(&str, &str, &str)] = &[
    (
        "Base",
        "core pages, sessions and the API itself",
        "frontend,xmlrpc",
    ),
    (
        "Vms",
        "virtual machine list, provisioning and control",
        "frontend,xmlrpc,scheduler",
    ),
    (
        "Nodes",
        "node registration and inventory",
        "frontend,xmlrpc,scheduler,poller",
    ),
    (
        "Users",
        "user administration, grants and quotas",
        "frontend,xmlrpc",
    ),
    (
        "Configuration",
        "global options and module management",
        "frontend,xmlrpc",
    ),
];

pub(crate) fn insert_defaults(conn: &mut Conn) -> Result<(), StoreError> {
    let present: Vec<String> = options::table.select(options::name).load(conn)?;
    for def in OPTION_DEFS
        .iter()
        .filter(|d| !present.iter().any(|p| p == d.name))
    {
        diesel::insert_into(options::table)
            .values((options::name.eq(def.name), options::value.eq(def.default)))
            .execute(conn)?;
    }
    let present: Vec<String> = modules::table.select(modules::name).load(conn)?;
    for (name, description, layers) in BUILTIN_MODULES
        .iter()
        .filter(|m| !present.iter().any(|p| p == m.0))
    {
        diesel::insert_into(modules::table)
            .values((
                modules::name.eq(name),
                modules::description.eq(description),
                modules::layers.eq(layers),
                modules::enabled.eq(true),
                modules::builtin.eq(true),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn all(conn: &mut Conn) -> Result<Vec<(String, OptionValue)>, StoreError> {
    let rows: Vec<(String, String)> = options::table
        .select((options::name, options::value))
        .load(conn)?;
    Ok(crate::options::decode_rows(&rows))
}

pub(crate) fn set(
    conn: &mut Conn,
    actor: &Caller,
    values: &[(&str, String)],
) -> Result<(), StoreError> {
    for (name, value) in values {
        diesel::delete(options::table.find(name)).execute(conn)?;
        diesel::insert_into(options::table)
            .values((options::name.eq(name), options::value.eq(value)))
            .execute(conn)?;
        super::audit::record(
            conn,
            Some(actor),
            "config.set",
            "config",
            None,
            &format!("{name}={value}"),
        )?;
    }
    Ok(())
}
