//! The API namespaces. Each file owns one namespace: its method table (name, help,
//! parameters, access) and handlers that parse values, call one store operation, and
//! build the answer.

mod audit;
mod config;
pub(crate) mod event;
mod job;
mod module;
mod node;
mod schedule;
mod session;
mod stats;
mod storage;
mod system;
mod trigger;
mod user;
mod vm;

use crate::registry::Method;

/// Every method of the API.
pub fn methods() -> Vec<Method> {
    [
        session::METHODS,
        user::METHODS,
        node::METHODS,
        vm::METHODS,
        storage::METHODS,
        config::METHODS,
        job::METHODS,
        schedule::METHODS,
        trigger::METHODS,
        stats::METHODS,
        audit::METHODS,
        event::METHODS,
        module::METHODS,
        system::METHODS,
    ]
    .concat()
}
