"""Uses the public API the way an application would; type-checked with mypy --strict by test_typing.py."""

import asyncio, tempfile
import tidelog

def blocking() -> None:
    with tidelog.Journal.open(tempfile.mkdtemp(), backend="files", sync="interval", sync_interval=0.05) as journal:
        r: tidelog.WriteReceipt = journal.append("p", [b"x", tidelog.NewEvent(b"y", tags=["t"])])
        events: list[tidelog.Event] = journal.read("p", 1, max=10)
        for e in journal.iter_events("p"):
            print(e.payload, e.tags, r.last_sequence_nr)
        results = journal.write([tidelog.AtomicWrite("p", 3, b"z"), ("p", 4, [b"w"])])
        snap = journal.snapshots.load("p", max_sequence_nr=3)
        if snap is not None:
            print(snap.state)
        with journal.subscribe_tag("t", 0, batch_size=10) as live:
            first: tidelog.Event = next(live)
            batch: list[tidelog.Event] = live.next_batch(10, timeout=0.01)
            print(first.payload, len(batch), live.position, live.closed)

async def main() -> None:
    async with tidelog.AsyncJournal.open(tempfile.mkdtemp()) as journal:
        receipt = await journal.append("p", b"x")
        async for event in journal.iter_events("p"):
            print(event.sequence_nr, receipt.first_global_offset)
        await journal.snapshots.save("p", 1, b"s")
        subscription: tidelog.AsyncSubscription = journal.subscribe_all(from_offset=0)
        async for live in subscription:
            print(live.global_offset)
            break
        async with journal.subscribe_stream("p", 1) as stream:
            page: list[tidelog.Event] = await stream.next_batch(5)
            print(len(page), stream.position)

if __name__ == "__main__":
    blocking()
    asyncio.run(main())
