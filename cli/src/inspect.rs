//! Read-only inspection: `stats`, `ls`, `cat` and `tail`. Every command opens
//! the journal read-only, so it runs beside a live writer.

use std::collections::{BTreeSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tidelog::{Backend, EventRef, Journal};

use crate::failure::{Failure, EXIT_NOT_FOUND};
use crate::output::{self, Bytes, EventRecord};
use crate::store;

/// Events read per call when paging through a journal.
pub const PAGE: usize = 4096;

/// For a scan's visitor, whose errors cannot cross the scan: go on (`true`) if `result` is
/// `Ok`, else keep the error in `failure` for after the scan and stop it.
pub(crate) fn go_on<E>(result: Result<(), E>, failure: &mut Option<E>) -> bool {
    match result {
        Ok(()) => true,
        Err(err) => {
            *failure = Some(err);
            false
        }
    }
}

/// What `stats` reports.
#[derive(Debug, Serialize)]
struct Stats {
    path: PathBuf,
    backend: &'static str,
    format_version: Option<u32>,
    size_bytes: u64,
    streams: u64,
    events: u64,
    deleted_events: u64,
    snapshots: u64,
    snapshot_streams: u64,
    first_global_offset: Option<u64>,
    last_global_offset: Option<u64>,
    oldest_timestamp: Option<u64>,
    newest_timestamp: Option<u64>,
}

/// `tidelog stats PATH`.
pub fn stats(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let journal = store::open_read_only(path)?;
    let ids = journal.persistence_ids()?;
    let mut live = 0;
    let mut deleted = 0;
    for id in &ids {
        let state = journal.stream_state(id)?;
        live += state.highest_sequence_nr - state.deleted_to;
        deleted += state.deleted_to;
    }
    let bar = output::progress(live, "scanning");
    let (mut events, mut first, mut last, mut oldest, mut newest) = (0u64, None, None, None::<u64>, None::<u64>);
    let mut from = 1;
    loop {
        let before = events;
        journal.scan_all(from, PAGE, |e| {
            events += 1;
            first.get_or_insert(e.global_offset);
            last = Some(e.global_offset);
            oldest = Some(oldest.map_or(e.timestamp, |t| t.min(e.timestamp)));
            newest = Some(newest.map_or(e.timestamp, |t| t.max(e.timestamp)));
            from = e.global_offset + 1;
            true
        })?;
        bar.set_position(events);
        if events - before < PAGE as u64 {
            break;
        }
    }
    bar.finish_and_clear();
    let snapshot_ids = journal.snapshots().persistence_ids()?;
    let mut snapshots = 0;
    for id in &snapshot_ids {
        snapshots += journal.snapshots().list(id)?.len() as u64;
    }
    let stats = Stats {
        path: PathBuf::from(store::shown(path)),
        backend: journal.backend().name(),
        format_version: if store::is_uri(path) {
            Some(tidelog::POSTGRES_SCHEMA_VERSION as u32)
        } else {
            store::format_version(path)?
        },
        // A database's size is the server's business.
        size_bytes: if store::is_uri(path) { 0 } else { store::size_on_disk(path)? },
        streams: ids.len() as u64,
        events,
        deleted_events: deleted,
        snapshots,
        snapshot_streams: snapshot_ids.len() as u64,
        first_global_offset: first,
        last_global_offset: last,
        oldest_timestamp: oldest,
        newest_timestamp: newest,
    };
    journal.close()?;
    if json {
        output::print_json(&stats)?;
    } else {
        let mut table = output::table(&["property", "value"]);
        let opt_ts = |t: Option<u64>| t.map_or_else(|| "-".to_owned(), |t| format!("{} ({t})", output::timestamp(t)));
        let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        table.add_row(vec!["path".to_owned(), stats.path.display().to_string()]);
        table.add_row(vec!["backend".to_owned(), stats.backend.to_owned()]);
        table.add_row(vec!["format version".to_owned(), opt(stats.format_version.map(u64::from))]);
        table.add_row(vec![
            "size on disk".to_owned(),
            format!("{} ({} bytes)", output::size(stats.size_bytes), stats.size_bytes),
        ]);
        table.add_row(vec!["streams".to_owned(), stats.streams.to_string()]);
        table.add_row(vec!["events".to_owned(), stats.events.to_string()]);
        table.add_row(vec!["deleted events".to_owned(), stats.deleted_events.to_string()]);
        table.add_row(vec![
            "snapshots".to_owned(),
            format!("{} in {} streams", stats.snapshots, stats.snapshot_streams),
        ]);
        table.add_row(vec![
            "global offsets".to_owned(),
            format!("{} .. {}", opt(stats.first_global_offset), opt(stats.last_global_offset)),
        ]);
        table.add_row(vec!["oldest event".to_owned(), opt_ts(stats.oldest_timestamp)]);
        table.add_row(vec!["newest event".to_owned(), opt_ts(stats.newest_timestamp)]);
        println!("{table}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One row of `ls`.
#[derive(Debug, Serialize)]
struct StreamRow {
    persistence_id: String,
    events: u64,
    highest_sequence_nr: u64,
    deleted_to: u64,
    snapshots: u64,
    latest_snapshot_sequence_nr: Option<u64>,
    latest_snapshot_timestamp: Option<u64>,
}

/// `tidelog ls PATH`.
pub fn ls(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let journal = store::open_read_only(path)?;
    let ids: BTreeSet<String> = journal
        .persistence_ids()?
        .into_iter()
        .chain(journal.snapshots().persistence_ids()?)
        .collect();
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let state = journal.stream_state(&id)?;
        let snapshots = journal.snapshots().list(&id)?;
        let latest = snapshots.last().copied();
        rows.push(StreamRow {
            events: state.highest_sequence_nr - state.deleted_to,
            highest_sequence_nr: state.highest_sequence_nr,
            deleted_to: state.deleted_to,
            snapshots: snapshots.len() as u64,
            latest_snapshot_sequence_nr: latest.map(|s| s.sequence_nr),
            latest_snapshot_timestamp: latest.map(|s| s.timestamp),
            persistence_id: id,
        });
    }
    journal.close()?;
    if json {
        output::print_json(&rows)?;
    } else {
        let mut table = output::table(&[
            "persistence id",
            "events",
            "highest seq",
            "deleted to",
            "snapshots",
            "latest snapshot",
        ]);
        for row in &rows {
            let latest = match (row.latest_snapshot_sequence_nr, row.latest_snapshot_timestamp) {
                (Some(seq), Some(ts)) => format!("seq {seq} at {}", output::timestamp(ts)),
                _ => "-".to_owned(),
            };
            table.add_row(vec![
                row.persistence_id.clone(),
                row.events.to_string(),
                row.highest_sequence_nr.to_string(),
                row.deleted_to.to_string(),
                row.snapshots.to_string(),
                latest,
            ]);
        }
        println!("{table}");
        println!("{} streams", rows.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `tidelog cat PATH PID [--from N --to M]`.
pub fn cat(path: &Path, persistence_id: &str, from: u64, to: u64, json: bool) -> anyhow::Result<ExitCode> {
    let journal = store::open_read_only(path)?;
    tidelog::validate_persistence_id(persistence_id)?;
    let state = journal.stream_state(persistence_id)?;
    if state.highest_sequence_nr == 0 {
        return Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("{} has no stream {persistence_id:?} (see `tidelog ls`)", path.display()),
        )
        .into());
    }
    let mut out = std::io::stdout().lock();
    let mut table = output::table(&["seq", "offset", "timestamp", "manifest", "writer", "tags", "payload"]);
    let mut next = from.max(1);
    let mut shown = 0u64;
    let mut write_error = None;
    while next <= to {
        let mut page = 0;
        journal.scan(persistence_id, next, to, PAGE, |e| {
            page += 1;
            next = e.sequence_nr.saturating_add(1);
            if json {
                let written = serde_json::to_writer(&mut out, &EventRecord::from_ref(&e))
                    .map_err(anyhow::Error::from)
                    .and_then(|()| Ok(out.write_all(b"\n")?));
                return go_on(written, &mut write_error);
            } else {
                table.add_row(event_row(&e));
            }
            true
        })?;
        if let Some(err) = write_error.take() {
            return Err(err);
        }
        shown += page;
        if page < PAGE as u64 || next == 0 {
            break;
        }
    }
    if !json {
        writeln!(out, "{table}")?;
        writeln!(
            out,
            "{shown} events of {persistence_id:?} (highest sequence nr {}, deleted to {})",
            state.highest_sequence_nr, state.deleted_to
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn event_row(e: &EventRef<'_>) -> Vec<String> {
    vec![
        e.sequence_nr.to_string(),
        e.global_offset.to_string(),
        output::timestamp(e.timestamp),
        e.manifest.to_owned(),
        e.writer_id.to_owned(),
        e.tags.iter().collect::<Vec<_>>().join(","),
        Bytes::preview(e.payload, 60),
    ]
}

/// Arguments of `tidelog tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Journal directory.
    pub path: PathBuf,
    /// Only events carrying this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Start at this global offset (default: show the last `--lines` events).
    #[arg(long)]
    pub from_offset: Option<u64>,
    /// How many of the newest events to show when no `--from-offset` is given.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub lines: usize,
    /// Keep running and print new events as they are committed.
    #[arg(short, long)]
    pub follow: bool,
    /// Stop after printing this many events.
    #[arg(long)]
    pub limit: Option<u64>,
    /// How often `--follow` polls, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub poll_ms: u64,
}

/// `tidelog tail PATH [--tag T] [--from-offset N] [--follow]`.
pub fn tail(args: &TailArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut journal = store::open_read_only(&args.path)?;
    if let Some(tag) = &args.tag {
        anyhow::ensure!(!tag.is_empty(), "--tag must not be empty");
    }
    let mut printer = TailPrinter {
        json,
        printed: 0,
        limit: args.limit.unwrap_or(u64::MAX),
        out: std::io::stdout().lock(),
    };
    let mut next = match args.from_offset {
        Some(offset) => offset,
        None => {
            // The newest `lines` events: one pass keeping the offsets of the last ones,
            // then the printing loop below starts at the oldest of them.
            let mut ring: VecDeque<u64> = VecDeque::with_capacity(args.lines + 1);
            let mut next = 1;
            loop {
                let mut page = 0;
                scan_feed(&journal, args.tag.as_deref(), next, |e| {
                    page += 1;
                    next = e.global_offset + 1;
                    ring.push_back(e.global_offset);
                    if ring.len() > args.lines {
                        ring.pop_front();
                    }
                    true
                })?;
                if page < PAGE {
                    break;
                }
            }
            ring.front().copied().unwrap_or(next)
        }
    };
    loop {
        let mut stop = false;
        let mut write_error = None;
        loop {
            let mut page = 0;
            scan_feed(&journal, args.tag.as_deref(), next, |e| {
                page += 1;
                next = e.global_offset + 1;
                match printer.print(&EventRecord::from_ref(&e)) {
                    Ok(true) => true,
                    Ok(false) => {
                        stop = true;
                        false
                    }
                    Err(err) => {
                        write_error = Some(err);
                        false
                    }
                }
            })?;
            if let Some(err) = write_error.take() {
                return Err(err);
            }
            if stop || page < PAGE {
                break;
            }
        }
        printer.out.flush()?;
        if stop || !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(args.poll_ms.max(10)));
        if journal.backend() == Backend::Files {
            // A read-only files journal sees the log as of open: reopen to see new commits.
            journal.close()?;
            journal = store::open_read_only(&args.path).context("reopening to follow new events")?;
        }
    }
}

fn scan_feed(journal: &Journal, tag: Option<&str>, from: u64, visit: impl FnMut(EventRef<'_>) -> bool) -> tidelog::Result<()> {
    match tag {
        Some(tag) => journal.scan_tag(tag, from, PAGE, visit),
        None => journal.scan_all(from, PAGE, visit),
    }
}

struct TailPrinter<W: Write> {
    json: bool,
    printed: u64,
    limit: u64,
    out: W,
}

impl<W: Write> TailPrinter<W> {
    /// Prints one event; returns false once the limit is reached.
    fn print(&mut self, e: &EventRecord) -> anyhow::Result<bool> {
        if self.printed >= self.limit {
            return Ok(false);
        }
        if self.json {
            serde_json::to_writer(&mut self.out, e)?;
            writeln!(self.out)?;
        } else {
            let payload = e.payload.decode().unwrap_or_default();
            writeln!(
                self.out,
                "{:>8}  {}  {}#{}  {}  [{}]  {}",
                e.global_offset,
                output::timestamp(e.timestamp),
                e.persistence_id,
                e.sequence_nr,
                if e.manifest.is_empty() { "-" } else { &e.manifest },
                e.tags.join(","),
                Bytes::preview(&payload, 80)
            )?;
        }
        self.printed += 1;
        if self.printed >= self.limit {
            self.out.flush()?;
            return Ok(false);
        }
        Ok(true)
    }
}
