//! The completion queue (`core/docs/wire.md`, "Completion queue"): the core's
//! writer-thread callbacks push finished operations here, and a host-owned
//! thread (or the host's event loop) takes them in batches.
//!
//! Wake-up contract:
//! * [`CompletionQueue::push`] runs on the writer thread. It takes a short lock,
//!   never blocks on the host and never calls into a host runtime other than
//!   through the optional *waker*, which must not block either (Node's is a
//!   non-blocking threadsafe-function call).
//! * The waker runs only when the queue was empty: the consumer then drains
//!   everything queued, so one wake-up serves a whole group commit.
//! * Consumers that own a thread block in [`CompletionQueue::take`], which the
//!   push notifies; [`CompletionQueue::shutdown`] wakes them for good.
//! * Each submission completes exactly once, in the order the writer finished
//!   them; a consumer that could not hand a batch over puts it back with
//!   [`CompletionQueue::requeue`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tidelog::{Error, Journal, NewEvent, WriteReceipt};

/// What a finished operation produced.
#[derive(Debug)]
pub enum Outcome {
    /// An append's receipt.
    Receipt(WriteReceipt),
    /// A deletion or flush that succeeded.
    Unit,
    /// A write list's per-write results.
    Writes(Vec<tidelog::Result<WriteReceipt>>),
    /// The operation failed as a whole.
    Failed(Error),
}

/// A finished operation and the token it was submitted with.
#[derive(Debug)]
pub struct Completion {
    /// The host's token.
    pub token: u64,
    /// The result.
    pub outcome: Outcome,
}

/// Wakes a consumer that does not block in [`Queue::take`].
pub type Waker = Box<dyn Fn() + Send + Sync>;

struct State<T> {
    done: VecDeque<T>,
    shut_down: bool,
}

/// Finished operations, oldest first, for a host consumer: the completion queue of a
/// journal's (or several journals') writes ([`CompletionQueue`]), or of its subscriptions'
/// batches ([`crate::tail::PageQueue`]). The same wake-up contract serves both.
pub struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
    waker: Option<Waker>,
}

/// A journal's (or several journals') finished operations, oldest first.
pub type CompletionQueue = Queue<Completion>;

/// [`Queue::take`] found the queue shut down and empty.
#[derive(Debug, PartialEq, Eq)]
pub struct ShutDown;

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            state: Mutex::new(State {
                done: VecDeque::new(),
                shut_down: false,
            }),
            ready: Condvar::new(),
            waker: None,
        }
    }
}

impl<T> Queue<T> {
    /// A queue whose consumers block in [`Queue::take`].
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// A queue that calls `waker` whenever a push finds it empty.
    pub fn with_waker(waker: impl Fn() + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Queue {
            waker: Some(Box::new(waker)),
            ..Default::default()
        })
    }

    /// Queues a finished item (on the writer or tail thread: a short lock, a notify).
    pub fn push_item(&self, item: T) {
        let was_empty = {
            let mut state = self.state.lock();
            state.done.push_back(item);
            state.done.len() == 1
        };
        self.ready.notify_one();
        if let (true, Some(wake)) = (was_empty, &self.waker) {
            wake();
        }
    }

    /// Takes up to `max` items, first waiting until one is queued, the
    /// queue is shut down, or `timeout` passed (`None`: no limit; zero: no wait).
    /// `Err(ShutDown)` once the queue was shut down and is empty.
    pub fn take(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<T>, ShutDown> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.state.lock();
        while state.done.is_empty() {
            if state.shut_down {
                return Err(ShutDown);
            }
            match deadline {
                None => self.ready.wait(&mut state),
                Some(d) => {
                    if self.ready.wait_until(&mut state, d).timed_out() {
                        break;
                    }
                }
            }
        }
        let n = state.done.len().min(max);
        Ok(state.done.drain(..n).collect())
    }

    /// Puts taken items back at the front, in their order.
    pub fn requeue(&self, taken: Vec<T>) {
        let mut state = self.state.lock();
        for c in taken.into_iter().rev() {
            state.done.push_front(c);
        }
    }

    /// Wakes every waiting consumer without shutting down (after a journal closed).
    pub fn wake(&self) {
        self.ready.notify_all();
    }

    /// Shuts down: waiters wake, and `take` fails with [`ShutDown`] once the
    /// queue is empty. `discard` drops what is still queued.
    pub fn shutdown(&self, discard: bool) {
        let mut state = self.state.lock();
        state.shut_down = true;
        if discard {
            state.done.clear();
        }
        drop(state);
        self.ready.notify_all();
    }
}

