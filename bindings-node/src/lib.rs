//! Node.js glue for Tidelog (napi-rs v3). Glue only: it converts types,
//! errors and completions; every storage rule lives in the `tidelog` core.
//!
//! Everything that crosses as bytes follows `core/docs/wire.md`, implemented
//! once in `tidelog-ffi`:
//!
//! Completions: write operations go through the shared completion queue. Its
//! waker, run only when a push finds the queue empty, calls the journal's ONE
//! weak threadsafe function (non-blocking); on the JS thread that function
//! drains the whole queue into one completion batch (a Buffer), which the JS
//! layer decodes to settle its Promises. No napi deferred or tsfn is created
//! per operation.
//!
//! Writes other than the single-payload fast path arrive as one Buffer (an
//! append request or a write list). Reads, snapshot I/O, `open` and `close` run
//! as `AsyncTask`s on the libuv pool; a read page is one Buffer decoded in
//! JavaScript, so a read crosses FFI once per page. The synchronous calls
//! (`readSync`, `highestSequenceNrSync`, `appendSync`) run on the JS thread
//! instead: see `fast`.

#![deny(clippy::all)]

use std::sync::{Arc, Weak};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use tidelog::{ErrorKind, Journal, NewEvent, Options, SnapshotCriteria};
use tidelog_ffi::tail::{self as tails, PageQueue};
use tidelog_ffi::wire::{self, Scope};
use tidelog_ffi::{status, CompletionQueue, Queue};

// ---- errors -----------------------------------------------------------------

/// Prefix of a rejected task's message: `tidelog:<CODE>:<message>`, or
/// `tidelog:<CODE>+retryable:<message>` for a retryable failure; the JS layer
/// turns it into a `TidelogError` subclass.
fn task_error(e: &tidelog::Error) -> napi::Error {
    let retryable = if e.is_retryable() { "+retryable" } else { "" };
    napi::Error::new(Status::GenericFailure, format!("tidelog:{}{retryable}:{}", e.kind().code(), e))
}

/// Every error code by status: status `s` is element `s - 1` (`core/docs/wire.md`,
/// "Status codes"); also what the JS exhaustiveness test walks.
#[napi]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL
        .iter()
        .map(|k| status::name(status::of_kind(*k)).to_owned())
        .collect()
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
    usize::try_from(to_u64(v)).unwrap_or(usize::MAX)
}

// ---- completions ------------------------------------------------------------

/// The threadsafe function a queue's waker calls to drain it on the JS thread.
type DrainFn = ThreadsafeFunction<(), Unknown<'static>, Buffer, Status, false, true>;

/// The journal's completion queue and the threadsafe function its waker calls.
struct Completions {
    queue: Arc<CompletionQueue>,
    tsfn: Arc<DrainFn>,
}

/// A queue whose waker calls `callback` on the JS thread with everything queued, encoded by
/// `encode`: the completions' and the subscription batches' pump. The waker calls it
/// non-blocking (the journal's threads never wait on JavaScript; a failure means the
/// environment is shutting down). The function drains through a weak reference: the queue
/// owns the function (through its waker), so a strong one would be a cycle never freed.
/// The function is weak (unref'd): the JS layer refs it while a request is pending.
fn queue_pump<T: Send + 'static>(
    callback: Function<'_, Buffer, Unknown<'static>>,
    encode: fn(&[T]) -> Vec<u8>,
) -> Result<(Arc<Queue<T>>, Arc<DrainFn>)> {
    let drained: Arc<std::sync::OnceLock<Weak<Queue<T>>>> = Arc::default();
    let for_js = drained.clone();
    let tsfn = Arc::new(
        callback
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |_ctx| {
                let done = for_js
                    .get()
                    .and_then(Weak::upgrade)
                    .map(|q| q.take(usize::MAX, Some(Duration::ZERO)));
                Ok(Buffer::from(encode(&done.and_then(|d| d.ok()).unwrap_or_default())))
            })?,
    );
    let wake = tsfn.clone();
    let queue = Queue::with_waker(move || {
        let _ = wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
    });
    let _ = drained.set(Arc::downgrade(&queue));
    Ok((queue, tsfn))
}

// ---- subscriptions ------------------------------------------------------------

/// The journal's subscription batches: the page queue and the one weak threadsafe function
/// its waker calls (`core/docs/wire.md`, "Subscriptions"), like the completions.
struct Tails {
    queue: Arc<PageQueue>,
    tsfn: Arc<DrainFn>,
}

