using System;
using System.Text;
using System.Threading.Tasks;
using Tidelog;

// A child process for the .NET tests. Modes:
//   exit-without-dispose PATH : open, append asynchronously, print "appended", return without disposing
//   subscribe-without-dispose PATH BACKEND : receive one event through a subscription, leave a request pending, return
//   crash PATH BACKEND        : append forever; print "ack <seq>" for every acknowledged event (killed by the test)
//   full PATH BACKEND         : append 64 KiB events until the device is full (the test sets a file-size limit)
//   failsync PATH BACKEND     : append until a flush fails (the test preloads libfailsync.so), then once more
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        string mode = args[0], path = args[1];
        var backend = args.Length > 2 ? (Backend)Enum.Parse(typeof(Backend), args[2], true) : Backend.Lmdb;
        switch (mode)
        {
            case "exit-without-dispose":
            {
                var journal = Journal.Open(path, new JournalOptions { Backend = backend });
                var receipt = await journal.AppendAsync("child", new[] { new NewEvent(Encoding.UTF8.GetBytes("hello")) });
                Console.WriteLine($"appended {receipt.LastSequenceNr}");
                GC.KeepAlive(journal);
                return 0;
            }
            case "subscribe-without-dispose":
            {
                // A subscription that received an event, then one request parked in the library, and neither the
                // subscription nor the journal disposed: the process must still exit.
                var journal = Journal.Open(path, new JournalOptions { Backend = backend });
                var subscription = journal.SubscribeAll();
                var first = subscription.NextBatchAsync();
                await journal.AppendAsync("child", new[] { new NewEvent(Encoding.UTF8.GetBytes("hello")) });
                var batch = await first;
                var parked = subscription.NextBatchAsync();
                Console.WriteLine($"received {batch.Count} parked {(parked.IsCompleted ? "no" : "yes")}");
                GC.KeepAlive(journal);
                GC.KeepAlive(subscription);
                return 0;
            }
            case "crash":
            {
                var journal = Journal.Open(path, new JournalOptions { Backend = backend });
                Console.WriteLine("ready");
                long next = journal.HighestSequenceNr("crash") + 1;
                var rng = new Random();
                while (true)
                {
                    // Batches of 1..8 events, half through the async path.
                    int n = rng.Next(1, 9);
                    var events = new NewEvent[n];
                    for (int i = 0; i < n; i++) events[i] = new NewEvent(Payload(next + i)) { Tags = new[] { "crash" } };
                    WriteReceipt r = rng.Next(2) == 0
                        ? journal.Append("crash", events)
                        : await journal.AppendAsync("crash", events).ConfigureAwait(false);
                    Console.WriteLine($"ack {r.LastSequenceNr}");
                    next = r.LastSequenceNr + 1;
                }
            }
            case "full":
            {
                using var journal = Journal.Open(path, new JournalOptions { Backend = backend });
                long acked = 0;
                try
                {
                    for (int i = 0; i < 1000; i++) acked = journal.Append("big", new NewEvent(new byte[64 << 10])).LastSequenceNr;
                    Console.WriteLine("never full");
                }
                catch (TidelogException e)
                {
                    Console.WriteLine($"full {e.GetType().Name} {acked}");
                    try
                    {
                        journal.Append("big", new NewEvent(new byte[64 << 10]));
                        Console.WriteLine("then ok");
                    }
                    catch (TidelogException again)
                    {
                        Console.WriteLine($"then {again.GetType().Name}");
                    }
                }
                return 0;
            }
            case "failsync":
            {
                // Run with LD_PRELOAD=libfailsync.so: flushes start failing after a few succeeded.
                using var journal = Journal.Open(path, new JournalOptions { Backend = backend });
                try
                {
                    for (int i = 0; i < 1000; i++) journal.Append("p", new NewEvent(new byte[16]));
                    Console.WriteLine("never failed");
                }
                catch (TidelogException e)
                {
                    Console.WriteLine($"first {e.GetType().Name}");
                    try
                    {
                        journal.Append("p", new NewEvent(new byte[16]));
                        Console.WriteLine("then ok");
                    }
                    catch (TidelogException again)
                    {
                        Console.WriteLine($"then {again.GetType().Name}");
                    }
                }
                return 0;
            }
            default:
                Console.Error.WriteLine($"unknown mode {mode}");
                return 2;
        }
    }

    /// <summary>The payload the crash test expects for a sequence number.</summary>
    public static byte[] Payload(long seq) => Encoding.UTF8.GetBytes($"event-{seq}-" + new string('x', (int)(seq % 100)));
}
