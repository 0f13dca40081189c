//! Snapshot stores: one file per snapshot for the persistent backends, a map
//! for the memory backend. Both apply the same selection rules.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock, RwLockReadGuard};

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::model::{validate_persistence_id, Snapshot, SnapshotCriteria};
use crate::order::IssueOrder;

mod codec;
mod files;
mod postgres;

pub(crate) use files::FileSnapshots;

/// Where a snapshot is, without its state: what listings return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SnapshotInfo {
    /// Sequence number of the snapshot.
    pub sequence_nr: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
}

/// One snapshot file as found on disk, from [`SnapshotStore::audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// Where it is.
    pub path: PathBuf,
    /// Sequence number and timestamp, from its name.
    pub info: SnapshotInfo,
    /// Its persistence id when it decodes and passes its checksum, else what is wrong.
    pub check: std::result::Result<String, crate::error::CorruptReason>,
}

/// The snapshots of one journal. Obtain it with [`crate::Journal::snapshots`].
///
/// All methods block on file I/O (`save` fsyncs); bindings run them off their
/// host's event loop. A snapshot whose checksum fails is never returned: `load`
/// skips it, counts it in [`crate::MetricsSnapshot::skipped_corrupt_snapshots`]
/// and returns the next older match.
pub struct SnapshotStore {
    inner: Inner,
    closed: Arc<AtomicBool>,
    /// Held (shared) by every operation in progress; `close` takes it
    /// exclusively, so no snapshot write outlives the journal's writer lock.
    in_flight: RwLock<()>,
    metrics: Arc<Metrics>,
    compress: bool,
    /// The journal's writes in flight: an operation on a stream waits for those issued before it.
    order: Arc<IssueOrder>,
}

enum Inner {
    Files(FileSnapshots),
    Memory(Mutex<HashMap<String, BTreeMap<u64, Snapshot>>>),
    Postgres(postgres::PgSnapshots),
}

impl SnapshotStore {
    pub(crate) fn files(
        root: PathBuf,
        closed: Arc<AtomicBool>,
        metrics: Arc<Metrics>,
        compress: bool,
        order: Arc<IssueOrder>,
    ) -> Result<Self> {
        Ok(SnapshotStore {
            inner: Inner::Files(FileSnapshots::open(root)?),
            closed,
            in_flight: RwLock::new(()),
            metrics,
            compress,
            order,
        })
    }

    pub(crate) fn postgres(
        db: Arc<crate::storage::postgres::Database>,
        closed: Arc<AtomicBool>,
        metrics: Arc<Metrics>,
        compress: bool,
        order: Arc<IssueOrder>,
    ) -> Self {
        SnapshotStore {
            inner: Inner::Postgres(postgres::PgSnapshots::new(db)),
            closed,
            in_flight: RwLock::new(()),
            metrics,
            compress,
            order,
        }
    }

    pub(crate) fn memory(closed: Arc<AtomicBool>, metrics: Arc<Metrics>, order: Arc<IssueOrder>) -> Self {
        SnapshotStore {
            inner: Inner::Memory(Mutex::default()),
            closed,
            in_flight: RwLock::new(()),
            metrics,
            compress: false,
            order,
        }
    }

