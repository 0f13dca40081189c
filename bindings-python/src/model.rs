//! Python value classes and the conversions between them and the core's types.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};

/// Reads an integer argument that must fit a `u64`, turning negative or huge
/// values into a `ValueError` that names the argument.
pub fn u64_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    if !value.is_instance_of::<pyo3::types::PyInt>() || value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!("{name} must be an int, got {}", type_name(value))));
    }
    value
        .extract::<u64>()
        .map_err(|_| PyValueError::new_err(format!("{name} must be between 0 and 2**64-1, got {value}")))
}

/// Like [`u64_arg`] with `None` meaning "no limit".
pub fn opt_u64_arg(value: Option<&Bound<'_, PyAny>>, name: &str, default: u64) -> PyResult<u64> {
    match value {
        None => Ok(default),
        Some(v) if v.is_none() => Ok(default),
        Some(v) => u64_arg(v, name),
    }
}

/// A `max` argument: `None` means unlimited.
pub fn max_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let n = opt_u64_arg(value, "max", u64::MAX)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

fn bytes_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if value.is_instance_of::<pyo3::types::PyMemoryView>() {
        return Ok(value.call_method0("tobytes")?.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes, bytearray or memoryview, got {}",
        type_name(value)
    )))
}

fn strings_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if value.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("{what} must be a list of str, not a single str")));
    }
    let mut out = Vec::new();
    for item in value
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a list of str, got {}", type_name(value))))?
    {
        let item = item?;
        let s = item
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("{what} must contain str, got {}", type_name(&item))))?;
        out.push(s.to_cow()?.into_owned());
    }
    Ok(out)
}

/// An event to append: a payload plus optional fields. Plain `bytes` may be
/// passed instead wherever events are accepted.
#[pyclass(frozen, module = "tidelog")]
pub struct NewEvent {
    inner: tidelog::NewEvent,
}

#[pymethods]
impl NewEvent {
    #[new]
    #[pyo3(signature = (payload, *, manifest = String::new(), writer_id = String::new(), tags = None, timestamp = None, metadata = None))]
    fn new(
        payload: &Bound<'_, PyAny>,
        manifest: String,
        writer_id: String,
        tags: Option<&Bound<'_, PyAny>>,
        timestamp: Option<&Bound<'_, PyAny>>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let payload = bytes_of(payload, "payload")?;
        let tags = match tags {
            Some(t) if !t.is_none() => strings_of(t, "tags")?,
            _ => Vec::new(),
        };
        let timestamp = match timestamp {
            Some(t) if !t.is_none() => Some(u64_arg(t, "timestamp")?),
            _ => None,
        };
        let metadata = match metadata {
            Some(m) if !m.is_none() => bytes_of(m, "metadata")?,
            _ => Vec::new(),
        };
        Ok(NewEvent {
            inner: tidelog::NewEvent {
                payload,
                manifest,
                writer_id,
                tags,
                timestamp,
                metadata,
            },
        })
    }

    /// The payload bytes.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.payload)
    }
    /// The event type name.
    #[getter]
    fn manifest(&self) -> &str {
        &self.inner.manifest
    }
    /// The writer id.
    #[getter]
    fn writer_id(&self) -> &str {
        &self.inner.writer_id
    }
    /// The tags.
    #[getter]
    fn tags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.tags)
    }
    /// Unix milliseconds, or `None` for "when committed".
    #[getter]
    fn timestamp(&self) -> Option<u64> {
        self.inner.timestamp
    }
    /// Adapter-specific metadata bytes.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.metadata)
    }

    fn __repr__(&self) -> String {
        format!(
            "NewEvent(payload=<{} bytes>, manifest={:?}, writer_id={:?}, tags={:?}, timestamp={:?})",
            self.inner.payload.len(),
            self.inner.manifest,
            self.inner.writer_id,
            self.inner.tags,
            self.inner.timestamp
        )
    }
}

fn one_event(item: &Bound<'_, PyAny>) -> PyResult<Option<tidelog::NewEvent>> {
    if let Ok(b) = item.cast::<PyBytes>() {
        return Ok(Some(tidelog::NewEvent::new(b.as_bytes())));
    }
    if let Ok(e) = item.cast::<NewEvent>() {
        return Ok(Some(e.get().inner.clone()));
    }
    if let Ok(b) = item.cast::<PyByteArray>() {
        return Ok(Some(tidelog::NewEvent::new(b.to_vec())));
    }
    if item.is_instance_of::<pyo3::types::PyMemoryView>() {
        return Ok(Some(tidelog::NewEvent::new(bytes_of(item, "payload")?)));
    }
    Ok(None)
}

