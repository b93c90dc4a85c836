//! Sessions: logging in turns a user's credentials into a bearer token; every later call
//! presents the token and becomes a [`Caller`].
//!
//! Only the SHA-256 of a token is stored, so a copy of the database does not hold live
//! tokens. Tokens expire `session_lifetime_hours` after login (an option, 12 by default:
//! [`SESSION_TTL_SECS`]), and after `session_idle_minutes` without a call where that
//! option is set.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Permission, Role, Store, StoreError};

/// How long a session token stays valid after login by default, in seconds.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

/// Who is asking: the authenticated user behind a request, or the server itself.
///
/// Only the store makes callers — from a session token ([`Store::caller_for_token`]), a
/// login, or [`Caller::system`] for the server's own start-up work — so an operation that
/// takes a `Caller` knows it stands for a real, current identity. Every store operation on
/// a user-visible object takes one and decides there what it may see and do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub(crate) user_id: i32,
    pub(crate) username: String,
    pub(crate) role: Role,
}

/// The user id of [`Caller::system`]; no row has it, and its audit entries say "system".
const SYSTEM_USER_ID: i32 = 0;

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Admin => 3,
            Role::Operator => 2,
            Role::User => 1,
        }
    }
}

impl Caller {
    /// The server acting on its own behalf at start-up (the demo node, the first admin):
    /// role admin, recorded as "system" in the audit log. Never made from a request.
    pub fn system() -> Caller {
        Caller {
            user_id: SYSTEM_USER_ID,
            username: "system".into(),
            role: Role::Admin,
        }
    }

    /// Whether this is [`Caller::system`].
    pub fn is_system(&self) -> bool {
        self.user_id == SYSTEM_USER_ID
    }

    /// The user id to record as author (jobs, audit): `None` for [`Caller::system`].
    pub(crate) fn author_id(&self) -> Option<i32> {
        (!self.is_system()).then_some(self.user_id)
    }

    /// The user's id.
    pub fn user_id(&self) -> i32 {
        self.user_id
    }

    /// The user's login name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the caller's role is `role` or above (admin > operator > user).
    pub fn has_role(&self, role: Role) -> bool {
        self.role.rank() >= role.rank()
    }

    /// Fail with [`StoreError::NotPermitted`] unless the caller has `role` or above.
    pub fn require_role(&self, role: Role, what: &str) -> Result<(), StoreError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(StoreError::NotPermitted(format!(
                "{what} needs the {role} role; user '{}' is {}",
                self.username, self.role
            )))
        }
    }

    /// Whether the caller sees every VM without grants (admins and operators).
    pub fn sees_all_vms(&self) -> bool {
        self.has_role(Role::Operator)
    }

    /// The error for a VM permission the caller lacks.
    pub(crate) fn lacks(&self, vm_id: i32, permission: Permission) -> StoreError {
        StoreError::NotPermitted(format!(
            "user '{}' lacks the '{permission}' permission on VM {vm_id}",
            self.username
        ))
    }
}

/// A fresh random token: 32 bytes, hex-encoded.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database stores for a token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Check a user's credentials and open a session; returns the token.
    ///
    /// Wrong name, wrong password and a disabled account all give the same
    /// [`StoreError::NotAuthenticated`], so the answer does not reveal which names exist.
    pub fn login(&self, username: &str, password: &str) -> Result<(String, Caller), StoreError> {
        let found = self.read(|conn| crate::ops::users::login_record(conn, username))?;
        let refused = || {
            StoreError::NotAuthenticated(
                "wrong user name or password, or the account is disabled".into(),
            )
        };
        let Some((caller, hash, disabled)) = found else {
            crate::users::burn_verify_time(password);
            return Err(refused());
        };
        if !crate::users::verify_password(password, &hash) || disabled {
            return Err(refused());
        }
        let token = new_token();
        let options = self.global_options()?;
        let lifetime = options.session_lifetime_hours * 3600;
        let idle = options.session_idle_minutes * 60;
        self.write(|conn| {
            crate::ops::sessions::create(conn, &caller, &token_hash(&token), lifetime, idle)
        })?;
        Ok((token, caller))
    }

    /// End the session behind `token`.
    pub fn logout(&self, token: &str) -> Result<(), StoreError> {
        self.write(|conn| crate::ops::sessions::delete(conn, &token_hash(token)))
    }

    /// The caller a token belongs to; [`StoreError::NotAuthenticated`] when the token is
    /// unknown, expired, or its user is disabled.
    pub fn caller_for_token(&self, token: &str) -> Result<Caller, StoreError> {
        if token.len() != 64 {
            return Err(StoreError::NotAuthenticated(
                "a valid session token is needed as the first parameter; call session.login".into(),
            ));
        }
        let hash = token_hash(token);
        let now = crate::now();
        let (caller, stale) = self
            .read(|conn| crate::ops::sessions::caller(conn, &hash, now))?
            .ok_or_else(|| {
                StoreError::NotAuthenticated(
                    "the session token is unknown, expired or idle too long; call session.login again"
                        .into(),
                )
            })?;
        if stale {
            self.write(|conn| crate::ops::sessions::touch(conn, &hash, now))?;
        }
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        let op = Caller {
            user_id: 1,
            username: "o".into(),
            role: Role::Operator,
        };
        assert!(op.has_role(Role::User));
        assert!(op.has_role(Role::Operator));
        assert!(!op.has_role(Role::Admin));
        assert!(op.require_role(Role::Admin, "x").is_err());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
