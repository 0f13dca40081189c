//! Subscriptions: catch-up then live, exactly once and in order, cancellation, close,
//! the asynchronous form, a follower in another process, and the concurrent soak
//! (8 writers, 4 subscribers started at random moments, one of them stalled).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{ev, open, payloads, BACKENDS};
use rand::{Rng, SeedableRng};
use tidelog::{Backend, Error, ErrorKind, Event, Journal, NewEvent, Options, Subscription, SubscriptionSource};

/// Reads `n` events from a subscription (blocking), failing on any error.
fn take(sub: &Subscription, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        out.extend(sub.next_batch(n - out.len()).expect("next batch"));
    }
    out
}

#[test]
fn catches_up_then_goes_live_for_all_tag_and_stream() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let j = open(dir.path(), backend);
        j.append("a", vec![ev("a1").tag("t"), ev("a2")]).unwrap();
        j.append("b", vec![ev("b1").tag("t")]).unwrap();
        let all = j.subscribe_all(0).unwrap();
        let tag = j.subscribe_tag("t", 0).unwrap();
        let stream = j.subscribe_stream("a", 2).unwrap();
        assert_eq!(payloads(&take(&all, 3)), ["a1", "a2", "b1"], "{backend:?}");
        assert_eq!(payloads(&take(&tag, 2)), ["a1", "b1"]);
        assert_eq!(payloads(&take(&stream, 1)), ["a2"]);
        assert!(all.try_next_batch(10).unwrap().is_empty());

        // Live: a writer on another thread, subscribers blocked in next_batch.
        let writer = {
            let j = j.clone();
            std::thread::spawn(move || {
                for i in 3..=6 {
                    j.append("a", vec![ev(&format!("a{i}")).tag("t")]).unwrap();
                }
            })
        };
        assert_eq!(payloads(&take(&all, 4)), ["a3", "a4", "a5", "a6"]);
        assert_eq!(payloads(&take(&tag, 4)), ["a3", "a4", "a5", "a6"]);
        assert_eq!(payloads(&take(&stream, 4)), ["a3", "a4", "a5", "a6"]);
        writer.join().unwrap();
        assert_eq!(all.position(), 8);
        assert_eq!(stream.position(), 7);
        let offsets: Vec<u64> = j.all_events(0, 100).unwrap().iter().map(|e| e.global_offset).collect();
        assert_eq!(offsets, (1..=7).collect::<Vec<_>>());
        j.close().unwrap();
    }
}

#[test]
fn a_subscription_from_an_offset_and_the_max_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), Backend::Lmdb);
    for i in 1..=10 {
        j.append("s", vec![ev(&i.to_string())]).unwrap();
    }
    let sub = j.subscribe_all(6).unwrap();
    let first = sub.next_batch(3).unwrap();
    assert_eq!(payloads(&first), ["6", "7", "8"]);
    assert_eq!(payloads(&sub.next_batch(100).unwrap()), ["9", "10"]);
    assert_eq!(sub.next_batch_timeout(100, Duration::from_millis(20)).unwrap(), vec![]);
    // max 0 is read as 1, not as "wait for nothing".
    j.append("s", vec![ev("11"), ev("12")]).unwrap();
    assert_eq!(payloads(&sub.next_batch(0).unwrap()), ["11"]);
}

#[test]
fn cancel_from_another_thread_ends_a_blocked_call_and_every_later_one() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), Backend::Memory);
    let sub = Arc::new(j.subscribe_tag("never", 0).unwrap());
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let sub = sub.clone();
        std::thread::spawn(move || {
            tx.send(()).unwrap();
            sub.next_batch(10)
        })
    };
    rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    sub.cancel();
    assert!(matches!(waiter.join().unwrap(), Err(Error::Closed)));
    assert!(sub.is_ended());
    assert!(matches!(sub.try_next_batch(1), Err(Error::Closed)));
    // The journal itself is unaffected.
    j.append("p", vec![ev("x")]).unwrap();
}

#[test]
fn closing_the_journal_ends_its_subscriptions_and_a_subscription_does_not_keep_it_open() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), Backend::Lmdb);
    let sub = j.subscribe_all(0).unwrap();
    let pending = sub.next_batch_async(10);
    let blocked = {
        let sub2 = j.subscribe_stream("p", 1).unwrap();
        std::thread::spawn(move || sub2.next_batch(10))
    };
    std::thread::sleep(Duration::from_millis(20));
    j.close().unwrap();
    assert!(matches!(pending.wait(), Err(Error::Closed)));
    assert!(matches!(blocked.join().unwrap(), Err(Error::Closed)));
    assert!(matches!(j.subscribe_all(0), Err(Error::Closed)));
    // Dropping the last journal handle closes it even while a subscription lives: the lock is free.
    let j = open(dir.path(), Backend::Lmdb);
    let sub = j.subscribe_all(0).unwrap();
    drop(j);
    let again = open(dir.path(), Backend::Lmdb);
    assert!(sub.is_ended());
    again.close().unwrap();
}