/// Converts the `events` argument: one event (`bytes`, `NewEvent`) or an iterable of them.
pub fn extract_events(events: &Bound<'_, PyAny>) -> PyResult<Vec<tidelog::NewEvent>> {
    if let Some(e) = one_event(events)? {
        return Ok(vec![e]);
    }
    if events.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "events must be bytes, a tidelog.NewEvent or a list of them, not str (encode the text first)",
        ));
    }
    let iter = events.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "events must be bytes, a tidelog.NewEvent or a list of them, got {}",
            type_name(events)
        ))
    })?;
    let mut out = Vec::with_capacity(events.len().unwrap_or(0));
    for item in iter {
        let item = item?;
        match one_event(&item)? {
            Some(e) => out.push(e),
            None => {
                return Err(PyTypeError::new_err(format!(
                    "each event must be bytes or a tidelog.NewEvent, got {}",
                    type_name(&item)
                )));
            }
        }
    }
    Ok(out)
}

/// One explicit atomic write for `Journal.write`: events of one stream that
/// must start at `first_sequence_nr` (the stream's highest + 1).
#[pyclass(frozen, module = "tidelog")]
pub struct AtomicWrite {
    /// The stream written to.
    #[pyo3(get)]
    persistence_id: String,
    /// The sequence number of the first event.
    #[pyo3(get)]
    first_sequence_nr: u64,
    events: Vec<tidelog::NewEvent>,
}

#[pymethods]
impl AtomicWrite {
    #[new]
    fn new(persistence_id: String, first_sequence_nr: &Bound<'_, PyAny>, events: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(AtomicWrite {
            persistence_id,
            first_sequence_nr: u64_arg(first_sequence_nr, "first_sequence_nr")?,
            events: extract_events(events)?,
        })
    }
    /// Number of events in the write.
    fn __len__(&self) -> usize {
        self.events.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "AtomicWrite({:?}, {}, <{} events>)",
            self.persistence_id,
            self.first_sequence_nr,
            self.events.len()
        )
    }
}

/// Converts the `writes` argument: `AtomicWrite`s or `(persistence_id, first_sequence_nr, events)` tuples.
pub fn extract_writes(writes: &Bound<'_, PyAny>) -> PyResult<Vec<tidelog::AtomicWrite>> {
    let iter = writes.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "writes must be a list of AtomicWrite or (persistence_id, first_sequence_nr, events) tuples, got {}",
            type_name(writes)
        ))
    })?;
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        if let Ok(w) = item.cast::<AtomicWrite>() {
            let w = w.get();
            out.push(tidelog::AtomicWrite::new(
                w.persistence_id.clone(),
                w.first_sequence_nr,
                w.events.clone(),
            ));
        } else if let Ok(t) = item.cast::<PyTuple>() {
            if t.len() != 3 {
                return Err(PyTypeError::new_err(
                    "a write tuple must be (persistence_id, first_sequence_nr, events)",
                ));
            }
            let pid: String = t
                .get_item(0)?
                .extract()
                .map_err(|_| PyTypeError::new_err("persistence_id must be a str"))?;
            let first = u64_arg(&t.get_item(1)?, "first_sequence_nr")?;
            out.push(tidelog::AtomicWrite::new(pid, first, extract_events(&t.get_item(2)?)?));
        } else {
            return Err(PyTypeError::new_err(format!(
                "each write must be an AtomicWrite or a tuple, got {}",
                type_name(&item)
            )));
        }
    }
    Ok(out)
}

/// What a successful write returns.
#[pyclass(frozen, module = "tidelog")]
pub struct WriteReceipt {
    /// Sequence number of the first event written.
    #[pyo3(get)]
    first_sequence_nr: u64,
    /// Sequence number of the last event written.
    #[pyo3(get)]
    last_sequence_nr: u64,
    /// Global offset of the first event; the others follow consecutively.
    #[pyo3(get)]
    first_global_offset: u64,
}

#[pymethods]
impl WriteReceipt {
    fn __repr__(&self) -> String {
        format!(
            "WriteReceipt(first_sequence_nr={}, last_sequence_nr={}, first_global_offset={})",
            self.first_sequence_nr, self.last_sequence_nr, self.first_global_offset
        )
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<WriteReceipt>().is_ok_and(|o| {
            let o = o.get();
            (o.first_sequence_nr, o.last_sequence_nr, o.first_global_offset)
                == (self.first_sequence_nr, self.last_sequence_nr, self.first_global_offset)
        })
    }
}

