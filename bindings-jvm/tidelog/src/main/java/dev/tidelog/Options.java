package dev.tidelog;

import java.time.Duration;
import java.util.Objects;

/**
 * Options for {@link Tidelog#open(java.nio.file.Path, Options)}; immutable, built with
 * {@link #builder()}. The journal itself validates the values and refuses bad ones with
 * {@link InvalidArgumentException}.
 *
 * <pre>{@code
 * Options options = Options.builder()
 *     .backend(Backend.FILES)
 *     .sync(SyncPolicy.always())
 *     .closeTimeout(Duration.ofSeconds(2))
 *     .build();
 * }</pre>
 */
public final class Options {
    private final Backend backend;
    private final SyncPolicy sync;
    private final int maxBatchEvents;
    private final long maxBatchBytes;
    private final Duration maxBatchDelay;
    private final long maxEventBytes;
    private final Duration closeTimeout;
    private final long lmdbMapSize;
    private final long segmentBytes;
    private final boolean readOnly;
    private final boolean snapshotCompression;
    private final PerKeyExecutor continuations;

    private Options(Builder b) {
        backend = b.backend;
        sync = b.sync;
        maxBatchEvents = b.maxBatchEvents;
        maxBatchBytes = b.maxBatchBytes;
        maxBatchDelay = b.maxBatchDelay;
        maxEventBytes = b.maxEventBytes;
        closeTimeout = b.closeTimeout;
        lmdbMapSize = b.lmdbMapSize;
        segmentBytes = b.segmentBytes;
        readOnly = b.readOnly;
        snapshotCompression = b.snapshotCompression;
        continuations = b.continuations;
    }

    /**
     * The defaults: LMDB, {@link SyncPolicy#always()}, batches of up to 4096 events / 4 MiB,
     * no batch delay, events up to 64 MiB, a 5 s close timeout.
     *
     * @return default options
     */
    public static Options defaults() {
        return builder().build();
    }

    /**
     * A builder starting from the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the backend */
    public Backend backend() {
        return backend;
    }

    /** @return the sync policy */
    public SyncPolicy sync() {
        return sync;
    }

    /** @return whether the journal is opened read-only */
    public boolean readOnly() {
        return readOnly;
    }

    /** @return the close timeout */
    public Duration closeTimeout() {
        return closeTimeout;
    }

    /** Flattens the options for the native library (order shared with {@code native/src/lib.rs}). */
    /** The options record of {@code core/docs/wire.md}, section "Options record". */
    long[] toNative() {
        return new long[] {
            0x1FFE, // every field present
            backend.ordinal(),
            sync.kind().ordinal(),
            micros(sync.flushInterval()),
            maxBatchEvents,
            maxBatchBytes,
            micros(maxBatchDelay),
            maxEventBytes,
            micros(closeTimeout),
            lmdbMapSize,
            segmentBytes,
            readOnly ? 1 : 0,
            snapshotCompression ? 1 : 0,
        };
    }

    private static long micros(Duration d) {
        try {
            return d.toNanos() / 1000;
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Where the futures of asynchronous calls complete, and so where the stages you attach with
     * the non-{@code Async} methods run. {@code null} (the default) means a {@link PerKeyExecutor}
     * of the journal's own over daemon threads: one persistence id's futures complete in order,
     * different ids' in parallel, and never on the journal's completion thread.
     *
     * @return the executor, or null for the default
     */
    public PerKeyExecutor continuations() {
        return continuations;
    }

    /** Builds {@link Options}; every setter returns the builder. */
    public static final class Builder {
        private Backend backend = Backend.LMDB;
        private SyncPolicy sync = SyncPolicy.always();
        private int maxBatchEvents = 4096;
        private long maxBatchBytes = 4L << 20;
        private Duration maxBatchDelay = Duration.ZERO;
        private long maxEventBytes = 64L << 20;
        private Duration closeTimeout = Duration.ofSeconds(5);
        private long lmdbMapSize = 64L << 20;
        private long segmentBytes = 64L << 20;
        private boolean readOnly;
        private boolean snapshotCompression;
        private PerKeyExecutor continuations;

        private Builder() {}

        /**
         * @param continuations where futures complete (see {@link Options#continuations()}); null for the default
         * @return this builder
         */
        public Builder continuations(PerKeyExecutor continuations) {
            this.continuations = continuations;
            return this;
        }

        /**
         * @param backend storage backend (default {@link Backend#LMDB})
         * @return this builder
         */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /**
         * @param sync sync policy (default {@link SyncPolicy#always()})
         * @return this builder
         */
        public Builder sync(SyncPolicy sync) {
            this.sync = Objects.requireNonNull(sync, "sync");
            return this;
        }

        /**
         * @param n most events committed in one group commit (default 4096)
         * @return this builder
         */
        public Builder maxBatchEvents(int n) {
            this.maxBatchEvents = n;
            return this;
        }

        /**
         * @param n most bytes committed in one group commit (default 4 MiB)
         * @return this builder
         */
        public Builder maxBatchBytes(long n) {
            this.maxBatchBytes = n;
            return this;
        }

        /**
         * @param delay how long the writer may wait for more work before committing (default zero)
         * @return this builder
         */
        public Builder maxBatchDelay(Duration delay) {
            this.maxBatchDelay = Objects.requireNonNull(delay, "delay");
            return this;
        }

        /**
         * @param n largest encoded event accepted (default 64 MiB)
         * @return this builder
         */
        public Builder maxEventBytes(long n) {
            this.maxEventBytes = n;
            return this;
        }

        /**
         * @param timeout upper bound on {@link Journal#close()} (default 5 s)
         * @return this builder
         */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * @param bytes initial LMDB map size (default 64 MiB; grows by itself)
         * @return this builder
         */
        public Builder lmdbMapSize(long bytes) {
            this.lmdbMapSize = bytes;
            return this;
        }

        /**
         * @param bytes size at which the segment-file backend starts a new segment (default 64 MiB)
         * @return this builder
         */
        public Builder segmentBytes(long bytes) {
            this.segmentBytes = bytes;
            return this;
        }

        /**
         * @param readOnly open without the writer lock; every write fails (default false)
         * @return this builder
         */
        public Builder readOnly(boolean readOnly) {
            this.readOnly = readOnly;
            return this;
        }

        /**
         * @param on compress snapshot state with zstd (default false)
         * @return this builder
         */
        public Builder snapshotCompression(boolean on) {
            this.snapshotCompression = on;
            return this;
        }

        /** @return the options */
        public Options build() {
            return new Options(this);
        }
    }
}
