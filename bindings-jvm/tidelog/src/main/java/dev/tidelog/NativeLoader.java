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

    /**
     * A file holding the library this JVM loaded, for tests that start a child JVM with
     * {@code -Dtidelog.native.library}: the explicit file, or a fresh copy of the bundled one
     * (the copy that was loaded is already gone, see {@link #load}).
     */
    static synchronized Path loadedFrom() {
        load();
        if (!Files.exists(loadedFrom)) {
            try {
                loadedFrom = extract(resource());
            } catch (IOException e) {
                throw new UncheckedIOException("could not extract the tidelog native library", e);
            }
        }
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
        try {
            Path file = extract(resource());
            System.load(file.toString());
            loadedFrom = file;
            loaded = true;
            // A loaded library stays mapped after its file is unlinked (POSIX), so the copy goes
            // now: a JVM that is killed leaves nothing behind in the temporary directory. Windows
            // cannot delete a loaded DLL; there it goes at exit (deleteOnExit), unless killed.
            if (!isWindows()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not extract the tidelog native library", e);
        }
    }

    /** The bundled library's resource name for this platform. */
    private static String resource() {
        String platform = platform();
        String resource = RESOURCE_ROOT + platform + "/" + System.mapLibraryName("tidelog_jni");
        if (NativeLoader.class.getResource(resource) == null) {
            throw new UnsupportedOperationException("this tidelog jar has no native library for " + platform + " (" + resource
                    + "); set -Dtidelog.native.library=/path/to/" + System.mapLibraryName("tidelog_jni"));
        }
        return resource;
    }

    /** Copies the bundled library to a new temporary file (deleted at exit at the latest). */
    private static Path extract(String resource) throws IOException {
        String library = resource.substring(resource.lastIndexOf('/') + 1);
        int dot = library.lastIndexOf('.');
        Path file = Files.createTempFile(library.substring(0, dot) + "-", library.substring(dot)).toAbsolutePath();
        file.toFile().deleteOnExit();
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("resource " + resource + " vanished");
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }

    private static boolean isWindows() {
        return System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows");
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
