//! `export` and `import`: a lossless JSON-lines image of a journal.
//!
//! The file is one JSON object per line, each with a `type`:
//!
//! ```text
//! {"type":"header","version":1}
//! {"type":"event","persistence_id":"a","sequence_nr":1,"global_offset":1,"timestamp":…,"manifest":"","writer_id":"","tags":[],"metadata":"","payload":"hi"}
//! …                                     (every live event, in global-offset order)
//! {"type":"stream","persistence_id":"a","highest_sequence_nr":5,"deleted_to":2}
//! …                                     (every stream, sorted by persistence id)
//! {"type":"snapshot","persistence_id":"a","sequence_nr":3,"timestamp":…,"manifest":"","metadata":"","state":{"base64":"…"}}
//! …                                     (every readable snapshot, by persistence id then sequence nr)
//! {"type":"end","events":…,"streams":…,"snapshots":…}
//! ```
//!
//! Byte fields are a JSON string when valid UTF-8, else `{"base64":"…"}`. The
//! output depends only on the journal's content, never on its backend, so
//! export → import into the other backend → export gives the same bytes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};
use tidelog::{Backend, Event, Journal, Options, Snapshot, SyncPolicy};

use crate::failure::{Failure, EXIT_ERROR};
use crate::image::{self, Counts, ImageSink};
use crate::output::{self, Bytes, EventRecord};
use crate::store;

/// Version of the export format written in the header line.
pub const EXPORT_VERSION: u32 = 1;

/// One line of an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// First line.
    Header {
        /// [`EXPORT_VERSION`].
        version: u32,
    },
    /// A live event.
    Event(EventRecord),
    /// A stream's marks (they outlive deleted events).
    Stream {
        /// The stream.
        persistence_id: String,
        /// Highest sequence number ever written.
        highest_sequence_nr: u64,
        /// Events up to this one were deleted.
        deleted_to: u64,
    },
    /// A snapshot.
    Snapshot {
        /// The stream.
        persistence_id: String,
        /// Sequence number of the last event folded into the state.
        sequence_nr: u64,
        /// Unix milliseconds.
        timestamp: u64,
        /// State type name.
        manifest: String,
        /// Adapter-specific metadata bytes.
        metadata: Bytes,
        /// The state bytes.
        state: Bytes,
    },
    /// Last line: counts that let `import` detect a truncated file.
    End {
        /// Number of event lines.
        events: u64,
        /// Number of stream lines.
        streams: u64,
        /// Number of snapshot lines.
        snapshots: u64,
    },
}

