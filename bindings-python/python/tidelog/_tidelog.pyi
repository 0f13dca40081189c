"""Type stubs for the compiled extension ``tidelog._tidelog``.

Use the names re-exported by :mod:`tidelog`; the module itself is private.
"""

import asyncio
import os
import pathlib
from typing import Any, Dict, Iterable, Iterator, List, Literal, Optional, Sequence, Tuple, Union

__version__: str

BytesLike = Union[bytes, bytearray, memoryview]
EventsArg = Union[bytes, "NewEvent", Iterable[Union[BytesLike, "NewEvent"]]]
WriteArg = Union["AtomicWrite", Tuple[str, int, EventsArg]]

class NewEvent:
    """An event to append. Plain ``bytes`` may be passed instead wherever
    events are accepted (a payload with no other fields)."""

    def __init__(
        self,
        payload: BytesLike,
        *,
        manifest: str = "",
        writer_id: str = "",
        tags: Optional[Sequence[str]] = None,
        timestamp: Optional[int] = None,
        metadata: Optional[BytesLike] = None,
    ) -> None:
        """``timestamp`` is Unix milliseconds; ``None`` means "when committed"."""
    @property
    def payload(self) -> bytes:
        """The payload bytes."""
    @property
    def manifest(self) -> str:
        """The event type name (may be empty)."""
    @property
    def writer_id(self) -> str:
        """The writer instance id (may be empty)."""
    @property
    def tags(self) -> Tuple[str, ...]:
        """Tags, for ``events_by_tag``."""
    @property
    def timestamp(self) -> Optional[int]:
        """Unix milliseconds, or ``None`` for "when committed"."""
    @property
    def metadata(self) -> bytes:
        """Small adapter-specific bytes (a serializer id, say)."""

class Event:
    """A stored event, as read back. Immutable."""

    @property
    def persistence_id(self) -> str:
        """The stream."""
    @property
    def sequence_nr(self) -> int:
        """Position in the stream, from 1, gapless."""
    @property
    def global_offset(self) -> int:
        """Position in the whole journal, strictly increasing in commit order."""
    @property
    def timestamp(self) -> int:
        """Unix milliseconds."""
    @property
    def manifest(self) -> str:
        """Event type name."""
    @property
    def writer_id(self) -> str:
        """Writer instance id."""
    @property
    def tags(self) -> Tuple[str, ...]:
        """Tags."""
    @property
    def metadata(self) -> bytes:
        """Adapter-specific metadata bytes."""
    @property
    def payload(self) -> bytes:
        """Payload bytes."""

class AtomicWrite:
    """One explicit atomic write for ``Journal.write``: events of one stream
    stored all-or-nothing, the first at ``first_sequence_nr`` (which must be
    the stream's highest + 1)."""

    def __init__(self, persistence_id: str, first_sequence_nr: int, events: EventsArg) -> None: ...
    @property
    def persistence_id(self) -> str:
        """The stream written to."""
    @property
    def first_sequence_nr(self) -> int:
        """Sequence number of the first event."""
    def __len__(self) -> int:
        """Number of events."""

class WriteReceipt:
    """What a successful write returns."""

    @property
    def first_sequence_nr(self) -> int:
        """Sequence number of the first event written."""
    @property
    def last_sequence_nr(self) -> int:
        """Sequence number of the last event written."""
    @property
    def first_global_offset(self) -> int:
        """Global offset of the first event; the others follow consecutively."""

class Snapshot:
    """A saved snapshot."""

    @property
    def persistence_id(self) -> str:
        """The stream the snapshot belongs to."""
    @property
    def sequence_nr(self) -> int:
        """Sequence number of the last event folded into the state."""
    @property
    def timestamp(self) -> int:
        """Unix milliseconds."""
    @property
    def manifest(self) -> str:
        """State type name."""
    @property
    def metadata(self) -> bytes:
        """Adapter-specific metadata bytes."""
    @property
    def state(self) -> bytes:
        """The state bytes."""

class SnapshotStore:
    """The snapshots of one journal (``journal.snapshots``). Blocking; the
    GIL is released during file I/O. A snapshot whose checksum fails is
    skipped (the next older match is returned) and counted in the metrics."""

    def save(
        self,
        persistence_id: str,
        sequence_nr: int,
        state: BytesLike,
        *,
        timestamp: Optional[int] = None,
        manifest: str = "",
        metadata: Optional[BytesLike] = None,
    ) -> None:
        """Stores a snapshot atomically and durably (``timestamp`` defaults to
        now); one with the same sequence number is replaced."""
    def load(
        self,
        persistence_id: str,
        *,
        max_sequence_nr: Optional[int] = None,
        max_timestamp: Optional[int] = None,
        min_sequence_nr: Optional[int] = None,
        min_timestamp: Optional[int] = None,
    ) -> Optional[Snapshot]:
        """The newest snapshot with ``min_sequence_nr <= sequence_nr <= max_sequence_nr``
        and ``min_timestamp <= timestamp <= max_timestamp`` (``None``: unbounded), or ``None``."""
    def list(self, persistence_id: str) -> List[Tuple[int, int]]:
        """``[(sequence_nr, timestamp)]`` of the stream's snapshots, oldest first."""
    def delete(self, persistence_id: str, sequence_nr: int) -> bool:
        """Deletes the snapshot with this sequence number; returns whether one existed."""
    def delete_matching(
        self,
        persistence_id: str,
        *,
        max_sequence_nr: Optional[int] = None,
        max_timestamp: Optional[int] = None,
        min_sequence_nr: Optional[int] = None,
        min_timestamp: Optional[int] = None,
    ) -> int:
        """Deletes every snapshot matching the criteria; returns how many."""
    def prune(self, persistence_id: str, keep_last_n: int) -> int:
        """Keeps the ``keep_last_n`` newest snapshots; returns how many were deleted."""
    def persistence_ids(self) -> List[str]:
        """Every persistence id that has at least one snapshot."""

