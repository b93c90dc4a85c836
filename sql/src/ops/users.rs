//! User, grant and quota queries.

use crate::db::Conn;
use diesel::prelude::*;

use crate::schema::{options, quotas, sessions, users, vm_grants, vms};
use crate::{Caller, NewUser, Permission, Quota, Role, StoreError, User, UserUpdate, VmGrant};

macro_rules! user_columns {
    () => {
        (
            users::id,
            users::username,
            users::email,
            users::role,
            users::language,
            users::disabled,
            users::created_at,
        )
    };
}
type UserRow = (i32, String, String, String, String, bool, i64);

fn to_user(row: UserRow) -> Result<User, StoreError> {
    let (id, username, email, role, language, disabled, created_at) = row;
    Ok(User {
        id,
        username,
        email,
        role: Role::parse(&role, "role")?,
        language,
        disabled,
        created_at,
    })
}

pub(crate) fn login_record(
    conn: &mut Conn,
    username: &str,
) -> Result<Option<(Caller, String, bool)>, StoreError> {
    let row: Option<(i32, String, String, String, bool)> = users::table
        .filter(users::username.eq(username))
        .select((
            users::id,
            users::username,
            users::role,
            users::password_hash,
            users::disabled,
        ))
        .first(conn)
        .optional()?;
    row.map(|(user_id, username, role, hash, disabled)| {
        Ok((
            Caller {
                user_id,
                username,
                role: Role::parse(&role, "role")?,
            },
            hash,
            disabled,
        ))
    })
    .transpose()
}

/// Fail with NotFound unless the user exists.
/// The user `id` as a caller, unless deleted or disabled (for re-checking the rights of
/// whoever set up recurring work).
pub(crate) fn active_caller(conn: &mut Conn, id: i32) -> Result<Option<Caller>, StoreError> {
    let row: Option<(String, String, bool)> = users::table
        .find(id)
        .select((users::username, users::role, users::disabled))
        .first(conn)
        .optional()?;
    match row {
        Some((username, role, false)) => Ok(Some(Caller {
            user_id: id,
            username,
            role: Role::parse(&role, "role")?,
        })),
        _ => Ok(None),
    }
}

pub(crate) fn require(conn: &mut Conn, id: i32) -> Result<User, StoreError> {
    get(conn, id)
}

pub(crate) fn create(
    conn: &mut Conn,
    actor: Option<&Caller>,
    new: &NewUser,
    hash: &str,
) -> Result<i32, StoreError> {
    if find(conn, &new.username)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "the user name '{}' is already taken",
            new.username
        )));
    }
    let language = match &new.language {
        Some(language) => language.clone(),
        None => options::table
            .find("default_language")
            .select(options::value)
            .first::<String>(conn)
            .optional()?
            .unwrap_or_else(|| "en".into()),
    };
    let id: i32 = diesel::insert_into(users::table)
        .values((
            users::username.eq(&new.username),
            users::password_hash.eq(hash),
            users::email.eq(&new.email),
            users::role.eq(new.role.as_str()),
            users::language.eq(&language),
            users::disabled.eq(false),
            users::created_at.eq(crate::now()),
        ))
        .returning(users::id)
        .get_result(conn)
        .map_err(|e| crate::error::conflict_on_unique(e, "the user name"))?;
    super::audit::record(
        conn,
        actor,
        "user.create",
        "user",
        Some(id),
        &format!("created user '{}' with role {}", new.username, new.role),
    )?;
    Ok(id)
}

pub(crate) fn list(conn: &mut Conn, only: Option<i32>) -> Result<Vec<User>, StoreError> {
    let mut query = users::table
        .select(user_columns!())
        .order(users::id)
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(users::id.eq(id));
    }
    query
        .load::<UserRow>(conn)?
        .into_iter()
        .map(to_user)
        .collect()
}

pub(crate) fn get(conn: &mut Conn, id: i32) -> Result<User, StoreError> {
    let row: Option<UserRow> = users::table
        .find(id)
        .select(user_columns!())
        .first(conn)
        .optional()?;
    to_user(row.ok_or_else(|| StoreError::not_found("user", id))?)
}

