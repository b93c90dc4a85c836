//! The store's error type: one variant per way an operation can fail.

/// Why a store operation failed. The message is meant for the person who made the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A value broke a rule; `field` names the parameter or member.
    #[error("invalid value for '{field}': {rule}")]
    Invalid {
        /// The parameter or member.
        field: String,
        /// The rule it broke, and the value where useful.
        rule: String,
    },
    /// The object does not exist (or the caller may not know it exists).
    #[error("no {kind} with {key}")]
    NotFound {
        /// What was looked for (`VM`, `user`, …).
        kind: &'static str,
        /// How it was named (`id 7`).
        key: String,
    },
    /// A name is taken or a concurrent change won.
    #[error("{0}")]
    Conflict(String),
    /// A global limit or a user's quota would be exceeded.
    #[error("{0}")]
    OverLimit(String),
    /// The object is in the wrong state for the action.
    #[error("{0}")]
    WrongState(String),
    /// The caller's role or grants do not allow the action.
    #[error("{0}")]
    NotPermitted(String),
    /// Credentials or token are missing, wrong or expired.
    #[error("{0}")]
    NotAuthenticated(String),
    /// The database answered with an error the operation did not expect.
    #[error("database error")]
    Database(#[from] diesel::result::Error),
    /// No connection could be taken from the pool in time.
    #[error("database connection pool error")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The database URL could not be opened.
    #[error("cannot open database {url}: {reason}")]
    Open {
        /// The URL, password removed.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Migrations could not be applied.
    #[error("cannot apply database migrations: {0}")]
    Migration(String),
}

/// The fault codes of the public API (README, docs/api.md), defined once: the XML-RPC
/// edge answers with them, and the scheduler records them on failed jobs.
pub mod fault_code {
    /// The request is not well-formed XML.
    pub const NOT_WELL_FORMED: i32 = -32700;
    /// Well-formed, but not an XML-RPC call.
    pub const INVALID_REQUEST: i32 = -32600;
    /// No such method.
    pub const NO_SUCH_METHOD: i32 = -32601;
    /// Wrong number or types of parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal error; the faultString quotes a correlation id found in the server log.
    pub const INTERNAL: i32 = -32603;
    /// Not authenticated.
    pub const NOT_AUTHENTICATED: i32 = 1;
    /// Not permitted: the caller sees the object but may not do this.
    pub const NOT_PERMITTED: i32 = 2;
    /// No such object, or one the caller may not see.
    pub const NOT_FOUND: i32 = 3;
    /// Invalid value.
    pub const INVALID_VALUE: i32 = 4;
    /// Wrong state for the action.
    pub const WRONG_STATE: i32 = 5;
    /// Over quota or a global limit.
    pub const OVER_LIMIT: i32 = 6;
    /// Node or hypervisor unreachable.
    pub const UNREACHABLE: i32 = 7;
    /// Conflict.
    pub const CONFLICT: i32 = 8;
}

impl StoreError {
    /// The API fault code this error is answered with ([`fault_code::INTERNAL`] for
    /// database and pool failures, whose details stay in the server log).
    pub fn fault_code(&self) -> i32 {
        use fault_code::*;
        match self {
            StoreError::Invalid { .. } => INVALID_VALUE,
            StoreError::NotFound { .. } => NOT_FOUND,
            StoreError::Conflict(_) => CONFLICT,
            StoreError::OverLimit(_) => OVER_LIMIT,
            StoreError::WrongState(_) => WRONG_STATE,
            StoreError::NotPermitted(_) => NOT_PERMITTED,
            StoreError::NotAuthenticated(_) => NOT_AUTHENTICATED,
            StoreError::Database(_)
            | StoreError::Pool(_)
            | StoreError::Open { .. }
            | StoreError::Migration(_) => INTERNAL,
        }
    }

    /// Shorthand for [`StoreError::Invalid`].
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        StoreError::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// Shorthand for [`StoreError::NotFound`] keyed by a numeric id.
    pub fn not_found(kind: &'static str, id: i32) -> Self {
        StoreError::NotFound {
            kind,
            key: format!("id {id}"),
        }
    }
}

/// Map a uniqueness violation that slipped past an explicit check (a concurrent insert)
/// to [`StoreError::Conflict`]; every other database error stays what it is.
pub(crate) fn conflict_on_unique(err: diesel::result::Error, what: &str) -> StoreError {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            StoreError::Conflict(format!("{what} is already taken"))
        }
        other => StoreError::Database(other),
    }
}
