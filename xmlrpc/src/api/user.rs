//! `user.*`: the User Administration page — accounts, roles, passwords, languages,
//! per-VM grants and quotas.

use dxr::{Fault, Value};
use zentific_sql::{NewUser, Permission, Quota, Role, User, UserUpdate};

use crate::fault::{ApiFault, from_store};
use crate::params::{Fields, Record, array, done, fields, int, opt_datetime, string, strings};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, optional, param};

/// A user as the API shows it.
pub(crate) fn user_record(user: &User) -> Value {
    Record::new()
        .int("id", user.id)
        .string("username", &user.username)
        .string("email", &user.email)
        .string("role", user.role.as_str())
        .string("language", &user.language)
        .bool("disabled", user.disabled)
        .time("created", user.created_at)
        .build()
}

fn role(fields: &mut Fields<'_>, member: &'static str) -> Result<Option<Role>, Fault> {
    fields
        .opt_string(member)?
        .map(|r| Role::parse(&r, member).map_err(from_store))
        .transpose()
}

fn permissions(params: &[Value], index: usize) -> Result<Vec<Permission>, Fault> {
    strings(params, index, "permissions")?
        .into_iter()
        .map(|p| Permission::parse(p, "permissions").map_err(from_store))
        .collect()
}

const ADMIN: Access = Access::Session(Role::Admin);
const ANY_USER: Access = Access::Session(Role::User);

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "user.list",
        help: "Every user (admins and operators) or just yourself (users), as {id, username, email, role, language, disabled, created} structs.",
        params: &[TOKEN],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "user.get",
        help: "One user. Users may read only themselves (fault 2). Fault 3 when there is no such user.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Struct,
        access: ANY_USER,
        vm_param: None,
        work: Work::Read,
        handler: get,
    },
    Method {
        name: "user.create",
        help: "Create a user from {username, password, email?, role?, language?}; role defaults to user, language to the default_language option. Returns the new id. Fault 8 when the name is taken, 4 for an invalid value (names of 1-64 letters, digits, . _ -; passwords of at least 8 characters).",
        params: &[TOKEN, param("user", Type::Struct)],
        returns: Type::Int,
        access: ADMIN,
        vm_param: None,
        work: Work::Write,
        handler: create,
    },
    Method {
        name: "user.update",
        help: "Change {email?, role?, language?, disabled?} of a user. Users may change their own email and language; role and disabled need an admin. Disabling ends the user's sessions. The last enabled admin cannot be demoted or disabled (fault 8). Returns true.",
        params: &[
            TOKEN,
            param("id", Type::Int),
            param("changes", Type::Struct),
        ],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: update,
    },
    Method {
        name: "user.delete",
        help: "Delete a user with their sessions, grants and quota; their VMs keep running without an owner. You cannot delete yourself or the last admin (fault 8). Returns true.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Bool,
        access: ADMIN,
        vm_param: None,
        work: Work::Write,
        handler: delete,
    },
    Method {
        name: "user.setPassword",
        help: "Set a password (at least 8 characters). Users may set their own; admins anyone's. Ends the user's sessions. Returns true.",
        params: &[
            TOKEN,
            param("id", Type::Int),
            param("password", Type::String),
        ],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: None,
        work: Work::Write,
        handler: set_password,
    },
    Method {
        name: "user.resetPassword",
        help: "Replace a user's password with a random 16-character one and return it, ending their sessions.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::String,
        access: ADMIN,
        vm_param: None,
        work: Work::Write,
        handler: reset_password,
    },
    Method {
        name: "user.grant",
        help: "Give a user permissions on a VM: an array of view, power, modify, console, admin (admin implies the others), optionally until a time (the grant lapses by itself then, and the lapse is audited). Needs the admin role, ownership of the VM or the admin permission on it; operators hold no admin permission by their role, and nobody grants to themselves (fault 2). A grant is checked against its granter's current rights: demoting or deleting the granter, or revoking their admin permission on the VM, revokes the grants they made there. Fault 3 for a VM the caller may not see. Returns true.",
        params: &[
            TOKEN,
            param("user", Type::Int),
            param("vm", Type::Int),
            param("permissions", Type::Array),
            optional("until", Type::DateTime),
        ],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: Some((2, Permission::Admin)),
        work: Work::Write,
        handler: grant,
    },
    Method {
        name: "user.revoke",
        help: "Take permissions on a VM away from a user. Needs the admin role or the admin permission on the VM. Returns true.",
        params: &[
            TOKEN,
            param("user", Type::Int),
            param("vm", Type::Int),
            param("permissions", Type::Array),
        ],
        returns: Type::Bool,
        access: ANY_USER,
        vm_param: Some((2, Permission::Admin)),
        work: Work::Write,
        handler: revoke,
    },
    Method {
        name: "user.grants",
        help: "The per-VM permissions a user holds, as {vm, permission} structs. Users may read only their own.",
        params: &[TOKEN, param("user", Type::Int)],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: None,
        work: Work::Read,
        handler: grants,
    },
    Method {
        name: "vm.grants",
        help: "Who holds permissions on a VM: [{user, username, permission, until?}] by user name, one struct per permission (the owner and the roles' rights are not listed). Needs admin on the VM.",
        params: &[TOKEN, param("vm", Type::Int)],
        returns: Type::Array,
        access: ANY_USER,
        vm_param: Some((1, Permission::Admin)),
        work: Work::Read,
        handler: grants_on,
    },
    Method {
        name: "user.setQuota",
        help: "Set a user's quota {vms?, memory_kb?, vcpus?}: the most VMs they may own and the most memory and vCPUs over all of them; a member left out is unlimited. VM creation and resizing over quota fail with fault 6. Returns true.",
        params: &[
            TOKEN,
            param("user", Type::Int),
            param("quota", Type::Struct),
        ],
        returns: Type::Bool,
        access: ADMIN,
        vm_param: None,
        work: Work::Write,
        handler: set_quota,
    },
    Method {
        name: "user.getQuota",
        help: "A user's quota {vms?, memory_kb?, vcpus?}; absent members are unlimited. Users may read only their own.",
        params: &[TOKEN, param("user", Type::Int)],
        returns: Type::Struct,
        access: ANY_USER,
        vm_param: None,
        work: Work::Read,
        handler: get_quota,
    },
];

