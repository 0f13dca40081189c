//! Segment-file backend: one append-only log shared by every stream, rolled
//! into segments, with an in-memory index rebuilt at open. Format version 1
//! (see `docs/format.md`):
//!
//! ```text
//! segment  = header frame*
//! header   = "TMSG" format:u32 segment_no:u64 reserved:12 crc32:u32      (32 bytes)
//! frame    = "TMFR" len:u32 payload_crc:u32 header_crc:u32 payload       (one per group commit)
//! payload  = entry*
//! entry    = 1 pid_len:u16 pid body_len:u32 body      (an event; body as in `codec`)
//!          | 2 pid_len:u16 pid highest:u64 deleted_to:u64   (stream marks: delete_to, import)
//! ```
//!
//! One frame per group commit makes every atomic write all-or-nothing: a
//! frame torn by a crash is dropped whole at open. `control` (written
//! atomically) keeps what must outlive reclaimed segments: each stream's
//! highest and deleted-to sequence numbers, and the next global offset.

use std::collections::{BTreeMap, VecDeque};

use crate::fsutil::FileExt;
use rustc_hash::FxHashMap as HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use parking_lot::{Mutex, RwLock};

use super::{Op, Storage, StreamState, Visit};
use crate::codec;
use crate::error::{CorruptReason, Error, Result};
use crate::fsutil;
use crate::layout::FORMAT_VERSION;
use crate::metrics::Metrics;
use crate::options::Options;

// On-disk magic bytes: compatibility constants from before the rename (TM: the former name); never change them.
const SEGMENT_MAGIC: &[u8; 4] = b"TMSG";
const FRAME_MAGIC: &[u8; 4] = b"TMFR";
const CONTROL_MAGIC: &[u8; 4] = b"TMCT";
const SEGMENT_HEADER: u64 = 32;
const FRAME_HEADER: usize = 16;
/// How far ahead of the log's end zeros are written.
const PREALLOCATE: u64 = 1 << 20;
/// Zero bytes the newest segment always holds after its last frame (since format 4), so that a
/// cut at a frame boundary is told from the log's end.
const ZERO_TAIL: u64 = 16;
const ZERO_TAIL_SINCE: u32 = 4;
/// Since format 5 those 16 bytes are an end marker: `"TMEN"`, the segment number u64, CRC32 of
/// the 12 bytes before it. Written with each frame (and the header), so that in the newest segment
/// of version 5 or later zeros where it must be are a write cut short or a lost one, not an end.
const END_MAGIC: &[u8; 4] = b"TMEN";
const END_MARKER_SINCE: u32 = 5;
const ENTRY_EVENT: u8 = 1;
const ENTRY_STATE: u8 = 2;

/// Where an event body lives.
#[derive(Debug, Clone, Copy)]
struct Location {
    segment: u64,
    offset: u64,
    len: u32,
}

#[derive(Debug)]
struct StreamIndex {
    persistence_id: Arc<str>,
    highest: u64,
    deleted_to: u64,
    /// Sequence number of `locations[0]`.
    first: u64,
    locations: VecDeque<Location>,
}

impl StreamIndex {
    fn location(&self, seq: u64) -> Option<Location> {
        if seq <= self.deleted_to || seq < self.first {
            return None;
        }
        self.locations.get((seq - self.first) as usize).copied()
    }
}

#[derive(Debug, Clone, Copy)]
struct GlobalEntry {
    offset: u64,
    stream: u32,
    seq: u64,
}

#[derive(Default)]
struct Index {
    streams: Vec<StreamIndex>,
    by_id: HashMap<String, u32>,
    /// Every event in offset order (deleted ones are skipped when read).
    global: Vec<GlobalEntry>,
    tags: HashMap<String, Vec<u64>>,
    segments: BTreeMap<u64, Arc<File>>,
    /// Live events per segment, to find segments that can be deleted.
    live: BTreeMap<u64, u64>,
    next_offset: u64,
}

impl Index {
    fn stream_mut(&mut self, persistence_id: &str) -> (u32, &mut StreamIndex) {
        let idx = match self.by_id.get(persistence_id) {
            Some(i) => *i,
            None => {
                let i = self.streams.len() as u32;
                self.streams.push(StreamIndex {
                    persistence_id: persistence_id.into(),
                    highest: 0,
                    deleted_to: 0,
                    first: 1,
                    locations: VecDeque::new(),
                });
                self.by_id.insert(persistence_id.to_owned(), i);
                i
            }
        };
        (idx, &mut self.streams[idx as usize])
    }

    fn add_event(
        &mut self,
        persistence_id: &str,
        seq: u64,
        offset: u64,
        tags: impl Iterator<Item = impl AsRef<str>>,
        loc: Location,
    ) -> std::result::Result<(), CorruptReason> {
        let (idx, stream) = self.stream_mut(persistence_id);
        if stream.locations.is_empty() && stream.deleted_to > 0 && seq <= stream.deleted_to + 1 && seq > stream.highest {
            // The control file said events up to `deleted_to` are gone; the log resumes somewhere below that.
            stream.highest = seq - 1;
        }
        if seq != stream.highest + 1 {
            return Err(CorruptReason::Malformed("sequence numbers of a stream are not consecutive"));
        }
        if stream.locations.is_empty() {
            stream.first = seq;
        }
        stream.locations.push_back(loc);
        stream.highest = seq;
        if seq <= stream.deleted_to {
            // Deleted before the control file was written; its segment survives only by chance.
            stream.locations.pop_back();
            stream.first = seq + 1;
        } else {
            *self.live.entry(loc.segment).or_default() += 1;
        }
        if self.global.last().is_some_and(|g| g.offset >= offset) {
            return Err(CorruptReason::Malformed("global offsets are not increasing"));
        }
        self.global.push(GlobalEntry { offset, stream: idx, seq });
        for tag in tags {
            let tag = tag.as_ref();
            match self.tags.get_mut(tag) {
                Some(list) => list.push(offset),
                None => {
                    self.tags.insert(tag.to_owned(), vec![offset]);
                }
            }
        }
        self.next_offset = offset + 1;
        Ok(())
    }

