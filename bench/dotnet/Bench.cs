// Benchmarks of the Tidelog .NET binding (run with bench/dotnet/run.sh or bindings-dotnet/build.sh bench).
//   append  : per-call cost of a no-sync blocking append of one 100-byte event from C#, next to
//             LightningDB's put + commit (one transaction per put, NoSync) in the same run
//   async   : throughput of AppendAsync with many in flight (completion queue)
//   replay  : events/s replaying 1,000,000 events of one stream (Journal.Replay, one native call per page)
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using LightningDB;
using Tidelog;

internal static class Bench
{
    private static string _root = "";

    private static async Task<int> Main(string[] args)
    {
        _root = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "tidelog-dotnet-bench-" + Process.GetCurrentProcess().Id);
        int appendN = args.Length > 1 ? int.Parse(args[1]) : 200_000;
        int replayN = args.Length > 2 ? int.Parse(args[2]) : 1_000_000;
        Directory.CreateDirectory(_root);
        try
        {
            Console.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription}; native library {Journal.NativeVersion} (C ABI {Journal.NativeAbiVersion})");
            const int calls = 2_000_000;
            var pinvoke = Stopwatch.StartNew();
            uint sink = 0;
            for (int i = 0; i < calls; i++) sink += Journal.NativeAbiVersion;
            pinvoke.Stop();
            Report($"P/Invoke round trip (tidelog_abi_version){(sink == 0 ? "!" : "")}", calls, pinvoke);
            for (int round = 1; round <= 2; round++)
            {
                Console.WriteLine($"-- round {round}");
                AppendTidelog(appendN, Backend.Lmdb);
                AppendTidelog(appendN, Backend.Files);
                AppendTidelog(appendN, Backend.Memory);
                AppendLightning(appendN);
                await WriteTidelog(appendN / 4);
                await AppendAsyncTidelog(appendN);
            }
            Replay(replayN, Backend.Lmdb);
            Replay(replayN, Backend.Files);
            return 0;
        }
        finally
        {
            try { Directory.Delete(_root, true); } catch (IOException) { }
        }
    }

    private static string Fresh(string name)
    {
        string p = Path.Combine(_root, name + "-" + Guid.NewGuid().ToString("N"));
        return p;
    }

    private static void Report(string what, int n, Stopwatch sw) =>
        Console.WriteLine($"{what,-52} {n,9:N0} ops  {sw.Elapsed.TotalMilliseconds * 1e6 / n,10:N0} ns/op  {n / sw.Elapsed.TotalSeconds,12:N0} ops/s");

    private static void AppendTidelog(int n, Backend backend)
    {
        using var journal = Journal.Open(Fresh("append"), new JournalOptions { Backend = backend, Sync = SyncPolicy.Never });
        var payload = new byte[100];
        var events = new[] { new NewEvent(payload) };
        for (int i = 0; i < 1000; i++) journal.Append("warmup", events);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) journal.Append("bench", events);
        sw.Stop();
        Report($"tidelog {backend.ToString().ToLowerInvariant()} Append (no sync, 1 event)", n, sw);
    }

    /// <summary>One explicit write at a time on files, blocking and awaited: the cost of each path's hand-offs.</summary>
    private static async Task WriteTidelog(int n)
    {
        using var journal = Journal.Open(Fresh("write"), new JournalOptions { Backend = Backend.Files, Sync = SyncPolicy.Never });
        var payload = new byte[100];
        long seq = 1;
        AtomicWrite[] Next() => new[] { new AtomicWrite("bench", seq++, new[] { new NewEvent(payload) }) };
        for (int i = 0; i < 1000; i++) journal.Write(Next());
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) journal.Write(Next());
        sw.Stop();
        Report("tidelog files Write (no sync, 1 event)", n, sw);
        sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) await journal.WriteAsync(Next());
        sw.Stop();
        Report("tidelog files await WriteAsync (no sync, 1 event)", n, sw);
    }

    private static void AppendLightning(int n)
    {
        string path = Fresh("lightning");
        Directory.CreateDirectory(path);
        using var env = new LightningEnvironment(path, new EnvironmentConfiguration { MapSize = 1L << 30 });
        env.Open(EnvironmentOpenFlags.NoSync);
        LightningDatabase db;
        using (var tx = env.BeginTransaction())
        {
            db = tx.OpenDatabase(configuration: new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
            tx.Commit();
        }
        var payload = new byte[100];
        var key = new byte[8];
        for (int i = 0; i < 1000; i++) PutCommit(env, db, key, payload, -1 - i);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) PutCommit(env, db, key, payload, i);
        sw.Stop();
        Report("LightningDB put+commit (NoSync, 1 value)", n, sw);
        db.Dispose();
    }

    private static void PutCommit(LightningEnvironment env, LightningDatabase db, byte[] key, byte[] value, long i)
    {
        for (int b = 0; b < 8; b++) key[b] = (byte)(i >> (56 - 8 * b));
        using var tx = env.BeginTransaction();
        tx.Put(db, key, value);
        tx.Commit();
    }

    private static async Task AppendAsyncTidelog(int n)
    {
        using var journal = Journal.Open(Fresh("async"), new JournalOptions { Backend = Backend.Lmdb, Sync = SyncPolicy.Never });
        var events = new[] { new NewEvent(new byte[100]) };
        const int window = 1000;
        var sw = Stopwatch.StartNew();
        var inflight = new Task[window];
        for (int i = 0; i < n; i++)
        {
            int slot = i % window;
            if (inflight[slot] != null) await inflight[slot];
            inflight[slot] = journal.AppendAsync("s" + (i % 100), events);
        }
        await Task.WhenAll(inflight.Where(t => t != null));
        sw.Stop();
        Report("tidelog lmdb AppendAsync (no sync, 1000 in flight)", n, sw);
    }

    private static void Replay(int n, Backend backend)
    {
        using var journal = Journal.Open(Fresh("replay"), new JournalOptions { Backend = backend, Sync = SyncPolicy.Never, LmdbMapSize = 1L << 30 });
        var batch = Enumerable.Range(0, 1000).Select(i => new NewEvent(new byte[100]) { Manifest = "Evt", WriterId = "w1" }).ToArray();
        for (int i = 0; i < n / 1000; i++) journal.Append("replay", batch);
        for (int round = 1; round <= 3; round++)
        {
            var sw = Stopwatch.StartNew();
            long count = 0, sum = 0;
            foreach (var e in journal.Replay("replay", pageSize: 4096))
            {
                count++;
                sum += e.Payload.Length;
            }
            sw.Stop();
            if (count != n || sum != 100L * n) throw new Exception($"replayed {count} events");
            Console.WriteLine($"tidelog {backend.ToString().ToLowerInvariant()} replay {count:N0} events (pages of 4096), round {round}: {sw.Elapsed.TotalMilliseconds:N0} ms, {count / sw.Elapsed.TotalSeconds:N0} events/s");
        }
    }
}