impl From<tidelog::WriteReceipt> for WriteReceipt {
    fn from(r: tidelog::WriteReceipt) -> Self {
        WriteReceipt {
            first_sequence_nr: r.first_sequence_nr,
            last_sequence_nr: r.last_sequence_nr,
            first_global_offset: r.first_global_offset,
        }
    }
}

/// A stored event, as read back. Immutable.
#[pyclass(frozen, module = "tidelog")]
pub struct Event {
    /// The stream.
    #[pyo3(get)]
    persistence_id: Py<PyString>,
    /// Position in the stream, from 1.
    #[pyo3(get)]
    sequence_nr: u64,
    /// Position in the whole journal, strictly increasing in commit order.
    #[pyo3(get)]
    global_offset: u64,
    /// Unix milliseconds.
    #[pyo3(get)]
    timestamp: u64,
    /// Event type name.
    #[pyo3(get)]
    manifest: Py<PyString>,
    /// Writer instance id.
    #[pyo3(get)]
    writer_id: Py<PyString>,
    /// Tags.
    #[pyo3(get)]
    tags: Py<PyTuple>,
    /// Adapter-specific metadata bytes.
    #[pyo3(get)]
    metadata: Py<PyBytes>,
    /// Payload bytes.
    #[pyo3(get)]
    payload: Py<PyBytes>,
}

impl Event {
    /// The event's sequence number.
    pub fn sequence_nr(&self) -> u64 {
        self.sequence_nr
    }
}

#[pymethods]
impl Event {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Event(persistence_id={:?}, sequence_nr={}, global_offset={}, timestamp={}, manifest={:?}, tags={}, payload=<{} bytes>)",
            self.persistence_id.bind(py).to_string(),
            self.sequence_nr,
            self.global_offset,
            self.timestamp,
            self.manifest.bind(py).to_string(),
            self.tags.bind(py).repr().map(|r| r.to_string()).unwrap_or_default(),
            self.payload.bind(py).as_bytes().len()
        )
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(o) = other.cast::<Event>() else { return Ok(false) };
        let o = o.get();
        if (self.sequence_nr, self.global_offset, self.timestamp) != (o.sequence_nr, o.global_offset, o.timestamp) {
            return Ok(false);
        }
        Ok(PyAnyMethods::eq(self.persistence_id.bind(py).as_any(), o.persistence_id.bind(py))?
            && PyAnyMethods::eq(self.manifest.bind(py).as_any(), o.manifest.bind(py))?
            && PyAnyMethods::eq(self.writer_id.bind(py).as_any(), o.writer_id.bind(py))?
            && PyAnyMethods::eq(self.tags.bind(py).as_any(), o.tags.bind(py))?
            && PyAnyMethods::eq(self.metadata.bind(py).as_any(), o.metadata.bind(py))?
            && PyAnyMethods::eq(self.payload.bind(py).as_any(), o.payload.bind(py))?)
    }
}

/// One event's scalar and byte fields, borrowed from an [`tidelog::EventRef`] or a [`tidelog::Event`].
struct EventFields<'a> {
    sequence_nr: u64,
    global_offset: u64,
    timestamp: u64,
    persistence_id: &'a str,
    manifest: &'a str,
    writer_id: &'a str,
    metadata: &'a [u8],
    payload: &'a [u8],
}

/// Where one event's fields sit in a [`Page`]'s arena.
struct PageEntry {
    sequence_nr: u64,
    global_offset: u64,
    timestamp: u64,
    persistence_id: (usize, usize),
    manifest: (usize, usize),
    writer_id: (usize, usize),
    tag_count: usize,
    tags: (usize, usize),
    metadata: (usize, usize),
    payload: (usize, usize),
}

/// A page of events copied out of the journal in one pass, without the GIL,
/// into one buffer; [`Page::into_list`] then builds every Python object in one
/// go. A read crosses into Python once per page.
#[derive(Default)]
pub struct Page {
    arena: Vec<u8>,
    entries: Vec<PageEntry>,
}

impl Page {
    /// An empty page sized for a read of at most `max` events (a small read then grows nothing).
    pub fn for_read(max: usize) -> Page {
        let events = max.min(64);
        Page {
            arena: Vec::with_capacity(events * 192),
            entries: Vec::with_capacity(events),
        }
    }

    fn put(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.arena.len();
        self.arena.extend_from_slice(bytes);
        (start, self.arena.len())
    }

