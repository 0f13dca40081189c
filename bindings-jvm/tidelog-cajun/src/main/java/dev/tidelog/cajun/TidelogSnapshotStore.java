package dev.tidelog.cajun;

import com.cajunsystems.persistence.SnapshotEntry;
import dev.tidelog.Journal;
import dev.tidelog.Snapshot;
import dev.tidelog.SnapshotCriteria;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Cajun's {@code SnapshotStore} on Tidelog's snapshot store: atomic, fsynced, checksummed.
 * Cajun's sequence number {@code n} (which may be -1, the initial state) is stored as
 * {@code n + 1}; the latest snapshot is the one with the greatest sequence number.
 *
 * @param <S> the state type
 */
public final class TidelogSnapshotStore<S> implements com.cajunsystems.persistence.SnapshotStore<S> {
    private final Journal journal;
    private final MessageSerializer serializer;
    private final TidelogPersistenceProvider.InFlight inFlight;

    TidelogSnapshotStore(Journal journal, MessageSerializer serializer, TidelogPersistenceProvider.InFlight inFlight) {
        this.journal = journal;
        this.serializer = serializer;
        this.inFlight = inFlight;
    }

    @Override
    public CompletableFuture<Void> saveSnapshot(String actorId, S state, long sequenceNumber) {
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
        return inFlight.track(journal.snapshots().deleteMatchingAsync(actorId, SnapshotCriteria.latest()).thenApply(n -> null));
    }

    /** @return true while the underlying journal is open */
    @Override
    public boolean isHealthy() {
        return !journal.isClosed();
    }

    /** Does nothing: the journal belongs to the {@link TidelogPersistenceProvider}, which closes it. */
    @Override
    public void close() {}
}
