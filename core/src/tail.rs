//! Subscriptions: follow the journal live (everything, one tag, or one stream).
//!
//! The writer only *signals*: after each group commit, once the batch is visible to readers
//! (and, with [`crate::SyncPolicy::Always`], on stable storage), it publishes the committed
//! watermark, the next global offset, with one atomic store, and wakes whoever sleeps on it.
//! A subscription reads committed events from storage itself, one bounded page at a time,
//! and delivers only events below the watermark: it catches up and goes live with one code
//! path, so there is no hand-over from "catch-up" to "live" that could drop or repeat an
//! event. Nothing is buffered per subscription, so a slow consumer costs the writer nothing.
//!
//! Who reads storage:
//! * blocking [`Subscription::next_batch`] and [`Subscription::try_next_batch`]: the caller;
//! * the asynchronous forms, when nothing is available at once: the journal's *tail thread*
//!   (`tidelog-tail`, started at the first such wait), never the writer. It calls the
//!   callback, which must not block: bindings hand the batch to their own host glue.
//!
//! A read-only handle (another process writes) is woken by file-change notification on the
//! backend's directory, with a fallback poll every [`FOLLOW_POLL`] (`tidelog-follow`
//! thread, started at the first subscription). Neither thread keeps a process alive, and
//! both end when the journal closes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::completion::{Callback, Completion};
use crate::error::{Error, InvalidArgument, Result};
use crate::model::{validate_persistence_id, Event, EventRef};
use crate::storage::Storage;

/// How often a read-only handle re-reads the journal's end when no file-change
/// notification arrived (they can be lost: a full inotify queue, a network filesystem).
pub const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// What a subscription follows, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionSource {
    /// Every live event with `global_offset >= from_offset`, in offset order.
    All {
        /// First global offset (0 or 1: from the beginning).
        from_offset: u64,
    },
    /// Events carrying `tag` with `global_offset >= from_offset`, in offset order.
    Tag {
        /// The tag.
        tag: String,
        /// First global offset.
        from_offset: u64,
    },
    /// A stream's live events with `sequence_nr >= from_sequence_nr`, in order.
    Stream {
        /// The stream.
        persistence_id: String,
        /// First sequence number (0 or 1: from the beginning).
        from_sequence_nr: u64,
    },
}

impl SubscriptionSource {
    fn validate(&self) -> Result<()> {
        match self {
            SubscriptionSource::All { .. } => Ok(()),
            SubscriptionSource::Tag { tag, .. } if tag.is_empty() => Err(InvalidArgument::EmptyTag.into()),
            SubscriptionSource::Tag { .. } => Ok(()),
            SubscriptionSource::Stream { persistence_id, .. } => validate_persistence_id(persistence_id),
        }
    }

    /// The position a subscription starts at (offsets and sequence numbers start at 1).
    fn start(&self) -> u64 {
        match self {
            SubscriptionSource::All { from_offset } | SubscriptionSource::Tag { from_offset, .. } => (*from_offset).max(1),
            SubscriptionSource::Stream { from_sequence_nr, .. } => (*from_sequence_nr).max(1),
        }
    }
}

/// The journal's hub: the committed watermark, and the subscriptions waiting for it.
#[derive(Default)]
pub(crate) struct Tails {
    /// The next global offset: every event below it is committed and visible to readers.
    watermark: AtomicU64,
    /// Threads waiting for the watermark to move; the writer notifies only when there are some.
    sleepers: AtomicUsize,
    closed: AtomicBool,
    state: Mutex<HubState>,
    changed: Condvar,
}

#[derive(Default)]
struct HubState {
    /// Bumped by every registration, cancellation and close, so the tail thread looks again.
    generation: u64,
    /// Asynchronous requests nothing was available for yet.
    pending: Vec<Pending>,
    tail_thread: bool,
    follow_thread: bool,
}

struct Pending {
    sub: Arc<SubState>,
    max: usize,
    callback: Callback<Vec<Event>>,
}

impl Tails {
    /// Called by the writer after a commit is visible (and durable, per the sync policy):
    /// an atomic store, and a notify only when someone sleeps. Never reads storage.
    pub(crate) fn publish(&self, next_offset: u64) {
        let old = self.watermark.fetch_max(next_offset, SeqCst);
        if next_offset > old && self.sleepers.load(SeqCst) > 0 {
            // Taking the lock orders this notify after a sleeper's last check of the watermark.
            drop(self.state.lock());
            self.changed.notify_all();
        }
    }

