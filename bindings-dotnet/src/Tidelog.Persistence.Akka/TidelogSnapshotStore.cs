using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Tidelog;

namespace Tidelog.Persistence.Akka;

/// <summary>
/// Akka.NET snapshot store over Tidelog's snapshot files (<c>akka.persistence.snapshot-store.tidelog</c>; it may
/// share its <c>path</c> with the journal). Timestamps round-trip to the tick; selection criteria are applied to the tick.
/// </summary>
public sealed class TidelogSnapshotStore : global::Akka.Persistence.Snapshot.SnapshotStore
{
    private readonly Journal _journal;
    private readonly ExtendedActorSystem _system;
    /// <summary>Operations run one at a time off the actor, in the order the store received them.</summary>
    private Task _tail = Task.CompletedTask;

    /// <summary>Created by Akka with the plugin's configuration section.</summary>
    public TidelogSnapshotStore(Config config)
    {
        _journal = SharedJournals.Acquire(new TidelogSettings(config));
        _system = (ExtendedActorSystem)Context.System;
    }

    private Task<T> InOrder<T>(Func<T> work)
    {
        var next = _tail.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        _tail = next;
        return next;
    }

    private Task InOrder(Action work) => InOrder(() => { work(); return true; });

    /// <inheritdoc/>
    protected override void PostStop()
    {
        SharedJournals.Release(_journal);
        base.PostStop();
    }

    /// <inheritdoc/>
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        InOrder(() =>
        {
            foreach (var (snapshot, ticks) in Matching(persistenceId, criteria).OrderByDescending(m => m.Snapshot.SequenceNr).ThenByDescending(m => m.Ticks))
            {
                var (serializerId, _, _) = Codec.ReadMetadata(snapshot.Metadata);
                object state = Codec.Deserialize(_system, snapshot.State, serializerId, snapshot.Manifest);
                return new SelectedSnapshot(new SnapshotMetadata(persistenceId, snapshot.SequenceNr, new DateTime(ticks, DateTimeKind.Utc)), state);
            }
            return (SelectedSnapshot?)null;
        });

    /// <inheritdoc/>
    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken) =>
        InOrder(() =>
        {
            var (bytes, serializerId, manifest) = Codec.Serialize(_system, snapshot);
            long ticks = metadata.Timestamp.Ticks;
            _journal.Snapshots.Save(new Snapshot(metadata.PersistenceId, metadata.SequenceNr, Codec.TicksToUnixMs(ticks), bytes)
            {
                Manifest = manifest,
                Metadata = Codec.Metadata(serializerId, ticks, ""),
            });
        });

    /// <inheritdoc/>
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) =>
        InOrder(() =>
        {
            var stored = _journal.Snapshots.Load(metadata.PersistenceId, new SnapshotCriteria(metadata.SequenceNr, long.MaxValue, metadata.SequenceNr, 0));
            if (stored is null) return;
            // DateTime.MinValue means "any timestamp"; otherwise only a snapshot no newer than the given one is deleted.
            if (metadata.Timestamp != DateTime.MinValue && Codec.ReadMetadata(stored.Metadata).Ticks > metadata.Timestamp.Ticks) return;
            _journal.Snapshots.Delete(metadata.PersistenceId, metadata.SequenceNr);
        });

    /// <inheritdoc/>
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        InOrder(() =>
        {
            foreach (var (snapshot, _) in Matching(persistenceId, criteria).ToList())
                _journal.Snapshots.Delete(persistenceId, snapshot.SequenceNr);
        });

    /// <summary>Snapshots matching the criteria to the tick: the core narrows by Unix ms, the metadata decides.</summary>
    private System.Collections.Generic.IEnumerable<(Snapshot Snapshot, long Ticks)> Matching(string persistenceId, SnapshotSelectionCriteria criteria)
    {
        long minTicks = criteria.MinTimestamp?.Ticks ?? 0, maxTicks = criteria.MaxTimeStamp.Ticks;
        long minMs = Codec.TicksToUnixMs(minTicks), maxMs = Codec.TicksToUnixMsCeiling(maxTicks);
        foreach (var info in _journal.Snapshots.List(persistenceId).Reverse())
        {
            if (info.SequenceNr < criteria.MinSequenceNr || info.SequenceNr > criteria.MaxSequenceNr) continue;
            if (info.Timestamp < minMs || info.Timestamp > maxMs) continue;
            var s = _journal.Snapshots.Load(persistenceId, new SnapshotCriteria(info.SequenceNr, long.MaxValue, info.SequenceNr, 0));
            if (s is null) continue;
            long ticks = Codec.ReadMetadata(s.Metadata).Ticks;
            if (ticks < minTicks || ticks > maxTicks) continue;
            yield return (s, ticks);
        }
    }
}
