//! # tidelog-c: the C ABI of the Tidelog journal
//!
//! A plain C interface over the [`tidelog`] core, for C programs and for any
//! language with a C FFI (the .NET package `Tidelog` is built on it). The
//! header `include/tidelog.h` is generated from this file by cbindgen.
//!
//! Conventions:
//! - Every function returns a status (`TIDELOG_OK` = 0, otherwise a `TIDELOG_*` code);
//!   details of the last failure on the calling thread come from [`tidelog_last_error`].
//! - Handles (`tidelog_journal*`, `tidelog_queue*`) are opaque, never dereferenced by the
//!   library: a null, freed or foreign handle is refused with `TIDELOG_INVALID_HANDLE`.
//! - Results too large for a struct come back in a `tidelog_buffer` owned by the
//!   library; release it with [`tidelog_buffer_free`], which refuses a second free.
//! - Strings are UTF-8 with an explicit length (no NUL terminator needed).
//! - One crossing per batch: events go in as one encoded buffer, a page of
//!   events comes back as one encoded buffer.
//! - Asynchronous writes complete through a completion queue: submit with a
//!   64-bit token, and drain finished operations in batches with
//!   [`tidelog_queue_wait`] on a thread you own. No library thread ever calls into
//!   the host.
//! - No Rust panic crosses the boundary: it becomes `TIDELOG_INTERNAL`.
//!
//! The byte formats (event and write lists, event pages, write results, snapshots,
//! string lists) and the status codes are `core/docs/wire.md`, implemented once in
//! `tidelog-ffi`; this crate only adapts them to C calling conventions.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // the safety contract of every function is in the header's preamble

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tidelog::{ErrorKind, Journal, Options, Snapshot, SnapshotCriteria, Subscription, WriteReceipt};
use tidelog_ffi::options::field;
use tidelog_ffi::tail::{self, PageQueue};
use tidelog_ffi::wire::{self, Reader, Scope};
use tidelog_ffi::{status, Completion, CompletionQueue, Failure, Outcome};

// ---- constants -----------------------------------------------------------------

/// Version of this C ABI. Bumped on every incompatible change.
pub const TIDELOG_ABI_VERSION: u32 = 2;

/// Success.
pub const TIDELOG_OK: i32 = 0;
/// The journal (or queue) is closed.
pub const TIDELOG_CLOSED: i32 = 1;
/// Another writer holds the journal's lock.
pub const TIDELOG_LOCKED: i32 = 2;
/// An atomic write did not continue its stream (see `tidelog_error.expected` / `actual`).
pub const TIDELOG_SEQUENCE_CONFLICT: i32 = 3;
/// An argument was refused (empty id, invalid UTF-8, malformed buffer, ...).
pub const TIDELOG_INVALID_ARGUMENT: i32 = 4;
/// Stored data failed a checksum or could not be decoded.
pub const TIDELOG_CORRUPT: i32 = 5;
/// The journal was written by a newer on-disk format.
pub const TIDELOG_UNSUPPORTED_FORMAT: i32 = 6;
/// The device is full.
pub const TIDELOG_STORAGE_FULL: i32 = 7;
/// An operating-system, LMDB or PostgreSQL I/O error.
pub const TIDELOG_IO: i32 = 8;
/// An earlier storage failure left the journal unusable until reopened.
pub const TIDELOG_FAILED: i32 = 9;
/// A null, freed or unknown handle or buffer (a buffer freed twice, say).
pub const TIDELOG_INVALID_HANDLE: i32 = 100;
/// A bug inside the library (a caught panic). The operation did not complete.
pub const TIDELOG_INTERNAL: i32 = 101;
/// Flag bit of a failed status whose call a retry may cure (a lost PostgreSQL connection, a
/// server restarting): the status is the code `| TIDELOG_RETRYABLE`, the code `status & 0xFFFF`.
pub const TIDELOG_RETRYABLE: i32 = 0x10000;

/// `timestamp` value of an input event that lets the journal stamp it at commit.
pub const TIDELOG_TIMESTAMP_NOW: u64 = u64::MAX;

/// Backend `lmdb` (default).
pub const TIDELOG_BACKEND_LMDB: u32 = 0;
/// Backend `files` (append-only segment files).
pub const TIDELOG_BACKEND_FILES: u32 = 1;
/// Backend `memory` (tests; nothing survives close).
pub const TIDELOG_BACKEND_MEMORY: u32 = 2;
/// Backend `postgres`; a `postgresql://` location chooses it by itself.
pub const TIDELOG_BACKEND_POSTGRES: u32 = 3;

/// Acknowledge after the batch is on stable storage (default).
pub const TIDELOG_SYNC_ALWAYS: u32 = 0;
/// Acknowledge after the write reaches the OS; flush every `sync_interval_ms`.
pub const TIDELOG_SYNC_INTERVAL: u32 = 1;
/// Never flush explicitly (tests, benchmarks).
pub const TIDELOG_SYNC_NEVER: u32 = 2;

// ---- public C types ----------------------------------------------------------------

/// An open journal (opaque).
pub struct tidelog_journal {
    _private: [u8; 0],
}

/// A completion queue (opaque).
pub struct tidelog_queue {
    _private: [u8; 0],
}

/// Bytes owned by the library. Read `data[0..len]`; release with `tidelog_buffer_free`.
#[repr(C)]
pub struct tidelog_buffer {
    /// First byte (never null; may point at zero bytes).
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// Details of the last failure on the calling thread.
#[repr(C)]
pub struct tidelog_error {
    /// The status code (`TIDELOG_OK` when nothing failed yet on this thread).
    pub code: i32,
    /// For `TIDELOG_SEQUENCE_CONFLICT`: the sequence number the journal expected.
    pub expected: u64,
    /// For `TIDELOG_SEQUENCE_CONFLICT`: the first sequence number the write carried.
    pub actual: u64,
    /// UTF-8 message (not NUL-terminated); valid until the next failing call on this thread.
    pub message: *const u8,
    /// Length of `message` in bytes.
    pub message_len: usize,
}

/// Journal options. Fill with `tidelog_options_init`, then change what you need.
#[repr(C)]
pub struct tidelog_options {
    /// `sizeof(tidelog_options)`, set by `tidelog_options_init`: lets the ABI grow.
    pub struct_size: u32,
    /// `TIDELOG_BACKEND_LMDB`, `TIDELOG_BACKEND_FILES`, `TIDELOG_BACKEND_MEMORY` or `TIDELOG_BACKEND_POSTGRES`.
    pub backend: u32,
    /// `TIDELOG_SYNC_ALWAYS`, `TIDELOG_SYNC_INTERVAL` or `TIDELOG_SYNC_NEVER`.
    pub sync: u32,
    /// 1 opens without the writer lock; writes then fail.
    pub read_only: u32,
    /// Flush period for `TIDELOG_SYNC_INTERVAL`, in milliseconds.
    pub sync_interval_ms: u64,
    /// Most events in one group commit.
    pub max_batch_events: u64,
    /// Most bytes in one group commit.
    pub max_batch_bytes: u64,
    /// How long the writer may wait for more work, in microseconds.
    pub max_batch_delay_us: u64,
    /// Largest encoded event accepted.
    pub max_event_bytes: u64,
    /// Upper bound on close, in milliseconds.
    pub close_timeout_ms: u64,
    /// Initial LMDB map size in bytes (grows automatically).
    pub lmdb_map_size: u64,
    /// Segment size of the files backend.
    pub segment_bytes: u64,
    /// 1 compresses snapshot state with zstd.
    pub snapshot_compression: u32,
    /// Reserved, set to 0.
    pub reserved: u32,
}

/// What a successful write returns.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct tidelog_receipt {
    /// Sequence number of the first event written.
    pub first_sequence_nr: u64,
    /// Sequence number of the last event written.
    pub last_sequence_nr: u64,
    /// Global offset of the first event; the others follow consecutively.
    pub first_global_offset: u64,
}

