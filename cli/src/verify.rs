//! `verify`: read everything, check every checksum and index entry, report
//! each problem with its location.
//!
//! What is checked, through the core's read API (which verifies the CRC32 of
//! every event body it decodes, for the files backend every frame at open, and
//! for LMDB every record of its write-ahead log before the first read):
//! 1. every stream holds exactly the events `deleted_to + 1 ..= highest`, each
//!    decodable, with the right persistence id and sequence number;
//! 2. the global index lists exactly those events, in strictly increasing offsets;
//! 3. each tag index lists exactly the events carrying the tag;
//! 4. every snapshot file decodes and passes its checksum.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;
use tidelog::{Error, ErrorKind, Journal};

use crate::failure::EXIT_PROBLEMS;
use crate::inspect::PAGE;
use crate::output;
use crate::store;

/// One problem, with where it is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// Where: a file and offset, or a stream and sequence number.
    pub location: String,
    /// What is wrong.
    pub problem: String,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    path: PathBuf,
    backend: String,
    ok: bool,
    streams: u64,
    events: u64,
    global_index_entries: u64,
    tags: u64,
    tag_index_entries: u64,
    snapshots: u64,
    problems: Vec<Problem>,
}

impl Report {
    fn problem(&mut self, location: impl Into<String>, problem: impl Into<String>) {
        self.problems.push(Problem {
            location: location.into(),
            problem: problem.into(),
        });
    }
}

/// Where an error points, for errors that carry a location.
fn error_location(error: &Error) -> Option<String> {
    match error {
        Error::Corrupt { path, offset, .. } => Some(format!("{} at byte offset {offset}", path.display())),
        _ => None,
    }
}

/// `tidelog verify PATH`: the check runs in a child process (`--in-process`), so that
/// damage which crashes the reader (a signal) or a bug (a panic) is a reported problem.
pub fn run(path: &Path, json: bool, deep: bool, in_process: bool) -> anyhow::Result<ExitCode> {
    let backend = store::backend_of(path)?;
    if in_process {
        return check_here(path, backend, json, deep);
    }
    let mut child = std::process::Command::new(std::env::current_exe()?);
    child.arg("verify").arg("--in-process").arg(path);
    if json {
        child.arg("--json");
    }
    if deep {
        child.arg("--deep");
    }
    let output = child
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()?;
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&output.status);
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    let died = match (output.status.code(), signal) {
        // 101: a panic (which the child catches; this is the last line of defence).
        (Some(101), _) => "the checking process panicked".to_owned(),
        (Some(code), _) => {
            std::io::Write::write_all(&mut std::io::stdout(), &output.stdout)?;
            return Ok(ExitCode::from(code as u8));
        }
        (None, Some(signal)) => format!("the checking process died of signal {signal}"),
        (None, None) => "the checking process ended without an exit code".to_owned(),
    };
    let mut report = Report {
        path: PathBuf::from(store::shown(path)),
        backend: backend.name().to_owned(),
        ..Default::default()
    };
    report.problem(
        store::shown(path),
        format!("{died} while reading the journal: its files are damaged where no checksum reaches (LMDB's page structure)"),
    );
    print_report(&mut report, json)
}

