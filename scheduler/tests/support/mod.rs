//! Shared harness for the scheduler's end-to-end tests.

pub mod sshd;
