using System;
using System.Collections.Generic;

namespace Tidelog;

/// <summary>An event to be written. The journal assigns its sequence number and global offset.</summary>
/// <remarks>
/// Serializer ids travel in the core's metadata bytes: setting <see cref="SerializerId"/> stores it as
/// exactly four little-endian bytes there, the convention of the Tidelog .NET library and its Akka.NET plugin.
/// </remarks>
public sealed class NewEvent
{
    private byte[] _metadata = Array.Empty<byte>();

    /// <summary>An event with a payload.</summary>
    public NewEvent(byte[] payload) => Payload = payload ?? throw new ArgumentNullException(nameof(payload));

    /// <summary>Opaque payload bytes.</summary>
    public byte[] Payload { get; }

    /// <summary>Event type name; may be empty.</summary>
    public string Manifest { get; init; } = "";

    /// <summary>Identifies the writer instance; may be empty.</summary>
    public string WriterId { get; init; } = "";

    /// <summary>Tags for <see cref="Journal.EventsByTag"/>; none by default.</summary>
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();

    /// <summary>Unix milliseconds; <c>null</c> lets the journal stamp the event at commit.</summary>
    public long? Timestamp { get; init; }

    /// <summary>Serializer id, stored as the event's four metadata bytes; exclusive with <see cref="Metadata"/>.</summary>
    public int? SerializerId
    {
        get => ByteOrder.SerializerIdOf(_metadata);
        init => _metadata = value is int id ? BitConverter.GetBytes(id).LittleEndian() : Array.Empty<byte>();
    }

    /// <summary>Small adapter-specific bytes (at most 65535); set either this or <see cref="SerializerId"/>.</summary>
    public byte[] Metadata
    {
        get => _metadata;
        init => _metadata = value ?? Array.Empty<byte>();
    }
}

/// <summary>An event as stored.</summary>
public sealed class Event
{
    /// <summary>Creates an event (the library does, when reading).</summary>
    public Event(string persistenceId, long sequenceNr, long globalOffset, long timestamp, string manifest, string writerId,
        IReadOnlyList<string> tags, byte[] metadata, byte[] payload)
    {
        PersistenceId = persistenceId;
        SequenceNr = sequenceNr;
        GlobalOffset = globalOffset;
        Timestamp = timestamp;
        Manifest = manifest;
        WriterId = writerId;
        Tags = tags;
        Metadata = metadata;
        Payload = payload;
    }

    /// <summary>The stream.</summary>
    public string PersistenceId { get; }
    /// <summary>Position in the stream, from 1.</summary>
    public long SequenceNr { get; }
    /// <summary>Position in the whole journal, strictly increasing in commit order.</summary>
    public long GlobalOffset { get; }
    /// <summary>Unix milliseconds, exactly as written.</summary>
    public long Timestamp { get; }
    /// <summary>The timestamp as a <see cref="DateTimeOffset"/> (UTC).</summary>
    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(Timestamp);
    /// <summary>Event type name.</summary>
    public string Manifest { get; }
    /// <summary>Writer instance id.</summary>
    public string WriterId { get; }
    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; }
    /// <summary>Adapter-specific metadata bytes.</summary>
    public byte[] Metadata { get; }
    /// <summary>The serializer id, when the metadata holds one (exactly four bytes; see <see cref="NewEvent.SerializerId"/>).</summary>
    public int? SerializerId => ByteOrder.SerializerIdOf(Metadata);
    /// <summary>Payload bytes.</summary>
    public byte[] Payload { get; }
}

/// <summary>Explicit atomic write: events of one stream stored all-or-nothing from <see cref="FirstSequenceNr"/> on.</summary>
public sealed class AtomicWrite
{
    /// <summary>Creates an atomic write.</summary>
    public AtomicWrite(string persistenceId, long firstSequenceNr, IReadOnlyList<NewEvent> events)
    {
        PersistenceId = persistenceId ?? throw new ArgumentNullException(nameof(persistenceId));
        FirstSequenceNr = firstSequenceNr;
        Events = events ?? throw new ArgumentNullException(nameof(events));
    }

    /// <summary>The stream written to.</summary>
    public string PersistenceId { get; }
    /// <summary>Must be the stream's highest sequence number + 1, or the write fails with <see cref="SequenceConflictException"/>.</summary>
    public long FirstSequenceNr { get; }
    /// <summary>The events, in order; at least one.</summary>
    public IReadOnlyList<NewEvent> Events { get; }
}

/// <summary>What a successful write returns.</summary>
public readonly struct WriteReceipt
{
    /// <summary>Creates a receipt.</summary>
    public WriteReceipt(long firstSequenceNr, long lastSequenceNr, long firstGlobalOffset)
    {
        FirstSequenceNr = firstSequenceNr;
        LastSequenceNr = lastSequenceNr;
        FirstGlobalOffset = firstGlobalOffset;
    }

    /// <summary>Sequence number of the first event written.</summary>
    public long FirstSequenceNr { get; }
    /// <summary>Sequence number of the last event written.</summary>
    public long LastSequenceNr { get; }
    /// <summary>Global offset of the first event; the others follow consecutively.</summary>
    public long FirstGlobalOffset { get; }

    /// <inheritdoc/>
    public override string ToString() => $"WriteReceipt({FirstSequenceNr}..{LastSequenceNr} @ {FirstGlobalOffset})";
}

