//! Round trips of every wire format, and malformed buffers: typed errors, never a panic.

use proptest::prelude::*;
use tidelog::{AtomicWrite, Backend, Error, Journal, NewEvent, Options, Snapshot, SnapshotInfo, WriteReceipt};
use tidelog_ffi::wire::{self, encode, Reader, Scope, WireError};
use tidelog_ffi::{status, Completion, Outcome};

fn event() -> impl Strategy<Value = NewEvent> {
    (
        proptest::collection::vec(any::<u8>(), 0..40),
        ".{0,8}",
        ".{0,8}",
        proptest::collection::vec("[a-z\u{e9}]{1,6}", 0..4),
        proptest::option::of(0..u64::MAX),
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(payload, manifest, writer_id, tags, timestamp, metadata)| NewEvent {
            payload,
            manifest,
            writer_id,
            tags,
            timestamp,
            metadata,
        })
}

fn write() -> impl Strategy<Value = AtomicWrite> {
    (".{0,12}", any::<u64>(), proptest::collection::vec(event(), 0..4)).prop_map(|(persistence_id, first_sequence_nr, events)| {
        AtomicWrite {
            persistence_id,
            first_sequence_nr,
            events,
        }
    })
}

proptest! {
    #[test]
    fn append_requests_round_trip(pid in ".{0,20}", events in proptest::collection::vec(event(), 0..6)) {
        let buf = encode::append(&pid, &events);
        prop_assert_eq!(wire::decode_append(&buf).unwrap(), (pid.clone(), events.clone()));
        let mut list = Vec::new();
        encode::events(&mut list, &events);
        prop_assert_eq!(wire::decode_events(&list).unwrap(), events);
    }

    #[test]
    fn write_lists_round_trip(writes in proptest::collection::vec(write(), 0..4)) {
        prop_assert_eq!(wire::decode_writes(&encode::writes(&writes)).unwrap(), writes);
    }

    #[test]
    fn snapshots_round_trip(pid in ".{0,12}", seq: u64, ts: u64, manifest in ".{0,8}", metadata: Vec<u8>, state: Vec<u8>) {
        let s = Snapshot { persistence_id: pid, sequence_nr: seq, timestamp: ts, manifest, metadata, state };
        prop_assert_eq!(wire::decode_snapshot(&encode::snapshot(&s)).unwrap(), s);
    }

    /// Every prefix, every corrupted byte, and trailing garbage: an error or a
    /// value, never a panic; a strict prefix is always an error.
    #[test]
    fn malformed_inputs_are_typed_errors(writes in proptest::collection::vec(write(), 1..3), at: prop::sample::Index, byte: u8) {
        let buf = encode::writes(&writes);
        for end in 0..buf.len() {
            prop_assert!(wire::decode_writes(&buf[..end]).is_err());
        }
        let mut bad = buf.clone();
        let i = at.index(bad.len());
        bad[i] = byte;
        let _ = wire::decode_writes(&bad);
        let _ = wire::decode_append(&bad);
        let _ = wire::decode_snapshot(&bad);
        let mut page = Reader::new(&bad);
        let mut previous = None;
        while let Ok(e) = page.event(previous.as_ref()) {
            previous = Some(e);
        }
        let mut long = buf;
        long.push(0);
        prop_assert_eq!(wire::decode_writes(&long).unwrap_err(), WireError::Trailing { bytes: 1 });
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = wire::decode_writes(&bytes);
        let _ = wire::decode_append(&bytes);
        let _ = wire::decode_events(&bytes);
        let _ = wire::decode_snapshot(&bytes);
        let _ = Reader::new(&bytes).event(None);
    }
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    assert_eq!(
        wire::decode_events(&u32::MAX.to_le_bytes()).unwrap_err(),
        WireError::Count {
            what: "event",
            count: u32::MAX
        }
    );
    assert_eq!(
        wire::decode_writes(&1u32.to_le_bytes()).unwrap_err(),
        WireError::Count { what: "write", count: 1 }
    );
    let mut bad_utf8 = 1u32.to_le_bytes().to_vec();
    bad_utf8.extend_from_slice(&[0xff]);
    bad_utf8.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        wire::decode_append(&bad_utf8).unwrap_err(),
        WireError::Utf8 {
            field: "persistence id",
            at: 4
        }
    );
}

/// Persistence id, sequence nr, global offset, tags, metadata, payload.
type Decoded = (String, u64, u64, Vec<String>, Vec<u8>, Vec<u8>);