class EventIterator(Iterator[Event]):
    """What :meth:`Journal.iter_events` returns: an iterator over events that
    reads one page per call into the journal. Not for use from two threads at once."""

    def __iter__(self) -> "EventIterator": ...
    def __next__(self) -> Event: ...

class Subscription(Iterator[Event]):
    """A live follow of the journal (:meth:`Journal.subscribe_all`, :meth:`Journal.subscribe_tag`,
    :meth:`Journal.subscribe_stream`): catches up from storage, then yields each newly
    committed event, in order, exactly once, waiting (GIL released) for new commits.

    Iteration ends once :meth:`close` was called (from any thread) or the journal closed.
    A context manager that closes it on exit. Dropping it closes it too. Not for use from two
    threads at once, except :meth:`close`.
    """

    def __iter__(self) -> "Subscription": ...
    def __next__(self) -> Event: ...
    def next_batch(self, max: Optional[int] = None, timeout: Optional[float] = None) -> List[Event]:
        """Up to ``max`` events (default: the batch size), waiting until at least one is
        committed or ``timeout`` seconds passed. ``[]`` on timeout or once closed."""
    def try_next_batch(self, max: Optional[int] = None) -> List[Event]:
        """The events committed and not yet delivered, up to ``max``, without waiting."""
    def close(self) -> None:
        """Ends the subscription (idempotent, from any thread)."""
    @property
    def closed(self) -> bool:
        """True once closed, or once its journal closed."""
    @property
    def position(self) -> int:
        """Where to resume: the next global offset (everything, tag) or sequence number
        (stream) this subscription would deliver."""
    @property
    def batch_size(self) -> int:
        """How many events one wait asks for."""
    def __enter__(self) -> "Subscription": ...
    def __exit__(self, *exc: Any) -> bool: ...
    def _next_async(self, event_loop: Any, future: Any, max: Optional[int] = None) -> None: ...

