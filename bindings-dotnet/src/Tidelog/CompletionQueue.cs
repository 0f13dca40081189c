using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Tidelog.Interop;

namespace Tidelog;

/// <summary>
/// The process-wide completion queue. Asynchronous operations are submitted with a token;
/// one background thread blocks in <c>tidelog_queue_wait</c>, receives finished operations in
/// batches and completes their tasks. No native thread ever calls into the runtime, so a
/// process that never disposes its journals still exits.
/// </summary>
internal static unsafe class CompletionQueue
{
    private const int BatchSize = 256;
    private const long WaitMs = 200;

    private static readonly PendingTokens<Pending> PendingOps = new();
    private static readonly NativeDrain Drain = new("tidelog-completions", () =>
    {
        Native.Check(Native.tidelog_queue_new(out var q));
        return q;
    }, Run);

    /// <summary>The native queue, created (with its thread) on first use.</summary>
    public static IntPtr Handle => Drain.Handle;

    /// <summary>Registers an operation; returns its token.</summary>
    public static ulong Register(Pending pending) => PendingOps.Register(pending);

    /// <summary>Submission failed: nothing will complete the token, so fail it here.</summary>
    public static void SubmitFailed(ulong token, int status)
    {
        var error = Native.LastError(status);
        if (PendingOps.TryTake(token, out var p)) p.Fail(error);
    }

    /// <summary>Submission threw before reaching the native library.</summary>
    public static void Forget(ulong token) => PendingOps.Forget(token);

    /// <summary>Operations submitted but not completed yet.</summary>
    public static int InFlight => PendingOps.Count;

    private static void Run(IntPtr queue)
    {
        var completions = (Native.Completion*)Marshal.AllocHGlobal(sizeof(Native.Completion) * BatchSize);
        while (true)
        {
            nuint count;
            int status = Native.tidelog_queue_wait(queue, completions, BatchSize, WaitMs, &count);
            if (status != 0) return; // the queue is never shut down; nothing else can fail here
            for (int i = 0; i < (int)count; i++)
            {
                ref var c = ref completions[i];
                try
                {
                    if (PendingOps.TryTake(c.Token, out var p))
                    {
                        if (c.Status == 0) p.Complete(ref c);
                        else p.Fail(Errors.FromStatus(c.Status, Utf8Message(c.Buffer), (long)c.Expected, (long)c.Actual));
                    }
                }
                catch (Exception e)
                {
                    // A completion must never take the thread down; the exception is the operation's.
                    if (PendingOps.TryTake(c.Token, out var p)) p.Fail(e);
                }
                finally
                {
                    if (c.Buffer != null) Native.tidelog_buffer_free(c.Buffer);
                }
            }
        }
    }

    private static string Utf8Message(Native.Buffer* b) => b == null ? "" : Utf8.Decode(b->Data, (int)b->Len);

    /// <summary>An operation waiting for its completion.</summary>
    internal abstract class Pending
    {
        public abstract void Complete(ref Native.Completion completion);
        public abstract void Fail(Exception error);
    }

    internal sealed class PendingReceipt : Pending
    {
        public readonly TaskCompletionSource<WriteReceipt> Source = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public override void Complete(ref Native.Completion c) =>
            Source.TrySetResult(new WriteReceipt((long)c.Receipt.FirstSequenceNr, (long)c.Receipt.LastSequenceNr, (long)c.Receipt.FirstGlobalOffset));
        public override void Fail(Exception error) => Source.TrySetException(error);
    }

    internal sealed class PendingResults : Pending
    {
        public readonly TaskCompletionSource<WriteResult[]> Source = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public override void Complete(ref Native.Completion c)
        {
            var buffer = c.Buffer;
            c.Buffer = null; // TakeWriteResults frees it
            Source.TrySetResult(PageReader.TakeWriteResults(buffer));
        }
        public override void Fail(Exception error) => Source.TrySetException(error);
    }

    internal sealed class PendingDone : Pending
    {
        public readonly TaskCompletionSource<bool> Source = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public override void Complete(ref Native.Completion c) => Source.TrySetResult(true);
        public override void Fail(Exception error) => Source.TrySetException(error);
    }
}
