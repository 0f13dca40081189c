//! `wake_latency`: what handing control from one thread to another costs on this machine.
//!
//! Two threads pass a turn back and forth 20,000 times; each waits for its turn parked
//! (`thread::park`, a futex), so every pass is one wake-up of a sleeping thread. Every
//! awaiting writer pays such wake-ups per append (the writer wakes it; it wakes the writer or
//! the runtime), so this is the floor under the closed-loop rows of scenario 1. Run it under
//! the scheduling class of a benchmark (`chrt -f 10 …`) to see what that class adds.
//!
//! `cargo run --release -p tidelog-bench --bin wake_latency`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, Thread};
use std::time::Instant;

const PASSES: u64 = 20_000;

/// Waits, parked, until `turn` reaches `want`.
fn wait_for(turn: &AtomicU64, want: u64) {
    while turn.load(Ordering::Acquire) < want {
        thread::park();
    }
}

fn main() {
    let turn = Arc::new(AtomicU64::new(0));
    let main_thread: Thread = thread::current();
    let other = {
        let turn = turn.clone();
        thread::spawn(move || {
            for i in 0..PASSES {
                wait_for(&turn, 2 * i + 1);
                turn.store(2 * i + 2, Ordering::Release);
                main_thread.unpark();
            }
        })
    };
    let other_thread = other.thread().clone();
    let start = Instant::now();
    for i in 0..PASSES {
        turn.store(2 * i + 1, Ordering::Release);
        other_thread.unpark();
        wait_for(&turn, 2 * i + 2);
    }
    let round_trip = start.elapsed().as_secs_f64() / PASSES as f64 * 1e6;
    other.join().expect("the other thread");
    println!(
        "round trip between two parked threads: {round_trip:.1} µs (one wake-up: {:.1} µs)",
        round_trip / 2.0
    );
}
