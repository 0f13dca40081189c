package dev.tidelog;

/**
 * A point-in-time copy of a journal's counters ({@link Journal#metrics()}).
 *
 * @param appends successful atomic writes
 * @param events events committed
 * @param bytes encoded event bytes committed
 * @param batches group commits
 * @param fsyncs flushes to stable storage
 * @param failedWrites writes failed by a storage error
 * @param sequenceConflicts writes refused with a sequence conflict
 * @param repairedTails torn tails truncated when opening
 * @param repairedBytes bytes removed by those repairs
 * @param skippedCorruptSnapshots snapshots skipped because their checksum failed
 * @param lmdbMapResizes times the LMDB map was grown
 * @param segmentsReclaimed segment files deleted after deletes
 * @param commitCount commits measured
 * @param commitMicrosTotal total commit latency (write + flush), microseconds
 * @param commitMicrosMax largest commit latency, microseconds
 * @param batchCount batches measured
 * @param batchEventsTotal events over all batches
 * @param batchEventsMax most events in one batch
 */
public record Metrics(long appends, long events, long bytes, long batches, long fsyncs, long failedWrites, long sequenceConflicts,
        long repairedTails, long repairedBytes, long skippedCorruptSnapshots, long lmdbMapResizes, long segmentsReclaimed,
        long commitCount, long commitMicrosTotal, long commitMicrosMax, long batchCount, long batchEventsTotal, long batchEventsMax) {

    static Metrics fromNative(long[] v) {
        return new Metrics(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17]);
    }

    /** @return mean events per group commit (0 when none) */
    public double meanBatchEvents() {
        return batchCount == 0 ? 0 : (double) batchEventsTotal / batchCount;
    }

    /** @return mean commit latency in microseconds (0 when none) */
    public double meanCommitMicros() {
        return commitCount == 0 ? 0 : (double) commitMicrosTotal / commitCount;
    }
}
