using System;
using System.Collections.Generic;
using System.Linq;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Xunit;
using Xunit.Abstractions;

namespace Tidelog.Persistence.Akka.Tests.Conformance;

/// <summary>
/// The journal contract of Akka.NET's <c>AsyncWriteJournal</c>, through the journal actor's protocol and through real
/// persistent actors. Every test starts from five events of a fresh persistence id: 1, 2 and 3 written as single
/// AtomicWrites, 4 and 5 as one AtomicWrite of two events.
/// </summary>
public abstract class JournalConformance : PluginSpec
{
    protected readonly string Pid = NewPid();

    protected JournalConformance(string backend, ITestOutputHelper output) : base(backend, output)
    {
        WriteAndConfirm(
            Atomic(Repr(Pid, 1, "a-1")),
            Atomic(Repr(Pid, 2, "a-2")),
            Atomic(Repr(Pid, 3, "a-3")),
            Atomic(Repr(Pid, 4, "a-4"), Repr(Pid, 5, "a-5")));
    }

    // ---- replay ranges and max ----

    [Theory]
    [InlineData(1, long.MaxValue, long.MaxValue, 1, 5)] // everything
    [InlineData(0, long.MaxValue, long.MaxValue, 1, 5)] // from 0 means from the start
    [InlineData(3, long.MaxValue, long.MaxValue, 3, 5)] // lower bound
    [InlineData(1, 3, long.MaxValue, 1, 3)] // upper bound
    [InlineData(1, long.MaxValue, 3, 1, 3)] // count limit
    [InlineData(2, 3, long.MaxValue, 2, 3)] // both bounds
    [InlineData(2, 5, 2, 2, 3)] // both bounds and a count limit
    [InlineData(2, 2, long.MaxValue, 2, 2)] // lower == upper
    [InlineData(1, long.MaxValue, 1, 1, 1)] // max 1
    [InlineData(4, 4, long.MaxValue, 4, 4)] // one event out of a multi-event AtomicWrite
    [InlineData(5, 9, long.MaxValue, 5, 5)] // upper bound past the end
    [InlineData(3, 4, 10, 3, 4)] // a count limit above what the range holds
    public void Replay_returns_exactly_the_range_and_reports_the_real_highest(long from, long to, long max, long first, long last)
    {
        var (events, highest) = Replay(Pid, from, to, max);
        Assert.Equal(Range(first, last), Seqs(events));
        Assert.Equal(Range(first, last).Select(i => $"a-{i}"), events.Select(e => (string)e.Payload));
        Assert.Equal(5, highest); // the stream's highest, not the bound of the replay
    }

    [Theory]
    [InlineData(1, long.MaxValue, 0)] // max 0
    [InlineData(3, 2, long.MaxValue)] // lower above upper
    [InlineData(6, long.MaxValue, long.MaxValue)] // after the end
    [InlineData(1, 0, long.MaxValue)] // upper bound 0
    public void Replay_of_an_empty_range_returns_nothing_and_the_highest(long from, long to, long max)
    {
        var (events, highest) = Replay(Pid, from, to, max);
        Assert.Empty(events);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void A_persistence_id_without_events_replays_nothing_and_has_highest_zero()
    {
        var (events, highest) = Replay(NewPid());
        Assert.Empty(events);
        Assert.Equal(0, highest);
    }

    [Fact]
    public void Streams_are_separate_even_when_one_id_is_a_prefix_of_another()
    {
        string longer = Pid + "0";
        WriteEvents(longer, 2, "b");
        Assert.Equal(Range(1, 5), Seqs(Replay(Pid).Events));
        var (events, highest) = Replay(longer);
        Assert.Equal(new[] { "b-1", "b-2" }, events.Select(e => (string)e.Payload));
        Assert.Equal(2, highest);
    }

    [Fact]
    public void One_call_may_carry_writes_of_several_streams_and_each_replays_its_own()
    {
        string a = NewPid("a"), b = NewPid("b");
        WriteAndConfirm(Atomic(Repr(a, 1, "a1")), Atomic(Repr(b, 1, "b1")), Atomic(Repr(a, 2, "a2"), Repr(a, 3, "a3")), Atomic(Repr(b, 2, "b2")));
        Assert.Equal(new[] { "a1", "a2", "a3" }, Replay(a).Events.Select(e => (string)e.Payload));
        Assert.Equal(new[] { "b1", "b2" }, Replay(b).Events.Select(e => (string)e.Payload));
    }

    [Fact]
    public void A_hundred_AtomicWrites_in_one_call_are_acknowledged_in_order()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        SendWrites(probe.Ref, 42, Enumerable.Range(1, 100).Select(i => Atomic(Repr(pid, i, $"n{i}"))).ToArray());
        probe.ExpectMsg<WriteMessagesSuccessful>();
        for (int i = 1; i <= 100; i++)
        {
            var ok = probe.ExpectMsg<WriteMessageSuccess>();
            Assert.Equal(i, ok.Persistent.SequenceNr);
            Assert.Equal(42, ok.ActorInstanceId);
        }
        Assert.Equal(Range(1, 100), Seqs(Replay(pid).Events));
    }

