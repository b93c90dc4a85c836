//! Faults: the one place store errors become faults ([`ApiFault`]'s `From`), and the
//! helpers handlers build their own with. The codes are defined once, in
//! `zentific_sql::fault_code`, and re-exported here.

use dxr::Fault;
use zentific_sql::StoreError;
pub use zentific_sql::fault_code::*;

/// The longest faultString sent: a last guard against echoing a caller's huge value
/// (messages quote values cut to 100 characters already).
const MAX_FAULT_CHARS: usize = 1000;

/// A fault with a code and a sentence.
pub fn fault(code: i32, message: impl Into<String>) -> Fault {
    let message = message.into();
    Fault::new(code, crate::registry::truncate(&message, MAX_FAULT_CHARS))
}

/// A caller's text as a message quotes it: at most 100 characters.
pub fn shown(text: &str) -> String {
    crate::registry::truncate(text, 100)
}

/// What a handler fails with: `?` turns both a [`StoreError`] (through [`from_store`])
/// and a ready [`Fault`] into it.
#[derive(Debug)]
pub struct ApiFault(pub Fault);

impl From<Fault> for ApiFault {
    fn from(fault: Fault) -> Self {
        ApiFault(fault)
    }
}

impl From<StoreError> for ApiFault {
    fn from(error: StoreError) -> Self {
        ApiFault(from_store(error))
    }
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
    match error.fault_code() {
        INTERNAL => internal(&error),
        code => fault(code, error.to_string()),
    }
}
