using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Tidelog.Interop;

namespace Tidelog;

/// <summary>The native journal handle; releasing it closes the journal.</summary>
internal sealed class JournalHandle : SafeHandle
{
    public JournalHandle(IntPtr handle) : base(IntPtr.Zero, true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => Native.tidelog_journal_free(handle) == 0;
}

/// <summary>
/// An open Tidelog event journal: streams of events per persistence id with gapless
/// sequence numbers from 1, global offsets in commit order, tags, and snapshots.
/// </summary>
/// <remarks>
/// Thread-safe. Writes go through the core's group-commit writer: with the default
/// <see cref="SyncPolicy.Always"/> a write whose task completed is on stable storage.
/// Every write exists blocking (<c>Append</c>) and asynchronous (<c>AppendAsync</c>);
/// asynchronous tasks complete on the thread pool, never on a native thread.
/// Dispose the journal to close it; a process that does not still exits.
/// </remarks>
/// <example><code>
/// using var journal = Journal.Open("data/journal");
/// var receipt = await journal.AppendAsync("cart-7", new[] { new NewEvent(payload) { Manifest = "ItemAdded" } });
/// foreach (var e in journal.Read("cart-7")) Console.WriteLine($"{e.SequenceNr}: {e.Manifest}");
/// </code></example>
public sealed unsafe class Journal : IDisposable
{
    private readonly JournalHandle _handle;

    private Journal(JournalHandle handle, string path, Backend backend)
    {
        _handle = handle;
        Path = path;
        Backend = backend;
        Snapshots = new SnapshotStore(this);
    }

    internal JournalHandle Handle => _handle;

    /// <summary>Where the journal lives: the directory as given, or its PostgreSQL URI without the password.</summary>
    public string Path { get; }

    /// <summary>Whether <paramref name="location"/> is a PostgreSQL connection URI (<c>postgresql://</c> or
    /// <c>postgres://</c>), which <see cref="Open"/> takes where a directory goes, rather than a directory.</summary>
    public static bool IsPostgresUri(string location) =>
        location.StartsWith("postgresql://", StringComparison.Ordinal) || location.StartsWith("postgres://", StringComparison.Ordinal);

    /// <summary>The backend in use.</summary>
    public Backend Backend { get; }

    /// <summary>The journal's snapshot store.</summary>
    public SnapshotStore Snapshots { get; }

    /// <summary>The C ABI version of the loaded native library.</summary>
    public static uint NativeAbiVersion => Native.tidelog_abi_version();

    /// <summary>The version of the loaded native library.</summary>
    public static string NativeVersion => Marshal.PtrToStringAnsi(Native.tidelog_version()) ?? "";

    /// <summary>
    /// Opens (creating if needed) the journal at <paramref name="path"/>: a directory, or a PostgreSQL connection URI
    /// (<c>postgresql://user:password@host:port/db</c>; <c>?tidelog_schema=NAME</c> picks the schema), which chooses the
    /// PostgreSQL backend and is passed on as it is. A database that cannot be reached fails with a
    /// <see cref="JournalIOException"/> whose <see cref="TidelogException.IsRetryable"/> is true.
    /// </summary>
    /// <exception cref="JournalLockedException">Another writer holds the journal.</exception>
    /// <exception cref="UnsupportedFormatException">The journal was written by a newer format.</exception>
    /// <exception cref="CorruptJournalException">Damage was found before the tail of the log.</exception>
    public static Journal Open(string path, JournalOptions? options = null)
    {
        if (path is null) throw new ArgumentNullException(nameof(path));
        options ??= new JournalOptions();
        uint abi = Native.tidelog_abi_version();
        if (abi != Native.AbiVersion)
            throw new TidelogException(ErrorCode.Internal, $"native library has C ABI {abi}, this assembly needs {Native.AbiVersion}");
        Native.Options o = ToNative(options);
        byte[] p = Utf8.Encode(path);
        IntPtr raw;
        fixed (byte* pp = p)
            Native.Check(Native.tidelog_journal_open(pp, (nuint)p.Length, &o, out raw));
        var handle = new JournalHandle(raw);
        // The location as the core keeps it: a PostgreSQL URI without its password.
        Native.Buffer* buf;
        Native.Check(Native.tidelog_journal_location(handle, &buf));
        string location;
        try { location = Utf8.Decode(buf->Data, (int)buf->Len); }
        finally { Native.tidelog_buffer_free(buf); }
        return new Journal(handle, location, IsPostgresUri(path) ? Backend.Postgres : options.Backend);
    }

