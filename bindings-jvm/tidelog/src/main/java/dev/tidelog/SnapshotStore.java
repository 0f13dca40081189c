package dev.tidelog;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The snapshots of one {@link Journal} ({@link Journal#snapshots()}). The blocking methods do
 * file I/O ({@code save} fsyncs) on the calling thread; the {@code Async} forms run on a shared
 * daemon pool. A snapshot whose checksum fails is never returned: {@code load} skips it and
 * returns the next older match (and counts it in {@link Metrics#skippedCorruptSnapshots()}).
 */
public final class SnapshotStore {
    private final Journal journal;

    SnapshotStore(Journal journal) {
        this.journal = journal;
    }

    /**
     * Stores a snapshot atomically and durably; one with the same sequence number is replaced.
     *
     * @param snapshot the snapshot
     */
    public void save(Snapshot snapshot) {
        Journal.nonNegative("sequenceNr", snapshot.sequenceNr());
        Journal.nonNegative("timestamp", snapshot.timestamp());
        try {
            NativeBridge.snapshotSave(journal.handle(), Wire.encodeSnapshot(snapshot));
        } finally {
            Reference.reachabilityFence(journal);
        }
    }

    /**
     * {@link #save(Snapshot)} on a shared daemon thread pool.
     *
     * @param snapshot the snapshot
     * @return a future completed once the snapshot is durable
     */
    public CompletableFuture<Void> saveAsync(Snapshot snapshot) {
        return journal.async(() -> {
            save(snapshot);
            return null;
        });
    }

    /**
     * The newest snapshot (highest sequence number, then latest timestamp) matching {@code criteria}.
     *
     * @param persistenceId the stream
     * @param criteria which snapshots qualify
     * @return the snapshot, or empty
     */
    public Optional<Snapshot> load(String persistenceId, SnapshotCriteria criteria) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        try {
            byte[] buf = NativeBridge.snapshotLoad(journal.handle(), persistenceId, criteria.maxSequenceNr(), criteria.maxTimestamp(),
                    criteria.minSequenceNr(), criteria.minTimestamp());
            return buf == null ? Optional.empty() : Optional.of(Wire.decodeSnapshot(persistenceId, buf));
        } finally {
            Reference.reachabilityFence(journal);
        }
    }

    /**
     * The newest snapshot of a stream.
     *
     * @param persistenceId the stream
     * @return the snapshot, or empty
     */
    public Optional<Snapshot> loadLatest(String persistenceId) {
        return load(persistenceId, SnapshotCriteria.latest());
    }

    /**
     * {@link #load(String, SnapshotCriteria)} on a shared daemon thread pool.
     *
     * @param persistenceId the stream
     * @param criteria which snapshots qualify
     * @return a future of the snapshot, or empty
     */
    public CompletableFuture<Optional<Snapshot>> loadAsync(String persistenceId, SnapshotCriteria criteria) {
        return journal.async(() -> load(persistenceId, criteria));
    }

    /**
     * Snapshots of a stream, oldest first, without their state.
     *
     * @param persistenceId the stream
     * @return the snapshot infos
     */
    public List<SnapshotInfo> list(String persistenceId) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        try {
            long[] flat = NativeBridge.snapshotList(journal.handle(), persistenceId);
            List<SnapshotInfo> out = new ArrayList<>(flat.length / 2);
            for (int i = 0; i + 1 < flat.length; i += 2) {
                out.add(new SnapshotInfo(flat[i], flat[i + 1]));
            }
            return List.copyOf(out);
        } finally {
            Reference.reachabilityFence(journal);
        }
    }

    /**
     * Deletes the snapshot with this sequence number, if any.
     *
     * @param persistenceId the stream
     * @param sequenceNr the snapshot's sequence number
     * @return whether one was deleted
     */
    public boolean delete(String persistenceId, long sequenceNr) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        try {
            return NativeBridge.snapshotDelete(journal.handle(), persistenceId, sequenceNr);
        } finally {
            Reference.reachabilityFence(journal);
        }
    }

    /**
     * {@link #delete(String, long)} on a shared daemon thread pool.
     *
     * @param persistenceId the stream
     * @param sequenceNr the snapshot's sequence number
     * @return a future of whether one was deleted
     */
    public CompletableFuture<Boolean> deleteAsync(String persistenceId, long sequenceNr) {
        return journal.async(() -> delete(persistenceId, sequenceNr));
    }

    /**
     * Deletes every snapshot of the stream matching {@code criteria}.
     *
     * @param persistenceId the stream
     * @param criteria which snapshots to delete
     * @return how many were deleted
     */
    public long deleteMatching(String persistenceId, SnapshotCriteria criteria) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        try {
            return NativeBridge.snapshotDeleteMatching(journal.handle(), persistenceId, criteria.maxSequenceNr(), criteria.maxTimestamp(),
                    criteria.minSequenceNr(), criteria.minTimestamp());
        } finally {
            Reference.reachabilityFence(journal);
        }
    }

    /**
     * {@link #deleteMatching(String, SnapshotCriteria)} on a shared daemon thread pool.
     *
     * @param persistenceId the stream
     * @param criteria which snapshots to delete
     * @return a future of how many were deleted
     */
    public CompletableFuture<Long> deleteMatchingAsync(String persistenceId, SnapshotCriteria criteria) {
        return journal.async(() -> deleteMatching(persistenceId, criteria));
    }

    /**
     * Keeps the {@code keepLastN} newest snapshots of a stream and deletes the rest.
     *
     * @param persistenceId the stream
     * @param keepLastN how many to keep
     * @return how many were deleted
     */
    public long prune(String persistenceId, long keepLastN) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        Journal.nonNegative("keepLastN", keepLastN);
        try {
            return NativeBridge.snapshotPrune(journal.handle(), persistenceId, keepLastN);
        } finally {
            Reference.reachabilityFence(journal);
        }
    }

    /** @return every persistence id with at least one snapshot, sorted */
    public List<String> persistenceIds() {
        try {
            return List.of(NativeBridge.snapshotPersistenceIds(journal.handle()));
        } finally {
            Reference.reachabilityFence(journal);
        }
    }
}
