// Our own conformance suite for the Akka.NET plugins, written from Akka.NET's documented plugin contract
// (AsyncWriteJournal, SnapshotStore, Akka.Persistence.Query): see ../../README.md, "Conformance suite".
using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Serialization;
using Akka.Streams;
using Akka.Streams.Dsl;
using Xunit;
using Xunit.Abstractions;

namespace Tidelog.Persistence.Akka.Tests.Conformance;

/// <summary>
/// One actor system per test (xUnit makes a new instance per test) over a fresh journal directory, with the
/// Tidelog journal, snapshot store and read journal as the defaults. Concrete classes pick the backend.
/// </summary>
public abstract class PluginSpec : global::Akka.TestKit.Xunit2.TestKit
{
    /// <summary>Small pages, so that replay and every query cross page boundaries.</summary>
    protected const int PageSize = 3;

    protected PluginSpec(string backend, ITestOutputHelper output, string overrides = "")
        : base(ConfigurationFactory.ParseString(overrides).WithFallback(ConfigFor(NewPath(backend), backend)), "conformance-" + backend, output)
    {
        Backend = backend;
        JournalPath = Sys.Settings.Config.GetString("akka.persistence.journal.tidelog.path");
        WriterGuid = Guid.NewGuid().ToString();
    }

    protected string Backend { get; }
    protected string JournalPath { get; }
    protected string WriterGuid { get; }

    private static string NewPath(string backend)
    {
        TestEnvironment.Prepare();
        if (backend == "postgres")
        {
            // The test server (tests/postgres.sh) with a fresh schema; these classes carry the trait
            // Backend=postgres, which build.sh leaves out without a server unless CI=true.
            string uri = Environment.GetEnvironmentVariable("TIDELOG_TEST_POSTGRES") is { Length: > 0 } u ? u
                : throw new InvalidOperationException("TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh");
            return uri + (uri.Contains('?') ? "&" : "?") + "tidelog_schema=akka_" + Guid.NewGuid().ToString("N");
        }
        return Path.Combine(Path.GetTempPath(), "tidelog-akka-conformance", backend + "-" + Guid.NewGuid().ToString("N"));
    }

    /// <summary>The plugin configuration of every conformance test (also used for a second actor system).</summary>
    protected static Config ConfigFor(string path, string backend) =>
        ConfigurationFactory.ParseString(TidelogPersistence.Hocon(path, backend, true, $"sync = always\nreplay-page-size = {PageSize}") + $@"
akka.loglevel = WARNING
akka.persistence.publish-plugin-commands = on
akka.persistence.query.journal.tidelog.refresh-interval = 50ms
akka.test.single-expect-default = 20s
akka.actor {{
  serializers {{
    conformance-plain = ""{typeof(PlainSerializer).AssemblyQualifiedName}""
    conformance-manifest = ""{typeof(VersionedSerializer).AssemblyQualifiedName}""
    conformance-actor-ref = ""{typeof(ActorRefSerializer).AssemblyQualifiedName}""
  }}
  serialization-bindings {{
    ""{typeof(PlainPayload).AssemblyQualifiedName}"" = conformance-plain
    ""{typeof(VersionedPayload).AssemblyQualifiedName}"" = conformance-manifest
    ""{typeof(RefPayload).AssemblyQualifiedName}"" = conformance-actor-ref
  }}
}}
");

    protected IActorRef JournalActor => global::Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
    protected IActorRef SnapshotStoreActor => global::Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    protected TidelogReadJournal Queries(ActorSystem? system = null) =>
        PersistenceQuery.Get(system ?? Sys).ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);

    protected IMaterializer Materializer(ActorSystem? system = null) => (system ?? Sys).Materializer();

    /// <summary>A fresh persistence id, unique in the whole test run.</summary>
    protected static string NewPid(string prefix = "p") => prefix + "-" + Guid.NewGuid().ToString("N").Substring(0, 12);

