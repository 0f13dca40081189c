//! The journal handle: the public API every binding wraps.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};

use crate::completion::{Callback, Completion};
use crate::error::{Error, InvalidArgument, Result};
use crate::layout::{self, WriterLock};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::model::{validate_persistence_id, AtomicWrite, BodyPage, Event, EventRef, NewEvent, WriteReceipt};
use crate::options::{Backend, Options};
use crate::snapshot::SnapshotStore;
use crate::storage::{files::FileStorage, lmdb::LmdbStorage, memory::MemoryStorage, postgres, Storage, StreamState};
use crate::tail::{Subscription, SubscriptionSource};
use crate::writer::{NewEventWithIds, Request, Shared, WriteReply, Writer, Writes};

/// An open event journal. Cheap to clone: clones share one journal, and
/// [`Journal::close`] closes it for all of them.
///
/// Writes go through one group-commit writer thread; reads run on the calling
/// thread against committed data. With the default [`crate::SyncPolicy::Always`],
/// a write whose result is `Ok` is on stable storage.
///
/// ```
/// use tidelog::{Backend, Journal, NewEvent, Options};
/// let journal = Journal::open("unused-for-memory", Options::new().backend(Backend::Memory))?;
/// let receipt = journal.append("account-1", vec![NewEvent::new(b"opened".to_vec())])?;
/// assert_eq!(receipt.first_sequence_nr, 1);
/// let events = journal.read("account-1", 1, u64::MAX, usize::MAX)?;
/// assert_eq!(events[0].payload, b"opened");
/// journal.close()?;
/// # Ok::<(), tidelog::Error>(())
/// ```
#[derive(Clone)]
pub struct Journal {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    path: PathBuf,
    pub(crate) options: Options,
    pub(crate) storage: Arc<dyn Storage>,
    /// `None` once closed (or for a read-only journal); taking it stops intake.
    sender: RwLock<Option<Sender<Request>>>,
    closed: Arc<AtomicBool>,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    snapshots: SnapshotStore,
    writer_done: Mutex<Option<crossbeam_channel::Receiver<()>>>,
    /// The writer's state, shared with the writer thread so a lone blocking
    /// caller can commit on its own thread (`None` when read-only).
    writer: Option<Arc<Mutex<Writer>>>,
    /// Requests queued or in the writer thread's hand, not yet in a batch.
    pending: Arc<AtomicUsize>,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` with `options`.
    ///
    /// Fails with [`Error::Locked`] when another writer holds the journal,
    /// [`Error::UnsupportedFormat`] when it was written by a newer format, and
    /// [`Error::Corrupt`] when damage is found before the tail of the log.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Journal> {
        options.validate()?;
        let mut options = options;
        let uri = path.as_ref().to_str().filter(|p| postgres::is_uri(p)).map(str::to_owned);
        if uri.is_some() {
            // A connection URI where a directory goes chooses the PostgreSQL backend.
            options.backend = Backend::Postgres;
        } else if options.backend == Backend::Postgres {
            return Err(InvalidArgument::Option {
                option: "backend",
                reason: "the postgres backend is opened with a postgresql:// or postgres:// URI as its path",
            }
            .into());
        }
        // Never keep a password where `path()`, `Debug` or an error could show it.
        let path = match &uri {
            Some(uri) => PathBuf::from(postgres::redact(uri)),
            None => path.as_ref().to_path_buf(),
        };
        let metrics = Arc::new(Metrics::default());
        let closed = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared::default());

        let (storage, snapshots, lock): (Arc<dyn Storage>, SnapshotStore, Option<WriterLock>) = match options.backend {
            Backend::Postgres => {
                // Several writers share the database: no lock file; the database orders them.
                let db = postgres::Database::open(uri.as_deref().unwrap_or_default(), &options)?;
                let snapshots = SnapshotStore::postgres(
                    db.clone(),
                    closed.clone(),
                    metrics.clone(),
                    options.snapshot_compression,
                    shared.order.clone(),
                );
                (Arc::new(postgres::PostgresStorage::open(db)), snapshots, None)
            }
            Backend::Memory => (
                Arc::new(MemoryStorage::new()),
                SnapshotStore::memory(closed.clone(), metrics.clone(), shared.order.clone()),
                None,
            ),
            backend => {
                let lock = if options.read_only {
                    None
                } else {
                    Some(WriterLock::acquire(&path)?)
                };
                layout::prepare(&path, backend, options.read_only)?;
                let storage: Arc<dyn Storage> = match backend {
                    Backend::Lmdb => Arc::new(LmdbStorage::open(&path.join("lmdb"), &options, metrics.clone())?),
                    _ => Arc::new(FileStorage::open(&path.join("segments"), &options, metrics.clone())?),
                };
                let snapshots = SnapshotStore::files(
                    path.join("snapshots"),
                    closed.clone(),
                    metrics.clone(),
                    options.snapshot_compression,
                    shared.order.clone(),
                )?;
                (storage, snapshots, lock)
            }
        };

        let pending = Arc::new(AtomicUsize::new(0));
        let (sender, writer_done, writer) = if options.read_only {
            (None, None, None)
        } else {
            let (sender, receiver) = crossbeam_channel::unbounded();
            let writer = Arc::new(Mutex::new(Writer::new(storage.clone(), shared.clone(), metrics.clone(), &options)?));
            let (done_tx, done_rx) = crossbeam_channel::bounded(1);
            let (thread_writer, thread_pending) = (writer.clone(), pending.clone());
            std::thread::Builder::new()
                .name("tidelog-writer".into())
                .spawn(move || {
                    Writer::run(thread_writer, receiver, thread_pending);
                    // The lock is released only after storage is closed and flushed.
                    drop(lock);
                    let _ = done_tx.send(());
                })
                .map_err(|e| Error::io("spawn writer thread", &path, e))?;
            (Some(sender), Some(done_rx), Some(writer))
        };

        Ok(Journal {
            inner: Arc::new(Inner {
                path,
                options,
                storage,
                sender: RwLock::new(sender),
                closed,
                shared,
                metrics,
                snapshots,
                writer_done: Mutex::new(writer_done),
                writer,
                pending,
            }),
        })
    }

    /// The directory the journal lives in (for PostgreSQL, its URI without the password).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.options.backend
    }

    /// Fails with [`InvalidArgument::OptionDiffers`], naming the first option in
    /// which `options` differs from those the journal was opened with.
    ///
    /// For components that share one open journal but are configured apart (the
    /// Akka.NET and Pekko plugins share one per directory): without this check,
    /// whichever opened it first would silently decide the others' sync policy.
    pub fn check_options(&self, options: &Options) -> Result<()> {
        // A URI chose the PostgreSQL backend at open whatever `options.backend` said: so here too
        // (the plugins of one URI pass the options they were configured with, backend included).
        let chosen;
        let options = if self.inner.options.backend == Backend::Postgres {
            chosen = options.clone().backend(Backend::Postgres);
            &chosen
        } else {
            options
        };
        match self.inner.options.first_difference(options) {
            None => Ok(()),
            Some((option, open, wanted)) => Err(InvalidArgument::OptionDiffers { option, open, wanted }.into()),
        }
    }

    /// True once [`Journal::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    fn ensure_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Hands a request to the writer, or fails it at once.
    fn submit(&self, request: Request) {
        let guard = self.inner.sender.read();
        let Some(sender) = guard.as_ref() else {
            drop(guard);
            let error = if self.is_closed() {
                Error::Closed
            } else {
                InvalidArgument::ReadOnly.into()
            };
            return request.fail(error);
        };
        if let Some(err) = self.inner.shared.failure() {
            drop(guard);
            return request.fail(err);
        }
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        // Counted before it is queued: an operation issued once this returns waits for it (see `order`).
        let order = &self.inner.shared.order;
        request.for_each_persistence_id(|pid| order.issue(pid));
        match sender.send(request) {
            Ok(()) => {
                self.inner.shared.queued(self.inner.pending.load(Ordering::SeqCst));
                drop(guard);
                // After queueing, so the writer has the request first; and not holding off `close`.
                self.inner.shared.free_spent();
            }
            Err(crossbeam_channel::SendError(request)) => {
                self.inner.pending.fetch_sub(1, Ordering::SeqCst);
                drop(guard);
                request.for_each_persistence_id(|pid| order.settle(pid));
                order.wake();
                request.fail(Error::Closed);
            }
        }
    }

