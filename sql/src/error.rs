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

impl StoreError {
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
