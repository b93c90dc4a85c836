//! `session.*`: log in, log out, who am I.

use dxr::Value;
use zentific_sql::{Role, StoreError};

use super::user::user_record;
use crate::fault::{self, ApiFault, fault};
use crate::params::{done, string};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param};

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "session.login",
        help: "Log in with a user name and password; returns the session token that every other method takes as its first parameter. A token ends session_lifetime_hours after login (option, 12 by default), or earlier after session_idle_minutes without a call (option; 0 never). Fault 1 for a wrong name or password or a disabled account, and while a name or client address is closed after repeated failures: after 5 failures of one name (20 of one address) each further failure closes it for twice as long (1 s, 2 s, 4 s, … up to 15 min), the fault says how long, and even the right password waits (each login inside system.multicall counts).",
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
    let client = ctx.origin().client;
    let logins = ctx.registry.logins();
    if let Err(closed) = logins.check(username, client) {
        tracing::warn!(%username, client = ?client, "login refused: {closed}");
        return Err(fault(fault::NOT_AUTHENTICATED, closed.to_string()).into());
    }
    match ctx.store.login(username, password) {
        Ok((token, _)) => {
            logins.succeeded(username);
            Ok(Value::String(token))
        }
        Err(error @ StoreError::NotAuthenticated(_)) => {
            logins.failed(username, client);
            Err(error.into())
        }
        Err(error) => Err(error.into()),
    }
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
