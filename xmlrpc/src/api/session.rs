//! `session.*`: log in, log out, who am I.

use dxr::Value;
use zentific_sql::Role;

use super::user::user_record;
use crate::fault::ApiFault;
use crate::params::{done, string};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param};

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "session.login",
        help: "Log in with a user name and password; returns the session token that every other method takes as its first parameter. Tokens expire 12 hours after login. Fault 1 for a wrong name or password or a disabled account.",
        params: &[
            param("username", Type::String),
            param("password", Type::String),
        ],
        returns: Type::String,
        access: Access::Public,
        vm_param: None,
        work: Work::Write,
        handler: login,
    },
    Method {
        name: "session.logout",
        help: "End the session; the token stops working. Returns true.",
        params: &[TOKEN],
        returns: Type::Bool,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Write,
        handler: logout,
    },
    Method {
        name: "session.whoami",
        help: "The user behind the token: {id, username, email, role, language, disabled, created}.",
        params: &[TOKEN],
        returns: Type::Struct,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: whoami,
    },
];

fn login(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let username = string(params, 0, "username")?;
    let password = string(params, 1, "password")?;
    let (token, _) = ctx.store.login(username, password)?;
    Ok(Value::String(token))
}

fn logout(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    ctx.store.logout(string(params, 0, "token")?)?;
    Ok(done())
}

fn whoami(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    let caller = ctx.caller()?;
    let user = ctx.store.get_user(caller, caller.user_id())?;
    Ok(user_record(&user))
}
