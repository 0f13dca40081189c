"""The asyncio face of the journal.

Issue order: every operation on a stream is issued when it is *called*, not
when it is awaited. The methods return :class:`asyncio.Future` objects, so an
operation called after a write observes that write even if nobody awaited it
(like Redis's pipelined commands): ``journal.append(pid, b"x")`` followed by
``await journal.read(pid)`` returns the new event.

Writes are handed to the core's writer thread with a callback; the result
comes back through a per-journal completion thread (a native thread, which
never keeps the interpreter from exiting) that settles the future with
``loop.call_soon_threadsafe`` once per committed batch. Reads and snapshot
operations run on a per-journal native worker thread and complete the same
way. No Python thread is parked per call and the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator, Dict, Generator, Iterable, List, Optional, Tuple, Union, cast

from ._errors import ClosedError
from ._tidelog import AtomicWrite, Event, Journal, NewEvent, Snapshot, Subscription, WriteReceipt

__all__ = ["AsyncJournal", "AsyncSnapshotStore", "AsyncSubscription"]

EventsArg = Union[bytes, NewEvent, Iterable[Union[bytes, bytearray, memoryview, NewEvent]]]


def _start(method: Any, *args: Any, **kwargs: Any) -> "asyncio.Future[Any]":
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    method(loop, future, *args, **kwargs)
    return future


class AsyncJournal:
    """An open event journal whose operations return asyncio futures, issued when called.

    Open it with ``await AsyncJournal.open(path, ...)`` or
    ``async with AsyncJournal.open(path, ...) as journal:``; the options are
    those of :meth:`tidelog.Journal.open`. Wrapping an existing
    :class:`~tidelog.Journal` with ``AsyncJournal(journal)`` shares it.

    Cancelling an awaiting task does not cancel the operation: a write whose
    caller was cancelled may still be committed.
    """

    __slots__ = ("_journal", "_snapshots")

    def __init__(self, journal: Journal) -> None:
        if not isinstance(journal, Journal):
            raise TypeError(f"AsyncJournal wraps a tidelog.Journal, got {type(journal).__name__}")
        self._journal = journal
        self._snapshots = AsyncSnapshotStore(journal)

    @staticmethod
    def open(path: Union[str, "os.PathLike[str]"], **options: Any) -> "_Opening":
        """Opens (creating if needed) the journal at ``path``.

        Returns an awaitable that is also an async context manager (the
        journal is closed on exit). Opening runs in the loop's default
        executor, since it does file I/O once.
        """
        return _Opening(path, options)

    @property
    def journal(self) -> Journal:
        """The underlying blocking :class:`~tidelog.Journal`."""
        return self._journal

    @property
    def path(self) -> "os.PathLike[str]":
        """The journal's directory (a :class:`pathlib.Path`)."""
        return self._journal.path

    @property
    def location(self) -> str:
        """The directory, or the PostgreSQL URI without its password."""
        return self._journal.location

    @property
    def backend(self) -> str:
        """The backend in use: ``"lmdb"``, ``"files"``, ``"memory"`` or ``"postgres"``."""
        return self._journal.backend

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._journal.closed

    @property
    def snapshots(self) -> "AsyncSnapshotStore":
        """The journal's snapshot store, with coroutine methods."""
        return self._snapshots

    def append(self, persistence_id: str, events: EventsArg) -> "asyncio.Future[WriteReceipt]":
        """Appends events (``bytes``, :class:`NewEvent`, or a list of them) to
        a stream as one atomic write; resolves once committed (and, with
        ``sync="always"``, on stable storage)."""
        return cast("asyncio.Future[WriteReceipt]", _start(self._journal._append_async, persistence_id, events))

    def write(
        self, writes: Iterable[Union[AtomicWrite, Tuple[str, int, EventsArg]]]
    ) -> "asyncio.Future[List[Union[WriteReceipt, Exception]]]":
        """Commits explicit atomic writes in one group commit. Returns one entry
        per write: a :class:`WriteReceipt`, or the exception instance (for
        example :class:`SequenceConflictError`) for a write that failed alone."""
        return cast("asyncio.Future[List[Union[WriteReceipt, Exception]]]", _start(self._journal._write_async, writes))

    def read(
        self,
        persistence_id: str,
        from_sequence_nr: Optional[int] = None,
        to_sequence_nr: Optional[int] = None,
        max: Optional[int] = None,
    ) -> "asyncio.Future[List[Event]]":
        """Events of a stream with ``from_sequence_nr <= sequence_nr <= to_sequence_nr``
        (defaults 1 and unbounded), oldest first, at most ``max``."""
        return cast("asyncio.Future[List[Event]]", _start(self._journal._read_async, persistence_id, from_sequence_nr, to_sequence_nr, max))

    async def iter_events(
        self,
        persistence_id: str,
        from_sequence_nr: Optional[int] = None,
        to_sequence_nr: Optional[int] = None,
        page_size: int = 10_000,
    ) -> AsyncIterator[Event]:
        """Iterates over a stream's events (``async for``), reading
        ``page_size`` events per call into the journal."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        start = 1 if from_sequence_nr is None else from_sequence_nr
        while True:
            page = await self.read(persistence_id, start, to_sequence_nr, page_size)
            for event in page:
                yield event
            if len(page) < page_size:
                return
            start = page[-1].sequence_nr + 1

    def highest_sequence_nr(self, persistence_id: str) -> "asyncio.Future[int]":
        """Highest sequence number ever written to the stream (0 if none)."""
        return cast("asyncio.Future[int]", _start(self._journal._highest_sequence_nr_async, persistence_id))

    def next_global_offset(self) -> "asyncio.Future[int]":
        """The global offset the next committed event will get (1 for an empty
        journal): where a "current" read of :meth:`all_events` or
        :meth:`events_by_tag` should stop while writes continue."""
        return cast("asyncio.Future[int]", _start(self._journal._next_global_offset_async))

    def delete_to(self, persistence_id: str, to_sequence_nr: int) -> "asyncio.Future[None]":
        """Deletes the stream's events up to and including ``to_sequence_nr``."""
        return _start(self._journal._delete_to_async, persistence_id, to_sequence_nr)

    def persistence_ids(self) -> "asyncio.Future[List[str]]":
        """Every persistence id ever written, sorted."""
        return cast("asyncio.Future[List[str]]", _start(self._journal._persistence_ids_async))

    def events_by_tag(self, tag: str, from_offset: Optional[int] = None, max: Optional[int] = None) -> "asyncio.Future[List[Event]]":
        """Events carrying ``tag`` with ``global_offset >= from_offset``, in commit order.
        Resume from the last event's ``global_offset + 1``."""
        return cast("asyncio.Future[List[Event]]", _start(self._journal._events_by_tag_async, tag, from_offset, max))

    def all_events(self, from_offset: Optional[int] = None, max: Optional[int] = None) -> "asyncio.Future[List[Event]]":
        """Every live event with ``global_offset >= from_offset``, in commit order."""
        return cast("asyncio.Future[List[Event]]", _start(self._journal._events_by_tag_async, None, from_offset, max))

    def flush(self) -> "asyncio.Future[None]":
        """Waits until everything submitted before is on stable storage."""
        return _start(self._journal._flush_async)

    def metrics(self) -> Dict[str, Any]:
        """Current metrics (no I/O, so not a coroutine)."""
        return self._journal.metrics()

    def metrics_prometheus(self) -> str:
        """Current metrics in the Prometheus text format."""
        return self._journal.metrics_prometheus()

    def subscribe_all(self, from_offset: Optional[int] = None, *, batch_size: int = 1000) -> "AsyncSubscription":
        """Follows every event with ``global_offset >= from_offset`` live:
        ``async for event in journal.subscribe_all(): ...``. See :class:`AsyncSubscription`."""
        return AsyncSubscription(self._journal.subscribe_all(from_offset, batch_size=batch_size))

    def subscribe_tag(self, tag: str, from_offset: Optional[int] = None, *, batch_size: int = 1000) -> "AsyncSubscription":
        """Follows the events carrying ``tag`` with ``global_offset >= from_offset`` live."""
        return AsyncSubscription(self._journal.subscribe_tag(tag, from_offset, batch_size=batch_size))

    def subscribe_stream(
        self, persistence_id: str, from_sequence_nr: Optional[int] = None, *, batch_size: int = 1000
    ) -> "AsyncSubscription":
        """Follows a stream's events with ``sequence_nr >= from_sequence_nr`` live."""
        return AsyncSubscription(self._journal.subscribe_stream(persistence_id, from_sequence_nr, batch_size=batch_size))

    async def close(self) -> None:
        """Commits what is queued (within ``close_timeout``), fails the rest
        with :class:`ClosedError` and releases the files. Idempotent."""
        await _start(self._journal._close_async)

    async def __aenter__(self) -> "AsyncJournal":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Async{self._journal!r}"


