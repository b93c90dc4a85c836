//! The spool directory: samples waiting for the backend, and the last sequence number.
//!
//! Layout (all files are the poller's own):
//!
//! - `last-seq`: the `seq` of the last sample taken (20 digits, zero-padded), rewritten in
//!   place each interval;
//! - `NNNNNNNNNNNNNNNNNNNN.xml`: one waiting sample, named by its zero-padded `seq` (so name
//!   order is age order), holding the sample's XML-RPC `<value>` — without the token, which
//!   is added when it is sent, so a rotated token applies to old samples too.
//!
//! Every file is written to a `.tmp` name first and renamed into place, so a crash leaves
//! either the old file or the new one, never half of one (stray `.tmp` files are removed at
//! start). The list of waiting samples is read once at start and then kept in memory: the
//! poller is the only writer.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const LAST_SEQ: &str = "last-seq";
/// Digits in `last-seq`: every u64 fits, so each write covers the same bytes.
const LAST_SEQ_WIDTH: usize = 20;
const SAMPLE_SUFFIX: &str = ".xml";
const TMP_SUFFIX: &str = ".tmp";

/// A spool directory opened by [`Spool::open`].
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max: usize,
    /// The `seq`s of waiting samples, oldest first.
    waiting: VecDeque<u64>,
    /// `last-seq`, open once it has been written.
    seq_file: Option<fs::File>,
}

/// A spool operation that failed, with the path it failed on.
#[derive(Debug)]
pub struct SpoolError {
    /// What was being done, e.g. "cannot write".
    pub action: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    /// The operating system's reason.
    pub error: io::Error,
}

impl std::fmt::Display for SpoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.action, self.path.display(), self.error)
    }
}

impl std::error::Error for SpoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

