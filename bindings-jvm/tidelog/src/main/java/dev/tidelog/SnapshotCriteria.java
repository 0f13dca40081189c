package dev.tidelog;

/**
 * Which snapshots a load or delete selects: those with
 * {@code minSequenceNr <= sequenceNr <= maxSequenceNr} and
 * {@code minTimestamp <= timestamp <= maxTimestamp} (all bounds inclusive).
 *
 * @param maxSequenceNr highest selected sequence number
 * @param maxTimestamp latest selected timestamp
 * @param minSequenceNr lowest selected sequence number
 * @param minTimestamp earliest selected timestamp
 */
public record SnapshotCriteria(long maxSequenceNr, long maxTimestamp, long minSequenceNr, long minTimestamp) {
    /** @return criteria selecting every snapshot */
    public static SnapshotCriteria latest() {
        return new SnapshotCriteria(Long.MAX_VALUE, Long.MAX_VALUE, 0, 0);
    }

    /** @return criteria selecting nothing */
    public static SnapshotCriteria none() {
        return new SnapshotCriteria(0, 0, 1, 1);
    }

    /**
     * @param v highest selected sequence number
     * @return a copy with this bound
     */
    public SnapshotCriteria withMaxSequenceNr(long v) {
        return new SnapshotCriteria(v, maxTimestamp, minSequenceNr, minTimestamp);
    }

    /**
     * @param v latest selected timestamp
     * @return a copy with this bound
     */
    public SnapshotCriteria withMaxTimestamp(long v) {
        return new SnapshotCriteria(maxSequenceNr, v, minSequenceNr, minTimestamp);
    }

    /**
     * @param v lowest selected sequence number
     * @return a copy with this bound
     */
    public SnapshotCriteria withMinSequenceNr(long v) {
        return new SnapshotCriteria(maxSequenceNr, maxTimestamp, v, minTimestamp);
    }

    /**
     * @param v earliest selected timestamp
     * @return a copy with this bound
     */
    public SnapshotCriteria withMinTimestamp(long v) {
        return new SnapshotCriteria(maxSequenceNr, maxTimestamp, minSequenceNr, v);
    }
}
