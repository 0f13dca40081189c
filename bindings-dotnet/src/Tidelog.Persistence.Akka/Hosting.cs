using System;
using Akka.Configuration;
using Akka.Hosting;

namespace Tidelog.Persistence.Akka;

/// <summary>Akka.Hosting registration of the Tidelog journal, snapshot store and read journal.</summary>
public static class TidelogHostingExtensions
{
    /// <summary>
    /// Configures <c>akka.persistence.journal.tidelog</c>, <c>akka.persistence.snapshot-store.tidelog</c> and
    /// <c>akka.persistence.query.journal.tidelog</c> over one journal directory, and (by default) makes them the
    /// default journal and snapshot store.
    /// </summary>
    /// <param name="builder">The Akka configuration builder.</param>
    /// <param name="path">Journal directory, shared by journal and snapshot store.</param>
    /// <param name="backend"><c>lmdb</c> (default) or <c>files</c>.</param>
    /// <param name="isDefaultPlugin">Make Tidelog the default journal and snapshot store.</param>
    /// <param name="extraJournalHocon">Additional HOCON inside the journal and snapshot-store sections (sync policy, batch limits, event adapters, ...): the two share one journal, so its settings must agree.</param>
    public static AkkaConfigurationBuilder WithTidelogPersistence(this AkkaConfigurationBuilder builder, string path, string backend = "lmdb",
        bool isDefaultPlugin = true, string extraJournalHocon = "")
    {
        if (builder is null) throw new ArgumentNullException(nameof(builder));
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("a journal path is required", nameof(path));
        builder.AddHocon(ConfigurationFactory.ParseString(TidelogPersistence.Hocon(path, backend, isDefaultPlugin, extraJournalHocon)), HoconAddMode.Prepend);
        return builder;
    }
}

/// <summary>HOCON for the Tidelog plugins.</summary>
public static class TidelogPersistence
{
    /// <summary>The three plugin sections for one journal directory, and optionally the default-plugin settings.</summary>
    public static string Hocon(string path, string backend = "lmdb", bool isDefaultPlugin = true, string extraJournalHocon = "")
    {
        string p = path.Replace("\\", "\\\\").Replace("\"", "\\\"");
        string defaults = isDefaultPlugin
            ? "akka.persistence.journal.plugin = \"akka.persistence.journal.tidelog\"\nakka.persistence.snapshot-store.plugin = \"akka.persistence.snapshot-store.tidelog\"\n"
            : "";
        return defaults + $@"
akka.persistence.journal.tidelog {{
  class = ""Tidelog.Persistence.Akka.TidelogJournal, Tidelog.Persistence.Akka""
  path = ""{p}""
  backend = {backend}
  {extraJournalHocon}
}}
akka.persistence.snapshot-store.tidelog {{
  class = ""Tidelog.Persistence.Akka.TidelogSnapshotStore, Tidelog.Persistence.Akka""
  path = ""{p}""
  backend = {backend}
  {extraJournalHocon}
}}
akka.persistence.query.journal.tidelog {{
  class = ""Tidelog.Persistence.Akka.TidelogReadJournalProvider, Tidelog.Persistence.Akka""
  write-plugin = ""akka.persistence.journal.tidelog""
}}
";
    }
}
