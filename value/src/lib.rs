//! XML-RPC `<value>` documents: the one reader and writer of Zentific's wire format.
//!
//! The server reads calls and writes answers with it, and module calls carry their
//! parameters and results through it, on both sides of the module ABI.
//!
//! - [`write_value`] writes straight into one string: a large `vm.list` is tens of
//!   kilobytes of XML, and writing it directly is several times faster than a generic
//!   serializer.
//! - [`Reader`] is one streaming pass of quick-xml's reader that checks well-formedness,
//!   bounds the nesting depth, rejects DOCTYPEs and builds dxr `Value`s without an
//!   intermediate tree. [`read_value`] reads one standalone `<value>`; the server's call
//!   parser drives a [`Reader`] through `<methodCall>` itself.
//!
//! [`read_value`] first tries a fast path for exactly the layout [`write_value`] writes
//! (see `canonical.rs`) and reads anything else with the [`Reader`].
//!
//! Every type is read and written: `i4`/`int`, `i8`, `boolean`, `string` (and untyped
//! text), `double`, `dateTime.iso8601`, `base64`, `struct`, `array` and `nil`.
//! Errors never quote more than 40 characters of the document.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;
use dxr::{DateTime, Value};
use quick_xml::events::{BytesStart, Event};

mod canonical;

/// What kind of problem a document has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not well-formed XML (cut off, mismatched tags, bad references).
    NotWellFormed,
    /// Well-formed, but not the XML-RPC shape (or nested too deep).
    NotXmlRpc,
    /// The shape is right but a value is not allowed (a struct member given twice).
    Invalid,
}

/// Why a document could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Its kind, which decides the fault code.
    pub kind: ErrorKind,
    /// A sentence for the caller.
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

fn not_well_formed(message: impl Into<String>) -> Error {
    Error {
        kind: ErrorKind::NotWellFormed,
        message: message.into(),
    }
}

