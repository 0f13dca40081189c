//! A journal's *image*: every live event, every stream's marks and every snapshot, as of a
//! fixed cut. `export` writes it as JSON lines, `copy` (and `backup`) into another journal;
//! both walk it here, so the cut and the order are defined once.
//!
//! The cut is each stream's highest sequence number when the walk starts: events a live
//! writer commits later are left out, so the image is consistent. A stream's `deleted_to` is
//! derived from its first event in the image, so it matches the events even if a deletion
//! ran during the walk (and equals the stored mark otherwise).

use std::collections::HashMap;

use serde::Serialize;
use tidelog::{EventRef, Journal, Snapshot, SnapshotCriteria};

use crate::inspect::{go_on, PAGE};
use crate::output;

/// How many items of each kind an image held.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Counts {
    pub(crate) events: u64,
    pub(crate) streams: u64,
    pub(crate) snapshots: u64,
}

/// Where an image goes.
pub(crate) trait ImageSink {
    /// One live event, in global order.
    fn event(&mut self, event: &EventRef<'_>) -> anyhow::Result<()>;
    /// After each page of events (a sink that batches writes them here).
    fn end_of_page(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    /// A stream's marks, after every event.
    fn stream(&mut self, persistence_id: &str, highest_sequence_nr: u64, deleted_to: u64) -> anyhow::Result<()>;
    /// A snapshot, after every stream.
    fn snapshot(&mut self, snapshot: Snapshot) -> anyhow::Result<()>;
}

/// Walks `journal`'s image into `sink`, with a progress bar labelled `label`.
pub(crate) fn walk(journal: &Journal, label: &'static str, sink: &mut impl ImageSink) -> anyhow::Result<Counts> {
    let ids = journal.persistence_ids()?;
    let mut highest: HashMap<String, u64> = HashMap::with_capacity(ids.len());
    let mut total = 0;
    for id in &ids {
        let state = journal.stream_state(id)?;
        total += state.highest_sequence_nr - state.deleted_to;
        highest.insert(id.clone(), state.highest_sequence_nr);
    }
    let bar = output::progress(total, label);
    let mut counts = Counts::default();
    let mut first_live: HashMap<String, u64> = HashMap::new();
    let mut from = 1;
    let mut failure = None;
    loop {
        let mut seen = 0;
        journal.scan_all(from, PAGE, |e| {
            seen += 1;
            from = e.global_offset + 1;
            if highest.get(e.persistence_id).is_none_or(|h| e.sequence_nr > *h) {
                return true; // committed after the cut
            }
            first_live.entry(e.persistence_id.to_owned()).or_insert(e.sequence_nr);
            counts.events += 1;
            go_on(sink.event(&e), &mut failure)
        })?;
        if let Some(err) = failure.take() {
            return Err(err);
        }
        sink.end_of_page()?;
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
        let deleted_to = first_live.get(id).map_or(highest, |first| first - 1);
        sink.stream(id, highest, deleted_to)?;
        counts.streams += 1;
    }
    let snapshots = journal.snapshots();
    for id in snapshots.persistence_ids()? {
        for info in snapshots.list(&id)? {
            let exact = SnapshotCriteria::latest()
                .min_sequence_nr(info.sequence_nr)
                .max_sequence_nr(info.sequence_nr)
                .min_timestamp(info.timestamp)
                .max_timestamp(info.timestamp);
            // Unreadable snapshots are skipped (`verify` reports them).
            let Some(snapshot) = snapshots.load(&id, exact)? else { continue };
            sink.snapshot(snapshot)?;
            counts.snapshots += 1;
        }
    }
    Ok(counts)
}