    /// Like `submit`, for a caller that blocks until the result: when the writer
    /// is idle and nothing is queued, the write is committed on this thread,
    /// saving two thread hand-offs. Order is kept: the writer lock is held and no
    /// earlier request is waiting. Not for the interval policy, whose flush timer
    /// lives on the writer thread.
    fn submit_blocking(&self, request: Request) {
        let inline = |request: Request| -> std::result::Result<(), Request> {
            if matches!(self.inner.options.sync, crate::options::SyncPolicy::Interval(_)) || self.inner.pending.load(Ordering::SeqCst) != 0
            {
                return Err(request);
            }
            let Some(writer) = self.inner.writer.as_ref() else {
                return Err(request);
            };
            let Some(mut writer) = writer.try_lock() else { return Err(request) };
            // Checked under the lock: the writer thread takes requests out of `pending` only while holding it.
            if self.inner.pending.load(Ordering::SeqCst) != 0 || self.inner.sender.read().is_none() {
                return Err(request);
            }
            request.for_each_persistence_id(|pid| self.inner.shared.order.issue(pid));
            writer.commit_inline(request);
            Ok(())
        };
        if let Err(request) = inline(request) {
            self.submit(request);
        }
    }

    fn validate_events(&self, events: &[NewEvent]) -> Result<()> {
        if events.is_empty() {
            return Err(InvalidArgument::EmptyWrite.into());
        }
        events.iter().try_for_each(|e| e.validate(self.inner.options.max_event_bytes))
    }

