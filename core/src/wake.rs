//! Wake trees: how the writer releases a batch of blocking callers without waking each one itself.
//!
//! Waking a parked thread costs a few microseconds (a futex wake, often an IPI to an idle
//! core). With 64 blocking callers per commit, waking them one by one from the writer thread
//! took longer than the commit, and all of it ran on the writer's critical path, on one core.
//!
//! So the writer fills every blocking caller's slot of a batch, publishes them all at once
//! (one flag per batch), and wakes only the first caller. Each caller, once it has taken its
//! result and before it returns to user code, wakes its children in the batch (node `i` wakes
//! `FANOUT·i + 1 ..= FANOUT·i + FANOUT`). The wake-ups then run on every core in parallel
//! while the writer goes on to its next commit. Only our code runs on the woken threads
//! before the wake-ups: the callers are inside `Journal::append`.
//!
//! Rules that keep every caller woken exactly once with its own result:
//! * a caller is ready only once its batch is released, which happens after every slot of
//!   the batch was filled, so a caller never wakes a child that is not ready yet;
//! * whoever ends a slot (the caller taking its result, or its handle being dropped) wakes its
//!   children, once, after the release; a caller dropped before the writer filled its slot is
//!   left out of the tree;
//! * a woken caller re-checks its slot and parks again if it is not ready (spurious wake-ups,
//!   or a wake-up token left over from an earlier unpark).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;

use parking_lot::Mutex;

use crate::completion::Reply;
use crate::error::{Error, Result};
use crate::model::WriteReceipt;
use crate::writer::Writes;

/// Children per caller in a batch's wake tree.
const FANOUT: usize = 2;

