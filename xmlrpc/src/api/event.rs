//! `event.*`: the event stream, a long poll. The handler answers at once from the store;
//! the endpoint ([`wait`]) calls it again each time events commit, until some are visible
//! to the caller or the timeout passes.

use std::time::Duration;

use dxr::{Fault, Value};
use zentific_sql::{Event, Role, StoreError};

use crate::fault::{ApiFault, from_store};
use crate::params::{Record, array, int, string};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, optional, param};

/// Longest wait one call may ask for, seconds.
pub(crate) const MAX_WAIT_SECS: i32 = 60;

/// Wait asked for when the call names none, seconds.
const DEFAULT_WAIT_SECS: i32 = 30;

pub(super) const METHODS: &[Method] = &[Method {
    name: "event.next",
    help: "Events after cursor, waiting up to timeout_s seconds (0-60, default 30) for one when there are none yet. Give \"\" the first time: it starts at the newest event. Returns {cursor, events}; pass cursor to the next call. Each event is {seq, time, kind, target_kind, target?, state?, job?, actor, detail}: kind is the audited method (vm.update, user.create, …), vm.state, node.status (state reachable, unreachable, silent or pushing) or job.<action> (state pending, running, succeeded, failed or cancelled). Only events about what the caller may see are returned. Cursors stay valid across server restarts while their events are kept (option event_retention_hours); an older cursor is fault 5 (start again with \"\"), a malformed one fault 4. Inside system.multicall it answers at once.",
    params: &[
        TOKEN,
        param("cursor", Type::String),
        optional("timeout_s", Type::Int),
    ],
    returns: Type::Struct,
    access: Access::Session(Role::User),
    vm_param: None,
    work: Work::Wait,
    handler: next,
}];

/// How long the call may wait; checked before any wait.
fn timeout(params: &[Value]) -> Result<i32, Fault> {
    let secs = if params.len() > 2 {
        int(params, 2, "timeout_s")?
    } else {
        DEFAULT_WAIT_SECS
    };
    if !(0..=MAX_WAIT_SECS).contains(&secs) {
        return Err(from_store(StoreError::invalid(
            "timeout_s",
            format!("must be 0 to {MAX_WAIT_SECS} seconds; got {secs}"),
        )));
    }
    Ok(secs)
}

fn next(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    timeout(params)?;
    let batch = ctx
        .store
        .events_after(ctx.caller()?, string(params, 1, "cursor")?)?;
    Ok(Record::new()
        .string("cursor", batch.cursor)
        .value("events", array(batch.events.iter().map(event_record)))
        .build())
}

fn event_record(event: &Event) -> Value {
    let mut record = Record::new()
        .string("seq", event.seq.to_string())
        .time("time", event.at)
        .string("kind", &event.kind)
        .string("target_kind", &event.target_kind)
        .opt_int("target", event.target_id)
        .opt_int("job", event.job)
        .string("actor", &event.actor)
        .string("detail", &event.detail);
    if let Some(state) = &event.state {
        record = record.string("state", state);
    }
    record.build()
}

/// Whether an answer of `event.next` holds events, and the cursor it ends at.
fn progress(answer: &Value) -> Option<(bool, String)> {
    let Value::Struct(fields) = answer else {
        return None;
    };
    let any = matches!(fields.get("events"), Some(Value::Array(events)) if !events.is_empty());
    match fields.get("cursor") {
        Some(Value::String(cursor)) => Some((any, cursor.clone())),
        _ => None,
    }
}

/// Run `event.next` as a long poll: call it, and while it finds nothing the caller may
/// see, wait for the store's next commit of events (from any process on PostgreSQL) and
/// call it again from the cursor it reached. Every call goes through the registry, so a
/// session that ends meanwhile gets its fault. `call` runs one registry call the way the
/// endpoint runs database work.
pub(crate) async fn wait<F, Fut>(
    store: &zentific_sql::Store,
    mut params: Vec<Value>,
    call: F,
) -> Result<Value, Fault>
where
    F: Fn(Vec<Value>) -> Fut,
    Fut: std::future::Future<Output = Result<Value, Fault>>,
{
    // A bad timeout is refused before any work (the registry checks the types).
    let secs = match timeout(&params) {
        Ok(secs) => secs,
        Err(_) => return call(params).await,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs.unsigned_abs().into());
    let mut signal = store.event_signal();
    loop {
        signal.borrow_and_update();
        let answer = call(params.clone()).await?;
        let Some((any, cursor)) = progress(&answer) else {
            return Ok(answer);
        };
        if any || tokio::time::Instant::now() >= deadline {
            return Ok(answer);
        }
        if let Some(slot) = params.get_mut(1) {
            *slot = Value::String(cursor);
        }
        match tokio::time::timeout_at(deadline, signal.changed()).await {
            Ok(Ok(())) => continue,
            // Timed out, or the store is closing: answer with what there is.
            Ok(Err(_)) | Err(_) => return Ok(answer),
        }
    }
}
