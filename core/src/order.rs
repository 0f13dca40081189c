//! Issue order: for one persistence id, an operation issued after a write
//! observes that write's outcome, whether or not its caller waited for it.
//!
//! Writes are committed by the writer thread in the order they were queued,
//! while reads run on their callers' threads; without this module a read issued
//! right after an un-awaited append could run before the writer committed it
//! (Loom's actors append fire-and-forget and read soon after).
//!
//! Each persistence id hashes to one of [`BUCKETS`] pairs of counters: `issued`
//! counts writes handed to the writer, `settled` those whose outcome is final
//! (committed, or failed). An operation on the id first waits until `settled`
//! reaches the `issued` it saw when it started.
//!
//! Why that is enough: the writer settles requests in the order they were
//! queued, a whole batch before it answers any of them, and a blocking caller
//! commits on its own thread only while nothing is queued. So every request that
//! settles before a write `W` was counted before `W`'s submission returned, hence
//! before any operation issued after it looked at `issued` (say `n`, `W`
//! included): while `W` is unsettled at most `n - 1` are settled. Ids sharing a
//! bucket can only make an operation wait for an unrelated write, never skip one.
//!
//! Cost: writes pay a hash and two atomic additions; an operation with nothing in
//! flight for its bucket pays a hash and two atomic loads, and otherwise waits at
//! most for the commits queued before it.

use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex};

/// Number of counter pairs; a power of two.
const BUCKETS: usize = 256;

#[derive(Default)]
#[repr(align(64))] // one cache line each: writers of different ids do not contend
struct Bucket {
    issued: AtomicU64,
    settled: AtomicU64,
}

/// The counters of one journal; see the module documentation.
pub(crate) struct IssueOrder {
    buckets: Box<[Bucket]>,
    /// Operations blocked in [`IssueOrder::wait_for`]: the writer wakes them only when there are some.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    settled_changed: Condvar,
    /// Set at close: waiting operations stop waiting (they then fail with `Closed`).
    closed: AtomicBool,
}

impl Default for IssueOrder {
    fn default() -> Self {
        IssueOrder {
            buckets: (0..BUCKETS).map(|_| Bucket::default()).collect(),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            settled_changed: Condvar::new(),
            closed: AtomicBool::new(false),
        }
    }
}

fn bucket_of(persistence_id: &str) -> usize {
    let mut h = rustc_hash::FxHasher::default();
    h.write(persistence_id.as_bytes());
    // FxHash mixes into the high bits; take those.
    (h.finish() >> 56) as usize & (BUCKETS - 1)
}

impl IssueOrder {
    /// Counts a write to `persistence_id` as handed to the writer.
    pub(crate) fn issue(&self, persistence_id: &str) {
        self.buckets[bucket_of(persistence_id)].issued.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a write issued with [`IssueOrder::issue`] as settled. Call
    /// [`IssueOrder::wake`] once after settling a batch.
    pub(crate) fn settle(&self, persistence_id: &str) {
        self.buckets[bucket_of(persistence_id)].settled.fetch_add(1, Ordering::SeqCst);
    }

    /// Settles every persistence id of `requests` (`ids` walks one request's), as
    /// [`IssueOrder::settle`] would one by one, with one atomic addition per bucket touched
    /// instead of one per write: the writer settles a batch of hundreds of writes to a few dozen
    /// streams at once, and each addition takes the bucket's cache line from the submitting
    /// thread that counts issues there. Returns how many of the requests `counted` accepts left
    /// every bucket they touch with nothing in flight: their callers, if they await the outcome,
    /// have nothing more queued (the writer's linger waits for those). `scratch` is reused
    /// between calls.
    pub(crate) fn settle_all<R>(
        &self,
        requests: &[R],
        ids: impl Fn(&R, &mut dyn FnMut(&str)),
        counted: impl Fn(&R) -> bool,
        scratch: &mut Vec<u16>,
    ) -> usize {
        const END: u16 = u16::MAX; // after each request's buckets
        let mut counts = [0u32; BUCKETS];
        scratch.clear();
        for request in requests {
            ids(request, &mut |pid| {
                let bucket = bucket_of(pid);
                counts[bucket] += 1;
                scratch.push(bucket as u16);
            });
            scratch.push(END);
        }
        let mut drained = [false; BUCKETS];
        for ((bucket, &n), drained) in self.buckets.iter().zip(&counts).zip(&mut drained) {
            if n != 0 {
                let settled = bucket.settled.fetch_add(u64::from(n), Ordering::SeqCst) + u64::from(n);
                *drained = settled == bucket.issued.load(Ordering::SeqCst);
            }
        }
        let mut buckets = scratch.iter();
        let mut count = 0;
        for request in requests {
            let mut all = true;
            for &bucket in buckets.by_ref().take_while(|&&b| b != END) {
                all &= drained[bucket as usize];
            }
            count += usize::from(all && counted(request));
        }
        count
    }

    /// Wakes the operations waiting for settled writes, if any.
    pub(crate) fn wake(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.settled_changed.notify_all();
        }
    }

