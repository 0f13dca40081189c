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
     * Opens the journal at {@code location}: a {@code postgresql://} or {@code postgres://}
     * connection URI (the PostgreSQL backend, whatever {@link Options#backend()} says), passed to
     * the core unchanged, or else a directory, as {@link #open(Path, Options)}.
     *
     * @param location a connection URI or a journal directory
     * @param options the options
     * @return the open journal; for a URI its {@link Journal#path()} is {@link #displayPath(String)}
     */
    public static Journal open(String location, Options options) {
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(options, "options");
        if (isConnectionUri(location)) {
            return new Journal(location, displayPath(location), options);
        }
        return open(Path.of(location), options);
    }

    /**
     * @param location a journal location
     * @return whether it is a PostgreSQL connection URI rather than a directory
     */
    public static boolean isConnectionUri(String location) {
        return location.startsWith("postgresql://") || location.startsWith("postgres://");
    }

    /**
     * What a journal at {@code location} reports as its path: a directory made absolute, or a
     * connection URI without its password (never shown, logged or used as a key with it).
     *
     * @param location a connection URI or a journal directory
     * @return the path
     */
    public static Path displayPath(String location) {
        if (!isConnectionUri(location)) {
            return Path.of(location).toAbsolutePath().normalize();
        }
        int start = location.indexOf("://") + 3;
        int end = start;
        while (end < location.length() && location.charAt(end) != '/' && location.charAt(end) != '?') {
            end++;
        }
        String authority = location.substring(start, end);
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            int colon = authority.indexOf(':');
            if (colon >= 0 && colon < at) {
                authority = authority.substring(0, colon) + ":***" + authority.substring(at);
            }
        }
        String rest = location.substring(end).replaceAll("([?&][Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]=)[^&]*", "$1***");
        return Path.of(location.substring(0, start) + authority + rest);
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
}