    /// Appends one event (the `scan` visitor).
    pub fn push(&mut self, e: tidelog::EventRef<'_>) {
        let fields = EventFields {
            sequence_nr: e.sequence_nr,
            global_offset: e.global_offset,
            timestamp: e.timestamp,
            persistence_id: e.persistence_id,
            manifest: e.manifest,
            writer_id: e.writer_id,
            metadata: e.metadata,
            payload: e.payload,
        };
        self.push_fields(fields, e.tags.len(), e.tags.iter());
    }

    /// Appends one owned event (a subscription's batch).
    pub fn push_owned(&mut self, e: &tidelog::Event) {
        let fields = EventFields {
            sequence_nr: e.sequence_nr,
            global_offset: e.global_offset,
            timestamp: e.timestamp,
            persistence_id: &e.persistence_id,
            manifest: &e.manifest,
            writer_id: &e.writer_id,
            metadata: &e.metadata,
            payload: &e.payload,
        };
        self.push_fields(fields, e.tags.len(), e.tags.iter().map(String::as_str));
    }

    /// The one place an event's bytes enter the arena, borrowed or owned alike.
    fn push_fields<'t>(&mut self, e: EventFields<'_>, tag_count: usize, tags: impl Iterator<Item = &'t str>) {
        let persistence_id = self.put(e.persistence_id.as_bytes());
        let manifest = self.put(e.manifest.as_bytes());
        let writer_id = self.put(e.writer_id.as_bytes());
        let tags_start = self.arena.len();
        for tag in tags {
            self.arena.extend_from_slice(&(tag.len() as u32).to_le_bytes());
            self.arena.extend_from_slice(tag.as_bytes());
        }
        let tags = (tags_start, self.arena.len());
        let metadata = self.put(e.metadata);
        let payload = self.put(e.payload);
        self.entries.push(PageEntry {
            sequence_nr: e.sequence_nr,
            global_offset: e.global_offset,
            timestamp: e.timestamp,
            persistence_id,
            manifest,
            writer_id,
            tag_count,
            tags,
            metadata,
            payload,
        });
    }

    /// A page of owned events.
    pub fn of_events(events: &[tidelog::Event]) -> Page {
        let mut page = Page::default();
        events.iter().for_each(|e| page.push_owned(e));
        page
    }

    /// Builds `list[Event]`. Repeated strings (the persistence id of a stream
    /// read, a manifest used by consecutive events) share one Python object.
    pub fn into_list(self, py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
        self.into_list_of(py, None)
    }

    /// [`Page::into_list`] for a page of one stream's events, whose persistence id is `stream`:
    /// the events share that object instead of a new one decoded from the page.
    pub fn into_list_of<'py>(self, py: Python<'py>, stream: Option<&Bound<'py, PyString>>) -> PyResult<Bound<'py, PyList>> {
        let arena = &self.arena;
        let text = |r: (usize, usize)| -> &str {
            // The core hands out `&str`, so these ranges are valid UTF-8.
            std::str::from_utf8(&arena[r.0..r.1]).unwrap_or_default()
        };
        // Cached once per interpreter (interning looks the string up in a dict on every call).
        let empty_str = pyo3::intern!(py, "").clone().unbind();
        let empty_bytes = PyBytes::new(py, b"").unbind();
        let empty_tuple = PyTuple::empty(py).unbind();
        let mut last_pid: ((usize, usize), Py<PyString>) = ((0, 0), empty_str.clone_ref(py));
        let mut last_manifest = last_pid.clone_ref_pair(py);
        let mut last_writer = last_pid.clone_ref_pair(py);
        if let (Some(stream), Some(first)) = (stream, self.entries.first()) {
            // The cache then holds the stream's id for the first event's bytes (equal in every event).
            last_pid = (first.persistence_id, stream.clone().unbind());
        }
        let cached = |slot: &mut ((usize, usize), Py<PyString>), r: (usize, usize)| -> Py<PyString> {
            let bytes = &arena[r.0..r.1];
            if bytes.is_empty() {
                return empty_str.clone_ref(py);
            }
            if &arena[slot.0 .0..slot.0 .1] != bytes || slot.0 .0 == slot.0 .1 {
                *slot = (r, PyString::new(py, text(r)).unbind());
            }
            slot.1.clone_ref(py)
        };
        let list = PyList::empty(py);
        for e in &self.entries {
            let tags = if e.tag_count == 0 {
                empty_tuple.clone_ref(py)
            } else {
                let mut rest = &arena[e.tags.0..e.tags.1];
                let mut items = Vec::with_capacity(e.tag_count);
                for _ in 0..e.tag_count {
                    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                    items.push(std::str::from_utf8(&rest[4..4 + len]).unwrap_or_default());
                    rest = &rest[4 + len..];
                }
                PyTuple::new(py, items)?.unbind()
            };
            let metadata = if e.metadata.0 == e.metadata.1 {
                empty_bytes.clone_ref(py)
            } else {
                PyBytes::new(py, &arena[e.metadata.0..e.metadata.1]).unbind()
            };
            let event = Event {
                persistence_id: cached(&mut last_pid, e.persistence_id),
                sequence_nr: e.sequence_nr,
                global_offset: e.global_offset,
                timestamp: e.timestamp,
                manifest: cached(&mut last_manifest, e.manifest),
                writer_id: cached(&mut last_writer, e.writer_id),
                tags,
                metadata,
                payload: PyBytes::new(py, &arena[e.payload.0..e.payload.1]).unbind(),
            };
            list.append(Bound::new(py, event)?)?;
        }
        Ok(list)
    }
}

