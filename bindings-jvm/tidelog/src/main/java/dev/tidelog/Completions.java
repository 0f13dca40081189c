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
 * Completes a journal's write futures on one Java-owned daemon thread, in submission order.
 *
 * <p>Every submission gets a token from a counter and is registered before the native call.
 * The native side pushes each result into the journal's completion queue (from the core's
 * writer thread, without touching the JVM); this thread waits in
 * {@link NativeBridge#pollCompletions} (a condition-variable wait in native code), then
 * completes futures strictly in token order: a result that arrives early (a request refused
 * by validation, say) waits for the ones submitted before it. The thread is a daemon and no
 * native thread is ever attached, so an unclosed journal never keeps the JVM alive.
 */
final class Completions implements Runnable {
    enum Kind { RECEIPT, WRITES, UNIT }

    private record Pending(Kind kind, CompletableFuture<Object> future) {}

    private record Result(long first, long last, Object extra) {}

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
    private final Map<Long, Result> early = new HashMap<>();

    Completions(long handle, Object owner) {
        this.handle = handle;
        this.owner = owner;
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
    <T> CompletableFuture<T> submit(Kind kind, LongConsumer nativeCall) {
        CompletableFuture<Object> future = new CompletableFuture<>();
        submitting.incrementAndGet();
        try {
            if (stopped) {
                future.completeExceptionally(new ClosedException("journal is closed"));
                return (CompletableFuture<T>) (CompletableFuture<?>) future;
            }
            long token = tokens.getAndIncrement();
            pending.put(token, new Pending(kind, future));
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
        long[] tokenBuf = new long[BATCH];
        long[] values = new long[BATCH * 2];
        Object[] extras = new Object[BATCH];
        try {
            while (true) {
                int n;
                try {
                    n = NativeBridge.pollCompletions(handle, tokenBuf, values, extras, closing ? 20 : 500);
                } catch (RuntimeException | OutOfMemoryError e) {
                    // A JNI failure (out of memory building results, say) must not kill the only
                    // thread that completes this journal's futures: the native side put the
                    // results back, so the next poll hands them over again.
                    java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    accept(tokenBuf[i], new Result(values[2 * i], values[2 * i + 1], extras[i]));
                    extras[i] = null;
                }
                Object[] l;
                while ((l = local.poll()) != null) {
                    accept((Long) l[0], new Result(0, 0, l[1]));
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

    private void accept(long token, Result result) {
        if (token < nextToDeliver || early.containsKey(token)) {
            return; // already delivered (a duplicate after a JNI failure)
        }
        if (token != nextToDeliver) {
            early.put(token, result);
            return;
        }
        deliver(token, result);
        nextToDeliver++;
        Result next;
        while ((next = early.remove(nextToDeliver)) != null) {
            deliver(nextToDeliver, next);
            nextToDeliver++;
        }
    }

    private void deliver(long token, Result r) {
        Pending p = pending.remove(token);
        if (p == null) {
            return;
        }
        CompletableFuture<Object> f = p.future();
        if (r.extra() instanceof Throwable t) {
            f.completeExceptionally(t);
            return;
        }
        switch (p.kind()) {
            case RECEIPT -> f.complete(new WriteReceipt(r.first(), r.last()));
            case UNIT -> f.complete(null);
            case WRITES -> f.complete(writeResults((Object[]) r.extra()));
        }
    }

    /** Per-write results from the native side: a {@code long[2]} receipt or a {@code TidelogException} each. */
    static List<WriteResult> writeResults(Object[] items) {
        List<WriteResult> results = new ArrayList<>(items.length);
        for (Object item : items) {
            if (item instanceof long[] pair) {
                results.add(new WriteResult(new WriteReceipt(pair[0], pair[1]), null));
            } else {
                results.add(new WriteResult(null, (TidelogException) item));
            }
        }
        return List.copyOf(results);
    }
}