    // ---- append -------------------------------------------------------------

    /// Appends events to a stream as one atomic write; the journal assigns
    /// sequence numbers `highest + 1 ..`. Blocks until committed (and, by
    /// default, flushed).
    pub fn append(&self, persistence_id: &str, events: Vec<NewEvent>) -> Result<WriteReceipt> {
        let (completion, sender) = Completion::channel();
        if let Some(request) = self.append_request(persistence_id, events, WriteReply::Completion(sender)) {
            self.submit_blocking(request);
        }
        completion.wait()
    }

    /// [`Journal::append`] as a runtime-agnostic future.
    pub fn append_async(&self, persistence_id: &str, events: Vec<NewEvent>) -> Completion<WriteReceipt> {
        let (completion, sender) = Completion::channel();
        if let Some(request) = self.append_request(persistence_id, events, WriteReply::Completion(sender)) {
            self.submit(request);
        }
        completion
    }

    /// [`Journal::append`] with a callback, called exactly once, on the writer
    /// thread (or on this thread when the request fails validation). The
    /// callback must not block.
    pub fn append_with(&self, persistence_id: &str, events: Vec<NewEvent>, callback: impl FnOnce(Result<WriteReceipt>) + Send + 'static) {
        self.append_boxed(persistence_id, events, Box::new(callback));
    }

    /// [`Journal::append_with`] for a callback that is boxed already (no second box).
    fn append_boxed(&self, persistence_id: &str, events: Vec<NewEvent>, callback: Callback<WriteReceipt>) {
        if let Some(request) = self.append_request(persistence_id, events, WriteReply::One(callback)) {
            self.submit(request);
        }
    }

    /// Validates an append; a refused one is completed at once and yields no request.
    fn append_request(&self, persistence_id: &str, events: Vec<NewEvent>, reply: WriteReply) -> Option<Request> {
        if let Err(e) = self
            .ensure_open()
            .and_then(|()| validate_persistence_id(persistence_id))
            .and_then(|()| self.validate_events(&events))
        {
            reply.answer(Err(e), None);
            return None;
        }
        let write = AtomicWrite {
            persistence_id: persistence_id.to_owned(),
            first_sequence_nr: 0,
            events,
        };
        Some(Request::Write {
            writes: Writes::One(write),
            reply,
        })
    }

    // ---- write --------------------------------------------------------------

    /// Commits explicit atomic writes in one group commit. Each write's first
    /// sequence number must be its stream's `highest + 1` (counting earlier
    /// writes of the same call); a write that does not fit fails alone with
    /// [`Error::SequenceConflict`]. The result has one entry per write, in order.
    pub fn write(&self, writes: Vec<AtomicWrite>) -> Result<Vec<Result<WriteReceipt>>> {
        let (completion, callback) = Completion::new();
        if let Some(request) = self.write_request(writes, move |r| callback(Ok(r))) {
            self.submit_blocking(request);
        }
        completion.wait()
    }

