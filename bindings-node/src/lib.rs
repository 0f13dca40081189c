//! Node.js glue for Tidelog (napi-rs v3). Glue only: it converts types,
//! errors and completions; every storage rule lives in the `tidelog` core.
//!
//! Completions: write operations use the core's callback form. Each callback
//! pushes its result into the journal's completion queue and, only when the
//! queue was empty, wakes JavaScript through the journal's ONE weak
//! threadsafe function (non-blocking call). On the JS thread the tsfn drains
//! the whole queue into one `Uint32Array` of fixed-size records (plus an array
//! of error descriptions) and hands both to the JS layer, which settles its
//! Promises. No napi deferred or tsfn is created per operation.
//!
//! Reads, snapshot I/O, `open` and `close` run as `AsyncTask`s on the libuv
//! pool; a read page is encoded into one Buffer (see `encode_page`) and decoded
//! in JavaScript, so a read crosses FFI once per page.

#![deny(clippy::all)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use parking_lot::Mutex;
use tidelog::{
    AtomicWrite, Backend, ErrorKind, EventRef, Journal, NewEvent, Options, Snapshot, SnapshotCriteria, SyncPolicy, WriteReceipt,
};

// ---- errors -----------------------------------------------------------------

/// The JavaScript error code of a core error kind: the core's stable code
/// (`ErrorKind::code`, an exhaustive match, so a new kind cannot be missed).
fn error_code(kind: ErrorKind) -> &'static str {
    kind.code()
}

/// Prefix of a rejected task's message: `tidelog:<CODE>:<message>`; the JS
/// layer turns it into a `TidelogError` subclass.
fn task_error(e: &tidelog::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("tidelog:{}:{}", error_code(e.kind()), e))
}

/// Every error code the binding can produce, in `ErrorKind::ALL` order
/// (for the JS exhaustiveness test).
#[napi]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL.iter().map(|k| error_code(*k).to_owned()).collect()
}

/// An error as handed to the completion callback.
#[napi(object)]
pub struct CompletionError {
    pub code: String,
    pub message: String,
    pub persistence_id: Option<String>,
    pub expected: Option<BigInt>,
    pub actual: Option<BigInt>,
}

fn completion_error(e: &tidelog::Error) -> CompletionError {
    let (persistence_id, expected, actual) = match e {
        tidelog::Error::SequenceConflict {
            persistence_id,
            expected,
            actual,
        } => (
            Some(persistence_id.clone()),
            Some(BigInt::from(*expected)),
            Some(BigInt::from(*actual)),
        ),
        _ => (None, None, None),
    };
    CompletionError {
        code: error_code(e.kind()).to_owned(),
        message: e.to_string(),
        persistence_id,
        expected,
        actual,
    }
}

// ---- numbers ----------------------------------------------------------------

/// JS passes sequence numbers and offsets as safe integers or `Infinity`
/// (the JS layer range-checks them); `Infinity` means `u64::MAX`.
fn to_u64(v: f64) -> u64 {
    if v.is_infinite() && v > 0.0 {
        u64::MAX
    } else if v <= 0.0 || v.is_nan() {
        0
    } else {
        v as u64
    }
}

fn to_usize(v: f64) -> usize {
    if v.is_infinite() && v > 0.0 {
        usize::MAX
    } else if v <= 0.0 || v.is_nan() {
        0
    } else {
        v as usize
    }
}

fn push_u64(out: &mut Vec<u32>, v: u64) {
    out.push(v as u32);
    out.push((v >> 32) as u32);
}

// ---- completion queue -------------------------------------------------------

enum Done {
    Receipt(u32, tidelog::Result<WriteReceipt>),
    Unit(u32, tidelog::Result<()>),
    Many(u32, Vec<tidelog::Result<WriteReceipt>>),
}

/// Record layout, 8 u32s each: `[id, tag, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi]`.
const TAG_RECEIPT: u32 = 0; // a = first sequence nr, b = last, c = first global offset
const TAG_UNIT: u32 = 1;
const TAG_ERROR: u32 = 2; // a = index into the error array
const TAG_MANY: u32 = 3; // a = number of receipt/error records that follow, same id

type Drained = FnArgs<(Uint32Array, Vec<CompletionError>)>;
type CompletionFn = ThreadsafeFunction<(), Unknown<'static>, Drained, Status, false, true>;

type Queue = Arc<Mutex<Vec<Done>>>;

struct Completions {
    queue: Queue,
    tsfn: CompletionFn,
}