/// A finished asynchronous operation, as returned by `tidelog_queue_wait`.
#[repr(C)]
pub struct tidelog_completion {
    /// The token given at submission.
    pub token: u64,
    /// `TIDELOG_OK` or the failure's status code.
    pub status: i32,
    /// Reserved (0).
    pub reserved: u32,
    /// The receipt of a successful `tidelog_append_async`.
    pub receipt: tidelog_receipt,
    /// For `TIDELOG_SEQUENCE_CONFLICT`: expected sequence number.
    pub expected: u64,
    /// For `TIDELOG_SEQUENCE_CONFLICT`: actual sequence number.
    pub actual: u64,
    /// For a successful `tidelog_write_async`: the write results (see `tidelog_write`).
    /// For a failure: the UTF-8 error message. Otherwise null. Free with `tidelog_buffer_free`.
    pub buffer: *mut tidelog_buffer,
}

/// Snapshot selection: `min_sequence_nr <= sequence_nr <= max_sequence_nr`
/// and `min_timestamp <= timestamp <= max_timestamp`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tidelog_snapshot_criteria {
    /// Highest sequence number selected (inclusive).
    pub max_sequence_nr: u64,
    /// Latest timestamp selected (inclusive, Unix ms).
    pub max_timestamp: u64,
    /// Lowest sequence number selected (inclusive).
    pub min_sequence_nr: u64,
    /// Earliest timestamp selected (inclusive, Unix ms).
    pub min_timestamp: u64,
}

/// A decoded event of a page, pointing into the page buffer (see `tidelog_event_next`).
#[repr(C)]
pub struct tidelog_event_view {
    /// Position in the stream, from 1.
    pub sequence_nr: u64,
    /// Position in the whole journal.
    pub global_offset: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// Persistence id bytes (UTF-8).
    pub persistence_id: *const u8,
    /// Its length.
    pub persistence_id_len: usize,
    /// Manifest bytes (UTF-8).
    pub manifest: *const u8,
    /// Its length.
    pub manifest_len: usize,
    /// Writer id bytes (UTF-8).
    pub writer_id: *const u8,
    /// Its length.
    pub writer_id_len: usize,
    /// Metadata bytes.
    pub metadata: *const u8,
    /// Its length.
    pub metadata_len: usize,
    /// Number of tags.
    pub tag_count: u32,
    /// Reserved (0).
    pub reserved: u32,
    /// The encoded tags: `tag_count` x (`u32 len + bytes`).
    pub tags: *const u8,
    /// Length of the encoded tags.
    pub tags_len: usize,
    /// Payload bytes.
    pub payload: *const u8,
    /// Its length.
    pub payload_len: usize,
}

/// Counters of a journal (see the core's `MetricsSnapshot`).
#[repr(C)]
#[derive(Default)]
pub struct tidelog_metrics {
    /// Atomic writes committed.
    pub appends: u64,
    /// Events committed.
    pub events: u64,
    /// Encoded event bytes committed.
    pub bytes: u64,
    /// Group commits.
    pub batches: u64,
    /// Flushes to stable storage.
    pub fsyncs: u64,
    /// Writes failed by a storage error.
    pub failed_writes: u64,
    /// Writes refused with a sequence conflict.
    pub sequence_conflicts: u64,
    /// Torn tails truncated at open.
    pub repaired_tails: u64,
    /// Bytes truncated by tail repair.
    pub repaired_bytes: u64,
    /// Snapshots skipped for a bad checksum.
    pub skipped_corrupt_snapshots: u64,
    /// Times the LMDB map was grown.
    pub lmdb_map_resizes: u64,
    /// Segment files reclaimed after deletions.
    pub segments_reclaimed: u64,
}

// ---- errors --------------------------------------------------------------------------

/// The shared failure type: a status, a message, conflict details.
type FfiError = Failure;

/// Failures of this adapter itself.
fn invalid(message: impl Into<String>) -> FfiError {
    FfiError::new(TIDELOG_INVALID_ARGUMENT, message)
}

fn bad_handle(what: &str) -> FfiError {
    FfiError::new(
        TIDELOG_INVALID_HANDLE,
        format!("{what} is null, freed or not a handle of this library"),
    )
}

thread_local! {
    static LAST_ERROR: RefCell<FfiError> = RefCell::new(FfiError::new(TIDELOG_OK, ""));
}

fn set_last_error(e: FfiError) -> i32 {
    let code = e.status;
    LAST_ERROR.with(|l| *l.borrow_mut() = e);
    code
}

type FfiResult<T = ()> = Result<T, FfiError>;

/// Runs `f`, turning errors and panics into a status code.
fn guard(f: impl FnOnce() -> FfiResult) -> i32 {
    match tidelog_ffi::catch(f) {
        Ok(()) => TIDELOG_OK,
        Err(e) => set_last_error(e),
    }
}

// ---- handle registries -------------------------------------------------------------

static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(1);
static JOURNALS: LazyLock<RwLock<HashMap<usize, Journal>>> = LazyLock::new(Default::default);
static QUEUES: LazyLock<RwLock<HashMap<usize, Arc<CompletionQueue>>>> = LazyLock::new(Default::default);
static SUBSCRIPTIONS: LazyLock<RwLock<HashMap<usize, Arc<Subscription>>>> = LazyLock::new(Default::default);
static PAGE_QUEUES: LazyLock<RwLock<HashMap<usize, Arc<PageQueue>>>> = LazyLock::new(Default::default);
static BUFFERS: LazyLock<Mutex<HashSet<usize>>> = LazyLock::new(Default::default);

/// Handles are ids, never reused, handed out as pointers (8-aligned so they look like one).
fn new_handle() -> usize {
    NEXT_HANDLE.fetch_add(1, Ordering::Relaxed) << 3
}

fn journal(j: *const tidelog_journal) -> FfiResult<Journal> {
    JOURNALS
        .read()
        .get(&(j as usize))
        .cloned()
        .ok_or_else(|| bad_handle("journal handle"))
}

fn queue(q: *const tidelog_queue) -> FfiResult<Arc<CompletionQueue>> {
    QUEUES.read().get(&(q as usize)).cloned().ok_or_else(|| bad_handle("queue handle"))
}

/// A buffer: the public header first, then the bytes it points at.
#[repr(C)]
struct OwnedBuffer {
    header: tidelog_buffer,
    bytes: Vec<u8>,
}

