package dev.tidelog.pekko;

import java.io.NotSerializableException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.Serialization$;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;

/**
 * Serializes payloads with Pekko serialization, inside the transport-information scope. The
 * serializer id and serializer manifest travel in Tidelog's metadata bytes:
 * {@code [version 1][serializer id, int32 big-endian][serializer manifest, UTF-8]}. Public for the
 * read journal ({@code dev.tidelog.pekko.query}); not an API of its own.
 */
public final class PayloadCodec {
    private static final byte VERSION = 1;
    /** Metadata of a gap filler: an event stored in place of a rejected one (see {@link TidelogJournal}). */
    static final byte[] FILLER = {0};

    /** A serialized payload: its bytes and the header to store as metadata. */
    record Serialized(byte[] header, byte[] bytes) {}

    private final ExtendedActorSystem system;
    private final Serialization serialization;

    /**
     * @param system the actor system whose serialization is used
     */
    public PayloadCodec(ExtendedActorSystem system) {
        this.system = system;
        this.serialization = SerializationExtension.get(system);
    }

    Serialized serialize(Object payload) throws NotSerializableException {
        Serializer serializer = serialization.findSerializerFor(payload);
        String manifest = Serializers.manifestFor(serializer, payload);
        byte[] bytes = Serialization$.MODULE$.withTransportInformation(system, () -> serializer.toBinary(payload));
        byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
        ByteBuffer header = ByteBuffer.allocate(5 + m.length);
        header.put(VERSION).putInt(serializer.identifier()).put(m);
        return new Serialized(header.array(), bytes);
    }

    /**
     * @param header an event's metadata bytes
     * @return true for a gap filler, which readers skip
     */
    public static boolean isFiller(byte[] header) {
        return header.length == 1 && header[0] == 0;
    }

    /**
     * @param header the metadata bytes the journal plugin wrote
     * @param bytes the payload bytes
     * @return the payload object
     * @throws NotSerializableException the header is not a Pekko serializer header
     */
    public Object deserialize(byte[] header, byte[] bytes) throws NotSerializableException {
        if (header.length < 5 || header[0] != VERSION) {
            throw new NotSerializableException("tidelog: stored payload has no Pekko serializer header");
        }
        ByteBuffer b = ByteBuffer.wrap(header);
        b.get();
        int serializerId = b.getInt();
        String manifest = new String(header, 5, header.length - 5, StandardCharsets.UTF_8);
        return Serialization$.MODULE$.withTransportInformation(system, () -> serialization.deserialize(bytes, serializerId, manifest).get());
    }
}
