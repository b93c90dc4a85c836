//! The XML-RPC the poller speaks: it writes one call, `stats.push(token, sample)`, and reads
//! its answer, `{stored, seq}` or a fault.
//!
//! Writing is split in two so the spool can keep a sample without its token: a spooled file
//! holds [`sample_xml`] of the sample, and [`push_call_head`] and [`PUSH_CALL_TAIL`] wrap it
//! with whatever token is configured when it is finally sent. The reader is a small recursive-descent parser for
//! the XML-RPC subset a `methodResponse` uses; it rejects DTDs and anything it does not
//! understand rather than guessing.

use std::fmt::{self, Write as _};

use crate::encode::{Encoder, civil_utc};
use crate::sample::Sample;

/// Writes `sample` as a `<value>` element into `out` (cleared first; reusing one buffer
/// spares a large allocation per sample).
pub fn sample_xml(sample: &Sample, out: &mut String) {
    out.clear();
    sample.encode(&mut XmlEncoder { out });
}

/// The part of a `stats.push` call before the sample's `<value>`.
pub fn push_call_head(token: &str) -> String {
    let mut out = String::with_capacity(token.len() + 128);
    out.push_str("<?xml version=\"1.0\"?><methodCall><methodName>stats.push</methodName>");
    out.push_str("<params><param><value><string>");
    escape_into(&mut out, token);
    out.push_str("</string></value></param><param>");
    out
}

/// The part of a `stats.push` call after the sample's `<value>`.
pub const PUSH_CALL_TAIL: &str = "</param></params></methodCall>";

/// The whole `stats.push` call for a sample rendered by [`sample_xml`].
pub fn push_call(token: &str, sample_value_xml: &str) -> String {
    let mut out = push_call_head(token);
    out.push_str(sample_value_xml);
    out.push_str(PUSH_CALL_TAIL);
    out
}

/// Writes XML-RPC `<value>` elements.
pub struct XmlEncoder<'a> {
    /// Where the XML goes.
    pub out: &'a mut String,
}

impl Encoder for XmlEncoder<'_> {
    fn int(&mut self, value: i32) {
        self.out.push_str("<value><int>");
        push_decimal(self.out, value.into());
        self.out.push_str("</int></value>");
    }

    fn i8(&mut self, value: i64) {
        self.out.push_str("<value><i8>");
        push_decimal(self.out, value);
        self.out.push_str("</i8></value>");
    }

    fn string(&mut self, value: &str) {
        self.out.push_str("<value><string>");
        escape_into(self.out, value);
        self.out.push_str("</string></value>");
    }

    fn time(&mut self, secs: u64) {
        let (y, mo, d, h, mi, s) = civil_utc(secs);
        let _ = write!(
            self.out,
            "<value><dateTime.iso8601>{y:04}{mo:02}{d:02}T{h:02}:{mi:02}:{s:02}\
             </dateTime.iso8601></value>"
        );
    }

    fn double(&mut self, value: f64) {
        let _ = write!(self.out, "<value><double>{value}</double></value>");
    }

    fn struct_start(&mut self) {
        self.out.push_str("<value><struct>");
    }

    fn member_start(&mut self, name: &str) {
        // Member names are the protocol's constants or checked metric names: nothing to
        // escape.
        self.out.push_str("<member><name>");
        self.out.push_str(name);
        self.out.push_str("</name>");
    }

    fn member_end(&mut self) {
        self.out.push_str("</member>");
    }

    fn struct_end(&mut self) {
        self.out.push_str("</struct></value>");
    }

    fn array_start(&mut self) {
        self.out.push_str("<value><array><data>");
    }

    fn array_end(&mut self) {
        self.out.push_str("</data></array></value>");
    }
}

/// Appends `value` in decimal. A sample is mostly numbers, and this is several times
/// cheaper than going through `core::fmt` for each.
fn push_decimal(out: &mut String, value: i64) {
    let mut digits = [0u8; 20];
    let mut n = value.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    // The slice holds ASCII digits only.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// Escapes text for element content. Control characters XML 1.0 cannot carry (a domain
/// name is the hypervisor's string, not ours) become U+FFFD.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// The backend's acknowledgement of one `stats.push`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushAck {
    /// False when the backend already had this `seq` (a replay): acknowledged and ignored.
    pub stored: bool,
    /// The `seq` the backend acknowledged.
    pub seq: i64,
}