fn new_buffer(bytes: Vec<u8>) -> *mut tidelog_buffer {
    let mut owned = Box::new(OwnedBuffer {
        header: tidelog_buffer {
            data: std::ptr::null(),
            len: bytes.len(),
        },
        bytes,
    });
    owned.header.data = owned.bytes.as_ptr();
    let ptr = Box::into_raw(owned) as *mut tidelog_buffer;
    BUFFERS.lock().insert(ptr as usize);
    ptr
}

// ---- argument helpers -----------------------------------------------------------------

unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(invalid(format!("{what} is null but its length is {len}")));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

unsafe fn utf8<'a>(ptr: *const u8, len: usize, what: &str) -> FfiResult<&'a str> {
    std::str::from_utf8(bytes(ptr, len, what)?).map_err(|e| invalid(format!("{what} is not valid UTF-8: {e}")))
}

fn out<'a, T>(ptr: *mut T, what: &str) -> FfiResult<&'a mut T> {
    // SAFETY: the caller passes a valid, writable pointer or null (refused here).
    unsafe { ptr.as_mut() }.ok_or_else(|| invalid(format!("output pointer {what} is null")))
}

/// Runs `f` and hands its bytes out as a new buffer in `*out_ptr` (null when it fails).
unsafe fn buffer_out(out_ptr: *mut *mut tidelog_buffer, what: &str, f: impl FnOnce() -> FfiResult<Vec<u8>>) -> i32 {
    guard(|| {
        let o = out(out_ptr, what)?;
        *o = std::ptr::null_mut();
        *o = new_buffer(f()?);
        Ok(())
    })
}

/// A count from C, saturated to the platform's size.
fn size(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn criteria(c: *const tidelog_snapshot_criteria) -> SnapshotCriteria {
    // SAFETY: null or a valid pointer, per the contract.
    match unsafe { c.as_ref() } {
        None => SnapshotCriteria::latest(),
        Some(c) => SnapshotCriteria::latest()
            .max_sequence_nr(c.max_sequence_nr)
            .max_timestamp(c.max_timestamp)
            .min_sequence_nr(c.min_sequence_nr)
            .min_timestamp(c.min_timestamp),
    }
}

// ---- library info and errors -----------------------------------------------------------

/// The version of this C ABI (`TIDELOG_ABI_VERSION` of the library actually loaded).
#[no_mangle]
pub extern "C" fn tidelog_abi_version() -> u32 {
    TIDELOG_ABI_VERSION
}

/// The library version as a static NUL-terminated string, e.g. `"0.1.0"`.
#[no_mangle]
pub extern "C" fn tidelog_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A static NUL-terminated name for a status's code (`"SEQUENCE_CONFLICT"`; the
/// `TIDELOG_RETRYABLE` flag is ignored), `"UNKNOWN"` for others.
#[no_mangle]
pub extern "C" fn tidelog_status_name(status: i32) -> *const std::ffi::c_char {
    // Static C strings, so nothing is allocated; the test checks them against `status::name`.
    let code = if status < 0 { status } else { status::code(status) };
    let name: &'static CStr = match code {
        TIDELOG_OK => c"OK",
        TIDELOG_CLOSED => c"CLOSED",
        TIDELOG_LOCKED => c"LOCKED",
        TIDELOG_SEQUENCE_CONFLICT => c"SEQUENCE_CONFLICT",
        TIDELOG_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
        TIDELOG_CORRUPT => c"CORRUPT",
        TIDELOG_UNSUPPORTED_FORMAT => c"UNSUPPORTED_FORMAT",
        TIDELOG_STORAGE_FULL => c"STORAGE_FULL",
        TIDELOG_IO => c"IO",
        TIDELOG_FAILED => c"FAILED",
        TIDELOG_INVALID_HANDLE => c"INVALID_HANDLE",
        TIDELOG_INTERNAL => c"INTERNAL",
        _ => c"UNKNOWN",
    };
    name.as_ptr()
}

/// Copies the details of the last failure on this thread into `*out`.
/// Returns `TIDELOG_INVALID_ARGUMENT` only when `out` is null.
#[no_mangle]
pub unsafe extern "C" fn tidelog_last_error(out: *mut tidelog_error) -> i32 {
    let Some(out) = out.as_mut() else { return TIDELOG_INVALID_ARGUMENT };
    LAST_ERROR.with(|l| {
        let l = l.borrow();
        *out = tidelog_error {
            code: l.status,
            expected: l.expected,
            actual: l.actual,
            message: l.message.as_ptr(),
            message_len: l.message.len(),
        };
    });
    TIDELOG_OK
}

/// Writes the status code of every error kind of the core into `out[0..capacity]`
/// and their number into `*out_count`, so a binding can check that it maps each.
#[no_mangle]
pub unsafe extern "C" fn tidelog_error_statuses(out_statuses: *mut i32, capacity: usize, out_count: *mut usize) -> i32 {
    guard(|| {
        let count = out(out_count, "out_count")?;
        *count = ErrorKind::ALL.len();
        if capacity < ErrorKind::ALL.len() || out_statuses.is_null() {
            return Err(invalid(format!("room for {} statuses is needed", ErrorKind::ALL.len())));
        }
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            out_statuses.add(i).write(status::of_kind(*kind));
        }
        Ok(())
    })
}

// ---- buffers -------------------------------------------------------------------------------

/// Releases a buffer returned by the library. A null, unknown or already
/// freed buffer is refused with `TIDELOG_INVALID_HANDLE` (nothing is freed).
#[no_mangle]
pub unsafe extern "C" fn tidelog_buffer_free(buffer: *mut tidelog_buffer) -> i32 {
    guard(|| {
        if !BUFFERS.lock().remove(&(buffer as usize)) {
            return Err(bad_handle("buffer"));
        }
        drop(Box::from_raw(buffer as *mut OwnedBuffer));
        Ok(())
    })
}

