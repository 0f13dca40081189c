// The .NET agent of the cross-language matrix (see tests/run.py); same commands as the Rust agent.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Newtonsoft.Json.Linq;
using Tidelog;

public static class Agent
{
    public static int Main(string[] args)
    {
        try
        {
            Run(args);
            return 0;
        }
        catch (CheckFailed e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    sealed class CheckFailed : Exception
    {
        public CheckFailed(string message) : base(message) { }
    }

    static void Check(bool ok, string what)
    {
        if (!ok) throw new CheckFailed(what);
    }

    static void Run(string[] args)
    {
        string cmd = args[0], path = args[1];
        var backend = args[2] == "lmdb" ? Backend.Lmdb : Backend.Files;
        string? extra = args.Length > 3 ? args[3] : null;
        if (cmd == "lock")
        {
            try
            {
                using var j = Journal.Open(path, new JournalOptions { Backend = backend });
                j.Close();
                Console.WriteLine("OPENED");
            }
            catch (JournalLockedException)
            {
                Console.WriteLine("LOCKED");
            }
            return;
        }
        using var journal = Journal.Open(path, new JournalOptions { Backend = backend, ReadOnly = cmd == "read" });
        try
        {
            switch (cmd)
            {
                case "write": Write(journal, JObject.Parse(File.ReadAllText(extra!))); break;
                case "verify": Verify(journal, JObject.Parse(File.ReadAllText(extra!))); break;
                case "crash": Crash(journal); break;
                case "acks": Acks(journal, extra!); break;
                case "read": ReadLive(journal); break;
                default: throw new ArgumentException("unknown command " + cmd);
            }
        }
        finally
        {
            journal.Close();
        }
    }

    static byte[] B64(JToken t) => Convert.FromBase64String((string)t!);

    static byte[] Payload(JToken p)
    {
        var unit = B64(p["base64"]!);
        int repeat = p["repeat"] is JToken r ? (int)r : 1;
        var output = new byte[unit.Length * repeat];
        for (int i = 0; i < repeat; i++) Buffer.BlockCopy(unit, 0, output, i * unit.Length, unit.Length);
        return output;
    }

    static byte[] CrashPayload(string pid, long seq)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 1 + seq % 40; i++) sb.Append(pid).Append(':').Append(seq).Append(':');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    static void Write(Journal j, JObject fx)
    {
        foreach (var a in fx["appends"]!)
        {
            var events = a["events"]!.Select(e => new NewEvent(Payload(e["payload"]!))
            {
                Manifest = (string)e["manifest"]!,
                WriterId = (string)e["writer_id"]!,
                Tags = e["tags"]!.Select(t => (string)t!).ToArray(),
                Timestamp = (long)e["timestamp"]!,
                Metadata = B64(e["metadata"]!),
            }).ToArray();
            j.Append((string)a["persistence_id"]!, events);
        }
        foreach (var d in fx["deletions"]!) j.DeleteTo((string)d["persistence_id"]!, (long)d["to"]!);
        foreach (var s in fx["snapshots"]!)
        {
            j.Snapshots.Save(new Snapshot((string)s["persistence_id"]!, (long)s["sequence_nr"]!, (long)s["timestamp"]!, B64(s["state"]!))
            {
                Manifest = (string)s["manifest"]!,
                Metadata = B64(s["metadata"]!),
            });
        }
    }

    sealed record Expected(string Pid, long Seq, long Offset, long Ts, string Manifest, string WriterId, string[] Tags, byte[] Metadata, byte[] Payload)
    {
        public bool Matches(Event e) =>
            e.PersistenceId == Pid && e.SequenceNr == Seq && e.GlobalOffset == Offset && e.Timestamp == Ts && e.Manifest == Manifest &&
            e.WriterId == WriterId && e.Tags.SequenceEqual(Tags) && e.Metadata.SequenceEqual(Metadata) && e.Payload.SequenceEqual(Payload);
    }

    static List<Expected> ExpectedEvents(JObject fx)
    {
        var highest = new Dictionary<string, long>();
        var deleted = fx["deletions"]!.ToDictionary(d => (string)d["persistence_id"]!, d => (long)d["to"]!);
        long offset = 0;
        var output = new List<Expected>();
        foreach (var a in fx["appends"]!)
        {
            var pid = (string)a["persistence_id"]!;
            foreach (var e in a["events"]!)
            {
                offset++;
                highest[pid] = highest.TryGetValue(pid, out var h) ? h + 1 : 1;
                if (highest[pid] <= (deleted.TryGetValue(pid, out var to) ? to : 0)) continue;
                output.Add(new Expected(pid, highest[pid], offset, (long)e["timestamp"]!, (string)e["manifest"]!, (string)e["writer_id"]!,
                    e["tags"]!.Select(t => (string)t!).ToArray(), B64(e["metadata"]!), Payload(e["payload"]!)));
            }
        }
        return output;
    }

    static void Same(IReadOnlyList<Event> got, IList<Expected> want, string what)
    {
        Check(got.Count == want.Count, $"{what}: {got.Count} events, expected {want.Count}");
        for (int i = 0; i < got.Count; i++) Check(want[i].Matches(got[i]), $"{what}: event {i} differs");
    }

    static void Verify(Journal j, JObject fx)
    {
        var want = ExpectedEvents(fx);
        Same(j.AllEvents(), want, "AllEvents");
        var ids = fx["appends"]!.Select(a => (string)a["persistence_id"]!).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
        Check(j.PersistenceIds().SequenceEqual(ids), "persistence ids differ");
        foreach (var pid in ids)
        {
            Same(j.Read(pid), want.Where(e => e.Pid == pid).ToList(), $"Read({pid})");
            long appended = fx["appends"]!.Where(a => (string)a["persistence_id"]! == pid).Sum(a => a["events"]!.Count());
            Check(j.HighestSequenceNr(pid) == appended, $"highest of {pid}");
        }
        Same(j.EventsByTag("orders"), want.Where(e => e.Tags.Contains("orders")).ToList(), "EventsByTag");
        foreach (var s in fx["snapshots"]!)
        {
            var pid = (string)s["persistence_id"]!;
            var latest = fx["snapshots"]!.Where(x => (string)x["persistence_id"]! == pid).OrderBy(x => (long)x["sequence_nr"]!).Last();
            CheckSnapshot(j.Snapshots.Load(pid), latest);
            CheckSnapshot(j.Snapshots.Load(pid, new SnapshotCriteria(maxSequenceNr: (long)s["sequence_nr"]!, minTimestamp: (long)s["timestamp"]!)), s);
        }
    }

    static void CheckSnapshot(Snapshot? got, JToken want)
    {
        Check(got != null, "snapshot missing");
        Check(got!.SequenceNr == (long)want["sequence_nr"]! && got.Timestamp == (long)want["timestamp"]! && got.Manifest == (string)want["manifest"]! &&
              got.Metadata.SequenceEqual(B64(want["metadata"]!)) && got.State.SequenceEqual(B64(want["state"]!)), $"snapshot of {got.PersistenceId} differs");
    }

    static void Crash(Journal j)
    {
        for (long i = 0; ; i++)
        {
            var pid = $"crash-dotnet-{i % 3}";
            long next = j.HighestSequenceNr(pid) + 1;
            var events = new List<NewEvent>();
            for (long s = next; s < next + 1 + i % 3; s++) events.Add(new NewEvent(CrashPayload(pid, s)));
            var r = j.Append(pid, events);
            Console.Out.WriteLine($"ack {pid} {r.LastSequenceNr}");
            Console.Out.Flush();
        }
    }

    static void Acks(Journal j, string ackFile)
    {
        var acked = new Dictionary<string, long>();
        foreach (var line in File.ReadAllLines(ackFile))
        {
            var p = line.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            if (p.Length == 3 && p[0] == "ack") acked[p[1]] = Math.Max(acked.TryGetValue(p[1], out var v) ? v : 0, long.Parse(p[2]));
        }
        foreach (var kv in acked)
        {
            var events = j.Read(kv.Key);
            Check(events.Count >= kv.Value, $"{kv.Key}: {events.Count} events, {kv.Value} acknowledged");
            for (int i = 0; i < events.Count; i++)
                Check(events[i].SequenceNr == i + 1 && events[i].Payload.SequenceEqual(CrashPayload(kv.Key, events[i].SequenceNr)), $"{kv.Key}: event {events[i].SequenceNr} damaged");
        }
    }

    static void ReadLive(Journal j)
    {
        long total = 0;
        foreach (var pid in j.PersistenceIds())
        {
            var events = j.Read(pid);
            for (int i = 0; i < events.Count; i++)
                Check(events[i].SequenceNr == events[0].SequenceNr + i && events[i].Payload.SequenceEqual(CrashPayload(pid, events[i].SequenceNr)), $"{pid}: inconsistent");
            total += events.Count;
        }
        Check(total > 0, "a reader beside the writer saw no events");
        Console.WriteLine($"read {total}");
    }
}
