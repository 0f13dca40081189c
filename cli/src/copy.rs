//! `copy SRC DST`: every event (with its sequence number, offset and every field), every
//! stream's marks and every snapshot of one journal into a new one, between any two backends
//! (an embedded journal to PostgreSQL and back, say), with a progress bar.
//!
//! The image is the one `export` writes, without the JSON: a cut is fixed first (each stream's
//! highest as of the start), so a live writer on the source cannot make the copy inconsistent.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use tidelog::{Backend, Event, EventRef, Journal, Options, Snapshot, SyncPolicy};

use crate::export::report;
use crate::image::{self, Counts, ImageSink};
use crate::inspect::PAGE;
use crate::store;

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
    let mut sink = JournalSink {
        dest,
        page: Vec::with_capacity(PAGE),
    };
    image::walk(source, "copying", &mut sink)
}

/// Writes an image into another journal, a page of events per import.
struct JournalSink<'d> {
    dest: &'d Journal,
    page: Vec<Event>,
}

impl ImageSink for JournalSink<'_> {
    fn event(&mut self, event: &EventRef<'_>) -> anyhow::Result<()> {
        self.page.push(event.to_event());
        Ok(())
    }

    fn end_of_page(&mut self) -> anyhow::Result<()> {
        if !self.page.is_empty() {
            let page = std::mem::replace(&mut self.page, Vec::with_capacity(PAGE));
            self.dest.import(page).context("writing events")?;
        }
        Ok(())
    }

    fn stream(&mut self, persistence_id: &str, highest_sequence_nr: u64, deleted_to: u64) -> anyhow::Result<()> {
        self.dest
            .import_stream_state(persistence_id, highest_sequence_nr, deleted_to)
            .with_context(|| format!("stream {persistence_id:?}"))
    }

    fn snapshot(&mut self, snapshot: Snapshot) -> anyhow::Result<()> {
        let at = snapshot.sequence_nr;
        self.dest
            .snapshots()
            .save(&snapshot)
            .with_context(|| format!("snapshot {:?} at {at}", snapshot.persistence_id))
    }
}
