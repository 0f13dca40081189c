package dev.tidelog.cajun;

/**
 * Turns Cajun messages and states into bytes and back. The default is {@link JavaSerialization};
 * plug in another (Kryo, JSON, protobuf, ...) through
 * {@link TidelogPersistenceProvider#TidelogPersistenceProvider(dev.tidelog.Journal, MessageSerializer)}.
 */
public interface MessageSerializer {
    /**
     * Serializes a value.
     *
     * @param value a message or a state
     * @return its bytes
     * @throws Exception when it cannot be serialized
     */
    byte[] serialize(Object value) throws Exception;

    /**
     * Deserializes a value.
     *
     * @param bytes bytes from {@link #serialize(Object)}
     * @return the value
     * @throws Exception when the bytes cannot be read
     */
    Object deserialize(byte[] bytes) throws Exception;
}
