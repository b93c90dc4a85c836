//! A fast reader for the one layout [`write_value`](crate::write_value) produces: no
//! whitespace, comments or declarations, `i4` for integers, and only the four entities the
//! writer uses. It answers `None` at the first byte outside that layout — or for anything
//! the full reader would refuse (a bad number, a repeated struct member, too deep) — and
//! the caller then reads the document with the full [`Reader`](crate::Reader), which gives
//! the error. Values crossing the module boundary are almost always in this layout, and
//! reading them this way is several times quicker than through an XML tokenizer (see
//! BENCHMARKS.md, "Module calls"); that is why it is written by hand.

use base64::Engine as _;
use dxr::Value;

struct Cursor<'a> {
    rest: &'a str,
    depth: usize,
    max_depth: usize,
}

/// The value in `text` if all of it is one `<value>` in the canonical layout.
pub(crate) fn read(text: &str, max_depth: usize) -> Option<Value> {
    let mut cursor = Cursor {
        rest: text,
        depth: 0,
        max_depth,
    };
    let value = cursor.value()?;
    cursor.rest.is_empty().then_some(value)
}

impl<'a> Cursor<'a> {
    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Option<()> {
        self.eat(token).then_some(())
    }

    fn enter(&mut self, levels: usize) -> Option<()> {
        self.depth += levels;
        (self.depth <= self.max_depth).then_some(())
    }

    /// Text up to the next `<`, with the writer's entities resolved.
    fn text(&mut self) -> Option<String> {
        let end = self.rest.find('<')?;
        let (raw, rest) = self.rest.split_at(end);
        self.rest = rest;
        if !raw.contains('&') {
            return Some(raw.to_owned());
        }
        let mut out = String::with_capacity(raw.len());
        let mut parts = raw.split('&');
        out.push_str(parts.next()?);
        for part in parts {
            let (entity, after) = part.split_once(';')?;
            out.push(match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "#13" => '\r',
                _ => return None,
            });
            out.push_str(after);
        }
        Some(out)
    }

    /// Raw text up to the closing tag `close`, which is consumed.
    fn until(&mut self, close: &str) -> Option<&'a str> {
        let end = self.rest.find('<')?;
        let (raw, rest) = self.rest.split_at(end);
        self.rest = rest.strip_prefix(close)?;
        Some(raw)
    }

    fn value(&mut self) -> Option<Value> {
        self.expect("<value>")?;
        self.enter(2)?;
        let value = if self.eat("<i4>") {
            Value::Integer(self.until("</i4>")?.parse().ok()?)
        } else if self.eat("<string>") {
            let text = self.text()?;
            self.expect("</string>")?;
            Value::String(text)
        } else if self.eat("<struct>") {
            let mut members = std::collections::BTreeMap::new();
            while self.eat("<member><name>") {
                let name = self.text()?;
                self.expect("</name>")?;
                self.enter(1)?;
                let value = self.value()?;
                self.depth -= 1;
                self.expect("</member>")?;
                if members.insert(name, value).is_some() {
                    return None;
                }
            }
            self.expect("</struct>")?;
            Value::Struct(members)
        } else if self.eat("<array><data>") {
            self.enter(1)?;
            let mut items = Vec::new();
            while self.rest.starts_with("<value>") {
                items.push(self.value()?);
            }
            self.expect("</data></array>")?;
            self.depth -= 1;
            Value::Array(items)
        } else if self.eat("<boolean>") {
            match self.until("</boolean>")? {
                "1" => Value::Boolean(true),
                "0" => Value::Boolean(false),
                _ => return None,
            }
        } else if self.eat("<i8>") {
            Value::Long(self.until("</i8>")?.parse().ok()?)
        } else if self.eat("<double>") {
            let number: f64 = self.until("</double>")?.parse().ok()?;
            if !number.is_finite() {
                return None;
            }
            Value::Double(number)
        } else if self.eat("<dateTime.iso8601>") {
            Value::DateTime(self.until("</dateTime.iso8601>")?.parse().ok()?)
        } else if self.eat("<base64>") {
            let text = self.until("</base64>")?;
            Value::Base64(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()?,
            )
        } else if self.eat("<nil/>") {
            Value::Nil
        } else {
            return None;
        };
        self.expect("</value>")?;
        self.depth -= 2;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str, max_depth: usize) -> Result<Value, crate::Error> {
        let mut reader = crate::Reader::new(text, max_depth, "the value");
        reader.value_element()
    }

    #[test]
    fn reads_what_the_writer_writes_as_the_full_reader_does() {
        let value = crate::every_type();
        let xml = crate::to_xml(&value);
        assert_eq!(read(&xml, 20), Some(value.clone()));
        assert_eq!(full(&xml, 20).unwrap(), value);
    }

    #[test]
    fn leaves_everything_else_to_the_full_reader() {
        for text in [
            "<value> <i4>1</i4></value>",
            "<value><int>1</int></value>",
            "<value><i4>x</i4></value>",
            "<value><string>a&quot;b</string></value>",
            "<value><string>a&#x41;</string></value>",
            "<value>untyped</value>",
            "<value><i4>1</i4></value><value/>",
            "<value><struct><member><name>a</name><value><i4>1</i4></value></member><member><name>a</name><value><i4>2</i4></value></member></struct></value>",
            "<value><double>inf</double></value>",
        ] {
            assert_eq!(read(text, 20), None, "{text}");
        }
        let deep = format!(
            "{}{}",
            "<value><array><data>".repeat(7),
            "</data></array></value>".repeat(7)
        );
        assert!(read(&deep, 21).is_some() && full(&deep, 21).is_ok());
        assert!(read(&deep, 20).is_none() && full(&deep, 20).is_err());
    }
}
