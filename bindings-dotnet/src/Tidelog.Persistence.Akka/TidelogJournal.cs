using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Tidelog;

namespace Tidelog.Persistence.Akka;

/// <summary>
/// Akka.NET journal plugin over a Tidelog journal. Each <see cref="global::Akka.Persistence.AtomicWrite"/> is one
/// core atomic write; a whole <c>WriteMessagesAsync</c> call (with any calls queued behind it) is one native call and one group commit.
/// </summary>
/// <remarks>
/// Configuration (<c>akka.persistence.journal.tidelog</c>): <c>class</c>, <c>path</c>, <c>backend</c> (lmdb|files);
/// optional keys and defaults are listed on <see cref="TidelogSettings"/>.
/// The journal actor only queues a call; the plugin's writer thread serializes every call queued so far and commits
/// them with one blocking native call, in mailbox order. While it waits for the disk, new calls queue up and form the
/// next group commit. When the core's writer is idle the commit runs on this thread, so an acknowledgement costs one
/// thread wake-up, not four.
/// A serialization failure rejects only its AtomicWrite; a storage failure faults the call.
/// </remarks>
public sealed class TidelogJournal : AsyncWriteJournal
{
    private readonly TidelogSettings _settings;
    private readonly Journal _journal;
    private readonly ExtendedActorSystem _system;
    /// <summary>Write calls waiting to be serialized and submitted, in mailbox order.</summary>
    private readonly ConcurrentQueue<PendingCall> _queue = new();
    /// <summary>Released when a call arrives while the writer thread sleeps.</summary>
    private readonly SemaphoreSlim _wake = new(0);
    /// <summary>1 while the writer thread sleeps (or is about to): the next call must wake it.</summary>
    private int _sleeping;
    private volatile bool _stopping;
    private readonly Thread _writer;
    /// <summary>The last write call touching each persistence id, until it completes.</summary>
    private readonly ConcurrentDictionary<string, Task> _inFlight = new();

