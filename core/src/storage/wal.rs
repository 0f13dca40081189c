//! The LMDB backend's write-ahead log and its in-memory tail.
//!
//! An LMDB commit flushes twice (data pages, then the meta page) and rewrites one
//! B-tree leaf per stream it touches. So group commits are not LMDB transactions:
//! each is one CRC-framed record appended to `lmdb/wal` and flushed once, and the
//! events wait in a [`Tail`] until a *checkpoint* applies them all to LMDB in one
//! durable transaction (a stream's leaf is then rewritten once per checkpoint, not
//! once per commit). The checkpoint also raises the log's *generation* in LMDB's
//! `meta`, and the log starts again at byte 0: a record counts only when its
//! generation is LMDB's, so records an older generation left behind are dead.
//!
//! Record, little-endian: payload length u32, CRC32 of the next 8 + length bytes,
//! generation u64, payload. Payload: write count u32, then per write: persistence
//! id length u32, persistence id, first sequence nr u64, first global offset u64,
//! event count u32, and per event: body length u32, body (the `codec` encoding,
//! which carries its own CRC). Each record is written together with an *end marker*
//! after it (a 16-byte header of length `u32::MAX`, its own CRC and the generation), and
//! a checkpoint writes the new generation's marker at byte 0; a generation's log thus
//! always ends in its marker, never in zeros. Readers stop at the marker (or, at byte
//! 0, at a whole record or marker of an older generation); zeros at byte 0 mean the log's
//! start was wiped (`Error::Corrupt`), and anything else that fails a check is a torn
//! tail only if no valid record of its generation follows it, else damage. Logs of a
//! generation below LMDB's `meta/wal_marks` (written before format 5) end in zeros.

use crate::fsutil::FileExt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use rustc_hash::FxHashMap as HashMap;

use super::{Op, TornTail, Visit};
use crate::codec;
use crate::error::{CorruptReason, Error, Result};

/// Bytes of a record header: length, CRC, generation.
const HEADER: usize = 16;
/// The length field of an end marker (no record is this long).
const END_MARK: u32 = u32::MAX;
/// The log's file grows by zeros written ahead in steps of this size, so that most
/// flushes do not change the file size (which costs a metadata flush).
pub(crate) const GROWTH: u64 = 1 << 20;
/// The log is checkpointed once it holds this much.
pub(crate) const CHECKPOINT_BYTES: u64 = 4 << 20;
/// A group commit at least this large goes straight into a checkpoint: logging it
/// first would only write it twice.
pub(crate) const DIRECT_BYTES: usize = 1 << 20;

/// The writer's end of the log.
pub(crate) struct WalWriter {
    file: File,
    path: PathBuf,
    generation: u64,
    /// Where the next record goes (= bytes of live records).
    position: u64,
    /// File length: zeros past `position` were written ahead.
    allocated: u64,
    /// Records written since the last flush.
    dirty: bool,
    record: Vec<u8>,
}

