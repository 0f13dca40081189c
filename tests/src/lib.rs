//! The shared fixture (`fixtures/journal.json`) and the Rust side of the
//! cross-language matrix: write it into a journal, or verify a journal against it.
//! Every binding has the same pair of functions, reading the same JSON.

use std::path::Path;

use base64::Engine;
use serde::Deserialize;
use tidelog::{Backend, Journal, NewEvent, Options, Snapshot, SnapshotCriteria};

/// The fixture file, as data.
#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub appends: Vec<Append>,
    pub deletions: Vec<Deletion>,
    pub snapshots: Vec<FixtureSnapshot>,
}

#[derive(Debug, Deserialize)]
pub struct Append {
    pub persistence_id: String,
    pub events: Vec<FixtureEvent>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureEvent {
    pub payload: Payload,
    pub manifest: String,
    pub writer_id: String,
    pub tags: Vec<String>,
    pub timestamp: u64,
    pub metadata: String,
}

#[derive(Debug, Deserialize)]
pub struct Payload {
    pub base64: String,
    #[serde(default = "one")]
    pub repeat: usize,
}

fn one() -> usize {
    1
}

#[derive(Debug, Deserialize)]
pub struct Deletion {
    pub persistence_id: String,
    pub to: u64,
}

#[derive(Debug, Deserialize)]
pub struct FixtureSnapshot {
    pub persistence_id: String,
    pub sequence_nr: u64,
    pub timestamp: u64,
    pub manifest: String,
    pub metadata: String,
    pub state: String,
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).expect("fixture base64")
}

impl Payload {
    pub fn bytes(&self) -> Vec<u8> {
        b64(&self.base64).repeat(self.repeat)
    }
}

/// An expected event after the fixture is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub persistence_id: String,
    pub sequence_nr: u64,
    pub global_offset: u64,
    pub event: tidelog::Event,
}

impl Fixture {
    pub fn load(path: &Path) -> Fixture {
        serde_json::from_slice(&std::fs::read(path).expect("read fixture")).expect("parse fixture")
    }

