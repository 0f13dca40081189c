package dev.tidelog;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Entry point: opens journals.
 *
 * <pre>{@code
 * try (Journal journal = Tidelog.open(Path.of("data/journal"), Options.defaults())) {
 *     journal.append("cart-7", NewEvent.of("item added").withTags("cart"));
 *     List<Event> events = journal.read("cart-7");
 * }
 * }</pre>
 */
public final class Tidelog {
    private Tidelog() {}

    /**
     * Opens (creating if needed) the journal at {@code path}.
     *
     * @param path the journal directory (ignored by {@link Backend#MEMORY})
     * @param options the options
     * @return the open journal
     * @throws LockedException when another writer holds the journal
     * @throws UnsupportedFormatException when it was written by a newer format
     * @throws CorruptDataException when damage is found before the tail of the log
     */
    public static Journal open(Path path, Options options) {
        return new Journal(Objects.requireNonNull(path, "path").toAbsolutePath(), Objects.requireNonNull(options, "options"));
    }

    /**
     * Opens the journal at {@code path} with {@link Options#defaults()} (LMDB, fsync on every commit).
     *
     * @param path the journal directory
     * @return the open journal
     */
    public static Journal open(Path path) {
        return open(path, Options.defaults());
    }

    /**
     * Opens (creating if needed) the journal at {@code location}: a directory, or a PostgreSQL
     * connection URI ({@code postgresql://user:password@host:port/db}, also {@code postgres://};
     * {@code ?tidelog_schema=NAME} picks the schema), which chooses {@link Backend#POSTGRES}.
     * A URI is passed on as it is; {@link Journal#location()} and {@code toString} never show
     * its password.
     *
     * @param location the journal directory or a PostgreSQL URI
     * @param options the options
     * @return the open journal
     * @throws LockedException when another writer holds a directory journal
     * @throws StorageIOException when the database cannot be reached ({@link TidelogException#isRetryable()})
     */
    public static Journal open(String location, Options options) {
        return new Journal(Objects.requireNonNull(location, "location"), Objects.requireNonNull(options, "options"));
    }

    /**
     * Opens the journal at {@code location} (a directory or a PostgreSQL URI) with {@link Options#defaults()}.
     *
     * @param location the journal directory or a PostgreSQL URI
     * @return the open journal
     */
    public static Journal open(String location) {
        return open(location, Options.defaults());
    }

    /**
     * Whether {@code location} is a PostgreSQL connection URI rather than a directory.
     *
     * @param location a location given to {@link #open(String, Options)}
     * @return true for a {@code postgresql://} or {@code postgres://} URI
     */
    public static boolean isPostgresUri(String location) {
        // As the core decides (tidelog::is_postgres_uri).
        return location.startsWith("postgresql://") || location.startsWith("postgres://");
    }

    /**
     * {@code location} as it may be shown or logged: a PostgreSQL URI without its password
     * (the core's rule), a directory unchanged.
     *
     * @param location a directory or a PostgreSQL URI
     * @return the location without a password
     */
    public static String redactLocation(String location) {
        return isPostgresUri(location) ? NativeBridge.redact(location) : location;
    }
}