/// `tidelog export PATH OUT`.
pub fn export(path: &Path, out: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let journal = store::open_read_only(path)?;
    let to_stdout = out.as_os_str() == "-";
    let staging = (!to_stdout).then(|| {
        out.with_file_name(format!(
            ".{}.tmp-{}",
            out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ))
    });
    let sink: Box<dyn Write> = match &staging {
        Some(tmp) => Box::new(File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = BufWriter::with_capacity(1 << 20, sink);
    let result = write_export(&journal, &mut writer).and_then(|counts| {
        let file = writer
            .into_inner()
            .map_err(|e| anyhow::Error::new(e.into_error()).context("writing the export"))?;
        drop(file);
        Ok(counts)
    });
    let counts = match result {
        Ok(counts) => counts,
        Err(err) => {
            if let Some(tmp) = &staging {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(err);
        }
    };
    if let Some(tmp) = &staging {
        File::open(tmp)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("fsync of {}", tmp.display()))?;
        std::fs::rename(tmp, out).with_context(|| format!("moving {} to {}", tmp.display(), out.display()))?;
        store::sync_parent(out)?;
    }
    journal.close()?;
    if !to_stdout {
        report(json, "exported", path, out, &counts, started)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn report(json: bool, verb: &str, from: &Path, to: &Path, counts: &Counts, started: Instant) -> anyhow::Result<()> {
    let elapsed = started.elapsed();
    let (from, to) = (PathBuf::from(store::shown(from)), PathBuf::from(store::shown(to)));
    let (from, to) = (from.as_path(), to.as_path());
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            from: &'a Path,
            to: &'a Path,
            #[serde(flatten)]
            counts: &'a Counts,
            seconds: f64,
        }
        output::print_json(&Report {
            from,
            to,
            counts,
            seconds: elapsed.as_secs_f64(),
        })
    } else {
        println!(
            "{verb} {} events, {} streams and {} snapshots from {} to {} in {:.2?} ({:.0} events/s)",
            counts.events,
            counts.streams,
            counts.snapshots,
            from.display(),
            to.display(),
            elapsed,
            output::rate(counts.events, elapsed)
        );
        Ok(())
    }
}

fn write_line(out: &mut impl Write, line: &Line) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn write_export(journal: &Journal, out: &mut impl Write) -> anyhow::Result<Counts> {
    write_line(out, &Line::Header { version: EXPORT_VERSION })?;
    let counts = image::walk(journal, "exporting", &mut LineSink { out })?;
    write_line(
        out,
        &Line::End {
            events: counts.events,
            streams: counts.streams,
            snapshots: counts.snapshots,
        },
    )?;
    Ok(counts)
}

/// Writes an image as export lines.
struct LineSink<'o, W: Write> {
    out: &'o mut W,
}

impl<W: Write> ImageSink for LineSink<'_, W> {
    fn event(&mut self, event: &tidelog::EventRef<'_>) -> anyhow::Result<()> {
        write_line(self.out, &Line::Event(EventRecord::from_ref(event)))
    }

    fn stream(&mut self, persistence_id: &str, highest_sequence_nr: u64, deleted_to: u64) -> anyhow::Result<()> {
        write_line(
            self.out,
            &Line::Stream {
                persistence_id: persistence_id.to_owned(),
                highest_sequence_nr,
                deleted_to,
            },
        )
    }

    fn snapshot(&mut self, s: Snapshot) -> anyhow::Result<()> {
        write_line(
            self.out,
            &Line::Snapshot {
                persistence_id: s.persistence_id,
                sequence_nr: s.sequence_nr,
                timestamp: s.timestamp,
                manifest: s.manifest,
                metadata: Bytes::encode(&s.metadata),
                state: Bytes::encode(&s.state),
            },
        )
    }
}

/// Arguments of `tidelog import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Export file written by `tidelog export` (`-` reads stdin).
    pub input: PathBuf,
    /// Journal directory to create (must not exist or be empty).
    pub path: PathBuf,
    /// Backend of the new journal.
    #[arg(long, default_value = "lmdb", value_parser = ["lmdb", "files"])]
    pub backend: String,
}

/// A failure that names the line of the input it comes from.
fn at_line(line: u64, message: impl std::fmt::Display) -> anyhow::Error {
    Failure::new(EXIT_ERROR, format!("line {line}: {message}")).into()
}

/// `tidelog import IN PATH --backend lmdb|files`. Builds the journal in a
/// sibling directory and moves it into place only when the whole file imported.
pub fn import(args: &ImportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let backend: Backend = args.backend.parse()?;
    store::require_fresh(&args.path, "journal directory")?;
    if store::is_uri(&args.path) {
        return import_into_database(args, json, started);
    }
    let input: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let file = File::open(&args.input).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                crate::failure::EXIT_NOT_FOUND
            } else {
                EXIT_ERROR
            };
            Failure::new(code, format!("{}: {e}", args.input.display()))
        })?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let total_bytes = std::fs::metadata(&args.input).map(|m| m.len()).unwrap_or(0);
    let staging = store::staging_path(&args.path, "importing");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("removing stale {}", staging.display()))?;
    }
    // Durability comes from the explicit flush before close, not from every commit.
    let journal = Journal::open(&staging, Options::new().backend(backend).sync(SyncPolicy::Never))
        .with_context(|| format!("creating {}", staging.display()))?;
    let result = import_lines(&journal, input, total_bytes).and_then(|counts| {
        journal.flush()?;
        journal.close()?;
        Ok(counts)
    });
    let counts = match result {
        Ok(counts) => counts,
        Err(err) => {
            let _ = journal.close();
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err);
        }
    };
    if let Err(err) = store::publish(&staging, &args.path) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(err);
    }
    report(json, "imported", &args.input, &args.path, &counts, started)?;
    Ok(ExitCode::SUCCESS)
}

