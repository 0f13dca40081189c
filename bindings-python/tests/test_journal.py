"""Every blocking operation, on every backend."""

import pytest

import tidelog
from conftest import location
from tidelog import AtomicWrite, Event, NewEvent, WriteReceipt


def test_append_assigns_gapless_sequence_numbers_and_increasing_offsets(journal):
    r1 = journal.append("cart-1", [b"a", b"b"])
    r2 = journal.append("cart-2", b"c")
    r3 = journal.append("cart-1", NewEvent(b"d"))
    assert (r1.first_sequence_nr, r1.last_sequence_nr) == (1, 2)
    assert (r2.first_sequence_nr, r2.last_sequence_nr) == (1, 1)
    assert (r3.first_sequence_nr, r3.last_sequence_nr) == (3, 3)
    assert r1.first_global_offset < r2.first_global_offset < r3.first_global_offset
    events = journal.read("cart-1")
    assert [e.sequence_nr for e in events] == [1, 2, 3]
    assert [e.payload for e in events] == [b"a", b"b", b"d"]
    offsets = [e.global_offset for e in events]
    assert offsets == sorted(offsets) and len(set(offsets)) == 3


def test_every_event_field_round_trips(journal):
    payload = bytes(range(256)) * 3
    journal.append(
        "actor-ü",
        [
            NewEvent(payload, manifest="ItemAdded", writer_id="writer-9", tags=["cart", "eu"], timestamp=1234, metadata=b"\x00ser"),
            bytearray(b"second"),
            memoryview(b"third"),
        ],
    )
    first, second, third = journal.read("actor-ü")
    assert isinstance(first, Event)
    assert first.persistence_id == "actor-ü"
    assert first.payload == payload
    assert first.manifest == "ItemAdded"
    assert first.writer_id == "writer-9"
    assert first.tags == ("cart", "eu")
    assert first.timestamp == 1234
    assert first.metadata == b"\x00ser"
    assert (second.payload, second.manifest, second.tags, second.metadata) == (b"second", "", (), b"")
    assert second.timestamp > 1_600_000_000_000  # set by the writer's clock
    assert third.payload == b"third"
    assert journal.read("actor-ü") == [first, second, third]


def test_events_are_immutable(journal):
    journal.append("p", b"x")
    [event] = journal.read("p")
    with pytest.raises(AttributeError):
        event.payload = b"y"
    with pytest.raises(AttributeError):
        event.sequence_nr = 5


def test_read_respects_from_to_and_max(journal):
    journal.append("p", [bytes([i]) for i in range(10)])
    assert [e.sequence_nr for e in journal.read("p", 3, 6)] == [3, 4, 5, 6]
    assert [e.sequence_nr for e in journal.read("p", 3, max=2)] == [3, 4]
    assert [e.sequence_nr for e in journal.read("p", to_sequence_nr=2)] == [1, 2]
    assert journal.read("p", 11) == []
    assert journal.read("p", 5, 4) == []
    assert journal.read("p", max=0) == []
    assert journal.read("unknown") == []


def test_write_checks_each_atomic_write_alone(journal):
    journal.append("a", b"a1")
    results = journal.write(
        [
            AtomicWrite("a", 2, [b"a2", b"a3"]),
            ("b", 1, [b"b1"]),
            ("a", 9, [b"bad"]),
            ("c", 1, b"c1"),
        ]
    )
    assert isinstance(results[0], WriteReceipt) and results[0].last_sequence_nr == 3
    assert isinstance(results[1], WriteReceipt) and results[1].first_sequence_nr == 1
    conflict = results[2]
    assert isinstance(conflict, tidelog.SequenceConflictError)
    assert (conflict.persistence_id, conflict.expected, conflict.actual) == ("a", 4, 9)
    assert conflict.code == "SEQUENCE_CONFLICT"
    assert isinstance(results[3], WriteReceipt)
    assert [e.payload for e in journal.read("a")] == [b"a1", b"a2", b"a3"]
    assert journal.highest_sequence_nr("c") == 1


def test_write_reports_invalid_writes_alone(journal):
    results = journal.write([("ok", 1, b"x"), ("", 1, b"y"), ("zero", 0, b"z")])
    assert isinstance(results[0], WriteReceipt)
    assert isinstance(results[1], tidelog.InvalidArgumentError)
    assert isinstance(results[2], tidelog.InvalidArgumentError)


def test_highest_sequence_nr_survives_delete_to(journal):
    assert journal.highest_sequence_nr("p") == 0
    journal.append("p", [b"1", b"2", b"3", b"4"])
    journal.delete_to("p", 3)
    assert [e.sequence_nr for e in journal.read("p")] == [4]
    assert journal.highest_sequence_nr("p") == 4
    assert journal.append("p", b"5").first_sequence_nr == 5


def test_next_global_offset_bounds_a_current_read(journal):
    assert journal.next_global_offset() == 1
    journal.append("a", [b"a1", b"a2"])
    end = journal.next_global_offset()
    assert end == 3
    journal.append("b", b"b1")  # written after the "current" read began
    current = [e for e in journal.all_events() if e.global_offset < end]
    assert [e.payload for e in current] == [b"a1", b"a2"]
    journal.delete_to("b", 1)  # offsets of deleted events are not given out again
    assert journal.next_global_offset() == 4


def test_persistence_ids_are_sorted(journal):
    for pid in ["zeta", "alpha", "mid"]:
        journal.append(pid, b"x")
    assert journal.persistence_ids() == ["alpha", "mid", "zeta"]


