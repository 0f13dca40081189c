//! The data model: events as written, as stored, and as read back.

use crate::error::{InvalidArgument, Result};

/// Longest persistence id accepted, in bytes.
pub const MAX_PERSISTENCE_ID_LEN: usize = 1024;
/// Longest manifest, writer id or tag accepted, in bytes.
pub const MAX_FIELD_LEN: usize = u16::MAX as usize;
/// Most tags one event may carry.
pub const MAX_TAGS: usize = u16::MAX as usize;

/// An event to be written. The journal assigns its sequence number (for
/// [`crate::Journal::append`]) and its global offset; the timestamp defaults
/// to the writer's clock when `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewEvent {
    /// Opaque payload bytes.
    pub payload: Vec<u8>,
    /// Event type name; may be empty.
    pub manifest: String,
    /// Identifies the writer instance; may be empty.
    pub writer_id: String,
    /// Tags for [`crate::Journal::events_by_tag`].
    pub tags: Vec<String>,
    /// Unix milliseconds; `None` means "now" at commit time.
    pub timestamp: Option<u64>,
    /// Small adapter-specific bytes (a serializer id, say); may be empty.
    pub metadata: Vec<u8>,
}

impl NewEvent {
    /// An event carrying only a payload.
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        NewEvent {
            payload: payload.into(),
            ..Default::default()
        }
    }
    /// Sets the manifest.
    pub fn manifest(mut self, manifest: impl Into<String>) -> Self {
        self.manifest = manifest.into();
        self
    }
    /// Sets the writer id.
    pub fn writer_id(mut self, writer_id: impl Into<String>) -> Self {
        self.writer_id = writer_id.into();
        self
    }
    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }
    /// Sets an explicit timestamp (Unix milliseconds).
    pub fn timestamp(mut self, millis: u64) -> Self {
        self.timestamp = Some(millis);
        self
    }
    /// Sets the metadata bytes.
    pub fn metadata(mut self, metadata: impl Into<Vec<u8>>) -> Self {
        self.metadata = metadata.into();
        self
    }

    /// Encoded size, used for batch limits and the event-size limit.
    pub(crate) fn encoded_len(&self) -> usize {
        crate::codec::encoded_len(self)
    }

    pub(crate) fn validate(&self, max_event_bytes: usize) -> Result<()> {
        validate_field("manifest", &self.manifest)?;
        validate_field("writer id", &self.writer_id)?;
        if self.tags.len() > MAX_TAGS {
            return Err(InvalidArgument::FieldTooLong {
                field: "tags",
                len: self.tags.len(),
                max: MAX_TAGS,
            }
            .into());
        }
        for tag in &self.tags {
            if tag.is_empty() {
                return Err(InvalidArgument::EmptyTag.into());
            }
            validate_field("tag", tag)?;
        }
        if self.metadata.len() > MAX_FIELD_LEN {
            return Err(InvalidArgument::FieldTooLong {
                field: "metadata",
                len: self.metadata.len(),
                max: MAX_FIELD_LEN,
            }
            .into());
        }
        let size = self.encoded_len();
        if size > max_event_bytes {
            return Err(InvalidArgument::EventTooLarge {
                size,
                max: max_event_bytes,
            }
            .into());
        }
        Ok(())
    }
}

fn validate_field(field: &'static str, value: &str) -> Result<()> {
    if value.len() > MAX_FIELD_LEN {
        return Err(InvalidArgument::FieldTooLong {
            field,
            len: value.len(),
            max: MAX_FIELD_LEN,
        }
        .into());
    }
    if value.as_bytes().contains(&0) {
        return Err(InvalidArgument::ContainsNul { field }.into());
    }
    Ok(())
}

/// Checks a persistence id: non-empty, at most [`MAX_PERSISTENCE_ID_LEN`] bytes, no NUL.
pub fn validate_persistence_id(persistence_id: &str) -> Result<()> {
    if persistence_id.is_empty() {
        return Err(InvalidArgument::EmptyPersistenceId.into());
    }
    if persistence_id.len() > MAX_PERSISTENCE_ID_LEN {
        return Err(InvalidArgument::PersistenceIdTooLong {
            len: persistence_id.len(),
            max: MAX_PERSISTENCE_ID_LEN,
        }
        .into());
    }
    if persistence_id.as_bytes().contains(&0) {
        return Err(InvalidArgument::ContainsNul { field: "persistence id" }.into());
    }
    Ok(())
}

