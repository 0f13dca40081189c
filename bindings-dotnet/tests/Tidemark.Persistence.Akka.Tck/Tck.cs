// The Akka.NET persistence TCK (Akka.Persistence.TCK 1.5.74, restored from the NuGet registry) against the Tidemark
// plugins, on both persistent backends. Needs the .NET SDK; the project's CI runs ../Tidemark.Persistence.Akka.Tests instead.
using System;
using System.IO;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Persistence.TCK.Journal;
using Akka.Persistence.TCK.Query;
using Akka.Persistence.TCK.Serialization;
using Akka.Persistence.TCK.Snapshot;
using Tidemark.Persistence.Akka;
using Xunit.Abstractions;

namespace Tidemark.Persistence.Akka.Tests.Tck;

internal static class TckConfig
{
    /// <summary>A fresh journal directory per test (each TCK test gets its own actor system).</summary>
    public static Config For(string backend, bool tagging = false)
    {
        // TCK tests block pool threads while actors and streams need others: start with enough of them.
        System.Threading.ThreadPool.SetMinThreads(Math.Max(32, Environment.ProcessorCount * 8), 32);
        string path = Path.Combine(Path.GetTempPath(), "tidemark-akka-tck", backend + "-" + Guid.NewGuid().ToString("N"));
        string adapters = tagging
            ? @"event-adapters { color-tagger = ""Akka.Persistence.TCK.Query.ColorFruitTagger, Akka.Persistence.TCK"" }
                event-adapter-bindings { ""System.String"" = color-tagger }"
            : "";
        return ConfigurationFactory.ParseString(TidemarkPersistence.Hocon(path, backend, true, adapters) + @"
akka.loglevel = WARNING
akka.persistence.query.journal.tidemark.refresh-interval = 50ms
akka.test.single-expect-default = 10s
");
    }
}

public class TidemarkLmdbJournalSpec : JournalSpec
{
    public TidemarkLmdbJournalSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidemarkLmdbJournalSpec", output) { Initialize(); }
}

public class TidemarkLmdbSnapshotStoreSpec : SnapshotStoreSpec
{
    public TidemarkLmdbSnapshotStoreSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidemarkLmdbSnapshotStoreSpec", output) { Initialize(); }
}

public class TidemarkLmdbSnapshotStoreSaveSnapshotSpec : SnapshotStoreSaveSnapshotSpec
{
    public TidemarkLmdbSnapshotStoreSaveSnapshotSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidemarkLmdbSnapshotStoreSaveSnapshotSpec", output) { }
}

public class TidemarkLmdbJournalSerializationSpec : JournalSerializationSpec
{
    public TidemarkLmdbJournalSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidemarkLmdbJournalSerializationSpec", output) { }
}

public class TidemarkLmdbSnapshotStoreSerializationSpec : SnapshotStoreSerializationSpec
{
    public TidemarkLmdbSnapshotStoreSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb"), "TidemarkLmdbSnapshotStoreSerializationSpec", output) { }
}

public class TidemarkLmdbEventsByPersistenceIdSpec : EventsByPersistenceIdSpec
{
    public TidemarkLmdbEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidemarkLmdbEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkLmdbCurrentEventsByPersistenceIdSpec : CurrentEventsByPersistenceIdSpec
{
    public TidemarkLmdbCurrentEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidemarkLmdbCurrentEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkLmdbEventsByTagSpec : EventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidemarkLmdbEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidemarkLmdbEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkLmdbCurrentEventsByTagSpec : CurrentEventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidemarkLmdbCurrentEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidemarkLmdbCurrentEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkLmdbAllEventsSpec : AllEventsSpec
{
    public TidemarkLmdbAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidemarkLmdbAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkLmdbCurrentAllEventsSpec : CurrentAllEventsSpec
{
    public TidemarkLmdbCurrentAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: true), "TidemarkLmdbCurrentAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkLmdbPersistenceIdsSpec : PersistenceIdsSpec
{
    public TidemarkLmdbPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidemarkLmdbPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkLmdbCurrentPersistenceIdsSpec : CurrentPersistenceIdsSpec
{
    public TidemarkLmdbCurrentPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("lmdb", tagging: false), "TidemarkLmdbCurrentPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesJournalSpec : JournalSpec
{
    public TidemarkFilesJournalSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidemarkFilesJournalSpec", output) { Initialize(); }
}

public class TidemarkFilesSnapshotStoreSpec : SnapshotStoreSpec
{
    public TidemarkFilesSnapshotStoreSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidemarkFilesSnapshotStoreSpec", output) { Initialize(); }
}

public class TidemarkFilesSnapshotStoreSaveSnapshotSpec : SnapshotStoreSaveSnapshotSpec
{
    public TidemarkFilesSnapshotStoreSaveSnapshotSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidemarkFilesSnapshotStoreSaveSnapshotSpec", output) { }
}

public class TidemarkFilesJournalSerializationSpec : JournalSerializationSpec
{
    public TidemarkFilesJournalSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidemarkFilesJournalSerializationSpec", output) { }
}

public class TidemarkFilesSnapshotStoreSerializationSpec : SnapshotStoreSerializationSpec
{
    public TidemarkFilesSnapshotStoreSerializationSpec(ITestOutputHelper output) : base(TckConfig.For("files"), "TidemarkFilesSnapshotStoreSerializationSpec", output) { }
}

public class TidemarkFilesEventsByPersistenceIdSpec : EventsByPersistenceIdSpec
{
    public TidemarkFilesEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidemarkFilesEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesCurrentEventsByPersistenceIdSpec : CurrentEventsByPersistenceIdSpec
{
    public TidemarkFilesCurrentEventsByPersistenceIdSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidemarkFilesCurrentEventsByPersistenceIdSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesEventsByTagSpec : EventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidemarkFilesEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidemarkFilesEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesCurrentEventsByTagSpec : CurrentEventsByTagSpec
{
    protected override bool SupportsTagsInEventEnvelope => true;

    public TidemarkFilesCurrentEventsByTagSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidemarkFilesCurrentEventsByTagSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesAllEventsSpec : AllEventsSpec
{
    public TidemarkFilesAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidemarkFilesAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesCurrentAllEventsSpec : CurrentAllEventsSpec
{
    public TidemarkFilesCurrentAllEventsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: true), "TidemarkFilesCurrentAllEventsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesPersistenceIdsSpec : PersistenceIdsSpec
{
    public TidemarkFilesPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidemarkFilesPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}

public class TidemarkFilesCurrentPersistenceIdsSpec : CurrentPersistenceIdsSpec
{
    public TidemarkFilesCurrentPersistenceIdsSpec(ITestOutputHelper output) : base(TckConfig.For("files", tagging: false), "TidemarkFilesCurrentPersistenceIdsSpec", output)
    {
        ReadJournal = Sys.ReadJournalFor<TidemarkReadJournal>(TidemarkReadJournal.Identifier);
    }
}