    pub(crate) fn watermark(&self) -> u64 {
        self.watermark.load(SeqCst)
    }

    /// Ends every subscription: waiters wake and get [`Error::Closed`].
    pub(crate) fn close(&self) {
        self.closed.store(true, SeqCst);
        self.poke();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }

    fn poke(&self) {
        self.state.lock().generation += 1;
        self.changed.notify_all();
    }

    /// Sleeps until the watermark leaves `mark`, the journal closes, `cancelled` is set, or
    /// `deadline` passes.
    fn wait_past(&self, mark: u64, cancelled: &AtomicBool, deadline: Option<Instant>) {
        let mut state = self.state.lock();
        self.sleepers.fetch_add(1, SeqCst);
        while self.watermark.load(SeqCst) == mark && !self.is_closed() && !cancelled.load(SeqCst) {
            match deadline {
                None => self.changed.wait(&mut state),
                Some(d) => {
                    if self.changed.wait_until(&mut state, d).timed_out() {
                        break;
                    }
                }
            }
        }
        self.sleepers.fetch_sub(1, SeqCst);
    }

    /// Parks an asynchronous request for the tail thread, starting the thread if needed.
    fn park(self: &Arc<Self>, pending: Pending) {
        let mut state = self.state.lock();
        if self.is_closed() {
            drop(state);
            return crate::writer::deliver(|| (pending.callback)(Err(Error::Closed)));
        }
        state.pending.push(pending);
        state.generation += 1;
        if !state.tail_thread {
            let hub = self.clone();
            let spawned = std::thread::Builder::new()
                .name("tidelog-tail".into())
                .spawn(move || hub.run_tail_thread());
            match spawned {
                Ok(_) => state.tail_thread = true,
                Err(e) => {
                    let error = Error::io("spawn tail thread", std::path::Path::new(""), e);
                    let failed: Vec<Pending> = state.pending.drain(..).collect();
                    drop(state);
                    for p in failed {
                        let error = error.clone();
                        crate::writer::deliver(|| (p.callback)(Err(error)));
                    }
                    return;
                }
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// The tail thread: serves parked requests whenever the watermark moves or one is
    /// registered or cancelled; ends when the journal closes.
    fn run_tail_thread(self: Arc<Self>) {
        let (mut seen_mark, mut seen_generation) = (u64::MAX, u64::MAX);
        loop {
            let mut state = self.state.lock();
            loop {
                if self.is_closed() || state.generation != seen_generation {
                    break;
                }
                if state.pending.is_empty() {
                    // Nothing to serve: sleep through commits, wake on the next registration.
                    self.changed.wait(&mut state);
                    continue;
                }
                self.sleepers.fetch_add(1, SeqCst);
                let moved = self.watermark.load(SeqCst) != seen_mark;
                if !moved {
                    self.changed.wait(&mut state);
                }
                self.sleepers.fetch_sub(1, SeqCst);
                if moved || self.watermark.load(SeqCst) != seen_mark {
                    break;
                }
            }
            let closed = self.is_closed();
            seen_mark = self.watermark.load(SeqCst);
            seen_generation = state.generation;
            let work = std::mem::take(&mut state.pending);
            if closed {
                state.tail_thread = false;
            }
            drop(state);
            let mut keep = Vec::new();
            for p in work {
                if closed || p.sub.cancelled.load(SeqCst) {
                    crate::writer::deliver(|| (p.callback)(Err(Error::Closed)));
                    continue;
                }
                match p.sub.read(p.max, seen_mark) {
                    Ok(events) if events.is_empty() => keep.push(p),
                    result => crate::writer::deliver(|| (p.callback)(result)),
                }
            }
            if closed {
                return;
            }
            if !keep.is_empty() {
                let mut state = self.state.lock();
                keep.append(&mut state.pending);
                state.pending = keep;
            }
        }
    }

    /// Starts following another process's writer (read-only handles): file-change
    /// notification on `dir`, and a re-read of the journal's end every [`FOLLOW_POLL`].
    pub(crate) fn follow(self: &Arc<Self>, storage: &Arc<dyn Storage>, dir: Option<PathBuf>) -> Result<()> {
        let mut state = self.state.lock();
        if state.follow_thread || self.is_closed() {
            return Ok(());
        }
        let (hub, storage) = (self.clone(), storage.clone());
        std::thread::Builder::new()
            .name("tidelog-follow".into())
            .spawn(move || hub.run_follow_thread(storage, dir))
            .map_err(|e| Error::io("spawn follow thread", std::path::Path::new(""), e))?;
        state.follow_thread = true;
        Ok(())
    }

    fn run_follow_thread(self: Arc<Self>, storage: Arc<dyn Storage>, dir: Option<PathBuf>) {
        use notify::Watcher;
        let (tx, rx) = crossbeam_channel::bounded::<()>(1);
        // Events only wake this thread; a full channel means it is awake already.
        // Without a directory (a database), or without notification, the poll alone follows.
        let _watcher = dir.and_then(|dir| {
            let watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
                let _ = tx.try_send(());
            });
            match watcher {
                Ok(mut w) => match w.watch(&dir, notify::RecursiveMode::NonRecursive) {
                    Ok(()) => Some(w),
                    Err(err) => {
                        tracing::warn!(error = %err, dir = %dir.display(), "no file-change notification; following by polling");
                        None
                    }
                },
                Err(err) => {
                    tracing::warn!(error = %err, "no file-change notification; following by polling");
                    None
                }
            }
        });
        while !self.is_closed() {
            let _ = rx.recv_timeout(FOLLOW_POLL);
            if self.is_closed() {
                break;
            }
            match storage.next_global_offset() {
                Ok(next) => self.publish(next),
                Err(err) => tracing::debug!(error = %err, "following: reading the journal's end failed; retrying"),
            }
        }
    }
}

/// A subscription's state, shared with the tail thread while a request is parked.
struct SubState {
    source: SubscriptionSource,
    storage: Arc<dyn Storage>,
    hub: Arc<Tails>,
    /// Next global offset (all, tag) or sequence number (stream) to deliver. Reads hold
    /// the lock, so concurrent calls never deliver an event twice.
    position: Mutex<u64>,
    cancelled: AtomicBool,
    /// An asynchronous request is parked (at most one at a time).
    parked: AtomicBool,
}

impl SubState {
    fn ended(&self) -> bool {
        self.cancelled.load(SeqCst) || self.hub.is_closed()
    }