class AsyncSubscription:
    """A live follow of the journal for asyncio: ``async for event in subscription``.

    It catches up from storage, then yields each newly committed event, in order, exactly
    once. Waiting costs no thread: the journal's writer wakes the subscription after each
    group commit, and the batch settles a future on the loop (one crossing per batch).

    It ends (``StopAsyncIteration``) once :meth:`aclose` was called or the journal closed.
    Breaking out of the loop frees it (the object is dropped); so does cancelling the task
    that awaits it. ``async with`` closes it on exit. One consumer at a time.
    """

    __slots__ = ("_native", "_buffer", "_index")

    def __init__(self, native: Subscription) -> None:
        if not isinstance(native, Subscription):
            raise TypeError(f"AsyncSubscription wraps a tidelog.Subscription, got {type(native).__name__}")
        self._native = native
        self._buffer: List[Event] = []
        self._index = 0

    @property
    def subscription(self) -> Subscription:
        """The underlying blocking :class:`~tidelog.Subscription`."""
        return self._native

    @property
    def closed(self) -> bool:
        """True once closed, or once its journal closed."""
        return self._native.closed

    @property
    def position(self) -> int:
        """Where to resume: the next global offset (everything, tag) or sequence number
        (stream) not yet taken from the journal. Events already fetched but not yet yielded
        (at most one batch) are before it."""
        return self._native.position

    def __aiter__(self) -> "AsyncSubscription":
        return self

    async def __anext__(self) -> Event:
        if self._index < len(self._buffer):
            event = self._buffer[self._index]
            self._index += 1
            return event
        batch = await self.next_batch()
        if not batch:
            raise StopAsyncIteration
        self._buffer, self._index = batch, 1
        return batch[0]

    async def next_batch(self, max: Optional[int] = None) -> List[Event]:
        """Up to ``max`` events (default: the batch size), once at least one is committed;
        ``[]`` once the subscription ended. Cancelling the awaiting task closes the subscription."""
        if self._native.closed:
            return []
        try:
            return cast(List[Event], await _start(self._native._next_async, max))
        except ClosedError:
            return []
        except asyncio.CancelledError:
            self._native.close()
            raise

    async def aclose(self) -> None:
        """Ends the subscription; a pending :meth:`next_batch` returns ``[]``."""
        self._native.close()

    def close(self) -> None:
        """Ends the subscription (callable from any thread)."""
        self._native.close()

    async def __aenter__(self) -> "AsyncSubscription":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._native.close()

    def __repr__(self) -> str:
        return f"Async{self._native!r}"