/// Why a `stats.push` answer is not an acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The backend answered with an XML-RPC fault.
    Fault {
        /// `faultCode`.
        code: i64,
        /// `faultString`.
        message: String,
    },
    /// The body is not a `methodResponse` carrying `{stored, seq}` (the text says where).
    Malformed(String),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Fault { code, message } => write!(f, "fault {code}: {message}"),
            ResponseError::Malformed(why) => write!(f, "unreadable answer: {why}"),
        }
    }
}

/// Reads the answer to `stats.push`.
pub fn parse_push_response(body: &str) -> Result<PushAck, ResponseError> {
    match parse_method_response(body).map_err(ResponseError::Malformed)? {
        Response::Fault(fault) => {
            let code = match fault.member("faultCode") {
                Some(Parsed::Int(code)) => *code,
                _ => {
                    return Err(ResponseError::Malformed(
                        "fault without an int faultCode".into(),
                    ));
                }
            };
            let message = match fault.member("faultString") {
                Some(Parsed::Str(s)) => s.clone(),
                _ => String::new(),
            };
            Err(ResponseError::Fault { code, message })
        }
        Response::Value(value) => {
            let stored = match value.member("stored") {
                Some(Parsed::Bool(b)) => *b,
                _ => {
                    return Err(ResponseError::Malformed(
                        "no boolean member `stored`".into(),
                    ));
                }
            };
            let seq = match value.member("seq") {
                Some(Parsed::Int(n)) => *n,
                _ => return Err(ResponseError::Malformed("no integer member `seq`".into())),
            };
            Ok(PushAck { stored, seq })
        }
    }
}

/// A value read from a response (only what answers need; others are kept opaque).
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// `int`, `i4` or `i8`.
    Int(i64),
    /// `boolean`.
    Bool(bool),
    /// `string` (or an untyped value).
    Str(String),
    /// `double`.
    Double(f64),
    /// `struct`.
    Struct(Vec<(String, Parsed)>),
    /// `array`.
    Array(Vec<Parsed>),
    /// `nil`, `dateTime.iso8601`, `base64`: read but not interpreted.
    Other,
}

impl Parsed {
    /// A struct's member by name.
    pub fn member(&self, name: &str) -> Option<&Parsed> {
        match self {
            Parsed::Struct(members) => members.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A parsed `methodResponse`.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// `<params><param><value>`.
    Value(Parsed),
    /// `<fault><value>` (a struct with `faultCode` and `faultString`).
    Fault(Parsed),
}

/// Parses a `methodResponse`.
pub fn parse_method_response(xml: &str) -> Result<Response, String> {
    let mut p = Parser { s: xml, pos: 0 };
    p.prolog()?;
    p.open("methodResponse")?;
    let response = if p.peek_open("fault") {
        p.open("fault")?;
        let v = p.value()?;
        p.close("fault")?;
        Response::Fault(v)
    } else {
        p.open("params")?;
        p.open("param")?;
        let v = p.value()?;
        p.close("param")?;
        p.close("params")?;
        Response::Value(v)
    };
    p.close("methodResponse")?;
    p.skip_misc()?;
    if p.pos != p.s.len() {
        return Err(p.error("content after </methodResponse>"));
    }
    Ok(response)
}

/// Deepest nesting accepted, so a hostile answer cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t', '\r', '\n']);
        self.pos = self.s.len() - trimmed.len();
    }

