package dev.tidelog;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Loads the native library bundled in the jar (no {@code java.library.path} set-up).
 * The system property {@code tidelog.native.library} may name a library file to load instead.
 */
final class NativeLoader {
    private static final String RESOURCE = "/dev/tidelog/native/linux-x86_64/libtidelog_jni.so";
    private static boolean loaded;
    private static Path loadedFrom;

    private NativeLoader() {}

    /** The file the library was loaded from (for tests that start a child JVM). */
    static synchronized Path loadedFrom() {
        load();
        return loadedFrom;
    }

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String explicit = System.getProperty("tidelog.native.library");
        if (explicit != null && !explicit.isEmpty()) {
            loadedFrom = Path.of(explicit).toAbsolutePath();
            System.load(loadedFrom.toString());
            loaded = true;
            return;
        }
        String os = System.getProperty("os.name", "").toLowerCase();
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new UnsupportedOperationException("tidelog bundles a native library for linux-x86_64 only, not " + os + "/" + arch
                    + "; set -Dtidelog.native.library=/path/to/libtidelog_jni.so");
        }
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("native library " + RESOURCE + " missing from the jar");
            }
            Path file = Files.createTempFile("libtidelog_jni-", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toAbsolutePath().toString());
            loadedFrom = file.toAbsolutePath();
            loaded = true;
        } catch (IOException e) {
            throw new UncheckedIOException("could not extract the tidelog native library", e);
        }
    }
}
