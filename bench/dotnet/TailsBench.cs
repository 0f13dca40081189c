// Commit-to-subscriber latency on .NET (issue 23), one run, three subscribers of the same tag in one process:
//   1. a Tidelog subscription (Journal.SubscribeTag, await foreach on the thread pool);
//   2. the Akka.NET read journal's live EventsByTag, which now runs on a subscription;
//   3. the same read journal with live-queries = poll at its default refresh interval (100 ms): the behaviour
//      before subscriptions.
// One writer thread appends one event at a time (LMDB, sync = always) with a blocking Append and a random pause
// (0-2 ms) between events. Latency of an event = the moment a subscriber holds it - the moment Append returned on the
// writer thread (the event is committed, fsynced and published then); a subscriber can be faster than the writer's
// own return, so values below 0 exist. Also reported: Append's own duration (submit to return) as the scale.
// Run with bench/dotnet/run.sh (after AkkaBench.exe) or: mono TailsBench.exe DATA_DIR [EVENTS]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Tidelog;
using Tidelog.Persistence.Akka;

internal static class TailsBench
{
    private const string Tag = "bench";

    private static async Task<int> Main(string[] args)
    {
        string dir = Path.Combine(args.Length > 0 ? args[0] : Path.GetTempPath(), "tails-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        int events = args.Length > 1 ? int.Parse(args[1]) : 2000;
        Directory.CreateDirectory(dir);
        var config = ConfigurationFactory.ParseString(TidelogPersistence.Hocon(dir, "lmdb", true, "sync = always") + $@"
akka.loglevel = WARNING
akka.persistence.query.journal.tidelog-polling {{
  class = ""{typeof(TidelogReadJournalProvider).AssemblyQualifiedName}""
  live-queries = poll
}}
");
        using var system = ActorSystem.Create("tails-bench", config);
        var materializer = system.Materializer();
        var queries = PersistenceQuery.Get(system).ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
        var polling = PersistenceQuery.Get(system).ReadJournalFor<TidelogReadJournal>("akka.persistence.query.journal.tidelog-polling");
        // The read journal's shared journal (one per directory in a process): the writer appends through it.
        var journal = (Journal)typeof(TidelogReadJournal).GetField("_journal", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(queries)!;
        string refresh = system.Settings.Config.GetString("akka.persistence.query.journal.tidelog-polling.refresh-interval", "100ms");

        var names = new[] { "Tidelog subscription (C#, await foreach)", "Akka.NET read journal, live EventsByTag (subscription)", $"Akka.NET read journal, live EventsByTag polling every {refresh} (default)" };
        var seen = names.Select(_ => new long[events]).ToArray();
        var counts = new int[names.Length];
        var allSeen = names.Select(_ => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        void Saw(int who, byte[] payload)
        {
            long now = Stopwatch.GetTimestamp();
            seen[who][int.Parse(Encoding.ASCII.GetString(payload))] = now;
            if (Interlocked.Increment(ref counts[who]) == events) allSeen[who].TrySetResult(true);
        }

        using var cts = new CancellationTokenSource();
        var direct = Task.Run(async () =>
        {
            await foreach (var e in journal.SubscribeTag(Tag).WithCancellation(cts.Token)) Saw(0, e.Payload);
        });
        var killSwitches = new[] { queries, polling }.Select((q, i) => q.EventsByTag(Tag, NoOffset.Instance)
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .ToMaterialized(Sink.ForEach<EventEnvelope>(e => Saw(i + 1, (byte[])e.Event)), Keep.Left)
            .Run(materializer)).ToArray();

        // Akka payload: a byte array (Akka's ByteArraySerializer, id 4), in the plugin's metadata layout
        // (version 1, serializer id, ticks, no adapter manifest), so the read journal can decode what the writer appends.
        static byte[] Metadata()
        {
            var m = new byte[13];
            m[0] = 1;
            BitConverter.GetBytes(4).CopyTo(m, 1);
            BitConverter.GetBytes(DateTime.UtcNow.Ticks).CopyTo(m, 5);
            return m;
        }
        await Task.Delay(500); // every subscriber has caught up with the empty journal and waits
        var committed = new long[events];
        var appendTicks = new long[events];
        var rng = new Random(23);
        var writer = new Thread(() =>
        {
            for (int i = 0; i < events; i++)
            {
                var e = new NewEvent(Encoding.ASCII.GetBytes(i.ToString())) { Tags = new[] { Tag }, Metadata = Metadata(), WriterId = "bench" };
                long start = Stopwatch.GetTimestamp();
                journal.Append("bench-writer", e);
                committed[i] = Stopwatch.GetTimestamp();
                appendTicks[i] = committed[i] - start;
                Thread.Sleep(rng.Next(0, 3));
            }
        }) { Name = "bench-writer" };
        writer.Start();
        writer.Join();
        var all = Task.WhenAll(allSeen.Select(s => s.Task));
        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30))) != all)
        {
            Console.Error.WriteLine($"not every subscriber saw every event: {string.Join(", ", counts)} of {events}");
            return 1;
        }
        cts.Cancel();
        foreach (var k in killSwitches) k.Shutdown();

        Console.WriteLine($"commit-to-subscriber latency, {events} events one at a time (LMDB, sync=always), µs: p50 / p99 / max (below 0: the subscriber held the event before Append returned on the writer thread)");
        Row("Append itself (submit to return), the scale", appendTicks);
        for (int who = 0; who < names.Length; who++)
            Row(names[who], seen[who].Select((t, i) => t - committed[i]).ToArray());
        await system.Terminate();
        try { Directory.Delete(dir, true); } catch (IOException) { }
        return 0;
    }

    private static void Row(string name, long[] ticks)
    {
        var us = ticks.Select(t => t * 1_000_000.0 / Stopwatch.Frequency).OrderBy(x => x).ToArray();
        double P(double p) => us[(int)Math.Round((us.Length - 1) * p)];
        Console.WriteLine($"  {name,-70} {P(0.5),9:F1} / {P(0.99),9:F1} / {us[us.Length - 1],9:F1}");
    }
}
