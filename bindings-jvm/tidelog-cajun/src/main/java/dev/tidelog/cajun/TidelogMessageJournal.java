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

/**
 * Cajun's {@code BatchedMessageJournal} on a Tidelog journal; each actor id is a persistence id.
 *
 * <p>Cajun numbers an actor's messages from 0 and reports -1 for an empty journal; Tidelog
 * numbers from 1, so Cajun's {@code n} is Tidelog's {@code n + 1}. {@code append} futures
 * complete <b>in submission order</b>, on the journal's completion thread, once the message is
 * durable (with the default sync policy): {@code StatefulActor} runs its handler inside
 * {@code thenAccept}, so keep such stages non-blocking. Batching is done by Tidelog's group
 * commit across all actors; {@link #setMaxBatchSize} and {@link #setMaxBatchDelayMs} are
 * accepted for compatibility and have no effect.
 *
 * @param <M> the message type
 */
public final class TidelogMessageJournal<M> implements BatchedMessageJournal<M>, TruncationCapableJournal {
    private final Journal journal;
    private final MessageSerializer serializer;

    TidelogMessageJournal(Journal journal, MessageSerializer serializer) {
        this.journal = journal;
        this.serializer = serializer;
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
        try {
            return journal.appendAsync(actorId, event(message)).thenApply(r -> r.firstSequenceNr() - 1);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<List<Long>> appendBatch(String actorId, List<M> messages) {
        if (messages.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        try {
            List<NewEvent> events = new ArrayList<>(messages.size());
            for (M m : messages) {
                events.add(event(m));
            }
            return journal.appendAsync(actorId, events).thenApply(r -> {
                List<Long> seqs = new ArrayList<>(messages.size());
                for (long s = r.firstSequenceNr(); s <= r.lastSequenceNr(); s++) {
                    seqs.add(s - 1);
                }
                return seqs;
            });
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public CompletableFuture<List<JournalEntry<M>>> readFrom(String actorId, long fromSequenceNumber) {
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
        if (upToSequenceNumber <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        // Cajun entries < n are Tidelog events <= n.
        return journal.deleteToAsync(actorId, upToSequenceNumber);
    }

    /** The highest sequence number ever appended (it survives truncation), -1 when none; waits for appends in flight. */
    @Override
    public CompletableFuture<Long> getHighestSequenceNumber(String actorId) {
        return journal.flushAsync().thenCompose(v -> journal.highestSequenceNrAsync(actorId)).thenApply(h -> h - 1);
    }

    @Override
    public void setMaxBatchSize(int maxBatchSize) {
        // Group commit in the core batches by itself.
    }

    @Override
    public void setMaxBatchDelayMs(long maxBatchDelayMs) {
        // Group commit in the core batches by itself.
    }

    /** Completes once everything appended before it is durable. */
    @Override
    public CompletableFuture<Void> flush() {
        return journal.flushAsync();
    }

    /** @return true while the underlying journal is open */
    @Override
    public boolean isHealthy() {
        return !journal.isClosed();
    }

    /** Does nothing: the journal belongs to the {@link TidelogPersistenceProvider}, which closes it. */
    @Override
    public void close() {}
}