/// `import` into a PostgreSQL database: there is no directory to build aside and move into place,
/// so the journal there must be empty, and a failed import leaves what it imported (say so).
fn import_into_database(args: &ImportArgs, json: bool, started: Instant) -> anyhow::Result<ExitCode> {
    let shown = store::shown(&args.path);
    let input: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let file =
            File::open(&args.input).map_err(|e| Failure::new(crate::failure::EXIT_NOT_FOUND, format!("{}: {e}", args.input.display())))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let total_bytes = std::fs::metadata(&args.input).map(|m| m.len()).unwrap_or(0);
    let journal = Journal::open(&args.path, Options::new().sync(SyncPolicy::Never)).with_context(|| format!("opening {shown}"))?;
    store::require_empty(&journal, &args.path)?;
    let counts = import_lines(&journal, input, total_bytes)
        .and_then(|counts| {
            journal.flush()?;
            Ok(counts)
        })
        .with_context(|| format!("importing into {shown} (what was imported before the failure stays there)"))?;
    journal.close()?;
    report(json, "imported", &args.input, &args.path, &counts, started)?;
    Ok(ExitCode::SUCCESS)
}

/// Events handed to the core per `import` call.
const IMPORT_BATCH: usize = 4096;
/// Snapshots saved together, spread over [`SNAPSHOT_WORKERS`] threads.
const SNAPSHOT_BATCH: usize = 512;
/// Each snapshot save waits for two fsyncs; saving several at once overlaps them.
const SNAPSHOT_WORKERS: usize = 8;

/// Saves `pending` snapshots in parallel. One stream's snapshots stay on one
/// worker, in file order, so a later one with the same sequence number still replaces an earlier one.
fn save_snapshots(journal: &Journal, pending: &mut Vec<(u64, Snapshot)>) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let batch = std::mem::take(pending);
    let store = journal.snapshots();
    let worker_of = |id: &str| {
        id.bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)) as usize
            % SNAPSHOT_WORKERS
    };
    let mut failures: Vec<(u64, tidelog::Error)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SNAPSHOT_WORKERS)
            .map(|k| {
                let batch = &batch;
                scope.spawn(move || {
                    for (line, snapshot) in batch.iter().filter(|(_, s)| worker_of(&s.persistence_id) == k) {
                        if let Err(e) = store.save(snapshot) {
                            return Some((*line, e));
                        }
                    }
                    None
                })
            })
            .collect();
        workers
            .into_iter()
            .filter_map(|w| w.join().expect("snapshot worker panicked"))
            .collect()
    });
    failures.sort_by_key(|(line, _)| *line);
    match failures.into_iter().next() {
        Some((line, e)) => Err(at_line(line, e)),
        None => Ok(()),
    }
}

