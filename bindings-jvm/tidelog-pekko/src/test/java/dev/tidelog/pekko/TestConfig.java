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

    static Config plugins(String backend, Path dir) {
        return ConfigFactory.parseString(String.join("\n",
                "pekko.persistence.journal.plugin = \"tidelog.journal\"",
                "pekko.persistence.snapshot-store.plugin = \"tidelog.snapshot-store\"",
                "pekko.loglevel = WARNING",
                "tidelog.backend = " + backend,
                "tidelog.dir = \"" + dir.toString().replace("\\", "\\\\") + "\""));
    }
}
