//! The wire format shared by every byte-buffer binding: `core/docs/wire.md`
//! (version [`WIRE_VERSION`]) specifies each layout byte by byte; the section
//! names below are that document's.
//!
//! All integers are little-endian; `bytes` is `u32 length` + that many bytes and
//! `str` is `bytes` holding UTF-8. Decoding never panics and never allocates
//! more than the buffer can hold: a malformed buffer is a [`WireError`].

use std::fmt;

use tidelog::{AtomicWrite, BodyPage, Error, Event, EventRef, Journal, NewEvent, Snapshot, SnapshotInfo, WriteReceipt};

use crate::queue::{Completion, Outcome};
use crate::status;

/// The version of `core/docs/wire.md` this crate implements.
pub const WIRE_VERSION: u32 = 3;

/// In an event page, the length of a persistence id, manifest or writer id equal to the
/// previous event's value of the same field ("Event page"); never in a page's first event.
pub const SAME_AS_PREVIOUS: u32 = u32::MAX;

/// The `timestamp` of an input event that lets the writer stamp it at commit
/// (`-1` as a signed 64-bit value).
pub const TIMESTAMP_NOW: u64 = u64::MAX;

/// The fewest bytes an encoded input event takes (timestamp, four lengths, tag count).
const MIN_EVENT_BYTES: usize = 8 + 4 * 5;
/// The fewest bytes an encoded atomic write takes (id length, first sequence nr, event count).
const MIN_WRITE_BYTES: usize = 4 + 8 + 4;

