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
}
