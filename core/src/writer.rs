//! The group-commit writer: one thread per open journal owns every write.
//!
//! Callers enqueue requests; the writer takes everything queued (up to the
//! batch limits), validates it against the streams' highest sequence numbers,
//! assigns sequence numbers, timestamps and global offsets, commits the batch
//! in one storage transaction, flushes it once, then completes every caller.
//! A lone caller never waits for company: batches form only under load.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use parking_lot::Mutex;

use crate::codec;
use crate::completion::Callback;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::model::{now_millis, AtomicWrite, WriteReceipt};
use crate::options::{Options, SyncPolicy};
use crate::storage::{Op, StagedWrite, Storage};

/// Work for the writer thread.
pub(crate) enum Request {
    /// Atomic writes. A `first_sequence_nr` of 0 means "assign highest + 1" (`append`).
    Write { writes: Vec<AtomicWrite>, reply: WriteReply },
    /// `delete_to`.
    Delete { persistence_id: String, to: u64, reply: Callback<()> },
    /// Completes once everything queued before it is committed and flushed.
    Flush { reply: Callback<()> },
}

pub(crate) enum WriteReply {
    One(Callback<WriteReceipt>),
    Many(Box<dyn FnOnce(Vec<Result<WriteReceipt>>) + Send>),
}

impl Request {
    fn event_count(&self) -> usize {
        match self {
            Request::Write { writes, .. } => writes.iter().map(|w| w.events.len()).sum(),
            _ => 1,
        }
    }

    fn byte_estimate(&self) -> usize {
        match self {
            Request::Write { writes, .. } => writes.iter().flat_map(|w| &w.events).map(|e| e.encoded_len()).sum(),
            _ => 0,
        }
    }

    /// Fails the request without touching storage.
    pub(crate) fn fail(self, error: Error) {
        match self {
            Request::Write { writes, reply: WriteReply::Many(reply) } => reply(writes.iter().map(|_| Err(error.clone())).collect()),
            Request::Write { reply: WriteReply::One(reply), .. } => reply(Err(error)),
            Request::Delete { reply, .. } | Request::Flush { reply } => reply(Err(error)),
        }
    }
}

/// State shared between the journal handle and its writer thread.
#[derive(Default)]
pub(crate) struct Shared {
    /// Set by `close`: the moment after which queued work is failed instead of committed.
    pub close_deadline: Mutex<Option<Instant>>,
    /// Set when a flush failed: nothing more may be acknowledged.
    pub failed: Mutex<Option<Arc<Error>>>,
}

impl Shared {
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failed.lock().as_ref().map(|e| Error::Failed(e.clone()))
    }
}

pub(crate) struct Writer {
    storage: Arc<dyn Storage>,
    requests: Receiver<Request>,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    sync: SyncPolicy,
    max_batch_events: usize,
    max_batch_bytes: usize,
    max_batch_delay: Duration,
    /// Highest sequence number per stream, as committed. Loaded lazily from storage.
    highest: HashMap<String, u64>,
    next_offset: u64,
    /// Reused across batches so the hot path does not allocate.
    buffer: Vec<u8>,
    bodies: Vec<Range<usize>>,
    /// True when data was committed but not yet flushed (interval/never policies).
    dirty: bool,
    last_sync: Instant,
    /// A deletion was committed; space may be reclaimable when idle.
    needs_upkeep: bool,
}

/// Where one write's results go before the batch completes.
enum Outcome {
    Staged { first_sequence_nr: u64, first_global_offset: u64, bodies: Range<usize> },
    /// A delete, with the stream's highest sequence number at its place in the queue.
    Delete { highest: u64 },
    Done(Result<WriteReceipt>),
}

impl Writer {
    pub(crate) fn new(storage: Arc<dyn Storage>, requests: Receiver<Request>, shared: Arc<Shared>, metrics: Arc<Metrics>, options: &Options) -> Result<Writer> {
        let next_offset = storage.next_global_offset()?;
        Ok(Writer {
            storage,
            requests,
            shared,
            metrics,
            sync: options.sync,
            max_batch_events: options.max_batch_events,
            max_batch_bytes: options.max_batch_bytes,
            max_batch_delay: options.max_batch_delay,
            highest: HashMap::new(),
            next_offset,
            buffer: Vec::with_capacity(64 << 10),
            bodies: Vec::new(),
            dirty: false,
            last_sync: Instant::now(),
            needs_upkeep: false,
        })
    }

