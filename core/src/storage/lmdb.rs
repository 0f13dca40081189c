//! LMDB backend (through `heed`), with a write-ahead log in front (`wal`): group
//! commits go to the log and an in-memory tail, and checkpoints apply the tail to
//! LMDB in one durable transaction. Layout (values since format 3 end in a CRC32; see
//! `core/docs/format.md`, which is authoritative):
//!
//! | database  | key                                   | value                                   |
//! |-----------|---------------------------------------|-----------------------------------------|
//! | `meta`    | `format`, `next_offset`, `next_stream`, `wal_generation`, `wal_min_len`, `wal_marks` | u32 / u64 little-endian |
//! | `streams` | persistence id (UTF-8)                | stream id u64, highest u64, deleted_to u64 (LE) |
//! | `names`   | stream id u64 BE                      | persistence id                          |
//! | `events`  | stream id u64 BE, sequence nr u64 BE  | event body (`codec`)                    |
//! | `global`  | global offset u64 BE                  | stream id u64 BE, sequence nr u64 BE    |
//! | `tags`    | FNV-1a-64(tag) BE, global offset BE   | stream id u64 BE, sequence nr u64 BE    |
//!
//! Control data never shares a database with event keys. The map grows by
//! doubling whenever a commit hits `MDB_MAP_FULL`.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, MdbError, PutFlags, RoTxn, RwTxn, WithoutTls};
use parking_lot::{Mutex, RwLock};

use super::lmdb_pages;
use super::wal::{Tail, WalWriter, CHECKPOINT_BYTES, DIRECT_BYTES, GROWTH};
use super::{Op, Storage, StreamState, Visit};
use crate::codec;
use crate::error::{CorruptReason, Error, Result};
use crate::layout::FORMAT_VERSION;
use crate::metrics::Metrics;
use crate::model::{BodyPage, EventRef};
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
    /// The record stored under the stream's persistence id, sealed with its checksum.
    fn encode(&self, persistence_id: &str) -> Vec<u8> {
        let mut b = [0; 24];
        b[..8].copy_from_slice(&self.id.to_le_bytes());
        b[8..16].copy_from_slice(&self.highest.to_le_bytes());
        b[16..].copy_from_slice(&self.deleted_to.to_le_bytes());
        seal(persistence_id.as_bytes(), &b)
    }
    fn decode(persistence_id: &[u8], stored: &[u8]) -> Result<Self, CorruptReason> {
        let b = unseal(persistence_id, stored, 24)?;
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

/// The stream id and sequence number of an `events` key (also the value of `global` and `tags`).
fn split_event_key(key: &[u8]) -> Result<(u64, u64), CorruptReason> {
    match key.len() {
        16 => Ok((codec::be_u64(&key[..8]), codec::be_u64(&key[8..]))),
        _ => Err(CorruptReason::Malformed("an event key is not 16 bytes")),
    }
}

/// A value as stored since format 3: the value, then CRC32 of key and value (LE), so that a
/// damaged value, or a value under a damaged key, is detected.
fn seal(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key);
    hasher.update(value);
    let mut stored = Vec::with_capacity(value.len() + 4);
    stored.extend_from_slice(value);
    stored.extend_from_slice(&hasher.finalize().to_le_bytes());
    stored
}

/// The value of `len` bytes `seal` stored under `key`, its checksum verified; a value of
/// exactly `len` bytes was written before format 3 and carries none.
fn unseal<'v>(key: &[u8], stored: &'v [u8], len: usize) -> Result<&'v [u8], CorruptReason> {
    if stored.len() == len {
        return Ok(stored);
    }
    if stored.len() != len + 4 {
        return Err(CorruptReason::Malformed("a stored value has the wrong length"));
    }
    let (value, crc) = stored.split_at(len);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key);
    hasher.update(value);
    let (stored_crc, computed) = (codec::le_u32(crc), hasher.finalize());
    if stored_crc != computed {
        return Err(CorruptReason::Checksum {
            stored: stored_crc,
            computed,
        });
    }
    Ok(value)
}

/// A damaged value met inside a write transaction, carried through heed's error type.
fn damaged(reason: CorruptReason) -> heed::Error {
    heed::Error::Decoding(Box::new(reason))
}

/// Rewrites the values of a journal written before format 3 with their checksums.
fn seal_legacy_values(dbs: &Dbs, txn: &mut RwTxn<'_>) -> heed::Result<()> {
    let mut legacy = Vec::new();
    for item in dbs.streams.iter(txn)? {
        let (key, value) = item?;
        if value.len() == 24 {
            legacy.push((key.to_vec(), value.to_vec()));
        }
    }
    for (key, value) in legacy {
        dbs.streams.put(txn, &key, &seal(&key, &value))?;
    }
    for key in [&b"next_offset"[..], b"next_stream", b"wal_generation"] {
        if let Some(value) = dbs.meta.get(txn, key)?.filter(|v| v.len() == 8).map(<[u8]>::to_vec) {
            dbs.meta.put(txn, key, &seal(key, &value))?;
        }
    }
    Ok(())
}

/// Checks `data.mdb` before LMDB maps it: its size against the meta pages (a page LMDB reads
/// past the end of the file would fault the process with SIGBUS) and the structure of every page
/// in use (LMDB follows page pointers unchecked: a damaged page would crash it, or a write would
/// spread the damage). See format.md, "LMDB pages".
fn check_data_file(dir: &Path, read_only: bool) -> Result<()> {
    let path = dir.join("data.mdb");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("open", &path, e)),
    };
    let truncated = |offset| Error::corrupt(&path, offset, CorruptReason::Truncated);
    let mut attempts = 0;
    loop {
        let len = file.metadata().map_err(|e| Error::io("stat", &path, e))?.len();
        if len == 0 {
            // A first open that crashed before LMDB wrote its meta pages leaves an empty file, and
            // nothing else: no log.
            let log = std::fs::metadata(dir.join("wal")).map(|m| m.len()).unwrap_or(0);
            return if log == 0 { Ok(()) } else { Err(truncated(0)) };
        }
        let meta = lmdb_pages::read_meta(&file, &path, len)?;
        let walked = lmdb_pages::check_structure(&file, &path, &meta, len, true);
        let err = match walked {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        // A read-only open beside a live writer may walk pages the writer reused meanwhile: that
        // shows as a newer meta page, and the walk starts again.
        let moved = read_only && lmdb_pages::read_meta(&file, &path, len).is_ok_and(|now| now.txn != meta.txn);
        attempts += 1;
        if moved && attempts < 5 {
            continue;
        }
        let needed = meta.last_page.saturating_add(1).saturating_mul(meta.page_size);
        // A file shorter than its meta pages say is legitimate only when the last pages were
        // allocated and freed in one transaction (never written) and none is in use.
        return Err(if len < needed { truncated(len) } else { err });
    }
}