/// Decodes the event at `*pos` of an event page (`data[0..len]`, as returned
/// by `tidelog_read` and friends; start with `*pos = 4`, after the count) into
/// `*out`, whose pointers point into `data`, and advances `*pos`. Pass the same
/// `*out` for every event of a page: a string equal to the previous event's is
/// stored once, and `*out` holds it.
/// Returns `TIDELOG_INVALID_ARGUMENT` when the page is malformed or exhausted.
#[no_mangle]
pub unsafe extern "C" fn tidelog_event_next(data: *const u8, len: usize, pos: *mut usize, out: *mut tidelog_event_view) -> i32 {
    guard(|| {
        let buf = bytes(data, len, "data")?;
        let pos = self::out(pos, "pos")?;
        let view = self::out(out, "out")?;
        if *pos > buf.len() {
            return Err(invalid("pos is past the end of the page"));
        }
        let mut r = Reader::at(buf, *pos);
        // A string the page repeats from the previous event stands for the one `*out` still
        // holds (callers reuse one view per page); its pointers are trusted only inside the page.
        let inside = |ptr: *const u8, n: usize| {
            let start = (ptr as usize).checked_sub(buf.as_ptr() as usize)?;
            buf.get(start..start.checked_add(n)?)
        };
        // The first event of a page repeats nothing (and `*out` may be uninitialized then).
        let previous = if *pos <= 4 {
            None
        } else {
            match (
                inside(view.persistence_id, view.persistence_id_len),
                inside(view.manifest, view.manifest_len),
                inside(view.writer_id, view.writer_id_len),
            ) {
                (Some(persistence_id), Some(manifest), Some(writer_id)) => Some(wire::EventView {
                    persistence_id,
                    manifest,
                    writer_id,
                    ..wire::EventView::default()
                }),
                _ => None,
            }
        };
        let e = r.event(previous.as_ref())?;
        *view = tidelog_event_view {
            sequence_nr: e.sequence_nr,
            global_offset: e.global_offset,
            timestamp: e.timestamp,
            persistence_id: e.persistence_id.as_ptr(),
            persistence_id_len: e.persistence_id.len(),
            manifest: e.manifest.as_ptr(),
            manifest_len: e.manifest.len(),
            writer_id: e.writer_id.as_ptr(),
            writer_id_len: e.writer_id.len(),
            metadata: e.metadata.as_ptr(),
            metadata_len: e.metadata.len(),
            tag_count: e.tag_count,
            reserved: 0,
            tags: e.tags.as_ptr(),
            tags_len: e.tags.len(),
            payload: e.payload.as_ptr(),
            payload_len: e.payload.len(),
        };
        *pos = r.position();
        Ok(())
    })
}

// ---- open and close ------------------------------------------------------------------------

/// Fills `*options` with the defaults: LMDB, `TIDELOG_SYNC_ALWAYS`, batches of up to
/// 4096 events / 4 MiB, no batch delay, events up to 64 MiB, 5 s close timeout.
#[no_mangle]
pub unsafe extern "C" fn tidelog_options_init(options: *mut tidelog_options) -> i32 {
    guard(|| {
        let o = out(options, "options")?;
        *o = tidelog_options {
            struct_size: std::mem::size_of::<tidelog_options>() as u32,
            backend: TIDELOG_BACKEND_LMDB,
            sync: TIDELOG_SYNC_ALWAYS,
            read_only: 0,
            sync_interval_ms: 100,
            max_batch_events: 4096,
            max_batch_bytes: 4 << 20,
            max_batch_delay_us: 0,
            max_event_bytes: 64 << 20,
            close_timeout_ms: 5000,
            lmdb_map_size: 64 << 20,
            segment_bytes: 64 << 20,
            snapshot_compression: 0,
            reserved: 0,
        };
        Ok(())
    })
}

fn to_options(o: &tidelog_options) -> FfiResult<Options> {
    if (o.struct_size as usize) < std::mem::size_of::<tidelog_options>() {
        return Err(invalid(
            "options.struct_size is too small: initialise the options with tidelog_options_init",
        ));
    }
    let mut record = [0u64; field::COUNT];
    record[field::PRESENT] = field::ALL;
    record[field::BACKEND] = o.backend.into();
    record[field::SYNC] = o.sync.into();
    record[field::SYNC_INTERVAL_US] = o.sync_interval_ms.saturating_mul(1000);
    record[field::MAX_BATCH_EVENTS] = o.max_batch_events;
    record[field::MAX_BATCH_BYTES] = o.max_batch_bytes;
    record[field::MAX_BATCH_DELAY_US] = o.max_batch_delay_us;
    record[field::MAX_EVENT_BYTES] = o.max_event_bytes;
    record[field::CLOSE_TIMEOUT_US] = o.close_timeout_ms.saturating_mul(1000);
    record[field::LMDB_MAP_SIZE] = o.lmdb_map_size;
    record[field::SEGMENT_BYTES] = o.segment_bytes;
    record[field::READ_ONLY] = o.read_only.into();
    record[field::SNAPSHOT_COMPRESSION] = o.snapshot_compression.into();
    Ok(tidelog_ffi::decode_options(&record)?)
}

/// Opens (creating if needed) the journal at `path` (UTF-8, `path_len` bytes).
/// `options` may be null for the defaults. On success `*out` is the handle.
#[no_mangle]
pub unsafe extern "C" fn tidelog_journal_open(
    path: *const u8,
    path_len: usize,
    options: *const tidelog_options,
    out_journal: *mut *mut tidelog_journal,
) -> i32 {
    guard(|| {
        let out_journal = out(out_journal, "out_journal")?;
        *out_journal = std::ptr::null_mut();
        let path = utf8(path, path_len, "path")?;
        let options = match options.as_ref() {
            None => Options::new(),
            Some(o) => to_options(o)?,
        };
        let journal = Journal::open(path, options)?;
        let handle = new_handle();
        JOURNALS.write().insert(handle, journal);
        *out_journal = handle as *mut tidelog_journal;
        Ok(())
    })
}

/// Closes the journal: stops intake, commits what is queued within the close
/// timeout, fails the rest with `TIDELOG_CLOSED`, releases files and lock.
/// Idempotent. The handle stays valid (every operation then fails with
/// `TIDELOG_CLOSED`) until `tidelog_journal_free`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_journal_close(journal_handle: *mut tidelog_journal) -> i32 {
    guard(|| Ok(journal(journal_handle)?.close()?))
}

/// Fails with `TIDELOG_INVALID_ARGUMENT`, naming the first option in which `options`
/// (null: the defaults) differs from those the journal was opened with. For
/// components that share one open journal but are configured apart.
#[no_mangle]
pub unsafe extern "C" fn tidelog_journal_check_options(journal_handle: *mut tidelog_journal, options: *const tidelog_options) -> i32 {
    guard(|| {
        let options = match options.as_ref() {
            None => Options::new(),
            Some(o) => to_options(o)?,
        };
        Ok(journal(journal_handle)?.check_options(&options)?)
    })
}

/// Closes the journal if needed and releases the handle. A second free (or
/// any later use of the handle) fails with `TIDELOG_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_journal_free(journal_handle: *mut tidelog_journal) -> i32 {
    guard(|| {
        let j = JOURNALS
            .write()
            .remove(&(journal_handle as usize))
            .ok_or_else(|| bad_handle("journal handle"))?;
        Ok(j.close()?)
    })
}

// ---- blocking writes -----------------------------------------------------------------------

/// Appends an encoded event list to a stream as one atomic write (sequence
/// numbers assigned by the journal); blocks until committed per the sync policy.
/// `out_receipt` may be null.
#[no_mangle]
pub unsafe extern "C" fn tidelog_append(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    events: *const u8,
    events_len: usize,
    out_receipt: *mut tidelog_receipt,
) -> i32 {
    guard(|| {
        let j = journal(journal_handle)?;
        let pid = utf8(persistence_id, persistence_id_len, "persistence id")?;
        let receipt = j.append(pid, wire::decode_events(bytes(events, events_len, "events")?)?)?;
        if let Some(o) = out_receipt.as_mut() {
            *o = receipt.into();
        }
        Ok(())
    })
}

