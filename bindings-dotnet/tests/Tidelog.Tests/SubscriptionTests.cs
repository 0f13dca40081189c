using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Tidelog;
using Xunit;
using static Tidelog.Tests.Support;

namespace Tidelog.Tests;

/// <summary>Live tails: catch-up then live, each scope, cancellation (token, Cancel, break, journal close), exit without close.</summary>
public class SubscriptionTests
{
    /// <summary>Guards against a hang only: a test that waits longer than this has failed, whatever the machine.</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    private static void AppendN(Journal journal, string pid, int n, string? tag = null)
    {
        for (int i = 0; i < n; i++)
            journal.Append(pid, new NewEvent(Bytes($"{pid}-{journal.HighestSequenceNr(pid) + 1}")) { Tags = tag is null ? Array.Empty<string>() : new[] { tag } });
    }

    private static async Task<List<Event>> Take(IAsyncEnumerator<Event> e, int n)
    {
        var got = new List<Event>();
        while (got.Count < n)
        {
            var move = e.MoveNextAsync().AsTask();
            Assert.True(await Task.WhenAny(move, Task.Delay(Hang)) == move, "no event arrived (hang guard)");
            Assert.True(await move, "the subscription ended early");
            got.Add(e.Current);
        }
        return got;
    }

    [Theory, MemberData(nameof(JournalTests.Backends), MemberType = typeof(JournalTests))]
    public async Task Catches_up_from_storage_then_follows_new_commits_in_order_exactly_once(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        AppendN(journal, "a", 3);
        AppendN(journal, "b", 2);
        await using var events = journal.SubscribeAll(batchSize: 2).GetAsyncEnumerator();
        var caughtUp = await Take(events, 5);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), caughtUp.Select(e => e.GlobalOffset));

        // Live: the next MoveNextAsync is pending until a commit brings an event.
        var next = events.MoveNextAsync().AsTask();
        Assert.False(next.IsCompleted);
        var writer = Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++) await journal.AppendAsync(i % 2 == 0 ? "a" : "c", new NewEvent(Bytes($"live-{i}")));
        });
        Assert.True(await Task.WhenAny(next, Task.Delay(Hang)) == next, "the first live event did not arrive");
        Assert.True(await next);
        var live = new List<Event> { events.Current };
        live.AddRange(await Take(events, 19));
        await writer;
        Assert.Equal(Enumerable.Range(6, 20).Select(i => (long)i), live.Select(e => e.GlobalOffset));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"live-{i}"), live.Select(e => Text(e.Payload)));
        Assert.Equal(journal.AllEvents().Select(e => e.GlobalOffset), caughtUp.Concat(live).Select(e => e.GlobalOffset));
    }

    [Theory]
    [InlineData(Backend.Lmdb)]
    [InlineData(Backend.Files)]
    public async Task A_tag_subscription_and_a_stream_subscription_follow_only_their_source_from_their_start(Backend backend)
    {
        using var dir = new TempDir();
        using var journal = Open(dir, backend);
        AppendN(journal, "a", 2, "green");
        AppendN(journal, "b", 2, "blue");
        AppendN(journal, "a", 1, "green"); // offsets: a1=1 a2=2 b1=3 b2=4 a3=5
        using var tag = journal.SubscribeTag("green", fromOffset: 2);
        using var stream = journal.SubscribeStream("b", fromSequenceNr: 2);
        Assert.Equal(SubscriptionScope.Tag, tag.Scope);
        Assert.Equal("green", tag.Key);
        await using var tagEvents = tag.GetAsyncEnumerator();
        await using var streamEvents = stream.GetAsyncEnumerator();
        Assert.Equal(new long[] { 2, 5 }, (await Take(tagEvents, 2)).Select(e => e.GlobalOffset));
        Assert.Equal(new long[] { 2 }, (await Take(streamEvents, 1)).Select(e => e.SequenceNr));

        AppendN(journal, "b", 1, "blue");  // offset 6, b3
        AppendN(journal, "a", 1, "green"); // offset 7
        Assert.Equal(new long[] { 7 }, (await Take(tagEvents, 1)).Select(e => e.GlobalOffset));
        var b3 = Assert.Single(await Take(streamEvents, 1));
        Assert.Equal(("b", 3L, 6L), (b3.PersistenceId, b3.SequenceNr, b3.GlobalOffset));
        Assert.Equal(8, tag.Position);
        Assert.Equal(4, stream.Position);
    }

    [Fact]
    public async Task Batches_hold_at_most_the_batch_size_and_resume_from_the_position_without_gap_or_duplicate()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Lmdb);
        AppendN(journal, "a", 10);
        var first = journal.SubscribeAll(batchSize: 4);
        var batch = await first.NextBatchAsync();
        Assert.Equal(new long[] { 1, 2, 3, 4 }, batch.Select(e => e.GlobalOffset));
        long resume = first.Position;
        first.Dispose();
        Assert.Equal(5, resume);
        using var second = journal.SubscribeAll(resume, batchSize: 100);
        Assert.Equal(Enumerable.Range(5, 6).Select(i => (long)i), (await second.NextBatchAsync()).Select(e => e.GlobalOffset));
    }

    [Fact]
    public async Task Cancelling_the_token_ends_a_pending_enumeration_with_OperationCanceledException_and_frees_the_subscription()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Lmdb);
        AppendN(journal, "a", 1);
        var subscription = journal.SubscribeAll();
        using var cts = new CancellationTokenSource();
        var seen = new List<long>();
        var reader = Task.Run(async () =>
        {
            await foreach (var e in subscription.WithCancellation(cts.Token)) seen.Add(e.GlobalOffset);
        });
        while (seen.Count == 0) await Task.Delay(1); // caught up; now parked waiting for a commit
        Assert.False(reader.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.WaitAsync(Hang));
        Assert.True(subscription.IsCancelled);
        Assert.Throws<ObjectDisposedException>(() => subscription.Position); // the native subscription was freed
        Assert.Equal(new long[] { 1 }, seen);
    }

    [Fact]
    public async Task Cancel_ends_a_pending_batch_quietly_and_journal_close_ends_another()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Lmdb);
        var cancelled = journal.SubscribeTag("t");
        var closed = journal.SubscribeStream("s");
        var pendingCancelled = cancelled.NextBatchAsync();
        var pendingClosed = closed.Events().GetAsyncEnumerator().MoveNextAsync().AsTask();
        Assert.False(pendingCancelled.IsCompleted || pendingClosed.IsCompleted);
        cancelled.Cancel();
        Assert.Empty(await pendingCancelled.WaitAsync(Hang));
        Assert.Empty(await cancelled.NextBatchAsync());
        journal.Close();
        Assert.False(await pendingClosed.WaitAsync(Hang));
        Assert.Throws<JournalClosedException>(() => journal.SubscribeAll());
        cancelled.Dispose();
        closed.Dispose();
        closed.Dispose(); // idempotent
    }

    [Fact]
    public async Task Leaving_an_await_foreach_disposes_the_subscription()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Memory);
        AppendN(journal, "a", 5);
        var subscription = journal.SubscribeAll(batchSize: 2);
        await foreach (var e in subscription)
            if (e.GlobalOffset == 3) break;
        Assert.True(subscription.IsCancelled);
        Assert.Throws<ObjectDisposedException>(() => subscription.Position);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => { await foreach (var _ in subscription) { } });
    }

    [Fact]
    public async Task A_second_pending_request_is_refused_and_bad_sources_are_typed_errors()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Lmdb);
        using var subscription = journal.SubscribeAll();
        var first = subscription.NextBatchAsync();
        await Assert.ThrowsAsync<JournalArgumentException>(() => subscription.NextBatchAsync());
        Assert.Throws<JournalArgumentException>(() => journal.SubscribeTag(""));
        Assert.Throws<JournalArgumentException>(() => journal.SubscribeStream(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => journal.SubscribeAll(batchSize: 0));
        Assert.Throws<ArgumentNullException>(() => journal.SubscribeTag(null!));
        AppendN(journal, "a", 1);
        Assert.Equal(1, Assert.Single(await first.WaitAsync(Hang)).GlobalOffset);
    }

    [Fact]
    public async Task A_consumer_that_blocks_holds_up_no_other_subscription()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Lmdb);
        using var release = new ManualResetEventSlim();
        var slow = journal.SubscribeAll();
        var fast = journal.SubscribeAll();
        var slowReader = Task.Run(async () =>
        {
            await foreach (var e in slow)
            {
                release.Wait(Hang); // blocks its continuation's thread, never a journal or library thread
                return e.GlobalOffset;
            }
            return 0L;
        });
        var fastReader = Task.Run(async () =>
        {
            var got = new List<long>();
            await foreach (var e in fast)
            {
                got.Add(e.GlobalOffset);
                if (got.Count == 3) break;
            }
            return got;
        });
        AppendN(journal, "a", 1);
        await Task.Delay(50); // the slow consumer is now likely inside its blocked body
        AppendN(journal, "a", 2);
        Assert.Equal(new long[] { 1, 2, 3 }, await fastReader.WaitAsync(Hang));
        release.Set();
        Assert.Equal(1, await slowReader.WaitAsync(Hang));
    }

    [Fact]
    public async Task A_read_only_journal_follows_another_process_s_writer()
    {
        using var dir = new TempDir();
        string path = dir.Sub("journal");
        using var child = StartChild($"crash \"{path}\" Lmdb"); // appends to stream "crash" until killed
        try
        {
            Assert.Equal("ready", child.StandardOutput.ReadLine());
            using var follower = Journal.Open(path, new JournalOptions { Backend = Backend.Lmdb, ReadOnly = true });
            await using var events = follower.SubscribeStream("crash").GetAsyncEnumerator();
            int stored = (int)follower.HighestSequenceNr("crash"); // the rest arrive live, from the other process
            var got = await Take(events, stored + 100);
            Assert.Equal(Enumerable.Range(1, stored + 100).Select(i => (long)i), got.Select(e => e.SequenceNr));
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
    }

    [Theory]
    [InlineData(Backend.Lmdb)]
    [InlineData(Backend.Files)]
    public void A_process_with_a_pending_subscription_and_no_dispose_exits_by_itself(Backend backend)
    {
        using var dir = new TempDir();
        using var child = StartChild($"subscribe-without-dispose \"{dir.Sub("journal")}\" {backend}");
        bool exited = child.WaitForExit((int)Hang.TotalMilliseconds);
        if (!exited) child.Kill();
        Assert.True(exited, "the child did not exit (hang guard)");
        string output = child.StandardOutput.ReadToEnd();
        Assert.Contains("received 1 parked yes", output);
        Assert.Equal(0, child.ExitCode);
    }
}

internal static class TaskTimeouts
{
    /// <summary>The task, or a <see cref="TimeoutException"/> once <paramref name="limit"/> passed (a hang guard, not a speed check).</summary>
    public static async Task<T> WaitAsync<T>(this Task<T> task, TimeSpan limit)
    {
        if (await Task.WhenAny(task, Task.Delay(limit)).ConfigureAwait(false) != task) throw new TimeoutException("hang guard");
        return await task.ConfigureAwait(false);
    }

    public static async Task WaitAsync(this Task task, TimeSpan limit)
    {
        if (await Task.WhenAny(task, Task.Delay(limit)).ConfigureAwait(false) != task) throw new TimeoutException("hang guard");
        await task.ConfigureAwait(false);
    }
}
