//! The poller's settings, from the command line and a `key = value` file.
//!
//! [`parse_args`] and [`parse_config_file`] each fill a [`Partial`]; [`Settings::resolve`]
//! lays the command line over the file over the defaults and checks the result, so every
//! setting is validated in one place whatever its origin.
//!
//! The file format: one `key = value` per line; `#` starts a comment line; blank lines are
//! ignored; a value may be wrapped in double quotes (kept verbatim inside). Keys are the
//! long option names without `--` (`spool-max` may also be written `spool_max`).

use std::path::PathBuf;
use std::time::Duration;

use crate::source::SourceSpec;

/// The usage text of `--help`.
pub const HELP: &str = "\
zentific-poller: sample a Xen dom0 (or a libvirt host) and push the statistics to Zentific

Usage:
  zentific-poller --server URL --token TOKEN [options]
  zentific-poller --once [--source SOURCE]

Options:
  --server URL       the backend's XML-RPC endpoint, http://host[:port][/path]
                     (path defaults to /RPC2)
  --token TOKEN      the node's poller token (from node.register); prefer the config
                     file, where other users cannot read it from the process list
  --source SOURCE    xenstat (default): this dom0, through libxenstat
                     libvirt:URI: a libvirt host, e.g. libvirt:xen:/// or
                       libvirt:test:///default (when built with the libvirt feature)
                     synthetic:N: N made-up domains, for demos and benchmarks
  --interval SECS    seconds between samples (default 5)
  --spool DIR        where samples wait while the backend is unreachable, and where
                     the last sequence number is kept (default /var/spool/zentific-poller)
  --spool-max N      most samples kept in the spool; the oldest go first (default 10000)
  --timeout SECS     connect, send and answer timeout of one push (default 10)
  --modules-dir DIR  load the collector modules in DIR (libzentific_module_<name>.so,
                     configured by DIR/<name>.json); their figures go in each sample
  --config FILE      read settings from FILE (key = value lines; the command line wins)
  --once             take one sample, print it as JSON and exit (no server needed)
  -h, --help         print this text
  -V, --version      print the version

TLS: the poller speaks plain HTTP. To reach an https backend or cross an untrusted
network, run a local tunnel and point --server at its near end, e.g.
  stunnel (client = yes, accept = 127.0.0.1:8081, connect = backend:443)
  ssh -N -L 8081:127.0.0.1:8080 backend
then --server http://127.0.0.1:8081/RPC2.
";

/// Settings as given by one origin; `None` where that origin says nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial {
    /// `server`.
    pub server: Option<String>,
    /// `token`.
    pub token: Option<String>,
    /// `source`.
    pub source: Option<String>,
    /// `interval`.
    pub interval: Option<String>,
    /// `spool`.
    pub spool: Option<String>,
    /// `spool-max`.
    pub spool_max: Option<String>,
    /// `timeout`.
    pub timeout: Option<String>,
    /// `modules-dir`.
    pub modules_dir: Option<String>,
}

impl Partial {
    /// Sets `key`; false when the key is unknown.
    fn set(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "server" => &mut self.server,
            "token" => &mut self.token,
            "source" => &mut self.source,
            "interval" => &mut self.interval,
            "spool" => &mut self.spool,
            "spool-max" | "spool_max" => &mut self.spool_max,
            "timeout" => &mut self.timeout,
            "modules-dir" | "modules_dir" => &mut self.modules_dir,
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// `self` where it says something, else `under`.
    fn over(self, under: Partial) -> Partial {
        Partial {
            server: self.server.or(under.server),
            token: self.token.or(under.token),
            source: self.source.or(under.source),
            interval: self.interval.or(under.interval),
            spool: self.spool.or(under.spool),
            spool_max: self.spool_max.or(under.spool_max),
            timeout: self.timeout.or(under.timeout),
            modules_dir: self.modules_dir.or(under.modules_dir),
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
// Made once per run: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Print [`HELP`].
    Help,
    /// Print the version.
    Version,
    /// Sample (once, or forever) with these settings from the command line.
    Run {
        /// The settings given as options.
        args: Partial,
        /// `--config FILE`.
        config: Option<PathBuf>,
        /// `--once`.
        once: bool,
    },
}

/// Parses the arguments after the program name. Options take their value as the next
/// argument or after `=` (`--interval=10`).
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut partial = Partial::default();
    let mut config = None;
    let mut once = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value)),
            _ => (arg.clone(), None),
        };
        let flag = |inline: Option<&str>| match inline {
            Some(_) => Err(format!("{name} takes no value")),
            None => Ok(()),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--once" => {
                flag(inline)?;
                once = true;
            }
            _ if name.starts_with("--") => {
                let key = &name[2..];
                let known = key == "config" || Partial::default().set(key, String::new());
                if !known || key == "spool_max" || key == "modules_dir" {
                    return Err(format!("unknown option {name} (see --help)"));
                }
                let value = match inline {
                    Some(v) => v.to_owned(),
                    None => args
                        .next()
                        .ok_or_else(|| format!("{name} needs a value (see --help)"))?,
                };
                if key == "config" {
                    config = Some(PathBuf::from(value));
                } else {
                    partial.set(key, value);
                }
            }
            _ => return Err(format!("unexpected argument `{arg}` (see --help)")),
        }
    }
    Ok(Command::Run {
        args: partial,
        config,
        once,
    })
}

