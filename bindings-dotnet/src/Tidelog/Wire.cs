using System;
using System.Collections.Generic;
using System.Text;
using Tidelog.Interop;

namespace Tidelog;

/// <summary>UTF-8 helpers.</summary>
internal static unsafe class Utf8
{
    public static readonly UTF8Encoding Strict = new(false, true);

    public static byte[] Encode(string s) => Strict.GetBytes(s ?? throw new ArgumentNullException(nameof(s)));

    public static string Decode(byte* p, int len) => len == 0 ? "" : Strict.GetString(p, len);
}

/// <summary>
/// Builds the encoded event and write lists of the C ABI into one reusable buffer
/// per thread, so a batch crosses the FFI boundary once. Layouts: <c>core/docs/wire.md</c>
/// (version 1), sections "Event list" and "Write list".
/// </summary>
internal sealed unsafe class WireWriter
{
    [ThreadStatic] private static WireWriter? _current;

    public byte[] Buffer = new byte[4096];
    public int Length;

    /// <summary>The calling thread's writer, emptied.</summary>
    public static WireWriter Rent()
    {
        var w = _current ??= new WireWriter();
        w.Length = 0;
        if (w.Buffer.Length > 1 << 20) w.Buffer = new byte[4096]; // do not pin huge buffers forever
        return w;
    }

    private void Ensure(int extra)
    {
        if (Length + extra <= Buffer.Length) return;
        var bigger = new byte[Math.Max(Buffer.Length * 2, Length + extra)];
        System.Buffer.BlockCopy(Buffer, 0, bigger, 0, Length);
        Buffer = bigger;
    }

    public void U32(uint v)
    {
        Ensure(4);
        fixed (byte* p = &Buffer[Length]) *(uint*)p = v;
        Length += 4;
    }

    public void U64(ulong v)
    {
        Ensure(8);
        fixed (byte* p = &Buffer[Length]) *(ulong*)p = v;
        Length += 8;
    }

    public void Bytes(byte[] b)
    {
        U32((uint)b.Length);
        Ensure(b.Length);
        System.Buffer.BlockCopy(b, 0, Buffer, Length, b.Length);
        Length += b.Length;
    }

    /// <summary>A length-prefixed UTF-8 string; returns the offset of its bytes.</summary>
    public int String(string s)
    {
        if (s is null) throw new ArgumentNullException(nameof(s));
        int max = Utf8.Strict.GetMaxByteCount(s.Length);
        Ensure(4 + max);
        int n = Utf8.Strict.GetBytes(s, 0, s.Length, Buffer, Length + 4);
        fixed (byte* p = &Buffer[Length]) *(uint*)p = (uint)n;
        Length += 4 + n;
        return Length - n;
    }

    public void Events(IReadOnlyList<NewEvent> events)
    {
        if (events is null) throw new ArgumentNullException(nameof(events));
        U32((uint)events.Count);
        for (int i = 0; i < events.Count; i++)
        {
            var e = events[i] ?? throw new ArgumentNullException(nameof(events), "an event is null");
            U64(e.Timestamp is long t ? (ulong)t : Native.TimestampNow);
            String(e.Manifest);
            String(e.WriterId);
            Bytes(e.Metadata);
            var tags = e.Tags ?? Array.Empty<string>();
            U32((uint)tags.Count);
            for (int k = 0; k < tags.Count; k++) String(tags[k]);
            Bytes(e.Payload);
        }
    }
}

/// <summary>
/// Reads the buffers of the C ABI (little-endian, length-prefixed), as <c>core/docs/wire.md</c>
/// (version 2) specifies them: "Event page", "String list" and "Result list".
/// </summary>
internal unsafe struct PageReader
{
    private readonly byte* _p;
    private readonly int _len;
    private int _pos;

    public PageReader(byte* p, int len)
    {
        _p = p;
        _len = len;
        _pos = 0;
    }

    private byte* Take(int n)
    {
        if (n < 0 || _len - _pos < n) throw new TidelogException(ErrorCode.Internal, "malformed page from the native library");
        byte* at = _p + _pos;
        _pos += n;
        return at;
    }

