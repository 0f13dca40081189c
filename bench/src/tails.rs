//! Subscriptions benchmark (issue 23), one run, three measurements:
//!
//! 1. commit-to-subscriber latency in process: a subscriber blocked in `next_batch`, a writer
//!    appending one event at a time (LMDB, sync=always). The clock starts in the append's
//!    callback, which the writer runs right after it published the watermark (the event is
//!    durable then), and stops when the subscriber holds the event. Beside it, the same
//!    events seen by a reader that polls `all_events` every 100 ms (the Akka.NET read
//!    journal's default refresh interval, in Rust; the .NET helper adds the real one).
//! 2. the same for a follower in another process (a read-only handle woken by inotify);
//!    the clock is the system's real-time clock, shared by both processes.
//! 3. writer throughput, 8 writers, with and without 4 subscribers attached (everything,
//!    two tags, one stream), interleaved rounds.
//!
//! `cargo run --release -p tidelog-bench --bin tidelog-bench-tails [-- --quick]`

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tidelog::{Journal, NewEvent, Options, Subscription, SubscriptionSource};

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

fn index_of(payload: &[u8]) -> usize {
    std::str::from_utf8(payload).unwrap().parse().unwrap()
}

/// Appends `n` events one at a time, pacing `gap` between them, recording each one's
/// submission time and acknowledgement time (ns, real-time clock; the latter in the
/// writer's callback).
fn paced_writer(journal: &Journal, n: usize, gap: Duration, submitted: &[AtomicU64], acked: &Arc<Vec<AtomicU64>>) {
    for i in 0..n {
        let (tx, rx) = mpsc::channel();
        submitted[i].store(now_ns(), Ordering::SeqCst);
        let acked = acked.clone();
        journal.append_with("bench", vec![NewEvent::new(i.to_string().into_bytes()).tag("t")], move |r| {
            acked[i].store(now_ns(), Ordering::SeqCst);
            let _ = tx.send(r.map(|_| ()));
        });
        rx.recv().unwrap().unwrap();
        std::thread::sleep(gap);
    }
}

fn latencies(from: &[AtomicU64], seen: &[u64]) -> (Vec<u64>, usize) {
    let mut early = 0;
    let mut out: Vec<u64> = from
        .iter()
        .zip(seen)
        .map(|(a, s)| {
            let a = a.load(Ordering::SeqCst);
            if *s < a {
                // The subscriber had it before the callback ran (it is woken by the publish,
                // which comes first): count it as 0.
                early += 1;
            }
            s.saturating_sub(a)
        })
        .collect();
    out.sort_unstable();
    (out, early)
}

/// A row: latency from the acknowledgement, and from the submission (which includes the commit
/// and its fsync: an upper bound that does not depend on when the callback ran).
fn row(name: &str, acked: &[AtomicU64], submitted: &[AtomicU64], seen: &[u64]) {
    let (sorted, early) = latencies(acked, seen);
    let (from_submit, _) = latencies(submitted, seen);
    println!(
        "| {name} | {} | {} | {} | {} | {} | {early} | {} | {} |",
        sorted.len(),
        us(percentile(&sorted, 0.5)),
        us(percentile(&sorted, 0.9)),
        us(percentile(&sorted, 0.99)),
        us(*sorted.last().unwrap_or(&0)),
        us(percentile(&from_submit, 0.5)),
        us(percentile(&from_submit, 0.99)),
    );
}

fn in_process(dir: &std::path::Path, n: usize) {
    let journal = Journal::open(dir.join("latency"), Options::new()).unwrap();
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let submitted: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let sub = journal.subscribe_all(0).unwrap();
    let subscriber = std::thread::spawn(move || {
        let mut seen = vec![0u64; n];
        let mut got = 0;
        while got < n {
            for e in sub.next_batch(64).unwrap() {
                seen[index_of(&e.payload)] = now_ns();
                got += 1;
            }
        }
        seen
    });
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (journal, stop) = (journal.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = vec![0u64; n];
            let mut from = 0;
            while !stop.load(Ordering::SeqCst) {
                for e in journal.all_events(from, 10_000).unwrap() {
                    seen[index_of(&e.payload)] = now_ns();
                    from = e.global_offset + 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        })
    };
    paced_writer(&journal, n, Duration::from_micros(500), &submitted, &acked);
    let seen = subscriber.join().unwrap();
    std::thread::sleep(Duration::from_millis(150));
    stop.store(true, Ordering::SeqCst);
    let polled = poller.join().unwrap();
    row("subscription, in process (LMDB, sync=always)", &acked, &submitted, &seen);
    row(
        "polling every 100 ms, in process (Akka.NET's default interval, simulated)",
        &acked,
        &submitted,
        &polled,
    );
    journal.close().unwrap();
}

/// The follower child: prints "ready", then "i ns" for each event it receives.
fn follower_child(path: &str, n: usize) {
    let journal = Journal::open(path, Options::new().read_only(true)).unwrap();
    let sub: Subscription = journal.subscribe_all(0).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let mut got = 0;
    while got < n {
        for e in sub.next_batch(64).unwrap() {
            let t = now_ns();
            writeln!(out, "{} {t}", index_of(&e.payload)).unwrap();
            got += 1;
        }
        out.flush().unwrap();
    }
}

