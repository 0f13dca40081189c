using System;

namespace Tidelog;

/// <summary>The status codes of the C ABI: one per core error kind, plus two ABI-level codes.</summary>
public enum ErrorCode
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>The journal is closed.</summary>
    Closed = 1,
    /// <summary>Another writer holds the journal's lock.</summary>
    Locked = 2,
    /// <summary>An atomic write did not continue its stream.</summary>
    SequenceConflict = 3,
    /// <summary>An argument was refused.</summary>
    InvalidArgument = 4,
    /// <summary>Stored data failed a checksum or could not be decoded.</summary>
    Corrupt = 5,
    /// <summary>The journal was written by a newer on-disk format.</summary>
    UnsupportedFormat = 6,
    /// <summary>The device is full.</summary>
    StorageFull = 7,
    /// <summary>An operating-system or LMDB I/O error.</summary>
    Io = 8,
    /// <summary>An earlier storage failure left the journal unusable until reopened.</summary>
    Failed = 9,
    /// <summary>A disposed or unknown native handle.</summary>
    InvalidHandle = 100,
    /// <summary>A bug in the native library (a caught panic).</summary>
    Internal = 101,
}

/// <summary>Base class of every error Tidelog reports.</summary>
public class TidelogException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TidelogException(ErrorCode code, string message) : base(message) => Code = code;

    /// <summary>The status code of the failure, e.g. <see cref="ErrorCode.SequenceConflict"/>.</summary>
    public ErrorCode Code { get; }

    /// <summary>
    /// True when retrying the call may succeed: a lost PostgreSQL connection, a server restarting. Nothing of the
    /// failed call was acknowledged, and the journal reconnects by itself.
    /// </summary>
    public bool IsRetryable { get; internal set; }

    /// <summary>Same as <see cref="IsRetryable"/>, under the name .NET data clients use.</summary>
    public bool IsTransient => IsRetryable;
}

/// <summary>The journal was closed (or disposed while the operation was queued); no further operation is accepted.</summary>
public sealed class JournalClosedException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public JournalClosedException(string message) : base(ErrorCode.Closed, message) { }
}

/// <summary>Another process, or another open journal in this process, holds the journal's writer lock.</summary>
public sealed class JournalLockedException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public JournalLockedException(string message) : base(ErrorCode.Locked, message) { }
}

/// <summary>An atomic write's first sequence number was not the stream's highest sequence number + 1.</summary>
public sealed class SequenceConflictException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public SequenceConflictException(string message, long expected, long actual) : base(ErrorCode.SequenceConflict, message)
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The sequence number the journal expected (highest + 1).</summary>
    public long Expected { get; }

    /// <summary>The first sequence number the write carried.</summary>
    public long Actual { get; }
}

/// <summary>The journal refused an argument: an empty or too long persistence id, an empty tag, an empty write, a bad option, a write to a read-only journal, ...</summary>
public sealed class JournalArgumentException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public JournalArgumentException(string message) : base(ErrorCode.InvalidArgument, message) { }
}

/// <summary>Stored data failed a checksum or could not be decoded; the message names the file and offset.</summary>
public sealed class CorruptJournalException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public CorruptJournalException(string message) : base(ErrorCode.Corrupt, message) { }
}

/// <summary>The journal was written by a newer on-disk format than this library reads.</summary>
public sealed class UnsupportedFormatException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public UnsupportedFormatException(string message) : base(ErrorCode.UnsupportedFormat, message) { }
}

/// <summary>The device is full; nothing of the failed operation was acknowledged.</summary>
public sealed class StorageFullException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public StorageFullException(string message) : base(ErrorCode.StorageFull, message) { }
}

/// <summary>An I/O error from the operating system, LMDB or PostgreSQL (<see cref="TidelogException.IsRetryable"/>
/// marks those worth retrying).</summary>
public sealed class JournalIOException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public JournalIOException(string message) : base(ErrorCode.Io, message) { }
}

/// <summary>An earlier storage failure (a failed fsync, say) made further writes unsafe; reopen the journal.</summary>
public sealed class JournalFailedException : TidelogException
{
    /// <summary>Creates the exception.</summary>
    public JournalFailedException(string message) : base(ErrorCode.Failed, message) { }
}

/// <summary>Maps status codes to exceptions: the one place that does.</summary>
public static class Errors
{
    /// <summary>Flag bit of a failed status whose call a retry may cure (<c>TIDELOG_RETRYABLE</c>); the code is the low 16 bits.</summary>
    public const int RetryableFlag = 0x10000;

    /// <summary>The exception for a failed native status: its code, and its <see cref="RetryableFlag"/>.</summary>
    /// <param name="status">The native status.</param>
    /// <param name="message">The native error message.</param>
    /// <param name="expected">For a sequence conflict: the expected sequence number.</param>
    /// <param name="actual">For a sequence conflict: the actual sequence number.</param>
    public static Exception FromStatus(int status, string message, long expected = 0, long actual = 0)
    {
        bool retryable = status > 0 && (status & RetryableFlag) != 0;
        Exception e = Create((ErrorCode)(status > 0 ? status & (RetryableFlag - 1) : status), message, expected, actual);
        if (retryable && e is TidelogException t) t.IsRetryable = true;
        return e;
    }

    /// <summary>The exception for a failed status code.</summary>
    /// <param name="code">The status.</param>
    /// <param name="message">The native error message.</param>
    /// <param name="expected">For a sequence conflict: the expected sequence number.</param>
    /// <param name="actual">For a sequence conflict: the actual sequence number.</param>
    public static Exception Create(ErrorCode code, string message, long expected = 0, long actual = 0) => code switch
    {
        ErrorCode.Closed => new JournalClosedException(message),
        ErrorCode.Locked => new JournalLockedException(message),
        ErrorCode.SequenceConflict => new SequenceConflictException(message, expected, actual),
        ErrorCode.InvalidArgument => new JournalArgumentException(message),
        ErrorCode.Corrupt => new CorruptJournalException(message),
        ErrorCode.UnsupportedFormat => new UnsupportedFormatException(message),
        ErrorCode.StorageFull => new StorageFullException(message),
        ErrorCode.Io => new JournalIOException(message),
        ErrorCode.Failed => new JournalFailedException(message),
        ErrorCode.InvalidHandle => new ObjectDisposedException("Journal", message),
        _ => new TidelogException(code, message),
    };
}
