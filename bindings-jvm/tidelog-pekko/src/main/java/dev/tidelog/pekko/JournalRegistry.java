package dev.tidelog.pekko;

import dev.tidelog.InvalidArgumentException;
import dev.tidelog.Journal;
import dev.tidelog.Tidelog;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The open journals of this JVM, shared by the journal and snapshot-store plugins of one
 * directory (a directory can be opened by one writer only) and reference-counted: the last
 * plugin to stop closes the journal.
 */
public final class JournalRegistry {
    private record Entry(Journal journal, int users) {}

    /** By location: an absolute directory or a PostgreSQL URI as configured. */
    private static final Map<String, Entry> OPEN = new HashMap<>();

    private JournalRegistry() {}

    /**
     * Opens the journal of {@code settings.location()}, or shares the one already open.
     *
     * @param settings the plugin settings
     * @return the journal; give it back with {@link #release(Journal)}
     * @throws IllegalArgumentException the directory is open with other journal options (the core's
     *     {@link Journal#checkOptions} names the first that differs)
     */
    public static synchronized Journal acquire(TidelogSettings settings) {
        Entry entry = OPEN.get(settings.location());
        if (entry == null || entry.journal().isClosed()) {
            entry = new Entry(Tidelog.open(settings.location(), settings.options()), 0);
        } else {
            try {
                entry.journal().checkOptions(settings.options());
            } catch (InvalidArgumentException conflict) {
                // Otherwise whichever plugin started first would silently decide for both.
                throw new IllegalArgumentException("tidelog: " + entry.journal().location() + ": " + conflict.getMessage()
                        + "; plugins that share a dir share one journal, so their settings must agree", conflict);
            }
        }
        OPEN.put(settings.location(), new Entry(entry.journal(), entry.users() + 1));
        return entry.journal();
    }

    /**
     * Gives a journal back; the last user closes it.
     *
     * @param journal a journal from {@link #acquire(TidelogSettings)}
     */
    public static synchronized void release(Journal journal) {
        // By identity: a PostgreSQL journal's location() hides the password its key holds.
        String key = OPEN.entrySet().stream().filter(e -> e.getValue().journal() == journal).map(Map.Entry::getKey).findFirst().orElse(null);
        if (key == null) {
            return;
        }
        Entry entry = OPEN.get(key);
        if (entry.users() <= 1) {
            OPEN.remove(key);
            journal.close();
        } else {
            OPEN.put(key, new Entry(journal, entry.users() - 1));
        }
    }

    /**
     * The journal currently open for a directory, if a plugin holds it (for tools and tests).
     *
     * @param dir the journal directory
     * @return the open journal, or empty
     */
    public static synchronized Optional<Journal> lookup(Path dir) {
        return lookup(dir.toAbsolutePath().normalize().toString());
    }

    /**
     * The journal currently open for a location (an absolute directory or a PostgreSQL URI as
     * configured), if a plugin holds it.
     *
     * @param location the location
     * @return the open journal, or empty
     */
    public static synchronized Optional<Journal> lookup(String location) {
        Entry entry = OPEN.get(location);
        return entry == null ? Optional.empty() : Optional.of(entry.journal());
    }
}
