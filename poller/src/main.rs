//! The `zentific-poller` command: reads the settings, opens the source, then either prints
//! one sample (`--once`) or runs the push loop until SIGTERM/SIGINT.
//!
//! Exit codes: 0 done (or stopped by a signal), 1 the source or the spool cannot be used,
//! 2 bad command line or config file.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use zentific_poller::config::{self, Command, Partial, Settings};
use zentific_poller::sample::Sample;
use zentific_poller::signals::StopSignal;
use zentific_poller::{daemon, error, json, source, warn};

fn usage_error(message: &str) -> ExitCode {
    eprintln!("zentific-poller: {message}");
    ExitCode::from(2)
}

/// The token in a file any local user can read is the node's identity given away.
fn warn_if_token_exposed(path: &std::path::Path, file: &Partial) {
    use std::os::unix::fs::PermissionsExt;
    let world_readable = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0);
    if file.token.is_some() && world_readable {
        warn!(
            "{} holds the poller token and is readable by every user: chmod 600 it",
            path.display()
        );
    }
}

fn main() -> ExitCode {
    let args = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    let (args, config_path, once) = match config::parse_args(args) {
        Ok(Command::Help) => {
            print!("{}", config::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            let mut features = Vec::new();
            if cfg!(feature = "xenstat") {
                features.push("xenstat");
            }
            if cfg!(feature = "libvirt") {
                features.push("libvirt");
            }
            features.push("synthetic");
            if cfg!(feature = "modules") {
                features.push("collector modules");
            }
            println!(
                "zentific-poller {} (sources: {})",
                env!("CARGO_PKG_VERSION"),
                features.join(", ")
            );
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run { args, config, once }) => (args, config, once),
        Err(e) => return usage_error(&e),
    };
    let file = match &config_path {
        None => Partial::default(),
        Some(path) => {
            let origin = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => match config::parse_config_file(&text, &origin) {
                    Ok(partial) => {
                        warn_if_token_exposed(path, &partial);
                        partial
                    }
                    Err(e) => return usage_error(&e),
                },
                Err(e) => return usage_error(&format!("cannot read config file {origin}: {e}")),
            }
        }
    };
    let settings = match Settings::resolve(args, file, once) {
        Ok(settings) => settings,
        Err(e) => return usage_error(&e),
    };

    let mut source = match source::open(&settings.source, settings.interval) {
        Ok(source) => source,
        Err(e) => {
            eprintln!(
                "zentific-poller: cannot open source {}: {e}",
                settings.source
            );
            return ExitCode::FAILURE;
        }
    };

    // Collector modules' figures, added to every sample.
    #[cfg(feature = "modules")]
    let collectors = settings
        .modules_dir
        .as_deref()
        .map(zentific_poller::collectors::Collectors::load)
        .unwrap_or_default();
    #[cfg(feature = "modules")]
    let extra = || collectors.collect();
    #[cfg(not(feature = "modules"))]
    let extra = Vec::new;

    if settings.once {
        let reading = match source.read() {
            Ok(reading) => reading,
            Err(e) => {
                eprintln!(
                    "zentific-poller: source {} gave no sample: {e}",
                    settings.source
                );
                return ExitCode::FAILURE;
            }
        };
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut sample = Sample::new(
            reading,
            None,
            time,
            settings.interval,
            settings.source.kind(),
        );
        sample.extra = extra();
        print!("{}", json::sample_json(&sample));
        return ExitCode::SUCCESS;
    }

    let stop = match StopSignal::install() {
        Ok(stop) => stop,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    match daemon::run(&settings, source.as_mut(), &extra, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}