    fn set_state(&mut self, persistence_id: &str, highest: u64, to: u64) {
        let (idx, _) = self.stream_mut(persistence_id);
        let stream = &mut self.streams[idx as usize];
        stream.highest = stream.highest.max(highest);
        if stream.locations.is_empty() {
            stream.first = stream.first.max(stream.highest + 1);
        }
        if to <= stream.deleted_to {
            return;
        }
        stream.deleted_to = to;
        while stream.first <= to {
            let Some(loc) = stream.locations.pop_front() else {
                stream.first = to + 1;
                break;
            };
            stream.first += 1;
            if let Some(n) = self.live.get_mut(&loc.segment) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

/// Receives an event body with the file and offset it was read from; returns whether to go on.
type VisitBody<'v> = dyn FnMut(&Path, u64, &[u8]) -> Result<bool> + 'v;

/// What the writer thread owns.
struct Active {
    number: u64,
    file: Arc<File>,
    /// End of the last whole frame: where the next frame goes.
    len: u64,
    /// File length: zeros past `len` were written ahead so that appends do not
    /// change the file size, which lets `fdatasync` skip a metadata flush.
    allocated: u64,
    frame: Vec<u8>,
    /// Offsets (within `frame`) of event bodies, in op order.
    body_offsets: Vec<(u64, u32)>,
}

pub(crate) struct FileStorage {
    dir: PathBuf,
    index: RwLock<Index>,
    /// Read-only maps of segments, for reads.
    maps: RwLock<HashMap<u64, Arc<Mmap>>>,
    active: Mutex<Option<Active>>,
    segment_bytes: u64,
    read_only: bool,
    metrics: Arc<Metrics>,
    /// The torn tail met at open, if any.
    torn_tails: Vec<super::TornTail>,
    /// A commit changed stream marks (a deletion): the next flush rewrites the control file.
    marks_changed: std::sync::atomic::AtomicBool,
    /// How far a read-only handle has read the log: it reads on before each read, so that it
    /// follows a live writer (as LMDB's read-only handles do).
    follow: Mutex<Follow>,
}

/// The newest segment a read-only handle knows (0: none) and the end of its last frame it read.
struct Follow {
    segment: u64,
    end: u64,
}

/// The numbers of the segments in `dir`, in order.
fn segment_numbers(dir: &Path) -> Result<Vec<u64>> {
    let mut numbers: Vec<u64> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
            .collect(),
        Err(e) => return Err(Error::io("list segments", dir, e)),
    };
    numbers.sort_unstable();
    Ok(numbers)
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.seg"))
}

fn io<'a>(operation: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(operation, path, e)
}

impl FileStorage {
    pub(crate) fn open(dir: &Path, options: &Options, metrics: Arc<Metrics>) -> Result<Self> {
        if !options.read_only {
            fsutil::create_dir_durably(dir)?;
        }
        let numbers = segment_numbers(dir)?;

        let mut index = Index {
            next_offset: 1,
            ..Default::default()
        };
        let reclaimed_highest = load_control(dir, &mut index)?;
        let storage_dir = dir.to_owned();
        let last = numbers.last().copied();
        let mut last_end = 0;
        let mut torn_tails = Vec::new();
        // Per segment read so far: its number, the end of its last frame, and whether it was
        // sealed by a writer of format 4 or later (cut to its frames, which that writer does only
        // once the next segment's header is durable).
        let mut sealed: Vec<(u64, u64, bool)> = Vec::new();
        for &number in &numbers {
            let path = segment_path(dir, number);
            let file = OpenOptions::new()
                .read(true)
                .write(!options.read_only)
                .open(&path)
                .map_err(io("open segment", &path))?;
            let is_last = Some(number) == last;
            let Scanned {
                end,
                torn,
                previous_len,
                version,
            } = scan_segment(&path, &file, number, is_last, &mut index)?;
            let len = file.metadata().map_err(io("stat segment", &path))?.len();
            // A sealed segment cut at a frame boundary looks whole: the next one's header says how
            // long it was sealed (0 in segments written before format 3: unknown). Zeros after its
            // frames are left by a writer stopped between creating the next segment and sealing.
            if let Some(&(before, before_end, _)) = sealed.last() {
                if previous_len != 0 && before + 1 == number && before_end != previous_len {
                    return Err(Error::corrupt(
                        segment_path(dir, before),
                        before_end.min(previous_len),
                        CorruptReason::Truncated,
                    ));
                }
            }
            // Since format 4 the newest segment always holds zeros (or a torn frame) after its last
            // frame: a file that ends sooner was cut, perhaps at a frame boundary.
            if is_last && version >= ZERO_TAIL_SINCE && !torn && len < end + ZERO_TAIL {
                return Err(Error::corrupt(&path, len, CorruptReason::Truncated));
            }
            // A newest segment without a whole header after a segment sealed since format 4 was
            // cut (it is not a segment whose creation a crash interrupted).
            if is_last && end < SEGMENT_HEADER && sealed.last().is_some_and(|&(n, _, cut)| n + 1 == number && cut) {
                return Err(Error::corrupt(&path, len, CorruptReason::Truncated));
            }
            sealed.push((number, end, version >= ZERO_TAIL_SINCE && len < end + ZERO_TAIL));
            last_end = end;
            if torn {
                torn_tails.push(super::TornTail {
                    path: path.clone(),
                    offset: end,
                    bytes: len - end,
                });
                if options.read_only {
                    // A live writer may be mid-append; read up to the last whole frame.
                } else {
                    // Zero the torn bytes rather than cut them: the zeros after the last frame stay.
                    tracing::warn!(path = %path.display(), offset = end, bytes = len - end, "zeroing torn tail");
                    fsutil::write_zeros(&file, end, len.max(end + ZERO_TAIL)).map_err(io("zero torn tail", &path))?;
                    file.write_all_at(&end_marker(number), end).map_err(io("zero torn tail", &path))?;
                    file.sync_all().map_err(io("fsync", &path))?;
                    Metrics::add(&metrics.repaired_tails, 1);
                    Metrics::add(&metrics.repaired_bytes, len - end);
                }
            }
            index.segments.insert(number, Arc::new(file));
        }
        for (pid, highest) in reclaimed_highest {
            let (_, stream) = index.stream_mut(&pid);
            stream.highest = stream.highest.max(highest);
        }
        // Every live event must be in the log (a segment is reclaimed only once all its events are
        // deleted): marks the control file keeps above the log's events mean a cut or lost segment.
        for stream in &index.streams {
            let live_from = stream.deleted_to + 1;
            let held_to = stream.first + stream.locations.len() as u64;
            if stream.highest >= live_from && (stream.first > live_from || held_to <= stream.highest) {
                let at = numbers.last().map_or_else(|| dir.join("control"), |n| segment_path(dir, *n));
                return Err(Error::corrupt(
                    at,
                    0,
                    CorruptReason::Malformed("live events of a stream are missing from the log"),
                ));
            }
        }

        let active = if options.read_only {
            None
        } else {
            match last {
                Some(number) if last_end < SEGMENT_HEADER => {
                    // Created but its header never reached the disk whole: start it again.
                    let path = segment_path(dir, number);
                    fs::remove_file(&path).map_err(io("remove torn segment", &path))?;
                    let previous = sealed
                        .iter()
                        .rev()
                        .nth(1)
                        .filter(|(n, _, _)| n + 1 == number)
                        .map_or(0, |(_, end, _)| *end);
                    let active = create_segment(dir, number, previous)?;
                    index.segments.insert(number, active.file.clone());
                    Some(active)
                }
                Some(number) => {
                    let file = index.segments[&number].clone();
                    let allocated = file.metadata().map_err(io("stat segment", &segment_path(dir, number)))?.len();
                    Some(Active {
                        number,
                        file,
                        len: last_end,
                        allocated,
                        frame: Vec::new(),
                        body_offsets: Vec::new(),
                    })
                }
                None => {
                    let active = create_segment(dir, 1, 0)?;
                    index.segments.insert(1, active.file.clone());
                    Some(active)
                }
            }
        };

        Ok(FileStorage {
            dir: storage_dir,
            index: RwLock::new(index),
            maps: RwLock::new(HashMap::default()),
            active: Mutex::new(active),
            segment_bytes: options.segment_bytes,
            read_only: options.read_only,
            metrics,
            torn_tails,
            marks_changed: std::sync::atomic::AtomicBool::new(false),
            follow: Mutex::new(Follow {
                segment: last.filter(|_| last_end >= SEGMENT_HEADER).unwrap_or(0),
                end: last_end,
            }),
        })
    }