fn list(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    let users = ctx.store.list_users(ctx.caller()?)?;
    Ok(array(users.iter().map(user_record)))
}

fn get(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let user = ctx.store.get_user(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(user_record(&user))
}

fn create(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "user")?;
    let new = NewUser {
        username: f.string("username")?,
        password: f.string("password")?,
        email: f.opt_string("email")?.unwrap_or_default(),
        role: role(&mut f, "role")?.unwrap_or(Role::User),
        language: f.opt_string("language")?,
    };
    f.finish()?;
    let id = ctx.store.create_user(Some(ctx.caller()?), &new)?;
    Ok(Value::Integer(id))
}

fn update(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let id = int(params, 1, "id")?;
    let mut f = fields(params, 2, "changes")?;
    let changes = UserUpdate {
        email: f.opt_string("email")?,
        role: role(&mut f, "role")?,
        language: f.opt_string("language")?,
        disabled: f.opt_bool("disabled")?,
    };
    f.finish()?;
    ctx.store.update_user(ctx.caller()?, id, &changes)?;
    Ok(done())
}

fn delete(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    ctx.store
        .delete_user(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(done())
}

fn set_password(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let id = int(params, 1, "id")?;
    ctx.store
        .set_password(Some(ctx.caller()?), id, string(params, 2, "password")?)?;
    Ok(done())
}

fn reset_password(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let password = ctx
        .store
        .reset_password(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(Value::String(password))
}

fn grant(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let (user, vm) = (int(params, 1, "user")?, int(params, 2, "vm")?);
    ctx.store.grant(
        ctx.caller()?,
        user,
        vm,
        &permissions(params, 3)?,
        opt_datetime(params, 4, "until")?,
    )?;
    Ok(done())
}

fn revoke(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let (user, vm) = (int(params, 1, "user")?, int(params, 2, "vm")?);
    ctx.store
        .revoke(ctx.caller()?, user, vm, &permissions(params, 3)?)?;
    Ok(done())
}

fn grants(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let grants = ctx
        .store
        .grants_of(ctx.caller()?, int(params, 1, "user")?)?;
    Ok(array(grants.into_iter().map(|(vm, p, until)| {
        Record::new()
            .int("vm", vm)
            .string("permission", p.as_str())
            .opt_time("until", until)
            .build()
    })))
}

fn grants_on(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let grants = ctx.store.grants_on(ctx.caller()?, int(params, 1, "vm")?)?;
    Ok(array(grants.into_iter().map(|g| {
        Record::new()
            .int("user", g.user)
            .string("username", &g.username)
            .string("permission", g.permission.as_str())
            .opt_time("until", g.until)
            .build()
    })))
}

fn set_quota(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let user = int(params, 1, "user")?;
    let mut f = fields(params, 2, "quota")?;
    let quota = Quota {
        vms: f.opt_int("vms")?,
        memory_kb: f.opt_long("memory_kb")?,
        vcpus: f.opt_int("vcpus")?,
    };
    f.finish()?;
    ctx.store.set_quota(ctx.caller()?, user, &quota)?;
    Ok(done())
}

fn get_quota(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let quota = ctx.store.quota(ctx.caller()?, int(params, 1, "user")?)?;
    let mut record = Record::new()
        .opt_int("vms", quota.vms)
        .opt_int("vcpus", quota.vcpus);
    if let Some(memory) = quota.memory_kb {
        record = record.long("memory_kb", memory);
    }
    Ok(record.build())
}