    /// <summary>Created by Akka with the plugin's configuration section.</summary>
    public TidelogJournal(Config config)
    {
        _settings = new TidelogSettings(config);
        _journal = SharedJournals.Acquire(_settings);
        _system = (ExtendedActorSystem)Context.System;
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "tidelog-akka-writer" };
        _writer.Start();
    }

    /// <inheritdoc/>
    protected override void PostStop()
    {
        // The writer thread commits what is queued, then exits; the journal closes once nothing uses it.
        _stopping = true;
        _wake.Release();
        _writer.Join(_settings.CloseTimeout + TimeSpan.FromSeconds(1));
        SharedJournals.Release(_journal);
        base.PostStop();
    }

    private sealed class PendingCall
    {
        public PendingCall(IReadOnlyList<global::Akka.Persistence.AtomicWrite> writes) => Writes = writes;
        public readonly IReadOnlyList<global::Akka.Persistence.AtomicWrite> Writes;
        // Completed on the writer thread: Akka's continuation (result bookkeeping and Tells) runs inline there.
        public readonly TaskCompletionSource<IImmutableList<Exception?>> Result = new();
        public Exception?[] Rejections = Array.Empty<Exception?>();
        public int First, Count; // its slice of the combined core write list
    }

    /// <inheritdoc/>
    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<global::Akka.Persistence.AtomicWrite> messages, CancellationToken cancellationToken)
    {
        // Synchronous part, on the journal actor: only cheap bookkeeping.
        var call = new PendingCall(messages as IReadOnlyList<global::Akka.Persistence.AtomicWrite> ?? messages.ToList());
        var task = call.Result.Task;
        foreach (var w in call.Writes) _inFlight[w.PersistenceId] = task;
        _queue.Enqueue(call);
        if (Interlocked.Exchange(ref _sleeping, 0) == 1) _wake.Release();
        return task;
    }

    private void WriteLoop()
    {
        var calls = new List<PendingCall>();
        var all = new List<Tidelog.AtomicWrite>();
        while (true)
        {
            calls.Clear();
            while (calls.Count < 1024 && _queue.TryDequeue(out var c)) calls.Add(c);
            if (calls.Count == 0)
            {
                if (_stopping) return;
                if (SpinForNextCall()) continue;
                // A full fence, not a volatile write: the queue is read below, and a store followed by a load may be
                // reordered (x86 included), so a call could slip in unseen while its sender still reads _sleeping as 0.
                Interlocked.Exchange(ref _sleeping, 1);
                // A call enqueued before the flag was set saw no sleeper: look again before sleeping.
                if (!_queue.IsEmpty && Interlocked.Exchange(ref _sleeping, 0) == 1) continue;
                _wake.Wait();
                continue;
            }
            all.Clear();
            IReadOnlyList<WriteResult> results = Array.Empty<WriteResult>();
            Exception? failure = null;
            try
            {
                foreach (var call in calls)
                {
                    call.First = all.Count;
                    call.Rejections = Prepare(call.Writes, all);
                    call.Count = all.Count - call.First;
                }
                if (all.Count > 0) results = _journal.Write(all);
            }
            catch (Exception e)
            {
                failure = e;
            }
            try
            {
                Complete(calls, results, failure);
            }
            catch (Exception e)
            {
                // Never let the thread die with calls unanswered: every later write would wait forever.
                foreach (var call in calls) call.Result.TrySetException(e);
            }
        }
    }

    /// <summary>How long the writer thread waits, busy, for the next call before it sleeps.</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5_000; // 200 µs
    /// <summary>Spins in a row that found nothing; after a few the thread sleeps at once, probing now and then.</summary>
    private int _spinMisses, _idleCount;

    /// <summary>
    /// An actor that persists one event at a time sends its next write soon after its acknowledgement, and sleeping
    /// then waking for it costs more than the wait (about 15 µs per wake-up here). So the thread waits busy for a
    /// short while, but only while that pays: when spins keep finding nothing (sporadic writes) it stops spinning,
    /// trying again every 16th time it goes idle.
    /// </summary>
    private bool SpinForNextCall()
    {
        if (_spinMisses >= 4 && (++_idleCount & 15) != 0) return false;
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        while (_queue.IsEmpty)
        {
            if (_stopping || System.Diagnostics.Stopwatch.GetTimestamp() > until)
            {
                _spinMisses++;
                return false;
            }
            Thread.SpinWait(20); // not SpinWait.SpinOnce, which sleeps a whole millisecond now and then
        }
        _spinMisses = 0;
        return true;
    }

    private void Complete(List<PendingCall> calls, IReadOnlyList<WriteResult> results, Exception? failure)
    {
        foreach (var call in calls)
        {
            foreach (var w in call.Writes)
                ((ICollection<KeyValuePair<string, Task>>)_inFlight).Remove(new KeyValuePair<string, Task>(w.PersistenceId, call.Result.Task));
            // Storage trouble (or a sequence conflict: the stream was not what the actor believed) faults the call.
            Exception? error = failure;
            for (int i = call.First; i < call.First + call.Count && error == null; i++)
                if (!results[i].IsSuccess) error = results[i].Error;
            if (error != null) call.Result.TrySetException(error);
            else call.Result.TrySetResult(call.Rejections.Any(e => e != null) ? call.Rejections.ToImmutableList() : null!);
        }
    }

    /// <summary>Serializes a call's AtomicWrites into <paramref name="into"/>; returns one rejection (or null) per AtomicWrite.</summary>
    private Exception?[] Prepare(IReadOnlyList<global::Akka.Persistence.AtomicWrite> writes, List<Tidelog.AtomicWrite> into)
    {
        var rejections = new Exception?[writes.Count];
        for (int i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            var reprs = (IImmutableList<IPersistentRepresentation>)write.Payload;
            try
            {
                var events = new NewEvent[reprs.Count];
                for (int k = 0; k < reprs.Count; k++) events[k] = ToEvent(reprs[k]);
                into.Add(new Tidelog.AtomicWrite(write.PersistenceId, write.LowestSequenceNr, events));
            }
            catch (Exception e)
            {
                // Serialization failed: reject this AtomicWrite only. Its sequence numbers stay used (Akka moves on
                // past them), so fillers take them and keep the stream gapless; replay never returns them.
                rejections[i] = e;
                var fillers = reprs.Select(r => Codec.FillerEvent(r.WriterGuid, r.Timestamp != 0 ? r.Timestamp : DateTime.UtcNow.Ticks)).ToArray();
                into.Add(new Tidelog.AtomicWrite(write.PersistenceId, write.LowestSequenceNr, fillers));
            }
        }
        return rejections;
    }

    private NewEvent ToEvent(IPersistentRepresentation p)
    {
        object payload = p.Payload;
        IReadOnlyList<string> tags = Array.Empty<string>();
        if (payload is Tagged tagged)
        {
            payload = tagged.Payload;
            tags = tagged.Tags.ToArray();
        }
        var (bytes, serializerId, manifest) = Codec.Serialize(_system, payload);
        long ticks = p.Timestamp != 0 ? p.Timestamp : DateTime.UtcNow.Ticks;
        return new NewEvent(bytes)
        {
            Manifest = manifest,
            WriterId = p.WriterGuid ?? "",
            Tags = tags,
            Timestamp = Codec.TicksToUnixMs(ticks),
            Metadata = Codec.Metadata(serializerId, ticks, p.Manifest ?? ""),
        };
    }

    private async Task AfterInFlightWrites(string persistenceId)
    {
        if (_inFlight.TryGetValue(persistenceId, out var write))
        {
            try { await write.ConfigureAwait(false); }
            catch (Exception) { /* the write's own caller sees its failure */ }
        }
    }

    /// <inheritdoc/>
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        await AfterInFlightWrites(persistenceId).ConfigureAwait(false);
        return _journal.HighestSequenceNr(persistenceId);
    }

    /// <inheritdoc/>
    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        await AfterInFlightWrites(persistenceId).ConfigureAwait(false);
        await _journal.DeleteToAsync(persistenceId, toSequenceNr).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        var system = _system;
        return Task.Run(() =>
        {
            long delivered = 0, next = Math.Max(1, fromSequenceNr);
            while (delivered < max && next <= toSequenceNr)
            {
                long want = Math.Min(max - delivered, _settings.PageSize);
                var page = _journal.Read(persistenceId, next, toSequenceNr, want);
                foreach (var e in page)
                {
                    if (Codec.IsFiller(e)) continue; // the place of a rejected event: never replayed
                    recoveryCallback(ToPersistent(system, e));
                    if (++delivered >= max) break;
                }
                if (page.Count < want) break;
                next = page[page.Count - 1].SequenceNr + 1;
            }
        });
    }

    internal static Persistent ToPersistent(ExtendedActorSystem system, Event e)
    {
        var (serializerId, ticks, adapterManifest) = Codec.ReadMetadata(e.Metadata);
        object payload = Codec.Deserialize(system, e.Payload, serializerId, e.Manifest);
        return new Persistent(payload, e.SequenceNr, e.PersistenceId, adapterManifest, false, ActorRefs.NoSender, e.WriterId, ticks);
    }
}