    /// The path of the fixture in this repository.
    pub fn default_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/journal.json")
    }

    /// Every live event the fixture leaves, in global-offset order (offsets count from 1).
    pub fn expected_events(&self) -> Vec<tidelog::Event> {
        let mut highest = std::collections::HashMap::<&str, u64>::new();
        let mut offset = 0;
        let mut out = Vec::new();
        for append in &self.appends {
            for e in &append.events {
                offset += 1;
                let seq = highest.entry(&append.persistence_id).or_default();
                *seq += 1;
                out.push(tidelog::Event {
                    persistence_id: append.persistence_id.clone(),
                    sequence_nr: *seq,
                    global_offset: offset,
                    timestamp: e.timestamp,
                    manifest: e.manifest.clone(),
                    writer_id: e.writer_id.clone(),
                    tags: e.tags.clone(),
                    metadata: b64(&e.metadata),
                    payload: e.payload.bytes(),
                });
            }
        }
        out.retain(|e| {
            !self
                .deletions
                .iter()
                .any(|d| d.persistence_id == e.persistence_id && e.sequence_nr <= d.to)
        });
        out
    }

    pub fn expected_snapshots(&self) -> Vec<Snapshot> {
        self.snapshots
            .iter()
            .map(|s| Snapshot {
                persistence_id: s.persistence_id.clone(),
                sequence_nr: s.sequence_nr,
                timestamp: s.timestamp,
                manifest: s.manifest.clone(),
                metadata: b64(&s.metadata),
                state: b64(&s.state),
            })
            .collect()
    }

    /// Applies the fixture to a fresh journal.
    pub fn write(&self, journal: &Journal) -> tidelog::Result<()> {
        for append in &self.appends {
            let events = append
                .events
                .iter()
                .map(|e| NewEvent {
                    payload: e.payload.bytes(),
                    manifest: e.manifest.clone(),
                    writer_id: e.writer_id.clone(),
                    tags: e.tags.clone(),
                    timestamp: Some(e.timestamp),
                    metadata: b64(&e.metadata),
                })
                .collect();
            journal.append(&append.persistence_id, events)?;
        }
        for d in &self.deletions {
            journal.delete_to(&d.persistence_id, d.to)?;
        }
        for s in self.expected_snapshots() {
            journal.snapshots().save(&s)?;
        }
        Ok(())
    }

    /// Checks every field of a journal against the fixture; returns the first mismatch.
    pub fn verify(&self, journal: &Journal) -> Result<(), String> {
        let expected = self.expected_events();
        let all = journal.all_events(0, usize::MAX).map_err(|e| e.to_string())?;
        check(all == expected, || {
            format!("all_events differ:\n got {:?}\nwant {:?}", summary(&all), summary(&expected))
        })?;
        let mut ids: Vec<String> = self.appends.iter().map(|a| a.persistence_id.clone()).collect();
        ids.sort();
        ids.dedup();
        check(journal.persistence_ids().map_err(|e| e.to_string())? == ids, || {
            "persistence ids differ".into()
        })?;
        for pid in &ids {
            let want: Vec<_> = expected.iter().filter(|e| &e.persistence_id == pid).cloned().collect();
            let got = journal.read(pid, 1, u64::MAX, usize::MAX).map_err(|e| e.to_string())?;
            check(got == want, || format!("read({pid}) differs"))?;
            let appended: u64 = self
                .appends
                .iter()
                .filter(|a| &a.persistence_id == pid)
                .map(|a| a.events.len() as u64)
                .sum();
            check(journal.highest_sequence_nr(pid).map_err(|e| e.to_string())? == appended, || {
                format!("highest of {pid}")
            })?;
        }
        let orders = journal.events_by_tag("orders", 0, usize::MAX).map_err(|e| e.to_string())?;
        let want_orders: Vec<_> = expected.iter().filter(|e| e.tags.iter().any(|t| t == "orders")).cloned().collect();
        check(orders == want_orders, || "events_by_tag(orders) differs".into())?;
        let snapshots = self.expected_snapshots();
        for s in &snapshots {
            let latest = snapshots
                .iter()
                .filter(|x| x.persistence_id == s.persistence_id)
                .max_by_key(|x| x.sequence_nr)
                .unwrap();
            let got = journal
                .snapshots()
                .load(&s.persistence_id, SnapshotCriteria::latest())
                .map_err(|e| e.to_string())?;
            check(got.as_ref() == Some(latest), || format!("latest snapshot of {}", s.persistence_id))?;
            let got = journal
                .snapshots()
                .load(
                    &s.persistence_id,
                    SnapshotCriteria::latest().max_sequence_nr(s.sequence_nr).min_timestamp(s.timestamp),
                )
                .map_err(|e| e.to_string())?;
            check(got.as_ref() == Some(s), || {
                format!("snapshot {}@{} by criteria", s.persistence_id, s.sequence_nr)
            })?;
        }
        Ok(())
    }
}

fn check(ok: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(msg())
    }
}

fn summary(events: &[tidelog::Event]) -> Vec<(String, u64, u64, usize)> {
    events
        .iter()
        .map(|e| (e.persistence_id.clone(), e.sequence_nr, e.global_offset, e.payload.len()))
        .collect()
}

/// The payload every crash-matrix writer appends as event `seq` of `pid`:
/// `"{pid}:{seq}:"` repeated `1 + seq % 40` times (UTF-8), so a reader in any
/// language can check it without shared state.
pub fn crash_payload(pid: &str, seq: u64) -> Vec<u8> {
    format!("{pid}:{seq}:").repeat(1 + (seq % 40) as usize).into_bytes()
}

/// Opens a journal of the given backend name (`lmdb` or `files`).
pub fn open(dir: &Path, backend: &str) -> tidelog::Result<Journal> {
    let backend: Backend = backend.parse()?;
    Journal::open(dir, Options::new().backend(backend))
}

/// Opens a journal read-only (no writer lock), beside a live writer.
pub fn open_read_only(dir: &Path, backend: &str) -> tidelog::Result<Journal> {
    let backend: Backend = backend.parse()?;
    Journal::open(dir, Options::new().backend(backend).read_only(true))
}