    /// Skips whitespace, comments and processing instructions.
    fn skip_misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_ws();
            if self.rest().starts_with("<!--") {
                let end = self
                    .rest()
                    .find("-->")
                    .ok_or_else(|| self.error("open comment"))?;
                self.pos += end + 3;
            } else if self.rest().starts_with("<?") {
                let end = self
                    .rest()
                    .find("?>")
                    .ok_or_else(|| self.error("open <?"))?;
                self.pos += end + 2;
            } else {
                return Ok(());
            }
        }
    }

    fn prolog(&mut self) -> Result<(), String> {
        self.pos = self.rest().len() - self.rest().trim_start_matches('\u{FEFF}').len();
        self.skip_misc()?;
        if self.rest().starts_with("<!") {
            return Err(self.error("DOCTYPE declarations are not accepted"));
        }
        Ok(())
    }

    fn peek_open(&mut self, name: &str) -> bool {
        if self.skip_misc().is_err() {
            return false;
        }
        let rest = self.rest();
        rest.strip_prefix('<')
            .and_then(|r| r.strip_prefix(name))
            .is_some_and(|r| r.starts_with(['>', ' ', '\t', '\r', '\n', '/']))
    }

    /// Reads `<name>` (attributes ignored); returns false for a self-closed `<name/>`.
    fn open(&mut self, name: &str) -> Result<bool, String> {
        if !self.peek_open(name) {
            return Err(self.error(&format!("expected <{name}>")));
        }
        let end = self
            .rest()
            .find('>')
            .ok_or_else(|| self.error("open tag"))?;
        let self_closed = self.rest()[..end].ends_with('/');
        self.pos += end + 1;
        Ok(!self_closed)
    }

    fn close(&mut self, name: &str) -> Result<(), String> {
        self.skip_misc()?;
        let rest = self.rest();
        let after = rest
            .strip_prefix("</")
            .and_then(|r| r.strip_prefix(name))
            .map(|r| r.trim_start_matches([' ', '\t', '\r', '\n']))
            .and_then(|r| r.strip_prefix('>'))
            .ok_or_else(|| self.error(&format!("expected </{name}>")))?;
        self.pos = self.s.len() - after.len();
        Ok(())
    }

    /// Character data up to the next `<`, entities decoded (CDATA sections included).
    fn text(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            if let Some(rest) = self.rest().strip_prefix("<![CDATA[") {
                let end = rest.find("]]>").ok_or_else(|| self.error("open CDATA"))?;
                out.push_str(&rest[..end]);
                self.pos += 9 + end + 3;
                continue;
            }
            let end = self
                .rest()
                .find('<')
                .ok_or_else(|| self.error("unexpected end"))?;
            if end == 0 {
                return Ok(out);
            }
            decode_entities(&self.rest()[..end], &mut out).map_err(|e| self.error(&e))?;
            self.pos += end;
        }
    }

    fn value(&mut self) -> Result<Parsed, String> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Parsed, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        if !self.open("value")? {
            return Ok(Parsed::Str(String::new()));
        }
        let untyped = self.text()?;
        if self.rest().starts_with("</") {
            self.close("value")?;
            return Ok(Parsed::Str(untyped));
        }
        self.skip_misc()?;
        let rest = self.rest();
        let tag_end = rest
            .find(['>', ' ', '/', '\t', '\r', '\n'])
            .ok_or_else(|| self.error("open tag"))?;
        let tag = rest[1..tag_end].to_owned();
        let parsed = match tag.as_str() {
            "struct" => {
                let mut members = Vec::new();
                if self.open("struct")? {
                    while self.peek_open("member") {
                        self.open("member")?;
                        self.open("name")?;
                        let name = self.text()?;
                        self.close("name")?;
                        let v = self.value_at(depth + 1)?;
                        self.close("member")?;
                        members.push((name, v));
                    }
                    self.close("struct")?;
                }
                Parsed::Struct(members)
            }
            "array" => {
                let mut items = Vec::new();
                if self.open("array")? {
                    if self.open("data")? {
                        while self.peek_open("value") {
                            items.push(self.value_at(depth + 1)?);
                        }
                        self.close("data")?;
                    }
                    self.close("array")?;
                }
                Parsed::Array(items)
            }
            "nil" => {
                if self.open("nil")? {
                    self.close("nil")?;
                }
                Parsed::Other
            }
            scalar => {
                let text = if self.open(scalar)? {
                    let t = self.text()?;
                    self.close(scalar)?;
                    t
                } else {
                    String::new()
                };
                let bad = |what: &str| self.error(&format!("bad {what} `{text}`"));
                match scalar {
                    "int" | "i4" | "i8" => {
                        Parsed::Int(text.trim().parse().map_err(|_| bad(scalar))?)
                    }
                    "boolean" => match text.trim() {
                        "1" => Parsed::Bool(true),
                        "0" => Parsed::Bool(false),
                        _ => return Err(bad("boolean")),
                    },
                    "string" => Parsed::Str(text),
                    "double" => Parsed::Double(text.trim().parse().map_err(|_| bad("double"))?),
                    "dateTime.iso8601" | "base64" => Parsed::Other,
                    other => return Err(self.error(&format!("unknown value type <{other}>"))),
                }
            }
        };
        self.close("value")?;
        Ok(parsed)
    }
}