// TEMP(experiment): TIDELOG_WAKE_FANOUT=0 wakes every caller from the writer; N sets the fanout.
fn fanout() -> usize {
    static F: OnceLock<usize> = OnceLock::new();
    *F.get_or_init(|| std::env::var("TIDELOG_WAKE_FANOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(FANOUT))
}

/// The callers of one batch, in tree order, and whether their results may be taken.
struct Tree {
    threads: OnceLock<Box<[Thread]>>,
    released: AtomicBool,
}

impl Tree {
    /// Wakes node `index`'s children. Call only after the release.
    fn wake_children(&self, index: usize) {
        let threads = self.threads.get().expect("a released tree has its threads");
        let first = index * fanout() + 1;
        for child in threads.iter().skip(first).take(fanout()) {
            child.unpark();
        }
    }
}

#[derive(Default)]
struct SlotState {
    /// The result and the spent writes, until the caller takes them.
    reply: Option<Reply<WriteReceipt>>,
    /// Set with `reply` when the slot belongs to a batch's tree: the tree and this caller's node.
    tree: Option<(Arc<Tree>, usize)>,
    /// The caller's handle was dropped without waiting.
    abandoned: bool,
}

/// One blocking call's rendezvous between the writer and the caller's thread.
struct Slot {
    state: Mutex<SlotState>,
    thread: Thread,
}

/// The writer's side of a blocking call: answered once, directly or as part of a [`Batch`].
/// Dropped unanswered (the writer went away), it answers [`Error::Closed`].
pub(crate) struct Answer {
    slot: Option<Arc<Slot>>,
}

/// The caller's side: [`Waiter::wait`] parks the calling thread until the answer is released.
pub(crate) struct Waiter {
    slot: Arc<Slot>,
    done: bool,
}

/// A waiter for the current thread and the answer that wakes it.
pub(crate) fn blocking() -> (Waiter, Answer) {
    let slot = Arc::new(Slot {
        state: Mutex::new(SlotState::default()),
        thread: std::thread::current(),
    });
    (Waiter { slot: slot.clone(), done: false }, Answer { slot: Some(slot) })
}

impl Answer {
    /// Answers alone: fills the slot and wakes its caller (unless that is this thread).
    pub(crate) fn answer(mut self, result: Result<WriteReceipt>, spent: Option<Writes>) {
        if let Some(slot) = self.slot.take() {
            slot.state.lock().reply = Some((result, spent));
            if slot.thread.id() != std::thread::current().id() {
                slot.thread.unpark();
            }
        }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            Answer { slot: Some(slot) }.answer(Err(Error::Closed), None);
        }
    }
}

/// The blocking callers of one commit, answered together through a wake tree. Reused
/// across batches by the writer.
#[derive(Default)]
pub(crate) struct Batch {
    members: Vec<(Arc<Slot>, Reply<WriteReceipt>)>,
}

impl Batch {
    /// Adds a caller to the batch; nobody is woken before [`Batch::release`].
    pub(crate) fn push(&mut self, mut answer: Answer, result: Result<WriteReceipt>, spent: Option<Writes>) {
        if let Some(slot) = answer.slot.take() {
            self.members.push((slot, (result, spent)));
        }
    }

    /// Fills every slot, publishes them at once and wakes the first caller, who starts the cascade.
    pub(crate) fn release(&mut self) {
        if self.members.len() <= 1 || fanout() == 0 {
            for (slot, (result, spent)) in self.members.drain(..) {
                Answer { slot: Some(slot) }.answer(result, spent);
            }
            return;
        }
        let tree = Arc::new(Tree {
            threads: OnceLock::new(),
            released: AtomicBool::new(false),
        });
        let mut threads = Vec::with_capacity(self.members.len());
        for (slot, reply) in self.members.drain(..) {
            let mut state = slot.state.lock();
            if state.abandoned {
                // Dropped before it was filled: nobody waits on it, so it is no node of the tree.
                continue;
            }
            state.reply = Some(reply);
            state.tree = Some((tree.clone(), threads.len()));
            threads.push(slot.thread.clone());
        }
        let first = threads.first().cloned();
        let _ = tree.threads.set(threads.into_boxed_slice());
        tree.released.store(true, Ordering::Release);
        if let Some(first) = first {
            first.unpark();
        }
    }
}

impl Waiter {
    /// Parks the calling thread until the answer is released, wakes this caller's children in
    /// its batch, and returns the result. The spent writes are freed here, on the thread that
    /// allocated them.
    pub(crate) fn wait(mut self) -> Result<WriteReceipt> {
        loop {
            if let Some(((result, _spent), tree)) = self.take() {
                self.done = true;
                if let Some((tree, index)) = tree {
                    tree.wake_children(index);
                }
                return result;
            }
            // Returns on an unpark, a token left from an earlier one, or spuriously: re-checked above.
            std::thread::park();
        }
    }

    /// The reply and the tree node, if the answer is released.
    fn take(&self) -> Option<(Reply<WriteReceipt>, Option<(Arc<Tree>, usize)>)> {
        let mut state = self.slot.state.lock();
        let released = match &state.tree {
            Some((tree, _)) => tree.released.load(Ordering::Acquire),
            None => state.reply.is_some(),
        };
        if !released {
            return None;
        }
        let reply = state.reply.take()?;
        Some((reply, state.tree.take()))
    }
}

impl Drop for Waiter {
    /// A waiter dropped without waiting still owes its children their wake-up.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let tree = {
            let mut state = self.slot.state.lock();
            state.abandoned = true;
            state.tree.take()
        };
        if let Some((tree, index)) = tree {
            // Filled, so the writer is publishing this batch right now, without blocking: wait for it.
            while !tree.released.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            tree.wake_children(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn receipt(n: u64) -> Result<WriteReceipt> {
        Ok(WriteReceipt {
            first_sequence_nr: n,
            last_sequence_nr: n,
            first_global_offset: n,
        })
    }

    /// Starts `n` threads that each create a waiter, hand over its answer, and wait.
    fn callers(n: usize) -> (Vec<Answer>, Vec<std::thread::JoinHandle<Result<WriteReceipt>>>) {
        let (tx, rx) = mpsc::channel();
        let handles = (0..n)
            .map(|i| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let (waiter, answer) = blocking();
                    tx.send((i, answer)).unwrap();
                    waiter.wait()
                })
            })
            .collect();
        let mut answers: Vec<_> = rx.iter().take(n).collect();
        answers.sort_by_key(|(i, _)| *i);
        (answers.into_iter().map(|(_, a)| a).collect(), handles)
    }

    #[test]
    fn every_caller_of_a_batch_gets_its_own_result() {
        for n in [1, 2, 3, 7, 64, 200] {
            let (answers, handles) = callers(n);
            let mut batch = Batch::default();
            for (i, answer) in answers.into_iter().enumerate() {
                batch.push(answer, receipt(i as u64), None);
            }
            batch.release();
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.join().unwrap().unwrap().first_sequence_nr, i as u64, "batch of {n}");
            }
        }
    }

    #[test]
    fn a_released_batch_numbers_its_callers_in_order() {
        // Waiters on this thread (they never park: all are released before the first waits).
        let mut waiters = Vec::new();
        let mut batch = Batch::default();
        for i in 0..5 {
            let (waiter, answer) = blocking();
            batch.push(answer, receipt(i), None);
            waiters.push(waiter);
        }
        batch.release();
        for (i, waiter) in waiters.iter().enumerate() {
            let state = waiter.slot.state.lock();
            let (tree, index) = state.tree.as_ref().expect("in the tree");
            assert_eq!(*index, i);
            assert!(tree.released.load(Ordering::Acquire));
            assert_eq!(tree.threads.get().unwrap().len(), 5);
        }
        for (i, waiter) in waiters.into_iter().enumerate() {
            assert_eq!(waiter.wait().unwrap().first_sequence_nr, i as u64);
        }
    }

    #[test]
    fn a_caller_is_not_ready_before_its_batch_is_released() {
        let (waiter, answer) = blocking();
        let (_other_waiter, other) = blocking();
        let mut batch = Batch::default();
        batch.push(answer, receipt(1), None);
        batch.push(other, receipt(2), None);
        assert!(waiter.take().is_none(), "pushed is not released");
        batch.release();
        assert!(waiter.take().is_some());
    }

    #[test]
    fn spurious_wake_ups_park_again_until_the_release() {
        let (answers, handles) = callers(4);
        // Unpark every caller repeatedly before anything is released: each must go back to sleep.
        for _ in 0..50 {
            for h in &handles {
                h.thread().unpark();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(handles.iter().all(|h| !h.is_finished()), "nobody returns before the release");
        let mut batch = Batch::default();
        for (i, answer) in answers.into_iter().enumerate() {
            batch.push(answer, receipt(10 + i as u64), None);
        }
        batch.release();
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.join().unwrap().unwrap().first_sequence_nr, 10 + i as u64);
        }
    }

    #[test]
    fn a_dropped_waiter_still_wakes_its_children() {
        for drop_before_release in [true, false] {
            // Node 0 (the root) is dropped; nodes 1 and 2 are its children and must still wake.
            let (root_waiter, root_answer) = blocking();
            let (answers, handles) = callers(4);
            let mut batch = Batch::default();
            batch.push(root_answer, receipt(0), None);
            for (i, answer) in answers.into_iter().enumerate() {
                batch.push(answer, receipt(1 + i as u64), None);
            }
            if drop_before_release {
                drop(root_waiter);
                batch.release();
            } else {
                batch.release();
                drop(root_waiter);
            }
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.join().unwrap().unwrap().first_sequence_nr, 1 + i as u64);
            }
        }
    }

    #[test]
    fn an_answer_dropped_unanswered_fails_its_caller_with_closed() {
        let (_, mut handles) = {
            let (answers, handles) = callers(1);
            drop(answers);
            ((), handles)
        };
        assert!(matches!(handles.pop().unwrap().join().unwrap(), Err(Error::Closed)));
    }

    #[test]
    fn an_answer_on_the_callers_own_thread_is_taken_without_parking() {
        let (waiter, answer) = blocking();
        answer.answer(receipt(7), None);
        assert_eq!(waiter.wait().unwrap().first_sequence_nr, 7);
    }
}
