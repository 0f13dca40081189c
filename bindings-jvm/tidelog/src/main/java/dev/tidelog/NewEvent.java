package dev.tidelog;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * An event to write. The journal assigns its sequence number (for
 * {@link Journal#append}) and global offset; without a timestamp the writer's clock is used.
 *
 * @param payload opaque payload bytes
 * @param manifest event type name; may be empty
 * @param writerId identifies the writer instance; may be empty
 * @param tags tags for {@link Journal#eventsByTag}
 * @param timestamp Unix milliseconds, or empty for "at commit time"
 * @param metadata small adapter-specific bytes (a serializer id, say); may be empty
 */
public record NewEvent(byte[] payload, String manifest, String writerId, List<String> tags, OptionalLong timestamp, byte[] metadata) {
    private static final byte[] EMPTY = new byte[0];

    /** Checks for nulls and copies the tag list. *
     * @param payload see the record component
     * @param manifest see the record component
     * @param writerId see the record component
     * @param tags see the record component
     * @param timestamp see the record component
     * @param metadata see the record component
     */
    public NewEvent {
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(writerId, "writerId");
        tags = List.copyOf(tags);
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(metadata, "metadata");
    }

    /**
     * An event carrying only a payload.
     *
     * @param payload the payload bytes
     * @return the event
     */
    public static NewEvent of(byte[] payload) {
        return new NewEvent(payload, "", "", List.of(), OptionalLong.empty(), EMPTY);
    }

    /**
     * An event whose payload is the UTF-8 encoding of {@code text}.
     *
     * @param text the payload text
     * @return the event
     */
    public static NewEvent of(String text) {
        return of(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param manifest the event type name
     * @return a copy with this manifest
     */
    public NewEvent withManifest(String manifest) {
        return new NewEvent(payload, manifest, writerId, tags, timestamp, metadata);
    }

    /**
     * @param writerId the writer instance id
     * @return a copy with this writer id
     */
    public NewEvent withWriterId(String writerId) {
        return new NewEvent(payload, manifest, writerId, tags, timestamp, metadata);
    }

    /**
     * @param tags the tags
     * @return a copy with these tags
     */
    public NewEvent withTags(String... tags) {
        return new NewEvent(payload, manifest, writerId, List.of(tags), timestamp, metadata);
    }

    /**
     * @param tags the tags
     * @return a copy with these tags
     */
    public NewEvent withTags(List<String> tags) {
        return new NewEvent(payload, manifest, writerId, tags, timestamp, metadata);
    }

    /**
     * @param millis Unix milliseconds
     * @return a copy with this explicit timestamp
     */
    public NewEvent withTimestamp(long millis) {
        return new NewEvent(payload, manifest, writerId, tags, OptionalLong.of(millis), metadata);
    }

    /**
     * @param metadata adapter-specific bytes
     * @return a copy with these metadata bytes
     */
    public NewEvent withMetadata(byte[] metadata) {
        return new NewEvent(payload, manifest, writerId, tags, timestamp, metadata);
    }
}