#[test]
fn the_async_form_completes_at_once_later_and_on_cancel_and_allows_one_request_at_a_time() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let j = open(dir.path(), backend);
        j.append("a", vec![ev("1")]).unwrap();
        let sub = j.subscribe_all(0).unwrap();
        assert_eq!(payloads(&sub.next_batch_async(10).wait().unwrap()), ["1"]);
        let later = sub.next_batch_async(10);
        let (tx, rx) = mpsc::channel();
        sub.next_batch_with(1, move |r| tx.send(r.map(|_| ()).map_err(|e| e.kind())).unwrap());
        assert_eq!(rx.recv().unwrap(), Err(ErrorKind::InvalidArgument), "one request at a time");
        j.append("a", vec![ev("2"), ev("3")]).unwrap();
        assert_eq!(payloads(&later.wait().unwrap()), ["2", "3"]);
        let cancelled = sub.next_batch_async(10);
        sub.cancel();
        assert!(matches!(cancelled.wait(), Err(Error::Closed)), "{backend:?}");
        // Dropping a subscription cancels its pending request too.
        let sub = j.subscribe_tag("t", 0).unwrap();
        let dropped = sub.next_batch_async(10);
        drop(sub);
        assert!(matches!(dropped.wait(), Err(Error::Closed)));
        j.close().unwrap();
    }
}

#[test]
fn the_async_form_keeps_order_and_exactly_once_across_many_requests() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), Backend::Lmdb);
    let sub = j.subscribe_all(0).unwrap();
    let writer = {
        let j = j.clone();
        std::thread::spawn(move || {
            for i in 0..500 {
                drop(j.append_async("w", vec![ev(&i.to_string())]));
            }
            j.flush().unwrap();
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 500 {
        seen.extend(sub.next_batch_async(64).wait().unwrap());
    }
    writer.join().unwrap();
    let expected: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    assert_eq!(payloads(&seen), expected);
}

#[test]
fn a_stream_subscription_skips_deleted_events_as_reads_do() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), Backend::Files);
    j.append("s", vec![ev("1"), ev("2"), ev("3"), ev("4")]).unwrap();
    let sub = j.subscribe_stream("s", 1).unwrap();
    assert_eq!(payloads(&sub.next_batch(1).unwrap()), ["1"]);
    j.delete_to("s", 3).unwrap();
    assert_eq!(payloads(&sub.next_batch(10).unwrap()), ["4"]);
    let all = j.subscribe_all(0).unwrap();
    assert_eq!(payloads(&all.next_batch(10).unwrap()), ["4"]);
}

