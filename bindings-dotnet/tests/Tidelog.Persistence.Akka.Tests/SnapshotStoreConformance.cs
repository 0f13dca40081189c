using System;
using System.Linq;
using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Tidelog.Persistence.Akka.Tests.Conformance;

/// <summary>
/// The snapshot-store contract of Akka.NET's <c>SnapshotStore</c>, through its protocol and through a persistent
/// actor. Every test starts from five snapshots "s-1" .. "s-5" of a fresh persistence id at sequence numbers
/// 11 .. 15, one second apart, each timestamp off a whole millisecond (they must round-trip to the tick).
/// </summary>
public abstract class SnapshotStoreConformance : PluginSpec
{
    protected readonly string Pid = NewPid("snap");
    /// <summary>The saved snapshots' metadata: <c>Saved[i]</c> is "s-(i+1)" at sequence number 11 + i.</summary>
    protected readonly SnapshotMetadata[] Saved = new SnapshotMetadata[5];
    private static readonly DateTime Base = new DateTime(2026, 12, 4, 10, 0, 0, DateTimeKind.Utc).AddTicks(4321);

    protected SnapshotStoreConformance(string backend, ITestOutputHelper output) : base(backend, output)
    {
        for (int i = 0; i < 5; i++)
        {
            Saved[i] = new SnapshotMetadata(Pid, 11 + i, Base.AddSeconds(i));
            var echoed = Save(Saved[i], $"s-{i + 1}");
            Assert.Equal(Saved[i], echoed);
        }
    }

    private SnapshotMetadata Save(SnapshotMetadata metadata, object snapshot)
    {
        var probe = CreateTestProbe();
        SnapshotStoreActor.Tell(new SaveSnapshot(metadata, snapshot), probe.Ref);
        return probe.ExpectMsg<SaveSnapshotSuccess>().Metadata;
    }

    private LoadSnapshotResult Load(string pid, SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue)
    {
        var probe = CreateTestProbe();
        SnapshotStoreActor.Tell(new LoadSnapshot(pid, criteria, toSequenceNr), probe.Ref);
        return probe.ExpectMsg<LoadSnapshotResult>();
    }

    private void AssertLoads(int expected, SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue)
    {
        var result = Load(Pid, criteria, toSequenceNr);
        Assert.NotNull(result.Snapshot);
        Assert.Equal(Saved[expected - 1], result.Snapshot!.Metadata); // pid, sequence number and timestamp to the tick
        Assert.Equal($"s-{expected}", result.Snapshot.Snapshot);
    }

    private void AssertLoadsNothing(SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue)
    {
        var result = Load(Pid, criteria, toSequenceNr);
        Assert.Null(result.Snapshot);
        Assert.Equal(toSequenceNr, result.ToSequenceNr);
    }

    private static SnapshotSelectionCriteria Criteria(long maxSeq = long.MaxValue, DateTime? maxTs = null, long minSeq = 0, DateTime? minTs = null) =>
        new(maxSeq, maxTs ?? DateTime.MaxValue, minSeq, minTs);

    // ---- load with every criteria field ----

    [Fact]
    public void A_persistence_id_without_snapshots_loads_nothing()
    {
        var result = Load(NewPid(), SnapshotSelectionCriteria.Latest, 77);
        Assert.Null(result.Snapshot);
        Assert.Equal(77, result.ToSequenceNr);
    }

    [Fact]
    public void Latest_loads_the_snapshot_with_the_highest_sequence_number() => AssertLoads(5, SnapshotSelectionCriteria.Latest);

    [Theory]
    [InlineData(13, 3)]
    [InlineData(14, 4)]
    [InlineData(11, 1)]
    [InlineData(100, 5)]
    public void MaxSequenceNr_selects_the_newest_at_or_below_it(long maxSeq, int expected) => AssertLoads(expected, Criteria(maxSeq));

    [Fact]
    public void The_recovery_bound_limits_the_sequence_number_like_MaxSequenceNr() => AssertLoads(3, SnapshotSelectionCriteria.Latest, 13);

    [Theory]
    [InlineData(7, long.MaxValue)]
    [InlineData(long.MaxValue, 7)]
    [InlineData(10, 10)]
    public void Nothing_at_or_below_the_sequence_bounds_loads_nothing(long maxSeq, long toSequenceNr) => AssertLoadsNothing(Criteria(maxSeq), toSequenceNr);