    /// Up to `max` events below the watermark `mark`, from the position on; moves the position.
    fn read(&self, max: usize, mark: u64) -> Result<Vec<Event>> {
        if self.ended() {
            return Err(Error::Closed);
        }
        let mut position = self.position.lock();
        let mut events = Vec::new();
        let mut keep = |e: EventRef<'_>| {
            if e.global_offset >= mark {
                return false;
            }
            events.push(e.to_event());
            true
        };
        match &self.source {
            SubscriptionSource::All { .. } => self.storage.scan_global(*position, None, max, &mut keep),
            SubscriptionSource::Tag { tag, .. } => self.storage.scan_global(*position, Some(tag), max, &mut keep),
            SubscriptionSource::Stream { persistence_id, .. } => {
                self.storage.scan_stream(persistence_id, *position, u64::MAX, max, &mut keep)
            }
        }
        .map_err(|e| if self.ended() { Error::Closed } else { e })?;
        match (&self.source, events.last()) {
            (SubscriptionSource::Stream { .. }, Some(last)) => *position = last.sequence_nr + 1,
            (SubscriptionSource::Stream { .. }, None) => {}
            (_, last) => {
                if let Some(last) = last {
                    *position = last.global_offset + 1;
                }
                // A short page saw everything below the mark: skip ahead, so a tag's next
                // read starts at the mark instead of rescanning what it already passed.
                if events.len() < max {
                    *position = (*position).max(mark);
                }
            }
        }
        Ok(events)
    }
}

/// A live follow of the journal, from [`crate::Journal::subscribe`].
///
/// Each call returns the next committed events in order (global offset for everything and
/// tags, sequence number for a stream), each exactly once, at most `max` per batch. It first
/// catches up from storage, then waits for new commits. Events deleted before the
/// subscription reached them are skipped, as reads skip them.
///
/// Ends with [`Error::Closed`] once [`Subscription::cancel`]led or dropped, or when the
/// journal closes. A subscription does not keep the journal open.
pub struct Subscription {
    inner: Arc<SubState>,
}

impl Subscription {
    pub(crate) fn new(source: SubscriptionSource, storage: Arc<dyn Storage>, hub: Arc<Tails>) -> Result<Subscription> {
        source.validate()?;
        let position = Mutex::new(source.start());
        Ok(Subscription {
            inner: Arc::new(SubState {
                source,
                storage,
                hub,
                position,
                cancelled: AtomicBool::new(false),
                parked: AtomicBool::new(false),
            }),
        })
    }