    [Fact]
    public void A_megabyte_payload_round_trips()
    {
        string pid = NewPid();
        var big = new string('x', 1 << 20) + "end";
        WriteAndConfirm(Atomic(Repr(pid, 1, big)));
        Assert.Equal(big, (string)Replay(pid).Events.Single().Payload);
    }

    [Fact]
    public void Persistence_ids_with_any_unicode_round_trip()
    {
        string pid = "ünï-çødé/🦀 " + Guid.NewGuid();
        WriteEvents(pid, 2);
        var events = Replay(pid).Events;
        Assert.Equal(new[] { pid, pid }, events.Select(e => e.PersistenceId));
    }

    // ---- deletion and the highest sequence number ----

    [Fact]
    public void DeleteMessagesTo_removes_the_prefix_is_published_and_replay_returns_the_rest()
    {
        var subscriber = CreateTestProbe();
        Sys.EventStream.Subscribe(subscriber.Ref, typeof(DeleteMessagesTo));
        DeleteTo(Pid, 3);
        var published = subscriber.ExpectMsg<DeleteMessagesTo>();
        Assert.Equal(Pid, published.PersistenceId);
        Assert.Equal(3, published.ToSequenceNr);
        var (events, highest) = Replay(Pid);
        Assert.Equal(new long[] { 4, 5 }, Seqs(events));
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Deleting_everything_keeps_the_highest_sequence_number()
    {
        DeleteTo(Pid, long.MaxValue);
        var (events, highest) = Replay(Pid);
        Assert.Empty(events);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Deleting_past_the_end_keeps_the_highest_and_the_stream_continues_after_it()
    {
        DeleteTo(Pid, 10);
        Assert.Equal(5, Replay(Pid).Highest);
        WriteAndConfirm(Atomic(Repr(Pid, 6, "a-6")));
        var (events, highest) = Replay(Pid);
        Assert.Equal(new long[] { 6 }, Seqs(events));
        Assert.Equal(6, highest);
    }

    [Fact]
    public void Deleting_to_zero_deletes_nothing()
    {
        DeleteTo(Pid, 0);
        Assert.Equal(Range(1, 5), Seqs(Replay(Pid).Events));
    }

    [Fact]
    public void Deleting_twice_to_a_lower_bound_brings_nothing_back()
    {
        DeleteTo(Pid, 4);
        DeleteTo(Pid, 2);
        Assert.Equal(new long[] { 5 }, Seqs(Replay(Pid).Events));
    }

    [Fact]
    public void Deleting_a_stream_without_events_succeeds_and_touches_no_other()
    {
        DeleteTo(NewPid(), long.MaxValue);
        Assert.Equal(Range(1, 5), Seqs(Replay(Pid).Events));
    }

    [Fact]
    public void Highest_sequence_number_is_read_after_the_writes_in_flight_for_the_stream()
    {
        var probe = CreateTestProbe();
        for (int round = 0; round < 10; round++)
        {
            string pid = NewPid();
            // The replay asks for the highest sequence number while the writes may still be in flight.
            SendWrites(probe.Ref, 1, Enumerable.Range(1, 100).Select(i => Atomic(Repr(pid, i, $"e{i}"))).ToArray());
            JournalActor.Tell(new ReplayMessages(1, long.MaxValue, 0, pid, probe.Ref));
            var success = probe.FishForMessage(m => m is RecoverySuccess, TimeSpan.FromSeconds(30));
            Assert.Equal(100, ((RecoverySuccess)success).HighestSequenceNr);
        }
    }

    [Fact]
    public void Deletion_waits_for_the_writes_in_flight_for_the_stream()
    {
        var probe = CreateTestProbe();
        string pid = NewPid();
        SendWrites(probe.Ref, 1, Enumerable.Range(1, 50).Select(i => Atomic(Repr(pid, i, $"e{i}"))).ToArray());
        JournalActor.Tell(new DeleteMessagesTo(pid, 50, probe.Ref));
        probe.FishForMessage(m => m is DeleteMessagesSuccess, TimeSpan.FromSeconds(30));
        var (events, highest) = Replay(pid);
        Assert.Empty(events);
        Assert.Equal(50, highest);
    }

    // ---- atomic writes, rejections and failures ----

    [Fact]
    public void An_AtomicWrite_that_conflicts_with_the_stream_fails_the_call_and_stores_none_of_its_events()
    {
        var probe = CreateTestProbe();
        // 5 and 6 as one AtomicWrite: 5 is taken, so neither may be stored.
        SendWrites(probe.Ref, 1, Atomic(Repr(Pid, 5, "x-5"), Repr(Pid, 6, "x-6")));
        probe.ExpectMsg<WriteMessagesFailed>();
        Assert.Equal(5, probe.ExpectMsg<WriteMessageFailure>().Persistent.SequenceNr);
        Assert.Equal(6, probe.ExpectMsg<WriteMessageFailure>().Persistent.SequenceNr);
        var (events, highest) = Replay(Pid);
        Assert.Equal(Range(1, 5).Select(i => $"a-{i}"), events.Select(e => (string)e.Payload));
        Assert.Equal(5, highest);
    }

    [Fact]
    public void A_payload_that_cannot_be_serialized_rejects_only_its_AtomicWrite()
    {
        var probe = CreateTestProbe();
        SendWrites(probe.Ref, 1, Atomic(Repr(Pid, 6, "b-6")), Atomic(Repr(Pid, 7, new Unserializable())), Atomic(Repr(Pid, 8, "b-8")));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        Assert.Equal(6, probe.ExpectMsg<WriteMessageSuccess>().Persistent.SequenceNr);
        var rejected = probe.ExpectMsg<WriteMessageRejected>();
        Assert.Equal(7, rejected.Persistent.SequenceNr);
        Assert.NotNull(rejected.Cause);
        Assert.Equal(8, probe.ExpectMsg<WriteMessageSuccess>().Persistent.SequenceNr);
        var (events, highest) = Replay(Pid);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6, 8 }, Seqs(events)); // a rejected event never replays
        Assert.Equal(8, highest);
    }