    fn segment_file(&self, number: u64) -> PathBuf {
        segment_path(&self.dir, number)
    }

    /// Reads and decodes the bodies at `locs` (one stream's, or any), calling `visit` per event.
    /// Adjacent bodies in one segment are read with one `pread`.
    /// A read-only map of a segment covering at least `end` bytes.
    ///
    /// Mapping is sound here because committed bytes are never modified: the
    /// log is append-only, torn tails are truncated only at open (before any
    /// map exists), and a segment is only shortened when sealed, past every
    /// committed frame. A map is grown by mapping again when readers need
    /// bytes committed after it was made.
    fn map(&self, segment: u64, end: u64) -> Result<Arc<Mmap>> {
        if let Some(map) = self.maps.read().get(&segment).filter(|m| m.len() as u64 >= end) {
            return Ok(map.clone());
        }
        let file = self.index.read().segments.get(&segment).cloned().ok_or(Error::Closed)?;
        let path = self.segment_file(segment);
        // SAFETY: see above; the file outlives the map through `Arc<File>` semantics of the OS (unlinked files stay mapped).
        let map = Arc::new(unsafe { Mmap::map(&*file) }.map_err(io("map segment", &path))?);
        if (map.len() as u64) < end {
            return Err(Error::corrupt(path, end, CorruptReason::Truncated));
        }
        self.maps.write().insert(segment, map.clone());
        Ok(map)
    }

