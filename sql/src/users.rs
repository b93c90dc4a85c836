//! Users, their passwords (argon2id), per-VM grants and quotas.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;

use crate::{Caller, Permission, Role, Store, StoreError, validate};

/// A user as the API shows it (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i32,
    /// Login name, unique.
    pub username: String,
    /// E-mail address, or empty.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Preferred language tag (`en`, `de`, …).
    pub language: String,
    /// A disabled user cannot log in; their sessions end when they are disabled.
    pub disabled: bool,
    /// When the account was created (Unix seconds).
    pub created_at: i64,
}

/// What `user.create` takes.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Login name: letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    /// E-mail address, or empty.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Language tag; `None` takes the "default language" global option.
    pub language: Option<String>,
}

/// What `user.update` may change; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    /// New e-mail address (users may change their own).
    pub email: Option<String>,
    /// New role (admins only).
    pub role: Option<Role>,
    /// New language (users may change their own).
    pub language: Option<String>,
    /// Disable or enable the account (admins only).
    pub disabled: Option<bool>,
}

/// A grant in force on a VM ([`Store::grants_on`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmGrant {
    /// Who holds it.
    pub user: i32,
    /// Their user name.
    pub username: String,
    /// What it allows.
    pub permission: Permission,
    /// When it lapses (Unix seconds), if ever.
    pub until: Option<i64>,
}

/// Upper bounds on what one user may own; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Number of VMs.
    pub vms: Option<i32>,
    /// Sum of the VMs' memory, in KiB.
    pub memory_kb: Option<i64>,
    /// Sum of the VMs' vCPUs.
    pub vcpus: Option<i32>,
}

/// Hash a password with argon2id and a random salt, in PHC string form.
pub(crate) fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::encode_b64(&rand::rng().random::<[u8; 16]>())
        .map_err(|e| StoreError::invalid("password", e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::invalid("password", e.to_string()))
}