    /// Stops every wait, now and later (the journal is closing).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock();
        self.settled_changed.notify_all();
    }

    /// Writes issued and not yet settled in `persistence_id`'s bucket.
    #[cfg(test)]
    fn in_flight(&self, persistence_id: &str) -> u64 {
        let bucket = &self.buckets[bucket_of(persistence_id)];
        let issued = bucket.issued.load(Ordering::SeqCst);
        issued.saturating_sub(bucket.settled.load(Ordering::SeqCst))
    }

    /// Blocks until every write to `persistence_id` issued before this call is settled.
    pub(crate) fn wait_for(&self, persistence_id: &str) {
        let bucket = &self.buckets[bucket_of(persistence_id)];
        let target = bucket.issued.load(Ordering::SeqCst);
        if bucket.settled.load(Ordering::SeqCst) >= target {
            return;
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock();
        // Checked under the lock, after counting this waiter: a settle either shows here or wakes us.
        while bucket.settled.load(Ordering::SeqCst) < target && !self.closed.load(Ordering::SeqCst) {
            self.settled_changed.wait(&mut guard);
        }
        drop(guard);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_wait_returns_at_once_when_nothing_is_in_flight() {
        let order = IssueOrder::default();
        order.issue("a");
        order.settle("a");
        order.wait_for("a");
        order.wait_for("never-written");
    }

    #[test]
    fn a_write_is_in_flight_from_issue_to_settle() {
        let order = IssueOrder::default();
        order.issue("a");
        order.issue("a");
        assert_eq!(order.in_flight("a"), 2);
        order.settle("a");
        assert_eq!(order.in_flight("a"), 1);
        order.settle("a");
        assert_eq!(order.in_flight("a"), 0);
    }

    #[test]
    fn a_waiting_operation_wakes_when_the_writes_before_it_settle() {
        let order = Arc::new(IssueOrder::default());
        order.issue("a");
        let waiter = {
            let order = order.clone();
            std::thread::spawn(move || {
                order.wait_for("a");
                order.in_flight("a")
            })
        };
        order.settle("a");
        order.wake();
        assert_eq!(waiter.join().unwrap(), 0);
    }

    #[test]
    fn settle_all_counts_each_write_once_in_its_bucket() {
        let order = IssueOrder::default();
        for pid in ["a", "b", "a", "c", "a"] {
            order.issue(pid);
        }
        order.issue("d");
        let mut scratch = Vec::new();
        let walk = |ids: &Vec<&str>, settle: &mut dyn FnMut(&str)| ids.iter().for_each(|id| settle(id));
        let batch = vec![vec!["a", "b"], vec!["a"], vec!["c", "a"]];
        assert_eq!(
            order.settle_all(&batch, walk, |_| true, &mut scratch),
            3,
            "every request drained its ids"
        );
        assert_eq!(order.in_flight("a"), 0);
        assert_eq!(order.in_flight("b"), 0);
        assert_eq!(order.in_flight("c"), 0);
        assert_eq!(order.in_flight("d"), 1, "a write not in the batch stays in flight");
        assert_eq!(order.settle_all(&Vec::<Vec<&str>>::new(), walk, |_| true, &mut scratch), 0);
        assert_eq!(order.in_flight("d"), 1);
    }

    #[test]
    fn settle_all_counts_the_requests_that_leave_nothing_in_flight() {
        let order = IssueOrder::default();
        for pid in ["a", "a", "b", "c"] {
            order.issue(pid);
        }
        let mut scratch = Vec::new();
        let walk = |ids: &Vec<&str>, settle: &mut dyn FnMut(&str)| ids.iter().for_each(|id| settle(id));
        // "a" keeps a write in flight, so only the request of "b" alone and that of "c" count; "c" is not counted.
        let batch = [vec!["a"], vec!["b"], vec!["a", "b"], vec!["c"]];
        order.issue("b");
        let counted = order.settle_all(&batch[..2], walk, |_| true, &mut scratch);
        assert_eq!(counted, 0, "a has one more write in flight, b one more");
        let counted = order.settle_all(&batch[2..], walk, |ids| ids[0] != "c", &mut scratch);
        assert_eq!(counted, 1, "a and b drained; c drained but is not counted");
        assert_eq!(order.in_flight("a") + order.in_flight("b") + order.in_flight("c"), 0);
    }

    #[test]
    fn close_ends_every_wait() {
        let order = Arc::new(IssueOrder::default());
        order.issue("a");
        let waiter = {
            let order = order.clone();
            std::thread::spawn(move || order.wait_for("a"))
        };
        order.close();
        waiter.join().unwrap();
    }
}
