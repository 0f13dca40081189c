package dev.tidelog.pekko.query;

import com.typesafe.config.Config;
import dev.tidelog.Event;
import dev.tidelog.Backend;
import dev.tidelog.Journal;
import dev.tidelog.Options;
import dev.tidelog.Tidelog;
import dev.tidelog.TailSource;
import dev.tidelog.pekko.JournalRegistry;
import dev.tidelog.pekko.PayloadCodec;
import dev.tidelog.pekko.TidelogSettings;
import java.io.NotSerializableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.journal.EventAdapters;
import org.apache.pekko.persistence.journal.EventAdapters$;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.NoOffset;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.javadsl.JavaFlowSupport;
import org.apache.pekko.stream.javadsl.Source;
import scala.Option;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The queries behind both DSLs of the read journal (internal: use
 * {@link dev.tidelog.pekko.query.javadsl.TidelogReadJournal} or
 * {@link dev.tidelog.pekko.query.scaladsl.TidelogReadJournal}).
 *
 * <p>It reads the journal of its {@code write-plugin}, through {@link JournalRegistry}: in one
 * actor system the journal plugin, the snapshot store and the read journal share one open
 * journal, which the last of them to stop closes. Every read runs on the {@code io-dispatcher},
 * page by page ({@code max-buffer-size} events per page, one JNI crossing each), and only when the
 * stream downstream asks for more, so a slow consumer holds at most one page.
 *
 * <p>Offsets are Tidelog's global offsets as {@link Offset#sequence}: strictly increasing in
 * commit order, not dense per tag. An offset given to a query is exclusive, so a projection
 * resumes after the last envelope it stored.
 */
public final class TidelogQueries {
    /** {@link Position#stop} of a current query that has not read its end yet. */
    private static final long STOP_UNKNOWN = -1;

    private final ExtendedActorSystem system;
    /** The journal read; final but for a read-only files handle, reopened by {@link #lease()}. */
    private volatile Lease current;
    private final PayloadCodec codec;
    private final EventAdapters adapters;
    private final Executor io;
    private final Duration refreshInterval;
    private final int maxBufferSize;
    /** False for a read-only files handle: live queries poll at {@code refresh-interval} instead of subscribing. */
    private final boolean followable;
    /** The options of a read-only handle, else null. */
    private final Options readOnlyOptions;
    private final String location;

    /**
     * Where a query stands. Immutable, because one {@link Source} may be materialized many times.
     *
     * @param next the next sequence number or global offset to read (inclusive)
     * @param stop where a current query ends (exclusive global offset, or inclusive sequence
     *     number), {@link #STOP_UNKNOWN} until read on the first pull
     */
    private record Position(long next, long stop) {}

    /**
     * Opens (or shares) the journal of the configured {@code write-plugin}.
     *
     * @param system the actor system
     * @param config the read journal's configuration block
     */
    public TidelogQueries(ExtendedActorSystem system, Config config) {
        this.system = system;
        Config systemConfig = system.settings().config();
        String writePlugin = config.getString("write-plugin");
        if (writePlugin.isBlank() || !systemConfig.hasPath(writePlugin)) {
            throw new IllegalArgumentException("tidelog read journal: write-plugin must name the Tidelog journal plugin's configuration path, got \"" + writePlugin + "\"");
        }
        TidelogSettings settings = TidelogSettings.from(systemConfig.getConfig(writePlugin), systemConfig);
        this.refreshInterval = config.getDuration("refresh-interval");
        this.maxBufferSize = config.getInt("max-buffer-size");
        if (refreshInterval.isNegative() || refreshInterval.isZero()) {
            throw new IllegalArgumentException("tidelog read journal: refresh-interval must be positive, got " + refreshInterval);
        }
        if (maxBufferSize < 1) {
            throw new IllegalArgumentException("tidelog read journal: max-buffer-size must be at least 1, got " + maxBufferSize);
        }
        String ioDispatcher = config.hasPath("io-dispatcher") && !config.getString("io-dispatcher").isBlank() ? config.getString("io-dispatcher") : settings.ioDispatcher();
        this.io = system.dispatchers().lookup(ioDispatcher);
        this.codec = new PayloadCodec(system);
        boolean readOnly = config.hasPath("read-only") && config.getBoolean("read-only");
        if (readOnly) {
            // Another process writes: a handle of our own, without the writer lock. Pekko's
            // public API would start the write plugin (a writer) to get its event adapters, so
            // they are built from its configuration directly.
            Config pluginConfig = systemConfig.getConfig(writePlugin).withFallback(systemConfig.getConfig("pekko.persistence.journal-plugin-fallback"));
            this.adapters = EventAdapters$.MODULE$.apply(system, pluginConfig);
            this.readOnlyOptions = Options.builder().backend(settings.options().backend()).readOnly(true).build();
            this.current = new Lease(Tidelog.open(settings.location(), readOnlyOptions));
            system.registerOnTermination(() -> current.retire());
        } else {
            // Read-side event adapters of the write plugin, as Pekko's own read journals apply them.
            this.adapters = Persistence.get(system).adaptersFor(writePlugin);
            this.readOnlyOptions = null;
            Journal shared = JournalRegistry.acquire(settings);
            this.current = new Lease(shared);
            system.registerOnTermination(() -> JournalRegistry.release(shared));
        }
        // The core follows a writer in this process, or another process's through LMDB's file;
        // a read-only files handle sees the journal as it was at its open, so there live queries
        // poll, reopening the handle (see pollingJournal).
        this.followable = !(readOnly && settings.options().backend() == Backend.FILES);
        this.location = settings.location();
    }