/// Commits an encoded write list in one group commit; blocks. Returns `TIDELOG_OK`
/// when the call itself succeeded: each write's own result is in
/// `*out_results`, `u32 count` then per write `i32 status`, `u32 message_len`,
/// `u64 a`, `u64 b`, `u64 c`, message bytes (on success a, b, c are the
/// receipt; on `TIDELOG_SEQUENCE_CONFLICT` a = expected, b = actual).
#[no_mangle]
pub unsafe extern "C" fn tidelog_write(
    journal_handle: *mut tidelog_journal,
    writes: *const u8,
    writes_len: usize,
    out_results: *mut *mut tidelog_buffer,
) -> i32 {
    buffer_out(out_results, "out_results", || {
        let j = journal(journal_handle)?;
        let results = j.write(wire::decode_writes(bytes(writes, writes_len, "writes")?)?)?;
        Ok(wire::encode_results(&results))
    })
}

/// Deletes a stream's events up to and including `to_sequence_nr`; blocks.
/// The highest sequence number is kept.
#[no_mangle]
pub unsafe extern "C" fn tidelog_delete_to(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    to_sequence_nr: u64,
) -> i32 {
    guard(|| {
        let j = journal(journal_handle)?;
        let pid = utf8(persistence_id, persistence_id_len, "persistence id")?;
        Ok(j.delete_to(pid, to_sequence_nr)?)
    })
}

/// Waits until everything submitted before is committed and on stable storage.
#[no_mangle]
pub unsafe extern "C" fn tidelog_flush(journal_handle: *mut tidelog_journal) -> i32 {
    guard(|| Ok(journal(journal_handle)?.flush()?))
}

// ---- reads ----------------------------------------------------------------------------------

/// Highest sequence number ever committed for the stream (0 if none); survives deletion.
#[no_mangle]
pub unsafe extern "C" fn tidelog_highest_sequence_nr(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    out_sequence_nr: *mut u64,
) -> i32 {
    guard(|| {
        let o = out(out_sequence_nr, "out_sequence_nr")?;
        let j = journal(journal_handle)?;
        *o = j.highest_sequence_nr(utf8(persistence_id, persistence_id_len, "persistence id")?)?;
        Ok(())
    })
}

/// The global offset the next committed event will get (1 for an empty journal):
/// where a "current" query over the whole feed or a tag stops.
#[no_mangle]
pub unsafe extern "C" fn tidelog_next_global_offset(journal_handle: *mut tidelog_journal, out_offset: *mut u64) -> i32 {
    guard(|| {
        let o = out(out_offset, "out_offset")?;
        *o = journal(journal_handle)?.next_global_offset()?;
        Ok(())
    })
}

/// Reads a page of a stream: events with `from <= sequence_nr <= to`, at most
/// `max`, oldest first, into one encoded page buffer (`*out_page`).
#[no_mangle]
pub unsafe extern "C" fn tidelog_read(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    from_sequence_nr: u64,
    to_sequence_nr: u64,
    max: u64,
    out_page: *mut *mut tidelog_buffer,
) -> i32 {
    buffer_out(out_page, "out_page", || {
        let j = journal(journal_handle)?;
        let pid = utf8(persistence_id, persistence_id_len, "persistence id")?;
        let scope = Scope::Stream {
            persistence_id: pid,
            from: from_sequence_nr,
            to: to_sequence_nr,
        };
        Ok(wire::read_page(&j, scope, size(max), usize::MAX)?)
    })
}

/// Reads a page of events carrying `tag` with `global_offset >= from_offset`,
/// in commit order, at most `max`. Resume from the last `global_offset + 1`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_events_by_tag(
    journal_handle: *mut tidelog_journal,
    tag: *const u8,
    tag_len: usize,
    from_offset: u64,
    max: u64,
    out_page: *mut *mut tidelog_buffer,
) -> i32 {
    buffer_out(out_page, "out_page", || {
        let j = journal(journal_handle)?;
        let tag = utf8(tag, tag_len, "tag")?;
        Ok(wire::read_page(&j, Scope::Tag { tag, from_offset }, size(max), usize::MAX)?)
    })
}

/// Reads a page of every live event with `global_offset >= from_offset`, in commit order, at most `max`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_all_events(
    journal_handle: *mut tidelog_journal,
    from_offset: u64,
    max: u64,
    out_page: *mut *mut tidelog_buffer,
) -> i32 {
    buffer_out(out_page, "out_page", || {
        let j = journal(journal_handle)?;
        Ok(wire::read_page(&j, Scope::All { from_offset }, size(max), usize::MAX)?)
    })
}

/// Every persistence id ever written, sorted: `u32 count` then `u32 len + bytes` each.
#[no_mangle]
pub unsafe extern "C" fn tidelog_persistence_ids(journal_handle: *mut tidelog_journal, out_ids: *mut *mut tidelog_buffer) -> i32 {
    buffer_out(out_ids, "out_ids", || {
        let ids = journal(journal_handle)?.persistence_ids()?;
        Ok(wire::encode_strings(&ids))
    })
}

/// Copies the journal's counters into `*out_metrics`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_metrics_get(journal_handle: *mut tidelog_journal, out_metrics: *mut tidelog_metrics) -> i32 {
    guard(|| {
        let o = out(out_metrics, "out_metrics")?;
        let m = journal(journal_handle)?.metrics();
        *o = tidelog_metrics {
            appends: m.appends,
            events: m.events,
            bytes: m.bytes,
            batches: m.batches,
            fsyncs: m.fsyncs,
            failed_writes: m.failed_writes,
            sequence_conflicts: m.sequence_conflicts,
            repaired_tails: m.repaired_tails,
            repaired_bytes: m.repaired_bytes,
            skipped_corrupt_snapshots: m.skipped_corrupt_snapshots,
            lmdb_map_resizes: m.lmdb_map_resizes,
            segments_reclaimed: m.segments_reclaimed,
        };
        Ok(())
    })
}

/// Where the journal lives (UTF-8 buffer): its directory, or its PostgreSQL URI without the
/// password (the core never keeps the password where it could be shown).
#[no_mangle]
pub unsafe extern "C" fn tidelog_journal_location(journal_handle: *mut tidelog_journal, out_location: *mut *mut tidelog_buffer) -> i32 {
    buffer_out(out_location, "out_location", || {
        Ok(journal(journal_handle)?.path().to_string_lossy().into_owned().into_bytes())
    })
}

/// The journal's metrics in the Prometheus text format (UTF-8 buffer).
#[no_mangle]
pub unsafe extern "C" fn tidelog_metrics_prometheus(journal_handle: *mut tidelog_journal, out_text: *mut *mut tidelog_buffer) -> i32 {
    buffer_out(out_text, "out_text", || {
        let text = journal(journal_handle)?.metrics().to_prometheus();
        Ok(text.into_bytes())
    })
}

// ---- snapshots ----------------------------------------------------------------------------

/// Fills `*criteria` with "select every snapshot".
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_criteria_init(criteria: *mut tidelog_snapshot_criteria) -> i32 {
    guard(|| {
        *out(criteria, "criteria")? = tidelog_snapshot_criteria {
            max_sequence_nr: u64::MAX,
            max_timestamp: u64::MAX,
            min_sequence_nr: 0,
            min_timestamp: 0,
        };
        Ok(())
    })
}