/// An [`ErrorKind::NotXmlRpc`] error.
pub fn not_xml_rpc(message: impl Into<String>) -> Error {
    Error {
        kind: ErrorKind::NotXmlRpc,
        message: message.into(),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Writing

/// The `<value>` document of `value`.
pub fn to_xml(value: &Value) -> String {
    let mut out = String::with_capacity(size_hint(value));
    write_value(&mut out, value);
    out
}

/// Append `<value>…</value>` for `value`. A non-finite double, which XML-RPC cannot
/// carry, is written as 0.
pub fn write_value(out: &mut String, value: &Value) {
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
        Value::Nil => out.push_str("<nil/>"),
        // dxr's Value is non-exhaustive; it has no other variant today.
        _ => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
}

/// Escape text for element content; `\r` is written as a character reference so that
/// XML's line-end normalization cannot change it.
pub fn escape(out: &mut String, text: &str) {
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

/// A close upper estimate of the XML size of `value`, so it is written into one
/// allocation instead of a dozen growing copies.
pub fn size_hint(value: &Value) -> usize {
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

// ---------------------------------------------------------------------------------------
// Reading

/// Read a standalone `<value>` document (nothing but whitespace, comments and an XML
/// declaration around it), nesting at most `max_depth` elements deep.
pub fn read_value(text: &str, max_depth: usize) -> Result<Value, Error> {
    if let Some(value) = canonical::read(text, max_depth) {
        return Ok(value);
    }
    let mut reader = Reader::new(text, max_depth, "the value");
    let value = reader.value_element()?;
    match reader.next_element()? {
        None => Ok(value),
        Some(tag) => Err(not_well_formed(format!(
            "the value is followed by {tag}; a document has one root element"
        ))),
    }
}

/// An element boundary.
pub enum Tag {
    /// `<name>`.
    Start(Name),
    /// `</name>`.
    End(Name),
    /// `<name/>`.
    Empty(Name),
}

impl Tag {
    /// The element's name.
    pub fn name(&self) -> &str {
        match self {
            Tag::Start(n) | Tag::End(n) | Tag::Empty(n) => n,
        }
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tag::Start(n) => write!(f, "<{}>", truncate(n, 40)),
            Tag::End(n) => write!(f, "</{}>", truncate(n, 40)),
            Tag::Empty(n) => write!(f, "<{}/>", truncate(n, 40)),
        }
    }
}

/// An element's name: borrowed from a static table for XML-RPC's own names (a large
/// sample has thousands of elements), owned for others, which are kept for messages.
pub type Name = Cow<'static, str>;

fn name_of(start: &BytesStart<'_>) -> Name {
    name_str(start.name().as_ref())
}

fn name_str(name: &str) -> Name {
    const KNOWN: &[&str] = &[
        "value",
        "member",
        "name",
        "struct",
        "array",
        "data",
        "i4",
        "i8",
        "int",
        "string",
        "boolean",
        "double",
        "dateTime.iso8601",
        "base64",
        "nil",
        "param",
        "params",
        "methodName",
        "methodCall",
    ];
    match KNOWN.iter().find(|k| **k == name) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(name.to_owned()),
    }
}

/// A streaming reader of XML-RPC elements over one document.
pub struct Reader<'a> {
    reader: quick_xml::Reader<&'a [u8]>,
    depth: usize,
    max_depth: usize,
    /// What the document is, for messages ("the request", "the value").
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of `text`, nesting at most `max_depth` elements; `what` names the
    /// document in messages.
    pub fn new(text: &'a str, max_depth: usize, what: &'static str) -> Reader<'a> {
        let mut reader = quick_xml::Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        Reader {
            reader,
            depth: 0,
            max_depth,
            what,
        }
    }

    fn shape(&self, detail: impl std::fmt::Display) -> Error {
        not_xml_rpc(format!("{} is not XML-RPC: {detail}", self.what))
    }

    fn unexpected(&self, found: Option<Tag>, expected: &str) -> Error {
        let found = match found {
            Some(tag) => format!("{tag}"),
            None => "the end of the document".into(),
        };
        self.shape(format_args!("expected {expected}, found {found}"))
    }

    fn cut_off(&self, inside: &str) -> Error {
        not_well_formed(format!("{} ends {inside}", self.what))
    }

    /// Read the rest of the document only to check that it is well-formed: every element
    /// closed before the end (the reader checks names and syntax).
    pub fn rest_is_well_formed(&mut self) -> Result<(), Error> {
        let mut depth = self.depth;
        loop {
            match self.event()? {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                Event::Eof if depth > 0 => {
                    return Err(self.cut_off("before all its elements are closed"));
                }
                Event::Eof => return Ok(()),
                _ => {}
            }
        }
    }

    fn event(&mut self) -> Result<Event<'a>, Error> {
        let position = self.reader.buffer_position();
        self.reader.read_event().map_err(|e| {
            not_well_formed(format!(
                "{} is not well-formed XML at byte {position}: {}",
                self.what,
                truncate(&e.to_string(), 160)
            ))
        })
    }

    fn entered(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(not_xml_rpc(format!(
                "{} nests elements deeper than the limit of {}",
                self.what, self.max_depth
            )));
        }
        Ok(())
    }

    /// The next element boundary, skipping whitespace, comments and declarations.
    pub fn next_element(&mut self) -> Result<Option<Tag>, Error> {
        loop {
            match self.event()? {
                Event::Start(start) => {
                    self.entered()?;
                    return Ok(Some(Tag::Start(name_of(&start))));
                }
                Event::End(end) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Some(Tag::End(name_str(end.name().as_ref()))));
                }
                Event::Empty(start) => return Ok(Some(Tag::Empty(name_of(&start)))),
                Event::Text(text) if AsRef::<str>::as_ref(&text).trim().is_empty() => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if self.depth == 0 => {
                    return Err(not_well_formed(format!(
                        "{} has text outside its root element",
                        self.what
                    )));
                }
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(self.shape("text where an element belongs"));
                }
                Event::DocType(_) => {
                    return Err(self.shape("a DOCTYPE is not allowed"));
                }
                Event::Eof => {
                    if self.depth > 0 {
                        return Err(self.cut_off("before all its elements are closed"));
                    }
                    return Ok(None);
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            }
        }
    }

    /// Read `<name>` next, or fail.
    pub fn expect_start(&mut self, name: &str) -> Result<(), Error> {
        match self.next_element()? {
            Some(Tag::Start(n)) if n == name => Ok(()),
            other => Err(self.unexpected(other, &format!("<{name}>"))),
        }
    }

    /// Read `</name>` next, or fail.
    pub fn expect_end(&mut self, name: &str) -> Result<(), Error> {
        match self.next_element()? {
            Some(Tag::End(n)) if n == name => Ok(()),
            other => Err(self.unexpected(other, &format!("</{name}>"))),
        }
    }

    /// The text of the current element up to its end tag (entities resolved).
    pub fn text(&mut self, element: &str) -> Result<String, Error> {
        let mut out = String::new();
        loop {
            match self.event()? {
                Event::Text(text) => out.push_str(&text.xml10_content()),
                Event::CData(data) => out.push_str(&data.into_inner()),
                Event::GeneralRef(reference) => out.push_str(&self.resolve(&reference)?),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(out);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Start(start) | Event::Empty(start) => {
                    return Err(self.shape(format_args!(
                        "<{}> inside <{element}>",
                        truncate(&name_of(&start), 40)
                    )));
                }
                Event::Eof => return Err(self.cut_off("inside an element")),
                Event::Decl(_) | Event::DocType(_) => {
                    return Err(self.shape("a declaration inside an element"));
                }
            }
        }
    }

    /// `<value>…</value>` (the `<value>` start comes next).
    pub fn value_element(&mut self) -> Result<Value, Error> {
        match self.next_element()? {
            Some(Tag::Start(n)) if n == "value" => self.value_body(),
            Some(Tag::Empty(n)) if n == "value" => Ok(Value::String(String::new())),
            other => Err(self.unexpected(other, "<value>")),
        }
    }

    /// The inside of `<value>`, after its start tag, through its end tag. Text directly
    /// inside is a string (the untyped form); whitespace around a typed element is not.
    fn value_body(&mut self) -> Result<Value, Error> {
        let mut untyped = String::new();
        loop {
            match self.event()? {
                Event::Text(text) => untyped.push_str(&text.xml10_content()),
                Event::CData(data) => untyped.push_str(&data.into_inner()),
                Event::GeneralRef(reference) => untyped.push_str(&self.resolve(&reference)?),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Value::String(untyped));
                }
                Event::Start(start) => {
                    if !untyped.trim().is_empty() {
                        return Err(self.shape("text beside a typed value"));
                    }
                    self.entered()?;
                    let value = self.typed(&name_of(&start))?;
                    self.expect_end("value")?;
                    return Ok(value);
                }
                Event::Empty(start) => {
                    let value = match name_of(&start).as_ref() {
                        "string" => Value::String(String::new()),
                        "struct" => Value::Struct(Default::default()),
                        "array" => Value::Array(Vec::new()),
                        "nil" => Value::Nil,
                        other => {
                            return Err(self.shape(format_args!(
                                "empty <{}/> is not a value",
                                truncate(other, 40)
                            )));
                        }
                    };
                    self.expect_end("value")?;
                    return Ok(value);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return Err(self.cut_off("inside a <value>")),
                Event::Decl(_) | Event::DocType(_) => {
                    return Err(self.shape("a declaration inside a <value>"));
                }
            }
        }
    }

    /// A typed value whose start tag was read; reads through its end tag.
    fn typed(&mut self, kind: &str) -> Result<Value, Error> {
        let bad = |reader: &Reader<'_>, text: &str| {
            reader.shape(format_args!(
                "{:?} is not a valid <{kind}>",
                truncate(text, 40)
            ))
        };
        Ok(match kind {
            "i4" | "int" => {
                let text = self.text(kind)?;
                Value::Integer(text.trim().parse().map_err(|_| bad(self, &text))?)
            }
            "i8" => {
                let text = self.text(kind)?;
                Value::Long(text.trim().parse().map_err(|_| bad(self, &text))?)
            }
            "boolean" => {
                let text = self.text(kind)?;
                match text.trim() {
                    "1" => Value::Boolean(true),
                    "0" => Value::Boolean(false),
                    _ => return Err(bad(self, &text)),
                }
            }
            "string" => Value::String(self.text(kind)?),
            "double" => {
                let text = self.text(kind)?;
                let number: f64 = text.trim().parse().map_err(|_| bad(self, &text))?;
                if !number.is_finite() {
                    return Err(bad(self, &text));
                }
                Value::Double(number)
            }
            "dateTime.iso8601" => {
                let text = self.text(kind)?;
                Value::DateTime(
                    text.trim()
                        .parse::<DateTime>()
                        .map_err(|_| bad(self, &text))?,
                )
            }
            "base64" => {
                let text = self.text(kind)?;
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                Value::Base64(
                    base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .map_err(|_| bad(self, &text))?,
                )
            }
            "nil" => {
                let text = self.text(kind)?;
                if !text.trim().is_empty() {
                    return Err(bad(self, &text));
                }
                Value::Nil
            }
            "struct" => {
                let mut members = std::collections::BTreeMap::new();
                loop {
                    match self.next_element()? {
                        Some(Tag::Start(n)) if n == "member" => {
                            self.expect_start("name")?;
                            let name = self.text("name")?;
                            let value = self.value_element()?;
                            self.expect_end("member")?;
                            // A repeated member would let the last copy silently win.
                            if members.contains_key(&name) {
                                return Err(Error {
                                    kind: ErrorKind::Invalid,
                                    message: format!(
                                        "invalid value for '{}': this struct member is given twice",
                                        truncate(&name, 100)
                                    ),
                                });
                            }
                            members.insert(name, value);
                        }
                        Some(Tag::End(n)) if n == "struct" => break,
                        other => return Err(self.unexpected(other, "<member> or </struct>")),
                    }
                }
                Value::Struct(members)
            }
            "array" => {
                let mut items = Vec::new();
                match self.next_element()? {
                    Some(Tag::Start(n)) if n == "data" => loop {
                        match self.next_element()? {
                            Some(Tag::Start(n)) if n == "value" => items.push(self.value_body()?),
                            Some(Tag::Empty(n)) if n == "value" => {
                                items.push(Value::String(String::new()))
                            }
                            Some(Tag::End(n)) if n == "data" => break,
                            other => return Err(self.unexpected(other, "<value> or </data>")),
                        }
                    },
                    Some(Tag::Empty(n)) if n == "data" => {}
                    other => return Err(self.unexpected(other, "<data>")),
                }
                self.expect_end("array")?;
                Value::Array(items)
            }
            other => {
                return Err(self.shape(format_args!(
                    "<{}> is not a value type",
                    truncate(other, 40)
                )));
            }
        })
    }

    /// An entity or character reference.
    fn resolve(
        &self,
        reference: &quick_xml::events::BytesRef<'_>,
    ) -> Result<Cow<'static, str>, Error> {
        if reference.is_char_ref() {
            return match reference.resolve_char_ref() {
                Ok(Some(c)) => Ok(Cow::Owned(c.to_string())),
                _ => Err(not_well_formed(format!(
                    "{} has an invalid character reference",
                    self.what
                ))),
            };
        }
        let name = reference.xml10_content();
        quick_xml::escape::resolve_predefined_entity(&name)
            .map(Cow::Borrowed)
            .ok_or_else(|| {
                not_well_formed(format!(
                    "{} uses the undefined entity &{};",
                    self.what,
                    truncate(&name, 40)
                ))
            })
    }
}

