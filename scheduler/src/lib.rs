//! Zentific's scheduler: it runs the jobs the XML-RPC backend records, the recurring
//! schedules and the event triggers, and dispatches each action to a node through its
//! transport ([`dispatch::Dispatcher`]).

pub mod dispatch;
