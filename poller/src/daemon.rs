//! The poller's loop: one sample per interval, pushed live or spooled, and the spool
//! replayed oldest first whenever the backend answers.
//!
//! Order is the invariant: while anything waits in the spool, a new sample joins the end of
//! the spool instead of overtaking it, and the spool drains (in the time left until the
//! next sample is due) before live pushing resumes. A spooled sample is deleted only after
//! the backend acknowledged it (`stored` true, or false for a replay it already had), or
//! rejected it as malformed (fault 4), so nothing is lost; the backend ignores a `seq` it
//! has, so nothing counts twice.
//!
//! `seq`: the spool's `last-seq` file (or the newest spooled sample, if later) plus one;
//! on a fresh spool, the clock in milliseconds × 1000. Every sample's `seq` is written to
//! `last-seq` before it is sent.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::Settings;
use crate::http::{Client, Endpoint};
use crate::sample::Sample;
use crate::signals::StopSignal;
use crate::source::Source;
use crate::spool::{Spool, SpoolError};
use crate::xmlrpc::{self, PushAck, ResponseError};
use crate::{error, info, warn};

/// The fault code of a malformed sample (`docs/poller-protocol.md`).
const FAULT_INVALID_VALUE: i64 = 4;

/// What became of one push.
enum Outcome {
    /// The backend has the sample (now, or from an earlier push of the same `seq`).
    Acked(PushAck),
    /// The backend will never take this sample (fault 4): drop it.
    Rejected(String),
    /// No acknowledgement (unreachable, timeout, HTTP error, other fault): keep it.
    Failed(String),
}

/// The backend as the loop sees it: where to push, with which token.
struct Backend {
    client: Client,
    /// The call up to the sample (it holds the token), built once.
    call_head: String,
}

