using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Tidelog.Interop;

namespace Tidelog;

/// <summary>A saved snapshot of a stream's state.</summary>
public sealed class Snapshot
{
    private byte[] _metadata = Array.Empty<byte>();

    /// <summary>Creates a snapshot.</summary>
    public Snapshot(string persistenceId, long sequenceNr, long timestamp, byte[] state)
    {
        PersistenceId = persistenceId ?? throw new ArgumentNullException(nameof(persistenceId));
        SequenceNr = sequenceNr;
        Timestamp = timestamp;
        State = state ?? throw new ArgumentNullException(nameof(state));
    }

    /// <summary>The stream the snapshot belongs to.</summary>
    public string PersistenceId { get; }
    /// <summary>The sequence number of the last event folded into the state.</summary>
    public long SequenceNr { get; }
    /// <summary>Unix milliseconds, exactly as saved.</summary>
    public long Timestamp { get; }
    /// <summary>The state bytes.</summary>
    public byte[] State { get; }
    /// <summary>State type name; may be empty.</summary>
    public string Manifest { get; init; } = "";

    /// <summary>Serializer id, stored as the snapshot's four metadata bytes; exclusive with <see cref="Metadata"/>.</summary>
    public int? SerializerId
    {
        get => ByteOrder.SerializerIdOf(_metadata);
        init => _metadata = value is int id ? BitConverter.GetBytes(id).LittleEndian() : Array.Empty<byte>();
    }

    /// <summary>Adapter-specific metadata bytes; set either this or <see cref="SerializerId"/>.</summary>
    public byte[] Metadata
    {
        get => _metadata;
        init => _metadata = value ?? Array.Empty<byte>();
    }
}

/// <summary>Which snapshots a load or delete selects (all bounds inclusive); Akka's <c>SnapshotSelectionCriteria</c>.</summary>
public readonly struct SnapshotCriteria
{
    /// <summary>Creates criteria.</summary>
    public SnapshotCriteria(long maxSequenceNr = long.MaxValue, long maxTimestamp = long.MaxValue, long minSequenceNr = 0, long minTimestamp = 0)
    {
        MaxSequenceNr = maxSequenceNr;
        MaxTimestamp = maxTimestamp;
        MinSequenceNr = minSequenceNr;
        MinTimestamp = minTimestamp;
    }

    /// <summary>Selects every snapshot (the newest is loaded).</summary>
    public static SnapshotCriteria Latest => new(long.MaxValue, long.MaxValue, 0, 0);
    /// <summary>Selects nothing.</summary>
    public static SnapshotCriteria None => new(0, 0, 1, 1);

    /// <summary>Highest sequence number selected.</summary>
    public long MaxSequenceNr { get; }
    /// <summary>Latest timestamp selected (Unix ms).</summary>
    public long MaxTimestamp { get; }
    /// <summary>Lowest sequence number selected.</summary>
    public long MinSequenceNr { get; }
    /// <summary>Earliest timestamp selected (Unix ms).</summary>
    public long MinTimestamp { get; }

    internal Native.SnapshotCriteria ToNative() => new()
    {
        MaxSequenceNr = (ulong)Math.Max(0, MaxSequenceNr),
        MaxTimestamp = (ulong)Math.Max(0, MaxTimestamp),
        MinSequenceNr = (ulong)Math.Max(0, MinSequenceNr),
        MinTimestamp = (ulong)Math.Max(0, MinTimestamp),
    };
}

/// <summary>Where a snapshot is, without its state.</summary>
public readonly struct SnapshotInfo
{
    /// <summary>Creates the info.</summary>
    public SnapshotInfo(long sequenceNr, long timestamp)
    {
        SequenceNr = sequenceNr;
        Timestamp = timestamp;
    }

    /// <summary>Sequence number of the snapshot.</summary>
    public long SequenceNr { get; }
    /// <summary>Unix milliseconds.</summary>
    public long Timestamp { get; }
}

/// <summary>
/// The snapshots of a journal (<see cref="Journal.Snapshots"/>). Methods block on file I/O (a save fsyncs);
/// the <c>Async</c> forms run them on the thread pool. A snapshot whose checksum fails is skipped, never returned.
/// </summary>
public sealed unsafe class SnapshotStore
{
    private readonly Journal _journal;

    internal SnapshotStore(Journal journal) => _journal = journal;