fn err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SpoolError {
    let path = path.to_owned();
    move |error| SpoolError {
        action,
        path,
        error,
    }
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir`, keeping at most `max` samples.
    /// Returns the spool and the `seq`s of samples dropped because there were more than
    /// `max` already (after a smaller `--spool-max`).
    pub fn open(dir: &Path, max: usize) -> Result<(Spool, Vec<u64>), SpoolError> {
        fs::create_dir_all(dir).map_err(err("cannot create", dir))?;
        let mut waiting = Vec::new();
        for entry in fs::read_dir(dir).map_err(err("cannot read", dir))? {
            let entry = entry.map_err(err("cannot read", dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(TMP_SUFFIX) {
                // Half-written by a poller that died mid-write; the rename never happened.
                let _ = fs::remove_file(entry.path());
            } else if let Some(Ok(seq)) = name.strip_suffix(SAMPLE_SUFFIX).map(str::parse::<u64>) {
                waiting.push(seq);
            }
        }
        waiting.sort_unstable();
        let mut spool = Spool {
            dir: dir.to_owned(),
            max: max.max(1),
            waiting: waiting.into(),
            seq_file: None,
        };
        let dropped = spool.enforce_bound();
        Ok((spool, dropped))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many samples are waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether no sample is waiting.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The highest `seq` among waiting samples.
    pub fn newest(&self) -> Option<u64> {
        self.waiting.back().copied()
    }

    /// The `last-seq` file's value; `None` when there is no such file (a fresh spool).
    /// An unreadable or garbled file is an error: guessing could reuse a `seq`.
    pub fn last_seq(&self) -> Result<Option<u64>, SpoolError> {
        let path = self.dir.join(LAST_SEQ);
        match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse().map(Some).map_err(|_| SpoolError {
                action: "cannot parse",
                path,
                error: io::Error::new(io::ErrorKind::InvalidData, "not a sequence number"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err("cannot read", &path)(e)),
        }
    }

    /// Records `seq` as the last one taken: one `pwrite(2)` of a fixed-width line over the
    /// whole file, kept open between samples (the file's blocks never move, so the write
    /// replaces the old number or, on a crash mid-write, leaves a line [`Spool::last_seq`]
    /// refuses rather than a wrong number).
    pub fn set_last_seq(&mut self, seq: u64) -> Result<(), SpoolError> {
        let path = self.dir.join(LAST_SEQ);
        let line = format!("{seq:0LAST_SEQ_WIDTH$}\n");
        let fresh = self.seq_file.is_none();
        if fresh {
            let file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(err("cannot open", &path))?;
            self.seq_file = Some(file);
        }
        let Some(file) = &self.seq_file else {
            unreachable!("opened above")
        };
        file.write_all_at(line.as_bytes(), 0)
            .and_then(|()| {
                if fresh {
                    file.set_len(line.len() as u64)
                } else {
                    Ok(())
                }
            })
            .map_err(|e| {
                self.seq_file = None;
                err("cannot write", &path)(e)
            })
    }

    /// Adds a sample; returns the `seq`s of the oldest samples dropped to stay within the
    /// bound (the caller warns about them).
    pub fn put(&mut self, seq: u64, sample_xml: &[u8]) -> Result<Vec<u64>, SpoolError> {
        self.write_atomically(&file_name(seq), sample_xml)?;
        // Samples arrive in seq order; keep the queue sorted even if one does not.
        let at = self.waiting.partition_point(|s| *s < seq);
        if self.waiting.get(at) != Some(&seq) {
            self.waiting.insert(at, seq);
        }
        Ok(self.enforce_bound())
    }

    /// The oldest waiting sample, read from its file.
    pub fn oldest(&self) -> Option<(u64, Result<Vec<u8>, SpoolError>)> {
        let seq = *self.waiting.front()?;
        let path = self.dir.join(file_name(seq));
        Some((seq, fs::read(&path).map_err(err("cannot read", &path))))
    }

    /// Deletes a sample (acknowledged by the backend, or unreadable).
    pub fn remove(&mut self, seq: u64) -> Result<(), SpoolError> {
        if let Some(at) = self.waiting.iter().position(|s| *s == seq) {
            self.waiting.remove(at);
        }
        let path = self.dir.join(file_name(seq));
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(err("cannot delete", &path)(e)),
            _ => Ok(()),
        }
    }

    fn enforce_bound(&mut self) -> Vec<u64> {
        let mut dropped = Vec::new();
        while self.waiting.len() > self.max {
            if let Some(seq) = self.waiting.pop_front() {
                let _ = fs::remove_file(self.dir.join(file_name(seq)));
                dropped.push(seq);
            }
        }
        dropped
    }

    fn write_atomically(&self, name: &str, bytes: &[u8]) -> Result<(), SpoolError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!("{name}{TMP_SUFFIX}"));
        let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(err("cannot write", &tmp)(e));
        }
        fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            err("cannot rename into", &path)(e)
        })
    }
}

fn file_name(seq: u64) -> String {
    format!("{seq:020}{SAMPLE_SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn keeps_order_and_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, dropped) = Spool::open(dir.path(), 3).unwrap();
        assert!(dropped.is_empty() && spool.is_empty());
        for seq in [10, 12, 11] {
            assert!(
                spool
                    .put(seq, format!("s{seq}").as_bytes())
                    .unwrap()
                    .is_empty()
            );
        }
        assert_eq!(spool.len(), 3);
        // A fourth drops the oldest.
        assert_eq!(spool.put(13, b"s13").unwrap(), vec![10]);
        assert_eq!(
            names(dir.path()),
            [
                "00000000000000000011.xml",
                "00000000000000000012.xml",
                "00000000000000000013.xml"
            ]
        );
        let (seq, bytes) = spool.oldest().unwrap();
        assert_eq!((seq, bytes.unwrap()), (11, b"s11".to_vec()));
        spool.remove(11).unwrap();
        assert_eq!(spool.oldest().unwrap().0, 12);
        assert_eq!(spool.newest(), Some(13));
    }

    #[test]
    fn reopening_finds_samples_and_applies_a_smaller_bound() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut spool, _) = Spool::open(dir.path(), 100).unwrap();
            for seq in 1..=5 {
                spool.put(seq, b"x").unwrap();
            }
            spool.set_last_seq(5).unwrap();
        }
        fs::write(dir.path().join("00000000000000000009.xml.tmp"), b"half").unwrap();
        fs::write(dir.path().join("unrelated"), b"kept").unwrap();
        let (spool, dropped) = Spool::open(dir.path(), 2).unwrap();
        assert_eq!(dropped, vec![1, 2, 3]);
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.oldest().unwrap().0, 4);
        assert_eq!(spool.last_seq().unwrap(), Some(5));
        assert_eq!(
            names(dir.path()),
            [
                "00000000000000000004.xml",
                "00000000000000000005.xml",
                "last-seq",
                "unrelated"
            ]
        );
    }

    #[test]
    fn last_seq_round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = Spool::open(&dir.path().join("new/sub"), 10).unwrap();
        assert_eq!(spool.last_seq().unwrap(), None);
        // An older, longer file is cut to the new line's length.
        fs::write(spool.dir().join("last-seq"), "x".repeat(40)).unwrap();
        spool.set_last_seq(1_700_000_000_000_000).unwrap();
        assert_eq!(spool.last_seq().unwrap(), Some(1_700_000_000_000_000));
        spool.set_last_seq(1_700_000_000_000_001).unwrap();
        assert_eq!(
            fs::read_to_string(spool.dir().join("last-seq")).unwrap(),
            "00001700000000000001\n"
        );
        spool.set_last_seq(u64::MAX).unwrap();
        assert_eq!(spool.last_seq().unwrap(), Some(u64::MAX));
        fs::write(spool.dir().join("last-seq"), "twelve").unwrap();
        assert!(
            spool
                .last_seq()
                .unwrap_err()
                .to_string()
                .starts_with("cannot parse")
        );
    }
}
