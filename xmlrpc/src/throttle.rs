//! Failed logins slow down, per user name and per client address.
//!
//! A name or an address may fail a few times freely ([`FREE_PER_USER`], [`FREE_PER_CLIENT`]);
//! after that each failure closes it for twice as long as the one before, from
//! [`FIRST_DELAY`] up to [`MAX_DELAY`]. While closed, `session.login` answers fault 1 with
//! the wait left, without checking the password — the right one waits too, and a guess
//! costs the server no password hash. Only checked passwords count as failures, so
//! hammering a closed name does not lengthen its wait. A success clears its user name
//! (not its address: one good account must not reset an address's guessing). Addresses
//! count by IPv4 address or IPv6 /64. Other names and addresses are not affected.
//!
//! The counts live in this process: servers sharing a database each keep their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures a user name may have before it is closed for a while.
pub const FREE_PER_USER: u32 = 5;
/// Failures a client address may have before it is closed for a while.
pub const FREE_PER_CLIENT: u32 = 20;
/// The first wait.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A record with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Most records kept; past it, forgotten records are swept, then the oldest.
const MAX_RECORDS: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Client(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Record {
    failures: u32,
    closed_until: Instant,
    last_failure: Instant,
}

/// Why a login is not tried now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// The user name, or the client address.
    pub what: String,
    /// How long until it may try again.
    pub wait: Duration,
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0);
        write!(
            f,
            "too many failed logins for {}; try again in {secs} s",
            self.what
        )
    }
}

/// The failed-login counts.
#[derive(Default)]
pub struct LoginThrottle {
    records: Mutex<HashMap<Key, Record>>,
}

impl LoginThrottle {
    /// Whether `username` from `client` may try a password now.
    pub fn check(&self, username: &str, client: Option<IpAddr>) -> Result<(), Closed> {
        let now = Instant::now();
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys(username, client) {
            if let Some(record) = records.get(&key)
                && record.closed_until > now
            {
                return Err(Closed {
                    what: match &key {
                        Key::User(name) => format!("user '{name}'"),
                        Key::Client(_) => "this address".to_owned(),
                    },
                    wait: record.closed_until - now,
                });
            }
        }
        Ok(())
    }

    /// A checked password was wrong.
    pub fn failed(&self, username: &str, client: Option<IpAddr>) {
        let now = Instant::now();
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() >= MAX_RECORDS {
            sweep(&mut records, now);
        }
        for key in keys(username, client) {
            let free = match key {
                Key::User(_) => FREE_PER_USER,
                Key::Client(_) => FREE_PER_CLIENT,
            };
            let record = records.entry(key).or_insert(Record {
                failures: 0,
                closed_until: now,
                last_failure: now,
            });
            if now.duration_since(record.last_failure) > FORGET_AFTER {
                record.failures = 0;
            }
            record.failures = record.failures.saturating_add(1);
            record.last_failure = now;
            if record.failures > free {
                record.closed_until = now + delay(record.failures - free);
            }
        }
    }

    /// The password was right: the name starts afresh.
    pub fn succeeded(&self, username: &str) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.remove(&Key::User(username.to_owned()));
    }
}

/// The wait after the `n`th failure past the free ones: 1 s, 2 s, 4 s, … 15 min.
fn delay(n: u32) -> Duration {
    let doubled = FIRST_DELAY.saturating_mul(1u32 << (n - 1).min(20));
    doubled.min(MAX_DELAY)
}

fn keys(username: &str, client: Option<IpAddr>) -> impl Iterator<Item = Key> {
    std::iter::once(Key::User(username.to_owned())).chain(client.map(|ip| Key::Client(network(ip))))
}

/// An address as counted: IPv4 whole, IPv6 by its /64 (one host's share).
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
        v4 => v4,
    }
}

/// Drop forgotten records; if that is not enough, the half with the oldest failures.
fn sweep(records: &mut HashMap<Key, Record>, now: Instant) {
    records
        .retain(|_, r| r.closed_until > now || now.duration_since(r.last_failure) < FORGET_AFTER);
    if records.len() >= MAX_RECORDS {
        let mut ages: Vec<Instant> = records.values().map(|r| r.last_failure).collect();
        ages.sort_unstable();
        let cut = ages[ages.len() / 2];
        records.retain(|_, r| r.last_failure > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_name_closes_after_its_free_failures_and_others_stay_open() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_PER_USER {
            assert!(throttle.check("admin", ip("10.0.0.1")).is_ok());
            throttle.failed("admin", ip("10.0.0.1"));
        }
        assert!(throttle.check("admin", ip("10.0.0.1")).is_ok());
        throttle.failed("admin", ip("10.0.0.1"));
        let closed = throttle.check("admin", ip("10.0.0.9")).unwrap_err();
        assert_eq!(closed.what, "user 'admin'");
        assert!(closed.wait <= FIRST_DELAY && closed.wait > Duration::ZERO);
        assert_eq!(
            closed.to_string(),
            "too many failed logins for user 'admin'; try again in 1 s"
        );
        assert!(throttle.check("alice", ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn waits_double_up_to_the_limit() {
        assert_eq!(delay(1), Duration::from_secs(1));
        assert_eq!(delay(2), Duration::from_secs(2));
        assert_eq!(delay(5), Duration::from_secs(16));
        assert_eq!(delay(40), MAX_DELAY);
    }

    #[test]
    fn an_address_closes_for_every_name_and_a_success_does_not_reopen_it() {
        let throttle = LoginThrottle::default();
        for n in 0..=FREE_PER_CLIENT {
            throttle.failed(&format!("guess{n}"), ip("2001:db8::1"));
        }
        throttle.succeeded("guess0");
        let closed = throttle.check("someone", ip("2001:db8::ffff")).unwrap_err();
        assert_eq!(closed.what, "this address");
        assert!(throttle.check("someone", ip("2001:db8:0:1::1")).is_ok());
        assert!(throttle.check("someone", None).is_ok());
    }

    #[test]
    fn a_success_clears_the_name() {
        let throttle = LoginThrottle::default();
        for _ in 0..=FREE_PER_USER {
            throttle.failed("bob", None);
        }
        assert!(throttle.check("bob", None).is_err());
        throttle.succeeded("bob");
        assert!(throttle.check("bob", None).is_ok());
    }

    #[test]
    fn the_records_stay_bounded() {
        let throttle = LoginThrottle::default();
        for n in 0..(MAX_RECORDS + 10) {
            throttle.failed(&format!("u{n}"), None);
        }
        assert!(throttle.records.lock().unwrap().len() <= MAX_RECORDS);
    }
}