/// Saves a snapshot atomically and durably (blocking file I/O); one with the
/// same sequence number is replaced.
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_save(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    sequence_nr: u64,
    timestamp: u64,
    manifest: *const u8,
    manifest_len: usize,
    metadata: *const u8,
    metadata_len: usize,
    state: *const u8,
    state_len: usize,
) -> i32 {
    guard(|| {
        let j = journal(journal_handle)?;
        let snapshot = Snapshot {
            persistence_id: utf8(persistence_id, persistence_id_len, "persistence id")?.to_owned(),
            sequence_nr,
            timestamp,
            manifest: utf8(manifest, manifest_len, "manifest")?.to_owned(),
            metadata: bytes(metadata, metadata_len, "metadata")?.to_vec(),
            state: bytes(state, state_len, "state")?.to_vec(),
        };
        Ok(j.snapshots().save(&snapshot)?)
    })
}

/// Loads the newest snapshot matching `criteria` (null = any). `*out_snapshot`
/// is null when none matches, else a buffer: `u64 sequence_nr`, `u64 timestamp`,
/// `u32 len + manifest`, `u32 len + metadata`, `u32 len + state`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_load(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    criteria_ptr: *const tidelog_snapshot_criteria,
    out_snapshot: *mut *mut tidelog_buffer,
) -> i32 {
    guard(|| {
        let o = out(out_snapshot, "out_snapshot")?;
        *o = std::ptr::null_mut();
        let j = journal(journal_handle)?;
        let pid = utf8(persistence_id, persistence_id_len, "persistence id")?;
        if let Some(s) = j.snapshots().load(pid, criteria(criteria_ptr))? {
            *o = new_buffer(wire::encode_snapshot(&s));
        }
        Ok(())
    })
}

/// Lists a stream's snapshots, oldest first: `u32 count` then `u64 sequence_nr`, `u64 timestamp` each.
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_list(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    out_list: *mut *mut tidelog_buffer,
) -> i32 {
    buffer_out(out_list, "out_list", || {
        let j = journal(journal_handle)?;
        let infos = j.snapshots().list(utf8(persistence_id, persistence_id_len, "persistence id")?)?;
        Ok(wire::encode_snapshot_infos(&infos))
    })
}

/// Deletes the snapshot at `sequence_nr`; `*out_deleted` (may be null) is 1 when one was deleted.
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_delete(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    sequence_nr: u64,
    out_deleted: *mut u32,
) -> i32 {
    guard(|| {
        let j = journal(journal_handle)?;
        let deleted = j
            .snapshots()
            .delete(utf8(persistence_id, persistence_id_len, "persistence id")?, sequence_nr)?;
        if let Some(o) = out_deleted.as_mut() {
            *o = deleted as u32;
        }
        Ok(())
    })
}

/// Deletes every snapshot matching `criteria` (null = all); `*out_count` (may be null) is how many.
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_delete_matching(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    criteria_ptr: *const tidelog_snapshot_criteria,
    out_count: *mut u64,
) -> i32 {
    guard(|| {
        let j = journal(journal_handle)?;
        let n = j
            .snapshots()
            .delete_matching(utf8(persistence_id, persistence_id_len, "persistence id")?, criteria(criteria_ptr))?;
        if let Some(o) = out_count.as_mut() {
            *o = n as u64;
        }
        Ok(())
    })
}

/// Keeps the `keep_last_n` newest snapshots of a stream; `*out_count` (may be null) is how many were deleted.
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_prune(
    journal_handle: *mut tidelog_journal,
    persistence_id: *const u8,
    persistence_id_len: usize,
    keep_last_n: u64,
    out_count: *mut u64,
) -> i32 {
    guard(|| {
        let j = journal(journal_handle)?;
        let n = j
            .snapshots()
            .prune(utf8(persistence_id, persistence_id_len, "persistence id")?, size(keep_last_n))?;
        if let Some(o) = out_count.as_mut() {
            *o = n as u64;
        }
        Ok(())
    })
}

/// Every persistence id with at least one snapshot: `u32 count` then `u32 len + bytes` each.
#[no_mangle]
pub unsafe extern "C" fn tidelog_snapshot_persistence_ids(journal_handle: *mut tidelog_journal, out_ids: *mut *mut tidelog_buffer) -> i32 {
    buffer_out(out_ids, "out_ids", || {
        let ids = journal(journal_handle)?.snapshots().persistence_ids()?;
        Ok(wire::encode_strings(&ids))
    })
}

// ---- completion queue and asynchronous writes -----------------------------------------------

/// Creates a completion queue. One queue can serve many journals.
#[no_mangle]
pub unsafe extern "C" fn tidelog_queue_new(out_queue: *mut *mut tidelog_queue) -> i32 {
    guard(|| {
        let o = out(out_queue, "out_queue")?;
        let handle = new_handle();
        QUEUES.write().insert(handle, CompletionQueue::new());
        *o = handle as *mut tidelog_queue;
        Ok(())
    })
}

/// Waits until at least one operation finished (or `timeout_ms` passed; a
/// negative timeout waits forever), then moves up to `capacity` completions
/// into `out[0..]` and sets `*out_count`. Each completion's `buffer`, when not
/// null, is the caller's to free. Returns `TIDELOG_CLOSED` (with `*out_count` = 0)
/// once the queue was shut down and is empty.
#[no_mangle]
pub unsafe extern "C" fn tidelog_queue_wait(
    queue_handle: *mut tidelog_queue,
    out_completions: *mut tidelog_completion,
    capacity: usize,
    timeout_ms: i64,
    out_count: *mut usize,
) -> i32 {
    guard(|| {
        let count = out(out_count, "out_count")?;
        *count = 0;
        if out_completions.is_null() || capacity == 0 {
            return Err(invalid("out_completions is null or capacity is 0"));
        }
        let q = queue(queue_handle)?;
        let timeout = (timeout_ms >= 0).then(|| Duration::from_millis(timeout_ms as u64));
        let items = q
            .take(capacity, timeout)
            .map_err(|_| FfiError::new(TIDELOG_CLOSED, "completion queue was shut down"))?;
        *count = items.len();
        for (i, c) in items.into_iter().enumerate() {
            out_completions.add(i).write(completion(c));
        }
        Ok(())
    })
}

/// The C form of a completion; its buffer (a message or write results) is the caller's to free.
fn completion(c: Completion) -> tidelog_completion {
    let mut done = tidelog_completion {
        token: c.token,
        status: TIDELOG_OK,
        reserved: 0,
        receipt: tidelog_receipt::default(),
        expected: 0,
        actual: 0,
        buffer: std::ptr::null_mut(),
    };
    match c.outcome {
        Outcome::Receipt(r) => done.receipt = r.into(),
        Outcome::Unit => {}
        Outcome::Writes(results) => done.buffer = new_buffer(wire::encode_results(&results)),
        Outcome::Failed(e) => {
            let f = Failure::from(e);
            (done.status, done.expected, done.actual) = (f.status, f.expected, f.actual);
            done.buffer = new_buffer(f.message.into_bytes());
        }
    }
    done
}

impl From<WriteReceipt> for tidelog_receipt {
    fn from(r: WriteReceipt) -> Self {
        tidelog_receipt {
            first_sequence_nr: r.first_sequence_nr,
            last_sequence_nr: r.last_sequence_nr,
            first_global_offset: r.first_global_offset,
        }
    }
}