    /// Runs until every sender is gone and the queue is drained (or the close deadline passed).
    pub(crate) fn run(mut self) {
        let mut batch = Vec::new();
        loop {
            let first = match self.next_request() {
                Some(r) => r,
                None => break,
            };
            let mut events = first.event_count();
            let mut bytes = first.byte_estimate();
            batch.push(first);
            let gather_until = (!self.max_batch_delay.is_zero()).then(|| Instant::now() + self.max_batch_delay);
            while events < self.max_batch_events && bytes < self.max_batch_bytes {
                let next = match gather_until {
                    None => self.requests.try_recv().ok(),
                    Some(until) => self.requests.recv_deadline(until).ok(),
                };
                let Some(request) = next else { break };
                events += request.event_count();
                bytes += request.byte_estimate();
                batch.push(request);
            }
            if self.past_close_deadline() {
                batch.drain(..).for_each(|r| r.fail(Error::Closed));
                self.requests.try_iter().for_each(|r| r.fail(Error::Closed));
                break;
            }
            if let Some(err) = self.shared.failure() {
                batch.drain(..).for_each(|r| r.fail(err.clone()));
                continue;
            }
            let deleted = batch.iter().any(|r| matches!(r, Request::Delete { .. }));
            self.commit_batch(&mut batch);
            self.needs_upkeep |= deleted;
            if self.needs_upkeep && self.requests.is_empty() && self.shared.close_deadline.lock().is_none() {
                self.needs_upkeep = false;
                if let Err(err) = self.storage.maintain() {
                    tracing::warn!(error = %err, "reclaiming space failed; will retry after the next deletion");
                }
            }
        }
        if self.dirty && self.sync != SyncPolicy::Never {
            let _ = self.flush();
        }
        if let Err(err) = self.storage.close() {
            tracing::warn!(error = %err, "closing storage failed");
        }
    }

