//! Writing XML-RPC answers.
//!
//! Answers are written straight into one string by the shared value writer
//! (`zentific_value`); a test checks that dxr reads back exactly what this writes.

use std::fmt::Write as _;

use dxr::{Fault, Value};
use zentific_value::{escape, size_hint, write_value};

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

#[cfg(test)]
mod tests {
    use super::*;
    use dxr::{FaultResponse, MethodResponse};

    #[test]
    fn dxr_reads_back_what_is_written() {
        let value = zentific_value::every_type();
        let parsed = MethodResponse::from_xml(&response(&value)).expect("dxr parses our response");
        assert_eq!(parsed.value, value);
        let fault = Fault::new(4, "invalid value for 'x': <must> & more".into());
        let parsed = FaultResponse::from_xml(&super::fault(&fault)).expect("dxr parses our fault");
        assert_eq!(parsed.fault, fault);
    }
}
