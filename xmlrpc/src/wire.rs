//! Writing XML-RPC answers.
//!
//! Answers are written straight into one string: a large `vm.list` is tens of kilobytes
//! of XML, and writing it directly is several times faster than going through a generic
//! serializer. Requests are still parsed by dxr; a test checks that dxr reads back
//! exactly what this writes.

use std::fmt::Write as _;

use base64::Engine as _;
use dxr::{Fault, Value};

const HEADER: &str = "<?xml version=\"1.0\"?>\n";

/// A `methodResponse` carrying `value`.
pub fn response(value: &Value) -> String {
    let mut out = String::with_capacity(128 + size_hint(value));
    out.push_str(HEADER);
    out.push_str("<methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>");
    out
}

/// A `methodResponse` carrying a fault.
pub fn fault(fault: &Fault) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(HEADER);
    out.push_str("<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>");
    let _ = write!(out, "{}", fault.code());
    out.push_str("</i4></value></member><member><name>faultString</name><value><string>");
    escape(&mut out, fault.string());
    out.push_str("</string></value></member></struct></value></fault></methodResponse>");
    out
}

fn write_value(out: &mut String, value: &Value) {
    out.push_str("<value>");
    match value {
        Value::Integer(v) => {
            let _ = write!(out, "<i4>{v}</i4>");
        }
        Value::Long(v) => {
            let _ = write!(out, "<i8>{v}</i8>");
        }
        Value::Boolean(v) => out.push_str(if *v {
            "<boolean>1</boolean>"
        } else {
            "<boolean>0</boolean>"
        }),
        Value::String(v) => {
            out.push_str("<string>");
            escape(out, v);
            out.push_str("</string>");
        }
        Value::Double(v) => {
            let _ = write!(
                out,
                "<double>{}</double>",
                if v.is_finite() { *v } else { 0.0 }
            );
        }
        Value::DateTime(v) => {
            let _ = write!(out, "<dateTime.iso8601>{v}</dateTime.iso8601>");
        }
        Value::Base64(v) => {
            out.push_str("<base64>");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(v));
            out.push_str("</base64>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>");
            for (name, value) in members {
                out.push_str("<member><name>");
                escape(out, name);
                out.push_str("</name>");
                write_value(out, value);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        _ => out.push_str("<string></string>"),
    }
    out.push_str("</value>");
}

/// Escape text for element content; `\r` is written as a character reference so that
/// XML's line-end normalization cannot change it.
fn escape(out: &mut String, text: &str) {
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\r' => "&#13;",
            _ => continue,
        };
        // The special bytes are ASCII, so `at` is always a character boundary.
        out.push_str(&text[start..at]);
        out.push_str(entity);
        start = at + 1;
    }
    out.push_str(&text[start..]);
}

/// A close upper estimate of the XML size of `value`, so the answer is written into one
/// allocation instead of a dozen growing copies.
fn size_hint(value: &Value) -> usize {
    const TAGS: usize = 40;
    match value {
        Value::String(text) => TAGS + text.len(),
        Value::Base64(bytes) => TAGS + bytes.len() * 4 / 3 + 4,
        Value::Struct(members) => {
            TAGS + members
                .iter()
                .map(|(k, v)| 32 + k.len() + size_hint(v))
                .sum::<usize>()
        }
        Value::Array(items) => TAGS + items.iter().map(size_hint).sum::<usize>(),
        _ => TAGS + 24,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dxr::{FaultResponse, MethodResponse};

    #[test]
    fn dxr_reads_back_what_is_written() {
        let value = Value::Struct(
            [
                ("int".to_string(), Value::Integer(-7)),
                ("long".into(), Value::Long(1 << 40)),
                ("yes".into(), Value::Boolean(true)),
                (
                    "text".into(),
                    Value::String("a <b> & \"c\" 'd' é\r\n".into()),
                ),
                ("empty".into(), Value::String(String::new())),
                ("when".into(), crate::params::datetime(1_700_000_000)),
                ("bytes".into(), Value::Base64(vec![0, 1, 2, 255])),
                (
                    "list".into(),
                    Value::Array(vec![
                        Value::Integer(1),
                        Value::Array(vec![]),
                        Value::Struct(Default::default()),
                    ]),
                ),
            ]
            .into_iter()
            .collect(),
        );
        let parsed = MethodResponse::from_xml(&response(&value)).expect("dxr parses our response");
        assert_eq!(parsed.value, value);
        let fault = Fault::new(4, "invalid value for 'x': <must> & more".into());
        let parsed = FaultResponse::from_xml(&super::fault(&fault)).expect("dxr parses our fault");
        assert_eq!(parsed.fault, fault);
    }
}
