package dev.tidelog.cajun;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

/** {@link MessageSerializer} using Java serialization (what Cajun's own journals use). */
public final class JavaSerialization implements MessageSerializer {
    /** The shared instance. */
    public static final JavaSerialization INSTANCE = new JavaSerialization();

    private JavaSerialization() {}

    @Override
    public byte[] serialize(Object value) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        return bytes.toByteArray();
    }

    @Override
    public Object deserialize(byte[] bytes) throws Exception {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return in.readObject();
        }
    }
}
