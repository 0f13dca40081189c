package dev.tidemark.pekko;

import com.typesafe.config.Config;
import dev.tidemark.Backend;
import dev.tidemark.Options;
import dev.tidemark.SyncPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * A plugin's settings, read from its configuration block ({@code tidemark.journal} or
 * {@code tidemark.snapshot-store}; see {@code reference.conf}).
 *
 * @param dir the journal directory, absolute
 * @param options the options the journal is opened with
 * @param ioDispatcher the dispatcher blocking reads and snapshot I/O run on
 */
public record TidemarkSettings(Path dir, Options options, String ioDispatcher) {
    /**
     * Reads the settings from a plugin configuration block, falling back to the shared
     * {@code tidemark} block of the actor system's configuration.
     *
     * @param pluginConfig the plugin's configuration
     * @param systemConfig the actor system's configuration
     * @return the settings
     */
    public static TidemarkSettings from(Config pluginConfig, Config systemConfig) {
        Config config = systemConfig.hasPath("tidemark") ? pluginConfig.withFallback(systemConfig.getConfig("tidemark")) : pluginConfig;
        Backend backend = Backend.valueOf(config.getString("backend").trim().toUpperCase(Locale.ROOT));
        String sync = config.getString("sync").trim().toLowerCase(Locale.ROOT);
        SyncPolicy policy = switch (sync) {
            case "always" -> SyncPolicy.always();
            case "never" -> SyncPolicy.never();
            case "interval" -> SyncPolicy.interval(config.getDuration("sync-interval"));
            default -> throw new IllegalArgumentException("tidemark sync must be always, interval or never, not " + sync);
        };
        Duration closeTimeout = config.hasPath("close-timeout") ? config.getDuration("close-timeout") : Duration.ofSeconds(5);
        Options options = Options.builder().backend(backend).sync(policy).closeTimeout(closeTimeout).build();
        String io = config.hasPath("io-dispatcher") ? config.getString("io-dispatcher") : "tidemark.io-dispatcher";
        return new TidemarkSettings(Path.of(config.getString("dir")).toAbsolutePath().normalize(), options, io);
    }
}
