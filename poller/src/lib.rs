//! `zentific-poller`: the one program Zentific installs on a node.
//!
//! Every interval it reads the node's statistics from a [`source`] (libxenstat on a Xen
//! dom0, libvirt, or a synthetic one), stamps them into a [`sample`], and pushes the sample
//! to the backend with `stats.push` ([`xmlrpc`] over [`http`]), as `docs/poller-protocol.md`
//! specifies. While the backend is unreachable samples wait in the [`spool`]; the
//! [`daemon`] loop replays them oldest first when it answers again. [`config`] reads the
//! command line and the config file; [`json`] prints a sample for `--once`.
//!
//! The crate stays small on purpose: no async runtime, no server crates, and hand-written
//! HTTP, XML-RPC, JSON and config parsing, so the binary links nothing wider than libc and
//! Xen's own libraries. The one shared piece is Zentific's module loader, for collector
//! modules ([`collectors`], the `modules` feature).

#[cfg(feature = "modules")]
pub mod collectors;
pub mod config;
pub mod daemon;
pub mod encode;
pub mod http;
pub mod json;
pub mod log;
pub mod sample;
pub mod signals;
pub mod source;
pub mod spool;
pub mod xmlrpc;
