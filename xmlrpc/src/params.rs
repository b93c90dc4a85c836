//! Turning XML-RPC values into typed requests and records back into values.
//!
//! Parameter types are checked by the registry before a handler runs; the accessors here
//! still fail with a fault rather than panic. Struct parameters are read with [`Fields`],
//! which refuses unknown members (fault 4) so a typo is never silently ignored.

use std::collections::{BTreeMap, BTreeSet};

use dxr::{DateTime, Fault, Value};

use crate::fault::{invalid_params, invalid_value, shown};
use crate::registry::type_of;

fn wrong_type(name: &str, expected: &str, value: &Value) -> Fault {
    invalid_params(format!(
        "'{name}' must be {expected}; got {}",
        type_of(value)
    ))
}

fn missing(name: &str) -> Fault {
    invalid_params(format!("parameter '{name}' is missing"))
}

fn as_i32(name: &str, value: &Value) -> Result<i32, Fault> {
    match value {
        Value::Integer(v) => Ok(*v),
        Value::Long(v) => {
            i32::try_from(*v).map_err(|_| invalid_value(name, "is out of the int range"))
        }
        other => Err(wrong_type(name, "an int", other)),
    }
}

fn as_i64(name: &str, value: &Value) -> Result<i64, Fault> {
    match value {
        Value::Integer(v) => Ok(i64::from(*v)),
        Value::Long(v) => Ok(*v),
        other => Err(wrong_type(name, "an int or i8", other)),
    }
}

fn as_str<'a>(name: &str, value: &'a Value) -> Result<&'a str, Fault> {
    match value {
        Value::String(v) => Ok(v),
        other => Err(wrong_type(name, "a string", other)),
    }
}

/// Parameter `index` as an `int`.
pub fn int(params: &[Value], index: usize, name: &str) -> Result<i32, Fault> {
    as_i32(name, params.get(index).ok_or_else(|| missing(name))?)
}

/// Optional parameter `index` as a `dateTime.iso8601` (UTC), in Unix seconds.
pub fn opt_datetime(params: &[Value], index: usize, name: &str) -> Result<Option<i64>, Fault> {
    match params.get(index) {
        None => Ok(None),
        Some(Value::DateTime(t)) => Ok(Some(
            time::PrimitiveDateTime::from(*t)
                .assume_utc()
                .unix_timestamp(),
        )),
        Some(other) => Err(wrong_type(name, "a dateTime.iso8601", other)),
    }
}

/// Parameter `index` as a string.
pub fn string<'a>(params: &'a [Value], index: usize, name: &str) -> Result<&'a str, Fault> {
    as_str(name, params.get(index).ok_or_else(|| missing(name))?)
}

/// Parameter `index` as a struct, read member by member; an absent optional parameter
/// reads as an empty struct.
pub fn fields<'a>(params: &'a [Value], index: usize, name: &str) -> Result<Fields<'a>, Fault> {
    static EMPTY: BTreeMap<String, Value> = BTreeMap::new();
    match params.get(index) {
        None => Ok(Fields {
            name: name.to_owned(),
            members: &EMPTY,
            seen: BTreeSet::new(),
        }),
        Some(Value::Struct(members)) => Ok(Fields {
            name: name.to_owned(),
            members,
            seen: BTreeSet::new(),
        }),
        Some(other) => Err(wrong_type(name, "a struct", other)),
    }
}

/// Parameter `index` as an array of strings.
pub fn strings<'a>(params: &'a [Value], index: usize, name: &str) -> Result<Vec<&'a str>, Fault> {
    match params.get(index) {
        Some(Value::Array(items)) => items.iter().map(|v| as_str(name, v)).collect(),
        Some(other) => Err(wrong_type(name, "an array of strings", other)),
        None => Err(missing(name)),
    }
}

/// The members of a struct parameter, read one by one; [`Fields::finish`] refuses members
/// nobody read.
pub struct Fields<'a> {
    name: String,
    members: &'a BTreeMap<String, Value>,
    seen: BTreeSet<&'static str>,
}