trait CloneRefPair {
    fn clone_ref_pair(&self, py: Python<'_>) -> Self;
}

impl CloneRefPair for ((usize, usize), Py<PyString>) {
    fn clone_ref_pair(&self, py: Python<'_>) -> Self {
        (self.0, self.1.clone_ref(py))
    }
}

/// A saved snapshot.
#[pyclass(frozen, module = "tidelog")]
pub struct Snapshot {
    /// The stream the snapshot belongs to.
    #[pyo3(get)]
    persistence_id: String,
    /// The sequence number of the last event folded into the state.
    #[pyo3(get)]
    sequence_nr: u64,
    /// Unix milliseconds.
    #[pyo3(get)]
    timestamp: u64,
    /// State type name.
    #[pyo3(get)]
    manifest: String,
    /// Adapter-specific metadata bytes.
    #[pyo3(get)]
    metadata: Py<PyBytes>,
    /// The state bytes.
    #[pyo3(get)]
    state: Py<PyBytes>,
}

#[pymethods]
impl Snapshot {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Snapshot(persistence_id={:?}, sequence_nr={}, timestamp={}, manifest={:?}, state=<{} bytes>)",
            self.persistence_id,
            self.sequence_nr,
            self.timestamp,
            self.manifest,
            self.state.bind(py).as_bytes().len()
        )
    }
}

impl Snapshot {
    pub fn from_core(py: Python<'_>, s: tidelog::Snapshot) -> Snapshot {
        Snapshot {
            persistence_id: s.persistence_id,
            sequence_nr: s.sequence_nr,
            timestamp: s.timestamp,
            manifest: s.manifest,
            metadata: PyBytes::new(py, &s.metadata).unbind(),
            state: PyBytes::new(py, &s.state).unbind(),
        }
    }
}

/// Builds a core snapshot from `save`'s arguments.
pub fn new_snapshot(
    persistence_id: String,
    sequence_nr: &Bound<'_, PyAny>,
    state: &Bound<'_, PyAny>,
    timestamp: Option<&Bound<'_, PyAny>>,
    manifest: String,
    metadata: Option<&Bound<'_, PyAny>>,
) -> PyResult<tidelog::Snapshot> {
    let timestamp = match timestamp {
        Some(t) if !t.is_none() => u64_arg(t, "timestamp")?,
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    };
    let metadata = match metadata {
        Some(m) if !m.is_none() => bytes_of(m, "metadata")?,
        _ => Vec::new(),
    };
    Ok(tidelog::Snapshot {
        persistence_id,
        sequence_nr: u64_arg(sequence_nr, "sequence_nr")?,
        timestamp,
        manifest,
        metadata,
        state: bytes_of(state, "state")?,
    })
}

/// Builds snapshot criteria from keyword arguments (`None` = unbounded).
pub fn criteria(
    max_sequence_nr: Option<&Bound<'_, PyAny>>,
    max_timestamp: Option<&Bound<'_, PyAny>>,
    min_sequence_nr: Option<&Bound<'_, PyAny>>,
    min_timestamp: Option<&Bound<'_, PyAny>>,
) -> PyResult<tidelog::SnapshotCriteria> {
    Ok(tidelog::SnapshotCriteria::latest()
        .max_sequence_nr(opt_u64_arg(max_sequence_nr, "max_sequence_nr", u64::MAX)?)
        .max_timestamp(opt_u64_arg(max_timestamp, "max_timestamp", u64::MAX)?)
        .min_sequence_nr(opt_u64_arg(min_sequence_nr, "min_sequence_nr", 0)?)
        .min_timestamp(opt_u64_arg(min_timestamp, "min_timestamp", 0)?))
}
