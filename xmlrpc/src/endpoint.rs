//! `POST /RPC2`: from HTTP body to XML-RPC answer.
//!
//! The body is read up to a size limit, checked for well-formedness and nesting depth
//! with a streaming XML reader (so hostile input is refused before any tree is built),
//! parsed into a call with dxr, and run through the registry — on a blocking thread when
//! the method touches the database. Every answer is HTTP 200 with `text/xml`, faults
//! included, and no fault ever echoes the request body.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dxr::{Fault, MethodCall, Value};
use http_body_util::BodyExt;
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::App;
use crate::fault::{self, fault};
use crate::registry::Work;
use zentific_sql::Backend;

/// The handler behind `POST /RPC2`.
pub(crate) async fn rpc(State(app): State<Arc<App>>, request: Request) -> Response {
    let limit = app.limits.max_body_bytes;
    let answer = match read_body(request.into_body(), limit).await {
        Ok(body) => handle(app, &body).await,
        Err(fault) => Err(fault),
    };
    let xml = match answer {
        Ok(Answer::Value(value)) => crate::wire::response(&value),
        Ok(Answer::Constant(xml)) => xml,
        Err(fault) => crate::wire::fault(&fault),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], xml).into_response()
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
    Constant(String),
}

async fn handle(app: Arc<App>, body: &[u8]) -> Result<Answer, Fault> {
    let text = std::str::from_utf8(body).map_err(|e| {
        fault(
            fault::NOT_WELL_FORMED,
            format!(
                "the request is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    check_shape(text, app.limits.max_depth)?;
    let call = MethodCall::from_xml(text).map_err(|_| {
        fault(
            fault::INVALID_REQUEST,
            "the request is well-formed XML but not an XML-RPC call: expected \
             <methodCall><methodName>name</methodName><params><param><value>…</value></param>…</params></methodCall> \
             with known value types",
        )
    })?;
    if call.params.is_empty()
        && let Some(xml) = app.constants.get(call.name.as_ref())
    {
        return Ok(Answer::Constant(xml.clone()));
    }
    let name = call.name.into_owned();
    let params = call.params;
    // An unknown method faults before any work; the token check is a database read.
    let work = app
        .registry
        .get(&name)
        .map_or(Work::Cpu, |m| m.work.max(Work::Read));
    let inline = match work {
        Work::Cpu => true,
        Work::Read => app.store.backend() == Backend::Sqlite,
        Work::Write => false,
    };
    let value = if inline {
        app.registry.call(&app.store, &name, &params)
    } else {
        // Waiting work leaves this worker thread (its other tasks move elsewhere
        // meanwhile), which is cheaper than a round trip through the blocking pool.
        tokio::task::block_in_place(|| app.registry.call(&app.store, &name, &params))
    };
    value.map(Answer::Value)
}

/// Check that `text` is one well-formed XML document whose root is `<methodCall>`, no
/// deeper than `max_depth` elements, without a DOCTYPE (no entity tricks).
pub(crate) fn check_shape(text: &str, max_depth: usize) -> Result<(), Fault> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut open: Vec<String> = Vec::new();
    let mut seen_root = false;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let reason = crate::registry::truncate(&e.to_string(), 160);
            fault(
                fault::NOT_WELL_FORMED,
                format!("the request is not well-formed XML at byte {position}: {reason}"),
            )
        })?;
        match event {
            Event::Start(start) => {
                if depth == 0 {
                    root(seen_root, start.name().as_ref())?;
                    seen_root = true;
                }
                depth += 1;
                if depth > max_depth {
                    return Err(fault(
                        fault::INVALID_REQUEST,
                        format!("the request nests elements deeper than the limit of {max_depth}"),
                    ));
                }
                open.push(start.name().as_ref().to_owned());
            }
            Event::Empty(start) if depth == 0 => {
                root(seen_root, start.name().as_ref())?;
                seen_root = true;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                open.pop();
            }
            Event::DocType(_) => {
                return Err(fault(
                    fault::INVALID_REQUEST,
                    "a DOCTYPE is not allowed in an XML-RPC request",
                ));
            }
            Event::Text(text) if depth == 0 && !AsRef::<str>::as_ref(&text).trim().is_empty() => {
                return Err(fault(
                    fault::NOT_WELL_FORMED,
                    "the request has text outside its root element",
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(name) = open.last() {
        return Err(fault(
            fault::NOT_WELL_FORMED,
            format!(
                "the request ends before <{}> is closed",
                crate::registry::truncate(name, 40)
            ),
        ));
    }
    if !seen_root {
        return Err(fault(
            fault::NOT_WELL_FORMED,
            "the request body is empty; send an XML-RPC <methodCall>",
        ));
    }
    Ok(())
}

fn root(seen_root: bool, name: &str) -> Result<(), Fault> {
    if seen_root {
        return Err(fault(
            fault::NOT_WELL_FORMED,
            "the request has more than one root element",
        ));
    }
    if name != "methodCall" {
        return Err(fault(
            fault::INVALID_REQUEST,
            format!(
                "the request's root element is <{}>; an XML-RPC call starts with <methodCall>",
                crate::registry::truncate(name, 40)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_shape;
    use crate::fault;

    fn code(text: &str) -> i32 {
        check_shape(text, 20)
            .map(|()| 0)
            .unwrap_or_else(|f| f.code())
    }

    #[test]
    fn shapes() {
        assert_eq!(
            code("<methodCall><methodName>a</methodName></methodCall>"),
            0
        );
        assert_eq!(
            code("<methodCall><methodName>a</methodName>"),
            fault::NOT_WELL_FORMED
        );
        assert_eq!(
            code("<methodCall><a></b></methodCall>"),
            fault::NOT_WELL_FORMED
        );
        assert_eq!(code(""), fault::NOT_WELL_FORMED);
        assert_eq!(code("<html></html>"), fault::INVALID_REQUEST);
        assert_eq!(code("<methodCall/><methodCall/>"), fault::NOT_WELL_FORMED);
        assert_eq!(
            code("<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>"),
            fault::INVALID_REQUEST
        );
        let deep = format!(
            "<methodCall>{}{}</methodCall>",
            "<a>".repeat(30),
            "</a>".repeat(30)
        );
        assert_eq!(code(&deep), fault::INVALID_REQUEST);
    }
}