impl Completions {
    fn push(&self, done: Done) {
        let was_empty = {
            let mut queue = self.queue.lock();
            let was_empty = queue.is_empty();
            queue.push(done);
            was_empty
        };
        if was_empty {
            // Non-blocking: the writer thread never waits on JavaScript. A
            // failure means the environment is shutting down.
            let _ = self.tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

fn receipt_record(records: &mut Vec<u32>, errors: &mut Vec<CompletionError>, id: u32, r: &tidelog::Result<WriteReceipt>) {
    match r {
        Ok(r) => {
            records.extend([id, TAG_RECEIPT]);
            push_u64(records, r.first_sequence_nr);
            push_u64(records, r.last_sequence_nr);
            push_u64(records, r.first_global_offset);
        }
        Err(e) => {
            records.extend([id, TAG_ERROR, errors.len() as u32, 0, 0, 0, 0, 0]);
            errors.push(completion_error(e));
        }
    }
}

/// Takes everything queued and encodes it; runs on the JS thread.
fn drain(queue: &Mutex<Vec<Done>>) -> Drained {
    let done = std::mem::take(&mut *queue.lock());
    let mut records = Vec::with_capacity(done.len() * 8);
    let mut errors = Vec::new();
    for d in &done {
        match d {
            Done::Receipt(id, r) => receipt_record(&mut records, &mut errors, *id, r),
            Done::Unit(id, Ok(())) => records.extend([*id, TAG_UNIT, 0, 0, 0, 0, 0, 0]),
            Done::Unit(id, Err(e)) => {
                records.extend([*id, TAG_ERROR, errors.len() as u32, 0, 0, 0, 0, 0]);
                errors.push(completion_error(e));
            }
            Done::Many(id, results) => {
                records.extend([*id, TAG_MANY, results.len() as u32, 0, 0, 0, 0, 0]);
                for r in results {
                    receipt_record(&mut records, &mut errors, *id, r);
                }
            }
        }
    }
    FnArgs::from((Uint32Array::new(records), errors))
}

// ---- options ----------------------------------------------------------------

/// Options for `openJournal`, already validated for type by the JS layer.
#[napi(object)]
pub struct NativeOptions {
    pub backend: Option<String>,
    pub sync: Option<String>,
    pub sync_interval_ms: Option<f64>,
    pub max_batch_events: Option<f64>,
    pub max_batch_bytes: Option<f64>,
    pub max_batch_delay_ms: Option<f64>,
    pub max_event_bytes: Option<f64>,
    pub close_timeout_ms: Option<f64>,
    pub lmdb_map_size: Option<f64>,
    pub segment_bytes: Option<f64>,
    pub read_only: Option<bool>,
    pub snapshot_compression: Option<bool>,
}

fn invalid(option: &'static str, reason: &'static str) -> tidelog::Error {
    tidelog::InvalidArgument::Option { option, reason }.into()
}

fn millis(v: f64) -> Duration {
    Duration::from_secs_f64((v.max(0.0)) / 1000.0)
}

fn build_options(o: &NativeOptions) -> tidelog::Result<Options> {
    let mut options = Options::new();
    if let Some(b) = &o.backend {
        options = options.backend(b.parse::<Backend>()?);
    }
    let interval = o.sync_interval_ms.map(millis).unwrap_or(Duration::from_millis(100));
    options = options.sync(match o.sync.as_deref() {
        None | Some("always") => SyncPolicy::Always,
        Some("interval") => SyncPolicy::Interval(interval),
        Some("never") => SyncPolicy::Never,
        Some(_) => return Err(invalid("sync", "expected always, interval or never")),
    });
    if let Some(v) = o.max_batch_events {
        options = options.max_batch_events(to_usize(v));
    }
    if let Some(v) = o.max_batch_bytes {
        options = options.max_batch_bytes(to_usize(v));
    }
    if let Some(v) = o.max_batch_delay_ms {
        options = options.max_batch_delay(millis(v));
    }
    if let Some(v) = o.max_event_bytes {
        options = options.max_event_bytes(to_usize(v));
    }
    if let Some(v) = o.close_timeout_ms {
        options = options.close_timeout(millis(v));
    }
    if let Some(v) = o.lmdb_map_size {
        options = options.lmdb_map_size(to_usize(v));
    }
    if let Some(v) = o.segment_bytes {
        options = options.segment_bytes(to_u64(v));
    }
    if let Some(v) = o.read_only {
        options = options.read_only(v);
    }
    if let Some(v) = o.snapshot_compression {
        options = options.snapshot_compression(v);
    }
    Ok(options)
}

// ---- open / close -----------------------------------------------------------

pub struct OpenTask {
    path: String,
    options: tidelog::Result<Options>,
}

impl Task for OpenTask {
    type Output = Journal;
    type JsValue = NativeJournal;

    fn compute(&mut self) -> Result<Journal> {
        let options = self.options.clone().map_err(|e| task_error(&e))?;
        Journal::open(&self.path, options).map_err(|e| task_error(&e))
    }

    fn resolve(&mut self, _env: Env, journal: Journal) -> Result<NativeJournal> {
        Ok(NativeJournal {
            journal,
            completions: None,
        })
    }
}

/// Opens a journal off the event loop; resolves to a `NativeJournal`.
#[napi(ts_return_type = "Promise<NativeJournal>")]
pub fn open_journal(path: String, options: NativeOptions) -> AsyncTask<OpenTask> {
    AsyncTask::new(OpenTask {
        path,
        options: build_options(&options),
    })
}

/// A task that runs a blocking core call on the libuv pool.
pub struct BlockingTask<T: Send + 'static, J> {
    work: Option<Box<dyn FnOnce() -> tidelog::Result<T> + Send>>,
    convert: fn(Env, T) -> Result<J>,
}

impl<T: Send + 'static, J: ToNapiValue + TypeName + 'static> Task for BlockingTask<T, J> {
    type Output = T;
    type JsValue = J;

    fn compute(&mut self) -> Result<T> {
        let work = self.work.take().ok_or_else(|| napi::Error::from_reason("task ran twice"))?;
        work().map_err(|e| task_error(&e))
    }

    fn resolve(&mut self, env: Env, output: T) -> Result<J> {
        (self.convert)(env, output)
    }
}

fn blocking<T: Send + 'static, J>(
    work: impl FnOnce() -> tidelog::Result<T> + Send + 'static,
    convert: fn(Env, T) -> Result<J>,
) -> AsyncTask<BlockingTask<T, J>>
where
    J: ToNapiValue + TypeName + 'static,
{
    AsyncTask::new(BlockingTask {
        work: Some(Box::new(work)),
        convert,
    })
}

fn same<T>(_: Env, v: T) -> Result<T> {
    Ok(v)
}

// ---- events in ----------------------------------------------------------------

/// An event to write, as normalised by the JS layer.
#[napi(object)]
pub struct NativeEvent {
    pub payload: Uint8Array,
    pub manifest: Option<String>,
    pub writer_id: Option<String>,
    pub tags: Option<Vec<String>>,
    pub timestamp: Option<f64>,
    pub metadata: Option<Uint8Array>,
}

fn new_event(e: NativeEvent) -> NewEvent {
    NewEvent {
        payload: e.payload.to_vec(),
        manifest: e.manifest.unwrap_or_default(),
        writer_id: e.writer_id.unwrap_or_default(),
        tags: e.tags.unwrap_or_default(),
        timestamp: e.timestamp.map(to_u64),
        metadata: e.metadata.map(|m| m.to_vec()).unwrap_or_default(),
    }
}

/// One explicit atomic write, as normalised by the JS layer.
#[napi(object)]
pub struct NativeAtomicWrite {
    pub persistence_id: String,
    pub first_sequence_nr: f64,
    pub events: Vec<NativeEvent>,
}

// ---- reads out: one Buffer per page ----------------------------------------

/// Encodes events into one page (little endian):
///
/// ```text
/// header  u32 event count, u32 byte offset of the string table
/// event   u32 x6: sequence nr, global offset, timestamp (each lo, hi)
///         u32 persistence id, manifest, writer id (string-table indexes)
///         u32 tag count, then that many tag indexes
///         u32 metadata length, u32 payload length, metadata, payload,
///         zero padding to a multiple of 4
/// strings u32 count, then per string u32 byte length + UTF-8 bytes
/// ```
/// Strings are interned per page, so a stream's persistence id is decoded once.
#[derive(Default)]
struct PageEncoder {
    out: Vec<u8>,
    count: u32,
    strings: Vec<String>,
    index: HashMap<String, u32>,
    /// Last index used for the persistence id, manifest and writer id: runs
    /// of equal strings skip the hash lookup.
    last: [u32; 3],
}

impl PageEncoder {
    fn new() -> Self {
        PageEncoder {
            out: {
                let mut v = Vec::with_capacity(64 << 10);
                v.extend_from_slice(&[0; 8]);
                v
            },
            last: [u32::MAX; 3],
            ..Default::default()
        }
    }