    /// [`Journal::write`] as a runtime-agnostic future.
    pub fn write_async(&self, writes: Vec<AtomicWrite>) -> Completion<Vec<Result<WriteReceipt>>> {
        let (completion, callback) = Completion::new();
        self.write_with(writes, move |r| callback(Ok(r)));
        completion
    }

    /// [`Journal::write`] with a callback called exactly once (see [`Journal::append_with`]).
    /// Per-write failures, `Closed` included, are entries of the vector.
    pub fn write_with(&self, writes: Vec<AtomicWrite>, callback: impl FnOnce(Vec<Result<WriteReceipt>>) + Send + 'static) {
        if let Some(request) = self.write_request(writes, callback) {
            self.submit(request);
        }
    }

    /// The writer request for `writes`, or `None` when `callback` was already
    /// answered (closed journal, or no valid write). Invalid writes fail alone;
    /// the valid rest go to the writer and the results are merged back in order.
    fn write_request(
        &self,
        writes: Vec<AtomicWrite>,
        callback: impl FnOnce(Vec<Result<WriteReceipt>>) + Send + 'static,
    ) -> Option<Request> {
        if let Err(e) = self.ensure_open() {
            callback(writes.iter().map(|_| Err(e.clone())).collect());
            return None;
        }
        let checks: Vec<Result<()>> = writes
            .iter()
            .map(|w| {
                validate_persistence_id(&w.persistence_id)?;
                if w.first_sequence_nr == 0 {
                    return Err(InvalidArgument::ZeroSequenceNr.into());
                }
                self.validate_events(&w.events)
            })
            .collect();
        if checks.iter().all(Result::is_ok) {
            return Some(Request::Write {
                writes: Writes::Many(writes),
                reply: WriteReply::Many(Box::new(callback)),
            });
        }
        let valid: Vec<AtomicWrite> = writes.into_iter().zip(&checks).filter(|(_, c)| c.is_ok()).map(|(w, _)| w).collect();
        let merge = move |committed: Vec<Result<WriteReceipt>>| {
            let mut committed = committed.into_iter();
            let merged = checks.into_iter().map(|c| match c {
                Ok(()) => committed.next().unwrap_or(Err(Error::Closed)),
                Err(e) => Err(e),
            });
            callback(merged.collect())
        };
        if valid.is_empty() {
            merge(Vec::new());
            return None;
        }
        Some(Request::Write {
            writes: Writes::Many(valid),
            reply: WriteReply::Many(Box::new(merge)),
        })
    }

    // ---- delete and flush ---------------------------------------------------

    /// Deletes the stream's events up to and including `to_sequence_nr`.
    /// [`Journal::highest_sequence_nr`] is unchanged.
    pub fn delete_to(&self, persistence_id: &str, to_sequence_nr: u64) -> Result<()> {
        self.delete_to_async(persistence_id, to_sequence_nr).wait()
    }

    /// [`Journal::delete_to`] as a runtime-agnostic future.
    pub fn delete_to_async(&self, persistence_id: &str, to_sequence_nr: u64) -> Completion<()> {
        let (completion, callback) = Completion::new();
        self.delete_to_with(persistence_id, to_sequence_nr, callback);
        completion
    }

    /// [`Journal::delete_to`] with a callback called exactly once.
    pub fn delete_to_with(&self, persistence_id: &str, to_sequence_nr: u64, callback: impl FnOnce(Result<()>) + Send + 'static) {
        if let Err(e) = self.ensure_open().and_then(|()| validate_persistence_id(persistence_id)) {
            return callback(Err(e));
        }
        self.submit(Request::Delete {
            persistence_id: persistence_id.to_owned(),
            to: to_sequence_nr,
            reply: Box::new(callback),
        });
    }

    /// Waits until everything submitted before it is committed and flushed to
    /// stable storage, whatever the sync policy.
    pub fn flush(&self) -> Result<()> {
        self.flush_async().wait()
    }

    /// [`Journal::flush`] as a runtime-agnostic future.
    pub fn flush_async(&self) -> Completion<()> {
        let (completion, callback) = Completion::new();
        self.flush_with(callback);
        completion
    }

