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
 * @param dir the journal directory, absolute (for a PostgreSQL URI, the URI without its password)
 * @param options the options the journal is opened with
 * @param ioDispatcher the dispatcher blocking reads and snapshot I/O run on
 * @param location what the journal is opened at: the directory, or a {@code postgresql://} URI
 *     as configured (with its password)
 */
public record TidelogSettings(Path dir, Options options, String ioDispatcher, String location) {
    /** Hides the URI's password, which {@code location} may hold. */
    @Override
    public String toString() {
        return "TidelogSettings[dir=" + dir + ", options=" + options + ", ioDispatcher=" + ioDispatcher + "]";
    }

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
        // A PostgreSQL connection URI is passed through unchanged (the core chooses the backend by it).
        String location = config.getString("dir");
        Path dir = Tidelog.displayPath(location);
        return new TidelogSettings(dir, options, io, Tidelog.isConnectionUri(location) ? location : dir.toString());
    }
}