impl WalWriter {
    /// Opens (creating if needed) the log; new records get `generation`.
    pub(crate) fn open(path: &Path, generation: u64) -> Result<WalWriter> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open write-ahead log", path, e))?;
        let allocated = file.metadata().map_err(|e| Error::io("stat write-ahead log", path, e))?.len();
        // The file must exist after a crash for its records to be found.
        crate::fsutil::sync_dir(path.parent().expect("the log lives in the LMDB directory"))?;
        Ok(WalWriter {
            file,
            path: path.to_owned(),
            generation,
            position: 0,
            allocated,
            dirty: false,
            record: Vec::new(),
        })
    }

    /// Bytes of live records.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Appends one record holding the writes of `ops` (the caller sends other operations to a checkpoint).
    pub(crate) fn append(&mut self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()> {
        let record = &mut self.record;
        record.clear();
        record.resize(HEADER, 0);
        let writes = ops.iter().filter(|op| matches!(op, Op::Write(_))).count();
        record.extend_from_slice(&(writes as u32).to_le_bytes());
        for op in ops {
            if let Op::Write(w) = op {
                record.extend_from_slice(&(w.persistence_id.len() as u32).to_le_bytes());
                record.extend_from_slice(w.persistence_id.as_bytes());
                record.extend_from_slice(&w.first_sequence_nr.to_le_bytes());
                record.extend_from_slice(&w.first_global_offset.to_le_bytes());
                record.extend_from_slice(&(w.bodies.len() as u32).to_le_bytes());
                for body in w.bodies {
                    record.extend_from_slice(&(body.len() as u32).to_le_bytes());
                    record.extend_from_slice(&buffer[body.clone()]);
                }
            }
        }
        let payload = u32::try_from(record.len() - HEADER)
            .ok()
            .filter(|n| *n != END_MARK)
            .ok_or_else(|| {
                Error::io(
                    "write write-ahead log",
                    &self.path,
                    std::io::Error::other("a log record of 4 GiB or more"),
                )
            })?;
        record[0..4].copy_from_slice(&payload.to_le_bytes());
        record[8..16].copy_from_slice(&self.generation.to_le_bytes());
        let crc = record_crc(&record[..HEADER], &record[HEADER..]);
        record[4..8].copy_from_slice(&crc.to_le_bytes());
        let end = self.position + record.len() as u64;
        // The end marker over the next header, in the same write: the log then always ends in
        // this generation's marker, so zeros or an older record where it must be are damage (or
        // a write a crash cut), never the log's legitimate end.
        record.extend_from_slice(&end_marker(self.generation));
        if end + HEADER as u64 > self.allocated {
            let target = (end + HEADER as u64).div_ceil(GROWTH) * GROWTH;
            crate::fsutil::write_zeros(&self.file, self.allocated, target)
                .map_err(|e| Error::io("extend write-ahead log", &self.path, e))?;
            self.allocated = target;
        }
        self.file
            .write_all_at(record, self.position)
            .map_err(|e| Error::io("write write-ahead log", &self.path, e))?;
        self.position = end;
        self.dirty = true;
        Ok(())
    }

    /// Flushes the records written so far to stable storage.
    pub(crate) fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.file.sync_data().map_err(|e| Error::io("fdatasync", &self.path, e))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// After a checkpoint: the log starts again at byte 0 with the new generation, whose end
    /// marker goes there now. Not flushed: until it is durable, byte 0 holds the older
    /// generation's first record or marker, which reads as this generation's empty log too.
    pub(crate) fn restart(&mut self, generation: u64) -> Result<()> {
        self.generation = generation;
        self.position = 0;
        self.file
            .write_all_at(&end_marker(generation), 0)
            .map_err(|e| Error::io("write write-ahead log", &self.path, e))?;
        // No flush of its own (none per checkpoint): the next record's flush covers it.
        self.dirty = false;
        Ok(())
    }

    /// Makes the empty log of this generation durable as one that carries end markers: the
    /// marker at byte 0, the file at least [`GROWTH`] long, flushed (with the directory, by
    /// `open`). Only then may LMDB say that the log's start is never zeros (`meta/wal_marks`).
    pub(crate) fn mark_start(&mut self) -> Result<()> {
        debug_assert_eq!(self.position, 0, "marking a log that holds records");
        self.file
            .write_all_at(&end_marker(self.generation), 0)
            .map_err(|e| Error::io("write write-ahead log", &self.path, e))?;
        if self.allocated < GROWTH {
            crate::fsutil::write_zeros(&self.file, self.allocated.max(HEADER as u64), GROWTH)
                .map_err(|e| Error::io("extend write-ahead log", &self.path, e))?;
            self.allocated = GROWTH;
        }
        self.dirty = true;
        self.sync()
    }
}

/// The 16 bytes that end a generation's log: length `END_MARK`, CRC32 of the length and
/// generation fields, generation.
fn end_marker(generation: u64) -> [u8; HEADER] {
    let mut marker = [0; HEADER];
    marker[0..4].copy_from_slice(&END_MARK.to_le_bytes());
    marker[8..16].copy_from_slice(&generation.to_le_bytes());
    let crc = marker_crc(&marker);
    marker[4..8].copy_from_slice(&crc.to_le_bytes());
    marker
}

