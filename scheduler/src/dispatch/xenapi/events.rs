//! The event watcher: a thread looping on `event.from(session, ["vm"], token, timeout)`
//! and turning VM power-state changes into [`DomainEvent`]s.
//!
//! `event.from` blocks until something in the subscribed classes changed after `token`,
//! or until `timeout` seconds passed, and answers `{events, valid_ref_counts, token}`;
//! each event carries the object's `ref`, its `operation` (`add`, `mod`, `del`) and a
//! `snapshot` of the whole record. The first call (token `""`) returns every VM; that
//! batch only records the current states. After that, an event reaches the sink when a
//! guest's power state differs from the last one seen, or when a new guest appears.
//! Other field changes, templates, snapshots and the control domain are ignored; `del`
//! events only forget the VM (Zentific's reconciliation notices it is gone).
//!
//! The thread stops when the dispatcher is dropped: it checks a shared flag after every
//! call, so it ends within one `timeout`. `EVENTS_LOST` (xapi dropped events the
//! watcher had not fetched yet) restarts from token `""` and reports the differences.
//! Transport errors are retried with a growing pause, capped at [`MAX_BACKOFF`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dxr::Value;
use zentific_sql::VmState;

use super::rpc::{XapiError, as_text};
use super::session::Session;
use super::vm_record::read_vm_record;
use crate::dispatch::{DomainEvent, EventSink};

/// Longest pause between two attempts after errors.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How much longer than the `event.from` timeout the HTTP exchange may take.
const HTTP_MARGIN: Duration = Duration::from_secs(30);

/// A running watcher's inputs.
pub(super) struct EventWatcher {
    /// The dispatcher's session.
    pub session: Arc<Session>,
    /// Where events go.
    pub sink: EventSink,
    /// Set when the dispatcher is dropped.
    pub stop: Arc<AtomicBool>,
    /// The `event.from` timeout.
    pub poll_timeout: Duration,
}

impl EventWatcher {
    /// Run on a new thread.
    pub(super) fn spawn(self) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("xenapi-events".to_owned())
            .spawn(move || self.run())
            .map(drop)
    }

    fn run(self) {
        let mut token = String::new();
        let mut known: HashMap<String, VmState> = HashMap::new();
        let mut seeded = false;
        let mut backoff = Duration::from_secs(1);
        let args_timeout = Value::Double(self.poll_timeout.as_secs_f64());
        let http_timeout = self.poll_timeout + HTTP_MARGIN;
        while !self.stopped() {
            let args = [
                Value::Array(vec![Value::String("vm".to_owned())]),
                Value::String(token.clone()),
                args_timeout.clone(),
            ];
            match self.session.call("event.from", &args, http_timeout) {
                Ok(batch) => {
                    if self.stopped() {
                        break;
                    }
                    match read_batch(&batch) {
                        Ok((events, next_token)) => {
                            for event in events {
                                if let Some(change) = apply(&mut known, event, seeded) {
                                    (self.sink)(change);
                                }
                            }
                            token = next_token;
                            seeded = true;
                            backoff = Duration::from_secs(1);
                        }
                        Err(message) => {
                            tracing::warn!(endpoint = self.session.endpoint(), %message,
                                "unreadable event.from answer");
                            self.pause(&mut backoff);
                        }
                    }
                }
                Err(error) if error.is("EVENTS_LOST") => {
                    tracing::info!(
                        endpoint = self.session.endpoint(),
                        "xapi dropped events; re-reading every VM"
                    );
                    token.clear();
                }
                Err(error) => {
                    if self.stopped() {
                        break;
                    }
                    log_error(&self.session, &error);
                    self.pause(&mut backoff);
                }
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Wait `backoff` (in short steps, to notice the stop flag) and double it.
    fn pause(&self, backoff: &mut Duration) {
        let until = Instant::now() + *backoff;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::park_timeout(left.min(Duration::from_millis(200)));
        }
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
    }
}

fn log_error(session: &Session, error: &XapiError) {
    match error {
        XapiError::Transport(_) => {
            tracing::debug!(endpoint = session.endpoint(), %error, "event.from failed")
        }
        _ => tracing::warn!(endpoint = session.endpoint(), %error, "event.from failed"),
    }
}

/// One entry of `events`, reduced to what the watcher uses.
#[derive(Debug, PartialEq)]
struct VmEvent<'a> {
    reference: String,
    operation: String,
    snapshot: Option<&'a Value>,
}

/// The VM events of an `event.from` answer and the token to continue from.
fn read_batch(batch: &Value) -> Result<(Vec<VmEvent<'_>>, String), String> {
    let Value::Struct(members) = batch else {
        return Err("event.from did not answer a struct".to_owned());
    };
    let token = members
        .get("token")
        .and_then(as_text)
        .ok_or("event.from answered no token")?;
    let Some(Value::Array(items)) = members.get("events") else {
        return Err("event.from answered no events array".to_owned());
    };
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        let Value::Struct(event) = item else {
            continue;
        };
        let field = |name: &str| event.get(name).and_then(as_text).unwrap_or_default();
        if !field("class").eq_ignore_ascii_case("vm") {
            continue;
        }
        events.push(VmEvent {
            reference: field("ref"),
            operation: field("operation").to_ascii_lowercase(),
            snapshot: event.get("snapshot"),
        });
    }
    Ok((events, token))
}

