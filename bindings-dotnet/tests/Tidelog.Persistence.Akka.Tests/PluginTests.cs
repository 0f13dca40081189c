using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace Tidelog.Persistence.Akka.Tests;

/// <summary>The plugin end to end: recovery across actor systems (HOCON and Akka.Hosting), crashes.</summary>
public class PluginTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tidelog-akka-" + Guid.NewGuid().ToString("N"));

    public PluginTests(ITestOutputHelper output)
    {
        _output = output;
        TestEnvironment.Prepare();
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static Config Hocon(string path, string backend, string extra = "") =>
        ConfigurationFactory.ParseString(TidelogPersistence.Hocon(path, backend, true, extra) + "\nakka.loglevel = " + (Environment.GetEnvironmentVariable("TIDELOG_AKKA_LOGLEVEL") ?? "WARNING"));

    /// <summary>
    /// Where a test on <paramref name="backend"/> keeps its journal: this test's directory, or for "postgres" the test
    /// server (tests/postgres.sh) with a schema of this test's own. Null when there is no server outside CI: the caller
    /// then returns (under <c>CI=true</c> a missing server fails the test).
    /// </summary>
    private string? Location(string backend)
    {
        if (backend != "postgres") return _dir;
        string? server = Environment.GetEnvironmentVariable("TIDELOG_TEST_POSTGRES");
        if (string.IsNullOrEmpty(server))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI=true but TIDELOG_TEST_POSTGRES is unset");
            _output.WriteLine("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset; tests/postgres.sh run sets it");
            return null;
        }
        return server + (server.Contains('?') ? "&" : "?") + "tidelog_schema=akka_plugin_" + _schema;
    }

    private readonly string _schema = Guid.NewGuid().ToString("N").Substring(0, 12);

    private static async Task<CounterReport> PersistAndReport(ActorSystem system, string pid, int n)
    {
        var counter = system.ActorOf(Counter.Props(pid, n / 2));
        for (int i = 1; i <= n; i++) counter.Tell(i);
        return await counter.Ask<CounterReport>("report", TimeSpan.FromSeconds(120));
    }

    private static Task<CounterReport> Recover(ActorSystem system, string pid, int snapshotEvery) =>
        system.ActorOf(Counter.Props(pid, snapshotEvery)).Ask<CounterReport>("report", TimeSpan.FromSeconds(180));

    [Theory]
    [InlineData("lmdb")]
    [InlineData("files")]
    [InlineData("postgres")]
    public async Task Ten_thousand_events_and_a_snapshot_recover_in_a_new_actor_system_configured_with_HOCON(string backend)
    {
        string? at = Location(backend);
        if (at == null) return;
        // Default sync policy (always) would make this test measure the disk; behaviour is the same with `never`.
        var config = Hocon(at, backend, "sync = never");
        CounterReport written;
        using (var system = ActorSystem.Create("writer", config))
        {
            written = await PersistAndReport(system, "counter-1", 10_000);
            await system.Terminate();
        }
        Assert.Equal(10_000, written.Count);
        Assert.Equal(50_005_000, written.Sum);

        using var second = ActorSystem.Create("reader", config);
        var recovered = await Recover(second, "counter-1", 5_000);
        Assert.Equal(written.Count, recovered.Count);
        Assert.Equal(written.Sum, recovered.Sum);
        Assert.Equal(10_000, recovered.SnapshotSequenceNr); // the newest snapshot (taken at 5,000 and 10,000)
        Assert.Equal(0, recovered.Replayed);
        await second.Terminate();
    }

    [Fact]
    public async Task Recovery_replays_the_events_after_the_midway_snapshot()
    {
        var config = Hocon(_dir, "lmdb", "sync = never");
        using (var system = ActorSystem.Create("writer", config))
        {
            var counter = system.ActorOf(Counter.Props("counter-2", 5_000));
            for (int i = 1; i <= 7_500; i++) counter.Tell(i);
            var report = await counter.Ask<CounterReport>("report", TimeSpan.FromSeconds(120));
            Assert.Equal(7_500, report.Count);
            await system.Terminate();
        }
        using var second = ActorSystem.Create("reader", config);
        var recovered = await Recover(second, "counter-2", 5_000);
        Assert.Equal(7_500, recovered.Count);
        Assert.Equal(7_500L * 7_501 / 2, recovered.Sum);
        Assert.Equal(5_000, recovered.SnapshotSequenceNr);
        Assert.Equal(2_500, recovered.Replayed);
        await second.Terminate();
    }

    [Fact]
    public async Task Ten_thousand_events_and_a_snapshot_recover_with_Akka_Hosting()
    {
        async Task<CounterReport> Run(Func<ActorSystem, Task<CounterReport>> body)
        {
            using var host = new HostBuilder()
                .ConfigureServices(services => services.AddAkka("hosted", builder =>
                    builder.WithTidelogPersistence(_dir, "files", extraJournalHocon: "sync = never")))
                .Build();
            await host.StartAsync();
            try { return await body(host.Services.GetRequiredService<ActorSystem>()); }
            finally { await host.StopAsync(); }
        }

        var written = await Run(system => PersistAndReport(system, "hosted-1", 10_000));
        Assert.Equal(10_000, written.Count);
        var recovered = await Run(system => Recover(system, "hosted-1", 5_000));
        Assert.Equal(written.Sum, recovered.Sum);
        Assert.Equal(10_000, recovered.Count);
        Assert.Equal(10_000, recovered.SnapshotSequenceNr);
    }

    [Theory]
    [InlineData("lmdb")]
    [InlineData("files")]
    [InlineData("postgres")]
    public async Task Rapid_saves_of_one_snapshot_keep_the_last_one(string backend)
    {
        string? at = Location(backend);
        if (at == null) return;
        // Rapid saves of one snapshot (the TCK calls it SupportsConcurrentSaves): saves sent back to
        // back are applied in order, so the last one sent is the one loaded.
        using var system = ActorSystem.Create("saves", Hocon(at, backend));
        var store = global::Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(null);
        var probe = system.ActorOf(Props.Create(() => new Collector()));
        for (int round = 0; round < 20; round++)
        {
            string pid = $"saves-{round}";
            var now = DateTime.UtcNow;
            for (int i = 0; i < 10; i++)
                store.Tell(new global::Akka.Persistence.SaveSnapshot(new global::Akka.Persistence.SnapshotMetadata(pid, 3, now.AddTicks(i)), i), probe);
            var loaded = await store.Ask<global::Akka.Persistence.LoadSnapshotResult>(
                new global::Akka.Persistence.LoadSnapshot(pid, global::Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), TimeSpan.FromSeconds(60));
            Assert.Equal(9, loaded.Snapshot.Snapshot);
            Assert.Equal(now.AddTicks(9), loaded.Snapshot.Metadata.Timestamp);
        }
        await system.Terminate();
    }

    /// <summary>A payload the JSON serializer cannot write: its property throws.</summary>
    public sealed class Exploding
    {
        public string Value => throw new InvalidOperationException("cannot serialize me");
    }

    private sealed class Rejecting : ReceivePersistentActor
    {
        private IActorRef _reportTo = ActorRefs.Nobody;

        public Rejecting(string id)
        {
            PersistenceId = id;
            Recover<string>(_ => { });
            Command<object>(m =>
            {
                _reportTo = Sender;
                Persist(m, e => _reportTo.Tell($"persisted {LastSequenceNr}"));
            });
        }

        public override string PersistenceId { get; }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
        {
            _reportTo.Tell($"rejected {sequenceNr}");
        }
    }

    [Theory]
    [InlineData("lmdb")]
    [InlineData("files")]
    [InlineData("postgres")]
    public async Task A_payload_that_cannot_be_serialized_is_rejected_alone(string backend)
    {
        string? at = Location(backend);
        if (at == null) return;
        using var system = ActorSystem.Create("rejects", Hocon(at, backend));
        var actor = system.ActorOf(Props.Create(() => new Rejecting("rejects-1")));
        Assert.Equal("persisted 1", await actor.Ask<string>("first", TimeSpan.FromSeconds(60)));
        Assert.Equal("rejected 2", await actor.Ask<string>(new Exploding(), TimeSpan.FromSeconds(60)));
        // The actor keeps running, and the rejected event is not in the journal.
        string third = await actor.Ask<string>("third", TimeSpan.FromSeconds(60));
        await system.Terminate();
        using var second = ActorSystem.Create("rejects2", Hocon(at, backend));
        var events = new List<string>();
        var queries = global::Akka.Persistence.Query.PersistenceQuery.Get(second)
            .ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
        await queries.CurrentEventsByPersistenceId("rejects-1", 0, long.MaxValue)
            .RunForeach(e => events.Add((string)e.Event), global::Akka.Streams.ActorMaterializer.Create(second));
        Assert.Equal(new[] { "first", "third" }, events);
        Assert.StartsWith("persisted ", third);
        await second.Terminate();
    }

    private sealed class Forwarder : ReceiveActor
    {
        public Forwarder(System.Collections.Concurrent.BlockingCollection<object> into) => ReceiveAny(into.Add);
    }

    [Theory]
    [InlineData("lmdb")]
    [InlineData("files")]
    [InlineData("postgres")]
    public void Highest_sequence_nr_is_read_after_in_flight_writes_of_the_stream(string backend)
    {
        string? at = Location(backend);
        if (at == null) return;
        using var system = ActorSystem.Create("highest", Hocon(at, backend));
        var journal = global::Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
        var received = new System.Collections.Concurrent.BlockingCollection<object>();
        var collector = system.ActorOf(Props.Create(() => new Forwarder(received)));
        for (int round = 0; round < 10; round++)
        {
            string pid = $"highest-{round}";
            var writes = Enumerable.Range(1, 100)
                .Select(i => (IPersistentEnvelope)new global::Akka.Persistence.AtomicWrite(new Persistent($"e{i}", i, pid, "", false, ActorRefs.NoSender, "w")))
                .ToList();
            // The replay asks for the highest sequence number while the writes may still be in flight.
            journal.Tell(new WriteMessages(writes, collector, 1));
            journal.Tell(new ReplayMessages(1, long.MaxValue, 0, pid, collector));
            RecoverySuccess? success = null;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (success == null && received.TryTake(out var m, deadline - DateTime.UtcNow))
                success = m as RecoverySuccess;
            Assert.NotNull(success);
            Assert.Equal(100, success!.HighestSequenceNr);
        }
        system.Terminate().Wait();
    }

    private sealed class Collector : ReceiveActor
    {
        public Collector() => ReceiveAny(_ => { });
    }

    [Fact]
    public void A_section_with_only_class_path_and_backend_works()
    {
        var settings = new TidelogSettings(ConfigurationFactory.ParseString($"class = x\npath = \"{_dir}\"\nbackend = files"));
        Assert.Equal(Tidelog.Backend.Files, settings.Backend);
        Assert.Equal(Tidelog.SyncPolicy.Always, settings.Sync);
        Assert.Equal(TimeSpan.FromMilliseconds(100), settings.RefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.CloseTimeout);
        Assert.Equal(4096, settings.MaxBatchEvents);
        Assert.Throws<ConfigurationException>(() => new TidelogSettings(ConfigurationFactory.ParseString("backend = lmdb")));
        Assert.Throws<ConfigurationException>(() => new TidelogSettings(ConfigurationFactory.ParseString($"path = \"{_dir}\"\nbackend = oracle")));
    }

    [Fact]
    public async Task Thirty_thousand_one_at_a_time_persists_never_stall_the_writer_thread()
    {
        // Every acknowledgement lets the writer thread go idle (spin, then sleep) just before the next call arrives:
        // a lost wake-up in that hand-off would leave the actor waiting forever, so the Ask would time out.
        var system = ActorSystem.Create("handoff", Hocon(Path.Combine(_dir, "handoff"), "files", "sync = never"));
        try
        {
            var report = await PersistAndReport(system, "handoff", 30_000);
            Assert.Equal(30_000, report.Count);
            Assert.Equal(30_000L * 30_001 / 2, report.Sum);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public void Plugins_that_share_a_path_share_one_journal_and_must_agree_on_its_settings()
    {
        TidelogSettings Section(string extra) =>
            new(ConfigurationFactory.ParseString($"path = \"{_dir}\"\nbackend = files\n{extra}"));
        var first = SharedJournals.Acquire(Section(""));
        try
        {
            var conflict = Assert.Throws<ConfigurationException>(() => SharedJournals.Acquire(Section("sync = never")));
            Assert.Contains("already open with sync = always, not never", conflict.Message);
            Assert.Contains("max_batch_events = 4096, not 7", Assert.Throws<ConfigurationException>(() => SharedJournals.Acquire(Section("max-batch-events = 7"))).Message);
            Assert.Throws<ConfigurationException>(() => SharedJournals.Acquire(
                new TidelogSettings(ConfigurationFactory.ParseString($"path = \"{_dir}\"\nbackend = lmdb"))));
            var second = SharedJournals.Acquire(Section("sync = always"));
            Assert.Same(first, second);
            SharedJournals.Release(second);
            first.Append("still-open", new NewEvent(new byte[] { 1 })); // one release of two: still open
        }
        finally
        {
            SharedJournals.Release(first);
        }
        // The last release closed it.
        Assert.Throws<ObjectDisposedException>(() => first.Append("closed", new NewEvent(new byte[] { 1 })));
    }

    [Theory]
    [InlineData("lmdb")]
    [InlineData("files")]
    public async Task Extra_HOCON_reaches_the_journal_and_the_snapshot_store(string backend)
    {
        string path = Path.Combine(_dir, backend);
        var system = ActorSystem.Create("extra", Hocon(path, backend, "sync = never"));
        try
        {
            // The counter saves a snapshot midway: journal and snapshot store both open the shared journal.
            var report = await PersistAndReport(system, "extra", 40);
            Assert.Equal(40, report.Count);
            var section = system.Settings.Config.GetConfig("akka.persistence.journal.tidelog");
            var journal = SharedJournals.Acquire(new TidelogSettings(section));
            try
            {
                var metrics = journal.Metrics();
                Assert.True(metrics.Events >= 40, $"{metrics.Events} events");
                Assert.Equal(0, metrics.Fsyncs); // sync = never governs the journal both plugins use
            }
            finally
            {
                SharedJournals.Release(journal);
            }
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Theory]
    [InlineData("lmdb")]
    [InlineData("files")]
    public void Every_persisted_event_survives_SIGKILL_of_the_actor_system_process(string backend)
    {
        string path = Path.Combine(_dir, backend);
        int seed = Environment.TickCount;
        _output.WriteLine($"crash test seed {seed}");
        var rng = new Random(seed);
        long printed = 0;
        for (int round = 0; round < 10; round++)
        {
            using var child = StartChild($"\"{path}\" {backend}");
            long roundMax = printed;
            var started = new ManualResetEventSlim();
            var reader = new Thread(() =>
            {
                string? line;
                while ((line = child.StandardOutput.ReadLine()) != null)
                {
                    if (line.StartsWith("persisted "))
                    {
                        Interlocked.Exchange(ref roundMax, Math.Max(Interlocked.Read(ref roundMax), long.Parse(line.Substring(10))));
                        started.Set();
                    }
                }
                started.Set();
            }) { IsBackground = true };
            reader.Start();
            Assert.True(started.Wait(60_000), "the child never persisted anything");
            Thread.Sleep(rng.Next(10, 500));
            Process.Start("kill", $"-KILL {child.Id}")!.WaitForExit();
            child.WaitForExit();
            reader.Join(10_000);
            printed = Interlocked.Read(ref roundMax);
            _output.WriteLine($"round {round}: highest printed {printed}");
        }

        using var system = ActorSystem.Create("verify", Hocon(path, backend));
        var report = Recover(system, "crash", 0).Result;
        Assert.True(report.Count >= printed, $"recovered {report.Count} events, {printed} were printed as persisted");
        Assert.Equal(report.Count * (report.Count + 1) / 2, report.Sum); // events 1..n, none missing or duplicated
        system.Terminate().Wait();
    }

    /// <summary>
    /// Issue #24, acceptance 3: an actor in one process persists events and snapshots to PostgreSQL and stops; this
    /// process recovers the same persistence id: the latest snapshot, then exactly the events after it. Needs
    /// <c>TIDELOG_TEST_POSTGRES</c> (set by tests/postgres.sh, which ./dev test runs everything beside).
    /// </summary>
    [Fact]
    public void An_actor_handed_off_to_another_process_recovers_its_snapshot_and_events_from_PostgreSQL()
    {
        // A schema of this test's own: a fresh journal.
        string? uri = Location("postgres");
        if (uri == null) return;
        using var child = StartChild($"\"{uri}\" lmdb handoff 23 5");
        var stderr = child.StandardError.ReadToEndAsync();
        string output = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(120_000), "the first process did not stop");
        Assert.True(child.ExitCode == 0, output + stderr.Result);
        Assert.Contains("handed off 23 276", output); // reported once every snapshot save (5, 10, 15, 20) has ended

        // The first process is gone: recover in this one, from the same database.
        using var system = ActorSystem.Create("taken-over", Hocon(uri, "lmdb"));
        var report = Recover(system, "handoff", 0).Result;
        Assert.Equal(20, report.SnapshotSequenceNr); // the latest snapshot, offered to the new incarnation
        Assert.Equal(3, report.Replayed);            // then exactly the events after it: 21, 22, 23
        Assert.Equal(23, report.Count);
        Assert.Equal(23 * 24 / 2, report.Sum);
        system.Terminate().Wait();
    }

    [Theory]
    [InlineData("lmdb")]
    [InlineData("files")]
    public void A_failed_flush_fails_the_persist_and_keeps_every_acknowledged_event(string backend)
    {
        string path = Path.Combine(_dir, backend);
        string shim = Path.Combine(Path.GetDirectoryName(typeof(PluginTests).Assembly.Location)!, "libfailsync.so");
        Assert.True(File.Exists(shim), $"{shim} is built by build.sh test");
        // The shim makes fsync/fdatasync fail with EIO after 60 calls succeeded: a real failed flush under the plugin.
        using var child = StartChild($"\"{path}\" {backend} until-failure", new Dictionary<string, string>
        {
            ["LD_PRELOAD"] = shim,
            ["TIDELOG_FAIL_SYNC_AFTER"] = "60",
        });
        var stderr = child.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        string? line;
        while ((line = child.StandardOutput.ReadLine()) != null) lines.Add(line);
        Assert.True(child.WaitForExit(60_000), "the actor system did not stop after the failure");
        string output = string.Join("\n", lines) + "\n" + stderr.Result;
        long printed = lines.Where(l => l.StartsWith("persisted ")).Select(l => long.Parse(l.Substring(10))).DefaultIfEmpty(0).Max();
        Assert.True(printed > 0, output);
        Assert.Contains(lines, l => l == "persist failed: Tidelog.JournalIOException" || l == "persist failed: Tidelog.JournalFailedException");
        Assert.Equal("counter stopped", lines.Last());

        // Reopened without the shim: every acknowledged event is there, and nothing else but the one in flight.
        using var system = ActorSystem.Create("after-failure", Hocon(path, backend));
        var report = Recover(system, "crash", 0).Result;
        Assert.InRange(report.Count, printed, printed + 1);
        Assert.Equal(report.Count * (report.Count + 1) / 2, report.Sum);
        system.Terminate().Wait();
    }

    private static Process StartChild(string arguments, IDictionary<string, string>? environment = null)
    {
        string dir = Path.GetDirectoryName(typeof(PluginTests).Assembly.Location)!;
        bool mono = Type.GetType("Mono.Runtime") != null;
        var info = mono
            ? new ProcessStartInfo("mono", $"\"{Path.Combine(dir, "Tidelog.Persistence.Akka.TestChild.exe")}\" {arguments}")
            : new ProcessStartInfo("dotnet", $"\"{Path.Combine(dir, "Tidelog.Persistence.Akka.TestChild.dll")}\" {arguments}");
        info.UseShellExecute = false;
        foreach (var kv in environment ?? new Dictionary<string, string>()) info.Environment[kv.Key] = kv.Value;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = dir;
        return Process.Start(info)!;
    }
}

/// <summary>Process-wide settings for the tests.</summary>
internal static class TestEnvironment
{
    /// <summary>
    /// Many conformance tests block pool threads (synchronous expectations) while actors, streams and completions need
    /// others; Mono adds pool threads slowly, so start with enough of them.
    /// </summary>
    public static void Prepare() => ThreadPool.SetMinThreads(Math.Max(32, Environment.ProcessorCount * 8), 32);
}