fn other_process(dir: &std::path::Path, n: usize) {
    let path = dir.join("follow");
    let journal = Journal::open(&path, Options::new()).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--follower", path.to_str().unwrap(), &n.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let submitted: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let reader = std::thread::spawn(move || {
        let mut seen = vec![0u64; n];
        for line in lines.take(n) {
            let line = line.unwrap();
            let (i, t) = line.split_once(' ').unwrap();
            seen[i.parse::<usize>().unwrap()] = t.parse().unwrap();
        }
        seen
    });
    // Paced above the follower's latency, so each event is a separate wake-up.
    paced_writer(&journal, n, Duration::from_millis(2), &submitted, &acked);
    let seen = reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    row(
        "subscription, read-only follower in another process (inotify)",
        &acked,
        &submitted,
        &seen,
    );
    journal.close().unwrap();
}

/// Events committed by 8 writers in `run`, with or without 4 subscribers attached.
/// Returns events/s, events delivered to the subscribers, and the mean events per group commit.
fn throughput_round(dir: &std::path::Path, round: usize, with_subscribers: bool, run: Duration) -> (f64, u64, f64) {
    let journal = Journal::open(dir.join(format!("throughput-{round}-{with_subscribers}")), Options::new()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let subscribers: Vec<_> = if with_subscribers {
        [
            SubscriptionSource::All { from_offset: 0 },
            SubscriptionSource::Tag {
                tag: "red".into(),
                from_offset: 0,
            },
            SubscriptionSource::Tag {
                tag: "blue".into(),
                from_offset: 0,
            },
            SubscriptionSource::Stream {
                persistence_id: "w1".into(),
                from_sequence_nr: 0,
            },
        ]
        .into_iter()
        .map(|source| {
            let sub = journal.subscribe(source).unwrap();
            let delivered = delivered.clone();
            std::thread::spawn(move || {
                // Ends when the journal closes.
                while let Ok(batch) = sub.next_batch(512) {
                    delivered.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
            })
        })
        .collect()
    } else {
        Vec::new()
    };
    let started = Instant::now();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (journal, stop) = (journal.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let payload = vec![b'x'; 100];
                while !stop.load(Ordering::Relaxed) {
                    let tag = if n.is_multiple_of(2) { "red" } else { "blue" };
                    journal
                        .append(&format!("w{w}"), vec![NewEvent::new(payload.clone()).tag(tag)])
                        .unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(run);
    stop.store(true, Ordering::SeqCst);
    let events: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let rate = events as f64 / started.elapsed().as_secs_f64();
    let batch = journal.metrics().batch_events.mean();
    journal.close().unwrap();
    subscribers.into_iter().for_each(|s| s.join().unwrap());
    (rate, delivered.load(Ordering::Relaxed), batch)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--follower") {
        return follower_child(&args[2], args[3].parse().unwrap());
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (n, run, rounds) = if quick {
        (300, Duration::from_secs(2), 1usize)
    } else {
        (2000, Duration::from_secs(5), 4)
    };
    let dir = tempfile::tempdir().unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "Load average at the start: {}\n",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("### Subscriptions: commit-to-subscriber latency, µs ({n} events, one at a time)\n");
    println!("| reader | events | p50 | p90 | p99 | max | seen before the ack callback ran | p50 from submit | p99 from submit |");
    println!("|---|---|---|---|---|---|---|---|---|");
    in_process(dir.path(), n);
    other_process(dir.path(), n);
    println!(
        "| Akka.NET read journal, polling at its default interval (100 ms) | (to be measured by the .NET part of issue 23) | | | | | | | |"
    );
    println!();
    println!("### Subscriptions: writer throughput, 8 writers (LMDB, sync=always), {rounds} interleaved rounds of {run:?}\n");
    println!("| round | without subscribers, events/s | with 4 subscribers, events/s | ratio | events delivered to the 4 | events per commit without / with |");
    println!("|---|---|---|---|---|---|");
    let (mut sum_without, mut sum_with) = (0.0, 0.0);
    for round in 0..rounds {
        // Alternate which goes first, so that a drift of the machine does not favour one.
        let ((without, _, batch_without), (with, delivered, batch_with)) = if round.is_multiple_of(2) {
            let without = throughput_round(dir.path(), round, false, run);
            (without, throughput_round(dir.path(), round, true, run))
        } else {
            let with = throughput_round(dir.path(), round, true, run);
            (throughput_round(dir.path(), round, false, run), with)
        };
        sum_without += without;
        sum_with += with;
        println!(
            "| {round} | {without:.0} | {with:.0} | {:.2} | {delivered} | {batch_without:.2} / {batch_with:.2} |",
            with / without
        );
    }
    println!("| all | {sum_without:.0} | {sum_with:.0} | **{:.2}** | | |", sum_with / sum_without);
}
