//! The group-commit writer: one thread per open journal owns every write.
//!
//! Callers enqueue requests; the writer takes everything queued (up to the
//! batch limits), validates it against the streams' highest sequence numbers,
//! assigns sequence numbers, timestamps and global offsets, commits the batch
//! in one storage transaction, flushes it once, then completes every caller.
//! A lone caller never waits for company: batches form only under load.

use rustc_hash::FxHashMap as HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use parking_lot::Mutex;

use crate::codec;
use crate::completion::Callback;
use crate::error::{Error, InvalidArgument, Result};
use crate::metrics::Metrics;
use crate::model::{now_millis, AtomicWrite, NewEvent, WriteReceipt};
use crate::options::{Options, SyncPolicy};
use crate::order::IssueOrder;
use crate::storage::StreamState;
use crate::storage::{Committed, Op, StagedWrite, Storage};

/// Work for the writer thread.
pub(crate) enum Request {
    /// Atomic writes. A `first_sequence_nr` of 0 means "assign highest + 1" (`append`).
    Write { writes: Writes, reply: WriteReply },
    /// `delete_to`.
    Delete {
        persistence_id: String,
        to: u64,
        reply: Callback<()>,
    },
    /// `import_stream_state`: raise a stream's highest and deleted-to marks.
    SetState {
        persistence_id: String,
        highest: u64,
        deleted_to: u64,
        reply: Callback<()>,
    },
    /// `import`: events with their own sequence numbers and global offsets.
    Import { events: Vec<NewEventWithIds>, reply: Callback<()> },
    /// Completes once everything queued before it is committed and flushed.
    Flush { reply: Callback<()> },
}

/// An event to import: its payload and fields plus the identity it had.
pub(crate) struct NewEventWithIds {
    pub persistence_id: String,
    pub sequence_nr: u64,
    pub global_offset: u64,
    pub event: NewEvent,
}

pub(crate) enum WriteReply {
    One(Callback<WriteReceipt>),
    /// A [`crate::Completion`]'s sender, answered without a boxed callback.
    Completion(oneshot::Sender<crate::completion::Reply<WriteReceipt>>),
    Many(Box<dyn FnOnce(Vec<Result<WriteReceipt>>) + Send>),
}

impl WriteReply {
    /// Answers a reply to one atomic write (`One` or `Completion`). `spent`, the request's
    /// writes, goes back to a completion's waiting thread to be freed there; a callback has no
    /// such thread, so they are returned (the writer leaves them for the next submitter to free).
    pub(crate) fn answer(self, result: Result<WriteReceipt>, spent: Option<Writes>) -> Option<Writes> {
        match self {
            WriteReply::One(reply) => deliver(|| reply(result)),
            WriteReply::Completion(sender) => {
                // The receiver may be gone (its caller dropped the future): nothing to do then.
                let _ = sender.send((result, spent));
                return None;
            }
            WriteReply::Many(reply) => deliver(|| reply(vec![result])),
        }
        spent
    }
}

/// The atomic writes of a request: an append's single write needs no vector of its own.
pub(crate) enum Writes {
    One(AtomicWrite),
    Many(Vec<AtomicWrite>),
}

impl std::ops::Deref for Writes {
    type Target = [AtomicWrite];
    fn deref(&self) -> &[AtomicWrite] {
        match self {
            Writes::One(write) => std::slice::from_ref(write),
            Writes::Many(writes) => writes,
        }
    }
}

impl Request {
    fn event_count(&self) -> usize {
        match self {
            Request::Write { writes, .. } => writes.iter().map(|w| w.events.len()).sum(),
            Request::Import { events, .. } => events.len(),
            _ => 1,
        }
    }

    fn byte_estimate(&self) -> usize {
        match self {
            Request::Write { writes, .. } => writes.iter().flat_map(|w| &w.events).map(|e| e.encoded_len()).sum(),
            Request::Import { events, .. } => events.iter().map(|e| e.event.encoded_len()).sum(),
            _ => 0,
        }
    }

    /// Starts loading into this core's cache what staging and answering a write will read:
    /// its persistence ids, the start of its payloads, its callback. The submitting thread
    /// wrote them on another core; touched one after another while staging, each would be a
    /// cache miss the writer waits for, hundreds per batch. Issued while the batch is gathered,
    /// they load in parallel.
    fn prefetch(&self) {
        /// Lines per payload: enough for small events, bounded for large ones.
        const PAYLOAD_LINES: usize = 4;
        /// Events per request: a large write's later events are prefetched by the hardware's streams.
        const EVENTS: usize = 8;
        let Request::Write { writes, reply, .. } = self else { return };
        for write in writes.iter() {
            prefetch(write.persistence_id.as_ptr());
            for event in write.events.iter().take(EVENTS) {
                for line in event.payload.chunks(64).take(PAYLOAD_LINES) {
                    prefetch(line.as_ptr());
                }
            }
        }
        match reply {
            WriteReply::One(callback) => prefetch((&**callback as *const (dyn FnOnce(Result<WriteReceipt>) + Send)).cast::<u8>()),
            WriteReply::Many(callback) => prefetch((&**callback as *const (dyn FnOnce(Vec<Result<WriteReceipt>>) + Send)).cast::<u8>()),
            WriteReply::Completion(_) => {}
        }
    }

    /// Calls `f` with the persistence id of each stream the request writes to, once per
    /// atomic write or event (the same walk for [`IssueOrder::issue`] and [`IssueOrder::settle`]).
    pub(crate) fn for_each_persistence_id(&self, mut f: impl FnMut(&str)) {
        match self {
            Request::Write { writes, .. } => writes.iter().for_each(|w| f(&w.persistence_id)),
            Request::Delete { persistence_id, .. } | Request::SetState { persistence_id, .. } => f(persistence_id),
            Request::Import { events, .. } => events.iter().for_each(|e| f(&e.persistence_id)),
            Request::Flush { .. } => {}
        }
    }