    fn intern(&mut self, slot: usize, s: &str) -> u32 {
        let idx = self.last[slot];
        if idx != u32::MAX && self.strings[idx as usize] == s {
            return idx;
        }
        let idx = self.lookup(s);
        self.last[slot] = idx;
        idx
    }

    fn lookup(&mut self, s: &str) -> u32 {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }

    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn push(&mut self, e: &EventRef<'_>) {
        let pid = self.intern(0, e.persistence_id);
        let manifest = self.intern(1, e.manifest);
        let writer = self.intern(2, e.writer_id);
        self.u64(e.sequence_nr);
        self.u64(e.global_offset);
        self.u64(e.timestamp);
        self.u32(pid);
        self.u32(manifest);
        self.u32(writer);
        self.u32(e.tags.len() as u32);
        for tag in e.tags.iter() {
            let t = self.lookup(tag);
            self.u32(t);
        }
        self.u32(e.metadata.len() as u32);
        self.u32(e.payload.len() as u32);
        self.out.extend_from_slice(e.metadata);
        self.out.extend_from_slice(e.payload);
        let pad = (4 - self.out.len() % 4) % 4;
        self.out.extend(std::iter::repeat_n(0u8, pad));
        self.count += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        let table = self.out.len() as u32;
        self.out[0..4].copy_from_slice(&self.count.to_le_bytes());
        self.out[4..8].copy_from_slice(&table.to_le_bytes());
        let strings = std::mem::take(&mut self.strings);
        self.u32(strings.len() as u32);
        for s in &strings {
            self.u32(s.len() as u32);
            self.out.extend_from_slice(s.as_bytes());
        }
        self.out
    }
}

fn page_buffer(_: Env, page: Vec<u8>) -> Result<Buffer> {
    Ok(Buffer::from(page))
}

// ---- snapshots out ----------------------------------------------------------

/// A snapshot as returned to JS.
#[napi(object)]
pub struct NativeSnapshot {
    pub persistence_id: String,
    pub sequence_nr: BigInt,
    pub timestamp: BigInt,
    pub manifest: String,
    pub metadata: Buffer,
    pub state: Buffer,
}

/// Snapshot selection; `Infinity` means unbounded.
#[napi(object)]
pub struct NativeCriteria {
    pub max_sequence_nr: f64,
    pub max_timestamp: f64,
    pub min_sequence_nr: f64,
    pub min_timestamp: f64,
}

fn criteria(c: &NativeCriteria) -> SnapshotCriteria {
    SnapshotCriteria {
        max_sequence_nr: to_u64(c.max_sequence_nr),
        max_timestamp: to_u64(c.max_timestamp),
        min_sequence_nr: to_u64(c.min_sequence_nr),
        min_timestamp: to_u64(c.min_timestamp),
    }
}

/// A snapshot to save, as normalised by the JS layer.
#[napi(object)]
pub struct NativeSnapshotIn {
    pub persistence_id: String,
    pub sequence_nr: f64,
    pub timestamp: f64,
    pub manifest: Option<String>,
    pub metadata: Option<Uint8Array>,
    pub state: Uint8Array,
}

/// Listing entry.
#[napi(object)]
pub struct NativeSnapshotInfo {
    pub sequence_nr: BigInt,
    pub timestamp: BigInt,
}

// ---- the journal ------------------------------------------------------------

/// The native journal handle. Use the `Journal` class of the `tidelog`
/// package instead: this is its glue.
#[napi]
pub struct NativeJournal {
    journal: Journal,
    completions: Option<Arc<Completions>>,
}

#[napi]
impl NativeJournal {
    /// Installs the completion callback: called on the JS thread with the
    /// drained records and errors. The threadsafe function is weak (unref'd):
    /// the JS layer calls `ref()` while operations are pending. Returns the
    /// fast functions `[appendPayload(id, persistenceId, payload), ref(), unref()]`
    /// (see `fast`).
    #[napi(
        ts_args_type = "onComplete: (records: Uint32Array, errors: CompletionError[]) => void",
        ts_return_type = "[(id: number, persistenceId: string, payload: Uint8Array) => void, () => void, () => void]"
    )]
    pub fn start<'env>(&mut self, env: &'env Env, on_complete: Function<'_, Drained, Unknown<'static>>) -> Result<Vec<Unknown<'env>>> {
        if self.completions.is_some() {
            return Err(napi::Error::from_reason("completion callback already installed"));
        }
        let queue: Queue = Arc::default();
        let for_js = queue.clone();
        let tsfn = on_complete
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |_ctx| Ok(drain(&for_js)))?;
        let completions = Arc::new(Completions { queue, tsfn });
        self.completions = Some(completions.clone());
        let submitter = || fast::Submitter {
            journal: self.journal.clone(),
            completions: completions.clone(),
        };
        Ok(vec![
            fast::function(env, "appendPayload", fast::append_payload, submitter())?,
            fast::function(env, "ref", fast::refer, submitter())?,
            fast::function(env, "unref", fast::unref, submitter())?,
        ])
    }

    fn completions(&self) -> Result<Arc<Completions>> {
        self.completions
            .clone()
            .ok_or_else(|| napi::Error::from_reason("start() was not called"))
    }

    /// Appends events as one atomic write; completes `id`.
    #[napi]
    pub fn append(&self, id: u32, persistence_id: String, events: Vec<NativeEvent>) -> Result<()> {
        let c = self.completions()?;
        let events = events.into_iter().map(new_event).collect();
        self.journal
            .append_with(&persistence_id, events, move |r| c.push(Done::Receipt(id, r)));
        Ok(())
    }

    /// Commits explicit atomic writes; completes `id` with one result per write.
    #[napi]
    pub fn write(&self, id: u32, writes: Vec<NativeAtomicWrite>) -> Result<()> {
        let c = self.completions()?;
        let writes = writes
            .into_iter()
            .map(|w| AtomicWrite {
                persistence_id: w.persistence_id,
                first_sequence_nr: to_u64(w.first_sequence_nr),
                events: w.events.into_iter().map(new_event).collect(),
            })
            .collect();
        self.journal.write_with(writes, move |r| c.push(Done::Many(id, r)));
        Ok(())
    }

    /// Deletes events up to `to`; completes `id`.
    #[napi]
    pub fn delete_to(&self, id: u32, persistence_id: String, to: f64) -> Result<()> {
        let c = self.completions()?;
        self.journal
            .delete_to_with(&persistence_id, to_u64(to), move |r| c.push(Done::Unit(id, r)));
        Ok(())
    }

    /// Flushes; completes `id`.
    #[napi]
    pub fn flush(&self, id: u32) -> Result<()> {
        let c = self.completions()?;
        self.journal.flush_with(move |r| c.push(Done::Unit(id, r)));
        Ok(())
    }

    /// One page of a stream, encoded (see `PageEncoder`).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read(&self, persistence_id: String, from: f64, to: f64, max: f64) -> AsyncTask<BlockingTask<Vec<u8>, Buffer>> {
        let journal = self.journal.clone();
        blocking(
            move || {
                let mut page = PageEncoder::new();
                journal.scan(&persistence_id, to_u64(from), to_u64(to), to_usize(max), |e| {
                    page.push(&e);
                    true
                })?;
                Ok(page.finish())
            },
            page_buffer,
        )
    }

    /// One page of events carrying `tag`, encoded.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn events_by_tag(&self, tag: String, from_offset: f64, max: f64) -> AsyncTask<BlockingTask<Vec<u8>, Buffer>> {
        let journal = self.journal.clone();
        blocking(
            move || {
                let mut page = PageEncoder::new();
                journal.scan_tag(&tag, to_u64(from_offset), to_usize(max), |e| {
                    page.push(&e);
                    true
                })?;
                Ok(page.finish())
            },
            page_buffer,
        )
    }

    /// One page of all events, encoded.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn all_events(&self, from_offset: f64, max: f64) -> AsyncTask<BlockingTask<Vec<u8>, Buffer>> {
        let journal = self.journal.clone();
        blocking(
            move || {
                let mut page = PageEncoder::new();
                journal.scan_all(to_u64(from_offset), to_usize(max), |e| {
                    page.push(&e);
                    true
                })?;
                Ok(page.finish())
            },
            page_buffer,
        )
    }

    /// Highest sequence number of a stream.
    #[napi(ts_return_type = "Promise<bigint>")]
    pub fn highest_sequence_nr(&self, persistence_id: String) -> AsyncTask<BlockingTask<u64, BigInt>> {
        let journal = self.journal.clone();
        blocking(move || journal.highest_sequence_nr(&persistence_id), |_, v| Ok(BigInt::from(v)))
    }

    /// The global offset the next committed event will get.
    #[napi(ts_return_type = "Promise<bigint>")]
    pub fn next_global_offset(&self) -> AsyncTask<BlockingTask<u64, BigInt>> {
        let journal = self.journal.clone();
        blocking(move || journal.next_global_offset(), |_, v| Ok(BigInt::from(v)))
    }

    /// Every persistence id ever written.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn persistence_ids(&self) -> AsyncTask<BlockingTask<Vec<String>, Vec<String>>> {
        let journal = self.journal.clone();
        blocking(move || journal.persistence_ids(), same)
    }

    /// Metrics as Prometheus text.
    #[napi]
    pub fn metrics_prometheus(&self) -> String {
        self.journal.metrics().to_prometheus()
    }

    /// Metrics counters: `[appends, events, bytes, batches, fsyncs, failedWrites,
    /// sequenceConflicts, repairedTails, repairedBytes, skippedCorruptSnapshots,
    /// lmdbMapResizes, segmentsReclaimed, commitCount, commitSumUs, commitMaxUs,
    /// batchCount, batchSumEvents, batchMaxEvents]`.
    #[napi]
    pub fn metrics(&self) -> Vec<f64> {
        self.journal.metrics().values().iter().map(|v| *v as f64).collect()
    }

    /// The backend name.
    #[napi(getter)]
    pub fn backend(&self) -> String {
        self.journal.backend().name().to_owned()
    }

    /// The journal directory.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.journal.path().display().to_string()
    }

    /// True once closed.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.journal.is_closed()
    }

    /// Closes the journal off the event loop.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self) -> AsyncTask<BlockingTask<(), ()>> {
        let journal = self.journal.clone();
        blocking(move || journal.close(), same)
    }

    // ---- snapshots ----

    /// Saves a snapshot (durably).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn snapshot_save(&self, snapshot: NativeSnapshotIn) -> AsyncTask<BlockingTask<(), ()>> {
        let journal = self.journal.clone();
        let snapshot = Snapshot {
            persistence_id: snapshot.persistence_id,
            sequence_nr: to_u64(snapshot.sequence_nr),
            timestamp: to_u64(snapshot.timestamp),
            manifest: snapshot.manifest.unwrap_or_default(),
            metadata: snapshot.metadata.map(|m| m.to_vec()).unwrap_or_default(),
            state: snapshot.state.to_vec(),
        };
        blocking(move || journal.snapshots().save(&snapshot), same)
    }

    /// Loads the newest matching snapshot.
    #[napi(ts_return_type = "Promise<NativeSnapshot | null>")]
    pub fn snapshot_load(
        &self,
        persistence_id: String,
        criteria: NativeCriteria,
    ) -> AsyncTask<BlockingTask<Option<Snapshot>, Option<NativeSnapshot>>> {
        let journal = self.journal.clone();
        let criteria = self::criteria(&criteria);
        blocking(
            move || journal.snapshots().load(&persistence_id, criteria),
            |_, s| {
                Ok(s.map(|s| NativeSnapshot {
                    persistence_id: s.persistence_id,
                    sequence_nr: BigInt::from(s.sequence_nr),
                    timestamp: BigInt::from(s.timestamp),
                    manifest: s.manifest,
                    metadata: Buffer::from(s.metadata),
                    state: Buffer::from(s.state),
                }))
            },
        )
    }

    /// Lists a stream's snapshots, oldest first.
    #[napi(ts_return_type = "Promise<NativeSnapshotInfo[]>")]
    pub fn snapshot_list(&self, persistence_id: String) -> AsyncTask<BlockingTask<Vec<tidelog::SnapshotInfo>, Vec<NativeSnapshotInfo>>> {
        let journal = self.journal.clone();
        blocking(
            move || journal.snapshots().list(&persistence_id),
            |_, list| {
                Ok(list
                    .into_iter()
                    .map(|i| NativeSnapshotInfo {
                        sequence_nr: BigInt::from(i.sequence_nr),
                        timestamp: BigInt::from(i.timestamp),
                    })
                    .collect())
            },
        )
    }

    /// Deletes the snapshot at `sequenceNr`; resolves to whether one existed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn snapshot_delete(&self, persistence_id: String, sequence_nr: f64) -> AsyncTask<BlockingTask<bool, bool>> {
        let journal = self.journal.clone();
        blocking(move || journal.snapshots().delete(&persistence_id, to_u64(sequence_nr)), same)
    }

    /// Deletes every matching snapshot; resolves to how many.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn snapshot_delete_matching(&self, persistence_id: String, criteria: NativeCriteria) -> AsyncTask<BlockingTask<usize, f64>> {
        let journal = self.journal.clone();
        let criteria = self::criteria(&criteria);
        blocking(
            move || journal.snapshots().delete_matching(&persistence_id, criteria),
            |_, n| Ok(n as f64),
        )
    }

    /// Keeps the newest `keep` snapshots; resolves to how many were deleted.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn snapshot_prune(&self, persistence_id: String, keep: f64) -> AsyncTask<BlockingTask<usize, f64>> {
        let journal = self.journal.clone();
        blocking(
            move || journal.snapshots().prune(&persistence_id, to_usize(keep)),
            |_, n| Ok(n as f64),
        )
    }

    /// Persistence ids with at least one snapshot.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn snapshot_persistence_ids(&self) -> AsyncTask<BlockingTask<Vec<String>, Vec<String>>> {
        let journal = self.journal.clone();
        blocking(move || journal.snapshots().persistence_ids(), same)
    }
}