fn check_here(path: &Path, backend: tidelog::Backend, json: bool, deep: bool) -> anyhow::Result<ExitCode> {
    if std::env::var_os("TIDELOG_VERIFY_TEST_ABORT").is_some() {
        // For the CLI's tests: a check that crashes, as unchecked damage to LMDB's pages may make it.
        std::process::abort();
    }
    let mut report = Report {
        path: PathBuf::from(store::shown(path)),
        backend: backend.name().to_owned(),
        ..Default::default()
    };
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // LMDB's pages first, without LMDB: damage there is a located problem, not a crash.
        if let Err(e) = tidelog::check_page_structure(path) {
            if e.kind() != ErrorKind::Corrupt {
                return Err(e.into());
            }
            report.problem(error_location(&e).unwrap_or_else(|| store::shown(path)), describe(&e));
            return Ok(());
        }
        store::open_read_only(path).and_then(|journal| {
            if deep {
                // Every value of every database first: this reaches every page in use.
                if let Err(e) = journal.scrub() {
                    report.problem(error_location(&e).unwrap_or_else(|| store::shown(path)), describe(&e));
                }
            }
            check(&journal, &mut report)?;
            for torn in journal.torn_tails() {
                report.problem(
                    format!("{} at byte offset {}", torn.path.display(), torn.offset),
                    format!(
                        "torn tail: {} bytes fail their checks with nothing valid after them (a write cut by a crash, \
                         or damage to the log's last record); a writer drops them at its next open",
                        torn.bytes
                    ),
                );
            }
            Ok(journal.close()?)
        })
    }))
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        report.problem(store::shown(path), format!("the check stopped on an internal error: {message}"));
        Ok(())
    });
    if let Err(err) = checked {
        // Damage that stops the whole check is reported as a problem, with its location: the files
        // backend checks every frame at open, and LMDB's write-ahead log is read before any event.
        match err.chain().find_map(|e| e.downcast_ref::<Error>()) {
            Some(e) if e.kind() == ErrorKind::Corrupt => {
                report.problem(error_location(e).unwrap_or_else(|| store::shown(path)), e.to_string());
            }
            // verify cannot vouch for a journal it cannot read: a newer library wrote it, or its
            // format marker is damaged (the two look alike). Either way a problem, not a pass.
            Some(e) if e.kind() == ErrorKind::UnsupportedFormat => {
                report.problem(
                    store::shown(path),
                    format!("{e}: written by a newer tidelog (verify it with that one), or its format marker is damaged"),
                );
            }
            _ => return Err(err),
        }
    }
    print_report(&mut report, json)
}

fn print_report(report: &mut Report, json: bool) -> anyhow::Result<ExitCode> {
    report.ok = report.problems.is_empty();
    if json {
        output::print_json(&*report)?;
    } else {
        println!("verified {} ({} backend)", report.path.display(), report.backend);
        println!("  streams            {}", report.streams);
        println!("  events             {}", report.events);
        println!("  global index       {} entries", report.global_index_entries);
        println!("  tag indexes        {} tags, {} entries", report.tags, report.tag_index_entries);
        println!("  snapshots          {}", report.snapshots);
        if report.ok {
            println!("OK: no problems found");
        } else {
            println!("FAILED: {} problem(s)", report.problems.len());
            for p in &report.problems {
                println!("  {}: {}", p.location, p.problem);
            }
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEMS)
    })
}

/// An event as the stream index knows it, compactly: verify holds one per live event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    /// Index into the persistence ids.
    stream: u32,
    sequence_nr: u64,
    /// Indexes into the tag names.
    tags: Box<[u32]>,
    /// Seen in the global index.
    listed: bool,
}

fn stream_location(pid: &str, seq: u64) -> String {
    format!("stream {pid:?} sequence nr {seq}")
}

/// The error's own message: it already names the file and offset where it has them.
fn describe(error: &Error) -> String {
    error.to_string()
}