pub(crate) fn find(conn: &mut Conn, username: &str) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> = users::table
        .filter(users::username.eq(username))
        .select(user_columns!())
        .first(conn)
        .optional()?;
    row.map(to_user).transpose()
}

pub(crate) fn count(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(users::table.count().get_result(conn)?)
}

/// Refuse a change that would leave no enabled admin.
fn keep_an_admin(conn: &mut Conn, losing: i32) -> Result<(), StoreError> {
    let others: i64 = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .filter(users::id.ne(losing))
        .count()
        .get_result(conn)?;
    if others == 0 {
        return Err(StoreError::Conflict(
            "this is the last enabled admin; make another user admin first".into(),
        ));
    }
    Ok(())
}

pub(crate) fn update(
    conn: &mut Conn,
    actor: &Caller,
    id: i32,
    update: &UserUpdate,
) -> Result<(), StoreError> {
    let user = require(conn, id)?;
    let mut changes = Vec::new();
    let demoted = update.role.is_some_and(|r| r != Role::Admin) || update.disabled == Some(true);
    if user.role == Role::Admin && !user.disabled && demoted {
        keep_an_admin(conn, id)?;
    }
    if let Some(email) = &update.email {
        diesel::update(users::table.find(id))
            .set(users::email.eq(email))
            .execute(conn)?;
        changes.push(format!("email={email}"));
    }
    if let Some(role) = update.role {
        diesel::update(users::table.find(id))
            .set(users::role.eq(role.as_str()))
            .execute(conn)?;
        changes.push(format!("role={role}"));
    }
    if let Some(language) = &update.language {
        diesel::update(users::table.find(id))
            .set(users::language.eq(language))
            .execute(conn)?;
        changes.push(format!("language={language}"));
    }
    if let Some(disabled) = update.disabled {
        diesel::update(users::table.find(id))
            .set(users::disabled.eq(disabled))
            .execute(conn)?;
        if disabled {
            diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
        }
        changes.push(format!("disabled={disabled}"));
    }
    if changes.is_empty() {
        return Err(StoreError::invalid(
            "changes",
            "give at least one of email, role, language, disabled",
        ));
    }
    super::audit::record(
        conn,
        Some(actor),
        "user.update",
        "user",
        Some(id),
        &changes.join(", "),
    )?;
    // Grants the user made with a role they no longer hold go with it.
    if update.role.is_some() {
        prune_grants(conn, crate::now())?;
    }
    Ok(())
}

pub(crate) fn delete(conn: &mut Conn, actor: &Caller, id: i32) -> Result<(), StoreError> {
    let user = require(conn, id)?;
    if user.role == Role::Admin && !user.disabled {
        keep_an_admin(conn, id)?;
    }
    diesel::delete(users::table.find(id)).execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "user.delete",
        "user",
        Some(id),
        &format!("deleted user '{}'", user.username),
    )?;
    prune_grants(conn, crate::now()).map(|_| ())
}

pub(crate) fn set_password(
    conn: &mut Conn,
    actor: Option<&Caller>,
    id: i32,
    hash: &str,
) -> Result<(), StoreError> {
    require(conn, id)?;
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
    super::audit::record(
        conn,
        actor,
        "user.setPassword",
        "user",
        Some(id),
        "password changed; sessions ended",
    )
}

pub(crate) fn grant(
    conn: &mut Conn,
    actor: &Caller,
    user: i32,
    vm: i32,
    perms: &[Permission],
    until: Option<i64>,
) -> Result<(), StoreError> {
    super::vms::require(conn, actor, vm, Permission::Admin)?;
    if user == actor.user_id {
        return Err(StoreError::NotPermitted(
            "nobody grants permissions to themselves; ask an admin or the VM's owner".into(),
        ));
    }
    require(conn, user)?;
    for perm in perms {
        // A repeated grant replaces the old one, expiry and granter included.
        delete_grant(conn, user, vm, perm.as_str())?;
        diesel::insert_into(vm_grants::table)
            .values((
                vm_grants::user_id.eq(user),
                vm_grants::vm_id.eq(vm),
                vm_grants::permission.eq(perm.as_str()),
                vm_grants::granted_by.eq(actor.author_id()),
                vm_grants::expires_at.eq(until),
            ))
            .execute(conn)?;
    }
    let list: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    let until = until.map_or(String::new(), |t| {
        format!(" until {}", crate::validate::utc(t))
    });
    super::audit::record(
        conn,
        Some(actor),
        "user.grant",
        "vm",
        Some(vm),
        &format!("granted {} to user {user}{until}", list.join(",")),
    )
}

