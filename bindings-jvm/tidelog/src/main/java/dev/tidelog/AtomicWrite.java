package dev.tidelog;

import java.util.List;
import java.util.Objects;

/**
 * Events of one stream stored all-or-nothing with consecutive sequence numbers from
 * {@code firstSequenceNr}, which must be the stream's highest sequence number + 1
 * (counting earlier writes of the same {@link Journal#write} call).
 *
 * @param persistenceId the stream
 * @param firstSequenceNr the sequence number of the first event
 * @param events the events, at least one
 */
public record AtomicWrite(String persistenceId, long firstSequenceNr, List<NewEvent> events) {
    /** Checks for nulls and copies the event list. *
     * @param persistenceId see the record component
     * @param firstSequenceNr see the record component
     * @param events see the record component
     */
    public AtomicWrite {
        Objects.requireNonNull(persistenceId, "persistenceId");
        events = List.copyOf(events);
    }
}
