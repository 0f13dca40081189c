using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Tidelog.Interop;

namespace Tidelog;

/// <summary>The native subscription handle; releasing it cancels and frees the subscription.</summary>
internal sealed class SubscriptionHandle : SafeHandle
{
    public SubscriptionHandle(IntPtr handle) : base(IntPtr.Zero, true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => Native.tidelog_subscription_free(handle) == 0;
}

/// <summary>What a <see cref="Subscription"/> follows.</summary>
public enum SubscriptionScope
{
    /// <summary>One stream, from a sequence number.</summary>
    Stream = 0,
    /// <summary>The events of one tag, from a global offset.</summary>
    Tag = 1,
    /// <summary>Every event, from a global offset.</summary>
    All = 2,
}

/// <summary>
/// A live tail of a journal: it catches up from storage, then follows new commits, delivering each committed event of
/// its source exactly once and in order (global offset; sequence number for a stream), with no gap between catch-up and
/// live. The journal's writer wakes it after each group commit: there is no polling. Open one with
/// <see cref="Journal.SubscribeAll"/>, <see cref="Journal.SubscribeTag"/> or <see cref="Journal.SubscribeStream"/>.
/// </summary>
/// <remarks>
/// <para>Enumerate it once with <c>await foreach</c> (pass a token with <c>WithCancellation</c>), or take batches with
/// <see cref="NextBatchAsync"/>. Continuations run on the thread pool, never on a journal's threads, so a slow consumer
/// never holds up the writer: it simply reads further behind, from storage.</para>
/// <para>The subscription ends when it is cancelled or disposed (the enumeration then ends quietly), or when its journal
/// closes (likewise). A cancelled <see cref="CancellationToken"/> ends it too, and the enumeration throws
/// <see cref="OperationCanceledException"/>. Leaving an <c>await foreach</c> (break, exception, cancellation) disposes
/// the subscription and frees its native resources.</para>
/// <para>It does not keep the journal open, and an idle subscription keeps no foreground thread: a process that
/// never disposes its journal or its subscriptions still exits.</para>
/// <para>A read-only journal (LMDB) follows another process's writer: it is woken by file-change notification, with a
/// 100 ms fallback poll. A read-only journal on the files backend cannot follow (<see cref="JournalArgumentException"/>).</para>
/// </remarks>
/// <example><code>
/// using var journal = Journal.Open("data/journal");
/// await foreach (var e in journal.SubscribeTag("cart", fromOffset: 0).WithCancellation(stopping))
///     Project(e); // e.GlobalOffset + 1 is where to resume
/// </code></example>
public sealed class Subscription : IAsyncEnumerable<Event>, IDisposable
{
    /// <summary>Most events in one batch unless a constructor says otherwise.</summary>
    public const int DefaultBatchSize = 1024;

    private static readonly IReadOnlyList<Event> Ended = Array.Empty<Event>();

    private readonly SubscriptionHandle _handle;
    private readonly int _batchSize;
    private int _enumerated;
    private volatile bool _cancelled;

    internal Subscription(SubscriptionHandle handle, SubscriptionScope scope, string? key, int batchSize)
    {
        _handle = handle;
        _batchSize = batchSize;
        Scope = scope;
        Key = key;
    }

