using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Tidelog;
using Xunit;
using static Tidelog.Tests.Support;

namespace Tidelog.Tests;

/// <summary>Every exception class, raised by a real trigger, and use after close or dispose.</summary>
public class ErrorTests
{
    [Fact]
    public void Every_native_error_kind_maps_to_its_own_exception_class()
    {
        // The native library lists the status of every core error kind: each must have a dedicated class.
        var statuses = NativeErrorStatuses();
        Assert.NotEmpty(statuses);
        var types = new HashSet<Type>();
        foreach (int status in statuses)
        {
            var code = (ErrorCode)status;
            Assert.True(Enum.IsDefined(typeof(ErrorCode), code), $"status {status} has no ErrorCode");
            var e = Errors.Create(code, "m", 1, 2);
            Assert.IsAssignableFrom<TidelogException>(e);
            Assert.NotEqual(typeof(TidelogException), e.GetType());
            Assert.Equal(code, ((TidelogException)e).Code);
            Assert.True(types.Add(e.GetType()), $"{e.GetType().Name} is used twice");
        }
        var conflict = Assert.IsType<SequenceConflictException>(Errors.Create(ErrorCode.SequenceConflict, "m", 7, 9));
        Assert.Equal(7, conflict.Expected);
        Assert.Equal(9, conflict.Actual);
        Assert.IsType<ObjectDisposedException>(Errors.Create(ErrorCode.InvalidHandle, "m"));
    }

    private static unsafe int[] NativeErrorStatuses()
    {
        var buf = new int[64];
        nuint n;
        fixed (int* p = buf) Assert.Equal(0, tidelog_error_statuses(p, 64, &n));
        return buf.Take((int)n).ToArray();
    }

    [DllImport("tidelog_c")]
    private static extern unsafe int tidelog_error_statuses(int* statuses, nuint capacity, nuint* count);

    [Fact]
    public void CheckOptions_throws_JournalArgumentException_naming_the_option_that_differs()
    {
        using var dir = new TempDir();
        var opened = new JournalOptions { Backend = Backend.Files, Sync = SyncPolicy.Never };
        using var journal = Journal.Open(dir.Path, opened);
        journal.CheckOptions(new JournalOptions { Backend = Backend.Files, Sync = SyncPolicy.Never });
        var e = Assert.Throws<JournalArgumentException>(() => journal.CheckOptions(new JournalOptions { Backend = Backend.Files }));
        Assert.Contains("already open with sync = never, not always", e.Message);
        e = Assert.Throws<JournalArgumentException>(() => journal.CheckOptions(
            new JournalOptions { Backend = Backend.Files, Sync = SyncPolicy.Never, CloseTimeout = TimeSpan.FromSeconds(1) }));
        Assert.Contains("close_timeout = 5s, not 1s", e.Message);
    }