    private static Native.Options ToNative(JournalOptions options)
    {
        Native.Options o;
        Native.Check(Native.tidelog_options_init(&o));
        o.Backend = (uint)options.Backend;
        o.Sync = (uint)options.Sync;
        o.SyncIntervalMs = (ulong)Math.Max(0, (long)options.SyncInterval.TotalMilliseconds);
        o.MaxBatchEvents = (ulong)Math.Max(0, options.MaxBatchEvents);
        o.MaxBatchBytes = (ulong)Math.Max(0, options.MaxBatchBytes);
        o.MaxBatchDelayUs = (ulong)Math.Max(0, options.MaxBatchDelay.Ticks / 10);
        o.MaxEventBytes = (ulong)Math.Max(0, options.MaxEventBytes);
        o.CloseTimeoutMs = (ulong)Math.Max(0, (long)options.CloseTimeout.TotalMilliseconds);
        o.LmdbMapSize = (ulong)Math.Max(0, options.LmdbMapSize);
        o.SegmentBytes = (ulong)Math.Max(0, options.SegmentBytes);
        o.ReadOnly = options.ReadOnly ? 1u : 0u;
        o.SnapshotCompression = options.SnapshotCompression ? 1u : 0u;
        return o;
    }

    /// <summary>
    /// Throws <see cref="JournalArgumentException"/> naming the first option in which <paramref name="options"/>
    /// differs from those this journal was opened with (the core's rule: every option counts). For components that
    /// share one open journal but are configured apart, so that the first to open it does not silently decide for the others.
    /// </summary>
    public void CheckOptions(JournalOptions options)
    {
        if (options is null) throw new ArgumentNullException(nameof(options));
        Native.Options o = ToNative(options);
        Native.Check(Native.tidelog_journal_check_options(_handle, &o));
    }

    // ---- writes --------------------------------------------------------------

    /// <summary>Appends events to a stream as one atomic write (sequence numbers assigned as highest + 1..); blocks until committed.</summary>
    public WriteReceipt Append(string persistenceId, IReadOnlyList<NewEvent> events)
    {
        var w = WireWriter.Rent();
        int pidAt = w.String(persistenceId ?? throw new ArgumentNullException(nameof(persistenceId)));
        int pidLen = w.Length - pidAt, eventsAt = w.Length;
        w.Events(events);
        Native.Receipt r;
        fixed (byte* b = w.Buffer)
            Native.Check(Native.tidelog_append(_handle, b + pidAt, (nuint)pidLen, b + eventsAt, (nuint)(w.Length - eventsAt), &r));
        return new WriteReceipt((long)r.FirstSequenceNr, (long)r.LastSequenceNr, (long)r.FirstGlobalOffset);
    }

    /// <summary>Appends one event; see <see cref="Append(string, IReadOnlyList{NewEvent})"/>.</summary>
    public WriteReceipt Append(string persistenceId, NewEvent @event) => Append(persistenceId, new[] { @event });

    /// <summary>Asynchronous <see cref="Append(string, IReadOnlyList{NewEvent})"/>: the task completes once the write is committed.</summary>
    public Task<WriteReceipt> AppendAsync(string persistenceId, IReadOnlyList<NewEvent> events)
    {
        var w = WireWriter.Rent();
        int pidAt = w.String(persistenceId ?? throw new ArgumentNullException(nameof(persistenceId)));
        int pidLen = w.Length - pidAt, eventsAt = w.Length;
        w.Events(events);
        var pending = new CompletionQueue.PendingReceipt();
        Submit(pending, token =>
        {
            fixed (byte* b = w.Buffer)
                return Native.tidelog_append_async(_handle, CompletionQueue.Handle, token, b + pidAt, (nuint)pidLen, b + eventsAt, (nuint)(w.Length - eventsAt));
        });
        return pending.Source.Task;
    }

