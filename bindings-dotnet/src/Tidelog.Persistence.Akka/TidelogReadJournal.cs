using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.Util;
using Tidelog;

namespace Tidelog.Persistence.Akka;

/// <summary>Creates the <see cref="TidelogReadJournal"/> for <c>akka.persistence.query.journal.tidelog</c>.</summary>
public sealed class TidelogReadJournalProvider : IReadJournalProvider
{
    private readonly ExtendedActorSystem _system;
    private readonly Config _config;

    /// <summary>Created by Akka.Persistence.Query with the section's configuration.</summary>
    public TidelogReadJournalProvider(ExtendedActorSystem system, Config config)
    {
        _system = system;
        _config = config;
    }

    /// <inheritdoc/>
    public IReadJournal GetReadJournal() => new TidelogReadJournal(_system, _config);
}

/// <summary>
/// Akka.Persistence.Query over a Tidelog journal. Offsets are <see cref="Sequence"/> values: an event's offset is
/// its global offset + 1, and a query from <c>Sequence(n)</c> returns the events after <c>n</c> (exclusive).
/// Live queries run on Tidelog subscriptions: they catch up from storage a batch at a time (one native call each),
/// then are woken by the journal's writer after each group commit, with no polling. Only where a subscription cannot
/// follow (a read-only journal on the files backend, following another process's writer) do they poll every
/// <c>refresh-interval</c> instead.
/// </summary>
/// <remarks>
/// Section <c>akka.persistence.query.journal.tidelog</c>: <c>class</c>; <c>write-plugin</c> (default
/// <c>akka.persistence.journal.tidelog</c>), whose <c>path</c> and <c>backend</c> are read unless the section sets
/// its own; <c>refresh-interval</c> (default 100ms: the polling fallback only); <c>replay-page-size</c> (default 4096: also the
/// most events a subscription reads in one batch).
/// </remarks>
public sealed class TidelogReadJournal : IReadJournal,
    IPersistenceIdsQuery, ICurrentPersistenceIdsQuery,
    IEventsByPersistenceIdQuery, ICurrentEventsByPersistenceIdQuery,
    IEventsByTagQuery, ICurrentEventsByTagQuery,
    IAllEventsQuery, ICurrentAllEventsQuery
{
    /// <summary>The configuration path of this read journal.</summary>
    public const string Identifier = "akka.persistence.query.journal.tidelog";

    private readonly ExtendedActorSystem _system;
    private readonly TidelogSettings _settings;
    private readonly Journal _journal;

    /// <summary>Creates the read journal (use <c>PersistenceQuery.Get(system).ReadJournalFor&lt;TidelogReadJournal&gt;(TidelogReadJournal.Identifier)</c>).</summary>
    public TidelogReadJournal(ExtendedActorSystem system, Config config)
    {
        _system = system;
        string writePlugin = config.GetString("write-plugin", "akka.persistence.journal.tidelog");
        var merged = config.WithFallback(system.Settings.Config.GetConfig(writePlugin) ?? Config.Empty);
        _settings = new TidelogSettings(merged);
        _journal = SharedJournals.Acquire(_settings);
        system.RegisterOnTermination(() => SharedJournals.Release(_journal));
    }

    private Source<T, NotUsed> Pages<T>(Func<long, IReadOnlyList<T>?> readFrom, Func<T, long> nextCursor, long start, bool live)
    {
        var interval = _settings.RefreshInterval;
        return Source.UnfoldAsync<long, IReadOnlyList<T>>(start, async cursor =>
            {
                while (true)
                {
                    var page = await Task.Run(() => readFrom(cursor)).ConfigureAwait(false);
                    if (page is null) return Option<(long, IReadOnlyList<T>)>.None;
                    if (page.Count > 0) return Option<(long, IReadOnlyList<T>)>.Create((nextCursor(page[page.Count - 1]), page));
                    if (!live) return Option<(long, IReadOnlyList<T>)>.None;
                    await Task.Delay(interval).ConfigureAwait(false);
                }
            })
            .SelectMany(page => page);
    }

    /// <summary>
    /// A live query on a subscription: batches as the subscription delivers them (catch-up, then live), until
    /// <paramref name="last"/> says a batch was the last one or the subscription ends (the journal closed). Completing or
    /// cancelling the stream disposes the subscription. Where the journal cannot follow (a read-only files journal),
    /// <paramref name="fallback"/> polls instead.
    /// </summary>
    private Source<Event, NotUsed> Live(Func<Subscription> subscribe, Func<Event, bool> keep, Func<IReadOnlyList<Event>, bool> last,
        Func<Source<Event, NotUsed>> fallback)
    {
        if (!CanFollow()) return fallback();
        return Source.UnfoldResourceAsync<IReadOnlyList<Event>, LiveCursor>(
                () => Task.FromResult(new LiveCursor(subscribe())),
                async cursor =>
                {
                    if (cursor.Done) return Option<IReadOnlyList<Event>>.None;
                    var batch = await cursor.Subscription.NextBatchAsync().ConfigureAwait(false);
                    if (batch.Count == 0) return Option<IReadOnlyList<Event>>.None;
                    cursor.Done = last(batch);
                    return Option<IReadOnlyList<Event>>.Create(batch);
                },
                cursor =>
                {
                    cursor.Subscription.Dispose();
                    return Task.FromResult(Done.Instance);
                })
            .SelectMany(batch => batch.Where(keep));
    }

    private sealed class LiveCursor
    {
        public LiveCursor(Subscription subscription) => Subscription = subscription;
        public readonly Subscription Subscription;
        public bool Done;
    }

    /// <summary>Only a read-only files journal cannot follow (no change notification for its segments): it polls; and
    /// <c>live-queries = poll</c> asks for polling.</summary>
    private bool CanFollow() => !_settings.PollLiveQueries && !(_settings.ReadOnly && _settings.Backend == Backend.Files);

    /// <summary>
    /// Every event a current query may return, read lazily a page at a time and ending at <paramref name="last"/>
    /// (the end fixed when the query starts). <c>Source.From</c> looks ahead, so the stream completes with its last element.
    /// </summary>
    private static IEnumerable<Event> Bounded(Func<long, IReadOnlyList<Event>> readFrom, Func<Event, long> position, long start, long last)
    {
        long cursor = start;
        while (true)
        {
            var page = readFrom(cursor);
            if (page.Count == 0) yield break;
            foreach (var e in page)
            {
                if (position(e) > last) yield break;
                if (!Codec.IsFiller(e)) yield return e;
            }
            cursor = position(page[page.Count - 1]) + 1;
        }
    }

    /// <summary>The last global offset committed when the query starts: a current query ends there.</summary>
    private long LastGlobalOffset() => _journal.NextGlobalOffset() - 1;

    private Source<EventEnvelope, NotUsed> Current(Func<IEnumerable<Event>> events) =>
        Source.FromEnumerator(() => events().GetEnumerator()).Select(Envelope);

    private EventEnvelope Envelope(Event e)
    {
        var p = TidelogJournal.ToPersistent(_system, e);
        return new EventEnvelope(Offset.Sequence(e.GlobalOffset + 1), e.PersistenceId, e.SequenceNr, p.Payload, p.Timestamp, e.Tags.ToArray());
    }

    /// <inheritdoc/>
    public Source<EventEnvelope, NotUsed> EventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr)
    {
        long from = Math.Max(1, fromSequenceNr);
        if (toSequenceNr < from) return Source.Empty<EventEnvelope>();
        return Live(() => _journal.SubscribeStream(persistenceId, from, _settings.PageSize),
                e => e.SequenceNr <= toSequenceNr && !Codec.IsFiller(e),
                batch => batch[batch.Count - 1].SequenceNr >= toSequenceNr,
                () => Pages<Event>(next => next > toSequenceNr ? null : _journal.Read(persistenceId, next, toSequenceNr, _settings.PageSize),
                        e => e.SequenceNr + 1, from, live: true)
                    .Where(e => !Codec.IsFiller(e)))
            .Select(Envelope);
    }

    /// <inheritdoc/>
    public Source<EventEnvelope, NotUsed> CurrentEventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        Current(() =>
        {
            long last = Math.Min(toSequenceNr, _journal.HighestSequenceNr(persistenceId));
            return Bounded(next => _journal.Read(persistenceId, next, last, _settings.PageSize), e => e.SequenceNr, Math.Max(1, fromSequenceNr), last);
        });

    private static long StartOf(Offset offset) => offset switch
    {
        null or NoOffset => 0,
        Sequence s => Math.Max(0, s.Value), // events after s: global offset >= s (offsets are global offset + 1)
        _ => throw new ArgumentException($"Tidelog read journal supports Sequence offsets, not {offset.GetType().Name}", nameof(offset)),
    };

    private Source<EventEnvelope, NotUsed> ByTag(string tag, Offset offset)
    {
        long start = StartOf(offset);
        return Live(() => _journal.SubscribeTag(tag, start, _settings.PageSize), _ => true, _ => false,
                () => Pages<Event>(from => _journal.EventsByTag(tag, from, _settings.PageSize), e => e.GlobalOffset + 1, start, live: true))
            .Select(Envelope);
    }

    /// <inheritdoc/>
    public Source<EventEnvelope, NotUsed> EventsByTag(string tag, Offset offset) => ByTag(tag, offset);

    /// <inheritdoc/>
    public Source<EventEnvelope, NotUsed> CurrentEventsByTag(string tag, Offset offset) =>
        Current(() => Bounded(from => _journal.EventsByTag(tag, from, _settings.PageSize), e => e.GlobalOffset, StartOf(offset), LastGlobalOffset()));

    private Source<EventEnvelope, NotUsed> All(Offset offset)
    {
        long start = StartOf(offset);
        return Live(() => _journal.SubscribeAll(start, _settings.PageSize), e => !Codec.IsFiller(e), _ => false,
                () => Pages<Event>(from => _journal.AllEvents(from, _settings.PageSize), e => e.GlobalOffset + 1, start, live: true)
                    .Where(e => !Codec.IsFiller(e)))
            .Select(Envelope);
    }

    /// <inheritdoc/>
    public Source<EventEnvelope, NotUsed> AllEvents(Offset offset) => All(offset);

    /// <inheritdoc/>
    public Source<EventEnvelope, NotUsed> CurrentAllEvents(Offset offset) =>
        Current(() => Bounded(from => _journal.AllEvents(from, _settings.PageSize), e => e.GlobalOffset, StartOf(offset), LastGlobalOffset()));

    /// <inheritdoc/>
    public Source<string, NotUsed> CurrentPersistenceIds() =>
        Source.FromTask(Task.Run(() => _journal.PersistenceIds())).SelectMany(ids => ids);

    /// <inheritdoc/>
    /// <remarks>The ids stored when the query starts, then each new id once, as the subscription to every event sees
    /// its first event (fillers included: a stream whose first write was rejected still exists).</remarks>
    public Source<string, NotUsed> PersistenceIds()
    {
        if (!CanFollow()) return PolledPersistenceIds();
        var seen = new HashSet<string>();
        return Source.FromTask(Task.Run(() =>
            {
                // The offset first, then the ids: an id written in between comes from both, and the set drops the second.
                long next = _journal.NextGlobalOffset();
                return (next, ids: _journal.PersistenceIds());
            }))
            .ConcatMany(start => Source.From(start.ids)
                .Concat(Live(() => _journal.SubscribeAll(start.next, _settings.PageSize), _ => true, _ => false, Source.Empty<Event>)
                    .Select(e => e.PersistenceId)))
            .Where(seen.Add);
    }

    private Source<string, NotUsed> PolledPersistenceIds()
    {
        var interval = _settings.RefreshInterval;
        return Source.UnfoldAsync<HashSet<string>, IReadOnlyList<string>>(new HashSet<string>(), async seen =>
            {
                while (true)
                {
                    var ids = await Task.Run(() => _journal.PersistenceIds()).ConfigureAwait(false);
                    var fresh = ids.Where(seen.Add).ToList();
                    if (fresh.Count > 0) return Option<(HashSet<string>, IReadOnlyList<string>)>.Create((seen, fresh));
                    await Task.Delay(interval).ConfigureAwait(false);
                }
            })
            .SelectMany(ids => ids);
    }
}
