// The Akka.NET persistence TCK (Akka.Persistence.TCK 1.5.74, restored from the NuGet registry) against the Tidelog
// plugins, on both persistent backends. Needs the .NET SDK; the project's CI runs ../Tidelog.Persistence.Akka.Tests instead.
using System;
using System.IO;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Persistence.TCK.Journal;
using Akka.Persistence.TCK.Query;
using Akka.Persistence.TCK.Serialization;
using Akka.Persistence.TCK.Snapshot;
using Tidelog.Persistence.Akka;
using Xunit.Abstractions;

namespace Tidelog.Persistence.Akka.Tests.Tck;

internal static class TckConfig
{
    /// <summary>A fresh journal directory per test (each TCK test gets its own actor system).</summary>
    public static Config For(string backend, bool tagging = false)
    {
        // TCK tests block pool threads while actors and streams need others: start with enough of them.
        System.Threading.ThreadPool.SetMinThreads(Math.Max(32, Environment.ProcessorCount * 8), 32);
        string path = Path.Combine(Path.GetTempPath(), "tidelog-akka-tck", backend + "-" + Guid.NewGuid().ToString("N"));
        string adapters = tagging
            ? @"event-adapters { color-tagger = ""Akka.Persistence.TCK.Query.ColorFruitTagger, Akka.Persistence.TCK"" }
                event-adapter-bindings { ""System.String"" = color-tagger }"
            : "";
        return ConfigurationFactory.ParseString(TidelogPersistence.Hocon(path, backend, true, adapters) + @"
akka.loglevel = WARNING
akka.persistence.query.journal.tidelog.refresh-interval = 50ms
akka.test.single-expect-default = 10s
");
    }
}

public class TidelogLmdbJournalSpec : JournalSpec
{
    public TidelogLmdbJournalSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidelogLmdbJournalSpec", output) { Initialize(); }
}

public class TidelogLmdbSnapshotStoreSpec : SnapshotStoreSpec
{
    public TidelogLmdbSnapshotStoreSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidelogLmdbSnapshotStoreSpec", output) { Initialize(); }
}

public class TidelogLmdbSnapshotStoreSaveSnapshotSpec : SnapshotStoreSaveSnapshotSpec
{
    public TidelogLmdbSnapshotStoreSaveSnapshotSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidelogLmdbSnapshotStoreSaveSnapshotSpec", output) { }
}

public class TidelogLmdbJournalSerializationSpec : JournalSerializationSpec
{
    public TidelogLmdbJournalSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidelogLmdbJournalSerializationSpec", output) { }
}

public class TidelogLmdbSnapshotStoreSerializationSpec : SnapshotStoreSerializationSpec
{
    public TidelogLmdbSnapshotStoreSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidelogLmdbSnapshotStoreSerializationSpec", output) { }
}

public class TidelogLmdbEventsByPersistenceIdSpec : EventsByPersistenceIdSpec
{
    public TidelogLmdbEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidelogLmdbEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogLmdbCurrentEventsByPersistenceIdSpec : CurrentEventsByPersistenceIdSpec
{
    public TidelogLmdbCurrentEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidelogLmdbCurrentEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogLmdbEventsByTagSpec : EventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidelogLmdbEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidelogLmdbEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogLmdbCurrentEventsByTagSpec : CurrentEventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidelogLmdbCurrentEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidelogLmdbCurrentEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogLmdbAllEventsSpec : AllEventsSpec
{
    public TidelogLmdbAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidelogLmdbAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogLmdbCurrentAllEventsSpec : CurrentAllEventsSpec
{
    public TidelogLmdbCurrentAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidelogLmdbCurrentAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogLmdbPersistenceIdsSpec : PersistenceIdsSpec
{
    public TidelogLmdbPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidelogLmdbPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogLmdbCurrentPersistenceIdsSpec : CurrentPersistenceIdsSpec
{
    public TidelogLmdbCurrentPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidelogLmdbCurrentPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesJournalSpec : JournalSpec
{
    public TidelogFilesJournalSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidelogFilesJournalSpec", output) { Initialize(); }
}

public class TidelogFilesSnapshotStoreSpec : SnapshotStoreSpec
{
    public TidelogFilesSnapshotStoreSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidelogFilesSnapshotStoreSpec", output) { Initialize(); }
}

public class TidelogFilesSnapshotStoreSaveSnapshotSpec : SnapshotStoreSaveSnapshotSpec
{
    public TidelogFilesSnapshotStoreSaveSnapshotSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidelogFilesSnapshotStoreSaveSnapshotSpec", output) { }
}

public class TidelogFilesJournalSerializationSpec : JournalSerializationSpec
{
    public TidelogFilesJournalSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidelogFilesJournalSerializationSpec", output) { }
}

public class TidelogFilesSnapshotStoreSerializationSpec : SnapshotStoreSerializationSpec
{
    public TidelogFilesSnapshotStoreSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidelogFilesSnapshotStoreSerializationSpec", output) { }
}

public class TidelogFilesEventsByPersistenceIdSpec : EventsByPersistenceIdSpec
{
    public TidelogFilesEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidelogFilesEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesCurrentEventsByPersistenceIdSpec : CurrentEventsByPersistenceIdSpec
{
    public TidelogFilesCurrentEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidelogFilesCurrentEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesEventsByTagSpec : EventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidelogFilesEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidelogFilesEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesCurrentEventsByTagSpec : CurrentEventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidelogFilesCurrentEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidelogFilesCurrentEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesAllEventsSpec : AllEventsSpec
{
    public TidelogFilesAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidelogFilesAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesCurrentAllEventsSpec : CurrentAllEventsSpec
{
    public TidelogFilesCurrentAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidelogFilesCurrentAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesPersistenceIdsSpec : PersistenceIdsSpec
{
    public TidelogFilesPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidelogFilesPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}

public class TidelogFilesCurrentPersistenceIdsSpec : CurrentPersistenceIdsSpec
{
    public TidelogFilesCurrentPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidelogFilesCurrentPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidelogReadJournal>(TidelogReadJournal.Identifier);
    }
}