    /// <summary>Appends one event asynchronously.</summary>
    public Task<WriteReceipt> AppendAsync(string persistenceId, NewEvent @event) => AppendAsync(persistenceId, new[] { @event });

    /// <summary>
    /// Commits explicit atomic writes in one group commit (one native call for the whole list). Each write's first sequence
    /// number must be its stream's highest + 1; a write that does not fit fails alone. One result per write, in order.
    /// </summary>
    public IReadOnlyList<WriteResult> Write(IReadOnlyList<AtomicWrite> writes)
    {
        var w = EncodeWrites(writes);
        Native.Buffer* results;
        fixed (byte* b = w.Buffer)
            Native.Check(Native.tidelog_write(_handle, b, (nuint)w.Length, &results));
        return PageReader.TakeWriteResults(results);
    }

    /// <summary>Asynchronous <see cref="Write"/>.</summary>
    public Task<WriteResult[]> WriteAsync(IReadOnlyList<AtomicWrite> writes)
    {
        var w = EncodeWrites(writes);
        var pending = new CompletionQueue.PendingResults();
        Submit(pending, token =>
        {
            fixed (byte* b = w.Buffer)
                return Native.tidelog_write_async(_handle, CompletionQueue.Handle, token, b, (nuint)w.Length);
        });
        return pending.Source.Task;
    }

    private static WireWriter EncodeWrites(IReadOnlyList<AtomicWrite> writes)
    {
        if (writes is null) throw new ArgumentNullException(nameof(writes));
        var w = WireWriter.Rent();
        w.U32((uint)writes.Count);
        foreach (var write in writes)
        {
            w.String(write.PersistenceId);
            w.U64((ulong)write.FirstSequenceNr);
            w.Events(write.Events);
        }
        return w;
    }

    /// <summary>Deletes the stream's events up to and including <paramref name="toSequenceNr"/>; the highest sequence number is kept.</summary>
    public void DeleteTo(string persistenceId, long toSequenceNr)
    {
        byte[] pid = Utf8.Encode(persistenceId);
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_delete_to(_handle, p, (nuint)pid.Length, (ulong)Math.Max(0, toSequenceNr)));
    }

    /// <summary>Asynchronous <see cref="DeleteTo"/>.</summary>
    public Task DeleteToAsync(string persistenceId, long toSequenceNr)
    {
        byte[] pid = Utf8.Encode(persistenceId);
        var pending = new CompletionQueue.PendingDone();
        Submit(pending, token =>
        {
            fixed (byte* p = pid)
                return Native.tidelog_delete_to_async(_handle, CompletionQueue.Handle, token, p, (nuint)pid.Length, (ulong)Math.Max(0, toSequenceNr));
        });
        return pending.Source.Task;
    }

    /// <summary>Waits until everything submitted before is committed and on stable storage, whatever the sync policy.</summary>
    public void Flush() => Native.Check(Native.tidelog_flush(_handle));

    /// <summary>Asynchronous <see cref="Flush"/>.</summary>
    public Task FlushAsync()
    {
        var pending = new CompletionQueue.PendingDone();
        Submit(pending, token => Native.tidelog_flush_async(_handle, CompletionQueue.Handle, token));
        return pending.Source.Task;
    }

    private static void Submit(CompletionQueue.Pending pending, Func<ulong, int> submit)
    {
        ulong token = CompletionQueue.Register(pending);
        int status;
        try
        {
            status = submit(token);
        }
        catch (Exception e)
        {
            CompletionQueue.Forget(token);
            pending.Fail(e);
            return;
        }
        if (status != 0) CompletionQueue.SubmitFailed(token, status);
    }