    /// [`Journal::flush`] with a callback called exactly once.
    pub fn flush_with(&self, callback: impl FnOnce(Result<()>) + Send + 'static) {
        let callback: Callback<()> = Box::new(callback);
        if let Err(e) = self.ensure_open() {
            return callback(Err(e));
        }
        self.submit(Request::Flush { reply: callback });
    }

    // ---- import (tools: restore, migration between backends) ----------------

    /// Stores events exactly as given: sequence numbers, global offsets,
    /// timestamps and every other field. All-or-nothing. Events must come in
    /// increasing global-offset order, at or above the journal's next offset;
    /// each continues its stream, except that a stream with no live events may
    /// resume above its highest (the gap is recorded as deleted).
    pub fn import(&self, events: Vec<Event>) -> Result<()> {
        self.ensure_open()?;
        let mut staged = Vec::with_capacity(events.len());
        for e in events {
            validate_persistence_id(&e.persistence_id)?;
            if e.sequence_nr == 0 {
                return Err(InvalidArgument::ZeroSequenceNr.into());
            }
            let event = NewEvent {
                payload: e.payload,
                manifest: e.manifest,
                writer_id: e.writer_id,
                tags: e.tags,
                timestamp: Some(e.timestamp),
                metadata: e.metadata,
            };
            event.validate(self.inner.options.max_event_bytes)?;
            staged.push(NewEventWithIds {
                persistence_id: e.persistence_id,
                sequence_nr: e.sequence_nr,
                global_offset: e.global_offset,
                event,
            });
        }
        if staged.is_empty() {
            return Ok(());
        }
        let (completion, callback) = Completion::new();
        self.submit(Request::Import {
            events: staged,
            reply: callback,
        });
        completion.wait()
    }

    /// Raises a stream's marks (for restoring streams whose events were all
    /// deleted). Marks only move forward, `deleted_to <= highest`, and live
    /// events may not be skipped; otherwise [`InvalidArgument::StreamStateRegression`].
    pub fn import_stream_state(&self, persistence_id: &str, highest: u64, deleted_to: u64) -> Result<()> {
        self.ensure_open()?;
        validate_persistence_id(persistence_id)?;
        let (completion, callback) = Completion::new();
        self.submit(Request::SetState {
            persistence_id: persistence_id.to_owned(),
            highest,
            deleted_to,
            reply: callback,
        });
        completion.wait()
    }

    // ---- reads --------------------------------------------------------------

    /// Events of a stream with `from <= sequence_nr <= to`, oldest first, at most `max`.
    /// Deleted events are not returned.
    pub fn read(&self, persistence_id: &str, from: u64, to: u64, max: usize) -> Result<Vec<Event>> {
        collect(|keep| self.scan(persistence_id, from, to, max, keep))
    }

