//! Zentific's scheduler: it runs the jobs the XML-RPC backend records, the recurring
//! schedules and the event triggers ([`engine`]), and dispatches each action to a node
//! through its transport ([`dispatch::Dispatcher`]: libvirt, SSH with `xl`, XenAPI).

pub mod dispatch;
pub mod engine;
pub mod sampling;

pub use engine::{EngineHandle, EngineSettings, start};