/// A live follow of the journal; the `Journal#subscribe*` generators of the JS layer drive it.
#[napi]
pub struct NativeSubscription {
    subscription: tidelog::Subscription,
    queue: Arc<PageQueue>,
}

#[napi]
impl NativeSubscription {
    /// Asks for the next batch of at most `max` events; it completes `id` in the journal's
    /// subscription batches. The core's tail thread reads it, never the event loop. One
    /// request at a time.
    #[napi]
    pub fn request(&self, id: u32, max: f64) {
        self.queue.next_page_off_thread(&self.subscription, id.into(), to_usize(max));
    }

    /// Ends the subscription: a pending request completes with `CLOSED`. Idempotent.
    #[napi]
    pub fn cancel(&self) {
        self.subscription.cancel();
    }

    /// The next global offset (all, tag) or sequence number (stream) it would deliver.
    #[napi(getter)]
    pub fn position(&self) -> f64 {
        self.subscription.position() as f64
    }
}

// ---- options ----------------------------------------------------------------

/// Options for `openJournal`: the options record of `core/docs/wire.md`, as
/// numbers (safe integers or `Infinity`), built and type-checked by the JS layer.
fn build_options(record: &[f64]) -> tidelog::Result<Options> {
    tidelog_ffi::decode_options(&record.iter().map(|v| to_u64(*v)).collect::<Vec<_>>())
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
            tails: None,
        })
    }
}

