//! Fault codes of the public API (DESIGN.md) and the one place store errors become faults.

use dxr::Fault;
use zentific_sql::StoreError;

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
/// Not permitted.
pub const NOT_PERMITTED: i32 = 2;
/// No such object.
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

/// A fault with a code and a sentence.
pub fn fault(code: i32, message: impl Into<String>) -> Fault {
    Fault::new(code, message.into())
}

/// A -32602 fault.
pub fn invalid_params(message: impl Into<String>) -> Fault {
    fault(INVALID_PARAMS, message)
}

/// A fault 4 naming the field and the rule.
pub fn invalid_value(field: &str, rule: impl std::fmt::Display) -> Fault {
    fault(
        INVALID_VALUE,
        format!("invalid value for '{field}': {rule}"),
    )
}

/// An internal error: logged in full with a fresh correlation id, answered with the id only.
pub fn internal(error: &dyn std::error::Error) -> Fault {
    let id = format!("{:016x}", rand::random::<u64>());
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(correlation_id = %id, "internal error: {chain}");
    fault(
        INTERNAL,
        format!("internal server error; the server log has the details under correlation id {id}"),
    )
}

/// Turn a store error into the fault the API promises for it.
pub fn from_store(error: StoreError) -> Fault {
    let code = match &error {
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
        | StoreError::Migration(_) => {
            return internal(&error);
        }
    };
    fault(code, error.to_string())
}
