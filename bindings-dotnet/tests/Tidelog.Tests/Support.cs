using System;
using System.Diagnostics;
using System.IO;
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
        Journal.Open(dir.Sub(name), new JournalOptions { Backend = backend, Sync = SyncPolicy.Never });

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
