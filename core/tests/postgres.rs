//! The PostgreSQL backend with several writers on one database: journals in one process and
//! writer processes, as nodes of a cluster would be. Needs `TIDELOG_TEST_POSTGRES`
//! (`tests/postgres.sh run cargo test ...`); skipped with a message without it (not in CI).
//!
//! Child processes run in this same test binary: the parent re-executes it with
//! `--exact child_process --ignored` and a `TIDELOG_CHILD` mode.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{journal_path, postgres_uri};
use tidelog::{AtomicWrite, Backend, Error, Journal, NewEvent, Options};

fn open_at(uri: &str) -> Journal {
    Journal::open(uri, Options::new()).expect("open journal")
}

/// A URI for a fresh journal of its own (a schema named after a temporary directory).
fn fresh_journal_uri() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let uri = journal_path(dir.path().join("journal"), Backend::Postgres)
        .to_str()
        .unwrap()
        .to_owned();
    (dir, uri)
}

fn child(mode: &str, uri: &str, id: usize) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_process", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env("TIDELOG_CHILD", mode)
        .env("TIDELOG_URI", uri)
        .env("TIDELOG_CHILD_ID", id.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// Lines the child printed after its "ready" line (the harness prints its own before).
fn child_lines(child: &mut Child) -> impl Iterator<Item = String> {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map(|l| l.unwrap());
    for line in lines.by_ref() {
        if line == "ready" {
            break;
        }
    }
    lines
}

const STREAMS: usize = 16;
const TAG: &str = "even";

fn stream_name(i: usize) -> String {
    format!("shared-{i:02}")
}

/// The child half. Does nothing unless started by a parent test.
#[test]
#[ignore = "run as a child process by the tests in this file"]
fn child_process() {
    let Ok(mode) = std::env::var("TIDELOG_CHILD") else { return };
    let uri = std::env::var("TIDELOG_URI").unwrap();
    let id: usize = std::env::var("TIDELOG_CHILD_ID").unwrap().parse().unwrap();
    let journal = open_at(&uri);
    println!("ready");
    let mut out = std::io::stdout().lock();
    match mode.as_str() {
        // Auto-numbered appends to the shared streams until stdin closes; prints each
        // acknowledged event as `ack <pid> <seq> <offset> <payload>`.
        "writer" => {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let watcher = stop.clone();
            std::thread::spawn(move || {
                let _ = std::io::stdin().read_line(&mut String::new());
                watcher.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let mut n = 0usize;
            // Several appends in flight, so the writer batches them.
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let pending: Vec<_> = (0..8)
                    .map(|k| {
                        n += 1;
                        let s = (n * 7 + id + k) % STREAMS;
                        let pid = stream_name(s);
                        let payload = format!("w{id}-{n}");
                        let mut event = NewEvent::new(payload.clone().into_bytes()).tag("any");
                        if s.is_multiple_of(2) {
                            event = event.tag(TAG);
                        }
                        (pid.clone(), payload, journal.append_async(&pid, vec![event]))
                    })
                    .collect();
                for (pid, payload, completion) in pending {
                    let r = completion.wait().unwrap();
                    writeln!(out, "ack {pid} {} {} {payload}", r.first_sequence_nr, r.first_global_offset).unwrap();
                }
            }
        }
        // Follows all events and one tag live from offset 0, with two subscriptions (which follow
        // the database's committed counter, so they see the other processes' commits); after
        // `stop <end>` on stdin each reads on until its position reaches `end`, then it prints
        // `all <offset>` and `tag <offset>` lines and `done`.
        "tail" => {
            let end = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
            let setter = end.clone();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                let value = line.trim().strip_prefix("stop ").and_then(|v| v.parse().ok()).unwrap_or(0);
                setter.store(value, std::sync::atomic::Ordering::SeqCst);
            });
            let follow = |subscription: tidelog::Subscription| {
                let end = end.clone();
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    while subscription.position() < end.load(std::sync::atomic::Ordering::SeqCst) {
                        let batch = subscription.next_batch_timeout(500, Duration::from_millis(50)).unwrap();
                        seen.extend(batch.iter().map(|e| e.global_offset));
                    }
                    seen
                })
            };
            let all = follow(journal.subscribe_all(0).unwrap());
            let tagged = follow(journal.subscribe_tag(TAG, 0).unwrap());
            let (all, tagged) = (all.join().unwrap(), tagged.join().unwrap());
            for o in all {
                writeln!(out, "all {o}").unwrap();
            }
            for o in tagged {
                writeln!(out, "tag {o}").unwrap();
            }
            writeln!(out, "done").unwrap();
        }
        other => panic!("unknown child mode {other}"),
    }
    out.flush().unwrap();
    drop(out);
    journal.close().unwrap();
}

