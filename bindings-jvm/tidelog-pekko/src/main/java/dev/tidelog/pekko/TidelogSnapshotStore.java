package dev.tidelog.pekko;

import com.typesafe.config.Config;
import dev.tidelog.Journal;
import dev.tidelog.Snapshot;
import dev.tidelog.SnapshotCriteria;
import dev.tidelog.SnapshotStore;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import scala.concurrent.Future;

/**
 * Pekko Persistence snapshot-store plugin on Tidelog (configuration block
 * {@code tidelog.snapshot-store}). Snapshots are written atomically and durably (temp file,
 * fsync, rename); state goes through Pekko serialization; timestamps round-trip exactly. A
 * snapshot that cannot be deserialized fails the load (it is not silently skipped, since its
 * events may have been deleted); one whose checksum fails is skipped by the core in favour of
 * the next older one.
 */
public final class TidelogSnapshotStore extends org.apache.pekko.persistence.snapshot.japi.SnapshotStore {
    private final Journal journal;
    private final SnapshotStore snapshots;
    private final PayloadCodec codec;
    private final Executor io;
    /** Saves and deletes still running: postStop waits for them before giving the journal back. */
    private final java.util.Set<CompletableFuture<?>> inFlight = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Created by Pekko from the plugin configuration.
     *
     * @param config the plugin's configuration block
     * @param configPath the path of that block
     */
    public TidelogSnapshotStore(Config config, String configPath) {
        ExtendedActorSystem system = (ExtendedActorSystem) context().system();
        TidelogSettings settings = TidelogSettings.from(config, system.settings().config());
        this.codec = new PayloadCodec(system);
        this.io = system.dispatchers().lookup(settings.ioDispatcher());
        this.journal = JournalRegistry.acquire(settings);
        this.snapshots = journal.snapshots();
    }

    @Override
    public void postStop() throws Exception {
        try {
            CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new))
                    .get(journal.options().closeTimeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // Failures went to Pekko already; the timeout only bounds shutdown.
        } finally {
            JournalRegistry.release(journal);
            super.postStop();
        }
    }

    private <T> CompletableFuture<T> track(CompletableFuture<T> future) {
        inFlight.add(future);
        future.whenComplete((v, e) -> inFlight.remove(future));
        return future;
    }

    private static SnapshotCriteria criteria(SnapshotSelectionCriteria c) {
        return new SnapshotCriteria(c.maxSequenceNr(), c.maxTimestamp(), c.minSequenceNr(), c.minTimestamp());
    }

    @Override
    public Future<Optional<SelectedSnapshot>> doLoadAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
        return TidelogJournal.guarded(() -> CompletableFuture.supplyAsync(() -> snapshots.load(persistenceId, criteria(criteria)).map(s -> {
            try {
                Object state = codec.deserialize(s.metadata(), s.state());
                return SelectedSnapshot.create(new SnapshotMetadata(persistenceId, s.sequenceNr(), s.timestamp()), state);
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        }), io));
    }

    @Override
    public Future<Void> doSaveAsync(SnapshotMetadata metadata, Object snapshot) {
        return TidelogJournal.guarded(() -> {
            PayloadCodec.Serialized s;
            try {
                s = codec.serialize(snapshot);
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
            Snapshot record = new Snapshot(metadata.persistenceId(), metadata.sequenceNr(), metadata.timestamp(), "", s.header(), s.bytes());
            return track(CompletableFuture.runAsync(() -> snapshots.save(record), io));
        });
    }

    @Override
    public Future<Void> doDeleteAsync(SnapshotMetadata metadata) {
        // A timestamp of 0 means "any timestamp"; otherwise only a snapshot no newer than it is deleted.
        long seq = metadata.sequenceNr();
        long maxTimestamp = metadata.timestamp() == 0 ? Long.MAX_VALUE : metadata.timestamp();
        SnapshotCriteria exact = new SnapshotCriteria(seq, maxTimestamp, seq, 0);
        return TidelogJournal.guarded(() -> track(CompletableFuture.runAsync(() -> snapshots.deleteMatching(metadata.persistenceId(), exact), io)));
    }

    @Override
    public Future<Void> doDeleteAsync(String persistenceId, SnapshotSelectionCriteria criteria) {
        return TidelogJournal.guarded(() -> track(CompletableFuture.runAsync(() -> snapshots.deleteMatching(persistenceId, criteria(criteria)), io)));
    }
}