/// Events as a host decodes a page: `Reader::event` until the count is reached.
fn decode_page(page: &[u8]) -> Vec<Decoded> {
    let mut r = Reader::new(page);
    let count = r.u32().unwrap();
    let mut previous = None;
    let events = (0..count)
        .map(|_| {
            let e = r.event(previous.as_ref()).unwrap();
            previous = Some(e);
            let mut tags = Reader::new(e.tags);
            let tags = (0..e.tag_count).map(|_| tags.str("tag").unwrap().to_owned()).collect();
            let pid = String::from_utf8(e.persistence_id.to_vec()).unwrap();
            (pid, e.sequence_nr, e.global_offset, tags, e.metadata.to_vec(), e.payload.to_vec())
        })
        .collect();
    r.finish().unwrap();
    events
}

#[test]
fn pages_hold_what_the_journal_stored_in_every_scope_and_stop_at_the_byte_limit() {
    let journal = Journal::open("unused", Options::new().backend(Backend::Memory)).unwrap();
    journal
        .append(
            "p",
            vec![
                NewEvent::new(b"one".to_vec()).tag("t").manifest("M"),
                NewEvent::new(b"two".to_vec()),
            ],
        )
        .unwrap();
    journal.append("q", vec![NewEvent::new(b"three".to_vec()).tag("t")]).unwrap();
    let stream = Scope::Stream {
        persistence_id: "p",
        from: 1,
        to: u64::MAX,
    };
    let page = decode_page(&wire::read_page(&journal, stream, usize::MAX, 1 << 20).unwrap());
    assert_eq!(page.len(), 2);
    assert_eq!(page[0], ("p".into(), 1, 1, vec!["t".into()], vec![], b"one".to_vec()));
    assert_eq!(page[1].5, b"two");
    let tagged = decode_page(&wire::read_page(&journal, Scope::Tag { tag: "t", from_offset: 0 }, 10, 1 << 20).unwrap());
    assert_eq!(tagged.iter().map(|e| e.2).collect::<Vec<_>>(), [1, 3]);
    let all = decode_page(&wire::read_page(&journal, Scope::All { from_offset: 2 }, 10, 1 << 20).unwrap());
    assert_eq!(all.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["p", "q"]);
    // Page requests name their scope by code.
    let by_code = |code, key| wire::read_page(&journal, Scope::from_code(code, key, 1, u64::MAX).unwrap(), 10, 1 << 20).unwrap();
    assert_eq!(decode_page(&by_code(0, "q")).len(), 1);
    assert_eq!(decode_page(&by_code(1, "t")).len(), 2);
    assert_eq!(decode_page(&by_code(2, "")).len(), 3);
    assert_eq!(
        Scope::from_code(3, "", 0, 0).unwrap_err().kind(),
        tidelog::ErrorKind::InvalidArgument
    );
    // A page ends after the event that reached the byte limit.
    assert_eq!(
        decode_page(&wire::read_page(&journal, Scope::All { from_offset: 0 }, 10, 1).unwrap()).len(),
        1
    );
    journal.close().unwrap();
}

#[test]
fn a_page_sends_a_string_once_while_the_next_events_repeat_it() {
    let journal = Journal::open("unused", Options::new().backend(Backend::Memory)).unwrap();
    let manifests = ["A", "A", "B", "B", "", ""];
    let events = manifests.iter().map(|m| NewEvent::new(b"x".to_vec()).manifest(*m)).collect();
    journal.append("stream-with-a-long-name", events).unwrap();
    journal.append("other", vec![NewEvent::new(b"y".to_vec()).manifest("B")]).unwrap();
    let page = wire::read_page(&journal, Scope::All { from_offset: 0 }, 10, 1 << 20).unwrap();
    // The long id is written once, then six times as the 4-byte mark; "other" in full.
    let occurrences = |needle: &[u8]| page.windows(needle.len()).filter(|w| *w == needle).count();
    assert_eq!(occurrences(b"stream-with-a-long-name"), 1);
    // Ids: 5 repeats; manifests: "A" and "B" once each (empty ones are length 0); the writer id
    // is the same for all 7 events.
    assert_eq!(occurrences(&wire::SAME_AS_PREVIOUS.to_le_bytes()), 5 + 2 + 6);
    let mut r = Reader::new(&page);
    let count = r.u32().unwrap();
    let mut previous = None;
    let mut decoded = Vec::new();
    for _ in 0..count {
        let e = r.event(previous.as_ref()).unwrap();
        decoded.push((e.persistence_id.to_vec(), e.manifest.to_vec()));
        previous = Some(e);
    }
    let expected: Vec<(Vec<u8>, Vec<u8>)> = manifests
        .iter()
        .map(|m| (b"stream-with-a-long-name".to_vec(), m.as_bytes().to_vec()))
        .chain([(b"other".to_vec(), b"B".to_vec())])
        .collect();
    assert_eq!(decoded, expected);
    // The first event of a page cannot repeat anything.
    let mut first = 1u32.to_le_bytes().to_vec();
    first.extend_from_slice(&[0; 24]);
    first.extend_from_slice(&wire::SAME_AS_PREVIOUS.to_le_bytes());
    let mut r = Reader::new(&first);
    r.u32().unwrap();
    assert!(matches!(r.event(None).unwrap_err(), WireError::Malformed { at: 28, .. }));
    journal.close().unwrap();
}

