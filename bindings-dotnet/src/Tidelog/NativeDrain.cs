using System;
using System.Collections.Concurrent;
using System.Threading;

namespace Tidelog;

/// <summary>
/// Operations waiting on a native queue, by token: registered before submission, taken once when the queue delivers
/// them (or forgotten when submission threw).
/// </summary>
internal sealed class PendingTokens<T> where T : class
{
    private readonly ConcurrentDictionary<ulong, T> _pending = new();
    private long _nextToken;

    /// <summary>Registers an operation; returns its token.</summary>
    public ulong Register(T pending)
    {
        ulong token = (ulong)Interlocked.Increment(ref _nextToken);
        _pending[token] = pending;
        return token;
    }

    /// <summary>Takes the operation of <paramref name="token"/>, if it is still waiting.</summary>
    public bool TryTake(ulong token, out T pending)
    {
        bool found = _pending.TryRemove(token, out var p);
        pending = p!;
        return found;
    }

    /// <summary>Submission threw before reaching the native library: nothing will deliver the token.</summary>
    public void Forget(ulong token) => _pending.TryRemove(token, out _);

    /// <summary>Operations registered and not delivered yet.</summary>
    public int Count => _pending.Count;
}

/// <summary>
/// A process-wide native queue and the one background thread that drains it, both created on first use. No native
/// thread ever calls into the runtime, so a process that never disposes its journals still exits.
/// </summary>
internal sealed class NativeDrain
{
    private readonly object _startLock = new();
    private readonly string _threadName;
    private readonly Func<IntPtr> _create;
    private readonly Action<IntPtr> _drain;
    private IntPtr _queue;

    /// <param name="threadName">The draining thread's name.</param>
    /// <param name="create">Creates the native queue.</param>
    /// <param name="drain">The thread's body: drains the queue until it is shut down.</param>
    public NativeDrain(string threadName, Func<IntPtr> create, Action<IntPtr> drain)
    {
        _threadName = threadName;
        _create = create;
        _drain = drain;
    }

    /// <summary>The native queue, created (with its thread) on first use.</summary>
    public IntPtr Handle
    {
        get
        {
            if (_queue != IntPtr.Zero) return _queue;
            lock (_startLock)
            {
                if (_queue != IntPtr.Zero) return _queue;
                var q = _create();
                var thread = new Thread(() =>
                {
                    // Set again on the thread itself: under Mono 6.8 such a thread, started from an Akka.NET stream
                    // stage, came up as a foreground thread although IsBackground was set before Start, and the
                    // process never exited.
                    Thread.CurrentThread.IsBackground = true;
                    _drain(q);
                }) { IsBackground = true, Name = _threadName };
                thread.Start();
                Volatile.Write(ref _queue, q);
                return q;
            }
        }
    }
}