    /// Starts an operation: fails once closed, else holds off `close` until it ends.
    fn enter(&self) -> Result<RwLockReadGuard<'_, ()>> {
        let guard = self.in_flight.read_recursive();
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(guard)
    }

    /// Starts an operation on one stream, after the writes to it issued before (issue order).
    fn check(&self, persistence_id: &str) -> Result<RwLockReadGuard<'_, ()>> {
        validate_persistence_id(persistence_id)?;
        self.order.wait_for(persistence_id);
        self.enter()
    }

    /// Waits for operations in progress; the journal's closed flag is already set.
    pub(crate) fn wait_for_operations(&self) {
        drop(self.in_flight.write());
    }

    /// Stores a snapshot atomically and durably (temp file, fsync, rename, fsync
    /// of the directory). A snapshot with the same sequence number is replaced.
    pub fn save(&self, snapshot: &Snapshot) -> Result<()> {
        let _op = self.check(&snapshot.persistence_id)?;
        match &self.inner {
            Inner::Files(f) => f.save(snapshot, self.compress),
            Inner::Postgres(p) => p.save(snapshot, self.compress),
            Inner::Memory(m) => {
                m.lock()
                    .entry(snapshot.persistence_id.clone())
                    .or_default()
                    .insert(snapshot.sequence_nr, snapshot.clone());
                Ok(())
            }
        }
    }

    /// The newest snapshot (highest sequence number, then latest timestamp)
    /// matching `criteria` whose checksum holds.
    pub fn load(&self, persistence_id: &str, criteria: SnapshotCriteria) -> Result<Option<Snapshot>> {
        let _op = self.check(persistence_id)?;
        match &self.inner {
            Inner::Files(f) => f.load(persistence_id, criteria, &self.metrics),
            Inner::Postgres(p) => p.load(persistence_id, criteria, &self.metrics),
            Inner::Memory(m) => Ok(m
                .lock()
                .get(persistence_id)
                .and_then(|s| s.values().rev().find(|s| criteria.matches(s.sequence_nr, s.timestamp)).cloned())),
        }
    }

    /// Snapshots of a stream, oldest first, without their state.
    pub fn list(&self, persistence_id: &str) -> Result<Vec<SnapshotInfo>> {
        let _op = self.check(persistence_id)?;
        match &self.inner {
            Inner::Files(f) => f.list(persistence_id),
            Inner::Postgres(p) => p.list(persistence_id),
            Inner::Memory(m) => Ok(m
                .lock()
                .get(persistence_id)
                .map(|s| {
                    s.values()
                        .map(|s| SnapshotInfo {
                            sequence_nr: s.sequence_nr,
                            timestamp: s.timestamp,
                        })
                        .collect()
                })
                .unwrap_or_default()),
        }
    }

    /// Every persistence id that has at least one snapshot.
    pub fn persistence_ids(&self) -> Result<Vec<String>> {
        let _op = self.enter()?;
        match &self.inner {
            Inner::Files(f) => f.persistence_ids(&self.metrics),
            Inner::Postgres(p) => p.persistence_ids(),
            Inner::Memory(m) => {
                let mut ids: Vec<String> = m.lock().iter().filter(|(_, s)| !s.is_empty()).map(|(k, _)| k.clone()).collect();
                ids.sort();
                Ok(ids)
            }
        }
    }

    /// Deletes the snapshot with this sequence number, if any. Returns whether one was deleted.
    pub fn delete(&self, persistence_id: &str, sequence_nr: u64) -> Result<bool> {
        let criteria = SnapshotCriteria::latest().min_sequence_nr(sequence_nr).max_sequence_nr(sequence_nr);
        Ok(self.delete_matching(persistence_id, criteria)? > 0)
    }

    /// Deletes every snapshot matching `criteria`; returns how many.
    pub fn delete_matching(&self, persistence_id: &str, criteria: SnapshotCriteria) -> Result<usize> {
        let _op = self.check(persistence_id)?;
        match &self.inner {
            Inner::Files(f) => f.delete_where(persistence_id, |info| criteria.matches(info.sequence_nr, info.timestamp)),
            Inner::Postgres(p) => p.delete_where(persistence_id, |info| criteria.matches(info.sequence_nr, info.timestamp)),
            Inner::Memory(m) => {
                let mut map = m.lock();
                let Some(snaps) = map.get_mut(persistence_id) else { return Ok(0) };
                let before = snaps.len();
                snaps.retain(|_, s| !criteria.matches(s.sequence_nr, s.timestamp));
                Ok(before - snaps.len())
            }
        }
    }

    /// Keeps the `keep_last_n` newest snapshots of a stream and deletes the rest; returns how many were deleted.
    pub fn prune(&self, persistence_id: &str, keep_last_n: usize) -> Result<usize> {
        let _op = self.check(persistence_id)?;
        let infos = self.list(persistence_id)?;
        let excess = infos.len().saturating_sub(keep_last_n);
        if excess == 0 {
            return Ok(0);
        }
        let cutoff = infos[excess - 1];
        match &self.inner {
            Inner::Files(f) => f.delete_where(persistence_id, |info| info <= cutoff),
            Inner::Postgres(p) => p.delete_where(persistence_id, |info| info <= cutoff),
            Inner::Memory(m) => {
                let mut map = m.lock();
                let Some(snaps) = map.get_mut(persistence_id) else { return Ok(0) };
                let before = snaps.len();
                snaps.retain(|_, s| {
                    SnapshotInfo {
                        sequence_nr: s.sequence_nr,
                        timestamp: s.timestamp,
                    } > cutoff
                });
                Ok(before - snaps.len())
            }
        }
    }

    /// Reads and checks every stored snapshot, damaged ones included, for
    /// verification tools. Empty for the memory backend.
    pub fn audit(&self) -> Result<Vec<SnapshotFile>> {
        let _op = self.enter()?;
        match &self.inner {
            Inner::Files(f) => f.audit(),
            Inner::Postgres(p) => p.audit(),
            Inner::Memory(_) => Ok(Vec::new()),
        }
    }

    /// Root directory of the snapshot files (`None` for the memory and PostgreSQL backends).
    pub fn path(&self) -> Option<&Path> {
        match &self.inner {
            Inner::Files(f) => Some(f.root()),
            Inner::Memory(_) | Inner::Postgres(_) => None,
        }
    }
}
