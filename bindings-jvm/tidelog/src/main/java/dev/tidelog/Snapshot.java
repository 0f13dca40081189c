package dev.tidelog;

import java.util.Objects;

/**
 * A snapshot of a stream's state.
 *
 * @param persistenceId the stream
 * @param sequenceNr the sequence number of the last event folded into the state
 * @param timestamp Unix milliseconds (stored and returned exactly)
 * @param manifest state type name; may be empty
 * @param metadata adapter-specific bytes (a serializer id, say); may be empty
 * @param state the state bytes
 */
public record Snapshot(String persistenceId, long sequenceNr, long timestamp, String manifest, byte[] metadata, byte[] state) {
    /** Checks for nulls. *
     * @param persistenceId see the record component
     * @param sequenceNr see the record component
     * @param timestamp see the record component
     * @param manifest see the record component
     * @param metadata see the record component
     * @param state see the record component
     */
    public Snapshot {
        Objects.requireNonNull(persistenceId, "persistenceId");
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(state, "state");
    }

    /**
     * A snapshot with no manifest and no metadata.
     *
     * @param persistenceId the stream
     * @param sequenceNr the last event folded into the state
     * @param timestamp Unix milliseconds
     * @param state the state bytes
     * @return the snapshot
     */
    public static Snapshot of(String persistenceId, long sequenceNr, long timestamp, byte[] state) {
        return new Snapshot(persistenceId, sequenceNr, timestamp, "", new byte[0], state);
    }
}
