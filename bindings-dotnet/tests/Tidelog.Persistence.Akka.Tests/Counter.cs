using System;
using System.Collections.Generic;
using Akka.Actor;
using Akka.Persistence;

namespace Tidelog.Persistence.Akka.Tests;

/// <summary>State of <see cref="Counter"/>: how many numbers were added, and their sum.</summary>
public sealed class CounterState
{
    public long Count { get; set; }
    public long Sum { get; set; }
}

/// <summary>What a counter reports.</summary>
public sealed class CounterReport
{
    public CounterReport(long count, long sum, long snapshotSequenceNr, long replayed)
    {
        Count = count;
        Sum = sum;
        SnapshotSequenceNr = snapshotSequenceNr;
        Replayed = replayed;
    }

    public long Count { get; }
    public long Sum { get; }
    public long SnapshotSequenceNr { get; }
    public long Replayed { get; }
}

/// <summary>
/// A persistent actor that persists every int it receives (one Persist at a time), snapshots every
/// <c>snapshotEvery</c> events, and answers "report" with its state and how it recovered, once no snapshot
/// save is pending (a test that stops the actor system after the report then finds every snapshot it was told of).
/// </summary>
public sealed class Counter : ReceivePersistentActor
{
    private CounterState _state = new();
    private long _snapshotSeq, _replayed;
    private int _savesPending;
    private readonly List<IActorRef> _waitingForSaves = new();

    public Counter(string persistenceId, int snapshotEvery, IActorRef? persistedListener = null)
    {
        PersistenceId = persistenceId;
        Recover<SnapshotOffer>(offer =>
        {
            _state = (CounterState)offer.Snapshot;
            _snapshotSeq = offer.Metadata.SequenceNr;
        });
        Recover<int>(i =>
        {
            Apply(i);
            _replayed++;
        });
        Command<int>(i => Persist(i, e =>
        {
            Apply(e);
            persistedListener?.Tell(LastSequenceNr);
            if (snapshotEvery > 0 && LastSequenceNr % snapshotEvery == 0)
            {
                _savesPending++;
                SaveSnapshot(new CounterState { Count = _state.Count, Sum = _state.Sum });
            }
        }));
        Command<string>(s => s == "report", _ =>
        {
            if (_savesPending == 0) Sender.Tell(Report());
            else _waitingForSaves.Add(Sender);
        });
        Command<SaveSnapshotSuccess>(_ => SaveEnded());
        Command<SaveSnapshotFailure>(_ => SaveEnded());
    }

    private CounterReport Report() => new(_state.Count, _state.Sum, _snapshotSeq, _replayed);

    private void SaveEnded()
    {
        if (--_savesPending > 0) return;
        foreach (var waiting in _waitingForSaves) waiting.Tell(Report());
        _waitingForSaves.Clear();
    }

    public override string PersistenceId { get; }

    private void Apply(int i)
    {
        _state.Count++;
        _state.Sum += i;
    }

    public static Props Props(string persistenceId, int snapshotEvery, IActorRef? listener = null) =>
        global::Akka.Actor.Props.Create(() => new Counter(persistenceId, snapshotEvery, listener));
}
