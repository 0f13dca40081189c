//! LMDB backend (through `heed`). Layout, format version 1:
//!
//! | database  | key                                   | value                                   |
//! |-----------|---------------------------------------|-----------------------------------------|
//! | `meta`    | `format`, `next_offset`, `next_stream` | u32 / u64 little-endian                 |
//! | `streams` | persistence id (UTF-8)                | stream id u64, highest u64, deleted_to u64 (LE) |
//! | `names`   | stream id u64 BE                      | persistence id                          |
//! | `events`  | stream id u64 BE, sequence nr u64 BE  | event body (`codec`)                    |
//! | `global`  | global offset u64 BE                  | stream id u64 BE, sequence nr u64 BE    |
//! | `tags`    | FNV-1a-64(tag) BE, global offset BE   | stream id u64 BE, sequence nr u64 BE    |
//!
//! Control data never shares a database with event keys. The map grows by
//! doubling whenever a commit hits `MDB_MAP_FULL`.

use rustc_hash::FxHashMap as HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, MdbError, PutFlags, RoTxn, RwTxn, WithoutTls};
use parking_lot::{Mutex, RwLock};

use super::{Op, Storage, StreamState, Visit};
use crate::codec;
use crate::error::{CorruptReason, Error, Result};
use crate::layout::FORMAT_VERSION;
use crate::metrics::Metrics;
use crate::options::{Options, SyncPolicy};

type Db = Database<Bytes, Bytes>;

#[derive(Clone, Copy)]
struct Dbs {
    meta: Db,
    streams: Db,
    names: Db,
    events: Db,
    global: Db,
    tags: Db,
}

#[derive(Debug, Clone, Copy, Default)]
struct StreamRecord {
    id: u64,
    highest: u64,
    deleted_to: u64,
}

impl StreamRecord {
    fn encode(&self) -> [u8; 24] {
        let mut b = [0; 24];
        b[..8].copy_from_slice(&self.id.to_le_bytes());
        b[8..16].copy_from_slice(&self.highest.to_le_bytes());
        b[16..].copy_from_slice(&self.deleted_to.to_le_bytes());
        b
    }
    fn decode(b: &[u8]) -> Result<Self, CorruptReason> {
        if b.len() != 24 {
            return Err(CorruptReason::Malformed("stream record has the wrong length"));
        }
        Ok(StreamRecord {
            id: codec::le_u64(&b[..8]),
            highest: codec::le_u64(&b[8..16]),
            deleted_to: codec::le_u64(&b[16..]),
        })
    }
}

