using System;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Tidelog;
using SerializationException = System.Runtime.Serialization.SerializationException;

namespace Tidelog.Persistence.Akka;

/// <summary>
/// How Akka.NET data maps onto Tidelog's fields. The payload goes through Akka serialization: its bytes are the
/// event payload, the serializer's manifest the event manifest. The metadata bytes hold what else must
/// round-trip exactly: <c>u8 version (1)</c>, <c>i32 serializer id</c>, <c>i64 timestamp in .NET ticks</c>,
/// then the event-adapter manifest (UTF-8, rest of the bytes). The core's timestamp is the same instant in Unix ms.
/// </summary>
internal static class Codec
{
    private const byte Version = 1;
    /// <summary>Metadata of a filler event: it takes the sequence number of a rejected event and is never replayed.</summary>
    private const byte Filler = 2;
    private static readonly byte[] FillerMetadata = { Filler };

    /// <summary>
    /// An event that keeps a stream gapless where Akka rejected a write (serialization failed): Akka still used the
    /// sequence numbers, the core wants every number written. Replay and queries skip fillers.
    /// </summary>
    public static NewEvent FillerEvent(string writerId, long ticks) =>
        new(Array.Empty<byte>()) { WriterId = writerId ?? "", Timestamp = TicksToUnixMs(ticks), Metadata = FillerMetadata };

    public static bool IsFiller(Event e) => e.Metadata.Length == 1 && e.Metadata[0] == Filler;
    private const long UnixEpochTicks = 621355968000000000L;

    public static long TicksToUnixMs(long ticks) => Math.Max(0, (ticks - UnixEpochTicks) / TimeSpan.TicksPerMillisecond);

    /// <summary>The Unix ms that contains <paramref name="ticks"/> rounded up (for inclusive upper bounds).</summary>
    public static long TicksToUnixMsCeiling(long ticks)
    {
        if (ticks <= UnixEpochTicks) return 0;
        long d = ticks - UnixEpochTicks;
        return d / TimeSpan.TicksPerMillisecond + (d % TimeSpan.TicksPerMillisecond == 0 ? 0 : 1);
    }

    public static byte[] Metadata(int serializerId, long ticks, string adapterManifest)
    {
        int n = Encoding.UTF8.GetByteCount(adapterManifest ?? "");
        var b = new byte[13 + n];
        b[0] = Version;
        WriteInt(b, 1, serializerId);
        WriteLong(b, 5, ticks);
        if (n > 0) Encoding.UTF8.GetBytes(adapterManifest, 0, adapterManifest!.Length, b, 13);
        return b;
    }

    public static (int SerializerId, long Ticks, string AdapterManifest) ReadMetadata(byte[] m)
    {
        if (m.Length < 13 || m[0] != Version) throw new SerializationException($"not Tidelog Akka.NET metadata ({m.Length} bytes)");
        return (ReadInt(m, 1), ReadLong(m, 5), m.Length > 13 ? Encoding.UTF8.GetString(m, 13, m.Length - 13) : "");
    }

    /// <summary>Serializes with the serializer Akka picks for the object, with transport information for actor refs.</summary>
    public static (byte[] Bytes, int SerializerId, string Manifest) Serialize(ExtendedActorSystem system, object payload)
    {
        var serializer = system.Serialization.FindSerializerFor(payload);
        string manifest = global::Akka.Serialization.Serialization.ManifestFor(serializer, payload);
        byte[] bytes = global::Akka.Serialization.Serialization.WithTransport(system, () => serializer.ToBinary(payload));
        return (bytes, serializer.Identifier, manifest);
    }

    public static object Deserialize(ExtendedActorSystem system, byte[] bytes, int serializerId, string manifest) =>
        global::Akka.Serialization.Serialization.WithTransport(system, () => system.Serialization.Deserialize(bytes, serializerId, manifest));

    private static void WriteInt(byte[] b, int at, int v)
    {
        for (int i = 0; i < 4; i++) b[at + i] = (byte)(v >> (8 * i));
    }

    private static void WriteLong(byte[] b, int at, long v)
    {
        for (int i = 0; i < 8; i++) b[at + i] = (byte)(v >> (8 * i));
    }

    private static int ReadInt(byte[] b, int at) => b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24;

    private static long ReadLong(byte[] b, int at)
    {
        long v = 0;
        for (int i = 7; i >= 0; i--) v = v << 8 | b[at + i];
        return v;
    }
}
