package dev.tidelog.cajun;

import com.cajunsystems.persistence.BatchedMessageJournal;
import com.cajunsystems.persistence.MessageJournal;
import com.cajunsystems.persistence.PersistenceProvider;
import com.cajunsystems.persistence.PersistenceProviderRegistry;
import com.cajunsystems.persistence.SnapshotStore;
import dev.tidelog.Journal;
import dev.tidelog.Options;
import dev.tidelog.PerKeyExecutor;
import dev.tidelog.Tidelog;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A Cajun {@link PersistenceProvider} backed by one Tidelog journal: every actor's messages
 * and snapshots live in it, under the actor id. Register it with
 * {@code PersistenceProviderRegistry.getInstance().registerProvider(provider)} or
 * {@code actorSystem.setPersistenceProvider(provider)}.
 *
 * <p>Works with both copies of Cajun's persistence interfaces ({@code cajun-core} and the
 * {@code cajun} artifact): it declares {@code createBatchedMessageJournalSerializable} and
 * {@code listPersistedActors} as plain methods.
 */
public final class TidelogPersistenceProvider implements PersistenceProvider, AutoCloseable {
    /** The name under which the provider registers: {@value}. */
    public static final String NAME = "tidelog";

    private final Journal journal;
    private final MessageSerializer serializer;
    private final boolean owned;
    private final InFlight inFlight = new InFlight();
    private final Context context;

    /**
     * What the provider's journals and snapshot stores share: per-actor lanes for blocking snapshot
     * work, and the timer of batch delays. (Their futures complete on the journal's own
     * {@code PerKeyExecutor}, never on its completion thread: {@code StatefulActor} runs its handler
     * in the append future's continuation.)
     */
    static final class Context {
        private final PerKeyExecutor lanes = PerKeyExecutor.shared();
        private volatile ScheduledExecutorService timer;

        /** Runs blocking {@code work} on the actor's lane of the provider's executor, after what is queued there. */
        <T> CompletableFuture<T> callInOrder(String actorId, java.util.function.Supplier<T> work) {
            CompletableFuture<T> out = new CompletableFuture<>();
            lanes.execute(actorId, () -> {
                try {
                    out.complete(work.get());
                } catch (Throwable e) {
                    // An Error too (a linkage error, an assertion): the future must not stay
                    // pending forever, or the actor waiting on it hangs.
                    out.completeExceptionally(e);
                    if (e instanceof VirtualMachineError fatal) {
                        throw fatal;
                    }
                }
            });
            return out;
        }

        ScheduledExecutorService timer() {
            ScheduledExecutorService t = timer;
            if (t == null) {
                synchronized (this) {
                    if (timer == null) {
                        timer = Executors.newSingleThreadScheduledExecutor(r -> {
                            Thread thread = new Thread(r, "tidelog-cajun-batch-delay");
                            thread.setDaemon(true);
                            return thread;
                        });
                    }
                    t = timer;
                }
            }
            return t;
        }

        void shutdown() {
            ScheduledExecutorService t = timer;
            if (t != null) {
                t.shutdown();
            }
        }
    }

    /** Snapshot writes still running: {@link #close()} waits for them before closing the journal. */
    static final class InFlight {
        private final java.util.Set<CompletableFuture<?>> pending = java.util.concurrent.ConcurrentHashMap.newKeySet();

        <T> CompletableFuture<T> track(CompletableFuture<T> future) {
            pending.add(future);
            future.whenComplete((v, e) -> pending.remove(future));
            return future;
        }

