package dev.tidelog;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Collects a journal's write results on one Java-owned daemon thread, in submission order, and
 * completes their futures on the journal's {@link PerKeyExecutor} (in that order per persistence
 * id), so that no user stage ever runs on, or blocks, this thread.
 *
 * <p>Every submission gets a token from a counter and is registered before the native call.
 * The native side pushes each result into the journal's completion queue (from the core's
 * writer thread, without touching the JVM); this thread waits in
 * {@link NativeBridge#pollCompletions} (a condition-variable wait in native code), takes a
 * completion batch ({@code core/docs/wire.md}, "Completion batch"), then completes futures
 * strictly in token order: a result that arrives early (a request refused
 * by validation, say) waits for the ones submitted before it. The thread is a daemon and no
 * native thread is ever attached, so an unclosed journal never keeps the JVM alive.
 */
final class Completions implements Runnable {
    enum Kind { RECEIPT, WRITES, UNIT }

    /** {@code context}: the persistence id (append, deleteTo) or the writes (write), for error details. */
    private record Pending(Kind kind, Object context, CompletableFuture<Object> future) {}

    private static final int BATCH = 512;
    private static final AtomicLong THREADS = new AtomicLong();

    private final long handle;
    private final AtomicLong tokens = new AtomicLong();
    private final ConcurrentHashMap<Long, Pending> pending = new ConcurrentHashMap<>();
    /** Results of submissions whose native call threw (a JNI failure): delivered by this thread too. */
    private final ConcurrentLinkedQueue<Object[]> local = new ConcurrentLinkedQueue<>();
    /** Submissions between their "stopped" check and the end of their native call. */
    private final AtomicInteger submitting = new AtomicInteger();
    private volatile boolean closing;
    private volatile boolean stopped;
    private final Thread thread;
    /** Keeps the owning journal (and so its native handle) alive while this thread runs. */
    private volatile Object owner;

    // Owned by the completion thread.
    private long nextToDeliver;
    /** Results ({@link Wire.Result}, {@code Wire.Result[]} or a Throwable) that came before their turn. */
    private final Map<Long, Object> early = new HashMap<>();

    /** Where futures complete: never this thread, so user stages cannot block it (or each other across ids). */
    private final PerKeyExecutor continuations;

    Completions(long handle, Object owner, PerKeyExecutor continuations) {
        this.handle = handle;
        this.owner = owner;
        this.continuations = continuations;
        this.thread = new Thread(this, "tidelog-completions-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    Thread thread() {
        return thread;
    }

    /** Registers a future under a fresh token and runs the native submission with it. */
    @SuppressWarnings("unchecked")
    <T> CompletableFuture<T> submit(Kind kind, Object context, LongConsumer nativeCall) {
        CompletableFuture<Object> future = new CompletableFuture<>();
        submitting.incrementAndGet();
        try {
            if (stopped) {
                future.completeExceptionally(new ClosedException("journal is closed"));
                return (CompletableFuture<T>) (CompletableFuture<?>) future;
            }
            long token = tokens.getAndIncrement();
            pending.put(token, new Pending(kind, context, future));
            try {
                nativeCall.accept(token);
            } catch (Throwable t) {
                local.add(new Object[] {token, t});
            }
        } finally {
            submitting.decrementAndGet();
        }
        return (CompletableFuture<T>) (CompletableFuture<?>) future;
    }

    /** Asks the thread to finish once every registered submission has completed. */
    void close() {
        closing = true;
    }

    /** Waits (bounded) until the thread has completed every submission and stopped. */
    void awaitStopped(long millis) {
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void run() {
        try {
            while (true) {
                byte[] batch;
                try {
                    batch = NativeBridge.pollCompletions(handle, BATCH, closing ? 20 : 500);
                } catch (RuntimeException | OutOfMemoryError e) {
                    // A JNI failure (out of memory building results, say) must not kill the only
                    // thread that completes this journal's futures: the native side put the
                    // results back, so the next poll hands them over again.
                    java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
                    continue;
                }
                if (batch != null) {
                    Wire.decodeCompletions(batch, this::accept);
                }
                Object[] l;
                while ((l = local.poll()) != null) {
                    accept((Long) l[0], l[1]);
                }
                if (closing) {
                    stopped = true;
                }
                // Submitters register before checking `stopped`, so once none is mid-submission
                // and nothing is pending, every registered result has been delivered.
                if (stopped && submitting.get() == 0 && pending.isEmpty() && local.isEmpty()) {
                    break;
                }
            }
        } finally {
            owner = null;
        }
    }

    private void accept(long token, Object result) {
        if (token < nextToDeliver || early.containsKey(token)) {
            return; // already delivered (a duplicate after a JNI failure)
        }
        if (token != nextToDeliver) {
            early.put(token, result);
            return;
        }
        deliver(token, result);
        nextToDeliver++;
        Object next;
        while ((next = early.remove(nextToDeliver)) != null) {
            deliver(nextToDeliver, next);
            nextToDeliver++;
        }
    }

    private void deliver(long token, Object r) {
        Pending p = pending.remove(token);
        if (p == null) {
            return;
        }
        // Handed in token order to the persistence id's lane, which keeps that order.
        continuations.execute(key(p), () -> complete(p, r));
    }

    /** The ordering key of a submission: its persistence id (the first write's for a write call). */
    @SuppressWarnings("unchecked")
    private static String key(Pending p) {
        if (p.context() instanceof String pid) {
            return pid;
        }
        if (p.context() instanceof List<?> writes && !writes.isEmpty()) {
            return ((List<AtomicWrite>) writes).get(0).persistenceId();
        }
        return "";
    }

    @SuppressWarnings("unchecked")
    private static void complete(Pending p, Object r) {
        CompletableFuture<Object> f = p.future();
        if (r instanceof Throwable t) {
            f.completeExceptionally(t);
        } else if (r instanceof Wire.Result[] list) {
            f.complete(writeResults(list, (List<AtomicWrite>) p.context()));
        } else if (!((Wire.Result) r).ok()) {
            f.completeExceptionally(((Wire.Result) r).error((String) p.context()));
        } else {
            f.complete(p.kind() == Kind.RECEIPT ? ((Wire.Result) r).receipt() : null);
        }
    }

    /** Per-write results: write {@code i}'s persistence id names the stream of its conflict. */
    static List<WriteResult> writeResults(Wire.Result[] items, List<AtomicWrite> writes) {
        List<WriteResult> results = new ArrayList<>(items.length);
        for (int i = 0; i < items.length; i++) {
            Wire.Result r = items[i];
            results.add(r.ok() ? new WriteResult(r.receipt(), null) : new WriteResult(null, r.error(writes.get(i).persistenceId())));
        }
        return List.copyOf(results);
    }
}
