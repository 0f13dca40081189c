"""AsyncJournal: every operation on every backend, concurrency, errors, cancellation."""

import asyncio

import pytest

import tidelog
from conftest import location
from tidelog import AsyncJournal, NewEvent, WriteReceipt


def run(coro):
    return asyncio.run(coro)


def test_async_operations(tmp_path, backend):
    async def main():
        async with AsyncJournal.open(location(tmp_path / "j", backend), backend=backend, sync="never") as journal:
            assert isinstance(journal, AsyncJournal)
            assert journal.backend == backend
            r = await journal.append("p", [b"1", NewEvent(b"2", tags=["t"], manifest="M")])
            assert (r.first_sequence_nr, r.last_sequence_nr) == (1, 2)
            results = await journal.write([("p", 3, b"3"), ("p", 9, b"x"), ("q", 1, NewEvent(b"q1", tags=["t"]))])
            assert isinstance(results[0], WriteReceipt)
            assert isinstance(results[1], tidelog.SequenceConflictError) and results[1].expected == 4
            assert isinstance(results[2], WriteReceipt)
            events = await journal.read("p")
            assert [e.payload for e in events] == [b"1", b"2", b"3"]
            assert events[1].manifest == "M"
            assert [e.sequence_nr for e in await journal.read("p", 2, 3)] == [2, 3]
            assert [e.sequence_nr for e in await journal.read("p", max=1)] == [1]
            assert await journal.highest_sequence_nr("p") == 3
            assert await journal.persistence_ids() == ["p", "q"]
            assert [e.payload for e in await journal.events_by_tag("t")] == [b"2", b"q1"]
            assert len(await journal.all_events()) == 4
            assert await journal.next_global_offset() == 5
            assert len(await journal.all_events(from_offset=events[2].global_offset, max=10)) == 2
            await journal.delete_to("p", 2)
            assert [e.sequence_nr for e in await journal.read("p")] == [3]
            assert await journal.highest_sequence_nr("p") == 3
            await journal.flush()
            assert journal.metrics()["events"] == 4
            assert "tidelog" in journal.metrics_prometheus()

            snaps = journal.snapshots
            await snaps.save("p", 1, b"s1", timestamp=100)
            await snaps.save("p", 2, b"s2", timestamp=200, manifest="Cart", metadata=b"m")
            await snaps.save("p", 3, b"s3", timestamp=300)
            assert (await snaps.load("p")).state == b"s3"
            loaded = await snaps.load("p", max_sequence_nr=2)
            assert (loaded.state, loaded.manifest, loaded.metadata) == (b"s2", "Cart", b"m")
            assert (await snaps.load("p", max_timestamp=150)).sequence_nr == 1
            assert (await snaps.load("p", min_timestamp=250)).sequence_nr == 3
            assert await snaps.load("p", min_sequence_nr=4) is None
            assert await snaps.list("p") == [(1, 100), (2, 200), (3, 300)]
            assert await snaps.delete("p", 2) is True
            assert await snaps.delete("p", 2) is False
            assert await snaps.delete_matching("p", max_sequence_nr=1) == 1
            await snaps.save("p", 4, b"s4", timestamp=400)
            assert await snaps.prune("p", 1) == 1
            assert await snaps.list("p") == [(4, 400)]
            assert await snaps.persistence_ids() == ["p"]
        assert journal.closed

    run(main())


def test_hundred_concurrent_tasks_append(tmp_path, backend):
    async def main():
        journal = await AsyncJournal.open(location(tmp_path / "j", backend), backend=backend, sync="always")
        per_task = 5

        async def writer(i):
            receipts = []
            for k in range(per_task):
                receipts.append(await journal.append(f"actor-{i % 10}", NewEvent(f"{i}:{k}".encode(), tags=["all"])))
            return receipts

        results = await asyncio.gather(*(writer(i) for i in range(100)))
        receipts = [r for rs in results for r in rs]
        assert len(receipts) == 500
        # Every stream got gapless sequence numbers, each handed out exactly once.
        for a in range(10):
            seqs = sorted(r.first_sequence_nr for i, rs in enumerate(results) if i % 10 == a for r in rs)
            assert seqs == list(range(1, 51))
            assert await journal.highest_sequence_nr(f"actor-{a}") == 50
        offsets = [r.first_global_offset for r in receipts]
        assert len(set(offsets)) == 500
        everything = await journal.events_by_tag("all")
        assert sorted(e.payload for e in everything) == sorted(f"{i}:{k}".encode() for i in range(100) for k in range(per_task))
        # Each task's own appends are in order.
        for i in range(100):
            mine = [e for e in everything if e.payload.startswith(f"{i}:".encode())]
            assert [e.payload for e in mine] == [f"{i}:{k}".encode() for k in range(per_task)]
        if backend != "memory":
            assert journal.metrics()["batches"] < 500  # group commit formed batches
        await journal.close()

    run(main())


