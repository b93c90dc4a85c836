//! Global options: the installation-wide settings an admin changes on the Configuration
//! page (stat retention, node user, default language, per-VM limits).
//!
//! Each option is declared once in [`OPTION_DEFS`] with its type, default and rule; the
//! table holds only text, and typed access goes through [`GlobalOptions`].

use crate::{Caller, Role, Store, StoreError, validate};

/// A value of a global option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// An integer option.
    Int(i64),
    /// A text option.
    Text(String),
}

impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionValue::Int(v) => write!(f, "{v}"),
            OptionValue::Text(v) => f.write_str(v),
        }
    }
}

/// The type and rule of one option.
#[derive(Clone, Copy, Debug)]
pub enum OptionRule {
    /// An integer between the two bounds, inclusive.
    IntRange(i64, i64),
    /// A name (letters, digits, `.`, `_`, `-`).
    Name,
    /// A language tag.
    Language,
}

/// The declaration of one global option.
#[derive(Clone, Copy, Debug)]
pub struct OptionDef {
    /// The option's name on the wire.
    pub name: &'static str,
    /// What it controls, for people.
    pub help: &'static str,
    /// Its value on a new installation.
    pub default: &'static str,
    /// Its type and rule.
    pub rule: OptionRule,
}

/// Every global option.
pub const OPTION_DEFS: &[OptionDef] = &[
    OptionDef {
        name: "stat_retention_days",
        help: "days that raw statistics samples are kept before only roll-ups remain",
        default: "7",
        rule: OptionRule::IntRange(1, 3650),
    },
    OptionDef {
        name: "node_user",
        help: "the user Zentific logs in as on nodes reached over SSH",
        default: "root",
        rule: OptionRule::Name,
    },
    OptionDef {
        name: "default_language",
        help: "the language of new users who do not choose one",
        default: "en",
        rule: OptionRule::Language,
    },
    OptionDef {
        name: "vm_max_memory_kb",
        help: "the most memory (and max memory) one VM may have, in KiB",
        default: "16777216",
        rule: OptionRule::IntRange(1024, 1 << 40),
    },
    OptionDef {
        name: "vm_max_vcpus",
        help: "the most vCPUs one VM may have",
        default: "8",
        rule: OptionRule::IntRange(1, 512),
    },
    OptionDef {
        name: "schedule_min_interval_secs",
        help: "the shortest gap between two runs of a recurring schedule made by a non-admin, in seconds",
        default: "60",
        rule: OptionRule::IntRange(1, 86_400),
    },
    OptionDef {
        name: "event_retention_hours",
        help: "hours that events are kept for event.next; a client away longer starts again",
        default: "168",
        rule: OptionRule::IntRange(1, 24 * 366),
    },
    OptionDef {
        name: "module_call_limit_secs",
        help: "seconds a module method may take before its caller gets a fault; a module with 4 calls past the limit still running is not called again until they return",
        default: "10",
        rule: OptionRule::IntRange(1, 600),
    },
    OptionDef {
        name: "console_idle_secs",
        help: "seconds a VM console may pass with no bytes either way before the server closes it",
        default: "900",
        rule: OptionRule::IntRange(10, 86_400),
    },
    OptionDef {
        name: "multicall_max_calls",
        help: "the most calls one system.multicall may carry",
        default: "1000",
        rule: OptionRule::IntRange(1, 100_000),
    },
    OptionDef {
        name: "session_lifetime_hours",
        help: "hours a session token stays valid after login (sessions already open keep their end)",
        default: "12",
        rule: OptionRule::IntRange(1, 24 * 90),
    },
    OptionDef {
        name: "session_idle_minutes",
        help: "minutes without a call after which a session ends; 0 keeps idle sessions until their lifetime ends",
        default: "0",
        rule: OptionRule::IntRange(0, 60 * 24 * 90),
    },
];

impl OptionDef {
    /// Look an option up by name; the error lists the known names.
    pub fn find(name: &str) -> Result<&'static OptionDef, StoreError> {
        OPTION_DEFS.iter().find(|d| d.name == name).ok_or_else(|| {
            let known: Vec<&str> = OPTION_DEFS.iter().map(|d| d.name).collect();
            StoreError::invalid(
                name,
                format!(
                    "is not a global option; the options are {}",
                    known.join(", ")
                ),
            )
        })
    }

    /// Check a value against the option's type and rule; returns the text to store.
    pub fn check(&self, value: &OptionValue) -> Result<String, StoreError> {
        match (self.rule, value) {
            (OptionRule::IntRange(min, max), OptionValue::Int(v)) => {
                validate::range(self.name, *v, min, max)?;
                Ok(v.to_string())
            }
            (OptionRule::Name, OptionValue::Text(v)) => {
                validate::name(self.name, v)?;
                Ok(v.clone())
            }
            (OptionRule::Language, OptionValue::Text(v)) => validate::language(self.name, v),
            (OptionRule::IntRange(..), _) => {
                Err(StoreError::invalid(self.name, "must be an integer"))
            }
            (_, _) => Err(StoreError::invalid(self.name, "must be a string")),
        }
    }

    /// Turn stored text back into a typed value.
    fn decode(&self, text: &str) -> OptionValue {
        match self.rule {
            OptionRule::IntRange(..) => OptionValue::Int(
                text.parse()
                    .unwrap_or_else(|_| self.default.parse().unwrap_or(0)),
            ),
            _ => OptionValue::Text(text.to_owned()),
        }
    }
}