/// A buffer that does not follow the wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The buffer ends inside a value.
    Truncated {
        /// Where the value starts.
        at: usize,
        /// How many bytes it needs there.
        needed: usize,
    },
    /// A string field is not valid UTF-8.
    Utf8 {
        /// Which field.
        field: &'static str,
        /// Where its bytes start.
        at: usize,
    },
    /// A count promises more items than the rest of the buffer can hold.
    Count {
        /// What is counted.
        what: &'static str,
        /// The count read.
        count: u32,
    },
    /// Bytes follow the encoded value.
    Trailing {
        /// How many.
        bytes: usize,
    },
    /// A value that no encoder writes there.
    Malformed {
        /// Where it starts.
        at: usize,
        /// What it is.
        what: &'static str,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { at, needed } => write!(f, "encoded buffer truncated at byte {at} (needs {needed} more)"),
            WireError::Utf8 { field, at } => write!(f, "{field} at byte {at} is not valid UTF-8"),
            WireError::Count { what, count } => write!(f, "{what} count {count} exceeds the buffer"),
            WireError::Trailing { bytes } => write!(f, "{bytes} unexpected bytes after the encoded data"),
            WireError::Malformed { at, what } => write!(f, "{what} at byte {at}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Result of decoding.
pub type WireResult<T> = Result<T, WireError>;

// ---- reading -------------------------------------------------------------------

/// A cursor over an encoded buffer.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// A reader at byte `pos` of `buf` (a position past the end reads nothing).
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader {
            buf,
            pos: pos.min(buf.len()),
        }
    }

    /// The current position.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> WireResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(WireError::Truncated { at: self.pos, needed: n });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> WireResult<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// A `u32`.
    pub fn u32(&mut self) -> WireResult<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// A `u64`.
    pub fn u64(&mut self) -> WireResult<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A string field of an event page: its bytes, or the previous event's for [`SAME_AS_PREVIOUS`].
    fn repeatable(&mut self, previous: Option<&'a [u8]>) -> WireResult<&'a [u8]> {
        let at = self.pos;
        match self.u32()? {
            SAME_AS_PREVIOUS => previous.ok_or(WireError::Malformed {
                at,
                what: "a string repeated from a previous event in the first event of a page",
            }),
            n => self.take(n as usize),
        }
    }

    /// A `bytes` value.
    pub fn bytes(&mut self) -> WireResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// A `str` value; `field` names it in the error.
    pub fn str(&mut self, field: &'static str) -> WireResult<&'a str> {
        let at = self.pos + 4;
        std::str::from_utf8(self.bytes()?).map_err(|_| WireError::Utf8 { field, at })
    }

    /// Refuses bytes after the encoded value.
    pub fn finish(&self) -> WireResult<()> {
        match self.remaining() {
            0 => Ok(()),
            bytes => Err(WireError::Trailing { bytes }),
        }
    }

    /// A count of items of at least `min_bytes` each, checked against the rest of the buffer.
    fn count(&mut self, what: &'static str, min_bytes: usize) -> WireResult<usize> {
        let count = self.u32()?;
        if count as usize > self.remaining() / min_bytes {
            return Err(WireError::Count { what, count });
        }
        Ok(count as usize)
    }

    /// An event list ("Event list").
    pub fn events(&mut self) -> WireResult<Vec<NewEvent>> {
        let count = self.count("event", MIN_EVENT_BYTES)?;
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            let timestamp = self.u64()?;
            let manifest = self.str("manifest")?.to_owned();
            let writer_id = self.str("writer id")?.to_owned();
            let metadata = self.bytes()?.to_vec();
            let tag_count = self.count("tag", 4)?;
            let mut tags = Vec::with_capacity(tag_count);
            for _ in 0..tag_count {
                tags.push(self.str("tag")?.to_owned());
            }
            let payload = self.bytes()?.to_vec();
            events.push(NewEvent {
                payload,
                manifest,
                writer_id,
                tags,
                timestamp: (timestamp != TIMESTAMP_NOW).then_some(timestamp),
                metadata,
            });
        }
        Ok(events)
    }

    /// A write list ("Write list").
    pub fn writes(&mut self) -> WireResult<Vec<AtomicWrite>> {
        let count = self.count("write", MIN_WRITE_BYTES)?;
        let mut writes = Vec::with_capacity(count);
        for _ in 0..count {
            let persistence_id = self.str("persistence id")?.to_owned();
            let first_sequence_nr = self.u64()?;
            let events = self.events()?;
            writes.push(AtomicWrite {
                persistence_id,
                first_sequence_nr,
                events,
            });
        }
        Ok(writes)
    }

    /// The next event of a page ("Event page"), borrowing from the buffer.
    ///
    /// `previous` is the event decoded before it in the same page (`None` for the first), whose
    /// strings a [`SAME_AS_PREVIOUS`] length stands for.
    pub fn event(&mut self, previous: Option<&EventView<'a>>) -> WireResult<EventView<'a>> {
        let sequence_nr = self.u64()?;
        let global_offset = self.u64()?;
        let timestamp = self.u64()?;
        let persistence_id = self.repeatable(previous.map(|p| p.persistence_id))?;
        let manifest = self.repeatable(previous.map(|p| p.manifest))?;
        let writer_id = self.repeatable(previous.map(|p| p.writer_id))?;
        let metadata = self.bytes()?;
        let tag_count = self.count("tag", 4)?;
        let tags_start = self.pos;
        for _ in 0..tag_count {
            self.bytes()?;
        }
        let tags = &self.buf[tags_start..self.pos];
        Ok(EventView {
            sequence_nr,
            global_offset,
            timestamp,
            persistence_id,
            manifest,
            writer_id,
            metadata,
            tag_count: tag_count as u32,
            tags,
            payload: self.bytes()?,
        })
    }
}

/// An event of a page, pointing into the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventView<'a> {
    /// Position in the stream.
    pub sequence_nr: u64,
    /// Position in the journal.
    pub global_offset: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// UTF-8 (as the core stored it).
    pub persistence_id: &'a [u8],
    /// UTF-8.
    pub manifest: &'a [u8],
    /// UTF-8.
    pub writer_id: &'a [u8],
    /// Metadata bytes.
    pub metadata: &'a [u8],
    /// Number of tags.
    pub tag_count: u32,
    /// The tags as encoded: `tag_count` x `str`.
    pub tags: &'a [u8],
    /// Payload bytes.
    pub payload: &'a [u8],
}

/// Decodes a whole buffer with `f`, refusing trailing bytes.
fn whole<'a, T>(buf: &'a [u8], f: impl FnOnce(&mut Reader<'a>) -> WireResult<T>) -> WireResult<T> {
    let mut r = Reader::new(buf);
    let value = f(&mut r)?;
    r.finish()?;
    Ok(value)
}

/// An event list filling the whole buffer.
pub fn decode_events(buf: &[u8]) -> WireResult<Vec<NewEvent>> {
    whole(buf, Reader::events)
}

/// An append request ("Append request": `str` persistence id, event list) filling the whole buffer.
pub fn decode_append(buf: &[u8]) -> WireResult<(String, Vec<NewEvent>)> {
    whole(buf, |r| Ok((r.str("persistence id")?.to_owned(), r.events()?)))
}

/// A write list filling the whole buffer.
pub fn decode_writes(buf: &[u8]) -> WireResult<Vec<AtomicWrite>> {
    whole(buf, Reader::writes)
}

/// A snapshot to save ("Snapshot", preceded by its `str` persistence id) filling the whole buffer.
pub fn decode_snapshot(buf: &[u8]) -> WireResult<Snapshot> {
    whole(buf, |r| {
        Ok(Snapshot {
            persistence_id: r.str("persistence id")?.to_owned(),
            sequence_nr: r.u64()?,
            timestamp: r.u64()?,
            manifest: r.str("manifest")?.to_owned(),
            metadata: r.bytes()?.to_vec(),
            state: r.bytes()?.to_vec(),
        })
    })
}

// ---- writing -------------------------------------------------------------------

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    if !b.is_empty() {
        out.extend_from_slice(b);
    }
}