    /// Like [`Journal::read`] but hands borrowed events to `visit` without
    /// allocating; `visit` returns `false` to stop early.
    pub fn scan(&self, persistence_id: &str, from: u64, to: u64, max: usize, mut visit: impl FnMut(EventRef<'_>) -> bool) -> Result<()> {
        self.ensure_open()?;
        validate_persistence_id(persistence_id)?;
        if max == 0 || from > to {
            return Ok(());
        }
        self.after_writes_in_flight(persistence_id)?;
        self.inner.storage.scan_stream(persistence_id, from.max(1), to, max, &mut visit)
    }

    /// [`Journal::scan`] copying each event's checked stored body ([`EventRef::checked_body`])
    /// into `page` instead of visiting the event: the same events, checks and errors, for a
    /// binding that sends the bodies on as they are (the wire's "Stream page"). Stops after
    /// `max` events, when the page is full, or when a body does not fit ([`BodyPage::end`]).
    pub fn copy_bodies(&self, persistence_id: &str, from: u64, to: u64, max: usize, page: &mut BodyPage<'_>) -> Result<()> {
        self.ensure_open()?;
        validate_persistence_id(persistence_id)?;
        if max == 0 || from > to {
            return Ok(());
        }
        self.after_writes_in_flight(persistence_id)?;
        self.inner.storage.copy_stream_bodies(persistence_id, from.max(1), to, max, page)
    }

    /// Highest sequence number ever committed for the stream (0 if none).
    /// Survives [`Journal::delete_to`] and reopening.
    pub fn highest_sequence_nr(&self, persistence_id: &str) -> Result<u64> {
        Ok(self.stream_state(persistence_id)?.highest_sequence_nr)
    }

    /// The stream's marks: its highest sequence number and how far it was deleted.
    pub fn stream_state(&self, persistence_id: &str) -> Result<StreamState> {
        self.ensure_open()?;
        validate_persistence_id(persistence_id)?;
        self.after_writes_in_flight(persistence_id)?;
        self.inner.storage.stream_state(persistence_id)
    }

    /// Waits until every write to `persistence_id` issued before this call has its
    /// outcome (see the crate docs, "Issue order"); fails if the journal closed meanwhile.
    pub(crate) fn after_writes_in_flight(&self, persistence_id: &str) -> Result<()> {
        self.inner.shared.order.wait_for(persistence_id);
        self.ensure_open()
    }

    /// The global offset the next committed event will get (1 for an empty
    /// journal): the end of the feed for "current" queries that must stop where
    /// they started.
    pub fn next_global_offset(&self) -> Result<u64> {
        self.ensure_open()?;
        self.inner.storage.next_global_offset()
    }

    /// Every persistence id ever written, sorted.
    pub fn persistence_ids(&self) -> Result<Vec<String>> {
        self.ensure_open()?;
        self.inner.storage.persistence_ids()
    }

    /// Events carrying `tag` with `global_offset >= from_offset`, in commit order, at most `max`.
    /// Resume from the last event's `global_offset + 1`.
    pub fn events_by_tag(&self, tag: &str, from_offset: u64, max: usize) -> Result<Vec<Event>> {
        collect(|keep| self.scan_tag(tag, from_offset, max, keep))
    }

    /// Allocation-free form of [`Journal::events_by_tag`].
    pub fn scan_tag(&self, tag: &str, from_offset: u64, max: usize, mut visit: impl FnMut(EventRef<'_>) -> bool) -> Result<()> {
        self.ensure_open()?;
        if tag.is_empty() {
            return Err(InvalidArgument::EmptyTag.into());
        }
        if max == 0 {
            return Ok(());
        }
        self.inner.storage.scan_global(from_offset, Some(tag), max, &mut visit)
    }

    /// Every live event with `global_offset >= from_offset`, in commit order, at most `max`.
    pub fn all_events(&self, from_offset: u64, max: usize) -> Result<Vec<Event>> {
        collect(|keep| self.scan_all(from_offset, max, keep))
    }

    /// Allocation-free form of [`Journal::all_events`].
    pub fn scan_all(&self, from_offset: u64, max: usize, mut visit: impl FnMut(EventRef<'_>) -> bool) -> Result<()> {
        self.ensure_open()?;
        if max == 0 {
            return Ok(());
        }
        self.inner.storage.scan_global(from_offset, None, max, &mut visit)
    }

    // ---- subscriptions ------------------------------------------------------

    /// Follows the journal live from `source`'s position: catches up from storage, then
    /// delivers each newly committed event, in order, exactly once (see [`Subscription`]).
    /// The writer wakes subscriptions after each group commit; no timer is involved.
    ///
    /// On a read-only handle it follows another process's writer, woken by file-change
    /// notification on the backend's directory with a fallback poll ([`crate::FOLLOW_POLL`]);
    /// on a PostgreSQL journal it follows every writer of the database by that poll.
    ///
    /// ```
    /// use tidelog::{Backend, Journal, NewEvent, Options};
    /// let journal = Journal::open("unused-for-memory", Options::new().backend(Backend::Memory))?;
    /// let feed = journal.subscribe_all(0)?;
    /// journal.append("a", vec![NewEvent::new(b"x".to_vec())])?;
    /// let batch = feed.next_batch(100)?; // blocks until an event is committed
    /// assert_eq!(batch[0].payload, b"x");
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn subscribe(&self, source: SubscriptionSource) -> Result<Subscription> {
        self.ensure_open()?;
        let hub = &self.inner.shared.tails;
        // Another process (a read-only handle) or another node (a shared database) may commit
        // what this subscription must see: follow the storage, not only this process's writer.
        if self.inner.options.read_only || self.inner.storage.shared() {
            let dir = match self.inner.options.backend {
                Backend::Lmdb => Some(self.inner.path.join("lmdb")),
                Backend::Files => Some(self.inner.path.join("segments")),
                Backend::Memory => Some(self.inner.path.clone()),
                // No file to watch: the follow thread polls the committed counter.
                Backend::Postgres => None,
            };
            // Catch-up covers what is there now; the follow thread moves the mark from here.
            hub.publish(self.inner.storage.next_global_offset()?);
            hub.follow(&self.inner.storage, dir)?;
        }
        Subscription::new(source, self.inner.storage.clone(), hub.clone())
    }

    /// Every live event with `global_offset >= from_offset`, live ([`Journal::subscribe`]).
    pub fn subscribe_all(&self, from_offset: u64) -> Result<Subscription> {
        self.subscribe(SubscriptionSource::All { from_offset })
    }

    /// Events carrying `tag` with `global_offset >= from_offset`, live ([`Journal::subscribe`]).
    pub fn subscribe_tag(&self, tag: &str, from_offset: u64) -> Result<Subscription> {
        self.subscribe(SubscriptionSource::Tag {
            tag: tag.to_owned(),
            from_offset,
        })
    }

    /// A stream's live events with `sequence_nr >= from_sequence_nr`, live ([`Journal::subscribe`]).
    pub fn subscribe_stream(&self, persistence_id: &str, from_sequence_nr: u64) -> Result<Subscription> {
        self.subscribe(SubscriptionSource::Stream {
            persistence_id: persistence_id.to_owned(),
            from_sequence_nr,
        })
    }

    /// The journal's snapshot store.
    pub fn snapshots(&self) -> &SnapshotStore {
        &self.inner.snapshots
    }

    /// Current metrics.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// Reads and checks every value the backend stores, also those no read would reach (LMDB:
    /// every record of every database, which touches every page in use; the segment files are
    /// checked whole at open). The first damaged value is an [`Error::Corrupt`].
    ///
    /// LMDB's own page structure carries no checksum: damage to it may make this call, like any
    /// read, crash the process. `tidelog verify --deep` runs it in a child process for that reason.
    pub fn scrub(&self) -> Result<()> {
        self.ensure_open()?;
        self.inner.storage.scrub()
    }

    /// The torn tails this handle met: a writer dropped them at open (each counted in
    /// [`MetricsSnapshot::repaired_tails`]); a read-only handle reads up to them. A torn tail
    /// is a record cut by a crash, or damage to a log's last record: the format cannot tell
    /// them apart, so `tidelog verify` reports each one.
    pub fn torn_tails(&self) -> Vec<crate::TornTail> {
        self.inner.storage.torn_tails()
    }

    // ---- close --------------------------------------------------------------

    /// Stops intake, commits what is queued within the close timeout, fails
    /// whatever is left with [`Error::Closed`], flushes, and releases the files
    /// and the writer lock. Returns within the close timeout (plus the duration
    /// of a commit already in progress). Idempotent.
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }
}

/// Runs a scan that copies every visited event into an owned list.
fn collect(scan: impl FnOnce(&mut dyn FnMut(EventRef<'_>) -> bool) -> Result<()>) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    scan(&mut |e| {
        out.push(e.to_event());
        true
    })?;
    Ok(out)
}

impl Inner {
    fn close(&self) -> Result<()> {
        let timeout = self.options.close_timeout;
        let deadline = Instant::now() + timeout;
        *self.shared.close_deadline.lock() = Some(deadline);
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Operations waiting for writes in flight fail with `Closed` instead of waiting for the writer.
        self.shared.order.close();
        // Subscriptions end now; their waiters wake with `Closed`.
        self.shared.tails.close();
        // A snapshot save already under way finishes before the lock is released.
        self.snapshots.wait_for_operations();
        // Taking the sender waits for in-progress submissions, so none can slip in after this.
        let sender = self.sender.write().take();
        drop(sender);
        let done = self.writer_done.lock().take();
        if let Some(done) = done {
            // The writer stops committing at the deadline; allow one in-flight commit to finish.
            let grace = Duration::from_millis(250).min(timeout);
            if done.recv_deadline(deadline + grace).is_err() {
                tracing::warn!(path = %self.path.display(), "writer did not stop within the close timeout; it finishes in the background");
            }
        } else if self.options.read_only {
            self.storage.close()?;
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.inner.path)
            .field("backend", &self.inner.options.backend)
            .field("closed", &self.is_closed())
            .finish()
    }
}