    /** @return the journal the queries read */
    public Journal journal() {
        return current.journal;
    }

    /**
     * A handle in use by reads. A read-only files handle sees the journal as it was when opened,
     * so once it is {@code refresh-interval} old the next read opens a fresh one; the old one
     * closes when its last read ends.
     */
    private static final class Lease {
        final Journal journal;
        final long openedNanos = System.nanoTime();
        private int users;
        private boolean retired;

        Lease(Journal journal) {
            this.journal = journal;
        }

        synchronized boolean enter() {
            if (retired) {
                return false;
            }
            users++;
            return true;
        }

        synchronized void exit() {
            if (--users == 0 && retired) {
                journal.close();
            }
        }

        synchronized void retire() {
            if (!retired) {
                retired = true;
                if (users == 0 && readOnly()) {
                    journal.close();
                }
            }
        }

        private boolean readOnly() {
            return journal.options().readOnly();
        }
    }

    /** The current handle, entered: {@link Lease#exit()} it after the read. */
    private Lease lease() {
        boolean fresh = false;
        while (true) {
            Lease l = current;
            // At most one reopen per read: an open slower than refresh-interval must not loop.
            if (!fresh && !followable && System.nanoTime() - l.openedNanos >= refreshInterval.toNanos()) {
                synchronized (this) {
                    if (current == l) {
                        current = new Lease(Tidelog.open(location, readOnlyOptions));
                        l.retire();
                    }
                }
                fresh = true;
                continue;
            }
            if (l.enter()) {
                return l;
            }
        }
    }

    // ---- events by persistence id -----------------------------------------------------------