/// Parses the text of a config file; `origin` names it in errors.
pub fn parse_config_file(text: &str, origin: &str) -> Result<Partial, String> {
    let mut partial = Partial::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: String| format!("{origin}, line {}: {what}", i + 1);
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| at(format!("expected `key = value`, found `{line}`")))?;
        let key = key.trim();
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(quoted) => quoted
                .strip_suffix('"')
                .ok_or_else(|| at("unclosed double quote".into()))?,
            None => value,
        };
        if key == "config" || key == "once" || !partial.set(key, value.to_owned()) {
            return Err(at(format!("unknown setting `{key}`")));
        }
    }
    Ok(partial)
}

/// Checked settings for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The backend endpoint; `None` only with `--once`.
    pub server: Option<String>,
    /// The poller token; `None` only with `--once`.
    pub token: Option<String>,
    /// What to sample.
    pub source: SourceSpec,
    /// Seconds between samples.
    pub interval: u32,
    /// The spool directory.
    pub spool: PathBuf,
    /// Most samples kept in the spool.
    pub spool_max: usize,
    /// Timeout of each connect, send and answer.
    pub timeout: Duration,
    /// `--once`.
    pub once: bool,
    /// Where collector modules are loaded from; `None` for none.
    pub modules_dir: Option<PathBuf>,
}

/// Where the spool is when nothing says otherwise.
pub const DEFAULT_SPOOL: &str = "/var/spool/zentific-poller";

