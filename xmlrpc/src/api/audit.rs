//! `audit.*`: the whole audit log for admins (each VM's own part is `vm.log`).

use dxr::Value;
use zentific_sql::{AuditEntry, AuditFilter, Role};

use crate::fault::ApiFault;
use crate::params::{Record, array, fields};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, optional};

/// One entry as `audit.list` and `vm.log` show it.
pub(super) fn entry_record(entry: &AuditEntry) -> Value {
    Record::new()
        .int("id", entry.id)
        .time("at", entry.at)
        .string("user", &entry.username)
        .opt_int("user_id", entry.user_id)
        .string("action", &entry.action)
        .string("target_kind", &entry.target_kind)
        .opt_int("target", entry.target_id)
        .string("detail", &entry.detail)
        .build()
}

pub(super) const METHODS: &[Method] = &[Method {
    name: "audit.list",
    help: "The audit log, newest first, filtered by {user?, target_kind?, target?, since?, limit?} (user: a user id; target_kind: vm, node, user, config, …; since: a dateTime; limit 1-10000, default 100). Each entry is {id, at, user, user_id?, action, target_kind, target?, detail}; user is the name at the time (\"system\" for the server's own work). Admins only.",
    params: &[TOKEN, optional("filter", Type::Struct)],
    returns: Type::Array,
    access: Access::Session(Role::Admin),
    vm_param: None,
    work: Work::Read,
    handler: list,
}];

fn list(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "filter")?;
    let filter = AuditFilter {
        user: f.opt_int("user")?,
        target_kind: f.opt_string("target_kind")?,
        target: f.opt_int("target")?,
        since: f.opt_time("since")?,
        limit: f.opt_int("limit")?.map_or(100, i64::from),
    };
    f.finish()?;
    let entries = ctx.store.list_audit(ctx.caller()?, &filter)?;
    Ok(array(entries.iter().map(entry_record)))
}