/// A struct holding one value of every type, for tests of readers and writers.
#[doc(hidden)]
pub fn every_type() -> Value {
    Value::Struct(
        [
            ("int".to_string(), Value::Integer(-7)),
            ("long".into(), Value::Long(1 << 40)),
            ("yes".into(), Value::Boolean(true)),
            (
                "text".into(),
                Value::String("a <b> & \"c\" 'd' é\r\n".into()),
            ),
            ("empty".into(), Value::String(String::new())),
            ("ratio".into(), Value::Double(-2.5e-3)),
            (
                "when".into(),
                Value::DateTime("20261201T19:47:30".parse().unwrap()),
            ),
            ("bytes".into(), Value::Base64(vec![0, 1, 2, 255])),
            ("nothing".into(), Value::Nil),
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
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes_and_dxr_agrees() {
        let value = every_type();
        let xml = to_xml(&value);
        assert_eq!(read_value(&xml, 20).unwrap(), value);
        assert_eq!(Value::from_xml(&xml).unwrap(), value);
        assert_eq!(read_value(&value.to_xml().unwrap(), 20).unwrap(), value);
    }

    #[test]
    fn refuses_what_is_not_one_value() {
        let kind = |text: &str| read_value(text, 20).map(|_| ()).unwrap_err().kind;
        assert_eq!(kind("<value><i4>1</i4>"), ErrorKind::NotWellFormed);
        assert_eq!(kind("<value><i4>x</i4></value>"), ErrorKind::NotXmlRpc);
        assert_eq!(kind("<value><nil>x</nil></value>"), ErrorKind::NotXmlRpc);
        assert_eq!(kind("<value/><value/>"), ErrorKind::NotWellFormed);
        assert_eq!(kind("<data/>"), ErrorKind::NotXmlRpc);
        assert_eq!(
            kind(
                "<value><struct><member><name>a</name><value/></member><member><name>a</name><value/></member></struct></value>"
            ),
            ErrorKind::Invalid
        );
        let deep = format!(
            "{}{}",
            "<value><array><data>".repeat(30),
            "</data></array></value>".repeat(30)
        );
        assert_eq!(kind(&deep), ErrorKind::NotXmlRpc);
        assert_eq!(
            read_value("<?xml version=\"1.0\"?>\n<value>plain</value>\n", 20).unwrap(),
            Value::String("plain".into())
        );
    }
}
