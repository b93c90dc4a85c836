//! `POST /RPC2`: from HTTP body to XML-RPC answer.
//!
//! The body is read up to a size limit, checked for well-formedness and nesting depth
//! with a streaming XML reader (so hostile input is refused before any tree is built),
//! parsed into a call with dxr, and run through the registry — on a blocking thread when
//! the method touches the database. Every answer is HTTP 200 with `text/xml`, faults
//! included, and no fault ever echoes the request body.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use dxr::{Fault, FaultResponse, MethodCall, MethodResponse, Value};
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::fault::{self, fault};
use crate::App;

/// The handler behind `POST /RPC2`.
pub(crate) async fn rpc(State(app): State<Arc<App>>, request: Request) -> Response {
    let limit = app.limits.max_body_bytes;
    let body = match axum::body::to_bytes(request.into_body(), limit).await {
        Ok(body) => body,
        Err(_) => {
            return answer(Err(fault(
                fault::INVALID_REQUEST,
                format!("the request body is larger than the server's limit of {limit} bytes, or was cut off"),
            )));
        }
    };
    answer(handle(app, &body).await)
}

async fn handle(app: Arc<App>, body: &[u8]) -> Result<Value, Fault> {
    let text = std::str::from_utf8(body).map_err(|e| {
        fault(fault::NOT_WELL_FORMED, format!("the request is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()))
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
    let name = call.name.into_owned();
    let params = call.params;
    let blocking = app.registry.get(&name).is_some_and(|m| m.blocking);
    if !blocking {
        return app.registry.call(&app.store, &name, &params);
    }
    tokio::task::spawn_blocking(move || app.registry.call(&app.store, &name, &params))
        .await
        .unwrap_or_else(|e| Err(fault::internal(&e)))
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
            fault(fault::NOT_WELL_FORMED, format!("the request is not well-formed XML at byte {position}: {reason}"))
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
                return Err(fault(fault::INVALID_REQUEST, "a DOCTYPE is not allowed in an XML-RPC request"));
            }
            Event::Text(text) if depth == 0 && !AsRef::<str>::as_ref(&text).trim().is_empty() => {
                return Err(fault(fault::NOT_WELL_FORMED, "the request has text outside its root element"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(name) = open.last() {
        return Err(fault(
            fault::NOT_WELL_FORMED,
            format!("the request ends before <{}> is closed", crate::registry::truncate(name, 40)),
        ));
    }
    if !seen_root {
        return Err(fault(fault::NOT_WELL_FORMED, "the request body is empty; send an XML-RPC <methodCall>"));
    }
    Ok(())
}

fn root(seen_root: bool, name: &str) -> Result<(), Fault> {
    if seen_root {
        return Err(fault(fault::NOT_WELL_FORMED, "the request has more than one root element"));
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

/// The HTTP answer: always 200 and `text/xml`, faults included.
fn answer(result: Result<Value, Fault>) -> Response {
    let xml = match result {
        Ok(value) => MethodResponse { value }.to_xml(),
        Err(fault) => FaultResponse { fault }.to_xml(),
    };
    match xml {
        Ok(xml) => {
            let mut body = String::with_capacity(xml.len() + 22);
            body.push_str("<?xml version=\"1.0\"?>\n");
            body.push_str(&xml);
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
        }
        Err(error) => {
            let fault = fault::internal(&error);
            let xml = FaultResponse { fault }.to_xml().unwrap_or_default();
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], xml).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_shape;
    use crate::fault;

    fn code(text: &str) -> i32 {
        check_shape(text, 20).map(|()| 0).unwrap_or_else(|f| f.code())
    }

    #[test]
    fn shapes() {
        assert_eq!(code("<methodCall><methodName>a</methodName></methodCall>"), 0);
        assert_eq!(code("<methodCall><methodName>a</methodName>"), fault::NOT_WELL_FORMED);
        assert_eq!(code("<methodCall><a></b></methodCall>"), fault::NOT_WELL_FORMED);
        assert_eq!(code(""), fault::NOT_WELL_FORMED);
        assert_eq!(code("<html></html>"), fault::INVALID_REQUEST);
        assert_eq!(code("<methodCall/><methodCall/>"), fault::NOT_WELL_FORMED);
        assert_eq!(code("<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>"), fault::INVALID_REQUEST);
        let deep = format!("<methodCall>{}{}</methodCall>", "<a>".repeat(30), "</a>".repeat(30));
        assert_eq!(code(&deep), fault::INVALID_REQUEST);
    }
}
