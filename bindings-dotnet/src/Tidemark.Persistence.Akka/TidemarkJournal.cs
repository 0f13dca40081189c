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
using Tidemark;

namespace Tidemark.Persistence.Akka;

/// <summary>
/// Akka.NET journal plugin over a Tidemark journal. Each <see cref="global::Akka.Persistence.AtomicWrite"/> is one
/// core atomic write and a whole <c>WriteMessagesAsync</c> call is one native call (one group commit).
/// </summary>
/// <remarks>
/// Configuration (<c>akka.persistence.journal.tidemark</c>): <c>class</c>, <c>path</c>, <c>backend</c> (lmdb|files);
/// optional keys and defaults are listed on <see cref="TidemarkSettings"/>.
/// Serialization runs on the thread pool, off the journal actor; calls still reach the core in mailbox order.
/// A serialization failure rejects only its AtomicWrite; a storage failure faults the call.
/// </remarks>
public sealed class TidemarkJournal : AsyncWriteJournal
{
    private readonly TidemarkSettings _settings;
    private readonly Journal _journal;
    private readonly ExtendedActorSystem _system;
    /// <summary>Completes when the previous call has been handed to the core: keeps calls in mailbox order.</summary>
    private Task _submitted = Task.CompletedTask;
    /// <summary>The last write call touching each persistence id, until it completes.</summary>
    private readonly ConcurrentDictionary<string, Task> _inFlight = new();

    /// <summary>Created by Akka with the plugin's configuration section.</summary>
    public TidemarkJournal(Config config)
    {
        _settings = new TidemarkSettings(config);
        _journal = SharedJournals.Acquire(_settings);
        _system = (ExtendedActorSystem)Context.System;
    }

    /// <inheritdoc/>
    protected override void PostStop()
    {
        SharedJournals.Release(_journal);
        base.PostStop();
    }

    private sealed class Prepared
    {
        public readonly List<Tidemark.AtomicWrite> Writes = new();
        public readonly Exception?[] Rejections;
        public Prepared(int n) => Rejections = new Exception?[n];
    }

    /// <inheritdoc/>
    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<global::Akka.Persistence.AtomicWrite> messages, CancellationToken cancellationToken)
    {
        // Synchronous part, on the journal actor: only cheap bookkeeping.
        var writes = messages as IReadOnlyList<global::Akka.Persistence.AtomicWrite> ?? messages.ToList();
        var previous = _submitted;
        var submitted = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _submitted = submitted.Task;
        var task = WriteCore(writes, previous, submitted);
        foreach (var w in writes)
        {
            string pid = w.PersistenceId;
            _inFlight[pid] = task;
            task.ContinueWith(_ => ((ICollection<KeyValuePair<string, Task>>)_inFlight).Remove(new KeyValuePair<string, Task>(pid, task)), TaskScheduler.Default);
        }
        return task;
    }

    private async Task<IImmutableList<Exception?>> WriteCore(IReadOnlyList<global::Akka.Persistence.AtomicWrite> writes, Task previous, TaskCompletionSource<bool> submitted)
    {
        Task<WriteResult[]> pending;
        Prepared prepared;
        try
        {
            prepared = await Task.Run(() => Prepare(writes)).ConfigureAwait(false);
            await previous.ConfigureAwait(false);
            pending = prepared.Writes.Count == 0 ? Task.FromResult(Array.Empty<WriteResult>()) : _journal.WriteAsync(prepared.Writes);
        }
        finally
        {
            submitted.TrySetResult(true);
        }
        var results = await pending.ConfigureAwait(false);
        // Storage trouble (or a sequence conflict: the stream was not what the actor believed) faults the call.
        foreach (var r in results)
            if (!r.IsSuccess) throw r.Error!;
        return prepared.Rejections.Any(e => e != null) ? prepared.Rejections.ToImmutableList() : null!;
    }

    private Prepared Prepare(IReadOnlyList<global::Akka.Persistence.AtomicWrite> writes)
    {
        var prepared = new Prepared(writes.Count);
        for (int i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            var reprs = (IImmutableList<IPersistentRepresentation>)write.Payload;
            try
            {
                var events = new NewEvent[reprs.Count];
                for (int k = 0; k < reprs.Count; k++) events[k] = ToEvent(reprs[k]);
                prepared.Writes.Add(new Tidemark.AtomicWrite(write.PersistenceId, write.LowestSequenceNr, events));
            }
            catch (Exception e)
            {
                prepared.Rejections[i] = e; // serialization failed: reject this AtomicWrite only
            }
        }
        return prepared;
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
            long remaining = max, next = Math.Max(1, fromSequenceNr);
            while (remaining > 0 && next <= toSequenceNr)
            {
                var page = _journal.Read(persistenceId, next, toSequenceNr, Math.Min(remaining, _settings.PageSize));
                foreach (var e in page) recoveryCallback(ToPersistent(system, e));
                remaining -= page.Count;
                if (page.Count < Math.Min(remaining + page.Count, _settings.PageSize)) break;
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
