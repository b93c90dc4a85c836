//! The event stream behind `event.next`: what changed, in commit order, persisted so that
//! a client's cursor survives a server restart (see `ops/events.rs`).
//!
//! Every audited change is an event, and so are VM state changes, job state changes and
//! node status. Events are kept for the `event_retention_hours` option; a cursor older
//! than that is refused so that a client knows it missed events and starts again.
//!
//! Waiting: [`Store::event_signal`] hands out a receiver that changes whenever events
//! commit — in this process at once, and on PostgreSQL in any process sharing the
//! database, through `LISTEN`/`NOTIFY` read by one listener thread.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::{Caller, Store, StoreError};

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its position in the stream; a cursor may resume after it.
    pub seq: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// What happened: the audited method (`vm.update`, `user.create`, …), `vm.state`,
    /// `node.status`, or `job.<action>` for a job's state.
    pub kind: String,
    /// What it is about: `vm`, `node`, `user`, `pool`, `config`.
    pub target_kind: String,
    /// The object's id, where it has one.
    pub target_id: Option<i32>,
    /// The new state, for VM, job and node status events.
    pub state: Option<String>,
    /// The job it is about, if any.
    pub job: Option<i32>,
    /// Who acted (`system` for the scheduler and pollers).
    pub actor: String,
    /// What changed, in words.
    pub detail: String,
}

/// What [`Store::events_after`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventBatch {
    /// The cursor to ask from next time.
    pub cursor: String,
    /// The events the caller may see, oldest first (maybe none).
    pub events: Vec<Event>,
}

/// Most events one call returns; a client that was away calls again at once.
pub const EVENT_BATCH: i64 = 500;

/// Wakes `event.next` waiters when events commit.
pub(crate) struct EventSignal {
    sender: tokio::sync::watch::Sender<u64>,
    /// Where the PostgreSQL listener connects (`None` on SQLite).
    listen_url: Option<String>,
    listener: std::sync::Once,
}

impl EventSignal {
    pub(crate) fn new(listen_url: Option<String>) -> EventSignal {
        EventSignal {
            sender: tokio::sync::watch::Sender::new(0),
            listen_url,
            listener: std::sync::Once::new(),
        }
    }

    /// Tell the waiters that events committed.
    pub(crate) fn bump(&self) {
        self.sender.send_modify(|g| *g = g.wrapping_add(1));
    }
}

impl Store {
    /// Events after `cursor` that `caller` may see. `""` starts at the newest event (and
    /// returns none); a cursor that is not one this server handed out is invalid (fault
    /// 4); one from before the retention window, or from another database, is refused
    /// with [`StoreError::WrongState`]: the client missed events and starts again.
    pub fn events_after(&self, caller: &Caller, cursor: &str) -> Result<EventBatch, StoreError> {
        let position = if cursor.is_empty() {
            None
        } else {
            Some(parse_cursor(cursor)?)
        };
        self.read(|conn| {
            let latest = crate::ops::events::latest(conn)?;
            let Some(position) = position else {
                return Ok(EventBatch {
                    cursor: latest.to_string(),
                    events: Vec::new(),
                });
            };
            let horizon = crate::ops::events::horizon(conn)?;
            if position < horizon {
                return Err(StoreError::WrongState(format!(
                    "cursor {position} is older than the events kept (the stream now starts after {horizon}); you may have missed events: start again with \"\" and re-read what you show"
                )));
            }
            if position > latest {
                return Err(StoreError::WrongState(format!(
                    "cursor {position} is ahead of this server's newest event ({latest}); it comes from another database: start again with \"\""
                )));
            }
            let (next, events) = crate::ops::events::after(conn, caller, position, EVENT_BATCH)?;
            Ok(EventBatch {
                cursor: next.to_string(),
                events,
            })
        })
    }

    /// A receiver that changes whenever events commit (see the module notes). On
    /// PostgreSQL the first call starts the listener thread.
    pub fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        let signal = &self.events;
        if let Some(url) = &signal.listen_url {
            let url = url.clone();
            let weak = Arc::downgrade(signal);
            signal.listener.call_once(move || {
                let spawned = std::thread::Builder::new()
                    .name("event-listener".into())
                    .spawn(move || listen(&url, weak));
                if let Err(e) = spawned {
                    tracing::warn!("cannot start the event listener: {e}; waiters see only this process's events");
                }
            });
        }
        signal.sender.subscribe()
    }

    /// Delete events older than the `event_retention_hours` option; returns how many.
    pub fn prune_events(&self, now: i64) -> Result<usize, StoreError> {
        let hours = self.global_options()?.event_retention_hours;
        self.write(|conn| crate::ops::events::prune(conn, now - hours * 3600))
    }
}

fn parse_cursor(cursor: &str) -> Result<i64, StoreError> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0 && cursor.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            StoreError::invalid(
                "cursor",
                format!(
                    "must be \"\" or a cursor from an earlier event.next; got {:?}",
                    crate::validate::shown(cursor)
                ),
            )
        })
}

/// The PostgreSQL listener: one connection that `LISTEN`s and wakes this process's
/// waiters on every notification; reconnects after errors (waking the waiters, which
/// re-read, since notifications may have been lost meanwhile). Ends with the store.
fn listen(url: &str, signal: Weak<EventSignal>) {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let mut failures = 0u32;
    while signal.strong_count() > 0 {
        let connected = PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                diesel::sql_query(format!("LISTEN {}", crate::ops::events::CHANNEL))
                    .execute(&mut conn)
                    .map(|_| conn)
                    .map_err(|e| e.to_string())
            });
        let mut conn = match connected {
            Ok(conn) => conn,
            Err(e) => {
                failures += 1;
                if failures == 1 {
                    tracing::warn!(
                        "event listener cannot reach the database: {e}; retrying every 2 s"
                    );
                }
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
        };
        failures = 0;
        loop {
            let Some(strong) = signal.upgrade() else {
                return;
            };
            let mut woke = false;
            let mut broken = false;
            for note in conn.notifications_iter() {
                match note {
                    Ok(_) => woke = true,
                    Err(_) => broken = true,
                }
                if broken {
                    break;
                }
            }
            if woke || broken {
                strong.bump();
            }
            drop(strong);
            if broken {
                tracing::info!("event listener lost its connection; reconnecting");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
