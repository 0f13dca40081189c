using System;
using System.Collections.Generic;
using System.Linq;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Xunit;
using Xunit.Abstractions;

namespace Tidelog.Persistence.Akka.Tests.Conformance;

/// <summary>
/// The eight Akka.Persistence.Query queries of the read journal: current and live, by persistence id, by tag, all
/// events, persistence ids. Every test starts from seven events of two streams written in this global order:
/// A1 (red), B1 (red), A2, B2, A3 (red, blue), B3 (red), A4 (blue). Pages hold 3 events, so every query crosses pages.
/// </summary>
public abstract class QueryConformance : PluginSpec
{
    protected readonly string A = NewPid("a"), B = NewPid("b");
    private static readonly string[] AllInOrder = { "A1", "B1", "A2", "B2", "A3", "B3", "A4" };
    private static readonly string[] Red = { "A1", "B1", "A3", "B3" };
    private static readonly string[] Blue = { "A3", "A4" };

    protected QueryConformance(string backend, ITestOutputHelper output) : base(backend, output)
    {
        WriteAndConfirm(
            Atomic(Repr(A, 1, Tag("A1", "red"))),
            Atomic(Repr(B, 1, Tag("B1", "red"))),
            Atomic(Repr(A, 2, "A2")),
            Atomic(Repr(B, 2, "B2")),
            Atomic(Repr(A, 3, Tag("A3", "red", "blue"))),
            Atomic(Repr(B, 3, Tag("B3", "red"))),
            Atomic(Repr(A, 4, Tag("A4", "blue"))));
    }

    private static object Tag(string payload, params string[] tags) => new Tagged(payload, tags);

    private static string[] Payloads(IEnumerable<EventEnvelope> envelopes) => envelopes.Select(e => (string)e.Event).ToArray();

    private static long OffsetOf(EventEnvelope e) => ((Sequence)e.Offset).Value;

    private static void AssertIncreasingOffsets(IReadOnlyList<EventEnvelope> envelopes)
    {
        for (int i = 1; i < envelopes.Count; i++)
            Assert.True(OffsetOf(envelopes[i]) > OffsetOf(envelopes[i - 1]), $"offset {OffsetOf(envelopes[i])} after {OffsetOf(envelopes[i - 1])}");
    }

    /// <summary>Materializes a live source into a probe (elements, then "complete" or the failure).</summary>
    private global::Akka.TestKit.TestProbe Follow<T>(Source<T, global::Akka.NotUsed> source)
    {
        var probe = CreateTestProbe();
        source.RunWith(Sink.ActorRef<T>(probe.Ref, "complete", e => e), Materializer());
        return probe;
    }

    private void Write(string pid, long seq, object payload) => WriteAndConfirm(Atomic(Repr(pid, seq, payload)));

    // ---- persistence ids ----

    [Fact]
    public void CurrentPersistenceIds_lists_every_stream_once_and_completes()
    {
        var ids = RunToEnd(Queries().CurrentPersistenceIds());
        Assert.Equal(new[] { A, B }.OrderBy(x => x), ids.OrderBy(x => x));
    }

    [Fact]
    public void PersistenceIds_lists_the_existing_streams_then_new_ones_once()
    {
        var probe = Follow(Queries().PersistenceIds());
        var first = new[] { probe.ExpectMsg<string>(), probe.ExpectMsg<string>() };
        Assert.Equal(new[] { A, B }.OrderBy(x => x), first.OrderBy(x => x));
        Write(A, 5, "A5"); // more events of a known stream: not listed again
        string c = NewPid("c");
        Write(c, 1, "C1");
        Assert.Equal(c, probe.ExpectMsg<string>());
    }

    // ---- by persistence id ----

