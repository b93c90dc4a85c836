//! Shared harness for the scheduler's end-to-end tests (and, through `#[path]`, the
//! workspace's `tests/ssh_node.rs`: each uses part of it).

#[allow(dead_code)]
pub mod sshd;