    /// <summary>Stores a snapshot atomically and durably; one with the same sequence number is replaced.</summary>
    public void Save(Snapshot snapshot)
    {
        if (snapshot is null) throw new ArgumentNullException(nameof(snapshot));
        byte[] pid = Utf8.Encode(snapshot.PersistenceId), manifest = Utf8.Encode(snapshot.Manifest);
        fixed (byte* p = pid)
        fixed (byte* m = manifest)
        fixed (byte* md = snapshot.Metadata)
        fixed (byte* s = snapshot.State)
            Native.Check(Native.tidelog_snapshot_save(_journal.Handle, p, (nuint)pid.Length, (ulong)snapshot.SequenceNr, (ulong)snapshot.Timestamp,
                m, (nuint)manifest.Length, md, (nuint)snapshot.Metadata.Length, s, (nuint)snapshot.State.Length));
    }

    /// <summary>The newest snapshot matching <paramref name="criteria"/> (default: any), or null.</summary>
    public Snapshot? Load(string persistenceId, SnapshotCriteria? criteria = null)
    {
        var c = (criteria ?? SnapshotCriteria.Latest).ToNative();
        byte[] pid = Utf8.Encode(persistenceId);
        Native.Buffer* buf;
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_snapshot_load(_journal.Handle, p, (nuint)pid.Length, &c, &buf));
        if (buf == null) return null;
        try
        {
            var r = new PageReader(buf->Data, (int)buf->Len);
            long seq = (long)r.U64(), ts = (long)r.U64();
            string manifest = r.String();
            byte[] metadata = r.Bytes(), state = r.Bytes();
            return new Snapshot(persistenceId, seq, ts, state) { Manifest = manifest, Metadata = metadata };
        }
        finally { Native.tidelog_buffer_free(buf); }
    }

    /// <summary>The stream's snapshots, oldest first, without their state.</summary>
    public IReadOnlyList<SnapshotInfo> List(string persistenceId)
    {
        byte[] pid = Utf8.Encode(persistenceId);
        Native.Buffer* buf;
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_snapshot_list(_journal.Handle, p, (nuint)pid.Length, &buf));
        try
        {
            var r = new PageReader(buf->Data, (int)buf->Len);
            int n = (int)r.U32();
            var list = new List<SnapshotInfo>(n);
            for (int i = 0; i < n; i++) list.Add(new SnapshotInfo((long)r.U64(), (long)r.U64()));
            return list;
        }
        finally { Native.tidelog_buffer_free(buf); }
    }

    /// <summary>Deletes the snapshot with this sequence number; true when one was deleted.</summary>
    public bool Delete(string persistenceId, long sequenceNr)
    {
        byte[] pid = Utf8.Encode(persistenceId);
        uint deleted;
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_snapshot_delete(_journal.Handle, p, (nuint)pid.Length, (ulong)sequenceNr, &deleted));
        return deleted != 0;
    }

    /// <summary>Deletes every snapshot of the stream matching <paramref name="criteria"/>; returns how many.</summary>
    public long DeleteMatching(string persistenceId, SnapshotCriteria criteria)
    {
        var c = criteria.ToNative();
        byte[] pid = Utf8.Encode(persistenceId);
        ulong n;
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_snapshot_delete_matching(_journal.Handle, p, (nuint)pid.Length, &c, &n));
        return (long)n;
    }

    /// <summary>Keeps the <paramref name="keepLastN"/> newest snapshots of a stream; returns how many were deleted.</summary>
    public long Prune(string persistenceId, int keepLastN)
    {
        byte[] pid = Utf8.Encode(persistenceId);
        ulong n;
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_snapshot_prune(_journal.Handle, p, (nuint)pid.Length, (ulong)Math.Max(0, keepLastN), &n));
        return (long)n;
    }

    /// <summary>Every persistence id with at least one snapshot, sorted.</summary>
    public IReadOnlyList<string> PersistenceIds()
    {
        Native.Buffer* buf;
        Native.Check(Native.tidelog_snapshot_persistence_ids(_journal.Handle, &buf));
        return PageReader.TakeStrings(buf);
    }

    /// <summary><see cref="Save"/> on the thread pool.</summary>
    public Task SaveAsync(Snapshot snapshot) => Task.Run(() => Save(snapshot));

    /// <summary><see cref="Load"/> on the thread pool.</summary>
    public Task<Snapshot?> LoadAsync(string persistenceId, SnapshotCriteria? criteria = null) => Task.Run(() => Load(persistenceId, criteria));

    /// <summary><see cref="Delete"/> on the thread pool.</summary>
    public Task<bool> DeleteAsync(string persistenceId, long sequenceNr) => Task.Run(() => Delete(persistenceId, sequenceNr));

    /// <summary><see cref="DeleteMatching"/> on the thread pool.</summary>
    public Task<long> DeleteMatchingAsync(string persistenceId, SnapshotCriteria criteria) => Task.Run(() => DeleteMatching(persistenceId, criteria));
}