fn check(journal: &Journal, report: &mut Report) -> anyhow::Result<()> {
    let ids = journal.persistence_ids()?;
    let mut states = Vec::with_capacity(ids.len());
    let mut total = 0;
    for id in &ids {
        let state = journal.stream_state(id)?;
        if state.deleted_to > state.highest_sequence_nr {
            report.problem(
                format!("stream {id:?}"),
                format!(
                    "deleted_to {} is above highest sequence nr {}",
                    state.deleted_to, state.highest_sequence_nr
                ),
            );
        }
        total += state.highest_sequence_nr.saturating_sub(state.deleted_to);
        states.push(state);
    }
    report.streams = ids.len() as u64;
    let bar = output::progress(total, "verifying");
    // The cut: a live writer may commit while verify runs (each read sees the
    // latest commit), so entries for events above each stream's highest as of
    // now are skipped, and events deleted meanwhile are not reported missing.
    let index_of: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let after_cut = |pid: &str, seq: u64| index_of.get(pid).is_none_or(|&i| seq > states[i].highest_sequence_nr);
    let deleted_since = |stream: u32, seq: u64| journal.stream_state(&ids[stream as usize]).is_ok_and(|now| seq <= now.deleted_to);
    let mut tag_names: Vec<String> = Vec::new();
    let mut tag_ids: HashMap<String, u32> = HashMap::new();

    // 1. Streams: every expected event, readable, in order.
    let mut by_offset: BTreeMap<u64, Known> = BTreeMap::new();
    for (stream, (id, state)) in ids.iter().zip(&states).enumerate() {
        let mut expected = state.deleted_to + 1;
        let last = state.highest_sequence_nr;
        let mut got = Vec::new();
        while expected <= last {
            let before = expected;
            let scanned = journal.scan(id, expected, last, PAGE, |e| {
                let tags: Box<[u32]> = e
                    .tags
                    .iter()
                    .map(|t| match tag_ids.get(t) {
                        Some(&i) => i,
                        None => {
                            tag_names.push(t.to_owned());
                            tag_ids.insert(t.to_owned(), tag_names.len() as u32 - 1);
                            tag_names.len() as u32 - 1
                        }
                    })
                    .collect();
                got.push((e.sequence_nr, e.global_offset, e.persistence_id == id, tags));
                true
            });
            for (seq, offset, right_id, tags) in got.drain(..) {
                if seq != expected && !(seq > expected && deleted_since(stream as u32, seq - 1)) {
                    let missing = if seq > expected {
                        format!("events {expected}..{} are missing from the stream index", seq - 1)
                    } else {
                        format!("sequence nr {seq} is out of order")
                    };
                    report.problem(stream_location(id, expected), missing);
                }
                if !right_id {
                    report.problem(stream_location(id, seq), "the event is stored under another persistence id");
                }
                if let Some(previous) = by_offset.insert(
                    offset,
                    Known {
                        stream: stream as u32,
                        sequence_nr: seq,
                        tags,
                        listed: false,
                    },
                ) {
                    report.problem(
                        stream_location(id, seq),
                        format!(
                            "global offset {offset} is also used by {}",
                            stream_location(&ids[previous.stream as usize], previous.sequence_nr)
                        ),
                    );
                }
                report.events += 1;
                expected = seq + 1;
            }
            bar.set_position(report.events);
            match scanned {
                Ok(()) if expected == before => {
                    if !deleted_since(stream as u32, last) {
                        report.problem(
                            stream_location(id, expected),
                            format!("events {expected}..{last} are missing from the stream index"),
                        );
                    }
                    break;
                }
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Corrupt => {
                    // The scan stopped at an unreadable event: it is the next one expected.
                    report.problem(stream_location(id, expected), describe(&e));
                    expected += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    bar.finish_and_clear();

    // 2. The global index: exactly the events above, offsets strictly increasing.
    let mut from = 1;
    let mut previous = 0;
    loop {
        let mut page = 0;
        let mut last_seen = None;
        let scanned = journal.scan_all(from, PAGE, |e| {
            page += 1;
            last_seen = Some(e.global_offset);
            from = e.global_offset + 1;
            if after_cut(e.persistence_id, e.sequence_nr) {
                return true;
            }
            report.global_index_entries += 1;
            if e.global_offset <= previous {
                report.problem(
                    format!("global offset {}", e.global_offset),
                    format!("not above the previous offset {previous}"),
                );
            }
            previous = e.global_offset;
            match by_offset.get_mut(&e.global_offset) {
                Some(k) if ids[k.stream as usize] == e.persistence_id && k.sequence_nr == e.sequence_nr => k.listed = true,
                Some(k) => {
                    k.listed = true;
                    report.problem(
                        format!("global offset {}", e.global_offset),
                        format!(
                            "the global index points to {} but the stream index has {} there",
                            stream_location(e.persistence_id, e.sequence_nr),
                            stream_location(&ids[k.stream as usize], k.sequence_nr)
                        ),
                    )
                }
                None => report.problem(
                    format!("global offset {}", e.global_offset),
                    format!(
                        "the global index lists {} which no stream holds",
                        stream_location(e.persistence_id, e.sequence_nr)
                    ),
                ),
            }
            true
        });
        match scanned {
            Ok(()) if page < PAGE as u64 => break,
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                // The unreadable entry is the first one at or after `from` (or right
                // after `from` when it failed at once): resume at the next offset the streams know of.
                report.problem(format!("global index at or after offset {from}"), describe(&e));
                let resume = if last_seen.is_some() { from } else { from + 1 };
                match by_offset.range(resume..).next() {
                    Some((&next, _)) => from = next,
                    None => break,
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    for (offset, known) in &by_offset {
        if !known.listed && !deleted_since(known.stream, known.sequence_nr) {
            report.problem(
                stream_location(&ids[known.stream as usize], known.sequence_nr),
                format!("missing from the global index (offset {offset})"),
            );
        }
    }

    // 3. Tag indexes: exactly the events carrying each tag (both sides in offset order, merged).
    let mut by_tag: Vec<Vec<u64>> = vec![Vec::new(); tag_names.len()];
    for (offset, known) in &by_offset {
        for &tag in known.tags.iter() {
            by_tag[tag as usize].push(*offset);
        }
    }
    let mut order: Vec<usize> = (0..tag_names.len()).collect();
    order.sort_by(|a, b| tag_names[*a].cmp(&tag_names[*b]));
    report.tags = tag_names.len() as u64;
    for t in order {
        let tag = tag_names[t].as_str();
        let expected = &by_tag[t];
        let mut next_expected = 0; // index into `expected`
        let mut lacking = Vec::new();
        let mut extra = Vec::new();
        let mut from = 1;
        loop {
            let mut page = 0;
            let scanned = journal.scan_tag(tag, from, PAGE, |e| {
                page += 1;
                from = e.global_offset + 1;
                if after_cut(e.persistence_id, e.sequence_nr) {
                    return true;
                }
                while next_expected < expected.len() && expected[next_expected] < e.global_offset {
                    lacking.push(expected[next_expected]);
                    next_expected += 1;
                }
                if next_expected < expected.len() && expected[next_expected] == e.global_offset {
                    next_expected += 1;
                } else {
                    extra.push(e.global_offset);
                }
                report.tag_index_entries += 1;
                true
            });
            match scanned {
                Ok(()) if page < PAGE => break,
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Corrupt => {
                    report.problem(format!("tag {tag:?} index at or after offset {from}"), describe(&e));
                    let resume = if page > 0 { from } else { from + 1 };
                    match expected[next_expected..].iter().find(|o| **o >= resume) {
                        Some(&next) => from = next,
                        None => break,
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        lacking.extend_from_slice(&expected[next_expected..]);
        for offset in lacking {
            let k = &by_offset[&offset];
            if deleted_since(k.stream, k.sequence_nr) {
                continue;
            }
            report.problem(
                stream_location(&ids[k.stream as usize], k.sequence_nr),
                format!("carries tag {tag:?} but the tag index lacks it (offset {offset})"),
            );
        }
        for offset in extra {
            report.problem(
                format!("tag {tag:?} index"),
                format!("lists offset {offset}, which is not a live event carrying the tag"),
            );
        }
    }

    // 4. Snapshots: each listed file must load (a failed checksum makes `load` skip it).
    check_snapshots(journal, report)?;
    Ok(())
}

/// Every snapshot file the store holds must decode, pass its checksum and sit
/// where its persistence id and name say (the core's `SnapshotStore::audit`).
fn check_snapshots(journal: &Journal, report: &mut Report) -> anyhow::Result<()> {
    for file in journal.snapshots().audit()? {
        report.snapshots += 1;
        if let Err(reason) = file.check {
            report.problem(
                file.path.display().to_string(),
                format!("snapshot at sequence nr {} is unusable: {reason}", file.info.sequence_nr),
            );
        }
    }
    Ok(())
}