/// Builds an event page ("Event page") straight from the core's borrowed events.
pub struct PageEncoder {
    out: Vec<u8>,
    count: u32,
    max_bytes: usize,
    /// Where the last written persistence id, manifest and writer id are in `out`.
    previous: [(usize, usize); 3],
}

impl PageEncoder {
    /// An empty page that reports itself full once it holds `max_bytes` or more.
    pub fn new(max_bytes: usize) -> Self {
        Self::reusing(Vec::with_capacity(max_bytes.clamp(64, 64 << 10)), max_bytes)
    }

    /// Like [`PageEncoder::new`], writing into `out` (cleared first): a caller that reads
    /// page after page on one thread keeps one buffer instead of allocating one per page.
    pub fn reusing(mut out: Vec<u8>, max_bytes: usize) -> Self {
        out.clear();
        put_u32(&mut out, 0);
        PageEncoder {
            out,
            count: 0,
            max_bytes,
            previous: [(0, 0); 3],
        }
    }

    /// Adds an event; returns false once the page is full (the event is included).
    #[inline]
    pub fn push(&mut self, e: &EventRef<'_>) -> bool {
        let tags = (e.tags.len(), e.tags.iter());
        self.put(
            e.sequence_nr,
            e.global_offset,
            e.timestamp,
            [e.persistence_id, e.manifest, e.writer_id],
            e.metadata,
            tags,
            e.payload,
        )
    }

    /// Adds an owned event (a subscription's batch); returns false once the page is full.
    pub fn push_owned(&mut self, e: &Event) -> bool {
        let tags = (e.tags.len(), e.tags.iter().map(String::as_str));
        let strings = [e.persistence_id.as_str(), e.manifest.as_str(), e.writer_id.as_str()];
        self.put(e.sequence_nr, e.global_offset, e.timestamp, strings, &e.metadata, tags, &e.payload)
    }