#[test]
fn bad_sources_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), Backend::Memory);
    assert_eq!(j.subscribe_tag("", 0).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(j.subscribe_stream("", 0).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let source = SubscriptionSource::Stream {
        persistence_id: "a\0b".into(),
        from_sequence_nr: 1,
    };
    assert_eq!(j.subscribe(source).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

// ---- a follower in another process ------------------------------------------------------

/// The child half of the follower test: appends a numbered event per line of stdin.
#[test]
#[ignore = "run as a child process by follows_a_writer_in_another_process"]
fn follower_writer_child() {
    let Ok(dir) = std::env::var("TIDELOG_FOLLOW_DIR") else { return };
    let backend: Backend = std::env::var("TIDELOG_FOLLOW_BACKEND").unwrap().parse().unwrap();
    let j = Journal::open(dir, Options::new().backend(backend)).unwrap();
    println!("ready");
    for line in std::io::stdin().lock().lines() {
        let n = line.unwrap();
        j.append("w", vec![NewEvent::new(n.into_bytes()).tag("t")]).unwrap();
        println!("ok");
    }
    j.close().unwrap();
}

#[test]
fn a_read_only_lmdb_process_follows_a_writer_in_another_process() {
    follows_a_writer_in_another_process(Backend::Lmdb);
}

#[test]
fn a_read_only_files_process_follows_a_writer_in_another_process() {
    follows_a_writer_in_another_process(Backend::Files);
}

fn follows_a_writer_in_another_process(backend: Backend) {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "follower_writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("TIDELOG_FOLLOW_DIR", &path)
        .env("TIDELOG_FOLLOW_BACKEND", backend.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.by_ref().find(|l| l.as_deref().ok() == Some("ready"));
    assert!(ready.is_some(), "child ready");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "0").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "ok");

    let ro = Journal::open(&path, Options::new().backend(backend).read_only(true)).unwrap();
    let all = ro.subscribe_all(0).unwrap();
    let tag = ro.subscribe_tag("t", 0).unwrap();
    assert_eq!(payloads(&take(&all, 1)), ["0"], "catch-up");
    for i in 1..=20 {
        writeln!(stdin, "{i}").unwrap();
        assert_eq!(payloads(&take(&all, 1)), [i.to_string()], "live");
    }
    assert_eq!(take(&tag, 21).len(), 21);
    drop(stdin);
    assert!(child.wait().unwrap().success());
    ro.close().unwrap();
}

// ---- the concurrent soak ------------------------------------------------------------------

/// A subscriber's log: the events it got, in order.
fn follow(sub: Subscription, stall_after: Option<usize>, stop: Arc<AtomicBool>, end: Arc<std::sync::atomic::AtomicU64>) -> Vec<Event> {
    let mut seen: Vec<Event> = Vec::new();
    let mut stalled = false;
    loop {
        let batch = sub.next_batch_timeout(512, Duration::from_millis(50)).expect("subscription failed");
        seen.extend(batch);
        if let Some(n) = stall_after {
            if !stalled && seen.len() >= n {
                stalled = true;
                std::thread::sleep(Duration::from_secs(2));
            }
        }
        // After the writers stopped, drain up to the journal's end.
        if stop.load(Ordering::SeqCst) {
            let end = end.load(Ordering::SeqCst);
            let caught_up = match sub.source() {
                // A stream has no offset to compare with the end: read on until nothing is left
                // (keeping what that read returns).
                SubscriptionSource::Stream { .. } => {
                    let more = sub.try_next_batch(512).expect("read");
                    let empty = more.is_empty();
                    seen.extend(more);
                    empty
                }
                _ => sub.position() >= end,
            };
            if end > 0 && caught_up {
                return seen;
            }
        }
    }
}

fn key(e: &Event) -> (String, u64, u64) {
    (e.persistence_id.clone(), e.sequence_nr, e.global_offset)
}

fn soak(backend: Backend, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path().join("journal"), Options::new().backend(backend)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let end = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (j, stop) = (j.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let tag = ["red", "blue", "green"][(i % 3) as usize];
                    let pid = format!("w{w}-{}", i % 5);
                    j.append(&pid, vec![ev(&format!("{w}:{i}")).tag(tag)]).unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    let sources = [
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
            persistence_id: "w3-1".into(),
            from_sequence_nr: 0,
        },
    ];
    let run = Duration::from_secs(seconds);
    let subscribers: Vec<_> = sources
        .into_iter()
        .enumerate()
        .map(|(i, source)| {
            let start = Duration::from_millis(rng.gen_range(0..run.as_millis() as u64 * 3 / 4));
            let (j, stop, end) = (j.clone(), stop.clone(), end.clone());
            // The "everything" subscriber stalls for 2 s once it has seen some events.
            let stall = (i == 0).then_some(100);
            std::thread::spawn(move || {
                std::thread::sleep(start);
                let sub = j.subscribe(source).unwrap();
                follow(sub, stall, stop, end)
            })
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < run {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    writers.into_iter().for_each(|w| w.join().unwrap());
    end.store(j.next_global_offset().unwrap(), Ordering::SeqCst);
    let logs: Vec<Vec<Event>> = subscribers.into_iter().map(|s| s.join().unwrap()).collect();

    let everything = j.all_events(0, usize::MAX).unwrap();
    assert!(everything.len() > 1000, "the writers wrote {} events", everything.len());
    let expected = [
        everything.clone(),
        j.events_by_tag("red", 0, usize::MAX).unwrap(),
        j.events_by_tag("blue", 0, usize::MAX).unwrap(),
        j.read("w3-1", 1, u64::MAX, usize::MAX).unwrap(),
    ];
    for (i, (log, expected)) in logs.iter().zip(&expected).enumerate() {
        let got: Vec<_> = log.iter().map(key).collect();
        let want: Vec<_> = expected.iter().map(key).collect();
        assert_eq!(got.len(), want.len(), "{backend:?} subscriber {i}: count");
        assert!(got == want, "{backend:?} subscriber {i}: sequence differs from the final read");
        assert_eq!(log, expected, "{backend:?} subscriber {i}: contents");
    }
    j.close().unwrap();
}

/// Issue 23's acceptance: 8 writers for 20 s (TIDELOG_SOAK_SECS overrides), 4 subscribers
/// (everything, two tags, one stream) each started at a random moment from offset 0, the
/// first stalled for 2 s: each sees exactly the final full read, in order.
#[test]
fn eight_writers_four_subscribers_each_sees_the_final_read_exactly_once_in_order() {
    let seconds = std::env::var("TIDELOG_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    soak(Backend::Lmdb, seconds);
}

#[test]
fn the_soak_on_the_files_and_memory_backends() {
    soak(Backend::Files, 4);
    soak(Backend::Memory, 4);
}