/// Remove one grant row.
fn delete_grant(conn: &mut Conn, user: i32, vm: i32, permission: &str) -> Result<(), StoreError> {
    diesel::delete(
        vm_grants::table
            .filter(vm_grants::user_id.eq(user))
            .filter(vm_grants::vm_id.eq(vm))
            .filter(vm_grants::permission.eq(permission)),
    )
    .execute(conn)?;
    Ok(())
}

/// Whether user `granter` may grant on `vm` today: an admin, the VM's owner, or the
/// holder of an `admin` grant in force on it.
fn may_grant(conn: &mut Conn, granter: i32, vm: i32, now: i64) -> Result<bool, StoreError> {
    let role: Option<String> = users::table
        .find(granter)
        .select(users::role)
        .first(conn)
        .optional()?;
    match role.as_deref() {
        None => return Ok(false),
        Some(role) if Role::parse(role, "role")? == Role::Admin => return Ok(true),
        Some(_) => {}
    }
    let owner: Option<Option<i32>> = vms::table
        .find(vm)
        .select(vms::owner_id)
        .first(conn)
        .optional()?;
    if owner.flatten() == Some(granter) {
        return Ok(true);
    }
    let admin_grants: i64 = vm_grants::table
        .filter(vm_grants::user_id.eq(granter))
        .filter(vm_grants::vm_id.eq(vm))
        .filter(vm_grants::permission.eq(Permission::Admin.as_str()))
        .filter(super::vms::grant_in_force(now))
        .count()
        .get_result(conn)?;
    Ok(admin_grants > 0)
}

/// Revoke every grant whose granter may no longer grant on its VM (demoted, their own
/// `admin` grant revoked or lapsed), round after round, since each revoked `admin` grant
/// may have been the right behind further grants. Returns how many were revoked.
pub(crate) fn prune_grants(conn: &mut Conn, now: i64) -> Result<usize, StoreError> {
    let mut revoked = 0;
    loop {
        let rows: Vec<(i32, i32, String, Option<i32>)> = vm_grants::table
            .filter(vm_grants::granted_by.is_not_null())
            .select((
                vm_grants::user_id,
                vm_grants::vm_id,
                vm_grants::permission,
                vm_grants::granted_by,
            ))
            .order((vm_grants::vm_id, vm_grants::user_id))
            .load(conn)?;
        let mut checked = std::collections::HashMap::new();
        let mut round = 0;
        for (user, vm, permission, granter) in rows {
            let Some(granter) = granter else { continue };
            let allowed = match checked.get(&(granter, vm)) {
                Some(allowed) => *allowed,
                None => {
                    let allowed = may_grant(conn, granter, vm, now)?;
                    checked.insert((granter, vm), allowed);
                    allowed
                }
            };
            if allowed {
                continue;
            }
            delete_grant(conn, user, vm, &permission)?;
            super::audit::record(
                conn,
                None,
                "user.revoke",
                "vm",
                Some(vm),
                &format!(
                    "revoked {permission} from user {user}: user {granter}, who granted it, no longer holds admin on this VM"
                ),
            )?;
            round += 1;
        }
        if round == 0 {
            return Ok(revoked);
        }
        revoked += round;
    }
}

