//! One XenAPI call over HTTP: serialize with dxr, POST `text/xml` to the host's `/`,
//! repair the answer's wire quirks, and unwrap xapi's `Status` envelope.
//!
//! xapi never answers with an XML-RPC `<fault>` for API errors. Every answer is a struct:
//! `{Status: "Success", Value: v}` or `{Status: "Failure", ErrorDescription: [code, args…]}`,
//! which [`RpcTransport::call`] turns into `Ok(v)` or [`XapiError::Failure`]. Untyped
//! `<value>text</value>` strings (xapi's only way of writing strings, and of writing
//! 64-bit integers) are standard XML-RPC and dxr reads them as strings; `dateTime`
//! values go through [`super::timestamps`] first.

use std::time::Duration;

use dxr::{FaultResponse, MethodCall, MethodResponse, Value};

/// How long to wait for the TCP (and TLS) connection to a host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bodies larger than this are refused (a pool with thousands of VMs stays far below).
const MAX_BODY_BYTES: u64 = 512 << 20;

/// Why a XenAPI call did not return a value.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub(super) enum XapiError {
    /// No HTTP answer, or one that was not `200 OK`: connection refused, timeout, TLS
    /// failure, a proxy's error page.
    #[error("{0}")]
    Transport(String),
    /// xapi refused the call: `ErrorDescription` = `[code, args…]`.
    #[error("{code}: {}", args.join(", "))]
    Failure {
        /// The error code, e.g. `VM_BAD_POWER_STATE`.
        code: String,
        /// The code's parameters, as xapi sent them.
        args: Vec<String>,
    },
    /// The session was refused again right after a fresh login.
    #[error("xapi rejects every session it hands out (SESSION_INVALID after a fresh login)")]
    SessionLost,
    /// The answer was not XML-RPC or not xapi's envelope.
    #[error("malformed answer from xapi: {0}")]
    Malformed(String),
}

impl XapiError {
    /// Whether this is the given xapi error code.
    pub(super) fn is(&self, wanted: &str) -> bool {
        matches!(self, XapiError::Failure { code, .. } if code == wanted)
    }
}

/// The HTTP side of a host's XML-RPC endpoint.
#[derive(Debug)]
pub(super) struct RpcTransport {
    agent: ureq::Agent,
    endpoint: String,
}

impl RpcTransport {
    /// A transport posting to `endpoint` (`http://host:port/`).
    pub(super) fn new(endpoint: String) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .user_agent(concat!("zentific/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        RpcTransport { agent, endpoint }
    }

    /// The URL calls go to, for messages.
    pub(super) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Call `method` with `params`; give up on the whole exchange after `timeout`.
    pub(super) fn call(
        &self,
        method: &str,
        params: Vec<Value>,
        timeout: Duration,
    ) -> Result<Value, XapiError> {
        let request = MethodCall {
            name: method.into(),
            params,
        }
        .to_xml()
        .map_err(|error| XapiError::Malformed(format!("cannot encode {method}: {error}")))?;
        let mut response = self
            .agent
            .post(&self.endpoint)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Content-Type", "text/xml")
            .send(request.as_bytes())
            .map_err(|error| self.transport_error(method, &error))?;
        let status = response.status();
        if status != ureq::http::StatusCode::OK {
            return Err(XapiError::Transport(format!(
                "{method} to {}: HTTP {status}",
                self.endpoint
            )));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .map_err(|error| self.transport_error(method, &error))?;
        unwrap_envelope(parse_response(&body)?)
    }

    fn transport_error(&self, method: &str, error: &ureq::Error) -> XapiError {
        let reason = match error {
            ureq::Error::Timeout(_) => "timed out".to_owned(),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".to_owned()
            }
            other => other.to_string(),
        };
        XapiError::Transport(format!("{method} to {}: {reason}", self.endpoint))
    }
}

/// The value of a `<methodResponse>`, or a `<fault>` as [`XapiError::Failure`].
pub(super) fn parse_response(body: &str) -> Result<Value, XapiError> {
    let body = super::timestamps::normalize_datetimes(body);
    match MethodResponse::from_xml(&body) {
        Ok(response) => Ok(response.value),
        Err(parse_error) => match FaultResponse::from_xml(&body) {
            Ok(fault) => Err(XapiError::Failure {
                code: "XMLRPC_FAULT".to_owned(),
                args: vec![
                    fault.fault.code().to_string(),
                    fault.fault.string().to_owned(),
                ],
            }),
            Err(_) => Err(XapiError::Malformed(describe_parse_error(
                &parse_error,
                &body,
            ))),
        },
    }
}

/// dxr puts the whole body in its message; keep the start of it.
fn describe_parse_error(error: &dxr::Error, body: &str) -> String {
    const SHOWN: usize = 160;
    let reason = match error {
        dxr::Error::InvalidData { .. } => "not an XML-RPC answer".to_owned(),
        other => other.to_string(),
    };
    let mut end = body.len().min(SHOWN);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let ellipsis = if end < body.len() { "…" } else { "" };
    format!("{reason}: {}{ellipsis}", &body[..end])
}

/// `{Status: Success, Value: v}` → `v`; `{Status: Failure, ErrorDescription: […]}` → error.
pub(super) fn unwrap_envelope(answer: Value) -> Result<Value, XapiError> {
    let Value::Struct(mut members) = answer else {
        return Err(XapiError::Malformed(
            "the answer is not a Status/Value struct".to_owned(),
        ));
    };
    let status = members.get("Status").and_then(as_text);
    match status.as_deref() {
        // xapi sends Value = "" for methods that return nothing.
        Some("Success") => Ok(members
            .remove("Value")
            .unwrap_or_else(|| Value::String(String::new()))),
        Some("Failure") => {
            let description = match members.remove("ErrorDescription") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| as_text(item).unwrap_or_else(|| format!("{item:?}")))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            };
            let mut parts = description.into_iter();
            let code = parts.next().unwrap_or_else(|| "UNKNOWN_ERROR".to_owned());
            Err(XapiError::Failure {
                code,
                args: parts.collect(),
            })
        }
        Some(other) => Err(XapiError::Malformed(format!("unknown Status {other:?}"))),
        None => Err(XapiError::Malformed(
            "the answer has no Status member".to_owned(),
        )),
    }
}