/// Shuts the queue down: waiters wake, and `tidelog_queue_wait` returns `TIDELOG_CLOSED`
/// once every completion already queued was drained. Operations still running
/// complete into the queue; drain it again to free their buffers.
#[no_mangle]
pub unsafe extern "C" fn tidelog_queue_shutdown(queue_handle: *mut tidelog_queue) -> i32 {
    guard(|| {
        queue(queue_handle)?.shutdown(false);
        Ok(())
    })
}

/// Shuts the queue down and releases the handle; completions not drained are
/// dropped (their buffers freed). A second free fails with `TIDELOG_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_queue_free(queue_handle: *mut tidelog_queue) -> i32 {
    guard(|| {
        let q = QUEUES
            .write()
            .remove(&(queue_handle as usize))
            .ok_or_else(|| bad_handle("queue handle"))?;
        q.shutdown(true);
        Ok(())
    })
}

fn submit_prelude(journal_handle: *mut tidelog_journal, queue_handle: *mut tidelog_queue) -> FfiResult<(Journal, Arc<CompletionQueue>)> {
    Ok((journal(journal_handle)?, queue(queue_handle)?))
}

/// Submits an append (see `tidelog_append`). On `TIDELOG_OK`, exactly one completion
/// with `token` arrives in the queue (its status says whether the append
/// succeeded, its `receipt` what was written). On any other return nothing was
/// submitted and no completion arrives.
#[no_mangle]
pub unsafe extern "C" fn tidelog_append_async(
    journal_handle: *mut tidelog_journal,
    queue_handle: *mut tidelog_queue,
    token: u64,
    persistence_id: *const u8,
    persistence_id_len: usize,
    events: *const u8,
    events_len: usize,
) -> i32 {
    guard(|| {
        let (j, q) = submit_prelude(journal_handle, queue_handle)?;
        let pid = utf8(persistence_id, persistence_id_len, "persistence id")?;
        q.append(&j, token, pid, wire::decode_events(bytes(events, events_len, "events")?)?);
        Ok(())
    })
}

/// Submits an encoded write list (see `tidelog_write`). The completion's buffer
/// holds the per-write results.
#[no_mangle]
pub unsafe extern "C" fn tidelog_write_async(
    journal_handle: *mut tidelog_journal,
    queue_handle: *mut tidelog_queue,
    token: u64,
    writes: *const u8,
    writes_len: usize,
) -> i32 {
    guard(|| {
        let (j, q) = submit_prelude(journal_handle, queue_handle)?;
        q.write(&j, token, wire::decode_writes(bytes(writes, writes_len, "writes")?)?);
        Ok(())
    })
}

/// Submits a deletion (see `tidelog_delete_to`).
#[no_mangle]
pub unsafe extern "C" fn tidelog_delete_to_async(
    journal_handle: *mut tidelog_journal,
    queue_handle: *mut tidelog_queue,
    token: u64,
    persistence_id: *const u8,
    persistence_id_len: usize,
    to_sequence_nr: u64,
) -> i32 {
    guard(|| {
        let (j, q) = submit_prelude(journal_handle, queue_handle)?;
        let pid = utf8(persistence_id, persistence_id_len, "persistence id")?;
        q.delete_to(&j, token, pid, to_sequence_nr);
        Ok(())
    })
}

/// Submits a flush (see `tidelog_flush`).
#[no_mangle]
pub unsafe extern "C" fn tidelog_flush_async(journal_handle: *mut tidelog_journal, queue_handle: *mut tidelog_queue, token: u64) -> i32 {
    guard(|| {
        let (j, q) = submit_prelude(journal_handle, queue_handle)?;
        q.flush(&j, token);
        Ok(())
    })
}

// ---- subscriptions (live tails) -----------------------------------------------------------

/// Subscription scope: one stream, from a sequence number.
pub const TIDELOG_SCOPE_STREAM: u32 = 0;
/// Subscription scope: one tag, from a global offset.
pub const TIDELOG_SCOPE_TAG: u32 = 1;
/// Subscription scope: every event, from a global offset.
pub const TIDELOG_SCOPE_ALL: u32 = 2;

/// A live subscription to a journal's committed events (opaque).
pub struct tidelog_subscription {
    _private: [u8; 0],
}

/// A queue of subscription batches (opaque), drained with `tidelog_page_queue_wait`.
pub struct tidelog_page_queue {
    _private: [u8; 0],
}

fn subscription(s: *const tidelog_subscription) -> FfiResult<Arc<Subscription>> {
    SUBSCRIPTIONS
        .read()
        .get(&(s as usize))
        .cloned()
        .ok_or_else(|| bad_handle("subscription handle"))
}

fn page_queue(q: *const tidelog_page_queue) -> FfiResult<Arc<PageQueue>> {
    PAGE_QUEUES
        .read()
        .get(&(q as usize))
        .cloned()
        .ok_or_else(|| bad_handle("page queue handle"))
}

/// A timeout from C: negative waits forever.
fn timeout(ms: i64) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// Opens a subscription: `TIDELOG_SCOPE_STREAM` follows the stream `key` from sequence nr
/// `from`, `TIDELOG_SCOPE_TAG` the tag `key` from global offset `from`, `TIDELOG_SCOPE_ALL`
/// every event from global offset `from` (`key` ignored; `from` 0 and 1 both mean "from the
/// beginning"). It catches up from storage and then follows new commits, each committed event
/// once, in order, woken by the writer (no polling). It does not keep the journal open: closing
/// the journal ends it. Release it with `tidelog_subscription_free`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_subscribe(
    journal_handle: *mut tidelog_journal,
    scope: u32,
    key: *const u8,
    key_len: usize,
    from: u64,
    out_subscription: *mut *mut tidelog_subscription,
) -> i32 {
    guard(|| {
        let o = out(out_subscription, "out_subscription")?;
        *o = std::ptr::null_mut();
        let j = journal(journal_handle)?;
        let sub = tail::subscribe(&j, scope, utf8(key, key_len, "key")?, from)?;
        let handle = new_handle();
        SUBSCRIPTIONS.write().insert(handle, Arc::new(sub));
        *o = handle as *mut tidelog_subscription;
        Ok(())
    })
}

/// Blocks until at least one event is available (or `timeout_ms` passed; negative waits
/// forever, 0 takes what is available now) and returns at most `max` of them as one event
/// page (count 0 when the timeout passed first). `TIDELOG_CLOSED` once the subscription was
/// cancelled or freed, or its journal closed: the end of the subscription.
/// For a thread of your own (a blocking iterator); see `tidelog_subscription_request` otherwise.
#[no_mangle]
pub unsafe extern "C" fn tidelog_subscription_next(
    subscription_handle: *mut tidelog_subscription,
    max: u64,
    timeout_ms: i64,
    out_page: *mut *mut tidelog_buffer,
) -> i32 {
    buffer_out(out_page, "out_page", || {
        let sub = subscription(subscription_handle)?;
        Ok(match timeout_ms {
            0 => tail::try_next_page(&sub, size(max))?,
            ms => tail::next_page(&sub, size(max), timeout(ms))?,
        })
    })
}

