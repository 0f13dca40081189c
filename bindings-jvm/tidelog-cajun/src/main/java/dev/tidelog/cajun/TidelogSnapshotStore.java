package dev.tidelog.cajun;

import com.cajunsystems.persistence.SnapshotEntry;
import dev.tidelog.Journal;
import dev.tidelog.Snapshot;
import dev.tidelog.SnapshotCriteria;
import dev.tidelog.SnapshotInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Cajun's {@code SnapshotStore} on Tidelog's snapshot store: atomic, fsynced, checksummed.
 * Cajun's sequence number {@code n} (which may be -1, the initial state) is stored as
 * {@code n + 1}; the latest snapshot is the one with the greatest sequence number. Beyond Cajun's
 * interface it lists snapshots and prunes all but the newest N, on the provider's per-actor
 * executor. After {@link #close()} every call fails with an {@link IllegalStateException}.
 *
 * @param <S> the state type
 */
public final class TidelogSnapshotStore<S> implements com.cajunsystems.persistence.SnapshotStore<S> {
    private final Journal journal;
    private final MessageSerializer serializer;
    private final TidelogPersistenceProvider.InFlight inFlight;
    private final TidelogPersistenceProvider.Context context;
    private final String name;
    private volatile boolean closed;

    TidelogSnapshotStore(Journal journal, MessageSerializer serializer, TidelogPersistenceProvider.InFlight inFlight, TidelogPersistenceProvider.Context context, String name) {
        this.journal = journal;
        this.serializer = serializer;
        this.inFlight = inFlight;
        this.context = context;
        this.name = name;
    }

    private <T> CompletableFuture<T> closedError() {
        return CompletableFuture.failedFuture(new IllegalStateException("tidelog-cajun: the snapshot store" + (name == null ? "" : " of " + name) + " is closed"));
    }

    /**
     * One snapshot of an actor, without its state.
     *
     * @param sequenceNumber Cajun's sequence number of the last message the state includes (may be -1)
     * @param timestamp when it was saved
     */
    public record SnapshotMetadata(long sequenceNumber, Instant timestamp) {}

    @Override
    public CompletableFuture<Void> saveSnapshot(String actorId, S state, long sequenceNumber) {
        if (closed) {
            return closedError();
        }
        if (sequenceNumber < -1) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("sequence number below -1: " + sequenceNumber));
        }
        byte[] bytes;
        try {
            bytes = serializer.serialize(state);
        } catch (Exception e) {
            return CompletableFuture.failedFuture(e);
        }
        return inFlight.track(journal.snapshots().saveAsync(Snapshot.of(actorId, sequenceNumber + 1, System.currentTimeMillis(), bytes)));
    }

    @Override
    @SuppressWarnings("unchecked")
    public CompletableFuture<Optional<SnapshotEntry<S>>> getLatestSnapshot(String actorId) {
        if (closed) {
            return closedError();
        }
        return journal.snapshots().loadAsync(actorId, SnapshotCriteria.latest()).thenApply(found -> found.map(s -> {
            try {
                S state = (S) serializer.deserialize(s.state());
                return new SnapshotEntry<>(actorId, state, s.sequenceNr() - 1, Instant.ofEpochMilli(s.timestamp()));
            } catch (Exception e) {
                throw new CompletionException("tidelog-cajun: could not deserialize the snapshot of " + actorId, e);
            }
        }));
    }

    @Override
    public CompletableFuture<Void> deleteSnapshots(String actorId) {
        if (closed) {
            return closedError();
        }
        return inFlight.track(journal.snapshots().deleteMatchingAsync(actorId, SnapshotCriteria.latest()).thenApply(n -> null));
    }

    /**
     * The actor's snapshots, newest first.
     *
     * @param actorId the actor
     * @return their sequence numbers and timestamps
     */
    public CompletableFuture<List<SnapshotMetadata>> listSnapshots(String actorId) {
        if (closed) {
            return closedError();
        }
        return context.callInOrder(actorId, () -> {
            List<SnapshotMetadata> out = new ArrayList<>();
            for (SnapshotInfo info : journal.snapshots().list(actorId)) {
                out.add(new SnapshotMetadata(info.sequenceNr() - 1, Instant.ofEpochMilli(info.timestamp())));
            }
            Collections.reverse(out);
            return out;
        });
    }

    /**
     * Deletes all but the {@code keepCount} newest snapshots of the actor.
     *
     * @param actorId the actor
     * @param keepCount how many to keep, at least 1
     * @return how many were deleted
     */
    public CompletableFuture<Integer> pruneOldSnapshots(String actorId, int keepCount) {
        if (closed) {
            return closedError();
        }
        if (keepCount < 1) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("keepCount must be at least 1, not " + keepCount));
        }
        return inFlight.track(context.callInOrder(actorId, () -> (int) journal.snapshots().prune(actorId, keepCount)));
    }

    /** @return true while this store and the underlying journal are open */
    @Override
    public boolean isHealthy() {
        return !closed && !journal.isClosed();
    }

    /**
     * Later calls fail with an {@link IllegalStateException}. The underlying journal belongs to
     * the {@link TidelogPersistenceProvider}, which closes it.
     */
    @Override
    public void close() {
        closed = true;
    }
}