/// <summary>The outcome of one <see cref="AtomicWrite"/> of <see cref="Journal.Write"/>: a receipt or an error.</summary>
public sealed class WriteResult
{
    internal WriteResult(WriteReceipt receipt) => Receipt = receipt;
    internal WriteResult(Exception error) => Error = error;

    /// <summary>True when the write was committed.</summary>
    public bool IsSuccess => Error is null;
    /// <summary>The receipt of a committed write.</summary>
    public WriteReceipt Receipt { get; }
    /// <summary>Why the write failed (a <see cref="SequenceConflictException"/>, say), or null.</summary>
    public Exception? Error { get; }
}

/// <summary>Where events are stored.</summary>
public enum Backend
{
    /// <summary>LMDB (default): one memory-mapped B-tree file.</summary>
    Lmdb = 0,
    /// <summary>Append-only segment files.</summary>
    Files = 1,
    /// <summary>In-process memory, for tests; nothing survives closing.</summary>
    Memory = 2,
    /// <summary>PostgreSQL, shared by every process that opens the same database; a <c>postgresql://</c> location
    /// chooses it by itself.</summary>
    Postgres = 3,
}

/// <summary>When a write becomes durable relative to its acknowledgement.</summary>
public enum SyncPolicy
{
    /// <summary>Acknowledge after the batch is on stable storage (default).</summary>
    Always = 0,
    /// <summary>Acknowledge after the write reaches the OS; flush every <see cref="JournalOptions.SyncInterval"/>.
    /// A power loss may lose that much acknowledged time; a process crash loses nothing.</summary>
    Interval = 1,
    /// <summary>Never flush explicitly (tests and benchmarks).</summary>
    Never = 2,
}

/// <summary>Options for <see cref="Journal.Open"/>, with the core's defaults.</summary>
public sealed class JournalOptions
{
    /// <summary>Storage backend (default <see cref="Tidelog.Backend.Lmdb"/>).</summary>
    public Backend Backend { get; set; } = Backend.Lmdb;
    /// <summary>Sync policy (default <see cref="Tidelog.SyncPolicy.Always"/>).</summary>
    public SyncPolicy Sync { get; set; } = SyncPolicy.Always;
    /// <summary>Flush period of <see cref="Tidelog.SyncPolicy.Interval"/> (default 100 ms).</summary>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);
    /// <summary>Most events in one group commit (default 4096).</summary>
    public int MaxBatchEvents { get; set; } = 4096;
    /// <summary>Most bytes in one group commit (default 4 MiB).</summary>
    public long MaxBatchBytes { get; set; } = 4 << 20;
    /// <summary>How long the writer may wait for more work before committing (default zero).</summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.Zero;
    /// <summary>Largest encoded event accepted (default 64 MiB).</summary>
    public long MaxEventBytes { get; set; } = 64 << 20;
    /// <summary>Upper bound on closing (default 5 s): queued writes not committed by then fail with <see cref="JournalClosedException"/>.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Initial LMDB map size (default 64 MiB; grows automatically).</summary>
    public long LmdbMapSize { get; set; } = 64 << 20;
    /// <summary>Segment size of the files backend (default 64 MiB).</summary>
    public long SegmentBytes { get; set; } = 64 << 20;
    /// <summary>Open without the writer lock; writes then fail (default false).</summary>
    public bool ReadOnly { get; set; }
    /// <summary>Compress snapshot state with zstd (default false).</summary>
    public bool SnapshotCompression { get; set; }
}

/// <summary>A point-in-time copy of a journal's counters.</summary>
public sealed class JournalMetrics
{
    /// <summary>Atomic writes committed.</summary>
    public long Appends { get; internal set; }
    /// <summary>Events committed.</summary>
    public long Events { get; internal set; }
    /// <summary>Encoded event bytes committed.</summary>
    public long Bytes { get; internal set; }
    /// <summary>Group commits.</summary>
    public long Batches { get; internal set; }
    /// <summary>Flushes to stable storage.</summary>
    public long Fsyncs { get; internal set; }
    /// <summary>Writes failed by a storage error.</summary>
    public long FailedWrites { get; internal set; }
    /// <summary>Writes refused with a sequence conflict.</summary>
    public long SequenceConflicts { get; internal set; }
    /// <summary>Torn tails truncated at open.</summary>
    public long RepairedTails { get; internal set; }
    /// <summary>Bytes truncated by tail repair.</summary>
    public long RepairedBytes { get; internal set; }
    /// <summary>Snapshots skipped for a bad checksum.</summary>
    public long SkippedCorruptSnapshots { get; internal set; }
    /// <summary>Times the LMDB map was grown.</summary>
    public long LmdbMapResizes { get; internal set; }
    /// <summary>Segment files reclaimed after deletions.</summary>
    public long SegmentsReclaimed { get; internal set; }
}

internal static class ByteOrder
{
    /// <summary>Makes a little-endian copy on big-endian machines (a no-op on x64).</summary>
    public static byte[] LittleEndian(this byte[] bytes)
    {
        if (!BitConverter.IsLittleEndian) Array.Reverse(bytes);
        return bytes;
    }

    /// <summary>The serializer id held in metadata of exactly four bytes, else null.</summary>
    public static int? SerializerIdOf(byte[] metadata) =>
        metadata.Length == 4 ? metadata[0] | metadata[1] << 8 | metadata[2] << 16 | metadata[3] << 24 : null;
}