def test_async_errors_are_raised_from_await(tmp_path):
    async def main():
        journal = await AsyncJournal.open(tmp_path / "j", backend="memory")
        with pytest.raises(tidelog.InvalidArgumentError):
            await journal.append("", b"x")
        with pytest.raises(TypeError):
            await journal.append("p", "text")
        with pytest.raises(tidelog.InvalidArgumentError):
            await journal.read("")
        with pytest.raises(tidelog.InvalidArgumentError):
            await journal.snapshots.save("", 1, b"s")
        await journal.close()
        await journal.close()  # idempotent
        with pytest.raises(tidelog.ClosedError):
            await journal.append("p", b"x")
        with pytest.raises(tidelog.ClosedError):
            await journal.read("p")
        with pytest.raises(tidelog.ClosedError):
            await journal.flush()
        with pytest.raises(tidelog.ClosedError):
            await journal.snapshots.load("p")
        [err] = await journal.write([("p", 1, b"x")])
        assert isinstance(err, tidelog.ClosedError)

    run(main())


def test_open_errors_surface_from_await(tmp_path):
    async def main():
        async with AsyncJournal.open(tmp_path / "j"):
            with pytest.raises(tidelog.LockedError):
                await AsyncJournal.open(tmp_path / "j")

    run(main())


def test_cancelled_caller_does_not_break_the_journal(tmp_path):
    async def main():
        journal = await AsyncJournal.open(tmp_path / "j", backend="files", sync="always")
        tasks = [asyncio.ensure_future(journal.append("p", b"x")) for _ in range(50)]
        tasks[0].cancel()
        tasks[10].cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(d, WriteReceipt) for d in done) >= 48
        # Whatever was cancelled, the stream stays gapless and the journal usable.
        highest = await journal.highest_sequence_nr("p")
        assert [e.sequence_nr for e in await journal.read("p")] == list(range(1, highest + 1))
        assert (await journal.append("p", b"y")).first_sequence_nr == highest + 1
        await journal.close()

    run(main())


def test_one_journal_serves_several_event_loops(tmp_path):
    journal = tidelog.Journal.open(tmp_path / "j", backend="memory")
    aj = AsyncJournal(journal)

    async def ten_appends():
        return await asyncio.gather(*(aj.append("p", b"x") for _ in range(10)))

    for round_ in range(3):
        receipts = asyncio.run(ten_appends())
        assert sorted(r.first_sequence_nr for r in receipts) == list(range(round_ * 10 + 1, round_ * 10 + 11))
    # The blocking face and the async face share one journal.
    assert journal.highest_sequence_nr("p") == 30
    journal.close()


def test_async_journal_wraps_only_journals():
    with pytest.raises(TypeError):
        AsyncJournal("not a journal")


class _LoopWithoutReaders(asyncio.SelectorEventLoop):
    """A loop that cannot watch file descriptors, like Windows' proactor loop."""

    def add_reader(self, *args, **kwargs):
        raise NotImplementedError


@pytest.mark.parametrize("backend", ["files", "memory"])
def test_loops_without_add_reader_work_too(tmp_path, backend):
    async def main():
        journal = await AsyncJournal.open(location(tmp_path / "j", backend), backend=backend, sync="always")
        receipts = await asyncio.gather(*(journal.append(f"a{i % 10}", b"x") for i in range(100)))
        assert sorted(r.first_global_offset for r in receipts) == sorted({r.first_global_offset for r in receipts})
        assert sum([await journal.highest_sequence_nr(f"a{i}") for i in range(10)]) == 100
        assert len(await journal.all_events()) == 100
        [conflict] = await journal.write([("a0", 1, b"dup")])
        assert isinstance(conflict, tidelog.SequenceConflictError)
        await journal.snapshots.save("a0", 10, b"s")
        assert (await journal.snapshots.load("a0")).state == b"s"
        with pytest.raises(tidelog.InvalidArgumentError):
            await journal.append("", b"x")
        await journal.close()

    loop = _LoopWithoutReaders()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_async_iter_events(tmp_path, backend):
    async def main():
        async with AsyncJournal.open(location(tmp_path / "j", backend), backend=backend, sync="never") as journal:
            await journal.append("p", [b"%d" % i for i in range(1, 24)])
            seen = [e.sequence_nr async for e in journal.iter_events("p", page_size=5)]
            assert seen == list(range(1, 24))
            assert [e.payload async for e in journal.iter_events("p", 20, page_size=2)] == [b"20", b"21", b"22", b"23"]

    run(main())


def test_an_operation_called_after_an_unawaited_write_observes_it(tmp_path, backend):
    """Issue order: operations are issued when called, and see every write called before them."""

    async def main():
        async with AsyncJournal.open(location(tmp_path / "j", backend), backend=backend, sync="always") as journal:
            misses = []
            for round_ in range(1, 1001):
                appended = journal.append("o", f"e{round_}".encode())  # not awaited before the reads
                read = await journal.read("o")
                if not read or read[-1].sequence_nr != round_:
                    misses.append(f"read after append {round_}")
                if await journal.highest_sequence_nr("o") != round_:
                    misses.append(f"highest after append {round_}")
                trimmed = journal.delete_to("o", round_ - 1)  # a trim, not awaited either
                left = await journal.read("o")
                if [e.sequence_nr for e in left] != [round_]:
                    misses.append(f"read after trim {round_}: {len(left)}")
                await appended
                await trimmed
            last = journal.append("o", b"last")
            await journal.delete_to("o", 2**62)
            await last
            assert await journal.read("o") == []
            assert misses == []

    run(main())