/// Remove grants whose time ran out (auditing each), then the grants that depended on
/// them. Returns how many lapsed.
pub(crate) fn expire_grants(conn: &mut Conn, now: i64) -> Result<usize, StoreError> {
    let lapsed: Vec<(i32, i32, String)> = vm_grants::table
        .filter(vm_grants::expires_at.le(now))
        .select((vm_grants::user_id, vm_grants::vm_id, vm_grants::permission))
        .load(conn)?;
    for (user, vm, permission) in &lapsed {
        delete_grant(conn, *user, *vm, permission)?;
        super::audit::record(
            conn,
            None,
            "user.grantLapsed",
            "vm",
            Some(*vm),
            &format!("the {permission} grant of user {user} lapsed"),
        )?;
    }
    prune_grants(conn, now)?;
    Ok(lapsed.len())
}

pub(crate) fn revoke(
    conn: &mut Conn,
    actor: &Caller,
    user: i32,
    vm: i32,
    perms: &[Permission],
) -> Result<(), StoreError> {
    super::vms::require(conn, actor, vm, Permission::Admin)?;
    require(conn, user)?;
    let words: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    diesel::delete(
        vm_grants::table
            .filter(vm_grants::user_id.eq(user))
            .filter(vm_grants::vm_id.eq(vm))
            .filter(vm_grants::permission.eq_any(&words)),
    )
    .execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "user.revoke",
        "vm",
        Some(vm),
        &format!("revoked {} from user {user}", words.join(",")),
    )?;
    prune_grants(conn, crate::now()).map(|_| ())
}

/// A user's grants in force: (VM id, permission, expiry).
pub(crate) fn grants_of(
    conn: &mut Conn,
    user: i32,
) -> Result<Vec<(i32, Permission, Option<i64>)>, StoreError> {
    require(conn, user)?;
    let rows: Vec<(i32, String, Option<i64>)> = vm_grants::table
        .filter(vm_grants::user_id.eq(user))
        .filter(super::vms::grant_in_force(crate::now()))
        .select((
            vm_grants::vm_id,
            vm_grants::permission,
            vm_grants::expires_at,
        ))
        .order((vm_grants::vm_id, vm_grants::permission))
        .load(conn)?;
    rows.into_iter()
        .map(|(vm, p, until)| Ok((vm, Permission::parse(&p, "permission")?, until)))
        .collect()
}

/// The grants in force on a VM.
pub(crate) fn grants_on(conn: &mut Conn, vm: i32) -> Result<Vec<VmGrant>, StoreError> {
    let rows: Vec<(i32, String, String, Option<i64>)> = vm_grants::table
        .inner_join(users::table.on(users::id.eq(vm_grants::user_id)))
        .filter(vm_grants::vm_id.eq(vm))
        .filter(super::vms::grant_in_force(crate::now()))
        .select((
            vm_grants::user_id,
            users::username,
            vm_grants::permission,
            vm_grants::expires_at,
        ))
        .order((users::username, vm_grants::permission))
        .load(conn)?;
    rows.into_iter()
        .map(|(user, username, p, until)| {
            Ok(VmGrant {
                user,
                username,
                permission: Permission::parse(&p, "permission")?,
                until,
            })
        })
        .collect()
}

pub(crate) fn set_quota(
    conn: &mut Conn,
    actor: &Caller,
    user: i32,
    quota: &Quota,
) -> Result<(), StoreError> {
    require(conn, user)?;
    diesel::delete(quotas::table.find(user)).execute(conn)?;
    diesel::insert_into(quotas::table)
        .values((
            quotas::user_id.eq(user),
            quotas::max_vms.eq(quota.vms),
            quotas::max_memory_kb.eq(quota.memory_kb),
            quotas::max_vcpus.eq(quota.vcpus),
        ))
        .execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "user.setQuota",
        "user",
        Some(user),
        &format!("{quota:?}"),
    )
}

pub(crate) fn quota(conn: &mut Conn, user: i32) -> Result<Quota, StoreError> {
    require(conn, user)?;
    let row: Option<(Option<i32>, Option<i64>, Option<i32>)> = quotas::table
        .find(user)
        .select((quotas::max_vms, quotas::max_memory_kb, quotas::max_vcpus))
        .first(conn)
        .optional()?;
    Ok(row
        .map(|(vms, memory_kb, vcpus)| Quota {
            vms,
            memory_kb,
            vcpus,
        })
        .unwrap_or_default())
}
