using System;
using System.Collections.Generic;
using System.IO;
using Akka.Configuration;
using Tidelog;

[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Tidelog.Persistence.Akka.Tests")]

namespace Tidelog.Persistence.Akka;

/// <summary>
/// Settings of a Tidelog plugin section. Only <c>class</c>, <c>path</c> and <c>backend</c> are needed;
/// every other key has the default documented here, applied by the plugin itself.
/// </summary>
public sealed class TidelogSettings
{
    /// <summary>Where the journal lives (required): a directory (made absolute), or a PostgreSQL connection URI
    /// (<c>postgresql://user:password@host:port/db?tidelog_schema=NAME</c>, kept as it is; several nodes may share it).
    /// Journal and snapshot store may share it: they then share one open journal, so their backend, sync and batch
    /// settings must agree (a mismatch is a <see cref="ConfigurationException"/>).</summary>
    public string Path { get; }

    /// <summary>Whether <see cref="Path"/> is a PostgreSQL URI.</summary>
    public bool IsPostgres => Journal.IsPostgresUri(Path);
    /// <summary><c>backend</c>: <c>lmdb</c> (default) or <c>files</c>.</summary>
    public Backend Backend { get; }
    /// <summary><c>sync</c>: <c>always</c> (default: acknowledge after fsync), <c>interval</c> or <c>never</c>.</summary>
    public SyncPolicy Sync { get; }
    /// <summary><c>sync-interval</c>: flush period of <c>sync = interval</c> (default 100ms).</summary>
    public TimeSpan SyncInterval { get; }
    /// <summary><c>max-batch-events</c>: most events per group commit (default 4096).</summary>
    public int MaxBatchEvents { get; }
    /// <summary><c>max-batch-bytes</c>: most bytes per group commit (default 4 MiB).</summary>
    public long MaxBatchBytes { get; }
    /// <summary><c>max-batch-delay</c>: how long the writer may wait to grow a batch (default 0).</summary>
    public TimeSpan MaxBatchDelay { get; }
    /// <summary><c>close-timeout</c>: bound on closing (default 5s).</summary>
    public TimeSpan CloseTimeout { get; }
    /// <summary><c>refresh-interval</c> (read journal): how often a live query polls where it cannot follow the journal (a
    /// read-only journal on the files backend); elsewhere the writer wakes it (default 100ms).</summary>
    public TimeSpan RefreshInterval { get; }
    /// <summary><c>read-only</c> (read journal): open the journal without the writer lock, to query and follow a journal
    /// another process writes (default off). Live queries follow it by file-change notification (lmdb) or by polling (files).</summary>
    public bool ReadOnly { get; }
    /// <summary><c>live-queries</c> (read journal): <c>subscribe</c> (default) runs live queries on subscriptions woken by
    /// the journal; <c>poll</c> makes them poll every <c>refresh-interval</c> instead (the behaviour before subscriptions,
    /// kept for comparison and as an escape hatch).</summary>
    public bool PollLiveQueries { get; }
    /// <summary><c>replay-page-size</c>: events read per native call during replay and queries (default 4096).</summary>
    public int PageSize { get; }

    /// <summary>Reads a plugin section.</summary>
    public TidelogSettings(Config config)
    {
        if (config is null) throw new ArgumentNullException(nameof(config));
        string path = config.GetString("path", "");
        if (string.IsNullOrWhiteSpace(path)) throw new ConfigurationException("Tidelog plugin: `path` is required");
        Path = Journal.IsPostgresUri(path) ? path : System.IO.Path.GetFullPath(path);
        Backend = config.GetString("backend", "lmdb").ToLowerInvariant() switch
        {
            "lmdb" => Backend.Lmdb,
            "files" or "segments" => Backend.Files,
            "memory" => Backend.Memory,
            "postgres" or "postgresql" => Backend.Postgres,
            var b => throw new ConfigurationException($"Tidelog plugin: backend must be lmdb, files or postgres, not {b}"),
        };
        Sync = config.GetString("sync", "always").ToLowerInvariant() switch
        {
            "always" => SyncPolicy.Always,
            "interval" => SyncPolicy.Interval,
            "never" => SyncPolicy.Never,
            var s => throw new ConfigurationException($"Tidelog plugin: sync must be always, interval or never, not {s}"),
        };
        SyncInterval = config.GetTimeSpan("sync-interval", TimeSpan.FromMilliseconds(100), false);
        MaxBatchEvents = config.GetInt("max-batch-events", 4096);
        MaxBatchBytes = config.GetLong("max-batch-bytes", 4 << 20);
        MaxBatchDelay = config.GetTimeSpan("max-batch-delay", TimeSpan.Zero, false);
        CloseTimeout = config.GetTimeSpan("close-timeout", TimeSpan.FromSeconds(5), false);
        RefreshInterval = config.GetTimeSpan("refresh-interval", TimeSpan.FromMilliseconds(100), false);
        PageSize = config.GetInt("replay-page-size", 4096);
        ReadOnly = config.GetBoolean("read-only", false);
        PollLiveQueries = config.GetString("live-queries", "subscribe").ToLowerInvariant() switch
        {
            "subscribe" => false,
            "poll" => true,
            var l => throw new ConfigurationException($"Tidelog read journal: live-queries must be subscribe or poll, not {l}"),
        };
    }

    internal JournalOptions ToOptions() => new()
    {
        Backend = Backend,
        Sync = Sync,
        SyncInterval = SyncInterval,
        MaxBatchEvents = MaxBatchEvents,
        MaxBatchBytes = MaxBatchBytes,
        MaxBatchDelay = MaxBatchDelay,
        CloseTimeout = CloseTimeout,
        ReadOnly = ReadOnly,
    };
}

/// <summary>
/// One open <see cref="Journal"/> per directory in the process, shared by the journal, snapshot store and
/// read journal that name it, and closed when the last of them releases it.
/// </summary>
internal static class SharedJournals
{
    private sealed class Entry
    {
        public Journal Journal = null!;
        public int References;
    }

    /// <summary>By location as configured (a PostgreSQL URI with its password: never shown).</summary>
    private static readonly Dictionary<string, Entry> Open = new();

    /// <exception cref="ConfigurationException">The directory is already open with other journal settings: one
    /// journal serves every plugin that names the directory, so they must agree.</exception>
    public static Journal Acquire(TidelogSettings settings)
    {
        lock (Open)
        {
            if (Open.TryGetValue(settings.Path, out var e))
            {
                try
                {
                    e.Journal.CheckOptions(settings.ToOptions());
                }
                catch (JournalArgumentException conflict)
                {
                    throw new ConfigurationException($"Tidelog: {e.Journal.Path}: {conflict.Message}. Plugins that share a path " +
                                                     "share one journal, so their sections must agree (TidelogPersistence.Hocon and " +
                                                     "WithTidelogPersistence put the same settings in each).");
                }
                e.References++;
                return e.Journal;
            }
            if (!settings.IsPostgres) Directory.CreateDirectory(settings.Path);
            var journal = Journal.Open(settings.Path, settings.ToOptions());
            Open[settings.Path] = new Entry { Journal = journal, References = 1 };
            return journal;
        }
    }

    public static void Release(Journal journal)
    {
        lock (Open)
        {
            // By identity: a PostgreSQL journal's Path hides the password its key holds.
            string? key = null;
            foreach (var kv in Open)
                if (ReferenceEquals(kv.Value.Journal, journal)) key = kv.Key;
            if (key is null) return;
            var e = Open[key];
            if (--e.References > 0) return;
            Open.Remove(key);
            journal.Dispose();
        }
    }
}