    protected Persistent Repr(string pid, long seq, object payload, string manifest = "", long timestamp = 0) =>
        new(payload, seq, pid, manifest, false, ActorRefs.NoSender, WriterGuid, timestamp == 0 ? DateTime.UtcNow.Ticks : timestamp);

    protected static global::Akka.Persistence.AtomicWrite Atomic(params Persistent[] events) =>
        new(events.Cast<IPersistentRepresentation>().ToImmutableList());

    /// <summary>Sends one WriteMessages call of these AtomicWrites, with <paramref name="probe"/> as the persistent actor.</summary>
    protected void SendWrites(IActorRef probe, int actorInstanceId, params global::Akka.Persistence.AtomicWrite[] writes) =>
        JournalActor.Tell(new WriteMessages(writes, probe, actorInstanceId));

    /// <summary>Writes and expects the call to succeed, with one WriteMessageSuccess per event, in order.</summary>
    protected void WriteAndConfirm(params global::Akka.Persistence.AtomicWrite[] writes)
    {
        var probe = CreateTestProbe();
        SendWrites(probe.Ref, 1, writes);
        probe.ExpectMsg<WriteMessagesSuccessful>();
        foreach (var p in writes.SelectMany(w => (IEnumerable<IPersistentRepresentation>)w.Payload))
        {
            var ok = probe.ExpectMsg<WriteMessageSuccess>();
            Assert.Equal(p.PersistenceId, ok.Persistent.PersistenceId);
            Assert.Equal(p.SequenceNr, ok.Persistent.SequenceNr);
        }
    }

    /// <summary>Writes <c>{prefix}-1</c> .. <c>{prefix}-n</c> as single-event AtomicWrites in one call.</summary>
    protected void WriteEvents(string pid, int n, string prefix = "e", long firstSeq = 1) =>
        WriteAndConfirm(Enumerable.Range(0, n).Select(i => Atomic(Repr(pid, firstSeq + i, $"{prefix}-{firstSeq + i}"))).ToArray());

    /// <summary>A replay through the journal protocol: the replayed events, then the highest sequence number reported.</summary>
    protected (List<IPersistentRepresentation> Events, long Highest) Replay(string pid, long from = 1, long to = long.MaxValue, long max = long.MaxValue)
    {
        var probe = CreateTestProbe();
        JournalActor.Tell(new ReplayMessages(from, to, max, pid, probe.Ref));
        var events = new List<IPersistentRepresentation>();
        while (true)
        {
            var m = probe.ExpectMsg<object>();
            switch (m)
            {
                case ReplayedMessage r: events.Add(r.Persistent); break;
                case RecoverySuccess s: return (events, s.HighestSequenceNr);
                case ReplayMessagesFailure f: throw new Xunit.Sdk.XunitException("replay failed: " + f.Cause);
                default: throw new Xunit.Sdk.XunitException("unexpected " + m);
            }
        }
    }

    protected static long[] Seqs(IEnumerable<IPersistentRepresentation> events) => events.Select(e => e.SequenceNr).ToArray();

