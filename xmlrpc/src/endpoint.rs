//! `POST /RPC2`: from HTTP body to XML-RPC answer.
//!
//! The body is read up to a size limit, parsed in one streaming pass that also checks
//! well-formedness and nesting depth (see `request.rs`), and run through the registry — on a blocking thread when
//! the method touches the database. Every answer is HTTP 200 with `text/xml`, faults
//! included, and no fault ever echoes the request body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dxr::{Fault, Value};
use http_body_util::BodyExt;

use crate::App;
use crate::fault::{self, fault};
use crate::registry::{Origin, Work};
use zentific_sql::Backend;

/// The handler behind `POST /RPC2`.
pub(crate) async fn rpc(State(app): State<Arc<App>>, request: Request) -> Response {
    if !is_xml(request.headers()) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CONTENT_TYPE, "text/plain")],
            "XML-RPC requests are sent with Content-Type: text/xml\n",
        )
            .into_response();
    }
    let origin = Origin {
        client: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip()),
        timed_by_caller: false,
    };
    let limit = app.limits.max_body_bytes;
    let answer = match read_body(request.into_body(), limit).await {
        Ok(body) => handle(app, &body, origin).await,
        Err(fault) => Err(fault),
    };
    let xml = match answer {
        Ok(Answer::Value(value)) => Bytes::from(crate::wire::response(&value)),
        // Shared, not copied: a constant answer is the same bytes every time.
        Ok(Answer::Constant(xml)) => xml,
        Err(fault) => Bytes::from(crate::wire::fault(&fault)),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], xml).into_response()
}

/// Whether the request says it carries XML (`text/xml` or `application/xml`).
fn is_xml(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim)
        .is_some_and(|kind| {
            kind.eq_ignore_ascii_case("text/xml") || kind.eq_ignore_ascii_case("application/xml")
        })
}

/// How long a client may take to send its request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of an over-large body is read and dropped so that the client, still sending,
/// gets to read the fault; past that the connection is closed.
const DRAIN_BYTES: usize = 64 << 20;

/// Read the body, up to `limit` bytes.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, Fault> {
    let read = async {
        let mut buffer = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|_| fault(fault::INVALID_REQUEST, "the request body was cut off"))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            seen = seen.saturating_add(data.len());
            if seen <= limit {
                buffer.extend_from_slice(&data);
            } else {
                buffer = Vec::new();
                if seen > limit.saturating_add(DRAIN_BYTES) {
                    break;
                }
            }
        }
        if seen > limit {
            return Err(fault(
                fault::INVALID_REQUEST,
                format!("the request body is larger than the server's limit of {limit} bytes"),
            ));
        }
        Ok(buffer)
    };
    tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| {
            Err(fault(
                fault::INVALID_REQUEST,
                format!(
                    "the request body did not arrive within {} seconds",
                    BODY_TIMEOUT.as_secs()
                ),
            ))
        })
}

/// A method's result: a value, or the XML of a constant answer written at start-up.
enum Answer {
    Value(Value),
    Constant(Bytes),
}

async fn handle(app: Arc<App>, body: &[u8], origin: Origin) -> Result<Answer, Fault> {
    let text = std::str::from_utf8(body).map_err(|e| {
        fault(
            fault::NOT_WELL_FORMED,
            format!(
                "the request is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let (name, params) = crate::request::parse_call(text, app.limits.max_depth)?;
    if params.is_empty()
        && let Some(xml) = app.constants.get(name.as_str())
    {
        return Ok(Answer::Constant(xml.clone()));
    }
    // An unknown method faults before any work; the token check is a database read.
    let work = app
        .registry
        .get(&name)
        .map_or(Work::Cpu, |m| m.work.max(Work::Read));
    let reads_inline = app.store.backend() == Backend::Sqlite;
    let value = match work {
        Work::Cpu => app.registry.call_from(&app.store, &name, &params, origin),
        Work::Read | Work::Write => run(
            &app,
            &name,
            &params,
            origin,
            work == Work::Read && reads_inline,
        ),
        Work::Module => crate::modules::call_with_limit(app.clone(), name, params, origin).await,
        Work::Wait => {
            let call = |params: Vec<Value>| {
                let app = app.clone();
                let name = name.clone();
                async move { run(&app, &name, &params, origin, reads_inline) }
            };
            crate::api::event::wait(&app.store, params, call).await
        }
    };
    value.map(Answer::Value)
}

/// One registry call that touches the database: on this worker thread when `inline`,
/// else leaving it (its other tasks move elsewhere meanwhile), which is cheaper than a
/// round trip through the blocking pool.
fn run(
    app: &App,
    name: &str,
    params: &[Value],
    origin: Origin,
    inline: bool,
) -> Result<Value, Fault> {
    if inline {
        app.registry.call_from(&app.store, name, params, origin)
    } else {
        tokio::task::block_in_place(|| app.registry.call_from(&app.store, name, params, origin))
    }
}