    /// One event in the page's field order; `strings` are persistence id, manifest, writer id.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn put<'t>(
        &mut self,
        sequence_nr: u64,
        global_offset: u64,
        timestamp: u64,
        strings: [&str; 3],
        metadata: &[u8],
        (tag_count, tags): (usize, impl Iterator<Item = &'t str>),
        payload: &[u8],
    ) -> bool {
        let out = &mut self.out;
        // One reservation for the fixed part, the strings, metadata and payload: the writes
        // below then never grow the buffer (tags, rare, may).
        let [pid, manifest, writer] = strings.map(str::as_bytes);
        out.reserve(24 + 12 + pid.len() + manifest.len() + writer.len() + 4 + metadata.len() + 4 + 4 + payload.len());
        put_u64(out, sequence_nr);
        put_u64(out, global_offset);
        put_u64(out, timestamp);
        // A stream's events share these strings: decoders reuse the previous value instead of
        // comparing or decoding the bytes again (measured: `bench/ffi-before-after.md`).
        for (field, s) in [pid, manifest, writer].into_iter().enumerate() {
            if s.is_empty() {
                // Always length 0; and the next event's value compares with this one, not an older one.
                put_u32(out, 0);
                self.previous[field] = (out.len(), 0);
                continue;
            }
            let (at, n) = self.previous[field];
            if self.count > 0 && n == s.len() && &out[at..at + n] == s {
                put_u32(out, SAME_AS_PREVIOUS);
            } else {
                put_u32(out, s.len() as u32);
                self.previous[field] = (out.len(), s.len());
                out.extend_from_slice(s);
            }
        }
        put_bytes(out, metadata);
        put_u32(out, tag_count as u32);
        tags.for_each(|tag| put_bytes(out, tag.as_bytes()));
        put_bytes(out, payload);
        self.count += 1;
        self.out.len() < self.max_bytes && self.count < u32::MAX
    }

    /// The encoded page.
    pub fn finish(mut self) -> Vec<u8> {
        self.out[..4].copy_from_slice(&self.count.to_le_bytes());
        self.out
    }
}

/// An event page ("Event page") of a subscription's batch.
pub fn encode_event_list(events: &[Event]) -> Vec<u8> {
    let mut page = PageEncoder::new(usize::MAX);
    events.iter().for_each(|e| {
        page.push_owned(e);
    });
    page.finish()
}

/// Which events a page read covers.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// A stream's events with `from <= sequence_nr <= to`.
    Stream {
        /// The stream.
        persistence_id: &'a str,
        /// First sequence number.
        from: u64,
        /// Last sequence number.
        to: u64,
    },
    /// Events carrying `tag` with `global_offset >= from_offset`.
    Tag {
        /// The tag.
        tag: &'a str,
        /// First global offset.
        from_offset: u64,
    },
    /// Every live event with `global_offset >= from_offset`.
    All {
        /// First global offset.
        from_offset: u64,
    },
}

impl<'a> Scope<'a> {
    /// The scope of a page request ("Page request"): code 0 is the stream `key` from
    /// sequence nr `from` to `to`, 1 the tag `key` from global offset `from`, 2 every
    /// event from global offset `from`; another code is an invalid argument.
    pub fn from_code(code: u32, key: &'a str, from: u64, to: u64) -> tidelog::Result<Self> {
        Ok(match code {
            0 => Scope::Stream {
                persistence_id: key,
                from,
                to,
            },
            1 => Scope::Tag {
                tag: key,
                from_offset: from,
            },
            2 => Scope::All { from_offset: from },
            _ => {
                let (option, reason) = ("scope", "expected 0 (stream), 1 (tag) or 2 (all)");
                return Err(tidelog::InvalidArgument::Option { option, reason }.into());
            }
        })
    }
}

/// Reads at most `max` events of `scope` into one page, stopping early once it
/// holds `max_bytes` (the page then ends after the event that crossed it).
pub fn read_page(journal: &Journal, scope: Scope<'_>, max: usize, max_bytes: usize) -> tidelog::Result<Vec<u8>> {
    // A small read (one event, a few) gets a small buffer, not the 64 KiB a long page starts with.
    let capacity = max.saturating_mul(256).clamp(64, 64 << 10).min(max_bytes.max(64));
    read_page_into(journal, scope, max, max_bytes, Vec::with_capacity(capacity))
}