    protected static long[] Range(long from, long to) => from > to ? Array.Empty<long>() : Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (long)i).ToArray();

    /// <summary>Deletes through the journal protocol and expects success.</summary>
    protected void DeleteTo(string pid, long to)
    {
        var probe = CreateTestProbe();
        JournalActor.Tell(new DeleteMessagesTo(pid, to, probe.Ref));
        Assert.Equal(to, probe.ExpectMsg<DeleteMessagesSuccess>().ToSequenceNr);
    }

    /// <summary>Runs a finite source to its end.</summary>
    protected List<T> RunToEnd<T>(Source<T, global::Akka.NotUsed> source, ActorSystem? system = null)
    {
        var task = source.RunWith(Sink.Seq<T>(), Materializer(system));
        Assert.True(task.Wait(TimeSpan.FromSeconds(30)), "the current query did not complete");
        return task.Result.ToList();
    }

    /// <summary>Takes the first <paramref name="n"/> elements of a (live) source.</summary>
    protected List<T> Take<T>(Source<T, global::Akka.NotUsed> source, int n, ActorSystem? system = null)
    {
        var task = source.Take(n).RunWith(Sink.Seq<T>(), Materializer(system));
        Assert.True(task.Wait(TimeSpan.FromSeconds(30)), $"the query did not deliver {n} elements");
        return task.Result.ToList();
    }

    /// <summary>Stops this test's actor system (every plugin releases the journal, which closes).</summary>
    protected void StopSystem() => Shutdown(Sys, TimeSpan.FromSeconds(30), verifySystemShutdown: true);

    /// <summary>A new actor system over the same journal directory and configuration (after <see cref="StopSystem"/>).</summary>
    protected ActorSystem SecondSystem(string name = "second") => ActorSystem.Create(name, Sys.Settings.Config);

    protected override void AfterAll()
    {
        base.AfterAll();
        if (Backend != "postgres")
            try { Directory.Delete(JournalPath, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A payload of the plain (no manifest) test serializer.</summary>
public sealed class PlainPayload
{
    public PlainPayload(string text) => Text = text;
    public string Text { get; }
    public override bool Equals(object? obj) => obj is PlainPayload p && p.Text == Text;
    public override int GetHashCode() => Text.GetHashCode();
    public override string ToString() => $"PlainPayload({Text})";
}

/// <summary>A serializer without manifest that changes the bytes: a replay through another serializer would not give the payload back.</summary>
public sealed class PlainSerializer : Serializer
{
    public PlainSerializer(ExtendedActorSystem system) : base(system) { }
    public override int Identifier => 7301;
    public override bool IncludeManifest => false;
    public override byte[] ToBinary(object obj) => Encoding.UTF8.GetBytes("plain:" + ((PlainPayload)obj).Text);

    public override object FromBinary(byte[] bytes, Type type)
    {
        string s = Encoding.UTF8.GetString(bytes);
        if (!s.StartsWith("plain:")) throw new ArgumentException("not written by PlainSerializer: " + s);
        return new PlainPayload(s.Substring(6));
    }
}

/// <summary>A payload whose serializer writes a versioned string manifest.</summary>
public sealed class VersionedPayload
{
    public VersionedPayload(string text, int version) { Text = text; Version = version; }
    public string Text { get; }
    public int Version { get; }
    public override bool Equals(object? obj) => obj is VersionedPayload p && p.Text == Text && p.Version == Version;
    public override int GetHashCode() => Text.GetHashCode() ^ Version;
    public override string ToString() => $"VersionedPayload({Text}, v{Version})";
}

/// <summary>A string-manifest serializer: the manifest ("v1", "v2", ...) decides how the bytes are read.</summary>
public sealed class VersionedSerializer : SerializerWithStringManifest
{
    public VersionedSerializer(ExtendedActorSystem system) : base(system) { }
    public override int Identifier => 7302;
    public override string Manifest(object o) => "v" + ((VersionedPayload)o).Version;
    public override byte[] ToBinary(object obj) => Encoding.UTF8.GetBytes(((VersionedPayload)obj).Text);

    public override object FromBinary(byte[] bytes, string manifest) =>
        manifest.StartsWith("v") && int.TryParse(manifest.Substring(1), out int v)
            ? new VersionedPayload(Encoding.UTF8.GetString(bytes), v)
            : throw new ArgumentException("unknown manifest " + manifest);
}

/// <summary>A payload holding an actor reference.</summary>
public sealed class RefPayload
{
    public RefPayload(IActorRef target) => Target = target;
    public IActorRef Target { get; }
}

/// <summary>
/// Serializes an actor reference by its path; like every serializer of references it needs the transport
/// information Akka sets with <c>Serialization.WithTransport</c>, and fails without it.
/// </summary>
public sealed class ActorRefSerializer : Serializer
{
    public ActorRefSerializer(ExtendedActorSystem system) : base(system) { }
    public override int Identifier => 7303;
    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        var info = global::Akka.Serialization.Serialization.GetCurrentTransportInformation()
                   ?? throw new InvalidOperationException("serialized without transport information");
        if (!ReferenceEquals(info.System, system)) throw new InvalidOperationException("transport information of another actor system");
        return Encoding.UTF8.GetBytes(global::Akka.Serialization.Serialization.SerializedActorPath(((RefPayload)obj).Target));
    }

    public override object FromBinary(byte[] bytes, Type type) =>
        new RefPayload(system.Provider.ResolveActorRef(Encoding.UTF8.GetString(bytes)));
}

/// <summary>A payload that no serializer can write (the default JSON serializer calls the throwing getter).</summary>
public sealed class Unserializable
{
    public string Value => throw new InvalidOperationException("cannot serialize me");
}

/// <summary>
/// A persistent actor driven by messages: persists what it is told (one by one or atomically), records what it
/// recovered and how, and reports rejections, failures, snapshots and deletions to the actor that asked.
/// </summary>
public sealed class Recorder : UntypedPersistentActor
{
    public sealed record PersistEach(params object[] Events);
    public sealed record PersistAtomically(params object[] Events);
    public sealed record TakeSnapshot;
    public sealed record DeleteEventsTo(long ToSequenceNr);
    public sealed record GetState;
    public sealed record State(IReadOnlyList<object> Events, long LastSequenceNr, object? SnapshotState, long SnapshotSequenceNr, long Replayed);
    public sealed record Persisted(object Event, long SequenceNr);
    public sealed record Rejected(object Event, long SequenceNr);
    public sealed record Failed(object Event, long SequenceNr);

    private readonly List<object> _events = new();
    private object? _snapshotState;
    private long _snapshotSeq, _replayed;
    private readonly IActorRef _reportTo;

    public Recorder(string persistenceId, IActorRef reportTo, long recoverTo = long.MaxValue)
    {
        PersistenceId = persistenceId;
        _reportTo = reportTo;
        Recovery = new Recovery(SnapshotSelectionCriteria.Latest, recoverTo);
    }

    public override string PersistenceId { get; }
    public override Recovery Recovery { get; }

    public static Props Props(string persistenceId, IActorRef reportTo, long recoverTo = long.MaxValue) =>
        global::Akka.Actor.Props.Create(() => new Recorder(persistenceId, reportTo, recoverTo));

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer offer:
                _snapshotState = offer.Snapshot;
                _snapshotSeq = offer.Metadata.SequenceNr;
                _events.AddRange((string[])offer.Snapshot);
                break;
            case RecoveryCompleted:
                break;
            default:
                _events.Add(message);
                _replayed++;
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case PersistEach each:
                foreach (var e in each.Events) Persist(e, Done);
                break;
            case PersistAtomically all:
                PersistAll(all.Events, Done);
                break;
            case TakeSnapshot:
                SaveSnapshot(_events.Select(e => e.ToString()).ToArray());
                break;
            case DeleteEventsTo d:
                DeleteMessages(d.ToSequenceNr);
                break;
            case GetState:
                Sender.Tell(new State(_events.ToList(), LastSequenceNr, _snapshotState, _snapshotSeq, _replayed));
                break;
            case SaveSnapshotSuccess or SaveSnapshotFailure or DeleteMessagesSuccess or DeleteMessagesFailure:
                _reportTo.Tell(message);
                break;
        }
    }

    private void Done(object e)
    {
        _events.Add(e);
        _reportTo.Tell(new Persisted(e, LastSequenceNr));
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
        _reportTo.Tell(new Rejected(@event, sequenceNr));

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _reportTo.Tell(new Failed(@event, sequenceNr));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