    /**
     * The events of one stream with {@code from <= sequenceNr <= to}, in order.
     *
     * @param persistenceId the stream
     * @param fromSequenceNr lowest sequence number (inclusive)
     * @param toSequenceNr highest sequence number (inclusive)
     * @param live false: end at the stream's highest sequence number when the stream starts;
     *     true: then keep following new events until {@code toSequenceNr}
     * @return the envelopes; offsets are global offsets
     */
    public Source<EventEnvelope, NotUsed> eventsByPersistenceId(String persistenceId, long fromSequenceNr, long toSequenceNr, boolean live) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        long to = Math.max(0, toSequenceNr);
        if (live && followable) {
            long first = Math.max(1, fromSequenceNr);
            if (first > to) {
                return Source.empty();
            }
            return follow(TailSource.stream(persistenceId, first))
                    .takeWhile(e -> e.sequenceNr() <= to)
                    .takeWhile(e -> e.sequenceNr() < to, true) // ends right after `to`
                    .mapConcat(this::envelopes);
        }
        return Source.unfoldAsync(new Position(Math.max(1, fromSequenceNr), live ? to : STOP_UNKNOWN), (Position at) -> {
            if (at.next() > to) {
                return done();
            }
            return this.<Position, EventEnvelope>step(journal -> {
                long stop = at.stop() == STOP_UNKNOWN ? Math.min(to, journal.highestSequenceNr(persistenceId)) : at.stop();
                if (at.next() > stop) {
                    return Step.end();
                }
                List<Event> page = journal.read(persistenceId, at.next(), stop, maxBufferSize);
                if (page.isEmpty()) {
                    return live ? Step.idle(at) : Step.end();
                }
                long next = page.get(page.size() - 1).sequenceNr() + 1;
                return Step.of(new Position(next, stop), envelopes(page));
            });
        }).mapConcat(page -> page);
    }

    // ---- events by tag ----------------------------------------------------------------------

    /**
     * The events carrying {@code tag} after {@code offset}, in commit order.
     *
     * @param tag the tag
     * @param offset {@link NoOffset} for all, or a {@link Sequence} (exclusive) from an envelope
     * @param live false: end at the journal's end when the stream starts; true: keep following
     * @return the envelopes
     */
    public Source<EventEnvelope, NotUsed> eventsByTag(String tag, Offset offset, boolean live) {
        Objects.requireNonNull(tag, "tag");
        if (live && followable) {
            return follow(TailSource.tag(tag, firstOffset(offset))).mapConcat(this::envelopes);
        }
        return globalOrder(firstOffset(offset), live, (journal, from) -> journal.eventsByTag(tag, from, maxBufferSize))
                .mapConcat(page -> page);
    }

    /** Reads pages in global-offset order from {@code first}; a current query stops at the journal's end when it starts. */
    private Source<List<EventEnvelope>, NotUsed> globalOrder(long first, boolean live, java.util.function.BiFunction<Journal, Long, List<Event>> read) {
        return Source.unfoldAsync(new Position(first, live ? Long.MAX_VALUE : STOP_UNKNOWN), (Position at) -> this.<Position, EventEnvelope>step(journal -> {
            long stop = at.stop() == STOP_UNKNOWN ? journal.nextGlobalOffset() : at.stop();
            if (at.next() >= stop) {
                return Step.end();
            }
            List<Event> page = read.apply(journal, at.next());
            int n = page.size();
            while (n > 0 && page.get(n - 1).globalOffset() >= stop) {
                n--; // committed after a current query started
            }
            if (n == 0) {
                return live ? Step.idle(at) : Step.end();
            }
            page = page.subList(0, n);
            long next = page.get(n - 1).globalOffset() + 1;
            return Step.of(new Position(next, stop), envelopes(page));
        }));
    }

    private static long firstOffset(Offset offset) {
        if (offset == null || offset == NoOffset.getInstance()) {
            return 1;
        }
        if (offset instanceof Sequence sequence) {
            if (sequence.value() < 0) {
                throw new IllegalArgumentException("tidelog read journal: offset must not be negative, got " + sequence.value());
            }
            return sequence.value() == Long.MAX_VALUE ? Long.MAX_VALUE : sequence.value() + 1; // exclusive
        }
        throw new IllegalArgumentException("tidelog read journal supports NoOffset and Offset.sequence (a global offset), not " + offset);
    }

    // ---- persistence ids --------------------------------------------------------------------

    /**
     * Every persistence id ever written, each once.
     *
     * @param live false: the ids known when the stream starts, sorted; true: those, then each
     *     new id when its first event is committed
     * @return the ids
     */
    public Source<String, NotUsed> persistenceIds(boolean live) {
        if (!live) {
            return Source.single(NotUsed.getInstance())
                    .mapAsync(1, x -> onIo(Journal::persistenceIds))
                    .mapConcat(ids -> ids);
        }
        // One set of seen ids per materialization, so lazily.
        return Source.lazySource(() -> {
            Set<String> seen = new HashSet<>();
            Source<List<String>, NotUsed> known = Source.single(NotUsed.getInstance()).mapAsync(1, x -> onIo(journal -> {
                // The end first, then the list: an id first written in between comes twice, and `seen` drops it.
                long end = journal.nextGlobalOffset();
                return Pair.create(end, journal.persistenceIds());
            })).flatMapConcat(start -> followable
                    ? Source.single(start.second()).concat(follow(TailSource.all(start.first())).map(e -> List.of(e.persistenceId())))
                    : Source.single(start.second()).concat(Source.unfoldAsync(start.first(), (Long next) -> this.<Long, String>step(journal -> {
                        List<Event> page = journal.allEvents(next, maxBufferSize);
                        if (page.isEmpty()) {
                            return Step.idle(next);
                        }
                        List<String> ids = new ArrayList<>(page.size());
                        for (Event e : page) {
                            ids.add(e.persistenceId());
                        }
                        return Step.of(page.get(page.size() - 1).globalOffset() + 1, ids);
                    }))));
            return known.mapConcat(ids -> ids).filter(seen::add);
        }).mapMaterializedValue(m -> NotUsed.getInstance());
    }

    // ---- helpers ----------------------------------------------------------------------------

    /**
     * A live tail of the journal as a source: woken by the writer after each group commit (no
     * polling), at most {@code max-buffer-size} events per JNI crossing, as demand allows.
     */
    private Source<Event, NotUsed> follow(TailSource source) {
        int batch = Integer.highestOneBit(maxBufferSize); // Pekko's input buffers are powers of two
        return JavaFlowSupport.Source.fromPublisher(journal().subscribe(source, batch))
                .withAttributes(Attributes.inputBuffer(batch, batch));
    }

    private List<EventEnvelope> envelopes(Event event) {
        return envelopes(List.of(event));
    }

    /**
     * Envelopes of a page: gap fillers skipped, payloads deserialized and passed through the
     * write plugin's read-side event adapters (an adapter may turn one event into several, which
     * share its offset).
     */
    private List<EventEnvelope> envelopes(List<Event> page) {
        List<EventEnvelope> out = new ArrayList<>(page.size());
        for (Event e : page) {
            if (PayloadCodec.isFiller(e.metadata())) {
                continue;
            }
            Object payload;
            try {
                payload = codec.deserialize(e.metadata(), e.payload());
            } catch (NotSerializableException | RuntimeException ex) {
                throw new CompletionException(new IllegalStateException(
                        "tidelog read journal: could not deserialize event " + e.sequenceNr() + " of " + e.persistenceId(), ex));
            }
            Offset offset = Offset.sequence(e.globalOffset());
            for (Object event : CollectionConverters.asJava(adapters.get(payload.getClass()).fromJournal(payload, e.manifest()).events())) {
                out.add(new EventEnvelope(offset, e.persistenceId(), e.sequenceNr(), event, e.timestamp(), Option.empty()));
            }
        }
        return out;
    }

    /**
     * One step of a query: items and the position after them, "nothing new yet" (the position is
     * kept and the next read waits), or the end.
     */
    private record Step<S, E>(S state, List<E> items, boolean idle) {
        static <S, E> Step<S, E> of(S state, List<E> items) {
            return new Step<>(state, items, false);
        }

        static <S, E> Step<S, E> idle(S state) {
            return new Step<>(state, List.of(), true);
        }

        static <S, E> Step<S, E> end() {
            return null;
        }
    }

    /**
     * Runs a read on the {@code io-dispatcher} as an {@code unfoldAsync} step; an idle step is
     * delayed by {@code refresh-interval} (on the scheduler, never a journal thread).
     */
    /** Runs a read on the {@code io-dispatcher} with the current handle. */
    private <T> CompletableFuture<T> onIo(java.util.function.Function<Journal, T> read) {
        return CompletableFuture.supplyAsync(() -> {
            Lease l = lease();
            try {
                return read.apply(l.journal);
            } finally {
                l.exit();
            }
        }, io);
    }

    private <S, E> CompletionStage<Optional<Pair<S, List<E>>>> step(java.util.function.Function<Journal, Step<S, E>> read) {
        return onIo(read).thenCompose(step -> {
            if (step == null) {
                return CompletableFuture.completedFuture(Optional.empty());
            }
            Optional<Pair<S, List<E>>> next = Optional.of(Pair.create(step.state(), step.items()));
            if (step.idle()) {
                return Patterns.after(refreshInterval, system.scheduler(), system.dispatcher(), () -> CompletableFuture.completedFuture(next));
            }
            return CompletableFuture.completedFuture(next);
        });
    }

    private static <S, E> CompletionStage<Optional<Pair<S, E>>> done() {
        return CompletableFuture.completedFuture(Optional.empty());
    }
}