def test_events_by_tag_and_all_events_page_in_commit_order(journal):
    journal.append("a", [NewEvent(b"a1", tags=["t"]), NewEvent(b"a2")])
    journal.append("b", [NewEvent(b"b1", tags=["t", "u"])])
    journal.append("a", [NewEvent(b"a3", tags=["t"])])
    tagged = journal.events_by_tag("t")
    assert [e.payload for e in tagged] == [b"a1", b"b1", b"a3"]
    first_page = journal.events_by_tag("t", max=2)
    rest = journal.events_by_tag("t", from_offset=first_page[-1].global_offset + 1)
    assert [e.payload for e in first_page + rest] == [b"a1", b"b1", b"a3"]
    assert [e.payload for e in journal.events_by_tag("u")] == [b"b1"]
    everything = journal.all_events()
    assert [e.payload for e in everything] == [b"a1", b"a2", b"b1", b"a3"]
    assert [e.payload for e in journal.all_events(from_offset=everything[2].global_offset)] == [b"b1", b"a3"]
    assert len(journal.all_events(max=1)) == 1


def test_flush_and_metrics(journal):
    journal.append("p", [b"x", b"y"])
    journal.flush()
    metrics = journal.metrics()
    assert metrics["appends"] == 1
    assert metrics["events"] == 2
    assert metrics["commit_latency_us"]["count"] >= 1
    assert "tidelog" in journal.metrics_prometheus()


def test_context_manager_closes(open_journal):
    with open_journal() as journal:
        journal.append("p", b"x")
        assert not journal.closed
    assert journal.closed
    journal.close()  # idempotent


def test_use_after_close_raises_closed_error(journal):
    journal.append("p", b"x")
    journal.close()
    calls = [
        lambda: journal.append("p", b"y"),
        lambda: journal.read("p"),
        lambda: journal.highest_sequence_nr("p"),
        lambda: journal.delete_to("p", 1),
        lambda: journal.persistence_ids(),
        lambda: journal.events_by_tag("t"),
        lambda: journal.all_events(),
        lambda: journal.flush(),
        lambda: journal.snapshots.save("p", 1, b"s"),
        lambda: journal.snapshots.load("p"),
    ]
    for call in calls:
        with pytest.raises(tidelog.ClosedError):
            call()
    [result] = journal.write([("p", 2, b"z")])
    assert isinstance(result, tidelog.ClosedError)
    assert journal.metrics()["appends"] == 1


def test_data_survives_reopen(tmp_path, backend):
    if backend == "memory":
        pytest.skip("the memory backend keeps nothing after close")
    path = location(tmp_path / "j", backend)
    with tidelog.Journal.open(path, backend=backend) as journal:
        journal.append("p", [NewEvent(b"x", tags=["t"]), b"y"])
        journal.snapshots.save("p", 2, b"state")
    with tidelog.Journal.open(path, backend=backend) as journal:
        assert [e.payload for e in journal.read("p")] == [b"x", b"y"]
        assert journal.highest_sequence_nr("p") == 2
        assert journal.snapshots.load("p").state == b"state"


# Not postgres: read-only handles of a directory (a read-only PostgreSQL user is the server's business).
@pytest.mark.parametrize("backend", ["lmdb", "files"])
def test_read_only_journal(tmp_path, backend):
    path = tmp_path / "j"
    with tidelog.Journal.open(path, backend=backend) as writer:
        writer.append("p", [b"x", b"y"])
    with tidelog.Journal.open(path, backend=backend, read_only=True) as reader:
        assert [e.payload for e in reader.read("p")] == [b"x", b"y"]
        with pytest.raises(tidelog.InvalidArgumentError):
            reader.append("p", b"z")


def test_sync_policies_and_options(tmp_path, backend):
    for sync in ["always", "interval", "never"]:
        with tidelog.Journal.open(location(tmp_path / sync, backend), backend=backend, sync=sync, sync_interval=0.01, max_batch_events=2, close_timeout=1.0) as journal:
            journal.append("p", [b"1", b"2", b"3"])
            assert journal.highest_sequence_nr("p") == 3
            assert journal.backend == backend


def test_journal_attributes(journal, backend, tmp_path):
    assert journal.backend == backend
    if backend == "postgres":
        # The URI as given, without its password, also in repr.
        uri = location(tmp_path / "journal", backend)
        assert journal.location.startswith("postgresql://") and "tidelog_schema=" in journal.location
        password = uri.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
        if password:
            assert password not in journal.location and password not in repr(journal)
            assert ":***@" in journal.location
    else:
        assert str(journal.path) == str(tmp_path / "journal")
        assert journal.location == str(tmp_path / "journal")
    assert "Journal(" in repr(journal)


def test_iter_events_pages_through_a_stream(journal):
    journal.append("p", [b"%d" % i for i in range(1, 26)])
    journal.append("other", b"x")
    assert [e.sequence_nr for e in journal.iter_events("p", page_size=10)] == list(range(1, 26))
    assert [e.sequence_nr for e in journal.iter_events("p", 5, 21, page_size=4)] == list(range(5, 22))
    assert [e.sequence_nr for e in journal.iter_events("p", page_size=25)] == list(range(1, 26))
    assert list(journal.iter_events("nobody")) == []
    journal.delete_to("p", 12)
    assert [e.sequence_nr for e in journal.iter_events("p", page_size=3)] == list(range(13, 26))
    it = journal.iter_events("p", page_size=5)
    assert iter(it) is it
    with pytest.raises(ValueError):
        journal.iter_events("p", page_size=0)
