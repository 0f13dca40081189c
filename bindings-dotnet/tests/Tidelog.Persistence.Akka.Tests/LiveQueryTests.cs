using System;
using System.Linq;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Tidelog.Persistence.Akka.Tests.Conformance;
using Xunit;
using Xunit.Abstractions;

namespace Tidelog.Persistence.Akka.Tests;

/// <summary>
/// Live queries run on subscriptions: with a refresh interval of an hour, polling would deliver nothing written after
/// a query caught up within the test's 20 s expectations, so each new event arriving shows that the journal woke it.
/// </summary>
public abstract class LiveQueryTests : PluginSpec
{
    protected LiveQueryTests(string backend, ITestOutputHelper output)
        : base(backend, output, "akka.persistence.query.journal.tidelog.refresh-interval = 1h") { }

    private global::Akka.TestKit.TestProbe Follow<T>(Source<T, global::Akka.NotUsed> source)
    {
        var probe = CreateTestProbe();
        source.RunWith(Sink.ActorRef<T>(probe.Ref, "complete", e => e), Materializer());
        return probe;
    }

    [Fact]
    public void Every_live_query_is_woken_by_the_journal_not_by_the_refresh_interval()
    {
        string a = NewPid("a"), b = NewPid("b");
        WriteAndConfirm(Atomic(Repr(a, 1, new global::Akka.Persistence.Journal.Tagged("a1", new[] { "green" }))));
        var q = Queries();
        var byTag = Follow(q.EventsByTag("green", NoOffset.Instance));
        var all = Follow(q.AllEvents(NoOffset.Instance));
        var byPid = Follow(q.EventsByPersistenceId(a, 1, 3));
        var ids = Follow(q.PersistenceIds());
        Assert.Equal("a1", byTag.ExpectMsg<EventEnvelope>().Event);
        Assert.Equal("a1", all.ExpectMsg<EventEnvelope>().Event);
        Assert.Equal("a1", byPid.ExpectMsg<EventEnvelope>().Event);
        Assert.Equal(a, ids.ExpectMsg<string>());

        // Caught up: from here on only the journal's wake-up can deliver within the test.
        WriteAndConfirm(Atomic(Repr(b, 1, "b1")));
        WriteAndConfirm(Atomic(Repr(a, 2, new global::Akka.Persistence.Journal.Tagged("a2", new[] { "green" }))));
        WriteAndConfirm(Atomic(Repr(a, 3, "a3")), Atomic(Repr(a, 4, "a4")));
        Assert.Equal("a2", byTag.ExpectMsg<EventEnvelope>().Event);
        Assert.Equal(new object[] { "b1", "a2", "a3", "a4" }, Enumerable.Range(0, 4).Select(_ => all.ExpectMsg<EventEnvelope>().Event));
        var tail = new[] { byPid.ExpectMsg<EventEnvelope>(), byPid.ExpectMsg<EventEnvelope>() };
        Assert.Equal(new object[] { "a2", "a3" }, tail.Select(e => e.Event));
        byPid.ExpectMsg("complete"); // the live query ends at its bound (3) although a4 exists
        Assert.Equal(b, ids.ExpectMsg<string>());
        ids.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // a's later events name no new id
    }
}

/// <summary><c>live-queries = poll</c>: the polling path (also the fallback of a read-only files journal) still delivers.</summary>
public abstract class PolledLiveQueryTests : PluginSpec
{
    protected PolledLiveQueryTests(string backend, ITestOutputHelper output)
        : base(backend, output, "akka.persistence.query.journal.tidelog { live-queries = poll, refresh-interval = 20ms }") { }

    [Fact]
    public void Polled_live_queries_deliver_the_stored_events_then_new_ones()
    {
        string a = NewPid("a");
        WriteAndConfirm(Atomic(Repr(a, 1, new global::Akka.Persistence.Journal.Tagged("a1", new[] { "green" }))));
        var byTag = CreateTestProbe();
        Queries().EventsByTag("green", NoOffset.Instance).RunWith(Sink.ActorRef<EventEnvelope>(byTag.Ref, "complete", e => e), Materializer());
        var ids = CreateTestProbe();
        Queries().PersistenceIds().RunWith(Sink.ActorRef<string>(ids.Ref, "complete", e => e), Materializer());
        Assert.Equal("a1", byTag.ExpectMsg<EventEnvelope>().Event);
        Assert.Equal(a, ids.ExpectMsg<string>());
        string b = NewPid("b");
        WriteAndConfirm(Atomic(Repr(b, 1, new global::Akka.Persistence.Journal.Tagged("b1", new[] { "green" }))));
        Assert.Equal("b1", byTag.ExpectMsg<EventEnvelope>().Event);
        Assert.Equal(b, ids.ExpectMsg<string>());
    }
}

public sealed class LmdbLiveQueryTests : LiveQueryTests
{
    public LmdbLiveQueryTests(ITestOutputHelper output) : base("lmdb", output) { }
}

public sealed class FilesLiveQueryTests : LiveQueryTests
{
    public FilesLiveQueryTests(ITestOutputHelper output) : base("files", output) { }
}

public sealed class LmdbPolledLiveQueryTests : PolledLiveQueryTests
{
    public LmdbPolledLiveQueryTests(ITestOutputHelper output) : base("lmdb", output) { }
}

[Trait("Backend", "postgres")]
public sealed class PostgresLiveQueryTests : LiveQueryTests
{
    public PostgresLiveQueryTests(ITestOutputHelper output) : base("postgres", output) { }
}