fn decode_entities(raw: &str, out: &mut String) -> Result<(), String> {
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').ok_or("unterminated entity")?;
        let entity = &rest[amp + 1..amp + semi];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| format!("unknown entity &{entity};"))?
            }
        };
        out.push(c);
        rest = &rest[amp + semi + 1..];
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sample::{Domain, DomainState, Host, Reading, Vbd, Vif};

    fn one_domain_sample() -> Sample {
        let reading = Reading {
            host: Host {
                cpus: 2,
                cpu_mhz: 2400,
                mem_total_kb: 3_145_216,
                mem_free_kb: 1_931_504,
                hypervisor: "xen-4.17.7".into(),
                uptime_s: Some(52),
            },
            domains: vec![Domain {
                domid: 1,
                uuid: None,
                name: "web<1>&co".into(),
                state: DomainState::Idle,
                cpu_ns: 8_455_696_062,
                vcpus: 1,
                mem_kb: 131_072,
                max_mem_kb: 132_096,
                vifs: vec![Vif {
                    id: 0,
                    rx_bytes: 1088,
                    tx_bytes: 806,
                    rx_packets: 8,
                    tx_packets: 9,
                    ..Vif::default()
                }],
                vbds: vec![Vbd {
                    id: 51712,
                    rd_reqs: 3,
                    wr_reqs: 4,
                    rd_sectors: 24,
                    wr_sectors: 32,
                    oo_reqs: 0,
                }],
            }],
        };
        Sample::new(
            reading,
            Some(1_700_000_000_000_000),
            1_735_648_496,
            5,
            "xenstat",
        )
    }

    #[test]
    fn writes_a_call_byte_for_byte() {
        let mut xml = String::from("left over from the last sample");
        sample_xml(&one_domain_sample(), &mut xml);
        let golden = concat!(
            "<?xml version=\"1.0\"?><methodCall><methodName>stats.push</methodName>",
            "<params><param><value><string>tok&amp;en</string></value></param><param>",
            "<value><struct>",
            "<member><name>seq</name><value><i8>1700000000000000</i8></value></member>",
            "<member><name>time</name><value><dateTime.iso8601>20241231T12:34:56",
            "</dateTime.iso8601></value></member>",
            "<member><name>interval</name><value><int>5</int></value></member>",
            "<member><name>source</name><value><string>xenstat</string></value></member>",
            "<member><name>host</name><value><struct>",
            "<member><name>cpus</name><value><int>2</int></value></member>",
            "<member><name>cpu_mhz</name><value><int>2400</int></value></member>",
            "<member><name>mem_total_kb</name><value><i8>3145216</i8></value></member>",
            "<member><name>mem_free_kb</name><value><i8>1931504</i8></value></member>",
            "<member><name>hypervisor</name><value><string>xen-4.17.7</string></value></member>",
            "<member><name>uptime_s</name><value><i8>52</i8></value></member>",
            "</struct></value></member>",
            "<member><name>domains</name><value><array><data><value><struct>",
            "<member><name>domid</name><value><int>1</int></value></member>",
            "<member><name>name</name><value><string>web&lt;1&gt;&amp;co</string></value></member>",
            "<member><name>state</name><value><string>idle</string></value></member>",
            "<member><name>cpu_ns</name><value><i8>8455696062</i8></value></member>",
            "<member><name>vcpus</name><value><int>1</int></value></member>",
            "<member><name>mem_kb</name><value><i8>131072</i8></value></member>",
            "<member><name>max_mem_kb</name><value><i8>132096</i8></value></member>",
            "<member><name>vifs</name><value><array><data><value><struct>",
            "<member><name>id</name><value><int>0</int></value></member>",
            "<member><name>rx_bytes</name><value><i8>1088</i8></value></member>",
            "<member><name>tx_bytes</name><value><i8>806</i8></value></member>",
            "<member><name>rx_packets</name><value><i8>8</i8></value></member>",
            "<member><name>tx_packets</name><value><i8>9</i8></value></member>",
            "<member><name>rx_errors</name><value><i8>0</i8></value></member>",
            "<member><name>tx_errors</name><value><i8>0</i8></value></member>",
            "<member><name>rx_drops</name><value><i8>0</i8></value></member>",
            "<member><name>tx_drops</name><value><i8>0</i8></value></member>",
            "</struct></value></data></array></value></member>",
            "<member><name>vbds</name><value><array><data><value><struct>",
            "<member><name>id</name><value><int>51712</int></value></member>",
            "<member><name>rd_reqs</name><value><i8>3</i8></value></member>",
            "<member><name>wr_reqs</name><value><i8>4</i8></value></member>",
            "<member><name>rd_sectors</name><value><i8>24</i8></value></member>",
            "<member><name>wr_sectors</name><value><i8>32</i8></value></member>",
            "<member><name>oo_reqs</name><value><i8>0</i8></value></member>",
            "</struct></value></data></array></value></member>",
            "</struct></value></data></array></value></member>",
            "</struct></value>",
            "</param></params></methodCall>",
        );
        assert_eq!(push_call("tok&en", &xml), golden);
    }

    #[test]
    fn writes_decimals() {
        for n in [0, 7, -7, 10, 1_700_000_000_000_000, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn clamps_and_escapes() {
        let mut out = String::new();
        let mut e = XmlEncoder { out: &mut out };
        e.counter(u64::MAX);
        e.count(u32::MAX);
        e.string("a\u{1}b\tc");
        assert_eq!(
            out,
            "<value><i8>9223372036854775807</i8></value><value><int>2147483647</int></value>\
             <value><string>a\u{FFFD}b\tc</string></value>"
        );
    }

    #[test]
    fn reads_an_acknowledgement() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse>\n  <params><param>\
            <value><struct><member><name>stored</name><value><boolean>1</boolean></value></member>\
            <member><name>seq</name><value><i8>42</i8></value></member></struct></value>\
            </param></params>\n</methodResponse>\n";
        assert_eq!(
            parse_push_response(body),
            Ok(PushAck {
                stored: true,
                seq: 42
            })
        );
    }

    #[test]
    fn reads_a_fault() {
        let body = "<methodResponse><fault><value><struct>\
            <member><name>faultCode</name><value><int>4</int></value></member>\
            <member><name>faultString</name><value>sample.domains[2].cpu_ns must be \
            &gt;= 0 &amp; an i8</value></member></struct></value></fault></methodResponse>";
        assert_eq!(
            parse_push_response(body),
            Err(ResponseError::Fault {
                code: 4,
                message: "sample.domains[2].cpu_ns must be >= 0 & an i8".into()
            })
        );
    }

    #[test]
    fn reads_other_value_types() {
        let body = "<methodResponse><params><param><value><array><data>\
            <value><double>1.5</double></value><value><nil/></value><value/>\
            <value><string><![CDATA[x<y]]></string></value><value>&#65;&#x42;</value>\
            </data></array></value></param></params></methodResponse>";
        let Ok(Response::Value(Parsed::Array(items))) = parse_method_response(body) else {
            panic!("not an array");
        };
        assert_eq!(
            items,
            vec![
                Parsed::Double(1.5),
                Parsed::Other,
                Parsed::Str(String::new()),
                Parsed::Str("x<y".into()),
                Parsed::Str("AB".into()),
            ]
        );
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        for body in [
            "",
            "<html>502 Bad Gateway</html>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]><methodResponse/>",
            "<methodResponse><params><param><value><int>x</int></value></param></params>\
             </methodResponse>",
            "<methodResponse><params><param><value><struct></struct></value></param></params>\
             </methodResponse>",
            "<methodResponse><params><param><value><i4>1</i4></value></param></params>\
             </methodResponse>trailing",
        ] {
            assert!(
                matches!(parse_push_response(body), Err(ResponseError::Malformed(_))),
                "{body}"
            );
        }
        let deep = format!(
            "<methodResponse><params><param>{}{}</param></params></methodResponse>",
            "<value><array><data>".repeat(40),
            "</data></array></value>".repeat(40)
        );
        assert!(parse_method_response(&deep).is_err());
    }
}