class _Opening:
    """What :meth:`AsyncJournal.open` returns: await it, or ``async with`` it."""

    __slots__ = ("_path", "_options", "_journal")

    def __init__(self, path: Any, options: Dict[str, Any]) -> None:
        self._path = path
        self._options = options
        self._journal: Optional[AsyncJournal] = None

    async def _open(self) -> AsyncJournal:
        loop = asyncio.get_running_loop()
        journal = await loop.run_in_executor(None, lambda: Journal.open(self._path, **self._options))
        return AsyncJournal(journal)

    def __await__(self) -> Generator[Any, None, AsyncJournal]:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncJournal:
        self._journal = await self._open()
        return self._journal

    async def __aexit__(self, *exc: Any) -> None:
        if self._journal is not None:
            await self._journal.close()


class AsyncSnapshotStore:
    """The snapshots of one journal, with coroutine methods (the file I/O runs
    on the journal's native worker thread)."""

    __slots__ = ("_journal",)

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def save(
        self,
        persistence_id: str,
        sequence_nr: int,
        state: bytes,
        *,
        timestamp: Optional[int] = None,
        manifest: str = "",
        metadata: Optional[bytes] = None,
    ) -> "asyncio.Future[None]":
        """Stores a snapshot atomically and durably (``timestamp`` defaults to now)."""
        return _start(
            self._journal._snapshot_async, "save", persistence_id, sequence_nr, state,
            timestamp=timestamp, manifest=manifest, metadata=metadata,
        )

    def load(
        self,
        persistence_id: str,
        *,
        max_sequence_nr: Optional[int] = None,
        max_timestamp: Optional[int] = None,
        min_sequence_nr: Optional[int] = None,
        min_timestamp: Optional[int] = None,
    ) -> "asyncio.Future[Optional[Snapshot]]":
        """The newest snapshot matching the criteria, or ``None``."""
        return cast("asyncio.Future[Optional[Snapshot]]", _start(
            self._journal._snapshot_async, "load", persistence_id,
            max_sequence_nr=max_sequence_nr, max_timestamp=max_timestamp,
            min_sequence_nr=min_sequence_nr, min_timestamp=min_timestamp,
        ))

    def list(self, persistence_id: str) -> "asyncio.Future[List[Tuple[int, int]]]":
        """``[(sequence_nr, timestamp)]`` of the stream's snapshots, oldest first."""
        return cast("asyncio.Future[List[Tuple[int, int]]]", _start(self._journal._snapshot_async, "list", persistence_id))

    def delete(self, persistence_id: str, sequence_nr: int) -> "asyncio.Future[bool]":
        """Deletes the snapshot with this sequence number; returns whether one existed."""
        return cast("asyncio.Future[bool]", _start(self._journal._snapshot_async, "delete", persistence_id, sequence_nr))

    def delete_matching(
        self,
        persistence_id: str,
        *,
        max_sequence_nr: Optional[int] = None,
        max_timestamp: Optional[int] = None,
        min_sequence_nr: Optional[int] = None,
        min_timestamp: Optional[int] = None,
    ) -> "asyncio.Future[int]":
        """Deletes every snapshot matching the criteria; returns how many."""
        return cast("asyncio.Future[int]", _start(
            self._journal._snapshot_async, "delete_matching", persistence_id,
            max_sequence_nr=max_sequence_nr, max_timestamp=max_timestamp,
            min_sequence_nr=min_sequence_nr, min_timestamp=min_timestamp,
        ))

    def prune(self, persistence_id: str, keep_last_n: int) -> "asyncio.Future[int]":
        """Keeps the ``keep_last_n`` newest snapshots; returns how many were deleted."""
        return cast("asyncio.Future[int]", _start(self._journal._snapshot_async, "prune", persistence_id, keep_last_n))

    def persistence_ids(self) -> "asyncio.Future[List[str]]":
        """Every persistence id that has at least one snapshot."""
        return cast("asyncio.Future[List[str]]", _start(self._journal._snapshot_async, "persistence_ids", None))