/// Record `event` in `known`; the change to report, if any.
fn apply(
    known: &mut HashMap<String, VmState>,
    event: VmEvent<'_>,
    report: bool,
) -> Option<DomainEvent> {
    if event.operation == "del" {
        known.remove(&event.reference);
        return None;
    }
    let record = match read_vm_record(event.snapshot?) {
        Ok(record) => record,
        Err(message) => {
            tracing::debug!(%message, "skipping an unreadable VM snapshot");
            return None;
        }
    };
    let previous = known.insert(event.reference, record.state);
    let changed = previous != Some(record.state);
    (report && record.is_guest && changed).then_some(DomainEvent {
        uuid: record.uuid,
        state: record.state,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn snapshot(uuid: &str, power_state: &str, template: bool) -> Value {
        let members: BTreeMap<String, Value> = [
            ("uuid", Value::String(uuid.into())),
            ("power_state", Value::String(power_state.into())),
            ("is_a_template", Value::Boolean(template)),
            ("is_control_domain", Value::Boolean(false)),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        Value::Struct(members)
    }

    fn event(reference: &str, operation: &str, snapshot: Option<Value>) -> Value {
        let mut members = BTreeMap::new();
        members.insert("id".to_owned(), Value::String("7".into()));
        members.insert("timestamp".to_owned(), Value::String("0.0".into()));
        members.insert("class".to_owned(), Value::String("vm".into()));
        members.insert("operation".to_owned(), Value::String(operation.into()));
        members.insert("ref".to_owned(), Value::String(reference.into()));
        if let Some(snapshot) = snapshot {
            members.insert("snapshot".to_owned(), snapshot);
        }
        Value::Struct(members)
    }

    fn batch(events: Vec<Value>) -> Value {
        let mut members = BTreeMap::new();
        members.insert("events".to_owned(), Value::Array(events));
        members.insert("token".to_owned(), Value::String("0007,0000".into()));
        members.insert(
            "valid_ref_counts".to_owned(),
            Value::Struct(BTreeMap::new()),
        );
        Value::Struct(members)
    }

    fn feed(
        known: &mut HashMap<String, VmState>,
        answer: &Value,
        report: bool,
    ) -> Vec<DomainEvent> {
        let (events, token) = read_batch(answer).expect("readable");
        assert_eq!(token, "0007,0000");
        events
            .into_iter()
            .filter_map(|event| apply(known, event, report))
            .collect()
    }

    #[test]
    fn the_first_batch_only_seeds() {
        let mut known = HashMap::new();
        let first = batch(vec![
            event("OpaqueRef:a", "add", Some(snapshot("a", "Running", false))),
            event("OpaqueRef:t", "add", Some(snapshot("t", "Halted", true))),
        ]);
        assert!(feed(&mut known, &first, false).is_empty());
        assert_eq!(known.len(), 2);
    }

    #[test]
    fn power_state_changes_are_reported_once() {
        let mut known = HashMap::new();
        feed(
            &mut known,
            &batch(vec![event(
                "OpaqueRef:a",
                "add",
                Some(snapshot("a", "Running", false)),
            )]),
            false,
        );
        let paused = batch(vec![event(
            "OpaqueRef:a",
            "mod",
            Some(snapshot("a", "Paused", false)),
        )]);
        assert_eq!(
            feed(&mut known, &paused, true),
            vec![DomainEvent {
                uuid: "a".into(),
                state: VmState::Paused
            }]
        );
        // The same state again (another field changed): nothing to report.
        assert!(feed(&mut known, &paused, true).is_empty());
    }

    #[test]
    fn templates_and_deletions_are_not_reported() {
        let mut known = HashMap::new();
        let template = batch(vec![event(
            "OpaqueRef:t",
            "add",
            Some(snapshot("t", "Halted", true)),
        )]);
        assert!(feed(&mut known, &template, true).is_empty());
        let gone = batch(vec![event("OpaqueRef:t", "del", None)]);
        assert!(feed(&mut known, &gone, true).is_empty());
        assert!(known.is_empty());
    }

    #[test]
    fn a_new_guest_is_reported() {
        let mut known = HashMap::new();
        let added = batch(vec![event(
            "OpaqueRef:n",
            "add",
            Some(snapshot("n", "Halted", false)),
        )]);
        assert_eq!(
            feed(&mut known, &added, true),
            vec![DomainEvent {
                uuid: "n".into(),
                state: VmState::Stopped
            }]
        );
    }
}