/// One atomic write: events of one persistence id stored all-or-nothing with
/// consecutive sequence numbers starting at `first_sequence_nr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomicWrite {
    /// The stream written to.
    pub persistence_id: String,
    /// Must equal the stream's highest sequence number + 1, or the write fails
    /// with [`crate::Error::SequenceConflict`].
    pub first_sequence_nr: u64,
    /// The events, in order; at least one.
    pub events: Vec<NewEvent>,
}

impl AtomicWrite {
    /// Builds an atomic write.
    pub fn new(persistence_id: impl Into<String>, first_sequence_nr: u64, events: Vec<NewEvent>) -> Self {
        AtomicWrite {
            persistence_id: persistence_id.into(),
            first_sequence_nr,
            events,
        }
    }
}

/// What a successful write returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReceipt {
    /// Sequence number of the first event written.
    pub first_sequence_nr: u64,
    /// Sequence number of the last event written.
    pub last_sequence_nr: u64,
    /// Global offset of the first event; the others follow consecutively.
    pub first_global_offset: u64,
}

/// An event as stored, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The stream.
    pub persistence_id: String,
    /// Position in the stream, from 1.
    pub sequence_nr: u64,
    /// Position in the whole journal, strictly increasing in commit order.
    pub global_offset: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// Event type name.
    pub manifest: String,
    /// Writer instance id.
    pub writer_id: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Adapter-specific metadata bytes.
    pub metadata: Vec<u8>,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// A borrowed view of a stored event, handed to scan callbacks without
/// allocating. Convert with [`EventRef::to_event`] to keep it.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// The stream.
    pub persistence_id: &'a str,
    /// Position in the stream, from 1.
    pub sequence_nr: u64,
    /// Position in the whole journal.
    pub global_offset: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// Event type name.
    pub manifest: &'a str,
    /// Writer instance id.
    pub writer_id: &'a str,
    /// Tags, decoded lazily.
    pub tags: Tags<'a>,
    /// Adapter-specific metadata bytes.
    pub metadata: &'a [u8],
    /// Payload bytes.
    pub payload: &'a [u8],
    /// The stored body after its checksum (see [`EventRef::checked_body`]).
    pub(crate) body: &'a [u8],
}

impl<'a> EventRef<'a> {
    /// The event's stored body from the sequence number on (`docs/format.md`, "Event body",
    /// bytes 4..end), whose field lengths the read that produced this event has checked, and its
    /// checksum too (or, for a body held in memory since, the checksum of the record it came in):
    /// every field above, in their stored layout. A binding can hand it on as it is
    /// (the wire's "Stream page", `docs/wire.md`) instead of taking the fields apart and
    /// encoding them again.
    #[inline]
    pub fn checked_body(&self) -> &'a [u8] {
        self.body
    }

    /// Copies the event into an owned [`Event`].
    pub fn to_event(&self) -> Event {
        Event {
            persistence_id: self.persistence_id.to_owned(),
            sequence_nr: self.sequence_nr,
            global_offset: self.global_offset,
            timestamp: self.timestamp,
            manifest: self.manifest.to_owned(),
            writer_id: self.writer_id.to_owned(),
            tags: self.tags.iter().map(str::to_owned).collect(),
            metadata: self.metadata.to_vec(),
            payload: self.payload.to_vec(),
        }
    }
}

/// A caller's buffer that a stream read fills with the events' checked stored bodies
/// ([`Journal::copy_bodies`](crate::Journal::copy_bodies)): from `start` on, per event a `u32`
/// length (little-endian) and that many bytes of [`EventRef::checked_body`]. A concrete type (not
/// a callback) so that the copy is inlined into the storage's scan loop.
#[derive(Debug)]
pub struct BodyPage<'a> {
    out: &'a mut [u8],
    at: usize,
    count: u32,
    max_bytes: usize,
    fits: bool,
}

impl<'a> BodyPage<'a> {
    /// Bodies written into `out` from `start` on; the page ends after the body that reached
    /// `max_bytes` (counted from the start of `out`).
    pub fn new(out: &'a mut [u8], start: usize, max_bytes: usize) -> Self {
        BodyPage {
            fits: start <= out.len(),
            out,
            at: start,
            count: 0,
            max_bytes,
        }
    }