    [Fact]
    public async Task Closed_journal_throws_JournalClosedException_everywhere()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Lmdb);
        journal.Append("p", new NewEvent(Bytes("x")));
        journal.Close();
        journal.Close(); // idempotent
        Assert.Throws<JournalClosedException>(() => journal.Append("p", new NewEvent(Bytes("x"))));
        Assert.Throws<JournalClosedException>(() => journal.Read("p"));
        Assert.Throws<JournalClosedException>(() => journal.HighestSequenceNr("p"));
        Assert.Throws<JournalClosedException>(() => journal.NextGlobalOffset());
        Assert.Throws<JournalClosedException>(() => journal.Snapshots.Load("p"));
        Assert.Throws<JournalClosedException>(() => journal.Flush());
        await Assert.ThrowsAsync<JournalClosedException>(() => journal.AppendAsync("p", new NewEvent(Bytes("x"))));
        await Assert.ThrowsAsync<JournalClosedException>(() => journal.FlushAsync());
        await Assert.ThrowsAsync<JournalClosedException>(() => journal.DeleteToAsync("p", 1));
        var results = await journal.WriteAsync(new[] { new AtomicWrite("p", 2, new[] { new NewEvent(Bytes("x")) }) });
        Assert.IsType<JournalClosedException>(results[0].Error);
    }

    [Fact]
    public async Task Disposed_journal_throws_ObjectDisposedException()
    {
        using var dir = new TempDir();
        var journal = Open(dir, Backend.Files);
        journal.Append("p", new NewEvent(Bytes("x")));
        journal.Dispose();
        journal.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => journal.Append("p", new NewEvent(Bytes("x"))));
        Assert.Throws<ObjectDisposedException>(() => journal.Read("p"));
        Assert.Throws<ObjectDisposedException>(() => journal.Snapshots.Save(new Snapshot("p", 1, 1, Bytes("s"))));
        Assert.Throws<ObjectDisposedException>(() => journal.Close());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => journal.AppendAsync("p", new NewEvent(Bytes("x"))));
        // Disposing released the lock: the journal opens again.
        using var again = Open(dir, Backend.Files);
        Assert.Equal(1, again.HighestSequenceNr("p"));
    }

    [Theory]
    [InlineData(Backend.Lmdb)]
    [InlineData(Backend.Files)]
    public void Second_writer_gets_JournalLockedException(Backend backend)
    {
        using var dir = new TempDir();
        using var first = Open(dir, backend);
        var e = Assert.Throws<JournalLockedException>(() => Open(dir, backend));
        Assert.Contains("LOCK", e.Message);
        Assert.Equal(ErrorCode.Locked, e.Code);
    }

    [Fact]
    public void Invalid_arguments_throw_JournalArgumentException()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Memory);
        Assert.Throws<JournalArgumentException>(() => journal.Append("", new NewEvent(Bytes("x"))));
        Assert.Throws<JournalArgumentException>(() => journal.Append(new string('p', 2000), new NewEvent(Bytes("x"))));
        Assert.Throws<JournalArgumentException>(() => journal.Append("a\0b", new NewEvent(Bytes("x"))));
        Assert.Throws<JournalArgumentException>(() => journal.Append("p", new NewEvent(Bytes("x")) { Tags = new[] { "" } }));
        Assert.Throws<JournalArgumentException>(() => journal.EventsByTag(""));
        // A string that is not valid Unicode cannot become UTF-8: refused before the native call.
        Assert.ThrowsAny<ArgumentException>(() => journal.Append("bad\uD800", new NewEvent(Bytes("x"))));
    }

    [Fact]
    public void Write_conflict_is_a_SequenceConflictException_with_expected_and_actual()
    {
        using var dir = new TempDir();
        using var journal = Open(dir, Backend.Lmdb);
        journal.Append("p", new[] { new NewEvent(Bytes("1")), new NewEvent(Bytes("2")) });
        var error = journal.Write(new[] { new AtomicWrite("p", 2, new[] { new NewEvent(Bytes("x")) }) })[0].Error;
        var conflict = Assert.IsType<SequenceConflictException>(error);
        Assert.Equal(3, conflict.Expected);
        Assert.Equal(2, conflict.Actual);
        Assert.Equal(ErrorCode.SequenceConflict, conflict.Code);
    }

    [Fact]
    public void Future_format_throws_UnsupportedFormatException_and_garbage_CorruptJournalException()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Sub("future"));
        File.WriteAllText(Path.Combine(dir.Sub("future"), "FORMAT"), "backend=lmdb\nformat=999\n");
        Assert.Throws<UnsupportedFormatException>(() => Journal.Open(dir.Sub("future")));
        Directory.CreateDirectory(dir.Sub("garbled"));
        File.WriteAllText(Path.Combine(dir.Sub("garbled"), "FORMAT"), "not a format file\n");
        Assert.Throws<CorruptJournalException>(() => Journal.Open(dir.Sub("garbled")));
    }

    [Fact]
    public void Damaged_segment_throws_CorruptJournalException()
    {
        using var dir = new TempDir();
        using (var journal = Open(dir, Backend.Files))
            for (int i = 0; i < 50; i++) journal.Append("p", new NewEvent(Bytes(new string('e', 200))));
        var segment = Directory.GetFiles(dir.Sub("journal"), "*", SearchOption.AllDirectories)
            .Where(f => f.Contains("segments") && new FileInfo(f).Length > 5000).OrderByDescending(f => new FileInfo(f).Length).First();
        var bytes = File.ReadAllBytes(segment);
        for (int i = 1000; i < 1100; i++) bytes[i] ^= 0x5a; // damage well before the tail
        File.WriteAllBytes(segment, bytes);
        Assert.Throws<CorruptJournalException>(() =>
        {
            using var j = Open(dir, Backend.Files);
            j.Read("p");
        });
    }

    [Fact]
    public void A_file_where_the_directory_belongs_throws_JournalIOException()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Sub("file"), "x");
        Assert.Throws<JournalIOException>(() => Journal.Open(dir.Sub("file")));
    }

    [Theory]
    [InlineData(Backend.Files)]
    [InlineData(Backend.Lmdb)]
    public void A_full_device_throws_StorageFullException(Backend backend)
    {
        using var dir = new TempDir();
        // A file-size limit makes the device look full (EFBIG) without a special mount.
        using var child = StartChild($"full \"{dir.Sub("journal")}\" {backend}", "trap '' XFSZ; ulimit -f 3072;");
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("full "));
        Assert.True(line != null, $"child said: {output} {child.StandardError.ReadToEnd()}");
        var parts = line!.Trim().Split(' ');
        Assert.Equal(nameof(StorageFullException), parts[1]);
        long acked = long.Parse(parts[2]);
        Assert.True(acked > 0);
        using var journal = Journal.Open(dir.Sub("journal"), new JournalOptions { Backend = backend });
        Assert.Equal(acked, journal.Read("big").Count);
    }

    [Fact]
    public void A_failed_flush_makes_the_journal_throw_JournalFailedException()
    {
        using var dir = new TempDir();
        string shim = Path.Combine(Path.GetDirectoryName(typeof(ErrorTests).Assembly.Location)!, "libfailsync.so");
        // The shim makes fdatasync fail with EIO after 20 successful calls: a real failed flush.
        using var child = StartChild($"failsync \"{dir.Sub("journal")}\" Files", $"export TIDELOG_FAIL_SYNC_AFTER=20 LD_PRELOAD='{shim}';");
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        Assert.Contains("first JournalIOException", output);
        Assert.Contains("then JournalFailedException", output);
        // Reopened, the journal works again.
        using var journal = Journal.Open(dir.Sub("journal"), new JournalOptions { Backend = Backend.Files });
        journal.Append("p", new NewEvent(Bytes("after")));
    }

    /// <summary>A throwaway server of the test's own (<c>tests/postgres.sh start</c>): stopping it disturbs no other test.</summary>
    private static (string Uri, Action Stop)? OwnPostgresServer()
    {
        string? ctl = Environment.GetEnvironmentVariable("TIDELOG_TEST_POSTGRES_CTL");
        if (string.IsNullOrEmpty(ctl)) return null;
        string Run(string args)
        {
            var info = new System.Diagnostics.ProcessStartInfo(ctl, args) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(info)!;
            string output = p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            return output;
        }
        var env = System.Text.RegularExpressions.Regex.Matches(Run("start"), @"^export (\w+)=(\S+)$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Cast<System.Text.RegularExpressions.Match>().ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        string dir = env["TIDELOG_TEST_POSTGRES_DIR"];
        return (env["TIDELOG_TEST_POSTGRES"], () => Run($"stop \"{dir}\""));
    }

    [Fact]
    public async Task A_stopped_PostgreSQL_server_fails_calls_with_retryable_IO_errors()
    {
        var server = OwnPostgresServer();
        if (server is null)
        {
            // xUnit 2 cannot skip at run time: outside tests/postgres.sh (and not in CI) there is nothing to test.
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI=true but TIDELOG_TEST_POSTGRES_CTL is unset: run the tests through tests/postgres.sh");
            return;
        }
        var (uri, stop) = server.Value;
        bool stopped = false;
        try
        {
            string location = uri + "?tidelog_schema=retry";
            string password = uri.Split(new[] { "://" }, StringSplitOptions.None)[1].Split('@')[0].Split(':')[1];
            var journal = Journal.Open(location, new JournalOptions { Sync = SyncPolicy.Always });
            Assert.Equal(Backend.Postgres, journal.Backend);
            Assert.DoesNotContain(password, journal.Path);
            journal.Append("p", new[] { new NewEvent(Bytes("stored")) });
            stop();
            stopped = true;
            // A blocking call (the thread's last error) and an asynchronous one (the completion queue) both carry it.
            var blocking = Assert.Throws<JournalIOException>(() => journal.Append("p", new[] { new NewEvent(Bytes("lost")) }));
            Assert.True(blocking.IsRetryable, blocking.Message);
            Assert.True(blocking.IsTransient);
            Assert.Equal(ErrorCode.Io, blocking.Code);
            Assert.DoesNotContain(password, blocking.Message);
            var async = await Assert.ThrowsAsync<JournalIOException>(() => journal.AppendAsync("p", new[] { new NewEvent(Bytes("lost")) }));
            Assert.True(async.IsRetryable, async.Message);
            journal.Dispose();
            var open = Assert.Throws<JournalIOException>(() => Journal.Open(location));
            Assert.True(open.IsRetryable, open.Message);
        }
        finally
        {
            if (!stopped) stop();
        }
    }

    [Fact]
    public void Errors_a_retry_cannot_cure_are_not_retryable()
    {
        using var dir = new TempDir();
        var journal = Open(dir, Backend.Memory);
        journal.Append("p", new[] { new NewEvent(Bytes("x")) });
        journal.Close();
        var closed = Assert.Throws<JournalClosedException>(() => journal.Append("p", new[] { new NewEvent(Bytes("z")) }));
        Assert.False(closed.IsRetryable);
        var io = (TidelogException)Errors.FromStatus(8 | Errors.RetryableFlag, "m");
        Assert.IsType<JournalIOException>(io);
        Assert.True(io.IsRetryable);
        Assert.False(((TidelogException)Errors.FromStatus(8, "m")).IsRetryable);
    }
}
