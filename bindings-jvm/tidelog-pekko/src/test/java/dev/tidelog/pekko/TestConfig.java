package dev.tidelog.pekko;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Configuration of the test actor systems: the Tidelog plugins on a fresh directory. */
final class TestConfig {
    private TestConfig() {}

    static Path freshDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Config plugins(String backend, Path dir) {
        return plugins(backend, dir.toString());
    }

    /** The plugins on {@code location}: a directory, or a {@code postgresql://} URI. */
    static Config plugins(String backend, String location) {
        return ConfigFactory.parseString(String.join("\n",
                "pekko.persistence.journal.plugin = \"tidelog.journal\"",
                "pekko.persistence.snapshot-store.plugin = \"tidelog.snapshot-store\"",
                "pekko.loglevel = WARNING",
                "tidelog.backend = " + backend,
                "tidelog.dir = \"" + location.replace("\\", "\\\\") + "\""));
    }
}
