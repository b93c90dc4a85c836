//! The audit log: who did what to which object, written in the same transaction as the
//! change it describes (see `ops/audit.rs`).

use diesel::prelude::*;

use crate::schema::audit_log;
use crate::{Caller, Role, Store, StoreError, validate};

/// One line of the audit log.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// Row id, increasing with time.
    pub id: i32,
    /// When (Unix seconds).
    pub at: i64,
    /// The acting user, if still present.
    pub user_id: Option<i32>,
    /// The acting user's name at the time (kept after the user is deleted).
    pub username: String,
    /// The API method or command, e.g. `vm.pause`.
    pub action: String,
    /// `vm`, `node`, `user`, `config`, …
    pub target_kind: String,
    /// The object's id, where it has one.
    pub target_id: Option<i32>,
    /// What changed, in words.
    pub detail: String,
}

/// Filters of `audit.list`; `None` matches all.
#[derive(Clone, Debug)]
pub struct AuditFilter {
    /// Only what this user did.
    pub user: Option<i32>,
    /// Only entries about this kind of object (`vm`, `node`, `user`, `config`, …).
    pub target_kind: Option<String>,
    /// Only entries about the object with this id.
    pub target: Option<i32>,
    /// Only entries from this time on (Unix seconds).
    pub since: Option<i64>,
    /// At most this many (1–10,000), newest first.
    pub limit: i64,
}

impl Store {
    /// The whole audit log, filtered, newest first (admins only).
    pub fn list_audit(
        &self,
        actor: &Caller,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        actor.require_role(Role::Admin, "reading the audit log")?;
        validate::range("limit", filter.limit, 1, 10_000)?;
        if let Some(kind) = &filter.target_kind {
            validate::name("target_kind", kind)?;
        }
        self.read(|conn| crate::ops::audit::list(conn, filter))
    }

    /// The audit entries about one object, newest first, at most `limit`.
    pub(crate) fn audit_for(
        &self,
        target_kind: &str,
        target_id: i32,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|conn| crate::ops::audit::for_target(conn, target_kind, target_id, limit))
    }
}
