package dev.tidelog.cajun;

import com.cajunsystems.persistence.BatchedMessageJournal;
import com.cajunsystems.persistence.JournalEntry;
import com.cajunsystems.persistence.TruncationCapableJournal;
import dev.tidelog.Event;
import dev.tidelog.Journal;
import dev.tidelog.NewEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Cajun's {@code BatchedMessageJournal} on a Tidelog journal; each actor id is a persistence id.
 *
 * <p>Cajun numbers an actor's messages from 0 and reports -1 for an empty journal; Tidelog
 * numbers from 1, so Cajun's {@code n} is Tidelog's {@code n + 1}. Futures complete once the
 * message is durable (with the default sync policy), in submission order per actor, on the
 * journal's {@code PerKeyExecutor} (never on its own threads), so a slow actor's handler, which
 * {@code StatefulActor} chains onto the append future, holds up no other actor.
 *
 * <p><b>Batching.</b> Tidelog's group commit batches appends of all actors by itself. On top
 * of that, a journal created with a batch delay ({@code createBatchedMessageJournal(id, size,
 * delayMs)} or {@link #setMaxBatchDelayMs}) holds this actor's appends for up to that delay, or
 * until {@code maxBatchSize} are waiting, and commits them as one atomic write;
 * {@link #appendBatch} commits at most {@code maxBatchSize} messages per atomic write. Every
 * other call first commits what is held, so it observes every append made before it (issue
 * order), awaited or not.
 *
 * <p>After {@link #close()} every call fails with an {@link IllegalStateException}.
 *
 * @param <M> the message type
 */
public final class TidelogMessageJournal<M> implements BatchedMessageJournal<M>, TruncationCapableJournal {
    /** Defaults of {@code createBatchedMessageJournal()}: no holding back, group commit only. */
    static final int DEFAULT_MAX_BATCH_SIZE = 1000;

    private final Journal journal;
    private final MessageSerializer serializer;
    private final TidelogPersistenceProvider.Context context;
    private final String name;
    private volatile int maxBatchSize;
    private volatile long maxBatchDelayMs;
    private volatile boolean closed;

    /** Appends held back for the batch delay (guarded by {@code this}). */
    private final List<Held> held = new ArrayList<>();
    private String heldActor;
    private ScheduledFuture<?> heldTimer;

    private record Held(NewEvent event, CompletableFuture<Long> result) {}

    TidelogMessageJournal(Journal journal, MessageSerializer serializer, TidelogPersistenceProvider.Context context, String name, int maxBatchSize, long maxBatchDelayMs) {
        this.journal = journal;
        this.serializer = serializer;
        this.context = context;
        this.name = name;
        setMaxBatchSize(maxBatchSize);
        setMaxBatchDelayMs(maxBatchDelayMs);
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("tidelog-cajun: the message journal" + (name == null ? "" : " of " + name) + " is closed");
    }

    private NewEvent event(Object message) {
        try {
            return NewEvent.of(serializer.serialize(message));
        } catch (Exception e) {
            throw new IllegalArgumentException("tidelog-cajun: could not serialize " + message.getClass().getName(), e);
        }
    }

    @Override
    public CompletableFuture<Long> append(String actorId, M message) {
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        NewEvent event;
        try {
            event = event(message);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (maxBatchDelayMs <= 0) {
            return journal.appendAsync(actorId, event).thenApply(r -> r.firstSequenceNr() - 1);
        }
        CompletableFuture<Long> result = new CompletableFuture<>();
        synchronized (this) {
            if (!held.isEmpty() && !actorId.equals(heldActor)) {
                submitHeld(); // one stream per atomic write
            }
            held.add(new Held(event, result));
            heldActor = actorId;
            if (held.size() >= maxBatchSize) {
                submitHeld();
            } else if (heldTimer == null) {
                ScheduledExecutorService timer = context.timer();
                heldTimer = timer.schedule(this::submitHeldNow, maxBatchDelayMs, TimeUnit.MILLISECONDS);
            }
        }
        return result;
    }

    private void submitHeldNow() {
        synchronized (this) {
            submitHeld();
        }
    }

    /** Commits the held appends as one atomic write (caller holds {@code this}). */
    private void submitHeld() {
        if (heldTimer != null) {
            heldTimer.cancel(false);
            heldTimer = null;
        }
        if (held.isEmpty()) {
            return;
        }
        List<Held> batch = List.copyOf(held);
        held.clear();
        List<NewEvent> events = new ArrayList<>(batch.size());
        for (Held h : batch) {
            events.add(h.event());
        }
        CompletableFuture<dev.tidelog.WriteReceipt> write;
        try {
            write = journal.appendAsync(heldActor, events);
        } catch (RuntimeException e) {
            write = CompletableFuture.failedFuture(e);
        }
        write.whenComplete((receipt, error) -> {
            for (int i = 0; i < batch.size(); i++) {
                if (error != null) {
                    batch.get(i).result().completeExceptionally(error);
                } else {
                    batch.get(i).result().complete(receipt.firstSequenceNr() - 1 + i);
                }
            }
        });
    }

    /** Commits held appends, so that the call that follows observes them. */
    private void releaseHeld() {
        if (maxBatchDelayMs > 0) {
            synchronized (this) {
                submitHeld();
            }
        }
    }

    @Override
    public CompletableFuture<List<Long>> appendBatch(String actorId, List<M> messages) {
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        if (messages.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        try {
            releaseHeld();
            List<CompletableFuture<dev.tidelog.WriteReceipt>> chunks = new ArrayList<>();
            for (int start = 0; start < messages.size(); start += maxBatchSize) {
                List<NewEvent> events = new ArrayList<>();
                for (M m : messages.subList(start, Math.min(messages.size(), start + maxBatchSize))) {
                    events.add(event(m));
                }
                chunks.add(journal.appendAsync(actorId, events));
            }
            CompletableFuture<List<Long>> all = CompletableFuture.allOf(chunks.toArray(CompletableFuture[]::new)).thenApply(v -> {
                List<Long> seqs = new ArrayList<>(messages.size());
                for (CompletableFuture<dev.tidelog.WriteReceipt> chunk : chunks) {
                    dev.tidelog.WriteReceipt r = chunk.join();
                    for (long s = r.firstSequenceNr(); s <= r.lastSequenceNr(); s++) {
                        seqs.add(s - 1);
                    }
                }
                return seqs;
            });
            return all;
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public CompletableFuture<List<JournalEntry<M>>> readFrom(String actorId, long fromSequenceNumber) {
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        releaseHeld();
        long from = Math.max(fromSequenceNumber, 0) + 1;
        return journal.readAsync(actorId, from, Long.MAX_VALUE, Long.MAX_VALUE).thenApply(events -> {
            List<JournalEntry<M>> entries = new ArrayList<>(events.size());
            for (Event e : events) {
                try {
                    M message = (M) serializer.deserialize(e.payload());
                    entries.add(new JournalEntry<>(e.sequenceNr() - 1, actorId, message, Instant.ofEpochMilli(e.timestamp())));
                } catch (Exception ex) {
                    throw new CompletionException("tidelog-cajun: could not deserialize message " + (e.sequenceNr() - 1) + " of " + actorId, ex);
                }
            }
            return entries;
        });
    }

    /** Deletes the entries with a sequence number below {@code upToSequenceNumber} (exclusive; {@code Long.MAX_VALUE} deletes all). */
    @Override
    public CompletableFuture<Void> truncateBefore(String actorId, long upToSequenceNumber) {
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        releaseHeld();
        if (upToSequenceNumber <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        // Cajun entries < n are Tidelog events <= n.
        return journal.deleteToAsync(actorId, upToSequenceNumber);
    }

    /** The highest sequence number ever appended (it survives truncation), -1 when none; observes every append issued before it. */
    @Override
    public CompletableFuture<Long> getHighestSequenceNumber(String actorId) {
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        releaseHeld();
        return journal.highestSequenceNrAsync(actorId).thenApply(h -> h - 1);
    }

    /**
     * The most messages of this journal committed as one atomic write.
     *
     * @param maxBatchSize at least 1
     */
    @Override
    public void setMaxBatchSize(int maxBatchSize) {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be at least 1, not " + maxBatchSize);
        }
        this.maxBatchSize = maxBatchSize;
    }

    /**
     * How long an append may wait for more appends of this journal before they are committed
     * together; 0 (the default) commits at once and leaves batching to group commit.
     *
     * @param maxBatchDelayMs at least 0
     */
    @Override
    public void setMaxBatchDelayMs(long maxBatchDelayMs) {
        if (maxBatchDelayMs < 0) {
            throw new IllegalArgumentException("maxBatchDelayMs must not be negative, not " + maxBatchDelayMs);
        }
        this.maxBatchDelayMs = maxBatchDelayMs;
        if (maxBatchDelayMs == 0) {
            releaseHeld();
        }
    }

    /** @return the most messages committed as one atomic write */
    public int maxBatchSize() {
        return maxBatchSize;
    }

    /** @return how long appends may be held back, in milliseconds */
    public long maxBatchDelayMs() {
        return maxBatchDelayMs;
    }

    /** Completes once everything appended before it is durable. */
    @Override
    public CompletableFuture<Void> flush() {
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        releaseHeld();
        return journal.flushAsync();
    }

    /** @return true while this journal and the underlying journal are open */
    @Override
    public boolean isHealthy() {
        return !closed && !journal.isClosed();
    }

    /**
     * Commits the appends held back for the batch delay; later calls fail with an
     * {@link IllegalStateException}. The underlying journal belongs to the
     * {@link TidelogPersistenceProvider}, which closes it.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            submitHeld();
            closed = true;
        }
    }
}
