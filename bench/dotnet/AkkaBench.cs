// Akka.NET persistence benchmark: N persistent actors, each persisting one event at a time (every Persist waits
// for its acknowledgement), with the Tidelog plugin (default sync policy: fsync before acknowledging) next to
// Akka's in-memory journal and the raw fdatasync rate of the same disk, in one run.
// Run with bench/dotnet/run.sh (after Bench.exe) or: mono AkkaBench.exe DATA_DIR
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Tidelog.Persistence.Akka;

internal static class AkkaBench
{
    private sealed class Start
    {
        public Start(int events, IActorRef replyTo) { Events = events; ReplyTo = replyTo; }
        public int Events { get; }
        public IActorRef ReplyTo { get; }
    }

    private sealed class Writer : ReceivePersistentActor
    {
        private int _target;
        private IActorRef _replyTo = ActorRefs.Nobody;

        public Writer(string id)
        {
            PersistenceId = id;
            Recover<int>(_ => { });
            Command<Start>(s =>
            {
                _target = s.Events;
                _replyTo = s.ReplyTo;
                PersistNext(1);
            });
        }

        private void PersistNext(int i) => Persist(i, e =>
        {
            if (e < _target) PersistNext(e + 1);
            else _replyTo.Tell("done");
        });

        public override string PersistenceId { get; }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(int fd);

    /// <summary>libc sync(2): before each measurement, so that no earlier run's dirty pages are written back during it.</summary>
    [DllImport("libc", EntryPoint = "sync")]
    private static extern void SyncAll();

    /// <summary>
    /// The disk's raw rate of durable small writes, measured the way a log writes: 100 bytes overwritten in place in
    /// a preallocated 4 MiB file, each followed by fdatasync.
    /// </summary>
    private static double FdatasyncRate(string dir, TimeSpan duration)
    {
        SyncAll();
        string file = Path.Combine(dir, "fdatasync-probe");
        using var fs = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        int fd = (int)fs.SafeFileHandle.DangerousGetHandle();
        var zeros = new byte[4 << 20];
        fs.Write(zeros, 0, zeros.Length);
        fs.Flush();
        if (fdatasync(fd) != 0) throw new IOException("fdatasync failed");
        var block = new byte[100];
        long n = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            fs.Position = (n * 100) % (zeros.Length - 100);
            fs.Write(block, 0, block.Length);
            fs.Flush();
            if (fdatasync(fd) != 0) throw new IOException($"fdatasync failed: {Marshal.GetLastWin32Error()}");
            n++;
        }
        return n / sw.Elapsed.TotalSeconds;
    }

    private static void Trace(string what)
    {
        if (Environment.GetEnvironmentVariable("BENCH_LOGLEVEL") != null) Console.WriteLine($"[trace] {what}");
    }

    private static Func<IActorRef, object> StartWith(int events) => replyTo => new Start(events, replyTo);

