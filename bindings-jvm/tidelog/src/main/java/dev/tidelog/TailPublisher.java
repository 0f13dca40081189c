package dev.tidelog;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A live tail as a {@link Flow.Publisher} ({@link Journal#subscribe(TailSource)}). Each
 * subscriber gets its own subscription, opened when it subscribes. Demand drives it: a native
 * batch of at most {@code min(demand, maxBatch)} events is asked for only while the subscriber
 * has demand, and arrives in one JNI crossing. Signals run on the journal's
 * {@link PerKeyExecutor} (one lane per subscriber, so they are serial and in order), never on a
 * journal thread. {@code cancel()} ends and frees the native subscription; when the journal
 * closes the subscriber gets {@code onComplete}.
 */
final class TailPublisher implements Flow.Publisher<Event> {
    private static final AtomicLong IDS = new AtomicLong();

    private final Journal journal;
    private final TailSource source;
    private final int maxBatch;

    TailPublisher(Journal journal, TailSource source, int maxBatch) {
        this.journal = journal;
        this.source = Objects.requireNonNull(source, "source");
        if (maxBatch < 1) {
            throw new InvalidArgumentException("maxBatch must be at least 1, got " + maxBatch);
        }
        this.maxBatch = maxBatch;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super Event> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber"); // rule 1.9
        new Tail(subscriber).start();
    }

    @Override
    public String toString() {
        return "TailPublisher[" + source + "]";
    }

    private final class Tail implements Flow.Subscription {
        private final Flow.Subscriber<? super Event> subscriber;
        /** Lane of this subscriber's signals. */
        private final String lane = "\u0000tail-" + IDS.incrementAndGet();
        private NativeTail tail;
        // Guarded by `this`.
        private long demand;
        private boolean requesting;
        private boolean cancelled;
        private boolean done;

        Tail(Flow.Subscriber<? super Event> subscriber) {
            this.subscriber = subscriber;
        }

        void start() {
            RuntimeException failure = null;
            try {
                tail = NativeTail.open(journal, source);
            } catch (RuntimeException e) {
                failure = e;
                synchronized (this) {
                    done = true;
                }
            }
            RuntimeException failed = failure;
            signal(() -> {
                subscriber.onSubscribe(this);
                if (failed != null) {
                    subscriber.onError(failed);
                }
            });
        }

        private void signal(Runnable r) {
            journal.continuations().execute(lane, r);
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                boolean signalError;
                synchronized (this) {
                    signalError = !done && !cancelled;
                    done = true;
                }
                cancel();
                if (signalError) { // rule 3.9
                    signal(() -> subscriber.onError(new IllegalArgumentException("request must be positive (rule 3.9), got " + n)));
                }
                return;
            }
            synchronized (this) {
                if (done || cancelled) {
                    return;
                }
                demand = demand + n < 0 ? Long.MAX_VALUE : demand + n; // rule 3.17: saturate
                if (requesting) {
                    return;
                }
                requesting = true;
            }
            ask();
        }

        private void ask() {
            int max;
            synchronized (this) {
                max = (int) Math.min(demand, maxBatch);
            }
            journal.tails().request(tail, max, (events, end) -> signal(() -> deliver(events, end)));
        }

        /** On the lane: hands a batch (or the end) to the subscriber, then asks again while there is demand. */
        private void deliver(List<Event> events, TidelogException end) {
            if (end != null) {
                boolean complete;
                synchronized (this) {
                    requesting = false;
                    complete = !done && !cancelled;
                    done = true;
                }
                tail.release();
                if (complete) {
                    if (end instanceof ClosedException) {
                        subscriber.onComplete(); // the journal closed
                    } else {
                        subscriber.onError(end);
                    }
                }
                return;
            }
            for (Event e : events) {
                synchronized (this) {
                    if (cancelled || done) {
                        break;
                    }
                    demand--;
                }
                try {
                    subscriber.onNext(e);
                } catch (RuntimeException | Error thrown) {
                    // Rule 2.13: a subscriber that throws is treated as having cancelled.
                    synchronized (this) {
                        cancelled = true;
                        requesting = false;
                    }
                    tail.release();
                    if (thrown instanceof Error error) {
                        throw error;
                    }
                    return;
                }
            }
            boolean again;
            boolean release;
            synchronized (this) {
                again = !cancelled && !done && demand > 0;
                requesting = again;
                release = cancelled || done;
            }
            if (again) {
                ask();
            } else if (release) {
                tail.release();
            }
        }

        @Override
        public void cancel() {
            boolean release;
            synchronized (this) {
                if (cancelled) {
                    return;
                }
                cancelled = true;
                release = !requesting;
            }
            if (tail == null) {
                return;
            }
            if (release) {
                tail.release();
            } else {
                tail.cancel(); // the pending request completes with the end, and its delivery releases
            }
        }
    }
}