/// Two journals on one database (two writers, as on two nodes) race explicit writes to one
/// stream: each sequence number has exactly one winner, the losers get `SequenceConflict`,
/// and the stream holds exactly the winners' events.
#[test]
fn conflicting_explicit_writes_from_two_journals_have_one_winner_per_sequence_nr() {
    if postgres_uri().is_none() {
        return;
    }
    let (_dir, uri) = fresh_journal_uri();
    let journals = [open_at(&uri), open_at(&uri)];
    let threads_per_journal = 3;
    let rounds = 60;
    let barrier = Arc::new(Barrier::new(2 * threads_per_journal));
    let handles: Vec<_> = (0..2 * threads_per_journal)
        .map(|t| {
            let journal = journals[t % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let (mut won, mut conflicts) = (Vec::new(), 0u64);
                for round in 0..rounds {
                    // Read through this journal; the other writes behind its back.
                    let next = journal.highest_sequence_nr("contested").unwrap() + 1;
                    let payload = format!("t{t}-r{round}");
                    let write = AtomicWrite::new("contested", next, vec![NewEvent::new(payload.clone().into_bytes())]);
                    match journal.write(vec![write]).unwrap().remove(0) {
                        Ok(receipt) => {
                            assert_eq!(receipt.first_sequence_nr, next);
                            won.push((next, payload));
                        }
                        Err(Error::SequenceConflict { expected, actual, .. }) => {
                            assert_eq!(actual, next);
                            assert!(expected > next, "a conflict means someone else took {next}");
                            conflicts += 1;
                        }
                        Err(other) => panic!("unexpected error {other}"),
                    }
                }
                (won, conflicts)
            })
        })
        .collect();
    let mut winners: BTreeMap<u64, String> = BTreeMap::new();
    let mut conflicts = 0;
    for h in handles {
        let (won, c) = h.join().unwrap();
        conflicts += c;
        for (seq, payload) in won {
            assert!(winners.insert(seq, payload).is_none(), "sequence nr {seq} won twice");
        }
    }
    let stored = journals[0].read("contested", 1, u64::MAX, usize::MAX).unwrap();
    let stored: BTreeMap<u64, String> = stored
        .into_iter()
        .map(|e| (e.sequence_nr, String::from_utf8(e.payload).unwrap()))
        .collect();
    assert_eq!(stored, winners, "the stream holds exactly the acknowledged winners");
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        (1..=stored.len() as u64).collect::<Vec<_>>()
    );
    assert!(conflicts > 0, "the writers never raced; the test proved nothing");
    for j in journals {
        j.close().unwrap();
    }
}

