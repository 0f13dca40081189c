"""Tidelog: an embedded, crash-safe event journal for actor systems.

Each actor's events form a stream per *persistence id* with gapless sequence
numbers from 1; snapshots keep recovery fast; a group-commit writer makes
durable appends cheap. Backends: LMDB (default), append-only segment files,
and memory.

Two faces over one core:

- :class:`Journal`: blocking; every call releases the GIL while it waits or
  does I/O, so other Python threads keep running.
- :class:`AsyncJournal`: the same operations as asyncio awaitables, issued when called.

>>> import tidelog, tempfile
>>> with tidelog.Journal.open(tempfile.mkdtemp()) as journal:
...     journal.append("cart-7", [b"item added"]).last_sequence_nr
1
"""

from ._errors import (
    ClosedError,
    CorruptError,
    DatabaseError,
    InvalidArgumentError,
    JournalFailedError,
    LockedError,
    SequenceConflictError,
    StorageFullError,
    StorageIOError,
    TidelogError,
    UnsupportedFormatError,
)
from ._tidelog import (
    AtomicWrite,
    Event,
    EventIterator,
    Journal,
    NewEvent,
    Snapshot,
    SnapshotStore,
    Subscription,
    WriteReceipt,
    __version__,
)
from ._aio import AsyncJournal, AsyncSnapshotStore, AsyncSubscription

__all__ = [
    "Journal",
    "AsyncJournal",
    "SnapshotStore",
    "AsyncSnapshotStore",
    "Event",
    "EventIterator",
    "Subscription",
    "AsyncSubscription",
    "NewEvent",
    "AtomicWrite",
    "WriteReceipt",
    "Snapshot",
    "TidelogError",
    "ClosedError",
    "LockedError",
    "SequenceConflictError",
    "InvalidArgumentError",
    "CorruptError",
    "UnsupportedFormatError",
    "StorageFullError",
    "StorageIOError",
    "DatabaseError",
    "JournalFailedError",
    "__version__",
]