    /// Hands the event bodies at `items` to `visit`, straight from the segment maps.
    fn visit_locations(&self, items: &[(Location, u32)], visit: &mut VisitBody<'_>) -> Result<bool> {
        let mut current: Option<(u64, Arc<Mmap>, PathBuf)> = None;
        for (loc, _) in items {
            let end = loc.offset + loc.len as u64;
            if !matches!(&current, Some((seg, map, _)) if *seg == loc.segment && map.len() as u64 >= end) {
                current = Some((loc.segment, self.map(loc.segment, end)?, self.segment_file(loc.segment)));
            }
            let (_, map, path) = current.as_ref().expect("set above");
            if !visit(path, loc.offset, &map[loc.offset as usize..end as usize])? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// For a read-only handle: takes what a writer appended since the last read into the index,
    /// from the newest segment it knows and from segments created since.
    fn catch_up(&self) -> Result<()> {
        if !self.read_only {
            return Ok(());
        }
        let mut follow = self.follow.lock();
        loop {
            let current = match follow.segment {
                0 => None,
                n => Some(self.index.read().segments.get(&n).cloned().ok_or(Error::Closed)?),
            };
            if let Some(file) = &current {
                self.read_frames(&mut follow, file)?;
            }
            let path = self.segment_file(follow.segment + 1);
            let next = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // A sealed newest segment (no zeros after its frames) with no successor: the
                    // writer created newer ones and reclaimed this one's successor already. Read
                    // the journal again from the start, as an open does.
                    let sealed = match &current {
                        Some(file) => file.metadata().map_err(io("stat segment", &path))?.len() <= follow.end,
                        None => true,
                    };
                    if sealed && segment_numbers(&self.dir)?.iter().any(|n| *n > follow.segment) {
                        return self.reload(&mut follow);
                    }
                    return Ok(());
                }
                Err(e) => return Err(Error::io("open segment", &path, e)),
            };
            let mut header = [0u8; SEGMENT_HEADER as usize];
            if next.read_exact_at(&mut header, 0).is_err() || header.iter().all(|b| *b == 0) {
                return Ok(()); // Being created: its header is not written yet.
            }
            if &header[..4] != SEGMENT_MAGIC || codec::le_u32(&header[28..32]) != crc32fast::hash(&header[..28]) {
                return Err(Error::corrupt(&path, 0, CorruptReason::Malformed("segment header")));
            }
            if let Some(file) = &current {
                // The writer wrote its last frame to the older segment before it created this one.
                self.read_frames(&mut follow, file)?;
                let sealed_at = codec::le_u64(&header[16..24]);
                if sealed_at != 0 && sealed_at != follow.end {
                    return Err(Error::corrupt(
                        self.segment_file(follow.segment),
                        follow.end,
                        CorruptReason::Truncated,
                    ));
                }
            }
            let number = follow.segment + 1;
            self.index.write().segments.insert(number, Arc::new(next));
            *follow = Follow {
                segment: number,
                end: SEGMENT_HEADER,
            };
        }
    }

    /// Rebuilds a read-only handle's index from the files, as an open does.
    fn reload(&self, follow: &mut Follow) -> Result<()> {
        let fresh = FileStorage::open(&self.dir, &Options::new().read_only(true), self.metrics.clone())?;
        *self.index.write() = fresh.index.into_inner();
        self.maps.write().clear();
        *follow = fresh.follow.into_inner();
        Ok(())
    }