/// The hot path, `append(id, persistenceId, payload)`, as a plain napi
/// callback. napi-rs class methods register every receiver in a global
/// borrow registry (a mutex and a hash map per call) and take a reference per
/// borrowed argument; for the one call made per event that overhead exceeded
/// the rest of the call, so this function reads its arguments with raw napi
/// calls and owns its journal handle through the function's data pointer.
mod fast {
    use std::ffi::{c_char, c_void};
    use std::ptr;

    use napi::sys;

    use super::*;

    pub(super) struct Submitter {
        pub(super) journal: Journal,
        pub(super) completions: Arc<Completions>,
    }

    type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

    /// A JS function calling `callback` with `submitter` as its data.
    pub(super) fn function<'env>(env: &'env Env, name: &str, callback: Callback, submitter: Submitter) -> Result<Unknown<'env>> {
        let data = Box::into_raw(Box::new(submitter));
        let mut function = ptr::null_mut();
        unsafe {
            let status = sys::napi_create_function(
                env.raw(),
                name.as_ptr().cast(),
                name.len() as isize,
                Some(callback),
                data.cast(),
                &mut function,
            );
            if status != sys::Status::napi_ok {
                drop(Box::from_raw(data));
                return Err(napi::Error::new(Status::from(status), "napi_create_function failed"));
            }
            // The function owns the submitter; it is dropped when the function is collected.
            check(sys::napi_add_finalizer(
                env.raw(),
                function,
                data.cast(),
                Some(finalize),
                ptr::null_mut(),
                ptr::null_mut(),
            ))?;
            Unknown::from_napi_value(env.raw(), function)
        }
    }

    unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
        drop(unsafe { Box::from_raw(data.cast::<Submitter>()) });
    }

    unsafe fn throw_type_error(env: sys::napi_env, message: &std::ffi::CStr) -> sys::napi_value {
        unsafe { sys::napi_throw_type_error(env, ptr::null(), message.as_ptr()) };
        ptr::null_mut()
    }

    /// Reads a JS string as UTF-8 (one napi call for ids under 256 bytes).
    unsafe fn string(env: sys::napi_env, value: sys::napi_value) -> Option<String> {
        let mut buf = [0u8; 256];
        let mut len = 0usize;
        if unsafe { sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast::<c_char>(), buf.len(), &mut len) }
            != sys::Status::napi_ok
        {
            return None;
        }
        // napi truncates at a character boundary, so a result within 4 bytes
        // (the longest UTF-8 character) of the buffer's end may be cut short.
        if len + 4 < buf.len() {
            return String::from_utf8(buf[..len].to_vec()).ok();
        }
        // Possibly truncated: ask for the length, then read it whole.
        if unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) } != sys::Status::napi_ok {
            return None;
        }
        let mut long = vec![0u8; len + 1];
        if unsafe { sys::napi_get_value_string_utf8(env, value, long.as_mut_ptr().cast::<c_char>(), long.len(), &mut len) }
            != sys::Status::napi_ok
        {
            return None;
        }
        long.truncate(len);
        String::from_utf8(long).ok()
    }

    unsafe fn submitter<'a>(env: sys::napi_env, info: sys::napi_callback_info) -> &'a Submitter {
        let mut data = ptr::null_mut();
        let mut argc = 0usize;
        unsafe {
            sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), ptr::null_mut(), &mut data);
            &*data.cast::<Submitter>()
        }
    }

    /// `ref()`: keep the event loop alive while operations are pending.
    pub(super) unsafe extern "C" fn refer(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        unsafe {
            let s = submitter(env, info);
            sys::napi_ref_threadsafe_function(env, s.completions.tsfn.raw());
        }
        ptr::null_mut()
    }

    /// `unref()`: let the process exit when nothing is pending.
    pub(super) unsafe extern "C" fn unref(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        unsafe {
            let s = submitter(env, info);
            sys::napi_unref_threadsafe_function(env, s.completions.tsfn.raw());
        }
        ptr::null_mut()
    }

    pub(super) unsafe extern "C" fn append_payload(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        let result = std::panic::catch_unwind(|| unsafe {
            let mut argc = 3usize;
            let mut argv = [ptr::null_mut(); 3];
            let mut data = ptr::null_mut();
            if sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) != sys::Status::napi_ok
                || argc < 3
            {
                return throw_type_error(env, c"appendPayload(id, persistenceId, payload) takes 3 arguments");
            }
            let submitter = &*data.cast::<Submitter>();
            let mut id = 0u32;
            if sys::napi_get_value_uint32(env, argv[0], &mut id) != sys::Status::napi_ok {
                return throw_type_error(env, c"id must be a number");
            }
            let Some(persistence_id) = string(env, argv[1]) else {
                return throw_type_error(env, c"persistenceId must be a string");
            };
            let mut kind = 0;
            let mut len = 0usize;
            let mut bytes = ptr::null_mut();
            let mut buffer = ptr::null_mut();
            let mut offset = 0usize;
            if sys::napi_get_typedarray_info(env, argv[2], &mut kind, &mut len, &mut bytes, &mut buffer, &mut offset)
                != sys::Status::napi_ok
                || kind != sys::TypedarrayType::uint8_array
            {
                return throw_type_error(env, c"payload must be a Uint8Array or Buffer");
            }
            let payload = if len == 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(bytes.cast::<u8>(), len).to_vec()
            };
            let completions = submitter.completions.clone();
            submitter
                .journal
                .append_with(&persistence_id, vec![NewEvent::new(payload)], move |r| {
                    completions.push(Done::Receipt(id, r))
                });
            let mut undefined = ptr::null_mut();
            sys::napi_get_undefined(env, &mut undefined);
            undefined
        });
        result.unwrap_or_else(|_| unsafe { throw_type_error(env, c"tidelog: internal panic in appendPayload") })
    }
}