#[test]
fn a_string_after_an_empty_one_is_not_taken_for_a_repeat_of_an_older_one() {
    let journal = Journal::open("unused", Options::new().backend(Backend::Memory)).unwrap();
    let manifests = ["A", "", "A", "A"];
    let events = manifests.iter().map(|m| NewEvent::new(b"x".to_vec()).manifest(*m)).collect();
    journal.append("s", events).unwrap();
    let page = wire::read_page(&journal, Scope::All { from_offset: 0 }, 10, 1 << 20).unwrap();
    let mut r = Reader::new(&page);
    let mut previous = None;
    let mut decoded = Vec::new();
    for _ in 0..r.u32().unwrap() {
        let e = r.event(previous.as_ref()).unwrap();
        decoded.push(e.manifest.to_vec());
        previous = Some(e);
    }
    let expected: Vec<Vec<u8>> = manifests.iter().map(|m| m.as_bytes().to_vec()).collect();
    assert_eq!(decoded, expected);
    journal.close().unwrap();
}

/// A result record as a host reads it.
fn result(r: &mut Reader) -> (i32, u64, u64, u64, String) {
    let code = r.u32().unwrap() as i32;
    let len = r.u32().unwrap() as usize;
    let (a, b, c) = (r.u64().unwrap(), r.u64().unwrap(), r.u64().unwrap());
    (code, a, b, c, String::from_utf8(r.take(len).unwrap().to_vec()).unwrap())
}

#[test]
fn completion_batches_carry_receipts_units_errors_and_write_results() {
    let receipt = WriteReceipt {
        first_sequence_nr: 4,
        last_sequence_nr: 6,
        first_global_offset: 40,
    };
    let conflict = Error::SequenceConflict {
        persistence_id: "p".into(),
        expected: 7,
        actual: 9,
    };
    let batch = wire::encode_completions(&[
        Completion {
            token: 1,
            outcome: Outcome::Receipt(receipt),
        },
        Completion {
            token: 2,
            outcome: Outcome::Unit,
        },
        Completion {
            token: u64::MAX,
            outcome: Outcome::Failed(Error::Closed),
        },
        Completion {
            token: 3,
            outcome: Outcome::Writes(vec![Ok(receipt), Err(conflict)]),
        },
    ]);
    let mut r = Reader::new(&batch);
    assert_eq!(r.u32().unwrap(), 4);
    assert_eq!((r.u64().unwrap(), r.u32().unwrap()), (1, wire::COMPLETION_RESULT));
    assert_eq!(result(&mut r), (status::OK, 4, 6, 40, String::new()));
    assert_eq!((r.u64().unwrap(), r.u32().unwrap()), (2, wire::COMPLETION_RESULT));
    assert_eq!(result(&mut r), (0, 0, 0, 0, String::new()));
    assert_eq!((r.u64().unwrap(), r.u32().unwrap()), (u64::MAX, wire::COMPLETION_RESULT));
    assert_eq!(result(&mut r), (1, 0, 0, 0, Error::Closed.to_string()));
    assert_eq!((r.u64().unwrap(), r.u32().unwrap()), (3, wire::COMPLETION_WRITES));
    assert_eq!(r.u32().unwrap(), 2);
    assert_eq!(result(&mut r).0, status::OK);
    let (code, expected, actual, _, message) = result(&mut r);
    assert_eq!((code, expected, actual), (3, 7, 9));
    assert!(message.contains("p"), "{message}");
    r.finish().unwrap();
}