    /// Copies one body in; false once the page is full or the body did not fit.
    #[inline]
    pub(crate) fn push(&mut self, body: &[u8]) -> bool {
        let end = self.at + 4 + body.len();
        let Some(record) = self.out.get_mut(self.at..end) else {
            self.fits = false;
            return false;
        };
        let (length, rest) = record.split_at_mut(4);
        length.copy_from_slice(&(body.len() as u32).to_le_bytes());
        rest.copy_from_slice(body);
        self.at = end;
        self.count = self.count.wrapping_add(1);
        end < self.max_bytes && self.count < u32::MAX
    }

    /// How many bodies it holds.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Where the last body ends, or `None` when one did not fit the buffer.
    pub fn end(&self) -> Option<usize> {
        self.fits.then_some(self.at)
    }

    /// The buffer, to finish the page (its header).
    pub fn buffer(&mut self) -> &mut [u8] {
        self.out
    }
}

/// The tags of an [`EventRef`], still in their encoded form.
#[derive(Debug, Clone, Copy)]
pub struct Tags<'a> {
    pub(crate) count: u16,
    pub(crate) raw: &'a [u8],
}

impl<'a> Tags<'a> {
    /// Number of tags.
    pub fn len(&self) -> usize {
        self.count as usize
    }
    /// True when the event has no tags.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Iterates over the tags. The encoding was validated when the event was decoded.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mut rest = self.raw;
        (0..self.count).map(move |_| {
            let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
            let tag = &rest[2..2 + len];
            rest = &rest[2 + len..];
            // Validated as UTF-8 in `codec::decode_event`.
            std::str::from_utf8(tag).unwrap_or_default()
        })
    }
    /// True when one of the tags equals `tag`.
    pub fn contains(&self, tag: &str) -> bool {
        self.iter().any(|t| t == tag)
    }
}

/// A saved snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream the snapshot belongs to.
    pub persistence_id: String,
    /// The sequence number of the last event folded into the state.
    pub sequence_nr: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// State type name; may be empty.
    pub manifest: String,
    /// Adapter-specific metadata bytes (a serializer id, say).
    pub metadata: Vec<u8>,
    /// The state bytes.
    pub state: Vec<u8>,
}

/// Which snapshots a load or delete selects: those with
/// `min_sequence_nr <= sequence_nr <= max_sequence_nr` and
/// `min_timestamp <= timestamp <= max_timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotCriteria {
    /// Highest sequence number selected (inclusive).
    pub max_sequence_nr: u64,
    /// Latest timestamp selected (inclusive).
    pub max_timestamp: u64,
    /// Lowest sequence number selected (inclusive).
    pub min_sequence_nr: u64,
    /// Earliest timestamp selected (inclusive).
    pub min_timestamp: u64,
}

impl Default for SnapshotCriteria {
    fn default() -> Self {
        Self::latest()
    }
}

impl SnapshotCriteria {
    /// Selects every snapshot.
    pub const fn latest() -> Self {
        SnapshotCriteria {
            max_sequence_nr: u64::MAX,
            max_timestamp: u64::MAX,
            min_sequence_nr: 0,
            min_timestamp: 0,
        }
    }
    /// Selects nothing.
    pub const fn none() -> Self {
        SnapshotCriteria {
            max_sequence_nr: 0,
            max_timestamp: 0,
            min_sequence_nr: 1,
            min_timestamp: 1,
        }
    }
    /// Sets the highest selected sequence number.
    pub fn max_sequence_nr(mut self, v: u64) -> Self {
        self.max_sequence_nr = v;
        self
    }
    /// Sets the latest selected timestamp.
    pub fn max_timestamp(mut self, v: u64) -> Self {
        self.max_timestamp = v;
        self
    }
    /// Sets the lowest selected sequence number.
    pub fn min_sequence_nr(mut self, v: u64) -> Self {
        self.min_sequence_nr = v;
        self
    }
    /// Sets the earliest selected timestamp.
    pub fn min_timestamp(mut self, v: u64) -> Self {
        self.min_timestamp = v;
        self
    }
    /// True when a snapshot at `sequence_nr` taken at `timestamp` is selected.
    pub fn matches(&self, sequence_nr: u64, timestamp: u64) -> bool {
        (self.min_sequence_nr..=self.max_sequence_nr).contains(&sequence_nr)
            && (self.min_timestamp..=self.max_timestamp).contains(&timestamp)
    }
}

/// Milliseconds since the Unix epoch, from the system clock.
pub(crate) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