    public uint U32() => *(uint*)Take(4);
    public ulong U64() => *(ulong*)Take(8);

    public byte[] Bytes()
    {
        int n = (int)U32();
        if (n == 0) return Array.Empty<byte>();
        var b = new byte[n];
        fixed (byte* d = b) System.Buffer.MemoryCopy(Take(n), d, n, n);
        return b;
    }

    public string String()
    {
        int n = (int)U32();
        return Utf8.Decode(Take(n), n);
    }

    /// <summary>The length that marks a string equal to the previous event's ("Event page").</summary>
    private const uint SameAsPrevious = uint.MaxValue;

    /// <summary>
    /// A persistence id, manifest or writer id of an event page: decoded, or the previous event's
    /// (<paramref name="previous"/>) when the page marks it as repeated.
    /// </summary>
    public string RepeatableString(ref string? previous)
    {
        uint n = U32();
        if (n == SameAsPrevious)
            return previous ?? throw new TidelogException(ErrorCode.Internal, "malformed page from the native library");
        return previous = Utf8.Decode(Take((int)n), (int)n);
    }

    /// <summary>Skips <paramref name="n"/> bytes; returns where they start.</summary>
    public byte* Skip(int n) => Take(n);

    /// <summary>Decodes a page of events and frees the native buffer.</summary>
    public static List<Event> TakeEvents(Native.Buffer* buf)
    {
        try { return Events(buf->Data, (int)buf->Len); }
        finally { Native.tidelog_buffer_free(buf); }
    }

    /// <summary>Decodes a page of events (<c>core/docs/wire.md</c>, "Event page").</summary>
    public static List<Event> Events(byte* data, int len)
    {
        {
            var r = new PageReader(data, len);
            int count = (int)r.U32();
            var events = new List<Event>(count);
            string? pid = null, manifest = null, writer = null;
            for (int i = 0; i < count; i++)
            {
                long seq = (long)r.U64(), offset = (long)r.U64(), ts = (long)r.U64();
                string p = r.RepeatableString(ref pid), m = r.RepeatableString(ref manifest), w = r.RepeatableString(ref writer);
                byte[] metadata = r.Bytes();
                int tagCount = (int)r.U32();
                IReadOnlyList<string> tags = Array.Empty<string>();
                if (tagCount > 0)
                {
                    var t = new string[tagCount];
                    for (int k = 0; k < tagCount; k++) t[k] = r.String();
                    tags = t;
                }
                events.Add(new Event(p, seq, offset, ts, m, w, tags, metadata, r.Bytes()));
            }
            return events;
        }
    }

    /// <summary>Decodes a list of strings and frees the native buffer.</summary>
    public static List<string> TakeStrings(Native.Buffer* buf)
    {
        try
        {
            var r = new PageReader(buf->Data, (int)buf->Len);
            int n = (int)r.U32();
            var list = new List<string>(n);
            for (int i = 0; i < n; i++) list.Add(r.String());
            return list;
        }
        finally { Native.tidelog_buffer_free(buf); }
    }

    /// <summary>Decodes the per-write results of <c>tidelog_write</c> and frees the native buffer.</summary>
    public static WriteResult[] TakeWriteResults(Native.Buffer* buf)
    {
        try
        {
            var r = new PageReader(buf->Data, (int)buf->Len);
            int n = (int)r.U32();
            var results = new WriteResult[n];
            for (int i = 0; i < n; i++)
            {
                int status = (int)r.U32();
                int msgLen = (int)r.U32();
                long a = (long)r.U64(), b = (long)r.U64(), c = (long)r.U64();
                string msg = Utf8.Decode(r.Take(msgLen), msgLen);
                results[i] = status == 0 ? new WriteResult(new WriteReceipt(a, b, c)) : new WriteResult(Errors.FromStatus(status, msg, a, b));
            }
            return results;
        }
        finally { Native.tidelog_buffer_free(buf); }
    }
}
