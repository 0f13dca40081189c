//! Load generators shared by Tidelog and the references, so every system is
//! driven the same way.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Events acknowledged over a wall-clock span.
#[derive(Debug, Clone, Copy, Default)]
pub struct Throughput {
    /// Acknowledged events.
    pub events: u64,
    /// Seconds from the common start to the last acknowledgement.
    pub secs: f64,
}

impl Throughput {
    /// Events per second.
    pub fn per_sec(&self) -> f64 {
        if self.secs > 0.0 {
            self.events as f64 / self.secs
        } else {
            0.0
        }
    }
}

/// Runs `writers` threads for `duration`; each calls `append(writer, n)` in a
/// loop (n counts that writer's appends from 0) and each call returns only once
/// its event is acknowledged. `append` returns the number of events it wrote.
pub fn closed_loop<F>(writers: usize, duration: Duration, append: F) -> Throughput
where
    F: Fn(usize, u64) -> u64 + Sync,
{
    let barrier = Barrier::new(writers + 1);
    let stop = AtomicBool::new(false);
    let (events, secs) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (barrier, stop, append) = (&barrier, &stop, &append);
                s.spawn(move || {
                    barrier.wait();
                    let mut n = 0u64;
                    let mut events = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        events += append(w, n);
                        n += 1;
                    }
                    events
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        let events: u64 = handles.into_iter().map(|h| h.join().expect("writer thread panicked")).sum();
        (events, start.elapsed().as_secs_f64())
    });
    Throughput { events, secs }
}

/// Like [`closed_loop`], but the writers are `writers` asynchronous tasks on a
/// multi-threaded runtime of `threads` workers, the way an actor system runs
/// its actors on a small dispatcher: each task awaits `append(writer, n)` in a
/// loop, so an acknowledgement wakes a task, not an OS thread.
pub fn closed_loop_tasks<F, Fut>(writers: usize, threads: usize, duration: Duration, append: F) -> Throughput
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = u64> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .build()
        .expect("tokio runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let append = Arc::new(append);
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let (stop, append) = (stop.clone(), append.clone());
            runtime.spawn(async move {
                let mut n = 0u64;
                let mut events = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    events += append(w, n).await;
                    n += 1;
                }
                events
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let events: u64 = runtime.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("writer task panicked");
        }
        sum
    });
    Throughput {
        events,
        secs: start.elapsed().as_secs_f64(),
    }
}

/// Keeps `in_flight` appends outstanding from one submitting thread for
/// `duration`: `submit(n)` starts append number `n` and returns a handle;
/// `wait(handle)` blocks until it is acknowledged. Handles are awaited oldest first.
pub fn pipelined<H>(in_flight: usize, duration: Duration, mut submit: impl FnMut(u64) -> H, mut wait: impl FnMut(H)) -> Throughput {
    let mut pending = VecDeque::with_capacity(in_flight);
    let start = Instant::now();
    let deadline = start + duration;
    let mut n = 0u64;
    let mut done = 0u64;
    // Reading the clock every acknowledgement would cost more than some appends do.
    while !done.is_multiple_of(64) || Instant::now() < deadline {
        while pending.len() < in_flight {
            pending.push_back(submit(n));
            n += 1;
        }
        if let Some(h) = pending.pop_front() {
            wait(h);
            done += 1;
        }
    }
    for h in pending.drain(..) {
        wait(h);
        done += 1;
    }
    Throughput {
        events: done,
        secs: start.elapsed().as_secs_f64(),
    }
}

/// Times each call of `op` (in nanoseconds), `count` times.
pub fn timed(count: usize, mut op: impl FnMut(usize)) -> Vec<u64> {
    (0..count)
        .map(|i| {
            let t = Instant::now();
            op(i);
            t.elapsed().as_nanos() as u64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn closed_loop_counts_what_append_reports_across_writers() {
        let calls = AtomicU64::new(0);
        let seen = std::sync::Mutex::new(std::collections::HashSet::new());
        let t = closed_loop(3, Duration::from_millis(30), |w, _| {
            calls.fetch_add(1, Ordering::Relaxed);
            seen.lock().unwrap().insert(w);
            std::thread::sleep(Duration::from_millis(1));
            2
        });
        assert_eq!(t.events, 2 * calls.load(Ordering::Relaxed));
        assert_eq!(*seen.lock().unwrap(), (0..3).collect());
        assert!(t.secs > 0.0);
    }

    #[test]
    fn closed_loop_tasks_counts_what_append_reports_across_tasks() {
        let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let s = seen.clone();
        let t = closed_loop_tasks(4, 2, Duration::from_millis(20), move |w, _| {
            s.lock().unwrap().insert(w);
            async move {
                tokio::task::yield_now().await;
                3
            }
        });
        assert_eq!(t.events % 3, 0);
        assert!(t.events >= 12, "every task appended at least once: {}", t.events);
        assert_eq!(seen.lock().unwrap().len(), 4);
    }

    #[test]
    fn pipelined_keeps_the_window_full_and_waits_in_order() {
        use std::cell::{Cell, RefCell};
        let outstanding = Cell::new(0usize);
        let peak = Cell::new(0usize);
        let waited = RefCell::new(Vec::new());
        let t = pipelined(
            4,
            Duration::from_millis(5),
            |n| {
                outstanding.set(outstanding.get() + 1);
                peak.set(peak.get().max(outstanding.get()));
                n
            },
            |h| {
                outstanding.set(outstanding.get() - 1);
                waited.borrow_mut().push(h);
            },
        );
        let waited = waited.into_inner();
        assert!(waited.iter().enumerate().all(|(i, h)| *h == i as u64), "not awaited oldest first");
        assert_eq!(t.events, waited.len() as u64);
        assert_eq!(outstanding.get(), 0, "every submission is awaited");
        assert_eq!(peak.get(), 4, "the window is filled but never exceeded");
    }

    #[test]
    fn timed_calls_op_with_each_index() {
        let mut seen = Vec::new();
        let samples = timed(3, |i| seen.push(i));
        assert_eq!(samples.len(), 3);
        assert_eq!(seen, vec![0, 1, 2]);
    }
}