impl Queue<Completion> {
    /// Queues a finished operation (on the writer thread: a short lock, a notify).
    pub fn push(&self, token: u64, outcome: Outcome) {
        self.push_item(Completion { token, outcome });
    }

    /// Submits an append; its receipt or error completes `token`.
    pub fn append(self: &Arc<Self>, journal: &Journal, token: u64, persistence_id: &str, events: Vec<NewEvent>) {
        let q = self.clone();
        journal.append_with(persistence_id, events, move |r| {
            q.push(token, r.map_or_else(Outcome::Failed, Outcome::Receipt))
        });
    }

    /// Submits a write list; its per-write results complete `token`.
    pub fn write(self: &Arc<Self>, journal: &Journal, token: u64, writes: Vec<tidelog::AtomicWrite>) {
        let q = self.clone();
        journal.write_with(writes, move |r| q.push(token, Outcome::Writes(r)));
    }

    /// Submits a deletion of a stream's events up to `to`.
    pub fn delete_to(self: &Arc<Self>, journal: &Journal, token: u64, persistence_id: &str, to: u64) {
        let q = self.clone();
        journal.delete_to_with(persistence_id, to, move |r| q.push(token, unit(r)));
    }

    /// Submits a flush.
    pub fn flush(self: &Arc<Self>, journal: &Journal, token: u64) {
        let q = self.clone();
        journal.flush_with(move |r| q.push(token, unit(r)));
    }
}

fn unit(r: tidelog::Result<()>) -> Outcome {
    r.map_or_else(Outcome::Failed, |()| Outcome::Unit)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn tokens(c: &[Completion]) -> Vec<u64> {
        c.iter().map(|c| c.token).collect()
    }

    #[test]
    fn hands_out_in_push_order_and_requeued_items_come_back_first() {
        let q = CompletionQueue::new();
        for t in 1..=4 {
            q.push(t, Outcome::Unit);
        }
        let first_two = q.take(2, Some(Duration::ZERO)).unwrap();
        assert_eq!(tokens(&first_two), [1, 2]);
        q.requeue(first_two);
        assert_eq!(tokens(&q.take(8, Some(Duration::ZERO)).unwrap()), [1, 2, 3, 4]);
        assert!(q.take(8, Some(Duration::from_millis(1))).unwrap().is_empty());
    }

    #[test]
    fn the_waker_runs_only_when_a_push_finds_the_queue_empty() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = wakes.clone();
        let q = CompletionQueue::with_waker(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        q.push(1, Outcome::Unit);
        q.push(2, Outcome::Unit);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert_eq!(q.take(usize::MAX, Some(Duration::ZERO)).unwrap().len(), 2);
        q.push(3, Outcome::Unit);
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_blocked_consumer_wakes_on_push_and_on_shutdown() {
        let q = CompletionQueue::new();
        let consumer = {
            let q = q.clone();
            std::thread::spawn(move || {
                let first = q.take(8, None).map(|c| tokens(&c));
                let second = q.take(8, None).map(|c| tokens(&c));
                (first, second)
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        q.push(7, Outcome::Unit);
        std::thread::sleep(Duration::from_millis(20));
        q.shutdown(false);
        let (first, second) = consumer.join().unwrap();
        assert_eq!(first, Ok(vec![7]));
        assert_eq!(second, Err(ShutDown));
    }

    #[test]
    fn shutdown_drains_what_is_queued_first_unless_discarding() {
        let q = CompletionQueue::new();
        q.push(1, Outcome::Failed(Error::Closed));
        q.shutdown(false);
        assert_eq!(tokens(&q.take(8, None).unwrap()), [1]);
        assert_eq!(q.take(8, None).unwrap_err(), ShutDown);
        let q = CompletionQueue::new();
        q.push(1, Outcome::Unit);
        q.shutdown(true);
        assert_eq!(q.take(8, Some(Duration::ZERO)).unwrap_err(), ShutDown);
    }
}