/// Whether `password` matches a stored PHC hash.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spend the time a real verification takes, so that an unknown user name answers no
/// faster than a wrong password.
pub(crate) fn burn_verify_time(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// A random password for `user.resetPassword`: 16 characters without look-alikes.
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A grant or revoke must name at least one permission.
fn require_some(perms: &[Permission]) -> Result<(), StoreError> {
    if perms.is_empty() {
        let words: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        return Err(StoreError::invalid(
            "permissions",
            format!("list at least one of {}", words.join(", ")),
        ));
    }
    Ok(())
}

impl NewUser {
    /// Check every field; returns the user with its language in the stored form.
    fn validated(&self) -> Result<NewUser, StoreError> {
        validate::name("username", &self.username)?;
        validate::password("password", &self.password)?;
        validate::email("email", &self.email)?;
        let language = self
            .language
            .as_deref()
            .map(|l| validate::language("language", l))
            .transpose()?;
        Ok(NewUser {
            language,
            ..self.clone()
        })
    }
}

impl UserUpdate {
    /// Check every field; returns the update with its language in the stored form.
    fn validated(&self) -> Result<UserUpdate, StoreError> {
        if let Some(email) = &self.email {
            validate::email("email", email)?;
        }
        let language = self
            .language
            .as_deref()
            .map(|l| validate::language("language", l))
            .transpose()?;
        Ok(UserUpdate {
            language,
            ..self.clone()
        })
    }

    /// Whether the update touches only what users may change about themselves.
    fn is_self_service(&self) -> bool {
        self.role.is_none() && self.disabled.is_none()
    }
}

impl Store {
    /// Create a user; `actor` is `None` for the command line and first start.
    pub fn create_user(&self, actor: Option<&Caller>, new: &NewUser) -> Result<i32, StoreError> {
        if let Some(actor) = actor {
            actor.require_role(Role::Admin, "creating users")?;
        }
        let new = new.validated()?;
        let hash = hash_password(&new.password)?;
        self.write(|conn| crate::ops::users::create(conn, actor, &new, &hash))
    }

    /// Every user (admins and operators), or just the caller (users).
    pub fn list_users(&self, actor: &Caller) -> Result<Vec<User>, StoreError> {
        let only = (!actor.sees_all_vms()).then_some(actor.user_id);
        self.read(|conn| crate::ops::users::list(conn, only))
    }

    /// One user; users may only read themselves.
    pub fn get_user(&self, actor: &Caller, id: i32) -> Result<User, StoreError> {
        if !actor.sees_all_vms() && actor.user_id != id {
            return Err(StoreError::NotPermitted(
                "users may only read their own account".into(),
            ));
        }
        self.read(|conn| crate::ops::users::get(conn, id))
    }

    /// The user with this login name, if any.
    pub fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.read(|conn| crate::ops::users::find(conn, username))
    }

    /// How many users exist.
    pub fn user_count(&self) -> Result<i64, StoreError> {
        self.read(crate::ops::users::count)
    }

    /// Change a user's e-mail, role, language or disabled flag. Users may change their
    /// own e-mail and language; everything else needs an admin.
    pub fn update_user(
        &self,
        actor: &Caller,
        id: i32,
        update: &UserUpdate,
    ) -> Result<(), StoreError> {
        if !(actor.user_id == id && update.is_self_service()) {
            actor.require_role(
                Role::Admin,
                "changing another user or a role or disabled flag",
            )?;
        }
        let update = update.validated()?;
        self.write(|conn| crate::ops::users::update(conn, actor, id, &update))
    }

    /// Delete a user, their sessions, grants and quota; their VMs lose their owner.
    pub fn delete_user(&self, actor: &Caller, id: i32) -> Result<(), StoreError> {
        actor.require_role(Role::Admin, "deleting users")?;
        if actor.user_id == id {
            return Err(StoreError::Conflict(
                "you cannot delete your own account".into(),
            ));
        }
        self.write(|conn| crate::ops::users::delete(conn, actor, id))
    }

    /// Set a password; users may set their own, admins anyone's. Ends the user's other
    /// sessions (all of them, when an admin sets another user's password).
    pub fn set_password(
        &self,
        actor: Option<&Caller>,
        id: i32,
        password: &str,
    ) -> Result<(), StoreError> {
        if let Some(actor) = actor.filter(|a| a.user_id != id) {
            actor.require_role(Role::Admin, "setting another user's password")?;
        }
        validate::password("password", password)?;
        let hash = hash_password(password)?;
        self.write(|conn| crate::ops::users::set_password(conn, actor, id, &hash))
    }

    /// Replace a user's password with a random one and return it (admins only).
    pub fn reset_password(&self, actor: &Caller, id: i32) -> Result<String, StoreError> {
        actor.require_role(Role::Admin, "resetting passwords")?;
        let password = random_password();
        let hash = hash_password(&password)?;
        self.write(|conn| crate::ops::users::set_password(conn, Some(actor), id, &hash))?;
        Ok(password)
    }

    /// Give `user` the listed permissions on `vm`, until `until` (Unix seconds) or for
    /// good. Needs the admin role, ownership of the VM or an `admin` grant on it (operators
    /// hold none by their role); nobody grants to themselves. A grant lasts while its
    /// granter keeps that right: demoting, deleting or revoking the granter revokes it.
    pub fn grant(
        &self,
        actor: &Caller,
        user: i32,
        vm: i32,
        perms: &[Permission],
        until: Option<i64>,
    ) -> Result<(), StoreError> {
        require_some(perms)?;
        if let Some(until) = until
            && until <= crate::now()
        {
            return Err(StoreError::invalid(
                "until",
                format!("must be in the future; got {}", validate::utc(until)),
            ));
        }
        self.write(|conn| crate::ops::users::grant(conn, actor, user, vm, perms, until))
    }

    /// Remove the grants whose time ran out, auditing each, and those that depended on
    /// them; run by the scheduler's housekeeping. Returns how many lapsed.
    pub fn expire_grants(&self, now: i64) -> Result<usize, StoreError> {
        self.write(|conn| crate::ops::users::expire_grants(conn, now))
    }

    /// Take the listed permissions on `vm` away from `user`.
    pub fn revoke(
        &self,
        actor: &Caller,
        user: i32,
        vm: i32,
        perms: &[Permission],
    ) -> Result<(), StoreError> {
        require_some(perms)?;
        self.write(|conn| crate::ops::users::revoke(conn, actor, user, vm, perms))
    }

    /// The grants in force `user` holds, as (VM id, permission, expiry) triples.
    pub fn grants_of(
        &self,
        actor: &Caller,
        user: i32,
    ) -> Result<Vec<(i32, Permission, Option<i64>)>, StoreError> {
        if !actor.sees_all_vms() && actor.user_id != user {
            return Err(StoreError::NotPermitted(
                "users may only read their own grants".into(),
            ));
        }
        self.read(|conn| crate::ops::users::grants_of(conn, user))
    }

    /// The grants in force on `vm` (needs `admin` on it), by user name.
    pub fn grants_on(&self, actor: &Caller, vm: i32) -> Result<Vec<VmGrant>, StoreError> {
        self.read(|conn| {
            crate::ops::vms::require(conn, actor, vm, Permission::Admin)?;
            crate::ops::users::grants_on(conn, vm)
        })
    }

    /// Set a user's quota (admins only); negative bounds are refused, `None` is unlimited.
    pub fn set_quota(&self, actor: &Caller, user: i32, quota: &Quota) -> Result<(), StoreError> {
        actor.require_role(Role::Admin, "setting quotas")?;
        if let Some(v) = quota.vms {
            validate::range("vms", v, 0, i32::MAX)?;
        }
        if let Some(v) = quota.memory_kb {
            validate::range("memory_kb", v, 0, i64::MAX)?;
        }
        if let Some(v) = quota.vcpus {
            validate::range("vcpus", v, 0, i32::MAX)?;
        }
        self.write(|conn| crate::ops::users::set_quota(conn, actor, user, quota))
    }

    /// A user's quota (unlimited when never set).
    pub fn quota(&self, actor: &Caller, user: i32) -> Result<Quota, StoreError> {
        if !actor.sees_all_vms() && actor.user_id != user {
            return Err(StoreError::NotPermitted(
                "users may only read their own quota".into(),
            ));
        }
        self.read(|conn| crate::ops::users::quota(conn, user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn random_passwords_pass_validation() {
        let pw = random_password();
        assert!(validate::password("password", &pw).is_ok());
        assert_ne!(pw, random_password());
    }
}
