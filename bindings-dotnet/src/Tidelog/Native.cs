using System;
using System.Runtime.InteropServices;

namespace Tidelog.Interop;

/// <summary>The C ABI of <c>libtidelog_c</c> (see <c>native/include/tidelog.h</c>).</summary>
internal static unsafe class Native
{
    private const string Lib = "tidelog_c";

    /// <summary>The ABI version this assembly was written against.</summary>
    public const uint AbiVersion = 2;

    public const ulong TimestampNow = ulong.MaxValue;

    [StructLayout(LayoutKind.Sequential)]
    public struct Buffer
    {
        public byte* Data;
        public nuint Len;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Error
    {
        public int Code;
        public ulong Expected;
        public ulong Actual;
        public byte* Message;
        public nuint MessageLen;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Options
    {
        public uint StructSize;
        public uint Backend;
        public uint Sync;
        public uint ReadOnly;
        public ulong SyncIntervalMs;
        public ulong MaxBatchEvents;
        public ulong MaxBatchBytes;
        public ulong MaxBatchDelayUs;
        public ulong MaxEventBytes;
        public ulong CloseTimeoutMs;
        public ulong LmdbMapSize;
        public ulong SegmentBytes;
        public uint SnapshotCompression;
        public uint Reserved;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Receipt
    {
        public ulong FirstSequenceNr;
        public ulong LastSequenceNr;
        public ulong FirstGlobalOffset;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Completion
    {
        public ulong Token;
        public int Status;
        public uint Reserved;
        public Receipt Receipt;
        public ulong Expected;
        public ulong Actual;
        public Buffer* Buffer;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SnapshotCriteria
    {
        public ulong MaxSequenceNr;
        public ulong MaxTimestamp;
        public ulong MinSequenceNr;
        public ulong MinTimestamp;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Metrics
    {
        public ulong Appends, Events, Bytes, Batches, Fsyncs, FailedWrites, SequenceConflicts,
            RepairedTails, RepairedBytes, SkippedCorruptSnapshots, LmdbMapResizes, SegmentsReclaimed;
    }

    [DllImport(Lib)] public static extern uint tidelog_abi_version();
    [DllImport(Lib)] public static extern IntPtr tidelog_version();
    [DllImport(Lib)] public static extern IntPtr tidelog_status_name(int status);
    [DllImport(Lib)] public static extern int tidelog_last_error(Error* error);
    [DllImport(Lib)] public static extern int tidelog_error_statuses(int* statuses, nuint capacity, nuint* count);
    [DllImport(Lib)] public static extern int tidelog_buffer_free(Buffer* buffer);
    [DllImport(Lib)] public static extern int tidelog_options_init(Options* options);

    [DllImport(Lib)] public static extern int tidelog_journal_open(byte* path, nuint pathLen, Options* options, out IntPtr journal);
    [DllImport(Lib)] public static extern int tidelog_journal_close(JournalHandle journal);
    [DllImport(Lib)] public static extern int tidelog_journal_check_options(JournalHandle journal, Options* options);
    [DllImport(Lib)] public static extern int tidelog_journal_free(IntPtr journal);

    [DllImport(Lib)] public static extern int tidelog_append(JournalHandle j, byte* pid, nuint pidLen, byte* events, nuint eventsLen, Receipt* receipt);
    [DllImport(Lib)] public static extern int tidelog_write(JournalHandle j, byte* writes, nuint writesLen, Buffer** results);
    [DllImport(Lib)] public static extern int tidelog_delete_to(JournalHandle j, byte* pid, nuint pidLen, ulong to);
    [DllImport(Lib)] public static extern int tidelog_flush(JournalHandle j);
    [DllImport(Lib)] public static extern int tidelog_highest_sequence_nr(JournalHandle j, byte* pid, nuint pidLen, ulong* result);
    [DllImport(Lib)] public static extern int tidelog_next_global_offset(JournalHandle j, ulong* result);
    [DllImport(Lib)] public static extern int tidelog_read(JournalHandle j, byte* pid, nuint pidLen, ulong from, ulong to, ulong max, Buffer** page);
    [DllImport(Lib)] public static extern int tidelog_events_by_tag(JournalHandle j, byte* tag, nuint tagLen, ulong fromOffset, ulong max, Buffer** page);
    [DllImport(Lib)] public static extern int tidelog_all_events(JournalHandle j, ulong fromOffset, ulong max, Buffer** page);
    [DllImport(Lib)] public static extern int tidelog_persistence_ids(JournalHandle j, Buffer** ids);
    [DllImport(Lib)] public static extern int tidelog_metrics_get(JournalHandle j, Metrics* metrics);
    [DllImport(Lib)] public static extern int tidelog_metrics_prometheus(JournalHandle j, Buffer** text);
    [DllImport(Lib)] public static extern int tidelog_journal_location(JournalHandle j, Buffer** location);

    [DllImport(Lib)] public static extern int tidelog_snapshot_save(JournalHandle j, byte* pid, nuint pidLen, ulong seq, ulong timestamp,
        byte* manifest, nuint manifestLen, byte* metadata, nuint metadataLen, byte* state, nuint stateLen);
    [DllImport(Lib)] public static extern int tidelog_snapshot_load(JournalHandle j, byte* pid, nuint pidLen, SnapshotCriteria* criteria, Buffer** snapshot);
    [DllImport(Lib)] public static extern int tidelog_snapshot_list(JournalHandle j, byte* pid, nuint pidLen, Buffer** list);
    [DllImport(Lib)] public static extern int tidelog_snapshot_delete(JournalHandle j, byte* pid, nuint pidLen, ulong seq, uint* deleted);
    [DllImport(Lib)] public static extern int tidelog_snapshot_delete_matching(JournalHandle j, byte* pid, nuint pidLen, SnapshotCriteria* criteria, ulong* count);
    [DllImport(Lib)] public static extern int tidelog_snapshot_prune(JournalHandle j, byte* pid, nuint pidLen, ulong keep, ulong* count);
    [DllImport(Lib)] public static extern int tidelog_snapshot_persistence_ids(JournalHandle j, Buffer** ids);

    [DllImport(Lib)] public static extern int tidelog_queue_new(out IntPtr queue);
    [DllImport(Lib)] public static extern int tidelog_queue_wait(IntPtr queue, Completion* completions, nuint capacity, long timeoutMs, nuint* count);
    [DllImport(Lib)] public static extern int tidelog_append_async(JournalHandle j, IntPtr queue, ulong token, byte* pid, nuint pidLen, byte* events, nuint eventsLen);
    [DllImport(Lib)] public static extern int tidelog_write_async(JournalHandle j, IntPtr queue, ulong token, byte* writes, nuint writesLen);
    [DllImport(Lib)] public static extern int tidelog_delete_to_async(JournalHandle j, IntPtr queue, ulong token, byte* pid, nuint pidLen, ulong to);
    [DllImport(Lib)] public static extern int tidelog_flush_async(JournalHandle j, IntPtr queue, ulong token);

    [DllImport(Lib)] public static extern int tidelog_subscribe(JournalHandle j, uint scope, byte* key, nuint keyLen, ulong from, out IntPtr subscription);
    [DllImport(Lib)] public static extern int tidelog_subscription_next(SubscriptionHandle s, ulong max, long timeoutMs, Buffer** page);
    [DllImport(Lib)] public static extern int tidelog_subscription_request(SubscriptionHandle s, IntPtr pageQueue, ulong token, ulong max);
    [DllImport(Lib)] public static extern int tidelog_subscription_position(SubscriptionHandle s, ulong* position);
    [DllImport(Lib)] public static extern int tidelog_subscription_cancel(SubscriptionHandle s);
    [DllImport(Lib)] public static extern int tidelog_subscription_free(IntPtr subscription);
    [DllImport(Lib)] public static extern int tidelog_page_queue_new(out IntPtr queue);
    [DllImport(Lib)] public static extern int tidelog_page_queue_wait(IntPtr queue, nuint capacity, long timeoutMs, Buffer** batch);

    /// <summary>Throws the exception for a failed status, with the calling thread's last-error details.</summary>
    public static void Check(int status)
    {
        if (status != 0) throw LastError(status);
    }

    public static Exception LastError(int status)
    {
        Error e;
        tidelog_last_error(&e);
        string message = e.Code == status && e.Message != null ? Utf8.Decode(e.Message, (int)e.MessageLen) : StatusName(status);
        return Errors.FromStatus(status, message, (long)e.Expected, (long)e.Actual);
    }

    public static string StatusName(int status) => Marshal.PtrToStringAnsi(tidelog_status_name(status)) ?? "UNKNOWN";

    /// <summary>Copies a native buffer's bytes and frees it.</summary>
    public static byte[] TakeBytes(Buffer* buffer)
    {
        if (buffer == null) return Array.Empty<byte>();
        try
        {
            var bytes = new byte[(int)buffer->Len];
            if (bytes.Length > 0) Marshal.Copy((IntPtr)buffer->Data, bytes, 0, bytes.Length);
            return bytes;
        }
        finally { tidelog_buffer_free(buffer); }
    }
}
