package dev.tidelog;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A committed event, as read back. Arrays are owned by the record (not shared with the journal);
 * like every record holding arrays, {@code equals} compares them by reference.
 *
 * @param persistenceId the stream
 * @param sequenceNr position in the stream, from 1
 * @param globalOffset position in the whole journal, strictly increasing in commit order
 * @param timestamp Unix milliseconds
 * @param manifest event type name
 * @param writerId writer instance id
 * @param tags tags
 * @param metadata adapter-specific bytes
 * @param payload payload bytes
 */
public record Event(String persistenceId, long sequenceNr, long globalOffset, long timestamp, String manifest, String writerId,
        List<String> tags, byte[] metadata, byte[] payload) {

    /**
     * The payload decoded as UTF-8.
     *
     * @return the payload text
     */
    public String payloadText() {
        return new String(payload, StandardCharsets.UTF_8);
    }
}