/// An end marker's CRC: over its length and generation fields.
fn marker_crc(header: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[0..4]);
    hasher.update(&header[8..16]);
    hasher.finalize()
}

/// A record's CRC: over its generation (header bytes 8..16) and payload.
fn record_crc(header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[8..16]);
    hasher.update(payload);
    hasher.finalize()
}

/// One event waiting in the tail: its body is `arena[start..start + len]`.
struct TailEvent {
    stream: u32,
    sequence_nr: u64,
    global_offset: u64,
    start: usize,
    len: usize,
}

#[derive(Default)]
struct TailStream {
    /// Indices into `events`, in sequence order.
    events: Vec<u32>,
}

#[derive(Default)]
struct TailData {
    arena: Vec<u8>,
    events: Vec<TailEvent>,
    names: Vec<String>,
    streams: HashMap<String, (u32, TailStream)>,
    /// For a tail read from the log by another process: where parsing continues.
    parsed_to: u64,
    /// Where the last read of the log met a record that fails its checks with nothing valid after it.
    torn: Option<TornTail>,
    /// The end of the log that was last checked for valid records after it.
    end_checked: Option<u64>,
}

/// What [`Tail::probe`] found at an offset of the log.
enum Probe {
    Valid(Vec<u8>),
    End,
    /// Fails a check: a torn tail if nothing valid follows, else damage.
    Bad(CorruptReason),
    /// Damage whatever follows (zeros where a marked log starts: no crash leaves them).
    Damaged(CorruptReason),
}

/// The events of one log generation not yet applied to LMDB, in commit order.
/// Everything in LMDB precedes them: a stream's tail events follow its LMDB events
/// and their offsets follow every offset in LMDB.
pub(crate) struct Tail {
    generation: u64,
    /// The log of this generation carries end markers (format 5, `meta/wal_marks`).
    marked: bool,
    data: RwLock<TailData>,
}

impl Tail {
    pub(crate) fn new(generation: u64, marked: bool) -> Tail {
        Tail {
            generation,
            marked,
            data: RwLock::new(TailData::default()),
        }
    }