#[test]
fn string_and_snapshot_lists() {
    let strings = wire::encode_strings(&["a".into(), "\u{e9}t\u{e9}".into()]);
    let mut r = Reader::new(&strings);
    assert_eq!(r.u32().unwrap(), 2);
    assert_eq!((r.str("s").unwrap(), r.str("s").unwrap()), ("a", "\u{e9}t\u{e9}"));
    r.finish().unwrap();
    let infos = wire::encode_snapshot_infos(&[SnapshotInfo {
        sequence_nr: 3,
        timestamp: 99,
    }]);
    let mut r = Reader::new(&infos);
    assert_eq!((r.u32().unwrap(), r.u64().unwrap(), r.u64().unwrap()), (1, 3, 99));
    r.finish().unwrap();
}

/// A stream page read into a buffer large enough, cut to its length.
fn stream_page(journal: &Journal, pid: &str, from: u64, to: u64, max: usize, max_bytes: usize) -> Vec<u8> {
    let mut out = vec![0; 1 << 16];
    let n = wire::read_stream_page_to(journal, pid, from, to, max, max_bytes, &mut out)
        .unwrap()
        .unwrap();
    out.truncate(n);
    out
}

#[test]
fn a_stream_page_holds_each_events_stored_body_after_its_checksum_and_stops_at_its_limits() {
    let journal = Journal::open("unused", Options::new().backend(Backend::Memory)).unwrap();
    let events = vec![
        NewEvent::new(b"one".to_vec()).tag("t").manifest("M").metadata(b"md".to_vec()),
        NewEvent::new(b"two".to_vec()),
        NewEvent::new(b"three".to_vec()),
    ];
    journal.append("p", events).unwrap();
    journal.append("q", vec![NewEvent::new(b"other".to_vec())]).unwrap();
    let page = stream_page(&journal, "p", 2, u64::MAX, 10, 1 << 20);
    let mut expected = Vec::new();
    journal
        .scan("p", 2, u64::MAX, 10, |e| {
            expected.push(e.checked_body().to_vec());
            true
        })
        .unwrap();
    let mut r = Reader::new(&page);
    assert_eq!(r.u32().unwrap(), 2);
    for body in &expected {
        assert_eq!(r.bytes().unwrap(), body.as_slice());
    }
    r.finish().unwrap();
    // The body's layout (core/docs/format.md, "Event body", from the sequence number on).
    let first = &expected[0];
    assert_eq!(u64::from_le_bytes(first[0..8].try_into().unwrap()), 2);
    assert_eq!(u64::from_le_bytes(first[8..16].try_into().unwrap()), 2);
    assert_eq!(&first[24..32], &[0; 8]);
    assert_eq!(&first[32..], b"two");
    // Tags, manifest and metadata in stored order.
    let mut full = Vec::new();
    journal
        .scan("p", 1, 1, 1, |e| {
            full = e.checked_body().to_vec();
            true
        })
        .unwrap();
    assert_eq!(&full[24..32], &[1, 0, 0, 0, 2, 0, 1, 0]);
    assert_eq!(&full[32..], b"Mmd\x01\x00tone");
    // At most `max` events; a page ends after the event that reached the byte limit; `to` bounds it.
    let count = |page: &[u8]| u32::from_le_bytes(page[..4].try_into().unwrap());
    assert_eq!(count(&stream_page(&journal, "p", 1, u64::MAX, 1, 1 << 20)), 1);
    assert_eq!(count(&stream_page(&journal, "p", 1, u64::MAX, 10, 1)), 1);
    assert_eq!(count(&stream_page(&journal, "p", 1, 2, 10, 1 << 20)), 2);
    assert!(stream_page(&journal, "q", 1, u64::MAX, 10, 1 << 20).ends_with(b"other"));
    // A page that does not fit the buffer is None, also one that ends exactly one byte short.
    let full = stream_page(&journal, "p", 1, u64::MAX, 10, 1 << 20).len();
    let mut short = vec![0; full - 1];
    assert_eq!(
        wire::read_stream_page_to(&journal, "p", 1, u64::MAX, 10, 1 << 20, &mut short).unwrap(),
        None
    );
    let mut exact = vec![0; full];
    assert_eq!(
        wire::read_stream_page_to(&journal, "p", 1, u64::MAX, 10, 1 << 20, &mut exact).unwrap(),
        Some(full)
    );
    assert_eq!(
        wire::read_stream_page_to(&journal, "p", 1, u64::MAX, 10, 1 << 20, &mut [0; 3]).unwrap(),
        None
    );
    // An unknown stream is an empty page.
    assert_eq!(stream_page(&journal, "nobody", 1, u64::MAX, 10, 1 << 20), 0u32.to_le_bytes());
    journal.close().unwrap();
}