    /// What this subscription follows (with the position it started from).
    pub fn source(&self) -> &SubscriptionSource {
        &self.inner.source
    }

    /// The next global offset (everything, tag) or sequence number (stream) it will deliver
    /// from: where to resume after a restart.
    pub fn position(&self) -> u64 {
        *self.inner.position.lock()
    }

    /// The committed events available now, up to `max` (at least 1); empty when none are.
    /// [`Error::Closed`] once cancelled or the journal closed.
    pub fn try_next_batch(&self, max: usize) -> Result<Vec<Event>> {
        self.inner.read(max.max(1), self.inner.hub.watermark())
    }

    /// Blocks until at least one event is available and returns up to `max` (at least 1).
    /// [`Error::Closed`] once cancelled (also from another thread) or the journal closed.
    pub fn next_batch(&self, max: usize) -> Result<Vec<Event>> {
        self.next_batch_until(max, None)
    }

    /// [`Subscription::next_batch`] that gives up after `timeout`, returning an empty batch.
    pub fn next_batch_timeout(&self, max: usize, timeout: Duration) -> Result<Vec<Event>> {
        self.next_batch_until(max, Some(Instant::now() + timeout))
    }

    fn next_batch_until(&self, max: usize, deadline: Option<Instant>) -> Result<Vec<Event>> {
        loop {
            let mark = self.inner.hub.watermark();
            let events = self.inner.read(max.max(1), mark)?;
            if !events.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(events);
            }
            self.inner.hub.wait_past(mark, &self.inner.cancelled, deadline);
        }
    }

    /// [`Subscription::next_batch`] as a runtime-agnostic future. One request at a time:
    /// a second one while the first is pending fails with
    /// [`InvalidArgument::SubscriptionBusy`].
    pub fn next_batch_async(&self, max: usize) -> Completion<Vec<Event>> {
        let (completion, callback) = Completion::new();
        self.next_batch_with(max, callback);
        completion
    }

    /// [`Subscription::next_batch`] with a callback, called exactly once: on this thread
    /// when events are available at once (or the subscription ended), otherwise on the
    /// journal's tail thread when they are. The callback must not block; bindings hand the
    /// batch to their own host glue. Cancelling or closing completes it with [`Error::Closed`].
    pub fn next_batch_with(&self, max: usize, callback: impl FnOnce(Result<Vec<Event>>) + Send + 'static) {
        let callback: Callback<Vec<Event>> = Box::new(callback);
        if self.inner.parked.swap(true, SeqCst) {
            return callback(Err(InvalidArgument::SubscriptionBusy.into()));
        }
        let max = max.max(1);
        let inner = self.inner.clone();
        let callback: Callback<Vec<Event>> = Box::new(move |result| {
            inner.parked.store(false, SeqCst);
            callback(result)
        });
        match self.inner.read(max, self.inner.hub.watermark()) {
            Ok(events) if events.is_empty() => self.inner.hub.park(Pending {
                sub: self.inner.clone(),
                max,
                callback,
            }),
            result => callback(result),
        }
    }

    /// [`Subscription::next_batch_with`] that never reads storage on this thread: the journal's
    /// tail thread reads and calls back, also when events are available at once. For hosts
    /// whose calling thread must not do I/O (Node's event loop).
    pub fn next_batch_off_thread(&self, max: usize, callback: impl FnOnce(Result<Vec<Event>>) + Send + 'static) {
        let callback: Callback<Vec<Event>> = Box::new(callback);
        if self.inner.parked.swap(true, SeqCst) {
            return callback(Err(InvalidArgument::SubscriptionBusy.into()));
        }
        let inner = self.inner.clone();
        self.inner.hub.park(Pending {
            sub: self.inner.clone(),
            max: max.max(1),
            callback: Box::new(move |result| {
                inner.parked.store(false, SeqCst);
                callback(result)
            }),
        });
    }

    /// Ends the subscription: a waiting or later call returns [`Error::Closed`], a parked
    /// asynchronous request completes with it. Idempotent; dropping the subscription does
    /// the same.
    pub fn cancel(&self) {
        if !self.inner.cancelled.swap(true, SeqCst) {
            self.inner.hub.poke();
        }
    }

    /// True once cancelled or the journal closed.
    pub fn is_ended(&self) -> bool {
        self.inner.ended()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("source", &self.inner.source)
            .field("position", &self.position())
            .field("ended", &self.is_ended())
            .finish()
    }
}