    [Fact]
    public void MaxTimestamp_is_inclusive_to_the_tick()
    {
        AssertLoads(3, Criteria(maxTs: Saved[2].Timestamp));
        AssertLoads(2, Criteria(maxTs: Saved[2].Timestamp.AddTicks(-1)));
    }

    [Fact]
    public void A_MaxTimestamp_before_every_snapshot_loads_nothing() => AssertLoadsNothing(Criteria(maxTs: Saved[0].Timestamp.AddTicks(-1)));

    [Fact]
    public void Sequence_and_timestamp_bounds_apply_together() => AssertLoads(2, Criteria(maxSeq: 13, maxTs: Saved[1].Timestamp));

    [Theory]
    [InlineData(14, 5)]
    [InlineData(15, 5)]
    [InlineData(16, 0)]
    public void MinSequenceNr_excludes_older_snapshots(long minSeq, int expected)
    {
        if (expected == 0) AssertLoadsNothing(Criteria(minSeq: minSeq));
        else AssertLoads(expected, Criteria(minSeq: minSeq));
    }

    [Fact]
    public void MinSequenceNr_equal_to_MaxSequenceNr_selects_exactly_that_snapshot() => AssertLoads(4, Criteria(maxSeq: 14, minSeq: 14));

    [Fact]
    public void MinTimestamp_is_inclusive_to_the_tick()
    {
        AssertLoads(3, Criteria(maxSeq: 13, minTs: Saved[2].Timestamp));
        AssertLoadsNothing(Criteria(maxSeq: 13, minTs: Saved[2].Timestamp.AddTicks(1)));
    }

    [Fact]
    public void A_window_of_every_bound_selects_the_newest_inside_it() =>
        AssertLoads(3, Criteria(maxSeq: 14, maxTs: Saved[2].Timestamp, minSeq: 12, minTs: Saved[1].Timestamp));

    [Fact]
    public void Criteria_None_loads_nothing() => AssertLoadsNothing(SnapshotSelectionCriteria.None);

    [Fact]
    public void Snapshots_of_other_persistence_ids_are_never_selected()
    {
        string other = Pid + "x";
        Save(new SnapshotMetadata(other, 99, Base), "other");
        AssertLoads(5, SnapshotSelectionCriteria.Latest);
        Assert.Equal("other", Load(other, SnapshotSelectionCriteria.Latest).Snapshot!.Snapshot);
    }

    // ---- save and overwrite ----

    [Fact]
    public void Saving_at_an_existing_sequence_number_overwrites_it()
    {
        var again = new SnapshotMetadata(Pid, 15, Base.AddSeconds(10));
        Save(again, "s-5-modified");
        var loaded = Load(Pid, SnapshotSelectionCriteria.Latest).Snapshot!;
        Assert.Equal("s-5-modified", loaded.Snapshot);
        Assert.Equal(again, loaded.Metadata);
    }

    [Fact]
    public void Two_saves_at_one_sequence_number_both_succeed_and_echo_their_metadata()
    {
        var first = new SnapshotMetadata(Pid, 20, Base.AddSeconds(20));
        var second = new SnapshotMetadata(Pid, 20, Base.AddSeconds(21));
        Assert.Equal(first, Save(first, "one"));
        Assert.Equal(second, Save(second, "two"));
        Assert.Equal("two", Load(Pid, SnapshotSelectionCriteria.Latest).Snapshot!.Snapshot);
    }