    /// Reads the frames after `follow.end` of the segment `follow.segment` into the index.
    fn read_frames(&self, follow: &mut Follow, file: &File) -> Result<()> {
        let path = self.segment_file(follow.segment);
        let len = file.metadata().map_err(io("stat segment", &path))?.len();
        let mut first = [0u8; 4];
        if len < follow.end + FRAME_HEADER as u64 || file.read_exact_at(&mut first, follow.end).is_err() || first == [0; 4] {
            return Ok(()); // Nothing new.
        }
        let mut again = true;
        loop {
            let mut data = vec![0; len.saturating_sub(follow.end) as usize];
            let n = fsutil::read_at_most(file, &mut data, follow.end).map_err(io("read segment", &path))?;
            data.truncate(n);
            let mut index = self.index.write();
            let mut progress = follow.end;
            // Zeros after the frames are just not written yet here: a torn frame is read again.
            let scanned = scan_frames(&path, &data, follow.end, follow.segment, true, false, &mut index, &mut progress);
            follow.end = progress;
            match scanned {
                // A torn frame is one the writer is still writing: read again next time.
                Ok(_) => return Ok(()),
                // A frame the writer completed while this read copied it: read it once more.
                Err(_) if std::mem::take(&mut again) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn write_control(&self) -> Result<()> {
        let bytes = encode_control(&self.index.read());
        fsutil::write_atomically(&self.dir.join("control"), &bytes)
    }
}

/// The control file's bytes for the index's current state (format.md).
fn encode_control(index: &Index) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(CONTROL_MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&index.next_offset.to_le_bytes());
    out.extend_from_slice(&(index.streams.len() as u64).to_le_bytes());
    for s in &index.streams {
        out.extend_from_slice(&(s.persistence_id.len() as u16).to_le_bytes());
        out.extend_from_slice(s.persistence_id.as_bytes());
        out.extend_from_slice(&s.highest.to_le_bytes());
        out.extend_from_slice(&s.deleted_to.to_le_bytes());
    }
    let crc = crc32fast::hash(&out[12..]);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The end marker of segment `number`.
fn end_marker(number: u64) -> [u8; ZERO_TAIL as usize] {
    let mut marker = [0u8; ZERO_TAIL as usize];
    marker[..4].copy_from_slice(END_MAGIC);
    marker[4..12].copy_from_slice(&number.to_le_bytes());
    let crc = crc32fast::hash(&marker[..12]);
    marker[12..].copy_from_slice(&crc.to_le_bytes());
    marker
}

/// Creates segment `number`; `previous_len` is the length its predecessor was sealed at (0: none).
fn create_segment(dir: &Path, number: u64, previous_len: u64) -> Result<Active> {
    let path = segment_path(dir, number);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io("create segment", &path))?;
    let mut header = [0u8; SEGMENT_HEADER as usize];
    header[..4].copy_from_slice(SEGMENT_MAGIC);
    header[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[8..16].copy_from_slice(&number.to_le_bytes());
    header[16..24].copy_from_slice(&previous_len.to_le_bytes());
    let crc = crc32fast::hash(&header[..28]);
    header[28..].copy_from_slice(&crc.to_le_bytes());
    // The header and the end marker after it, in one write.
    let mut start = [0u8; (SEGMENT_HEADER + ZERO_TAIL) as usize];
    start[..SEGMENT_HEADER as usize].copy_from_slice(&header);
    start[SEGMENT_HEADER as usize..].copy_from_slice(&end_marker(number));
    file.write_all_at(&start, 0).map_err(io("write segment header", &path))?;
    file.sync_all().map_err(io("fsync", &path))?;
    fsutil::sync_dir(dir)?;
    Ok(Active {
        number,
        file: Arc::new(file),
        len: SEGMENT_HEADER,
        allocated: SEGMENT_HEADER + ZERO_TAIL,
        frame: Vec::new(),
        body_offsets: Vec::new(),
    })
}

/// Loads the control file into `index`; returns each stream's highest sequence
/// number, applied after the log is replayed.
fn load_control(dir: &Path, index: &mut Index) -> Result<Vec<(String, u64)>> {
    let path = dir.join("control");
    let mut highest_by_stream = Vec::new();
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(highest_by_stream),
        Err(e) => return Err(Error::io("read control file", &path, e)),
    };
    let corrupt = |reason| Error::corrupt(&path, 0, reason);
    if bytes.len() < 28 || &bytes[..4] != CONTROL_MAGIC {
        return Err(corrupt(CorruptReason::BadMagic));
    }
    let stored = codec::le_u32(&bytes[8..12]);
    let computed = crc32fast::hash(&bytes[12..]);
    if stored != computed {
        return Err(corrupt(CorruptReason::Checksum { stored, computed }));
    }
    // The version is outside the CRC; the journal's FORMAT marker already refused newer formats.
    let version = codec::le_u32(&bytes[4..8]);
    if version > FORMAT_VERSION {
        return Err(corrupt(CorruptReason::Malformed("control file version")));
    }
    index.next_offset = codec::le_u64(&bytes[12..20]);
    let count = codec::le_u64(&bytes[20..28]);
    let mut pos = 28;
    for _ in 0..count {
        let take = |pos: usize, n: usize| bytes.get(pos..pos + n).ok_or(CorruptReason::Truncated);
        let len = u16::from_le_bytes(take(pos, 2).map_err(corrupt)?.try_into().unwrap()) as usize;
        let pid =
            std::str::from_utf8(take(pos + 2, len).map_err(corrupt)?).map_err(|_| corrupt(CorruptReason::Malformed("persistence id")))?;
        let highest = codec::le_u64(take(pos + 2 + len, 8).map_err(corrupt)?);
        let deleted_to = codec::le_u64(take(pos + 10 + len, 8).map_err(corrupt)?);
        pos += 18 + len;
        let (_, stream) = index.stream_mut(pid);
        stream.deleted_to = deleted_to;
        stream.first = deleted_to + 1;
        highest_by_stream.push((pid.to_owned(), highest));
    }
    Ok(highest_by_stream)
}

/// What scanning a segment found.
struct Scanned {
    /// The offset just past its last whole frame.
    end: u64,
    /// A torn tail (non-zero bytes that are no frame, with no valid frame after them) follows `end`.
    torn: bool,
    /// The length the header says the previous segment was sealed at (0: unknown).
    previous_len: u64,
    /// The format version in its header (0: no whole header).
    version: u32,
}

/// Scans one segment into the index.
fn scan_segment(path: &Path, file: &File, number: u64, is_last: bool, index: &mut Index) -> Result<Scanned> {
    let len = file.metadata().map_err(io("stat segment", path))?.len();
    let mut data = vec![0; len as usize];
    file.read_exact_at(&mut data, 0).map_err(io("read segment", path))?;
    let corrupt = |offset: u64, reason| Error::corrupt(path, offset, reason);
    if data.len() < SEGMENT_HEADER as usize {
        if is_last && data.iter().all(|b| *b == 0) {
            return Ok(Scanned {
                end: 0,
                torn: !data.is_empty(),
                previous_len: 0,
                version: 0,
            });
        }
        return Err(corrupt(0, CorruptReason::Truncated));
    }
    if &data[..4] != SEGMENT_MAGIC {
        return Err(corrupt(0, CorruptReason::BadMagic));
    }
    let stored = codec::le_u32(&data[28..32]);
    let computed = crc32fast::hash(&data[..28]);
    if stored != computed {
        return Err(corrupt(0, CorruptReason::Checksum { stored, computed }));
    }
    let version = codec::le_u32(&data[4..8]);
    if version > FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let previous_len = codec::le_u64(&data[16..24]);
    let mut progress = SEGMENT_HEADER;
    let (end, torn) = scan_frames(
        path,
        &data[SEGMENT_HEADER as usize..],
        SEGMENT_HEADER,
        number,
        is_last,
        is_last && version >= END_MARKER_SINCE,
        index,
        &mut progress,
    )?;
    Ok(Scanned {
        end,
        torn,
        previous_len,
        version,
    })
}

/// Scans the frames in `data` (the segment's bytes from offset `base` to its end) into the index;
/// returns the offset just past the last whole frame, and whether a torn tail follows it. Only
/// the newest segment (`is_last`) may end in a torn tail. In a `marked` one (the newest, of
/// version 5 or later) only the end marker ends the frames; zeros there are a torn tail.
/// `progress` follows the end of the last frame taken into the index, also when a later one fails.
#[allow(clippy::too_many_arguments)] // one scan's inputs, passed where they are known
fn scan_frames(
    path: &Path,
    data: &[u8],
    base: u64,
    number: u64,
    is_last: bool,
    marked: bool,
    index: &mut Index,
    progress: &mut u64,
) -> Result<(u64, bool)> {
    let corrupt = |offset: u64, reason| Error::corrupt(path, offset, reason);
    let mut pos = 0;
    while pos < data.len() {
        let payload = match frame_at(data, pos) {
            Ok(p) => p,
            Err(reason) => {
                // The end marker (any version reads it): the clean end, unless frames follow it.
                if data.get(pos..pos + ZERO_TAIL as usize) == Some(&end_marker(number)[..]) && !has_valid_frame_after(data, pos + 1) {
                    return Ok((base + pos as u64, false));
                }
                // Zeros written ahead of the log: its clean end before format 5. In a marked
                // segment a write cut before its marker, or a lost write: reported as torn.
                if data[pos..].iter().all(|b| *b == 0) {
                    // (Fewer than 16 bytes left: the file was cut, which the caller reports.)
                    let torn = marked && data.len() - pos >= ZERO_TAIL as usize;
                    return Ok((base + pos as u64, torn));
                }
                // A torn tail: the bad frame is the last thing in the newest segment.
                if is_last && !has_valid_frame_after(data, pos + 1) {
                    return Ok((base + pos as u64, true));
                }
                return Err(corrupt(base + pos as u64, reason));
            }
        };
        let payload_start = pos + FRAME_HEADER;
        let mut p = 0;
        while p < payload.len() {
            let at = base + (payload_start + p) as u64;
            let bad = |r| corrupt(at, r);
            let kind = payload[p];
            let pid_len = payload
                .get(p + 1..p + 3)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
                .ok_or_else(|| bad(CorruptReason::Truncated))?;
            let pid = payload.get(p + 3..p + 3 + pid_len).ok_or_else(|| bad(CorruptReason::Truncated))?;
            let pid = std::str::from_utf8(pid).map_err(|_| bad(CorruptReason::Malformed("persistence id is not UTF-8")))?;
            p += 3 + pid_len;
            match kind {
                ENTRY_EVENT => {
                    let body_len = payload
                        .get(p..p + 4)
                        .map(codec::le_u32)
                        .ok_or_else(|| bad(CorruptReason::Truncated))? as usize;
                    let body = payload.get(p + 4..p + 4 + body_len).ok_or_else(|| bad(CorruptReason::Truncated))?;
                    let event = codec::decode_event(pid, body).map_err(bad)?;
                    let loc = Location {
                        segment: number,
                        offset: base + (payload_start + p + 4) as u64,
                        len: body_len as u32,
                    };
                    index
                        .add_event(pid, event.sequence_nr, event.global_offset, event.tags.iter(), loc)
                        .map_err(bad)?;
                    p += 4 + body_len;
                }
                ENTRY_STATE => {
                    let marks = payload.get(p..p + 16).ok_or_else(|| bad(CorruptReason::Truncated))?;
                    index.set_state(pid, codec::le_u64(&marks[..8]), codec::le_u64(&marks[8..]));
                    p += 16;
                }
                _ => return Err(bad(CorruptReason::Malformed("unknown entry kind"))),
            }
        }
        pos = payload_start + payload.len();
        *progress = base + pos as u64;
    }
    Ok((base + pos as u64, false))
}

/// The payload of a valid frame at `pos`.
fn frame_at(data: &[u8], pos: usize) -> std::result::Result<&[u8], CorruptReason> {
    let header = data.get(pos..pos + FRAME_HEADER).ok_or(CorruptReason::Truncated)?;
    if &header[..4] != FRAME_MAGIC {
        return Err(CorruptReason::BadMagic);
    }
    let stored = codec::le_u32(&header[12..16]);
    let computed = crc32fast::hash(&header[..12]);
    if stored != computed {
        return Err(CorruptReason::Checksum { stored, computed });
    }
    let len = codec::le_u32(&header[4..8]) as usize;
    let payload = data
        .get(pos + FRAME_HEADER..pos + FRAME_HEADER + len)
        .ok_or(CorruptReason::Truncated)?;
    let stored = codec::le_u32(&header[8..12]);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(CorruptReason::Checksum { stored, computed });
    }
    Ok(payload)
}

/// True when a whole valid frame starts anywhere at or after `from`: then the
/// damage before it is corruption, not a torn tail.
fn has_valid_frame_after(data: &[u8], from: usize) -> bool {
    let mut pos = from;
    while let Some(found) = data.get(pos..).and_then(|rest| rest.windows(4).position(|w| w == FRAME_MAGIC)) {
        if frame_at(data, pos + found).is_ok() {
            return true;
        }
        pos += found + 1;
    }
    false
}

impl Storage for FileStorage {
    fn torn_tails(&self) -> Vec<super::TornTail> {
        self.torn_tails.clone()
    }