    internal static unsafe Subscription Open(Journal journal, SubscriptionScope scope, string? key, long from, int batchSize)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "a batch holds at least one event");
        byte[] k = key is null ? Array.Empty<byte>() : Utf8.Encode(key);
        IntPtr raw;
        fixed (byte* p = k)
            Native.Check(Native.tidelog_subscribe(journal.Handle, (uint)scope, p, (nuint)k.Length, (ulong)Math.Max(0, from), out raw));
        return new Subscription(new SubscriptionHandle(raw), scope, key, batchSize);
    }

    /// <summary>What this subscription follows.</summary>
    public SubscriptionScope Scope { get; }

    /// <summary>The tag or persistence id it follows (null for <see cref="SubscriptionScope.All"/>).</summary>
    public string? Key { get; }

    /// <summary>
    /// Where it continues: the global offset (tag, all) or sequence number (stream) of the next event it may deliver.
    /// A new subscription from here resumes without a gap or a duplicate.
    /// </summary>
    public unsafe long Position
    {
        get
        {
            ulong position;
            Native.Check(Native.tidelog_subscription_position(_handle, &position));
            return (long)position;
        }
    }

    /// <summary>True once <see cref="Cancel"/> or <see cref="Dispose"/> was called.</summary>
    public bool IsCancelled => _cancelled;

    /// <summary>
    /// The next batch: at least one event, at most the batch size, in order. Completes at once when events are
    /// available (read on the calling thread), otherwise after the commit that brings some; an empty list means the
    /// subscription ended (cancelled, disposed, or its journal closed). One call at a time.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait: the subscription ends and the task throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="JournalArgumentException">A call was already pending.</exception>
    public Task<IReadOnlyList<Event>> NextBatchAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_cancelled || _handle.IsClosed) return Task.FromResult(Ended);
        // Catching up: events may be there already; read them here, without a thread hop.
        var now = TryRead();
        if (now.Count > 0 || _cancelled) return Task.FromResult(now);
        return Request(cancellationToken);
    }

    /// <summary>The events available now, at most the batch size (empty when none, or when ended).</summary>
    private unsafe IReadOnlyList<Event> TryRead()
    {
        Native.Buffer* page;
        int status = Native.tidelog_subscription_next(_handle, (ulong)_batchSize, 0, &page);
        if (status == (int)ErrorCode.Closed) return Ended;
        Native.Check(status);
        return PageReader.TakeEvents(page);
    }

    private async Task<IReadOnlyList<Event>> Request(CancellationToken cancellationToken)
    {
        var pending = new SubscriptionQueue.PendingBatch();
        ulong token = SubscriptionQueue.Register(pending);
        int status = Native.tidelog_subscription_request(_handle, SubscriptionQueue.Handle, token, (ulong)_batchSize);
        if (status != 0)
        {
            SubscriptionQueue.Forget(token);
            throw Native.LastError(status);
        }
        IReadOnlyList<Event> batch;
        using (cancellationToken.CanBeCanceled ? cancellationToken.Register(static s => ((Subscription)s!).Cancel(), this) : default)
            batch = await pending.Source.Task.ConfigureAwait(false);
        if (batch.Count == 0) cancellationToken.ThrowIfCancellationRequested();
        return batch;
    }

    /// <summary>
    /// Every event, batch by batch: an async stream that ends when the subscription ends. Leaving it disposes the subscription.
    /// </summary>
    /// <param name="cancellationToken">Ends the subscription; the enumeration throws <see cref="OperationCanceledException"/>.</param>
    public async IAsyncEnumerable<IReadOnlyList<Event>> Batches([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ClaimEnumeration();
        try
        {
            while (true)
            {
                var batch = await NextBatchAsync(cancellationToken).ConfigureAwait(false);
                if (batch.Count == 0) yield break;
                yield return batch;
            }
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Every event, one at a time; see <see cref="Batches"/>. Leaving the enumeration disposes the subscription.</summary>
    public async IAsyncEnumerable<Event> Events([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var batch in Batches(cancellationToken).ConfigureAwait(false))
            for (int i = 0; i < batch.Count; i++)
                yield return batch[i];
    }

    /// <inheritdoc cref="Events"/>
    public IAsyncEnumerator<Event> GetAsyncEnumerator(CancellationToken cancellationToken = default) => Events(cancellationToken).GetAsyncEnumerator();

    private void ClaimEnumeration()
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
            throw new InvalidOperationException("a subscription is enumerated once; open another to read again");
    }

    /// <summary>
    /// Ends the subscription, from any thread (idempotent): a pending <see cref="NextBatchAsync"/> completes with an
    /// empty batch, an enumeration ends. The native subscription is freed by <see cref="Dispose"/> (or when an
    /// enumeration ends).
    /// </summary>
    public void Cancel()
    {
        _cancelled = true;
        if (_handle.IsClosed) return;
        try { Native.tidelog_subscription_cancel(_handle); }
        catch (ObjectDisposedException) { } // disposed meanwhile: freeing cancelled it
    }

    /// <summary>Cancels the subscription and frees it.</summary>
    public void Dispose()
    {
        Cancel();
        _handle.Dispose();
    }
}

/// <summary>
/// The process-wide page queue of subscriptions: a request's batch arrives there under its token, and one background
/// thread blocked in <c>tidelog_page_queue_wait</c> receives every finished batch in one buffer per wake-up (one
/// crossing), decodes it and completes the tasks, whose continuations run asynchronously on the thread pool. No
/// native thread ever calls into the runtime.
/// </summary>
internal static unsafe class SubscriptionQueue
{
    private const int BatchSize = 256;
    private const long WaitMs = 200;

    private static readonly PendingTokens<PendingBatch> PendingBatches = new();
    private static readonly NativeDrain Drain = new("tidelog-subscriptions", () =>
    {
        Native.Check(Native.tidelog_page_queue_new(out var q));
        return q;
    }, Run);

    /// <summary>The native page queue, created (with its thread) on first use.</summary>
    public static IntPtr Handle => Drain.Handle;

    /// <summary>Registers a request; returns its token.</summary>
    public static ulong Register(PendingBatch pending) => PendingBatches.Register(pending);

    /// <summary>Submission threw before reaching the native library.</summary>
    public static void Forget(ulong token) => PendingBatches.Forget(token);

    /// <summary>Requests not completed yet.</summary>
    public static int InFlight => PendingBatches.Count;

    private static void Run(IntPtr queue)
    {
        while (true)
        {
            Native.Buffer* batch;
            int status = Native.tidelog_page_queue_wait(queue, BatchSize, WaitMs, &batch);
            if (status != 0) return; // the queue is never shut down; nothing else can fail here
            if (batch == null) continue;
            try
            {
                Deliver(batch);
            }
            finally
            {
                Native.tidelog_buffer_free(batch);
            }
        }
    }

    /// <summary>Decodes a "Subscription batch" (core/docs/wire.md) and completes each token's task.</summary>
    private static void Deliver(Native.Buffer* batch)
    {
        var r = new PageReader(batch->Data, (int)batch->Len);
        int count = (int)r.U32();
        for (int i = 0; i < count; i++)
        {
            ulong token = r.U64();
            int status = (int)r.U32();
            int len = (int)r.U32();
            byte* body = r.Skip(len);
            if (!PendingBatches.TryTake(token, out var pending)) continue;
            try
            {
                if (status == 0) pending.Source.TrySetResult(PageReader.Events(body, len));
                else if (status == (int)ErrorCode.Closed) pending.Source.TrySetResult(Array.Empty<Event>());
                else pending.Source.TrySetException(Errors.FromStatus(status, Utf8.Decode(body, len), 0, 0));
            }
            catch (Exception e)
            {
                // A batch must never take the thread down; the exception is the request's.
                pending.Source.TrySetException(e);
            }
        }
    }

    /// <summary>A request waiting for its batch (an empty batch: the subscription ended).</summary>
    internal sealed class PendingBatch
    {
        public readonly TaskCompletionSource<IReadOnlyList<Event>> Source = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
