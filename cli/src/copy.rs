//! `copy SRC DST`: every event (with its sequence number, offset and every field), every
//! stream's marks and every snapshot of one journal into a new one, between any two backends
//! (an embedded journal to PostgreSQL and back, say), with a progress bar.
//!
//! The image is the one `export` writes, without the JSON: a cut is fixed first (each stream's
//! highest as of the start), so a live writer on the source cannot make the copy inconsistent.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use tidelog::{Backend, Event, Journal, Options, SnapshotCriteria, SyncPolicy};

use crate::export::{report, Counts};
use crate::inspect::PAGE;
use crate::{output, store};

/// Arguments of `tidelog copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Source journal: a directory or a `postgresql://` URI.
    pub src: std::path::PathBuf,
    /// Destination: a new directory, or a `postgresql://` URI whose journal is empty.
    pub dst: std::path::PathBuf,
    /// Backend of a destination directory.
    #[arg(long, default_value = "lmdb", value_parser = ["lmdb", "files"])]
    pub backend: String,
}

/// `tidelog copy SRC DST [--backend lmdb|files]`.
pub fn run(args: &CopyArgs, json: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let source = store::open_read_only(&args.src)?;
    let to_database = store::is_uri(&args.dst);
    // A directory is built aside and moved into place only when complete.
    let target = if to_database {
        args.dst.clone()
    } else {
        store::require_fresh(&args.dst, "journal directory")?;
        let staging = store::staging_path(&args.dst, "copying");
        if staging.exists() {
            std::fs::remove_dir_all(&staging).with_context(|| format!("removing stale {}", staging.display()))?;
        }
        staging
    };
    let backend: Backend = if to_database { Backend::Postgres } else { args.backend.parse()? };
    // Durability comes from the explicit flush before close, not from every commit.
    let dest = Journal::open(&target, Options::new().backend(backend).sync(SyncPolicy::Never))
        .with_context(|| format!("creating {}", store::shown(&args.dst)))?;
    let copied = (|| {
        if to_database {
            store::require_empty(&dest, &args.dst)?;
        }
        let counts = copy_journal(&source, &dest)?;
        dest.flush()?;
        Ok::<_, anyhow::Error>(counts)
    })();
    let close = dest.close();
    let counts = match copied.and_then(|c| close.map(|()| c).map_err(Into::into)) {
        Ok(counts) => counts,
        Err(err) => {
            if !to_database {
                let _ = std::fs::remove_dir_all(&target);
            }
            return Err(err.context(if to_database {
                format!(
                    "copying into {} (what was copied before the failure stays there)",
                    store::shown(&args.dst)
                )
            } else {
                "copying".to_owned()
            }));
        }
    };
    if !to_database {
        if let Err(err) = store::publish(&target, &args.dst) {
            let _ = std::fs::remove_dir_all(&target);
            return Err(err);
        }
    }
    source.close()?;
    report(json, "copied", &args.src, &args.dst, &counts, started)?;
    Ok(ExitCode::SUCCESS)
}

/// Copies `source` into a new journal directory `dest` of `backend` (not published atomically:
/// for `backup`, which removes `dest` on failure).
pub fn into_new_directory(source: &Journal, dest: &std::path::Path, backend: Backend) -> anyhow::Result<()> {
    let target = Journal::open(dest, Options::new().backend(backend).sync(SyncPolicy::Never))?;
    let copied = copy_journal(source, &target).and_then(|_| Ok(target.flush()?));
    target.close()?;
    copied
}

fn copy_journal(source: &Journal, dest: &Journal) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    // The cut: only events at or below each stream's highest as of now.
    let ids = source.persistence_ids()?;
    let mut highest: HashMap<String, u64> = HashMap::with_capacity(ids.len());
    let mut total = 0;
    for id in &ids {
        let state = source.stream_state(id)?;
        total += state.highest_sequence_nr - state.deleted_to;
        highest.insert(id.clone(), state.highest_sequence_nr);
    }
    let bar = output::progress(total, "copying");
    let mut first_live: HashMap<String, u64> = HashMap::new();
    let mut from = 1;
    loop {
        let mut page: Vec<Event> = Vec::with_capacity(PAGE);
        let mut seen = 0;
        source.scan_all(from, PAGE, |e| {
            seen += 1;
            from = e.global_offset + 1;
            if highest.get(e.persistence_id).is_some_and(|h| e.sequence_nr <= *h) {
                first_live.entry(e.persistence_id.to_owned()).or_insert(e.sequence_nr);
                page.push(e.to_event());
            }
            true
        })?;
        counts.events += page.len() as u64;
        if !page.is_empty() {
            dest.import(page).context("writing events")?;
        }
        bar.set_position(counts.events);
        if seen < PAGE {
            break;
        }
    }
    bar.finish_and_clear();
    for id in &ids {
        let highest = highest[id];
        if highest == 0 {
            continue;
        }
        // Derived from what was copied, so it matches the events even if a deletion ran meanwhile.
        let deleted_to = first_live.get(id).map_or(highest, |first| first - 1);
        dest.import_stream_state(id, highest, deleted_to)
            .with_context(|| format!("stream {id:?}"))?;
        counts.streams += 1;
    }
    let (from_store, to_store) = (source.snapshots(), dest.snapshots());
    for id in from_store.persistence_ids()? {
        for info in from_store.list(&id)? {
            let exact = SnapshotCriteria::latest()
                .min_sequence_nr(info.sequence_nr)
                .max_sequence_nr(info.sequence_nr)
                .min_timestamp(info.timestamp)
                .max_timestamp(info.timestamp);
            // Unreadable snapshots are skipped (`verify` reports them).
            let Some(snapshot) = from_store.load(&id, exact)? else { continue };
            to_store
                .save(&snapshot)
                .with_context(|| format!("snapshot {id:?} at {}", info.sequence_nr))?;
            counts.snapshots += 1;
        }
    }
    Ok(counts)
}