    /// Fails a request the writer received: settles it (see [`IssueOrder`]), then answers it.
    fn fail_issued(self, order: &IssueOrder, error: Error) {
        self.for_each_persistence_id(|pid| order.settle(pid));
        self.fail(error);
    }

    /// Fails the request without touching storage.
    pub(crate) fn fail(self, error: Error) {
        match self {
            Request::Write {
                writes,
                reply: WriteReply::Many(reply),
                ..
            } => {
                let results = writes.iter().map(|_| Err(error.clone())).collect();
                deliver(|| reply(results))
            }
            Request::Write { reply, writes, .. } => {
                reply.answer(Err(error), Some(writes));
            }
            Request::Delete { reply, .. } | Request::SetState { reply, .. } | Request::Import { reply, .. } | Request::Flush { reply } => {
                deliver(|| reply(Err(error)))
            }
        }
    }
}

/// A hint to load `address`'s cache line; it never faults and changes no memory.
#[inline(always)]
fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint: it does not fault, whatever the address, and has no
    // architectural effect (the SSE intrinsic is available on every x86_64).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast::<i8>())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Runs a caller's completion; a panicking callback is contained so that the
/// writer, and every other caller in the batch, carry on.
pub(crate) fn deliver(callback: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback)).is_err() {
        tracing::error!("a completion callback panicked");
    }
}

/// State shared between the journal handle and its writer thread.
#[derive(Default)]
pub(crate) struct Shared {
    /// Set by `close`: the moment after which queued work is failed instead of committed.
    pub close_deadline: Mutex<Option<Instant>>,
    /// Set when a flush failed: nothing more may be acknowledged.
    pub failed: std::sync::OnceLock<Arc<Error>>,
    /// Which writes are in flight per persistence id, so that later operations on it wait for them.
    pub order: Arc<IssueOrder>,
    /// The committed watermark subscriptions follow (`tail.rs`).
    pub tails: Arc<crate::tail::Tails>,
    /// While the writer waits for the callers it just answered to come back (see
    /// [`Writer::run`]): the `pending` count at which a submitter wakes it; 0 when not waiting.
    pub wake_writer_at: AtomicUsize,
    /// The writer thread, for that wake-up.
    pub writer_thread: std::sync::OnceLock<std::thread::Thread>,
    /// Writes whose callbacks were answered, left for the next submitting thread to free (see
    /// [`Shared::free_spent`]); `spent_waiting` says there are some without taking the lock.
    spent: Mutex<SpentWrites>,
    spent_waiting: AtomicBool,
}

/// Answered writes waiting in [`Shared::spent`], and the bytes of their events.
#[derive(Default)]
struct SpentWrites {
    writes: Vec<Writes>,
    bytes: usize,
}

/// At most this many answered writes, and this many bytes of their events, wait in
/// [`Shared::spent`]; beyond either the writer frees them (so large events are not held while no
/// submitter comes back).
const MAX_SPENT: usize = 1 << 16;
const MAX_SPENT_BYTES: usize = 16 << 20;

impl Shared {
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failed.get().map(|e| Error::Failed(e.clone()))
    }

    /// Called by the writer after a batch: leaves the answered writes in `spent` (emptied) for
    /// the next submitter to free. Their payloads, event vectors and persistence ids were
    /// allocated by a submitting thread; freed on the writer thread, each would go to that
    /// thread's allocator arena under its lock while the submitter allocates the next ones
    /// (the arena contention measured in `bench/RESULTS.md`, issue 25). Completions already
    /// carry their writes back to their waiting thread; this is the same for callbacks.
    pub(crate) fn return_spent(&self, spent: &mut Vec<Writes>) {
        if spent.is_empty() {
            return;
        }
        let bytes: usize = spent
            .iter()
            .flat_map(|w| w.iter())
            .flat_map(|w| &w.events)
            .map(|e| e.payload.len() + e.metadata.len())
            .sum();
        let mut waiting = self.spent.lock();
        if waiting.writes.len() < MAX_SPENT && waiting.bytes + bytes <= MAX_SPENT_BYTES {
            waiting.writes.append(spent);
            waiting.bytes += bytes;
            self.spent_waiting.store(true, Ordering::Release);
        }
        drop(waiting);
        // Over the bound (no submitter came back for a long while): freed here.
        spent.clear();
    }

    /// Frees the answered writes the writer left (see [`Shared::return_spent`]), if any: called
    /// by submitting threads, usually the ones that allocated them.
    pub(crate) fn free_spent(&self) {
        if self.spent_waiting.load(Ordering::Acquire) {
            let spent = {
                let mut waiting = self.spent.lock();
                self.spent_waiting.store(false, Ordering::Release);
                std::mem::take(&mut *waiting)
            };
            drop(spent);
        }
    }

    /// Called by a submitter after it queued a request, with `pending` as it is now: wakes the
    /// writer if it waits for this many requests. One wake-up per batch, by the last caller back.
    pub(crate) fn queued(&self, pending: usize) {
        let want = self.wake_writer_at.load(Ordering::SeqCst);
        if want != 0 && pending >= want && self.wake_writer_at.swap(0, Ordering::SeqCst) != 0 {
            if let Some(writer) = self.writer_thread.get() {
                writer.unpark();
            }
        }
    }
}

/// Longest the writer waits for the callers of its last batch to come back.
const MAX_LINGER: Duration = Duration::from_millis(1);

/// Longest the writer polls (yielding its core) for those callers before it parks; this
/// bounds the CPU a batch's linger costs to a fraction of a commit.
const MAX_LINGER_POLL: Duration = Duration::from_micros(200);

/// Each linger that ends before its callers are back halves the next one's window, down to
/// 1/2^this of it; one that sees them all back restores it.
const MAX_LINGER_SHRINK: u32 = 4;

