using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Tidelog;

namespace Tidelog.Tests;

/// <summary>A temporary directory, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tidelog-dotnet-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public static class Support
{
    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    public static string Text(byte[] b) => Encoding.UTF8.GetString(b);

    public static Journal Open(TempDir dir, Backend backend, string name = "journal") =>
        Journal.Open(Location(dir, backend, name), new JournalOptions { Backend = backend, Sync = SyncPolicy.Never });

    /// <summary>The test server's URI (<c>TIDELOG_TEST_POSTGRES</c>, set by <c>tests/postgres.sh</c>), or null.</summary>
    public static string? PostgresUri => Environment.GetEnvironmentVariable("TIDELOG_TEST_POSTGRES") is { Length: > 0 } uri ? uri : null;

    /// <summary>Whether the PostgreSQL variants run: with a server, or under <c>CI=true</c>, where a missing server fails them.</summary>
    public static bool PostgresEnabled => PostgresUri != null || Environment.GetEnvironmentVariable("CI") == "true";

    /// <summary>Where a test journal <paramref name="name"/> of <paramref name="dir"/> lives on <paramref name="backend"/>:
    /// the directory, or for PostgreSQL the test server with a schema of its own named after both.</summary>
    public static string Location(TempDir dir, Backend backend, string name = "journal")
    {
        if (backend != Backend.Postgres) return dir.Sub(name);
        string uri = PostgresUri ?? throw new InvalidOperationException("CI=true but TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh");
        // A schema name has at most 40 characters: 16 hex digits of the directory's GUID are unique enough.
        string id = System.IO.Path.GetFileName(dir.Path).Replace("tidelog-dotnet-", "").Substring(0, 16);
        string schema = "net_" + id + "_" + new string(name.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
        return uri + (uri.Contains('?') ? "&" : "?") + "tidelog_schema=" + schema;
    }

    /// <summary>Starts the child program (Tidelog.TestChild) with redirected output; <paramref name="shellPrefix"/> runs before it in bash.</summary>
    public static Process StartChild(string arguments, string shellPrefix = "")
    {
        string dir = System.IO.Path.GetDirectoryName(typeof(Support).Assembly.Location)!;
        bool mono = Type.GetType("Mono.Runtime") != null;
        string child = mono ? $"mono \"{System.IO.Path.Combine(dir, "Tidelog.TestChild.exe")}\"" : $"dotnet \"{System.IO.Path.Combine(dir, "Tidelog.TestChild.dll")}\"";
        var info = new ProcessStartInfo("bash", $"-c \"{shellPrefix.Replace("\"", "\\\"")} exec {child.Replace("\"", "\\\"")} {arguments}\"")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        return Process.Start(info)!;
    }
}