/// Asks for the subscription's next batch of at most `max` events without blocking. On
/// `TIDELOG_OK` exactly one completion with `token` arrives in `page_queue`: an event page
/// (at least one event), or `TIDELOG_CLOSED` when the subscription ended (cancel, free,
/// journal closed), before or while it waited. One request per subscription at a time: a
/// second one while the first is pending completes with `TIDELOG_INVALID_ARGUMENT`. On any
/// other return (a bad handle) nothing was submitted.
/// The library reads the batch on the calling thread (events available now) or on its own
/// tail thread, and only pushes it into the queue: it never calls into the host.
#[no_mangle]
pub unsafe extern "C" fn tidelog_subscription_request(
    subscription_handle: *mut tidelog_subscription,
    page_queue_handle: *mut tidelog_page_queue,
    token: u64,
    max: u64,
) -> i32 {
    guard(|| {
        let sub = subscription(subscription_handle)?;
        let q = page_queue(page_queue_handle)?;
        q.next_page(&sub, token, size(max));
        Ok(())
    })
}

/// The position the subscription delivers next, its resume point: a global offset (tag, all)
/// or a sequence number (stream).
#[no_mangle]
pub unsafe extern "C" fn tidelog_subscription_position(subscription_handle: *mut tidelog_subscription, out_position: *mut u64) -> i32 {
    guard(|| {
        let o = out(out_position, "out_position")?;
        *o = subscription(subscription_handle)?.position();
        Ok(())
    })
}

/// Ends the subscription, from any thread (idempotent): a blocked `tidelog_subscription_next`
/// returns `TIDELOG_CLOSED`, a pending request completes with `TIDELOG_CLOSED`, later calls
/// fail with it. The handle stays valid until `tidelog_subscription_free`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_subscription_cancel(subscription_handle: *mut tidelog_subscription) -> i32 {
    guard(|| {
        subscription(subscription_handle)?.cancel();
        Ok(())
    })
}

/// Cancels the subscription (see `tidelog_subscription_cancel`) and releases the handle. A
/// second free fails with `TIDELOG_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_subscription_free(subscription_handle: *mut tidelog_subscription) -> i32 {
    guard(|| {
        let sub = SUBSCRIPTIONS
            .write()
            .remove(&(subscription_handle as usize))
            .ok_or_else(|| bad_handle("subscription handle"))?;
        sub.cancel(); // a thread still blocked in it holds a reference: wake it now
        Ok(())
    })
}

/// Creates a page queue: subscription batches requested with `tidelog_subscription_request`
/// arrive there. One queue can serve many subscriptions of many journals.
#[no_mangle]
pub unsafe extern "C" fn tidelog_page_queue_new(out_queue: *mut *mut tidelog_page_queue) -> i32 {
    guard(|| {
        let o = out(out_queue, "out_queue")?;
        let handle = new_handle();
        PAGE_QUEUES.write().insert(handle, PageQueue::new());
        *o = handle as *mut tidelog_page_queue;
        Ok(())
    })
}

/// Waits until at least one batch arrived (or `timeout_ms` passed; negative waits forever),
/// then moves up to `capacity` of them into one buffer, `*out_batch` (null when the timeout
/// passed first): a "Subscription batch" of `core/docs/wire.md`, `u32 count`, then per batch
/// `u64 token`, `i32 status`, then `u32 len` + that many bytes: an event page (status 0) or
/// a UTF-8 message. One crossing for every batch that finished. Returns `TIDELOG_CLOSED` once the
/// queue was shut down and is empty.
#[no_mangle]
pub unsafe extern "C" fn tidelog_page_queue_wait(
    queue_handle: *mut tidelog_page_queue,
    capacity: usize,
    timeout_ms: i64,
    out_batch: *mut *mut tidelog_buffer,
) -> i32 {
    guard(|| {
        let o = out(out_batch, "out_batch")?;
        *o = std::ptr::null_mut();
        if capacity == 0 {
            return Err(invalid("capacity is 0"));
        }
        let q = page_queue(queue_handle)?;
        let done = q
            .take(capacity, timeout(timeout_ms))
            .map_err(|_| FfiError::new(TIDELOG_CLOSED, "page queue was shut down"))?;
        if !done.is_empty() {
            *o = new_buffer(tail::encode_page_completions(&done));
        }
        Ok(())
    })
}

/// Shuts the page queue down: waiters wake, and `tidelog_page_queue_wait` returns
/// `TIDELOG_CLOSED` once every batch already queued was drained.
#[no_mangle]
pub unsafe extern "C" fn tidelog_page_queue_shutdown(queue_handle: *mut tidelog_page_queue) -> i32 {
    guard(|| {
        page_queue(queue_handle)?.shutdown(false);
        Ok(())
    })
}

/// Shuts the page queue down and releases the handle; batches not drained are dropped. A
/// second free fails with `TIDELOG_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn tidelog_page_queue_free(queue_handle: *mut tidelog_page_queue) -> i32 {
    guard(|| {
        let q = PAGE_QUEUES
            .write()
            .remove(&(queue_handle as usize))
            .ok_or_else(|| bad_handle("page queue handle"))?;
        q.shutdown(true);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_codes_are_the_ffi_layer_s() {
        assert_eq!(
            [TIDELOG_SCOPE_STREAM, TIDELOG_SCOPE_TAG, TIDELOG_SCOPE_ALL],
            [tail::SCOPE_STREAM, tail::SCOPE_TAG, tail::SCOPE_ALL]
        );
    }

    #[test]
    fn the_retryable_flag_is_the_shared_one_and_names_ignore_it() {
        assert_eq!(TIDELOG_RETRYABLE, status::RETRYABLE);
        let name = unsafe { CStr::from_ptr(tidelog_status_name(TIDELOG_IO | TIDELOG_RETRYABLE)) };
        assert_eq!(name.to_str().unwrap(), "IO");
        assert_eq!(TIDELOG_BACKEND_POSTGRES, 3);
    }

    #[test]
    fn every_error_kind_has_the_shared_status_and_its_name() {
        let named = [
            TIDELOG_CLOSED,
            TIDELOG_LOCKED,
            TIDELOG_SEQUENCE_CONFLICT,
            TIDELOG_INVALID_ARGUMENT,
            TIDELOG_CORRUPT,
        ];
        let more = [TIDELOG_UNSUPPORTED_FORMAT, TIDELOG_STORAGE_FULL, TIDELOG_IO, TIDELOG_FAILED];
        for (kind, constant) in ErrorKind::ALL.into_iter().zip(named.into_iter().chain(more)) {
            assert_eq!(status::of_kind(kind), constant, "{kind:?}");
            let name = unsafe { CStr::from_ptr(tidelog_status_name(constant)) }.to_str().unwrap();
            assert_eq!(name, kind.code());
        }
        for s in [TIDELOG_OK, TIDELOG_INVALID_HANDLE, TIDELOG_INTERNAL, -7] {
            assert_eq!(unsafe { CStr::from_ptr(tidelog_status_name(s)) }.to_str().unwrap(), status::name(s));
        }
    }
}