/// State only the writer thread touches.
struct WriterState {
    streams: HashMap<String, StreamRecord>,
    next_stream: u64,
    /// `None` for a read-only journal.
    wal: Option<WalWriter>,
    /// A checkpoint's scratch, kept for the next: the stream id of each tail stream (by its
    /// index in the tail), and the streams as (id, index) in key order.
    checkpoint_ids: Vec<u64>,
    checkpoint_order: Vec<(u64, u32)>,
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
    /// `SyncPolicy::Never`: LMDB runs with `MDB_NOSYNC` and the log is never flushed.
    never_sync: bool,
    read_only: bool,
    wal_path: PathBuf,
    /// The unapplied events of the log's current generation. A read-only journal
    /// keeps the last one it read from the log here, to read on from where it stopped.
    tail: RwLock<Arc<Tail>>,
    /// The torn tail the last read of the log met (at open for the writer).
    torn: Mutex<Option<super::TornTail>>,
}

fn lmdb(operation: &'static str) -> impl Fn(heed::Error) -> Error {
    move |e| Error::lmdb(operation, e)
}

impl LmdbStorage {
    pub(crate) fn open(path: &Path, options: &Options, metrics: Arc<Metrics>) -> Result<Self> {
        crate::fsutil::create_dir_durably(path)?;
        let page = 4096;
        let map_size = options.lmdb_map_size.div_ceil(page) * page;
        let mut builder = EnvOpenOptions::new().read_txn_without_tls();
        builder.map_size(map_size).max_dbs(8).max_readers(1024);
        let mut flags = EnvFlags::empty();
        // LMDB transactions are checkpoints, and durable unless nothing is ever flushed:
        // with NO_SYNC the kernel may write a meta page before the data pages it points
        // at, so a power loss may corrupt the file. The interval policy delays only the
        // log's flush.
        let never_sync = options.sync == SyncPolicy::Never;
        if never_sync {
            flags |= EnvFlags::NO_SYNC;
        }
        if options.read_only {
            flags |= EnvFlags::READ_ONLY;
        }
        check_data_file(path, options.read_only)?;
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
            // Version 1 had no log, version 2 no checksums on LMDB's values: opening for
            // writing seals every value and makes it the current version.
            // (A malformed record is left for check_format to report.)
            let format = dbs
                .meta
                .get(&wtxn, b"format")
                .map_err(lmdb("read format"))?
                .map(|b| unseal(b"format", b, 4).map_or(u32::MAX, codec::le_u32));
            if format.is_none_or(|v| v < FORMAT_VERSION) {
                if format.is_some() {
                    seal_legacy_values(&dbs, &mut wtxn).map_err(|e| Error::lmdb_at("seal values", Some(&path.join("data.mdb")), e))?;
                }
                dbs.meta
                    .put(&mut wtxn, b"format", &seal(b"format", &FORMAT_VERSION.to_le_bytes()))
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
                wal: None,
                checkpoint_ids: Vec::new(),
                checkpoint_order: Vec::new(),
            }),
            metrics,
            never_sync,
            read_only: options.read_only,
            wal_path: path.join("wal"),
            tail: RwLock::new(Arc::new(Tail::new(0, false))),
            torn: Mutex::new(None),
        };
        storage.check_format()?;
        storage.check_log_length()?;
        let next_stream = storage.committed_next_stream()?;
        storage.writer.lock().next_stream = next_stream;
        if !options.read_only {
            // Replay what the log holds beyond the last checkpoint (a crash, or a copy).
            let (generation, marked) = storage.read(|_, txn| storage.log_state_in(txn))?;
            let tail = Tail::new(generation, marked);
            // Damage inside the log fails the open here, before anything is checkpointed past it.
            tail.catch_up(&storage.wal_path, || Ok(true))?;
            let torn = tail.torn();
            if let Some(torn) = &torn {
                tracing::warn!(path = %torn.path.display(), offset = torn.offset, "dropping the log's torn tail");
                Metrics::add(&storage.metrics.repaired_tails, 1);
                Metrics::add(&storage.metrics.repaired_bytes, torn.bytes);
            }
            let replay = !tail.is_empty() || torn.is_some();
            *storage.torn.lock() = torn;
            let wal = WalWriter::open(&storage.wal_path, generation)?;
            *storage.tail.write() = Arc::new(tail);
            let mut state = storage.writer.lock();
            state.wal = Some(wal);
            // With anything of this generation in the log: each writer session logs in a
            // generation of its own, so a record a crashed session left half-written can never
            // pass for one of ours. With nothing, the log starts clean and the open writes
            // nothing to LMDB (it needs no free space).
            if replay {
                storage.checkpoint(&mut state, &[], &[])?;
            }
            if !marked {
                storage.mark_log(&mut state)?;
            }
        }
        Ok(storage)
    }

    /// Once per journal (a new one, or one written before format 5), with the log empty of
    /// LMDB's generation: makes the log's marked start durable, then records in LMDB that
    /// the log carries end markers from this generation on (and is never shorter than
    /// [`GROWTH`]), so that zeros at its start are damage, never an empty log.
    fn mark_log(&self, state: &mut WriterState) -> Result<()> {
        let wal = state.wal.as_mut().ok_or(Error::Closed)?;
        wal.mark_start()?;
        let generation = self.tail.read().generation();
        loop {
            let attempt = {
                let guard = self.env.read();
                let env = guard.as_ref().ok_or(Error::Closed)?;
                (|| -> heed::Result<()> {
                    let mut txn = env.write_txn()?;
                    self.dbs
                        .meta
                        .put(&mut txn, b"wal_marks", &seal(b"wal_marks", &generation.to_le_bytes()))?;
                    self.dbs
                        .meta
                        .put(&mut txn, b"wal_min_len", &seal(b"wal_min_len", &GROWTH.to_le_bytes()))?;
                    txn.commit()
                })()
            };
            match attempt {
                Ok(()) => break,
                Err(heed::Error::Mdb(MdbError::MapFull)) => self.grow(4096)?,
                Err(e) => return Err(Error::lmdb_at("commit", Some(&self.path.join("data.mdb")), e)),
            }
        }
        *self.tail.write() = Arc::new(Tail::new(generation, true));
        Ok(())
    }

    /// Fails if the log is shorter than LMDB knows it to be (a cut file looks like an empty log).
    fn check_log_length(&self) -> Result<()> {
        let Some(min_len) = self.read(|_, txn| self.meta_u64(txn, b"wal_min_len"))? else {
            return Ok(());
        };
        let len = std::fs::metadata(&self.wal_path).map_or(0, |m| m.len());
        if len < min_len {
            return Err(Error::corrupt(&self.wal_path, len, CorruptReason::Truncated));
        }
        Ok(())
    }

    /// The log generation LMDB's snapshot `txn` was checkpointed up to.
    fn generation_in(&self, txn: &RoTxn<'_, WithoutTls>) -> Result<u64> {
        Ok(self.meta_u64(txn, b"wal_generation")?.unwrap_or(0))
    }

    /// The log generation of `txn`, and whether its log carries end markers (format 5).
    fn log_state_in(&self, txn: &RoTxn<'_, WithoutTls>) -> Result<(u64, bool)> {
        let generation = self.generation_in(txn)?;
        let marked = self.meta_u64(txn, b"wal_marks")?.is_some_and(|from| generation >= from);
        Ok((generation, marked))
    }

    /// The tail that goes with the current LMDB state: the writer's own, or (read-only)
    /// the log read on from where the last read stopped.
    fn current_tail(&self) -> Result<Arc<Tail>> {
        if !self.read_only {
            return Ok(self.tail.read().clone());
        }
        let (generation, marked) = self.read(|_, txn| self.log_state_in(txn))?;
        let mut cached = self.tail.write();
        if cached.generation() != generation || cached.marked() != marked {
            *cached = Arc::new(Tail::new(generation, marked));
        }
        cached.catch_up(&self.wal_path, || Ok(self.read(|_, txn| self.generation_in(txn))? == generation))?;
        *self.torn.lock() = cached.torn();
        Ok(cached.clone())
    }

    /// Runs `f` on an LMDB snapshot and the tail of the same log generation: every
    /// event is in exactly one of them. A checkpoint between taking the tail and
    /// beginning the transaction is seen (the generations differ) and retried.
    fn read_with_tail<T>(&self, mut f: impl FnMut(&RoTxn<'_, WithoutTls>, &Tail) -> Result<T>) -> Result<T> {
        loop {
            let tail = self.current_tail()?;
            if let Some(value) = self.read_against(&tail, &mut f)? {
                return Ok(value);
            }
        }
    }

    /// `f` on a new LMDB snapshot and `tail`, or `None` if the snapshot is of
    /// another generation (a checkpoint moved the tail's events into LMDB).
    fn read_against<T>(&self, tail: &Tail, f: &mut impl FnMut(&RoTxn<'_, WithoutTls>, &Tail) -> Result<T>) -> Result<Option<T>> {
        self.read(|_, txn| {
            if self.generation_in(txn)? != tail.generation() {
                return Ok(None);
            }
            f(txn, tail).map(Some)
        })
    }

    /// The stream scan of [`Storage::scan_stream`], generic over the visitor so that a caller's
    /// closure (the stored bodies' scan) is inlined into the loops.
    fn scan_stream_with<V: FnMut(EventRef<'_>) -> bool + ?Sized>(
        &self,
        persistence_id: &str,
        from: u64,
        to: u64,
        max: usize,
        visit: &mut V,
    ) -> Result<()> {
        self.read_with_tail(|txn, tail| {
            let mut seen = 0;
            let mut from = from;
            if let Some(stream) = self.stream(txn, persistence_id)? {
                from = from.max(stream.deleted_to + 1);
                if from > to {
                    return Ok(());
                }
                let (start, end) = (event_key(stream.id, from), event_key(stream.id, to));
                let iter = self.dbs.events.range(txn, &incl(&start, &end)).map_err(lmdb("read events"))?;
                for item in iter.take(max) {
                    let (key, body) = item.map_err(lmdb("read events"))?;
                    let event = codec::decode_event(persistence_id, body).map_err(|r| self.corrupt(r))?;
                    let (_, seq) = split_event_key(key).map_err(|r| self.corrupt(r))?;
                    if event.sequence_nr != seq {
                        return Err(self.corrupt(CorruptReason::Malformed("an event is stored under another sequence number")));
                    }
                    seen += 1;
                    if !visit(event) {
                        return Ok(());
                    }
                }
            }
            // The stream's newer events, still in the tail.
            tail.scan_stream(persistence_id, from, to, max - seen, visit)?;
            Ok(())
        })
    }

    /// The next stream id as committed (what the writer cache resets to).
    fn committed_next_stream(&self) -> Result<u64> {
        self.read(|_, txn| Ok(self.meta_u64(txn, b"next_stream")?.unwrap_or(1)))
    }

    fn check_format(&self) -> Result<()> {
        self.read(|_, txn| {
            let found = match self.dbs.meta.get(txn, b"format").map_err(lmdb("read format"))? {
                Some(b) => codec::le_u32(unseal(b"format", b, 4).map_err(|r| self.corrupt(r))?),
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
            Some(b) => Ok(Some(codec::le_u64(unseal(key, b, 8).map_err(|r| self.corrupt(r))?))),
            None => Ok(None),
        }
    }

    fn stream(&self, txn: &RoTxn<'_, WithoutTls>, persistence_id: &str) -> Result<Option<StreamRecord>> {
        match self.dbs.streams.get(txn, persistence_id.as_bytes()).map_err(lmdb("read stream"))? {
            Some(b) => StreamRecord::decode(persistence_id.as_bytes(), b)
                .map(Some)
                .map_err(|r| self.corrupt(r)),
            None => Ok(None),
        }
    }

    /// Applies `ops` in `txn`, noting each stream whose record changed in `touched`.
    fn apply_ops<'o>(
        &self,
        txn: &mut RwTxn<'_>,
        state: &mut WriterState,
        touched: &mut HashSet<&'o str>,
        ops: &'o [Op<'o>],
        buffer: &[u8],
    ) -> heed::Result<()> {
        let dbs = self.dbs;
        for op in ops {
            match op {
                Op::Write(w) => {
                    let record = cached_record(&dbs, txn, state, w.persistence_id)?;
                    for (i, (body, event)) in w.bodies.iter().zip(w.events).enumerate() {
                        let key = event_key(record.id, w.first_sequence_nr + i as u64);
                        let tags = event.tags.iter().map(String::as_str);
                        put_event(&dbs, txn, &key, w.first_global_offset + i as u64, &buffer[body.clone()], tags)?;
                    }
                    record.highest = w.first_sequence_nr + w.bodies.len() as u64 - 1;
                    touched.insert(w.persistence_id);
                }
                Op::SetState {
                    persistence_id,
                    highest,
                    deleted_to: to,
                } => {
                    let record = *cached_record(&dbs, txn, state, persistence_id)?;
                    // Deleting may remove the highest offsets: keep the next one as a floor, read before the
                    // index entries go, so that no offset is ever handed out twice (across a reopen too).
                    let next = self.next_offset_in(txn)?;
                    dbs.meta.put(txn, b"next_offset", &seal(b"next_offset", &next.to_le_bytes()))?;
                    let range = event_key(record.id, record.deleted_to + 1)..=event_key(record.id, *to);
                    let mut index_keys = Vec::new();
                    for item in dbs.events.range(txn, &incl(range.start(), range.end()))? {
                        let (_, body) = item?;
                        // Damaged events are still deleted; their index entries are found by offset below.
                        if let Ok(event) = codec::decode_event(persistence_id, body) {
                            index_keys.push((event.global_offset, event.tags.iter().map(str::to_owned).collect::<Vec<_>>()));
                        } else if let Ok(h) = codec::decode_header(body) {
                            index_keys.push((h.global_offset, Vec::new()));
                        }
                    }
                    for (offset, tags) in index_keys {
                        dbs.global.delete(txn, &offset.to_be_bytes())?;
                        for tag in tags {
                            dbs.tags.delete(txn, &tag_key(&tag, offset))?;
                        }
                    }
                    dbs.events.delete_range(txn, &incl(range.start(), range.end()))?;
                    let cached = state.streams.get_mut(*persistence_id).expect("cached above");
                    cached.highest = *highest;
                    cached.deleted_to = record.deleted_to.max(*to);
                    touched.insert(persistence_id);
                }
            }
        }
        Ok(())
    }

    /// Applies the tail's events in `txn` and updates the writer's records of their streams.
    ///
    /// The bodies go into `events` in key order (stream by stream, each in sequence order), not
    /// in commit order: consecutive puts then land in the same B-tree leaf, whose path is still
    /// in the CPU's caches, and keys past the database's last one (new streams) are appended
    /// without a search. The index entries follow in offset order (commit order), which always
    /// appends to `global`.
    fn apply_tail(&self, txn: &mut RwTxn<'_>, state: &mut WriterState, tail: &Tail) -> heed::Result<()> {
        let mut ids = std::mem::take(&mut state.checkpoint_ids);
        let mut order = std::mem::take(&mut state.checkpoint_order);
        let result = self.apply_tail_with(txn, state, tail, &mut ids, &mut order);
        (state.checkpoint_ids, state.checkpoint_order) = (ids, order);
        result
    }

    fn apply_tail_with(
        &self,
        txn: &mut RwTxn<'_>,
        state: &mut WriterState,
        tail: &Tail,
        ids: &mut Vec<u64>,
        order: &mut Vec<(u64, u32)>,
    ) -> heed::Result<()> {
        let dbs = self.dbs;
        ids.clear();
        order.clear();
        // Stream ids first: new streams get theirs in the order they first appear in the tail.
        tail.for_each_stream(|index, pid, highest| {
            let record = cached_record(&dbs, txn, state, pid)?;
            record.highest = highest;
            let index_at = index as usize;
            if ids.len() <= index_at {
                ids.resize(index_at + 1, 0);
            }
            ids[index_at] = record.id;
            order.push((record.id, index));
            heed::Result::Ok(())
        })?;
        order.sort_unstable();
        // Tail keys are new, and ascend in this order: once one is past the last key, all are.
        let last = dbs.events.last(txn)?.map(|(key, _)| key.to_vec());
        let mut appending = last.is_none();
        for &(id, index) in order.iter() {
            tail.for_each_of_stream(index, |seq, body| {
                let key = event_key(id, seq);
                appending = appending || last.as_deref().is_some_and(|last| key.as_slice() > last);
                if appending {
                    dbs.events.put_with_flags(txn, PutFlags::APPEND, &key, body)
                } else {
                    dbs.events.put(txn, &key, body)
                }
            })?;
        }
        tail.for_each(|stream, seq, offset, body| {
            let key = event_key(ids[stream as usize], seq);
            // Offsets only grow, so LMDB can append without searching.
            dbs.global.put_with_flags(txn, PutFlags::APPEND, &offset.to_be_bytes(), &key)?;
            // The body passed its CRC when it was logged (a tail read back from the log was
            // checked too): only a body that states tags needs decoding.
            if codec::stated_tag_count(body) > 0 {
                if let Ok(event) = codec::decode_event("", body) {
                    put_tags(&dbs, txn, &key, offset, event.tags.iter())?;
                }
            }
            Ok(())
        })
    }

    /// One attempt at a checkpoint: the tail, then `ops`, then the next log
    /// generation, in one transaction. The caller retries after growing the map.
    fn try_checkpoint(
        &self,
        env: &Env<WithoutTls>,
        state: &mut WriterState,
        tail: &Tail,
        ops: &[Op<'_>],
        buffer: &[u8],
    ) -> heed::Result<()> {
        let mut txn = env.write_txn()?;
        let first_new_stream = state.next_stream;
        self.apply_tail(&mut txn, state, tail)?;
        let mut touched = HashSet::default();
        self.apply_ops(&mut txn, state, &mut touched, ops, buffer)?;
        // Each stream record is written once per checkpoint, however many writes it had.
        tail.for_each_stream(|_, pid, _| self.dbs.streams.put(&mut txn, pid.as_bytes(), &state.streams[pid].encode(pid)))?;
        for pid in touched.into_iter().filter(|pid| !tail.has_stream(pid)) {
            self.dbs.streams.put(&mut txn, pid.as_bytes(), &state.streams[pid].encode(pid))?;
        }
        if state.next_stream != first_new_stream {
            self.dbs
                .meta
                .put(&mut txn, b"next_stream", &seal(b"next_stream", &state.next_stream.to_le_bytes()))?;
        }
        self.dbs.meta.put(
            &mut txn,
            b"wal_generation",
            &seal(b"wal_generation", &(tail.generation() + 1).to_le_bytes()),
        )?;
        if !tail.is_empty() {
            // The log has held records, so its file is at least this long from now on (it never
            // shrinks): a shorter one was cut, and records of a later generation may be lost.
            self.dbs
                .meta
                .put(&mut txn, b"wal_min_len", &seal(b"wal_min_len", &super::wal::GROWTH.to_le_bytes()))?;
        }
        txn.commit()
    }

    /// Applies the tail and then `ops` to LMDB in one durable transaction, and
    /// starts the next log generation with an empty tail.
    fn checkpoint(&self, state: &mut WriterState, ops: &[Op<'_>], buffer: &[u8]) -> Result<()> {
        let tail = self.tail.read().clone();
        loop {
            let attempt = {
                let guard = self.env.read();
                let env = guard.as_ref().ok_or(Error::Closed)?;
                self.try_checkpoint(env, state, &tail, ops, buffer)
            };
            match attempt {
                Ok(()) => break,
                Err(e) => {
                    // The transaction was aborted; records cached during it may be wrong.
                    state.streams.clear();
                    state.next_stream = self.committed_next_stream()?;
                    if matches!(e, heed::Error::Mdb(MdbError::MapFull)) {
                        self.grow(buffer.len() + tail.bytes())?;
                        continue;
                    }
                    let data = self.path.join("data.mdb");
                    let error = Error::lmdb_at("commit", Some(&data), e);
                    // A short write surfaces as EIO; tell a full device apart from a failing one.
                    if matches!(&error, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EIO))
                        && crate::fsutil::lacks_room(&data, (buffer.len() + tail.bytes()) as u64 + (1 << 20))
                    {
                        return Err(Error::StorageFull { path: data });
                    }
                    return Err(error);
                }
            }
        }
        let next = tail.generation() + 1;
        *self.tail.write() = Arc::new(Tail::new(next, tail.marked()));
        if let Some(wal) = state.wal.as_mut() {
            wal.restart(next)?;
        }
        Ok(())
    }

    /// The next global offset as the transaction sees it: past the last indexed
    /// event, and never below the floor kept in `meta`.
    fn next_offset_in(&self, txn: &RoTxn<'_>) -> heed::Result<u64> {
        let floor = match self.dbs.meta.get(txn, b"next_offset")? {
            Some(b) => codec::le_u64(unseal(b"next_offset", b, 8).map_err(damaged)?),
            None => 1,
        };
        let last = match self.dbs.global.last(txn)? {
            Some((k, _)) if k.len() == 8 => codec::be_u64(k),
            Some(_) => return Err(damaged(CorruptReason::Malformed("a global offset key is not 8 bytes"))),
            None => 0,
        };
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

/// Stores an event body under `key` and indexes it by global offset and by each tag.
fn put_event<'t>(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    key: &[u8; 16],
    offset: u64,
    body: &[u8],
    tags: impl Iterator<Item = &'t str>,
) -> heed::Result<()> {
    dbs.events.put(txn, key, body)?;
    // Offsets only grow, so LMDB can append without searching.
    dbs.global.put_with_flags(txn, PutFlags::APPEND, &offset.to_be_bytes(), key)?;
    put_tags(dbs, txn, key, offset, tags)
}

/// Indexes the event stored under `key` at `offset` by each of its tags.
fn put_tags<'t>(dbs: &Dbs, txn: &mut RwTxn<'_>, key: &[u8; 16], offset: u64, tags: impl Iterator<Item = &'t str>) -> heed::Result<()> {
    for tag in tags {
        dbs.tags.put(txn, &tag_key(tag, offset), key)?;
    }
    Ok(())
}

/// The log generation of a copied environment (in `dir`, not open anywhere).
fn generation_of_copy(dir: &Path) -> Result<u64> {
    let at = |e| Error::lmdb_at("read the copy's generation", Some(&dir.join("data.mdb")), e);
    let mut builder = EnvOpenOptions::new().read_txn_without_tls();
    builder.max_dbs(8);
    // SAFETY: the copy was just written by this process and nothing else has it open;
    // NO_LOCK leaves no lock file behind in it.
    let env = unsafe {
        builder.flags(EnvFlags::READ_ONLY | EnvFlags::NO_LOCK);
        builder.open(dir)
    }
    .map_err(at)?;
    let generation = {
        let txn = env.read_txn().map_err(at)?;
        let meta: Option<Db> = env.open_database(&txn, Some("meta")).map_err(at)?;
        match meta.map(|m| m.get(&txn, b"wal_generation")).transpose().map_err(at)?.flatten() {
            Some(b) => codec::le_u64(unseal(b"wal_generation", b, 8).map_err(|r| Error::corrupt(dir.join("data.mdb"), 0, r))?),
            None => 0,
        }
    };
    env.prepare_for_closing().wait();
    Ok(generation)
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
            Some(b) => StreamRecord::decode(persistence_id.as_bytes(), b).map_err(damaged)?,
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
    fn scrub(&self) -> Result<()> {
        // The pages first, without LMDB: a damaged page found here cannot crash the reads below.
        lmdb_pages::check_file(&self.path, true)?;
        self.read(|_, txn| {
            let bad = |reason| self.corrupt(reason);
            let malformed = |what| self.corrupt(CorruptReason::Malformed(what));
            for item in self.dbs.meta.iter(txn).map_err(lmdb("read meta"))? {
                let (key, value) = item.map_err(lmdb("read meta"))?;
                let len = match key {
                    b"format" => 4,
                    b"next_offset" | b"next_stream" | b"wal_generation" | b"wal_min_len" | b"wal_marks" => 8,
                    _ => return Err(malformed("an unknown meta record")),
                };
                unseal(key, value, len).map_err(bad)?;
            }
            let mut names: HashMap<u64, String> = HashMap::default();
            for item in self.dbs.streams.iter(txn).map_err(lmdb("read streams"))? {
                let (key, value) = item.map_err(lmdb("read streams"))?;
                let name = std::str::from_utf8(key).map_err(|_| malformed("persistence id is not UTF-8"))?;
                let record = StreamRecord::decode(key, value).map_err(bad)?;
                names.insert(record.id, name.to_owned());
            }
            for item in self.dbs.names.iter(txn).map_err(lmdb("read names"))? {
                let (key, value) = item.map_err(lmdb("read names"))?;
                let id = match key.len() {
                    8 => codec::be_u64(key),
                    _ => return Err(malformed("a stream id key is not 8 bytes")),
                };
                if names.get(&id).map(String::as_bytes) != Some(value) {
                    return Err(malformed("a stream's name and record disagree"));
                }
            }
            let mut offsets = HashMap::default();
            for item in self.dbs.events.iter(txn).map_err(lmdb("read events"))? {
                let (key, body) = item.map_err(lmdb("read events"))?;
                let (stream, seq) = split_event_key(key).map_err(bad)?;
                let pid = names.get(&stream).ok_or_else(|| malformed("an event of an unknown stream"))?;
                let event = codec::decode_event(pid, body).map_err(bad)?;
                if event.sequence_nr != seq {
                    return Err(malformed("an event is stored under another sequence number"));
                }
                offsets.insert(event.global_offset, (stream, seq));
            }
            let check_entry = |offset: u64, value: &[u8]| -> Result<()> {
                if offsets.get(&offset) != Some(&split_event_key(value).map_err(bad)?) {
                    return Err(malformed("an index entry names another event"));
                }
                Ok(())
            };
            for item in self.dbs.global.iter(txn).map_err(lmdb("read global index"))? {
                let (key, value) = item.map_err(lmdb("read global index"))?;
                if key.len() != 8 {
                    return Err(malformed("a global offset key is not 8 bytes"));
                }
                check_entry(codec::be_u64(key), value)?;
            }
            for item in self.dbs.tags.iter(txn).map_err(lmdb("read tags"))? {
                let (key, value) = item.map_err(lmdb("read tags"))?;
                let (_, offset) = split_event_key(key).map_err(bad)?;
                check_entry(offset, value)?;
            }
            Ok(())
        })
    }

    fn torn_tails(&self) -> Vec<super::TornTail> {
        self.torn.lock().iter().cloned().collect()
    }

    fn stream_state(&self, persistence_id: &str) -> Result<StreamState> {
        self.read_with_tail(|txn, tail| {
            let mut state = self
                .stream(txn, persistence_id)?
                .map_or_else(StreamState::default, |s| StreamState {
                    highest_sequence_nr: s.highest,
                    deleted_to: s.deleted_to,
                });
            if let Some(highest) = tail.highest(persistence_id) {
                state.highest_sequence_nr = highest;
            }
            Ok(state)
        })
    }

    fn next_global_offset(&self) -> Result<u64> {
        self.read_with_tail(|txn, tail| {
            let stored = self.next_offset_in(txn).map_err(lmdb("read next offset"))?;
            Ok(tail.next_offset().map_or(stored, |next| next.max(stored)))
        })
    }

    fn scan_stream(&self, persistence_id: &str, from: u64, to: u64, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        self.scan_stream_with(persistence_id, from, to, max, visit)
    }

    fn copy_stream_bodies(&self, persistence_id: &str, from: u64, to: u64, max: usize, page: &mut BodyPage<'_>) -> Result<()> {
        // The copy is inlined into both loops: no event is built or passed through a call.
        self.scan_stream_with(persistence_id, from, to, max, &mut |e: EventRef<'_>| page.push(e.checked_body()))
    }

    fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        self.read_with_tail(|txn, tail| {
            let mut names: HashMap<u64, String> = HashMap::default();
            let (mut seen, mut stopped) = (0, false);
            // An index entry is checked against the event it names (whose body carries a CRC) and
            // the stream's name against the stream's record, so a damaged entry is an error.
            let mut visit_key = |offset: u64, key: &[u8]| -> Result<bool> {
                let (stream, seq) = split_event_key(key).map_err(|r| self.corrupt(r))?;
                let pid = match names.entry(stream) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let name = self
                            .dbs
                            .names
                            .get(txn, &stream.to_be_bytes())
                            .map_err(lmdb("read names"))?
                            .ok_or_else(|| self.corrupt(CorruptReason::Malformed("index names an unknown stream")))?;
                        let name = String::from_utf8(name.to_vec())
                            .map_err(|_| self.corrupt(CorruptReason::Malformed("persistence id is not UTF-8")))?;
                        if self.stream(txn, &name)?.is_none_or(|record| record.id != stream) {
                            return Err(self.corrupt(CorruptReason::Malformed("a stream's name and record disagree")));
                        }
                        e.insert(name)
                    }
                };
                let body = self
                    .dbs
                    .events
                    .get(txn, key)
                    .map_err(lmdb("read events"))?
                    .ok_or_else(|| self.corrupt(CorruptReason::Malformed("an index entry names an event that is not stored")))?;
                let event = codec::decode_event(pid, body).map_err(|r| self.corrupt(r))?;
                if event.sequence_nr != seq || event.global_offset != offset {
                    return Err(self.corrupt(CorruptReason::Malformed("an index entry names another event")));
                }
                if tag.is_some_and(|t| !event.tags.contains(t)) {
                    return Ok(true);
                }
                seen += 1;
                if !visit(event) {
                    stopped = true;
                    return Ok(false);
                }
                Ok(seen < max)
            };
            match tag {
                Some(tag) => {
                    let (start, end) = (tag_key(tag, from_offset), tag_key(tag, u64::MAX));
                    for item in self.dbs.tags.range(txn, &incl(&start, &end)).map_err(lmdb("read tags"))? {
                        let (tag_key, key) = item.map_err(lmdb("read tags"))?;
                        let (_, offset) = split_event_key(tag_key).map_err(|r| self.corrupt(r))?;
                        if !visit_key(offset, key)? {
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
                        let (offset, key) = item.map_err(lmdb("read global index"))?;
                        let offset = match offset.len() {
                            8 => codec::be_u64(offset),
                            _ => return Err(self.corrupt(CorruptReason::Malformed("a global offset key is not 8 bytes"))),
                        };
                        if !visit_key(offset, key)? {
                            break;
                        }
                    }
                }
            }
            if seen < max && !stopped {
                tail.scan_global(from_offset, tag, max - seen, visit)?;
            }
            Ok(())
        })
    }

    fn persistence_ids(&self) -> Result<Vec<String>> {
        self.read_with_tail(|txn, tail| {
            let mut ids = tail.persistence_ids();
            for item in self.dbs.streams.iter(txn).map_err(lmdb("read streams"))? {
                let (key, _) = item.map_err(lmdb("read streams"))?;
                ids.push(
                    String::from_utf8(key.to_vec()).map_err(|_| self.corrupt(CorruptReason::Malformed("persistence id is not UTF-8")))?,
                );
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        })
    }

    fn commit(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()> {
        let mut state = self.writer.lock();
        // Deletions, and commits too large to be worth logging, go straight to LMDB with the tail.
        if buffer.len() >= DIRECT_BYTES || ops.iter().any(|op| matches!(op, Op::SetState { .. })) {
            return self.checkpoint(&mut state, ops, buffer);
        }
        let position = state.wal.as_ref().ok_or(Error::Closed)?.position();
        if position + buffer.len() as u64 > CHECKPOINT_BYTES && !self.tail.read().is_empty() {
            self.checkpoint(&mut state, &[], &[])?;
        }
        state.wal.as_mut().ok_or(Error::Closed)?.append(ops, buffer)?;
        self.tail.read().push(ops, buffer);
        Ok(())
    }

    fn copy_to(&self, dest: &Path) -> Result<()> {
        crate::fsutil::create_dir_durably(dest)?;
        let target = dest.join("data.mdb");
        loop {
            // Taken before the copy: if the copy is of this generation, this tail is its log. If
            // a checkpoint came first, the copy already holds these events (and the cut is the
            // start of a later generation, still after the backup began).
            let tail = self.current_tail()?;
            let attempt = {
                let guard = self.env.read();
                let env = guard.as_ref().ok_or(Error::Closed)?;
                // LMDB's copy runs in its own read transaction: a consistent point in time, compacted.
                env.copy_to_path(&target, heed::CompactionOption::Enabled)
            };
            match attempt {
                Ok(file) => {
                    file.sync_all().map_err(|e| Error::io("fsync", &target, e))?;
                    drop(file);
                    // Always a log, marked (the copy's LMDB may say `wal_marks`): the tail's records
                    // if the copy is of its generation, else none.
                    let generation = generation_of_copy(dest)?;
                    if generation == tail.generation() {
                        tail.write_log(&dest.join("wal"))?;
                    } else {
                        Tail::new(generation, true).write_log(&dest.join("wal"))?;
                    }
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
        if let Some(wal) = self.writer.lock().wal.as_mut() {
            wal.sync()?;
        }
        if self.never_sync {
            // Only an explicit flush gets here: make the checkpoints durable too.
            let guard = self.env.read();
            guard
                .as_ref()
                .ok_or(Error::Closed)?
                .force_sync()
                .map_err(|e| Error::lmdb_at("fsync", Some(&self.path.join("data.mdb")), e))?;
        }
        Ok(())
    }

    fn close(&self) -> Result<()> {
        let checkpointed = {
            // A clean close leaves nothing to replay. If the checkpoint fails, the log still
            // holds the events and the next open replays them.
            let mut state = self.writer.lock();
            let result = if state.wal.is_some() && !self.tail.read().is_empty() {
                self.checkpoint(&mut state, &[], &[])
            } else {
                Ok(())
            };
            state.wal = None;
            result
        };
        let env = self.env.write().take();
        if let Some(env) = env {
            // Wait until LMDB really closed the environment so the path can be reopened at once.
            env.prepare_for_closing().wait();
        }
        checkpointed
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

    /// Commits one event per write through the log, as the writer would.
    fn commit_events(storage: &LmdbStorage, pid: &str, seqs: std::ops::RangeInclusive<u64>, first_offset: u64) {
        commit_tagged(storage, pid, seqs, first_offset, &[]);
    }

    /// [`commit_events`] with `tags` on every event.
    fn commit_tagged(storage: &LmdbStorage, pid: &str, seqs: std::ops::RangeInclusive<u64>, first_offset: u64, tags: &[&str]) {
        let events: Vec<crate::NewEvent> = seqs
            .clone()
            .map(|s| tags.iter().fold(crate::NewEvent::new(s.to_le_bytes().to_vec()), |e, t| e.tag(*t)))
            .collect();
        let mut buffer = Vec::new();
        let mut bodies = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let start = buffer.len();
            codec::encode_event(&mut buffer, event, seqs.start() + i as u64, first_offset + i as u64, 0);
            bodies.push(start..buffer.len());
        }
        let write = super::super::StagedWrite {
            persistence_id: pid,
            first_sequence_nr: *seqs.start(),
            first_global_offset: first_offset,
            events: &events,
            bodies: &bodies,
        };
        storage.commit(&[Op::Write(write)], &buffer).unwrap();
    }

    #[test]
    fn a_read_whose_tail_a_checkpoint_applied_meanwhile_is_retried_not_answered_twice() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LmdbStorage::open(dir.path(), &Options::new(), Arc::default()).unwrap();
        commit_events(&storage, "p", 1..=3, 1);
        // A reader takes the tail, then a checkpoint applies it before the reader's snapshot begins.
        let stale = storage.current_tail().unwrap();
        storage.checkpoint(&mut storage.writer.lock(), &[], &[]).unwrap();
        let mut count = |txn: &RoTxn<'_, WithoutTls>, tail: &Tail| -> Result<usize> {
            let stream = storage.stream(txn, "p")?.map_or(0, |s| s.highest);
            Ok(stream as usize + tail.highest("p").unwrap_or(0) as usize)
        };
        assert!(
            storage.read_against(&stale, &mut count).unwrap().is_none(),
            "the stale tail must not be paired with the new snapshot"
        );
        let fresh = storage.current_tail().unwrap();
        assert_eq!(storage.read_against(&fresh, &mut count).unwrap(), Some(3));
        let mut seqs = Vec::new();
        storage
            .scan_stream("p", 1, u64::MAX, usize::MAX, &mut |e| {
                seqs.push(e.sequence_nr);
                true
            })
            .unwrap();
        assert_eq!(seqs, [1, 2, 3]);
        // Written after the checkpoint: in the next generation's tail.
        commit_events(&storage, "p", 4..=4, 4);
        assert_eq!(storage.stream_state("p").unwrap().highest_sequence_nr, 4);
        storage.close().unwrap();
    }

    /// Every event as (persistence id, sequence nr, global offset), read through the global index.
    fn global_order(storage: &LmdbStorage, tag: Option<&str>) -> Vec<(String, u64, u64)> {
        let mut seen = Vec::new();
        storage
            .scan_global(1, tag, usize::MAX, &mut |e| {
                seen.push((e.persistence_id.to_owned(), e.sequence_nr, e.global_offset));
                true
            })
            .unwrap();
        seen
    }

    #[test]
    fn a_checkpoint_applying_the_tail_in_key_order_keeps_every_event_offset_and_tag() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LmdbStorage::open(dir.path(), &Options::new(), Arc::default()).unwrap();
        // "m" (stream id 1) and "b" (2) are in LMDB first: m's later events go into the middle of
        // `events`, b's and the new streams' past its last key.
        commit_events(&storage, "m", 1..=2, 1);
        commit_events(&storage, "b", 1..=2, 3);
        storage.checkpoint(&mut storage.writer.lock(), &[], &[]).unwrap();
        let mut expected = vec![
            ("m".to_owned(), 1, 1),
            ("m".to_owned(), 2, 2),
            ("b".to_owned(), 1, 3),
            ("b".to_owned(), 2, 4),
        ];
        let mut even = Vec::new();
        let mut offset = 5;
        // Interleaved, as commits arrive: the tail's order is not the key order.
        for round in 0..40u64 {
            for pid in ["z", "m", "a", "b"] {
                let seq = if matches!(pid, "m" | "b") { round + 3 } else { round + 1 };
                let tags: &[&str] = if round % 2 == 0 { &["even"] } else { &[] };
                commit_tagged(&storage, pid, seq..=seq, offset, tags);
                expected.push((pid.to_owned(), seq, offset));
                if round % 2 == 0 {
                    even.push((pid.to_owned(), seq, offset));
                }
                offset += 1;
            }
        }
        let check = |storage: &LmdbStorage| {
            assert_eq!(global_order(storage, None), expected);
            assert_eq!(global_order(storage, Some("even")), even);
            for pid in ["z", "m", "a", "b"] {
                let mut seqs = Vec::new();
                storage
                    .scan_stream(pid, 1, u64::MAX, usize::MAX, &mut |e| {
                        seqs.push(e.sequence_nr);
                        true
                    })
                    .unwrap();
                let highest = expected.iter().filter(|(p, ..)| p == pid).count() as u64;
                assert_eq!(seqs, (1..=highest).collect::<Vec<_>>(), "stream {pid}");
                assert_eq!(storage.stream_state(pid).unwrap().highest_sequence_nr, highest);
            }
        };
        // Before the checkpoint from the tail, after it from LMDB alone, and after a reopen.
        check(&storage);
        storage.checkpoint(&mut storage.writer.lock(), &[], &[]).unwrap();
        assert!(storage.tail.read().is_empty());
        check(&storage);
        storage.scrub().unwrap();
        storage.close().unwrap();
        let storage = LmdbStorage::open(dir.path(), &Options::new(), Arc::default()).unwrap();
        check(&storage);
        assert_eq!(storage.next_global_offset().unwrap(), offset);
        storage.close().unwrap();
    }

    #[test]
    fn a_write_of_no_events_in_the_tail_changes_no_stream() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LmdbStorage::open(dir.path(), &Options::new(), Arc::default()).unwrap();
        commit_events(&storage, "p", 1..=3, 1);
        storage.checkpoint(&mut storage.writer.lock(), &[], &[]).unwrap();
        // As a log record holding a write without events would put it in the tail.
        let empty = super::super::StagedWrite {
            persistence_id: "p",
            first_sequence_nr: 4,
            first_global_offset: 4,
            events: &[],
            bodies: &[],
        };
        storage.tail.read().push(&[Op::Write(empty)], &[]);
        commit_events(&storage, "q", 1..=1, 4);
        storage.checkpoint(&mut storage.writer.lock(), &[], &[]).unwrap();
        assert_eq!(storage.stream_state("p").unwrap().highest_sequence_nr, 3);
        assert_eq!(storage.stream_state("q").unwrap().highest_sequence_nr, 1);
        assert_eq!(global_order(&storage, None).len(), 4);
        storage.scrub().unwrap();
        storage.close().unwrap();
    }

    #[test]
    fn only_the_never_policy_lets_lmdb_write_a_meta_page_before_its_data() {
        let (no_sync, no_meta_sync) = (EnvFlags::NO_SYNC.bits(), EnvFlags::NO_META_SYNC.bits());
        assert_eq!(env_flags(SyncPolicy::Always) & (no_sync | no_meta_sync), 0);
        // The interval policy delays the log's flush, never the order of LMDB's.
        let interval = env_flags(SyncPolicy::Interval(std::time::Duration::from_millis(50)));
        assert_eq!(interval & (no_sync | no_meta_sync), 0);
        assert_ne!(env_flags(SyncPolicy::Never) & no_sync, 0);
    }
}