    // ---- reads ---------------------------------------------------------------

    /// <summary>Events of a stream with <paramref name="from"/> &lt;= sequence nr &lt;= <paramref name="to"/>, oldest first, at most <paramref name="max"/>: one native call.</summary>
    public IReadOnlyList<Event> Read(string persistenceId, long from = 1, long to = long.MaxValue, long max = long.MaxValue)
    {
        byte[] pid = Utf8.Encode(persistenceId);
        Native.Buffer* page;
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_read(_handle, p, (nuint)pid.Length, (ulong)Math.Max(0, from), (ulong)Math.Max(0, to), (ulong)Math.Max(0, max), &page));
        return PageReader.TakeEvents(page);
    }

    /// <summary>Replays a stream lazily, one native call per page of <paramref name="pageSize"/> events.</summary>
    public IEnumerable<Event> Replay(string persistenceId, long from = 1, long to = long.MaxValue, int pageSize = 4096)
    {
        if (pageSize <= 0) throw new ArgumentOutOfRangeException(nameof(pageSize));
        long next = Math.Max(1, from);
        while (next <= to)
        {
            var page = Read(persistenceId, next, to, pageSize);
            foreach (var e in page) yield return e;
            if (page.Count < pageSize) yield break;
            next = page[page.Count - 1].SequenceNr + 1;
        }
    }

    /// <summary>Asynchronous <see cref="Read"/> on the thread pool.</summary>
    public Task<IReadOnlyList<Event>> ReadAsync(string persistenceId, long from = 1, long to = long.MaxValue, long max = long.MaxValue) =>
        Task.Run(() => Read(persistenceId, from, to, max));

    /// <summary>Highest sequence number ever committed for the stream (0 if none); survives <see cref="DeleteTo"/>.</summary>
    public long HighestSequenceNr(string persistenceId)
    {
        byte[] pid = Utf8.Encode(persistenceId);
        ulong n;
        fixed (byte* p = pid)
            Native.Check(Native.tidelog_highest_sequence_nr(_handle, p, (nuint)pid.Length, &n));
        return (long)n;
    }

    /// <summary>
    /// The global offset the next committed event will get (1 for an empty journal): where a "current" query over
    /// <see cref="AllEvents"/> or <see cref="EventsByTag"/> stops, so that it ends although writes continue.
    /// </summary>
    public long NextGlobalOffset()
    {
        ulong n;
        Native.Check(Native.tidelog_next_global_offset(_handle, &n));
        return (long)n;
    }

    /// <summary>Events carrying <paramref name="tag"/> with global offset &gt;= <paramref name="fromOffset"/>, in commit order, at most <paramref name="max"/>.
    /// Resume from the last event's <see cref="Event.GlobalOffset"/> + 1.</summary>
    public IReadOnlyList<Event> EventsByTag(string tag, long fromOffset = 0, long max = long.MaxValue)
    {
        byte[] t = Utf8.Encode(tag);
        Native.Buffer* page;
        fixed (byte* p = t)
            Native.Check(Native.tidelog_events_by_tag(_handle, p, (nuint)t.Length, (ulong)Math.Max(0, fromOffset), (ulong)Math.Max(0, max), &page));
        return PageReader.TakeEvents(page);
    }

    /// <summary>Every live event with global offset &gt;= <paramref name="fromOffset"/>, in commit order, at most <paramref name="max"/>.</summary>
    public IReadOnlyList<Event> AllEvents(long fromOffset = 0, long max = long.MaxValue)
    {
        Native.Buffer* page;
        Native.Check(Native.tidelog_all_events(_handle, (ulong)Math.Max(0, fromOffset), (ulong)Math.Max(0, max), &page));
        return PageReader.TakeEvents(page);
    }

    /// <summary>Every persistence id ever written, sorted.</summary>
    public IReadOnlyList<string> PersistenceIds()
    {
        Native.Buffer* buf;
        Native.Check(Native.tidelog_persistence_ids(_handle, &buf));
        return PageReader.TakeStrings(buf);
    }

    /// <summary>The journal's counters.</summary>
    public JournalMetrics Metrics()
    {
        Native.Metrics m;
        Native.Check(Native.tidelog_metrics_get(_handle, &m));
        return new JournalMetrics
        {
            Appends = (long)m.Appends, Events = (long)m.Events, Bytes = (long)m.Bytes, Batches = (long)m.Batches, Fsyncs = (long)m.Fsyncs,
            FailedWrites = (long)m.FailedWrites, SequenceConflicts = (long)m.SequenceConflicts, RepairedTails = (long)m.RepairedTails,
            RepairedBytes = (long)m.RepairedBytes, SkippedCorruptSnapshots = (long)m.SkippedCorruptSnapshots,
            LmdbMapResizes = (long)m.LmdbMapResizes, SegmentsReclaimed = (long)m.SegmentsReclaimed,
        };
    }

    /// <summary>The journal's metrics in the Prometheus text exposition format.</summary>
    public string MetricsPrometheus()
    {
        Native.Buffer* buf;
        Native.Check(Native.tidelog_metrics_prometheus(_handle, &buf));
        try { return Utf8.Decode(buf->Data, (int)buf->Len); }
        finally { Native.tidelog_buffer_free(buf); }
    }

    // ---- subscriptions ---------------------------------------------------------

    /// <summary>
    /// Follows every event with global offset &gt;= <paramref name="fromOffset"/> (0 and 1: from the beginning), catching
    /// up from storage and then live. Resume from the last event's <see cref="Event.GlobalOffset"/> + 1.
    /// </summary>
    /// <param name="fromOffset">The first global offset to deliver.</param>
    /// <param name="batchSize">Most events read (and decoded) in one batch.</param>
    /// <exception cref="JournalClosedException">The journal is closed.</exception>
    /// <exception cref="JournalArgumentException">A read-only journal on the files backend cannot follow another process.</exception>
    public Subscription SubscribeAll(long fromOffset = 0, int batchSize = Subscription.DefaultBatchSize) =>
        Subscription.Open(this, SubscriptionScope.All, null, fromOffset, batchSize);

    /// <summary>Follows the events carrying <paramref name="tag"/> with global offset &gt;= <paramref name="fromOffset"/>; see <see cref="SubscribeAll"/>.</summary>
    /// <exception cref="JournalArgumentException">The tag is empty, or see <see cref="SubscribeAll"/>.</exception>
    public Subscription SubscribeTag(string tag, long fromOffset = 0, int batchSize = Subscription.DefaultBatchSize) =>
        Subscription.Open(this, SubscriptionScope.Tag, tag ?? throw new ArgumentNullException(nameof(tag)), fromOffset, batchSize);

    /// <summary>
    /// Follows one stream from <paramref name="fromSequenceNr"/> (0 and 1: from the beginning), in sequence-number order;
    /// see <see cref="SubscribeAll"/>. Deleted events are skipped, as reads skip them.
    /// </summary>
    /// <exception cref="JournalArgumentException">The persistence id is invalid, or see <see cref="SubscribeAll"/>.</exception>
    public Subscription SubscribeStream(string persistenceId, long fromSequenceNr = 1, int batchSize = Subscription.DefaultBatchSize) =>
        Subscription.Open(this, SubscriptionScope.Stream, persistenceId ?? throw new ArgumentNullException(nameof(persistenceId)), fromSequenceNr, batchSize);

    // ---- closing -------------------------------------------------------------

    /// <summary>
    /// Closes the journal: stops intake, commits what is queued within the close timeout, fails the rest with
    /// <see cref="JournalClosedException"/>, releases files and lock. Idempotent. Later operations throw
    /// <see cref="JournalClosedException"/> until the journal is disposed.
    /// </summary>
    public void Close() => Native.Check(Native.tidelog_journal_close(_handle));

    /// <summary>Closes the journal and releases the native handle; later operations throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _handle.Dispose();
}
