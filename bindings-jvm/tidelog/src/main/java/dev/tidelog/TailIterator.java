package dev.tidelog;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A live tail as a blocking iterator ({@link Journal#tail(TailSource)}): {@link #hasNext()} waits
 * on the calling thread until an event is committed, fetching up to {@code maxBatch} events per
 * JNI crossing. It returns false once the tail ended: after {@link #close()} (from any thread;
 * it wakes a waiting {@code hasNext}), after the journal closed, or after the waiting thread was
 * interrupted (the interrupt flag stays set). Close it to free the native subscription (a
 * forgotten one is freed once unreachable). Not for use by several threads at once, except
 * {@code close}.
 */
public final class TailIterator implements Iterator<Event>, AutoCloseable {
    /** How long one native wait lasts before the thread looks at its interrupt flag. */
    private static final long WAIT_SLICE_MILLIS = 250;

    private final NativeTail tail;
    private final int maxBatch;
    private final ArrayDeque<Event> buffer = new ArrayDeque<>();
    private final Wire.PageDecoder decoder = new Wire.PageDecoder();
    private volatile boolean ended;

    TailIterator(Journal journal, TailSource source, int maxBatch) {
        if (maxBatch < 1) {
            throw new InvalidArgumentException("maxBatch must be at least 1, got " + maxBatch);
        }
        this.maxBatch = maxBatch;
        this.tail = NativeTail.open(journal, source);
    }

    /**
     * Waits until an event is there or the tail ended.
     *
     * @return true when {@link #next()} has an event
     */
    @Override
    public boolean hasNext() {
        while (buffer.isEmpty()) {
            if (ended) {
                return false;
            }
            if (Thread.currentThread().isInterrupted()) {
                close();
                return false;
            }
            byte[] page;
            try {
                page = tail.next(maxBatch, WAIT_SLICE_MILLIS);
            } catch (ClosedException end) {
                close();
                return false;
            }
            decoder.decode(page, buffer::add);
        }
        return true;
    }

    /**
     * @return the next event, waiting for it
     * @throws NoSuchElementException the tail ended
     */
    @Override
    public Event next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the tail ended");
        }
        return buffer.poll();
    }

    /** Ends the tail and frees it (idempotent, any thread); a waiting {@link #hasNext()} returns false. */
    @Override
    public void close() {
        ended = true;
        tail.release();
    }
}