pub(crate) struct Writer {
    storage: Arc<dyn Storage>,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    sync: SyncPolicy,
    max_batch_events: usize,
    max_batch_bytes: usize,
    max_batch_delay: Duration,
    /// Committed state per stream. Loaded lazily from storage.
    streams: HashMap<String, StreamState>,
    next_offset: u64,
    /// Reused across batches so the hot path does not allocate.
    buffer: Vec<u8>,
    bodies: Vec<Range<usize>>,
    /// True when data was committed but not yet flushed (interval/never policies).
    dirty: bool,
    last_sync: Instant,
    /// A deletion was committed; space may be reclaimable when idle.
    needs_upkeep: bool,
    /// Whether the batch being committed was settled already (a panic after that must not settle it twice).
    batch_settled: bool,
    /// Writes of the last batch committed that left their streams with nothing in flight: their callers
    /// are likely waiting for the answer before writing again (an actor's persist, a blocking `append`).
    drained_writes: usize,
    /// Reused by [`IssueOrder::settle_all`].
    settle_scratch: Vec<u16>,
    /// Several writers share the storage: each batch is staged against the state it reports.
    shared_storage: bool,
    /// Moving average of a commit's duration (staging, storage commit and flush), in µs.
    commit_us: f64,
    /// A batch's outcomes, spans, plan and storage operations: reused, since a batch of
    /// hundreds of writes makes each of them tens of KiB, which glibc would return to the
    /// system and fault in again every batch.
    outcomes: Vec<Outcome>,
    spans: Vec<Range<usize>>,
    plan: Vec<Planned>,
    ops: Vec<Op<'static>>,
    /// The writes of the batch's callback-answered requests, on their way to [`Shared::spent`].
    spent: Vec<Writes>,
}