    [Theory]
    [InlineData(0, long.MaxValue, "A1,A2,A3,A4")]
    [InlineData(1, long.MaxValue, "A1,A2,A3,A4")]
    [InlineData(2, 3, "A2,A3")]
    [InlineData(3, long.MaxValue, "A3,A4")]
    [InlineData(4, 4, "A4")]
    [InlineData(5, long.MaxValue, "")]
    [InlineData(3, 2, "")]
    public void CurrentEventsByPersistenceId_returns_the_range_and_completes(long from, long to, string expected)
    {
        var events = RunToEnd(Queries().CurrentEventsByPersistenceId(A, from, to));
        Assert.Equal(expected.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries), Payloads(events));
        Assert.All(events, e => Assert.Equal(A, e.PersistenceId));
    }

    [Fact]
    public void CurrentEventsByPersistenceId_skips_deleted_events()
    {
        DeleteTo(A, 2);
        Assert.Equal(new[] { "A3", "A4" }, Payloads(RunToEnd(Queries().CurrentEventsByPersistenceId(A, 0, long.MaxValue))));
    }

    [Fact]
    public void CurrentEventsByPersistenceId_of_an_unknown_stream_completes_empty() =>
        Assert.Empty(RunToEnd(Queries().CurrentEventsByPersistenceId(NewPid(), 0, long.MaxValue)));

    [Fact]
    public void EventsByPersistenceId_delivers_the_stored_events_then_new_ones_and_ends_at_its_bound()
    {
        var probe = Follow(Queries().EventsByPersistenceId(A, 0, 5));
        for (int i = 1; i <= 4; i++) Assert.Equal($"A{i}", probe.ExpectMsg<EventEnvelope>().Event);
        Write(A, 5, "A5");
        var fifth = probe.ExpectMsg<EventEnvelope>();
        Assert.Equal("A5", fifth.Event);
        Assert.Equal(5, fifth.SequenceNr);
        probe.ExpectMsg("complete");
    }

    [Fact]
    public void EventsByPersistenceId_of_a_stream_without_events_waits_for_its_first()
    {
        string c = NewPid("c");
        var probe = Follow(Queries().EventsByPersistenceId(c, 0, 2));
        Write(c, 1, "C1");
        Write(c, 2, "C2");
        Assert.Equal("C1", probe.ExpectMsg<EventEnvelope>().Event);
        Assert.Equal("C2", probe.ExpectMsg<EventEnvelope>().Event);
        probe.ExpectMsg("complete");
    }

    [Fact]
    public void Envelopes_carry_the_stream_sequence_number_timestamp_and_the_offset_of_all_events()
    {
        var byPid = RunToEnd(Queries().CurrentEventsByPersistenceId(B, 0, long.MaxValue));
        var all = RunToEnd(Queries().CurrentAllEvents(NoOffset.Instance)).ToDictionary(e => (string)e.Event);
        Assert.Equal(new long[] { 1, 2, 3 }, byPid.Select(e => e.SequenceNr));
        foreach (var e in byPid)
        {
            Assert.Equal(B, e.PersistenceId);
            Assert.Equal(OffsetOf(all[(string)e.Event]), OffsetOf(e));
            Assert.InRange(new DateTime(e.Timestamp, DateTimeKind.Utc), DateTime.UtcNow.AddMinutes(-10), DateTime.UtcNow.AddMinutes(1));
        }
    }

    // ---- by tag ----

    [Fact]
    public void CurrentEventsByTag_returns_the_tagged_events_in_global_order_with_increasing_offsets()
    {
        var red = RunToEnd(Queries().CurrentEventsByTag("red", NoOffset.Instance));
        Assert.Equal(Red, Payloads(red));
        AssertIncreasingOffsets(red);
        Assert.Equal(Blue, Payloads(RunToEnd(Queries().CurrentEventsByTag("blue", NoOffset.Instance))));
    }

    [Fact]
    public void CurrentEventsByTag_of_an_unknown_tag_completes_empty() =>
        Assert.Empty(RunToEnd(Queries().CurrentEventsByTag("green", NoOffset.Instance)));

    [Fact]
    public void Tagged_envelopes_carry_their_tags()
    {
        var a3 = RunToEnd(Queries().CurrentEventsByTag("blue", NoOffset.Instance)).First();
        Assert.Equal(new[] { "blue", "red" }, a3.Tags.OrderBy(t => t));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CurrentEventsByTag_from_an_offset_returns_exactly_the_events_after_it(int consumed)
    {
        var red = RunToEnd(Queries().CurrentEventsByTag("red", NoOffset.Instance));
        var rest = RunToEnd(Queries().CurrentEventsByTag("red", red[consumed - 1].Offset));
        Assert.Equal(Red.Skip(consumed), Payloads(rest));
    }

    [Fact]
    public void NoOffset_and_Sequence_zero_both_start_at_the_beginning()
    {
        Assert.Equal(Red, Payloads(RunToEnd(Queries().CurrentEventsByTag("red", Offset.Sequence(0)))));
        Assert.Equal(AllInOrder, Payloads(RunToEnd(Queries().CurrentAllEvents(Offset.Sequence(0)))));
    }

    [Fact]
    public void EventsByTag_delivers_the_stored_events_then_new_ones()
    {
        var probe = Follow(Queries().EventsByTag("red", NoOffset.Instance));
        foreach (var expected in Red) Assert.Equal(expected, probe.ExpectMsg<EventEnvelope>().Event);
        Write(B, 4, "B4");
        Write(B, 5, Tag("B5", "red"));
        var next = probe.ExpectMsg<EventEnvelope>();
        Assert.Equal("B5", next.Event);
        Assert.Equal(5, next.SequenceNr);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void EventsByTag_resumed_from_an_offset_continues_without_duplicates_or_gaps(int consumed)
    {
        var firstRun = Take(Queries().EventsByTag("red", NoOffset.Instance), consumed);
        Write(A, 5, Tag("A5", "red"));
        var resumed = Take(Queries().EventsByTag("red", firstRun.Last().Offset), Red.Length - consumed + 1);
        Assert.Equal(Red.Concat(new[] { "A5" }), Payloads(firstRun.Concat(resumed)));
        AssertIncreasingOffsets(firstRun.Concat(resumed).ToList());
    }

    [Fact]
    public void A_tag_query_and_all_events_give_one_event_the_same_offset()
    {
        var all = RunToEnd(Queries().CurrentAllEvents(NoOffset.Instance)).ToDictionary(e => (string)e.Event, OffsetOf);
        foreach (var e in RunToEnd(Queries().CurrentEventsByTag("red", NoOffset.Instance)))
            Assert.Equal(all[(string)e.Event], OffsetOf(e));
    }

    [Fact]
    public void An_offset_type_other_than_Sequence_is_refused()
    {
        // Refused when the query is created or when it runs, with an ArgumentException either way.
        var error = Record.Exception(() => RunToEnd(Queries().CurrentEventsByTag("red", new TimeBasedUuid(Guid.NewGuid()))));
        while (error is AggregateException { InnerException: not null } wrapped) error = wrapped.InnerException;
        Assert.IsType<ArgumentException>(error);
    }

    // ---- all events ----

    [Fact]
    public void CurrentAllEvents_returns_every_event_in_global_order_and_completes()
    {
        var all = RunToEnd(Queries().CurrentAllEvents(NoOffset.Instance));
        Assert.Equal(AllInOrder, Payloads(all));
        AssertIncreasingOffsets(all);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void CurrentAllEvents_from_an_offset_returns_exactly_the_events_after_it(int consumed)
    {
        var all = RunToEnd(Queries().CurrentAllEvents(NoOffset.Instance));
        Assert.Equal(AllInOrder.Skip(consumed), Payloads(RunToEnd(Queries().CurrentAllEvents(all[consumed - 1].Offset))));
    }

    [Fact]
    public void AllEvents_delivers_the_stored_events_then_new_ones()
    {
        var probe = Follow(Queries().AllEvents(NoOffset.Instance));
        foreach (var expected in AllInOrder) Assert.Equal(expected, probe.ExpectMsg<EventEnvelope>().Event);
        string c = NewPid("c");
        Write(c, 1, "C1");
        Assert.Equal("C1", probe.ExpectMsg<EventEnvelope>().Event);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    public void AllEvents_resumed_from_an_offset_continues_without_duplicates_or_gaps(int consumed)
    {
        var firstRun = Take(Queries().AllEvents(NoOffset.Instance), consumed);
        Write(B, 4, "B4");
        var resumed = Take(Queries().AllEvents(firstRun.Last().Offset), AllInOrder.Length - consumed + 1);
        Assert.Equal(AllInOrder.Concat(new[] { "B4" }), Payloads(firstRun.Concat(resumed)));
    }

    [Fact]
    public void A_rejected_event_appears_in_no_query()
    {
        var probe = CreateTestProbe();
        SendWrites(probe.Ref, 1, Atomic(Repr(A, 5, Tag("A5", "red"))), Atomic(Repr(A, 6, new Tagged(new Unserializable(), new[] { "red" }))), Atomic(Repr(A, 7, Tag("A7", "red"))));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        probe.ExpectMsg<WriteMessageSuccess>();
        probe.ExpectMsg<WriteMessageRejected>();
        probe.ExpectMsg<WriteMessageSuccess>();
        Assert.Equal(new[] { "A1", "A2", "A3", "A4", "A5", "A7" }, Payloads(RunToEnd(Queries().CurrentEventsByPersistenceId(A, 0, long.MaxValue))));
        Assert.Equal(Red.Concat(new[] { "A5", "A7" }), Payloads(RunToEnd(Queries().CurrentEventsByTag("red", NoOffset.Instance))));
        Assert.Equal(AllInOrder.Concat(new[] { "A5", "A7" }), Payloads(RunToEnd(Queries().CurrentAllEvents(NoOffset.Instance))));
        Assert.Equal(new[] { "A5", "A7" }, Payloads(Take(Queries().EventsByPersistenceId(A, 5, long.MaxValue), 2)));
    }
}

public sealed class LmdbQueryConformance : QueryConformance
{
    public LmdbQueryConformance(ITestOutputHelper output) : base("lmdb", output) { }
}

public sealed class FilesQueryConformance : QueryConformance
{
    public FilesQueryConformance(ITestOutputHelper output) : base("files", output) { }
}

[Trait("Backend", "postgres")]
public sealed class PostgresQueryConformance : QueryConformance
{
    public PostgresQueryConformance(ITestOutputHelper output) : base("postgres", output) { }
}