    /// Blocks for the next request; flushes on the interval policy's schedule meanwhile.
    fn next_request(&mut self) -> Option<Request> {
        loop {
            let timeout = match self.sync {
                SyncPolicy::Interval(every) if self.dirty => every.saturating_sub(self.last_sync.elapsed()),
                _ => return self.requests.recv().ok(),
            };
            match self.requests.recv_timeout(timeout) {
                Ok(r) => return Some(r),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(err) = self.flush() {
                        self.poison(&err);
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
        self.shared.failed.lock().get_or_insert_with(|| Arc::new(err.clone()));
    }

    fn highest(&mut self, persistence_id: &str) -> Result<u64> {
        if let Some(h) = self.highest.get(persistence_id) {
            return Ok(*h);
        }
        let h = self.storage.highest_sequence_nr(persistence_id)?;
        self.highest.insert(persistence_id.to_owned(), h);
        Ok(h)
    }

    fn commit_batch(&mut self, batch: &mut Vec<Request>) {
        let started = Instant::now();
        self.buffer.clear();
        self.bodies.clear();
        let now = now_millis();
        // Highest sequence numbers as they will be if this batch commits; applied after success.
        let mut staged_highest: HashMap<&str, u64> = HashMap::new();
        let mut outcomes: Vec<Vec<Outcome>> = Vec::with_capacity(batch.len());
        let mut next_offset = self.next_offset;
        let mut committed_events = 0u64;

        for request in batch.iter() {
            let mut request_outcomes = Vec::new();
            match request {
                Request::Write { writes, .. } => {
                    for write in writes {
                        let pid = write.persistence_id.as_str();
                        let highest = match staged_highest.get(pid) {
                            Some(h) => Ok(*h),
                            None => self.highest(pid),
                        };
                        let highest = match highest {
                            Ok(h) => h,
                            Err(e) => {
                                request_outcomes.push(Outcome::Done(Err(e)));
                                continue;
                            }
                        };
                        let expected = highest + 1;
                        if write.first_sequence_nr != 0 && write.first_sequence_nr != expected {
                            Metrics::add(&self.metrics.sequence_conflicts, 1);
                            request_outcomes.push(Outcome::Done(Err(Error::SequenceConflict {
                                persistence_id: pid.to_owned(),
                                expected,
                                actual: write.first_sequence_nr,
                            })));
                            continue;
                        }
                        let first_body = self.bodies.len();
                        for (i, event) in write.events.iter().enumerate() {
                            let start = self.buffer.len();
                            codec::encode_event(&mut self.buffer, event, expected + i as u64, next_offset + i as u64, event.timestamp.unwrap_or(now));
                            self.bodies.push(start..self.buffer.len());
                        }
                        let count = write.events.len() as u64;
                        request_outcomes.push(Outcome::Staged {
                            first_sequence_nr: expected,
                            first_global_offset: next_offset,
                            bodies: first_body..self.bodies.len(),
                        });
                        staged_highest.insert(pid, highest + count);
                        next_offset += count;
                        committed_events += count;
                    }
                }
                Request::Delete { persistence_id, .. } => {
                    // Resolved below, in queue order, against the staged highest.
                    let highest = match staged_highest.get(persistence_id.as_str()) {
                        Some(h) => Ok(*h),
                        None => self.highest(persistence_id),
                    };
                    request_outcomes.push(match highest {
                        Ok(highest) => Outcome::Delete { highest },
                        Err(e) => Outcome::Done(Err(e)),
                    });
                }
                Request::Flush { .. } => {}
            }
            outcomes.push(request_outcomes);
        }

        // Build the storage operations, borrowing the requests and the shared buffer.
        let mut ops = Vec::new();
        for (request, request_outcomes) in batch.iter().zip(&outcomes) {
            match request {
                Request::Write { writes, .. } => {
                    let staged = request_outcomes.iter().zip(writes.iter()).filter_map(|(o, w)| match o {
                        Outcome::Staged { first_sequence_nr, first_global_offset, bodies, .. } => Some(Op::Write(StagedWrite {
                            persistence_id: &w.persistence_id,
                            first_sequence_nr: *first_sequence_nr,
                            first_global_offset: *first_global_offset,
                            events: &w.events,
                            bodies: &self.bodies[bodies.clone()],
                        })),
                        Outcome::Delete { .. } | Outcome::Done(_) => None,
                    });
                    ops.extend(staged);
                }
                Request::Delete { persistence_id, to, .. } => {
                    if let Some(Outcome::Delete { highest }) = request_outcomes.first() {
                        let to = (*to).min(*highest);
                        if to > 0 {
                            ops.push(Op::Delete { persistence_id, to });
                        }
                    }
                }
                Request::Flush { .. } => {}
            }
        }

        let wrote = !ops.is_empty();
        let committed = if wrote { self.storage.commit(&ops, &self.buffer) } else { Ok(()) };
        drop(ops);
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
                for (pid, h) in staged_highest {
                    match self.highest.get_mut(pid) {
                        Some(slot) => *slot = h,
                        None => {
                            self.highest.insert(pid.to_owned(), h);
                        }
                    }
                }
                Metrics::add(&self.metrics.batches, 1);
                Metrics::add(&self.metrics.events, committed_events);
                Metrics::add(&self.metrics.bytes, self.buffer.len() as u64);
                self.metrics.batch_events.record(committed_events);
                self.metrics.commit_latency_us.record_duration(started.elapsed());
            }
            Err(_) => {
                // Storage rolled back (or the journal is now failed); reload highest values lazily.
                self.highest.clear();
                if let Ok(offset) = self.storage.next_global_offset() {
                    self.next_offset = offset;
                }
            }
        }

        for (request, request_outcomes) in batch.drain(..).zip(outcomes) {
            let resolve = |o: Outcome| -> Result<WriteReceipt> {
                match o {
                    Outcome::Done(r) => r,
                    Outcome::Delete { .. } => result.clone().map(|()| WriteReceipt { first_sequence_nr: 0, last_sequence_nr: 0, first_global_offset: 0 }),
                    Outcome::Staged { first_sequence_nr, first_global_offset, bodies, .. } => result.clone().map(|()| WriteReceipt {
                        first_sequence_nr,
                        last_sequence_nr: first_sequence_nr + bodies.len() as u64 - 1,
                        first_global_offset,
                    }),
                }
            };
            match request {
                Request::Write { reply: WriteReply::One(reply), .. } => {
                    let r = request_outcomes.into_iter().next().map(resolve).unwrap_or(Err(Error::Closed));
                    self.count_write(&r);
                    reply(r);
                }
                Request::Write { reply: WriteReply::Many(reply), .. } => {
                    let results: Vec<_> = request_outcomes.into_iter().map(resolve).collect();
                    results.iter().for_each(|r| self.count_write(r));
                    reply(results);
                }
                Request::Delete { reply, .. } => {
                    let r = match request_outcomes.into_iter().next() {
                        Some(Outcome::Done(Err(e))) => Err(e),
                        _ => result.clone(),
                    };
                    reply(r);
                }
                Request::Flush { reply } => {
                    // An explicit flush makes everything before it durable, whatever the policy.
                    let flushed = match &result {
                        Ok(()) if self.dirty => self.flush().inspect_err(|e| self.poison(e)),
                        _ => result.clone(),
                    };
                    reply(flushed);
                }
            }
        }
    }

    fn count_write(&self, result: &Result<WriteReceipt>) {
        match result {
            Ok(_) => Metrics::add(&self.metrics.appends, 1),
            Err(Error::SequenceConflict { .. }) => {}
            Err(_) => Metrics::add(&self.metrics.failed_writes, 1),
        }
    }
}
