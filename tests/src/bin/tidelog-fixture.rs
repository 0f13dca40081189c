//! The Rust agent of the cross-language matrix (`tests/run.py`). Every binding
//! ships an agent with the same commands, so any pair can write and read:
//!
//! ```text
//! write   DIR BACKEND FIXTURE   apply the shared fixture to a new journal
//! verify  DIR BACKEND FIXTURE   check every field of a journal against the fixture
//! crash   DIR BACKEND           append forever, printing "ack PID SEQ" after each durable append
//! acks    DIR BACKEND ACKFILE   check that every acknowledged event is intact
//! lock    DIR BACKEND           try to open as a writer: print LOCKED or OPENED
//! read    DIR BACKEND           open read-only (beside a live writer) and check what it sees
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tidelog::{Error, NewEvent};
use tidelog_compat::{crash_payload, open, Fixture};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: tidelog-fixture write|verify|crash|acks|lock DIR lmdb|files [FILE]");
        return ExitCode::from(2);
    }
    let dir = PathBuf::from(&args[2]);
    let backend = args[3].as_str();
    let file = args.get(4).map(PathBuf::from);
    let result = match args[1].as_str() {
        "write" => with_journal(&dir, backend, |j| fixture(file).write(j).map_err(|e| e.to_string())),
        "verify" => with_journal(&dir, backend, |j| fixture(file).verify(j)),
        "crash" => with_journal(&dir, backend, crash),
        "acks" => with_journal(&dir, backend, |j| check_acks(j, file.as_deref().expect("ACKFILE"))),
        "lock" => match open(&dir, backend) {
            Ok(j) => {
                println!("OPENED");
                j.close().map_err(|e| e.to_string())
            }
            Err(Error::Locked { .. }) => {
                println!("LOCKED");
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
        "read" => tidelog_compat::open_read_only(&dir, backend)
            .map_err(|e| format!("open read-only failed: {e}"))
            .and_then(|j| {
                let result = check_consistent(&j);
                j.close().map_err(|e| e.to_string())?;
                result
            }),
        other => Err(format!("unknown command {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn fixture(file: Option<PathBuf>) -> Fixture {
    Fixture::load(&file.unwrap_or_else(Fixture::default_path))
}

fn with_journal(dir: &Path, backend: &str, f: impl FnOnce(&tidelog::Journal) -> Result<(), String>) -> Result<(), String> {
    let journal = open(dir, backend).map_err(|e| format!("open failed: {e}"))?;
    let result = f(&journal);
    journal.close().map_err(|e| e.to_string())?;
    result
}

fn crash(journal: &tidelog::Journal) -> Result<(), String> {
    let out = std::io::stdout();
    for i in 0u64.. {
        let pid = format!("crash-rust-{}", i % 3);
        let next = journal.highest_sequence_nr(&pid).map_err(|e| e.to_string())? + 1;
        let events = (next..next + 1 + i % 3).map(|s| NewEvent::new(crash_payload(&pid, s))).collect();
        let r = journal.append(&pid, events).map_err(|e| e.to_string())?;
        let mut out = out.lock();
        writeln!(out, "ack {pid} {}", r.last_sequence_nr)
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Every stream seen is gapless from its deleted-to mark and carries the crash payloads.
fn check_consistent(journal: &tidelog::Journal) -> Result<(), String> {
    let mut total = 0;
    for pid in journal.persistence_ids().map_err(|e| e.to_string())? {
        let state = journal.stream_state(&pid).map_err(|e| e.to_string())?;
        let events = journal.read(&pid, 1, u64::MAX, usize::MAX).map_err(|e| e.to_string())?;
        for (i, e) in events.iter().enumerate() {
            if e.sequence_nr != state.deleted_to + 1 + i as u64 || e.payload != crash_payload(&pid, e.sequence_nr) {
                return Err(format!("{pid}: event {} inconsistent", e.sequence_nr));
            }
        }
        total += events.len();
    }
    if total == 0 {
        return Err("a reader beside the writer saw no events".into());
    }
    println!("read {total}");
    Ok(())
}

fn check_acks(journal: &tidelog::Journal, ack_file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(ack_file).map_err(|e| e.to_string())?;
    let mut acked: BTreeMap<&str, u64> = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        if let (Some("ack"), Some(pid), Some(seq)) = (parts.next(), parts.next(), parts.next()) {
            let seq: u64 = seq.parse().map_err(|_| format!("bad ack line {line:?}"))?;
            let e = acked.entry(pid).or_default();
            *e = (*e).max(seq);
        }
    }
    for (pid, highest_acked) in acked {
        let events = journal.read(pid, 1, u64::MAX, usize::MAX).map_err(|e| e.to_string())?;
        if (events.len() as u64) < highest_acked {
            return Err(format!("{pid}: {} events, {highest_acked} acknowledged", events.len()));
        }
        for (i, e) in events.iter().enumerate() {
            if e.sequence_nr != i as u64 + 1 || e.payload != crash_payload(pid, e.sequence_nr) {
                return Err(format!("{pid}: event {} damaged or out of place", e.sequence_nr));
            }
        }
    }
    Ok(())
}