        void await(java.time.Duration timeout) {
            CompletableFuture<?>[] all = pending.toArray(CompletableFuture[]::new);
            try {
                CompletableFuture.allOf(all).get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // Failures were reported to their callers; a timeout only bounds close().
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Opens (creating if needed) a journal at {@code dir} with default options (LMDB, fsync on
     * every commit) and Java serialization; {@link #close()} closes it.
     *
     * @param dir the journal directory
     */
    public TidelogPersistenceProvider(Path dir) {
        this(dir, Options.defaults(), JavaSerialization.INSTANCE);
    }

    /**
     * Opens a journal at {@code dir}; {@link #close()} closes it.
     *
     * @param dir the journal directory
     * @param options the journal options
     * @param serializer how messages and states become bytes
     */
    public TidelogPersistenceProvider(Path dir, Options options, MessageSerializer serializer) {
        this(Tidelog.open(dir, options), serializer, true);
    }

    /**
     * Opens a journal at {@code location}, a directory or a PostgreSQL connection URI
     * ({@code postgresql://user:password@host:port/db}, where several nodes may share one
     * journal); {@link #close()} closes it.
     *
     * @param location the journal directory or a PostgreSQL URI (passed on as it is)
     * @param options the journal options
     * @param serializer how messages and states become bytes
     */
    public TidelogPersistenceProvider(String location, Options options, MessageSerializer serializer) {
        this(Tidelog.open(location, options), serializer, true);
    }

    /**
     * Opens a journal at {@code location} (a directory or a PostgreSQL URI) with default options
     * and Java serialization; {@link #close()} closes it.
     *
     * @param location the journal directory or a PostgreSQL URI
     */
    public TidelogPersistenceProvider(String location) {
        this(location, Options.defaults(), JavaSerialization.INSTANCE);
    }

    /**
     * Uses a journal the caller opened (and closes).
     *
     * @param journal the journal
     * @param serializer how messages and states become bytes
     */
    public TidelogPersistenceProvider(Journal journal, MessageSerializer serializer) {
        this(journal, serializer, false);
    }

    private TidelogPersistenceProvider(Journal journal, MessageSerializer serializer, boolean owned) {
        this.journal = Objects.requireNonNull(journal, "journal");
        this.serializer = Objects.requireNonNull(serializer, "serializer");
        this.owned = owned;
        this.context = new Context();
        warmUp();
    }

    /**
     * Runs each path an actor's stop and recovery take once (native calls, their classes, the
     * serializer), so the first actor to stop in a fresh JVM is as fast as later ones.
     */
    private void warmUp() {
        String id = "tidelog-cajun-warm-up";
        TidelogMessageJournal<Object> j = new TidelogMessageJournal<>(journal, serializer, context, null, TidelogMessageJournal.DEFAULT_MAX_BATCH_SIZE, 0);
        TidelogSnapshotStore<Object> s = new TidelogSnapshotStore<>(journal, serializer, inFlight, context, null);
        try {
            j.getHighestSequenceNumber(id).join();
            j.readFrom(id, 0).join();
            s.getLatestSnapshot(id).join();
            s.listSnapshots(id).join();
            serializer.deserialize(serializer.serialize(id));
        } catch (Exception e) {
            // Warming is an optimisation: a read-only or failing journal reports its errors on real calls.
        }
    }

    /**
     * Registers this provider in Cajun's JVM-wide {@code PersistenceProviderRegistry} (replacing
     * an earlier one of the same name) and makes it the default, which {@code StatefulActor}
     * consults even when it is given a journal.
     *
     * @return this provider
     */
    public TidelogPersistenceProvider registerAsDefault() {
        PersistenceProviderRegistry registry = PersistenceProviderRegistry.getInstance();
        registry.registerProvider(this);
        registry.setDefaultProvider(NAME);
        return this;
    }

    /**
     * The journal all journals and snapshot stores of this provider use.
     *
     * @return the underlying journal
     */
    public Journal journal() {
        return journal;
    }

    @Override
    public <M> MessageJournal<M> createMessageJournal() {
        return journal(null, TidelogMessageJournal.DEFAULT_MAX_BATCH_SIZE, 0);
    }

    private <M> TidelogMessageJournal<M> journal(String actorId, int maxBatchSize, long maxBatchDelayMs) {
        return new TidelogMessageJournal<>(journal, serializer, context, actorId, maxBatchSize, maxBatchDelayMs);
    }

    @Override
    public <M> MessageJournal<M> createMessageJournal(String actorId) {
        return journal(actorId, TidelogMessageJournal.DEFAULT_MAX_BATCH_SIZE, 0);
    }

    @Override
    public <M> BatchedMessageJournal<M> createBatchedMessageJournal() {
        return journal(null, TidelogMessageJournal.DEFAULT_MAX_BATCH_SIZE, 0);
    }

    @Override
    public <M> BatchedMessageJournal<M> createBatchedMessageJournal(String actorId) {
        return journal(actorId, TidelogMessageJournal.DEFAULT_MAX_BATCH_SIZE, 0);
    }

    @Override
    public <M> BatchedMessageJournal<M> createBatchedMessageJournal(String actorId, int maxBatchSize, long maxBatchDelayMs) {
        return journal(actorId, maxBatchSize, maxBatchDelayMs);
    }

    /**
     * Declared by {@code cajun-core}'s copy of the interface.
     *
     * @param <M> the message type
     * @param actorId the actor
     * @param maxBatchSize the most of this actor's messages committed as one atomic write
     * @param maxBatchDelayMs how long appends may wait to be committed together (0: at once)
     * @return the journal
     */
    public <M extends Serializable> BatchedMessageJournal<M> createBatchedMessageJournalSerializable(String actorId, int maxBatchSize, long maxBatchDelayMs) {
        return journal(actorId, maxBatchSize, maxBatchDelayMs);
    }

    @Override
    public <S> SnapshotStore<S> createSnapshotStore() {
        return new TidelogSnapshotStore<>(journal, serializer, inFlight, context, null);
    }

    @Override
    public <S> SnapshotStore<S> createSnapshotStore(String actorId) {
        return new TidelogSnapshotStore<>(journal, serializer, inFlight, context, actorId);
    }

    @Override
    public String getProviderName() {
        return NAME;
    }

    @Override
    public boolean isHealthy() {
        return !journal.isClosed();
    }

    /**
     * Declared by the {@code cajun} artifact's copy of the interface: every actor with messages
     * or snapshots, sorted.
     *
     * @return the actor ids
     */
    public List<String> listPersistedActors() {
        TreeSet<String> ids = new TreeSet<>(journal.persistenceIds());
        ids.addAll(journal.snapshots().persistenceIds());
        return List.copyOf(ids);
    }

    /**
     * Waits (within the journal's close timeout) for snapshot writes still running, then closes
     * the journal if this provider opened it. Cajun's {@code StatefulActor} saves snapshots
     * without waiting for them, so without this a save could still be in progress after close.
     */
    @Override
    public void close() {
        inFlight.await(journal.options().closeTimeout());
        context.shutdown();
        if (owned) {
            journal.close();
        }
    }
}