impl Settings {
    /// Lays `args` over `file` over the defaults and checks every value.
    pub fn resolve(args: Partial, file: Partial, once: bool) -> Result<Settings, String> {
        let p = args.over(file);
        let number = |key: &str, value: Option<String>, default: u64, min: u64, max: u64| {
            let Some(value) = value else {
                return Ok(default);
            };
            match value.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(format!(
                    "{key} must be a whole number from {min} to {max}, not `{value}`"
                )),
            }
        };
        let interval = number("interval", p.interval, 5, 1, 86_400)? as u32;
        let spool_max = number("spool-max", p.spool_max, 10_000, 1, 10_000_000)? as usize;
        let timeout = Duration::from_secs(number("timeout", p.timeout, 10, 1, 600)?);
        let source = SourceSpec::parse(p.source.as_deref().unwrap_or("xenstat"))?;
        let spool = PathBuf::from(p.spool.unwrap_or_else(|| DEFAULT_SPOOL.to_owned()));
        if spool.as_os_str().is_empty() {
            return Err("spool must name a directory".into());
        }
        let server = p.server.filter(|s| !s.is_empty());
        let token = p.token.filter(|t| !t.is_empty());
        if !once {
            let server = server
                .as_deref()
                .ok_or("no server given: pass --server URL or set `server` in the config file")?;
            crate::http::Endpoint::parse(server)?;
            if token.is_none() {
                return Err(
                    "no token given: pass --token TOKEN or set `token` in the config file".into(),
                );
            }
        }
        let modules_dir = p.modules_dir.filter(|d| !d.is_empty()).map(PathBuf::from);
        if modules_dir.is_some() && !cfg!(feature = "modules") {
            return Err(
                "this poller was built without the modules feature: --modules-dir is not available"
                    .into(),
            );
        }
        Ok(Settings {
            server,
            token,
            source,
            interval,
            spool,
            spool_max,
            timeout,
            once,
            modules_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_options_in_both_spellings() {
        let cmd = args(&[
            "--server",
            "http://b:8080/RPC2",
            "--token=t=1",
            "--source",
            "synthetic:3",
            "--interval=2",
            "--spool",
            "/tmp/s",
            "--spool-max",
            "7",
            "--timeout",
            "3",
            "--config",
            "/etc/p.conf",
            "--once",
        ])
        .unwrap();
        let Command::Run { args, config, once } = cmd else {
            panic!("{cmd:?}");
        };
        assert!(once);
        assert_eq!(config, Some(PathBuf::from("/etc/p.conf")));
        assert_eq!(args.token.as_deref(), Some("t=1"));
        assert_eq!(args.interval.as_deref(), Some("2"));
        assert_eq!(args.spool_max.as_deref(), Some("7"));
        assert_eq!(args.timeout.as_deref(), Some("3"));
    }

    #[test]
    fn help_and_version_win() {
        assert_eq!(args(&["--interval", "x", "--help"]), Ok(Command::Help));
        assert_eq!(args(&["-V"]), Ok(Command::Version));
    }

    #[test]
    fn argument_errors_are_clear() {
        assert_eq!(
            args(&["--bogus", "1"]).unwrap_err(),
            "unknown option --bogus (see --help)"
        );
        assert_eq!(
            args(&["--bogus"]).unwrap_err(),
            "unknown option --bogus (see --help)"
        );
        assert_eq!(
            args(&["--spool_max", "1"]).unwrap_err(),
            "unknown option --spool_max (see --help)"
        );
        assert_eq!(
            args(&["--server"]).unwrap_err(),
            "--server needs a value (see --help)"
        );
        assert_eq!(
            args(&["extra"]).unwrap_err(),
            "unexpected argument `extra` (see --help)"
        );
        assert_eq!(args(&["--once=yes"]).unwrap_err(), "--once takes no value");
    }

    #[test]
    fn parses_a_config_file() {
        let text = "# poller\n\nserver = http://b/RPC2\n  token=\" spaced # not a comment \"\n\
                    spool_max = 50\ninterval =10\n";
        let p = parse_config_file(text, "poller.conf").unwrap();
        assert_eq!(p.server.as_deref(), Some("http://b/RPC2"));
        assert_eq!(p.token.as_deref(), Some(" spaced # not a comment "));
        assert_eq!(p.spool_max.as_deref(), Some("50"));
        assert_eq!(p.interval.as_deref(), Some("10"));
    }

    #[test]
    fn config_errors_name_the_line() {
        assert_eq!(
            parse_config_file("a = 1\n", "f").unwrap_err(),
            "f, line 1: unknown setting `a`"
        );
        assert_eq!(
            parse_config_file("#\nserver\n", "f").unwrap_err(),
            "f, line 2: expected `key = value`, found `server`"
        );
        assert_eq!(
            parse_config_file("token = \"x\n", "f").unwrap_err(),
            "f, line 1: unclosed double quote"
        );
    }

    #[test]
    fn command_line_wins_over_file_over_defaults() {
        let file = parse_config_file("server = http://f/\ntoken = f\ninterval = 9\n", "f").unwrap();
        let Command::Run { args, .. } = args(&["--token", "a", "--source", "synthetic:2"]).unwrap()
        else {
            panic!();
        };
        let s = Settings::resolve(args, file, false).unwrap();
        assert_eq!(s.server.as_deref(), Some("http://f/"));
        assert_eq!(s.token.as_deref(), Some("a"));
        assert_eq!(s.interval, 9);
        assert_eq!(s.source, SourceSpec::Synthetic(2));
        assert_eq!(s.spool, PathBuf::from(DEFAULT_SPOOL));
        assert_eq!(s.spool_max, 10_000);
        assert_eq!(s.timeout, Duration::from_secs(10));
    }

    #[test]
    fn resolve_checks_values() {
        let base = || Partial {
            server: Some("http://b/".into()),
            token: Some("t".into()),
            ..Partial::default()
        };
        let err = |p: Partial| Settings::resolve(p, Partial::default(), false).unwrap_err();
        assert_eq!(
            err(Partial {
                interval: Some("0".into()),
                ..base()
            }),
            "interval must be a whole number from 1 to 86400, not `0`"
        );
        assert!(
            err(Partial {
                spool_max: Some("-1".into()),
                ..base()
            })
            .starts_with("spool-max")
        );
        assert!(
            err(Partial {
                server: None,
                ..base()
            })
            .starts_with("no server given")
        );
        assert!(
            err(Partial {
                token: Some(String::new()),
                ..base()
            })
            .starts_with("no token given")
        );
        assert!(
            err(Partial {
                source: Some("nfs".into()),
                ..base()
            })
            .contains("nfs")
        );
        // --once needs neither server nor token.
        assert!(Settings::resolve(Partial::default(), Partial::default(), true).is_ok());
    }
}