impl<'a> Fields<'a> {
    fn get(&mut self, member: &'static str) -> Option<&'a Value> {
        self.seen.insert(member);
        self.members.get(member)
    }

    fn path(&self, member: &str) -> String {
        format!("{}.{member}", self.name)
    }

    fn required<T>(
        &mut self,
        member: &'static str,
        read: impl Fn(&str, &'a Value) -> Result<T, Fault>,
    ) -> Result<T, Fault> {
        match self.get(member) {
            // The path is formatted only for an error (a sample has thousands of members).
            Some(value) => read("", value).or_else(|_| read(&self.path(member), value)),
            None => Err(invalid_params(format!(
                "'{}' needs the member '{member}'",
                self.name
            ))),
        }
    }

    fn optional<T>(
        &mut self,
        member: &'static str,
        read: impl Fn(&str, &'a Value) -> Result<T, Fault>,
    ) -> Result<Option<T>, Fault> {
        self.get(member)
            .map(|value| read("", value).or_else(|_| read(&self.path(member), value)))
            .transpose()
    }

    /// A required string member.
    pub fn string(&mut self, member: &'static str) -> Result<String, Fault> {
        self.required(member, |p, v| as_str(p, v).map(str::to_owned))
    }

    /// An optional string member.
    pub fn opt_string(&mut self, member: &'static str) -> Result<Option<String>, Fault> {
        self.optional(member, |p, v| as_str(p, v).map(str::to_owned))
    }

    /// A required `int` member.
    pub fn int(&mut self, member: &'static str) -> Result<i32, Fault> {
        self.required(member, as_i32)
    }

    /// An optional `int` member.
    pub fn opt_int(&mut self, member: &'static str) -> Result<Option<i32>, Fault> {
        self.optional(member, as_i32)
    }

    /// A required `int` or `i8` member.
    pub fn long(&mut self, member: &'static str) -> Result<i64, Fault> {
        self.required(member, as_i64)
    }

    /// An optional `int` or `i8` member.
    pub fn opt_long(&mut self, member: &'static str) -> Result<Option<i64>, Fault> {
        self.optional(member, as_i64)
    }

    /// An optional `dateTime.iso8601` member (UTC), as Unix seconds.
    pub fn opt_time(&mut self, member: &'static str) -> Result<Option<i64>, Fault> {
        self.optional(member, |p, v| match v {
            Value::DateTime(t) => Ok(time::PrimitiveDateTime::from(*t)
                .assume_utc()
                .unix_timestamp()),
            other => Err(wrong_type(p, "a dateTime.iso8601", other)),
        })
    }

    /// An optional struct member, read with its own path.
    pub fn opt_fields(&mut self, member: &'static str) -> Result<Option<Fields<'a>>, Fault> {
        let path = self.path(member);
        match self.get(member) {
            None => Ok(None),
            Some(Value::Struct(members)) => Ok(Some(Fields {
                name: path,
                members,
                seen: BTreeSet::new(),
            })),
            Some(other) => Err(wrong_type(&path, "a struct", other)),
        }
    }

    /// An optional `double` member (an int is accepted too).
    pub fn opt_double(&mut self, member: &'static str) -> Result<Option<f64>, Fault> {
        self.optional(member, |p, v| match v {
            Value::Double(d) => Ok(*d),
            Value::Integer(i) => Ok(f64::from(*i)),
            Value::Long(i) => Ok(*i as f64),
            other => Err(wrong_type(p, "a double", other)),
        })
    }

    /// A required `dateTime.iso8601` member (UTC), as Unix seconds.
    pub fn time(&mut self, member: &'static str) -> Result<i64, Fault> {
        let path = self.path(member);
        self.opt_time(member)?
            .ok_or_else(|| invalid_params(format!("'{path}' is missing")))
    }

    /// An optional boolean member.
    pub fn opt_bool(&mut self, member: &'static str) -> Result<Option<bool>, Fault> {
        self.optional(member, |p, v| match v {
            Value::Boolean(b) => Ok(*b),
            other => Err(wrong_type(p, "a boolean", other)),
        })
    }

    /// An optional array member; each item is read by `read` with its own path.
    pub fn opt_array<T>(
        &mut self,
        member: &'static str,
        read: impl Fn(Fields<'a>) -> Result<T, Fault>,
    ) -> Result<Vec<T>, Fault> {
        let path = self.path(member);
        match self.get(member) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Struct(members) => read(Fields {
                        name: format!("{path}[{i}]"),
                        members,
                        seen: BTreeSet::new(),
                    }),
                    other => Err(wrong_type(&format!("{path}[{i}]"), "a struct", other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(&path, "an array of structs", other)),
        }
    }

    /// An optional struct member whose members are all numbers (`int`, `i8` or
    /// `double`), as (name, value) pairs in name order.
    pub fn opt_numbers(&mut self, member: &'static str) -> Result<Vec<(String, f64)>, Fault> {
        match self.get(member) {
            None => Ok(Vec::new()),
            Some(Value::Struct(members)) => members
                .iter()
                .map(|(name, value)| match value {
                    Value::Integer(n) => Ok((name.clone(), f64::from(*n))),
                    Value::Long(n) => Ok((name.clone(), *n as f64)),
                    Value::Double(n) => Ok((name.clone(), *n)),
                    other => Err(wrong_type(
                        &format!("{}.{}", self.path(member), shown(name)),
                        "a number",
                        other,
                    )),
                })
                .collect(),
            Some(other) => Err(wrong_type(&self.path(member), "a struct of numbers", other)),
        }
    }

    /// Refuse members that were not read: a misspelt member is an error, not a no-op.
    pub fn finish(self) -> Result<(), Fault> {
        let unknown: Vec<&str> = self
            .members
            .keys()
            .map(String::as_str)
            .filter(|k| !self.seen.contains(k))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let allowed: Vec<&str> = self.seen.iter().copied().collect();
        Err(invalid_value(
            &self.name,
            format!(
                "unknown member(s) {}; allowed: {}",
                unknown.join(", "),
                allowed.join(", ")
            ),
        ))
    }
}

/// Builds a struct value member by member. Members are collected in a vector and the
/// map is built once at the end, which is cheaper than inserting one by one.
#[derive(Default)]
pub struct Record(Vec<(String, Value)>);

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// Add an `int` member.
    pub fn int(mut self, name: &str, value: i32) -> Record {
        self.0.push((name.to_owned(), Value::Integer(value)));
        self
    }

    /// Add an `i8` member (for values that can pass 2^31).
    pub fn long(mut self, name: &str, value: i64) -> Record {
        self.0.push((name.to_owned(), Value::Long(value)));
        self
    }

    /// Add a string member.
    pub fn string(mut self, name: &str, value: impl Into<String>) -> Record {
        self.0.push((name.to_owned(), Value::String(value.into())));
        self
    }

    /// Add a `double` member.
    pub fn double(mut self, name: &str, value: f64) -> Record {
        self.0.push((name.to_owned(), Value::Double(value)));
        self
    }

    /// Add a boolean member.
    pub fn bool(mut self, name: &str, value: bool) -> Record {
        self.0.push((name.to_owned(), Value::Boolean(value)));
        self
    }

    /// Add a `dateTime.iso8601` member from Unix seconds.
    pub fn time(mut self, name: &str, unix: i64) -> Record {
        self.0.push((name.to_owned(), datetime(unix)));
        self
    }

    /// Add an `int` member when there is a value (XML-RPC has no null).
    pub fn opt_int(self, name: &str, value: Option<i32>) -> Record {
        match value {
            Some(v) => self.int(name, v),
            None => self,
        }
    }

    /// Add a `dateTime.iso8601` member when there is a value.
    pub fn opt_time(self, name: &str, unix: Option<i64>) -> Record {
        match unix {
            Some(v) => self.time(name, v),
            None => self,
        }
    }

    /// Add any value.
    pub fn value(mut self, name: &str, value: Value) -> Record {
        self.0.push((name.to_owned(), value));
        self
    }

    /// The struct value.
    pub fn build(mut self) -> Value {
        self.0.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Value::Struct(self.0.into_iter().collect())
    }
}

/// Unix seconds as a `dateTime.iso8601` in UTC without a zone suffix.
pub fn datetime(unix: i64) -> Value {
    let at =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Value::DateTime(DateTime::from(time::PrimitiveDateTime::new(
        at.date(),
        at.time(),
    )))
}

/// `true`, the answer of methods that have nothing else to say.
pub fn done() -> Value {
    Value::Boolean(true)
}

/// An array of values.
pub fn array(items: impl IntoIterator<Item = Value>) -> Value {
    Value::Array(items.into_iter().collect())
}
