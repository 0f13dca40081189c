//! Storage backends. They store what the writer has already validated: every
//! rule about sequence numbers, offsets and deletion lives in `writer.rs`, so
//! the backends only persist and index.

use std::ops::Range;

use crate::error::Result;
use crate::model::{EventRef, NewEvent};

pub(crate) mod files;
pub(crate) mod lmdb;
pub(crate) mod memory;

/// One operation of a group commit, in queue order.
pub(crate) enum Op<'a> {
    /// An atomic write whose sequence numbers and offsets are assigned.
    Write(StagedWrite<'a>),
    /// Removes events `1..=to` of a stream; `to` never exceeds the stream's highest.
    Delete { persistence_id: &'a str, to: u64 },
}

/// A validated atomic write. Event `i` has sequence number
/// `first_sequence_nr + i`, global offset `first_global_offset + i`, and its
/// encoded body at `bodies[i]` within the batch buffer.
pub(crate) struct StagedWrite<'a> {
    pub persistence_id: &'a str,
    pub first_sequence_nr: u64,
    pub first_global_offset: u64,
    pub events: &'a [NewEvent],
    pub bodies: &'a [Range<usize>],
}

/// Called for each event of a scan; return `false` to stop.
pub(crate) type Visit<'v> = dyn FnMut(EventRef<'_>) -> bool + 'v;

/// What a journal's storage can do. The writer thread is the only caller of
/// `commit`, `sync` and `close`; every other method may be called from any
/// thread at any time.
pub(crate) trait Storage: Send + Sync {
    /// Highest sequence number ever committed for the stream (0 if none); survives deletion.
    fn highest_sequence_nr(&self, persistence_id: &str) -> Result<u64>;
    /// Offset the next committed event gets (1 for an empty journal).
    fn next_global_offset(&self) -> Result<u64>;
    /// Visits the stream's live events with `from <= seq <= to`, in order, at most `max`.
    fn scan_stream(&self, persistence_id: &str, from: u64, to: u64, max: usize, visit: &mut Visit<'_>) -> Result<()>;
    /// Visits live events with `global_offset >= from_offset` in offset order,
    /// only those carrying `tag` when given, at most `max`.
    fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<()>;
    /// Every persistence id ever written, sorted.
    fn persistence_ids(&self) -> Result<Vec<String>>;
    /// Applies the operations atomically (all or none) and makes them visible to readers.
    fn commit(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()>;
    /// Flushes committed data to stable storage.
    fn sync(&self) -> Result<()>;
    /// Background upkeep (reclaiming space after deletions). Called by the
    /// writer when it is idle, never during close.
    fn maintain(&self) -> Result<()> {
        Ok(())
    }
    /// Releases files and locks. Called once, after the last commit.
    fn close(&self) -> Result<()>;
}
