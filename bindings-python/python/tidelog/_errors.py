"""Exceptions raised by Tidelog.

Every error of the core maps to exactly one class below (see ``code``); all of
them derive from :class:`TidelogError`.
"""

from __future__ import annotations

__all__ = [
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
]


class TidelogError(Exception):
    """Base class of every error Tidelog raises.

    ``code`` is the core's stable error code (``"SEQUENCE_CONFLICT"``, ...),
    the same in every language binding. ``retryable`` is true when retrying
    the call may succeed (a lost PostgreSQL connection, a server restarting):
    nothing of the failed call was acknowledged, and the journal reconnects by
    itself.
    """

    code: str = "UNKNOWN"
    retryable: bool = False


class ClosedError(TidelogError):
    """The journal was closed; no further operation is accepted."""

    code = "CLOSED"


class LockedError(TidelogError):
    """Another process (or another open handle) holds the journal's writer lock.

    ``path`` is the lock file that could not be acquired.
    """

    code = "LOCKED"
    path: str


class SequenceConflictError(TidelogError):
    """An explicit write did not continue its stream.

    ``expected`` is the sequence number the journal expected (highest + 1),
    ``actual`` the first sequence number the write carried.
    """

    code = "SEQUENCE_CONFLICT"
    persistence_id: str
    expected: int
    actual: int


class InvalidArgumentError(TidelogError, ValueError):
    """The journal refused an argument (empty persistence id, empty write,
    oversized event, write on a read-only journal, bad option, ...).

    Also a :class:`ValueError`.
    """

    code = "INVALID_ARGUMENT"


class CorruptError(TidelogError):
    """Stored data failed a checksum or could not be decoded (``path``, ``offset``)."""

    code = "CORRUPT"
    path: str
    offset: int


class UnsupportedFormatError(TidelogError):
    """The journal was written by a newer on-disk format (``found`` > ``supported``)."""

    code = "UNSUPPORTED_FORMAT"
    path: str
    found: int
    supported: int


class StorageFullError(TidelogError):
    """The device is full; nothing of the failed operation was acknowledged."""

    code = "STORAGE_FULL"
    path: str


class StorageIOError(TidelogError):
    """An I/O error from the operating system or LMDB."""

    code = "IO"


class DatabaseError(StorageIOError):
    """An error from the PostgreSQL server or the connection to it.

    Its code is ``"IO"``; ``retryable`` marks the failures worth retrying.
    """


class JournalFailedError(TidelogError):
    """An earlier storage failure (a failed fsync, say) made further writes
    unsafe. Close and reopen the journal."""

    code = "FAILED"