/// A scalar as text: strings as they are, numbers and booleans written out.
pub(super) fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Integer(number) => Some(number.to_string()),
        Value::Long(number) => Some(number.to_string()),
        Value::Boolean(flag) => Some(flag.to_string()),
        Value::Double(number) => Some(number.to_string()),
        Value::DateTime(stamp) => Some(stamp.to_string()),
        _ => None,
    }
}

/// An xapi `int` (64-bit): sent as a decimal string, accepted as `<i4>`/`<i8>` too.
pub(super) fn as_int64(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Integer(number) => Some(i64::from(*number)),
        Value::Long(number) => Some(*number),
        _ => None,
    }
}

/// An xapi `bool`: `<boolean>`; a string `true`/`false`/`1`/`0` is accepted too.
pub(super) fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Boolean(flag) => Some(*flag),
        Value::String(text) => match text.trim() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An xapi `int` argument: a decimal string, as xapi's own clients send it.
pub(super) fn int64_arg(number: i64) -> Value {
    Value::String(number.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(inner: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>{inner}\
             </struct></value></param></params></methodResponse>"
        )
    }

    #[test]
    fn success_with_untyped_strings_int64_strings_and_a_z_date() {
        let body = envelope(
            "<member><name>Status</name><value>Success</value></member>\
             <member><name>Value</name><value><struct>\
             <member><name>name_label</name><value>r&amp;d &lt;build&gt;</value></member>\
             <member><name>name_description</name><value></value></member>\
             <member><name>other</name><value/></member>\
             <member><name>memory_static_max</name><value>4294967296</value></member>\
             <member><name>is_a_template</name><value><boolean>0</boolean></value></member>\
             <member><name>snapshot_time</name>\
             <value><dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601></value></member>\
             </struct></value></member>",
        );
        let value = unwrap_envelope(parse_response(&body).expect("parses")).expect("success");
        let Value::Struct(record) = value else {
            panic!("not a struct: {value:?}");
        };
        assert_eq!(
            record.get("name_label"),
            Some(&Value::String("r&d <build>".into()))
        );
        assert_eq!(
            record.get("name_description"),
            Some(&Value::String(String::new()))
        );
        assert_eq!(record.get("other"), Some(&Value::String(String::new())));
        assert_eq!(
            record.get("memory_static_max").and_then(as_int64),
            Some(4_294_967_296)
        );
        assert_eq!(record.get("is_a_template").and_then(as_bool), Some(false));
        assert!(matches!(
            record.get("snapshot_time"),
            Some(Value::DateTime(_))
        ));
    }

    #[test]
    fn untyped_strings_keep_their_whitespace() {
        let value = Value::from_xml("<value> padded\n</value>").expect("parses");
        assert_eq!(value, Value::String(" padded\n".into()));
    }

    #[test]
    fn void_success_is_an_empty_string() {
        let body = envelope(
            "<member><name>Status</name><value>Success</value></member>\
             <member><name>Value</name><value></value></member>",
        );
        assert_eq!(
            unwrap_envelope(parse_response(&body).expect("parses")),
            Ok(Value::String(String::new()))
        );
    }

    #[test]
    fn failure_becomes_code_and_args() {
        let body = envelope(
            "<member><name>Status</name><value>Failure</value></member>\
             <member><name>ErrorDescription</name><value><array><data>\
             <value>VM_BAD_POWER_STATE</value><value>OpaqueRef:1</value>\
             <value>halted</value><value>running</value></data></array></value></member>",
        );
        let error = unwrap_envelope(parse_response(&body).expect("parses")).expect_err("failure");
        assert!(error.is("VM_BAD_POWER_STATE"));
        assert_eq!(
            error.to_string(),
            "VM_BAD_POWER_STATE: OpaqueRef:1, halted, running"
        );
    }

    #[test]
    fn xmlrpc_faults_and_garbage() {
        let fault = "<?xml version=\"1.0\"?><methodResponse><fault><value><struct>\
                     <member><name>faultCode</name><value><int>-1</int></value></member>\
                     <member><name>faultString</name><value>boom</value></member>\
                     </struct></value></fault></methodResponse>";
        assert!(parse_response(fault).expect_err("fault").is("XMLRPC_FAULT"));
        let garbage = "<html><body>502 Bad Gateway</body></html>".repeat(20);
        let XapiError::Malformed(message) = parse_response(&garbage).expect_err("garbage") else {
            panic!("not malformed");
        };
        assert!(message.len() < 300, "{message}");
    }

    #[test]
    fn int64_values_in_every_shape() {
        assert_eq!(as_int64(&Value::String("-1".into())), Some(-1));
        assert_eq!(as_int64(&Value::Integer(7)), Some(7));
        assert_eq!(as_int64(&Value::Long(1 << 40)), Some(1 << 40));
        assert_eq!(as_int64(&Value::String("lots".into())), None);
        assert_eq!(int64_arg(2_147_483_648), Value::String("2147483648".into()));
    }
}