    pub(crate) fn marked(&self) -> bool {
        self.marked
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Bytes of event bodies held.
    pub(crate) fn bytes(&self) -> usize {
        self.data.read().arena.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.read().events.is_empty()
    }

    /// Adds the writes of a group commit (already in the log).
    pub(crate) fn push(&self, ops: &[Op<'_>], buffer: &[u8]) {
        let mut data = self.data.write();
        for op in ops {
            if let Op::Write(w) = op {
                let bodies = w.bodies.iter().map(|r| &buffer[r.clone()]);
                data.push_write(w.persistence_id, w.first_sequence_nr, w.first_global_offset, bodies);
            }
        }
    }

    /// Reads the records of this generation from the log at `path`, from where the
    /// last call stopped (see [`Tail::read_log`]). `still_current` says whether this
    /// generation is still LMDB's: a reader asks it before reporting damage, since a
    /// checkpoint may have restarted the log under it.
    pub(crate) fn catch_up(&self, path: &Path, still_current: impl Fn() -> Result<bool>) -> Result<()> {
        let file = match File::open(path) {
            Ok(f) => f,
            // A marked log exists from before LMDB says so.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.marked => {
                return Err(Error::corrupt(path, 0, CorruptReason::Truncated));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("open write-ahead log", path, e)),
        };
        let mut data = self.data.write();
        data.torn = None;
        loop {
            let file_len = file.metadata().map_err(|e| Error::io("stat write-ahead log", path, e))?.len();
            let at = data.parsed_to;
            let mut probe = self
                .probe(&file, at, file_len)
                .map_err(|e| Error::io("read write-ahead log", path, e))?;
            if let Probe::Damaged(_) = probe {
                // Read once more, in case a checkpoint restarted the log under this reader.
                probe = self.probe_again(&file, path, at)?;
            }
            if let Probe::Bad(_) = probe {
                if !self
                    .valid_record_after(&file, at + 1)
                    .map_err(|e| Error::io("read write-ahead log", path, e))?
                {
                    // Nothing valid follows: a record cut by a crash (never acknowledged under the
                    // default policy), or one a live writer is still writing.
                    data.torn = Some(TornTail {
                        path: path.to_owned(),
                        offset: at,
                        bytes: file_len.saturating_sub(at),
                    });
                    return Ok(());
                }
                // A valid record follows, so a writer finished this one before it (records are
                // completed in order and never rewritten). Read it again, in case a live writer
                // completed it since the first read.
                probe = self.probe_again(&file, path, at)?;
            } else if matches!(probe, Probe::End) && data.end_checked != Some(at) {
                // Zeros where a record should start (a zeroed page, say) with records of this
                // generation after them are damage too, unless a live writer wrote the record here
                // since the first read: read it again first. Checked once per place the log ends.
                if self
                    .valid_record_after(&file, at + 1)
                    .map_err(|e| Error::io("read write-ahead log", path, e))?
                {
                    probe = self.probe_again(&file, path, at)?;
                    if matches!(probe, Probe::End) {
                        if !still_current()? {
                            return Ok(());
                        }
                        return Err(Error::corrupt(path, at, CorruptReason::Malformed("zeros inside the log")));
                    }
                } else {
                    data.end_checked = Some(at);
                }
            }
            match probe {
                Probe::End => return Ok(()),
                Probe::Bad(reason) | Probe::Damaged(reason) => {
                    if !still_current()? {
                        return Ok(()); // a checkpoint restarted the log: the caller reads again
                    }
                    return Err(Error::corrupt(path, at, reason));
                }
                Probe::Valid(payload) => {
                    data.push_record(&payload).map_err(|reason| Error::corrupt(path, at, reason))?;
                    data.parsed_to = at + (HEADER + payload.len()) as u64;
                }
            }
        }
    }

    /// [`Tail::probe`] at `at` once more, with the file's current length.
    fn probe_again(&self, file: &File, path: &Path, at: u64) -> Result<Probe> {
        let file_len = file.metadata().map_err(|e| Error::io("stat write-ahead log", path, e))?.len();
        self.probe(file, at, file_len)
            .map_err(|e| Error::io("read write-ahead log", path, e))
    }

    /// What starts at `at` in the log: a whole record of this generation, the log's clean
    /// end, or something that fails a check.
    fn probe(&self, file: &File, at: u64, file_len: u64) -> std::io::Result<Probe> {
        let mut header = [0u8; HEADER];
        let available = file_len.saturating_sub(at).min(HEADER as u64) as usize;
        file.read_exact_at(&mut header[..available], at)?;
        if available < HEADER && (at > 0 || available > 0 || self.marked) {
            // Records are always followed by a zero header or an end marker, and a marked log
            // starts with one: a file that ends sooner was cut.
            return Ok(if at == 0 && self.marked {
                Probe::Damaged(CorruptReason::Truncated)
            } else {
                Probe::Bad(CorruptReason::Truncated)
            });
        }
        if header.iter().all(|b| *b == 0) {
            return Ok(match (self.marked, at) {
                // The zeros after the last record (or an empty log), before format 5.
                (false, _) => Probe::End,
                // A marked log starts with a record or a marker, durably so before LMDB said the
                // log is marked; a checkpoint replaces one with another: no crash leaves zeros.
                (true, 0) => Probe::Damaged(CorruptReason::Malformed("the log's start reads as zeros")),
                // A crash may cut a record's write before its end marker.
                (true, _) => Probe::Bad(CorruptReason::Malformed("zeros where the log's end marker must be")),
            });
        }
        let len = codec::le_u32(&header[0..4]) as u64;
        let generation = codec::le_u64(&header[8..16]);
        if len == END_MARK as u64 {
            let (stored, computed) = (codec::le_u32(&header[4..8]), marker_crc(&header));
            if stored != computed {
                return Ok(Probe::Bad(CorruptReason::Checksum { stored, computed }));
            }
            return Ok(self.at_end_of(generation, at));
        }
        if at + HEADER as u64 + len > file_len {
            return Ok(Probe::Bad(CorruptReason::Truncated));
        }
        let mut payload = vec![0; len as usize];
        file.read_exact_at(&mut payload, at + HEADER as u64)?;
        let (stored, computed) = (codec::le_u32(&header[4..8]), record_crc(&header, &payload));
        if stored != computed {
            return Ok(Probe::Bad(CorruptReason::Checksum { stored, computed }));
        }
        if generation < self.generation {
            return Ok(self.at_end_of(generation, at));
        }
        if generation > self.generation || len == 0 {
            return Ok(Probe::Bad(CorruptReason::Malformed(
                "a log record of a generation LMDB has not reached",
            )));
        }
        Ok(Probe::Valid(payload))
    }

    /// What an end marker, or a whole record of an older generation, of `generation` at `at` means.
    fn at_end_of(&self, generation: u64, at: u64) -> Probe {
        if generation == self.generation {
            // This generation's end marker: the log's clean end.
            return Probe::End;
        }
        if generation > self.generation {
            return Probe::Bad(CorruptReason::Malformed("a log record of a generation LMDB has not reached"));
        }
        if !self.marked || at == 0 {
            // What an earlier generation left: this one ends here (at byte 0: a checkpoint's
            // marker not yet written, or none before format 5).
            Probe::End
        } else {
            // Past byte 0 a marked log's last record is followed by its own marker.
            Probe::Bad(CorruptReason::Malformed(
                "an older generation's record where the log's end marker must be",
            ))
        }
    }

    /// True if a whole record of this generation with a good CRC starts anywhere at or after `from`.
    fn valid_record_after(&self, file: &File, from: u64) -> std::io::Result<bool> {
        let file_len = file.metadata()?.len();
        if from >= file_len {
            return Ok(false);
        }
        let mut rest = vec![0; (file_len - from) as usize];
        file.read_exact_at(&mut rest, from)?;
        let pattern = self.generation.to_le_bytes();
        // A record's generation is at header bytes 8..16.
        for found in memchr::memmem::find_iter(&rest, &pattern) {
            let Some(start) = found.checked_sub(8) else { continue };
            let header = &rest[start..start + HEADER];
            let len = codec::le_u32(&header[0..4]) as usize;
            if len == 0 {
                continue;
            }
            let Some(payload) = rest.get(start + HEADER..start + HEADER + len) else {
                continue;
            };
            if record_crc(header, payload) == codec::le_u32(&header[4..8]) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The torn tail the last [`Tail::catch_up`] stopped at, if any.
    pub(crate) fn torn(&self) -> Option<TornTail> {
        self.data.read().torn.clone()
    }

    /// The highest sequence number the tail holds for a stream.
    pub(crate) fn highest(&self, persistence_id: &str) -> Option<u64> {
        let data = self.data.read();
        let (_, stream) = data.streams.get(persistence_id)?;
        stream.events.last().map(|&i| data.events[i as usize].sequence_nr)
    }

    /// The offset after the tail's last event.
    pub(crate) fn next_offset(&self) -> Option<u64> {
        self.data.read().events.last().map(|e| e.global_offset + 1)
    }

    /// Persistence ids with events in the tail.
    pub(crate) fn persistence_ids(&self) -> Vec<String> {
        self.data.read().names.clone()
    }

    /// Visits the stream's tail events with `from <= seq <= to`, at most `max`;
    /// returns how many it visited and whether the visitor wants more.
    /// Generic over the visitor so that a caller's own closure (the stored bodies' scan) is inlined.
    pub(crate) fn scan_stream<V: FnMut(crate::model::EventRef<'_>) -> bool + ?Sized>(
        &self,
        persistence_id: &str,
        from: u64,
        to: u64,
        max: usize,
        visit: &mut V,
    ) -> Result<(usize, bool)> {
        let data = self.data.read();
        let Some((_, stream)) = data.streams.get(persistence_id) else {
            return Ok((0, true));
        };
        let first = data.first_at_or_after(stream, from);
        let mut seen = 0;
        for &i in &stream.events[first..] {
            let e = &data.events[i as usize];
            if e.sequence_nr > to || seen >= max {
                break;
            }
            seen += 1;
            if !visit(data.decode(e)?) {
                return Ok((seen, false));
            }
        }
        Ok((seen, true))
    }

    /// Visits tail events with `global_offset >= from_offset` (carrying `tag` when
    /// given), at most `max`; returns whether the visitor wants more.
    pub(crate) fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<bool> {
        let data = self.data.read();
        let first = data.events.partition_point(|e| e.global_offset < from_offset);
        let mut seen = 0;
        for e in &data.events[first..] {
            if seen >= max {
                break;
            }
            let event = data.decode(e)?;
            if tag.is_some_and(|t| !event.tags.contains(t)) {
                continue;
            }
            seen += 1;
            if !visit(event) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Calls `apply(stream, sequence_nr, global_offset, body)` for every event, in commit order;
    /// `stream` is the index [`Tail::for_each_stream`] gives the event's stream.
    pub(crate) fn for_each<E>(
        &self,
        mut apply: impl FnMut(u32, u64, u64, &[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let data = self.data.read();
        for e in &data.events {
            apply(e.stream, e.sequence_nr, e.global_offset, &data.arena[e.start..e.start + e.len])?;
        }
        Ok(())
    }

    /// Calls `visit(index, persistence_id, highest_sequence_nr)` for every stream with events in
    /// the tail, in the order the streams first appear in it; `index` names the stream to
    /// [`Tail::for_each_of_stream`] and [`Tail::for_each`] (below the count of streams).
    pub(crate) fn for_each_stream<E>(
        &self,
        mut visit: impl FnMut(u32, &str, u64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let data = self.data.read();
        for (index, name) in data.names.iter().enumerate() {
            let (_, stream) = &data.streams[name.as_str()];
            // A write of no events (only a damaged log could hold one) names a stream with none.
            if let Some(&last) = stream.events.last() {
                visit(index as u32, name, data.events[last as usize].sequence_nr)?;
            }
        }
        Ok(())
    }

    /// Calls `apply(sequence_nr, body)` for every event of the stream `index` (see
    /// [`Tail::for_each_stream`]), in sequence order.
    pub(crate) fn for_each_of_stream<E>(
        &self,
        index: u32,
        mut apply: impl FnMut(u64, &[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let data = self.data.read();
        let (_, stream) = &data.streams[data.names[index as usize].as_str()];
        for &i in &stream.events {
            let e = &data.events[i as usize];
            apply(e.sequence_nr, &data.arena[e.start..e.start + e.len])?;
        }
        Ok(())
    }

    /// True if the stream has events in the tail.
    pub(crate) fn has_stream(&self, persistence_id: &str) -> bool {
        self.data
            .read()
            .streams
            .get(persistence_id)
            .is_some_and(|(_, s)| !s.events.is_empty())
    }

    /// Writes the tail as log records of `generation` into a new log at `path` (a backup's).
    pub(crate) fn write_log(&self, path: &Path) -> Result<()> {
        let mut wal = WalWriter::open(path, self.generation)?;
        // A marked log, also when empty (the copy's LMDB may say `wal_marks`).
        wal.mark_start()?;
        let data = self.data.read();
        for e in &data.events {
            let body = &data.arena[e.start..e.start + e.len];
            #[allow(clippy::single_range_in_vec_init)] // one body: the whole buffer
            let whole = [0..body.len()];
            let staged = super::StagedWrite {
                persistence_id: &data.names[e.stream as usize],
                first_sequence_nr: e.sequence_nr,
                first_global_offset: e.global_offset,
                events: &[],
                bodies: &whole,
            };
            wal.append(&[Op::Write(staged)], body)?;
        }
        // `mark_start` made it as long as any log that held records (LMDB's `wal_min_len` may say so).
        wal.sync()
    }
}

/// Reads a payload front to back.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], CorruptReason> {
        if self.0.len() < n {
            return Err(CorruptReason::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

impl TailData {
    fn push_write<'b>(
        &mut self,
        persistence_id: &str,
        first_sequence_nr: u64,
        first_global_offset: u64,
        bodies: impl Iterator<Item = &'b [u8]>,
    ) {
        let stream = match self.streams.get(persistence_id) {
            Some((index, _)) => *index,
            None => {
                let index = self.names.len() as u32;
                self.names.push(persistence_id.to_owned());
                self.streams.insert(persistence_id.to_owned(), (index, TailStream::default()));
                index
            }
        };
        let events_before = self.events.len();
        for (i, body) in bodies.enumerate() {
            let start = self.arena.len();
            self.arena.extend_from_slice(body);
            self.events.push(TailEvent {
                stream,
                sequence_nr: first_sequence_nr + i as u64,
                global_offset: first_global_offset + i as u64,
                start,
                len: body.len(),
            });
        }
        let (_, entry) = self.streams.get_mut(persistence_id).expect("inserted above");
        entry.events.extend(events_before as u32..self.events.len() as u32);
    }

    /// Adds the writes of one record's payload: all of them, or (malformed) none.
    fn push_record(&mut self, payload: &[u8]) -> std::result::Result<(), CorruptReason> {
        let mut cursor = Cursor(payload);
        let count = codec::le_u32(cursor.take(4)?);
        let mut writes = Vec::new();
        for _ in 0..count {
            let pid_len = codec::le_u32(cursor.take(4)?) as usize;
            let pid = std::str::from_utf8(cursor.take(pid_len)?).map_err(|_| CorruptReason::Malformed("persistence id is not UTF-8"))?;
            let first_sequence_nr = codec::le_u64(cursor.take(8)?);
            let first_global_offset = codec::le_u64(cursor.take(8)?);
            let events = codec::le_u32(cursor.take(4)?);
            let mut bodies = Vec::with_capacity(events as usize);
            for _ in 0..events {
                let len = codec::le_u32(cursor.take(4)?) as usize;
                bodies.push(cursor.take(len)?);
            }
            writes.push((pid, first_sequence_nr, first_global_offset, bodies));
        }
        for (pid, first_sequence_nr, first_global_offset, bodies) in writes {
            self.push_write(pid, first_sequence_nr, first_global_offset, bodies.into_iter());
        }
        Ok(())
    }

    /// The position in `stream.events` of its first event with `sequence_nr >= from`.
    /// A stream's sequence numbers are consecutive, so the position is computed and checked
    /// (two loads) rather than searched for (a binary search is a cache miss per step on a
    /// large tail: the most of a one-event read); the search remains for any other layout.
    fn first_at_or_after(&self, stream: &TailStream, from: u64) -> usize {
        let seq = |k: usize| self.events[stream.events[k] as usize].sequence_nr;
        let Some(&first) = stream.events.first() else { return 0 };
        let guess = usize::try_from(from.saturating_sub(self.events[first as usize].sequence_nr))
            .unwrap_or(usize::MAX)
            .min(stream.events.len());
        let at_or_after = guess == stream.events.len() || seq(guess) >= from;
        if at_or_after && (guess == 0 || seq(guess - 1) < from) {
            return guess;
        }
        stream.events.partition_point(|&i| self.events[i as usize].sequence_nr < from)
    }

    #[inline(always)]
    fn decode(&self, e: &TailEvent) -> Result<crate::model::EventRef<'_>> {
        let pid = &self.names[e.stream as usize];
        // The arena holds bodies this writer encoded or parsed from records whose CRC was checked.
        codec::decode_verified_event(pid, &self.arena[e.start..e.start + e.len])
            .map_err(|reason| Error::corrupt("lmdb/wal", e.global_offset, reason))
    }
}
