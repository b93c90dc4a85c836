//! JSON for `--once`: the sample through the same [`Encoder`] walk that is pushed, so an
//! admin sees exactly the members the backend would get. `i8` and `int` become numbers,
//! `dateTime.iso8601` an RFC 3339 string (`2024-12-31T12:34:56Z`).

use std::fmt::Write as _;

use crate::encode::{Encoder, civil_utc};
use crate::sample::Sample;

/// `sample` as pretty-printed JSON (two-space indent, a final newline).
pub fn sample_json(sample: &Sample) -> String {
    let mut out = String::with_capacity(4096);
    let mut e = JsonEncoder::new(&mut out);
    sample.encode(&mut e);
    out.push('\n');
    out
}

/// Writes pretty-printed JSON.
pub struct JsonEncoder<'a> {
    out: &'a mut String,
    /// Per open container: is it an array, and has it no item yet.
    open: Vec<(bool, bool)>,
}

impl<'a> JsonEncoder<'a> {
    /// An encoder appending to `out`.
    pub fn new(out: &'a mut String) -> JsonEncoder<'a> {
        JsonEncoder {
            out,
            open: Vec::new(),
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// Separates an array item from the one before; a member's value needs nothing.
    fn item(&mut self) {
        if let Some((true, empty)) = self.open.last_mut() {
            let first = std::mem::replace(empty, false);
            if !first {
                self.out.push(',');
            }
            self.newline();
        }
    }

    fn close(&mut self, bracket: char) {
        if let Some((_, false)) = self.open.pop() {
            self.newline();
        }
        self.out.push(bracket);
    }
}

impl Encoder for JsonEncoder<'_> {
    fn int(&mut self, value: i32) {
        self.item();
        let _ = write!(self.out, "{value}");
    }

    fn i8(&mut self, value: i64) {
        self.item();
        let _ = write!(self.out, "{value}");
    }

    fn string(&mut self, value: &str) {
        self.item();
        string(self.out, value);
    }

    fn time(&mut self, secs: u64) {
        self.item();
        let (y, mo, d, h, mi, s) = civil_utc(secs);
        let _ = write!(self.out, "\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z\"");
    }

    fn double(&mut self, value: f64) {
        self.item();
        let _ = write!(self.out, "{value}");
    }

    fn struct_start(&mut self) {
        self.item();
        self.out.push('{');
        self.open.push((false, true));
    }

    fn member_start(&mut self, name: &str) {
        let first = match self.open.last_mut() {
            Some((_, empty)) => std::mem::replace(empty, false),
            None => true,
        };
        if !first {
            self.out.push(',');
        }
        self.newline();
        string(self.out, name);
        self.out.push_str(": ");
    }

    fn member_end(&mut self) {}

    fn struct_end(&mut self) {
        self.close('}');
    }

    fn array_start(&mut self) {
        self.item();
        self.out.push('[');
        self.open.push((true, true));
    }

    fn array_end(&mut self) {
        self.close(']');
    }
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_prints_every_kind_of_value() {
        let mut out = String::new();
        let mut e = JsonEncoder::new(&mut out);
        e.struct_start();
        e.member_start("seq");
        e.i8(-7);
        e.member_end();
        e.member_start("time");
        e.time(0);
        e.member_end();
        e.member_start("name");
        e.string("q\"b\\n\n\u{1}é");
        e.member_end();
        e.member_start("empty");
        e.array_start();
        e.array_end();
        e.member_end();
        e.member_start("none");
        e.struct_start();
        e.struct_end();
        e.member_end();
        e.member_start("list");
        e.array_start();
        e.int(1);
        e.struct_start();
        e.member_start("x");
        e.int(2);
        e.member_end();
        e.struct_end();
        e.array_end();
        e.member_end();
        e.struct_end();
        let expected = r#"{
  "seq": -7,
  "time": "1970-01-01T00:00:00Z",
  "name": "q\"b\\n\n\u0001é",
  "empty": [],
  "none": {},
  "list": [
    1,
    {
      "x": 2
    }
  ]
}"#;
        assert_eq!(out, expected);
    }
}
