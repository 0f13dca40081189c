package dev.tidelog;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Collects a journal's subscription batches on one Java-owned daemon thread
 * ({@code tidelog-tails-N}, started at the first request) and hands each to its requester's
 * callback, which must only pass it on (to its {@link PerKeyExecutor} lane): no user code runs
 * on this thread. The native side pushes each batch into the journal's page queue from the
 * core's tail thread (or the requesting thread, when events were there at once), without
 * touching the JVM; this thread takes whatever is queued as one subscription batch: one JNI
 * crossing per batch. A daemon, and no native thread is ever attached, so an unclosed journal
 * never keeps the JVM alive.
 */
final class Tails implements Runnable {
    /** Receives a batch's events, or the exception that ended the subscription. */
    interface Callback {
        void accept(List<Event> events, TidelogException end);
    }

    private static final int BATCH = 256;
    private static final AtomicLong THREADS = new AtomicLong();

    private final Journal journal;
    private final AtomicLong tokens = new AtomicLong();
    private final ConcurrentHashMap<Long, Callback> pending = new ConcurrentHashMap<>();
    private Thread thread;
    private volatile boolean closing;
    private volatile boolean stopped;

    Tails(Journal journal) {
        this.journal = journal;
    }

    /**
     * Asks {@code tail} for its next batch of at most {@code max} events; {@code callback} gets it
     * on this thread, or the end ({@link ClosedException}) at once if the journal is closed.
     */
    void request(NativeTail tail, int max, Callback callback) {
        long token = tokens.incrementAndGet();
        pending.put(token, callback);
        boolean sent;
        try {
            start();
            sent = !stopped && tail.request(token, max);
        } catch (RuntimeException e) {
            sent = false;
        }
        if (!sent && pending.remove(token) != null) {
            callback.accept(null, new ClosedException("tail is closed"));
        }
    }

    private synchronized void start() {
        if (thread == null) {
            thread = new Thread(this, "tidelog-tails-" + THREADS.incrementAndGet());
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** Asks the thread to finish once every pending request has completed (they end when the journal closes). */
    void close() {
        closing = true;
    }

    @Override
    public void run() {
        while (true) {
            byte[] batch;
            try {
                batch = NativeBridge.pollPages(journal.handle(), BATCH, closing ? 20 : 500);
            } catch (RuntimeException | OutOfMemoryError e) {
                // The native side put the batches back: the next poll hands them over again.
                java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
                continue;
            }
            if (batch != null) {
                Wire.decodePageCompletions(batch, (token, events, end) -> {
                    Callback callback = pending.remove(token);
                    if (callback != null) {
                        callback.accept(events, end);
                    }
                });
            }
            if (closing && pending.isEmpty()) {
                stopped = true;
                // A request registered meanwhile was either sent (and completes with the end, since
                // the journal is closed) or sees `stopped`; drain once more for the former.
                byte[] last = NativeBridge.pollPages(journal.handle(), BATCH, 20);
                if (last != null) {
                    Wire.decodePageCompletions(last, (token, events, end) -> {
                        Callback callback = pending.remove(token);
                        if (callback != null) {
                            callback.accept(events, end);
                        }
                    });
                }
                pending.forEach((token, callback) -> {
                    if (pending.remove(token) != null) {
                        callback.accept(null, new ClosedException("journal is closed"));
                    }
                });
                return;
            }
        }
    }
}
