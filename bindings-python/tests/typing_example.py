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

async def main() -> None:
    async with tidelog.AsyncJournal.open(tempfile.mkdtemp()) as journal:
        receipt = await journal.append("p", b"x")
        async for event in journal.iter_events("p"):
            print(event.sequence_nr, receipt.first_global_offset)
        await journal.snapshots.save("p", 1, b"s")

if __name__ == "__main__":
    blocking()
    asyncio.run(main())
