package dev.tidelog;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Flow;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An open event journal: streams of events per persistence id with gapless sequence numbers
 * from 1, a global commit order, and a {@link SnapshotStore}. Open one with
 * {@link Tidelog#open(Path, Options)}; it is thread-safe.
 *
 * <p><b>Writes</b> ({@link #appendAsync}, {@link #writeAsync}, {@link #deleteToAsync},
 * {@link #flushAsync}) go to the core's group-commit writer. Their futures complete on this
 * journal's completion thread (a Java daemon thread, never a native thread), <b>in submission
 * order</b>, and with the default {@link SyncPolicy#always()} only once the data is on stable
 * storage. Dependent stages added with the non-{@code Async} methods of
 * {@link CompletableFuture} run on that thread: keep them short and non-blocking, or use the
 * {@code ...Async} variants. The blocking forms ({@link #append}, ...) wait for the same futures
 * and throw the {@link TidelogException} directly; they must not be called on the completion
 * thread.
 *
 * <p><b>Reads</b> run on the calling thread (their {@code Async} forms on a shared daemon
 * pool) and cross into native code once per page of events, not once per event.
 *
 * <p>{@link #close()} stops intake, commits what is queued within the close timeout, fails the
 * rest with {@link ClosedException}, and completes every future. Any later call fails with
 * {@link ClosedException}. An open journal is not reclaimed by the garbage collector (its
 * completion thread keeps it reachable): close it. It never keeps the JVM from exiting.
 */
public final class Journal implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final int PAGE_EVENTS = 16_384;
    private static final int PAGE_BYTES = 4 << 20;
    /** Reads of at most this many events go through {@link #READ_BUFFER}. */
    private static final int SMALL_READ = 256;
    /** Each thread's buffer for small reads (see {@link #smallPage}). */
    private static final ThreadLocal<byte[]> READ_BUFFER = ThreadLocal.withInitial(() -> new byte[64 << 10]);
    private static final AtomicLong IO_THREADS = new AtomicLong();
    static final ExecutorService IO = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "tidelog-io-" + IO_THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    private final long handle;
    /** The directory, or null for a PostgreSQL journal. */
    private final Path path;
    /** The directory or the URI without its password. */
    private final String location;
    private final Backend backend;
    private final Options options;
    private final Completions completions;
    private final PerKeyExecutor continuations;
    private final Tails tails;
    private final SnapshotStore snapshots;

    Journal(Path path, Options options) {
        this(path, path.toString(), options);
    }

    /** A journal at a location string: a {@code postgresql://} URI has no directory. */
    Journal(String location, Options options) {
        this(Tidelog.isPostgresUri(location) ? null : Path.of(location).toAbsolutePath(), location, options);
    }

    private Journal(Path path, String location, Options options) {
        this.path = path;
        this.options = options;
        this.handle = NativeBridge.open(path != null ? path.toString() : location, options.toNative());
        this.location = NativeBridge.location(handle);
        this.backend = path == null ? Backend.POSTGRES : options.backend();
        long h = handle;
        // Freed only once this object is unreachable: the completion thread holds it while it
        // runs, and every method keeps it reachable until its native call returns.
        CLEANER.register(this, () -> NativeBridge.free(h));
        this.continuations = options.continuations() != null ? options.continuations() : PerKeyExecutor.shared();
        this.completions = new Completions(handle, this, continuations);
        this.tails = new Tails(this);
        this.snapshots = new SnapshotStore(this);
        completions.start();
    }

    long handle() {
        return handle;
    }

    PerKeyExecutor continuations() {
        return continuations;
    }

    Tails tails() {
        return tails;
    }

    /**
     * The directory the journal lives in.
     *
     * @return the directory
     * @throws UnsupportedOperationException for a PostgreSQL journal, which has none (see {@link #location()})
     */
    public Path path() {
        if (path == null) {
            throw new UnsupportedOperationException("a PostgreSQL journal has no directory: use location()");
        }
        return path;
    }

    /**
     * Where the journal lives: its directory, or its PostgreSQL connection URI without the
     * password (safe to log).
     *
     * @return the location
     */
    public String location() {
        return location;
    }

    /** @return the options it was opened with */
    public Options options() {
        return options;
    }

    /** @return the backend in use */
    public Backend backend() {
        return backend;
    }

    /** @return true once {@link #close()} was called */
    public boolean isClosed() {
        try {
            return NativeBridge.isClosed(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    // ---- writes ----------------------------------------------------------------------------

    /**
     * Appends events to a stream as one atomic write; the journal assigns sequence numbers
     * {@code highest + 1 ..}.
     *
     * @param persistenceId the stream
     * @param events the events, at least one
     * @return a future of the receipt, completed in submission order once committed
     */
    public CompletableFuture<WriteReceipt> appendAsync(String persistenceId, List<NewEvent> events) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        byte[] request = Wire.encodeAppend(persistenceId, events);
        try {
            return completions.submit(Completions.Kind.RECEIPT, persistenceId, token -> NativeBridge.append(handle, token, request));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * {@link #appendAsync(String, List)} for one event.
     *
     * @param persistenceId the stream
     * @param event the event
     * @return a future of the receipt
     */
    public CompletableFuture<WriteReceipt> appendAsync(String persistenceId, NewEvent event) {
        return appendAsync(persistenceId, List.of(event));
    }

    /**
     * Blocking {@link #appendAsync(String, List)}. When the writer is idle it commits on the
     * calling thread, without the completion thread's hand-off.
     *
     * @param persistenceId the stream
     * @param events the events, at least one
     * @return the receipt
     * @throws TidelogException when the write fails
     */
    public WriteReceipt append(String persistenceId, List<NewEvent> events) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        refuseOnCompletionThread();
        byte[] request = Wire.encodeAppend(persistenceId, events);
        try {
            long[] receipt = NativeBridge.appendBlocking(handle, request);
            return new WriteReceipt(receipt[0], receipt[1]);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Blocking {@link #appendAsync(String, NewEvent)}.
     *
     * @param persistenceId the stream
     * @param event the event
     * @return the receipt
     */
    public WriteReceipt append(String persistenceId, NewEvent event) {
        return append(persistenceId, List.of(event));
    }

    /**
     * Commits explicit atomic writes in one group commit. Each write's first sequence number
     * must be its stream's {@code highest + 1}; a write that does not fit fails alone with
     * {@link SequenceConflictException}. The future always completes normally, with one
     * {@link WriteResult} per write, in order.
     *
     * @param writes the writes
     * @return a future of the per-write results
     */
    public CompletableFuture<List<WriteResult>> writeAsync(List<AtomicWrite> writes) {
        byte[] encoded = Wire.encodeWrites(writes);
        try {
            return completions.submit(Completions.Kind.WRITES, writes, token -> NativeBridge.write(handle, token, encoded));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Blocking {@link #writeAsync(List)}. When the writer is idle it commits on the calling
     * thread, without the completion thread's hand-off.
     *
     * @param writes the writes
     * @return one result per write
     */
    public List<WriteResult> write(List<AtomicWrite> writes) {
        refuseOnCompletionThread();
        byte[] encoded = Wire.encodeWrites(writes);
        try {
            return Completions.writeResults(Wire.decodeResults(NativeBridge.writeBlocking(handle, encoded)), writes);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Deletes the stream's events up to and including {@code toSequenceNr}
     * ({@link Long#MAX_VALUE} deletes all); {@link #highestSequenceNr} is unchanged.
     *
     * @param persistenceId the stream
     * @param toSequenceNr last sequence number deleted
     * @return a future completed once the deletion is committed
     */
    public CompletableFuture<Void> deleteToAsync(String persistenceId, long toSequenceNr) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        nonNegative("toSequenceNr", toSequenceNr);
        try {
            return completions.submit(Completions.Kind.UNIT, persistenceId, token -> NativeBridge.deleteTo(handle, token, persistenceId, toSequenceNr));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Blocking {@link #deleteToAsync(String, long)}.
     *
     * @param persistenceId the stream
     * @param toSequenceNr last sequence number deleted
     */
    public void deleteTo(String persistenceId, long toSequenceNr) {
        await(() -> deleteToAsync(persistenceId, toSequenceNr));
    }

    /**
     * Completes once everything submitted before it is committed and flushed to stable
     * storage, whatever the sync policy.
     *
     * @return a future completed after the flush
     */
    public CompletableFuture<Void> flushAsync() {
        try {
            return completions.submit(Completions.Kind.UNIT, null, token -> NativeBridge.flush(handle, token));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Blocking {@link #flushAsync()}. */
    public void flush() {
        await(this::flushAsync);
    }

    // ---- reads -----------------------------------------------------------------------------

    /**
     * Events of a stream with {@code from <= sequenceNr <= to}, oldest first, at most {@code max}.
     * Deleted events are not returned.
     *
     * @param persistenceId the stream
     * @param fromSequenceNr lowest sequence number (inclusive)
     * @param toSequenceNr highest sequence number (inclusive; {@link Long#MAX_VALUE} for all)
     * @param max most events returned
     * @return the events
     */
    public List<Event> read(String persistenceId, long fromSequenceNr, long toSequenceNr, long max) {
        if (max <= SMALL_READ && persistenceId != null && fromSequenceNr >= 0 && toSequenceNr >= 0 && max > 0) {
            // One small page holds the whole read: no consumer call per event.
            try {
                List<Event> events = smallPage(persistenceId, fromSequenceNr, toSequenceNr, max);
                if (events != null) {
                    return events;
                }
            } finally {
                Reference.reachabilityFence(this);
            }
            // The page did not fit the thread's buffer: read it as an array (not through the buffer again).
            List<Event> out = new ArrayList<>((int) max);
            replay(persistenceId, fromSequenceNr, toSequenceNr, max, out::add, false);
            return out;
        }
        List<Event> out = new ArrayList<>((int) Math.min(max, SMALL_READ));
        replay(persistenceId, fromSequenceNr, toSequenceNr, max, out::add);
        return out;
    }

    /**
     * Every live event of a stream, oldest first.
     *
     * @param persistenceId the stream
     * @return the events
     */
    public List<Event> read(String persistenceId) {
        return read(persistenceId, 1, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /**
     * Like {@link #read(String, long, long, long)} but hands the events to {@code consumer}
     * page by page, without building a list (for replaying long streams).
     *
     * @param persistenceId the stream
     * @param fromSequenceNr lowest sequence number (inclusive)
     * @param toSequenceNr highest sequence number (inclusive)
     * @param max most events
     * @param consumer receives each event, in order, on the calling thread
     * @return how many events were handed over
     */
    public long replay(String persistenceId, long fromSequenceNr, long toSequenceNr, long max, Consumer<Event> consumer) {
        return replay(persistenceId, fromSequenceNr, toSequenceNr, max, consumer, true);
    }

    /** {@link #replay(String, long, long, long, Consumer)}; small pages through the thread's buffer only if {@code smallPages}. */
    private long replay(String persistenceId, long fromSequenceNr, long toSequenceNr, long max, Consumer<Event> consumer, boolean smallPages) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        nonNegative("fromSequenceNr", fromSequenceNr);
        nonNegative("toSequenceNr", toSequenceNr);
        nonNegative("max", max);
        Wire.PageDecoder decoder = new Wire.PageDecoder(persistenceId);
        long remaining = max;
        long next = fromSequenceNr;
        long total = 0;
        try {
            do {
                long want = Math.min(remaining, PAGE_EVENTS);
                int n;
                int pageLength;
                long last;
                List<Event> small = smallPages && want <= SMALL_READ ? smallPage(persistenceId, next, toSequenceNr, want) : null;
                if (small != null) {
                    // Decoded before the consumer sees any: a consumer that reads again on this thread cannot overwrite them.
                    for (Event e : small) {
                        consumer.accept(e);
                    }
                    n = small.size();
                    pageLength = 0; // below PAGE_BYTES
                    last = n == 0 ? 0 : small.get(n - 1).sequenceNr();
                } else {
                    byte[] page = NativeBridge.readPage(handle, NativeBridge.STREAM, persistenceId, next, toSequenceNr, want, PAGE_BYTES);
                    n = decoder.decode(page, consumer);
                    pageLength = page.length;
                    last = decoder.lastSequenceNr;
                }
                total += n;
                remaining -= n;
                if (n == 0 || (n < want && pageLength < PAGE_BYTES) || last >= toSequenceNr) {
                    break;
                }
                next = last + 1;
            } while (remaining > 0);
        } finally {
            Reference.reachabilityFence(this);
        }
        return total;
    }

    /**
     * A small page of the stream through the calling thread's buffer (no page array allocated
     * and zeroed per call; a "Stream page", each event's checked stored body as it is), decoded
     * into a new list; null when the page does not fit the buffer (the caller reads it as an array).
     */
    private ArrayList<Event> smallPage(String persistenceId, long from, long to, long want) {
        byte[] buffer = READ_BUFFER.get();
        int length = NativeBridge.readStreamInto(handle, persistenceId, from, to, want, PAGE_BYTES, buffer);
        if (length < 0) {
            return null;
        }
        Wire.StreamPageDecoder decoder = new Wire.StreamPageDecoder(persistenceId);
        ArrayList<Event> events = decoder.decode(buffer);
        if (decoder.end != length) {
            throw new IllegalStateException("malformed page from the native library");
        }
        return events;
    }

    /**
     * {@link #read(String, long, long, long)} on a shared daemon thread pool.
     *
     * @param persistenceId the stream
     * @param fromSequenceNr lowest sequence number (inclusive)
     * @param toSequenceNr highest sequence number (inclusive)
     * @param max most events
     * @return a future of the events
     */
    public CompletableFuture<List<Event>> readAsync(String persistenceId, long fromSequenceNr, long toSequenceNr, long max) {
        return async(() -> read(persistenceId, fromSequenceNr, toSequenceNr, max));
    }

    /**
     * Highest sequence number ever committed for the stream (0 if none); survives
     * {@link #deleteTo} and reopening.
     *
     * @param persistenceId the stream
     * @return the highest sequence number
     */
    public long highestSequenceNr(String persistenceId) {
        Objects.requireNonNull(persistenceId, "persistenceId");
        try {
            return NativeBridge.highestSequenceNr(handle, persistenceId);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * {@link #highestSequenceNr(String)} on a shared daemon thread pool.
     *
     * @param persistenceId the stream
     * @return a future of the highest sequence number
     */
    public CompletableFuture<Long> highestSequenceNrAsync(String persistenceId) {
        return async(() -> highestSequenceNr(persistenceId));
    }

    /**
     * Checks that {@code wanted} equals the options this journal was opened with, by the core's
     * rule (every option counts). For components that share one open journal but are configured
     * apart, so that the first to open it does not silently decide for the others.
     *
     * @param wanted the options a component expects
     * @throws InvalidArgumentException naming the first option that differs
     */
    public void checkOptions(Options wanted) {
        Objects.requireNonNull(wanted, "wanted");
        try {
            NativeBridge.checkOptions(handle, wanted.toNative());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The global offset the next committed event will get (1 for an empty journal): where a
     * "current" read of {@link #allEvents} or {@link #eventsByTag} stops while writes continue.
     * Offsets of deleted events are never given out again.
     *
     * @return the next global offset
     */
    public long nextGlobalOffset() {
        try {
            return NativeBridge.nextGlobalOffset(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** @return every persistence id ever written, sorted */
    public List<String> persistenceIds() {
        try {
            return List.of(NativeBridge.persistenceIds(handle));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Events carrying {@code tag} with {@code globalOffset >= fromOffset}, in commit order, at
     * most {@code max}. Resume from the last event's {@code globalOffset() + 1}.
     *
     * @param tag the tag
     * @param fromOffset lowest global offset (inclusive)
     * @param max most events
     * @return the events
     */
    public List<Event> eventsByTag(String tag, long fromOffset, long max) {
        Objects.requireNonNull(tag, "tag");
        return globalScan(tag, fromOffset, max);
    }

    /**
     * Every live event with {@code globalOffset >= fromOffset}, in commit order, at most {@code max}.
     *
     * @param fromOffset lowest global offset (inclusive)
     * @param max most events
     * @return the events
     */
    public List<Event> allEvents(long fromOffset, long max) {
        return globalScan(null, fromOffset, max);
    }

    /**
     * {@link #eventsByTag} on a shared daemon thread pool.
     *
     * @param tag the tag
     * @param fromOffset lowest global offset (inclusive)
     * @param max most events
     * @return a future of the events
     */
    public CompletableFuture<List<Event>> eventsByTagAsync(String tag, long fromOffset, long max) {
        return async(() -> eventsByTag(tag, fromOffset, max));
    }

    /**
     * {@link #allEvents} on a shared daemon thread pool.
     *
     * @param fromOffset lowest global offset (inclusive)
     * @param max most events
     * @return a future of the events
     */
    public CompletableFuture<List<Event>> allEventsAsync(long fromOffset, long max) {
        return async(() -> allEvents(fromOffset, max));
    }

    private List<Event> globalScan(String tag, long fromOffset, long max) {
        nonNegative("fromOffset", fromOffset);
        nonNegative("max", max);
        List<Event> out = new ArrayList<>();
        Wire.PageDecoder decoder = new Wire.PageDecoder();
        long remaining = max;
        long next = fromOffset;
        try {
            do {
                long want = Math.min(remaining, PAGE_EVENTS);
                byte[] page = tag == null
                        ? NativeBridge.readPage(handle, NativeBridge.ALL, "", next, 0, want, PAGE_BYTES)
                        : NativeBridge.readPage(handle, NativeBridge.TAG, tag, next, 0, want, PAGE_BYTES);
                int n = decoder.decode(page, out::add);
                remaining -= n;
                if (n == 0 || (n < want && page.length < PAGE_BYTES)) {
                    break;
                }
                next = decoder.lastGlobalOffset + 1;
            } while (remaining > 0);
        } finally {
            Reference.reachabilityFence(this);
        }
        return out;
    }

    // ---- live tails ---------------------------------------------------------------------------

    /** Events per JNI crossing of a tail unless told otherwise. */
    public static final int DEFAULT_TAIL_BATCH = 256;

    /**
     * A live tail as a {@link Flow.Publisher}: catches up from storage, then delivers each newly
     * committed event, exactly once and in order, woken by the writer after each group commit
     * (no polling). Each subscriber gets its own tail, opened when it subscribes; demand drives
     * it (a batch of at most {@code min(demand, 256)} events per JNI crossing, none asked for
     * without demand); signals run on this journal's continuation executor (one lane per
     * subscriber), never on a journal thread. {@code cancel()} frees the tail; when the journal
     * closes, subscribers get {@code onComplete}. Tails never keep the JVM from exiting.
     *
     * @param source what to follow, from where
     * @return a publisher of the events
     */
    public Flow.Publisher<Event> subscribe(TailSource source) {
        return subscribe(source, DEFAULT_TAIL_BATCH);
    }

    /**
     * {@link #subscribe(TailSource)} with a batch size of its own.
     *
     * @param source what to follow, from where
     * @param maxBatch most events per JNI crossing, at least 1
     * @return a publisher of the events
     */
    public Flow.Publisher<Event> subscribe(TailSource source, int maxBatch) {
        return new TailPublisher(this, source, maxBatch);
    }

    /**
     * A live tail as a blocking iterator (see {@link TailIterator}); close it when done.
     *
     * @param source what to follow, from where
     * @return the iterator, open
     * @throws ClosedException the journal is closed
     */
    public TailIterator tail(TailSource source) {
        return tail(source, DEFAULT_TAIL_BATCH);
    }

    /**
     * {@link #tail(TailSource)} with a batch size of its own.
     *
     * @param source what to follow, from where
     * @param maxBatch most events per JNI crossing, at least 1
     * @return the iterator, open
     */
    public TailIterator tail(TailSource source, int maxBatch) {
        return new TailIterator(this, source, maxBatch);
    }

    // ---- snapshots, metrics, close ----------------------------------------------------------

    /** @return this journal's snapshot store */
    public SnapshotStore snapshots() {
        return snapshots;
    }

    /** @return the current counters */
    public Metrics metrics() {
        try {
            return Metrics.fromNative(NativeBridge.metrics(handle));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** @return the current metrics in the Prometheus text exposition format */
    public String prometheusMetrics() {
        try {
            return NativeBridge.prometheus(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Stops intake, commits what is queued within the close timeout, fails whatever is left
     * with {@link ClosedException}, flushes, releases the files and the writer lock, and waits
     * (bounded) until every future has been completed. Idempotent.
     */
    @Override
    public void close() {
        try {
            NativeBridge.close(handle);
        } finally {
            tails.close();
            completions.close();
            completions.awaitStopped(options.closeTimeout().toMillis() + 1000);
            Reference.reachabilityFence(this);
        }
    }

    @Override
    public String toString() {
        return "Journal[" + location + ", " + backend + (isClosed() ? ", closed" : "") + "]";
    }

    // ---- helpers ---------------------------------------------------------------------------

    <T> CompletableFuture<T> async(Supplier<T> work) {
        return CompletableFuture.supplyAsync(work, IO);
    }

    /** Runs a submission and waits for it; refused (before submitting) on the completion thread. */
    /** A blocking call inside a completion stage would stall every other future of this journal. */
    private void refuseOnCompletionThread() {
        if (Thread.currentThread() == completions.thread()) {
            throw new IllegalStateException("blocking journal call on the journal's completion thread: use the Async form");
        }
    }

    <T> T await(Supplier<CompletableFuture<T>> submission) {
        refuseOnCompletionThread();
        try {
            return submission.get().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    static void nonNegative(String name, long value) {
        if (value < 0) {
            throw new InvalidArgumentException(name + " must not be negative, got " + value);
        }
    }
}