/// An empty vector of `Op`s with any lifetime, reusing `ops`'s allocation (an in-place collect:
/// same type but for the lifetime, so the same layout).
fn recycle<'a, 'b>(mut ops: Vec<Op<'a>>) -> Vec<Op<'b>> {
    ops.clear();
    ops.into_iter().map(|_| unreachable!("the vector is empty")).collect()
}

/// What staging decided for one atomic write (or other request) of a batch.
enum Outcome {
    /// Will be committed with these numbers.
    Staged {
        first_sequence_nr: u64,
        first_global_offset: u64,
        count: u64,
    },
    /// A request without a receipt (delete, import, state); committed with the batch.
    Unit,
    /// Decided before storage was touched (a conflict, say).
    Done(Result<WriteReceipt>),
}

/// An operation of the batch, by index into the requests, so the borrowed
/// storage `Op`s can be built after staging.
enum Planned {
    Write {
        request: usize,
        write: usize,
        first_sequence_nr: u64,
        first_global_offset: u64,
        bodies: Range<usize>,
    },
    Import {
        request: usize,
        event: usize,
        body: Range<usize>,
    },
    State {
        request: usize,
        highest: u64,
        deleted_to: u64,
    },
}

impl Writer {
    pub(crate) fn new(storage: Arc<dyn Storage>, shared: Arc<Shared>, metrics: Arc<Metrics>, options: &Options) -> Result<Writer> {
        let next_offset = storage.next_global_offset()?;
        // Subscriptions deliver what is committed already at once (read-only handles publish
        // when they subscribe).
        shared.tails.publish(next_offset);
        Ok(Writer {
            shared,
            metrics,
            sync: options.sync,
            max_batch_events: options.max_batch_events,
            max_batch_bytes: options.max_batch_bytes,
            max_batch_delay: options.max_batch_delay,
            streams: HashMap::default(),
            next_offset,
            buffer: Vec::with_capacity(64 << 10),
            bodies: Vec::new(),
            dirty: false,
            last_sync: Instant::now(),
            needs_upkeep: false,
            batch_settled: false,
            drained_writes: 0,
            settle_scratch: Vec::new(),
            commit_us: 0.0,
            outcomes: Vec::new(),
            spans: Vec::new(),
            plan: Vec::new(),
            ops: Vec::new(),
            spent: Vec::new(),
            shared_storage: storage.shared(),
            storage,
        })
    }

    /// Commits `batch`, containing a panic (a bug, not a storage error): then the
    /// journal refuses further writes rather than guess at the state.
    fn commit_guarded(&mut self, batch: &mut Vec<Request>) {
        let order = &self.shared.order;
        if let Some(err) = self.shared.failure() {
            batch.drain(..).for_each(|r| r.fail_issued(order, err.clone()));
            order.wake();
            return;
        }
        self.batch_settled = false;
        self.drained_writes = 0;
        let deleted = batch.iter().any(|r| matches!(r, Request::Delete { .. } | Request::SetState { .. }));
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.commit_batch(batch))).is_err() {
            let error = Error::Io {
                operation: "commit",
                path: Default::default(),
                source: Arc::new(std::io::Error::other("the writer panicked")),
            };
            self.poison(&error);
            let order = &self.shared.order;
            let settled = self.batch_settled;
            batch.drain(..).for_each(|r| {
                let error = Error::Failed(Arc::new(error.clone()));
                if settled {
                    r.fail(error)
                } else {
                    r.fail_issued(order, error)
                }
            });
            order.wake();
            return;
        }
        self.needs_upkeep |= deleted;
    }

    /// Commits one blocking caller's write on the caller's own thread, skipping the
    /// hand-off to the writer thread. The journal only calls this while it holds the
    /// writer lock and nothing is queued, so commit order stays submission order.
    pub(crate) fn commit_inline(&mut self, request: Request) {
        let mut batch = vec![request];
        self.commit_guarded(&mut batch);
    }

    /// The writer thread: runs until every sender is gone and the queue is drained
    /// (or the close deadline passed). `pending` counts requests queued or in hand
    /// and not yet taken into a batch; it only falls while `writer` is locked.
    ///
    /// Callers that await their acknowledgement come back with their next request
    /// right after it. Started at once, the next commit would carry only those that
    /// were quickest back, and the rest would wait a whole commit for the one after
    /// (with 8 such callers, batches of 4 alternate). So after answering a batch the
    /// writer waits, for at most about one commit's duration from that moment, until
    /// as many requests are queued as it just answered (plus those queued meanwhile).
    /// Waiting pays while it is shorter than a commit: the alternative, two halves
    /// alternating, commits half the callers per commit.
    /// It polls for them first, yielding its core to the callers (at most
    /// [`MAX_LINGER_POLL`]), and only then parks until the last caller back wakes it:
    /// parked, the writer paid a wake-up latency per batch (tens of µs on a VM).
    /// Only the writes that left their stream with nothing in flight are waited for:
    /// their callers (a blocking `append`, an actor awaiting its persist, however it
    /// awaits) are the ones expected back. A pipelining submitter keeps more writes
    /// queued for the same streams, so it is not waited for: waiting for it would stop
    /// the writer and the submitter from working at the same time. A lone caller never
    /// waits (it is the one expected), and a request arriving after the window is
    /// committed at once. A pipelining submitter spread over many streams, each with one
    /// write in flight, looks like awaiting callers but comes back one request at a time:
    /// so a linger that ends before its callers are back halves the next window (down to
    /// 1/16), and one that sees them all back restores it.
    pub(crate) fn run(writer: Arc<Mutex<Writer>>, requests: Receiver<Request>, pending: Arc<AtomicUsize>) {
        let mut batch = Vec::new();
        // While lingering: the `pending` count awaited, the end of the window, the end of polling.
        let mut returning: Option<(usize, Instant, Instant)> = None;
        // How many times the linger's window is halved: see `MAX_LINGER_SHRINK`.
        let mut shrink = 0;
        let _ = writer.lock().shared.writer_thread.set(std::thread::current());
        loop {
            // Lingering, the writer holds its lock, so a returning blocking caller queues its request
            // rather than committing it alone on its own thread.
            let lingering = returning.map(|(_, until, _)| (writer.lock(), until));
            let (mut w, first) = match lingering {
                Some((w, until)) => match requests.recv_deadline(until) {
                    Ok(first) => (w, first),
                    Err(RecvTimeoutError::Timeout) => {
                        returning = None;
                        shrink = (shrink + 1).min(MAX_LINGER_SHRINK);
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => {
                    let Some(first) = Writer::next_request(&writer, &requests) else {
                        break;
                    };
                    (writer.lock(), first)
                }
            };
            let mut events = first.event_count();
            let mut bytes = first.byte_estimate();
            first.prefetch();
            batch.push(first);
            let gather_until = (!w.max_batch_delay.is_zero()).then(|| Instant::now() + w.max_batch_delay);
            while events < w.max_batch_events && bytes < w.max_batch_bytes {
                let next = match gather_until {
                    Some(until) => requests.recv_deadline(until).ok(),
                    None => match requests.try_recv() {
                        Ok(request) => Some(request),
                        Err(_) => match returning {
                            Some((target, until, poll_until)) if pending.load(Ordering::SeqCst) < target && Instant::now() < until => {
                                if Instant::now() < poll_until {
                                    // Polling: a parked writer costs the last caller a wake-up and itself a
                                    // wake-up latency (an IPI to an idle core, tens of µs on a VM).
                                    std::thread::yield_now();
                                    continue;
                                }
                                w.shared.wake_writer_at.store(target, Ordering::SeqCst);
                                // Checked after announcing the target: a submitter either sees it or is counted here.
                                if pending.load(Ordering::SeqCst) < target {
                                    std::thread::park_timeout(until.saturating_duration_since(Instant::now()));
                                }
                                w.shared.wake_writer_at.store(0, Ordering::SeqCst);
                                continue;
                            }
                            _ => None,
                        },
                    },
                };
                let Some(request) = next else { break };
                events += request.event_count();
                bytes += request.byte_estimate();
                request.prefetch();
                batch.push(request);
            }
            if let Some((target, ..)) = returning {
                // Taken requests still count in `pending` here, so it reached the target iff they all came back.
                shrink = if pending.load(Ordering::SeqCst) >= target {
                    0
                } else {
                    (shrink + 1).min(MAX_LINGER_SHRINK)
                };
            }
            pending.fetch_sub(batch.len(), Ordering::SeqCst);
            if w.past_close_deadline() {
                batch.drain(..).for_each(|r| r.fail_issued(&w.shared.order, Error::Closed));
                requests.try_iter().for_each(|r| r.fail_issued(&w.shared.order, Error::Closed));
                w.shared.order.wake();
                break;
            }
            w.commit_guarded(&mut batch);
            let answered = w.drained_writes;
            let linger = Duration::from_secs_f64(w.commit_us / 1e6).min(MAX_LINGER) / (1 << shrink);
            // A lone caller is not waited for: it may commit its next write on its own thread.
            // `pending` is read after the answers went out, so a caller already back counts twice.
            // Known, and kept for now: that overcount is what ends the lingers of a pipeline spread
            // over many streams (counted right, it runs in lock-step with the writer, 14% slower;
            // bench/RESULTS.md, "Session 9").
            returning = (answered > 1 && !linger.is_zero() && w.sync == SyncPolicy::Always).then(|| {
                let now = Instant::now();
                (
                    pending.load(Ordering::SeqCst) + answered,
                    now + linger,
                    now + linger.min(MAX_LINGER_POLL),
                )
            });
            if w.needs_upkeep && requests.is_empty() && w.shared.close_deadline.lock().is_none() {
                w.needs_upkeep = false;
                if let Err(err) = w.storage.maintain() {
                    tracing::warn!(error = %err, "reclaiming space failed; will retry after the next deletion");
                }
            }
        }
        let mut w = writer.lock();
        if w.dirty && w.sync != SyncPolicy::Never {
            let _ = w.flush();
        }
        if let Err(err) = w.storage.close() {
            tracing::warn!(error = %err, "closing storage failed");
        }
    }

    /// Blocks for the next request; flushes on the interval policy's schedule meanwhile.
    fn next_request(writer: &Mutex<Writer>, requests: &Receiver<Request>) -> Option<Request> {
        loop {
            let timeout = {
                let w = writer.lock();
                match w.sync {
                    SyncPolicy::Interval(every) if w.dirty => every.saturating_sub(w.last_sync.elapsed()),
                    _ => {
                        drop(w);
                        return requests.recv().ok();
                    }
                }
            };
            match requests.recv_timeout(timeout) {
                Ok(r) => return Some(r),
                Err(RecvTimeoutError::Timeout) => {
                    let mut w = writer.lock();
                    if w.dirty {
                        if let Err(err) = w.flush() {
                            w.poison(&err);
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    fn past_close_deadline(&self) -> bool {
        self.shared.close_deadline.lock().is_some_and(|d| Instant::now() >= d)
    }

    fn flush(&mut self) -> Result<()> {
        self.storage.sync()?;
        Metrics::add(&self.metrics.fsyncs, 1);
        self.dirty = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn poison(&self, err: &Error) {
        tracing::error!(error = %err, "flush failed; the journal refuses further writes until reopened");
        let _ = self.shared.failed.set(Arc::new(err.clone()));
    }

    fn stream(&mut self, persistence_id: &str) -> Result<StreamState> {
        if let Some(state) = self.streams.get(persistence_id) {
            return Ok(*state);
        }
        let state = self.storage.stream_state(persistence_id)?;
        self.streams.insert(persistence_id.to_owned(), state);
        Ok(state)
    }

    /// Validates the batch against the streams' state, assigns numbers and
    /// encodes bodies into `self.buffer`. Returns one outcome list per request
    /// and the planned storage operations.
    fn stage<'b>(
        &mut self,
        batch: &'b [Request],
        staged: &mut HashMap<&'b str, StreamState>,
        next_offset: &mut u64,
    ) -> (Vec<Outcome>, Vec<Range<usize>>, Vec<Planned>) {
        let now = now_millis();
        // One flat list: `spans[r]` holds request r's outcomes.
        let mut outcomes = std::mem::take(&mut self.outcomes);
        let mut spans = std::mem::take(&mut self.spans);
        let mut plan = std::mem::take(&mut self.plan);
        outcomes.clear();
        spans.clear();
        plan.clear();
        for (r, request) in batch.iter().enumerate() {
            let first = outcomes.len();
            match request {
                Request::Write { writes, .. } => {
                    for (w, write) in writes.iter().enumerate() {
                        let pid = write.persistence_id.as_str();
                        // One lookup in the batch's marks per write; the committed marks only for a stream's first.
                        let slot = match staged.entry(pid) {
                            Entry::Occupied(slot) => slot.into_mut(),
                            Entry::Vacant(slot) => match self.stream(pid) {
                                Ok(state) => slot.insert(state),
                                Err(e) => {
                                    outcomes.push(Outcome::Done(Err(e)));
                                    continue;
                                }
                            },
                        };
                        let state = *slot;
                        let expected = state.highest_sequence_nr + 1;
                        if write.first_sequence_nr != 0 && write.first_sequence_nr != expected {
                            Metrics::add(&self.metrics.sequence_conflicts, 1);
                            outcomes.push(Outcome::Done(Err(Error::SequenceConflict {
                                persistence_id: pid.to_owned(),
                                expected,
                                actual: write.first_sequence_nr,
                            })));
                            continue;
                        }
                        let first_body = self.bodies.len();
                        for (i, event) in write.events.iter().enumerate() {
                            let start = self.buffer.len();
                            codec::encode_event(
                                &mut self.buffer,
                                event,
                                expected + i as u64,
                                *next_offset + i as u64,
                                event.timestamp.unwrap_or(now),
                            );
                            self.bodies.push(start..self.buffer.len());
                        }
                        let count = write.events.len() as u64;
                        outcomes.push(Outcome::Staged {
                            first_sequence_nr: expected,
                            first_global_offset: *next_offset,
                            count,
                        });
                        plan.push(Planned::Write {
                            request: r,
                            write: w,
                            first_sequence_nr: expected,
                            first_global_offset: *next_offset,
                            bodies: first_body..self.bodies.len(),
                        });
                        slot.highest_sequence_nr = state.highest_sequence_nr + count;
                        *next_offset += count;
                    }
                }
                Request::Delete { persistence_id, to, .. } => {
                    let pid = persistence_id.as_str();
                    match staged.get(pid).copied().map(Ok).unwrap_or_else(|| self.stream(pid)) {
                        Ok(state) => {
                            let deleted_to = (*to).min(state.highest_sequence_nr).max(state.deleted_to);
                            if deleted_to > state.deleted_to {
                                plan.push(Planned::State {
                                    request: r,
                                    highest: state.highest_sequence_nr,
                                    deleted_to,
                                });
                                staged.insert(pid, StreamState { deleted_to, ..state });
                            }
                            outcomes.push(Outcome::Unit);
                        }
                        Err(e) => outcomes.push(Outcome::Done(Err(e))),
                    }
                }
                Request::SetState {
                    persistence_id,
                    highest,
                    deleted_to,
                    ..
                } => {
                    let pid = persistence_id.as_str();
                    match staged.get(pid).copied().map(Ok).unwrap_or_else(|| self.stream(pid)) {
                        Ok(state) if *highest < state.highest_sequence_nr || *deleted_to < state.deleted_to || deleted_to > highest => {
                            outcomes.push(Outcome::Done(Err(InvalidArgument::StreamStateRegression.into())));
                        }
                        Ok(state)
                            if *highest > state.highest_sequence_nr
                                && state.deleted_to < state.highest_sequence_nr
                                && *deleted_to < state.highest_sequence_nr =>
                        {
                            // Raising highest over live events would leave a gap of missing events.
                            outcomes.push(Outcome::Done(Err(InvalidArgument::StreamStateRegression.into())));
                        }
                        Ok(_) => {
                            plan.push(Planned::State {
                                request: r,
                                highest: *highest,
                                deleted_to: *deleted_to,
                            });
                            staged.insert(
                                pid,
                                StreamState {
                                    highest_sequence_nr: *highest,
                                    deleted_to: *deleted_to,
                                },
                            );
                            outcomes.push(Outcome::Unit);
                        }
                        Err(e) => outcomes.push(Outcome::Done(Err(e))),
                    }
                }
                Request::Import { events, .. } => {
                    // Validate the whole import first: it is all-or-nothing like a write.
                    let plan_start = plan.len();
                    let body_start = self.buffer.len();
                    let spans_start = self.bodies.len();
                    let mut local: HashMap<&str, StreamState> = HashMap::default();
                    let mut offset = *next_offset;
                    let mut failure = None;
                    for (i, e) in events.iter().enumerate() {
                        let pid = e.persistence_id.as_str();
                        let state = match local
                            .get(pid)
                            .or(staged.get(pid))
                            .copied()
                            .map(Ok)
                            .unwrap_or_else(|| self.stream(pid))
                        {
                            Ok(s) => s,
                            Err(err) => {
                                failure = Some(err);
                                break;
                            }
                        };
                        if e.global_offset < offset {
                            failure = Some(
                                InvalidArgument::ImportOffsetNotIncreasing {
                                    offset: e.global_offset,
                                    next: offset,
                                }
                                .into(),
                            );
                            break;
                        }
                        let mut state = state;
                        if e.sequence_nr > state.highest_sequence_nr + 1 && state.deleted_to == state.highest_sequence_nr {
                            // The stream starts above 1 (its start was deleted): record the gap as deleted.
                            state = StreamState {
                                highest_sequence_nr: e.sequence_nr - 1,
                                deleted_to: e.sequence_nr - 1,
                            };
                            plan.push(Planned::State {
                                request: r,
                                highest: state.highest_sequence_nr,
                                deleted_to: state.deleted_to,
                            });
                        }
                        if e.sequence_nr != state.highest_sequence_nr + 1 {
                            failure = Some(Error::SequenceConflict {
                                persistence_id: pid.to_owned(),
                                expected: state.highest_sequence_nr + 1,
                                actual: e.sequence_nr,
                            });
                            break;
                        }
                        let start = self.buffer.len();
                        codec::encode_event(
                            &mut self.buffer,
                            &e.event,
                            e.sequence_nr,
                            e.global_offset,
                            e.event.timestamp.unwrap_or(now),
                        );
                        self.bodies.push(start..self.buffer.len());
                        plan.push(Planned::Import {
                            request: r,
                            event: i,
                            body: self.bodies.len() - 1..self.bodies.len(),
                        });
                        local.insert(
                            pid,
                            StreamState {
                                highest_sequence_nr: e.sequence_nr,
                                ..state
                            },
                        );
                        offset = e.global_offset + 1;
                    }
                    match failure {
                        Some(err) => {
                            plan.truncate(plan_start);
                            self.buffer.truncate(body_start);
                            self.bodies.truncate(spans_start);
                            outcomes.push(Outcome::Done(Err(err)));
                        }
                        None => {
                            staged.extend(local);
                            *next_offset = offset;
                            outcomes.push(Outcome::Unit);
                        }
                    }
                }
                Request::Flush { .. } => {}
            }
            spans.push(first..outcomes.len());
        }
        (outcomes, spans, plan)
    }

    /// For shared storage: starts the batch's transaction and replaces the cached stream marks
    /// and next offset with the authoritative ones. Returns whether a batch was begun.
    fn begin_shared_batch(&mut self, batch: &[Request]) -> Result<bool> {
        if !self.shared_storage {
            return Ok(false);
        }
        let mut pids: Vec<&str> = Vec::new();
        for request in batch {
            match request {
                Request::Write { writes, .. } => pids.extend(writes.iter().map(|w| w.persistence_id.as_str())),
                Request::Delete { persistence_id, .. } | Request::SetState { persistence_id, .. } => pids.push(persistence_id),
                Request::Import { events, .. } => pids.extend(events.iter().map(|e| e.persistence_id.as_str())),
                Request::Flush { .. } => {}
            }
        }
        if pids.is_empty() {
            return Ok(false);
        }
        pids.sort_unstable();
        pids.dedup();
        let Some(start) = self.storage.begin_batch(&pids)? else {
            return Ok(false);
        };
        self.streams.clear();
        self.streams.extend(start.streams);
        self.next_offset = start.next_global_offset;
        Ok(true)
    }

    fn commit_batch(&mut self, batch: &mut Vec<Request>) {
        let started = Instant::now();
        let mut restaged = false;
        let (outcomes, spans, staged, next_offset, committed_events, wrote, committed) = loop {
            // On shared storage the database decides: stage against what it reports now.
            let begun = match self.begin_shared_batch(batch) {
                Ok(begun) => begun,
                Err(error) => {
                    for request in batch.iter() {
                        request.for_each_persistence_id(|pid| self.shared.order.settle(pid));
                    }
                    self.batch_settled = true;
                    self.shared.order.wake();
                    for request in batch.drain(..) {
                        if let Request::Write { writes, .. } = &request {
                            Metrics::add(&self.metrics.failed_writes, writes.len() as u64);
                        }
                        request.fail(error.clone());
                    }
                    return;
                }
            };
            self.buffer.clear();
            self.bodies.clear();
            let mut next_offset = self.next_offset;
            let mut staged: HashMap<&str, StreamState> = HashMap::default();
            let (outcomes, spans, plan) = self.stage(batch, &mut staged, &mut next_offset);
            let committed_events: u64 = plan
                .iter()
                .map(|p| match p {
                    Planned::Write { bodies, .. } => bodies.len() as u64,
                    Planned::Import { .. } => 1,
                    Planned::State { .. } => 0,
                })
                .sum();

            // Build the storage operations, borrowing the requests and the shared buffer.
            let mut ops: Vec<Op<'_>> = recycle(std::mem::take(&mut self.ops));
            ops.extend(plan.iter().map(|p| match *p {
                Planned::Write {
                    request,
                    write,
                    first_sequence_nr,
                    first_global_offset,
                    ref bodies,
                } => {
                    let Request::Write { writes, .. } = &batch[request] else {
                        unreachable!("planned write of a write request")
                    };
                    let w = &writes[write];
                    Op::Write(StagedWrite {
                        persistence_id: &w.persistence_id,
                        first_sequence_nr,
                        first_global_offset,
                        events: &w.events,
                        bodies: &self.bodies[bodies.clone()],
                    })
                }
                Planned::Import { request, event, ref body } => {
                    let Request::Import { events, .. } = &batch[request] else {
                        unreachable!("planned import of an import request")
                    };
                    let e = &events[event];
                    Op::Write(StagedWrite {
                        persistence_id: &e.persistence_id,
                        first_sequence_nr: e.sequence_nr,
                        first_global_offset: e.global_offset,
                        events: std::slice::from_ref(&e.event),
                        bodies: &self.bodies[body.clone()],
                    })
                }
                Planned::State {
                    request,
                    highest,
                    deleted_to,
                } => {
                    let persistence_id = match &batch[request] {
                        Request::Delete { persistence_id, .. } | Request::SetState { persistence_id, .. } => persistence_id.as_str(),
                        Request::Import { events, .. } => {
                            // The state entry precedes the first event of its stream in this import.
                            let next_event = plan.iter().skip_while(|q| !std::ptr::eq(*q, p)).find_map(|q| match q {
                                Planned::Import { event, .. } => Some(*event),
                                _ => None,
                            });
                            events[next_event.expect("a state entry precedes an imported event")]
                                .persistence_id
                                .as_str()
                        }
                        _ => unreachable!("state entries come from delete, set-state or import"),
                    };
                    Op::SetState {
                        persistence_id,
                        highest,
                        deleted_to,
                    }
                }
            }));

            let wrote = !ops.is_empty();
            // A begun shared batch is always ended by `commit_begun`, with or without operations.
            let committed = if begun {
                self.storage.commit_begun(&ops, &self.buffer)
            } else if wrote {
                self.storage.commit(&ops, &self.buffer).map(|()| Committed::Done)
            } else {
                Ok(Committed::Done)
            };
            self.ops = recycle(ops);
            self.plan = plan;
            match committed {
                // Staged against marks another writer changed: nothing was written. Begin again (the
                // storage now asks the database, under its lock, so this happens once) and re-stage.
                Ok(Committed::Stale) if !restaged => {
                    restaged = true;
                    // The refusals of this attempt are decided again.
                    let refused = outcomes
                        .iter()
                        .filter(|o| matches!(o, Outcome::Done(Err(Error::SequenceConflict { .. }))))
                        .count();
                    self.metrics.sequence_conflicts.fetch_sub(refused as u64, Ordering::Relaxed);
                    continue;
                }
                Ok(Committed::Stale) => {
                    break (
                        outcomes,
                        spans,
                        staged,
                        next_offset,
                        committed_events,
                        wrote,
                        Err(Error::Database {
                            operation: "commit",
                            message: "the batch was staged against stale stream marks twice".into(),
                            retryable: true,
                        }),
                    );
                }
                Ok(Committed::Done) => break (outcomes, spans, staged, next_offset, committed_events, wrote, Ok(())),
                Err(e) => break (outcomes, spans, staged, next_offset, committed_events, wrote, Err(e)),
            }
        };
        let result = match committed {
            Ok(()) if wrote => match self.sync {
                SyncPolicy::Always => self.flush().inspect_err(|e| self.poison(e)),
                SyncPolicy::Interval(_) | SyncPolicy::Never => {
                    self.dirty = true;
                    Ok(())
                }
            },
            other => other,
        };

        match &result {
            Ok(()) => {
                self.next_offset = next_offset;
                // Visible and (per the sync policy) durable: subscriptions may read it now.
                self.shared.tails.publish(next_offset);
                for (pid, state) in staged {
                    match self.streams.get_mut(pid) {
                        Some(slot) => *slot = state,
                        None => {
                            self.streams.insert(pid.to_owned(), state);
                        }
                    }
                }
                if wrote {
                    Metrics::add(&self.metrics.batches, 1);
                    Metrics::add(&self.metrics.events, committed_events);
                    Metrics::add(&self.metrics.bytes, self.buffer.len() as u64);
                    self.metrics.batch_events.record(committed_events);
                    let took = started.elapsed();
                    self.metrics.commit_latency_us.record_duration(took);
                    let took_us = took.as_secs_f64() * 1e6;
                    self.commit_us = if self.commit_us == 0.0 {
                        took_us
                    } else {
                        0.75 * self.commit_us + 0.25 * took_us
                    };
                }
            }
            Err(_) => {
                // Storage rolled back (or the journal is now failed); reload state lazily.
                self.streams.clear();
                if let Ok(offset) = self.storage.next_global_offset() {
                    self.next_offset = offset;
                }
            }
        }

        // The outcome of every request is final: later operations on its streams may run (before any caller
        // hears of it, so that a callback reading its own write does not wait for itself).
        self.drained_writes = self.shared.order.settle_all(
            batch,
            |request, settle| request.for_each_persistence_id(settle),
            |request| matches!(request, Request::Write { .. }),
            &mut self.settle_scratch,
        );
        self.batch_settled = true;
        self.shared.order.wake();

        // Counted before any caller hears of its write (a caller may read the metrics next), once per batch.
        let (mut appends, mut failed) = (0, 0);
        for (request, span) in batch.iter().zip(&spans) {
            if let Request::Write { .. } = request {
                for outcome in &outcomes[span.clone()] {
                    match (outcome, &result) {
                        (Outcome::Staged { .. }, Ok(())) => appends += 1,
                        (Outcome::Done(Err(Error::SequenceConflict { .. })), _) => {}
                        (Outcome::Staged { .. }, Err(_)) | (Outcome::Done(Err(_)), _) => failed += 1,
                        _ => {}
                    }
                }
            }
        }
        for (counter, n) in [(&self.metrics.appends, appends), (&self.metrics.failed_writes, failed)] {
            if n > 0 {
                Metrics::add(counter, n);
            }
        }

        let (mut outcomes, mut spans) = (outcomes, spans);
        let mut outcomes_left = outcomes.drain(..);
        for (request, span) in batch.drain(..).zip(spans.drain(..)) {
            let request_outcomes = outcomes_left.by_ref().take(span.len());
            let resolve = |o: Outcome| -> Result<WriteReceipt> {
                match o {
                    Outcome::Done(r) => r,
                    Outcome::Unit => unreachable!("unit outcomes belong to delete, state and import requests"),
                    Outcome::Staged {
                        first_sequence_nr,
                        first_global_offset,
                        count,
                    } => result.clone().map(|()| WriteReceipt {
                        first_sequence_nr,
                        last_sequence_nr: first_sequence_nr + count - 1,
                        first_global_offset,
                    }),
                }
            };
            match request {
                Request::Write {
                    reply: WriteReply::Many(reply),
                    writes,
                    ..
                } => {
                    let results: Vec<_> = request_outcomes.into_iter().map(resolve).collect();
                    deliver(|| reply(results));
                    self.spent.push(writes);
                }
                Request::Write { reply, writes, .. } => {
                    let r = request_outcomes.into_iter().next().map(resolve).unwrap_or(Err(Error::Closed));
                    self.spent.extend(reply.answer(r, Some(writes)));
                }
                Request::Delete { reply, .. } | Request::SetState { reply, .. } | Request::Import { reply, .. } => {
                    // One outcome each: a refusal decided while staging, or the batch's result.
                    let r = match request_outcomes.into_iter().next() {
                        Some(Outcome::Done(Err(e))) => Err(e),
                        _ => result.clone(),
                    };
                    deliver(|| reply(r));
                }
                Request::Flush { reply } => {
                    // An explicit flush makes everything before it durable, whatever the policy.
                    let flushed = match &result {
                        Ok(()) if self.dirty => self.flush().inspect_err(|e| self.poison(e)),
                        _ => result.clone(),
                    };
                    deliver(|| reply(flushed));
                }
            }
        }
        drop(outcomes_left);
        self.outcomes = outcomes;
        self.spans = spans;
        self.shared.return_spent(&mut self.spent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewEvent;

    fn write(pid: &str) -> Writes {
        Writes::One(AtomicWrite {
            persistence_id: pid.into(),
            first_sequence_nr: 0,
            events: vec![NewEvent::new(b"x".to_vec())],
        })
    }

    #[test]
    fn answered_writes_wait_for_the_next_submitter_and_are_freed_once() {
        let shared = Shared::default();
        let mut batch = vec![write("a"), write("b")];
        shared.return_spent(&mut batch);
        assert!(batch.is_empty(), "the writer keeps nothing");
        assert_eq!(shared.spent.lock().writes.len(), 2);
        let mut next = vec![write("c")];
        shared.return_spent(&mut next);
        assert_eq!(shared.spent.lock().writes.len(), 3, "batches accumulate until a submitter comes");
        shared.free_spent();
        assert!(shared.spent.lock().writes.is_empty());
        assert!(!shared.spent_waiting.load(Ordering::Acquire));
        shared.free_spent();
        assert!(shared.spent.lock().writes.is_empty());
    }

    #[test]
    fn answered_writes_beyond_the_bound_are_freed_by_the_writer() {
        let shared = Shared::default();
        let mut full: Vec<Writes> = (0..MAX_SPENT).map(|_| Writes::Many(Vec::new())).collect();
        shared.return_spent(&mut full);
        let mut more = vec![write("a")];
        shared.return_spent(&mut more);
        assert!(more.is_empty());
        assert_eq!(
            shared.spent.lock().writes.len(),
            MAX_SPENT,
            "no submitter came: the waiting list stays bounded"
        );
    }

    #[test]
    fn answered_writes_beyond_the_byte_bound_are_freed_by_the_writer() {
        let shared = Shared::default();
        let large = |pid: &str| {
            Writes::One(AtomicWrite {
                persistence_id: pid.into(),
                first_sequence_nr: 0,
                events: vec![NewEvent::new(vec![0u8; MAX_SPENT_BYTES / 2])],
            })
        };
        let mut batch = vec![large("a"), large("b")];
        shared.return_spent(&mut batch);
        assert_eq!(shared.spent.lock().writes.len(), 2, "exactly at the bound: kept");
        let mut more = vec![write("c")];
        shared.return_spent(&mut more);
        assert!(more.is_empty());
        assert_eq!(shared.spent.lock().writes.len(), 2, "over the byte bound: freed by the writer");
        shared.free_spent();
        assert_eq!(shared.spent.lock().bytes, 0);
    }
}
