package dev.tidelog;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * Opens test journals on any backend: a directory, or for {@link Backend#POSTGRES} the test
 * server ({@code TIDELOG_TEST_POSTGRES}, set by {@code tests/postgres.sh}) with a schema of its
 * own named after the directory, so reopening the directory finds the same journal. Without a
 * server the PostgreSQL variants are skipped, or fail under {@code CI=true} (as the core's do).
 */
final class TestJournals {
    /** Schemas of this run: a rerun against the same server starts afresh. */
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    private TestJournals() {}

    static Journal open(Path dir, Options options) {
        if (options.backend() != Backend.POSTGRES) {
            return Tidelog.open(dir, options);
        }
        return Tidelog.open(location(dir), options);
    }

    /** The test server's URI with a schema named after {@code dir}. */
    static String location(Path dir) {
        String uri = postgresUri();
        String schema = "jvm_" + RUN + "_" + Integer.toHexString(dir.toAbsolutePath().toString().hashCode());
        return uri + (uri.contains("?") ? "&" : "?") + "tidelog_schema=" + schema;
    }

    static String postgresUri() {
        String uri = System.getenv("TIDELOG_TEST_POSTGRES");
        if (uri == null || uri.isEmpty()) {
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh");
            }
            Assumptions.abort("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset");
        }
        return uri;
    }
}