    fn stream_state(&self, persistence_id: &str) -> Result<StreamState> {
        self.catch_up()?;
        let index = self.index.read();
        Ok(index.by_id.get(persistence_id).map_or_else(StreamState::default, |&i| {
            let s = &index.streams[i as usize];
            StreamState {
                highest_sequence_nr: s.highest,
                deleted_to: s.deleted_to,
            }
        }))
    }

    fn next_global_offset(&self) -> Result<u64> {
        self.catch_up()?;
        Ok(self.index.read().next_offset)
    }

    fn scan_stream(&self, persistence_id: &str, from: u64, to: u64, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        self.catch_up()?;
        const CHUNK: usize = 4096;
        let mut next = from;
        let mut remaining = max;
        let mut items = Vec::new();
        while remaining > 0 && next <= to {
            items.clear();
            {
                let index = self.index.read();
                let Some(&idx) = index.by_id.get(persistence_id) else {
                    return Ok(());
                };
                let stream = &index.streams[idx as usize];
                next = next.max(stream.first).max(stream.deleted_to + 1);
                while items.len() < CHUNK.min(remaining) && next <= to.min(stream.highest) {
                    match stream.location(next) {
                        Some(loc) => items.push((loc, idx)),
                        None => break,
                    }
                    next += 1;
                }
            }
            if items.is_empty() {
                break;
            }
            remaining -= items.len();
            let go_on = self.visit_locations(&items, &mut |path, offset, body| {
                let event = codec::decode_event(persistence_id, body).map_err(|r| Error::corrupt(path, offset, r))?;
                Ok(visit(event))
            })?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        self.catch_up()?;
        const CHUNK: usize = 4096;
        let mut next_offset = from_offset;
        let mut remaining = max;
        loop {
            let mut items = Vec::new();
            let mut names = Vec::new();
            {
                let index = self.index.read();
                let offsets: Box<dyn Iterator<Item = u64>> = match tag {
                    Some(t) => match index.tags.get(t) {
                        Some(list) => {
                            let start = list.partition_point(|o| *o < next_offset);
                            Box::new(list[start..].iter().copied())
                        }
                        None => return Ok(()),
                    },
                    None => {
                        let start = index.global.partition_point(|g| g.offset < next_offset);
                        Box::new(index.global[start..].iter().map(|g| g.offset))
                    }
                };
                for offset in offsets {
                    if items.len() >= CHUNK.min(remaining) {
                        break;
                    }
                    next_offset = offset + 1;
                    let pos = index.global.partition_point(|g| g.offset < offset);
                    let Some(entry) = index.global.get(pos).filter(|g| g.offset == offset) else {
                        continue;
                    };
                    let stream = &index.streams[entry.stream as usize];
                    if let Some(loc) = stream.location(entry.seq) {
                        items.push((loc, entry.stream));
                        names.push(Arc::clone(&stream.persistence_id));
                    }
                }
            }
            if items.is_empty() {
                return Ok(());
            }
            let mut i = 0;
            let mut delivered = 0;
            let go_on = self.visit_locations(&items, &mut |path, offset, body| {
                let pid = &names[i];
                i += 1;
                let event = codec::decode_event(pid, body).map_err(|r| Error::corrupt(path, offset, r))?;
                if tag.is_some_and(|t| !event.tags.contains(t)) {
                    return Ok(true);
                }
                delivered += 1;
                Ok(visit(event))
            })?;
            remaining = remaining.saturating_sub(delivered);
            if !go_on || remaining == 0 {
                return Ok(());
            }
        }
    }

    fn persistence_ids(&self) -> Result<Vec<String>> {
        self.catch_up()?;
        let mut ids: Vec<String> = self.index.read().by_id.keys().cloned().collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn commit(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()> {
        if self.read_only {
            return Err(crate::error::InvalidArgument::ReadOnly.into());
        }
        let mut guard = self.active.lock();
        let active = guard.as_mut().ok_or(Error::Closed)?;
        active.frame.clear();
        active.body_offsets.clear();
        active.frame.extend_from_slice(&[0; FRAME_HEADER]);
        for op in ops {
            match op {
                Op::Write(w) => {
                    for body in w.bodies {
                        active.frame.push(ENTRY_EVENT);
                        active.frame.extend_from_slice(&(w.persistence_id.len() as u16).to_le_bytes());
                        active.frame.extend_from_slice(w.persistence_id.as_bytes());
                        active.frame.extend_from_slice(&((body.end - body.start) as u32).to_le_bytes());
                        active
                            .body_offsets
                            .push((active.frame.len() as u64, (body.end - body.start) as u32));
                        active.frame.extend_from_slice(&buffer[body.clone()]);
                    }
                }
                Op::SetState {
                    persistence_id,
                    highest,
                    deleted_to,
                } => {
                    active.frame.push(ENTRY_STATE);
                    active.frame.extend_from_slice(&(persistence_id.len() as u16).to_le_bytes());
                    active.frame.extend_from_slice(persistence_id.as_bytes());
                    active.frame.extend_from_slice(&highest.to_le_bytes());
                    active.frame.extend_from_slice(&deleted_to.to_le_bytes());
                }
            }
        }
        let payload_len = active.frame.len() - FRAME_HEADER;
        let payload_crc = crc32fast::hash(&active.frame[FRAME_HEADER..]);
        active.frame[..4].copy_from_slice(FRAME_MAGIC);
        active.frame[4..8].copy_from_slice(&(payload_len as u32).to_le_bytes());
        active.frame[8..12].copy_from_slice(&payload_crc.to_le_bytes());
        let header_crc = crc32fast::hash(&active.frame[..12]);
        active.frame[12..16].copy_from_slice(&header_crc.to_le_bytes());

        if active.len > SEGMENT_HEADER && active.len + active.frame.len() as u64 > self.segment_bytes {
            // Roll: the full segment's frames are durable before a newer segment exists; the newer
            // one's header records their length; then the full one loses its zeros ahead (sealed).
            // Until then it keeps them, and stays whole: it is no longer the newest.
            let path = self.segment_file(active.number);
            active.file.sync_data().map_err(io("fsync", &path))?;
            let next = create_segment(&self.dir, active.number + 1, active.len)?;
            let (full, full_len) = (active.file.clone(), active.len);
            let frame = std::mem::take(&mut active.frame);
            let offsets = std::mem::take(&mut active.body_offsets);
            *active = Active {
                frame,
                body_offsets: offsets,
                ..next
            };
            self.index.write().segments.insert(active.number, active.file.clone());
            if let Err(e) = full.set_len(full_len).and_then(|()| full.sync_all()) {
                // Harmless: zeros after a sealed segment's frames read as its end.
                tracing::warn!(path = %path.display(), error = %e, "could not seal segment");
            }
        }

        let path = self.segment_file(active.number);
        let end = active.len + active.frame.len() as u64;
        if end + ZERO_TAIL > active.allocated {
            let end = end + ZERO_TAIL;
            let target = end.max(active.allocated.saturating_add(PREALLOCATE).min(self.segment_bytes.max(end)));
            if let Err(e) = crate::fsutil::write_zeros(&active.file, active.allocated, target) {
                let _ = active.file.set_len(active.allocated);
                return Err(Error::io("preallocate", &path, e));
            }
            active.allocated = target;
        }
        // The end marker after the frame, in the same write (it overwrites the zeros ahead).
        active.frame.extend_from_slice(&end_marker(active.number));
        let written = active.file.write_all_at(&active.frame, active.len);
        active.frame.truncate(active.frame.len() - ZERO_TAIL as usize);
        if let Err(e) = written {
            // Undo a partial append so the log stays whole; if that fails too, stop accepting writes.
            // Zero what was written (the space stays allocated) and put the marker back; a later
            // open must not see a frame.
            let undone = crate::fsutil::write_zeros(&active.file, active.len, end + ZERO_TAIL)
                .and_then(|()| active.file.write_all_at(&end_marker(active.number), active.len));
            return Err(match undone {
                Ok(()) => Error::io("append", &path, e),
                Err(_) => Error::Failed(Arc::new(Error::io("append", &path, e))),
            });
        }
        let base = active.len;
        active.len += active.frame.len() as u64;

        let mut index = self.index.write();
        let mut bodies = active.body_offsets.iter();
        for op in ops {
            match op {
                Op::Write(w) => {
                    for (i, event) in w.events.iter().enumerate() {
                        let &(offset, len) = bodies.next().expect("one body per event");
                        let loc = Location {
                            segment: active.number,
                            offset: base + offset,
                            len,
                        };
                        let seq = w.first_sequence_nr + i as u64;
                        index
                            .add_event(w.persistence_id, seq, w.first_global_offset + i as u64, event.tags.iter(), loc)
                            .map_err(|r| Error::corrupt(&path, base, r))?;
                    }
                }
                Op::SetState {
                    persistence_id,
                    highest,
                    deleted_to,
                } => {
                    index.set_state(persistence_id, *highest, *deleted_to);
                    self.marks_changed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let guard = self.active.lock();
        let Some(active) = guard.as_ref() else { return Ok(()) };
        active.file.sync_data().map_err(io("fsync", &self.segment_file(active.number)))?;
        // A deletion's marks also go to the control file before it is acknowledged: a damaged
        // last frame (taken for a torn write) must not bring deleted events back.
        if self.marks_changed.swap(false, std::sync::atomic::Ordering::Relaxed) {
            self.write_control()?;
        }
        Ok(())
    }

    fn maintain(&self) -> Result<()> {
        let active = match self.active.lock().as_ref() {
            Some(a) => a.number,
            None => return Ok(()),
        };
        let empty: Vec<u64> = {
            let index = self.index.read();
            index
                .segments
                .keys()
                .copied()
                .filter(|n| *n < active && index.live.get(n).copied().unwrap_or(0) == 0)
                .collect()
        };
        if empty.is_empty() {
            return Ok(());
        }
        // The control file must hold every stream's state before the log records carrying it disappear.
        self.write_control()?;
        for number in empty {
            let path = self.segment_file(number);
            fs::remove_file(&path).map_err(io("delete segment", &path))?;
            let mut index = self.index.write();
            index.segments.remove(&number);
            index.live.remove(&number);
            self.maps.write().remove(&number);
            Metrics::add(&self.metrics.segments_reclaimed, 1);
        }
        fsutil::sync_dir(&self.dir)
    }

    fn copy_to(&self, dest: &Path) -> Result<()> {
        self.catch_up()?;
        fsutil::create_dir_durably(dest)?;
        // A consistent cut: sealed segments are immutable, and the active one is copied up to
        // its length at this moment (a read-only handle's: as far as it has read), which ends on
        // a frame boundary.
        let (segments, control, newest) = {
            let active = self.active.lock();
            let follow = self.follow.lock();
            let index = self.index.read();
            let active_len = match active.as_ref() {
                Some(a) => Some((a.number, a.len)),
                None if self.read_only && follow.segment != 0 => Some((follow.segment, follow.end)),
                None => None,
            };
            let mut segments = Vec::new();
            for (&number, file) in &index.segments {
                let len = match active_len {
                    Some((n, len)) if n == number => len,
                    _ => file.metadata().map_err(io("stat segment", &self.segment_file(number)))?.len(),
                };
                segments.push((number, file.clone(), len));
            }
            // The marks as this handle's index has them, consistent with the segments it copies
            // (a read-only handle must not pick up a control file the writer rewrote since).
            let control = encode_control(&index);
            (segments, control, active_len.map(|(n, _)| n))
        };
        fsutil::write_atomically(&dest.join("control"), &control)?;
        let mut buf = vec![0u8; 1 << 20];
        for (number, file, len) in segments {
            let target = segment_path(dest, number);
            let out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .map_err(io("create segment copy", &target))?;
            let newest = newest == Some(number);
            let mut pos = 0;
            while pos < len {
                let n = ((len - pos) as usize).min(buf.len());
                file.read_exact_at(&mut buf[..n], pos)
                    .map_err(io("read segment", &self.segment_file(number)))?;
                out.write_all_at(&buf[..n], pos).map_err(io("write segment copy", &target))?;
                pos += n as u64;
            }
            if newest {
                // The end marker the newest segment holds after its last frame (format 5).
                out.write_all_at(&end_marker(number), len)
                    .map_err(io("write segment copy", &target))?;
            }
            out.sync_all().map_err(io("fsync", &target))?;
        }
        fsutil::sync_dir(dest)
    }

    fn close(&self) -> Result<()> {
        let synced = match self.active.lock().take() {
            Some(active) => active.file.sync_data().map_err(io("fsync", &self.segment_file(active.number))),
            None => Ok(()),
        };
        // Every descriptor and mapping goes now, not when the handle is dropped (an unmount must
        // not find the journal's files busy after close). Later reads fail with `Closed`.
        self.maps.write().clear();
        self.index.write().segments.clear();
        synced
    }
}
