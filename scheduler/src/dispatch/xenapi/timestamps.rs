//! xapi's `dateTime.iso8601` values, made acceptable to dxr.
//!
//! xapi writes timestamps as `20261122T10:00:00Z`: the XML-RPC basic format plus a zone
//! designator (`Z`, or `+01:00` for the few stored with an offset). dxr 0.9 parses only
//! the bare `YYYYMMDDTHH:MM:SS` and fails the whole document on anything else, so one
//! `snapshot_time` would cost the whole inventory. Before a body reaches dxr,
//! [`normalize_datetimes`] rewrites the text of each `<dateTime.iso8601>` element and
//! leaves every other byte alone:
//!
//! * a zone designator and fractional seconds are dropped; the wall-clock time stays as
//!   written (xapi's own clock writes UTC with `Z`, so in practice this loses nothing);
//! * an extended date (`2026-11-22T...`) loses its hyphens;
//! * a value that still does not parse becomes `<string>` with the original text, so the
//!   answer survives and the field reads as that text.
//!
//! Zentific reads no timestamp from xapi today; the rewrite exists so the records that
//! carry them (VM `snapshot_time`, `VM_metrics.start_time`, event snapshots) parse.

use std::borrow::Cow;
use std::str::FromStr;

const OPEN: &str = "<dateTime.iso8601>";
const CLOSE: &str = "</dateTime.iso8601>";

/// Rewrite every `<dateTime.iso8601>` element of an XML-RPC body into a form dxr accepts.
///
/// Borrows the input unchanged when nothing needed rewriting.
pub(super) fn normalize_datetimes(body: &str) -> Cow<'_, str> {
    if !body.contains(OPEN) {
        return Cow::Borrowed(body);
    }
    let mut output = String::with_capacity(body.len());
    let mut rest = body;
    let mut changed = false;
    while let Some(open_at) = rest.find(OPEN) {
        let text_start = open_at + OPEN.len();
        let Some(text_len) = rest[text_start..].find(CLOSE) else {
            break;
        };
        let text = &rest[text_start..text_start + text_len];
        output.push_str(&rest[..open_at]);
        match rewrite(text) {
            Rewrite::Keep => {
                output.push_str(OPEN);
                output.push_str(text);
                output.push_str(CLOSE);
            }
            Rewrite::Naive(naive) => {
                changed = true;
                output.push_str(OPEN);
                output.push_str(&naive);
                output.push_str(CLOSE);
            }
            Rewrite::AsString => {
                changed = true;
                output.push_str("<string>");
                output.push_str(text);
                output.push_str("</string>");
            }
        }
        rest = &rest[text_start + text_len + CLOSE.len()..];
    }
    if !changed {
        return Cow::Borrowed(body);
    }
    output.push_str(rest);
    Cow::Owned(output)
}

/// What to do with one element's text.
#[derive(Debug, PartialEq, Eq)]
enum Rewrite {
    /// dxr already accepts it.
    Keep,
    /// Replace the text with this `YYYYMMDDTHH:MM:SS`.
    Naive(String),
    /// Not a timestamp dxr can be made to accept: send the text as a string.
    AsString,
}

fn rewrite(text: &str) -> Rewrite {
    if dxr::DateTime::from_str(text).is_ok() {
        return Rewrite::Keep;
    }
    match to_naive(text.trim()) {
        Some(naive) if dxr::DateTime::from_str(&naive).is_ok() => Rewrite::Naive(naive),
        _ => Rewrite::AsString,
    }
}

/// `20261122T10:00:00Z`, `2026-11-22T10:00:00.123+01:00`, … → `20261122T10:00:00`.
fn to_naive(text: &str) -> Option<String> {
    let (date, time) = text.split_once('T')?;
    let date = match date.len() {
        8 => date.to_owned(),
        10 if date.as_bytes().get(4) == Some(&b'-') && date.as_bytes().get(7) == Some(&b'-') => {
            date.replace('-', "")
        }
        _ => return None,
    };
    let clock = time.get(..8)?;
    let mut zone = time.get(8..)?;
    if let Some(fraction) = zone.strip_prefix('.') {
        zone = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    if !is_zone_designator(zone) {
        return None;
    }
    Some(format!("{date}T{clock}"))
}

/// ``, `Z`, `+HH`, `+HHMM` or `+HH:MM` (and the same with `-`).
fn is_zone_designator(zone: &str) -> bool {
    if zone.is_empty() || zone == "Z" || zone == "z" {
        return true;
    }
    let Some(offset) = zone.strip_prefix(['+', '-']) else {
        return false;
    };
    let digits: String = offset.chars().filter(|c| *c != ':').collect();
    matches!(digits.len(), 2 | 4)
        && digits.chars().all(|c| c.is_ascii_digit())
        && (offset.len() == digits.len() || offset.get(2..3) == Some(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_z_is_dropped() {
        let body = "<value><dateTime.iso8601>20261122T10:00:00Z</dateTime.iso8601></value>";
        assert_eq!(
            normalize_datetimes(body),
            "<value><dateTime.iso8601>20261122T10:00:00</dateTime.iso8601></value>"
        );
    }

    #[test]
    fn offsets_fractions_and_extended_dates() {
        assert_eq!(
            to_naive("20261122T10:00:00+01:00").as_deref(),
            Some("20261122T10:00:00")
        );
        assert_eq!(
            to_naive("2026-11-22T10:00:00.250Z").as_deref(),
            Some("20261122T10:00:00")
        );
        assert_eq!(
            to_naive("20261122T10:00:00-0530").as_deref(),
            Some("20261122T10:00:00")
        );
        assert_eq!(to_naive("20261122T10:00:00 UTC"), None);
    }

    #[test]
    fn plain_timestamps_and_other_text_are_untouched() {
        let body = "<member><name>note</name><value>20261122T10:00:00Z</value></member>\
                    <value><dateTime.iso8601>20261122T10:00:00</dateTime.iso8601></value>";
        assert!(matches!(normalize_datetimes(body), Cow::Borrowed(_)));
    }

    #[test]
    fn unparseable_timestamps_become_strings() {
        let body = "<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>";
        assert_eq!(
            normalize_datetimes(body),
            "<value><string>yesterday</string></value>"
        );
        // An impossible date (month 13) is no timestamp either.
        let body = "<value><dateTime.iso8601>20261322T10:00:00Z</dateTime.iso8601></value>";
        assert_eq!(
            normalize_datetimes(body),
            "<value><string>20261322T10:00:00Z</string></value>"
        );
    }

    #[test]
    fn every_element_is_rewritten_and_the_rest_kept() {
        let body = "<a><dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601>&amp;\
                    <dateTime.iso8601>20261122T10:00:00Z</dateTime.iso8601></a>";
        assert_eq!(
            normalize_datetimes(body),
            "<a><dateTime.iso8601>19700101T00:00:00</dateTime.iso8601>&amp;\
             <dateTime.iso8601>20261122T10:00:00</dateTime.iso8601></a>"
        );
    }

    #[test]
    fn dxr_refuses_the_z_and_accepts_the_rewrite() {
        let raw = "<value><dateTime.iso8601>20261122T10:00:00Z</dateTime.iso8601></value>";
        assert!(dxr::Value::from_xml(raw).is_err());
        let fixed = normalize_datetimes(raw);
        let value = dxr::Value::from_xml(&fixed).expect("rewritten timestamp parses");
        let dxr::Value::DateTime(stamp) = value else {
            panic!("not a dateTime: {value:?}");
        };
        assert_eq!(
            (stamp.year(), stamp.month(), stamp.day(), stamp.hour()),
            (2026, 11, 22, 10)
        );
    }
}