fn check(status: napi::sys::napi_status) -> Result<()> {
    if status == napi::sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(Status::from(status), "threadsafe function ref/unref failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_a_distinct_code_equal_to_the_core_code() {
        let codes: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| error_code(*k)).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        for kind in ErrorKind::ALL {
            assert_eq!(error_code(kind), kind.code());
        }
    }

    fn le_u32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn page_encoding_interns_strings_and_keeps_records_aligned() {
        let journal = Journal::open("unused", Options::new().backend(Backend::Memory)).unwrap();
        journal
            .append(
                "p",
                vec![
                    NewEvent::new(b"abc".to_vec()).tag("t").manifest("M"),
                    NewEvent::new(b"de".to_vec()).tag("t"),
                ],
            )
            .unwrap();
        let mut page = PageEncoder::new();
        journal
            .scan("p", 1, u64::MAX, usize::MAX, |e| {
                page.push(&e);
                true
            })
            .unwrap();
        let bytes = page.finish();
        assert_eq!(le_u32(&bytes, 0), 2);
        let table = le_u32(&bytes, 4) as usize;
        assert_eq!(table % 4, 0);
        // Strings: "p", "M", "" (writer id), "t", and "" for the second manifest reuses index 2.
        assert_eq!(le_u32(&bytes, table), 4);
        // First event: sequence nr 1, one tag, 3 payload bytes padded to 4.
        assert_eq!(le_u32(&bytes, 8), 1);
        assert_eq!(le_u32(&bytes, 8 + 36), 1);
        let payload_len = le_u32(&bytes, 8 + 48) as usize;
        assert_eq!(payload_len, 3);
        assert_eq!(&bytes[8 + 52..8 + 55], b"abc");
        let second = 8 + 56;
        assert_eq!(le_u32(&bytes, second), 2);
        journal.close().unwrap();
    }

    #[test]
    fn numbers_from_js() {
        assert_eq!(to_u64(f64::INFINITY), u64::MAX);
        assert_eq!(to_u64(-1.0), 0);
        assert_eq!(to_u64(9_007_199_254_740_991.0), 9_007_199_254_740_991);
        assert_eq!(to_usize(f64::INFINITY), usize::MAX);
    }
}
