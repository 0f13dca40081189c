//! Storage backends. They store what the writer has already validated: every
//! rule about sequence numbers, offsets and deletion lives in `writer.rs`, so
//! the backends only persist and index. A backend that several writers share
//! (PostgreSQL) also hands the writer the authoritative stream marks and next
//! offset for each batch ([`Storage::begin_batch`]), under a lock that orders
//! its batch after every other writer's.

use std::ops::Range;

use crate::error::Result;
use crate::model::{BodyPage, EventRef, NewEvent};

pub(crate) mod files;
pub(crate) mod lmdb;
pub(crate) mod lmdb_pages;
pub(crate) mod memory;
pub(crate) mod pg_tls;
pub(crate) mod postgres;
pub(crate) mod wal;

/// One operation of a group commit, in queue order.
pub(crate) enum Op<'a> {
    /// An atomic write whose sequence numbers and offsets are assigned.
    Write(StagedWrite<'a>),
    /// Sets a stream's marks and removes its events `<= deleted_to`. The writer
    /// guarantees both marks only grow and `deleted_to <= highest`.
    SetState {
        persistence_id: &'a str,
        highest: u64,
        deleted_to: u64,
    },
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

/// A stream's marks: events `deleted_to + 1 ..= highest` are live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamState {
    /// Highest sequence number ever written (0 for none).
    pub highest_sequence_nr: u64,
    /// Events up to and including this one were deleted.
    pub deleted_to: u64,
}

/// What a shared backend knows at the start of a batch, under its batch lock: the marks of
/// the batch's streams (zeros for new ones) and the offset the batch's first event gets.
pub(crate) struct BatchStart {
    pub next_global_offset: u64,
    pub streams: Vec<(String, StreamState)>,
}

/// How [`Storage::commit_begun`] ended a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Committed {
    /// Applied (or, without operations, ended).
    Done,
    /// Nothing written: the batch was staged against marks another writer has changed since.
    Stale,
}

/// Called for each event of a scan; return `false` to stop.
pub(crate) type Visit<'v> = dyn FnMut(EventRef<'_>) -> bool + 'v;

/// What a journal's storage can do. The writer thread is the only caller of
/// `commit`, `sync` and `close`; every other method may be called from any
/// thread at any time.
pub(crate) trait Storage: Send + Sync {
    /// The stream's marks (zeros for an unknown stream); they survive deletion.
    fn stream_state(&self, persistence_id: &str) -> Result<StreamState>;
    /// Offset the next committed event gets (1 for an empty journal).
    fn next_global_offset(&self) -> Result<u64>;
    /// Visits the stream's live events with `from <= seq <= to`, in order, at most `max`.
    fn scan_stream(&self, persistence_id: &str, from: u64, to: u64, max: usize, visit: &mut Visit<'_>) -> Result<()>;
    /// [`Storage::scan_stream`] copying each event's checked stored body into `page` (same
    /// checks): the LMDB backend inlines the copy into its scan loops.
    fn copy_stream_bodies(&self, persistence_id: &str, from: u64, to: u64, max: usize, page: &mut BodyPage<'_>) -> Result<()> {
        self.scan_stream(persistence_id, from, to, max, &mut |e| page.push(e.checked_body()))
    }
    /// Visits live events with `global_offset >= from_offset` in offset order,
    /// only those carrying `tag` when given, at most `max`.
    fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<()>;
    /// Every persistence id ever written, sorted.
    fn persistence_ids(&self) -> Result<Vec<String>>;
    /// Whether several writers share this backend (then the writer calls `begin_batch`, and
    /// subscriptions follow the storage itself rather than this process's writer).
    fn shared(&self) -> bool {
        false
    }
    /// For a [`Storage::shared`] backend: starts the batch's transaction, ordered after every
    /// other writer's batch, and returns the authoritative state of `persistence_ids` and the
    /// next offset, against which the writer stages the batch (its cache may be stale). The
    /// writer then always calls `commit`, which ends the transaction (with no operations, it
    /// ends it writing nothing). The embedded backends return `None`: the writer's cache is
    /// authoritative, since it is the only writer.
    fn begin_batch(&self, _persistence_ids: &[&str]) -> Result<Option<BatchStart>> {
        Ok(None)
    }
    /// Applies the operations atomically (all or none) and makes them visible to readers.
    fn commit(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()>;
    /// Ends a batch begun with [`Storage::begin_batch`]. A backend may answer `begin_batch`
    /// from what it knows of its own last commit, without asking the database; if another
    /// writer committed since, the batch was staged against stale marks, and this returns
    /// [`Committed::Stale`] having written nothing. The writer then begins the batch again
    /// (the backend now asks the database) and stages it anew.
    fn commit_begun(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<Committed> {
        self.commit(ops, buffer).map(|()| Committed::Done)
    }
    /// Flushes committed data to stable storage.
    fn sync(&self) -> Result<()>;
    /// Background upkeep (reclaiming space after deletions). Called by the
    /// writer when it is idle, never during close.
    fn maintain(&self) -> Result<()> {
        Ok(())
    }
    /// Writes a consistent copy of the committed data into the empty directory
    /// `dest` (the backend's own subdirectory of a journal), safe beside a live writer.
    fn copy_to(&self, dest: &std::path::Path) -> Result<()>;
    /// Releases files and locks. Called once, after the last commit.
    fn close(&self) -> Result<()>;
    /// Reads and checks every stored value (the deep check of `tidelog verify --deep`). Backends
    /// that check everything at open have nothing more to do.
    fn scrub(&self) -> Result<()> {
        Ok(())
    }
    /// Torn tails this handle met: dropped at open by a writer, skipped by a reader.
    fn torn_tails(&self) -> Vec<TornTail> {
        Vec::new()
    }
}

/// The end of a log that failed a check with nothing valid after it: a record cut by a
/// crash, or damage to the last record, which the format cannot tell apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The log or segment file.
    pub path: std::path::PathBuf,
    /// Where the failing record starts.
    pub offset: u64,
    /// Bytes from there to the end of the file (zeros written ahead included).
    pub bytes: u64,
}