fn import_lines(journal: &Journal, input: Box<dyn BufRead>, total_bytes: u64) -> anyhow::Result<Counts> {
    let bar = output::progress(total_bytes, "importing");
    let mut counts = Counts::default();
    let mut batch: Vec<Event> = Vec::with_capacity(IMPORT_BATCH);
    let mut batch_first_line = 0;
    let mut streams: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut snapshots: Vec<(u64, Snapshot)> = Vec::new();
    let mut seen_header = false;
    let mut end = None;
    let mut line_no = 0u64;
    let mut read = 0u64;
    let flush = |batch: &mut Vec<Event>, first_line: u64, last_line: u64| -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        journal.import(std::mem::take(batch)).map_err(|e| {
            let lines = if first_line == last_line {
                format!("line {first_line}")
            } else {
                format!("lines {first_line}-{last_line}")
            };
            anyhow::Error::new(e).context(format!("importing the events of {lines}"))
        })
    };
    for line in input.lines() {
        line_no += 1;
        let text = line.map_err(|e| at_line(line_no, format!("cannot read: {e}")))?;
        read += text.len() as u64 + 1;
        if line_no.is_multiple_of(1024) {
            bar.set_position(read);
        }
        if text.trim().is_empty() {
            continue;
        }
        if let Some(end_line) = end {
            return Err(at_line(line_no, format!("content after the end record of line {end_line}")));
        }
        let parsed: Line = serde_json::from_str(&text).map_err(|e| at_line(line_no, format!("not a valid export record: {e}")))?;
        if !seen_header && !matches!(parsed, Line::Header { .. }) {
            return Err(at_line(
                line_no,
                "the first record must be the header ({\"type\":\"header\",\"version\":1})",
            ));
        }
        match parsed {
            Line::Header { version } => {
                if seen_header {
                    return Err(at_line(line_no, "a second header"));
                }
                if version != EXPORT_VERSION {
                    return Err(at_line(
                        line_no,
                        format!("export format version {version} is not supported (this tool reads version {EXPORT_VERSION})"),
                    ));
                }
                seen_header = true;
            }
            Line::Event(record) => {
                let event = Event {
                    metadata: record
                        .metadata
                        .decode()
                        .map_err(|e| at_line(line_no, format!("metadata: bad base64: {e}")))?,
                    payload: record
                        .payload
                        .decode()
                        .map_err(|e| at_line(line_no, format!("payload: bad base64: {e}")))?,
                    persistence_id: record.persistence_id,
                    sequence_nr: record.sequence_nr,
                    global_offset: record.global_offset,
                    timestamp: record.timestamp,
                    manifest: record.manifest,
                    writer_id: record.writer_id,
                    tags: record.tags,
                };
                tidelog::validate_persistence_id(&event.persistence_id).map_err(|e| at_line(line_no, e))?;
                if batch.is_empty() {
                    batch_first_line = line_no;
                }
                batch.push(event);
                counts.events += 1;
                if batch.len() >= IMPORT_BATCH {
                    flush(&mut batch, batch_first_line, line_no)?;
                }
            }
            Line::Stream {
                persistence_id,
                highest_sequence_nr,
                deleted_to,
            } => {
                tidelog::validate_persistence_id(&persistence_id).map_err(|e| at_line(line_no, e))?;
                if streams
                    .insert(persistence_id.clone(), (highest_sequence_nr, deleted_to, line_no))
                    .is_some()
                {
                    return Err(at_line(line_no, format!("stream {persistence_id:?} appears twice")));
                }
                counts.streams += 1;
            }
            Line::Snapshot {
                persistence_id,
                sequence_nr,
                timestamp,
                manifest,
                metadata,
                state,
            } => {
                let snapshot = Snapshot {
                    metadata: metadata
                        .decode()
                        .map_err(|e| at_line(line_no, format!("metadata: bad base64: {e}")))?,
                    state: state.decode().map_err(|e| at_line(line_no, format!("state: bad base64: {e}")))?,
                    persistence_id,
                    sequence_nr,
                    timestamp,
                    manifest,
                };
                snapshots.push((line_no, snapshot));
                if snapshots.len() >= SNAPSHOT_BATCH {
                    save_snapshots(journal, &mut snapshots)?;
                }
                counts.snapshots += 1;
            }
            Line::End {
                events,
                streams,
                snapshots,
            } => {
                let found = (counts.events, counts.streams, counts.snapshots);
                if (events, streams, snapshots) != found {
                    return Err(at_line(
                        line_no,
                        format!(
                            "the end record counts {events} events, {streams} streams, {snapshots} snapshots but the file holds {}, {}, {}",
                            found.0, found.1, found.2
                        ),
                    ));
                }
                end = Some(line_no);
            }
        }
    }
    flush(&mut batch, batch_first_line, line_no)?;
    save_snapshots(journal, &mut snapshots)?;
    if end.is_none() {
        return Err(Failure::new(
            EXIT_ERROR,
            format!("the input ends at line {line_no} without an end record: it is truncated"),
        )
        .into());
    }
    for (id, (highest, deleted_to, line)) in streams {
        journal
            .import_stream_state(&id, highest, deleted_to)
            .map_err(|e| at_line(line, format!("stream {id:?}: {e}")))?;
    }
    bar.finish_and_clear();
    Ok(counts)
}