/// Opens a journal off the event loop; resolves to a `NativeJournal`.
#[napi(ts_return_type = "Promise<NativeJournal>")]
pub fn open_journal(path: String, options: Float64Array) -> AsyncTask<OpenTask> {
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

/// A buffer the JS layer encoded that does not follow the wire format: a bug, reported as a TypeError.
fn type_error(e: tidelog_ffi::wire::WireError) -> napi::Error {
    napi::Error::new(Status::InvalidArg, e.to_string())
}

// ---- snapshots ----------------------------------------------------------------

/// Snapshot selection from `[maxSequenceNr, maxTimestamp, minSequenceNr, minTimestamp]`;
/// `Infinity` means unbounded, a missing bound selects everything.
fn criteria(bounds: &[f64]) -> SnapshotCriteria {
    let bound = |i: usize, all: u64| bounds.get(i).map_or(all, |v| to_u64(*v));
    SnapshotCriteria {
        max_sequence_nr: bound(0, u64::MAX),
        max_timestamp: bound(1, u64::MAX),
        min_sequence_nr: bound(2, 0),
        min_timestamp: bound(3, 0),
    }
}

// ---- the journal ------------------------------------------------------------

/// The native journal handle. Use the `Journal` class of the `tidelog`
/// package instead: this is its glue.
#[napi]
pub struct NativeJournal {
    journal: Journal,
    completions: Option<Arc<Completions>>,
    tails: Option<Tails>,
}

#[napi]
impl NativeJournal {
    /// Installs the completion callback: called on the JS thread with the
    /// drained records and errors. The threadsafe function is weak (unref'd):
    /// the JS layer calls `ref()` while operations are pending. Returns the
    /// fast functions `[appendPayload(id, persistenceId, payload), ref(), unref(),
    /// pageSync(scope, key, from, to, max, slab, at), highestSequenceNrSync(persistenceId, out),
    /// appendPayloadSync(persistenceId, payload, out), appendSync(request, out)]` (see `fast`).
    #[napi(
        ts_args_type = "onComplete: (batch: Buffer) => void",
        ts_return_type = "[(id: number, persistenceId: string, payload: Uint8Array) => void, () => void, () => void, (scope: number, key: string, from: number, to: number, max: number, slab: Buffer, at: number) => number | Buffer, (persistenceId: string, out: Uint32Array) => void, (persistenceId: string, payload: Uint8Array, out: Uint32Array) => void, (request: Uint8Array, out: Uint32Array) => void]"
    )]
    pub fn start<'env>(&mut self, env: &'env Env, on_complete: Function<'_, Buffer, Unknown<'static>>) -> Result<Vec<Unknown<'env>>> {
        if self.completions.is_some() {
            return Err(napi::Error::from_reason("completion callback already installed"));
        }
        let (queue, tsfn) = queue_pump(on_complete, wire::encode_completions)?;
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
            fast::function(env, "pageSync", fast::page_sync, submitter())?,
            fast::function(env, "highestSequenceNrSync", fast::highest_sequence_nr_sync, submitter())?,
            fast::function(env, "appendPayloadSync", fast::append_payload_sync, submitter())?,
            fast::function(env, "appendSync", fast::append_sync, submitter())?,
        ])
    }

    /// Installs the subscription-batch callback: called on the JS thread with every batch
    /// drained (a "Subscription batch"). Weak (unref'd) like the completions' function: the
    /// JS layer calls `tailsRef()` while a request is pending.
    #[napi(ts_args_type = "onBatch: (batch: Buffer) => void")]
    pub fn start_tails(&mut self, on_batch: Function<'_, Buffer, Unknown<'static>>) -> Result<()> {
        if self.tails.is_some() {
            return Err(napi::Error::from_reason("subscription callback already installed"));
        }
        let (queue, tsfn) = queue_pump(on_batch, tails::encode_page_completions)?;
        self.tails = Some(Tails { queue, tsfn });
        Ok(())
    }

    fn tails(&self) -> Result<&Tails> {
        self.tails
            .as_ref()
            .ok_or_else(|| napi::Error::from_reason("startTails() was not called"))
    }

    /// Keeps the event loop alive while a subscription request is pending.
    #[napi]
    pub fn tails_ref(&self, env: Env) -> Result<()> {
        // SAFETY: on the JS thread, with the tsfn this journal owns.
        check(unsafe { napi::sys::napi_ref_threadsafe_function(env.raw(), self.tails()?.tsfn.raw()) })
    }

    /// Lets the process exit while no subscription request is pending.
    #[napi]
    pub fn tails_unref(&self, env: Env) -> Result<()> {
        // SAFETY: as in `tails_ref`.
        check(unsafe { napi::sys::napi_unref_threadsafe_function(env.raw(), self.tails()?.tsfn.raw()) })
    }

    /// Opens a subscription: scope 0 a stream (`key`) from sequence nr `from`, 1 a tag from
    /// global offset `from`, 2 everything from global offset `from`.
    #[napi]
    pub fn subscribe(&self, scope: u32, key: String, from: f64) -> Result<NativeSubscription> {
        let queue = self.tails()?.queue.clone();
        let subscription = tails::subscribe(&self.journal, scope, &key, to_u64(from)).map_err(|e| task_error(&e))?;
        Ok(NativeSubscription { subscription, queue })
    }

    fn completions(&self) -> Result<Arc<Completions>> {
        self.completions
            .clone()
            .ok_or_else(|| napi::Error::from_reason("start() was not called"))
    }

    /// Appends an append request (`core/docs/wire.md`) as one atomic write; completes `id`.
    #[napi]
    pub fn append(&self, id: u32, request: &[u8]) -> Result<()> {
        let (pid, events) = wire::decode_append(request).map_err(type_error)?;
        self.completions()?.queue.append(&self.journal, id.into(), &pid, events);
        Ok(())
    }

    /// Commits a write list (`core/docs/wire.md`); completes `id` with one result per write.
    #[napi]
    pub fn write(&self, id: u32, writes: &[u8]) -> Result<()> {
        let writes = wire::decode_writes(writes).map_err(type_error)?;
        self.completions()?.queue.write(&self.journal, id.into(), writes);
        Ok(())
    }

    /// Deletes events up to `to`; completes `id`.
    #[napi]
    pub fn delete_to(&self, id: u32, persistence_id: String, to: f64) -> Result<()> {
        self.completions()?
            .queue
            .delete_to(&self.journal, id.into(), &persistence_id, to_u64(to));
        Ok(())
    }

    /// Flushes; completes `id`.
    #[napi]
    pub fn flush(&self, id: u32) -> Result<()> {
        self.completions()?.queue.flush(&self.journal, id.into());
        Ok(())
    }

    /// One page of a stream (scope 0, `key` its persistence id, `from`..`to` sequence numbers),
    /// a tag (1, from global offset `from`) or every event (2): "Page request" and "Event
    /// page" of `core/docs/wire.md`.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn page(&self, scope: u32, key: String, from: f64, to: f64, max: f64) -> AsyncTask<BlockingTask<Vec<u8>, Buffer>> {
        let journal = self.journal.clone();
        let read = move || {
            let scope = Scope::from_code(scope, &key, to_u64(from), to_u64(to))?;
            wire::read_page(&journal, scope, to_usize(max), usize::MAX)
        };
        blocking(read, |_, page| Ok(Buffer::from(page)))
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

    /// Saves a snapshot to save (`core/docs/wire.md`), durably.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn snapshot_save(&self, snapshot: &[u8]) -> Result<AsyncTask<BlockingTask<(), ()>>> {
        let journal = self.journal.clone();
        let snapshot = wire::decode_snapshot(snapshot).map_err(type_error)?;
        Ok(blocking(move || journal.snapshots().save(&snapshot), same))
    }

    /// Loads the newest matching snapshot, as a snapshot (`core/docs/wire.md`) or null.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn snapshot_load(&self, persistence_id: String, bounds: Float64Array) -> AsyncTask<BlockingTask<Option<Vec<u8>>, Option<Buffer>>> {
        let journal = self.journal.clone();
        let criteria = criteria(&bounds);
        blocking(
            move || {
                Ok(journal
                    .snapshots()
                    .load(&persistence_id, criteria)?
                    .map(|s| wire::encode_snapshot(&s)))
            },
            |_, s| Ok(s.map(Buffer::from)),
        )
    }

    /// Lists a stream's snapshots, oldest first, as a snapshot list (`core/docs/wire.md`).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn snapshot_list(&self, persistence_id: String) -> AsyncTask<BlockingTask<Vec<u8>, Buffer>> {
        let journal = self.journal.clone();
        blocking(
            move || Ok(wire::encode_snapshot_infos(&journal.snapshots().list(&persistence_id)?)),
            |_, list| Ok(Buffer::from(list)),
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
    pub fn snapshot_delete_matching(&self, persistence_id: String, bounds: Float64Array) -> AsyncTask<BlockingTask<usize, f64>> {
        let journal = self.journal.clone();
        let criteria = criteria(&bounds);
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

    /// Runs the body of a fast function called with `env`: a panic must not unwind into V8, so
    /// it becomes a `TypeError` with the message `panicked` (which names the function).
    fn contained(
        env: sys::napi_env,
        panicked: &std::ffi::CStr,
        body: impl FnOnce() -> sys::napi_value + std::panic::UnwindSafe,
    ) -> sys::napi_value {
        // SAFETY: every caller passes the env of the call it is running on the JS thread.
        std::panic::catch_unwind(body).unwrap_or_else(|_| unsafe { throw_type_error(env, panicked) })
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
        contained(env, c"tidelog: internal panic in appendPayload", || unsafe {
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
            submitter
                .completions
                .queue
                .append(&submitter.journal, id.into(), &persistence_id, vec![NewEvent::new(payload)]);
            let mut undefined = ptr::null_mut();
            sys::napi_get_undefined(env, &mut undefined);
            undefined
        })
    }

    // ---- synchronous calls, on the JS thread ----
    //
    // They block the event loop for one core call: a read over a read transaction (after the
    // writes to the same stream issued before it have their outcome, the core's issue-order
    // rule) or a blocking append, which the core commits on this thread when the writer is idle.
    // The writer never waits on JavaScript (completions go through a non-blocking threadsafe
    // function), so waiting for it here cannot deadlock. Failures throw an Error whose message
    // is `tidelog:<CODE>:<message>`, as the asynchronous calls reject; the JS layer converts it.

    thread_local! {
        /// The page buffer of the synchronous reads, reused call after call on the JS thread.
        static PAGE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }

    unsafe fn throw_tidelog(env: sys::napi_env, e: &tidelog::Error) -> sys::napi_value {
        let message = format!("tidelog:{}:{}", e.kind().code(), e).replace('\0', " ");
        let message = std::ffi::CString::new(message).unwrap_or_default();
        unsafe { sys::napi_throw_error(env, ptr::null(), message.as_ptr()) };
        ptr::null_mut()
    }

    unsafe fn undefined(env: sys::napi_env) -> sys::napi_value {
        let mut value = ptr::null_mut();
        unsafe { sys::napi_get_undefined(env, &mut value) };
        value
    }

    /// The `n` arguments of a call and the submitter, or `None` when fewer were passed.
    unsafe fn args<'a, const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> Option<([sys::napi_value; N], &'a Submitter)> {
        let mut argc = N;
        let mut argv = [ptr::null_mut(); N];
        let mut data = ptr::null_mut();
        let status = unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) };
        (status == sys::Status::napi_ok && argc >= N).then(|| (argv, unsafe { &*data.cast::<Submitter>() }))
    }

    /// The bytes of a Uint8Array (or Buffer), borrowed for the call.
    unsafe fn bytes<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a [u8]> {
        let (mut kind, mut len, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        let status = unsafe { sys::napi_get_typedarray_info(env, value, &mut kind, &mut len, &mut data, &mut buffer, &mut offset) };
        if status != sys::Status::napi_ok || kind != sys::TypedarrayType::uint8_array {
            return None;
        }
        Some(if len == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
        })
    }

    /// The bytes of a Uint8Array (or Buffer), to write into during the call.
    unsafe fn writable<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a mut [u8]> {
        let (mut kind, mut len, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        let status = unsafe { sys::napi_get_typedarray_info(env, value, &mut kind, &mut len, &mut data, &mut buffer, &mut offset) };
        if status != sys::Status::napi_ok || kind != sys::TypedarrayType::uint8_array {
            return None;
        }
        Some(if len == 0 {
            &mut []
        } else {
            unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), len) }
        })
    }

    /// The `u32` slots of a Uint32Array the result is written to (at least `n` of them).
    unsafe fn slots<'a>(env: sys::napi_env, value: sys::napi_value, n: usize) -> Option<&'a mut [u32]> {
        let (mut kind, mut len, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        let status = unsafe { sys::napi_get_typedarray_info(env, value, &mut kind, &mut len, &mut data, &mut buffer, &mut offset) };
        if status != sys::Status::napi_ok || kind != sys::TypedarrayType::uint32_array || len < n {
            return None;
        }
        Some(unsafe { std::slice::from_raw_parts_mut(data.cast::<u32>(), len) })
    }

    fn put_u64(out: &mut [u32], at: usize, v: u64) {
        out[at] = v as u32;
        out[at + 1] = (v >> 32) as u32;
    }

    unsafe fn number(env: sys::napi_env, value: sys::napi_value) -> Option<f64> {
        let mut v = 0f64;
        (unsafe { sys::napi_get_value_double(env, value, &mut v) } == sys::Status::napi_ok).then_some(v)
    }

    /// `pageSync(scope, key, from, to, max, slab, at)`: one page ("Event page"), read on this
    /// thread into the reused page buffer, then copied into `slab` at byte `at` when it fits
    /// there (returns its length: no JS allocation) or else into a new Buffer (returned).
    pub(super) unsafe extern "C" fn page_sync(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        contained(env, c"tidelog: internal panic in pageSync", || unsafe {
            let Some((argv, s)) = args::<7>(env, info) else {
                return throw_type_error(env, c"pageSync(scope, key, from, to, max, slab, at) takes 7 arguments");
            };
            let mut at = 0u32;
            if sys::napi_get_value_uint32(env, argv[6], &mut at) != sys::Status::napi_ok {
                return throw_type_error(env, c"at must be a number");
            }
            let mut scope = 0u32;
            if sys::napi_get_value_uint32(env, argv[0], &mut scope) != sys::Status::napi_ok {
                return throw_type_error(env, c"scope must be a number");
            }
            let Some(key) = string(env, argv[1]) else {
                return throw_type_error(env, c"key must be a string");
            };
            let (Some(from), Some(to), Some(max)) = (number(env, argv[2]), number(env, argv[3]), number(env, argv[4])) else {
                return throw_type_error(env, c"from, to and max must be numbers");
            };
            let read = Scope::from_code(scope, &key, to_u64(from), to_u64(to))
                .and_then(|scope| wire::read_page_into(&s.journal, scope, to_usize(max), usize::MAX, PAGE.take()));
            let page = match read {
                Ok(page) => page,
                Err(e) => return throw_tidelog(env, &e),
            };
            let mut value = ptr::null_mut();
            let status = match writable(env, argv[5]) {
                Some(slab) if page.len() <= slab.len().saturating_sub(at as usize) => {
                    slab[at as usize..at as usize + page.len()].copy_from_slice(&page);
                    sys::napi_create_uint32(env, page.len() as u32, &mut value)
                }
                Some(_) => sys::napi_create_buffer_copy(env, page.len(), page.as_ptr().cast(), ptr::null_mut(), &mut value),
                None => return throw_type_error(env, c"slab must be a Buffer"),
            };
            PAGE.set(page);
            if status != sys::Status::napi_ok {
                return throw_type_error(env, c"tidelog: could not allocate the page Buffer");
            }
            value
        })
    }

    /// `highestSequenceNrSync(persistenceId, out)`: writes the value to `out[0..2]` (low, high).
    pub(super) unsafe extern "C" fn highest_sequence_nr_sync(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        contained(env, c"tidelog: internal panic in highestSequenceNrSync", || unsafe {
            let Some((argv, s)) = args::<2>(env, info) else {
                return throw_type_error(env, c"highestSequenceNrSync(persistenceId, out) takes 2 arguments");
            };
            let Some(persistence_id) = string(env, argv[0]) else {
                return throw_type_error(env, c"persistenceId must be a string");
            };
            let Some(out) = slots(env, argv[1], 2) else {
                return throw_type_error(env, c"out must be a Uint32Array of 2 or more");
            };
            match s.journal.highest_sequence_nr(&persistence_id) {
                Ok(v) => put_u64(out, 0, v),
                Err(e) => return throw_tidelog(env, &e),
            }
            undefined(env)
        })
    }

    /// Writes a receipt to `out[0..6]`: first sequence nr, last sequence nr, first global offset.
    unsafe fn receipt(env: sys::napi_env, out: &mut [u32], r: tidelog::Result<tidelog::WriteReceipt>) -> sys::napi_value {
        match r {
            Ok(r) => {
                put_u64(out, 0, r.first_sequence_nr);
                put_u64(out, 2, r.last_sequence_nr);
                put_u64(out, 4, r.first_global_offset);
                unsafe { undefined(env) }
            }
            Err(e) => unsafe { throw_tidelog(env, &e) },
        }
    }

    /// `appendPayloadSync(persistenceId, payload, out)`: one payload-only event, committed
    /// before it returns (flushed too under `sync: 'always'`); the receipt goes to `out[0..6]`.
    pub(super) unsafe extern "C" fn append_payload_sync(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        contained(env, c"tidelog: internal panic in appendPayloadSync", || unsafe {
            let Some((argv, s)) = args::<3>(env, info) else {
                return throw_type_error(env, c"appendPayloadSync(persistenceId, payload, out) takes 3 arguments");
            };
            let Some(persistence_id) = string(env, argv[0]) else {
                return throw_type_error(env, c"persistenceId must be a string");
            };
            let Some(payload) = bytes(env, argv[1]) else {
                return throw_type_error(env, c"payload must be a Uint8Array or Buffer");
            };
            let Some(out) = slots(env, argv[2], 6) else {
                return throw_type_error(env, c"out must be a Uint32Array of 6 or more");
            };
            let appended = s.journal.append(&persistence_id, vec![NewEvent::new(payload.to_vec())]);
            receipt(env, out, appended)
        })
    }

    /// `appendSync(request, out)`: an append request (`core/docs/wire.md`) committed before it
    /// returns; the receipt goes to `out[0..6]`.
    pub(super) unsafe extern "C" fn append_sync(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        contained(env, c"tidelog: internal panic in appendSync", || unsafe {
            let Some((argv, s)) = args::<2>(env, info) else {
                return throw_type_error(env, c"appendSync(request, out) takes 2 arguments");
            };
            let Some(request) = bytes(env, argv[0]) else {
                return throw_type_error(env, c"request must be a Uint8Array or Buffer");
            };
            let Some(out) = slots(env, argv[1], 6) else {
                return throw_type_error(env, c"out must be a Uint32Array of 6 or more");
            };
            let (persistence_id, events) = match wire::decode_append(request) {
                Ok(decoded) => decoded,
                Err(e) => {
                    let message = std::ffi::CString::new(e.to_string()).unwrap_or_default();
                    sys::napi_throw_type_error(env, ptr::null(), message.as_ptr());
                    return ptr::null_mut();
                }
            };
            receipt(env, out, s.journal.append(&persistence_id, events))
        })
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
    fn error_codes_are_the_core_codes_in_status_order() {
        let codes = error_codes();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        for kind in ErrorKind::ALL {
            assert_eq!(codes[status::of_kind(kind) as usize - 1], kind.code());
        }
    }

    #[test]
    fn numbers_from_js() {
        assert_eq!(to_u64(f64::INFINITY), u64::MAX);
        assert_eq!(to_u64(-1.0), 0);
        assert_eq!(to_u64(9_007_199_254_740_991.0), 9_007_199_254_740_991);
        assert_eq!(to_usize(f64::INFINITY), usize::MAX);
    }
}
