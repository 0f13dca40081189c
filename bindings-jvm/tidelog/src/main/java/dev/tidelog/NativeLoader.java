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
    /** Platforms whose library a release jar may carry, as {@code <os>-<arch>} folder names. */
    private static final String RESOURCE_ROOT = "/dev/tidelog/native/";
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
        String platform = platform();
        String library = System.mapLibraryName("tidelog_jni");
        String resource = RESOURCE_ROOT + platform + "/" + library;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsupportedOperationException("this tidelog jar has no native library for " + platform + " (" + resource
                        + "); set -Dtidelog.native.library=/path/to/" + library);
            }
            int dot = library.lastIndexOf('.');
            Path file = Files.createTempFile(library.substring(0, dot) + "-", library.substring(dot));
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toAbsolutePath().toString());
            loadedFrom = file.toAbsolutePath();
            loaded = true;
        } catch (IOException e) {
            throw new UncheckedIOException("could not extract the tidelog native library", e);
        }
    }

    /** This JVM's platform as the jar's folder name: {@code linux-x86_64}, {@code macos-aarch64}, {@code windows-x86_64}, ... */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(java.util.Locale.ROOT);
        String osName = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.startsWith("windows") ? "windows" : os.replace(' ', '_');
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }
}
