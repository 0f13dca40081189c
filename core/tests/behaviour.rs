//! One behaviour suite, run unchanged against every backend.

mod common;

use common::*;
use tidelog::{AtomicWrite, Backend, Error, ErrorKind, InvalidArgument, Journal, NewEvent, Options, Snapshot, SnapshotCriteria};

/// Instantiates each test once per backend.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod memory { $( #[test] fn $name() { super::$name(tidelog::Backend::Memory) } )* }
        mod lmdb { $( #[test] fn $name() { super::$name(tidelog::Backend::Lmdb) } )* }
        mod files { $( #[test] fn $name() { super::$name(tidelog::Backend::Files) } )* }
        mod postgres { $( #[test] fn $name() { if super::postgres_uri().is_some() { super::$name(tidelog::Backend::Postgres) } } )* }
    };
}

on_every_backend!(
    sequence_numbers_start_at_one_and_are_gapless,
    sequence_conflict_fails_only_that_write,
    invalid_write_is_all_or_nothing,
    range_reads_respect_bounds_and_max,
    every_single_event_and_window_reads_back,
    highest_survives_deletion_and_reopen,
    global_offsets_are_never_handed_out_twice,
    tags_and_all_events_are_in_commit_order_and_resumable,
    persistence_ids_lists_every_stream,
    snapshot_criteria_select_the_latest_match,
    snapshot_prune_and_delete,
    everything_persists_across_reopen,
    every_operation_after_close_is_closed,
    bad_arguments_are_typed_errors,
    import_preserves_identity_and_stream_state,
    async_and_callback_forms_agree,
    metrics_count_commits,
    an_operation_issued_after_a_write_observes_it,
);

fn reopen_if_persistent(dir: &std::path::Path, backend: Backend, j: Journal) -> Journal {
    if backend == Backend::Memory {
        return j;
    }
    j.close().unwrap();
    open(dir, backend)
}

fn sequence_numbers_start_at_one_and_are_gapless(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    assert_eq!(j.highest_sequence_nr("s").unwrap(), 0);
    let a = j.append("s", vec![ev("a")]).unwrap();
    let b = j.append("s", vec![ev("b"), ev("c"), ev("d")]).unwrap();
    let other = j.append("t", vec![ev("x")]).unwrap();
    assert_eq!((a.first_sequence_nr, a.last_sequence_nr), (1, 1));
    assert_eq!((b.first_sequence_nr, b.last_sequence_nr), (2, 4));
    assert_eq!((other.first_sequence_nr, other.last_sequence_nr), (1, 1));
    assert!(b.first_global_offset > a.first_global_offset && other.first_global_offset > b.first_global_offset + 2);
    let events = j.read("s", 1, u64::MAX, usize::MAX).unwrap();
    assert_eq!(events.iter().map(|e| e.sequence_nr).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(payloads(&events), ["a", "b", "c", "d"]);
    assert_eq!(j.highest_sequence_nr("s").unwrap(), 4);
}

fn sequence_conflict_fails_only_that_write(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    j.append("p", vec![ev("1"), ev("2")]).unwrap();
    let results = j
        .write(vec![
            AtomicWrite::new("p", 3, vec![ev("3")]),
            AtomicWrite::new("p", 6, vec![ev("gap")]),
            AtomicWrite::new("p", 2, vec![ev("overlap")]),
            AtomicWrite::new("q", 1, vec![ev("q1"), ev("q2")]),
            AtomicWrite::new("p", 4, vec![ev("4")]),
        ])
        .unwrap();
    assert!(results[0].is_ok());
    match &results[1] {
        Err(Error::SequenceConflict {
            persistence_id,
            expected,
            actual,
        }) => assert_eq!((persistence_id.as_str(), *expected, *actual), ("p", 4, 6)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        results[2],
        Err(Error::SequenceConflict {
            expected: 4,
            actual: 2,
            ..
        })
    ));
    assert_eq!(results[3].as_ref().unwrap().last_sequence_nr, 2);
    assert_eq!(results[4].as_ref().unwrap().first_sequence_nr, 4);
    assert_eq!(payloads(&j.read("p", 1, u64::MAX, 100).unwrap()), ["1", "2", "3", "4"]);
    assert_eq!(j.metrics().sequence_conflicts, 2);
}

fn invalid_write_is_all_or_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    let bad = vec![ev("ok"), ev("bad").tag("")];
    assert!(matches!(j.append("p", bad), Err(Error::InvalidArgument(InvalidArgument::EmptyTag))));
    let results = j
        .write(vec![
            AtomicWrite::new("p", 1, vec![ev("fine")]),
            AtomicWrite::new("q", 1, vec![ev("ok"), ev("nul").manifest("a\0b")]),
        ])
        .unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(
        results[1],
        Err(Error::InvalidArgument(InvalidArgument::ContainsNul { .. }))
    ));
    assert_eq!(j.highest_sequence_nr("q").unwrap(), 0);
    assert!(j.read("q", 1, u64::MAX, 10).unwrap().is_empty());
    assert_eq!(payloads(&j.read("p", 1, u64::MAX, 10).unwrap()), ["fine"]);
}

fn range_reads_respect_bounds_and_max(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    j.append("r", (1..=10).map(|i| ev(&i.to_string())).collect()).unwrap();
    let seqs = |from, to, max| {
        j.read("r", from, to, max)
            .unwrap()
            .iter()
            .map(|e| e.sequence_nr)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(3, 5, usize::MAX), [3, 4, 5]);
    assert_eq!(seqs(3, 100, 2), [3, 4]);
    assert_eq!(seqs(0, 2, 10), [1, 2]);
    assert_eq!(seqs(9, 20, 10), [9, 10]);
    assert!(seqs(11, 20, 10).is_empty());
    assert!(seqs(5, 4, 10).is_empty());
    assert!(seqs(1, 10, 0).is_empty());
    assert!(j.read("unknown", 1, 10, 10).unwrap().is_empty());
    let mut seen = Vec::new();
    j.scan("r", 1, u64::MAX, usize::MAX, |e| {
        seen.push(e.sequence_nr);
        e.sequence_nr < 4
    })
    .unwrap();
    assert_eq!(seen, [1, 2, 3, 4]);
}

/// Reads of one event and of short windows at every position of a stream whose events are
/// interleaved with another's and partly deleted (the LMDB tail locates them by position).
fn every_single_event_and_window_reads_back(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    for i in 1..=40u64 {
        j.append("w", vec![ev(&i.to_string())]).unwrap();
        j.append("other", vec![ev("x"), ev("y")]).unwrap();
    }
    j.delete_to("w", 5).unwrap();
    let seqs = |from, to, max| {
        j.read("w", from, to, max)
            .unwrap()
            .iter()
            .map(|e| e.sequence_nr)
            .collect::<Vec<u64>>()
    };
    for k in 0..=45u64 {
        let live = |s: u64| (6..=40).contains(&s);
        let expected: Vec<u64> = (k..=k).filter(|s| live(*s)).collect();
        assert_eq!(seqs(k, k, 1), expected, "read of {k}");
        let one = j.read("w", k, k, 1).unwrap();
        assert_eq!(payloads(&one), expected.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let window: Vec<u64> = (k.max(6)..=40).take(3).collect();
        assert_eq!(seqs(k, u64::MAX, 3), window, "window from {k}");
    }
}

fn global_offsets_are_never_handed_out_twice(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    j.append("a", vec![ev("a1"), ev("a2")]).unwrap();
    assert_eq!(j.append("b", vec![ev("b1")]).unwrap().first_global_offset, 3);
    // Deleting the newest events (their index entries go) must not give their offsets out again: a query
    // consumer that saw offset 3 resumes from 4 and would miss an event that reused 3.
    j.delete_to("b", u64::MAX).unwrap();
    assert_eq!(j.next_global_offset().unwrap(), 4);
    let j = reopen_if_persistent(dir.path(), backend, j);
    assert_eq!(j.next_global_offset().unwrap(), 4, "{backend:?} after reopen");
    assert_eq!(j.append("a", vec![ev("a3")]).unwrap().first_global_offset, 4);
    j.delete_to("a", u64::MAX).unwrap();
    let j = reopen_if_persistent(dir.path(), backend, j);
    assert_eq!(
        j.next_global_offset().unwrap(),
        5,
        "{backend:?} after deleting everything and reopening"
    );
    assert_eq!(j.append("c", vec![ev("c1")]).unwrap().first_global_offset, 5);
    assert_eq!(
        j.all_events(0, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.global_offset)
            .collect::<Vec<_>>(),
        [5]
    );
}

fn highest_survives_deletion_and_reopen(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    j.append("d", (1..=5).map(|i| ev(&i.to_string())).collect()).unwrap();
    j.delete_to("d", 3).unwrap();
    assert_eq!(j.highest_sequence_nr("d").unwrap(), 5);
    assert_eq!(payloads(&j.read("d", 1, u64::MAX, 10).unwrap()), ["4", "5"]);
    j.delete_to("d", u64::MAX).unwrap();
    assert!(j.read("d", 1, u64::MAX, 10).unwrap().is_empty());
    assert_eq!(j.highest_sequence_nr("d").unwrap(), 5);
    assert_eq!(j.stream_state("d").unwrap().deleted_to, 5);
    let j = reopen_if_persistent(dir.path(), backend, j);
    assert_eq!(j.highest_sequence_nr("d").unwrap(), 5);
    assert!(j.read("d", 1, u64::MAX, 10).unwrap().is_empty());
    assert_eq!(j.append("d", vec![ev("6")]).unwrap().first_sequence_nr, 6);
    // Deleting a stream that does not exist, or below what is already deleted, is a no-op.
    j.delete_to("nobody", 10).unwrap();
    j.delete_to("d", 2).unwrap();
    assert_eq!(payloads(&j.read("d", 1, u64::MAX, 10).unwrap()), ["6"]);
    assert_eq!(j.highest_sequence_nr("nobody").unwrap(), 0);
}

fn tags_and_all_events_are_in_commit_order_and_resumable(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    j.append("a", vec![ev("a1").tag("red"), ev("a2").tag("blue")]).unwrap();
    j.append("b", vec![ev("b1").tag("red").tag("blue")]).unwrap();
    j.append("a", vec![ev("a3").tag("red")]).unwrap();
    let all = j.all_events(0, usize::MAX).unwrap();
    assert_eq!(payloads(&all), ["a1", "a2", "b1", "a3"]);
    assert_eq!(j.next_global_offset().unwrap(), all[3].global_offset + 1);
    assert!(all.windows(2).all(|w| w[0].global_offset < w[1].global_offset));
    let red = j.events_by_tag("red", 0, usize::MAX).unwrap();
    assert_eq!(payloads(&red), ["a1", "b1", "a3"]);
    assert_eq!(red[1].tags, ["red", "blue"]);
    // Resume after the first page.
    let first = j.events_by_tag("red", 0, 1).unwrap();
    let rest = j.events_by_tag("red", first[0].global_offset + 1, usize::MAX).unwrap();
    assert_eq!(payloads(&rest), ["b1", "a3"]);
    let tail = j.all_events(all[2].global_offset, 10).unwrap();
    assert_eq!(payloads(&tail), ["b1", "a3"]);
    assert!(j.events_by_tag("green", 0, 10).unwrap().is_empty());
    // Deleted events leave the feeds; offsets of the rest do not change.
    j.delete_to("a", 1).unwrap();
    let after = j.all_events(0, usize::MAX).unwrap();
    assert_eq!(payloads(&after), ["a2", "b1", "a3"]);
    assert_eq!(after[0].global_offset, all[1].global_offset);
    assert_eq!(payloads(&j.events_by_tag("red", 0, 10).unwrap()), ["b1", "a3"]);
}

fn persistence_ids_lists_every_stream(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    assert!(j.persistence_ids().unwrap().is_empty());
    for pid in ["zeta", "alpha", "ünïcødé/ид"] {
        j.append(pid, vec![ev("x")]).unwrap();
    }
    j.delete_to("zeta", 1).unwrap();
    let j = reopen_if_persistent(dir.path(), backend, j);
    assert_eq!(j.persistence_ids().unwrap(), ["alpha", "zeta", "ünïcødé/ид"]);
}

fn snapshot(pid: &str, seq: u64, ts: u64) -> Snapshot {
    Snapshot {
        persistence_id: pid.into(),
        sequence_nr: seq,
        timestamp: ts,
        manifest: "S".into(),
        metadata: vec![9],
        state: format!("state@{seq}").into_bytes(),
    }
}

fn snapshot_criteria_select_the_latest_match(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    let s = j.snapshots();
    assert_eq!(s.load("p", SnapshotCriteria::latest()).unwrap(), None);
    for (seq, ts) in [(10, 100), (20, 200), (30, 300)] {
        s.save(&snapshot("p", seq, ts)).unwrap();
    }
    s.save(&snapshot("other", 99, 999)).unwrap();
    let seq_of = |c: SnapshotCriteria| s.load("p", c).unwrap().map(|x| x.sequence_nr);
    assert_eq!(seq_of(SnapshotCriteria::latest()), Some(30));
    assert_eq!(seq_of(SnapshotCriteria::latest().max_sequence_nr(25)), Some(20));
    assert_eq!(seq_of(SnapshotCriteria::latest().max_timestamp(150)), Some(10));
    assert_eq!(seq_of(SnapshotCriteria::latest().min_sequence_nr(31)), None);
    assert_eq!(seq_of(SnapshotCriteria::latest().min_timestamp(250)), Some(30));
    assert_eq!(seq_of(SnapshotCriteria::latest().max_sequence_nr(25).min_timestamp(150)), Some(20));
    assert_eq!(seq_of(SnapshotCriteria::none()), None);
    let loaded = s.load("p", SnapshotCriteria::latest()).unwrap().unwrap();
    assert_eq!(loaded, snapshot("p", 30, 300));
    // Saving the same sequence number again replaces it.
    s.save(&Snapshot {
        state: b"newer".to_vec(),
        ..snapshot("p", 30, 301)
    })
    .unwrap();
    assert_eq!(s.load("p", SnapshotCriteria::latest()).unwrap().unwrap().state, b"newer");
    assert_eq!(s.list("p").unwrap().len(), 3);
    assert_eq!(s.persistence_ids().unwrap(), ["other", "p"]);
}

fn snapshot_prune_and_delete(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    let s = j.snapshots();
    for seq in 1..=6 {
        s.save(&snapshot("p", seq * 10, seq * 100)).unwrap();
    }
    assert_eq!(s.prune("p", 4).unwrap(), 2);
    assert_eq!(
        s.list("p").unwrap().iter().map(|i| i.sequence_nr).collect::<Vec<_>>(),
        [30, 40, 50, 60]
    );
    assert_eq!(s.prune("p", 10).unwrap(), 0);
    assert!(s.delete("p", 60).unwrap());
    assert!(!s.delete("p", 60).unwrap());
    assert_eq!(s.load("p", SnapshotCriteria::latest()).unwrap().unwrap().sequence_nr, 50);
    assert_eq!(s.delete_matching("p", SnapshotCriteria::latest().max_sequence_nr(40)).unwrap(), 2);
    assert_eq!(s.list("p").unwrap().iter().map(|i| i.sequence_nr).collect::<Vec<_>>(), [50]);
    assert_eq!(s.delete_matching("p", SnapshotCriteria::latest()).unwrap(), 1);
    assert_eq!(s.load("p", SnapshotCriteria::latest()).unwrap(), None);
}

fn everything_persists_across_reopen(backend: Backend) {
    if backend == Backend::Memory {
        return; // nothing persists by design; the other backends are checked here
    }
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    let big = vec![0xAB; 1 << 20];
    j.append(
        "p",
        vec![
            NewEvent::new(big.clone())
                .manifest("Big")
                .writer_id("w1")
                .tag("t")
                .timestamp(42)
                .metadata(vec![1, 2, 3]),
            NewEvent::new(Vec::new()),
        ],
    )
    .unwrap();
    j.append("p", vec![NewEvent::new(vec![0xff, 0xfe, 0])]).unwrap();
    j.delete_to("p", 1).unwrap();
    j.snapshots().save(&snapshot("p", 2, 5)).unwrap();
    let before = j.all_events(0, usize::MAX).unwrap();
    j.close().unwrap();
    let j = open(dir.path(), backend);
    assert_eq!(j.all_events(0, usize::MAX).unwrap(), before);
    let events = j.read("p", 1, u64::MAX, 10).unwrap();
    assert_eq!(events.iter().map(|e| e.sequence_nr).collect::<Vec<_>>(), [2, 3]);
    assert!(events[0].payload.is_empty());
    assert_eq!(events[1].payload, [0xff, 0xfe, 0]);
    assert_eq!(j.stream_state("p").unwrap().deleted_to, 1);
    assert_eq!(
        j.snapshots().load("p", SnapshotCriteria::latest()).unwrap(),
        Some(snapshot("p", 2, 5))
    );
    // The big event's fields round-trip when it is not deleted.
    let r = j
        .append(
            "q",
            vec![NewEvent::new(big.clone())
                .manifest("Big")
                .writer_id("w1")
                .tag("t")
                .timestamp(42)
                .metadata(vec![1, 2, 3])],
        )
        .unwrap();
    j.close().unwrap();
    let j = open(dir.path(), backend);
    let q = &j.read("q", 1, 1, 1).unwrap()[0];
    assert_eq!(
        (
            q.payload.len(),
            q.manifest.as_str(),
            q.writer_id.as_str(),
            q.timestamp,
            &q.metadata[..],
            q.global_offset
        ),
        (big.len(), "Big", "w1", 42, &[1u8, 2, 3][..], r.first_global_offset)
    );
    assert_eq!(q.tags, ["t"]);
}

fn every_operation_after_close_is_closed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    j.append("p", vec![ev("x")]).unwrap();
    let clone = j.clone();
    j.close().unwrap();
    j.close().unwrap(); // idempotent
    let closed = |r: tidelog::Result<()>| assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
    closed(clone.append("p", vec![ev("y")]).map(|_| ()));
    closed(clone.append_async("p", vec![ev("y")]).wait().map(|_| ()));
    closed(
        clone
            .write(vec![AtomicWrite::new("p", 2, vec![ev("y")])])
            .unwrap()
            .remove(0)
            .map(|_| ()),
    );
    closed(clone.read("p", 1, 10, 10).map(|_| ()));
    closed(clone.highest_sequence_nr("p").map(|_| ()));
    closed(clone.delete_to("p", 1));
    closed(clone.persistence_ids().map(|_| ()));
    closed(clone.events_by_tag("t", 0, 10).map(|_| ()));
    closed(clone.all_events(0, 10).map(|_| ()));
    closed(clone.flush());
    closed(clone.snapshots().save(&snapshot("p", 1, 1)));
    closed(clone.snapshots().load("p", SnapshotCriteria::latest()).map(|_| ()));
    closed(clone.snapshots().prune("p", 1).map(|_| ()));
    let (tx, rx) = std::sync::mpsc::channel();
    clone.append_with("p", vec![ev("z")], move |r| tx.send(r.map(|_| ())).unwrap());
    closed(rx.recv().unwrap());
    assert!(clone.is_closed());
}

fn bad_arguments_are_typed_errors(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(
        journal_path(dir.path().join("j"), backend),
        Options::new().backend(backend).max_event_bytes(1024),
    )
    .unwrap();
    let invalid = |r: tidelog::Result<tidelog::WriteReceipt>| match r {
        Err(Error::InvalidArgument(a)) => a,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert_eq!(invalid(j.append("", vec![ev("x")])), InvalidArgument::EmptyPersistenceId);
    assert_eq!(
        invalid(j.append("a\0b", vec![ev("x")])),
        InvalidArgument::ContainsNul { field: "persistence id" }
    );
    assert!(matches!(
        invalid(j.append(&"x".repeat(1025), vec![ev("x")])),
        InvalidArgument::PersistenceIdTooLong { len: 1025, max: 1024 }
    ));
    assert!(j.append(&"x".repeat(1024), vec![ev("x")]).is_ok());
    assert!(matches!(
        invalid(j.append("p", vec![NewEvent::new(vec![0; 2000])])),
        InvalidArgument::EventTooLarge { max: 1024, .. }
    ));
    assert_eq!(invalid(j.append("p", vec![])), InvalidArgument::EmptyWrite);
    let r = j.write(vec![AtomicWrite::new("p", 0, vec![ev("x")])]).unwrap();
    assert!(matches!(r[0], Err(Error::InvalidArgument(InvalidArgument::ZeroSequenceNr))));
    assert!(matches!(
        j.events_by_tag("", 0, 1),
        Err(Error::InvalidArgument(InvalidArgument::EmptyTag))
    ));
    assert!(matches!(j.read("", 1, 1, 1), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        Journal::open(
            journal_path(dir.path().join("o"), backend),
            Options::new().backend(backend).max_batch_events(0)
        ),
        Err(Error::InvalidArgument(InvalidArgument::Option { .. }))
    ));
    assert_eq!(j.highest_sequence_nr("p").unwrap(), 0);
}

fn import_preserves_identity_and_stream_state(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let src = Journal::open(journal_path(dir.path().join("src"), backend), Options::new().backend(backend)).unwrap();
    src.append("a", vec![ev("a1").tag("t"), ev("a2")]).unwrap();
    src.append("b", vec![ev("b1")]).unwrap();
    src.append("a", vec![ev("a3").timestamp(7).metadata(vec![5])]).unwrap();
    src.append("gone", vec![ev("g1")]).unwrap();
    src.delete_to("a", 1).unwrap();
    src.delete_to("gone", 1).unwrap();
    let events = src.all_events(0, usize::MAX).unwrap();
    let dst = Journal::open(journal_path(dir.path().join("dst"), backend), Options::new().backend(backend)).unwrap();
    dst.import(events.clone()).unwrap();
    for pid in src.persistence_ids().unwrap() {
        let s = src.stream_state(&pid).unwrap();
        if dst.stream_state(&pid).unwrap() != s {
            dst.import_stream_state(&pid, s.highest_sequence_nr, s.deleted_to).unwrap();
        }
    }
    assert_eq!(dst.all_events(0, usize::MAX).unwrap(), events);
    for pid in ["a", "b", "gone"] {
        assert_eq!(dst.stream_state(pid).unwrap(), src.stream_state(pid).unwrap(), "{pid}");
    }
    assert_eq!(dst.append("a", vec![ev("a4")]).unwrap().first_sequence_nr, 4);
    // Offsets must increase; marks cannot move back.
    assert!(matches!(
        dst.import(events[..1].to_vec()),
        Err(Error::InvalidArgument(InvalidArgument::ImportOffsetNotIncreasing { .. }))
    ));
    assert!(matches!(
        dst.import_stream_state("a", 2, 1),
        Err(Error::InvalidArgument(InvalidArgument::StreamStateRegression))
    ));
}

fn async_and_callback_forms_agree(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    let futures: Vec<_> = (0..50).map(|i| j.append_async("p", vec![ev(&i.to_string())])).collect();
    let receipts: Vec<_> = futures.into_iter().map(|f| f.wait().unwrap()).collect();
    assert_eq!(
        receipts.iter().map(|r| r.first_sequence_nr).collect::<Vec<_>>(),
        (1..=50).collect::<Vec<_>>()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..50 {
        let tx = tx.clone();
        j.append_with("q", vec![ev(&i.to_string())], move |r| {
            tx.send((i, r.unwrap().first_sequence_nr)).unwrap()
        });
    }
    drop(tx);
    let mut got: Vec<(u64, u64)> = rx.iter().collect();
    got.sort();
    // Submission order is commit order for one stream.
    assert!(got.iter().all(|(i, seq)| *seq == i + 1));
    // A Completion is a plain Future: poll it with a minimal executor.
    let r = block_on(j.append_async("r", vec![ev("async")])).unwrap();
    assert_eq!(r.first_sequence_nr, 1);
    j.flush().unwrap();
}

fn metrics_count_commits(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    j.append("p", vec![ev("a"), ev("b")]).unwrap();
    j.append("p", vec![ev("c")]).unwrap();
    let m = j.metrics();
    assert_eq!((m.appends, m.events), (2, 3));
    assert!(m.batches >= 1 && m.batches <= 2);
    assert!(m.fsyncs >= 1);
    assert_eq!(m.batch_events.sum, 3);
    assert!(m.to_prometheus().contains("tidelog_events_total 3"));
}

/// Drives a future to completion on this thread (no runtime needed).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn a_blocking_write_after_a_queued_one_commits_after_it() {
    for backend in common::BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let j = open(dir.path(), backend);
        for i in 0..200u64 {
            let queued = j.write_async(vec![AtomicWrite::new("q", i + 1, vec![ev("q")])]);
            let blocking = j.write(vec![AtomicWrite::new("b", i + 1, vec![ev("b")])]).unwrap();
            let queued = queued.wait().unwrap();
            let (queued, blocking) = (queued[0].as_ref().unwrap(), blocking[0].as_ref().unwrap());
            assert!(
                blocking.first_global_offset > queued.first_global_offset,
                "{backend:?}: submission order"
            );
        }
        assert_eq!(j.highest_sequence_nr("q").unwrap(), 200);
        assert_eq!(j.highest_sequence_nr("b").unwrap(), 200);
    }
}

#[test]
fn a_blocking_append_after_a_queued_one_commits_after_it() {
    for backend in common::BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let j = open(dir.path(), backend);
        for i in 0..200u32 {
            let queued = j.append_async("p", vec![ev(&format!("q{i}"))]);
            let blocking = j.append("p", vec![ev(&format!("b{i}"))]).unwrap();
            let queued = queued.wait().unwrap();
            assert!(
                blocking.first_sequence_nr > queued.first_sequence_nr,
                "{backend:?}: submission order"
            );
        }
        let events = j.read("p", 1, u64::MAX, usize::MAX).unwrap();
        assert_eq!(events.len(), 400);
        assert!(events.iter().enumerate().all(|(i, e)| e.sequence_nr == i as u64 + 1));
    }
}

#[test]
fn check_options_names_the_first_option_that_differs() {
    use std::time::Duration;
    use tidelog::SyncPolicy;
    let dir = tempfile::tempdir().unwrap();
    let opened = Options::new().backend(Backend::Files).close_timeout(Duration::from_secs(2));
    let j = Journal::open(dir.path().join("journal"), opened.clone()).unwrap();
    j.check_options(&opened).unwrap();
    let differs = |wanted: Options| match j.check_options(&wanted) {
        Err(Error::InvalidArgument(InvalidArgument::OptionDiffers { option, open, wanted })) => (option, open, wanted),
        other => panic!("expected OptionDiffers, got {other:?}"),
    };
    assert_eq!(
        differs(opened.clone().backend(Backend::Lmdb)),
        ("backend", "files".into(), "lmdb".into())
    );
    assert_eq!(
        differs(opened.clone().sync(SyncPolicy::Interval(Duration::from_millis(50)))),
        ("sync", "always".into(), "every 50ms".into())
    );
    assert_eq!(
        differs(opened.clone().max_batch_events(7)),
        ("max_batch_events", "4096".into(), "7".into())
    );
    assert_eq!(
        differs(opened.clone().close_timeout(Duration::from_secs(5))),
        ("close_timeout", "2s".into(), "5s".into())
    );
    assert_eq!(differs(opened.clone().segment_bytes(1 << 20)).0, "segment_bytes");
    // The first difference is named, in the order options are documented.
    assert_eq!(differs(opened.clone().snapshot_compression(true).sync(SyncPolicy::Never)).0, "sync");
    let message = j.check_options(&opened.clone().sync(SyncPolicy::Never)).unwrap_err().to_string();
    assert!(message.contains("already open with sync = always, not never"), "{message}");
    assert_eq!(j.check_options(&Options::new()).unwrap_err().kind(), ErrorKind::InvalidArgument);
    j.close().unwrap();
}

/// Issue order: a read, a highest-sequence-number query and a deletion issued right after
/// an append that nobody awaited observe it (the append is still in the writer's queue or commit when they start).
fn an_operation_issued_after_a_write_observes_it(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path(), backend);
    let mut misses = Vec::new();
    for round in 1..=1_000u64 {
        let pid = "issue-order";
        let appended = j.append_async(pid, vec![ev(&format!("e{round}"))]); // not awaited before the reads
        let read = j.read(pid, 1, u64::MAX, usize::MAX).unwrap();
        if read.last().map(|e| e.sequence_nr) != Some(round) {
            misses.push(format!("round {round}: read ended at {:?}", read.last().map(|e| e.sequence_nr)));
        }
        let highest = j.highest_sequence_nr(pid).unwrap();
        if highest != round {
            misses.push(format!("round {round}: highest {highest}"));
        }
        // A trim right after, not awaited either, then a read: only the newest event is left.
        let trimmed = j.delete_to_async(pid, round - 1);
        let state = j.stream_state(pid).unwrap();
        let left = j.read(pid, 1, u64::MAX, usize::MAX).unwrap();
        if state.deleted_to != round - 1 || left.iter().map(|e| e.sequence_nr).collect::<Vec<_>>() != [round] {
            misses.push(format!(
                "round {round}: deleted_to {} and {} events left",
                state.deleted_to,
                left.len()
            ));
        }
        appended.wait().unwrap();
        trimmed.wait().unwrap();
    }
    assert!(misses.is_empty(), "{} misses, first: {:?}", misses.len(), misses.first());
    j.close().unwrap();
}
