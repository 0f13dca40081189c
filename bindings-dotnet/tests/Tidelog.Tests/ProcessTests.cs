using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using Tidelog;
using Xunit;
using Xunit.Abstractions;
using static Tidelog.Tests.Support;

namespace Tidelog.Tests;

/// <summary>Tests with real child processes.</summary>
public class ProcessTests
{
    private readonly ITestOutputHelper _output;

    public ProcessTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(Backend.Lmdb)]
    [InlineData(Backend.Files)]
    public void A_process_that_never_disposes_its_journal_exits_by_itself(Backend backend)
    {
        using var dir = new TempDir();
        using var child = StartChild($"exit-without-dispose \"{dir.Sub("journal")}\" {backend}");
        bool exited = child.WaitForExit(5000);
        if (!exited) child.Kill();
        Assert.True(exited, "the child did not exit within 5 s");
        Assert.Contains("appended 1", child.StandardOutput.ReadToEnd());
        Assert.Equal(0, child.ExitCode);
        using var journal = Journal.Open(dir.Sub("journal"), new JournalOptions { Backend = backend });
        Assert.Equal("hello", Text(Assert.Single(journal.Read("child")).Payload));
    }

    [Theory]
    [InlineData(Backend.Lmdb)]
    [InlineData(Backend.Files)]
    public void Every_acknowledged_event_survives_SIGKILL(Backend backend)
    {
        using var dir = new TempDir();
        string path = dir.Sub("journal");
        int seed = Environment.TickCount;
        _output.WriteLine($"crash test seed {seed}");
        var rng = new Random(seed);
        long lastAcked = 0;
        for (int round = 0; round < 10; round++)
        {
            var child = StartChild($"crash \"{path}\" {backend}");
            var acked = new List<long>();
            var ready = new ManualResetEventSlim();
            var reader = new Thread(() =>
            {
                string? line;
                while ((line = child.StandardOutput.ReadLine()) != null)
                {
                    if (line == "ready") ready.Set();
                    else if (line.StartsWith("ack ")) lock (acked) acked.Add(long.Parse(line.Substring(4)));
                }
                ready.Set();
            }) { IsBackground = true };
            reader.Start();
            Assert.True(ready.Wait(30000), "child never became ready");
            Thread.Sleep(rng.Next(20, 400));
            Process.Start("kill", $"-KILL {child.Id}")!.WaitForExit();
            child.WaitForExit();
            reader.Join(10000);
            long roundAcked;
            lock (acked) roundAcked = acked.Count > 0 ? acked.Max() : lastAcked;
            Assert.True(roundAcked >= lastAcked);
            lastAcked = roundAcked;

            using var journal = Journal.Open(path, new JournalOptions { Backend = backend });
            long highest = journal.HighestSequenceNr("crash");
            Assert.True(highest >= lastAcked, $"round {round}: acknowledged {lastAcked}, journal has {highest}");
            var events = journal.Read("crash");
            Assert.Equal(highest, events.Count);
            for (int i = 0; i < events.Count; i++)
            {
                Assert.Equal(i + 1, events[i].SequenceNr);
                Assert.Equal(Encoding.UTF8.GetString(PayloadFor(i + 1)), Encoding.UTF8.GetString(events[i].Payload));
            }
            _output.WriteLine($"round {round}: acknowledged {lastAcked}, recovered {highest}");
            child.Dispose();
        }
        Assert.True(lastAcked > 0, "no event was ever acknowledged");
    }

    private static byte[] PayloadFor(long seq) => Encoding.UTF8.GetBytes($"event-{seq}-" + new string('x', (int)(seq % 100)));
}