/// [`read_page`] into `out` (cleared first), returned holding the page: callers that read
/// on one thread keep reusing one buffer (the synchronous reads of the Node and JVM glue).
pub fn read_page_into(journal: &Journal, scope: Scope<'_>, max: usize, max_bytes: usize, out: Vec<u8>) -> tidelog::Result<Vec<u8>> {
    let mut page = PageEncoder::reusing(out, max_bytes);
    let visit = |e: EventRef<'_>| page.push(&e);
    match scope {
        Scope::Stream { persistence_id, from, to } => journal.scan(persistence_id, from, to, max, visit),
        Scope::Tag { tag, from_offset } => journal.scan_tag(tag, from_offset, max, visit),
        Scope::All { from_offset } => journal.scan_all(from_offset, max, visit),
    }?;
    Ok(page.finish())
}

/// A stream's events as a "Stream page" written into `out` from its start: `u32 count`, then
/// per event `u32 n` and the `n` bytes of its checked stored body ([`Journal::copy_bodies`]).
/// Each event costs one copy, straight into the caller's buffer (the JVM's array): the core
/// checked the body's CRC and field lengths, and nothing is taken apart or encoded again
/// (issue 25). A page ends after `max` events or after the event that reached `max_bytes`.
/// Returns the page's length, or `None` when it does not fit `out` (whose bytes are then
/// unspecified).
pub fn read_stream_page_to(
    journal: &Journal,
    persistence_id: &str,
    from: u64,
    to: u64,
    max: usize,
    max_bytes: usize,
    out: &mut [u8],
) -> tidelog::Result<Option<usize>> {
    if out.len() < 4 {
        return Ok(None);
    }
    let mut page = BodyPage::new(out, 4, max_bytes);
    journal.copy_bodies(persistence_id, from, to, max, &mut page)?;
    let (count, end) = (page.count(), page.end());
    if end.is_some() {
        page.buffer()[..4].copy_from_slice(&count.to_le_bytes());
    }
    Ok(end)
}

/// One result record ("Result record"): `i32 status`, `u32 message length`,
/// `u64 a, b, c`, message. A receipt is status 0 with a, b, c = first sequence
/// nr, last sequence nr, first global offset; a sequence conflict carries
/// a = expected, b = actual.
pub fn put_result(out: &mut Vec<u8>, result: Result<&WriteReceipt, &Error>) {
    let (code, message, abc) = match result {
        Ok(r) => (
            status::OK,
            String::new(),
            [r.first_sequence_nr, r.last_sequence_nr, r.first_global_offset],
        ),
        Err(e) => {
            let (expected, actual) = match e {
                Error::SequenceConflict { expected, actual, .. } => (*expected, *actual),
                _ => (0, 0),
            };
            (status::of_error(e), e.to_string(), [expected, actual, 0])
        }
    };
    out.extend_from_slice(&code.to_le_bytes());
    put_u32(out, message.len() as u32);
    abc.into_iter().for_each(|v| put_u64(out, v));
    out.extend_from_slice(message.as_bytes());
}

/// A result list ("Result list"): `u32 count`, then one result record each.
pub fn put_results(out: &mut Vec<u8>, results: &[tidelog::Result<WriteReceipt>]) {
    put_u32(out, results.len() as u32);
    results.iter().for_each(|r| put_result(out, r.as_ref()));
}

/// [`put_results`] into a buffer of its own.
pub fn encode_results(results: &[tidelog::Result<WriteReceipt>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + results.len() * 32);
    put_results(&mut out, results);
    out
}

/// The all-zero receipt of a completion that carries no receipt (a deletion, a flush).
const UNIT_RECEIPT: WriteReceipt = WriteReceipt {
    first_sequence_nr: 0,
    last_sequence_nr: 0,
    first_global_offset: 0,
};

