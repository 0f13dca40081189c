// How long another stream's AppendAsync takes to complete while a continuation of one stream sleeps 1 s
// (issue 21): run by continuations.sh, one line per round.
using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Tidelog;

public static class Continuations
{
    public static void Main(string[] args)
    {
        string dir = Path.Combine(args[0], "journal-" + Guid.NewGuid().ToString("N"));
        using var journal = Journal.Open(dir, new JournalOptions { Backend = Backend.Lmdb });
        journal.Append("warm-up", new NewEvent(new byte[] { 1 }));
        for (int round = 0; round < 10; round++)
        {
            using var asleep = new ManualResetEventSlim();
            // A continuation that runs synchronously where the task completes, and sleeps there.
            var slow = journal.AppendAsync("slow", new NewEvent(new byte[] { 1 })).ContinueWith(_ =>
            {
                asleep.Set();
                Thread.Sleep(1000);
            }, TaskContinuationOptions.ExecuteSynchronously);
            asleep.Wait();
            var clock = Stopwatch.StartNew();
            journal.AppendAsync("fast", new NewEvent(new byte[] { 2 })).Wait();
            Console.WriteLine($"other_stream_ms={clock.Elapsed.TotalMilliseconds:F1}");
            slow.Wait();
        }
        journal.Close();
        Directory.Delete(dir, true);
    }
}
