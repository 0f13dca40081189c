package dev.tidelog.pekko;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tidelog.Journal;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal and snapshot-store plugins of one directory share one journal, so they must agree on its settings. */
class JournalRegistryTest {
    @TempDir
    Path dir;

    private TidelogSettings settings(String pluginOverrides) {
        Config system = TestConfig.plugins("files", dir).withFallback(ConfigFactory.defaultReference());
        // A plugin section (the journal's) with per-plugin overrides, falling back to the shared `tidelog` block.
        return TidelogSettings.from(ConfigFactory.parseString(pluginOverrides).withFallback(system.getConfig("tidelog.journal")), system);
    }

    @Test
    void aSecondPluginWithOtherJournalSettingsIsRefusedByName() {
        Journal first = JournalRegistry.acquire(settings(""));
        try {
            IllegalArgumentException sync = assertThrows(IllegalArgumentException.class, () -> JournalRegistry.acquire(settings("sync = never")));
            assertTrue(sync.getMessage().contains("already open with sync = always, not never"), sync.getMessage());
            IllegalArgumentException backend = assertThrows(IllegalArgumentException.class, () -> JournalRegistry.acquire(settings("backend = lmdb")));
            assertTrue(backend.getMessage().contains("backend = files, not lmdb"), backend.getMessage());
            IllegalArgumentException timeout = assertThrows(IllegalArgumentException.class, () -> JournalRegistry.acquire(settings("close-timeout = 1s")));
            assertTrue(timeout.getMessage().contains("close_timeout = 5s, not 1s"), timeout.getMessage());

            Journal second = JournalRegistry.acquire(settings("sync = always"));
            assertSame(first, second);
            JournalRegistry.release(second);
            assertFalse(first.isClosed(), "one of two users released it");
        } finally {
            JournalRegistry.release(first);
        }
        assertTrue(first.isClosed(), "the last user closed it");
        assertTrue(JournalRegistry.lookup(dir).isEmpty());
    }

    @Test
    void aPostgresUriInPathIsKeptAsGivenWinsOverDirAndItsPasswordIsNeverShown() {
        String uri = "postgresql://app:s3cret-pw@db.example:5432/events?tidelog_schema=orders";
        TidelogSettings s = settings("path = \"" + uri + "\"");
        assertEquals(uri, s.location(), "no path mangling of a URI");
        assertTrue(s.isPostgres());
        assertThrows(UnsupportedOperationException.class, s::dir);
        assertFalse(s.toString().contains("s3cret-pw"), s.toString());
        assertTrue(s.toString().contains("postgresql://app:***@db.example:5432/events"), s.toString());
        // Without `path`, `dir` is a directory, made absolute.
        TidelogSettings files = settings("");
        assertFalse(files.isPostgres());
        assertEquals(dir.toAbsolutePath().normalize(), files.dir());
    }
}