    private static async Task<double> Run(string name, Config config, int actors, int eventsPerActor)
    {
        var system = ActorSystem.Create("bench", config.WithFallback(ConfigurationFactory.ParseString("akka.loglevel = " + (Environment.GetEnvironmentVariable("BENCH_LOGLEVEL") ?? "WARNING"))));
        try
        {
            Trace("system up");
            var writers = Enumerable.Range(0, actors).Select(i => system.ActorOf(Props.Create(() => new Writer($"{name}-{actors}-{i}-{Guid.NewGuid():N}")))).ToArray();
            // Warm up (recovery, JIT, the first segment or map pages): a tenth of the measured persists.
            int warmUp = Math.Max(5, eventsPerActor / 10);
            await Task.WhenAll(writers.Select(w => w.Ask<string>(StartWith(warmUp), TimeSpan.FromMinutes(2), CancellationToken.None)));
            Trace("warmed up");
            // The previous run's garbage (the in-memory journal keeps every event) is collected now, not during this run.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            SyncAll();
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(writers.Select(w => w.Ask<string>(StartWith(eventsPerActor), TimeSpan.FromMinutes(10), CancellationToken.None)));
            sw.Stop();
            double rate = actors * (double)eventsPerActor / sw.Elapsed.TotalSeconds;
            Console.WriteLine($"{name,-34} N={actors,-4} {actors * eventsPerActor,8:N0} events {sw.Elapsed.TotalMilliseconds,9:N0} ms {rate,12:N0} events/s");
            return rate;
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<int> Main(string[] args)
    {
        string root = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "tidelog-akka-bench");
        Directory.CreateDirectory(root);
        int single = args.Length > 1 ? int.Parse(args[1]) : 5000;
        int perActor = args.Length > 2 ? int.Parse(args[2]) : 1000;
        Config Tidelog(string backend, string extra = "") => ConfigurationFactory.ParseString(
            TidelogPersistence.Hocon(Path.Combine(root, backend + "-" + Guid.NewGuid().ToString("N")), backend, true, extra));
        var inmem = ConfigurationFactory.ParseString($@"
akka.persistence.journal.plugin = ""akka.persistence.journal.inmem""
akka.persistence.snapshot-store.plugin = ""akka.persistence.snapshot-store.local""
akka.persistence.snapshot-store.local.dir = ""{Path.Combine(root, "snapshots").Replace("\\", "/")}""");

        // BENCH_ONLY=backend-N (e.g. lmdb-100, files-never-100, inmem-100) runs that one case alone, for profiling.
        string only = Environment.GetEnvironmentVariable("BENCH_ONLY") ?? "";
        if (only.Length > 0)
        {
            string[] parts = only.Split('-');
            int n = int.Parse(parts[parts.Length - 1]);
            Config config = parts[0] == "inmem" ? inmem : Tidelog(parts[0], parts.Length > 2 ? "sync = " + parts[1] : "");
            for (int round = 1; round <= 2; round++) await Run(only, config, n, n == 1 ? single : perActor);
            return 0;
        }
        // Each N=1 run is compared with the raw rate measured right before and right after it: this shared disk's
        // fsync latency drifts within minutes. Each N=100 run is compared with the in-memory run of its round.
        int rounds = int.Parse(Environment.GetEnvironmentVariable("BENCH_ROUNDS") ?? "3");
        var ratios = new System.Collections.Generic.Dictionary<string, System.Collections.Generic.List<double>>();
        void Ratio(string key, double value)
        {
            if (!ratios.TryGetValue(key, out var list)) ratios[key] = list = new();
            list.Add(value);
        }
        async Task<double> SingleVsRaw(string name, string backend)
        {
            double before = FdatasyncRate(root, TimeSpan.FromSeconds(1));
            double rate = await Run(name, Tidelog(backend), 1, single);
            double after = FdatasyncRate(root, TimeSpan.FromSeconds(1));
            Console.WriteLine($"{"  raw fdatasync before / after",-34} {before,12:N0} / {after:N0} /s (100 bytes in place + fdatasync, same disk)");
            return rate / ((before + after) / 2);
        }
        for (int round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"-- round {round}");
            await Run("akka in-memory journal", inmem, 1, single * 5);
            double inmem100 = await Run("akka in-memory journal", inmem, 100, perActor * 5);
            foreach (var b in new[] { "lmdb", "files" })
            {
                Ratio($"{b}-1", await SingleVsRaw($"tidelog {b} (sync always)", b));
                Ratio($"{b}-100", await Run($"tidelog {b} (sync always)", Tidelog(b), 100, perActor) / inmem100);
            }
            // Not a target: the plugin's cost without the disk, to separate CPU from fsync.
            await Run("tidelog files (sync never)", Tidelog("files", "sync = never"), 100, perActor);
        }
        string Percentages(string key) => string.Join(" / ", ratios[key].Select(r => $"{100 * r:N1}%")) + $" (mean {100 * ratios[key].Average():N1}%)";
        foreach (var b in new[] { "lmdb", "files" })
        {
            Console.WriteLine($"{b}: N=100 at {Percentages($"{b}-100")} of the in-memory journal of the same round (target >= 30%)");
            Console.WriteLine($"{b}: N=1 at {Percentages($"{b}-1")} of the raw fdatasync rate around it (target >= 50%)");
        }
        try { Directory.Delete(root, true); } catch (IOException) { }
        return 0;
    }
}
