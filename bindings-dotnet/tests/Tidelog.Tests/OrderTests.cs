using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Tidelog;
using Xunit;
using static Tidelog.Tests.Support;

namespace Tidelog.Tests;

/// <summary>Issue order, and continuations that never run on (or block) the journal's drain thread.</summary>
public class OrderTests
{
    public static IEnumerable<object[]> Backends => JournalTests.Backends;

    private static Journal OpenDurable(TempDir dir, Backend backend) =>
        Journal.Open(Location(dir, backend), new JournalOptions { Backend = backend, Sync = SyncPolicy.Always });

    [Theory, MemberData(nameof(Backends))]
    public async Task A_read_a_trim_and_a_delete_issued_after_an_unawaited_append_observe_it(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = OpenDurable(dir, backend);
        var misses = new List<string>();
        for (long round = 1; round <= 1000; round++)
        {
            var appended = journal.AppendAsync("o", new NewEvent(Bytes($"e{round}"))); // not awaited
            var read = await journal.ReadAsync("o");
            if (read.Count == 0 || read[read.Count - 1].SequenceNr != round) misses.Add($"read after append {round}");
            if (journal.HighestSequenceNr("o") != round) misses.Add($"highest after append {round}");
            var trimmed = journal.DeleteToAsync("o", round - 1); // not awaited either
            var left = journal.Read("o");
            if (left.Count != 1 || left[0].SequenceNr != round) misses.Add($"read after trim {round}: {left.Count}");
            await appended;
            await trimmed;
        }
        var last = journal.AppendAsync("o", new NewEvent(Bytes("last")));
        await journal.DeleteToAsync("o", long.MaxValue);
        await last;
        Assert.Empty(journal.Read("o"));
        Assert.Empty(misses);
    }

    [Fact]
    public async Task A_blocked_continuation_of_one_stream_holds_up_no_other_stream()
    {
        using var dir = new TempDir();
        using var journal = OpenDurable(dir, Backend.Lmdb);
        using var release = new ManualResetEventSlim();
        using var slowEntered = new ManualResetEventSlim();
        // A synchronous continuation that blocks: were it run on the drain thread, no other completion could arrive.
        var slow = journal.AppendAsync("slow", new NewEvent(Bytes("x"))).ContinueWith(_ =>
        {
            slowEntered.Set();
            release.Wait(TimeSpan.FromSeconds(60));
        }, TaskContinuationOptions.ExecuteSynchronously);
        Assert.True(slowEntered.Wait(TimeSpan.FromSeconds(30)));
        var fast = journal.AppendAsync("fast", new NewEvent(Bytes("y")));
        bool fastWhileSlowBlocked = fast.Wait(TimeSpan.FromSeconds(30));
        release.Set();
        await slow;
        Assert.True(fastWhileSlowBlocked, "another stream's completion waited for the blocked continuation");
    }
}