    [Fact]
    public void A_ten_thousand_byte_snapshot_round_trips()
    {
        var bytes = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7)).ToArray();
        Save(new SnapshotMetadata(Pid, 30, Base), bytes);
        Assert.Equal(bytes, (byte[])Load(Pid, SnapshotSelectionCriteria.Latest).Snapshot!.Snapshot);
    }

    [Fact]
    public void A_snapshot_is_read_back_by_the_serializer_that_wrote_it()
    {
        Save(new SnapshotMetadata(Pid, 30, Base), new PlainPayload("state"));
        Save(new SnapshotMetadata(Pid, 31, Base), new VersionedPayload("state", 3));
        Assert.Equal(new VersionedPayload("state", 3), Load(Pid, SnapshotSelectionCriteria.Latest).Snapshot!.Snapshot);
        Assert.Equal(new PlainPayload("state"), Load(Pid, Criteria(maxSeq: 30)).Snapshot!.Snapshot);
    }

    [Fact]
    public void A_snapshot_holding_an_actor_reference_round_trips()
    {
        var target = CreateTestProbe();
        Save(new SnapshotMetadata(Pid, 30, Base), new RefPayload(target.Ref));
        ((RefPayload)Load(Pid, SnapshotSelectionCriteria.Latest).Snapshot!.Snapshot).Target.Tell("hi");
        target.ExpectMsg("hi");
    }

    // ---- delete one ----

    private void DeleteOne(SnapshotMetadata metadata)
    {
        var probe = CreateTestProbe();
        SnapshotStoreActor.Tell(new DeleteSnapshot(metadata), probe.Ref);
        Assert.Equal(metadata, probe.ExpectMsg<DeleteSnapshotSuccess>().Metadata);
    }

    [Fact]
    public void Deleting_one_snapshot_by_its_metadata_removes_only_it()
    {
        var subscriber = CreateTestProbe();
        Sys.EventStream.Subscribe(subscriber.Ref, typeof(DeleteSnapshot));
        DeleteOne(Saved[2]);
        Assert.Equal(Saved[2], subscriber.ExpectMsg<DeleteSnapshot>().Metadata);
        AssertLoads(2, Criteria(maxSeq: 13));
        AssertLoads(5, SnapshotSelectionCriteria.Latest);
    }

    [Fact]
    public void Deleting_with_a_minimal_timestamp_ignores_the_timestamp()
    {
        DeleteOne(new SnapshotMetadata(Pid, 13, DateTime.MinValue));
        AssertLoads(2, Criteria(maxSeq: 13));
    }

    [Fact]
    public void Deleting_with_a_timestamp_older_than_the_snapshot_deletes_nothing()
    {
        DeleteOne(new SnapshotMetadata(Pid, 13, Saved[2].Timestamp.AddSeconds(-2)));
        AssertLoads(3, Criteria(maxSeq: 13));
    }

    [Fact]
    public void Deleting_a_sequence_number_without_a_snapshot_succeeds_and_deletes_nothing()
    {
        DeleteOne(new SnapshotMetadata(Pid, 12345, DateTime.MinValue));
        AssertLoads(5, SnapshotSelectionCriteria.Latest);
    }

    // ---- delete matching ----

    private void DeleteMatching(SnapshotSelectionCriteria criteria)
    {
        var probe = CreateTestProbe();
        SnapshotStoreActor.Tell(new DeleteSnapshots(Pid, criteria), probe.Ref);
        Assert.Equal(criteria, probe.ExpectMsg<DeleteSnapshotsSuccess>().Criteria);
    }

    [Fact]
    public void Deleting_matching_snapshots_removes_every_one_within_both_bounds()
    {
        var subscriber = CreateTestProbe();
        Sys.EventStream.Subscribe(subscriber.Ref, typeof(DeleteSnapshots));
        DeleteMatching(Criteria(maxSeq: 13, maxTs: Saved[2].Timestamp));
        subscriber.ExpectMsg<DeleteSnapshots>();
        AssertLoadsNothing(Criteria(maxSeq: 13));
        AssertLoads(4, Criteria(maxSeq: 14));
    }

    [Fact]
    public void A_timestamp_bound_one_tick_short_spares_the_snapshot_at_it()
    {
        DeleteMatching(Criteria(maxSeq: 13, maxTs: Saved[2].Timestamp.AddTicks(-1)));
        AssertLoads(3, Criteria(maxSeq: 13));
        AssertLoadsNothing(Criteria(maxSeq: 12));
    }

    [Fact]
    public void A_sequence_bound_alone_deletes_at_and_below_it()
    {
        DeleteMatching(Criteria(maxSeq: 12));
        AssertLoadsNothing(Criteria(maxSeq: 12));
        AssertLoads(3, Criteria(maxSeq: 13));
    }

    [Fact]
    public void Deleting_with_Latest_removes_every_snapshot_of_the_persistence_id_only()
    {
        string other = Pid + "-other";
        Save(new SnapshotMetadata(other, 1, Base), "kept");
        DeleteMatching(SnapshotSelectionCriteria.Latest);
        AssertLoadsNothing(SnapshotSelectionCriteria.Latest);
        Assert.Equal("kept", Load(other, SnapshotSelectionCriteria.Latest).Snapshot!.Snapshot);
    }

    // ---- recovery through a persistent actor ----

    [Fact]
    public void A_persistent_actor_recovers_from_its_snapshot_and_the_events_after_it()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Recorder.Props(pid, probe.Ref));
        actor.Tell(new Recorder.PersistEach("e1", "e2", "e3"));
        for (int i = 0; i < 3; i++) probe.ExpectMsg<Recorder.Persisted>();
        actor.Tell(new Recorder.TakeSnapshot());
        probe.ExpectMsg<SaveSnapshotSuccess>();
        actor.Tell(new Recorder.PersistEach("e4", "e5"));
        for (int i = 0; i < 2; i++) probe.ExpectMsg<Recorder.Persisted>();
        Watch(actor);
        actor.Tell(PoisonPill.Instance);
        ExpectTerminated(actor);

        var recovered = Sys.ActorOf(Recorder.Props(pid, probe.Ref)).Ask<Recorder.State>(new Recorder.GetState(), TimeSpan.FromSeconds(30)).Result;
        Assert.Equal(3, recovered.SnapshotSequenceNr);
        Assert.Equal(new[] { "e1", "e2", "e3" }, (string[])recovered.SnapshotState!);
        Assert.Equal(2, recovered.Replayed); // only the events after the snapshot
        Assert.Equal(new object[] { "e1", "e2", "e3", "e4", "e5" }, recovered.Events);
        Assert.Equal(5, recovered.LastSequenceNr);
    }

    [Fact]
    public void Without_its_snapshot_a_persistent_actor_replays_every_event()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Recorder.Props(pid, probe.Ref));
        actor.Tell(new Recorder.PersistEach("e1", "e2"));
        for (int i = 0; i < 2; i++) probe.ExpectMsg<Recorder.Persisted>();
        actor.Tell(new Recorder.TakeSnapshot());
        var saved = probe.ExpectMsg<SaveSnapshotSuccess>();
        Watch(actor);
        actor.Tell(PoisonPill.Instance);
        ExpectTerminated(actor);
        var deleter = CreateTestProbe();
        SnapshotStoreActor.Tell(new DeleteSnapshot(saved.Metadata), deleter.Ref);
        deleter.ExpectMsg<DeleteSnapshotSuccess>();

        var recovered = Sys.ActorOf(Recorder.Props(pid, probe.Ref)).Ask<Recorder.State>(new Recorder.GetState(), TimeSpan.FromSeconds(30)).Result;
        Assert.Null(recovered.SnapshotState);
        Assert.Equal(2, recovered.Replayed);
        Assert.Equal(new object[] { "e1", "e2" }, recovered.Events);
    }

    [Fact]
    public void Snapshots_saved_by_one_actor_system_load_in_a_new_one()
    {
        StopSystem();
        using var second = SecondSystem();
        var probe = new global::Akka.TestKit.TestProbe(second, new global::Akka.TestKit.Xunit2.XunitAssertions());
        var store = global::Akka.Persistence.Persistence.Instance.Apply(second).SnapshotStoreFor(null);
        store.Tell(new LoadSnapshot(Pid, SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        var loaded = probe.ExpectMsg<LoadSnapshotResult>().Snapshot!;
        Assert.Equal(Saved[4], loaded.Metadata);
        Assert.Equal("s-5", loaded.Snapshot);
        second.Terminate().Wait(TimeSpan.FromSeconds(30));
    }
}

public sealed class LmdbSnapshotStoreConformance : SnapshotStoreConformance
{
    public LmdbSnapshotStoreConformance(ITestOutputHelper output) : base("lmdb", output) { }
}

public sealed class FilesSnapshotStoreConformance : SnapshotStoreConformance
{
    public FilesSnapshotStoreConformance(ITestOutputHelper output) : base("files", output) { }
}

[Trait("Backend", "postgres")]
public sealed class PostgresSnapshotStoreConformance : SnapshotStoreConformance
{
    public PostgresSnapshotStoreConformance(ITestOutputHelper output) : base("postgres", output) { }
}
