//! Module table queries.

use diesel::prelude::*;

use crate::db::Conn;
use crate::modules::{BASE_MODULE, ModuleRecord};
use crate::schema::modules;
use crate::{Caller, StoreError};

type Row = (String, String, String, String, bool, bool, String);

fn to_record((name, description, version, layers, enabled, builtin, config): Row) -> ModuleRecord {
    ModuleRecord {
        name,
        description,
        version,
        layers,
        enabled,
        builtin,
        config,
    }
}

macro_rules! columns {
    () => {
        (
            modules::name,
            modules::description,
            modules::version,
            modules::layers,
            modules::enabled,
            modules::builtin,
            modules::config,
        )
    };
}

pub(crate) fn all(conn: &mut Conn) -> Result<Vec<ModuleRecord>, StoreError> {
    let rows: Vec<Row> = modules::table
        .select(columns!())
        .order((modules::builtin.desc(), modules::name))
        .load(conn)?;
    Ok(rows.into_iter().map(to_record).collect())
}

fn get(conn: &mut Conn, name: &str) -> Result<ModuleRecord, StoreError> {
    let row: Option<Row> = modules::table
        .find(name)
        .select(columns!())
        .first(conn)
        .optional()?;
    row.map(to_record).ok_or_else(|| StoreError::NotFound {
        kind: "module",
        key: format!(
            "name {:?} (module.list lists them)",
            crate::validate::shown(name)
        ),
    })
}

pub(crate) fn record_loaded(
    conn: &mut Conn,
    name: &str,
    version: &str,
    description: &str,
    layers: &str,
) -> Result<ModuleRecord, StoreError> {
    let builtin: i64 = modules::table
        .filter(modules::builtin.eq(true))
        .filter(modules::name.eq(name))
        .count()
        .get_result(conn)?;
    let lowered: Vec<String> = modules::table
        .filter(modules::builtin.eq(true))
        .select(modules::name)
        .load(conn)?;
    if builtin > 0 || lowered.iter().any(|b| b.eq_ignore_ascii_case(name)) {
        return Err(StoreError::Conflict(format!(
            "a built-in module is named {name:?}"
        )));
    }
    let known = modules::table
        .find(name)
        .select(modules::name)
        .first::<String>(conn)
        .optional()?;
    if known.is_some() {
        diesel::update(modules::table.find(name))
            .set((
                modules::version.eq(version),
                modules::description.eq(description),
                modules::layers.eq(layers),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(modules::table)
            .values((
                modules::name.eq(name),
                modules::description.eq(description),
                modules::version.eq(version),
                modules::layers.eq(layers),
                modules::enabled.eq(false),
                modules::builtin.eq(false),
                modules::config.eq("{}"),
            ))
            .execute(conn)?;
        super::audit::record(
            conn,
            None,
            "module.found",
            "module",
            None,
            &format!("loaded module {name} {version} (disabled until an admin enables it)"),
        )?;
    }
    get(conn, name)
}

pub(crate) fn set_enabled(
    conn: &mut Conn,
    caller: &Caller,
    name: &str,
    enabled: bool,
) -> Result<ModuleRecord, StoreError> {
    let found = get(conn, name)?;
    if found.name == BASE_MODULE && !enabled {
        return Err(StoreError::WrongState(
            "Base cannot be disabled: it is the API itself".into(),
        ));
    }
    diesel::update(modules::table.find(name))
        .set(modules::enabled.eq(enabled))
        .execute(conn)?;
    super::audit::record(
        conn,
        Some(caller),
        if enabled {
            "module.enable"
        } else {
            "module.disable"
        },
        "module",
        None,
        &format!(
            "module {name} {}",
            if enabled { "enabled" } else { "disabled" }
        ),
    )?;
    get(conn, name)
}

pub(crate) fn configure(
    conn: &mut Conn,
    caller: &Caller,
    name: &str,
    config: &str,
) -> Result<ModuleRecord, StoreError> {
    let found = get(conn, name)?;
    if found.builtin {
        return Err(StoreError::invalid(
            "name",
            format!("{name} is built in; its settings are global options (config.set)"),
        ));
    }
    diesel::update(modules::table.find(name))
        .set(modules::config.eq(config))
        .execute(conn)?;
    super::audit::record(
        conn,
        Some(caller),
        "module.configure",
        "module",
        None,
        &format!("module {name} configured"),
    )?;
    get(conn, name)
}
