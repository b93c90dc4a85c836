//! Where samples come from, behind one trait.
//!
//! - [`xenstat`] (feature `xenstat`, on by default): this dom0, through Xen's libxenstat;
//! - [`libvirt`] (feature `libvirt`): any libvirt connection, e.g. `libvirt:xen:///` or the
//!   test driver `libvirt:test:///default`;
//! - [`synthetic`]: N made-up domains whose counters grow plausibly and deterministically,
//!   for benchmarks and demos.
//!
//! The poller opens one [`Source`] from a [`SourceSpec`] and calls [`Source::read`] once per
//! interval; a source only reads and converts units, it never decides what to push.

use std::fmt;

use crate::sample::Reading;

#[cfg(feature = "libvirt")]
pub mod libvirt;
pub mod synthetic;
#[cfg(feature = "xenstat")]
pub mod xenstat;

/// A source as named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// `xenstat`.
    Xenstat,
    /// `libvirt:URI` (`libvirt` alone: libvirt's default URI).
    Libvirt(Option<String>),
    /// `synthetic:N`.
    Synthetic(u32),
}

/// Most domains `synthetic:N` makes up.
pub const MAX_SYNTHETIC: u32 = 100_000;

impl SourceSpec {
    /// Parses `xenstat`, `libvirt[:URI]` or `synthetic:N`.
    pub fn parse(text: &str) -> Result<SourceSpec, String> {
        let (kind, arg) = match text.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (text, None),
        };
        match (kind, arg) {
            ("xenstat", None) => Ok(SourceSpec::Xenstat),
            ("libvirt", None) => Ok(SourceSpec::Libvirt(None)),
            ("libvirt", Some(uri)) if !uri.is_empty() => {
                Ok(SourceSpec::Libvirt(Some(uri.to_owned())))
            }
            ("synthetic", Some(n)) => match n.parse::<u32>() {
                Ok(n) if (1..=MAX_SYNTHETIC).contains(&n) => Ok(SourceSpec::Synthetic(n)),
                _ => Err(format!(
                    "source `{text}`: N in synthetic:N must be a whole number from 1 to \
                     {MAX_SYNTHETIC}"
                )),
            },
            _ => Err(format!(
                "unknown source `{text}`: expected xenstat, libvirt:URI or synthetic:N"
            )),
        }
    }

    /// The protocol's `source` member for samples from this source.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSpec::Xenstat => "xenstat",
            SourceSpec::Libvirt(_) => "libvirt",
            SourceSpec::Synthetic(_) => "synthetic",
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Xenstat => f.write_str("xenstat"),
            SourceSpec::Libvirt(None) => f.write_str("libvirt"),
            SourceSpec::Libvirt(Some(uri)) => write!(f, "libvirt:{uri}"),
            SourceSpec::Synthetic(n) => write!(f, "synthetic:{n}"),
        }
    }
}

/// Why a source gave no reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceError {
    /// The source cannot be used on this machine (not a dom0, no libvirt connection, or
    /// support not built in); running again will not help until that changes.
    Unavailable(String),
    /// One reading failed; the next may succeed.
    ReadFailed(String),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Unavailable(why) | SourceError::ReadFailed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SourceError {}

/// Something that reads a node's statistics.
pub trait Source {
    /// Reads the host and its domains now.
    fn read(&mut self) -> Result<Reading, SourceError>;
}

/// Opens the source `spec` names; `interval` paces the synthetic source's counters.
pub fn open(spec: &SourceSpec, interval: u32) -> Result<Box<dyn Source>, SourceError> {
    match spec {
        #[cfg(feature = "xenstat")]
        SourceSpec::Xenstat => Ok(Box::new(xenstat::XenstatSource::open()?)),
        #[cfg(not(feature = "xenstat"))]
        SourceSpec::Xenstat => Err(SourceError::Unavailable(
            "this zentific-poller was built without xenstat support (cargo feature `xenstat`)"
                .into(),
        )),
        #[cfg(feature = "libvirt")]
        SourceSpec::Libvirt(uri) => Ok(Box::new(libvirt::LibvirtSource::open(uri.as_deref())?)),
        #[cfg(not(feature = "libvirt"))]
        SourceSpec::Libvirt(_) => Err(SourceError::Unavailable(
            "this zentific-poller was built without libvirt support (cargo feature `libvirt`)"
                .into(),
        )),
        SourceSpec::Synthetic(n) => Ok(Box::new(synthetic::Synthetic::new(*n, interval))),
    }
}

/// Seconds since this machine booted, from `/proc/uptime`.
pub fn local_uptime() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let first = text.split_whitespace().next()?;
    let whole = first.split('.').next()?;
    whole.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(SourceSpec::parse("xenstat"), Ok(SourceSpec::Xenstat));
        assert_eq!(
            SourceSpec::parse("libvirt:test:///default"),
            Ok(SourceSpec::Libvirt(Some("test:///default".into())))
        );
        assert_eq!(SourceSpec::parse("libvirt"), Ok(SourceSpec::Libvirt(None)));
        assert_eq!(
            SourceSpec::parse("synthetic:100"),
            Ok(SourceSpec::Synthetic(100))
        );
        for bad in [
            "",
            "xenstat:1",
            "synthetic",
            "synthetic:0",
            "synthetic:x",
            "libvirt:",
            "kvm",
        ] {
            assert!(SourceSpec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            SourceSpec::parse("libvirt:qemu:///system")
                .unwrap()
                .to_string(),
            "libvirt:qemu:///system"
        );
    }

    #[test]
    fn uptime_is_read() {
        assert!(local_uptime().is_some_and(|s| s > 0));
    }
}