    [Fact]
    public void One_unserializable_event_rejects_its_whole_AtomicWrite_and_no_other()
    {
        var probe = CreateTestProbe();
        SendWrites(probe.Ref, 1,
            Atomic(Repr(Pid, 6, "c-6"), Repr(Pid, 7, new Unserializable()), Repr(Pid, 8, "c-8")),
            Atomic(Repr(Pid, 9, "c-9")));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        for (long seq = 6; seq <= 8; seq++) Assert.Equal(seq, probe.ExpectMsg<WriteMessageRejected>().Persistent.SequenceNr);
        Assert.Equal(9, probe.ExpectMsg<WriteMessageSuccess>().Persistent.SequenceNr);
        var (events, highest) = Replay(Pid);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 9 }, Seqs(events));
        Assert.Equal(9, highest);
    }

    [Fact]
    public void A_rejected_last_write_still_counts_toward_the_highest_sequence_number()
    {
        var probe = CreateTestProbe();
        SendWrites(probe.Ref, 1, Atomic(Repr(Pid, 6, new Unserializable())));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        probe.ExpectMsg<WriteMessageRejected>();
        var (events, highest) = Replay(Pid);
        Assert.Equal(Range(1, 5), Seqs(events));
        Assert.Equal(6, highest); // Akka moved past 6; a restarted actor must not reuse it
    }

    [Fact]
    public void A_storage_failure_faults_the_call_and_fails_every_event_of_it()
    {
        // The plugins' journal, closed under them: every storage call now fails.
        var journal = SharedJournals.Acquire(new TidelogSettings(Sys.Settings.Config.GetConfig("akka.persistence.journal.tidelog")));
        journal.Close();
        SharedJournals.Release(journal);
        var probe = CreateTestProbe();
        SendWrites(probe.Ref, 1, Atomic(Repr(Pid, 6, "f-6")), Atomic(Repr(Pid, 7, "f-7"), Repr(Pid, 8, "f-8")));
        var failed = probe.ExpectMsg<WriteMessagesFailed>();
        Assert.NotNull(failed.Cause);
        for (long seq = 6; seq <= 8; seq++)
        {
            var f = probe.ExpectMsg<WriteMessageFailure>(); // a failure, never a rejection
            Assert.Equal(seq, f.Persistent.SequenceNr);
        }
        JournalActor.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, Pid, probe.Ref));
        probe.ExpectMsg<ReplayMessagesFailure>();
    }

    // ---- metadata round trip ----

    [Fact]
    public void Writer_uuid_persistence_id_sequence_number_and_timestamp_round_trip_exactly()
    {
        string pid = NewPid();
        long before = DateTime.UtcNow.Ticks;
        WriteAndConfirm(Enumerable.Range(1, 5).Select(i => Atomic(Repr(pid, i, $"m{i}"))).ToArray());
        long after = DateTime.UtcNow.Ticks;
        var events = Replay(pid).Events;
        Assert.Equal(Range(1, 5), Seqs(events));
        Assert.All(events, e =>
        {
            Assert.Equal(WriterGuid, e.WriterGuid);
            Assert.Equal(pid, e.PersistenceId);
            Assert.False(e.IsDeleted);
            Assert.InRange(e.Timestamp, before, after); // .NET ticks, as Akka stamped them
        });
        // Ticks, not milliseconds: five timestamps that all fell on whole milliseconds would mean the ticks were lost.
        Assert.Contains(events, e => e.Timestamp % TimeSpan.TicksPerMillisecond != 0);
        Assert.Equal(events.Select(e => e.Timestamp), Replay(pid).Events.Select(e => e.Timestamp));
    }

    [Fact]
    public void The_event_adapter_manifest_round_trips()
    {
        string pid = NewPid();
        WriteAndConfirm(Atomic(Repr(pid, 1, "with-manifest", manifest: "adapter-v7")), Atomic(Repr(pid, 2, "without")));
        var events = Replay(pid).Events;
        Assert.Equal("adapter-v7", events[0].Manifest);
        Assert.Equal("", events[1].Manifest);
    }

    [Fact]
    public void A_replayed_event_has_no_sender()
    {
        string pid = NewPid();
        var sender = CreateTestProbe();
        WriteAndConfirm(Atomic(new Persistent("s", 1, pid, "", false, sender.Ref, WriterGuid, DateTime.UtcNow.Ticks)));
        var e = Replay(pid).Events.Single();
        Assert.True(e.Sender == null || e.Sender.IsNobody() || e.Sender.Equals(Sys.DeadLetters), $"sender {e.Sender}");
    }

    [Fact]
    public void The_serializer_that_wrote_a_payload_reads_it_back()
    {
        string pid = NewPid();
        WriteAndConfirm(Atomic(Repr(pid, 1, new PlainPayload("hello"))));
        Assert.Equal(new PlainPayload("hello"), Replay(pid).Events.Single().Payload);
    }

    [Fact]
    public void A_string_manifest_serializer_gets_its_manifest_back()
    {
        string pid = NewPid();
        WriteAndConfirm(Atomic(Repr(pid, 1, new VersionedPayload("old", 1))), Atomic(Repr(pid, 2, new VersionedPayload("new", 2))));
        Assert.Equal(new object[] { new VersionedPayload("old", 1), new VersionedPayload("new", 2) }, Replay(pid).Events.Select(e => e.Payload));
    }

    [Fact]
    public void Payloads_holding_actor_references_are_serialized_with_transport_information()
    {
        string pid = NewPid();
        var target = CreateTestProbe();
        WriteAndConfirm(Atomic(Repr(pid, 1, new RefPayload(target.Ref))));
        var payload = (RefPayload)Replay(pid).Events.Single().Payload;
        payload.Target.Tell("ping");
        target.ExpectMsg("ping");
    }

    [Fact]
    public void A_tagged_payload_is_stored_unwrapped()
    {
        string pid = NewPid();
        WriteAndConfirm(Atomic(Repr(pid, 1, new Tagged("inner", new[] { "t1", "t2" }))));
        Assert.Equal("inner", Replay(pid).Events.Single().Payload);
    }

    // ---- through persistent actors ----

    private Recorder.State StateOf(IActorRef actor) => actor.Ask<Recorder.State>(new Recorder.GetState(), TimeSpan.FromSeconds(30)).Result;

    private IActorRef Restart(IActorRef actor, string pid, IActorRef reportTo, long recoverTo = long.MaxValue)
    {
        Watch(actor);
        actor.Tell(PoisonPill.Instance);
        ExpectTerminated(actor);
        return Sys.ActorOf(Recorder.Props(pid, reportTo, recoverTo));
    }

    [Fact]
    public void A_persistent_actor_recovers_what_it_persisted_and_continues_the_sequence()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Recorder.Props(pid, probe.Ref));
        actor.Tell(new Recorder.PersistEach("x", "y", "z"));
        for (int i = 1; i <= 3; i++) Assert.Equal(i, probe.ExpectMsg<Recorder.Persisted>().SequenceNr);
        actor = Restart(actor, pid, probe.Ref);
        var state = StateOf(actor);
        Assert.Equal(new object[] { "x", "y", "z" }, state.Events);
        Assert.Equal(3, state.LastSequenceNr);
        actor.Tell(new Recorder.PersistEach("w"));
        Assert.Equal(4, probe.ExpectMsg<Recorder.Persisted>().SequenceNr);
    }

    [Fact]
    public void PersistAll_is_recovered_whole()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Recorder.Props(pid, probe.Ref));
        actor.Tell(new Recorder.PersistAtomically("p1", "p2", "p3", "p4"));
        for (int i = 1; i <= 4; i++) Assert.Equal(i, probe.ExpectMsg<Recorder.Persisted>().SequenceNr);
        actor = Restart(actor, pid, probe.Ref);
        Assert.Equal(new object[] { "p1", "p2", "p3", "p4" }, StateOf(actor).Events);
    }

    [Fact]
    public void A_persistent_actor_gets_OnPersistRejected_and_keeps_running()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Recorder.Props(pid, probe.Ref));
        actor.Tell(new Recorder.PersistEach("first"));
        Assert.Equal(1, probe.ExpectMsg<Recorder.Persisted>().SequenceNr);
        actor.Tell(new Recorder.PersistEach(new Unserializable()));
        Assert.Equal(2, probe.ExpectMsg<Recorder.Rejected>().SequenceNr);
        actor.Tell(new Recorder.PersistEach("third"));
        Assert.Equal(3, probe.ExpectMsg<Recorder.Persisted>().SequenceNr);
        actor = Restart(actor, pid, probe.Ref);
        var state = StateOf(actor);
        Assert.Equal(new object[] { "first", "third" }, state.Events);
        Assert.Equal(3, state.LastSequenceNr);
    }

    [Fact]
    public void A_persistent_actor_stops_after_OnPersistFailure()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Recorder.Props(pid, probe.Ref));
        actor.Tell(new Recorder.PersistEach("kept"));
        probe.ExpectMsg<Recorder.Persisted>();
        var journal = SharedJournals.Acquire(new TidelogSettings(Sys.Settings.Config.GetConfig("akka.persistence.journal.tidelog")));
        journal.Close();
        SharedJournals.Release(journal);
        Watch(actor);
        actor.Tell(new Recorder.PersistEach("lost"));
        Assert.Equal(2, probe.ExpectMsg<Recorder.Failed>().SequenceNr);
        ExpectTerminated(actor);
    }

    [Fact]
    public void DeleteMessages_from_an_actor_leaves_only_later_events_for_recovery()
    {
        string pid = NewPid();
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(Recorder.Props(pid, probe.Ref));
        actor.Tell(new Recorder.PersistEach("d1", "d2", "d3", "d4"));
        for (int i = 1; i <= 4; i++) probe.ExpectMsg<Recorder.Persisted>();
        actor.Tell(new Recorder.DeleteEventsTo(2));
        Assert.Equal(2, probe.ExpectMsg<DeleteMessagesSuccess>().ToSequenceNr);
        actor = Restart(actor, pid, probe.Ref);
        var state = StateOf(actor);
        Assert.Equal(new object[] { "d3", "d4" }, state.Events);
        Assert.Equal(4, state.LastSequenceNr);
    }

    [Fact]
    public void Recovery_to_a_sequence_number_replays_only_up_to_it()
    {
        var actor = Sys.ActorOf(Recorder.Props(Pid, TestActor, recoverTo: 3));
        var state = StateOf(actor);
        Assert.Equal(new object[] { "a-1", "a-2", "a-3" }, state.Events);
    }

    // ---- durability across actor systems ----

    [Fact]
    public void What_one_actor_system_acknowledged_a_new_one_recovers()
    {
        StopSystem();
        using var second = SecondSystem();
        var probe = new global::Akka.TestKit.TestProbe(second, new global::Akka.TestKit.Xunit2.XunitAssertions());
        var journal = global::Akka.Persistence.Persistence.Instance.Apply(second).JournalFor(null);
        journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, Pid, probe.Ref));
        var replayed = new List<string>();
        for (int i = 0; i < 5; i++) replayed.Add((string)probe.ExpectMsg<ReplayedMessage>().Persistent.Payload);
        Assert.Equal(5, probe.ExpectMsg<RecoverySuccess>().HighestSequenceNr);
        Assert.Equal(Range(1, 5).Select(i => $"a-{i}"), replayed);
        second.Terminate().Wait(TimeSpan.FromSeconds(30));
    }
}

public sealed class LmdbJournalConformance : JournalConformance
{
    public LmdbJournalConformance(ITestOutputHelper output) : base("lmdb", output) { }
}

public sealed class FilesJournalConformance : JournalConformance
{
    public FilesJournalConformance(ITestOutputHelper output) : base("files", output) { }
}

[Trait("Backend", "postgres")]
public sealed class PostgresJournalConformance : JournalConformance
{
    public PostgresJournalConformance(ITestOutputHelper output) : base("postgres", output) { }
}
