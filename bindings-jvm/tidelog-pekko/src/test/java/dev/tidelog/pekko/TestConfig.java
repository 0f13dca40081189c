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

    /**
     * The test server's URI ({@code TIDELOG_TEST_POSTGRES}, set by {@code tests/postgres.sh}) with
     * a fresh schema. The Postgres specs only run with a server or under {@code CI=true} (see the
     * pom), where a missing server fails them.
     */
    static String freshPostgres(String prefix) {
        String uri = System.getenv("TIDELOG_TEST_POSTGRES");
        if (uri == null || uri.isEmpty()) {
            throw new IllegalStateException("TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh");
        }
        String schema = prefix.replace('-', '_') + "_" + java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        return uri + (uri.contains("?") ? "&" : "?") + "tidelog_schema=" + schema;
    }

    /** The plugins on a PostgreSQL journal, configured by `tidelog.path` as an operator would. */
    static Config postgresPlugins(String uri) {
        return ConfigFactory.parseString(String.join("\n",
                "pekko.persistence.journal.plugin = \"tidelog.journal\"",
                "pekko.persistence.snapshot-store.plugin = \"tidelog.snapshot-store\"",
                "pekko.loglevel = WARNING",
                "tidelog.path = \"" + uri + "\""));
    }

    /**
     * Where the plugins of a test on {@code backend} keep their journal: {@code dir}, or for
     * POSTGRES the test server with a schema named after {@code dir}. Without a server the
     * PostgreSQL variant is skipped, or fails under {@code CI=true}.
     */
    static String location(dev.tidelog.Backend backend, Path dir) {
        if (backend != dev.tidelog.Backend.POSTGRES) {
            return dir.toAbsolutePath().normalize().toString();
        }
        String uri = System.getenv("TIDELOG_TEST_POSTGRES");
        if (uri == null || uri.isEmpty()) {
            if ("true".equals(System.getenv("CI"))) {
                org.junit.jupiter.api.Assertions.fail("CI=true but TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh");
            }
            org.junit.jupiter.api.Assumptions.abort("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset");
        }
        return uri + (uri.contains("?") ? "&" : "?") + "tidelog_schema=pekko_" + RUN + "_" + Integer.toHexString(dir.toAbsolutePath().toString().hashCode());
    }

    private static final String RUN = java.util.UUID.randomUUID().toString().substring(0, 8);

    /** The plugins on {@code backend} at {@link #location}. */
    static Config pluginsOn(dev.tidelog.Backend backend, Path dir) {
        return pluginsAt(backend.name().toLowerCase(), location(backend, dir));
    }

    /**
     * The plugins at {@code location} as {@link #location} gave it: a {@code postgresql://} URI
     * (the backend follows from it), or a directory of {@code backend}.
     */
    static Config pluginsAt(String backend, String location) {
        return location.startsWith("postgres") ? postgresPlugins(location) : plugins(backend, location);
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