/// Completion kinds ("Completion batch").
pub const COMPLETION_RESULT: u32 = 0;
/// A completion of a write list: a result list follows.
pub const COMPLETION_WRITES: u32 = 1;

/// A completion batch ("Completion batch"): `u32 count`, then per completion
/// `u64 token`, `u32 kind`, and a result record (kind 0) or a result list (kind 1).
pub fn encode_completions(done: &[Completion]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + done.len() * 44);
    put_u32(&mut out, done.len() as u32);
    for d in done {
        put_u64(&mut out, d.token);
        match &d.outcome {
            Outcome::Writes(results) => {
                put_u32(&mut out, COMPLETION_WRITES);
                put_results(&mut out, results);
            }
            single => {
                put_u32(&mut out, COMPLETION_RESULT);
                match single {
                    Outcome::Receipt(r) => put_result(&mut out, Ok(r)),
                    Outcome::Failed(e) => put_result(&mut out, Err(e)),
                    _ => put_result(&mut out, Ok(&UNIT_RECEIPT)),
                }
            }
        }
    }
    out
}

/// A loaded snapshot ("Snapshot", without its persistence id).
pub fn encode_snapshot(s: &Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(28 + s.manifest.len() + s.metadata.len() + s.state.len());
    put_u64(&mut out, s.sequence_nr);
    put_u64(&mut out, s.timestamp);
    put_bytes(&mut out, s.manifest.as_bytes());
    put_bytes(&mut out, &s.metadata);
    put_bytes(&mut out, &s.state);
    out
}

/// A string list ("String list"): `u32 count`, then one `str` each.
pub fn encode_strings(items: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + items.iter().map(|s| s.len() + 4).sum::<usize>());
    put_u32(&mut out, items.len() as u32);
    items.iter().for_each(|s| put_bytes(&mut out, s.as_bytes()));
    out
}

/// A snapshot listing ("Snapshot list"): `u32 count`, then `u64 sequence nr, u64 timestamp` each.
pub fn encode_snapshot_infos(infos: &[SnapshotInfo]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + infos.len() * 16);
    put_u32(&mut out, infos.len() as u32);
    for i in infos {
        put_u64(&mut out, i.sequence_nr);
        put_u64(&mut out, i.timestamp);
    }
    out
}

/// Encoders of the host-to-native formats, as every host writes them: for the
/// tests here and in the adapters.
pub mod encode {
    use super::*;

    /// An event list.
    pub fn events(out: &mut Vec<u8>, events: &[NewEvent]) {
        put_u32(out, events.len() as u32);
        for e in events {
            put_u64(out, e.timestamp.unwrap_or(TIMESTAMP_NOW));
            put_bytes(out, e.manifest.as_bytes());
            put_bytes(out, e.writer_id.as_bytes());
            put_bytes(out, &e.metadata);
            put_u32(out, e.tags.len() as u32);
            e.tags.iter().for_each(|t| put_bytes(out, t.as_bytes()));
            put_bytes(out, &e.payload);
        }
    }

    /// An append request.
    pub fn append(persistence_id: &str, list: &[NewEvent]) -> Vec<u8> {
        let mut out = Vec::new();
        put_bytes(&mut out, persistence_id.as_bytes());
        events(&mut out, list);
        out
    }

    /// A write list.
    pub fn writes(writes: &[AtomicWrite]) -> Vec<u8> {
        let mut out = Vec::new();
        put_u32(&mut out, writes.len() as u32);
        for w in writes {
            put_bytes(&mut out, w.persistence_id.as_bytes());
            put_u64(&mut out, w.first_sequence_nr);
            events(&mut out, &w.events);
        }
        out
    }

    /// A snapshot to save.
    pub fn snapshot(s: &Snapshot) -> Vec<u8> {
        let mut out = Vec::new();
        put_bytes(&mut out, s.persistence_id.as_bytes());
        out.extend_from_slice(&encode_snapshot(s));
        out
    }
}
