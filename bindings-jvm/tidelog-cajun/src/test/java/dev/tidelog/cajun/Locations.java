package dev.tidelog.cajun;

import static org.junit.jupiter.api.Assertions.fail;

import dev.tidelog.Backend;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * Where a test journal on a backend lives: its directory, or for {@link Backend#POSTGRES} the
 * test server ({@code TIDELOG_TEST_POSTGRES}, set by {@code tests/postgres.sh}) with a schema
 * named after the directory. Without a server the PostgreSQL variants are skipped, or fail
 * under {@code CI=true}.
 */
final class Locations {
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    private Locations() {}

    static String of(Path dir, Backend backend) {
        if (backend != Backend.POSTGRES) {
            return dir.toString();
        }
        String uri = System.getenv("TIDELOG_TEST_POSTGRES");
        if (uri == null || uri.isEmpty()) {
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh");
            }
            Assumptions.abort("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset");
        }
        String schema = "cajun_" + RUN + "_" + Integer.toHexString(dir.toAbsolutePath().toString().hashCode());
        return uri + (uri.contains("?") ? "&" : "?") + "tidelog_schema=" + schema;
    }
}
