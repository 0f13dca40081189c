package dev.tidelog;

/**
 * Where a snapshot is, without its state: what {@link SnapshotStore#list} returns.
 *
 * @param sequenceNr the snapshot's sequence number
 * @param timestamp Unix milliseconds
 */
public record SnapshotInfo(long sequenceNr, long timestamp) {}
