//! The audit log: who did what to which object, written in the same transaction as the
//! change it describes (see `ops/audit.rs`).

use diesel::prelude::*;

use crate::schema::audit_log;
use crate::{Store, StoreError};

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

impl Store {
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