class Journal:
    """An open event journal (blocking API).

    Every call that waits (for a commit, an fsync, or I/O) releases the GIL.
    A context manager: ``with Journal.open(path) as journal: ...`` closes it.
    """

    @staticmethod
    def open(
        path: Union[str, "os.PathLike[str]"],
        *,
        backend: Literal["lmdb", "files", "memory", "postgres"] = "lmdb",
        sync: Literal["always", "interval", "never"] = "always",
        sync_interval: float = 0.1,
        max_batch_events: int = 4096,
        max_batch_bytes: int = 4 << 20,
        max_batch_delay: float = 0.0,
        max_event_bytes: int = 64 << 20,
        close_timeout: float = 5.0,
        lmdb_map_size: int = 64 << 20,
        segment_bytes: int = 64 << 20,
        read_only: bool = False,
        snapshot_compression: bool = False,
    ) -> "Journal":
        """Opens (creating if needed) the journal at ``path``.

        ``path`` is a directory, or a ``postgresql://`` (``postgres://``)
        connection URI, which chooses the PostgreSQL backend (``backend`` is
        then ignored; ``?tidelog_schema=NAME`` picks the schema).
        ``sync="always"`` acknowledges a write only once it is on stable
        storage; ``"interval"`` flushes every ``sync_interval`` seconds (a
        power loss may lose that much, a process crash nothing); ``"never"``
        is for tests and benchmarks. Durations are in seconds. Raises
        :class:`LockedError` if another writer holds the journal.
        """
    @property
    def path(self) -> pathlib.Path:
        """The journal's directory (for PostgreSQL use :attr:`location`)."""
    @property
    def location(self) -> str:
        """The directory, or the PostgreSQL URI without its password."""
    @property
    def backend(self) -> str:
        """``"lmdb"``, ``"files"``, ``"memory"`` or ``"postgres"``."""
    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
    @property
    def snapshots(self) -> SnapshotStore:
        """The journal's snapshot store."""
    def append(self, persistence_id: str, events: EventsArg) -> WriteReceipt:
        """Appends events to a stream as one atomic write; the journal assigns
        sequence numbers highest + 1, ... Returns once committed (and, with
        ``sync="always"``, on stable storage)."""
    def write(self, writes: Iterable[WriteArg]) -> List[Union[WriteReceipt, Exception]]:
        """Commits explicit atomic writes in one group commit. Returns one
        entry per write, in order: a :class:`WriteReceipt`, or the exception
        instance (e.g. :class:`SequenceConflictError`) of a write that failed alone."""
    def read(
        self,
        persistence_id: str,
        from_sequence_nr: Optional[int] = None,
        to_sequence_nr: Optional[int] = None,
        max: Optional[int] = None,
    ) -> List[Event]:
        """Events with ``from_sequence_nr <= sequence_nr <= to_sequence_nr``
        (defaults: 1 and unbounded), oldest first, at most ``max``. Deleted
        events are not returned."""
    def iter_events(
        self,
        persistence_id: str,
        from_sequence_nr: Optional[int] = None,
        to_sequence_nr: Optional[int] = None,
        page_size: int = 10_000,
    ) -> "EventIterator":
        """Iterates over a stream's events, reading ``page_size`` events per
        call into the journal (each page without the GIL)."""
    def highest_sequence_nr(self, persistence_id: str) -> int:
        """Highest sequence number ever written to the stream (0 if none);
        survives :meth:`delete_to` and reopening."""
    def next_global_offset(self) -> int:
        """The global offset the next committed event will get (1 for an empty
        journal): where a "current" read of :meth:`all_events` or
        :meth:`events_by_tag` should stop while writes continue."""
    def delete_to(self, persistence_id: str, to_sequence_nr: int) -> None:
        """Deletes the stream's events up to and including ``to_sequence_nr``."""
    def persistence_ids(self) -> List[str]:
        """Every persistence id ever written, sorted."""
    def events_by_tag(self, tag: str, from_offset: Optional[int] = None, max: Optional[int] = None) -> List[Event]:
        """Events carrying ``tag`` with ``global_offset >= from_offset``, in
        commit order, at most ``max``. Resume from the last event's ``global_offset + 1``."""
    def all_events(self, from_offset: Optional[int] = None, max: Optional[int] = None) -> List[Event]:
        """Every live event with ``global_offset >= from_offset``, in commit order."""
    def flush(self) -> None:
        """Waits until everything submitted before is committed and on stable
        storage, whatever the sync policy."""
    def metrics(self) -> Dict[str, Any]:
        """Counters (``appends``, ``events``, ``bytes``, ``batches``, ``fsyncs``, ...)
        and histograms (``commit_latency_us``, ``batch_events``) as a dict."""
    def metrics_prometheus(self) -> str:
        """The metrics in the Prometheus text format."""
    def subscribe_all(self, from_offset: Optional[int] = None, *, batch_size: int = 1000) -> Subscription:
        """Follows every event with ``global_offset >= from_offset`` live (a blocking iterator)."""
    def subscribe_tag(self, tag: str, from_offset: Optional[int] = None, *, batch_size: int = 1000) -> Subscription:
        """Follows the events carrying ``tag`` with ``global_offset >= from_offset`` live."""
    def subscribe_stream(
        self, persistence_id: str, from_sequence_nr: Optional[int] = None, *, batch_size: int = 1000
    ) -> Subscription:
        """Follows a stream's events with ``sequence_nr >= from_sequence_nr`` live."""
    def close(self) -> None:
        """Commits what is queued (within ``close_timeout``), fails the rest
        with :class:`ClosedError`, releases the files and the writer lock. Idempotent."""
    def __enter__(self) -> "Journal": ...
    def __exit__(self, *exc: Any) -> bool: ...
    def _core_append_loop(self, persistence_id: str, payload: bytes, n: int) -> float:
        """Benchmark helper: seconds for ``n`` core appends made from Rust."""
    # Entry points of tidelog.AsyncJournal (private).
    def _append_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], persistence_id: str, events: EventsArg) -> None: ...
    def _write_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], writes: Iterable[WriteArg]) -> None: ...
    def _delete_to_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], persistence_id: str, to_sequence_nr: int) -> None: ...
    def _flush_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None: ...
    def _read_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], persistence_id: str, from_sequence_nr: Optional[int] = None, to_sequence_nr: Optional[int] = None, max: Optional[int] = None) -> None: ...
    def _events_by_tag_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], tag: Optional[str], from_offset: Optional[int] = None, max: Optional[int] = None) -> None: ...
    def _highest_sequence_nr_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], persistence_id: str) -> None: ...
    def _next_global_offset_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None: ...
    def _persistence_ids_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None: ...
    def _close_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None: ...
    def _snapshot_async(self, event_loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], op: str, persistence_id: Optional[str], *args: Any, **kwargs: Any) -> None: ...

def _error_kinds() -> List[Tuple[str, str]]:
    """``[(code, exception class name)]`` for every error kind of the core."""
def _resolve_many(items: List[Any]) -> None:
    """Settles ``[(future, ok, value)]`` on the running loop (used by the completion thread)."""
def _on_exit() -> None:
    """``atexit`` hook: stop delivering completions before the interpreter finalizes."""