fn event_key(stream: u64, seq: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&stream.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn tag_key(tag: &str, offset: u64) -> [u8; 16] {
    event_key(tag_hash(tag), offset)
}

/// FNV-1a, 64 bit: stable forever, which an on-disk index needs. Collisions only
/// cost an extra decode: scans check the event's tags.
fn tag_hash(tag: &str) -> u64 {
    tag.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// An inclusive key range, in the form heed accepts for unsized keys.
fn incl<'a>(start: &'a [u8], end: &'a [u8]) -> (Bound<&'a [u8]>, Bound<&'a [u8]>) {
    (Bound::Included(start), Bound::Included(end))
}

fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

/// State only the writer thread touches.
struct WriterState {
    streams: HashMap<String, StreamRecord>,
    next_stream: u64,
}

pub(crate) struct LmdbStorage {
    path: PathBuf,
    /// `None` once closed. Readers hold the read lock for a transaction's life;
    /// growing the map takes the write lock, since LMDB forbids resizing with
    /// transactions active in the process.
    env: RwLock<Option<Env<WithoutTls>>>,
    dbs: Dbs,
    writer: Mutex<WriterState>,
    metrics: Arc<Metrics>,
    synced_commits: bool,
}

fn lmdb(operation: &'static str) -> impl Fn(heed::Error) -> Error {
    move |e| Error::lmdb(operation, e)
}

impl LmdbStorage {
    pub(crate) fn open(path: &Path, options: &Options, metrics: Arc<Metrics>) -> Result<Self> {
        crate::fsutil::create_dir_durably(path)?;
        let synced_commits = options.sync == SyncPolicy::Always;
        let page = 4096;
        let map_size = options.lmdb_map_size.div_ceil(page) * page;
        let mut builder = EnvOpenOptions::new().read_txn_without_tls();
        builder.map_size(map_size).max_dbs(8).max_readers(1024);
        let mut flags = EnvFlags::empty();
        match options.sync {
            SyncPolicy::Always => {}
            // LMDB survives a power loss intact only if a commit's data pages reach the disk
            // before the meta page that points at them. NO_META_SYNC keeps that order (each
            // commit flushes its data pages) and leaves the meta page to the next commit or the
            // interval's flush: a power loss undoes at most the commits since, never the file.
            // (NO_SYNC would let the kernel write a meta page before its data: a corrupt file.)
            SyncPolicy::Interval(_) => flags |= EnvFlags::NO_META_SYNC,
            // Nothing is flushed before close: a power loss may lose or corrupt the journal.
            SyncPolicy::Never => flags |= EnvFlags::NO_SYNC,
        }
        if options.read_only {
            flags |= EnvFlags::READ_ONLY;
        }
        // SAFETY: the journal holds the writer lock (or is read-only); the
        // environment is opened once per process and never on a remote filesystem
        // by this crate's documented contract.
        let env = unsafe {
            builder.flags(flags);
            builder.open(path)
        }
        .map_err(|e| match e {
            heed::Error::EnvAlreadyOpened => Error::Locked { path: path.to_owned() },
            other => Error::lmdb("open environment", other),
        })?;

        let dbs = if options.read_only {
            let rtxn = env.read_txn().map_err(lmdb("begin read"))?;
            let open = |name| -> Result<Db> {
                env.open_database(&rtxn, Some(name))
                    .map_err(lmdb("open database"))?
                    .ok_or_else(|| Error::corrupt(path, 0, CorruptReason::Malformed("LMDB database missing")))
            };
            let dbs = Dbs {
                meta: open("meta")?,
                streams: open("streams")?,
                names: open("names")?,
                events: open("events")?,
                global: open("global")?,
                tags: open("tags")?,
            };
            // Handles opened in a transaction close with it unless it commits.
            rtxn.commit().map_err(lmdb("open databases"))?;
            dbs
        } else {
            let mut wtxn = env.write_txn().map_err(lmdb("begin write"))?;
            let mut create = |name| {
                env.create_database::<Bytes, Bytes>(&mut wtxn, Some(name))
                    .map_err(lmdb("create database"))
            };
            let dbs = Dbs {
                meta: create("meta")?,
                streams: create("streams")?,
                names: create("names")?,
                events: create("events")?,
                global: create("global")?,
                tags: create("tags")?,
            };
            if dbs.meta.get(&wtxn, b"format").map_err(lmdb("read format"))?.is_none() {
                dbs.meta
                    .put(&mut wtxn, b"format", &FORMAT_VERSION.to_le_bytes())
                    .map_err(lmdb("write format"))?;
            }
            wtxn.commit().map_err(lmdb("commit"))?;
            dbs
        };

        let storage = LmdbStorage {
            path: path.to_owned(),
            env: RwLock::new(Some(env)),
            dbs,
            writer: Mutex::new(WriterState {
                streams: HashMap::default(),
                next_stream: 1,
            }),
            metrics,
            synced_commits,
        };
        storage.check_format()?;
        let next_stream = storage.committed_next_stream()?;
        storage.writer.lock().next_stream = next_stream;
        Ok(storage)
    }

    /// The next stream id as committed (what the writer cache resets to).
    fn committed_next_stream(&self) -> Result<u64> {
        self.read(|_, txn| Ok(self.meta_u64(txn, b"next_stream")?.unwrap_or(1)))
    }

    fn check_format(&self) -> Result<()> {
        self.read(|_, txn| {
            let found = match self.dbs.meta.get(txn, b"format").map_err(lmdb("read format"))? {
                Some(b) if b.len() == 4 => codec::le_u32(b),
                Some(_) => return Err(self.corrupt(CorruptReason::Malformed("format record"))),
                None => FORMAT_VERSION,
            };
            if found > FORMAT_VERSION {
                return Err(Error::UnsupportedFormat {
                    path: self.path.clone(),
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            Ok(())
        })
    }

    fn corrupt(&self, reason: CorruptReason) -> Error {
        Error::corrupt(self.path.join("data.mdb"), 0, reason)
    }

    /// Runs `f` in a fresh read transaction.
    fn read<T>(&self, f: impl FnOnce(&Env<WithoutTls>, &RoTxn<'_, WithoutTls>) -> Result<T>) -> Result<T> {
        loop {
            {
                let guard = self.env.read();
                let env = guard.as_ref().ok_or(Error::Closed)?;
                let begun = env.read_txn();
                match begun {
                    Ok(txn) => {
                        let result = f(env, &txn);
                        drop(txn);
                        return result;
                    }
                    // Another process grew the map: adopt its size and retry.
                    Err(heed::Error::Mdb(MdbError::MapResized)) => {}
                    Err(e) => return Err(Error::lmdb("begin read", e)),
                }
            }
            self.adopt_map_size()?;
        }
    }

    /// Takes the map size another process grew the environment to.
    fn adopt_map_size(&self) -> Result<()> {
        let guard = self.env.write();
        if let Some(env) = guard.as_ref() {
            // SAFETY: the write lock guarantees no transaction of this process is active.
            unsafe { env.resize(0) }.map_err(lmdb("adopt map size"))?;
        }
        Ok(())
    }

    fn meta_u64(&self, txn: &RoTxn<'_, WithoutTls>, key: &[u8]) -> Result<Option<u64>> {
        match self.dbs.meta.get(txn, key).map_err(lmdb("read meta"))? {
            Some(b) if b.len() == 8 => Ok(Some(codec::le_u64(b))),
            Some(_) => Err(self.corrupt(CorruptReason::Malformed("meta record"))),
            None => Ok(None),
        }
    }

    fn stream(&self, txn: &RoTxn<'_, WithoutTls>, persistence_id: &str) -> Result<Option<StreamRecord>> {
        match self.dbs.streams.get(txn, persistence_id.as_bytes()).map_err(lmdb("read stream"))? {
            Some(b) => StreamRecord::decode(b).map(Some).map_err(|r| self.corrupt(r)),
            None => Ok(None),
        }
    }

    /// One attempt at committing `ops`; the caller retries after growing the map.
    fn try_commit(&self, env: &Env<WithoutTls>, state: &mut WriterState, ops: &[Op<'_>], buffer: &[u8]) -> heed::Result<()> {
        let mut txn = env.write_txn()?;
        let dbs = self.dbs;
        let first_new_stream = state.next_stream;
        // Each stream record is written once per commit, however many writes it had.
        let mut touched: Vec<&str> = Vec::new();
        for op in ops {
            match op {
                Op::Write(w) => {
                    let record = cached_record(&dbs, &mut txn, state, w.persistence_id)?;
                    for (i, (body, event)) in w.bodies.iter().zip(w.events).enumerate() {
                        let seq = w.first_sequence_nr + i as u64;
                        let offset = w.first_global_offset + i as u64;
                        let key = event_key(record.id, seq);
                        dbs.events.put(&mut txn, &key, &buffer[body.clone()])?;
                        // Offsets only grow, so LMDB can append without searching.
                        dbs.global.put_with_flags(&mut txn, PutFlags::APPEND, &offset.to_be_bytes(), &key)?;
                        for tag in &event.tags {
                            dbs.tags.put(&mut txn, &tag_key(tag, offset), &key)?;
                        }
                    }
                    record.highest = w.first_sequence_nr + w.bodies.len() as u64 - 1;
                    if !touched.contains(&w.persistence_id) {
                        touched.push(w.persistence_id);
                    }
                }
                Op::SetState {
                    persistence_id,
                    highest,
                    deleted_to: to,
                } => {
                    let record = *cached_record(&dbs, &mut txn, state, persistence_id)?;
                    // Deleting may remove the highest offsets: keep the next one as a floor, read before the
                    // index entries go, so that no offset is ever handed out twice (across a reopen too).
                    let next = self.next_offset_in(&txn)?;
                    dbs.meta.put(&mut txn, b"next_offset", &next.to_le_bytes())?;
                    let range = event_key(record.id, record.deleted_to + 1)..=event_key(record.id, *to);
                    let mut index_keys = Vec::new();
                    for item in dbs.events.range(&txn, &incl(range.start(), range.end()))? {
                        let (_, body) = item?;
                        // Damaged events are still deleted; their index entries are found by offset below.
                        if let Ok(event) = codec::decode_event(persistence_id, body) {
                            index_keys.push((event.global_offset, event.tags.iter().map(str::to_owned).collect::<Vec<_>>()));
                        } else if let Ok(h) = codec::decode_header(body) {
                            index_keys.push((h.global_offset, Vec::new()));
                        }
                    }
                    for (offset, tags) in index_keys {
                        dbs.global.delete(&mut txn, &offset.to_be_bytes())?;
                        for tag in tags {
                            dbs.tags.delete(&mut txn, &tag_key(&tag, offset))?;
                        }
                    }
                    dbs.events.delete_range(&mut txn, &incl(range.start(), range.end()))?;
                    let cached = state.streams.get_mut(*persistence_id).expect("cached above");
                    cached.highest = *highest;
                    cached.deleted_to = record.deleted_to.max(*to);
                    if !touched.contains(persistence_id) {
                        touched.push(persistence_id);
                    }
                }
            }
        }
        for pid in touched {
            dbs.streams.put(&mut txn, pid.as_bytes(), &state.streams[pid].encode())?;
        }
        if state.next_stream != first_new_stream {
            dbs.meta.put(&mut txn, b"next_stream", &state.next_stream.to_le_bytes())?;
        }
        txn.commit()
    }

    /// The next global offset as the transaction sees it: past the last indexed
    /// event, and never below the floor kept in `meta`.
    fn next_offset_in(&self, txn: &RoTxn<'_>) -> heed::Result<u64> {
        let floor = match self.dbs.meta.get(txn, b"next_offset")? {
            Some(b) if b.len() == 8 => codec::le_u64(b),
            _ => 1,
        };
        let last = self.dbs.global.last(txn)?.map_or(0, |(k, _)| be_u64(k));
        Ok(floor.max(last + 1))
    }

    fn grow(&self, needed: usize) -> Result<()> {
        let guard = self.env.write();
        let env = guard.as_ref().ok_or(Error::Closed)?;
        let current = env.info().map_size;
        let page = 4096;
        let new_size = (current * 2).max(current + needed * 2).div_ceil(page) * page;
        // SAFETY: the write lock guarantees no transaction of this process is active.
        unsafe { env.resize(new_size) }.map_err(lmdb("grow map"))?;
        Metrics::add(&self.metrics.lmdb_map_resizes, 1);
        tracing::debug!(from = current, to = new_size, "grew LMDB map");
        Ok(())
    }
}

/// The writer's cached record of a stream, loaded from the transaction (or
/// created, with a new stream id) on first use.
fn cached_record<'s>(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    state: &'s mut WriterState,
    persistence_id: &str,
) -> heed::Result<&'s mut StreamRecord> {
    if !state.streams.contains_key(persistence_id) {
        let mut record = match dbs.streams.get(txn, persistence_id.as_bytes())? {
            Some(b) => StreamRecord::decode(b).unwrap_or_default(),
            None => StreamRecord::default(),
        };
        if record.id == 0 {
            record.id = state.next_stream;
            state.next_stream += 1;
            dbs.names.put(txn, &record.id.to_be_bytes(), persistence_id.as_bytes())?;
        }
        state.streams.insert(persistence_id.to_owned(), record);
    }
    Ok(state.streams.get_mut(persistence_id).expect("inserted above"))
}

impl Storage for LmdbStorage {
    fn stream_state(&self, persistence_id: &str) -> Result<StreamState> {
        self.read(|_, txn| {
            Ok(self
                .stream(txn, persistence_id)?
                .map_or_else(StreamState::default, |s| StreamState {
                    highest_sequence_nr: s.highest,
                    deleted_to: s.deleted_to,
                }))
        })
    }

    fn next_global_offset(&self) -> Result<u64> {
        self.read(|_, txn| self.next_offset_in(txn).map_err(lmdb("read next offset")))
    }

    fn scan_stream(&self, persistence_id: &str, from: u64, to: u64, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        self.read(|_, txn| {
            let Some(stream) = self.stream(txn, persistence_id)? else {
                return Ok(());
            };
            let from = from.max(stream.deleted_to + 1);
            if from > to {
                return Ok(());
            }
            let (start, end) = (event_key(stream.id, from), event_key(stream.id, to));
            let iter = self.dbs.events.range(txn, &incl(&start, &end)).map_err(lmdb("read events"))?;
            for item in iter.take(max) {
                let (_, body) = item.map_err(lmdb("read events"))?;
                let event = codec::decode_event(persistence_id, body).map_err(|r| self.corrupt(r))?;
                if !visit(event) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        self.read(|_, txn| {
            let mut names: HashMap<u64, String> = HashMap::default();
            let mut seen = 0;
            let mut visit_key = |key: &[u8]| -> Result<bool> {
                let stream = be_u64(&key[..8]);
                let pid = match names.entry(stream) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let name = self
                            .dbs
                            .names
                            .get(txn, &stream.to_be_bytes())
                            .map_err(lmdb("read names"))?
                            .ok_or_else(|| self.corrupt(CorruptReason::Malformed("index names an unknown stream")))?;
                        e.insert(
                            String::from_utf8(name.to_vec())
                                .map_err(|_| self.corrupt(CorruptReason::Malformed("persistence id is not UTF-8")))?,
                        )
                    }
                };
                let Some(body) = self.dbs.events.get(txn, key).map_err(lmdb("read events"))? else {
                    return Ok(true);
                };
                let event = codec::decode_event(pid, body).map_err(|r| self.corrupt(r))?;
                if tag.is_some_and(|t| !event.tags.contains(t)) {
                    return Ok(true);
                }
                seen += 1;
                Ok(visit(event) && seen < max)
            };
            match tag {
                Some(tag) => {
                    let (start, end) = (tag_key(tag, from_offset), tag_key(tag, u64::MAX));
                    for item in self.dbs.tags.range(txn, &incl(&start, &end)).map_err(lmdb("read tags"))? {
                        let (_, key) = item.map_err(lmdb("read tags"))?;
                        if !visit_key(key)? {
                            break;
                        }
                    }
                }
                None => {
                    let start = from_offset.to_be_bytes();
                    for item in self
                        .dbs
                        .global
                        .range(txn, &(Bound::Included(start.as_slice()), Bound::Unbounded))
                        .map_err(lmdb("read global index"))?
                    {
                        let (_, key) = item.map_err(lmdb("read global index"))?;
                        if !visit_key(key)? {
                            break;
                        }
                    }
                }
            }
            Ok(())
        })
    }

    fn persistence_ids(&self) -> Result<Vec<String>> {
        self.read(|_, txn| {
            let mut ids = Vec::new();
            for item in self.dbs.streams.iter(txn).map_err(lmdb("read streams"))? {
                let (key, _) = item.map_err(lmdb("read streams"))?;
                ids.push(
                    String::from_utf8(key.to_vec()).map_err(|_| self.corrupt(CorruptReason::Malformed("persistence id is not UTF-8")))?,
                );
            }
            ids.sort_unstable();
            Ok(ids)
        })
    }

    fn commit(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()> {
        let mut state = self.writer.lock();
        loop {
            let attempt = {
                let guard = self.env.read();
                let env = guard.as_ref().ok_or(Error::Closed)?;
                self.try_commit(env, &mut state, ops, buffer)
            };
            match attempt {
                Ok(()) => return Ok(()),
                Err(e) => {
                    // The transaction was aborted; records cached during it may be wrong.
                    state.streams.clear();
                    state.next_stream = self.committed_next_stream()?;
                    if matches!(e, heed::Error::Mdb(MdbError::MapFull)) {
                        self.grow(buffer.len())?;
                        continue;
                    }
                    let data = self.path.join("data.mdb");
                    let error = Error::lmdb_at("commit", Some(&data), e);
                    // A short write surfaces as EIO; tell a full device apart from a failing one.
                    if matches!(&error, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EIO))
                        && crate::fsutil::lacks_room(&data, buffer.len() as u64 + (1 << 20))
                    {
                        return Err(Error::StorageFull { path: data });
                    }
                    return Err(error);
                }
            }
        }
    }

    fn copy_to(&self, dest: &Path) -> Result<()> {
        crate::fsutil::create_dir_durably(dest)?;
        let target = dest.join("data.mdb");
        loop {
            let attempt = {
                let guard = self.env.read();
                let env = guard.as_ref().ok_or(Error::Closed)?;
                // LMDB's copy runs in its own read transaction: a consistent point in time, compacted.
                env.copy_to_path(&target, heed::CompactionOption::Enabled)
            };
            match attempt {
                Ok(file) => {
                    file.sync_all().map_err(|e| Error::io("fsync", &target, e))?;
                    return crate::fsutil::sync_dir(dest);
                }
                // Another process grew the map since this one mapped it: adopt the size, copy again.
                Err(heed::Error::Mdb(MdbError::MapResized)) => {
                    let _ = std::fs::remove_file(&target);
                    self.adopt_map_size()?;
                }
                Err(e) => return Err(Error::lmdb_at("copy environment", Some(&target), e)),
            }
        }
    }

    fn sync(&self) -> Result<()> {
        if self.synced_commits {
            return Ok(()); // every commit already flushed data and meta pages
        }
        let guard = self.env.read();
        guard
            .as_ref()
            .ok_or(Error::Closed)?
            .force_sync()
            .map_err(|e| Error::lmdb_at("fsync", Some(&self.path.join("data.mdb")), e))
    }

    fn close(&self) -> Result<()> {
        let env = self.env.write().take();
        if let Some(env) = env {
            // Wait until LMDB really closed the environment so the path can be reopened at once.
            env.prepare_for_closing().wait();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_flags(sync: SyncPolicy) -> u32 {
        let dir = tempfile::tempdir().unwrap();
        let storage = LmdbStorage::open(dir.path(), &Options::new().sync(sync), Arc::default()).unwrap();
        let flags = storage.env.read().as_ref().unwrap().get_flags().unwrap();
        storage.close().unwrap();
        flags
    }

    #[test]
    fn only_the_never_policy_lets_lmdb_write_a_meta_page_before_its_data() {
        let (no_sync, no_meta_sync) = (EnvFlags::NO_SYNC.bits(), EnvFlags::NO_META_SYNC.bits());
        assert_eq!(env_flags(SyncPolicy::Always) & (no_sync | no_meta_sync), 0);
        let interval = env_flags(SyncPolicy::Interval(std::time::Duration::from_millis(50)));
        assert_eq!(interval & no_sync, 0, "interval must keep flushing data pages at each commit");
        assert_ne!(interval & no_meta_sync, 0);
        assert_ne!(env_flags(SyncPolicy::Never) & no_sync, 0);
    }
}
