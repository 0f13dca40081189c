package dev.tidelog;

/**
 * The native methods of {@code libtidelog_jni} ({@code bindings-jvm/native/src/lib.rs}).
 * Write submissions never throw for journal errors: their results, errors included,
 * come back through {@link #pollCompletions}.
 */
final class NativeBridge {
    static {
        NativeLoader.load();
    }

    private NativeBridge() {}

    static native String[] errorCodes();

    static native long open(String path, long[] config);

    static native void close(long handle);

    static native void checkOptions(long handle, long[] config);

    static native void free(long handle);

    static native String location(long handle);

    static native String redact(String location);

    static native boolean isClosed(long handle);

    static native void append(long handle, long token, byte[] request);

    static native void write(long handle, long token, byte[] writes);

    static native long[] appendBlocking(long handle, byte[] request);

    static native byte[] writeBlocking(long handle, byte[] writes);

    static native void deleteTo(long handle, long token, String persistenceId, long toSequenceNr);

    static native void flush(long handle, long token);

    static native byte[] pollCompletions(long handle, int max, long timeoutMillis);

    /** Scopes of {@link #readPage} ({@code core/docs/wire.md}, "Page request"). */
    static final int STREAM = 0, TAG = 1, ALL = 2;

    static native byte[] readPage(long handle, int scope, String key, long from, long to, long max, int maxBytes);

    /** A "Stream page" of {@code persistenceId} written into {@code into} (from its start): the page's length, or -1 when it does not fit. */
    static native int readStreamInto(long handle, String persistenceId, long from, long to, long max, int maxBytes, byte[] into);

    static native long highestSequenceNr(long handle, String persistenceId);

    // Subscriptions ("Subscriptions" in core/docs/wire.md); scopes as for readPage.

    static native long subscribe(long handle, int scope, String key, long from);

    static native void subscriptionRequest(long handle, long subscription, long token, int max);

    static native byte[] pollPages(long handle, int max, long timeoutMillis);

    static native byte[] subscriptionNext(long subscription, int max, long timeoutMillis);

    static native void subscriptionCancel(long subscription);

    static native void subscriptionFree(long subscription);

    static native long nextGlobalOffset(long handle);

    static native String[] persistenceIds(long handle);

    static native long[] metrics(long handle);

    static native String prometheus(long handle);

    static native void snapshotSave(long handle, byte[] snapshot);

    static native byte[] snapshotLoad(long handle, String persistenceId, long maxSeq, long maxTs, long minSeq, long minTs);

    static native long[] snapshotList(long handle, String persistenceId);

    static native boolean snapshotDelete(long handle, String persistenceId, long sequenceNr);

    static native long snapshotDeleteMatching(long handle, String persistenceId, long maxSeq, long maxTs, long minSeq, long minTs);

    static native long snapshotPrune(long handle, String persistenceId, long keepLastN);

    static native String[] snapshotPersistenceIds(long handle);
}
