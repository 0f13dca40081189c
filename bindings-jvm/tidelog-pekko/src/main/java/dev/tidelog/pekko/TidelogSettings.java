package dev.tidelog.pekko;

import com.typesafe.config.Config;
import dev.tidelog.Backend;
import dev.tidelog.Options;
import dev.tidelog.SyncPolicy;
import dev.tidelog.Tidelog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * A plugin's settings, read from its configuration block ({@code tidelog.journal} or
 * {@code tidelog.snapshot-store}; see {@code reference.conf}).
 *
 * @param location the journal directory (absolute, normalized), or a PostgreSQL connection URI
 *     as configured (its password is never logged: see {@link #toString()})
 * @param options the options the journal is opened with
 * @param ioDispatcher the dispatcher blocking reads and snapshot I/O run on
 */
public record TidelogSettings(String location, Options options, String ioDispatcher) {
    /**
     * Reads the settings from a plugin configuration block, falling back to the shared
     * {@code tidelog} block of the actor system's configuration.
     *
     * @param pluginConfig the plugin's configuration
     * @param systemConfig the actor system's configuration
     * @return the settings
     */
    public static TidelogSettings from(Config pluginConfig, Config systemConfig) {
        Config config = systemConfig.hasPath("tidelog") ? pluginConfig.withFallback(systemConfig.getConfig("tidelog")) : pluginConfig;
        Backend backend = Backend.valueOf(config.getString("backend").trim().toUpperCase(Locale.ROOT));
        String sync = config.getString("sync").trim().toLowerCase(Locale.ROOT);
        SyncPolicy policy = switch (sync) {
            case "always" -> SyncPolicy.always();
            case "never" -> SyncPolicy.never();
            case "interval" -> SyncPolicy.interval(config.getDuration("sync-interval"));
            default -> throw new IllegalArgumentException("tidelog sync must be always, interval or never, not " + sync);
        };
        Duration closeTimeout = config.hasPath("close-timeout") ? config.getDuration("close-timeout") : Duration.ofSeconds(5);
        Options options = Options.builder().backend(backend).sync(policy).closeTimeout(closeTimeout).build();
        String io = config.hasPath("io-dispatcher") ? config.getString("io-dispatcher") : "tidelog.io-dispatcher";
        // `path` (as Akka.NET's and other journal plugins name it) wins over `dir` when set.
        String configured = config.hasPath("path") && !config.getString("path").isBlank() ? config.getString("path") : config.getString("dir");
        String location = Tidelog.isPostgresUri(configured) ? configured : Path.of(configured).toAbsolutePath().normalize().toString();
        return new TidelogSettings(location, options, io);
    }

    /** @return whether the journal lives in PostgreSQL (the location is a connection URI) */
    public boolean isPostgres() {
        return Tidelog.isPostgresUri(location);
    }

    /**
     * The journal directory.
     *
     * @return the directory, absolute
     * @throws UnsupportedOperationException for a PostgreSQL journal, which has none
     */
    public Path dir() {
        if (isPostgres()) {
            throw new UnsupportedOperationException("a PostgreSQL journal has no directory: use location()");
        }
        return Path.of(location);
    }

    /** @return the settings, with a PostgreSQL URI's password hidden */
    @Override
    public String toString() {
        return "TidelogSettings[location=" + Tidelog.redactLocation(location) + ", options=" + options + ", ioDispatcher=" + ioDispatcher + "]";
    }
}
