"""The snapshot store and its selection criteria, on every backend."""

import pytest

import tidelog


@pytest.fixture
def snapshots(journal):
    store = journal.snapshots
    for seq, ts in [(10, 1000), (20, 2000), (30, 3000)]:
        store.save("p", seq, f"state-{seq}".encode(), timestamp=ts, manifest="Cart", metadata=b"m")
    return store


def test_save_and_load_latest(snapshots):
    snap = snapshots.load("p")
    assert isinstance(snap, tidelog.Snapshot)
    assert (snap.persistence_id, snap.sequence_nr, snap.timestamp) == ("p", 30, 3000)
    assert (snap.state, snap.manifest, snap.metadata) == (b"state-30", "Cart", b"m")
    assert snapshots.load("nobody") is None


@pytest.mark.parametrize(
    "criteria, expected",
    [
        ({}, 30),
        ({"max_sequence_nr": 25}, 20),
        ({"max_timestamp": 1500}, 10),
        ({"min_sequence_nr": 15, "max_sequence_nr": 25}, 20),
        ({"min_timestamp": 2500}, 30),
        ({"max_sequence_nr": 5}, None),
        ({"min_timestamp": 4000}, None),
    ],
)
def test_load_criteria(snapshots, criteria, expected):
    snap = snapshots.load("p", **criteria)
    assert (snap.sequence_nr if snap else None) == expected


def test_list_delete_delete_matching_prune(snapshots):
    assert snapshots.list("p") == [(10, 1000), (20, 2000), (30, 3000)]
    assert snapshots.delete("p", 20) is True
    assert snapshots.delete("p", 20) is False
    assert snapshots.list("p") == [(10, 1000), (30, 3000)]
    snapshots.save("p", 40, b"s40", timestamp=4000)
    snapshots.save("p", 50, b"s50", timestamp=5000)
    assert snapshots.delete_matching("p", max_timestamp=3500) == 2
    assert [s for s, _ in snapshots.list("p")] == [40, 50]
    assert snapshots.prune("p", 1) == 1
    assert snapshots.list("p") == [(50, 5000)]
    assert snapshots.persistence_ids() == ["p"]


def test_save_replaces_same_sequence_nr_and_defaults_timestamp(journal):
    journal.snapshots.save("q", 1, b"old")
    journal.snapshots.save("q", 1, bytearray(b"new"))
    snap = journal.snapshots.load("q")
    assert snap.state == b"new"
    assert snap.timestamp > 1_600_000_000_000


def test_snapshot_argument_errors(journal):
    with pytest.raises(TypeError):
        journal.snapshots.save("q", 1, "text state")
    with pytest.raises(ValueError):
        journal.snapshots.save("q", -1, b"s")
    with pytest.raises(tidelog.InvalidArgumentError):
        journal.snapshots.save("", 1, b"s")
