using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Tidelog;
using Xunit;
using static Tidelog.Tests.Support;

namespace Tidelog.Tests;

/// <summary>Every operation on every backend.</summary>
public class JournalTests
{
    /// <summary>Every backend; PostgreSQL when <see cref="Support.PostgresEnabled"/>.</summary>
    public static IEnumerable<object[]> Backends =>
        new[] { Backend.Lmdb, Backend.Files, Backend.Memory }.Concat(PostgresEnabled ? new[] { Backend.Postgres } : Array.Empty<Backend>()).Select(b => new object[] { b });

    [Theory, MemberData(nameof(Backends))]
    public void Append_and_read_round_trip_every_field(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        Assert.Equal(backend, journal.Backend);
        var first = new NewEvent(Bytes("one")) { Manifest = "Added", WriterId = "writer-1", Tags = new[] { "green", "blue" }, Timestamp = 1_700_000_000_123, SerializerId = 42 };
        var second = new NewEvent(Bytes("two")) { Metadata = new byte[] { 9, 8, 7 } };
        var receipt = journal.Append("cart-1", new[] { first, second });
        Assert.Equal(1, receipt.FirstSequenceNr);
        Assert.Equal(2, receipt.LastSequenceNr);

        var events = journal.Read("cart-1");
        Assert.Equal(2, events.Count);
        var e = events[0];
        Assert.Equal("cart-1", e.PersistenceId);
        Assert.Equal(1, e.SequenceNr);
        Assert.Equal(receipt.FirstGlobalOffset, e.GlobalOffset);
        Assert.Equal(1_700_000_000_123, e.Timestamp);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), e.Time);
        Assert.Equal("Added", e.Manifest);
        Assert.Equal("writer-1", e.WriterId);
        Assert.Equal(new[] { "green", "blue" }, e.Tags);
        Assert.Equal(42, e.SerializerId);
        Assert.Equal("one", Text(e.Payload));
        var s = events[1];
        Assert.Equal(2, s.SequenceNr);
        Assert.Equal(e.GlobalOffset + 1, s.GlobalOffset);
        Assert.True(s.Timestamp > 1_700_000_000_123, "the journal stamps events without a timestamp");
        Assert.Equal(new byte[] { 9, 8, 7 }, s.Metadata);
        Assert.Null(s.SerializerId);
        Assert.Empty(s.Tags);
        Assert.Equal("", s.Manifest);

        Assert.Equal(3, journal.Append("cart-1", new NewEvent(Bytes("three"))).FirstSequenceNr);
        Assert.Equal(new long[] { 2, 3 }, journal.Read("cart-1", 2, 3).Select(x => x.SequenceNr));
        Assert.Single(journal.Read("cart-1", 1, long.MaxValue, 1));
        Assert.Empty(journal.Read("nobody"));
    }

    [Theory, MemberData(nameof(Backends))]
    public void Write_commits_each_atomic_write_alone(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        journal.Append("a", new NewEvent(Bytes("a1")));
        var results = journal.Write(new[]
        {
            new AtomicWrite("b", 1, new[] { new NewEvent(Bytes("b1")), new NewEvent(Bytes("b2")) }),
            new AtomicWrite("a", 5, new[] { new NewEvent(Bytes("stale")) }),
            new AtomicWrite("a", 2, new[] { new NewEvent(Bytes("a2")) }),
            new AtomicWrite("", 1, new[] { new NewEvent(Bytes("bad")) }),
        });
        Assert.Equal(4, results.Count);
        Assert.True(results[0].IsSuccess);
        Assert.Equal(2, results[0].Receipt.LastSequenceNr);
        var conflict = Assert.IsType<SequenceConflictException>(results[1].Error);
        Assert.Equal(2, conflict.Expected);
        Assert.Equal(5, conflict.Actual);
        Assert.True(results[2].IsSuccess);
        Assert.IsType<JournalArgumentException>(results[3].Error);
        Assert.Equal(new[] { "a1", "a2" }, journal.Read("a").Select(e => Text(e.Payload)));
        Assert.Equal(1, journal.Metrics().SequenceConflicts);
    }

    [Theory, MemberData(nameof(Backends))]
    public void Highest_sequence_nr_survives_delete(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        Assert.Equal(0, journal.HighestSequenceNr("p"));
        for (int i = 0; i < 5; i++) journal.Append("p", new NewEvent(Bytes($"e{i}")));
        journal.DeleteTo("p", 3);
        Assert.Equal(new long[] { 4, 5 }, journal.Read("p").Select(e => e.SequenceNr));
        Assert.Equal(5, journal.HighestSequenceNr("p"));
        journal.DeleteTo("p", 100);
        Assert.Empty(journal.Read("p"));
        Assert.Equal(5, journal.HighestSequenceNr("p"));
        Assert.Equal(6, journal.Append("p", new NewEvent(Bytes("e6"))).FirstSequenceNr);
        journal.Flush();
    }

    [Theory, MemberData(nameof(Backends))]
    public void Next_global_offset_is_the_offset_of_the_next_event(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        Assert.Equal(1, journal.NextGlobalOffset());
        var receipt = journal.Append("a", new[] { new NewEvent(Bytes("a1")), new NewEvent(Bytes("a2")) });
        Assert.Equal(1, receipt.FirstGlobalOffset);
        Assert.Equal(3, journal.NextGlobalOffset());
        journal.Append("b", new NewEvent(Bytes("b1")));
        journal.DeleteTo("b", 1); // deleting does not hand offsets out again
        Assert.Equal(4, journal.NextGlobalOffset());
        Assert.Equal(4, journal.Append("a", new NewEvent(Bytes("a3"))).FirstGlobalOffset);
    }

    [Theory, MemberData(nameof(Backends))]
    public void Tags_all_events_and_persistence_ids(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        journal.Append("x", new[] { new NewEvent(Bytes("x1")) { Tags = new[] { "t" } }, new NewEvent(Bytes("x2")) });
        journal.Append("y", new NewEvent(Bytes("y1")) { Tags = new[] { "t", "u" } });
        var tagged = journal.EventsByTag("t");
        Assert.Equal(new[] { "x1", "y1" }, tagged.Select(e => Text(e.Payload)));
        Assert.True(tagged[0].GlobalOffset < tagged[1].GlobalOffset);
        Assert.Equal(new[] { "y1" }, journal.EventsByTag("t", tagged[0].GlobalOffset + 1).Select(e => Text(e.Payload)));
        Assert.Single(journal.EventsByTag("t", 0, 1));
        Assert.Empty(journal.EventsByTag("none"));
        var all = journal.AllEvents();
        Assert.Equal(new[] { "x1", "x2", "y1" }, all.Select(e => Text(e.Payload)));
        Assert.Equal(new[] { "x2", "y1" }, journal.AllEvents(all[1].GlobalOffset).Select(e => Text(e.Payload)));
        Assert.Equal(new[] { "x", "y" }, journal.PersistenceIds());
        var metrics = journal.Metrics();
        Assert.Equal(3, metrics.Events);
        Assert.Equal(2, metrics.Appends);
        Assert.Contains("events", journal.MetricsPrometheus());
    }

    [Theory, MemberData(nameof(Backends))]
    public void Replay_pages_through_a_long_stream(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        for (int i = 0; i < 10; i++)
            journal.Append("long", Enumerable.Range(0, 100).Select(k => new NewEvent(Bytes($"{i * 100 + k + 1}"))).ToArray());
        var replayed = journal.Replay("long", 5, 995, pageSize: 64).ToList();
        Assert.Equal(991, replayed.Count);
        Assert.Equal(Enumerable.Range(5, 991).Select(i => (long)i), replayed.Select(e => e.SequenceNr));
        Assert.All(replayed, e => Assert.Equal(e.SequenceNr.ToString(), Text(e.Payload)));
    }

    [Theory, MemberData(nameof(Backends))]
    public async Task Async_operations_complete_through_the_queue(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        var r = await journal.AppendAsync("p", new[] { new NewEvent(Bytes("1")), new NewEvent(Bytes("2")) });
        Assert.Equal(2, r.LastSequenceNr);
        var results = await journal.WriteAsync(new[] { new AtomicWrite("p", 3, new[] { new NewEvent(Bytes("3")) }), new AtomicWrite("p", 9, new[] { new NewEvent(Bytes("x")) }) });
        Assert.True(results[0].IsSuccess);
        Assert.Equal(4, Assert.IsType<SequenceConflictException>(results[1].Error).Expected);
        await journal.DeleteToAsync("p", 1);
        await journal.FlushAsync();
        Assert.Equal(new long[] { 2, 3 }, (await journal.ReadAsync("p")).Select(e => e.SequenceNr));
        await Assert.ThrowsAsync<JournalArgumentException>(() => journal.AppendAsync("", new NewEvent(Bytes("x"))));
        await Assert.ThrowsAsync<JournalArgumentException>(() => journal.AppendAsync("p", Array.Empty<NewEvent>()));
    }

    [Theory, MemberData(nameof(Backends))]
    public async Task A_thousand_concurrent_async_appends_all_complete(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        var tasks = Enumerable.Range(0, 1000)
            .Select(i => Task.Run(() => journal.AppendAsync(i % 2 == 0 ? "even" : "shared", new NewEvent(Bytes($"e{i}")))))
            .ToArray();
        var receipts = await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), receipts.Where((_, i) => i % 2 == 0).Select(r => r.FirstSequenceNr).OrderBy(x => x));
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), receipts.Where((_, i) => i % 2 == 1).Select(r => r.FirstSequenceNr).OrderBy(x => x));
        Assert.Equal(1000, receipts.Select(r => r.FirstGlobalOffset).Distinct().Count());
        Assert.Equal(500, journal.Read("even").Count);
        Assert.Equal(500, journal.Read("shared").Count);
    }

    [Theory, MemberData(nameof(Backends))]
    public void Snapshots_save_load_with_criteria_list_delete_prune(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        var store = journal.Snapshots;
        store.Save(new Snapshot("s", 2, 1000, Bytes("state-2")) { Manifest = "Cart", SerializerId = 7 });
        store.Save(new Snapshot("s", 4, 2000, Bytes("state-4")) { Metadata = new byte[] { 1, 2, 3 } });
        store.Save(new Snapshot("s", 6, 3000, Bytes("state-6")));
        store.Save(new Snapshot("other", 1, 1, Bytes("o")));

        var latest = store.Load("s");
        Assert.NotNull(latest);
        Assert.Equal(6, latest!.SequenceNr);
        Assert.Equal(3000, latest.Timestamp);
        var two = store.Load("s", new SnapshotCriteria(maxSequenceNr: 3))!;
        Assert.Equal("state-2", Text(two.State));
        Assert.Equal("Cart", two.Manifest);
        Assert.Equal(7, two.SerializerId);
        Assert.Equal(new byte[] { 1, 2, 3 }, store.Load("s", new SnapshotCriteria(maxTimestamp: 2500))!.Metadata);
        Assert.Equal(4, store.Load("s", new SnapshotCriteria(maxSequenceNr: 5, minTimestamp: 1500))!.SequenceNr);
        Assert.Equal(6, store.Load("s", new SnapshotCriteria(minSequenceNr: 5))!.SequenceNr);
        Assert.Null(store.Load("s", new SnapshotCriteria(maxTimestamp: 999)));
        Assert.Null(store.Load("s", SnapshotCriteria.None));
        Assert.Null(store.Load("missing"));

        Assert.Equal(new long[] { 2, 4, 6 }, store.List("s").Select(i => i.SequenceNr));
        Assert.Equal(new long[] { 1000, 2000, 3000 }, store.List("s").Select(i => i.Timestamp));
        Assert.Equal(new[] { "other", "s" }, store.PersistenceIds());
        Assert.False(store.Delete("s", 3));
        Assert.True(store.Delete("s", 6));
        Assert.Equal(4, store.Load("s")!.SequenceNr);
        store.Save(new Snapshot("s", 8, 4000, Bytes("8")));
        store.Save(new Snapshot("s", 9, 5000, Bytes("9")));
        Assert.Equal(1, store.Prune("s", 3));
        Assert.Equal(new long[] { 4, 8, 9 }, store.List("s").Select(i => i.SequenceNr));
        Assert.Equal(2, store.DeleteMatching("s", new SnapshotCriteria(maxSequenceNr: 8)));
        Assert.Equal(new long[] { 9 }, store.List("s").Select(i => i.SequenceNr));
    }

    [Theory, MemberData(nameof(Backends))]
    public async Task Snapshot_async_forms(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        await journal.Snapshots.SaveAsync(new Snapshot("s", 1, 10, Bytes("a")));
        await journal.Snapshots.SaveAsync(new Snapshot("s", 2, 20, Bytes("b")));
        Assert.Equal("b", Text((await journal.Snapshots.LoadAsync("s"))!.State));
        Assert.True(await journal.Snapshots.DeleteAsync("s", 2));
        Assert.Equal(1, await journal.Snapshots.DeleteMatchingAsync("s", SnapshotCriteria.Latest));
        Assert.Null(await journal.Snapshots.LoadAsync("s"));
    }

    [Theory]
    [InlineData(Backend.Lmdb)]
    [InlineData(Backend.Files)]
    public void Persistent_backends_keep_everything_across_reopen(Backend backend)
    {
        using var dir = new TempDir();
        long offset;
        using (var journal = Open(dir, backend))
        {
            offset = journal.Append("p", new[] { new NewEvent(Bytes("1")) { Timestamp = 123456789012 }, new NewEvent(Bytes("2")) }).FirstGlobalOffset;
            journal.DeleteTo("p", 1);
            journal.Snapshots.Save(new Snapshot("p", 2, 55, Bytes("snap")));
        }
        using (var journal = Open(dir, backend))
        {
            Assert.Equal(2, journal.HighestSequenceNr("p"));
            var e = Assert.Single(journal.Read("p"));
            Assert.Equal(offset + 1, e.GlobalOffset);
            Assert.Equal("snap", Text(journal.Snapshots.Load("p")!.State));
            Assert.Equal(3, journal.Append("p", new NewEvent(Bytes("3"))).FirstSequenceNr);
        }
    }

    [Fact]
    public void Options_are_applied_and_validated()
    {
        using var dir = new TempDir();
        Assert.Throws<JournalArgumentException>(() => Journal.Open(dir.Sub("bad"), new JournalOptions { MaxBatchEvents = 0 }));
        Assert.Throws<JournalArgumentException>(() => Journal.Open(dir.Sub("bad"), new JournalOptions { Sync = SyncPolicy.Interval, SyncInterval = TimeSpan.Zero }));
        using (var journal = Journal.Open(dir.Sub("j"), new JournalOptions { Backend = Backend.Files, Sync = SyncPolicy.Interval, SyncInterval = TimeSpan.FromMilliseconds(5), MaxEventBytes = 1024 }))
        {
            journal.Append("p", new NewEvent(new byte[100]));
            Assert.Throws<JournalArgumentException>(() => journal.Append("p", new NewEvent(new byte[4096])));
        }
        using var reader = Journal.Open(dir.Sub("j"), new JournalOptions { Backend = Backend.Files, ReadOnly = true });
        Assert.Single(reader.Read("p"));
        Assert.Throws<JournalArgumentException>(() => reader.Append("p", new NewEvent(new byte[1])));
        Assert.Equal(2u, Journal.NativeAbiVersion);
        Assert.False(string.IsNullOrEmpty(Journal.NativeVersion));
    }
}