/// Auto-numbered appends from two journals to the same streams neither duplicate nor skip.
#[test]
fn auto_numbered_appends_from_two_journals_never_duplicate_or_skip() {
    if postgres_uri().is_none() {
        return;
    }
    let (_dir, uri) = fresh_journal_uri();
    let journals = [open_at(&uri), open_at(&uri)];
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let journal = journals[t % 2].clone();
            std::thread::spawn(move || {
                (0..100)
                    .map(|i| {
                        let pid = format!("auto-{}", i % 3);
                        let r = journal.append(&pid, vec![NewEvent::new(format!("t{t}-{i}").into_bytes())]).unwrap();
                        (pid, r.first_sequence_nr)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acked: BTreeSet<(String, u64)> = BTreeSet::new();
    for h in handles {
        for ack in h.join().unwrap() {
            assert!(acked.insert(ack.clone()), "{ack:?} acknowledged twice");
        }
    }
    for s in 0..3 {
        let pid = format!("auto-{s}");
        let seqs: Vec<u64> = journals[1]
            .read(&pid, 1, u64::MAX, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.sequence_nr)
            .collect();
        let want: Vec<u64> = acked.iter().filter(|(p, _)| *p == pid).map(|(_, s)| *s).collect();
        assert_eq!(seqs, want);
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    }
    for j in journals {
        j.close().unwrap();
    }
}

/// Two journals (two writers) take turns on one database, batch by batch. Each journal's
/// batch after the other's meets a counter it did not leave, so it cannot take the
/// one-round-trip path on what it knows: it is re-staged under the lock. Explicit writes at the
/// sequence number the other journal just reached win, a stale one loses, auto-numbered appends
/// continue the other's numbers, deletions by one are seen by the other, and the offsets stay
/// gapless, each handed out once.
#[test]
fn two_journals_taking_turns_restage_against_each_others_commits() {
    if postgres_uri().is_none() {
        return;
    }
    let (_dir, uri) = fresh_journal_uri();
    let journals = [open_at(&uri), open_at(&uri)];
    let mut expected_offset = 1;
    for round in 0..40u64 {
        let (me, other) = (&journals[(round % 2) as usize], &journals[1 - (round % 2) as usize]);
        // Explicit: the other journal wrote seq 2*round - 1 (and round 0 starts at 1).
        let seq = 2 * round + 1;
        let written = me
            .write(vec![AtomicWrite::new(
                "turns",
                seq,
                vec![NewEvent::new(format!("w{round}").into_bytes())],
            )])
            .unwrap()
            .remove(0)
            .unwrap();
        assert_eq!((written.first_sequence_nr, written.first_global_offset), (seq, expected_offset));
        expected_offset += 1;
        // Auto-numbered, from the other journal: it continues after our write.
        let appended = other
            .append("turns", vec![NewEvent::new(format!("a{round}").into_bytes())])
            .unwrap();
        assert_eq!(
            (appended.first_sequence_nr, appended.first_global_offset),
            (seq + 1, expected_offset)
        );
        expected_offset += 1;
        // A write at a sequence number the other journal took loses.
        match me
            .write(vec![AtomicWrite::new("turns", seq + 1, vec![NewEvent::new(b"late".to_vec())])])
            .unwrap()
            .remove(0)
        {
            Err(Error::SequenceConflict { expected, actual, .. }) => assert_eq!((expected, actual), (seq + 2, seq + 1)),
            other => panic!("a stale explicit write must conflict, got {other:?}"),
        }
        // A stream of its own per journal, so that each also has batches its cache can serve.
        me.append(&format!("own-{}", round % 2), vec![NewEvent::new(b"mine".to_vec())])
            .unwrap();
        expected_offset += 1;
    }
    // A deletion by one is seen by the other's next write and read.
    journals[0].delete_to("turns", 10).unwrap();
    let next = journals[1].append("turns", vec![NewEvent::new(b"after-delete".to_vec())]).unwrap();
    assert_eq!((next.first_sequence_nr, next.first_global_offset), (81, expected_offset));
    expected_offset += 1;
    let turns = journals[1].read("turns", 1, u64::MAX, usize::MAX).unwrap();
    assert_eq!(
        turns.iter().map(|e| e.sequence_nr).collect::<Vec<_>>(),
        (11..=81).collect::<Vec<_>>()
    );
    let offsets: Vec<u64> = journals[0]
        .all_events(1, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| e.global_offset)
        .collect();
    let live: BTreeSet<u64> = offsets.iter().copied().collect();
    assert_eq!(live.len(), offsets.len(), "an offset handed out twice");
    assert_eq!(offsets.windows(2).filter(|w| w[0] >= w[1]).count(), 0, "offsets out of order");
    assert_eq!(
        journals[0].next_global_offset().unwrap(),
        expected_offset,
        "offsets skipped or reused"
    );
    assert_eq!(
        offsets.len() as u64,
        expected_offset - 1 - 10,
        "exactly the ten deleted events are gone"
    );
    for j in journals {
        j.close().unwrap();
    }
}

/// A database of schema version 1 (no counter `version`) is read as it is by a read-only
/// handle and migrated to version 2 by a writer's open; afterwards every update of the counter,
/// whoever makes it (a version-1 writer still running, say), bumps `version`.
#[test]
fn schema_version_1_is_migrated_to_2_by_a_writer() {
    let Some(admin_uri) = postgres_uri() else { return };
    let schema = format!("mig{}", std::process::id());
    let sep = if admin_uri.contains('?') { '&' } else { '?' };
    let uri = format!("{admin_uri}{sep}tidelog_schema={schema}");
    let mut admin = postgres::Client::connect(&admin_uri, postgres::NoTls).unwrap();
    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).unwrap();
    let journal = open_at(&uri);
    for i in 0..3 {
        journal.append("m", vec![NewEvent::new(format!("e{i}").into_bytes())]).unwrap();
    }
    journal.close().unwrap();
    // Back to what version 1 created.
    admin
        .batch_execute(&format!(
            "DROP TRIGGER tidelog_counter_version ON {schema}.tidelog_counter; DROP FUNCTION {schema}.tidelog_counter_version();
             ALTER TABLE {schema}.tidelog_counter DROP COLUMN version; UPDATE {schema}.tidelog_schema_version SET version = 1;"
        ))
        .unwrap();
    let version = |admin: &mut postgres::Client| -> i32 {
        admin
            .query_one(&format!("SELECT version FROM {schema}.tidelog_schema_version"), &[])
            .unwrap()
            .get(0)
    };
    let reader = Journal::open(&uri, Options::new().read_only(true)).unwrap();
    assert_eq!(reader.read("m", 1, u64::MAX, usize::MAX).unwrap().len(), 3);
    reader.close().unwrap();
    assert_eq!(version(&mut admin), 1, "a read-only open changes nothing");
    let journal = open_at(&uri);
    assert_eq!(version(&mut admin), 2);
    let receipt = journal.append("m", vec![NewEvent::new(b"e3".to_vec())]).unwrap();
    assert_eq!((receipt.first_sequence_nr, receipt.first_global_offset), (4, 4));
    let counter = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_one(&format!("SELECT version FROM {schema}.tidelog_counter"), &[])
            .unwrap()
            .get(0)
    };
    let before = counter(&mut admin);
    admin
        .batch_execute(&format!(
            "UPDATE {schema}.tidelog_counter SET next_offset = next_offset WHERE id = 1"
        ))
        .unwrap();
    assert_eq!(counter(&mut admin), before + 1, "any update of the counter bumps its version");
    // The journal's next batch meets a version it did not leave, and is staged under the lock.
    let receipt = journal.append("m", vec![NewEvent::new(b"e4".to_vec())]).unwrap();
    assert_eq!((receipt.first_sequence_nr, receipt.first_global_offset), (5, 5));
    journal.close().unwrap();
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}

/// Without `SyncPolicy::Always` commits are not flushed one by one; `flush` makes one flushed
/// commit that updates the counter (bumping its version). The writer keeps what it knows across
/// its own flush, and another journal's writes after it are still seen.
#[test]
fn flushes_of_a_journal_without_synchronous_commits_keep_numbers_right() {
    if postgres_uri().is_none() {
        return;
    }
    let (_dir, uri) = fresh_journal_uri();
    let lazy = Journal::open(&uri, Options::new().sync(tidelog::SyncPolicy::Never)).unwrap();
    let other = open_at(&uri);
    let mut expected = 1;
    for round in 0..5u64 {
        for _ in 0..3 {
            let r = lazy.append("lazy", vec![NewEvent::new(b"l".to_vec())]).unwrap();
            assert_eq!((r.first_sequence_nr, r.first_global_offset), (expected, expected));
            expected += 1;
        }
        lazy.flush().unwrap();
        if round % 2 == 1 {
            let r = other.append("lazy", vec![NewEvent::new(b"o".to_vec())]).unwrap();
            assert_eq!((r.first_sequence_nr, r.first_global_offset), (expected, expected));
            expected += 1;
        }
    }
    let seqs: Vec<u64> = other
        .read("lazy", 1, u64::MAX, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| e.sequence_nr)
        .collect();
    assert_eq!(seqs, (1..expected).collect::<Vec<_>>());
    lazy.close().unwrap();
    other.close().unwrap();
}

/// Four writer processes on 16 shared streams for 20 s (`TIDELOG_PG_SOAK_SECS`) and a fifth
/// process following everything and one tag live from offset 0 (subscriptions): each sees
/// every event exactly once, in offset order, and nothing is missing against a final full read;
/// every acknowledged event is stored once.
#[test]
fn four_writer_processes_and_a_tailing_process_see_every_event_once_in_order() {
    if postgres_uri().is_none() {
        return;
    }
    let seconds: u64 = std::env::var("TIDELOG_PG_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let (_dir, uri) = fresh_journal_uri();
    let journal = open_at(&uri); // creates the schema before the children race to
    let mut tail = child("tail", &uri, 99).stdin(Stdio::piped()).spawn().unwrap();
    let mut tail_lines = child_lines(&mut tail);
    let mut writers: Vec<Child> = (0..4)
        .map(|i| child("writer", &uri, i).stdin(Stdio::piped()).spawn().unwrap())
        .collect();
    let readers: Vec<_> = writers
        .iter_mut()
        .map(|w| {
            let lines: Vec<String> = Vec::new();
            let mut it = child_lines(w);
            std::thread::spawn(move || {
                let mut lines = lines;
                lines.extend(it.by_ref());
                lines
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    for w in &mut writers {
        drop(w.stdin.take()); // EOF: stop
    }
    let mut acks: Vec<(String, u64, u64, String)> = Vec::new();
    for r in readers {
        for line in r.join().unwrap() {
            let parts: Vec<&str> = line.split(' ').collect();
            if parts.first() == Some(&"ack") {
                acks.push((
                    parts[1].into(),
                    parts[2].parse().unwrap(),
                    parts[3].parse().unwrap(),
                    parts[4].into(),
                ));
            }
        }
    }
    for mut w in writers {
        assert!(w.wait().unwrap().success());
    }
    let end = journal.next_global_offset().unwrap();
    writeln!(tail.stdin.as_mut().unwrap(), "stop {end}").unwrap();
    let started = Instant::now();
    let (mut tailed_all, mut tailed_tag) = (Vec::new(), Vec::new());
    for line in tail_lines.by_ref() {
        match line.split_once(' ') {
            Some(("all", o)) => tailed_all.push(o.parse::<u64>().unwrap()),
            Some(("tag", o)) => tailed_tag.push(o.parse::<u64>().unwrap()),
            _ if line == "done" => break,
            _ => {}
        }
    }
    assert!(tail.wait().unwrap().success(), "tail process failed after {:?}", started.elapsed());

    let full = journal.all_events(0, usize::MAX).unwrap();
    let full_offsets: Vec<u64> = full.iter().map(|e| e.global_offset).collect();
    let full_tag: Vec<u64> = full
        .iter()
        .filter(|e| e.tags.iter().any(|t| t == TAG))
        .map(|e| e.global_offset)
        .collect();
    assert!(!acks.is_empty());
    eprintln!(
        "{} events acknowledged to 4 writers in {seconds} s; the live tails saw {} and {} tagged",
        acks.len(),
        tailed_all.len(),
        tailed_tag.len()
    );
    assert_eq!(full.len(), acks.len(), "every stored event was acknowledged to one writer, once");
    assert_eq!(
        tailed_all, full_offsets,
        "the tail of all events saw each once, in order, none missing"
    );
    assert_eq!(
        tailed_tag, full_tag,
        "the tag tail saw each tagged event once, in order, none missing"
    );
    assert!(full_offsets.windows(2).all(|w| w[0] < w[1]));
    let by_offset: HashMap<u64, &tidelog::Event> = full.iter().map(|e| (e.global_offset, e)).collect();
    for (pid, seq, offset, payload) in &acks {
        let e = by_offset
            .get(offset)
            .unwrap_or_else(|| panic!("acknowledged offset {offset} missing"));
        assert_eq!(
            (&e.persistence_id, e.sequence_nr, e.payload.as_slice()),
            (pid, *seq, payload.as_bytes())
        );
    }
    for s in 0..STREAMS {
        let pid = stream_name(s);
        let seqs: Vec<u64> = journal
            .read(&pid, 1, u64::MAX, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.sequence_nr)
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{pid} is gapless");
    }
    eprintln!(
        "{} events from 4 writer processes in {seconds} s; the tail saw {} (tag: {})",
        acks.len(),
        tailed_all.len(),
        tailed_tag.len()
    );
    journal.close().unwrap();
}

/// A subscription follows the database, not only its own journal's writer: events another
/// node (here another journal on the same database) commits reach it, each once, in order.
#[test]
fn a_subscription_sees_what_another_journal_on_the_database_commits() {
    if postgres_uri().is_none() {
        return;
    }
    let (_dir, uri) = fresh_journal_uri();
    let (here, there) = (open_at(&uri), open_at(&uri));
    here.append("local", vec![NewEvent::new(b"0".to_vec())]).unwrap();
    let feed = here.subscribe_all(0).unwrap();
    // Alternating, then only the other journal: its last commits are published by nobody here.
    for i in 1..=25 {
        let journal = if i % 2 == 0 && i <= 20 { &here } else { &there };
        journal.append("shared", vec![NewEvent::new(i.to_string().into_bytes())]).unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 26 {
        seen.extend(feed.next_batch(100).unwrap());
    }
    let payloads: Vec<String> = seen.iter().map(|e| String::from_utf8(e.payload.clone()).unwrap()).collect();
    assert_eq!(payloads, (0..=25).map(|i| i.to_string()).collect::<Vec<_>>());
    let offsets: Vec<u64> = seen.iter().map(|e| e.global_offset).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets in order: {offsets:?}");
    feed.cancel();
    here.close().unwrap();
    there.close().unwrap();
}

/// The location chose the backend: checking the options a journal of a URI was opened with
/// agrees whatever backend they name (two adapter plugins of one URI both pass theirs), and still
/// names any other option that differs.
#[test]
fn check_options_of_a_uri_journal_ignores_the_backend_the_options_name() {
    let Some(_) = postgres_uri() else { return };
    let (_dir, uri) = fresh_journal_uri();
    let opened = Options::new().backend(Backend::Lmdb);
    let journal = Journal::open(&uri, opened.clone()).unwrap();
    assert_eq!(journal.backend(), Backend::Postgres);
    journal.check_options(&opened).unwrap();
    journal.check_options(&opened.clone().backend(Backend::Files)).unwrap();
    let differs = journal.check_options(&opened.sync(tidelog::SyncPolicy::Never)).unwrap_err();
    assert!(differs.to_string().contains("sync"), "{differs}");
    journal.close().unwrap();
}