/// The global options, typed, as the rest of the code reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalOptions {
    /// Days raw statistics are kept.
    pub stat_retention_days: i64,
    /// SSH user on nodes.
    pub node_user: String,
    /// Language of new users.
    pub default_language: String,
    /// Per-VM memory limit, KiB.
    pub vm_max_memory_kb: i64,
    /// Per-VM vCPU limit.
    pub vm_max_vcpus: i64,
    /// Shortest gap between runs of a non-admin's recurring schedule, seconds.
    pub schedule_min_interval_secs: i64,
    /// Hours events are kept.
    pub event_retention_hours: i64,
    /// Seconds a module method may take.
    pub module_call_limit_secs: i64,
    /// Seconds a console may be idle before it is closed.
    pub console_idle_secs: i64,
    /// Most calls in one `system.multicall`.
    pub multicall_max_calls: i64,
    /// Hours a session lasts after login.
    pub session_lifetime_hours: i64,
    /// Minutes without a call that end a session (0: never).
    pub session_idle_minutes: i64,
}

impl GlobalOptions {
    pub(crate) fn from_pairs(pairs: &[(String, OptionValue)]) -> GlobalOptions {
        let int = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| match v {
                    OptionValue::Int(i) => Some(*i),
                    OptionValue::Text(_) => None,
                })
        };
        let text = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_string())
        };
        GlobalOptions {
            stat_retention_days: int("stat_retention_days").unwrap_or(7),
            node_user: text("node_user").unwrap_or_else(|| "root".into()),
            default_language: text("default_language").unwrap_or_else(|| "en".into()),
            vm_max_memory_kb: int("vm_max_memory_kb").unwrap_or(16_777_216),
            vm_max_vcpus: int("vm_max_vcpus").unwrap_or(8),
            schedule_min_interval_secs: int("schedule_min_interval_secs").unwrap_or(60),
            event_retention_hours: int("event_retention_hours").unwrap_or(168),
            module_call_limit_secs: int("module_call_limit_secs").unwrap_or(10),
            console_idle_secs: int("console_idle_secs").unwrap_or(900),
            multicall_max_calls: int("multicall_max_calls").unwrap_or(1000),
            session_lifetime_hours: int("session_lifetime_hours").unwrap_or(12),
            session_idle_minutes: int("session_idle_minutes").unwrap_or(0),
        }
    }
}

/// Decode stored (name, text) rows, in [`OPTION_DEFS`] order, defaults for missing rows.
pub(crate) fn decode_rows(rows: &[(String, String)]) -> Vec<(String, OptionValue)> {
    OPTION_DEFS
        .iter()
        .map(|def| {
            let text = rows
                .iter()
                .find(|(n, _)| n == def.name)
                .map_or(def.default, |(_, v)| v.as_str());
            (def.name.to_owned(), def.decode(text))
        })
        .collect()
}

impl Store {
    /// Every global option with its current value, in declaration order; every user may
    /// read them (the Provision page shows the limits).
    pub fn options(&self, _actor: &Caller) -> Result<Vec<(String, OptionValue)>, StoreError> {
        self.read(crate::ops::options::all)
    }

    /// The global options, typed.
    pub fn global_options(&self) -> Result<GlobalOptions, StoreError> {
        Ok(GlobalOptions::from_pairs(
            &self.read(crate::ops::options::all)?,
        ))
    }

    /// Set several options at once (admins only): all are checked first, then written in
    /// one transaction, so one bad value changes nothing.
    pub fn set_options(
        &self,
        actor: &Caller,
        values: &[(String, OptionValue)],
    ) -> Result<(), StoreError> {
        actor.require_role(Role::Admin, "changing global options")?;
        if values.is_empty() {
            return Err(StoreError::invalid(
                "options",
                "give at least one option to set",
            ));
        }
        let mut checked = Vec::with_capacity(values.len());
        for (name, value) in values {
            let def = OptionDef::find(name)?;
            checked.push((def.name, def.check(value)?));
        }
        self.write(|conn| crate::ops::options::set(conn, actor, &checked))
    }
}