impl Backend {
    fn push(&mut self, sample_xml: &str) -> Outcome {
        let call = [
            self.call_head.as_bytes(),
            sample_xml.as_bytes(),
            xmlrpc::PUSH_CALL_TAIL.as_bytes(),
        ];
        let body = match self.client.post("text/xml", &call) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        match xmlrpc::parse_push_response(&String::from_utf8_lossy(&body)) {
            Ok(ack) => Outcome::Acked(ack),
            Err(ResponseError::Fault { code, message }) if code == FAULT_INVALID_VALUE => {
                Outcome::Rejected(message)
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// Whether the backend answered last time, so that only changes are logged.
enum Link {
    Unknown,
    Up,
    Down(String),
}

impl Link {
    fn up(&mut self, endpoint: &Endpoint) {
        match self {
            Link::Unknown => info!("pushing to {endpoint}"),
            Link::Down(_) => info!("{endpoint} answers again"),
            Link::Up => {}
        }
        *self = Link::Up;
    }

    fn down(&mut self, endpoint: &Endpoint, why: String) {
        if !matches!(self, Link::Down(previous) if *previous == why) {
            warn!("cannot push to {endpoint}: {why}; spooling samples until it answers");
            *self = Link::Down(why);
        }
    }
}

/// A failure that stops the poller.
#[derive(Debug)]
pub enum DaemonError {
    /// The spool cannot be opened, or its `last-seq` cannot be read.
    Spool(SpoolError),
}

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonError::Spool(e) => write!(f, "spool: {e}"),
        }
    }
}

impl std::error::Error for DaemonError {}

/// Seconds and milliseconds since the Unix epoch, now.
fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The first `seq` to use with this spool: one past `last-seq` (or past the newest spooled
/// sample, if later); the clock in milliseconds × 1000 on a fresh spool, or when `last-seq`
/// is garbled (a crash in the middle of its write), since that is above anything sent
/// before.
pub fn first_seq(spool: &Spool) -> Result<u64, SpoolError> {
    let from_clock = || now().as_millis() as u64 * 1000;
    let last = match spool.last_seq() {
        Ok(last) => last,
        Err(e) if e.error.kind() == std::io::ErrorKind::InvalidData => {
            warn!("{e}; starting from the clock");
            return Ok(from_clock().max(spool.newest().map_or(0, |n| n + 1)));
        }
        Err(e) => return Err(e),
    };
    Ok(match last.max(spool.newest()) {
        Some(last) => last + 1,
        None => from_clock(),
    })
}

/// Runs until SIGTERM or SIGINT. `settings` must hold a server and a token.
pub fn run(
    settings: &Settings,
    source: &mut dyn Source,
    extra: &dyn Fn() -> Vec<(String, f64)>,
    stop: &StopSignal,
) -> Result<(), DaemonError> {
    let (mut spool, dropped) =
        Spool::open(&settings.spool, settings.spool_max).map_err(DaemonError::Spool)?;
    if !dropped.is_empty() {
        warn!(
            "spool holds more than {} samples: dropped the {} oldest (seq {}..={})",
            settings.spool_max,
            dropped.len(),
            dropped[0],
            dropped[dropped.len() - 1]
        );
    }
    let mut next_seq = first_seq(&spool).map_err(DaemonError::Spool)?;
    let endpoint = Endpoint::parse(settings.server.as_deref().unwrap_or_default())
        .unwrap_or_else(|e| unreachable!("settings are validated: {e}"));
    let mut backend = Backend {
        client: Client::new(endpoint.clone(), settings.timeout),
        call_head: xmlrpc::push_call_head(settings.token.as_deref().unwrap_or_default()),
    };
    let kind = settings.source.kind();
    info!(
        "zentific-poller {} started: source {}, every {} s, to {endpoint}, spool {} ({} waiting), \
         next seq {next_seq}",
        env!("CARGO_PKG_VERSION"),
        settings.source,
        settings.interval,
        spool.dir().display(),
        spool.len()
    );

    let interval = Duration::from_secs(u64::from(settings.interval));
    let mut link = Link::Unknown;
    let mut source_error: Option<String> = None;
    let mut seq_unsaved = false;
    let mut due = Instant::now();
    // One buffer for every sample's XML: a 100-domain sample is ~200 KB, and a fresh
    // allocation of that size each interval costs more than the rest of the work.
    let mut xml = String::new();
    loop {
        let mut failed_now = false;
        match source.read() {
            Ok(reading) => {
                if source_error.take().is_some() {
                    info!("source {} reads again", settings.source);
                }
                let seq = next_seq;
                next_seq += 1;
                match spool.set_last_seq(seq) {
                    Ok(()) => seq_unsaved = false,
                    Err(e) if !seq_unsaved => {
                        error!("{e}: a restart may reuse sequence numbers");
                        seq_unsaved = true;
                    }
                    Err(_) => {}
                }
                let mut sample =
                    Sample::new(reading, Some(seq), now().as_secs(), settings.interval, kind);
                sample.extra = extra();
                xmlrpc::sample_xml(&sample, &mut xml);
                if spool.is_empty() {
                    match backend.push(&xml) {
                        Outcome::Acked(ack) => {
                            link.up(&endpoint);
                            if !ack.stored {
                                warn!(
                                    "the backend already had seq {seq}: is another poller using this token?"
                                );
                            }
                        }
                        Outcome::Rejected(why) => {
                            link.up(&endpoint);
                            warn!(
                                "the backend rejected sample seq {seq} as malformed: {why}; dropped"
                            );
                        }
                        Outcome::Failed(why) => {
                            link.down(&endpoint, why);
                            failed_now = true;
                            spool_sample(&mut spool, seq, &xml, settings.spool_max);
                        }
                    }
                } else {
                    spool_sample(&mut spool, seq, &xml, settings.spool_max);
                }
            }
            Err(e) => {
                let why = e.to_string();
                if source_error.as_ref() != Some(&why) {
                    error!("source {} gave no sample: {why}", settings.source);
                    source_error = Some(why);
                }
            }
        }

        due += interval;
        let now = Instant::now();
        if due <= now {
            // Late (a slow push, or a suspended machine): skip the missed samples rather
            // than taking them in a burst.
            let behind = now - due;
            let missed = (behind.as_nanos() / interval.as_nanos()) as u32 + 1;
            due += interval * missed;
        }
        if !failed_now && !spool.is_empty() {
            replay(&mut spool, &mut backend, &mut link, &endpoint, due, stop);
        }
        if stop.wait(due) {
            break;
        }
    }
    info!(
        "stopping on signal; {} samples wait in the spool",
        spool.len()
    );
    Ok(())
}

fn spool_sample(spool: &mut Spool, seq: u64, xml: &str, max: usize) {
    match spool.put(seq, xml.as_bytes()) {
        Ok(dropped) => {
            for old in dropped {
                warn!("spool full ({max} samples): dropped the oldest, seq {old}");
            }
        }
        Err(e) => error!("{e}: sample seq {seq} is lost"),
    }
}

/// Sends spooled samples, oldest first, until the spool is empty, `deadline` passes, a push
/// fails or a stop is requested.
fn replay(
    spool: &mut Spool,
    backend: &mut Backend,
    link: &mut Link,
    endpoint: &Endpoint,
    deadline: Instant,
    stop: &StopSignal,
) {
    let (mut sent, mut duplicates) = (0u64, 0u64);
    while let Some((seq, bytes)) = spool.oldest() {
        if stop.requested() || Instant::now() >= deadline {
            break;
        }
        let xml = match bytes.map(String::from_utf8) {
            Ok(Ok(xml)) => xml,
            Ok(Err(_)) => {
                error!("spooled sample seq {seq} is not UTF-8; dropped");
                forget(spool, seq);
                continue;
            }
            Err(e) => {
                error!("{e}; sample seq {seq} dropped");
                forget(spool, seq);
                continue;
            }
        };
        match backend.push(&xml) {
            Outcome::Acked(ack) => {
                link.up(endpoint);
                sent += 1;
                duplicates += u64::from(!ack.stored);
                if ack.seq != seq as i64 {
                    warn!(
                        "the backend acknowledged seq {} for spooled seq {seq}",
                        ack.seq
                    );
                }
                forget(spool, seq);
            }
            Outcome::Rejected(why) => {
                link.up(endpoint);
                warn!("the backend rejected spooled sample seq {seq} as malformed: {why}; dropped");
                forget(spool, seq);
            }
            Outcome::Failed(why) => {
                link.down(endpoint, why);
                break;
            }
        }
    }
    if sent > 0 {
        info!(
            "replayed {sent} spooled samples ({duplicates} the backend already had); {} waiting",
            spool.len()
        );
    }
}

fn forget(spool: &mut Spool, seq: u64) {
    if let Err(e) = spool.remove(seq) {
        error!("{e}: it will be sent again after a restart");
    }
}
